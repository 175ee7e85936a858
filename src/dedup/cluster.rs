//! Candidates, the exact check, and clusters with fixed representatives.
//!
//! # Why one simhash is not enough, and what is added
//!
//! A simhash over word sets estimates the angle between them: a copy with
//! word-set Jaccard 0.6 (a "heavy" edit: ~12% of words changed and a
//! sentence dropped) differs in about 15 of 64 bits, unrelated text in
//! about 32. No block table can find pairs 15 bits apart without
//! comparing nearly everything, and any fixed bit threshold that reaches
//! them also takes in unrelated pairs (measured: ≤ 12 bits still finds
//! only half of the heavy copies).
//!
//! So each paragraph gets, besides its paragraph-level simhash (which
//! finds near-verbatim copies and gives the Hamming distance reported
//! for every member), `bands` 32-bit **sub-fingerprints** (band keys)
//! derived from its content words by one-permutation min-wise hashing:
//! in each of `rows` rounds the word hashes are spread over `bands` bins,
//! each bin keeps its smallest hash (empty bins borrow from the next
//! filled one), and band `b`'s key hashes bin `b` of every round. Two
//! word sets agree on a bin with probability equal to their Jaccard
//! similarity, so a pair shares at least one band key with probability
//! `1 - (1 - J^rows)^bands`: with the default 30 × 4, 0.87 at J = 0.5,
//! 0.98 at 0.6, but 0.006 at 0.12. The keys are recomputed from the
//! stored words whenever they are needed; an index file holds none.
//!
//! # Why 30 × 4: unrelated paragraphs that share a sentence
//!
//! Scraped text repeats sentences (quotes, boilerplate), and unrelated
//! paragraphs that share one have a content-word Jaccard of ~0.1–0.25.
//! Each such pair is a candidate with probability about `bands ×
//! J^rows`, and their number grows with the square of the corpus. On the
//! planted-edit corpus, built from a pool of ~5,900 sentences, the former
//! 25 × 3 checked 94 k candidates for 3.3 k true pairs at 20 MB and 1.6 M
//! at 100 MB (~600 M expected at 2 GB). Measured with this code
//! (candidates checked; pairwise F1 and heavy-edit recall at 20 MB):
//!
//! | bands × rows | 20 MB | 100 MB | 200 MB | 2 GB | F1 | heavy |
//! | --- | --- | --- | --- | --- | --- | --- |
//! | 25 × 3 | 96 k | 1.59 M | 4.77 M | | 0.994 | 0.978 |
//! | 40 × 4 | 22 k | 363 k | 1.15 M | 41 M | 0.992 | 0.966 |
//! | **30 × 4** | 18 k | 311 k | 987 k | 35 M | 0.989 | 0.952 |
//! | 60 × 5 | 8 k | 120 k | 383 k | | 0.989 | 0.953 |
//! | 40 × 5 | 6 k | 82 k | 256 k | 10 M | 0.984 | 0.931 |
//!
//! Five rows cut the candidates further but need more bands for the
//! same recall, and every band costs a sort of all paragraphs and, past
//! `BAND_KEY_BUDGET`, its share of another pass over every word set:
//! at 2 GB 30 × 4 and 40 × 5 cost about the same (~20 s of CPU with a
//! 160 MB budget; 26 s with 32 MB), 40 × 4 a quarter more.
//!
//! # Candidates are checked as they are found
//!
//! A candidate is never enough: every pair is checked on the exact word
//! sets (Jaccard, or containment for a copy that dropped or added a
//! sentence) before it may join a cluster, and only the pairs that pass
//! are kept — a few per true copy — never the candidates themselves. The
//! band keys are computed for a group of bands at a time (all 30 at
//! once up to 2.2 M paragraphs), each band's (key, paragraph) entries are
//! sorted and the buckets walked, and the pairs of each bucket are
//! checked in batches as they come (see `Deduper::check_batch`). A
//! true pair shares several bands; after it passes once, it is not
//! checked again.
//!
//! # Representatives
//!
//! Paragraphs are taken in input order (an index's paragraphs first). A
//! paragraph that verifies against no earlier representative becomes one;
//! otherwise it joins the representative it is most similar to (ties: the
//! earliest). A member is always checked against the representative
//! itself, never only against another member, so chains cannot grow:
//! every member is within the threshold of its representative. The pass
//! sees only the pairs that passed: a paragraph reaches a representative
//! directly or through one of its members (checked against the
//! representative then). Measured: the same F1 as when the pass saw every
//! candidate (25 × 3: 0.994 at 20 MB, 0.992 at 100 MB, both ways).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use rayon::prelude::*;

use super::index::{band_links_with, pairs_within_fold};
use super::simhash::{mix64, word_hash, word_key, WordSet};
use super::{Cluster, Deduper, Member, Paragraph};

/// Seed of the sub-fingerprint bins. The keys are recomputed from the
/// stored words, so changing it changes only which candidates are found.
const BAND_SEED: u64 = 0xb4_d5ee_d000_0002;

/// The containment path of the check also needs at least this Jaccard, so
/// a sentence is never clustered with a long paragraph that quotes it.
pub const CONTAINMENT_MIN_JACCARD: f64 = 0.4;

/// No representative (yet).
pub(crate) const NONE: u32 = u32::MAX;

/// Bytes the band keys of one group of bands may take: all 30 bands at
/// once up to 2.2 million paragraphs (about 1.5 GB of text); beyond that
/// the keys are computed again for each group, every group another pass
/// over every word set (2 groups for the 3 million paragraphs of 2 GB).
/// The keys sit at the peak of the run's memory (issue #6's bound), but
/// every pass hashes and bins every content word again (~4,000
/// instructions a paragraph). Measured on the 1.16 GB mixed corpus (1.5
/// million paragraphs with band keys): the former 40 MB took 5 passes;
/// one pass peaks 139 MB higher (2.21 -> 2.34 GB RSS). The same 5 passes
/// on the 20 MB planted set (budget scaled down) add 30% to the
/// instructions of the whole `--no-strip` run.
const BAND_KEY_BUDGET: usize = 256 << 20;

/// Pairs `(later, earlier)` that passed the check, shared by the
/// threads walking bands: a true pair shares several bands but is
/// checked once.
struct PairSet {
    /// A bit per slot, set when a pair hashing there passed: most pairs
    /// asked about never passed and are answered here, without a lock.
    seen: Vec<AtomicU64>,
    /// The pairs themselves, a lock per shard held for one probe.
    shards: [Mutex<HashSet<u64, MixState>>; 16],
}

