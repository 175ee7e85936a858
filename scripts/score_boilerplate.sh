#!/usr/bin/env bash
# Scores the strip stage on the shared boilerplate eval set.
#
#   scripts/score_boilerplate.sh [SHARED_DIR] [PRESET]
#
# SHARED_DIR defaults to ../shared; PRESET to balanced. Builds release,
# cleans the scrapinghub inputs with near-duplicate removal off, scores
# the whole set, then two fixed random halves (a guard against tuning to
# single pages: the halves should score alike).
set -euo pipefail
shared=${1:-../shared}
preset=${2:-balanced}
eval_dir="$shared/eval/boilerplate"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cargo build --release --quiet
target/release/chaff clean "$eval_dir/scrapinghub/input" --out "$out/all" \
    --no-dedup --force --strip "$preset" --quiet
python3 "$eval_dir/score.py" --pred "$out/all" --worst 10
# Halves: ids sorted by a hash, split in two.
python3 - "$eval_dir" "$out" <<'PY'
import hashlib, os, subprocess, sys
eval_dir, out = sys.argv[1], sys.argv[2]
gold = os.path.join(eval_dir, "scrapinghub", "gold")
names = sorted(os.listdir(gold), key=lambda n: hashlib.sha1(n.encode()).hexdigest())
for half, part in (("A", names[::2]), ("B", names[1::2])):
    g = os.path.join(out, "gold" + half)
    os.makedirs(g)
    for n in part:
        os.symlink(os.path.abspath(os.path.join(gold, n)), os.path.join(g, n))
    r = subprocess.run([sys.executable, os.path.join(eval_dir, "score.py"),
                        "--pred", os.path.join(out, "all"), "--gold", g],
                       capture_output=True, text=True, check=True)
    print(f"half {half}: {r.stdout.strip()}")
PY
