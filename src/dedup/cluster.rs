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
//! for every member), `bands` 32-bit **sub-fingerprints** derived from
//! its content words by one-permutation min-wise hashing: in each of
//! `rows` rounds the word hashes are spread over `bands` bins, each bin
//! keeps its smallest hash (empty bins borrow from the next filled one),
//! and band `b`'s key hashes bin `b` of every round. Two word sets agree on a bin with probability equal
//! to their Jaccard similarity, so a pair shares at least one band key
//! with probability `1 - (1 - J^rows)^bands`: 0.96 at J = 0.5 with the
//! default 25 × 3, under 0.01 at J = 0.1. The keys are exact-match, 4 bytes
//! each, computed in one pass over the stored word hashes, so they need
//! no storage of their own (an index file recomputes them).
//!
//! A candidate is never enough: every pair is checked on the exact word
//! sets (Jaccard, or containment for a copy that dropped or added a
//! sentence) against the cluster's representative before it may join.
//!
//! # Representatives
//!
//! Paragraphs are taken in input order (an index's paragraphs first). A
//! paragraph that verifies against no earlier representative becomes one;
//! otherwise it joins the representative it is most similar to (ties: the
//! earliest). A member is always checked against the representative
//! itself, never only against another member, so chains cannot grow:
//! every member is within the threshold of its representative.

use std::collections::HashMap;

use rayon::prelude::*;

use super::index::{band_pairs, pairs_within};
use super::simhash::mix64;
use super::{Cluster, Deduper, Member, Paragraph};

/// Seed of the sub-fingerprint bins. Part of the index format.
const BAND_SEED: u64 = 0xb4_d5ee_d000_0002;

/// The containment path of the check also needs at least this Jaccard, so
/// a sentence is never clustered with a long paragraph that quotes it.
pub const CONTAINMENT_MIN_JACCARD: f64 = 0.4;

/// No representative (yet).
pub(crate) const NONE: u32 = u32::MAX;

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
/// smaller set) of two sorted, distinct lists.
pub fn overlap(a: &[u32], b: &[u32]) -> (f64, f64) {
    if a.is_empty() || b.is_empty() {
        return (0.0, 0.0);
    }
    let (mut i, mut j, mut both) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        let (x, y) = (a[i], b[j]);
        i += usize::from(x <= y);
        j += usize::from(y <= x);
        both += usize::from(x == y);
    }
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

/// The low 32 bits of the word hashes of [`COMMON_WORDS`], sorted.
static COMMON: std::sync::LazyLock<Vec<u32>> =
    std::sync::LazyLock::new(|| {
        let mut v: Vec<u32> = COMMON_WORDS
            .split_whitespace()
            .map(|w| super::simhash::word_hash(w) as u32)
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    });