impl PairSet {
    /// A set for pairs of `n` paragraphs (about a tenth of them pass).
    fn new(n: usize) -> PairSet {
        let words = (n / 16).next_power_of_two().max(1024);
        PairSet {
            seen: (0..words).map(|_| AtomicU64::new(0)).collect(),
            shards: Default::default(),
        }
    }

    /// The pair's key, its shard and its bit in `seen`.
    fn slot(&self, later: u32, earlier: u32) -> (u64, usize, usize, u64) {
        let pair = u64::from(later) << 32 | u64::from(earlier);
        let h = mix64(pair);
        let word = (h >> 10) as usize & (self.seen.len() - 1);
        (pair, h as usize % self.shards.len(), word, 1 << (h >> 4 & 63))
    }

    fn contains(&self, later: u32, earlier: u32) -> bool {
        let (pair, shard, word, bit) = self.slot(later, earlier);
        self.seen[word].load(Ordering::Relaxed) & bit != 0
            && self.shards[shard].lock().expect("no panic").contains(&pair)
    }

    fn insert(&self, later: u32, earlier: u32) {
        let (pair, shard, word, bit) = self.slot(later, earlier);
        self.shards[shard].lock().expect("no panic").insert(pair);
        self.seen[word].fetch_or(bit, Ordering::Relaxed);
    }
}

/// Hashing for keys that are ids or hashes already (pair keys here, line
/// keys in the pipeline), which need no DoS defence: a key's words are
/// folded together and the result goes through [`mix64`]. A key of one
/// `u64` hashes to `mix64` of itself.
#[derive(Clone, Copy, Default)]
pub(crate) struct MixState;

impl std::hash::BuildHasher for MixState {
    type Hasher = MixHasher;
    fn build_hasher(&self) -> MixHasher {
        MixHasher(0)
    }
}

pub(crate) struct MixHasher(u64);

impl std::hash::Hasher for MixHasher {
    fn finish(&self) -> u64 {
        mix64(self.0)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u32(&mut self, x: u32) {
        self.write_u64(u64::from(x));
    }
    fn write_u64(&mut self, x: u64) {
        self.0 = self.0.rotate_left(29) ^ x;
    }
}

/// A candidate pair that passed the check.
#[derive(Clone, Copy, Debug)]
struct Link {
    later: u32,
    earlier: u32,
    /// Word-set Jaccard of the two.
    similarity: f32,
}

/// The outcome of clustering: each paragraph's representative and its
/// similarity to it, and the clusters to report.
#[derive(Clone, Debug, Default)]
pub struct Clustering {
    /// For each paragraph, the index of its representative (itself when
    /// it is one).
    pub rep: Vec<u32>,
    /// For each paragraph, its word-set Jaccard to its representative.
    pub similarity: Vec<f32>,
    /// Clusters with at least one paragraph after the fixed ones.
    pub clusters: Vec<Cluster>,
}

/// Word-set Jaccard similarity and containment (shared words over the
/// smaller set) of two word sets.
pub fn overlap(a: &WordSet, b: &WordSet) -> (f64, f64) {
    if a.is_empty() || b.is_empty() {
        return (0.0, 0.0);
    }
    let both = shared_at_least(a, b, 0).unwrap_or(0);
    let union = a.len() + b.len() - both;
    (both as f64 / union as f64, both as f64 / a.len().min(b.len()) as f64)
}

/// Function words left out of the sub-fingerprints (never out of the
/// check). Two unrelated paragraphs share a dozen of these, so with them
/// the min-hash bins agree for unrelated pairs far more often than their
/// content does, and band buckets fill with noise (measured: 60
/// candidates a paragraph on the planted-edit set with them, far fewer
/// without). Part of the index format only in that changing the list
/// changes which candidates are found.
const COMMON_WORDS: &str = "\
    a an and are as at be been but by for from had has have he her his i \
    in is it its of on or our said she that the their them they this to \
    was we were which who will with would you not after also about there \
    than into over more one two new can may up out all if no so do what \
    when how been being its my me him us your any other some such only \
    then these those where while just could should most many first last \
    year years told says say per against between during before under \
    der die das und ist nicht ein eine zu den von mit sich des auf für im \
    dem auch es an als wie wird bei aus er sie nach le la les et est un \
    une des du de en que qui dans pour pas sur au par avec il elle ce \
    sont aux plus el los las y es del por con para se su al lo como más \
    pero sus ya fue и в во не что он на я с со как а то все она так его \
    но да ты к у же вы за бы по только ее мне было вот от меня еще нет о \
    из ему для при это был были";

/// The keys of [`COMMON_WORDS`] (see [`WordSet`]) as a bit set: 8 KB,
/// one load a lookup.
static COMMON: std::sync::LazyLock<Box<[u64; 1 << 10]>> =
    std::sync::LazyLock::new(|| {
        let mut bits = Box::new([0u64; 1 << 10]);
        for w in COMMON_WORDS.split_whitespace() {
            let k = word_key(word_hash(w));
            bits[k as usize >> 6] |= 1 << (k & 63);
        }
        bits
    });

/// Whether a word key is one of [`COMMON_WORDS`]' (or shares its key).
fn is_common(key: u32) -> bool {
    in_bits(&COMMON, key)
}

/// Whether bit `key` of a 2^16-bit set is set.
#[inline]
fn in_bits(bits: &[u64; 1 << 10], key: u32) -> bool {
    bits[key as usize >> 6 & 1023] >> (key & 63) & 1 == 1
}

/// The words of a word set that the band keys are made of: all but
/// [`COMMON_WORDS`].
pub(crate) fn content_words(words: &WordSet, out: &mut Vec<u32>) {
    // Branch-free: about a third of the words are common, at random.
    out.clear();
    out.resize(words.len(), 0);
    // The table once, not its lazy initialisation checked a word.
    let common: &[u64; 1 << 10] = &COMMON;
    let mut kept = 0;
    for w in words.iter() {
        out[kept] = w;
        kept += usize::from(!in_bits(common, w));
    }
    out.truncate(kept);
}

/// Computes band keys, with the bins of every row kept between
/// paragraphs.
///
/// A paragraph's band keys `group` (a range of `0..bands`) are made of
/// its content words (see [`content_words`]; not empty), one per band of
/// the group, each over `rows` min-hash values. A group's keys do not
/// depend on the other bands computed, so the bands can be taken a group
/// at a time.
///
/// Each row is one round of one-permutation hashing with its own seed:
/// the words are spread over `bands` bins, each bin keeps its smallest
/// hash, and band `b` hashes bin `b` of every round. With one round of
/// `bands × rows` bins instead, a paragraph of 50 content words would
/// leave most bins empty, the densified bins would copy their
/// neighbours, and a "4-row" band would be one row in effect (measured:
/// buckets of hundreds of unrelated paragraphs).
pub(crate) struct BandKeys {
    bands: usize,
    /// [`PAIR_HASHES`], looked up once.
    pair_hashes: &'static [[u64; 2]; 1 << 16],
    /// Each row's smallest value in each of its `bands` bins (`u32::MAX`:
    /// empty; a word hashing to it counts as none). 256 wide whatever
    /// `bands`, so a bin index needs no bounds check.
    mins: Vec<[u32; 256]>,
    /// Each band's key so far, folded over the rows.
    keys: Vec<u64>,
}

impl BandKeys {
    /// Keys of `bands` bands of `rows` rows (1 to 256 and 1 to 16).
    pub(crate) fn new(bands: usize, rows: usize) -> BandKeys {
        assert!(bands <= 256, "at most 256 bands");
        BandKeys {
            bands,
            pair_hashes: &PAIR_HASHES,
            mins: vec![[u32::MAX; 256]; rows],
            keys: vec![0; bands],
        }
    }

