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
//! its word set by one-permutation min-wise hashing: the word hashes are
//! spread over `bands × rows` bins, each bin keeps its smallest hash
//! (empty bins borrow from the next filled one), and each band's key
//! hashes `rows` bins. Two word sets agree on a bin with probability equal
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

/// The band keys of a word set: `bands` keys of `rows` min-hash bins.
pub(crate) fn band_keys(words: &[u32], bands: usize, rows: usize, out: &mut Vec<u32>) {
    let bins = bands * rows;
    let mut mins = [u32::MAX; 256];
    let mut filled = [false; 256];
    for &w in words {
        let h = mix64(u64::from(w) ^ BAND_SEED);
        let bin = ((h >> 32) * bins as u64 >> 32) as usize;
        mins[bin] = mins[bin].min(h as u32);
        filled[bin] = true;
    }
    // Densify: an empty bin takes the next filled bin's value, offset by
    // the distance, so that two sets agree on it only as often as they
    // agree on that bin.
    if let Some(any) = (0..bins).find(|&b| filled[b]) {
        let mut b = any + bins;
        let mut last = mins[any];
        let mut dist = 0u32;
        for _ in 0..bins {
            b -= 1;
            let at = b % bins;
            if filled[at] {
                last = mins[at];
                dist = 0;
            } else {
                dist += 1;
                mins[at] = last.wrapping_add(dist.wrapping_mul(0x9e37_79b9));
            }
        }
    }
    for band in 0..bands {
        let mut k = band as u64;
        for &m in &mins[band * rows..(band + 1) * rows] {
            k = mix64(k ^ u64::from(m) << 8);
        }
        out.push(k as u32);
    }
}

impl Deduper {
    /// Checks paragraph `a` against representative `b`: `Some(Jaccard)`
    /// when it may join.
    pub(crate) fn verify(&self, a: &Paragraph, b: &Paragraph) -> Option<f64> {
        let (j, c) = overlap(&a.fingerprint.words, &b.fingerprint.words);
        let ok = j >= self.config.min_similarity
            || (c >= self.config.min_containment && j >= CONTAINMENT_MIN_JACCARD);
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
                let fps: Vec<u64> =
                    ids.iter().map(|&i| ps[i as usize].fingerprint.simhash).collect();
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
                let keys: Vec<u32> = ids
                    .par_chunks(1024)
                    .flat_map_iter(|chunk| {
                        let mut out = Vec::with_capacity(chunk.len() * c.bands);
                        for &i in chunk {
                            let words = &ps[i as usize].fingerprint.words;
                            band_keys(words, c.bands, c.rows, &mut out);
                        }
                        out
                    })
                    .collect();
                band_pairs(&ids, &keys, c.bands)
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
            out[(group[0] >> 32) as usize] = group.iter().map(|&e| e as u32).collect();
        }
        (out, exact_first)
    }

    /// Clusters `ps` (in input order). The first `fixed` paragraphs are
    /// settled (from an index): `fixed_rep[i]` is paragraph `i`'s
    /// representative, and they never change or join anything. Every
    /// later paragraph joins the most similar earlier representative it
    /// verifies against, or becomes one.
    pub fn cluster_with(&self, ps: &[Paragraph], fixed: usize, fixed_rep: &[u32]) -> Clustering {
        assert_eq!(fixed_rep.len(), fixed, "one representative per fixed paragraph");
        let n = ps.len();
        let (cands, exact_first) = self.candidates(ps);
        let mut rep: Vec<u32> = (0..n as u32).collect();
        rep[..fixed].copy_from_slice(fixed_rep);
        let mut similarity = vec![1.0f32; n];
        let mut tried: Vec<u32> = Vec::new();
        for i in fixed..n {
            let f = exact_first[i];
            if f != NONE {
                // The same words as an earlier paragraph: the same fate.
                let r = rep[f as usize];
                rep[i] = r;
                if r != f {
                    let (j, _) = overlap(&ps[i].fingerprint.words, &ps[r as usize].fingerprint.words);
                    similarity[i] = j as f32;
                }
                continue;
            }
            tried.clear();
            let mut best: Option<(f64, u32)> = None;
            for &j in &cands[i] {
                let r = rep[j as usize];
                if tried.contains(&r) {
                    continue;
                }
                tried.push(r);
                if let Some(s) = self.verify(&ps[i], &ps[r as usize]) {
                    if best.is_none_or(|(bs, br)| s > bs || (s == bs && r < br)) {
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
fn clusters_of(ps: &[Paragraph], rep: &[u32], similarity: &[f32], fixed: usize) -> Vec<Cluster> {
    let mut members: HashMap<u32, Vec<u32>> = HashMap::new();
    for i in fixed..rep.len() {
        if rep[i] != i as u32 {
            members.entry(rep[i]).or_default().push(i as u32);
        }
    }
    let mut reps: Vec<u32> = members.keys().copied().collect();
    reps.sort_unstable();
    reps.into_iter()
        .map(|r| {
            let rp = &ps[r as usize].fingerprint;
            let mut out = vec![Member { paragraph: r as usize, distance: 0, similarity: 1.0 }];
            out.extend(members[&r].iter().map(|&i| Member {
                paragraph: i as usize,
                distance: (ps[i as usize].fingerprint.simhash ^ rp.simhash).count_ones(),
                similarity: f64::from(similarity[i as usize]),
            }));
            Cluster { members: out }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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
