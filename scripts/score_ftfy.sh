#!/usr/bin/env bash
# ftfy's 161 mojibake cases against `chaff fix` (see
# ../shared/conformance/ftfy-cases/README.md).
# Usage: scripts/score_ftfy.sh [SHARED_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
shared="${1:-../shared}"
cargo build --release --quiet
python3 "$shared/conformance/ftfy_conformance.py" \
    --cmd 'target/release/chaff fix --jsonl --profile ftfy' \
    --encoding-cmd 'target/release/chaff fix --jsonl --profile ftfy --only-encoding'
