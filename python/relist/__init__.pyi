"""Type stubs of relist's Python package (the module itself is compiled: relist._relist)."""

import datetime
import os
import pathlib
from typing import Any, Iterable, Literal, Mapping, TypedDict, Union

import pyarrow

__version__: str

_Path = Union[str, "os.PathLike[str]"]

class RelistError(Exception):
    """An error of relist's, with the one-line message the command line prints."""

class InputError(RelistError):
    """A listing, record, field, photo or argument that cannot be used; the message names it."""

class IndexBusyError(RelistError):
    """Another process holds the index's writer: nothing was written; try again later."""

class Match(TypedDict, total=False):
    banned_id: str
    score: float
    decision: Literal["allow", "review", "block"]
    reasons: list[str]
    evidence: list[dict[str, Any]]
    signals: dict[str, float]

class CheckResult(TypedDict, total=False):
    listing_id: str
    decision: Literal["allow", "review", "block"]
    score: float
    matches: list[Match]
    error: str

class IngestReport(TypedDict):
    added: int
    replaced: int
    rejected: int
    errors: list[str]
    warnings: list[str]

class Removal(TypedDict):
    removed: int
    missing: list[str]

class Index:
    """An index directory made by ``relist ingest``, opened in this process.

    Read-only by default: checks and sweeps. ``writable=True`` creates the index if the
    directory has none and allows :meth:`ingest` and :meth:`remove`; each takes the index's
    writer for its one commit, as the command line does, so that ``relist ingest`` and a
    running ``relist serve`` can still write between them. ``config`` is a config file, as
    ``relist --config``.
    """

    def __init__(
        self, path: _Path, writable: bool = False, config: _Path | None = None
    ) -> None: ...
    @property
    def path(self) -> pathlib.Path:
        """The index directory."""
    @property
    def writable(self) -> bool:
        """Whether this object may ingest and remove."""
    def __len__(self) -> int:
        """Records in the index (products and term rules), as of the last commit seen."""
    def reload(self) -> None:
        """Picks up commits made by other processes since this object opened the index (its
        own ingest and remove are seen at once)."""
    def get(self, id: str) -> dict[str, Any] | None:
        """The banned record with this id, as stored, or None."""
    def check(self, listing: Mapping[str, Any], top: int = 5) -> CheckResult:
        """Checks one listing as ``relist check`` does; the result is its JSON, ``evidence``
        included. Photo files in ``images`` are read relative to the current directory.

        Raises :class:`InputError` naming the field for a listing that cannot be used.
        """
    def check_many(
        self, listings: Iterable[Mapping[str, Any]], top: int = 5, threads: int = 0
    ) -> list[CheckResult]:
        """Checks listings in parallel (``threads`` 0: every core) with the GIL released;
        results in input order, each as :meth:`check` gives it. Every listing of the batch is
        read first: one that cannot be used raises :class:`InputError` ("item 3: field
        `title` is missing or empty", counted from 0) and nothing is returned."""
    def sweep_arrow(
        self,
        data: pyarrow.Table | pyarrow.RecordBatch | pyarrow.RecordBatchReader | Any,
        *,
        all: bool = False,
        top: int = 5,
        threads: int = 0,
        banned_since: int | str | datetime.datetime | None = None,
        errors: Literal["raise", "keep"] = "raise",
    ) -> pyarrow.Table:
        """Sweeps Arrow data with the listing columns (``id``, ``title``, ``brand``,
        ``models``, ...; strings, numbers and lists of them) as ``relist sweep`` does: the
        rows decided review or block (every row with ``all``), in input order, as a Table of
        ``listing_id``, ``decision``, ``score``, ``banned_id`` (the best match), ``result``
        (the JSON line ``relist sweep`` writes) and ``error``. The Arrow buffers are read in
        place through the Arrow C data interface. ``banned_since`` is ``--banned-since``.

        A row that is not a listing raises :class:`InputError` naming its row (from 1), or
        with ``errors="keep"`` becomes a row with ``error`` set and no decision.
        """
    def ingest(
        self,
        records: Iterable[Mapping[str, Any]] | _Path | Iterable[_Path],
        *,
        strict: bool = False,
        format: str = "auto",
    ) -> IngestReport:
        """Adds or replaces banned records in one commit: record dicts (photo files in
        ``images`` relative to the current directory), or files read as ``relist ingest``
        reads them (``format`` as ``--format``). Bad records are skipped and listed in
        ``errors`` (with ``strict``, the first one raises and nothing is written).

        Raises :class:`IndexBusyError` while another process holds the writer.
        """
    def remove(self, ids: str | Iterable[str]) -> Removal:
        """Removes banned records by id in one commit; ids the index lacks are listed in
        ``missing``, and naming only such ids raises :class:`InputError`, as ``relist remove``
        fails."""

def hash_image(image: _Path | bytes | bytearray) -> dict[str, Any]:
    """The perceptual hashes of a photo, as ``relist hash`` prints them: ``dhash``, ``phash``
    (16 hex digits), ``pdq`` (64) and ``pdq_quality``; ``path`` for a file. A photo too flat
    to be evidence has ``error`` instead of ``dhash``/``phash``. A file that is not an image,
    is truncated or is over the decoding limits (a decompression bomb) raises
    :class:`InputError` naming it."""