    /// Puts the keys of the bands in `group` of the words `content` into
    /// `out`, one per band.
    pub(crate) fn compute(
        &mut self,
        content: &[u32],
        group: std::ops::Range<usize>,
        out: &mut [u32],
    ) {
        let bands = self.bands;
        debug_assert!(!content.is_empty() && group.end <= bands);
        for row in &mut self.mins {
            row[..bands].fill(u32::MAX);
        }
        // Two rows from each 64-bit word hash: its halves are independent.
        // A row's 32-bit value picks the bin by its high bits and orders
        // the words within a bin by the rest, as one permutation would.
        // (Below `bands`, so the mask changes nothing.)
        let bin =
            |t: u32| ((u64::from(t) * bands as u64) >> 32) as usize & 255;
        let table = self.pair_hashes;
        for (quad, rows) in self.mins.chunks_mut(4).enumerate() {
            let (first, second) =
                (pair_seed(2 * quad), pair_seed(2 * quad + 1));
            let mixed = |w: u32| {
                (mix64(u64::from(w) ^ first), mix64(u64::from(w) ^ second))
            };
            if quad == 0 {
                // Rows 0 to 3 of a word key from the table (the test for
                // it made once, not a word); words wider than a key (only
                // in tests) hashed here.
                let looked_up = |w: u32| match table.get(w as usize) {
                    Some(&[h, g]) => (h, g),
                    None => mixed(w),
                };
                fill_rows(rows, content, bin, looked_up);
            } else {
                fill_rows(rows, content, bin, mixed);
            }
        }
        if let [a, b, c, d] = &self.mins[..] {
            let rows = [&a[..bands], &b[..bands], &c[..bands], &d[..bands]];
            densify_four_into(rows, group, out);
            return;
        }
        let keys = &mut self.keys[group.clone()];
        keys.fill(0);
        for row in &self.mins {
            densify_into(&row[..bands], group.clone(), keys);
        }
        for ((o, &k), b) in out.iter_mut().zip(&*keys).zip(group) {
            *o = band_key(k, b);
        }
    }
}

/// Puts each of `content`'s words into its bin of each of `rows` (at
/// most four: the halves of the two hashes `hashes` gives a word), each
/// bin keeping its smallest value. Four rows (two hashes) a pass over
/// the words where there are four: one loop for the default 4 rows.
#[inline(always)]
fn fill_rows(
    rows: &mut [[u32; 256]],
    content: &[u32],
    bin: impl Fn(u32) -> usize,
    hashes: impl Fn(u32) -> (u64, u64),
) {
    match rows {
        [a, b, c, d] => {
            for &w in content {
                let (h, g) = hashes(w);
                for (row, t) in [
                    (&mut *a, (h >> 32) as u32),
                    (&mut *b, h as u32),
                    (&mut *c, (g >> 32) as u32),
                    (&mut *d, g as u32),
                ] {
                    row[bin(t)] = row[bin(t)].min(t);
                }
            }
        }
        _ => {
            for (half, pair_rows) in rows.chunks_mut(2).enumerate() {
                for &w in content {
                    let (h, g) = hashes(w);
                    let h = [h, g][half];
                    let halves = [(h >> 32) as u32, h as u32];
                    for (row, t) in pair_rows.iter_mut().zip(halves) {
                        row[bin(t)] = row[bin(t)].min(t);
                    }
                }
            }
        }
    }
}

/// The seed of the word hash whose halves are rows `2 × pair` and
/// `2 × pair + 1`.
fn pair_seed(pair: usize) -> u64 {
    BAND_SEED ^ (pair as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// The hashes of row pairs 0 and 1 (all four rows of the default) of
/// every word key, as `BandKeys::compute` would make them: 1 MB shared
/// by all threads, made once. A lookup is one load where the two
/// `mix64` were some twenty instructions, and with more than one group
/// of bands every pass over the words repeats them.
static PAIR_HASHES: std::sync::LazyLock<Box<[[u64; 2]; 1 << 16]>> =
    std::sync::LazyLock::new(|| {
        let (first, second) = (pair_seed(0), pair_seed(1));
        (0..1u64 << 16)
            .map(|w| [mix64(w ^ first), mix64(w ^ second)])
            .collect::<Vec<_>>()
            .try_into()
            .expect("2^16 long")
    });

/// Folds bins `group` of one row, densified, into the keys of the
/// group's bands. Densified, an empty bin takes the next filled bin's
/// value (circularly) offset by the distance, so two sets agree on it
/// about as often as on a filled bin (rotation densification,
/// Shrivastava and Li 2014). The bins are walked backwards from the
/// first filled bin after the group, so each finds its next filled bin
/// in one step and only the group's bins are read (the passes over
/// groups repeat for every paragraph).
fn densify_into(row: &[u32], group: std::ops::Range<usize>, keys: &mut [u64]) {
    let n = row.len();
    // The first filled bin at or after the group, as a position that
    // counts on past the end of the row when it wraps around.
    let wrap = |p: usize| if p < n { p } else { p - n };
    let after = (group.end..n + group.end).find(|&p| row[wrap(p)] != u32::MAX);
    let Some(at) = after else {
        // No bin filled: every bin stays empty.
        for k in keys.iter_mut() {
            *k = fold_row(*k, u32::MAX);
        }
        return;
    };
    // Walking backwards, `offset` is the distance to the filled bin
    // whose value is `value`, times the rotation constant.
    let mut value = row[wrap(at)];
    let mut offset = ((at - group.end) as u32).wrapping_mul(0x9e37_79b9);
    for (k, &m) in keys.iter_mut().zip(&row[group]).rev() {
        offset = offset.wrapping_add(0x9e37_79b9);
        // Branch-free: whether a bin is filled is a coin toss.
        let filled = m != u32::MAX;
        value = std::hint::select_unpredictable(filled, m, value);
        offset = std::hint::select_unpredictable(filled, 0, offset);
        *k = fold_row(*k, value.wrapping_add(offset));
    }
}

/// The band keys of bins `group` of four rows (the default), as
/// [`densify_into`] each row in turn and then [`band_key`] would make
/// them: one walk backwards over the group for all four rows, each
/// band's key kept in a register until it is done, not stored and
/// loaded again for every row (measured on the mixed subset: 2% of the
/// clustering's instructions).
fn densify_four_into(
    rows: [&[u32]; 4],
    group: std::ops::Range<usize>,
    out: &mut [u32],
) {
    let n = rows[0].len();
    let wrap = |p: usize| if p < n { p } else { p - n };
    // Each row's walk, as in `densify_into`: the value of the filled bin
    // last seen and the distance to it (times the rotation constant),
    // stepped on a bin. A row with no bin filled keeps `u32::MAX` and
    // never steps: every bin folds in `u32::MAX`, as there.
    let mut value = [u32::MAX; 4];
    let mut offset = [0u32; 4];
    let mut step = [0u32; 4];
    for (r, row) in rows.iter().enumerate() {
        let after =
            (group.end..n + group.end).find(|&p| row[wrap(p)] != u32::MAX);
        if let Some(at) = after {
            value[r] = row[wrap(at)];
            offset[r] = ((at - group.end) as u32).wrapping_mul(0x9e37_79b9);
            step[r] = 0x9e37_79b9;
        }
    }
    let [r0, r1, r2, r3] = rows.map(|row| &row[group.clone()]);
    let bins = r0.iter().zip(r1).zip(r2).zip(r3).zip(&mut out[..group.len()]);
    for (((((&m0, &m1), &m2), &m3), o), b) in bins.zip(group).rev() {
        let mut key = 0u64;
        for (r, m) in [m0, m1, m2, m3].into_iter().enumerate() {
            offset[r] = offset[r].wrapping_add(step[r]);
            // Branch-free: whether a bin is filled is a coin toss.
            let filled = m != u32::MAX;
            value[r] = std::hint::select_unpredictable(filled, m, value[r]);
            offset[r] = std::hint::select_unpredictable(filled, 0, offset[r]);
            key = fold_row(key, value[r].wrapping_add(offset[r]));
        }
        *o = band_key(key, b);
    }
}

/// Band `b`'s key from its rows folded together.
#[inline(always)]
fn band_key(folded: u64, b: usize) -> u32 {
    mix64(folded ^ b as u64) as u32
}

/// A band's key with one more row's (densified) bin folded in.
#[inline(always)]
fn fold_row(key: u64, bin: u32) -> u64 {
    (key ^ u64::from(bin)).wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(29)
}

/// The number of shared words, or `None` as soon as fewer than `need`
/// can be shared (most candidates are rejected partway through).
fn shared_at_least(a: &WordSet, b: &WordSet, need: usize) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    let step = block_step_sse2;
    #[cfg(not(target_arch = "x86_64"))]
    let step = block_step_merge;
    shared_at_least_by(a.keys(), b.keys(), need, step)
}

/// [`shared_at_least`] with `step` taking the sets eight words at a time:
/// given the next eight of each, it returns how far each set moves on
/// and the shared words found, and must find every shared word of the
/// words it moves past. Any order of steps gives the same count, and the
/// bound only ever rejects what the full count would (the words left can
/// add at most as many shared words as the smaller side has).
#[inline(always)]
fn shared_at_least_by(
    a: &[u16],
    b: &[u16],
    need: usize,
    step: impl Fn(&[u16; 8], &[u16; 8]) -> (usize, usize, usize),
) -> Option<usize> {
    let (mut i, mut j, mut both) = (0, 0, 0usize);
    // The bound is checked every step while both sets have eight words
    // left (a later check only says no later), then every word.
    while i + 8 <= a.len() && j + 8 <= b.len() {
        if both + (a.len() - i).min(b.len() - j) < need {
            return None;
        }
        let a8: &[u16; 8] = a[i..i + 8].try_into().expect("eight words");
        let b8: &[u16; 8] = b[j..j + 8].try_into().expect("eight words");
        let (x, y, shared) = step(a8, b8);
        (i, j, both) = (i + x, j + y, both + shared);
    }
    while i < a.len() && j < b.len() {
        if both + (a.len() - i).min(b.len() - j) < need {
            return None;
        }
        let (x, y) = (a[i], b[j]);
        i += usize::from(x <= y);
        j += usize::from(y <= x);
        both += usize::from(x == y);
    }
    (both >= need).then_some(both)
}

/// Eight steps of a merge. They never read past the eight words of
/// either block, and `& 7` lets the compiler see it: no bounds checks. A
/// step moves one side, or both on a shared word, so the eight steps
/// found `x + y - 8` shared words: no count of its own a step (measured:
/// 16 instructions a step before, 10 now).
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
#[inline(always)]
fn block_step_merge(a8: &[u16; 8], b8: &[u16; 8]) -> (usize, usize, usize) {
    let (mut x, mut y) = (0usize, 0usize);
    for _ in 0..8 {
        let (p, q) = (a8[x & 7], b8[y & 7]);
        x += usize::from(p <= q);
        y += usize::from(q <= p);
    }
    (x, y, x + y - 8)
}

/// The number of set bits of each byte value.
const BITS_SET: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = (b as u8).count_ones() as u8;
        b += 1;
    }
    table
};

