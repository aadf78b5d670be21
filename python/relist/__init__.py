"""relist: catch banned products relisted under new listings, from Python.

The engine of the ``relist`` command line, over the same index directory::

    import relist
    index = relist.Index("index")                  # read-only; writable=True to ingest/remove
    result = index.check({"id": "L-1", "title": "Vоltmax hb 2210x portable charger"})
    result["decision"], result["matches"][0]["evidence"]

    results = index.check_many(listings)           # all cores, the GIL released
    hits = index.sweep_arrow(pyarrow_table)        # what `relist sweep` writes, as a Table

Results are the JSON objects ``relist check`` prints; errors are :class:`RelistError`
(:class:`InputError` for a bad listing, record, photo or argument, :class:`IndexBusyError`
when another process holds the index's writer) with the command line's one-line messages.
"""

from ._relist import (
    Index,
    IndexBusyError,
    InputError,
    RelistError,
    __version__,
    hash_image,
)

__all__ = [
    "Index",
    "IndexBusyError",
    "InputError",
    "RelistError",
    "__version__",
    "hash_image",
]
