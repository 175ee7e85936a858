//! Candidate search: which fingerprints may belong together.
//!
//! Two kinds of tables, both sorted arrays of packed `u64` entries (no
//! hash maps, no per-bucket allocations):
//!
//! * [`pairs_within`]: all pairs of 64-bit simhashes within `k` bits.
//!   The 64 bits are cut into `blocks` blocks (`blocks > k`). A pair
//!   within `k` bits differs in at most `k` blocks, so it agrees on at
//!   least `blocks - k` of them (pigeonhole); there is one table per
//!   choice of `blocks - k` blocks, keyed by those blocks' bits (a
//!   permutation of the fingerprint). With `blocks = k + 1` a table key
//!   is one block (16 bits for k = 3) and buckets hold `n / 65536`
//!   entries each, which explodes at millions of fingerprints; with
//!   `blocks = k + 2` a key is two blocks (about 26 bits) and buckets stay
//!   near-empty at the price of `C(k+2, 2)` tables. A pair agreeing on
//!   several block sets is reported once, by the table of its first
//!   agreeing blocks, so no global de-duplication is needed. The tables
//!   are built in parallel with rayon.
//! * [`band_links`]: the pairs that share an exact 32-bit sub-fingerprint
//!   (a band key, see `cluster.rs`) in one band, handed to a callback as
//!   they are found, never collected: most of them are unrelated
//!   paragraphs that the caller checks and drops. Buckets are capped: a
//!   member is linked to the first [`BUCKET_HEAD`] members of its bucket
//!   and to its [`BUCKET_TAIL`] predecessors, so a bucket of `m` copies
//!   costs `O(m)`, not `O(m²)`; a pair of copies that a big bucket does
//!   not link is nearly always linked by another band they share.

use rayon::prelude::*;

/// A bucket member is linked to this many first members of its bucket.
pub const BUCKET_HEAD: usize = 8;
/// … and to this many members just before it.
pub const BUCKET_TAIL: usize = 4;

/// The default number of blocks for distance `k`: `k + 2` (near-empty
/// buckets; see the module docs).
pub fn default_blocks(k: u32) -> u32 {
    k + 2
}

/// Bit ranges `(shift, width)` of `blocks` contiguous blocks covering all
/// 64 bits.
fn block_ranges(blocks: u32) -> Vec<(u32, u32)> {
    let mut out = Vec::with_capacity(blocks as usize);
    let mut start = 0;
    for b in 0..blocks {
        let width = (64 - start) / (blocks - b);
        out.push((start, width));
        start += width;
    }
    out
}

/// The ways to choose `r` of `n` items, in lexicographic order.
fn combinations(n: u32, r: u32) -> Vec<Vec<u32>> {
    fn go(
        n: u32,
        r: u32,
        from: u32,
        cur: &mut Vec<u32>,
        out: &mut Vec<Vec<u32>>,
    ) {
        if cur.len() == r as usize {
            out.push(cur.clone());
            return;
        }
        for i in from..n {
            cur.push(i);
            go(n, r, i + 1, cur, out);
            cur.pop();
        }
    }
    let mut out = Vec::new();
    go(n, r, 0, &mut Vec::new(), &mut out);
    out
}

/// Bits needed to number `n` items.
fn id_bits(n: usize) -> u32 {
    (usize::BITS - n.saturating_sub(1).leading_zeros()).max(1)
}

/// Every pair `(i, j)`, `i < j`, of `fps` whose Hamming distance is at
/// most `k`, each once, in no particular order. `blocks` must be in
/// `k + 1 ..= 64`; see the module docs for the choice.
///
/// Memory: the fingerprints plus one `u64` per fingerprint for each table
/// being built (one per rayon thread at a time), plus the pairs found.
pub fn pairs_within(fps: &[u64], k: u32, blocks: u32) -> Vec<(u32, u32)> {
    let per_table =
        pairs_within_fold(fps, k, blocks, Vec::new, |pairs, x, y| {
            pairs.push((x, y))
        });
    per_table.into_iter().flatten().collect()
}

