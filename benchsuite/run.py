#!/usr/bin/env python3
"""Side-by-side benchmark of chaff against its Python peers (see benchsuite/README.md).

  python3 benchsuite/run.py --chaff target/release/chaff --shared ../shared \
      --out benchsuite/runs/$(date +%F)

Tasks (all run in one invocation, on the same inputs for every tool):
  fix       ftfy.fix_text, plsfix.fix_text, `chaff fix --jsonl`
  strip     jusText on text lines, C4 line rules, `chaff clean --no-dedup`
  neardup   datasketch MinHash LSH, simhash-pybind, `chaff clean --no-strip`

On first use it creates benchsuite/.venv and pip-installs the peers there, then
re-executes itself with the venv's python. Results: OUT/README.md, raw.csv,
summary.txt (+ chaff's report.json of every chaff run under OUT/chaff-reports/).
"""
from __future__ import annotations

import argparse
import csv
import datetime
import html
import json
import os
import platform
import random
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENV = HERE / ".venv"
VENV_PY = VENV / "bin" / "python"

# (pip requirement(s), import name) per peer; installed one by one so a failure
# only takes out that peer.
PEERS = [
    (["ftfy"], "ftfy"),
    (["plsfix"], "plsfix"),
    (["justext", "lxml_html_clean"], "justext"),
    (["datasketch"], "datasketch"),
    (["simhash-pybind"], "simhash"),
]
INSTALL_LOG = VENV / "install-failures.json"


# --------------------------------------------------------------------------- venv

