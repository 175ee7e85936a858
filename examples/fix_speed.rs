//! Quick best-of-N throughput of decode+fix on the bench inputs written by
//! `cargo bench --bench decode_fix` to `target/fix-bench-inputs/`.

use std::time::Instant;

use chaff::decode::Decoder;
use chaff::fix::{FixOptions, Fixer, Profile};

fn main() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/fix-bench-inputs");
    let decoder = Decoder::new();
    // Optional filter: `fix_speed clean_zh_ru pipeline`.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let wanted = |s: &str, i: usize| args.get(i).is_none_or(|a| a == s);
    for name in ["clean_en", "mojibake10_en", "clean_zh_ru"] {
        let bytes = std::fs::read(dir.join(format!("{name}.txt")))
            .expect("run the bench first");
        for (profile, p) in
            [("pipeline", Profile::Pipeline), ("ftfy", Profile::Ftfy)]
        {
            if !wanted(name, 0) || !wanted(profile, 1) {
                continue;
            }
            let fixer = Fixer::new(FixOptions::profile(p));
            let mut best = f64::MAX;
            for _ in 0..15 {
                let t = Instant::now();
                let decoded = decoder.decode(&bytes).unwrap();
                let fixed = fixer.fix(&decoded.text);
                std::hint::black_box(fixed.len());
                best = best.min(t.elapsed().as_secs_f64());
            }
            println!(
                "{name:14} {profile:8} {:8.1} MB/s",
                bytes.len() as f64 / best / 1e6
            );
        }
    }
}