/// [`pairs_within`] without collecting the pairs: each table (one rayon
/// task) starts an accumulator with `init` and hands it every pair it
/// reports, `(smaller, larger)`; the accumulators come back in table
/// order. A caller that keeps only some pairs (those that pass a check)
/// never holds them all.
pub fn pairs_within_fold<A: Send>(
    fps: &[u64],
    k: u32,
    blocks: u32,
    init: impl Fn() -> A + Sync,
    visit: impl Fn(&mut A, u32, u32) + Sync,
) -> Vec<A> {
    assert!(blocks > k && blocks <= 64, "blocks must be in k+1..=64");
    assert!(fps.len() <= u32::MAX as usize, "at most 2^32 fingerprints");
    let n = fps.len();
    if n < 2 {
        return Vec::new();
    }
    let ranges = block_ranges(blocks);
    let tables = combinations(blocks, blocks - k);
    let idb = id_bits(n);
    // Masks of each block, to find a pair's first agreeing blocks.
    let masks: Vec<u64> = ranges
        .iter()
        .map(|&(s, w)| if w == 64 { u64::MAX } else { ((1u64 << w) - 1) << s })
        .collect();
    tables
        .par_iter()
        // One entry buffer for the tables a task builds in turn.
        .map_init(Vec::new, |entries, combo| {
            let parts: Vec<(u32, u32)> =
                combo.iter().map(|&b| ranges[b as usize]).collect();
            let key_bits: u32 = parts.iter().map(|p| p.1).sum();
            // The key is truncated to what fits beside the id; a coarser
            // key only makes buckets larger, never loses a pair.
            let keep = key_bits.min(64 - idb);
            let any_key = |fp: u64| -> u64 {
                let mut key = 0u64;
                for &(s, w) in &parts {
                    let block =
                        if w == 64 { fp } else { fp >> s & ((1 << w) - 1) };
                    key = if w == 64 { block } else { key << w | block };
                }
                key
            };
            // The key of two blocks (every table of the default `blocks
            // = k + 2`) without the loop: each key is made twice, and the
            // loop took three times the instructions.
            let two_blocks = match *parts.as_slice() {
                [(s0, w0), (s1, w1)] if w0 < 64 && w1 < 64 => {
                    Some((s0, (1u64 << w0) - 1, s1, w1, (1u64 << w1) - 1))
                }
                _ => None,
            };
            let key = |fp: u64| -> u64 {
                let key = match two_blocks {
                    Some((s0, m0, s1, w1, m1)) => {
                        (fp >> s0 & m0) << w1 | fp >> s1 & m1
                    }
                    None => any_key(fp),
                };
                key >> (key_bits - keep)
            };
            let id_mask = (1u64 << idb) - 1;
            let mut acc = init();
            let key_of = |x: usize| key(fps[x]);
            let id_of = |x: usize| x as u64;
            shared_key_groups(
                n,
                keep,
                idb,
                &key_of,
                &id_of,
                entries,
                |group| {
                    for x in 1..group.len() {
                        let i = (group[x] & id_mask) as usize;
                        for &other in &group[..x] {
                            let j = (other & id_mask) as usize;
                            let diff = fps[i] ^ fps[j];
                            if diff.count_ones() > k {
                                continue;
                            }
                            // Report the pair only from the table of its
                            // first `blocks - k` agreeing blocks.
                            let first = masks
                                .iter()
                                .enumerate()
                                .filter(|(_, &m)| diff & m == 0)
                                .map(|(b, _)| b as u32)
                                .take(combo.len());
                            if first.eq(combo.iter().copied()) {
                                visit(
                                    &mut acc,
                                    i.min(j) as u32,
                                    i.max(j) as u32,
                                );
                            }
                        }
                    }
                },
            );
            acc
        })
        .collect()
}

