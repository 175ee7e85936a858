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
//! are counted for all 64 bits at once (see [`simhash`]).
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

    /// Copies keys that are sorted and distinct.
    pub(crate) fn from_sorted_keys(keys: &[u16]) -> WordSet {
        debug_assert!(
            keys.is_sorted_by(|a, b| a < b),
            "keys sorted, distinct"
        );
        let len = u32::try_from(keys.len()).expect("fewer than 2^32 words");
        WordSet { storage: Arc::new(keys.into()), start: 0, len }
    }

    /// A shared allocation of `keys`, keys appended to one buffer (see
    /// [`PendingFingerprint::with_words`]).
    pub(crate) fn storage_of(keys: &[u16]) -> Arc<Box<[u16]>> {
        Arc::new(keys.into())
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

thread_local! {
    // Reused across paragraphs: no allocation but the result's.
    static SCRATCH: std::cell::RefCell<Scratch> =
        std::cell::RefCell::default();
}

/// Fingerprints the text of one paragraph given as pieces (its lines;
/// a piece boundary is a word boundary). `None` when it has no words.
pub(crate) fn fingerprint<'a>(
    pieces: impl IntoIterator<Item = &'a str>,
) -> Option<Fingerprint> {
    SCRATCH.with_borrow_mut(|scratch| {
        let mut keys = std::mem::take(&mut scratch.keys);
        keys.clear();
        let found = fingerprint_into(pieces, scratch, &mut keys);
        let fingerprint = found.map(|pending| Fingerprint {
            simhash: pending.simhash,
            exact: pending.exact,
            words: WordSet::from_sorted_keys(&keys),
        });
        scratch.keys = keys;
        fingerprint
    })
}

/// Calls `f` with an empty buffer for [`fingerprint_appending`], kept
/// by the thread (so it does not grow again for every document).
pub(crate) fn with_key_buffer<R>(f: impl FnOnce(&mut Vec<u16>) -> R) -> R {
    thread_local! {
        static KEYS: std::cell::RefCell<Vec<u16>> =
            std::cell::RefCell::default();
    }
    KEYS.with_borrow_mut(|keys| {
        keys.clear();
        let result = f(keys);
        // A huge document's buffer is not kept for the thread's life.
        if keys.capacity() > 1 << 20 {
            *keys = Vec::new();
        }
        result
    })
}

/// [`fingerprint`], with the word set's keys appended to `keys` rather
/// than put in an allocation of their own: a document's paragraphs put
/// theirs in one buffer, and [`PendingFingerprint::with_words`] makes
/// their sets share it (two allocations a document, not two a
/// paragraph).
pub(crate) fn fingerprint_appending<'a>(
    pieces: impl IntoIterator<Item = &'a str>,
    keys: &mut Vec<u16>,
) -> Option<PendingFingerprint> {
    SCRATCH.with_borrow_mut(|scratch| fingerprint_into(pieces, scratch, keys))
}

/// A fingerprint whose word set is still a stretch of a key buffer.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PendingFingerprint {
    simhash: u64,
    exact: u64,
    start: u32,
    len: u32,
}

impl PendingFingerprint {
    /// The fingerprint, its words in `storage`: the buffer the keys were
    /// appended to (see [`WordSet::storage_of`]).
    pub(crate) fn with_words(&self, storage: &Arc<Box<[u16]>>) -> Fingerprint {
        debug_assert!(
            self.start as usize + self.len as usize <= storage.len()
        );
        let words = WordSet {
            storage: Arc::clone(storage),
            start: self.start,
            len: self.len,
        };
        Fingerprint { simhash: self.simhash, exact: self.exact, words }
    }
}

/// What fingerprinting needs besides its result, kept between paragraphs.
#[derive(Default)]
struct Scratch {
    words: Words,
    /// Every word's hash, in text order.
    hashes: Vec<u64>,
    distinct: DistinctKeys,
    /// The first hash of each distinct key, in the order the words came
    /// (the simhash of a set does not depend on its order).
    firsts: Vec<u64>,
    keys: Vec<u16>,
}

/// Fingerprints `pieces`, appending the word set's keys to `keys`.
fn fingerprint_into<'a>(
    pieces: impl IntoIterator<Item = &'a str>,
    scratch: &mut Scratch,
    keys: &mut Vec<u16>,
) -> Option<PendingFingerprint> {
    let Scratch { words, hashes, distinct, firsts, keys: _ } = scratch;
    hashes.clear();
    let mut hashing = Hashing { exact: 0x243f_6a88_85a3_08d3, hashes };
    for piece in pieces {
        words.for_each(piece, &mut hashing);
    }
    let Hashing { exact, hashes } = hashing;
    if hashes.is_empty() {
        return None;
    }
    let start = keys.len();
    let simhash = if distinct.collect(hashes, firsts, keys) {
        simhash(firsts)
    } else {
        // Two different words share a key: which of them the set keeps
        // (and the simhash counts) is whichever this sort puts first, so
        // only this sort gives the fingerprints of earlier versions.
        hashes.sort_unstable_by_key(|&h| word_key(h));
        hashes.dedup_by_key(|h| word_key(*h));
        keys.truncate(start);
        keys.extend(hashes.iter().map(|&h| h as u16));
        simhash(hashes)
    };
    let len = u32::try_from(keys.len() - start).expect("2^16 keys at most");
    let start = u32::try_from(start).expect("fewer than 2^32 keys a buffer");
    Some(PendingFingerprint { simhash, exact, start, len })
}

/// The fixed-seed hash of a normalised word.
#[inline]
pub(crate) fn word_hash(word: &str) -> u64 {
    word_hash_bytes(word.as_bytes())
}

#[inline(always)]
fn word_hash_bytes(word: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64_with_seed(word, WORD_SEED)
}

/// What [`Words::for_each`] hands each word to.
trait WordSink {
    /// One normalised word, as UTF-8.
    fn word(&mut self, word: &[u8]);
}

