//! Per-document language detection and stopword lists.
//!
//! A document's language decides which function words count as
//! stopwords. Detection counts, over the document's words, the hits of
//! each list and takes the best when it covers enough of the text. Text
//! mostly in Han or kana is [`Lang::Cjk`], measured in characters and
//! particles. A document in none of the listed languages gets its own
//! list: the most frequent short words of its longer lines, which in any
//! space-separated language are its function words.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::LazyLock;

use super::chars::CharInfo;

/// The languages with a stopword list, in the bit order of [`STOPWORDS`].
const LISTS: &[(Lang, &str)] = &[
    (
        Lang::En,
        "a an and are as at be been but by for from had has have he her his \
         i in is it its of on or our said she that the their them they this \
         to was we were which who will with would you not after also about \
         there than into over more can could what when if so all one do no \
         up out just my your how",
    ),
    (
        Lang::De,
        "der die das und ist nicht ein eine zu den von mit sich des auf für \
         im dem auch es an als wie wird bei aus er sie nach sind noch wir ich \
         hat werden nur oder aber vor zur bis mehr durch man dass kann war um \
         am einer einen",
    ),
    (
        Lang::Fr,
        "le la les et est un une des du de en que qui dans pour pas sur au \
         par avec il elle ce sont aux plus ne se son sa ses nous vous ont \
         mais ou été cette comme tout leur",
    ),
    (
        Lang::Es,
        "el los las y es un una del que en por con para se su al lo como más \
         pero sus le ya fue de la no ha este son entre cuando muy sin sobre \
         también me hasta hay donde",
    ),
    (
        Lang::Pt,
        "o os as e é um uma do da dos das que em no na nos nas por com para \
         se seu sua ao não mais mas como foi ele ela são pelo pela de ou já",
    ),
    (
        Lang::It,
        "il lo la i gli le e è un una del della dei delle che in per con non \
         si al alla sono più ma come anche di da nel nella questo",
    ),
    (
        Lang::Id,
        "yang dan di ke dari ini itu dengan untuk tidak ada dalam akan pada \
         juga atau karena saya kita kami mereka sudah bisa oleh sebagai \
         jangan",
    ),
    (
        Lang::Nl,
        "de het een en van in is dat op te zijn met voor niet aan er om ook \
         als bij maar dan nog wel",
    ),
    (
        Lang::Ru,
        "и в во не что он на я с со как а то все она так его но да ты к у же \
         вы за бы по только ее мне было вот от меня еще нет о из ему для при \
         это был были они мы уже",
    ),
];

/// A document's language, as far as stopwords go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Lang {
    /// English.
    En,
    /// German.
    De,
    /// French.
    Fr,
    /// Spanish.
    Es,
    /// Portuguese.
    Pt,
    /// Italian.
    It,
    /// Indonesian and Malay.
    Id,
    /// Dutch.
    Nl,
    /// Russian.
    Ru,
    /// Chinese or Japanese: counted in characters and particles.
    Cjk,
    /// None of the lists: stopwords learned from the document itself.
    Other,
}

impl Lang {
    fn bit(self) -> u16 {
        match LISTS.iter().position(|&(l, _)| l == self) {
            Some(i) => 1 << i,
            None => 0,
        }
    }
}

/// Stopwords are at most this many bytes; longer words are never looked
/// up.
const MAX_STOPWORD: usize = 12;

/// Every listed word with the bit set of the lists that hold it.
static STOPWORDS: LazyLock<StopTable> = LazyLock::new(|| {
    let mut table = StopTable::with_slots(1024);
    for (i, &(_, list)) in LISTS.iter().enumerate() {
        for w in list.split_whitespace() {
            assert!(w.len() <= MAX_STOPWORD, "{w}: too long for the table");
            table.add_word(w.as_bytes(), 1 << i);
        }
    }
    table
});

/// A word of at most [`MAX_STOPWORD`] bytes as one number: its bytes,
/// zero padded. Words hold no NUL byte, so the padding is unambiguous.
/// Read as whole integers, as [`pack_ascii_lowercase`] does: a copy of
/// variable length to the stack was a call to `memcpy`.
#[inline]
fn pack(word: &[u8]) -> u128 {
    debug_assert!(word.len() <= 16);
    match word.len() {
        n @ 8.. => {
            (read_short(&word[8..n]) as u128) << 64 | read_u64(word) as u128
        }
        _ => read_short(word) as u128,
    }
}

