//! One pass over a line for the features that read every byte.
//!
//! Words, character counts and the lexicon's need to lowercase a line
//! used to take a walk over the line each, byte by byte or character by
//! character. Here the bytes are classified sixteen at a time into
//! bitmaps (a bit per byte), each non-ASCII character is decoded once
//! for everything that asks about it, and the words are read off the
//! bitmap as runs of set bits.

use std::ops::Range;

use super::chars::{decode_at, CharInfo};
use super::lang::{
    ascii_flags, is_cjk, is_cjk_particle, read_short, read_u64, HIGH,
};
use super::lexicon::Case;

/// Counts of a line's characters: all of them, Han and kana
/// ([`is_cjk`]) and particles ([`is_cjk_particle`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct CharCounts {
    pub(crate) chars: u32,
    pub(crate) cjk: u32,
    pub(crate) particles: u32,
}

/// A line's ASCII letters and digits, as the label lookup asks.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AsciiAlnum {
    /// How many.
    pub(crate) count: u32,
    /// The runs of them.
    pub(crate) runs: u32,
    /// Where the first is.
    pub(crate) first: Option<u32>,
}

/// What one pass over a line found. Kept from line to line, so that its
/// bitmaps are allocated once per document.
#[derive(Clone, Debug, Default)]
pub(crate) struct LineScan {
    /// A bit per byte (bit `i % 64` of entry `i / 64`): the byte belongs
    /// to a word, being an ASCII letter, digit, `'` or `_`, or a byte of
    /// an alphanumeric non-ASCII character. A zero entry follows the
    /// line's, so that every run of ones ends.
    word: Vec<u64>,
    /// A bit per byte: the byte is not ASCII.
    non_ascii: Vec<u64>,
    /// A bit per byte: the byte continues a character (`10xxxxxx`).
    continuation: Vec<u64>,
    /// The entries of 64 bytes the line fills, before the zero one.
    blocks: usize,
    /// The line's characters, Han and kana, and particles.
    pub(crate) counts: CharCounts,
    /// A bit per byte of the first two entries: the byte is an ASCII
    /// letter or digit. Only short lines are asked about them
    /// ([`LineScan::ascii_alnum`]), so they are counted only then: a
    /// count takes a dozen instructions without a `popcnt`.
    alnum_head: [u64; 2],
    /// The line holds a non-ASCII byte.
    any_non_ascii: bool,
    /// A non-ASCII character of the line has another lowercase.
    lowers: bool,
    /// A non-ASCII character of the line is uppercase.
    upper: bool,
}

impl LineScan {
    /// Scans `line`, forgetting the line before.
    pub(crate) fn scan(&mut self, line: &str) {
        let bytes = line.as_bytes();
        self.blocks = bytes.len().div_ceil(64);
        // The entries in use; longer lines before left more, which are
        // never read. Each is written below, the zero at the end too.
        let used = self.blocks + 1;
        for bits in
            [&mut self.word, &mut self.non_ascii, &mut self.continuation]
        {
            if bits.len() < used {
                bits.resize(used, 0);
            }
        }
        let mut continuations = 0u32;
        let mut any_non_ascii = 0;
        self.alnum_head = [0; 2];
        for (k, chunk) in bytes.chunks(64).enumerate() {
            let block = match chunk.try_into() {
                Ok(whole) => classify64(whole),
                // The last block, sixteen bytes at a time, so a short
                // line costs what it holds (most lines of scraped pages
                // are a few words).
                Err(_) => classify_short(chunk),
            };
            self.word[k] = block.word;
            self.non_ascii[k] = block.non_ascii;
            self.continuation[k] = block.continuation;
            if block.continuation != 0 {
                continuations += block.continuation.count_ones();
            }
            any_non_ascii |= block.non_ascii;
            if let Some(head) = self.alnum_head.get_mut(k) {
                *head = block.alnum;
            }
        }
        self.word[self.blocks] = 0;
        self.non_ascii[self.blocks] = 0;
        self.continuation[self.blocks] = 0;
        self.counts = CharCounts {
            chars: bytes.len() as u32 - continuations,
            cjk: 0,
            particles: 0,
        };
        self.any_non_ascii = any_non_ascii != 0;
        (self.lowers, self.upper) = (false, false);
        if self.any_non_ascii {
            self.scan_non_ascii(line);
        }
    }

