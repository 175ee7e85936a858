//! Throughput of the strip stage: per-document features plus classify.
//!
//! Inputs are built at bench time from the fixture pages: the seeds as
//! they are (small), and a few MB made of the seeds' lines reshuffled
//! into documents, with menus and teasers between the paragraphs
//! (large). The count of kept lines is checked on every run, so a
//! faster wrong answer fails the bench.

use std::hint::black_box;

use chaff::strip::Stripper;
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

/// Strips every document and returns the number of kept lines.
fn run(stripper: &Stripper, docs: &[Vec<&str>]) -> usize {
    let mut kept = 0;
    for lines in docs {
        let features = stripper.document_features(lines);
        let verdict = stripper.classify(&features, &[]);
        kept += verdict.iter().filter(|v| v.is_none()).count();
    }
    kept
}

fn bench(c: &mut Criterion) {
    let seeds = seeds();
    let stripper = Stripper::default();
    let sets = [
        ("seeds", seeds.clone()),
        ("synthetic-4MB", synthetic(&seeds, 4 << 20, 12 << 10)),
    ];
    let mut group = c.benchmark_group("strip");
    for (name, docs) in &sets {
        let bytes: usize = docs.iter().map(String::len).sum();
        let split: Vec<Vec<&str>> =
            docs.iter().map(|d| d.lines().collect()).collect();
        let expected = run(&stripper, &split);
        assert!(expected > 0, "{name}: something is kept");
        if *name == "seeds" {
            // The goldens in fixtures/seeds/expected hold this many
            // non-empty lines; blank separators are kept too.
            let gold: usize = std::fs::read_dir(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/fixtures/seeds/expected"
            ))
            .expect("expected dir")
            .map(|e| std::fs::read_to_string(e.expect("entry").path()))
            .map(|t| t.expect("UTF-8").lines().count())
            .sum();
            assert_eq!(expected, gold, "seeds: kept lines match the goldens");
        }
        group.throughput(Throughput::Bytes(bytes as u64));
        group.bench_function(*name, |b| {
            b.iter(|| {
                let kept = run(&stripper, black_box(&split));
                assert_eq!(kept, expected, "{name}: kept lines changed");
                kept
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