/// Calls `visit` with each group of two or more entries `key_of(id) <<
/// idb | id` (for ids `0..len`) that share a key, in ascending order of
/// key, each group ascending. Built without a scratch copy: one pass
/// counts the top key bits, a second scatters each entry straight into
/// its bucket (ids stay ascending within a bucket), and only the buckets
/// of two or more entries are then sorted and split into groups. `key_of`
/// must return at most `key_bits` bits.
///
/// Why so frugal: a run builds 40 such tables of every paragraph (10
/// simhash tables, 30 bands), and nearly every key is in no other entry.
/// Such an entry is never looked at again (measured on the mixed
/// subset: walking all the sorted entries for groups took more
/// instructions than sorting them). The counts are `u32` and serve as
/// bucket starts and then, once scattered, as bucket ends: no second
/// array to copy them into. The entries go into `scratch`, which only
/// grows: a caller building several tables in turn hands in the same
/// one, which saves zeroing a new one each time (every entry is written
/// before it is read).
fn shared_key_groups(
    len: usize,
    key_bits: u32,
    idb: u32,
    key_of: &impl Fn(usize) -> u64,
    id_of: &impl Fn(usize) -> u64,
    scratch: &mut Vec<u64>,
    mut visit: impl FnMut(&[u64]),
) {
    assert!(u32::try_from(len).is_ok(), "fewer than 2^32 entries");
    // About one entry per count slot: more slots only cost time.
    let radix = key_bits.min(16).min(id_bits(len));
    let shift = key_bits - radix;
    // counts[b + 1]: entries in bucket b; then summed, counts[b] is where
    // bucket b starts.
    let mut counts = vec![0u32; (1 << radix) + 1];
    for x in 0..len {
        counts[(key_of(x) >> shift) as usize + 1] += 1;
    }
    for b in 1..counts.len() {
        counts[b] += counts[b - 1];
    }
    if scratch.len() < len {
        scratch.resize(len, 0);
    }
    let entries = &mut scratch[..len];
    for x in 0..len {
        let k = key_of(x);
        // Moves bucket b's start on: once all are placed, counts[b] is
        // where bucket b ends (and bucket b + 1 starts).
        let next = &mut counts[(k >> shift) as usize];
        entries[*next as usize] = k << idb | id_of(x);
        *next += 1;
    }
    let mut start = 0;
    for &end in &counts[..1 << radix] {
        let bucket = &mut entries[start as usize..end as usize];
        start = end;
        if bucket.len() < 2 {
            continue;
        }
        // With no key bits below the bucket's, its entries share a key
        // and are in id order already.
        if shift > 0 {
            bucket.sort_unstable();
        }
        for group in bucket.chunk_by(|a, b| a >> idb == b >> idb) {
            if group.len() > 1 {
                visit(group);
            }
        }
    }
}

/// Calls `link(earlier, later)` for the pairs of items that share a key
/// in one band: item `x` is `ids[x]` (ascending), its key `keys[x]`, and
/// `earlier < later` are ids. Buckets are capped (see the module docs):
/// the calls are not every pair of a large bucket, and no pair is linked
/// twice. Memory: 8 bytes an item.
pub fn band_links(keys: &[u32], ids: &[u32], link: impl FnMut(u32, u32)) {
    band_links_with(keys, ids, &mut Vec::new(), link);
}

