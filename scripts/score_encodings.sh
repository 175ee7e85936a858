#!/usr/bin/env bash
# Decode every file of the encodings conformance set and score the result.
#   scripts/score_encodings.sh [SHARED_DIR]   (default: ../shared from the repo)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
shared="${1:-$repo/../shared}"
set_dir="$shared/conformance/encodings"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
cd "$repo"
cargo build --release --quiet
# The product's own decode stage: no fix, no strip, no dedup.
"$repo/target/release/chaff" clean "$set_dir" --out "$out/pred" --force \
    --no-fix --no-strip --no-dedup --hidden -q || true
out="$out/pred"
python3 "$set_dir/score.py" --pred "$out" -v
