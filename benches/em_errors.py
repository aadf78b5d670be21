#!/usr/bin/env python3
"""Breakdown of relist's false positives and false negatives on a benchmark's test pairs, by the
evidence its reasons name.

    benches/em_errors.py DATASET_DIR RESULTS.jsonl      (RESULTS: `relist sweep --all --top 10`)

A pair is predicted positive as in shared/peers/em_eval.py (review or block names the banned
record). Standard library only.
"""
import csv, json, sys
from collections import Counter

data, results = sys.argv[1], sys.argv[2]
res = {}
for line in open(results, encoding="utf-8"):
    if line.strip():
        r = json.loads(line)
        res[r["listing_id"]] = r

def cause(reasons):
    text = " ".join(reasons)
    if "equals banned model" in text:
        return "model equal"
    if "covers" in text and "banned model" in text:
        return "model partial"
    if "another model of the family" in text:
        return "model sibling (conflict)"
    if "is unlike banned model" in text:
        return "model numbers unrelated"
    if "differs between listing and banned title" in text:
        return "size/capacity conflict"
    if "price differs" in text:
        return "price gap, text only"
    return "text only (no identifier)"

fp, fn = Counter(), Counter()
for row in csv.DictReader(open(f"{data}/test.csv", encoding="utf-8")):
    a, b, y = "A-" + row["ltable_id"], "B-" + row["rtable_id"], row["label"] == "1"
    m = [x for x in res.get(b, {}).get("matches", []) if x["banned_id"] == a]
    pred = bool(m) and m[0]["decision"] in ("review", "block")
    if pred and not y:
        fp[cause(m[0]["reasons"])] += 1
    elif y and not pred:
        if not m:
            fn["not among the listing's matches (score < 0.05 or retrieval)"] += 1
        else:
            fn[cause(m[0]["reasons"]) + f" (score below review)"] += 1
print(f"false positives: {sum(fp.values())}")
for k, v in fp.most_common():
    print(f"  {v:5}  {k}")
print(f"false negatives: {sum(fn.values())}")
for k, v in fn.most_common():
    print(f"  {v:5}  {k}")