/// All 64 pairs of two blocks compared at once (SSE2: each of the eight
/// rotations of `b8` against `a8`), then the block that ends first moves
/// on whole, both when they end alike. A shared word is counted when its
/// two blocks meet, which they do once: a block moves on only when the
/// other's words left are all greater than its own. About 60
/// instructions move past eight or sixteen words, where the merge takes
/// 10 a step of one word or two.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn block_step_sse2(a8: &[u16; 8], b8: &[u16; 8]) -> (usize, usize, usize) {
    use std::arch::x86_64::*;
    // SAFETY: every x86-64 CPU has SSE2 (the build enables it); the two
    // unaligned loads read the 16 bytes of the blocks they are given.
    let found = unsafe {
        let va = _mm_loadu_si128(a8.as_ptr().cast());
        let vb = _mm_loadu_si128(b8.as_ptr().cast());
        // Rotations by an odd number of words from the one-word rotation,
        // by an even number from `vb`, two words at a time.
        let vb1 =
            _mm_or_si128(_mm_srli_si128::<2>(vb), _mm_slli_si128::<14>(vb));
        let mut hit = _mm_cmpeq_epi16(va, vb);
        hit = _mm_or_si128(hit, _mm_cmpeq_epi16(va, vb1));
        for v in [vb, vb1] {
            let r1 = _mm_shuffle_epi32::<0x39>(v);
            let r2 = _mm_shuffle_epi32::<0x4e>(v);
            let r3 = _mm_shuffle_epi32::<0x93>(v);
            hit = _mm_or_si128(hit, _mm_cmpeq_epi16(va, r1));
            hit = _mm_or_si128(hit, _mm_cmpeq_epi16(va, r2));
            hit = _mm_or_si128(hit, _mm_cmpeq_epi16(va, r3));
        }
        // A word of `a8` is in `b8` at most once: one bit a shared word.
        _mm_movemask_epi8(_mm_packs_epi16(hit, hit)) as usize & 0xff
    };
    let (last_a, last_b) = (a8[7], b8[7]);
    let shared = usize::from(BITS_SET[found]);
    (
        8 * usize::from(last_a <= last_b),
        8 * usize::from(last_b <= last_a),
        shared,
    )
}

