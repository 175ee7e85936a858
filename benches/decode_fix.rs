//! Decode + fix throughput on clean and partly mojibaked text.
//!
//! Inputs (about 4 MB each, built in setup and written to
//! `target/fix-bench-inputs/` so that `benchsuite/ftfy_speed.py` measures
//! ftfy on identical data):
//!   * `clean_en`: English news (the gold texts in `fixtures/fix/clean/`);
//!   * `mojibake10_en`: the same with 10% of the lines mojibaked (UTF-8
//!     bytes decoded as Windows-1252);
//!   * `clean_zh_ru`: Chinese and Russian text.
//!
//! Each benchmark checks its output so that a fast wrong answer fails.

use std::hint::black_box;
use std::path::{Path, PathBuf};

use chaff::decode::Decoder;
use chaff::fix::{FixOptions, Fixer, Profile};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const TARGET_BYTES: usize = 4 << 20;

fn manifest() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Repeats `text` (whole copies) until it reaches about `TARGET_BYTES`.
fn repeat_to_size(text: &str) -> String {
    let mut out = String::with_capacity(TARGET_BYTES + text.len());
    while out.len() < TARGET_BYTES {
        out.push_str(text);
        if !out.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

fn read_dir_texts(dir: &Path) -> String {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    paths.sort();
    paths.iter().map(|p| std::fs::read_to_string(p).unwrap() + "\n").collect()
}

/// Mojibakes lines (UTF-8 read as Windows-1252) until 10% of all lines are
/// mojibake; only lines with non-ASCII text can be, so those are chosen.
fn mojibake_tenth(clean: &str) -> (String, usize, usize) {
    let mut out = String::with_capacity(clean.len() * 11 / 10);
    let (mut lines, mut bad) = (0, 0);
    for line in clean.split_inclusive('\n') {
        lines += 1;
        if !line.is_ascii() && bad * 10 < lines {
            let (text, _, _) =
                encoding_rs::WINDOWS_1252.decode(line.as_bytes());
            out.push_str(&text);
            bad += 1;
        } else {
            out.push_str(line);
        }
    }
    (out, lines, bad)
}

fn inputs() -> Vec<(&'static str, String, String)> {
    let en = repeat_to_size(&read_dir_texts(
        &manifest().join("fixtures/fix/clean"),
    ));
    let (moji, lines, bad) = mojibake_tenth(&en);
    eprintln!("mojibake10_en: {bad} of {lines} lines mojibaked");
    let zh =
        std::fs::read_to_string(manifest().join("fixtures/fix/bench/zh.txt"))
            .unwrap();
    let ru =
        std::fs::read_to_string(manifest().join("fixtures/fix/bench/ru.txt"))
            .unwrap();
    let zh_ru = repeat_to_size(&format!("{zh}\n{ru}\n"));
    let out = manifest().join("target/fix-bench-inputs");
    std::fs::create_dir_all(&out).unwrap();
    let all = vec![
        ("clean_en", en.clone(), en.clone()),
        ("mojibake10_en", moji, en),
        ("clean_zh_ru", zh_ru.clone(), zh_ru),
    ];
    for (name, input, expected) in &all {
        std::fs::write(out.join(format!("{name}.txt")), input).unwrap();
        std::fs::write(out.join(format!("{name}.expected.txt")), expected)
            .unwrap();
    }
    all
}

fn decode_fix(c: &mut Criterion) {
    let decoder = Decoder::new();
    let fixers = [
        ("pipeline", Fixer::new(FixOptions::profile(Profile::Pipeline))),
        ("ftfy", Fixer::new(FixOptions::profile(Profile::Ftfy))),
    ];
    let mut group = c.benchmark_group("decode_fix");
    for (name, input, expected) in inputs() {
        let bytes = input.into_bytes();
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        for (profile, fixer) in &fixers {
            // Correctness first: the Pipeline profile must restore the clean
            // text exactly (ftfy's profile also uncurls quotes, so only its
            // length class is checked).
            let decoded = decoder.decode(&bytes).unwrap();
            let fixed = fixer.fix(&decoded.text);
            if *profile == "pipeline" {
                assert!(
                    fixed == expected.as_str(),
                    "{name}: fixed output differs from the clean text"
                );
            }
            let expected_len = fixed.len();
            group.bench_function(format!("{name}/{profile}"), |b| {
                b.iter(|| {
                    let decoded = decoder.decode(black_box(&bytes)).unwrap();
                    let fixed = fixer.fix(&decoded.text);
                    assert_eq!(fixed.len(), expected_len);
                    fixed.len()
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, decode_fix);
criterion_main!(benches);
