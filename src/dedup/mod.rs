//! Near-duplicate paragraphs: 64-bit simhash fingerprints, sub-fingerprints
//! for heavily edited copies, sorted block tables for candidates, and an
//! exact word-set check before any pair may share a cluster.
//!
//! * [`simhash`]: normalised words, the fixed-seed word hash and the
//!   paragraph simhash (stable across runs and versions).
//! * [`index`]: candidate tables (permuted/sorted simhash block tables,
//!   band tables), parallel over tables.
//! * [`cluster`]: sub-fingerprints, the check, representatives.
//! * [`store`]: the `--index` file that lets a later run check new
//!   documents against an earlier corpus.
//!
//! Memory per paragraph: its [`Paragraph`] (56 bytes, the fingerprint's
//! hashes and word-set handle included) and its [`WordSet`] (2 bytes a
//! distinct word, in a block shared with the other paragraphs of up to
//! 1,024 inputs: no allocation of its own): about 200 bytes for a
//! 73-word paragraph (360 with the 32-bit word hashes of index version
//! 1). While clusters are found, also: the band keys of one group of
//! bands (at most 256 MB: 120 bytes a paragraph up to 2.2 million), 8
//! bytes a paragraph for each band being walked (one per thread), 16 for
//! representatives and bookkeeping, and the pairs that pass the check.
//! Unless an index is saved, the word sets are freed as soon as the
//! clusters are known. Measured on the 3.03 million paragraphs of the 2
//! GB planted-edit set, with a band-key budget of 40 MB then: the whole
//! run peaked at 1.44 GB RSS, during clustering.

pub mod cluster;
pub mod index;
pub mod simhash;
pub mod store;

pub use cluster::{overlap, Clustering};
pub use simhash::{for_each_word, Fingerprint, WordSet};
pub use store::Index;

use crate::error::BuildError;

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
    blocks: u32,
    bands: usize,
    rows: usize,
    min_similarity: f64,
    min_containment: f64,
    min_words: usize,
    min_exact_chars: usize,
    action: DuplicateAction,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            max_distance: 3,
            blocks: 0,
            bands: 30,
            rows: 4,
            min_similarity: 0.55,
            min_containment: 0.8,
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

    /// Simhash candidates differ in at most this many of the 64 bits (0
    /// to 16, default 3).
    pub fn max_distance(&mut self, bits: u32) -> &mut DedupBuilder {
        self.config.max_distance = bits;
        self
    }

    /// Blocks the simhash is cut into for its tables (more than the
    /// distance, at most 64; 0, the default, means distance + 2). See
    /// [`index`].
    pub fn blocks(&mut self, blocks: u32) -> &mut DedupBuilder {
        self.config.blocks = blocks;
        self
    }

    /// Sub-fingerprints per paragraph (`bands`, 0 turns them off) and
    /// min-hash values per sub-fingerprint (`rows`): at most 256 bands of
    /// 1 to 16 rows. Default 30 × 4. See [`cluster`].
    pub fn bands(&mut self, bands: usize, rows: usize) -> &mut DedupBuilder {
        self.config.bands = bands;
        self.config.rows = rows;
        self
    }

    /// The word-set Jaccard similarity a candidate must reach against
    /// the cluster's representative to join it (0 to 1, default 0.55).
    pub fn min_similarity(&mut self, s: f64) -> &mut DedupBuilder {
        self.config.min_similarity = s;
        self
    }

    /// A candidate also joins when this share of the smaller word set is
    /// in the other (a copy that lost or gained a sentence) and their
    /// Jaccard is at least [`cluster::CONTAINMENT_MIN_JACCARD`] (0 to 1,
    /// default 0.8; above 1 turns it off).
    pub fn min_containment(&mut self, c: f64) -> &mut DedupBuilder {
        self.config.min_containment = c;
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
        let mut c = self.config.clone();
        let range = |setting, value: String, allowed| {
            Err(BuildError::OutOfRange { setting, value, allowed })
        };
        if c.max_distance > 16 {
            return range(
                "max_distance",
                c.max_distance.to_string(),
                "0 to 16 bits",
            );
        }
        if c.blocks == 0 {
            c.blocks = index::default_blocks(c.max_distance);
        }
        if c.blocks <= c.max_distance || c.blocks > 64 {
            return range(
                "blocks",
                c.blocks.to_string(),
                "more than the distance, at most 64",
            );
        }
        if c.bands > 256 || (c.bands > 0 && !(1..=16).contains(&c.rows)) {
            return range(
                "bands",
                format!("{} x {}", c.bands, c.rows),
                "1 to 256 bands of 1 to 16 rows",
            );
        }
        if !(0.0..=1.0).contains(&c.min_similarity) {
            return range(
                "min_similarity",
                c.min_similarity.to_string(),
                "0 to 1",
            );
        }
        if c.min_containment.is_nan() || c.min_containment < 0.0 {
            return range(
                "min_containment",
                c.min_containment.to_string(),
                "0 or more",
            );
        }
        Ok(Deduper { config: c })
    }
}

