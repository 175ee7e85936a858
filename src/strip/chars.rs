//! Unicode character properties, fast.
//!
//! The strip stage asks, of every non-ASCII character of every line,
//! whether it is a letter, a digit or uppercase, and what its lowercase
//! is. The standard library answers from compressed tables with a search
//! per call, which in Cyrillic, Greek or Han text costs more than all
//! the rest of the work on a line. Here the answers for the Basic
//! Multilingual Plane are read from the standard library into flat
//! tables, a page of 256 characters at a time when a page is first
//! asked about, so every answer is the standard library's own and a
//! process pays only for the scripts it meets. Characters beyond the
//! plane still ask the standard library.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

const ALPHABETIC: u8 = 1;
const ALPHANUMERIC: u8 = 2;
const UPPERCASE: u8 = 4;
const WHITESPACE: u8 = 8;
/// `to_lowercase` gives something other than the character itself.
const LOWERS: u8 = 16;

/// One page of 256 characters.
struct Page {
    flags: [u8; 256],
    /// The lowercase when it is one BMP character; 0 sends the caller
    /// to std.
    lower: [u16; 256],
}

impl Page {
    fn read(page: u32) -> Page {
        let mut flags = [0u8; 256];
        let mut lower = [0u16; 256];
        for i in 0..256 {
            // Surrogates are no characters: no flags.
            let Some(c) = char::from_u32(page << 8 | i as u32) else {
                continue;
            };
            // Each property asked of std once (`is_alphanumeric` is
            // `is_alphabetic` or `is_numeric`): a page takes 256 of
            // these searches, and a run reads a hundred pages or more.
            let alphabetic = c.is_alphabetic();
            let mut f = ALPHABETIC * alphabetic as u8;
            f |= ALPHANUMERIC * (alphabetic || c.is_numeric()) as u8;
            f |= UPPERCASE * c.is_uppercase() as u8;
            f |= WHITESPACE * c.is_whitespace() as u8;
            let mut lowercase = c.to_lowercase();
            match (lowercase.next(), lowercase.next()) {
                (Some(l), None) if l == c => {}
                (Some(l), None) => {
                    f |= LOWERS;
                    if l as u32 <= 0xffff {
                        lower[i] = l as u16;
                    }
                }
                _ => f |= LOWERS,
            }
            flags[i] = f;
        }
        Page { flags, lower }
    }
}

static PAGES: [OnceLock<Page>; 256] = [const { OnceLock::new() }; 256];

/// The std character properties from tables; copy it into loops.
#[derive(Clone, Copy)]
pub(crate) struct CharInfo;

impl CharInfo {
    pub(crate) fn new() -> CharInfo {
        CharInfo
    }

    /// The page of a BMP character, read on first use.
    #[inline]
    fn page(self, c: char) -> Option<&'static Page> {
        let page = PAGES.get(c as usize >> 8)?;
        Some(page.get_or_init(|| Page::read(c as u32 >> 8)))
    }

    #[inline]
    fn has(self, c: char, flag: u8) -> Option<bool> {
        let flags = self.page(c)?.flags[c as usize & 0xff];
        Some(flags & flag != 0)
    }

    /// What the tables know of `c`, from one lookup; `None` beyond the
    /// Basic Multilingual Plane.
    #[inline]
    pub(crate) fn props(self, c: char) -> Option<Props> {
        let page = self.page(c)?;
        let i = c as usize & 0xff;
        Some(Props { flags: page.flags[i], lower: page.lower[i] })
    }

    /// `char::is_alphanumeric`.
    #[inline]
    pub(crate) fn is_alphanumeric(self, c: char) -> bool {
        self.has(c, ALPHANUMERIC).unwrap_or_else(|| c.is_alphanumeric())
    }

    /// `char::is_uppercase`.
    #[inline]
    pub(crate) fn is_uppercase(self, c: char) -> bool {
        self.has(c, UPPERCASE).unwrap_or_else(|| c.is_uppercase())
    }

    /// True when `char::to_lowercase(c)` is not `c` alone.
    #[inline]
    pub(crate) fn lowers(self, c: char) -> bool {
        self.has(c, LOWERS).unwrap_or_else(|| !c.to_lowercase().eq([c]))
    }

    /// Calls `f` with each character of `char::to_lowercase(c)`.
    #[inline]
    pub(crate) fn lowercase(self, c: char, mut f: impl FnMut(char)) {
        let Some(page) = self.page(c) else {
            return c.to_lowercase().for_each(f);
        };
        let i = c as usize & 0xff;
        if page.flags[i] & LOWERS == 0 {
            return f(c);
        }
        match char::from_u32(page.lower[i] as u32) {
            Some(l) if l != '\0' => f(l),
            _ => c.to_lowercase().for_each(f),
        }
    }
}

