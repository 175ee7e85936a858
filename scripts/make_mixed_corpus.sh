#!/bin/sh
# Builds the end-to-end throughput corpus of issue #7: the planted-edit
# near-duplicate corpus plus copies of the real scraped pages.
#
#   scripts/make_mixed_corpus.sh OUT [MB] [PAGE_COPIES] [SHARED_DIR]
#
# OUT/nd is `make_corpus.py --mb MB` (default 1000); OUT/pages/rNN holds
# PAGE_COPIES (default 100, 161 MB) copies of the 181 pages of
# eval/boilerplate/scrapinghub/input, each copy a source of its own.
# Clean it with (each root's sub-folders are its sources):
#   chaff clean OUT/nd/docs OUT/pages --out OUT.jsonl --stats
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
out=$1
mb=${2:-1000}
copies=${3:-100}
shared=${4:-$root/../shared}
mkdir -p "$out"
if [ ! -f "$out/nd/labels.tsv" ]; then
    python3 "$shared/eval/neardup/make_corpus.py" "$out/nd" --mb "$mb"
fi
pages=$shared/eval/boilerplate/scrapinghub/input
k=0
while [ "$k" -lt "$copies" ]; do
    dest=$(printf '%s/pages/r%03d' "$out" "$k")
    [ -d "$dest" ] || { mkdir -p "$dest" && cp "$pages"/* "$dest"/; }
    k=$((k + 1))
done
du -sh "$out/nd/docs" "$out/pages"
