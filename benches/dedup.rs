//! Dedup benchmarks: fingerprinting throughput (bytes of paragraph text)
//! and the candidate index on random fingerprints with planted pairs
//! (the count found is checked, so a faster wrong answer fails).
//!
//! The 10M-fingerprint all-pairs run with its time and peak memory is
//! `cargo run --release --example pairs_10m`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use chaff::dedup::index::{default_blocks, pairs_within};
use chaff::dedup::{DedupBuilder, Paragraph};

/// Deterministic news-like paragraphs: words from a 20,000-word
/// pseudo-vocabulary with a skewed (Zipf-like) choice, some capitalised,
/// some followed by a comma; every tenth paragraph is an edited copy of an
/// earlier one, so clustering has real work.
fn paragraphs(n: usize) -> Vec<String> {
    const SYLLABLES: [&str; 16] = [
        "ka", "to", "ri", "men", "sa", "lo", "dre", "an", "po", "li", "ve",
        "nu", "str", "el", "or", "ti",
    ];
    let vocab: Vec<String> = (0..20_000u32)
        .map(|i| {
            let mut w = String::new();
            let mut x = i + 1;
            while x > 0 {
                w.push_str(SYLLABLES[(x % 16) as usize]);
                x /= 16;
            }
            w
        })
        .collect();
    let mut x = 0x1234_5678u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut out: Vec<String> = Vec::with_capacity(n);
    for k in 0..n {
        if k % 10 == 9 {
            // An edited copy: about one word in eight replaced.
            let src = &out[next() as usize % k];
            let copy: Vec<String> = src
                .split(' ')
                .map(|w| {
                    if next() % 8 == 0 {
                        vocab[next() as usize % 2000].clone()
                    } else {
                        w.to_string()
                    }
                })
                .collect();
            out.push(copy.join(" "));
            continue;
        }
        let len = 40 + next() as usize % 80;
        let mut p = String::new();
        for i in 0..len {
            // Skewed: the square of a uniform index favours common words.
            let u = (next() % 20_000) as usize;
            let w = &vocab[u * u / 20_000];
            if i > 0 {
                p.push(' ');
            }
            if i % 17 == 0 {
                p.push_str(&w.to_uppercase());
            } else {
                p.push_str(w);
            }
            if i % 11 == 10 {
                p.push(',');
            }
        }
        p.push('.');
        out.push(p);
    }
    out
}

fn fingerprint(c: &mut Criterion) {
    let d = DedupBuilder::new().build().unwrap();
    let paras = paragraphs(2000);
    let bytes: usize = paras.iter().map(String::len).sum();
    let mut g = c.benchmark_group("dedup");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("fingerprint", |b| {
        b.iter(|| {
            paras
                .iter()
                .filter_map(|p| d.fingerprint(p))
                .map(|f| f.simhash)
                .fold(0, |a, x| a ^ x)
        })
    });
    let mut ja = String::new();
    for _ in 0..40 {
        ja.push_str("先日、不正に改造したiPhoneを販売したとして、商標法違反の疑いで逮捕された。");
    }
    g.throughput(Throughput::Bytes(ja.len() as u64));
    g.bench_function("fingerprint_japanese", |b| {
        b.iter(|| d.fingerprint(&ja).map(|f| f.simhash))
    });
    g.finish();
}

fn cluster(c: &mut Criterion) {
    let d = DedupBuilder::new().build().unwrap();
    let paras: Vec<Paragraph> = paragraphs(20_000)
        .iter()
        .enumerate()
        .filter_map(|(i, p)| {
            Some(Paragraph {
                doc: i,
                line: 1,
                last_line: 1,
                source: 0,
                len: p.len() as u32,
                fingerprint: d.fingerprint(p)?,
            })
        })
        .collect();
    let bytes: u64 = paras.iter().map(|p| u64::from(p.len)).sum();
    let mut g = c.benchmark_group("dedup");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(bytes));
    g.bench_function("cluster_20k_paragraphs", |b| {
        b.iter(|| d.cluster(&paras).len())
    });
    g.finish();
}

/// Random fingerprints plus `planted` copies within 3 bits.
pub fn planted(n: usize, planted: usize) -> Vec<u64> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = x;
        z = (z ^ z >> 30).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ z >> 27).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ z >> 31
    };
    let mut fps: Vec<u64> = (0..n - planted).map(|_| next()).collect();
    for i in 0..planted {
        let mut fp = fps[i * 7 % (n - planted)];
        for _ in 0..i % 4 {
            fp ^= 1 << (next() % 64);
        }
        fps.push(fp);
    }
    fps
}

fn index(c: &mut Criterion) {
    let fps = planted(1_000_000, 10_000);
    let found = pairs_within(&fps, 3, default_blocks(3)).len();
    // Planted pairs, plus the rare random pair within 3 bits.
    assert!((10_000..10_100).contains(&found), "found {found} pairs");
    let mut g = c.benchmark_group("dedup");
    g.sample_size(10);
    g.throughput(Throughput::Elements(fps.len() as u64));
    g.bench_function("pairs_within_3_of_1m", |b| {
        b.iter(|| pairs_within(&fps, 3, default_blocks(3)).len())
    });
    g.finish();
}

criterion_group!(benches, fingerprint, cluster, index);
criterion_main!(benches);