/// [`band_links`] with its entries in `scratch` (see
/// `shared_key_groups`): one buffer for the bands walked in turn.
pub fn band_links_with(
    keys: &[u32],
    ids: &[u32],
    scratch: &mut Vec<u64>,
    mut link: impl FnMut(u32, u32),
) {
    assert_eq!(keys.len(), ids.len(), "a key for each item");
    debug_assert!(ids.is_sorted_by(|a, b| a < b), "ids ascending");
    // The ids themselves in the entries: the walk reads nothing else.
    let key_of = |x: usize| u64::from(keys[x]);
    let id_of = |x: usize| u64::from(ids[x]);
    shared_key_groups(
        keys.len(),
        32,
        32,
        &key_of,
        &id_of,
        scratch,
        |bucket| {
            for (x, &e) in bucket.iter().enumerate().skip(1) {
                let head = &bucket[..x.min(BUCKET_HEAD)];
                let from = x.saturating_sub(BUCKET_TAIL).max(head.len());
                for &o in head.iter().chain(&bucket[from..x]) {
                    link(o as u32, e as u32);
                }
            }
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brute(fps: &[u64], k: u32) -> Vec<(u32, u32)> {
        let mut out = Vec::new();
        for i in 0..fps.len() {
            for j in i + 1..fps.len() {
                if (fps[i] ^ fps[j]).count_ones() <= k {
                    out.push((i as u32, j as u32));
                }
            }
        }
        out
    }

    #[test]
    fn block_ranges_cover_all_bits() {
        for b in 1..=64 {
            let r = block_ranges(b);
            assert_eq!(r.iter().map(|x| x.1).sum::<u32>(), 64);
            assert_eq!(r[0].0, 0);
        }
    }

    #[test]
    fn finds_exactly_the_pairs_within_k() {
        // Clustered fingerprints, so that many pairs are near.
        let mut x = 7u64;
        let mut fps = Vec::new();
        for _ in 0..300 {
            x = crate::dedup::simhash::mix64(x);
            let base = x;
            for c in 0..4 {
                x = crate::dedup::simhash::mix64(x);
                let mut fp = base;
                for t in 0..c * 2 {
                    fp ^= 1 << ((x >> (6 * t)) & 63);
                }
                fps.push(fp);
            }
        }
        fps.push(fps[0]);
        for k in 0..=6 {
            let want = brute(&fps, k);
            for blocks in [k + 1, k + 2, k + 3] {
                let mut got = pairs_within(&fps, k, blocks);
                got.sort_unstable();
                assert_eq!(got, want, "k = {k}, blocks = {blocks}");
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

        /// The groups equal those of a plain sort of the same entries,
        /// with few key bits (large buckets, duplicate keys), as many as
        /// the ids (one bucket an entry) and more.
        #[test]
        fn shared_key_groups_equal_those_of_a_plain_sort(
            raw in proptest::collection::vec(proptest::prelude::any::<u64>(), 0..3000),
            key_bits in proptest::sample::select(vec![1u32, 3, 9, 12, 20, 32]),
        ) {
            let idb = id_bits(raw.len().max(1));
            let key_of = |x: usize| raw[x] >> (64 - key_bits);
            let id_of = |x: usize| x as u64;
            let mut sorted: Vec<u64> =
                (0..raw.len()).map(|x| key_of(x) << idb | id_of(x)).collect();
            sorted.sort_unstable();
            let want: Vec<&[u64]> = sorted
                .chunk_by(|a, b| a >> idb == b >> idb)
                .filter(|g| g.len() > 1)
                .collect();
            let mut got: Vec<Vec<u64>> = Vec::new();
            // A buffer left from a longer table, as a caller may hand in.
            let mut scratch = vec![u64::MAX; raw.len() + 5];
            shared_key_groups(raw.len(), key_bits, idb, &key_of, &id_of, &mut scratch, |g| {
                got.push(g.to_vec())
            });
            proptest::prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn band_buckets_are_capped() {
        let mut pairs = Vec::new();
        let keys: Vec<u32> = (0..1000).map(|x| x % 2).collect();
        let ids: Vec<u32> = (0..1000).collect();
        band_links(&keys, &ids, |o, x| pairs.push((o, x)));
        assert!(pairs.len() < 1000 * (BUCKET_HEAD + BUCKET_TAIL));
        assert!(pairs.iter().all(|&(o, x)| o < x && o % 2 == x % 2));
        let distinct: std::collections::HashSet<_> = pairs.iter().collect();
        assert_eq!(distinct.len(), pairs.len());
    }

    #[test]
    fn small_buckets_link_every_pair() {
        let keys = [7u32, 3, 7, 9, 3, 7, u32::MAX, 9];
        let ids = [0u32, 1, 2, 3, 4, 5, 6, 7];
        let mut got = Vec::new();
        band_links(&keys, &ids, |o, x| got.push((o, x)));
        got.sort_unstable();
        let mut want = Vec::new();
        for x in 0..keys.len() as u32 {
            for o in 0..x {
                if keys[o as usize] == keys[x as usize] {
                    want.push((o, x));
                }
            }
        }
        want.sort_unstable();
        assert_eq!(got, want);
    }
}