/// Candidate pairs checked together (see `Deduper::check_batch`).
const CHECK_BATCH: usize = 64;

impl Deduper {
    /// The shared words a pair of word sets of `la` and `lb` words needs
    /// to pass [`Deduper::verify`] by one path or the other.
    fn shared_needed(&self, la: usize, lb: usize) -> usize {
        let (la, lb) = (la as f64, lb as f64);
        let c = &self.config;
        // J >= t iff shared >= t(la+lb)/(1+t).
        let t = c.min_similarity;
        let by_jaccard = t * (la + lb) / (1.0 + t);
        let floor = CONTAINMENT_MIN_JACCARD;
        let by_containment = (c.min_containment * la.min(lb))
            .max(floor * (la + lb) / (1.0 + floor));
        (by_jaccard.min(by_containment) - 1e-9).max(0.0).ceil() as usize
    }

    /// Checks candidate pairs `(later, earlier, _)` that have not passed
    /// before, adding those that pass to `passed` and `found`; empties
    /// `batch`. (The third field is where the shared words each pair
    /// needs are kept between the walks: worked out once, not again by
    /// the check.)
    ///
    /// The two paragraphs of a candidate pair are anywhere in memory:
    /// each check would wait for a handful of cache misses in turn. So
    /// the batch is first walked once to read the paragraphs (dropping
    /// pairs too different in size to pass), then to touch a word in
    /// every cache line of their word sets, which lets the misses of all
    /// the pairs overlap, and only then checked.
    fn check_batch(
        &self,
        ps: &[Paragraph],
        batch: &mut Vec<(u32, u32, u32)>,
        passed: &PairSet,
        found: &mut Vec<Link>,
    ) {
        batch.retain_mut(|(l, e, need)| {
            let la = ps[*l as usize].fingerprint.words.len();
            let lb = ps[*e as usize].fingerprint.words.len();
            let needed = self.shared_needed(la, lb);
            // At most the smaller set's length (2^16 words) when kept.
            *need = needed.min(la).min(lb) as u32;
            needed <= la.min(lb) && !passed.contains(*l, *e)
        });
        let mut touched = 0;
        for &(l, e, _) in batch.iter() {
            for p in [l, e] {
                // Two bytes a word: a word of every 64-byte line.
                let words = ps[p as usize].fingerprint.words.keys();
                for w in words.iter().step_by(32) {
                    touched ^= usize::from(*w);
                }
            }
        }
        std::hint::black_box(touched);
        for &(later, earlier, need) in batch.iter() {
            let (a, b) = (&ps[later as usize], &ps[earlier as usize]);
            if let Some(s) = self.verify_needing(a, b, need as usize) {
                passed.insert(later, earlier);
                found.push(Link { later, earlier, similarity: s as f32 });
            }
        }
        batch.clear();
    }

    /// Checks paragraph `a` against representative `b`: `Some(Jaccard)`
    /// when it may join: Jaccard at least `min_similarity`, or
    /// containment at least `min_containment` with Jaccard at least
    /// [`CONTAINMENT_MIN_JACCARD`].
    pub(crate) fn verify(&self, a: &Paragraph, b: &Paragraph) -> Option<f64> {
        let (la, lb) = (a.fingerprint.words.len(), b.fingerprint.words.len());
        self.verify_needing(a, b, self.shared_needed(la, lb))
    }

    /// [`Deduper::verify`], given the pair's
    /// [`Deduper::shared_needed`].
    fn verify_needing(
        &self,
        a: &Paragraph,
        b: &Paragraph,
        need: usize,
    ) -> Option<f64> {
        let (wa, wb) = (&a.fingerprint.words, &b.fingerprint.words);
        if wa.is_empty() || wb.is_empty() {
            return None;
        }
        let (la, lb) = (wa.len() as f64, wb.len() as f64);
        let c = &self.config;
        let (t, floor) = (c.min_similarity, CONTAINMENT_MIN_JACCARD);
        let both = shared_at_least(wa, wb, need)? as f64;
        let j = both / (la + lb - both);
        let contained = both / la.min(lb);
        let ok = j >= t || (contained >= c.min_containment && j >= floor);
        ok.then_some(j)
    }

    /// The verified pairs: every candidate pair (a later paragraph after
    /// `fixed` and an earlier one) that passes [`Deduper::verify`],
    /// sorted by (later, earlier) and distinct; and each paragraph's
    /// first exact copy (or [`NONE`]). Candidates are checked as they
    /// are found and dropped unless they pass, so memory holds only the
    /// pairs that pass, never the (quadratically many) candidates.
    fn verified_pairs(
        &self,
        ps: &[Paragraph],
        fixed: usize,
    ) -> (Vec<Link>, Vec<u32>) {
        let c = &self.config;
        let mut exact_first = vec![NONE; ps.len()];
        let mut seen: HashMap<u64, u32, MixState> =
            HashMap::with_capacity_and_hasher(ps.len(), MixState);
        for (i, p) in ps.iter().enumerate() {
            let first = *seen.entry(p.fingerprint.exact).or_insert(i as u32);
            if first != i as u32 {
                exact_first[i] = first;
            }
        }
        drop(seen);
        // Only the first of each exact class, and only paragraphs with
        // enough words, enter the near-duplicate tables.
        let ids: Vec<u32> = (0..ps.len() as u32)
            .filter(|&i| {
                exact_first[i as usize] == NONE
                    && ps[i as usize].fingerprint.words.len() >= c.min_words
            })
            .collect();
        // Pairs among settled paragraphs cannot change anything.
        let check = |later: u32, earlier: u32| -> Option<Link> {
            if (later as usize) < fixed {
                return None;
            }
            let s = self.verify(&ps[later as usize], &ps[earlier as usize])?;
            Some(Link { later, earlier, similarity: s as f32 })
        };
        let mut links: Vec<Link> = {
            let fps: Vec<u64> = ids
                .iter()
                .map(|&i| ps[i as usize].fingerprint.simhash)
                .collect();
            let per_table = pairs_within_fold(
                &fps,
                c.max_distance,
                c.blocks,
                Vec::new,
                |found, x, y| {
                    found.extend(check(ids[y as usize], ids[x as usize]));
                },
            );
            per_table.into_iter().flatten().collect()
        };
        if c.bands > 0 {
            let passed = PairSet::new(ps.len());
            for l in &links {
                passed.insert(l.later, l.earlier);
            }
            links.extend(self.band_links(ps, &ids, fixed, &passed));
        }
        links.par_sort_unstable_by_key(|l| (l.later, l.earlier));
        links.dedup_by_key(|l| (l.later, l.earlier));
        (links, exact_first)
    }