def ensure_venv(argv: list[str]) -> None:
    """Create the venv, install missing peers, re-exec inside it."""
    if Path(sys.prefix).resolve() == VENV.resolve():
        return
    if not VENV_PY.exists():
        print(f"[venv] creating {VENV}", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    failures = {}
    for reqs, mod in PEERS:
        if subprocess.run([str(VENV_PY), "-c", f"import {mod}"], capture_output=True).returncode == 0:
            continue
        print(f"[venv] pip install {' '.join(reqs)}", flush=True)
        r = subprocess.run([str(VENV_PY), "-m", "pip", "install", "-q", *reqs],
                           capture_output=True, text=True)
        if r.returncode != 0 and mod == "simhash":
            # fallback named in the issue: the pure-Python `simhash` package
            print("[venv] simhash-pybind failed; trying `simhash`", flush=True)
            r2 = subprocess.run([str(VENV_PY), "-m", "pip", "install", "-q", "simhash"],
                                capture_output=True, text=True)
            if r2.returncode == 0:
                failures["simhash-pybind"] = (r.stderr.strip().splitlines() or ["?"])[-1]
                continue
        if r.returncode != 0:
            failures[" ".join(reqs)] = (r.stderr.strip().splitlines() or ["?"])[-1]
            print(f"[venv]   FAILED: {failures[' '.join(reqs)]}", flush=True)
    INSTALL_LOG.write_text(json.dumps(failures, indent=1))
    os.execv(str(VENV_PY), [str(VENV_PY), str(Path(__file__).resolve()), *argv])


# --------------------------------------------------------------------------- helpers

ROWS: list[dict] = []
NOTES: list[str] = []
PEER_ERRORS: dict[str, str] = {}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def timed(fn, repeats: int, budget: float, setup=None):
    """Run fn() up to `repeats` times (at least once; stop early once `budget` seconds
    are spent). With `setup`, each run is fn(setup()), and setup() is not timed (it
    gives an output folder of its own, see new_output). Returns (result of the last
    run, list of wall times)."""
    times, res, spent = [], None, 0.0
    for _ in range(max(1, repeats)):
        arg = setup() if setup is not None else None
        t0 = time.perf_counter()
        res = fn(arg) if setup is not None else fn()
        dt = time.perf_counter() - t0
        times.append(dt)
        spent += dt
        if spent > budget:
            break
    return res, times


def add_row(tool, task, nbytes, times, quality="", output="", **metrics):
    best = min(times) if times else float("nan")
    row = {
        "tool": tool, "task": task, "bytes": nbytes,
        "seconds_best": round(best, 4),
        "seconds_median": round(statistics.median(times), 4) if times else "",
        "runs": len(times),
        "mb_per_s": round(nbytes / 1e6 / best, 3) if times and best > 0 else "",
        "quality": quality, "output": output,
    }
    row.update(metrics)
    ROWS.append(row)
    log(f"  {tool:<38} {task:<8} {row['mb_per_s']!s:>8} MB/s  {quality}  {output}")
    return row


def dir_bytes(d: Path) -> int:
    return sum(p.stat().st_size for p in d.rglob("*") if p.is_file() and ".chaff" not in p.parts)


def run_chaff(argv, stdin_path=None, stdout_path=None):
    fin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
    fout = open(stdout_path, "wb") if stdout_path else subprocess.DEVNULL
    try:
        r = subprocess.run(argv, stdin=fin, stdout=fout, stderr=subprocess.PIPE)
    finally:
        if stdin_path:
            fin.close()
        if stdout_path:
            fout.close()
    if r.returncode != 0:
        raise RuntimeError(f"{shlex.join(map(str, argv))} exited {r.returncode}: "
                           f"{r.stderr.decode(errors='replace')[-500:]}")


def save_chaff_report(out_dir: Path, name: str, dest: Path):
    rep = out_dir / ".chaff" / "report.json"
    if rep.exists():
        (dest / "chaff-reports").mkdir(parents=True, exist_ok=True)
        shutil.copy(rep, dest / "chaff-reports" / f"{name}.json")


def fresh(d: Path) -> Path:
    if d.exists():
        shutil.rmtree(d)
    return d


# Output folders of timed runs, deleted when the suite ends.
TIMED_OUTPUTS: list[Path] = []


def new_output(base: Path) -> Path:
    """A folder name not yet used in this suite run, for one timed run's output, with
    the page cache written back first. On ext4, creating thousands of files where as
    many were just deleted took 3-6 s of system time instead of 0.25 s: deleting each
    run's output right away made every tool pay for the one before it. The folders
    are deleted when the suite ends instead."""
    out = base.parent / f"{base.name}-{len(TIMED_OUTPUTS):03d}"
    fresh(out)  # left by an earlier suite run
    TIMED_OUTPUTS.append(out)
    os.sync()
    return out


def remove_timed_outputs():
    for out in TIMED_OUTPUTS:
        shutil.rmtree(out, ignore_errors=True)


# --------------------------------------------------------------------------- fix

def mojibake(s: str) -> str:
    return s.encode("utf-8").decode("cp1252", errors="replace")


def build_fix_corpus(shared: Path, mb: float, seed: int):
    """Lines of the gold texts, repeated to `mb` MB; 10% of lines mojibaked.
    Returns (lines, originals, flags) where flags[i] is True when line i was
    mojibaked *and* the mojibake changed it (pure-ASCII lines do not change)."""
    gold = shared / "eval/boilerplate/scrapinghub/gold"
    base = []
    for p in sorted(gold.glob("*.txt")):
        base += [l for l in p.read_text(encoding="utf-8").splitlines() if l.strip()]
    rng = random.Random(seed)
    lines, orig, flags, size = [], [], [], 0
    while size < mb * 1e6:
        for l in base:
            if rng.random() < 0.10:
                m = mojibake(l)
                lines.append(m)
                flags.append(m != l)
            else:
                lines.append(l)
                flags.append(False)
            orig.append(l)
            size += len(l.encode("utf-8")) + 1
            if size >= mb * 1e6:
                break
    return lines, orig, flags


def conformance_cases(shared: Path):
    cases = []
    for p in sorted((shared / "conformance/ftfy-cases").glob("*.json")):
        cases += json.loads(p.read_text(encoding="utf-8"))
    return cases


def write_jsonl(path: Path, texts):
    with open(path, "w", encoding="utf-8") as f:
        for t in texts:
            f.write(json.dumps(t, ensure_ascii=False) + "\n")


def read_jsonl(path: Path):
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            v = json.loads(line)
            out.append(v["text"] if isinstance(v, dict) else v)
    return out


def fix_quality(outputs, n_conf, cases, orig, flags, fixed_orig, body_in):
    """quality string + metrics. outputs = fixer over [conformance originals] + corpus lines.
    fixed_orig[i] = fixer(orig[i]) for the mojibaked lines (for the 'consistent' metric)."""
    conf_out = outputs[:n_conf]
    pass_cases = [(o, c) for o, c in zip(conf_out, cases) if c.get("expect") == "pass"]
    conf_ok = sum(o == c["fixed"] for o, c in pass_cases)
    body = outputs[n_conf:]
    moj = [i for i, f in enumerate(flags) if f]
    exact = sum(body[i] == orig[i] for i in moj)
    consistent = sum(body[i] == fixed_orig[i] for i in moj)
    lossless = [i for i in moj if "\ufffd" not in body_in[i]]
    consistent_ll = sum(body[i] == fixed_orig[i] for i in lossless)
    clean_changed = sum(1 for i, f in enumerate(flags) if not f and body[i] != orig[i])
    m = {
        "conf_pass": conf_ok, "conf_total": len(pass_cases),
        "moji_lines": len(moj), "moji_exact": round(exact / len(moj), 4) if moj else "",
        "moji_consistent": round(consistent / len(moj), 4) if moj else "",
        "moji_lossless_lines": len(lossless),
        "moji_lossless_consistent": round(consistent_ll / len(lossless), 4) if lossless else "",
        "clean_lines_changed": clean_changed, "out_lines": len(outputs),
    }
    q = (f"restored exact {m['moji_exact']:.3f} / =fix(orig) {m['moji_consistent']:.3f}"
         f" (no U+FFFD: {m['moji_lossless_consistent']:.3f}); "
         f"conformance {conf_ok}/{len(pass_cases)}")
    o = f"{len(outputs)} lines out, {clean_changed} clean lines changed"
    return q, o, m


def task_fix(a, work: Path, out: Path, chaff: str):
    log(f"fix: building corpus ({a.fix_mb} MB, big {a.fix_big_mb} MB)")
    cases = conformance_cases(a.shared)
    conf_in = [c["original"] for c in cases]
    lines, orig, flags = build_fix_corpus(a.shared, a.fix_mb, a.seed)
    texts = conf_in + lines
    nbytes = sum(len(t.encode("utf-8")) for t in texts)
    d = work / "fix"
    d.mkdir(parents=True, exist_ok=True)
    inp = d / "in.jsonl"
    write_jsonl(inp, texts)
    file_bytes = inp.stat().st_size
    moj_idx = [i for i, f in enumerate(flags) if f]
    NOTES.append(f"fix: {len(conf_in)} ftfy conformance originals + {len(lines)} gold-text lines "
                 f"({nbytes/1e6:.1f} MB of text, {file_bytes/1e6:.1f} MB as JSON Lines); "
                 f"{len(moj_idx)} lines changed by the 10% mojibake (utf-8 bytes read as cp1252, "
                 f"errors=replace; ASCII-only lines are unchanged by it and not counted)")
    orig_moj = d / "orig-moji.jsonl"
    write_jsonl(orig_moj, [orig[i] for i in moj_idx])

    def fixed_orig_map(fixed_list):
        m = {i: fixed_list[k] for k, i in enumerate(moj_idx)}
        return [m.get(i) for i in range(len(orig))]

    # Python peers, in-process: time covers fix_text over every string (no JSON I/O)
    for name, mod in (("ftfy.fix_text", "ftfy"), ("plsfix.fix_text", "plsfix")):
        try:
            fix = __import__(mod).fix_text
        except Exception as e:  # noqa: BLE001
            PEER_ERRORS[name] = f"import failed: {e}"
            log(f"  {name}: import failed: {e}")
            continue
        log(f"  running {name}")
        outputs, times = timed(lambda: [fix(t) for t in texts], a.repeats, a.peer_budget)
        fo = fixed_orig_map([fix(orig[i]) for i in moj_idx])
        q, o, m = fix_quality(outputs, len(conf_in), cases, orig, flags, fo, lines)
        add_row(name, "fix", nbytes, times, q, o, **m)

    # chaff: wall time of the whole command incl. process start and JSON I/O
    for profile in ("ftfy", "pipeline"):
        name = f"chaff fix --jsonl --profile {profile}"
        argv = [chaff, "fix", "--jsonl", "--profile", profile]
        outp = d / f"out-chaff-{profile}.jsonl"
        try:
            _, times = timed(lambda: run_chaff(argv, inp, outp), a.repeats, a.chaff_budget)
            outputs = read_jsonl(outp)
            run_chaff(argv, orig_moj, d / "orig-moji-out.jsonl")
            fo = fixed_orig_map(read_jsonl(d / "orig-moji-out.jsonl"))
            q, o, m = fix_quality(outputs, len(conf_in), cases, orig, flags, fo, lines)
            add_row(name, "fix", nbytes, times, q, o, **m)
        except Exception as e:  # noqa: BLE001
            PEER_ERRORS[name] = str(e)
            log(f"  {name}: FAILED {e}")

    # larger input, chaff only (start-up negligible)
    big = d / "big.jsonl"
    reps = max(1, round(a.fix_big_mb / a.fix_mb))
    with open(big, "w", encoding="utf-8") as f:
        data = inp.read_text(encoding="utf-8")
        for _ in range(reps):
            f.write(data)
    big_bytes = nbytes * reps
    name = f"chaff fix --jsonl --profile ftfy ({reps}x input)"
    try:
        _, times = timed(lambda: run_chaff([chaff, "fix", "--jsonl", "--profile", "ftfy"], big,
                                           d / "big-out.jsonl"), a.repeats, a.chaff_budget)
        n_out = sum(1 for _ in open(d / "big-out.jsonl", encoding="utf-8"))
        add_row(name, "fix", big_bytes, times, "", f"{n_out} lines out (expect {len(texts) * reps})")
    except Exception as e:  # noqa: BLE001
        PEER_ERRORS[name] = str(e)
    big.unlink(missing_ok=True)
    (d / "big-out.jsonl").unlink(missing_ok=True)
    # start-up cost: empty input
    empty = d / "empty.jsonl"
    empty.write_text("")
    _, times = timed(lambda: run_chaff([chaff, "fix", "--jsonl", "--profile", "ftfy"], empty,
                                       d / "empty-out.jsonl"), 5, 10)
    NOTES.append(f"fix: chaff start-up (empty stdin) best {min(times)*1000:.0f} ms of {len(times)}")
    add_row("chaff fix (empty input: start-up)", "fix", 0, times, "", f"start-up {min(times)*1000:.0f} ms")


# --------------------------------------------------------------------------- strip

CITATION_REGEX = re.compile(r"\[\d*]|\[edit]|\[citation needed]")
END_PUNCTUATION = (".", "?", "!", '"', "'")
ELLIPSIS = "..."
POLICY_SUBSTRINGS = ["terms of use", "privacy policy", "cookie policy",
                     "uses cookies", "use of cookies", "use cookies"]


def c4_lines(text: str, doc_rules: bool = False) -> str:
    """datatrove C4QualityFilter defaults, line rules (split_paragraph=True):
    drop a line with a word > 1000 chars, without terminal punctuation (. ? ! " ')
    or ending in '...', with < 3 words, containing 'javascript', or containing a
    policy phrase; strip citation markers. With doc_rules the document-level
    rules apply too (whole document dropped on 'lorem ipsum', '{', or < 5
    sentences, counted here as kept lines ending in . ? !)."""
    kept = []
    for line in text.splitlines():
        line = line.strip()
        words = line.split()
        if any(len(w) > 1000 for w in words):
            continue
        if not line.endswith(END_PUNCTUATION) or line.endswith(ELLIPSIS):
            continue
        if len(words) < 3:
            continue
        low = line.lower()
        if doc_rules and ("lorem ipsum" in low or "{" in line):
            return ""
        if "javascript" in low:
            continue
        if any(p in low for p in POLICY_SUBSTRINGS):
            continue
        kept.append(CITATION_REGEX.sub("", line))
    if doc_rules and sum(len(re.findall(r"[.!?](?:\s|$)", l)) for l in kept) < 5:
        return ""
    return "\n".join(kept)


def make_justext():
    """jusText (default parameters) on the text lines: each non-blank line becomes a
    <p> of a minimal HTML document; paragraphs classified 'good' are kept. The stoplist
    is chosen per document: the one of jusText's stoplists with the highest share of
    the document's words (this reproduces the reference 0.755 / 0.802; the English
    stoplist alone gives 0.679 / 0.764 with 29 empty outputs)."""
    import justext
    stoplists = [justext.get_stoplist(l) for l in sorted(justext.get_stoplists())]
    langs_of = {}
    for k, sl in enumerate(stoplists):
        for w in sl:
            langs_of.setdefault(w, []).append(k)

    def run(text: str) -> str:
        body = "".join(f"<p>{html.escape(l)}</p>\n" for l in text.splitlines() if l.strip())
        if not body:
            return ""
        hits = [0] * len(stoplists)
        for w in WORD_RE.findall(text.lower()):
            for k in langs_of.get(w, ()):
                hits[k] += 1
        stop = stoplists[max(range(len(stoplists)), key=hits.__getitem__)]
        doc = f"<html><body>\n{body}</body></html>"
        try:
            paras = justext.justext(doc, stop)
        except Exception:  # noqa: BLE001  (lxml raises on documents it finds empty)
            return ""
        return "\n".join(p.text for p in paras if not p.is_boilerplate)
    return run


def py_strip_dir(fn, src: Path, dst: Path):
    for p in sorted(src.rglob("*.txt")):
        o = dst / p.relative_to(src)
        o.parent.mkdir(parents=True, exist_ok=True)
        o.write_text(fn(p.read_text(encoding="utf-8", errors="replace")), encoding="utf-8")


def score_strip(a, pred: Path):
    r = subprocess.run([sys.executable, str(a.shared / "eval/boilerplate/score.py"), "--pred", str(pred)],
                       capture_output=True, text=True, check=True)
    line = r.stdout.strip().splitlines()[0]
    m = re.search(r"tok P ([\d.]+) R ([\d.]+) F1 ([\d.]+)\s+sh4 P ([\d.]+) R ([\d.]+) F1 ([\d.]+)\s+empty (\d+)", line)
    keys = ["tok_p", "tok_r", "tok_f1", "sh4_p", "sh4_r", "sh4_f1"]
    met = {k: float(v) for k, v in zip(keys, m.groups()[:6])}
    met["empty_outputs"] = int(m.group(7))
    return met


def task_strip(a, work: Path, out: Path, chaff: str):
    src = a.shared / "eval/boilerplate/scrapinghub/input"
    d = work / "strip"
    d.mkdir(parents=True, exist_ok=True)
    rep = d / "rep"
    if not rep.exists():
        for k in range(a.strip_rep):
            shutil.copytree(src, rep / f"r{k:02d}")
    in_bytes = dir_bytes(src)
    rep_bytes = dir_bytes(rep)
    NOTES.append(f"strip: quality on the 181 pages ({in_bytes/1e6:.2f} MB); MB/s on the same pages "
                 f"copied {a.strip_rep}x into sub-folders ({rep_bytes/1e6:.1f} MB)")

    def record(name, one_dir, times, rep_out):
        met = score_strip(a, one_dir)
        ob1, obr = dir_bytes(one_dir), dir_bytes(rep_out)
        q = f"tok F1 {met['tok_f1']:.3f} sh4 F1 {met['sh4_f1']:.3f}"
        o = (f"kept {ob1/in_bytes:.1%} of bytes, {met['empty_outputs']} empty; "
             f"timing run kept {obr/rep_bytes:.1%}")
        add_row(name, "strip", rep_bytes, times, q, o, out_bytes=ob1, **met)

    peers = []
    try:
        peers.append(("jusText on text lines (per-doc stoplist)", make_justext()))
    except Exception as e:  # noqa: BLE001
        PEER_ERRORS["jusText"] = f"import failed: {e}"
    peers.append(("C4 line rules (datatrove defaults)", c4_lines))
    peers.append(("C4 line + doc rules", lambda t: c4_lines(t, True)))
    for name, fn in peers:
        log(f"  running {name}")
        one = fresh(d / "one")
        py_strip_dir(fn, src, one)
        outs = []
        _, times = timed(lambda ro: py_strip_dir(fn, rep, ro), a.repeats, a.peer_budget,
                         setup=lambda: outs.append(new_output(d / "rep-out")) or outs[-1])
        record(name, one, times, outs[-1])

    for threads in (None, 1):
        tname = f" --threads {threads}" if threads else ""
        name = f"chaff clean --no-dedup{tname}"
        extra = ["--threads", str(threads)] if threads else []
        try:
            one = d / "one"
            run_chaff([chaff, "clean", str(src), "--out", str(one), "--no-dedup", "--force", *extra])
            outs = []
            _, times = timed(lambda ro: run_chaff([chaff, "clean", str(rep), "--out", str(ro),
                                                   "--no-dedup", "--force", *extra]),
                             a.repeats, a.chaff_budget,
                             setup=lambda: outs.append(new_output(d / "rep-out")) or outs[-1])
            save_chaff_report(outs[-1], f"strip{('-t' + str(threads)) if threads else ''}", out)
            record(name, one, times, outs[-1])
        except Exception as e:  # noqa: BLE001
            PEER_ERRORS[name] = str(e)
            log(f"  {name}: FAILED {e}")


# --------------------------------------------------------------------------- near-dup

WORD_RE = re.compile(r"\w+")


def read_paragraphs(docs: Path):
    """Paragraph = maximal run of non-blank lines; returns [(rel, start_line, word_set)]."""
    paras = []
    for p in sorted(docs.rglob("*.txt")):
        rel = p.relative_to(docs).as_posix()
        start, buf = None, []
        lines = p.read_text(encoding="utf-8", errors="replace").split("\n")
        for n, line in enumerate(lines + [""], 1):
            if line.strip():
                if start is None:
                    start = n
                buf.append(line)
            elif start is not None:
                ws = frozenset(WORD_RE.findall(" ".join(buf).lower()))
                if ws:
                    paras.append((rel, start, ws))
                start, buf = None, []
    return paras


def jaccard(x, y):
    if not x or not y:
        return 0.0
    i = len(x & y)
    return i / (len(x) + len(y) - i)


def rep_clusters(paras, neighbours, thr=0.5):
    """Deterministic representative clustering: in input order, a paragraph joins the
    earlier representative it is most similar to (Jaccard >= thr on word sets among its
    candidates), else becomes a representative. Members are checked against the
    representative, so no chains form."""
    rep = list(range(len(paras)))
    is_rep = [True] * len(paras)
    for i in range(len(paras)):
        best, bj = None, thr
        for j in neighbours.get(i, ()):
            if j < i and is_rep[j]:
                jj = jaccard(paras[i][2], paras[j][2])
                if jj >= bj:
                    if best is None or jj > bj or j < best:
                        best, bj = j, jj
        if best is not None:
            rep[i], is_rep[i] = best, False
    return rep


def union_find_clusters(n, pairs):
    parent = list(range(n))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x
    for i, j in pairs:
        ri, rj = find(i), find(j)
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)
    return [find(i) for i in range(n)]


