#!/usr/bin/env bash
# Photo speed beside the Python peers, in one run on the same files: relist's `speed` bench
# (every stage, the check path's photo work last) then imagehash, Pillow draft + imagehash and
# pdqhash (benches/photo_speed_peers.py), for each folder of JPEGs given.
#
#   PYTHON=/path/to/venv/bin/python3 benches/photo_speed.sh DIR [DIR ...]
#
# PYTHON needs pillow, numpy, imagehash and pdqhash. N (default 400) photos per folder.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
N=${N:-400}
cargo bench --bench photos --no-run -q 2>/dev/null
for dir in "$@"; do
    echo "== $dir ($(uptime | sed 's/.*load/load/'))"
    cargo bench -q --bench photos -- speed "$dir" "$N" 2>/dev/null
    "$PYTHON" benches/photo_speed_peers.py "$dir" "$N"
done
