#!/usr/bin/env python3
"""Held-out figures of two relist trees and the rapidfuzz baseline, in one run.

    benches/heldout.py BEFORE_DIR AFTER_DIR     (PYTHON=venv python with rapidfuzz; SHARED=../shared)

Both trees need `target/release/relist` built. Printed, for before and after (the learned
model's leave-one-dataset-out figures are benches/generalise.py's):
- the default profile on each test split (shared/peers/em_eval.py), beside rapidfuzz
  (shared/peers/baselines/fuzzy_text.py); test listings with no positive pair in any split that
  are flagged (hard negatives, chosen to look alike); blocks whose reasons name a model conflict;
- listings unrelated by construction (software against electronics bans, and back), flagged and
  blocked.
"""
import csv, json, subprocess, os, sys, tempfile
TREES = {"before": os.path.abspath(sys.argv[1]), "after": os.path.abspath(sys.argv[2])}
SH = os.path.abspath(os.environ.get("SHARED", os.path.join(TREES["after"], "..", "shared")))
W = tempfile.mkdtemp(prefix="relist-heldout-")
PY = os.environ.get("PYTHON", "python3")
def run(*a, **k):
    return subprocess.run(a, check=True, capture_output=True, text=True, **k).stdout
DS = ["Abt-Buy", "Walmart-Amazon", "Amazon-Google"]
for ds in DS:
    data = f"{SH}/data/em/{ds}"; d = f"{W}/{ds}"
    run("python3", f"{SH}/peers/em_convert.py", data, d)
    pos = set(); test_b = set()
    for split in ["train", "valid", "test"]:
        for r in csv.DictReader(open(f"{data}/{split}.csv")):
            if r["label"] == "1": pos.add("B-" + r["rtable_id"])
            if split == "test": test_b.add("B-" + r["rtable_id"])
    unrelated = test_b - pos
    rows = []
    for side in TREES:
        rl = f"{TREES[side]}/target/release/relist"; idx = f"{d}/idx-{side}"
        subprocess.run(["rm", "-rf", idx])
        run(rl, "--quiet", "--index", idx, "ingest", f"{d}/banned.jsonl", cwd=TREES[side])
        out = f"{d}/{side}.jsonl"
        run(rl, "--quiet", "--index", idx, "sweep", f"{d}/listings.jsonl", "--all", "--out", out, cwd=TREES[side])
        f1 = json.loads(run("python3", f"{SH}/peers/em_eval.py", "--data", data, "--results", out).strip().splitlines()[-1])
        flagged = blocks = conflict_blocks = 0
        for line in open(out):
            r = json.loads(line)
            if r["listing_id"] in unrelated and r["decision"] in ("review", "block"): flagged += 1
            for m in r["matches"]:
                if m["decision"] == "block":
                    blocks += 1
                    if any("differs from banned model" in x or "is unlike banned model" in x for x in m["reasons"]):
                        conflict_blocks += 1
        rows.append((side, f1, flagged, blocks, conflict_blocks))
    fz = f"{d}/fuzzy.jsonl"
    run(PY, f"{SH}/peers/baselines/fuzzy_text.py", f"{d}/banned.jsonl", f"{d}/listings.jsonl", "--out", fz)
    f1 = json.loads(run("python3", f"{SH}/peers/em_eval.py", "--data", data, "--results", fz).strip().splitlines()[-1])
    flagged = sum(1 for line in open(fz) for r in [json.loads(line)] if r["listing_id"] in unrelated and r.get("decision") in ("review", "block"))
    rows.append(("rapidfuzz", f1, flagged, None, None))
    for side, f1, fl, b, cb in rows:
        keys = f1["review_or_block"]["f1"]
        print(f"{ds:15} {side:9} F1 {keys:.4f}  hard negatives flagged {fl}/{len(unrelated)} = {100*fl/max(1,len(unrelated)):.2f} %"
              + (f"; blocks {b}, on a model conflict {cb}" if b is not None else ""))

# Unrelated by construction: software listings (Amazon-Google tableB) against an electronics
# banned list (Abt-Buy tableA), and the reverse.
for lst, ban in [("Amazon-Google", "Abt-Buy"), ("Abt-Buy", "Amazon-Google")]:
    for side in TREES:
        rl = f"{TREES[side]}/target/release/relist"; idx = f"{W}/{ban}/idx-{side}"
        out = f"{W}/cross-{lst}-{ban}-{side}.jsonl"
        run(rl, "--quiet", "--index", idx, "sweep", f"{W}/{lst}/listings.jsonl", "--all", "--out", out, cwd=TREES[side])
        n = fl = bl = 0
        for line in open(out):
            r = json.loads(line); n += 1
            fl += r["decision"] in ("review", "block"); bl += r["decision"] == "block"
        print(f"cross {lst} listings vs {ban} bans {side:7} flagged {fl}/{n} = {100*fl/n:.2f} %, blocked {bl} = {100*bl/n:.2f} %")