/// [`pack`] of an ASCII word of at most [`MAX_STOPWORD`] bytes,
/// lowercased. Reads the bytes as whole integers rather than copying
/// them to the stack: a copy of variable length went through `memcpy`,
/// and reading it back as one number stalled on store forwarding.
#[inline]
fn pack_ascii_lowercase(word: &[u8]) -> u128 {
    debug_assert!(word.len() <= MAX_STOPWORD && word.is_ascii());
    let lower = |x: u64| x | ascii_flags(x, b'A', b'Z') >> 2;
    // Most words fit in the low half: the high half is not lowered.
    match word.len() {
        n @ 8.. => {
            let hi = lower(read_short(&word[8..n]));
            (hi as u128) << 64 | lower(read_u64(word)) as u128
        }
        _ => lower(read_short(word)) as u128,
    }
}

/// The first eight bytes of `bytes`, little-endian.
#[inline]
pub(crate) fn read_u64(bytes: &[u8]) -> u64 {
    u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"))
}

/// Up to eight bytes as a little-endian number, zero padded, from at
/// most two overlapping reads.
#[inline]
pub(crate) fn read_short(bytes: &[u8]) -> u64 {
    let n = bytes.len();
    let u32_at = |i: usize| {
        u32::from_le_bytes(bytes[i..i + 4].try_into().expect("4 bytes"))
    };
    match n {
        8.. => read_u64(bytes),
        4.. => u32_at(0) as u64 | (u32_at(n - 4) as u64) << (8 * (n - 4)),
        1.. => {
            // Bytes 0, n/2 and n-1 cover every byte of 1 to 3.
            bytes[0] as u64
                | (bytes[n / 2] as u64) << (8 * (n / 2))
                | (bytes[n - 1] as u64) << (8 * (n - 1))
        }
        0 => 0,
    }
}

/// The high bit of every byte of a `u64`.
pub(crate) const HIGH: u64 = 0x8080_8080_8080_8080;

/// The high bit set in each byte of `x` that is ASCII and within
/// `lo..=hi`. Exact per byte: each comparison subtracts from the byte
/// with its high bit set, so no borrow crosses into the next byte.
#[inline]
pub(crate) fn ascii_flags(x: u64, lo: u8, hi: u8) -> u64 {
    debug_assert!(lo <= hi && hi < 0x80);
    const ONES: u64 = 0x0101_0101_0101_0101;
    // The high bit set where the byte's low seven bits are at least k.
    let at_least = |k: u8| ((x | HIGH) - ONES * k as u64) & HIGH;
    at_least(lo) & !at_least(hi + 1) & !x & HIGH
}

/// An open-addressing table from packed words to list bits: every word
/// of every line is looked up, and hashing a `&str` through `Hasher`
/// (byte by byte, plus a terminator) cost more than the rest of the
/// line's features.
pub(crate) struct StopTable {
    keys: Vec<u128>,
    bits: Vec<u16>,
    shift: u32,
    /// By the first byte (in either case) and length of an ASCII listed
    /// word, its last byte's low five bits, as bits: most words are on
    /// no list, and most of those are ruled out by this one lookup
    /// before packing and probing (by first byte and length alone,
    /// fewer than half).
    ascii_ends: [[u32; MAX_STOPWORD + 1]; 128],
}

impl StopTable {
    /// `slots` is a power of two, well above the number of words, so
    /// probe runs stay short.
    fn with_slots(slots: usize) -> StopTable {
        debug_assert!(slots.is_power_of_two());
        StopTable {
            keys: vec![0; slots],
            bits: vec![0; slots],
            shift: 64 - slots.trailing_zeros(),
            ascii_ends: [[0; MAX_STOPWORD + 1]; 128],
        }
    }

