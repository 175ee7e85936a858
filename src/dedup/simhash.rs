//! Words, word hashes and the 64-bit simhash of a paragraph.
//!
//! Why not the `simhash` crate on the hot path: it hashes raw tokens (so
//! case and punctuation count), counts repeated words (so stopwords
//! dominate), picks SipHash or FNV through a cargo feature (so
//! fingerprints could change between builds), and adds ±1 per bit per
//! feature in a 64-iteration loop. Here a paragraph's features are the
//! *set* of its normalised words, hashed with xxh3 under a fixed seed, so a
//! fingerprint never changes between runs, machines or versions (a saved
//! `--index` depends on that; `golden_values` pins them), and the bit votes
//! are counted eight lanes at a time (see [`simhash`]).
//!
//! Everything in this file is part of the index file format: changing a
//! seed, the normalisation or a mixer changes fingerprints and needs a new
//! index version.

use std::sync::Arc;
use unicode_normalization::UnicodeNormalization;

/// Seed of the word hash (xxh3). Part of the index format.
pub(crate) const WORD_SEED: u64 = 0x5eed_c4af_f000_0001;

/// A paragraph's fingerprint: what the index and the check need.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fingerprint {
    /// 64-bit simhash over the set of normalised words.
    pub simhash: u64,
    /// Order-sensitive hash of the normalised word sequence, for exact
    /// matches (equal for texts that differ only in case, punctuation
    /// and spacing).
    pub exact: u64,
    /// The set of normalised words the Jaccard/containment check runs on.
    pub words: WordSet,
}

/// Bits of a word hash kept in a [`WordSet`].
pub const WORD_BITS: u32 = 16;

/// The key of a word in a [`WordSet`]: the low [`WORD_BITS`] bits of its
/// hash.
#[inline]
pub(crate) fn word_key(hash: u64) -> u32 {
    u32::from(hash as u16)
}

/// A paragraph's words as sorted, distinct 16-bit hashes.
///
/// Why 16 bits and not 32: the word sets are most of the memory of
/// near-duplicate detection (a 73-word paragraph has 292 bytes of 32-bit
/// hashes and 56 of everything else; 2 GB of text has ~3.5 million such
/// paragraphs), and 16 bits change no decision of the check on
/// paragraphs of ordinary length. Of `n` distinct words, about `n² /
/// 2^17` share a key with another (0.04 of a word at 73 words, 8 at
/// 1,000: the set counts that many words fewer), and two unrelated sets
/// of `n` words share about `n² / 2^16` spurious keys (0.08 of a word at
/// 73 words; 15, or +0.008 Jaccard, at 1,000). Measured on the
/// planted-edit sets (20, 100 and 200 MB): the same precision and recall
/// as with 32 bits, within ±0.005 heavy recall.
///
/// The keys live in a shared, immutable allocation: a set made alone owns
/// one, and [`WordSet::share_storage`] moves many sets into a single one,
/// so that millions of sets kept for the whole run neither pay the
/// allocator's per-allocation overhead nor pin pages of the short-lived
/// allocations they were made among.
#[derive(Clone)]
pub struct WordSet {
    // A thin pointer (8 bytes, not 16): a set is in every paragraph.
    storage: Arc<Box<[u16]>>,
    start: u32,
    len: u32,
}

impl Default for WordSet {
    fn default() -> WordSet {
        WordSet { storage: Arc::new(Box::default()), start: 0, len: 0 }
    }
}

impl PartialEq for WordSet {
    fn eq(&self, other: &WordSet) -> bool {
        self.keys() == other.keys()
    }
}

impl Eq for WordSet {}

impl WordSet {
    /// Packs keys that are sorted, distinct and below `2^WORD_BITS`.
    pub fn from_sorted(keys: impl IntoIterator<Item = u32>) -> WordSet {
        let keys: Vec<u16> = keys
            .into_iter()
            .map(|k| u16::try_from(k).expect("a key has 16 bits"))
            .collect();
        assert!(keys.is_sorted_by(|a, b| a < b), "keys sorted, distinct");
        let len = u32::try_from(keys.len()).expect("fewer than 2^32 words");
        WordSet { storage: Arc::new(keys.into_boxed_slice()), start: 0, len }
    }