/// The band keys of a word set: `bands` keys, each over `rows` min-hash
/// values, from the words other than [`COMMON_WORDS`]. Pushes nothing
/// when no word is left.
///
/// Each row is one round of one-permutation hashing with its own seed:
/// the words are spread over `bands` bins, each bin keeps its smallest
/// hash, and band `b` hashes bin `b` of every round. With one round of
/// `bands × rows` bins instead, a paragraph of 50 content words would
/// leave three bins in four empty, the densified bins would copy their
/// neighbours, and a "4-row" band would be one row in effect (measured:
/// buckets of hundreds of unrelated paragraphs).
pub(crate) fn band_keys(
    words: &[u32],
    bands: usize,
    rows: usize,
    out: &mut Vec<u32>,
) {
    let common = &*COMMON;
    let mut keys = [0u64; 256];
    let mut any = false;
    for row in 0..rows {
        let seed =
            BAND_SEED ^ (row as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let mut mins = [u32::MAX; 256];
        let mut filled = [false; 256];
        for &w in words {
            if common.binary_search(&w).is_ok() {
                continue;
            }
            let h = mix64(u64::from(w) ^ seed);
            let bin = (((h >> 32) * bands as u64) >> 32) as usize;
            mins[bin] = mins[bin].min(h as u32);
            filled[bin] = true;
            any = true;
        }
        if !any {
            return;
        }
        densify(&mut mins[..bands], &filled[..bands]);
        for (k, &m) in keys[..bands].iter_mut().zip(&mins[..bands]) {
            *k = mix64(*k ^ u64::from(m) ^ (row as u64) << 40);
        }
    }
    out.extend(
        keys[..bands]
            .iter()
            .enumerate()
            .map(|(b, &k)| mix64(k ^ b as u64) as u32),
    );
}

/// Fills each empty bin with the next filled bin's value (circularly),
/// offset by the distance, so two sets agree on it about as often as on
/// a filled bin (rotation densification, Shrivastava and Li 2014).
fn densify(mins: &mut [u32], filled: &[bool]) {
    let n = mins.len();
    let Some(start) = (0..n).find(|&b| filled[b]) else {
        return;
    };
    let mut last = mins[start];
    let mut dist = 0u32;
    for step in 1..=n {
        let at = (start + n - step) % n;
        if filled[at] {
            last = mins[at];
            dist = 0;
        } else {
            dist += 1;
            mins[at] = last.wrapping_add(dist.wrapping_mul(0x9e37_79b9));
        }
    }
}

/// The number of shared words, or `None` as soon as fewer than `need`
/// can be shared (most candidates are rejected partway through).
fn shared_at_least(a: &[u32], b: &[u32], need: usize) -> Option<usize> {
    let (mut i, mut j, mut both) = (0, 0, 0usize);
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

impl Deduper {
    /// Checks paragraph `a` against representative `b`: `Some(Jaccard)`
    /// when it may join: Jaccard at least `min_similarity`, or
    /// containment at least `min_containment` with Jaccard at least
    /// [`CONTAINMENT_MIN_JACCARD`].
    pub(crate) fn verify(&self, a: &Paragraph, b: &Paragraph) -> Option<f64> {
        let (wa, wb) = (&a.fingerprint.words, &b.fingerprint.words);
        if wa.is_empty() || wb.is_empty() {
            return None;
        }
        let (la, lb) = (wa.len() as f64, wb.len() as f64);
        let c = &self.config;
        // Shared words each path needs: J >= t iff both >= t(la+lb)/(1+t).
        let t = c.min_similarity;
        let by_jaccard = t * (la + lb) / (1.0 + t);
        let floor = CONTAINMENT_MIN_JACCARD;
        let by_containment = (c.min_containment * la.min(lb))
            .max(floor * (la + lb) / (1.0 + floor));
        let need = (by_jaccard.min(by_containment) - 1e-9).max(0.0).ceil();
        let both = shared_at_least(wa, wb, need as usize)? as f64;
        let j = both / (la + lb - both);
        let contained = both / la.min(lb);
        let ok = j >= t || (contained >= c.min_containment && j >= floor);
        ok.then_some(j)
    }

    /// For each paragraph `i`, the earlier paragraphs that may be copies
    /// of it (ascending), and its first exact copy (or [`NONE`]).
    fn candidates(&self, ps: &[Paragraph]) -> (Vec<Vec<u32>>, Vec<u32>) {
        let c = &self.config;
        let mut exact_first = vec![NONE; ps.len()];
        let mut seen: HashMap<u64, u32> = HashMap::with_capacity(ps.len());
        for (i, p) in ps.iter().enumerate() {
            let first = *seen.entry(p.fingerprint.exact).or_insert(i as u32);
            if first != i as u32 {
                exact_first[i] = first;
            }
        }
        // Only the first of each exact class, and only paragraphs with
        // enough words, enter the near-duplicate tables.
        let ids: Vec<u32> = (0..ps.len() as u32)
            .filter(|&i| {
                exact_first[i as usize] == NONE
                    && ps[i as usize].fingerprint.words.len() >= c.min_words
            })
            .collect();
        let (mut pairs, banded) = rayon::join(
            || {
                let fps: Vec<u64> = ids
                    .iter()
                    .map(|&i| ps[i as usize].fingerprint.simhash)
                    .collect();
                let mut pairs = pairs_within(&fps, c.max_distance, c.blocks);
                for p in &mut pairs {
                    *p = (ids[p.0 as usize], ids[p.1 as usize]);
                }
                pairs
            },
            || {
                if c.bands == 0 {
                    return Vec::new();
                }
                let keyed: Vec<(Vec<u32>, Vec<u32>)> = ids
                    .par_chunks(1024)
                    .map(|chunk| {
                        let mut with = Vec::with_capacity(chunk.len());
                        let mut out =
                            Vec::with_capacity(chunk.len() * c.bands);
                        for &i in chunk {
                            let words = &ps[i as usize].fingerprint.words;
                            let before = out.len();
                            band_keys(words, c.bands, c.rows, &mut out);
                            if out.len() > before {
                                with.push(i);
                            }
                        }
                        (with, out)
                    })
                    .collect();
                let (mut with, mut keys) = (Vec::new(), Vec::new());
                for (w, k) in keyed {
                    with.extend(w);
                    keys.extend(k);
                }
                band_pairs(&with, &keys, c.bands)
            },
        );
        pairs.extend(banded);
        // (later, earlier), sorted and distinct, then grouped by later.
        let mut flat: Vec<u64> = pairs
            .into_iter()
            .map(|(a, b)| u64::from(a.max(b)) << 32 | u64::from(a.min(b)))
            .collect();
        flat.par_sort_unstable();
        flat.dedup();
        let mut out: Vec<Vec<u32>> = vec![Vec::new(); ps.len()];
        for group in flat.chunk_by(|a, b| a >> 32 == b >> 32) {
            out[(group[0] >> 32) as usize] =
                group.iter().map(|&e| e as u32).collect();
        }
        (out, exact_first)
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
        let (cands, exact_first) = self.candidates(ps);
        let mut rep: Vec<u32> = (0..n as u32).collect();
        rep[..fixed].copy_from_slice(fixed_rep);
        let mut similarity = vec![1.0f32; n];
        // Most candidates are representatives themselves when their turn
        // comes, so check every candidate pair in parallel first; the
        // sequential pass below then only looks results up, and checks
        // live only when a candidate has joined another representative.
        let passed: Vec<Vec<(u32, f32)>> = (fixed..n)
            .into_par_iter()
            .map(|i| {
                cands[i]
                    .iter()
                    .filter_map(|&j| {
                        let s = self.verify(&ps[i], &ps[j as usize])?;
                        Some((j, s as f32))
                    })
                    .collect()
            })
            .collect();
        // tried[r] == i: representative r was already checked for i.
        let mut tried = vec![NONE; n];
        for i in fixed..n {
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
            for &j in &cands[i] {
                let r = rep[j as usize];
                if tried[r as usize] == i as u32 {
                    continue;
                }
                tried[r as usize] = i as u32;
                let checked = if r == j {
                    passed[i - fixed]
                        .iter()
                        .find(|p| p.0 == j)
                        .map(|p| f64::from(p.1))
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

    #[test]
    fn band_keys_are_stable() {
        // A saved index recomputes these: they must never change.
        let fp = crate::dedup::simhash::fingerprint([
            "central bank raises interest rates again as inflation climbs",
        ])
        .unwrap();
        let mut keys = Vec::new();
        band_keys(&fp.words, 4, 3, &mut keys);
        assert_eq!(keys, [1815441951, 2571040370, 2373717057, 982647347]);
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
            let (j, c) = overlap(&a, &b);
            let want = (j >= 0.55 || (c >= 0.8 && j >= 0.4)).then_some(j);
            let p = |w: Vec<u32>| Paragraph {
                doc: 0,
                line: 1,
                last_line: 1,
                source: 0,
                len: 0,
                fingerprint: super::super::Fingerprint {
                    simhash: 0,
                    exact: 0,
                    words: w.into_boxed_slice(),
                },
            };
            assert_eq!(d.verify(&p(a), &p(b)), want, "{la} {lb} {shift}");
        }
    }

    #[test]
    fn overlap_counts_shared_words() {
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
            let (mut ka, mut kb) = (Vec::new(), Vec::new());
            band_keys(&a, 25, 1, &mut ka);
            band_keys(&b, 25, 1, &mut kb);
            agree += ka.iter().zip(&kb).filter(|(x, y)| x == y).count();
            total += 25;
        }
        let rate = agree as f64 / total as f64;
        assert!((0.33..0.53).contains(&rate), "{rate}");
    }
}