/// One paragraph handed to [`Deduper::cluster`].
#[derive(Clone, Debug, PartialEq)]
pub struct Paragraph {
    /// Index of its document in input order.
    pub doc: usize,
    /// 1-based line on which it starts.
    pub line: u32,
    /// 1-based line on which it ends (the same for one-line paragraphs).
    pub last_line: u32,
    /// Interned source id of its document.
    pub source: u32,
    /// Its length in bytes.
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
        self.fingerprint_lines(&[text])
    }

    /// The fingerprint of a paragraph given as its lines (joined by a
    /// space), without joining them.
    pub fn fingerprint_lines<S: AsRef<str>>(
        &self,
        lines: &[S],
    ) -> Option<Fingerprint> {
        if !self.long_enough(lines) {
            return None;
        }
        simhash::fingerprint(lines.iter().map(AsRef::as_ref))
    }

    /// [`Deduper::fingerprint_lines`] with the word set's keys appended
    /// to `keys`, a buffer the sets of many paragraphs share.
    pub(crate) fn fingerprint_lines_appending<S: AsRef<str>>(
        &self,
        lines: &[S],
        keys: &mut Vec<u16>,
    ) -> Option<simhash::PendingFingerprint> {
        if !self.long_enough(lines) {
            return None;
        }
        simhash::fingerprint_appending(lines.iter().map(AsRef::as_ref), keys)
    }

    /// Whether a paragraph has the characters to be matched at all.
    fn long_enough<S: AsRef<str>>(&self, lines: &[S]) -> bool {
        let min = self.config.min_exact_chars;
        let mut chars = 0;
        for l in lines {
            let l = l.as_ref();
            // Bytes bound chars from above: count only when it matters.
            chars += if l.len() < min.saturating_sub(chars) * 4 {
                l.trim().chars().count()
            } else {
                l.len()
            };
            if chars >= min {
                break;
            }
        }
        chars >= min
    }

    /// Clusters paragraphs (given in input order). Every pair that joins
    /// a cluster was checked: its word sets reach the threshold against
    /// the cluster's representative, the earliest paragraph of the
    /// cluster in input order, so clusters cannot grow into chains.
    pub fn cluster(&self, paragraphs: &[Paragraph]) -> Vec<Cluster> {
        self.cluster_with(paragraphs, 0, &[]).clusters
    }
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
    fn heavy_edits_are_found_and_members_match_the_representative() {
        let d = Deduper::default();
        let base = "Officials in the northern province said on Monday that \
                    the new bridge over the river would open to traffic in \
                    the spring after years of delays caused by flooding and \
                    a dispute over the contract with the builder.";
        // ~15% of the words changed and a sentence appended.
        let heavy = "Officials in the northern region said on Tuesday that \
                     the new bridge across the river would open to cars in \
                     the spring after years of delays caused by floods and \
                     a dispute over the contract with the builder. Local \
                     shops expect more visitors.";
        let other = "Officials in the northern province said on Monday that \
                     schools would close for a week because of the flu.";
        let ps =
            vec![para(&d, 0, base), para(&d, 1, heavy), para(&d, 2, other)];
        let clusters = d.cluster(&ps);
        assert_eq!(clusters.len(), 1, "{clusters:?}");
        let ids: Vec<_> =
            clusters[0].members.iter().map(|m| m.paragraph).collect();
        assert_eq!(ids, [0, 1]);
        assert!(clusters[0].members[1].distance > 3, "beyond simhash reach");
    }

    #[test]
    fn exact_copies_follow_their_first_occurrence() {
        let d = Deduper::default();
        let a = "Short but real paragraph with enough words to count here.";
        let ps = vec![
            para(&d, 0, a),
            para(&d, 1, a),
            para(&d, 2, &a.to_uppercase()),
        ];
        let clusters = d.cluster(&ps);
        assert_eq!(clusters.len(), 1);
        assert_eq!(clusters[0].members.len(), 3);
    }

    #[test]
    fn settings_are_validated() {
        assert!(DedupBuilder::new().max_distance(17).build().is_err());
        assert!(DedupBuilder::new()
            .max_distance(3)
            .blocks(3)
            .build()
            .is_err());
        assert!(DedupBuilder::new().bands(300, 3).build().is_err());
        assert!(DedupBuilder::new().min_similarity(1.5).build().is_err());
        assert!(DedupBuilder::new().bands(0, 0).build().is_ok());
    }
}