    /// Decodes each non-ASCII character once: marks the alphanumeric
    /// ones as word bytes, counts Han, kana and particles, and notes
    /// what lowercasing the line would change.
    fn scan_non_ascii(&mut self, line: &str) {
        let info = CharInfo::new();
        let bytes = line.as_bytes();
        for k in 0..self.blocks {
            // Lead bytes are `11xxxxxx`: non-ASCII bytes but for
            // continuations.
            let mut leads = self.non_ascii[k] & !self.continuation[k];
            while leads != 0 {
                let at = k * 64 + leads.trailing_zeros() as usize;
                leads &= leads - 1;
                // Two-byte characters (Cyrillic, Greek, accented Latin)
                // from their own table, without decoding them.
                let lead = bytes[at];
                if (0xc2..=0xdf).contains(&lead) {
                    let p = info.two_byte(lead, bytes[at + 1]).props();
                    if p.is_alphanumeric() {
                        let shift = at % 64;
                        self.word[at / 64] |= 3 << shift;
                        if shift == 63 {
                            self.word[at / 64 + 1] |= 1;
                        }
                    }
                    self.lowers |= p.lowers();
                    self.upper |= p.is_uppercase();
                    continue;
                }
                let (c, len) = decode_at(line, at);
                // One table lookup for the three questions (beyond the
                // Basic Multilingual Plane, std answers each).
                let (alphanumeric, lowers, upper) = match info.props(c) {
                    Some(p) => {
                        (p.is_alphanumeric(), p.lowers(), p.is_uppercase())
                    }
                    None => (
                        info.is_alphanumeric(c),
                        info.lowers(c),
                        info.is_uppercase(c),
                    ),
                };
                if alphanumeric {
                    // The character's bytes, which may cross into the
                    // next entry.
                    let bits = (1u64 << len) - 1;
                    let shift = at % 64;
                    self.word[at / 64] |= bits << shift;
                    if shift + len > 64 {
                        self.word[at / 64 + 1] |= bits >> (64 - shift);
                    }
                }
                if (0xe3..=0xef).contains(&bytes[at]) {
                    if is_cjk(c) {
                        self.counts.cjk += 1;
                        self.counts.particles += is_cjk_particle(c) as u32;
                    } else {
                        // The one particle that is no Han or kana.
                        self.counts.particles += (c == '、') as u32;
                    }
                }
                self.lowers |= lowers;
                self.upper |= upper;
            }
        }
    }

    /// The ASCII letters and digits of a line of at most 128 bytes;
    /// `None` for a longer one.
    pub(crate) fn ascii_alnum(&self) -> Option<AsciiAlnum> {
        if self.blocks > 2 {
            return None;
        }
        let [low, high] = self.alnum_head;
        let starts = |bits: u64, carry: u64| bits & !(bits << 1 | carry);
        let first = match (low, high) {
            (0, 0) => None,
            (0, _) => Some(64 + high.trailing_zeros()),
            _ => Some(low.trailing_zeros()),
        };
        let (mut count, mut runs) =
            (low.count_ones(), starts(low, 0).count_ones());
        // Most lines asked about are shorter than 64 bytes.
        if high != 0 {
            count += high.count_ones();
            runs += starts(high, low >> 63).count_ones();
        }
        Some(AsciiAlnum { count, runs, first })
    }

    /// What the lexicon's phrase scan must do about the case of `line`,
    /// the line scanned.
    pub(crate) fn case(&self, line: &str) -> Case {
        let upper =
            || self.upper || line.bytes().any(|b| b.is_ascii_uppercase());
        match self.any_non_ascii {
            false => Case::Ascii,
            true if self.lowers && upper() => Case::Lower,
            true => Case::AsIs,
        }
    }

    /// Calls `f` with each word of the line (a run of letters, digits,
    /// `_` and `'`) and whether it is all ASCII, as
    /// [`super::lang::for_each_word_bits`] splits it.
    pub(crate) fn for_each_word(&self, mut f: impl FnMut(Range<usize>, bool)) {
        // A word starts where a bit is set and the one before it is
        // clear; it runs to the next clear bit, which the zero entry at
        // the end guarantees. Going from start to end takes one pass of
        // the loop a word, where taking each edge on its own took two.
        let word = &self.word[..=self.blocks];
        let mut carry = 0;
        for (k, &bits) in word.iter().enumerate() {
            let mut starts = bits & !(bits << 1 | carry);
            carry = bits >> 63;
            while starts != 0 {
                let at = starts.trailing_zeros();
                starts &= starts - 1;
                let start = k * 64 + at as usize;
                let end = word_end(word, k, at);
                let ascii = !self.any_non_ascii
                    || !any_in(&self.non_ascii, start, end);
                f(start..end, ascii);
            }
        }
    }
}