    /// Adds a listed word (lowercase, at most [`MAX_STOPWORD`] bytes).
    fn add_word(&mut self, word: &[u8], bits: u16) {
        if word.is_ascii() {
            // Under the first byte in either case, and by the last
            // byte's low five bits, which are the same in either case:
            // a word need not be lowercased to be ruled out.
            let last = word[word.len() - 1];
            for first in [word[0], word[0].to_ascii_uppercase()] {
                self.ascii_ends[first as usize][word.len()] |=
                    1 << (last & 31);
            }
        }
        self.add(pack(word), bits);
    }

    /// The list bits of an ASCII word as it stands in the text.
    #[inline(always)]
    fn get_ascii(&self, word: &[u8]) -> u16 {
        if word.len() > MAX_STOPWORD {
            return 0;
        }
        let first = word[0] & 0x7f;
        let last = word[word.len() - 1];
        match self.ascii_ends[first as usize][word.len()] >> (last & 31) & 1 {
            0 => 0,
            _ => self.get(pack_ascii_lowercase(word)),
        }
    }

    #[inline]
    fn slot(&self, key: u128) -> usize {
        let mixed = (key as u64)
            ^ ((key >> 64) as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        (mixed.wrapping_mul(0x51_7c_c1_b7_27_22_0a_95) >> self.shift) as usize
    }

    fn add(&mut self, key: u128, bits: u16) {
        let mask = self.keys.len() - 1;
        let mut i = self.slot(key);
        while self.keys[i] != 0 && self.keys[i] != key {
            i = (i + 1) & mask;
        }
        self.keys[i] = key;
        self.bits[i] |= bits;
    }

    /// The list bits of a packed word, 0 for none.
    #[inline]
    fn get(&self, key: u128) -> u16 {
        let mask = self.keys.len() - 1;
        let mut i = self.slot(key);
        loop {
            match self.keys[i] {
                k if k == key => return self.bits[i],
                0 => return 0,
                _ => i = (i + 1) & mask,
            }
        }
    }
}

/// A fast, fixed hasher for short keys (the rustc "Fx" hash).
#[derive(Clone, Copy, Default)]
pub(crate) struct FxBuild;

pub(crate) struct Fx(u64);

impl std::hash::BuildHasher for FxBuild {
    type Hasher = Fx;
    fn build_hasher(&self) -> Fx {
        Fx(0)
    }
}

impl std::hash::Hasher for Fx {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let v = u64::from_le_bytes(c.try_into().expect("8 bytes"));
            self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ b as u64).wrapping_mul(K);
        }
    }
}

/// The stopword lists a document uses: one language's bit, or a list
/// learned from the document.
#[derive(Clone, Debug)]
pub(crate) struct Stopwords {
    pub(crate) lang: Lang,
    bits: u16,
    learned: Vec<String>,
}

impl Stopwords {
    /// The index of the chosen list, for a listed language.
    pub(crate) fn list(&self) -> Option<usize> {
        (self.bits != 0).then(|| self.bits.trailing_zeros() as usize)
    }

    /// True when `word` (already lowercase) is a stopword here.
    #[inline]
    pub(crate) fn contains(&self, word: &str) -> bool {
        if word.len() > MAX_STOPWORD {
            return false;
        }
        if self.bits != 0 {
            return word_bits(word) & self.bits != 0;
        }
        self.learned.iter().any(|w| w == word)
    }
}

/// The ASCII bytes that belong to words: letters, digits, `'`, `_`.
static ASCII_WORD: [bool; 128] = {
    let mut table = [false; 128];
    let mut b = 0;
    while b < 128 {
        let byte = b as u8;
        table[b] =
            byte.is_ascii_alphanumeric() || byte == b'\'' || byte == b'_';
        b += 1;
    }
    table
};

/// Each byte as the inner loop of [`raw_words`] sees it: one lookup
/// where testing for ASCII first took another branch a byte.
static BYTE_CLASS: [u8; 256] = {
    let mut table = [NON_ASCII; 256];
    let mut b = 0;
    while b < 128 {
        table[b] = if ASCII_WORD[b] { ASCII_WORD_BYTE } else { ASCII_OTHER };
        b += 1;
    }
    table
};
const ASCII_WORD_BYTE: u8 = 0;
const ASCII_OTHER: u8 = 1;
const NON_ASCII: u8 = 2;