    /// Moves the keys of all `sets` into one new allocation that they
    /// share (made by the calling thread), freeing what each held alone.
    pub fn share_storage(sets: &mut [&mut WordSet]) {
        let total: usize = sets.iter().map(|s| s.len()).sum();
        let mut all: Vec<u16> = Vec::with_capacity(total);
        for set in sets.iter() {
            all.extend_from_slice(set.keys());
        }
        let storage = Arc::new(all.into_boxed_slice());
        let mut start = 0u32;
        for set in sets.iter_mut() {
            set.storage = Arc::clone(&storage);
            set.start = start;
            start += set.len;
        }
    }

    /// The number of words.
    #[inline]
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether there are no words.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The keys in ascending order.
    #[inline]
    pub fn keys(&self) -> &[u16] {
        let start = self.start as usize;
        &self.storage[start..start + self.len as usize]
    }

    /// The keys in ascending order, widened.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = u32> + '_ {
        self.keys().iter().map(|&k| u32::from(k))
    }
}

impl std::fmt::Debug for WordSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Fingerprints the text of one paragraph given as pieces (its lines;
/// a piece boundary is a word boundary). `None` when it has no words.
pub(crate) fn fingerprint<'a>(
    pieces: impl IntoIterator<Item = &'a str>,
) -> Option<Fingerprint> {
    thread_local! {
        // Reused across paragraphs: no allocation but the result's.
        static HASHES: std::cell::RefCell<Vec<u64>> =
            const { std::cell::RefCell::new(Vec::new()) };
    }
    HASHES.with_borrow_mut(|hashes| fingerprint_into(pieces, hashes))
}

fn fingerprint_into<'a>(
    pieces: impl IntoIterator<Item = &'a str>,
    hashes: &mut Vec<u64>,
) -> Option<Fingerprint> {
    hashes.clear();
    let mut exact = 0x243f_6a88_85a3_08d3u64;
    for piece in pieces {
        for_each_word(piece, |w| {
            let h = word_hash(w);
            exact = mix64(exact ^ h);
            hashes.push(h);
        });
    }
    if hashes.is_empty() {
        return None;
    }
    // One sort, by the bits the check keeps: words equal there are one
    // word (see [`WordSet`]).
    hashes.sort_unstable_by_key(|&h| word_key(h));
    hashes.dedup_by_key(|h| word_key(*h));
    let simhash = simhash(hashes);
    let words = WordSet::from_sorted(hashes.iter().map(|&h| word_key(h)));
    Some(Fingerprint { simhash, exact, words })
}

/// The fixed-seed hash of a normalised word.
#[inline]
pub(crate) fn word_hash(word: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64_with_seed(word.as_bytes(), WORD_SEED)
}

/// A bijective 64-bit mixer (the splitmix64 / Murmur3 finaliser).
#[inline]
pub(crate) fn mix64(mut x: u64) -> u64 {
    x ^= x >> 30;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ x >> 31
}

/// Calls `f` with each normalised word: NFKC, lowercased, letters and
/// digits only; each CJK character is a word of its own.
///
/// The hot path: runs of ASCII letters and digits are lowercased without
/// normalisation (NFKC leaves ASCII alone), and so are runs whose other
/// characters are all Latin-1 or basic Cyrillic letters and general
/// punctuation (see `simple_words`); only the rest go through NFKC.
/// Runs are cut at ASCII punctuation and spaces, which NFKC never joins
/// to a neighbour.
pub fn for_each_word(text: &str, mut f: impl FnMut(&str)) {
    let bytes = text.as_bytes();
    let mut lower = String::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b < 0x80 && !b.is_ascii_alphanumeric() {
            i += 1;
            continue;
        }
        let start = i;
        let mut ascii = true;
        let mut upper = false;
        while i < bytes.len() {
            let b = bytes[i];
            if b < 0x80 {
                if !b.is_ascii_alphanumeric() {
                    break;
                }
                upper |= b.is_ascii_uppercase();
            } else {
                ascii = false;
            }
            i += 1;
        }
        // Cut at ASCII bytes, so both ends are char boundaries.
        let run = &text[start..i];
        if !ascii {
            if !simple_words(run, &mut lower, &mut f) {
                unicode_words(run, &mut f);
            }
        } else if upper {
            lower.clear();
            lower.push_str(run);
            lower.make_ascii_lowercase();
            f(&lower);
        } else {
            f(run);
        }
    }
}

