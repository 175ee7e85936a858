//! Whole-pipeline throughput: the single-document path (decode, fix,
//! strip) and a batch run with every stage, over the bundled seeds
//! repeated into a larger corpus.

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use chaff::input::{Inputs, WalkOptions};
use chaff::sink::Collect;
use chaff::Pipeline;

fn seeds() -> Vec<Vec<u8>> {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/seeds/input");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .expect("fixtures/seeds/input exists")
        .map(|e| e.expect("entry").path())
        .collect();
    names.sort();
    names.iter().map(|p| std::fs::read(p).expect("readable")).collect()
}

fn single_document(c: &mut Criterion) {
    let pipeline = Pipeline::builder().build().expect("defaults are valid");
    let pages = seeds();
    let bytes: usize = pages.iter().map(Vec::len).sum();
    let mut group = c.benchmark_group("single_document");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.bench_function("seeds", |b| {
        b.iter(|| {
            let mut kept = 0;
            for (i, page) in pages.iter().enumerate() {
                let doc = pipeline
                    .clean_bytes(&i.to_string(), black_box(page))
                    .expect("seeds are text");
                kept += doc.kept_lines.len();
            }
            // A faster wrong answer (nothing kept) must not pass.
            assert!(kept > 50, "only {kept} lines kept");
            kept
        })
    });
    group.finish();
}

fn batch(c: &mut Criterion) {
    // 200 copies of the seeds in 20 sources: cross-document counts and
    // clustering have real work to do.
    let tmp = tempfile::tempdir().expect("temp dir");
    let pages = seeds();
    let mut bytes = 0;
    for copy in 0..200 {
        let dir = tmp.path().join(format!("site{:02}", copy % 20));
        std::fs::create_dir_all(&dir).expect("dir");
        for (i, page) in pages.iter().enumerate() {
            let mut text = page.clone();
            text.extend(format!("\nCopy {copy} of page {i}.\n").bytes());
            bytes += text.len();
            std::fs::write(dir.join(format!("{copy}-{i}.txt")), text)
                .expect("write");
        }
    }
    let inputs = Inputs::from_paths(&[tmp.path()], &WalkOptions::default());
    let mut group = c.benchmark_group("batch");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(bytes as u64));
    for threads in [1, 2] {
        let pipeline =
            Pipeline::builder().threads(threads).build().expect("valid");
        group.bench_function(format!("all_stages_{threads}_threads"), |b| {
            b.iter(|| {
                let mut sink = Collect::default();
                let summary = pipeline.run(&inputs, &mut sink).expect("runs");
                assert_eq!(summary.documents, 1000);
                assert!(summary.clusters > 0, "copies must cluster");
                summary.lines_out
            })
        });
    }
    group.finish();
}

criterion_group!(benches, single_document, batch);
criterion_main!(benches);
