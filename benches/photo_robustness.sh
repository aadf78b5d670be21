#!/usr/bin/env bash
# Photo robustness on real photos: relist beside Python imagehash (pHash) and pdqhash (PDQ),
# the same edited photos, the same scorer (shared/peers/score.py), recall per edit at ≤ 0.1 %
# false positives on photos of other products.
#
#   PYTHON=/path/to/venv/bin/python3 benches/photo_robustness.sh [PHOTO_DIR] [WORK_DIR]
#
# PYTHON needs pillow, numpy, imagehash and pdqhash (shared/peers/README.md). PHOTO_DIR defaults
# to ../shared/data/images/grocery; WORK_DIR (default /tmp/relist-photo-robustness) receives
# the edited photos (benches/photo_edits.py), the index and the result files.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
PHOTOS=${1:-../shared/data/images/grocery}
WORK=${2:-/tmp/relist-photo-robustness}
PEERS=../shared/peers
FPR=0.001

cargo build --release -q
RELIST=target/release/relist
# SUITE=photos: the issue-14 suite (every edit family, random parameters, look-alikes of the
# same class) from `relist eval --photos SEED --photo-dir PHOTOS`; else benches/photo_edits.py.
if [ ! -f "$WORK/labels.jsonl" ]; then
    if [ "${SUITE:-}" = photos ]; then
        "$RELIST" eval --photos "${SEED:-1}" --photo-dir "$PHOTOS" --banned "${BANNED:-60}" \
            --look-alikes "${LOOK_ALIKES:-600}" --save "$WORK" > /dev/null
    else
        "$PYTHON" benches/photo_edits.py "$PHOTOS" "$WORK"
    fi
fi
rm -rf "$WORK/index"
/usr/bin/time -f "relist ingest: %e s, %M KiB" \
    "$RELIST" --index "$WORK/index" ingest "$WORK/banned.jsonl" 2>&1 | tail -2
start=$(date +%s.%N)
"$RELIST" --index "$WORK/index" sweep "$WORK/listings.jsonl" --all --top 5 \
    --out "$WORK/relist.jsonl" 2>"$WORK/relist.stderr" || true
end=$(date +%s.%N)
echo "relist sweep: $(echo "$end - $start" | bc) s"
# The peers' results depend only on the photos: kept between runs (delete them to redo).
[ -f "$WORK/phash.jsonl" ] || "$PYTHON" "$PEERS/baselines/imagehash_match.py" \
    "$WORK/banned.jsonl" "$WORK/listings.jsonl" --out "$WORK/phash.jsonl"
[ -f "$WORK/pdq.jsonl" ] || "$PYTHON" "$PEERS/baselines/pdq_match.py" \
    "$WORK/banned.jsonl" "$WORK/listings.jsonl" --out "$WORK/pdq.jsonl"
for system in relist phash pdq; do
    echo "== $system"
    "$PYTHON" "$PEERS/score.py" "$WORK/$system.jsonl" "$WORK/labels.jsonl" --fpr "$FPR" \
        | tee "$WORK/$system.score" | grep -v '^{'
done
# One table: recall at FPR per edit, the three systems side by side.
"$PYTHON" - "$WORK" <<'EOF'
import json, sys
work = sys.argv[1]
rows = {}
for system in ("relist", "phash", "pdq"):
    summary = json.loads(open(f"{work}/{system}.score").read().strip().splitlines()[-1])
    for name, s in summary["slices"].items():
        if "recall_at_fpr" in s:
            rows.setdefault(name, {})[system] = s["recall_at_fpr"]
    rows.setdefault("ALL", {})[system] = summary["recall_at_fpr"]
    rows.setdefault("(review/block recall)", {})[system] = summary["review_or_block"]["recall"]
    rows.setdefault("(review/block precision)", {})[system] = summary["review_or_block"]["precision"]
print(f"\nrecall at FPR <= 0.1 % (pool: {summary['fpr_pool_size']} photos of other products)")
print(f"{'edit':<26} {'relist':>8} {'imagehash':>10} {'pdqhash':>8}")
for name, r in rows.items():
    print(f"{name:<26} " + " ".join(f"{r.get(s, float('nan')):>{w}.4f}" for s, w in
                                    (("relist", 8), ("phash", 10), ("pdq", 8))))
EOF
