#!/usr/bin/env python3
"""Differential check: chaff's Ftfy profile against ftfy.fix_text.

Builds test lines from the clean fixtures and the bench's Chinese/Russian
text, mojibakes some of them through the codecs ftfy knows (one or two
layers), runs both fixers and prints how often they agree, with examples.
Needs ftfy (run with /tmp/ftfy-venv/bin/python) and
`cargo build --release --example fix_jsonl`.

    /tmp/ftfy-venv/bin/python scripts/ftfy_diff.py [--limit 3000]
"""
import argparse
import json
import random
import subprocess
from pathlib import Path

import ftfy

ROOT = Path(__file__).resolve().parent.parent
CODECS = ["latin-1", "windows-1252", "windows-1251", "windows-1250", "windows-1253",
          "windows-1254", "windows-1257", "iso-8859-2", "mac_roman", "cp437"]


def shared_samples():
    """Texts in many languages from the shared encoding corpus, if present."""
    base = Path("/work/shared/conformance/encodings")
    labels = base / "labels.tsv"
    if not labels.exists():
        return
    for row in labels.read_text(encoding="utf-8").splitlines()[1:]:
        cols = row.split("\t")
        if len(cols) > 6 and cols[6] == "yes" and not cols[2].startswith("utf-16") and not cols[2].startswith("utf-32"):
            try:
                text = (base / cols[0]).read_bytes().decode(cols[2])
            except (UnicodeDecodeError, LookupError, FileNotFoundError):
                continue
            if "<" in text:
                continue
            yield from text.splitlines()


def lines():
    for line in shared_samples():
        if line.strip() and not line.isascii():
            yield line
    for path in sorted((ROOT / "fixtures/fix/clean").glob("*.txt")) + sorted((ROOT / "fixtures/fix/bench").glob("*.txt")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.isascii():
                yield line


def mojibake(text, rng):
    for _ in range(rng.choice([1, 1, 1, 2])):
        codec = rng.choice(CODECS)
        try:
            text = text.encode("utf-8").decode(codec)
        except UnicodeDecodeError:
            pass
    return text


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=3000)
    args = parser.parse_args()
    rng = random.Random(1)
    pool = list(lines())
    rng.shuffle(pool)
    inputs = []
    clean = []
    for line in pool[: args.limit]:
        line = line[:300]
        inputs.append(line)
        inputs.append(mojibake(line, rng))
        clean += [ftfy.fix_text(line)] * 2
    proc = subprocess.run([str(ROOT / "target/release/examples/fix_jsonl"), "--profile", "ftfy"],
                          input="".join(json.dumps(s) + "\n" for s in inputs),
                          capture_output=True, text=True, check=True)
    ours = [json.loads(l) for l in proc.stdout.splitlines()]
    agree = ours_right = ftfy_right = 0
    diffs = []
    for text, mine, target in zip(inputs, ours, clean):
        theirs = ftfy.fix_text(text)
        agree += mine == theirs
        ours_right += mine == target
        ftfy_right += theirs == target
        if mine != theirs and mine != target:
            diffs.append((text, theirs, mine))
    # "Right" = equal to ftfy.fix_text of the clean line (so that the
    # non-encoding fixes, e.g. quote uncurling, are the same on both sides).
    print(f"{len(inputs)} lines, half of them mojibaked (some cannot be)")
    print(f"agree with ftfy {ftfy.__version__}: {agree}")
    print(f"restore the clean line: chaff {ours_right}, ftfy {ftfy_right}")
    print(f"differ from ftfy and wrong: {len(diffs)}")
    for text, theirs, mine in diffs[:10]:
        print("input:", repr(text[:120]))
        print(" ftfy:", repr(theirs[:120]))
        print(" ours:", repr(mine[:120]))


if __name__ == "__main__":
    main()
