//! Near-duplicate paragraphs: 64-bit simhash fingerprints, a block
//! index for candidates, and an exact word-set check before any pair may
//! share a cluster.
//!
//! Why not the `simhash` crate on the hot path: it hashes raw tokens
//! (case and punctuation count), counts repeated words (so stopwords
//! dominate), and its hasher depends on a cargo feature, so fingerprints
//! could change between builds. Here a paragraph's features are the *set*
//! of its normalised words, hashed with xxh3 and a fixed seed, so a
//! fingerprint never changes between runs or versions.

use std::collections::HashMap;

use rayon::prelude::*;
use unicode_normalization::UnicodeNormalization;

use crate::error::BuildError;

const WORD_SEED: u64 = 0x5eed_c4af_f000_0001;

/// What to do with the copies that are not a cluster's representative.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum DuplicateAction {
    /// Remove them from the output (recorded in the removed record).
    #[default]
    Drop,
    /// Keep them; only report the clusters.
    Keep,
}

#[derive(Clone, Debug)]
struct Config {
    max_distance: u32,
    min_similarity: f64,
    min_words: usize,
    min_exact_chars: usize,
    action: DuplicateAction,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            max_distance: 3,
            min_similarity: 0.5,
            min_words: 8,
            min_exact_chars: 20,
            action: DuplicateAction::Drop,
        }
    }
}

/// Builds a [`Deduper`], validating its settings.
#[derive(Clone, Debug, Default)]
pub struct DedupBuilder {
    config: Config,
}

impl DedupBuilder {
    /// A builder with the default settings.
    pub fn new() -> DedupBuilder {
        DedupBuilder::default()
    }

    /// Candidates differ in at most this many of the 64 bits (0 to 16).
    pub fn max_distance(&mut self, bits: u32) -> &mut DedupBuilder {
        self.config.max_distance = bits;
        self
    }

    /// The word-set Jaccard similarity a candidate must reach against
    /// the cluster's representative to join it (0 to 1, default 0.5).
    pub fn min_similarity(&mut self, s: f64) -> &mut DedupBuilder {
        self.config.min_similarity = s;
        self
    }

    /// Paragraphs with fewer distinct words are matched only exactly.
    pub fn min_words(&mut self, words: usize) -> &mut DedupBuilder {
        self.config.min_words = words;
        self
    }

    /// Paragraphs shorter than this many characters are never matched.
    pub fn min_exact_chars(&mut self, chars: usize) -> &mut DedupBuilder {
        self.config.min_exact_chars = chars;
        self
    }

    /// Drop or keep the copies.
    pub fn action(&mut self, action: DuplicateAction) -> &mut DedupBuilder {
        self.config.action = action;
        self
    }

    /// Validates the settings.
    pub fn build(&self) -> Result<Deduper, BuildError> {
        let c = &self.config;
        if c.max_distance > 16 {
            return Err(BuildError::OutOfRange {
                setting: "max_distance",
                value: c.max_distance.to_string(),
                allowed: "0 to 16 bits",
            });
        }
        if !(0.0..=1.0).contains(&c.min_similarity) {
            return Err(BuildError::OutOfRange {
                setting: "min_similarity",
                value: c.min_similarity.to_string(),
                allowed: "0 to 1",
            });
        }
        Ok(Deduper { config: c.clone() })
    }
}

/// The fingerprint of one paragraph and the data to verify a match.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fingerprint {
    /// 64-bit simhash over the set of normalised words.
    pub simhash: u64,
    /// Hash of the normalised text, for exact matches.
    pub exact: u64,
    /// Sorted, distinct hashes of the normalised words.
    pub words: Vec<u64>,
}

/// One paragraph handed to [`Deduper::cluster`].
#[derive(Clone, Debug)]
pub struct Paragraph {
    /// Index of its document in input order.
    pub doc: usize,
    /// 1-based line on which it starts.
    pub line: u32,
    /// 1-based line on which it ends (the same for one-line paragraphs).
    pub last_line: u32,
    /// Interned source id of its document.
    pub source: u32,
    /// Its length in bytes (ties are broken by it).
    pub len: u32,
    /// Its fingerprint.
    pub fingerprint: Fingerprint,
}

/// A member of a cluster, explained against the representative.
#[derive(Clone, Debug, PartialEq)]
pub struct Member {
    /// Index into the paragraphs given to [`Deduper::cluster`].
    pub paragraph: usize,
    /// Hamming distance of the simhashes to the representative's.
    pub distance: u32,
    /// Word-set Jaccard similarity to the representative.
    pub similarity: f64,
}

/// A cluster of near-duplicate paragraphs; the first member is the
/// representative.
#[derive(Clone, Debug, PartialEq)]
pub struct Cluster {
    /// Members, the representative first, then in input order.
    pub members: Vec<Member>,
}