/// Hashes a paragraph's words: a trait method rather than a closure so
/// that it can be inlined into the tokeniser's loop, which calls it from
/// more than one place.
struct Hashing<'a> {
    /// Order-sensitive hash of the words so far.
    exact: u64,
    hashes: &'a mut Vec<u64>,
}

impl WordSink for Hashing<'_> {
    #[inline(always)]
    fn word(&mut self, word: &[u8]) {
        let h = word_hash_bytes(word);
        self.exact = mix64(self.exact ^ h);
        self.hashes.push(h);
    }
}

/// Hands words on as `&str`.
struct StrSink<F>(F);

impl<F: FnMut(&str)> WordSink for StrSink<F> {
    fn word(&mut self, word: &[u8]) {
        (self.0)(std::str::from_utf8(word).expect("cut at char boundaries"));
    }
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

/// The distinct keys of a paragraph's word hashes, found without sorting
/// the hashes: a bit per possible key, read back in order, and the first
/// hash seen with each key (to tell a repeated word from a different word
/// with the same key).
struct DistinctKeys {
    /// Bit `k` set for each key `k` seen; cleared as it is read.
    seen: Box<[u64; 1 << 10]>,
    /// Bit `i` set when `seen[i]` is not zero.
    seen_words: [u64; 16],
    /// Where in the paragraph's distinct hashes the first hash with key
    /// `k` is, when bit `k` of `seen` is set: 128 KB a thread, never
    /// cleared. (The hashes themselves, 512 KB by key, missed the cache
    /// on most words; a small probing table, sized to the paragraph,
    /// measured slower: its probe loop mispredicts.)
    slot: Box<[u16; 1 << 16]>,
}

impl Default for DistinctKeys {
    fn default() -> DistinctKeys {
        DistinctKeys {
            seen: Box::new([0; 1 << 10]),
            seen_words: [0; 16],
            slot: vec![0; 1 << 16].try_into().expect("2^16 long"),
        }
    }
}

impl DistinctKeys {
    /// Appends the distinct keys, ascending, to `keys` and puts the first
    /// hash with each into `firsts`, in the order the words came. Returns
    /// `false` (what was appended and `firsts` then meaningless) when two
    /// different hashes share a key.
    fn collect(
        &mut self,
        hashes: &[u64],
        firsts: &mut Vec<u64>,
        keys: &mut Vec<u16>,
    ) -> bool {
        // There are no more keys than hashes, nor than 2^16; one slot
        // more takes the write of a word that is not new.
        let most = hashes.len().min(1 << 16);
        firsts.clear();
        firsts.resize(most + 1, 0);
        let mut unique = true;
        let mut distinct = 0usize;
        // Branch-free: whether a word is new is a coin toss to the CPU.
        for &h in hashes {
            let k = usize::from(h as u16);
            let bit = 1u64 << (k & 63);
            let word = &mut self.seen[k >> 6];
            let new = *word & bit == 0;
            *word |= bit;
            self.seen_words[k >> 12] |= 1 << (k >> 6 & 63);
            // A new key's slot is the next one (below 2^16: there are no
            // more new keys than keys).
            let at = std::hint::select_unpredictable(
                new,
                distinct as u16,
                self.slot[k],
            );
            self.slot[k] = at;
            debug_assert!(distinct <= most && usize::from(at) <= distinct);
            // SAFETY: `distinct` counts the new keys before this word, at
            // most one a hash and 2^16 in all, and is at most `most`, the
            // room's last index; `at` is `distinct` or a slot of an earlier
            // new key, below it. Checked indexes were a tenth of the loop.
            unsafe {
                *firsts.get_unchecked_mut(distinct) = h;
                distinct += usize::from(new);
                unique &= *firsts.get_unchecked(usize::from(at)) == h;
            }
        }
        firsts.truncate(distinct);
        // Written in place, not pushed (no capacity check a key).
        let base = keys.len();
        keys.resize(base + distinct, 0);
        let mut slots = keys[base..].iter_mut();
        for (block, summary) in self.seen_words.iter_mut().enumerate() {
            let mut nonzero = std::mem::take(summary);
            while nonzero != 0 {
                let w = block << 6 | nonzero.trailing_zeros() as usize;
                nonzero &= nonzero - 1;
                let mut bits = std::mem::take(&mut self.seen[w]);
                // Tested at the end: a word the summary marks is not zero
                // (and most hold one key).
                loop {
                    let k = w << 6 | bits.trailing_zeros() as usize;
                    bits &= bits.wrapping_sub(1);
                    if let Some(key) = slots.next() {
                        *key = k as u16;
                    }
                    if bits == 0 {
                        break;
                    }
                }
            }
        }
        debug_assert_eq!(slots.len(), 0);
        unique
    }
}

/// Calls `f` with each normalised word: NFKC, lowercased, letters and
/// digits only; each CJK character is a word of its own.
pub fn for_each_word(text: &str, f: impl FnMut(&str)) {
    Words::default().for_each(text, &mut StrSink(f));
}

/// Bytes of text [`Words`] classifies at a time, so its buffers stay
/// small whatever the length of a line.
const SEGMENT: usize = 1 << 16;

/// The tokeniser behind [`for_each_word`], with its buffers.
///
/// The hot path: runs of ASCII letters and digits are lowercased without
/// normalisation (NFKC leaves ASCII alone), and so are runs whose other
/// characters are all Latin-1 or basic Cyrillic letters, Hangul
/// syllables and common punctuation (see `simple_words`); only the rest
/// go through NFKC.
/// Runs are cut at ASCII punctuation and spaces, which NFKC never joins
/// to a neighbour.
///
/// Why bit masks: a byte-at-a-time scan spends a branch on every byte and
/// mispredicts the end of every word. Here 64 bytes at a time are
/// classified and lowercased (see [`Block`]) into one bit per byte, and
/// the runs are found with `trailing_zeros`.
#[derive(Default)]
struct Words {
    /// The segment with ASCII capitals lowercased, padded to 64 bytes.
    lowered: Vec<u8>,
    /// Bit `i` set when byte `i` is in a run (an ASCII letter or digit,
    /// or non-ASCII), then a zero word.
    in_run: Vec<u64>,
    /// Bit `i` set when byte `i` is non-ASCII.
    non_ascii: Vec<u64>,
    /// The run being lowercased on the simple non-ASCII path, without
    /// its separators.
    word: Vec<u8>,
    /// Where each word of `word` ends.
    word_ends: Vec<usize>,
}

impl Words {
    /// Hands each normalised word of `text` to `sink`.
    fn for_each(&mut self, text: &str, sink: &mut impl WordSink) {
        let bytes = text.as_bytes();
        let mut start = 0;
        while start < bytes.len() {
            // End a segment at a separator (or the end): a cut there cuts
            // no run.
            let mut end = (start + SEGMENT).min(bytes.len());
            while end < bytes.len() && in_run_byte(bytes[end]) {
                end += 1;
            }
            self.segment(&text[start..end], sink);
            start = end;
        }
    }

