//! Unicode character properties, fast.
//!
//! The strip stage asks, of every non-ASCII character of every line,
//! whether it is a letter, a digit or uppercase, and what its lowercase
//! is. The standard library answers from compressed tables with a search
//! per call, which in Cyrillic, Greek or Han text costs more than all
//! the rest of the work on a line. Here the answers for the Basic
//! Multilingual Plane are read once from the standard library into flat
//! tables, so every answer is the standard library's own; characters
//! beyond the plane still ask it.

use std::sync::LazyLock;

const ALPHABETIC: u8 = 1;
const ALPHANUMERIC: u8 = 2;
const UPPERCASE: u8 = 4;
const WHITESPACE: u8 = 8;
/// `to_lowercase` gives something other than the character itself.
const LOWERS: u8 = 16;

/// Lowercases kept in [`Tables::lower`]: the two-byte UTF-8 range,
/// where Latin, Greek and Cyrillic capitals live.
const LOWER_TABLE: usize = 0x800;

struct Tables {
    /// Flags of every BMP character (surrogates have none).
    flags: Box<[u8; 0x10000]>,
    /// The lowercase of a character below [`LOWER_TABLE`] when it is one
    /// character of that range; 0 sends the caller to std.
    lower: Box<[u16; LOWER_TABLE]>,
}

static TABLES: LazyLock<Tables> = LazyLock::new(|| {
    let mut flags = Box::new([0u8; 0x10000]);
    let mut lower = Box::new([0u16; LOWER_TABLE]);
    for c in (0..=0xffff).filter_map(char::from_u32) {
        let f = &mut flags[c as usize];
        *f |= ALPHABETIC * c.is_alphabetic() as u8;
        *f |= ALPHANUMERIC * c.is_alphanumeric() as u8;
        *f |= UPPERCASE * c.is_uppercase() as u8;
        *f |= WHITESPACE * c.is_whitespace() as u8;
        *f |= LOWERS * !c.to_lowercase().eq([c]) as u8;
        if (c as usize) < LOWER_TABLE {
            let mut lowercase = c.to_lowercase();
            if let (Some(l), None) = (lowercase.next(), lowercase.next()) {
                if (l as usize) < LOWER_TABLE {
                    lower[c as usize] = l as u16;
                }
            }
        }
    }
    Tables { flags, lower }
});

/// The std character properties from tables; copy it into loops.
#[derive(Clone, Copy)]
pub(crate) struct CharInfo(&'static Tables);

impl CharInfo {
    pub(crate) fn new() -> CharInfo {
        CharInfo(&TABLES)
    }

    #[inline]
    fn has(self, c: char, flag: u8) -> Option<bool> {
        let flags = self.0.flags.get(c as usize)?;
        Some(flags & flag != 0)
    }

    /// `char::is_alphabetic`.
    #[inline]
    pub(crate) fn is_alphabetic(self, c: char) -> bool {
        self.has(c, ALPHABETIC).unwrap_or_else(|| c.is_alphabetic())
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

    /// `char::is_whitespace`.
    #[inline]
    pub(crate) fn is_whitespace(self, c: char) -> bool {
        self.has(c, WHITESPACE).unwrap_or_else(|| c.is_whitespace())
    }

    /// Calls `f` with each character of `char::to_lowercase(c)`.
    #[inline]
    pub(crate) fn lowercase(self, c: char, mut f: impl FnMut(char)) {
        if self.has(c, LOWERS) == Some(false) {
            return f(c);
        }
        let one = self.0.lower.get(c as usize).copied().unwrap_or(0);
        match char::from_u32(one as u32) {
            Some(l) if one != 0 => f(l),
            _ => c.to_lowercase().for_each(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_answer_is_std() {
        let info = CharInfo::new();
        for c in (0..=0x10ffff).filter_map(char::from_u32) {
            assert_eq!(info.is_alphabetic(c), c.is_alphabetic(), "{c:?}");
            assert_eq!(info.is_alphanumeric(c), c.is_alphanumeric(), "{c:?}");
            assert_eq!(info.is_uppercase(c), c.is_uppercase(), "{c:?}");
            assert_eq!(info.is_whitespace(c), c.is_whitespace(), "{c:?}");
            let mut lower = String::new();
            info.lowercase(c, |l| lower.push(l));
            assert_eq!(lower, c.to_lowercase().to_string(), "{c:?}");
        }
    }
}
