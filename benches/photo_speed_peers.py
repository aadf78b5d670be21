#!/usr/bin/env python3
"""Photos per second of the Python peers on a folder of JPEGs, to set beside the `photos` bench.

    photo_speed_peers.py DIR [N]

Rows: imagehash.phash as usually written (Image.open, then phash), the same after Pillow's
draft mode (libjpeg-turbo's DCT scaling to about 64 pixels), and pdqhash.compute on the RGB
pixels; each on one process (p50 ms per photo) and on as many processes as cores.
"""
import glob
import multiprocessing as mp
import os
import sys
import time

import imagehash
import numpy as np
import pdqhash
from PIL import Image


def phash_plain(path):
    with Image.open(path) as im:
        return str(imagehash.phash(im))


def phash_draft(path):
    with Image.open(path) as im:
        im.draft("L", (64, 64))
        return str(imagehash.phash(im))


def pdq(path):
    with Image.open(path) as im:
        return pdqhash.compute(np.asarray(im.convert("RGB")))[1]


def main():
    files = sorted(glob.glob(os.path.join(sys.argv[1], "*.jp*g")))[: int(sys.argv[2]) if len(sys.argv) > 2 else 400]
    cores = os.cpu_count()
    print(f"{len(files)} JPEGs; photos/s (1 process, p50 ms per photo) and photos/s on {cores} processes")
    for name, f in (("imagehash phash (plain)", phash_plain), ("Pillow draft + imagehash phash", phash_draft),
                    ("pdqhash", pdq)):
        for p in files[:20]:
            f(p)
        times = []
        for p in files:
            t = time.perf_counter()
            f(p)
            times.append(time.perf_counter() - t)
        times.sort()
        t = time.perf_counter()
        with mp.Pool(cores) as pool:
            pool.map(f, files, chunksize=8)
        par = time.perf_counter() - t
        print(f"{name:<44} {len(files) / sum(times):>8.0f}/s  p50 {times[len(times) // 2] * 1e3:>6.2f} ms"
              f"  {len(files) / par:>8.0f}/s all processes")


if __name__ == "__main__":
    main()