/// Calls `f` with each word of `line` as it stands (a word is a run of
/// letters, digits, `_` and `'`) and whether it is all ASCII. Walks
/// bytes, decoding only non-ASCII characters. (Jumping over eight bytes
/// at a time with bit tricks measured slower on news text, whose words
/// are short.)
#[inline]
pub(crate) fn raw_words(line: &str, mut f: impl FnMut(Range<usize>, bool)) {
    let info = CharInfo::new();
    let bytes = line.as_bytes();
    // The length of the word character at `i`, 0 for none.
    let word_char = |i: usize| match bytes[i] {
        b @ 0..=0x7f => ASCII_WORD[b as usize] as usize,
        _ => {
            let (c, len) = super::chars::decode_at(line, i);
            if info.is_alphanumeric(c) {
                len
            } else {
                0
            }
        }
    };
    let mut i = 0;
    while i < bytes.len() {
        let first = word_char(i);
        if first == 0 {
            // Not in a word: step over the character.
            i += match bytes[i] {
                0..=0x7f => 1,
                0x80..=0xdf => 2,
                0xe0..=0xef => 3,
                _ => 4,
            };
            continue;
        }
        let start = i;
        let mut ascii = first == 1;
        i += first;
        // The rest of the word; ASCII letters in a tight loop.
        while i < bytes.len() {
            match BYTE_CLASS[bytes[i] as usize] {
                ASCII_WORD_BYTE => {
                    i += 1;
                    continue;
                }
                ASCII_OTHER => break,
                _ => {}
            }
            let len = word_char(i);
            if len == 0 {
                break;
            }
            ascii = false;
            i += len;
        }
        // A range, not a `&str`: checking both ends for a char boundary
        // cost more than the lookup of a short ASCII word.
        f(start..i, ascii);
    }
}

/// `text` lowercased into `buf`, exactly as `str::to_lowercase` gives
/// it, without a new string each time and from [`CharInfo`]'s tables.
pub(crate) fn lowercase_into<'b>(text: &str, buf: &'b mut String) -> &'b str {
    // 'Σ' is CE A3; looking for its lead byte is cheaper than `contains`
    // setting up a search for each short word.
    let bytes = text.as_bytes();
    let sigma = memchr::memchr_iter(0xce, bytes)
        .any(|i| bytes.get(i + 1) == Some(&0xa3));
    if sigma {
        // Its lowercase depends on its neighbours: leave it to std.
        *buf = text.to_lowercase();
        return buf;
    }
    let info = CharInfo::new();
    buf.clear();
    buf.reserve(text.len());
    let mut rest = text;
    // A run of ASCII lowered in bulk, then one other character: a push
    // per ASCII character cost more than the rest of the line.
    loop {
        let run = rest.bytes().position(|b| !b.is_ascii());
        let run = run.unwrap_or(rest.len());
        let start = buf.len();
        buf.push_str(&rest[..run]);
        buf[start..].make_ascii_lowercase();
        let mut chars = rest[run..].chars();
        let Some(c) = chars.next() else {
            return buf;
        };
        info.lowercase(c, |l| buf.push(l));
        rest = chars.as_str();
    }
}

/// True when `text` holds an uppercase letter (`char::is_uppercase`).
#[inline]
pub(crate) fn has_uppercase(text: &str) -> bool {
    let info = CharInfo::new();
    text.chars().any(|c| match c {
        _ if c.is_ascii() => c.is_ascii_uppercase(),
        _ => info.is_uppercase(c),
    })
}

/// Calls `f` with each word of `line`, lowercased (a word is a run of
/// letters, digits, `_` and `'`). ASCII words are lowercased in a stack
/// buffer; others in a reused string, and only when they hold an
/// uppercase letter.
#[inline]
pub(crate) fn for_each_word(line: &str, mut f: impl FnMut(&str)) {
    let mut buf = [0u8; 24];
    let mut lowered = String::new();
    raw_words(line, |range, ascii| {
        let word = &line[range];
        if ascii {
            if !word.bytes().any(|b| b.is_ascii_uppercase()) {
                f(word);
            } else if word.len() <= buf.len() {
                let b = &mut buf[..word.len()];
                b.copy_from_slice(word.as_bytes());
                b.make_ascii_lowercase();
                f(std::str::from_utf8(b).expect("ASCII is UTF-8"));
            } else {
                f(word);
            }
        } else if !has_uppercase(word) {
            f(word);
        } else {
            f(lowercase_into(word, &mut lowered));
        }
    });
}