def write_clusters(path: Path, paras, rep):
    groups = {}
    for i, r in enumerate(rep):
        groups.setdefault(r, []).append(i)
    n_cl = n_mem = 0
    with open(path, "w", encoding="utf-8") as f:
        for r, mem in groups.items():
            if len(mem) < 2:
                continue
            n_cl += 1
            n_mem += len(mem)
            f.write(json.dumps({"members": [{"doc": paras[i][0], "line": paras[i][1]} for i in mem]}) + "\n")
    return n_cl, n_mem


def nd_datasketch(docs: Path, clusters: Path):
    from datasketch import MinHash, MinHashLSH
    paras = read_paragraphs(docs)
    lsh = MinHashLSH(num_perm=100, params=(25, 4))
    rep = list(range(len(paras)))
    for i, (_, _, ws) in enumerate(paras):
        m = MinHash(num_perm=100)
        m.update_batch([w.encode("utf-8") for w in ws])
        best, bj = None, 0.5
        for j in sorted(lsh.query(m)):
            jj = jaccard(ws, paras[j][2])
            if jj > bj or (jj == bj and best is None):
                best, bj = j, jj
        if best is None:
            lsh.insert(i, m, check_duplication=False)
        else:
            rep[i] = best
    return write_clusters(clusters, paras, rep), len(paras)


