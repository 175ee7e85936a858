#!/usr/bin/env python3
"""Measure ftfy.fix_text throughput (MB/s) on the decode+fix bench inputs.

The inputs are written by `cargo bench --bench decode_fix` to
target/fix-bench-inputs/{clean_en,mojibake10_en,clean_zh_ru}.txt, so chaff
and ftfy see identical bytes. ftfy is installed into a venv at
/tmp/ftfy-venv if it is not there yet (PyPI, `pip install ftfy`), and this
script re-runs itself with that interpreter.

As in the Rust bench, "decode" is part of the measurement: the bytes are
decoded as UTF-8 (`bytes.decode("utf-8")`) and then `ftfy.fix_text` runs on
the whole text. Best of --repeat runs is reported.

    python3 benchsuite/ftfy_speed.py [--repeat 3] [--inputs DIR]
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

VENV = Path("/tmp/ftfy-venv")
ROOT = Path(__file__).resolve().parent.parent
NAMES = ["clean_en", "mojibake10_en", "clean_zh_ru"]


def ensure_ftfy() -> None:
    try:
        import ftfy  # noqa: F401
        return
    except ImportError:
        pass
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    check = subprocess.run([str(python), "-c", "import ftfy"], capture_output=True)
    if check.returncode != 0:
        subprocess.run([str(python), "-m", "pip", "install", "-q", "ftfy"], check=True)
    if Path(sys.prefix).resolve() != VENV.resolve():
        os.execv(str(python), [str(python), *sys.argv])


def main() -> None:
    ensure_ftfy()
    import ftfy

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--inputs", type=Path, default=ROOT / "target" / "fix-bench-inputs")
    args = parser.parse_args()
    print(f"ftfy {ftfy.__version__}, Python {sys.version.split()[0]}")
    for name in NAMES:
        path = args.inputs / f"{name}.txt"
        if not path.exists():
            sys.exit(f"{path} missing: run `cargo bench --bench decode_fix` first")
        data = path.read_bytes()
        expected = (args.inputs / f"{name}.expected.txt").read_text(encoding="utf-8")
        best = float("inf")
        for _ in range(args.repeat):
            start = time.perf_counter()
            fixed = ftfy.fix_text(data.decode("utf-8"))
            best = min(best, time.perf_counter() - start)
        # ftfy's defaults also uncurl quotes etc., so compare with that
        # applied to the clean text too.
        same = fixed == ftfy.fix_text(expected)
        print(f"{name:14} {len(data) / best / 1e6:8.2f} MB/s  ({len(data)} bytes, "
              f"restores the clean text: {same})")


if __name__ == "__main__":
    main()