/// How [`simple_words`] treats a non-ASCII character: `Some(Some(c))`
/// a letter whose lowercase form is `c`, `Some(None)` a separator, `None`
/// one it does not know.
///
/// Only characters whose normalised form is certain without looking at
/// their neighbours: Latin-1 and basic Cyrillic letters (starters that
/// NFKC leaves alone, one lowercase character each) and general
/// punctuation (quotes, dashes, spaces: NFKC maps none to a letter or
/// digit). A run with anything else, a combining mark above all, takes
/// the NFKC path.
#[inline]
fn simple_char(c: char) -> Option<Option<char>> {
    let lower = match c as u32 {
        0xc0..=0xde if c != '×' => c as u32 + 0x20,
        0xdf..=0xff if c != '÷' => c as u32,
        0x400..=0x40f => c as u32 + 0x50,
        0x410..=0x42f => c as u32 + 0x20,
        0x430..=0x45f => c as u32,
        0x2000..=0x206f => return Some(None),
        _ => return None,
    };
    Some(char::from_u32(lower))
}

/// The words of a run (ASCII letters and digits and non-ASCII text) when
/// all its non-ASCII characters are [`simple_char`]s: the words NFKC and
/// [`unicode_words`] would give, without the normalisation tables (most
/// non-ASCII text in news is curly quotes, dashes and a few accented or
/// Cyrillic words). Returns `false`, having called nothing, otherwise.
fn simple_words(
    run: &str,
    word: &mut String,
    f: &mut impl FnMut(&str),
) -> bool {
    if !run.chars().all(|c| c.is_ascii() || simple_char(c).is_some()) {
        return false;
    }
    word.clear();
    for c in run.chars() {
        let lower = if c.is_ascii() {
            Some(c.to_ascii_lowercase())
        } else {
            simple_char(c).flatten()
        };
        match lower {
            Some(l) => word.push(l),
            None if !word.is_empty() => {
                f(word);
                word.clear();
            }
            None => {}
        }
    }
    if !word.is_empty() {
        f(word);
    }
    true
}

/// Han and kana: scripts written without spaces between words. (Hangul
/// is written with spaces, so its words are ordinary words.)
fn unspaced(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30ff | 0x3400..=0x4dbf | 0x4e00..=0x9fff | 0xf900..=0xfaff)
}

/// Seed of the boundaries in unspaced text. Part of the index format.
const CHUNK_SEED: u64 = 0xc4_0c4e_0000_0003;

/// Whether an unspaced-script chunk ends after `c`: about one character
/// in eight, chosen by the character itself, so the cuts move with the
/// text (an edit changes one or two chunks, not all that follow) and a
/// run of Han or kana weighs about as much per byte as spaced text (a
/// chunk is ~24 UTF-8 bytes, a few words). One feature per character
/// would let a long Japanese passage outvote the rest of a mixed
/// paragraph: on the planted-edit sets nearly all false clusters came
/// from that (precision 0.93 with one character a feature, 0.98 with
/// chunks of ~4, 0.999 with chunks of ~8). The price: Han/kana paragraphs
/// under ~64 characters have fewer than `min_words` features and are
/// matched only exactly.
fn ends_chunk(c: char) -> bool {
    mix64(c as u64 ^ CHUNK_SEED) & 7 == 0
}

/// The general path of [`for_each_word`] for a run with non-ASCII text.
fn unicode_words(run: &str, f: &mut impl FnMut(&str)) {
    let mut word = String::new();
    // Whether `word` holds unspaced-script characters.
    let mut chunk = false;
    // Most non-ASCII text is already in NFKC (a quick table check says
    // so for sure); only the rest pays for normalising.
    let normal = matches!(
        unicode_normalization::is_nfkc_quick(run.chars()),
        unicode_normalization::IsNormalized::Yes
    );
    let mut nfkc;
    let mut plain;
    let chars: &mut dyn Iterator<Item = char> = if normal {
        plain = run.chars();
        &mut plain
    } else {
        nfkc = run.nfkc();
        &mut nfkc
    };
    for c in chars {
        if !c.is_alphanumeric() {
            if !word.is_empty() {
                f(&word);
                word.clear();
            }
            continue;
        }
        let u = unspaced(c);
        if u != chunk && !word.is_empty() {
            f(&word);
            word.clear();
        }
        chunk = u;
        if u {
            word.push(c);
            if ends_chunk(c) {
                f(&word);
                word.clear();
            }
        } else if c.is_ascii() {
            word.push(c.to_ascii_lowercase());
        } else {
            word.extend(c.to_lowercase());
        }
    }
    if !word.is_empty() {
        f(&word);
    }
}