    fn segment(&mut self, text: &str, sink: &mut impl WordSink) {
        let any_non_ascii = self.classify(text.as_bytes());
        let Words { lowered, in_run, non_ascii, word, word_ends } = self;
        // A slice, not the `Vec`: its pointer and length stay in registers
        // rather than being loaded again for every word (the sink writes
        // memory the compiler cannot tell apart from the `Vec`).
        let lowered = lowered.as_slice();
        // Word `w` of `in_run` as `bits`, with the runs handed on cleared:
        // the runs are found in one walk over the words, each start and
        // end with one `trailing_zeros`.
        let (mut w, mut bits) = (0, in_run[0]);
        // The first non-ASCII byte not before the run (`usize::MAX`: none
        // left). Non-ASCII bytes are all in runs, so a run has some when
        // this comes before its end: one comparison a run.
        let mut non_ascii_at = if any_non_ascii {
            first_set_from(non_ascii, 0)
        } else {
            usize::MAX
        };
        loop {
            while bits == 0 {
                w += 1;
                let Some(&next) = in_run.get(w) else { return };
                bits = next;
            }
            let start = w << 6 | bits.trailing_zeros() as usize;
            // Adding the run's lowest bit carries through the run: it
            // clears the run and sets the bit after it, where the run
            // ends (none when the run reaches the word's top bit). A few
            // instructions fewer a word than masking from `start`.
            let past = bits.wrapping_add(bits & bits.wrapping_neg());
            let end_bit = past & !bits;
            let end = if end_bit != 0 {
                bits &= past;
                w << 6 | end_bit.trailing_zeros() as usize
            } else {
                // The last word of `in_run` is zero: every run ends.
                let mut clear = 0;
                while clear == 0 {
                    w += 1;
                    bits = in_run[w];
                    clear = !bits;
                }
                let end = w << 6 | clear.trailing_zeros() as usize;
                bits &= !0 << (end & 63);
                end
            };
            if non_ascii_at < end {
                // Cut at ASCII bytes, so both ends are char boundaries.
                let run = &text[start..end];
                // Through `dyn`: one copy of the sink on these rarer paths.
                let f: &mut dyn FnMut(&[u8]) = &mut |w| sink.word(w);
                if !simple_words(run.as_bytes(), word, word_ends, &mut &mut *f)
                {
                    unicode_words(run, &mut |w: &str| f(w.as_bytes()));
                }
                non_ascii_at = first_set_from(non_ascii, end);
            } else {
                debug_assert!(start < end && end <= lowered.len());
                // SAFETY: bit `start` of `in_run` is set and `end` is the
                // first clear bit after it, so `start < end`; `in_run`
                // has a word for each 64 bytes of `lowered` and then a
                // zero word, so `end <= lowered.len()`. (The bounds check
                // was four instructions a word on the hottest path;
                // tested by `ascii_words_at_every_block_end`.)
                sink.word(unsafe { lowered.get_unchecked(start..end) });
            }
        }
    }

    /// Fills `lowered`, `in_run` and `non_ascii` for `bytes`; returns
    /// whether any byte is non-ASCII.
    fn classify(&mut self, bytes: &[u8]) -> bool {
        let blocks = bytes.len().div_ceil(64);
        // Sized once, then written in place: no capacity check a block.
        self.lowered.resize(blocks * 64, 0);
        self.in_run.resize(blocks + 1, 0);
        self.non_ascii.resize(blocks, 0);
        self.in_run[blocks] = 0;
        let mut any_non_ascii = 0;
        let mut padded = [0u8; 64];
        let outs = self
            .lowered
            .chunks_exact_mut(64)
            .zip(self.in_run.iter_mut().zip(self.non_ascii.iter_mut()));
        for (block, (lowered, (in_run, non_ascii))) in
            bytes.chunks(64).zip(outs)
        {
            let block: &[u8; 64] = if let Ok(whole) = block.try_into() {
                whole
            } else {
                // Zero bytes are separators (only the last block is short).
                padded[..block.len()].copy_from_slice(block);
                &padded
            };
            let c = classify_block(block);
            lowered.copy_from_slice(&c.lowered);
            *in_run = c.in_run;
            *non_ascii = c.non_ascii;
            any_non_ascii |= c.non_ascii;
        }
        any_non_ascii != 0
    }
}

/// Whether a byte belongs to a run: an ASCII letter or digit, or part of
/// a non-ASCII character.
#[inline]
fn in_run_byte(b: u8) -> bool {
    b >= 0x80 || b.is_ascii_alphanumeric()
}

/// 64 bytes classified: a bit per byte (bit `i` for byte `i`).
struct Block {
    /// The bytes with ASCII capitals lowercased.
    lowered: [u8; 64],
    in_run: u64,
    non_ascii: u64,
}

#[cfg(target_arch = "x86_64")]
use classify_block_sse2 as classify_block;

#[cfg(not(target_arch = "x86_64"))]
use classify_block_swar as classify_block;

/// [`classify_block_swar`] sixteen bytes at a time (SSE2 is part of
/// x86-64). Signed compares: bytes from 0x80 are negative, so neither
/// letters nor digits, and `movemask` reads their high bit directly.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn classify_block_sse2(bytes: &[u8; 64]) -> Block {
    use crate::sse2::{splat, within};
    use std::arch::x86_64::*;
    let mut c = Block { lowered: [0; 64], in_run: 0, non_ascii: 0 };
    for (i, (sixteen, out)) in
        bytes.chunks_exact(16).zip(c.lowered.chunks_exact_mut(16)).enumerate()
    {
        // SAFETY: every x86-64 CPU has SSE2 (the build enables it); the
        // unaligned load and store are of 16 bytes within the 16-byte
        // chunks they come from and go to.
        let (in_run, non_ascii) = unsafe {
            let x = _mm_loadu_si128(sixteen.as_ptr().cast());
            let upper = within(x, b'A', b'Z');
            let letter = within(_mm_or_si128(x, splat(0x20)), b'a', b'z');
            let digit = within(x, b'0', b'9');
            let lowered = _mm_or_si128(x, _mm_and_si128(upper, splat(0x20)));
            _mm_storeu_si128(out.as_mut_ptr().cast(), lowered);
            let in_run = _mm_or_si128(_mm_or_si128(letter, digit), x);
            (_mm_movemask_epi8(in_run), _mm_movemask_epi8(x))
        };
        c.in_run |= u64::from(in_run as u16) << (16 * i);
        c.non_ascii |= u64::from(non_ascii as u16) << (16 * i);
    }
    c
}