/// [`TwoByte`] of each two-byte character (U+0080 to U+07FF), learned
/// on first sight from the pages; 0 until then. Cyrillic, Greek and
/// accented Latin text is mostly such characters, and one load here
/// replaced decoding, the page lookup and encoding the lowercase.
/// Threads that learn one entry at once store the same value.
static TWO_BYTE: [AtomicU32; 0x800] = [const { AtomicU32::new(0) }; 0x800];

/// [`TWO_BYTE`] entries: learned.
const KNOWN: u32 = 1 << 31;
/// [`TWO_BYTE`] entries: the low sixteen bits are the character's
/// lowercase (the character itself where it has no other), one
/// two-byte character.
const LOWER_IS_TWO_BYTES: u32 = 1 << 30;

/// What the tables know of a two-byte character.
#[derive(Clone, Copy)]
pub(crate) struct TwoByte(u32);

impl TwoByte {
    /// The character's properties.
    #[inline]
    pub(crate) fn props(self) -> Props {
        let flags = (self.0 >> 16) as u8;
        // A lowercase other than the character, as the pages hold it;
        // 0 (ask std) where it is not one two-byte character.
        let lower =
            match flags & LOWERS != 0 && self.0 & LOWER_IS_TWO_BYTES != 0 {
                true => self.0 as u16,
                false => 0,
            };
        Props { flags, lower }
    }

    /// `char::to_lowercase` of the character when that is one two-byte
    /// character (the character itself where it has no other), as its
    /// two bytes.
    #[inline]
    pub(crate) fn lower_bytes(self) -> Option<[u8; 2]> {
        if self.0 & LOWER_IS_TWO_BYTES == 0 {
            return None;
        }
        let code = self.0 & 0x7ff;
        Some([0xc0 | (code >> 6) as u8, 0x80 | (code & 0x3f) as u8])
    }
}

impl CharInfo {
    /// What the tables know of the two-byte character whose bytes are
    /// `lead` (0xc2 to 0xdf) and `next`.
    #[inline(always)]
    pub(crate) fn two_byte(self, lead: u8, next: u8) -> TwoByte {
        debug_assert!((0xc2..=0xdf).contains(&lead) && next & 0xc0 == 0x80);
        let code = (lead as usize & 0x1f) << 6 | (next as usize & 0x3f);
        match TWO_BYTE[code].load(Ordering::Relaxed) {
            0 => self.learn_two_byte(code as u32),
            known => TwoByte(known),
        }
    }

    #[cold]
    fn learn_two_byte(self, code: u32) -> TwoByte {
        let c = char::from_u32(code).expect("two-byte characters are chars");
        let p = self.props(c).expect("two-byte characters are in the BMP");
        let lower = match p.lowers() {
            false => Some(c),
            true => p.single_lower(),
        };
        let two_bytes = lower.filter(|&l| l.len_utf8() == 2);
        let entry = KNOWN
            | (p.flags as u32) << 16
            | two_bytes.map_or(0, |l| LOWER_IS_TWO_BYTES | l as u32);
        TWO_BYTE[code as usize].store(entry, Ordering::Relaxed);
        TwoByte(entry)
    }
}

/// The character that starts at byte `i` of `text`, a non-ASCII byte
/// on a character boundary, and its length in bytes: decoded by hand,
/// as `text[i..].chars().next()` checks the boundary and the end anew.
/// Always inlined: the callers' loops, left to themselves, called it.
#[inline(always)]
pub(crate) fn decode_at(text: &str, i: usize) -> (char, usize) {
    let b = text.as_bytes();
    debug_assert!(b[i] >= 0x80 && text.is_char_boundary(i));
    let tail = |k: usize| (b[i + k] & 0x3f) as u32;
    let lead = b[i] as u32;
    let (code, len) = match lead {
        0x80..=0xdf => ((lead & 0x1f) << 6 | tail(1), 2),
        0xe0..=0xef => ((lead & 0x0f) << 12 | tail(1) << 6 | tail(2), 3),
        _ => ((lead & 0x07) << 18 | tail(1) << 12 | tail(2) << 6 | tail(3), 4),
    };
    // Valid UTF-8 always decodes to a char.
    (char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER), len)
}