def nd_simhash(docs: Path, clusters: Path, bits: int, blocks: int, check: bool, max_pairs: int):
    import simhash
    paras = read_paragraphs(docs)
    hashes = [simhash.compute([simhash.unsigned_hash(w.encode("utf-8")) for w in ws]) for _, _, ws in paras]
    by_hash = {}
    for i, h in enumerate(hashes):
        by_hash.setdefault(h, []).append(i)
    hpairs = simhash.find_all(list(by_hash), blocks, bits)
    pairs = []
    for ids in by_hash.values():  # identical fingerprints
        pairs += [(ids[0], j) for j in ids[1:]] if not check else [(x, y) for k, x in enumerate(ids) for y in ids[k + 1:]]
    for h1, h2 in hpairs:
        for x in by_hash[h1]:
            for y in by_hash[h2]:
                pairs.append((x, y))
        if len(pairs) > max_pairs:
            raise RuntimeError(f"more than {max_pairs} candidate pairs; infeasible")
    if check:
        nb = {}
        for x, y in pairs:
            nb.setdefault(x, []).append(y)
            nb.setdefault(y, []).append(x)
        rep = rep_clusters(paras, nb)
    else:
        rep = union_find_clusters(len(paras), pairs)
    return write_clusters(clusters, paras, rep), len(paras), len(pairs)