/// Where the run of set bits from bit `at` of entry `k` of `word` ends
/// (the bit index of the first clear bit after it); a clear bit follows
/// in some later entry.
#[inline(always)]
fn word_end(word: &[u64], k: usize, at: u32) -> usize {
    // At most 64 - `at`: the shift brings in clear bits.
    let ones = (!(word[k] >> at)).trailing_zeros();
    if at + ones < 64 {
        return k * 64 + (at + ones) as usize;
    }
    // Into the next entries: words longer than a few bytes across an
    // entry's end are rare.
    let mut k = k + 1;
    while word[k] == u64::MAX {
        k += 1;
    }
    k * 64 + (!word[k]).trailing_zeros() as usize
}

/// Bytes classified, a bit per byte (bit `i` for byte `i`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Block<T> {
    /// ASCII letters, digits, `'` and `_`.
    word: T,
    /// Bytes from 0x80.
    non_ascii: T,
    /// Bytes from 0x80 to 0xbf.
    continuation: T,
    /// ASCII letters and digits.
    alnum: T,
}

impl Block<u64> {
    /// Puts the bits of the `g`th group of sixteen bytes in place.
    #[inline(always)]
    fn put(&mut self, g: usize, bits: Block<u16>) {
        self.word |= u64::from(bits.word) << (16 * g);
        self.non_ascii |= u64::from(bits.non_ascii) << (16 * g);
        self.continuation |= u64::from(bits.continuation) << (16 * g);
        self.alnum |= u64::from(bits.alnum) << (16 * g);
    }
}

/// [`classify16`] of 64 bytes.
#[inline(always)]
fn classify64(bytes: &[u8; 64]) -> Block<u64> {
    let mut block = Block::default();
    for (g, sixteen) in bytes.chunks_exact(16).enumerate() {
        block.put(g, classify16(sixteen.try_into().expect("16 bytes")));
    }
    block
}

/// [`classify16`] of fewer than 64 bytes, as if zeros followed.
#[inline]
fn classify_short(bytes: &[u8]) -> Block<u64> {
    let mut block = Block::default();
    for (g, group) in bytes.chunks(16).enumerate() {
        let bits = match group.try_into() {
            Ok(whole) => classify16(whole),
            // Zero bytes are in no class.
            Err(_) => classify16(&pad16(group)),
        };
        block.put(g, bits);
    }
    block
}

/// The first bytes of a line's last group, padded with zeros: read as
/// two numbers, since a copy of variable length called memcpy.
#[inline]
fn pad16(group: &[u8]) -> [u8; 16] {
    let low = read_short(&group[..group.len().min(8)]);
    let high = match group.get(8..) {
        Some(rest) => read_short(rest),
        None => 0,
    };
    (low as u128 | (high as u128) << 64).to_le_bytes()
}

#[cfg(target_arch = "x86_64")]
use classify16_sse2 as classify16;

#[cfg(not(target_arch = "x86_64"))]
use classify16_bytes as classify16;

/// [`classify16_bytes`] with SSE2 (part of x86-64). Compares are
/// signed: bytes from 0x80 are negative, so no letter, digit, `'` or
/// `_`; continuations are those below -64.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn classify16_sse2(sixteen: &[u8; 16]) -> Block<u16> {
    use crate::sse2::{splat, within};
    use std::arch::x86_64::*;
    // SAFETY: every x86-64 CPU has SSE2 (the build enables it), and the
    // unaligned load reads the sixteen bytes of `sixteen`.
    let (word, non_ascii, continuation, alnum) = unsafe {
        let x = _mm_loadu_si128(sixteen.as_ptr().cast());
        let letter = within(_mm_or_si128(x, splat(0x20)), b'a', b'z');
        let digit = within(x, b'0', b'9');
        let quote = _mm_cmpeq_epi8(x, splat(b'\''));
        let underscore = _mm_cmpeq_epi8(x, splat(b'_'));
        let alnum = _mm_or_si128(letter, digit);
        let word = _mm_or_si128(alnum, _mm_or_si128(quote, underscore));
        let continuation = _mm_cmplt_epi8(x, splat(0xc0));
        (
            _mm_movemask_epi8(word),
            _mm_movemask_epi8(x),
            _mm_movemask_epi8(continuation),
            _mm_movemask_epi8(alnum),
        )
    };
    Block {
        word: word as u16,
        non_ascii: non_ascii as u16,
        continuation: continuation as u16,
        alnum: alnum as u16,
    }
}