    /// The pairs of `ids` (the later one after `fixed`) that share a band
    /// key, have not `passed` before and pass the check (they are added
    /// to `passed`). The keys of all bands would take `4 × bands` bytes a
    /// paragraph, so they are computed a group of bands at a time, within
    /// [`BAND_KEY_BUDGET`].
    fn band_links(
        &self,
        ps: &[Paragraph],
        ids: &[u32],
        fixed: usize,
        passed: &PairSet,
    ) -> Vec<Link> {
        let c = &self.config;
        let banded: Vec<u32> = ids
            .par_iter()
            .copied()
            .filter(|&i| {
                let words = &ps[i as usize].fingerprint.words;
                words.iter().any(|w| !is_common(w))
            })
            .collect();
        let m = banded.len();
        if m < 2 {
            return Vec::new();
        }
        let group = (BAND_KEY_BUDGET / (4 * m)).clamp(1, c.bands);
        let mut links = Vec::new();
        // keys[b * m + x]: item x's key in band `start + b` of the group.
        let mut keys = vec![0u32; m * group];
        for start in (0..c.bands).step_by(group) {
            let g = group.min(c.bands - start);
            const CHUNK: usize = 1024;
            // Each task fills its items' stretch of every band.
            let mut stretches: Vec<Vec<&mut [u32]>> =
                banded.chunks(CHUNK).map(|_| Vec::with_capacity(g)).collect();
            for band in keys[..m * g].chunks_mut(m) {
                for (s, piece) in
                    stretches.iter_mut().zip(band.chunks_mut(CHUNK))
                {
                    s.push(piece);
                }
            }
            stretches.into_par_iter().zip(banded.par_chunks(CHUNK)).for_each(
                |(mut out, chunk)| {
                    let mut content = Vec::new();
                    let mut band_keys = BandKeys::new(c.bands, c.rows);
                    let mut one = [0u32; 256];
                    for (x, &i) in chunk.iter().enumerate() {
                        let words = &ps[i as usize].fingerprint.words;
                        content_words(words, &mut content);
                        let range = start..start + g;
                        band_keys.compute(&content, range, &mut one);
                        for (band, &k) in out.iter_mut().zip(&one) {
                            band[x] = k;
                        }
                    }
                },
            );
            let keys = &keys;
            let found: Vec<Vec<Link>> = (0..g)
                .into_par_iter()
                // One entry buffer for the bands a task walks in turn.
                .map_init(Vec::new, |entries, b| {
                    let mut found = Vec::new();
                    let mut batch = Vec::with_capacity(CHECK_BATCH);
                    let keys = &keys[b * m..(b + 1) * m];
                    band_links_with(
                        keys,
                        &banded,
                        entries,
                        |earlier, later| {
                            if (later as usize) < fixed {
                                return;
                            }
                            batch.push((later, earlier, 0));
                            if batch.len() == CHECK_BATCH {
                                self.check_batch(
                                    ps, &mut batch, passed, &mut found,
                                );
                            }
                        },
                    );
                    self.check_batch(ps, &mut batch, passed, &mut found);
                    found
                })
                .collect();
            links.extend(found.into_iter().flatten());
        }
        links
    }

    /// Clusters `ps` (in input order). The first `fixed` paragraphs are
    /// settled (from an index): `fixed_rep[i]` is paragraph `i`'s
    /// representative, and they never change or join anything. Every
    /// later paragraph joins the most similar earlier representative it
    /// verifies against, or becomes one.
    pub fn cluster_with(
        &self,
        ps: &[Paragraph],
        fixed: usize,
        fixed_rep: &[u32],
    ) -> Clustering {
        assert_eq!(
            fixed_rep.len(),
            fixed,
            "one representative per fixed paragraph"
        );
        let n = ps.len();
        let (links, exact_first) = self.verified_pairs(ps, fixed);
        let mut rep: Vec<u32> = (0..n as u32).collect();
        rep[..fixed].copy_from_slice(fixed_rep);
        let mut similarity = vec![1.0f32; n];
        // tried[r] == i: representative r was already checked for i.
        let mut tried = vec![NONE; n];
        let mut next = links.iter().peekable();
        for i in fixed..n {
            while next.next_if(|l| l.later < i as u32).is_some() {}
            let f = exact_first[i];
            if f != NONE {
                // The same words as an earlier paragraph: the same fate.
                let r = rep[f as usize];
                rep[i] = r;
                if r != f {
                    let (j, _) = overlap(
                        &ps[i].fingerprint.words,
                        &ps[r as usize].fingerprint.words,
                    );
                    similarity[i] = j as f32;
                }
                continue;
            }
            let mut best: Option<(f64, u32)> = None;
            while let Some(l) = next.next_if(|l| l.later == i as u32) {
                let r = rep[l.earlier as usize];
                if tried[r as usize] == i as u32 {
                    continue;
                }
                tried[r as usize] = i as u32;
                // A pair with a representative was checked already; a
                // member leads to its representative, checked now.
                let checked = if r == l.earlier {
                    Some(f64::from(l.similarity))
                } else {
                    self.verify(&ps[i], &ps[r as usize])
                };
                if let Some(s) = checked {
                    if best
                        .is_none_or(|(bs, br)| s > bs || (s == bs && r < br))
                    {
                        best = Some((s, r));
                    }
                }
            }
            if let Some((s, r)) = best {
                rep[i] = r;
                similarity[i] = s as f32;
            }
        }
        let clusters = clusters_of(ps, &rep, &similarity, fixed);
        Clustering { rep, similarity, clusters }
    }
}