def score_nd(a, labels: Path, clusters: Path):
    r = subprocess.run([sys.executable, str(a.shared / "eval/neardup/score.py"), "--labels", str(labels),
                        "--clusters", str(clusters)], capture_output=True, text=True, check=True)
    m = re.search(r"predicted pairs (\d+)\s+P ([\d.]+) R ([\d.]+) F1 ([\d.]+)", r.stdout)
    lv = dict((k, float(v)) for k, v in re.findall(r"(light|medium|heavy) ([\d.]+)", r.stdout))
    met = {"pred_pairs": int(m.group(1)), "nd_p": float(m.group(2)), "nd_r": float(m.group(3)),
           "nd_f1": float(m.group(4)), "rec_light": lv.get("light", ""), "rec_medium": lv.get("medium", ""),
           "rec_heavy": lv.get("heavy", "")}
    # The scorer prints three decimals, which can tie tools that differ by
    # a few pairs: the same pair counts again, kept to four.
    tp, n_true, n_pred = pair_counts(labels, clusters)
    if n_pred != met["pred_pairs"]:
        raise RuntimeError(f"pair counts disagree with score.py: {n_pred} != {met['pred_pairs']}")
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_true if n_true else 0.0
    met.update(nd_tp=tp, nd_p=round(p, 4), nd_r=round(r, 4),
               nd_f1=round(2 * p * r / (p + r), 4) if p + r else 0.0)
    return met


