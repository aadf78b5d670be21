"""The README's Python example as a script: run it from the repository root after
`pip install ./python`. It makes its own index in /tmp/relist-demo from the fixtures.

    python3 python/examples/notebook.py
"""

import relist
import pyarrow.json as pj

index = relist.Index("/tmp/relist-demo", writable=True)   # read-only without writable=True
print(index.ingest("fixtures/banned.jsonl"))
print(len(index))

r = index.check({"id": "L-1", "title": "Vоltmax hb 2210x portable charger"})
print((r["decision"], r["matches"][0]["banned_id"]))
print(r["matches"][0]["evidence"][0])

catalog = pj.read_json("fixtures/catalog.jsonl")     # a pyarrow Table of listings
hits = index.sweep_arrow(catalog)           # what `relist sweep` writes, as a pyarrow Table
print(hits.num_rows)
print(hits.group_by("decision").aggregate([("listing_id", "count")]).to_pylist())

results = index.check_many(catalog.to_pylist())   # a list of result dicts, in order
print(len(results), results[0]["listing_id"], results[0]["decision"])
print(index.remove("CPSC-26-0412"))
print(relist.hash_image("fixtures/images/photo-03.jpg"))
