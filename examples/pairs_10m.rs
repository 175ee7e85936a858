//! All pairs within 3 bits among 10 million random 64-bit fingerprints,
//! with planted pairs so that a wrong answer is caught; prints the time
//! and the peak memory (VmHWM).
//!
//!     cargo run --release --example pairs_10m [N] [PLANTED] [BLOCKS]

use std::time::Instant;

use chaff::dedup::index::pairs_within;

fn splitmix(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *x;
    z = (z ^ z >> 30).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ z >> 27).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ z >> 31
}

fn vm_hwm() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM")).map(str::to_string)
        })
        .unwrap_or_else(|| "VmHWM: unknown".into())
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("a number"))
        .collect();
    let n = args.first().copied().unwrap_or(10_000_000);
    let planted = args.get(1).copied().unwrap_or(100_000);
    let blocks = args.get(2).copied().unwrap_or(5) as u32;
    let mut x = 42u64;
    let mut fps: Vec<u64> =
        (0..n - planted).map(|_| splitmix(&mut x)).collect();
    // Planted copies of distinct random fingerprints, 0 to 3 bits away.
    let mut want = Vec::with_capacity(planted);
    for i in 0..planted {
        let src = i * 97 % (n - planted);
        let mut fp = fps[src];
        let mut flipped = 0u64;
        while flipped.count_ones() < (i % 4) as u32 {
            flipped |= 1 << (splitmix(&mut x) % 64);
        }
        fp ^= flipped;
        want.push((src as u32, fps.len() as u32));
        fps.push(fp);
    }
    println!(
        "{n} fingerprints, {planted} planted pairs; before: {}",
        vm_hwm()
    );
    let start = Instant::now();
    let mut pairs = pairs_within(&fps, 3, blocks);
    let secs = start.elapsed().as_secs_f64();
    pairs.sort_unstable();
    let found_planted =
        want.iter().filter(|p| pairs.binary_search(p).is_ok()).count();
    let wrong = pairs
        .iter()
        .filter(|&&(a, b)| {
            (fps[a as usize] ^ fps[b as usize]).count_ones() > 3
        })
        .count();
    println!(
        "blocks {blocks}: {} pairs within 3 bits in {secs:.2} s; planted found {found_planted}/{planted}; \
         over 3 bits: {wrong}; {}",
        pairs.len(),
        vm_hwm()
    );
    assert_eq!(found_planted, planted, "a planted pair was missed");
    assert_eq!(wrong, 0, "a pair over 3 bits was reported");
}