/// One BMP character's properties, for loops that ask several
/// questions of each character.
#[derive(Clone, Copy)]
pub(crate) struct Props {
    flags: u8,
    lower: u16,
}

impl Props {
    /// `char::is_alphanumeric`.
    #[inline]
    pub(crate) fn is_alphanumeric(self) -> bool {
        self.flags & ALPHANUMERIC != 0
    }

    /// `char::is_alphabetic`.
    #[inline]
    pub(crate) fn is_alphabetic(self) -> bool {
        self.flags & ALPHABETIC != 0
    }

    /// `char::is_whitespace`.
    #[inline]
    pub(crate) fn is_whitespace(self) -> bool {
        self.flags & WHITESPACE != 0
    }

    /// `char::is_uppercase`.
    #[inline]
    pub(crate) fn is_uppercase(self) -> bool {
        self.flags & UPPERCASE != 0
    }

    /// True when `char::to_lowercase` does not give the character alone.
    #[inline]
    pub(crate) fn lowers(self) -> bool {
        self.flags & LOWERS != 0
    }

    /// The lowercase when [`Props::lowers`] and it is one BMP character;
    /// `None` when the caller must ask std.
    #[inline]
    pub(crate) fn single_lower(self) -> Option<char> {
        match self.lower {
            0 => None,
            l => char::from_u32(l as u32),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_at_matches_chars() {
        let text: String =
            (0x80..=0x10ffff).filter_map(char::from_u32).collect();
        let mut i = 0;
        for c in text.chars() {
            assert_eq!(decode_at(&text, i), (c, c.len_utf8()));
            i += c.len_utf8();
        }
    }

    #[test]
    fn two_byte_answers_are_std() {
        let info = CharInfo::new();
        for c in (0x80..0x800).filter_map(char::from_u32) {
            let mut utf8 = [0u8; 2];
            c.encode_utf8(&mut utf8);
            // Twice: as learned, and as read back.
            for _ in 0..2 {
                let t = info.two_byte(utf8[0], utf8[1]);
                let p = t.props();
                assert_eq!(p.is_alphanumeric(), c.is_alphanumeric(), "{c:?}");
                assert_eq!(p.is_alphabetic(), c.is_alphabetic(), "{c:?}");
                assert_eq!(p.is_uppercase(), c.is_uppercase(), "{c:?}");
                assert_eq!(p.is_whitespace(), c.is_whitespace(), "{c:?}");
                assert_eq!(p.lowers(), !c.to_lowercase().eq([c]), "{c:?}");
                let lower = c.to_lowercase().to_string();
                if let Some(l) = p.single_lower() {
                    assert!(c.to_lowercase().eq([l]), "{c:?}");
                }
                match t.lower_bytes() {
                    Some(bytes) => assert_eq!(&bytes[..], lower.as_bytes()),
                    None => assert_ne!(lower.len(), 2, "{c:?}"),
                }
            }
        }
    }

    #[test]
    fn every_answer_is_std() {
        let info = CharInfo::new();
        for c in (0..=0x10ffff).filter_map(char::from_u32) {
            assert_eq!(info.is_alphanumeric(c), c.is_alphanumeric(), "{c:?}");
            assert_eq!(info.is_uppercase(c), c.is_uppercase(), "{c:?}");
            assert_eq!(info.lowers(c), !c.to_lowercase().eq([c]), "{c:?}");
            let mut lower = String::new();
            info.lowercase(c, |l| lower.push(l));
            assert_eq!(lower, c.to_lowercase().to_string(), "{c:?}");
            if let Some(p) = info.props(c) {
                assert_eq!(p.is_alphabetic(), c.is_alphabetic(), "{c:?}");
                assert_eq!(p.is_whitespace(), c.is_whitespace(), "{c:?}");
                assert_eq!(p.is_uppercase(), c.is_uppercase(), "{c:?}");
                assert_eq!(p.is_alphanumeric(), c.is_alphanumeric(), "{c:?}");
                assert_eq!(p.lowers(), !c.to_lowercase().eq([c]), "{c:?}");
                if let Some(l) = p.single_lower() {
                    assert!(c.to_lowercase().eq([l]), "{c:?}");
                }
            }
        }
    }
}