/// Classifies and lowercases 64 bytes eight at a time with word
/// arithmetic (see [`bytes_in`]).
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn classify_block_swar(bytes: &[u8; 64]) -> Block {
    let mut c = Block { lowered: [0; 64], in_run: 0, non_ascii: 0 };
    for (i, (eight, out)) in
        bytes.chunks_exact(8).zip(c.lowered.chunks_exact_mut(8)).enumerate()
    {
        let x = u64::from_le_bytes(eight.try_into().expect("8 bytes"));
        let ascii = x & !HIGH_BITS;
        // Non-ASCII bytes are tested on their low seven bits: mask them out.
        let upper = bytes_in(ascii, b'A', b'Z') & !x;
        let letter = bytes_in(ascii | splat(0x20), b'a', b'z');
        let digit = bytes_in(ascii, b'0', b'9');
        out.copy_from_slice(&(x | upper >> 2).to_le_bytes());
        c.in_run |=
            gather_high_bits(letter | digit | x & HIGH_BITS) << (8 * i);
        c.non_ascii |= gather_high_bits(x & HIGH_BITS) << (8 * i);
    }
    c
}

const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// `b` in every byte.
const fn splat(b: u8) -> u64 {
    b as u64 * 0x0101_0101_0101_0101
}

/// The high bit of each byte of `y` (all below 0x80) that is in
/// `lo..=hi`: adding `0x80 - lo` sets it when the byte is `lo` or more,
/// adding `0x7f - hi` when it is above `hi`; no sum carries into the next
/// byte.
#[inline(always)]
fn bytes_in(y: u64, lo: u8, hi: u8) -> u64 {
    (y + splat(0x80 - lo)) & !(y + splat(0x7f - hi)) & HIGH_BITS
}