/// The clusters that hold a paragraph after `fixed`: the representative
/// first, then its members after `fixed` in input order.
fn clusters_of(
    ps: &[Paragraph],
    rep: &[u32],
    similarity: &[f32],
    fixed: usize,
) -> Vec<Cluster> {
    let mut members: HashMap<u32, Vec<u32>> = HashMap::new();
    for (i, &r) in rep.iter().enumerate().skip(fixed) {
        if r != i as u32 {
            members.entry(r).or_default().push(i as u32);
        }
    }
    let mut reps: Vec<u32> = members.keys().copied().collect();
    reps.sort_unstable();
    reps.into_iter()
        .map(|r| {
            let rp = &ps[r as usize].fingerprint;
            let mut out = vec![Member {
                paragraph: r as usize,
                distance: 0,
                similarity: 1.0,
            }];
            out.extend(members[&r].iter().map(|&i| {
                Member {
                    paragraph: i as usize,
                    distance: (ps[i as usize].fingerprint.simhash
                        ^ rp.simhash)
                        .count_ones(),
                    similarity: f64::from(similarity[i as usize]),
                }
            }));
            Cluster { members: out }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The band keys as computed before [`BandKeys`], a bin at a time:
    /// the reference the fast keys must equal.
    fn band_keys_one_bin_at_a_time(
        content: &[u32],
        bands: usize,
        rows: usize,
        group: std::ops::Range<usize>,
        out: &mut [u32],
    ) {
        debug_assert!(!content.is_empty() && group.end <= bands);
        // Two rows from each 64-bit word hash: its halves are independent.
        // A row's 32-bit value picks the bin by its high bits and orders
        // the words within a bin by the rest, as one permutation would.
        let mut keys = [0u64; 256];
        // u32::MAX marks an empty bin (a word hashing to it counts as none).
        let mut mins = [[u32::MAX; 256]; 2];
        let bin = |t: u32| ((u64::from(t) * bands as u64) >> 32) as usize;
        for pair in 0..rows.div_ceil(2) {
            let seed =
                BAND_SEED ^ (pair as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            let halves = (rows - 2 * pair).min(2);
            for row in &mut mins[..halves] {
                row[..bands].fill(u32::MAX);
            }
            let [hi_mins, lo_mins] = &mut mins;
            for &w in content {
                let h = mix64(u64::from(w) ^ seed);
                let hi = (h >> 32) as u32;
                hi_mins[bin(hi)] = hi_mins[bin(hi)].min(hi);
                if halves == 2 {
                    let lo = h as u32;
                    lo_mins[bin(lo)] = lo_mins[bin(lo)].min(lo);
                }
            }
            for row in &mut mins[..halves] {
                let row = &row[..bands];
                for (b, k) in keys
                    .iter_mut()
                    .enumerate()
                    .take(group.end)
                    .skip(group.start)
                {
                    *k = (*k ^ u64::from(densified_bin(row, b)))
                        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
                        .rotate_left(29);
                }
            }
        }
        for (o, b) in out.iter_mut().zip(group) {
            *o = mix64(keys[b] ^ b as u64) as u32;
        }
    }

    /// Bin `b`'s value after densification (see [`densify_into`]), found
    /// by looking ahead from the bin.
    fn densified_bin(mins: &[u32], b: usize) -> u32 {
        let n = mins.len();
        if mins[b] != u32::MAX {
            return mins[b];
        }
        (1..n)
            .map(|dist| (dist, mins[(b + dist) % n]))
            .find(|&(_, m)| m != u32::MAX)
            .map_or(u32::MAX, |(dist, m)| {
                m.wrapping_add((dist as u32).wrapping_mul(0x9e37_79b9))
            })
    }

    /// The whole-row densification `densified_bin` replaced, kept as the
    /// reference it must agree with.
    fn densify_row(mins: &mut [u32]) {
        let n = mins.len();
        let Some(first) = mins.iter().position(|&m| m != u32::MAX) else {
            return;
        };
        let (mut value, mut at) = (mins[first], first + n);
        for b in (0..n).rev() {
            if mins[b] != u32::MAX {
                (value, at) = (mins[b], b);
            }
            mins[b] = value
                .wrapping_add(((at - b) as u32).wrapping_mul(0x9e37_79b9));
        }
    }

    #[test]
    fn one_bin_densified_agrees_with_the_whole_row() {
        let mut x = 99u64;
        for n in [1usize, 2, 5, 30, 64] {
            for _ in 0..200 {
                let mut row: Vec<u32> = (0..n)
                    .map(|_| {
                        x = mix64(x);
                        // Mostly empty, sometimes all empty.
                        if x.is_multiple_of(3) {
                            x as u32 >> 1
                        } else {
                            u32::MAX
                        }
                    })
                    .collect();
                let lazy: Vec<u32> =
                    (0..n).map(|b| densified_bin(&row, b)).collect();
                densify_row(&mut row);
                assert_eq!(lazy, row);
            }
        }
    }

    #[test]
    fn densify_into_agrees_with_one_bin_at_a_time() {
        let mut x = 5u64;
        for n in [1usize, 2, 3, 30, 64] {
            for round in 0..300 {
                let row: Vec<u32> = (0..n)
                    .map(|_| {
                        x = mix64(x);
                        // Mostly empty, all empty every tenth round.
                        if x.is_multiple_of(3) && round % 10 != 0 {
                            x as u32 >> 1
                        } else {
                            u32::MAX
                        }
                    })
                    .collect();
                x = mix64(x);
                let start = x as usize % n;
                let end = start + 1 + (x >> 20) as usize % (n - start);
                let seed: Vec<u64> = (start..end).map(|b| b as u64).collect();
                let mut fast = seed.clone();
                densify_into(&row, start..end, &mut fast);
                let slow: Vec<u64> = (start..end)
                    .map(|b| fold_row(b as u64, densified_bin(&row, b)))
                    .collect();
                assert_eq!(fast, slow, "{row:?} {start}..{end}");
            }
        }
    }

    #[test]
    fn four_rows_densified_at_once_equal_one_row_at_a_time() {
        let mut x = 9u64;
        for n in [1usize, 2, 3, 30, 64, 256] {
            for round in 0..300 {
                // Mostly empty; every tenth round one row all empty.
                let rows: Vec<Vec<u32>> = (0..4)
                    .map(|r| {
                        (0..n)
                            .map(|_| {
                                x = mix64(x);
                                let empty = round % 10 == 0 && r == round % 4;
                                if x.is_multiple_of(3) && !empty {
                                    x as u32 >> 1
                                } else {
                                    u32::MAX
                                }
                            })
                            .collect()
                    })
                    .collect();
                x = mix64(x);
                let start = x as usize % n;
                let end = start + 1 + (x >> 20) as usize % (n - start);
                let mut keys = vec![0u64; end - start];
                for row in &rows {
                    densify_into(row, start..end, &mut keys);
                }
                let slow: Vec<u32> = keys
                    .iter()
                    .zip(start..end)
                    .map(|(&k, b)| band_key(k, b))
                    .collect();
                let mut fast = vec![0u32; end - start];
                let four =
                    [&rows[0][..], &rows[1][..], &rows[2][..], &rows[3][..]];
                densify_four_into(four, start..end, &mut fast);
                assert_eq!(fast, slow, "{n} {start}..{end}");
            }
        }
    }

    #[test]
    fn band_keys_equal_the_one_bin_at_a_time_keys() {
        let mut x = 17u64;
        for (bands, rows) in [(30, 4), (4, 3), (1, 1), (7, 2), (256, 16)] {
            let mut fast = BandKeys::new(bands, rows);
            for round in 0..200 {
                x = mix64(x);
                let words = 1 + x as usize % 120;
                // Word keys (16 bits, the table's) and wider words.
                let width = if round % 2 == 0 { 16 } else { 32 };
                let content: Vec<u32> = (0..words)
                    .map(|k| (mix64(x ^ k as u64) >> (64 - width)) as u32)
                    .collect();
                let start = (x >> 32) as usize % bands;
                let end = start + 1 + (x >> 40) as usize % (bands - start);
                let (mut a, mut b) = ([0u32; 256], [0u32; 256]);
                fast.compute(&content, start..end, &mut a);
                band_keys_one_bin_at_a_time(
                    &content,
                    bands,
                    rows,
                    start..end,
                    &mut b,
                );
                assert_eq!(a, b, "{bands} x {rows}, {start}..{end}");
            }
        }
    }

    #[test]
    fn band_keys_are_stable() {
        // A saved index recomputes these: they must never change.
        let fp = crate::dedup::simhash::fingerprint([
            "central bank raises interest rates again as inflation climbs",
        ])
        .unwrap();
        let mut content = Vec::new();
        content_words(&fp.words, &mut content);
        let mut band_keys = BandKeys::new(4, 3);
        let mut keys = [0; 4];
        band_keys.compute(&content, 0..4, &mut keys);
        assert_eq!(keys, [3625209438, 2826637620, 582716759, 724607193]);
        // A group alone gives the same keys.
        let mut two = [0; 2];
        band_keys.compute(&content, 1..3, &mut two);
        assert_eq!(two, keys[1..3]);
    }

    #[test]
    fn early_exit_agrees_with_the_full_count() {
        let d = Deduper::default();
        let mut x = 3u64;
        for _ in 0..2000 {
            x = mix64(x);
            let (la, lb) = (8 + x as usize % 60, 8 + (x >> 8) as usize % 60);
            let shift = (x >> 16) as u32 % 40;
            let a: Vec<u32> = (0..la as u32).collect();
            let b: Vec<u32> = (shift..shift + lb as u32).collect();
            let set = |w: &[u32]| WordSet::from_sorted(w.iter().copied());
            let (a, b) = (set(&a), set(&b));
            let (j, c) = overlap(&a, &b);
            let want = (j >= 0.55 || (c >= 0.8 && j >= 0.4)).then_some(j);
            let p = |w: WordSet| Paragraph {
                doc: 0,
                line: 1,
                last_line: 1,
                source: 0,
                len: 0,
                fingerprint: super::super::Fingerprint {
                    simhash: 0,
                    exact: 0,
                    words: w,
                },
            };
            assert_eq!(d.verify(&p(a), &p(b)), want, "{la} {lb} {shift}");
        }
    }

    #[test]
    fn shared_words_are_counted_as_a_set_intersection() {
        let mut x = 21u64;
        for round in 0..3000 {
            // Sets of 0 to 150 words from a small range, so they share
            // many; lengths on both sides of the eight-word blocks.
            let mut set = |range: u64| {
                x = mix64(x);
                let len = x as usize % 150;
                let mut words: Vec<u32> = (0..len)
                    .map(|k| (mix64(x ^ k as u64) % range) as u32)
                    .collect();
                words.sort_unstable();
                words.dedup();
                words
            };
            let range = [40, 200, 1000, 65_536][round % 4];
            let (a, b) = (set(range), set(range));
            let shared = a.iter().filter(|w| b.contains(w)).count();
            let (a, b) = (
                WordSet::from_sorted(a.iter().copied()),
                WordSet::from_sorted(b.iter().copied()),
            );
            assert_eq!(shared_at_least(&a, &b, 0), Some(shared));
            assert_eq!(shared_at_least(&b, &a, shared), Some(shared));
            assert_eq!(shared_at_least(&a, &b, shared + 1), None);
            let (a, b) = (a.keys(), b.keys());
            let merge =
                |need| shared_at_least_by(a, b, need, block_step_merge);
            assert_eq!(merge(shared), Some(shared));
            assert_eq!(merge(shared + 1), None);
        }
    }

    #[test]
    fn overlap_counts_shared_words() {
        let set = |w: &[u32]| WordSet::from_sorted(w.iter().copied());
        let overlap = |a: &[u32], b: &[u32]| overlap(&set(a), &set(b));
        assert_eq!(overlap(&[1, 2, 3, 4], &[3, 4, 5, 6]), (2.0 / 6.0, 0.5));
        assert_eq!(overlap(&[1, 2], &[1, 2, 3, 4]), (0.5, 1.0));
        assert_eq!(overlap(&[], &[1]), (0.0, 0.0));
    }

    #[test]
    fn band_keys_agree_about_as_often_as_jaccard() {
        // Sets of 100 words sharing 60 (Jaccard 0.6 / 140 = 0.43).
        let mut agree = 0;
        let mut total = 0;
        for seed in 0..200u32 {
            let a: Vec<u32> = (0..100).map(|x| seed * 1000 + x).collect();
            let b: Vec<u32> = (40..140).map(|x| seed * 1000 + x).collect();
            let (mut ka, mut kb) = ([0; 25], [0; 25]);
            let mut band_keys = BandKeys::new(25, 1);
            band_keys.compute(&a, 0..25, &mut ka);
            band_keys.compute(&b, 0..25, &mut kb);
            agree += ka.iter().zip(&kb).filter(|(x, y)| x == y).count();
            total += 25;
        }
        let rate = agree as f64 / total as f64;
        assert!((0.33..0.53).contains(&rate), "{rate}");
    }
}