/// Calls `f` with the list bits ([`word_bits`]) of each word of `line`,
/// in order, 0 for words on no list: what [`for_each_word`] and
/// [`word_bits`] give, without making a string of ASCII words.
#[inline]
pub(crate) fn for_each_word_bits(line: &str, mut f: impl FnMut(u16)) {
    let table = stopwords();
    raw_words(line, |range, ascii| f(table.range_bits(line, range, ascii)));
}

/// The table of every listed word.
#[inline]
pub(crate) fn stopwords() -> &'static StopTable {
    &STOPWORDS
}

impl StopTable {
    /// The list bits ([`word_bits`]) of the word `line[range]` once
    /// lowercased (where it holds an uppercase letter); `ascii` says it
    /// is all ASCII. Inlined into the loops over words, which left to
    /// themselves called it: a call per word cost more than its lookup.
    #[inline(always)]
    pub(crate) fn range_bits(
        &self,
        line: &str,
        range: Range<usize>,
        ascii: bool,
    ) -> u16 {
        match ascii {
            true => self.get_ascii(&line.as_bytes()[range]),
            false => self.get_other(&line[range]),
        }
    }

    /// The list bits of an ASCII word as it stands in the text.
    #[inline(always)]
    pub(crate) fn ascii_bits(&self, word: &[u8]) -> u16 {
        self.get_ascii(word)
    }

    /// [`StopTable::get_other`] of a word of ASCII and two-byte
    /// characters whose lowercase is one two-byte character (most words
    /// of Cyrillic, Greek and accented Latin text), from one table load
    /// a character; `None` for other words. Lowercasing such a word
    /// keeps its length, so one over [`MAX_STOPWORD`] bytes is none.
    #[inline]
    fn get_two_byte_word(&self, word: &str, info: CharInfo) -> Option<u16> {
        let bytes = word.as_bytes();
        // Room for two bytes written at any place of a listed word.
        let mut lowered = [0u8; MAX_STOPWORD + 2];
        let mut upper = false;
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            let (lower, len) = match b {
                0..=0x7f => {
                    upper |= b.is_ascii_uppercase();
                    ([b.to_ascii_lowercase(), 0], 1)
                }
                0xc2..=0xdf => {
                    let t = info.two_byte(b, bytes[i + 1]);
                    upper |= t.props().is_uppercase();
                    (t.lower_bytes()?, 2)
                }
                _ => return None,
            };
            // Both bytes, the second overwritten next where the
            // character is ASCII: a copy of `len` bytes was a call.
            if i < MAX_STOPWORD {
                lowered[i] = lower[0];
                lowered[i + 1] = lower[1];
            }
            i += len;
        }
        Some(match (upper, bytes.len() <= MAX_STOPWORD) {
            (_, false) => 0,
            (false, true) => word_bits(word),
            (true, true) => self.get(pack(&lowered[..bytes.len()])),
        })
    }

    /// [`StopTable::range_bits`] of a word that is not all ASCII:
    /// lowercased into a buffer on the stack in the one pass that looks
    /// for an uppercase letter, as a string per word cost more than the
    /// rest of the word's work. ('Σ' lowercases by its neighbours, but
    /// to 'σ' or 'ς', which no list holds, so either answers 0.)
    #[inline(never)]
    fn get_other(&self, word: &str) -> u16 {
        // A character's lowercase takes at least one byte, and a
        // character at most four.
        if word.len() > 4 * MAX_STOPWORD {
            return 0;
        }
        // Nor does the lowercase of a character of one or two bytes take
        // fewer bytes than it (a test checks each), so a word of such
        // characters over MAX_STOPWORD bytes is on no list: most words
        // of Cyrillic or Greek past six letters, which are otherwise
        // lowered a character at a time to find that out.
        if word.len() > MAX_STOPWORD && word.bytes().all(|b| b < 0xe0) {
            return 0;
        }
        let info = CharInfo::new();
        if let Some(bits) = self.get_two_byte_word(word, info) {
            return bits;
        }
        let mut lowered = [0u8; MAX_STOPWORD + 4];
        let mut len = 0;
        let mut upper = false;
        for c in word.chars() {
            let mut push = |l: char| {
                if len + l.len_utf8() <= lowered.len() {
                    l.encode_utf8(&mut lowered[len..]);
                }
                len += l.len_utf8();
            };
            // One lookup answers both questions for most characters.
            match info.props(c) {
                Some(p) => {
                    upper |= p.is_uppercase();
                    match (p.lowers(), p.single_lower()) {
                        (false, _) => push(c),
                        (true, Some(l)) => push(l),
                        (true, None) => c.to_lowercase().for_each(push),
                    }
                }
                None => {
                    upper |= c.is_uppercase();
                    c.to_lowercase().for_each(push);
                }
            }
            if len > MAX_STOPWORD {
                // Too long once lowercased, and too long as it stands
                // too, or whether it is lowercased decides.
                return match word.len() > MAX_STOPWORD || has_uppercase(word) {
                    true => 0,
                    false => word_bits(word),
                };
            }
        }
        match (upper, len) {
            (false, _) => word_bits(word),
            (true, ..=MAX_STOPWORD) => self.get(pack(&lowered[..len])),
            (true, _) => 0,
        }
    }
}