/// The high bits of the bytes of `x` gathered into the low eight bits
/// (each partial product lands on its own bit, so nothing carries).
#[inline(always)]
fn gather_high_bits(x: u64) -> u64 {
    (x >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56
}

/// The first set bit at or after `pos` (`usize::MAX`: none).
#[inline]
fn first_set_from(bits: &[u64], pos: usize) -> usize {
    let mut w = pos >> 6;
    let Some(&first) = bits.get(w) else { return usize::MAX };
    let mut m = first & !0 << (pos & 63);
    while m == 0 {
        w += 1;
        let Some(&next) = bits.get(w) else { return usize::MAX };
        m = next;
    }
    w << 6 | m.trailing_zeros() as usize
}

/// The words of a run (ASCII letters and digits and non-ASCII text, as
/// UTF-8) when all its non-ASCII characters are simple: the words NFKC
/// and [`unicode_words`] would give, without the normalisation tables
/// (most non-ASCII text in news is curly quotes, dashes and a few
/// accented or Cyrillic words). Returns `false`, having called nothing,
/// otherwise.
///
/// Simple characters are those whose normalised form is certain without
/// looking at their neighbours: Latin-1 and basic Cyrillic letters and
/// precomposed Hangul syllables (starters that NFKC leaves alone, one
/// lowercase character each; a syllable could only combine with a
/// following jamo, which is not simple) and general punctuation (quotes,
/// dashes, spaces: NFKC maps none to a letter or digit), a separator. A
/// run with anything else, a combining mark above all, takes the NFKC
/// path.
///
/// Why bytes: each of these characters is lowercased by adjusting its
/// UTF-8 bytes, with no decoding or encoding of chars (measured: a third
/// of fingerprinting's instructions on Cyrillic text went to that).
fn simple_words(
    run: &[u8],
    word: &mut Vec<u8>,
    ends: &mut Vec<usize>,
    f: &mut impl FnMut(&[u8]),
) -> bool {
    if !run.is_empty() && is_lowercase_cyrillic(run) {
        // Its one word is the run as it is: no copy to lowercase.
        f(run);
        return true;
    }
    simple_words_copying(run, word, ends, f)
}

/// Whether a run (UTF-8) is nothing but lowercase
/// Cyrillic а..я and ASCII lowercase letters and digits: the word of most
/// runs of Russian text, which [`simple_words`] would copy unchanged. A
/// few instructions a character where the copy takes about thirty, and a
/// capitalised word fails at its first letter.
fn is_lowercase_cyrillic(run: &[u8]) -> bool {
    let mut i = 0;
    while let Some(&lead) = run.get(i) {
        if lead < 0x80 {
            // ASCII bytes in a run are letters and digits.
            if lead.is_ascii_uppercase() {
                return false;
            }
            i += 1;
            continue;
        }
        // In UTF-8 a lead byte 0xd0 or 0xd1 has one continuation byte
        // (0x80..=0xbf), so these pairs are exactly а..п (0xd0 0xb0..)
        // and р..я (0xd1 0x80..=0x8f); every other character is outside.
        let Some(&next) = run.get(i + 1) else { return false };
        if !(0xd0b0..=0xd18f).contains(&u16::from_be_bytes([lead, next])) {
            return false;
        }
        i += 2;
    }
    true
}

/// [`simple_words`] for any run: lowercased into `word`.
fn simple_words_copying(
    run: &[u8],
    word: &mut Vec<u8>,
    ends: &mut Vec<usize>,
    f: &mut impl FnMut(&[u8]),
) -> bool {
    // One pass: the whole run lowercased, where a separator was the end of
    // a word noted; nothing is handed on until the run is known to be
    // simple.
    word.clear();
    ends.clear();
    let mut i = 0;
    while let Some(&lead) = run.get(i) {
        if lead < 0x80 {
            word.push(lead.to_ascii_lowercase());
            i += 1;
            continue;
        }
        // `run` is UTF-8 cut at ASCII bytes: a lead byte has all its
        // continuation bytes.
        let next = run[i + 1];
        match lead {
            // Latin-1 punctuation and symbols that NFKC maps to no letter
            // or digit (no-break space, quotes, ©, °, the spacing accents
            // that become a space and a combining mark): separators.
            0xc2 if matches!(next,
                0xa0..=0xa9 | 0xab..=0xb1 | 0xb4 | 0xb6..=0xb8 | 0xbb | 0xbf) =>
            {
                ends.push(word.len())
            }
            // U+00C0..=U+00FF; × and ÷ are not letters.
            0xc3 if next == 0x97 || next == 0xb7 => return false,
            // À..Þ lowercase to à..þ, 0x20 on; ß..ÿ are lowercase.
            0xc3 if next <= 0x9e => {
                word.extend_from_slice(&[lead, next + 0x20])
            }
            0xc3 => word.extend_from_slice(&[lead, next]),
            // U+0400..=U+043F: Ѐ..Џ to ѐ..џ (U+0450..), А..П to а..п,
            // Р..Я to р..я (U+0440..), а..п as they are.
            0xd0 => word.extend_from_slice(&match next {
                0x80..=0x8f => [0xd1, next + 0x10],
                0x90..=0x9f => [0xd0, next + 0x20],
                0xa0..=0xaf => [0xd1, next - 0x20],
                _ => [0xd0, next],
            }),
            // U+0440..=U+045F: р..я and ѐ..џ; the rest is not simple.
            0xd1 if next <= 0x9f => word.extend_from_slice(&[lead, next]),
            // U+2000..=U+206F, general punctuation, and U+2212, the minus
            // sign: separators.
            0xe2 if next == 0x80
                || (next == 0x81 && run[i + 2] <= 0xaf)
                || (next == 0x88 && run[i + 2] == 0x92) =>
            {
                ends.push(word.len())
            }
            // Hangul syllables, U+AC00..=U+D7A3.
            0xea..=0xed => {
                let c = u32::from(lead & 0x0f) << 12
                    | u32::from(next & 0x3f) << 6
                    | u32::from(run[i + 2] & 0x3f);
                if !(0xac00..=0xd7a3).contains(&c) {
                    return false;
                }
                word.extend_from_slice(&run[i..i + 3]);
            }
            _ => return false,
        }
        i += match lead {
            ..0xe0 => 2,
            _ => 3,
        };
    }
    ends.push(word.len());
    let mut start = 0;
    for &end in ends.iter() {
        if end > start {
            f(&word[start..end]);
        }
        start = end;
    }
    true
}

/// Letters that NFKC leaves alone whatever their neighbours (quick check
/// yes, combining class 0): kana, the common Han ideographs and Hangul
/// syllables. Han, kana and Hangul text is mostly these, and a range
/// check answers for them without the normalisation and Unicode property
/// tables.
#[inline]
fn plain_letter(c: char) -> bool {
    matches!(c as u32,
        0x3041..=0x3096 | 0x30a1..=0x30fa | 0x3400..=0x4dbf | 0x4e00..=0x9fff
        | 0xac00..=0xd7a3)
}

/// Characters that NFKC leaves alone whatever their neighbours: the
/// [`plain_letter`]s, the prolonged sound mark and the ideographic comma,
/// full stop and brackets of Han and kana text.
#[inline]
fn nfkc_inert(c: char) -> bool {
    plain_letter(c)
        || matches!(c as u32, 0x3001 | 0x3002 | 0x3008..=0x3011 | 0x30fc)
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
    // so for sure, and for Han, kana and Hangul text a range check);
    // only the rest pays for normalising.
    let normal = run.chars().all(|c| c.is_ascii() || nfkc_inert(c))
        || matches!(
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
        if !(plain_letter(c) || c.is_alphanumeric()) {
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

/// One carry-save adder over 64 bit positions at once: the sum bits and
/// the carry bits of `a + b + c` in every position.
#[inline(always)]
fn carry_save(a: u64, b: u64, c: u64) -> (u64, u64) {
    let ab = a ^ b;
    (ab ^ c, (a & b) | (ab & c))
}

/// Simhash of a set of feature hashes: bit `i` is set when more than half
/// of the features have bit `i` set (the sign of the ±1 vote).
///
/// The 64 vote counts are kept bit-sliced: `planes[j]` holds bit `j` of
/// every count, so one word operation works on all 64 of them. Features
/// go in eight at a time through a tree of carry-save adders (the ones,
/// twos and fours planes absorb them, and only the eights ripple into
/// the planes above: under six word operations a feature), and the
/// counts are compared with half the features plane by plane, without
/// ever being unpacked. This is what makes fingerprinting run at
/// hundreds of MB/s rather than tens.
pub fn simhash(features: &[u64]) -> u64 {
    let n = features.len();
    // Every count is at most `n`, which fits in `width` bits: no carry
    // ever leaves the planes in use.
    let width = (usize::BITS - n.leading_zeros()) as usize;
    let mut planes = [0u64; usize::BITS as usize];
    let eights = features.chunks_exact(8);
    // The last few features made up to eight with zeros, which add
    // nothing to any count: one pass of the adder tree rather than a
    // ripple through every plane for each of them.
    let mut last = [0u64; 8];
    let rest = eights.remainder();
    last[..rest.len()].copy_from_slice(rest);
    let last = (!rest.is_empty()).then_some(&last);
    for f in eights.chain(last.map(|l| &l[..])) {
        let (ones, twos_a) = carry_save(planes[0], f[0], f[1]);
        let (ones, twos_b) = carry_save(ones, f[2], f[3]);
        let (twos, fours_a) = carry_save(planes[1], twos_a, twos_b);
        let (ones, twos_a) = carry_save(ones, f[4], f[5]);
        let (ones, twos_b) = carry_save(ones, f[6], f[7]);
        let (twos, fours_b) = carry_save(twos, twos_a, twos_b);
        let (fours, mut carry) = carry_save(planes[2], fours_a, fours_b);
        (planes[0], planes[1], planes[2]) = (ones, twos, fours);
        // (Below eight features the counts never reach the planes above
        // the fours, and `width` may be less than three.)
        for plane in &mut planes[3..width.max(3)] {
            let next = *plane & carry;
            *plane ^= carry;
            carry = next;
        }
    }
    // count > n / 2, decided from the top plane down: `above` holds the
    // counts known to be larger, `equal` those equal so far.
    let half = n >> 1;
    let (mut above, mut equal) = (0u64, !0u64);
    for (j, &plane) in planes[..width].iter().enumerate().rev() {
        if half >> j & 1 == 1 {
            equal &= plane;
        } else {
            above |= equal & plane;
            equal &= !plane;
        }
    }
    above
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
    fn bit_sliced_counting_equals_the_plain_vote() {
        let mut x = 1u64;
        // Every remainder after the eights (padded with zero features),
        // with counts of one to six bits, and some larger sets.
        let sizes = 0usize..=64;
        for n in sizes.chain([65, 254, 255, 256, 600, 4097]) {
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
            .chain((0x2200..=0x2220).filter_map(char::from_u32))
            .chain((0xabf0..=0xac10).filter_map(char::from_u32))
            .chain((0xd790..=0xd7b0).filter_map(char::from_u32))
            .chain("\u{300}\u{306}\u{345}ǅﬁ文\u{1100}\u{1161}\u{11a8}".chars())
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
                        "aBcЖжЀѐÉéßÿ’“–\u{2002}가힣"
                            .chars()
                            .nth(r / 4 % 17)
                            .unwrap()
                    }
                })
                .collect();
            assert_words_of_the_nfkc_path(&run);
        }
        // Every character of the simple blocks, between and before
        // letters, accents and combining marks.
        let every = (0xa0..0x500).chain(0x2000..0x2300).chain(0xac00..0xac10);
        for c in every.filter_map(char::from_u32) {
            for run in [
                format!("a{c}b"),
                format!("é{c}ж"),
                format!("{c}\u{301}a"),
                format!("x{c}{c}"),
            ] {
                assert_words_of_the_nfkc_path(&run);
            }
        }
    }

    #[test]
    fn lowercase_cyrillic_runs_are_their_own_word() {
        // Runs of а..я, ASCII and their neighbours (ё, Я, я's neighbours
        // in UTF-8, other two-byte letters): where the fast test passes,
        // the copying path gives the run itself; both answers are met.
        let alphabet: Vec<char> = "aZz09АПРЯапряЀЏѐџёЁ\u{44f}\u{450}éĀ’가"
            .chars()
            .chain((0x400..=0x47f).filter_map(char::from_u32))
            .collect();
        let mut x = 13u64;
        let (mut passed, mut failed) = (0, 0);
        for _ in 0..20_000 {
            x = mix64(x);
            let len = 1 + x as usize % 8;
            let run: String = (0..len)
                .map(|k| {
                    let r = mix64(x ^ k as u64) as usize;
                    if r.is_multiple_of(5) {
                        alphabet[r / 5 % alphabet.len()]
                    } else {
                        "абвгдежзийклмнопрстуфхцчшщъыьэюя7q"
                            .chars()
                            .nth(r / 5 % 34)
                            .unwrap()
                    }
                })
                .collect();
            if is_lowercase_cyrillic(run.as_bytes()) {
                passed += 1;
                let mut copied = Vec::new();
                let mut word = Vec::new();
                let mut ends = Vec::new();
                simple_words_copying(
                    run.as_bytes(),
                    &mut word,
                    &mut ends,
                    &mut |w| copied.push(w.to_vec()),
                );
                assert_eq!(copied, [run.as_bytes()], "{run:?}");
            } else {
                failed += 1;
                assert!(
                    run.chars().any(|c| !matches!(c,
                        'а'..='я' | 'a'..='z' | '0'..='9')),
                    "{run:?}"
                );
            }
            assert_words_of_the_nfkc_path(&run);
        }
        assert!(passed > 1000 && failed > 1000, "{passed} {failed}");
    }

    /// Checks that the words of `run` are those of the NFKC path alone, on
    /// the pieces between ASCII separators.
    fn assert_words_of_the_nfkc_path(run: &str) {
        let (mut fast, mut slow) = (Vec::new(), Vec::new());
        for_each_word(run, |w| fast.push(w.to_string()));
        for piece in
            run.split(|c: char| c.is_ascii() && !c.is_ascii_alphanumeric())
        {
            unicode_words(piece, &mut |w: &str| slow.push(w.to_string()));
        }
        assert_eq!(fast, slow, "{run:?}");
    }

    /// How [`simple_words_by_char`] treats a non-ASCII character:
    /// `Some(Some(c))` a letter whose lowercase form is `c`, `Some(None)`
    /// a separator, `None` one it does not know.
    fn simple_char(c: char) -> Option<Option<char>> {
        let lower = match c as u32 {
            0xc0..=0xde if c != '×' => c as u32 + 0x20,
            0xdf..=0xff if c != '÷' => c as u32,
            0x400..=0x40f => c as u32 + 0x50,
            0x410..=0x42f => c as u32 + 0x20,
            0x430..=0x45f => c as u32,
            0xac00..=0xd7a3 => c as u32,
            0xa0..=0xa9 | 0xab..=0xb1 | 0xb4 | 0xb6..=0xb8 | 0xbb | 0xbf => {
                return Some(None)
            }
            0x2000..=0x206f | 0x2212 => return Some(None),
            _ => return None,
        };
        Some(char::from_u32(lower))
    }

    /// [`simple_words`] a char at a time, as it was before it worked on
    /// bytes: the reference it must equal.
    fn simple_words_by_char(
        run: &str,
        word: &mut String,
        f: &mut impl FnMut(&str),
    ) -> bool {
        word.clear();
        for c in run.chars() {
            if c.is_ascii() {
                word.push(c.to_ascii_lowercase());
                continue;
            }
            match simple_char(c) {
                Some(Some(lower)) => word.push(lower),
                Some(None) => word.push(' '),
                None => return false,
            }
        }
        for w in word.split(' ') {
            if !w.is_empty() {
                f(w);
            }
        }
        true
    }

    #[test]
    fn inert_characters_are_left_alone_and_plain_ones_are_letters() {
        use unicode_normalization::char::canonical_combining_class;
        use unicode_normalization::{is_nfkc_quick, IsNormalized};
        let mut plain = 0;
        for c in (0x80..0x11_0000).filter_map(char::from_u32) {
            if !nfkc_inert(c) {
                assert!(!plain_letter(c), "{c:?}");
                continue;
            }
            plain += 1;
            if plain_letter(c) {
                assert!(c.is_alphanumeric(), "{c:?}");
            }
            assert_eq!(canonical_combining_class(c), 0, "{c:?}");
            let quick = is_nfkc_quick(std::iter::once(c));
            assert!(matches!(quick, IsNormalized::Yes), "{c:?}");
        }
        assert!(plain > 30_000, "{plain}");
    }

    #[test]
    fn simple_words_on_bytes_equal_simple_words_by_char() {
        // Every character up to U+2FFF and around the Hangul block, and
        // some of three and four bytes further on, alone and between
        // letters.
        let chars = (0x80..0x3000)
            .chain(0xabf0..0xd800)
            .chain([0xe000, 0xffff, 0x1_f600, 0x2_0000]);
        for c in chars.filter_map(char::from_u32) {
            for run in [format!("{c}"), format!("aB{c}{c}z9"), format!("{c}x")]
            {
                let (mut fast, mut slow) = (Vec::new(), Vec::new());
                let simple = simple_words(
                    run.as_bytes(),
                    &mut Vec::new(),
                    &mut Vec::new(),
                    &mut |w| fast.push(String::from_utf8(w.to_vec()).unwrap()),
                );
                let by_char =
                    simple_words_by_char(&run, &mut String::new(), &mut |w| {
                        slow.push(w.to_string())
                    });
                assert_eq!((simple, fast), (by_char, slow), "{run:?}");
            }
        }
    }

    /// The byte-at-a-time tokeniser the bit-mask one replaced.
    fn words_byte_at_a_time(text: &str, mut f: impl FnMut(&str)) {
        let bytes = text.as_bytes();
        let mut lower = String::new();
        let mut i = 0;
        while i < bytes.len() {
            if !in_run_byte(bytes[i]) {
                i += 1;
                continue;
            }
            let start = i;
            while i < bytes.len() && in_run_byte(bytes[i]) {
                i += 1;
            }
            let run = &text[start..i];
            if !run.is_ascii() {
                if !simple_words_by_char(run, &mut lower, &mut f) {
                    unicode_words(run, &mut f);
                }
            } else {
                f(&run.to_ascii_lowercase());
            }
        }
    }

    /// The fingerprint as made before [`DistinctKeys`]: one sort.
    fn fingerprint_by_sorting(pieces: &[&str]) -> Option<Fingerprint> {
        let mut hashes = Vec::new();
        let mut exact = 0x243f_6a88_85a3_08d3u64;
        for piece in pieces {
            words_byte_at_a_time(piece, |w| {
                let h = word_hash(w);
                exact = mix64(exact ^ h);
                hashes.push(h);
            });
        }
        if hashes.is_empty() {
            return None;
        }
        hashes.sort_unstable_by_key(|&h| word_key(h));
        hashes.dedup_by_key(|h| word_key(*h));
        let simhash = simhash(&hashes);
        let words = WordSet::from_sorted(hashes.iter().map(|&h| word_key(h)));
        Some(Fingerprint { simhash, exact, words })
    }

    /// Text of `len` pieces drawn from `parts`, chosen by `x`.
    fn random_text(x: &mut u64, len: usize, parts: &[&str]) -> String {
        (0..len)
            .map(|_| {
                *x = mix64(*x);
                parts[*x as usize % parts.len()]
            })
            .collect()
    }

    const PARTS: [&str; 24] = [
        "the",
        " ",
        " ",
        ", ",
        "Word",
        "QUICK",
        "x",
        "42",
        "caf\u{e9}",
        "\u{416}\u{436}",
        "don\u{2019}t",
        "\u{d55c}\u{ad6d}",
        "\u{6587}",
        "\u{fb01}",
        "e\u{301}",
        "\n",
        "-",
        "Zz",
        "@[`{",
        "\u{7f}",
        "\u{c0}\u{de}",
        "\u{2002}",
        "\u{1}",
        "abcdefghijklmnopqrstuvwxyz",
    ];

    #[test]
    fn bit_mask_words_equal_byte_at_a_time_words() {
        let mut x = 5u64;
        for round in 0..3000 {
            let len = if round % 100 == 0 { 4000 } else { round % 90 };
            let text = random_text(&mut x, len, &PARTS);
            let (mut fast, mut slow) = (Vec::new(), Vec::new());
            for_each_word(&text, |w| fast.push(w.to_string()));
            words_byte_at_a_time(&text, |w| slow.push(w.to_string()));
            assert_eq!(fast, slow, "{text:?}");
        }
        // Runs across segments, one longer than a segment.
        let mut text = random_text(&mut x, 30_000, &PARTS);
        text.push_str(&"Ab\u{e9}".repeat(SEGMENT));
        text.push_str(&random_text(&mut x, 30_000, &PARTS));
        let (mut fast, mut slow) = (Vec::new(), Vec::new());
        for_each_word(&text, |w| fast.push(w.to_string()));
        words_byte_at_a_time(&text, |w| slow.push(w.to_string()));
        assert_eq!(fast, slow);
    }

    #[test]
    fn every_byte_is_classified_as_one_at_a_time() {
        let mut x = 3u64;
        for round in 0..2000 {
            let mut block = [0u8; 64];
            for (i, b) in block.iter_mut().enumerate() {
                x = mix64(x);
                // Each byte value in each position, then random bytes.
                *b = if round < 256 { (round + i) as u8 } else { x as u8 };
            }
            let mut expected =
                Block { lowered: block, in_run: 0, non_ascii: 0 };
            for (i, &b) in block.iter().enumerate() {
                expected.lowered[i] = b.to_ascii_lowercase();
                expected.in_run |= u64::from(in_run_byte(b)) << i;
                expected.non_ascii |= u64::from(b >= 0x80) << i;
            }
            for c in [classify_block(&block), classify_block_swar(&block)] {
                assert_eq!(c.lowered, expected.lowered, "{block:?}");
                assert_eq!(c.in_run, expected.in_run, "{block:?}");
                assert_eq!(c.non_ascii, expected.non_ascii, "{block:?}");
            }
        }
    }

    #[test]
    fn ascii_words_at_every_block_end() {
        // Words ending on and around every byte of the first blocks, the
        // last word at the end of the text: what a plain split gives.
        for len in 1..=200 {
            for gap in 1..=9 {
                let text: String = (0..len)
                    .map(|i| match i % (gap + 2) {
                        0 => ' ',
                        1 => 'Q',
                        _ => char::from(b'a' + (i % 26) as u8),
                    })
                    .collect();
                let mut words = Vec::new();
                for_each_word(&text, |w| words.push(w.to_string()));
                let split: Vec<String> = text
                    .split(' ')
                    .filter(|w| !w.is_empty())
                    .map(|w| w.to_ascii_lowercase())
                    .collect();
                assert_eq!(words, split, "{text:?}");
            }
        }
    }

    /// Every one of the 2^16 keys taken, then met again: the slots run
    /// to their last one and the room's spare slot takes the repeats.
    #[test]
    fn distinct_keys_hold_every_key() {
        let hash = |k: u64, salt: u64| mix64(k ^ salt) << 16 | k;
        let first: Vec<u64> = (0..1u64 << 16).map(|k| hash(k, 0)).collect();
        let mut hashes: Vec<u64> = first.iter().rev().copied().collect();
        hashes.extend(&first);
        let mut distinct = DistinctKeys::default();
        let (mut firsts, mut keys) = (Vec::new(), vec![7u16]);
        assert!(distinct.collect(&hashes, &mut firsts, &mut keys));
        assert_eq!(keys.len(), 1 + (1 << 16));
        assert!(keys[1..].iter().enumerate().all(|(i, &k)| k as usize == i));
        let mut got = firsts.clone();
        got.sort_unstable();
        let mut want = first.clone();
        want.sort_unstable();
        assert_eq!(got, want);
        // The same again with one word on a taken key: not unique, and
        // the room is left as it was found.
        hashes.push(hash(12_345, 99));
        keys.clear();
        assert!(!distinct.collect(&hashes, &mut firsts, &mut keys));
        assert!(distinct.collect(&first[..3], &mut firsts, &mut keys));
        assert_eq!(firsts, first[..3]);
    }

    #[test]
    fn distinct_keys_give_the_fingerprints_of_sorting() {
        let mut vocabulary: Vec<String> =
            (0..5000).map(|i| format!("w{i} ")).collect();
        vocabulary.extend(PARTS.iter().map(|p| p.to_string()));
        let parts: Vec<&str> = vocabulary.iter().map(String::as_str).collect();
        let mut x = 7u64;
        let (mut unique, mut shared) = (0, 0);
        for round in 0..400 {
            let len = [3, 60, 150, 700, 3000][round % 5];
            let text = random_text(&mut x, len, &parts);
            let pieces: Vec<&str> = text.split('\n').collect();
            assert_eq!(
                fingerprint(pieces.iter().copied()),
                fingerprint_by_sorting(&pieces),
                "{text:?}"
            );
            let mut hashes = Vec::new();
            for_each_word(&text, |w| hashes.push(word_hash(w)));
            let mut distinct = DistinctKeys::default();
            if distinct.collect(&hashes, &mut Vec::new(), &mut Vec::new()) {
                unique += 1;
            } else {
                shared += 1;
            }
        }
        // Both ways were taken: paragraphs whose words all have keys of
        // their own, and paragraphs with two words on one key.
        assert!(unique > 50 && shared > 50, "{unique} {shared}");
    }

    #[test]
    fn sets_sharing_a_buffer_equal_sets_made_alone() {
        let mut vocabulary: Vec<String> =
            (0..5000).map(|i| format!("w{i} ")).collect();
        vocabulary.extend(PARTS.iter().map(|p| p.to_string()));
        let parts: Vec<&str> = vocabulary.iter().map(String::as_str).collect();
        let mut x = 9u64;
        let texts: Vec<String> = (0..200)
            .map(|round| {
                random_text(&mut x, [0, 3, 60, 700][round % 4], &parts)
            })
            .collect();
        let (pending, storage) = with_key_buffer(|keys| {
            let pending: Vec<Option<PendingFingerprint>> = texts
                .iter()
                .map(|t| fingerprint_appending(t.split('\n'), keys))
                .collect();
            (pending, WordSet::storage_of(keys))
        });
        for (text, pending) in texts.iter().zip(pending) {
            let shared = pending.map(|p| p.with_words(&storage));
            assert_eq!(shared, fingerprint(text.split('\n')), "{text:?}");
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