/// Classifies sixteen bytes one at a time.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn classify16_bytes(sixteen: &[u8; 16]) -> Block<u16> {
    let mut block = Block::default();
    for (i, &b) in sixteen.iter().enumerate() {
        let word = b.is_ascii_alphanumeric() || b == b'\'' || b == b'_';
        block.word |= (word as u16) << i;
        block.non_ascii |= ((b >= 0x80) as u16) << i;
        block.continuation |= ((b & 0xc0 == 0x80) as u16) << i;
        block.alnum |= (b.is_ascii_alphanumeric() as u16) << i;
    }
    block
}

/// Sixteen bytes as the repeat key reads them when they are all ASCII
/// and hold no digit: their whitespace as bits, the bytes lowercased
/// into the first sixteen of `lowered` (the caller's, made once a line:
/// an array returned with each group was copied in pieces). Otherwise
/// the bytes that are not ASCII or are digits, as bits, and `lowered`
/// as it was.
pub(crate) type Plain16 = Result<u32, u32>;

#[cfg(target_arch = "x86_64")]
pub(crate) use plain16_sse2 as plain16;

#[cfg(not(target_arch = "x86_64"))]
pub(crate) use plain16_swar as plain16;

/// [`Plain16`] of sixteen bytes with SSE2 (part of x86-64).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(crate) fn plain16_sse2(
    sixteen: &[u8; 16],
    lowered: &mut [u8; 32],
) -> Plain16 {
    use crate::sse2::{splat, within};
    use std::arch::x86_64::*;
    // SAFETY: every x86-64 CPU has SSE2 (the build enables it), and the
    // unaligned load and store are of sixteen bytes of `sixteen` and of
    // the thirty-two of `lowered`.
    let spaces = unsafe {
        let x = _mm_loadu_si128(sixteen.as_ptr().cast());
        let special = _mm_or_si128(x, within(x, b'0', b'9'));
        let special = _mm_movemask_epi8(special) as u32;
        if special != 0 {
            return Err(special);
        }
        let upper = within(x, b'A', b'Z');
        let lower = _mm_or_si128(x, _mm_and_si128(upper, splat(0x20)));
        _mm_storeu_si128(lowered.as_mut_ptr().cast(), lower);
        let space = _mm_or_si128(
            within(x, b'\t', b'\r'),
            _mm_cmpeq_epi8(x, splat(b' ')),
        );
        _mm_movemask_epi8(space) as u32
    };
    Ok(spaces)
}