def pair_counts(labels: Path, clusters: Path):
    """(true positive pairs, true pairs, predicted pairs), counted as score.py counts them."""
    truth = {}
    with open(labels, encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            truth[(row["doc"], int(row["line"]))] = row["cluster"]
    pred = {}
    with open(clusters, encoding="utf-8") as f:
        for n, line in enumerate(f):
            if line.strip():
                for mem in json.loads(line)["members"]:
                    key = (mem["doc"].lstrip("./"), int(mem["line"]))
                    if key in truth:
                        pred[key] = n

    def pairs_in(groups):
        return sum(k * (k - 1) // 2 for k in groups.values())

    both = Counter((pred[k], truth[k]) for k in pred)
    return pairs_in(both), pairs_in(Counter(truth.values())), pairs_in(Counter(pred.values()))


def task_neardup(a, work: Path, out: Path, chaff: str):
    corpus = work / "nd"
    stamp = corpus / ".made"
    want = f"{a.nd_mb} {a.seed}"
    if not (stamp.exists() and stamp.read_text() == want):
        fresh(corpus)
        log(f"neardup: make_corpus.py --mb {a.nd_mb}")
        subprocess.run([sys.executable, str(a.shared / "eval/neardup/make_corpus.py"), str(corpus),
                        "--mb", str(a.nd_mb), "--seed", str(a.seed)], check=True)
        stamp.write_text(want)
    docs, labels = corpus / "docs", corpus / "labels.tsv"
    nbytes = dir_bytes(docs)
    NOTES.append(f"neardup: make_corpus.py --mb {a.nd_mb} --seed {a.seed} ({nbytes/1e6:.1f} MB); "
                 f"every tool's time covers reading the files through writing its cluster file")

    def record(name, cl_path, times, extra_out=""):
        met = score_nd(a, labels, cl_path)
        n_cl = sum(1 for _ in open(cl_path, encoding="utf-8"))
        q = (f"F1 {met['nd_f1']:.4f} (P {met['nd_p']:.4f} R {met['nd_r']:.4f}); recall l/m/h "
             f"{met['rec_light']:.2f}/{met['rec_medium']:.2f}/{met['rec_heavy']:.2f}")
        add_row(name, "neardup", nbytes, times, q, f"{n_cl} clusters{extra_out}", **met)

    peers = [("datasketch MinHashLSH 100 perm 25x4, J>=0.5", lambda c: nd_datasketch(docs, c))]
    for bits, blocks, check in a.simhash_variants:
        nm = f"simhash-pybind <= {bits} bits ({blocks} blocks){', J>=0.5 check' if check else ', no check'}"
        peers.append((nm, lambda c, b=bits, k=blocks, ch=check: nd_simhash(docs, c, b, k, ch, a.max_pairs)))
    for name, fn in peers:
        log(f"  running {name}")
        cl = work / "nd-clusters.jsonl"
        try:
            res, times = timed(lambda: fn(cl), a.repeats, a.peer_budget)
        except ImportError as e:
            PEER_ERRORS[name] = f"import failed: {e}"
            log(f"  {name}: {e}")
            continue
        except Exception as e:  # noqa: BLE001
            PEER_ERRORS[name] = str(e)
            log(f"  {name}: FAILED {e}")
            continue
        extra = f", {res[2]} candidate pairs" if len(res) > 2 else ""
        record(name, cl, times, f", {res[1]} paragraphs{extra}")

    for threads in (None, 1):
        tname = f" --threads {threads}" if threads else ""
        name = f"chaff clean --no-strip{tname}"
        extra = ["--threads", str(threads)] if threads else []
        cl = work / "nd-chaff-clusters.jsonl"
        outs = []
        try:
            _, times = timed(lambda od: run_chaff([chaff, "clean", str(docs), "--no-strip", "--out",
                                                   str(od), "--clusters", str(cl), "--force", *extra]),
                             a.repeats, a.chaff_budget,
                             setup=lambda: outs.append(new_output(work / "nd-out")) or outs[-1])
            save_chaff_report(outs[-1], f"neardup{('-t' + str(threads)) if threads else ''}", out)
            record(name, cl, times)
        except Exception as e:  # noqa: BLE001
            PEER_ERRORS[name] = str(e)
            log(f"  {name}: FAILED {e}")


# --------------------------------------------------------------------------- report

def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=30).stdout.strip()
    except Exception:  # noqa: BLE001
        return ""


def machine_info(chaff: str):
    from importlib.metadata import version, PackageNotFoundError
    info = {
        "nproc": sh("nproc"),
        "cpu": sh("lscpu | sed -n 's/^Model name:[[:space:]]*//p'"),
        "memory": sh("free -h | awk '/^Mem:/{print $2\" total, \"$7\" available\"}'"),
        "os": sh(". /etc/os-release && echo $PRETTY_NAME") + " / kernel " + platform.release(),
        "python": platform.python_version(),
        "loadavg": " ".join(open("/proc/loadavg").read().split()[:3]) if os.path.exists("/proc/loadavg") else "",
    }
    cdir = str(Path(chaff).resolve().parent)
    commit = sh(f"git -C {shlex.quote(cdir)} rev-parse HEAD")
    dirty = sh(f"git -C {shlex.quote(cdir)} status --porcelain --untracked-files=no")
    info["chaff"] = (f"{sh(shlex.quote(chaff) + ' --version')} commit {commit or '?'}"
                     f"{' (+ uncommitted changes)' if dirty else ''}; binary {Path(chaff).resolve()}")
    pk = {}
    for p in ["ftfy", "plsfix", "justext", "lxml", "lxml_html_clean", "datasketch", "numpy", "scipy",
              "simhash-pybind", "simhash"]:
        try:
            pk[p] = version(p)
        except PackageNotFoundError:
            pass
    info["peers"] = ", ".join(f"{k} {v}" for k, v in pk.items())
    return info


def table(rows):
    chaff_best = {}
    chaff_1t = {}
    for r in rows:
        if r["tool"].startswith("chaff") and r["mb_per_s"] != "" and r["bytes"]:
            if "--threads 1" in r["tool"]:
                chaff_1t.setdefault(r["task"], r["mb_per_s"])
            else:
                chaff_best.setdefault(r["task"], r["mb_per_s"])
    hdr = ["tool", "task", "MB", "best s", "med s", "runs", "MB/s", "chaff x", "chaff-1t x", "quality", "output"]
    out = []
    for r in rows:
        mbps = r["mb_per_s"]
        ratio = ratio1 = ""
        if mbps and not r["tool"].startswith("chaff"):
            if r["task"] in chaff_best:
                ratio = f"{chaff_best[r['task']] / mbps:.1f}x"
            if r["task"] in chaff_1t:
                ratio1 = f"{chaff_1t[r['task']] / mbps:.1f}x"
        out.append([r["tool"], r["task"], f"{r['bytes']/1e6:.1f}", f"{r['seconds_best']:.2f}",
                    f"{r['seconds_median']:.2f}", str(r["runs"]), f"{mbps}", ratio, ratio1,
                    r["quality"], r["output"]])
    w = [max(len(h), *(len(x[i]) for x in out)) for i, h in enumerate(hdr)]
    lines = [" | ".join(h.ljust(w[i]) for i, h in enumerate(hdr)),
             "-|-".join("-" * x for x in w)]
    lines += [" | ".join(c.ljust(w[i]) for i, c in enumerate(x)) for x in out]
    md = ["| " + " | ".join(hdr) + " |", "|" + "---|" * len(hdr)]
    md += ["| " + " | ".join(c.replace("|", "/") for c in x) + " |" for x in out]
    return "\n".join(lines), "\n".join(md)


def chaff_stage_lines(out: Path):
    lines = []
    for rep in sorted((out / "chaff-reports").glob("*.json")):
        try:
            d = json.loads(rep.read_text())
        except Exception:  # noqa: BLE001
            continue
        st = d.get("stages", {})
        parts = [f"{k} {v.get('cpu_seconds', 0):.2f} s cpu ({v.get('mb_per_s_per_core', 0):.0f} MB/s/core)"
                 for k, v in st.items() if v.get("bytes")]
        lines.append(f"- {rep.stem}: wall {float(d.get('wall_seconds', 0)):.2f} s; " + "; ".join(parts))
    return lines or ["- (none)"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--chaff", required=True, help="path to the chaff binary")
    ap.add_argument("--shared", required=True, type=Path, help="path to the shared/ folder")
    ap.add_argument("--out", required=True, type=Path, help="results folder, e.g. benchsuite/runs/2026-11-23")
    ap.add_argument("--work", type=Path, default=Path("/tmp/bs-work"), help="scratch folder (inputs, outputs)")
    ap.add_argument("--tasks", default="fix,strip,neardup")
    ap.add_argument("--fix-mb", type=float, default=10.0, help="fix corpus size (all tools)")
    ap.add_argument("--fix-big-mb", type=float, default=100.0, help="larger fix input (chaff only)")
    ap.add_argument("--strip-rep", type=int, default=20, help="copies of the 181 pages for strip timing")
    ap.add_argument("--nd-mb", type=float, default=20.0, help="near-dup corpus size (make_corpus.py --mb)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per tool (best and median reported)")
    ap.add_argument("--peer-budget", type=float, default=40.0,
                    help="stop repeating a tool once its runs took this many seconds")
    ap.add_argument("--chaff-budget", type=float, default=60.0)
    ap.add_argument("--simhash", default="3:6:0,8:10:1,12:14:1",
                    help="simhash variants bits:blocks:check, comma-separated")
    ap.add_argument("--max-pairs", type=int, default=20_000_000,
                    help="give up a simhash variant above this many candidate pairs")
    ap.add_argument("--no-venv", action="store_true", help="use the current python as is")
    a = ap.parse_args()
    if not a.no_venv:
        ensure_venv(sys.argv[1:])
    a.shared = a.shared.resolve()
    a.simhash_variants = [tuple(int(x) for x in v.split(":")) for v in a.simhash.split(",") if v]
    chaff = str(Path(a.chaff).resolve())
    if not os.access(chaff, os.X_OK):
        sys.exit(f"not an executable: {chaff}")
    a.out.mkdir(parents=True, exist_ok=True)
    a.work.mkdir(parents=True, exist_ok=True)
    if INSTALL_LOG.exists():
        for k, v in json.loads(INSTALL_LOG.read_text()).items():
            PEER_ERRORS[f"pip install {k}"] = v
    t_start = time.time()
    info = machine_info(chaff)
    log(f"chaff: {info['chaff']}")
    tasks = a.tasks.split(",")
    try:
        if "fix" in tasks:
            task_fix(a, a.work, a.out, chaff)
        if "strip" in tasks:
            task_strip(a, a.work, a.out, chaff)
        if "neardup" in tasks:
            task_neardup(a, a.work, a.out, chaff)
    finally:
        remove_timed_outputs()
    NOTES.append("each timed run writes into a folder of its own, deleted when the suite ends "
                 "(writing where as many files were just deleted cost seconds of system time)")
    total = time.time() - t_start
    info["loadavg_end"] = " ".join(open("/proc/loadavg").read().split()[:3]) if os.path.exists("/proc/loadavg") else ""

    keys = []
    for r in ROWS:
        keys += [k for k in r if k not in keys]
    with open(a.out / "raw.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(ROWS)
    txt, md = table(ROWS)
    summary = [txt, ""]
    summary += [f"note: {n}" for n in NOTES]
    summary += [f"FAILED {k}: {v}" for k, v in PEER_ERRORS.items()]
    summary.append(f"suite wall time {total:.0f} s; MB/s = input MB / best wall time of {a.repeats} runs "
                   f"(fewer when a tool's runs exceeded the budget); 'chaff x' = chaff MB/s / tool MB/s")
    (a.out / "summary.txt").write_text("\n".join(summary) + "\n", encoding="utf-8")
    print("\n".join(summary))
    cmd = "python3 benchsuite/run.py " + " ".join(shlex.quote(x) for x in sys.argv[1:])
    readme = [
        f"# benchsuite run {a.out.name}",
        "",
        f"Generated by `benchsuite/run.py` on {datetime.datetime.now().isoformat(timespec='seconds')}"
        f" in {total:.0f} s.",
        "",
        "## Command",
        "",
        f"    {cmd}",
        "",
        "## Machine",
        "",
        f"- nproc: {info['nproc']}",
        f"- CPU: {info['cpu']}",
        f"- memory: {info['memory']}",
        f"- OS: {info['os']}",
        f"- Python: {info['python']}",
        f"- load average at start / end: {info['loadavg']} / {info['loadavg_end']} "
        "(the machine is shared: timings are noisy; MB/s is from the best run, the median is in raw.csv)",
        f"- chaff: {info['chaff']}",
        f"- peers: {info['peers']}",
        "",
        "## Results",
        "",
        md,
        "",
        "'chaff x' = chaff's MB/s (default threads) / the tool's MB/s on the same task;"
        " 'chaff-1t x' the same against `chaff --threads 1`. Python peers are single-threaded.",
        "",
        "## Notes",
        "",
        *[f"- {n}" for n in NOTES],
        *[f"- FAILED {k}: {v}" for k, v in PEER_ERRORS.items()],
        "",
        "## chaff's own per-stage figures (report.json of the last timed run)",
        "",
        *chaff_stage_lines(a.out),
        "",
        "Files: `raw.csv` (every metric), `summary.txt` (the printed table), "
        "`chaff-reports/` (chaff's report.json of the last timed run of each chaff row).",
        "",
    ]
    (a.out / "README.md").write_text("\n".join(readme), encoding="utf-8")
    log(f"wrote {a.out}/README.md, raw.csv, summary.txt")


if __name__ == "__main__":
    main()