/// Fingerprints and clusters paragraphs.
#[derive(Clone, Debug)]
pub struct Deduper {
    config: Config,
}

impl Default for Deduper {
    fn default() -> Deduper {
        DedupBuilder::new().build().expect("the default settings are valid")
    }
}

impl Deduper {
    /// What happens to non-representative copies.
    pub fn action(&self) -> DuplicateAction {
        self.config.action
    }

    /// The fingerprint of a paragraph, or `None` when it is too short to
    /// be matched at all.
    pub fn fingerprint(&self, text: &str) -> Option<Fingerprint> {
        if text.trim().chars().count() < self.config.min_exact_chars {
            return None;
        }
        let mut words: Vec<u64> = Vec::new();
        let mut norm = String::with_capacity(text.len());
        for_each_word(text, |w| {
            words.push(xxhash_rust::xxh3::xxh3_64_with_seed(
                w.as_bytes(),
                WORD_SEED,
            ));
            norm.push_str(w);
            norm.push(' ');
        });
        if words.is_empty() {
            return None;
        }
        words.sort_unstable();
        words.dedup();
        Some(Fingerprint {
            simhash: simhash(&words),
            exact: xxhash_rust::xxh3::xxh3_64_with_seed(norm.as_bytes(), 7),
            words,
        })
    }

    /// Clusters paragraphs (given in input order). Every pair that joins
    /// a cluster was checked: its word-set similarity to the cluster's
    /// representative reaches the threshold. The representative is the
    /// first paragraph of the cluster in input order, so clusters cannot
    /// grow into chains.
    pub fn cluster(&self, paragraphs: &[Paragraph]) -> Vec<Cluster> {
        let n = paragraphs.len();
        let candidates = self.candidates(paragraphs);
        // rep[i] = index of the representative i joined (or i itself).
        let mut rep: Vec<usize> = (0..n).collect();
        let mut best: Vec<(u32, f64)> = vec![(0, 1.0); n];
        for (i, cands) in candidates.iter().enumerate() {
            let mut chosen: Option<(usize, f64)> = None;
            for &j in cands {
                if rep[j] != j {
                    continue;
                }
                let s = jaccard(
                    &paragraphs[i].fingerprint.words,
                    &paragraphs[j].fingerprint.words,
                );
                if s >= self.config.min_similarity
                    && chosen.is_none_or(|(_, best)| s > best)
                {
                    chosen = Some((j, s));
                }
            }
            if let Some((j, s)) = chosen {
                rep[i] = j;
                let d = (paragraphs[i].fingerprint.simhash
                    ^ paragraphs[j].fingerprint.simhash)
                    .count_ones();
                best[i] = (d, s);
            }
        }
        let mut groups: HashMap<usize, Vec<usize>> = HashMap::new();
        for (i, &r) in rep.iter().enumerate() {
            if r != i {
                groups.entry(r).or_default().push(i);
            }
        }
        let mut reps: Vec<usize> = groups.keys().copied().collect();
        reps.sort_unstable();
        reps.into_iter()
            .map(|r| {
                let mut members = vec![Member {
                    paragraph: r,
                    distance: 0,
                    similarity: 1.0,
                }];
                for &i in &groups[&r] {
                    members.push(Member {
                        paragraph: i,
                        distance: best[i].0,
                        similarity: best[i].1,
                    });
                }
                Cluster { members }
            })
            .collect()
    }

    /// For each paragraph, the earlier paragraphs that may be copies of
    /// it: exact text matches and simhashes within the distance, found
    /// with `max_distance + 1` block tables (pigeonhole: a pair within k
    /// bits agrees on at least one of k + 1 blocks).
    fn candidates(&self, paragraphs: &[Paragraph]) -> Vec<Vec<usize>> {
        let n = paragraphs.len();
        let k = self.config.max_distance;
        let blocks = k as usize + 1;
        let masks = block_masks(blocks);
        let min_words = self.config.min_words;
        let tables: Vec<Vec<(usize, usize)>> = masks
            .par_iter()
            .map(|&mask| {
                let mut keyed: Vec<(u64, usize)> = paragraphs
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| p.fingerprint.words.len() >= min_words)
                    .map(|(i, p)| (p.fingerprint.simhash & mask, i))
                    .collect();
                keyed.sort_unstable();
                let mut pairs = Vec::new();
                for group in keyed.chunk_by(|a, b| a.0 == b.0) {
                    for (x, &(_, i)) in group.iter().enumerate() {
                        for &(_, j) in &group[..x] {
                            let d = (paragraphs[i].fingerprint.simhash
                                ^ paragraphs[j].fingerprint.simhash)
                                .count_ones();
                            if d <= k {
                                pairs.push((i.max(j), i.min(j)));
                            }
                        }
                    }
                }
                pairs
            })
            .collect();
        let mut exact: HashMap<u64, usize> = HashMap::new();
        let mut out: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (i, p) in paragraphs.iter().enumerate() {
            match exact.entry(p.fingerprint.exact) {
                std::collections::hash_map::Entry::Occupied(e) => {
                    out[i].push(*e.get())
                }
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(i);
                }
            }
        }
        for pairs in tables {
            for (i, j) in pairs {
                out[i].push(j);
            }
        }
        for c in &mut out {
            c.sort_unstable();
            c.dedup();
        }
        out
    }
}

