#!/bin/sh
# Scores near-duplicate clustering on the planted-edit corpus.
#
#   scripts/score_neardup.sh [SHARED_DIR] [MB] [SEED]
#
# SHARED_DIR defaults to ../shared (relative to the repository root);
# MB to 20, SEED to 42 (the README's reference set). Builds chaff in
# release mode, makes the corpus under /tmp, cleans it without strip and
# prints pairwise precision/recall/F1 and recall per edit level. Exits 1
# when F1 is below 0.97.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${1:-$root/../shared}
mb=${2:-20}
seed=${3:-42}
eval_dir=$shared/eval/neardup
work=${TMPDIR:-/tmp}/chaff-neardup-$mb-$seed
cd "$root"
cargo build --release --quiet
if [ ! -f "$work/labels.tsv" ]; then
    python3 "$eval_dir/make_corpus.py" "$work" --mb "$mb" --seed "$seed"
fi
target/release/chaff clean "$work/docs" --out "$work-out" --no-strip \
    --clusters "$work-clusters.jsonl" --force --progress never
python3 "$eval_dir/score.py" --labels "$work/labels.tsv" \
    --clusters "$work-clusters.jsonl" --min-f1 0.97