/// Han and kana: one character carries about a word. (Hangul is written
/// with spaces between words, so it counts as words.)
#[inline]
pub(crate) fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30ff | 0x3400..=0x4dbf | 0x4e00..=0x9fff | 0xf900..=0xfaff)
}

/// Chinese and Japanese function characters (particles, copulas).
#[inline]
pub(crate) fn is_cjk_particle(c: char) -> bool {
    matches!(
        c,
        '的' | '了'
            | '是'
            | '在'
            | '和'
            | '有'
            | '不'
            | '这'
            | '我'
            | '他'
            | '也'
            | '就'
            | '都'
            | '而'
            | '及'
            | '与'
            | '着'
            | '或'
            | '之'
            | '其'
            | '被'
            | '从'
            | '对'
            | '为'
            | '以'
            | '于'
            | 'の'
            | '、'
            | 'は'
            | 'が'
            | 'を'
            | 'に'
            | 'で'
            | 'と'
            | 'も'
            | 'へ'
            | 'や'
            | 'か'
    )
}

/// A listed language must account for this share of a document's words.
const MIN_SHARE: f64 = 0.08;
/// Learned lists hold this many words.
const LEARNED: usize = 25;

/// The number of listed languages.
pub(crate) const LANGS: usize = LISTS.len();

/// The bit set of the lists that hold `word` (already lowercase).
#[inline]
pub(crate) fn word_bits(word: &str) -> u16 {
    if word.len() > MAX_STOPWORD {
        return 0;
    }
    STOPWORDS.get(pack(word.as_bytes()))
}

/// Decides a document's language from its totals: words, characters,
/// Han/kana characters and per-list stopword hits. `lines` is read only
/// for an unlisted language, to learn its stopwords.
pub(crate) fn choose<S: AsRef<str>>(
    lines: &[S],
    words: u32,
    chars: u32,
    cjk: u32,
    hits: &[u32; LANGS],
) -> Stopwords {
    if chars > 0 && cjk * 4 > chars {
        return Stopwords { lang: Lang::Cjk, bits: 0, learned: Vec::new() };
    }
    let (best, &n) = hits
        .iter()
        .enumerate()
        .max_by_key(|&(i, &h)| (h, std::cmp::Reverse(i)))
        .expect("there are lists");
    if words > 0 && n as f64 / words as f64 > MIN_SHARE {
        let lang = LISTS[best].0;
        return Stopwords { lang, bits: lang.bit(), learned: Vec::new() };
    }
    Stopwords { lang: Lang::Other, bits: 0, learned: learn(lines) }
}