/// Masks that split 64 bits into `blocks` contiguous blocks.
fn block_masks(blocks: usize) -> Vec<u64> {
    let mut masks = Vec::with_capacity(blocks);
    let mut start = 0;
    for b in 0..blocks {
        let width = (64 - start) / (blocks - b);
        let mask = if width >= 64 {
            u64::MAX
        } else {
            ((1u64 << width) - 1) << start
        };
        masks.push(mask);
        start += width;
    }
    masks
}

/// Calls `f` with each normalised word: NFKC, lowercased, letters and
/// digits only.
pub(crate) fn for_each_word(text: &str, mut f: impl FnMut(&str)) {
    let mut word = String::new();
    let flush = |word: &mut String, f: &mut dyn FnMut(&str)| {
        if !word.is_empty() {
            f(word);
            word.clear();
        }
    };
    if text.is_ascii() {
        for c in text.chars() {
            if c.is_ascii_alphanumeric() {
                word.push(c.to_ascii_lowercase());
            } else {
                flush(&mut word, &mut f);
            }
        }
    } else {
        for c in text.nfkc() {
            if c.is_alphanumeric() {
                if crate::strip::is_cjk(c) {
                    // CJK has no spaces: each character is a word.
                    flush(&mut word, &mut f);
                    word.push(c);
                    flush(&mut word, &mut f);
                } else {
                    word.extend(c.to_lowercase());
                }
            } else {
                flush(&mut word, &mut f);
            }
        }
    }
    flush(&mut word, &mut f);
}

/// Simhash of a set of feature hashes: each bit is the majority vote of
/// that bit over the features.
fn simhash(features: &[u64]) -> u64 {
    let mut counts = [0i32; 64];
    for &h in features {
        for (bit, count) in counts.iter_mut().enumerate() {
            *count += if h >> bit & 1 == 1 { 1 } else { -1 };
        }
    }
    counts.iter().enumerate().fold(0u64, |acc, (bit, &c)| {
        if c > 0 {
            acc | 1 << bit
        } else {
            acc
        }
    })
}

/// Jaccard similarity of two sorted, distinct lists.
pub(crate) fn jaccard(a: &[u64], b: &[u64]) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let (mut i, mut j, mut both) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                both += 1;
                i += 1;
                j += 1;
            }
        }
    }
    both as f64 / (a.len() + b.len() - both) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn para(d: &Deduper, doc: usize, text: &str) -> Paragraph {
        Paragraph {
            doc,
            line: 1,
            last_line: 1,
            source: doc as u32,
            len: text.len() as u32,
            fingerprint: d.fingerprint(text).unwrap(),
        }
    }

    #[test]
    fn words_are_normalised() {
        let mut w = Vec::new();
        for_each_word("Hello, WORLD! ｆｕｌｌ 東京", |x| {
            w.push(x.to_string())
        });
        assert_eq!(w, ["hello", "world", "full", "東", "京"]);
    }

    #[test]
    fn near_copies_cluster_and_others_do_not() {
        let d = Deduper::default();
        let a = "The Tokyo-Washington alliance is preventing the development \
                 of relations between Japan and Russia, the minister said.";
        let b = "The Tokyo-Washington alliance is preventing the development \
                 of relations between Japan and Russia, the minister said!";
        let c = "Completely different words about football scores and the \
                 weather in the north of the country this weekend.";
        let ps = vec![para(&d, 0, a), para(&d, 1, b), para(&d, 2, c)];
        let clusters = d.cluster(&ps);
        assert_eq!(clusters.len(), 1);
        assert_eq!(clusters[0].members[0].paragraph, 0);
        assert_eq!(clusters[0].members[1].paragraph, 1);
    }

    #[test]
    fn fingerprints_are_stable() {
        // A saved index depends on this value never changing.
        let d = Deduper::default();
        let fp =
            d.fingerprint("A stable fingerprint for ever and ever").unwrap();
        assert_eq!(
            fp.simhash,
            d.fingerprint("a STABLE fingerprint, for ever and ever.")
                .unwrap()
                .simhash
        );
    }

    #[test]
    fn block_masks_cover_all_bits() {
        for b in 1..=17 {
            let m = block_masks(b);
            assert_eq!(m.iter().fold(0, |a, x| a | x), u64::MAX);
            assert_eq!(m.iter().map(|x| x.count_ones()).sum::<u32>(), 64);
        }
    }
}
