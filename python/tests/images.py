"""PNG files written byte by byte (no imaging library): flat photos, truncated ones, and
decompression bombs, for the photo tests."""

import struct
import zlib


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _header(width: int, height: int, colour: int = 2) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + _chunk(
        b"IHDR", struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0))


def png(width: int, height: int, rgb=(200, 30, 30)) -> bytes:
    """A photo of one colour: read, but too flat to be evidence."""
    row = b"\x00" + bytes(rgb) * width
    return _header(width, height) + _chunk(b"IDAT", zlib.compress(row * height)) + \
        _chunk(b"IEND", b"")


def claiming(width: int, height: int) -> bytes:
    """A header that claims a huge photo, with almost no data behind it."""
    return _header(width, height) + _chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + \
        _chunk(b"IEND", b"")


def bomb(side: int = 16000) -> bytes:
    """A real decompression bomb: side × side RGB (768 MB decoded at 16000, within the 16384
    pixels a side the decoder allows) that compresses to about 750 KB of zeros."""
    z = zlib.compressobj(9)
    row = b"\x00" * (1 + 3 * side)
    parts = [z.compress(row * 64) for _ in range(side // 64)]
    parts.append(z.flush())
    return _header(side, side) + _chunk(b"IDAT", b"".join(parts)) + _chunk(b"IEND", b"")