/// [`Plain16`] of sixteen bytes, eight at a time with word arithmetic.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
pub(crate) fn plain16_swar(
    sixteen: &[u8; 16],
    lowered: &mut [u8; 32],
) -> Plain16 {
    // The high bits of the bytes gathered into the low eight bits.
    let gather =
        |x: u64| ((x & HIGH) >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56;
    let halves = [read_u64(&sixteen[..8]), read_u64(&sixteen[8..])];
    let bits = |f: &dyn Fn(u64) -> u64| {
        (gather(f(halves[0])) | gather(f(halves[1])) << 8) as u32
    };
    let special = bits(&|x| x & HIGH | ascii_flags(x, b'0', b'9'));
    if special != 0 {
        return Err(special);
    }
    let lower = |x: u64| x | ascii_flags(x, b'A', b'Z') >> 2;
    lowered[..8].copy_from_slice(&lower(halves[0]).to_le_bytes());
    lowered[8..16].copy_from_slice(&lower(halves[1]).to_le_bytes());
    let spaces =
        bits(&|x| ascii_flags(x, b'\t', b'\r') | ascii_flags(x, b' ', b' '));
    Ok(spaces)
}

/// True when a bit in `start..end` (not empty) is set.
#[inline]
fn any_in(bits: &[u64], start: usize, end: usize) -> bool {
    let (first, last) = (start / 64, (end - 1) / 64);
    let head = !0u64 << (start % 64);
    let tail = !0u64 >> (63 - (end - 1) % 64);
    if first == last {
        return bits[first] & head & tail != 0;
    }
    bits[first] & head != 0
        || bits[first + 1..last].iter().any(|&b| b != 0)
        || bits[last] & tail != 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strip::lang;
    use proptest::prelude::ProptestConfig;

    #[test]
    fn blocks_classify_alike() {
        let mut block = [0u8; 16];
        for b in 0..=255u8 {
            for (i, x) in block.iter_mut().enumerate() {
                *x = b.wrapping_add((i as u8).wrapping_mul(37));
            }
            assert_eq!(
                classify16(&block),
                classify16_bytes(&block),
                "{block:?}"
            );
        }
    }

    #[test]
    fn plain16_alike() {
        let mut block = [0u8; 16];
        for b in 0..=255u8 {
            for step in [1u8, 7, 37, 101] {
                for (i, x) in block.iter_mut().enumerate() {
                    *x = b.wrapping_add((i as u8).wrapping_mul(step));
                }
                let (mut lowered, mut want) = ([1u8; 32], [1u8; 32]);
                assert_eq!(
                    plain16(&block, &mut lowered),
                    plain16_swar(&block, &mut want),
                    "{block:?}"
                );
                assert_eq!(lowered, want, "{block:?}");
                // Plain text too, which the steps seldom make.
                let mut plain = block.map(|x| x & 0x7f);
                for x in plain.iter_mut().filter(|x| x.is_ascii_digit()) {
                    *x = b' ';
                }
                let got = plain16(&plain, &mut lowered);
                assert!(got.is_ok(), "{plain:?}");
                assert_eq!(got, plain16_swar(&plain, &mut want), "{plain:?}");
                assert_eq!(lowered, want, "{plain:?}");
                assert_eq!(lowered[16..], [1u8; 16], "{plain:?}");
                let ascii_lower = plain.map(|x| x.to_ascii_lowercase());
                assert_eq!(lowered[..16], ascii_lower, "{plain:?}");
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn scan_matches_the_walks(
            pieces in proptest::collection::vec(
                crate::strip::tricky::line(),
                1..6,
            ),
        ) {
            // Long enough to cross blocks of 64.
            let line = pieces.concat();
            let mut scan = LineScan::default();
            // A longer line before leaves entries past this one's.
            scan.scan(&"left over from a line before: Σ 国 ".repeat(9));
            scan.scan(&line);
            let mut got = Vec::new();
            scan.for_each_word(|r, ascii| got.push((r, ascii)));
            let mut want = Vec::new();
            lang::raw_words(&line, |r, ascii| want.push((r, ascii)));
            proptest::prop_assert_eq!(got, want);
            let counts = CharCounts {
                chars: line.chars().count() as u32,
                cjk: line.chars().filter(|&c| lang::is_cjk(c)).count() as u32,
                particles: line
                    .chars()
                    .filter(|&c| lang::is_cjk_particle(c))
                    .count() as u32,
            };
            proptest::prop_assert_eq!(scan.counts, counts);
            let alnum = line.bytes().filter(u8::is_ascii_alphanumeric).count();
            let runs = line
                .split(|c: char| !c.is_ascii_alphanumeric())
                .filter(|run| !run.is_empty())
                .count();
            let first = line.bytes().position(|b| b.is_ascii_alphanumeric());
            match scan.ascii_alnum() {
                Some(got) => {
                    proptest::prop_assert!(line.len() <= 128);
                    proptest::prop_assert_eq!(got.count as usize, alnum);
                    proptest::prop_assert_eq!(got.runs as usize, runs);
                    proptest::prop_assert_eq!(
                        got.first.map(|at| at as usize),
                        first
                    );
                }
                None => proptest::prop_assert!(line.len() > 128),
            }
            let lowers = line
                .chars()
                .any(|c| !c.is_ascii() && !c.to_lowercase().eq([c]));
            let case = match line.is_ascii() {
                true => Case::Ascii,
                false if lowers && line.chars().any(char::is_uppercase) => {
                    Case::Lower
                }
                false => Case::AsIs,
            };
            proptest::prop_assert_eq!(scan.case(&line), case);
        }
    }
}