/// `SPREAD[b]` has byte `i` set to bit `i` of `b`.
const SPREAD: [u64; 256] = {
    let mut t = [0u64; 256];
    let mut b = 0;
    while b < 256 {
        let mut i = 0;
        while i < 8 {
            if b >> i & 1 == 1 {
                t[b] |= 1 << (8 * i);
            }
            i += 1;
        }
        b += 1;
    }
    t
};

/// Simhash of a set of feature hashes: bit `i` is set when more than half
/// of the features have bit `i` set (the sign of the ±1 vote).
///
/// The votes are counted with one table look-up and one add per feature
/// byte: eight byte-wide counters sit in each `u64` lane and are flushed
/// before they can overflow (every 255 features). This is what makes
/// fingerprinting run at hundreds of MB/s rather than tens.
pub fn simhash(features: &[u64]) -> u64 {
    let mut counts = [0u32; 64];
    for chunk in features.chunks(255) {
        let mut lanes = [0u64; 8];
        for &h in chunk {
            for (p, lane) in lanes.iter_mut().enumerate() {
                *lane += SPREAD[(h >> (8 * p)) as usize & 0xff];
            }
        }
        for (p, lane) in lanes.iter().enumerate() {
            for i in 0..8 {
                counts[8 * p + i] += (lane >> (8 * i)) as u32 & 0xff;
            }
        }
    }
    let n = features.len() as u32;
    counts.iter().enumerate().fold(0u64, |acc, (bit, &c)| {
        if 2 * c > n {
            acc | 1 << bit
        } else {
            acc
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_storage_keeps_every_set() {
        let alone = [
            WordSet::from_sorted([1, 5, 9]),
            WordSet::default(),
            WordSet::from_sorted([0, 65_535]),
            WordSet::from_sorted([7]),
        ];
        let mut shared = alone.clone();
        let mut refs: Vec<&mut WordSet> = shared.iter_mut().collect();
        WordSet::share_storage(&mut refs);
        assert_eq!(shared, alone);
        assert_eq!(shared[2].keys(), &[0, 65_535]);
        assert!(shared[1].is_empty());
        assert!(Arc::ptr_eq(&shared[0].storage, &shared[3].storage));
    }

    /// The plain ±1 vote, to check the lane-counting version against.
    fn simhash_plain(features: &[u64]) -> u64 {
        let mut counts = [0i32; 64];
        for &h in features {
            for (bit, count) in counts.iter_mut().enumerate() {
                *count += if h >> bit & 1 == 1 { 1 } else { -1 };
            }
        }
        counts.iter().enumerate().fold(0, |acc, (bit, &c)| {
            if c > 0 {
                acc | 1 << bit
            } else {
                acc
            }
        })
    }

    #[test]
    fn lane_counting_equals_the_plain_vote() {
        let mut x = 1u64;
        for n in [0usize, 1, 2, 7, 254, 255, 256, 600] {
            let f: Vec<u64> = (0..n)
                .map(|_| {
                    x = mix64(x);
                    x
                })
                .collect();
            assert_eq!(simhash(&f), simhash_plain(&f), "n = {n}");
        }
    }

    #[test]
    fn words_are_normalised() {
        let mut w = Vec::new();
        for_each_word(
            "Hello, WORLD! ｆｕｌｌ Cafe\u{301} don’t ﬁne 한국어 문장",
            |x| w.push(x.to_string()),
        );
        assert_eq!(
            w,
            [
                "hello",
                "world",
                "full",
                "café",
                "don",
                "t",
                "fine",
                "한국어",
                "문장"
            ]
        );
        // Han and kana runs are cut into chunks that follow the text.
        let mut a = Vec::new();
        for_each_word(
            "先日、不正に改造したiPhoneを販売したとして",
            |x| a.push(x.to_string()),
        );
        assert_eq!(a.concat(), "先日不正に改造したiphoneを販売したとして");
        assert!(a.len() >= 2 && a.len() <= 12, "{a:?}");
        let mut b = Vec::new();
        for_each_word(
            "報道によると、先日、不正に改造したiPhoneを販売したとして",
            |x| b.push(x.to_string()),
        );
        assert!(b.ends_with(&a[1..]), "{a:?} {b:?}");
    }

    #[test]
    fn simple_runs_give_the_words_of_the_nfkc_path() {
        // Characters of every kind near the simple ones' edges.
        let alphabet: Vec<char> = "aZ09 ,.-'_"
            .chars()
            .chain((0xa0..=0x17f).filter_map(char::from_u32))
            .chain((0x3f0..=0x48f).filter_map(char::from_u32))
            .chain((0x1ff0..=0x2080).filter_map(char::from_u32))
            .chain("\u{300}\u{306}\u{345}ǅﬁ한文".chars())
            .collect();
        let mut x = 11u64;
        for _ in 0..20_000 {
            x = mix64(x);
            let len = 1 + x as usize % 12;
            let run: String = (0..len)
                .map(|k| {
                    let r = mix64(x ^ k as u64) as usize;
                    // Mostly simple characters, as in real text.
                    if r.is_multiple_of(4) {
                        alphabet[r / 4 % alphabet.len()]
                    } else {
                        "aBcЖжЀѐÉéßÿ’“–\u{2002}"
                            .chars()
                            .nth(r / 4 % 15)
                            .unwrap()
                    }
                })
                .collect();
            let (mut fast, mut slow) = (Vec::new(), Vec::new());
            for_each_word(&run, |w| fast.push(w.to_string()));
            // The NFKC path alone, on the pieces between ASCII separators.
            for piece in
                run.split(|c: char| c.is_ascii() && !c.is_ascii_alphanumeric())
            {
                unicode_words(piece, &mut |w: &str| slow.push(w.to_string()));
            }
            assert_eq!(fast, slow, "{run:?}");
        }
    }

    #[test]
    fn case_punctuation_and_repeats_do_not_matter() {
        let a = fingerprint(["A stable fingerprint for ever and ever"]);
        let b = fingerprint(["a STABLE fingerprint, for ever and", "ever."]);
        assert_eq!(a, b);
        let c =
            fingerprint(["ever and ever: a stable fingerprint for"]).unwrap();
        assert_eq!(a.unwrap().simhash, c.simhash, "the set, not the counts");
    }

    #[test]
    fn golden_values() {
        // A saved index depends on these values never changing.
        let fp = fingerprint(["A stable fingerprint for ever and ever"])
            .expect("has words");
        assert_eq!(
            (fp.simhash, fp.exact, fp.words.len()),
            (0x0144_8127_09e5_c4e6, 0x477b_b30a_20c7_f0ab, 6),
            "simhash {:#018x} exact {:#018x}",
            fp.simhash,
            fp.exact
        );
        assert_eq!(word_hash("stable"), 0x9b6c_817f_d3da_f8e6);
    }

    #[test]
    fn similar_to_the_reference_crate() {
        // The `simhash` crate (case-sensitive, counts repeats, its own
        // hasher) cannot give the same bits; what must agree is the
        // behaviour: a one-word edit of a long paragraph stays close,
        // unrelated text lands about half the bits away, in both.
        let a = "the minister said on tuesday that talks between the two \
                 countries on the disputed islands would resume next month \
                 in tokyo after a pause of almost two years";
        let b = a.replace("tuesday", "monday");
        let c = "heavy rain flooded several villages in the north of the \
                 region overnight and rescue teams evacuated hundreds of \
                 residents to schools and sports halls";
        let ours = |t: &str| fingerprint([t]).expect("words").simhash;
        let near = (ours(a) ^ ours(&b)).count_ones();
        let far = (ours(a) ^ ours(c)).count_ones();
        let r_near = simhash::hamming_distance(
            simhash::simhash(a),
            simhash::simhash(&b),
        );
        let r_far = simhash::hamming_distance(
            simhash::simhash(a),
            simhash::simhash(c),
        );
        assert!(near <= 8 && r_near <= 12, "{near} {r_near}");
        assert!(far >= 16 && r_far >= 16, "{far} {r_far}");
    }
}
