//! Throughput of the strip stage: per-document features plus classify.
//!
//! Inputs are built at bench time from the fixture pages: the seeds as
//! they are (small), and a few MB made of the seeds' lines reshuffled
//! into documents, with menus and teasers between the paragraphs
//! (large). The `+keys` entry adds what the pipeline also does per line
//! (a repeat key) and classifies with repeat counts taken from those
//! keys, as the batch path does.
//!
//! The answers are pinned: the number of removed lines is checked on
//! every iteration, and a fingerprint of every line's verdict (with its
//! reason) once per set, against values taken from the implementation
//! before any speed work. A faster wrong answer fails the bench.

use std::hint::black_box;

use chaff::strip::{Reason, Stripper};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn seeds() -> Vec<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/seeds/input");
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .expect("fixtures/seeds/input exists")
        .map(|e| e.expect("entry").path())
        .collect();
    names.sort();
    names
        .iter()
        .map(|p| std::fs::read_to_string(p).expect("UTF-8 seed"))
        .collect()
}

/// Documents of about `doc_bytes` each, `total` bytes in all: the seeds'
/// lines in a fixed pseudo-random order (an LCG, so every run is alike).
fn synthetic(seeds: &[String], total: usize, doc_bytes: usize) -> Vec<String> {
    let lines: Vec<&str> = seeds.iter().flat_map(|s| s.lines()).collect();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut docs = Vec::new();
    let mut size = 0;
    while size < total {
        let mut doc = String::with_capacity(doc_bytes + 256);
        while doc.len() < doc_bytes {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
            doc.push_str(lines[(state >> 33) as usize % lines.len()]);
            doc.push('\n');
        }
        size += doc.len();
        docs.push(doc);
    }
    docs
}

/// Which path a bench entry measures.
#[derive(Clone, Copy, PartialEq)]
enum Path {
    /// `document_features` + `classify`, no repeat counts.
    Features,
    /// Also `repeat_key` per line, with counts derived from the keys.
    WithKeys,
}

/// Stand-in repeat counts, a pure function of the key, so that every
/// run classifies with the same counts and some lines count as
/// template.
fn fake_count(key: u64) -> u32 {
    (key % 5) as u32
}

/// Strips every document; calls `each` with every line's verdict.
fn run(
    stripper: &Stripper,
    docs: &[Vec<&str>],
    path: Path,
    mut each: impl FnMut(&Option<Reason>),
) {
    let mut counts = Vec::new();
    for lines in docs {
        let features = stripper.document_features(lines);
        counts.clear();
        if path == Path::WithKeys {
            counts.extend(
                lines.iter().map(|l| fake_count(Stripper::repeat_key(l))),
            );
        }
        for v in &stripper.classify(&features, &counts) {
            each(v);
        }
    }
}

/// Removed lines, and an FNV-1a fingerprint of every verdict in order.
fn answer(
    stripper: &Stripper,
    docs: &[Vec<&str>],
    path: Path,
) -> (usize, u64) {
    let (mut removed, mut hash) = (0, 0xcbf2_9ce4_8422_2325u64);
    run(stripper, docs, path, |v| {
        removed += v.is_some() as usize;
        let text = v.as_ref().map_or(String::from("kept"), Reason::to_string);
        for b in text.bytes().chain([b'\n']) {
            hash = (hash ^ b as u64).wrapping_mul(0x100_0000_01b3);
        }
    });
    (removed, hash)
}

/// Lines kept without repeat counts, as the seeds goldens were made.
fn kept_lines(stripper: &Stripper, docs: &[Vec<&str>]) -> usize {
    let mut kept = 0;
    run(stripper, docs, Path::Features, |v| kept += v.is_none() as usize);
    kept
}

/// Lines of the goldens in fixtures/seeds/expected (blank separators
/// included, as they are kept lines too).
fn golden_lines() -> usize {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/seeds/expected");
    std::fs::read_dir(dir)
        .expect("fixtures/seeds/expected exists")
        .map(|e| std::fs::read_to_string(e.expect("entry").path()))
        .map(|t| t.expect("UTF-8 golden").lines().count())
        .sum()
}

/// (entry, path, removed lines, verdict fingerprint), pinned.
const EXPECTED: [(&str, Path, usize, u64); 4] = [
    ("seeds", Path::Features, 89, 2258480307805400241),
    ("synthetic-4MB", Path::Features, 35351, 7589866390962577613),
    ("seeds+keys", Path::WithKeys, 103, 13715877123532410047),
    ("synthetic-4MB+keys", Path::WithKeys, 39390, 7418672038706229233),
];

fn bench(c: &mut Criterion) {
    let seeds = seeds();
    let synthetic = synthetic(&seeds, 4 << 20, 12 << 10);
    let stripper = Stripper::default();
    let mut group = c.benchmark_group("strip");
    for &(name, path, removed, fingerprint) in &EXPECTED {
        let docs = if name.starts_with("seeds") { &seeds } else { &synthetic };
        let bytes: usize = docs.iter().map(String::len).sum();
        let split: Vec<Vec<&str>> =
            docs.iter().map(|d| d.lines().collect()).collect();
        let got = answer(&stripper, &split, path);
        assert_eq!(got, (removed, fingerprint), "{name}: verdicts changed");
        if name == "seeds" {
            assert_eq!(kept_lines(&stripper, &split), golden_lines());
        }
        group.throughput(Throughput::Bytes(bytes as u64));
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut n = 0;
                run(&stripper, black_box(&split), path, |v| {
                    n += v.is_some() as usize
                });
                assert_eq!(n, removed, "{name}: removed lines changed");
                n
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