/// Detects the language of a document from its lines.
pub(crate) fn detect<S: AsRef<str>>(lines: &[S]) -> Stopwords {
    let mut hits = [0u32; LISTS.len()];
    let mut words = 0u32;
    let mut chars = 0u32;
    let mut cjk = 0u32;
    for line in lines {
        let line = line.as_ref();
        if line.is_ascii() {
            chars += line.len() as u32;
        } else {
            for c in line.chars() {
                chars += 1;
                cjk += is_cjk(c) as u32;
            }
        }
        for_each_word_bits(line, |bits| {
            words += 1;
            for (i, h) in hits.iter_mut().enumerate() {
                *h += (bits >> i & 1) as u32;
            }
        });
    }
    choose(lines, words, chars, cjk, &hits)
}

/// The most frequent short words of the lines with ten words or more.
fn learn<S: AsRef<str>>(lines: &[S]) -> Vec<String> {
    let mut freq: HashMap<String, u32, FxBuild> =
        HashMap::with_hasher(FxBuild);
    let mut line_words = Vec::new();
    for line in lines {
        line_words.clear();
        for_each_word(line.as_ref(), |w| {
            line_words.push(w.to_string());
        });
        if line_words.len() < 10 {
            continue;
        }
        for w in line_words.drain(..) {
            if w.chars().count() <= 4 && !w.bytes().all(|b| b.is_ascii_digit())
            {
                *freq.entry(w).or_default() += 1;
            }
        }
    }
    let mut ranked: Vec<(String, u32)> = freq.into_iter().collect();
    ranked.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    ranked.into_iter().take(LEARNED).map(|(w, _)| w).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::ProptestConfig;

    #[test]
    fn detects_listed_languages() {
        let de = ["Die Regierung hat am Montag mitgeteilt, dass sie die \
                   Pläne für das neue Gesetz nicht weiter verfolgen wird."];
        assert_eq!(detect(&de).lang, Lang::De);
        let ru = ["Министр заявил, что переговоры будут продолжены и что \
                   стороны готовы встретиться снова в следующем месяце."];
        assert_eq!(detect(&ru).lang, Lang::Ru);
        let zh =
            ["政府周一表示，将继续推进这项新的法律，并在下个月举行会议。"];
        assert_eq!(detect(&zh).lang, Lang::Cjk);
    }

    /// Words as first defined: `str::split` on non-word characters,
    /// lowercased by `str::to_lowercase` unless ASCII and over 24 bytes.
    fn words_reference(line: &str) -> Vec<String> {
        line.split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '_'))
            .filter(|w| !w.is_empty())
            .map(|w| {
                let keep = !w.chars().any(char::is_uppercase)
                    || (w.is_ascii() && w.len() > 24);
                if keep {
                    w.to_string()
                } else {
                    w.to_lowercase()
                }
            })
            .collect()
    }

    /// The lists as a plain map, as they were first looked up.
    fn bits_reference(word: &str) -> u16 {
        let mut bits = 0;
        for (i, &(_, list)) in LISTS.iter().enumerate() {
            if list.split_whitespace().any(|w| w == word) {
                bits |= 1 << i;
            }
        }
        bits
    }

    #[test]
    fn ascii_flags_is_exact_per_byte() {
        for (lo, hi) in [(b'A', b'Z'), (b'0', b'9'), (b'_', b'_'), (0, 0x7f)] {
            for b in 0..=255u8 {
                for other in [0u8, b'A', b'Z', b'_', 0x7f, 0x80, 0xff, b] {
                    for at in 0..8 {
                        let mut block = [other; 8];
                        block[at] = b;
                        let x = u64::from_le_bytes(block);
                        let flags = ascii_flags(x, lo, hi);
                        for (k, &y) in block.iter().enumerate() {
                            let got = flags >> (8 * k + 7) & 1 == 1;
                            let want = y.is_ascii() && (lo..=hi).contains(&y);
                            assert_eq!(got, want, "{block:?} at {k}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn pack_is_the_bytes_zero_padded() {
        let text = "Ab\u{e9}Ж7'_xyzQRSTUVW".as_bytes();
        for start in 0..text.len() {
            for end in start..text.len().min(start + 16) + 1 {
                let word = &text[start..end];
                let mut padded = [0u8; 16];
                padded[..word.len()].copy_from_slice(word);
                assert_eq!(pack(word), u128::from_le_bytes(padded));
            }
        }
    }

    #[test]
    fn pack_ascii_lowercase_matches_pack() {
        let text = b"AbCdEfGhIjKlM'_09@[`{";
        for start in 0..text.len() {
            for end in start..text.len().min(start + MAX_STOPWORD) + 1 {
                let word = &text[start..end];
                let want = pack(&word.to_ascii_lowercase());
                assert_eq!(pack_ascii_lowercase(word), want, "{word:?}");
            }
        }
    }

    /// What [`StopTable::get_other`] counts on to rule out long words
    /// of one- and two-byte characters.
    #[test]
    fn short_characters_lowercase_to_no_fewer_bytes() {
        for c in (0..0x800).filter_map(char::from_u32) {
            let lower: usize = c.to_lowercase().map(char::len_utf8).sum();
            assert!(lower >= c.len_utf8(), "{c:?}");
        }
    }

    #[test]
    fn long_two_byte_words_are_on_no_list() {
        // Six letters are twelve bytes: on the list, and the cut.
        for w in ["ТОЛЬКО", "только", "Только"] {
            let got = STOPWORDS.get_other(w);
            assert_eq!(got, bits_reference("только"), "{w}");
        }
        for w in ["толькоы", "ТОЛЬКОЫ", "Éééééééé", "ééééééé"]
        {
            assert_eq!(STOPWORDS.get_other(w), 0, "{w}");
        }
    }

    #[test]
    fn stop_table_holds_every_listed_word() {
        for &(_, list) in LISTS {
            for w in list.split_whitespace() {
                assert_eq!(word_bits(w), bits_reference(w), "{w}");
                if w.is_ascii() {
                    let upper = w.to_ascii_uppercase();
                    let got = STOPWORDS.get_ascii(upper.as_bytes());
                    assert_eq!(got, bits_reference(w), "{w}");
                }
            }
        }
        for w in ["", "x", "thee", "dass_", "только1", "abcdefghijkl"] {
            assert_eq!(word_bits(w), 0, "{w}");
        }
    }

    proptest::proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn words_match_reference(line in crate::strip::tricky::line()) {
            let mut words = Vec::new();
            for_each_word(&line, |w| words.push(w.to_string()));
            proptest::prop_assert_eq!(&words, &words_reference(&line));
            let mut bits = Vec::new();
            for_each_word_bits(&line, |b| bits.push(b));
            let want: Vec<u16> = words
                .iter()
                .map(|w| if w.len() > 12 { 0 } else { bits_reference(w) })
                .collect();
            proptest::prop_assert_eq!(bits, want);
        }
    }

    /// What [`super::scan::LineScan`] does not decode as possible Han, kana
    /// or particles holds none.
    #[test]
    fn cjk_and_particles_have_three_byte_leads_from_e3() {
        for c in (0..=0x10ffff).filter_map(char::from_u32) {
            if is_cjk(c) || is_cjk_particle(c) {
                let mut utf8 = [0u8; 4];
                let lead = c.encode_utf8(&mut utf8).as_bytes()[0];
                assert!(c.len_utf8() == 3 && lead >= 0xe3, "{c:?}");
                assert!(is_cjk(c) || c == '、', "{c:?}");
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn lowercase_into_is_to_lowercase(
            line in crate::strip::tricky::line(),
        ) {
            let mut buf = String::from("left over");
            proptest::prop_assert_eq!(
                lowercase_into(&line, &mut buf),
                line.to_lowercase()
            );
        }
    }

    #[test]
    fn learns_stopwords_of_unlisted_languages() {
        let tr =
            ["Bakan yaptığı açıklamada bu konunun çok önemli olduğunu ve \
                   bu konuda bir karar verileceğini bu hafta söyledi ve bu \
                   konu bir kez daha gündeme geldi."];
        let s = detect(&tr);
        assert_eq!(s.lang, Lang::Other);
        assert!(s.contains("bu") && s.contains("ve"));
    }
}
