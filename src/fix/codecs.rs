//! The single-byte codecs that UTF-8 gets mistaken for, and the UTF-8
//! decoders used to read the recovered bytes back.
//!
//! "Sloppy" codecs decode every byte: the bytes Windows leaves undefined
//! map to the Latin-1 code point of the same number (that is what most
//! real-world decoders did when they produced the mojibake), and byte 0x1A
//! (ASCII SUB) stands for U+FFFD, so that a replacement character in
//! mojibake can be turned back into a byte and recognised as a lost one.

use std::sync::LazyLock;

use super::tables::{CODEC_HIGH, CODEC_NAMES, CODEC_SLOPPY};

/// One single-byte codec: a table for bytes 0x80..=0xFF and its inverse.
pub(super) struct Codec {
    /// The ftfy name of the codec, used in explanations.
    pub name: &'static str,
    /// Byte 0x1A stands for U+FFFD, undefined bytes for Latin-1.
    pub sloppy: bool,
    high: &'static [char; 128],
    /// The byte of each character below U+0100 (0: none).
    reverse_latin: [u8; 256],
    /// The bytes of the other characters, sorted by character.
    reverse_other: Vec<(char, u8)>,
}

impl Codec {
    fn new(index: usize) -> Codec {
        let high = &CODEC_HIGH[index];
        let mut reverse_latin = [0; 256];
        let mut reverse_other: Vec<(char, u8)> = Vec::new();
        // Should a character have two bytes, the later one is kept.
        for (i, &c) in high.iter().enumerate() {
            let byte = 0x80 + i as u8;
            if let Some(slot) = reverse_latin.get_mut(c as usize) {
                *slot = byte;
            } else {
                reverse_other.retain(|&(other, _)| other != c);
                reverse_other.push((c, byte));
            }
        }
        reverse_other.sort_unstable();
        Codec {
            name: CODEC_NAMES[index],
            sloppy: CODEC_SLOPPY[index],
            high,
            reverse_latin,
            reverse_other,
        }
    }

    /// The character that byte `b` decodes to.
    pub fn decode_byte(&self, b: u8) -> char {
        if b >= 0x80 {
            self.high[usize::from(b - 0x80)]
        } else if b == 0x1a && self.sloppy {
            '\u{fffd}'
        } else {
            char::from(b)
        }
    }

    /// Encodes `text`, or `None` if some character has no byte here.
    pub fn encode(&self, text: &str) -> Option<Vec<u8>> {
        let mut out = Vec::with_capacity(text.len());
        for c in text.chars() {
            out.push(self.encode_char(c)?);
        }
        Some(out)
    }

    fn encode_char(&self, c: char) -> Option<u8> {
        if c.is_ascii() {
            // In a sloppy codec byte 0x1A means U+FFFD, so SUB itself
            // cannot be written.
            if self.sloppy && c == '\x1a' {
                return None;
            }
            return Some(c as u8);
        }
        if self.sloppy && c == '\u{fffd}' {
            return Some(0x1a);
        }
        match self.reverse_latin.get(c as usize) {
            Some(&0) => None,
            Some(&byte) => Some(byte),
            None => self
                .reverse_other
                .binary_search_by_key(&c, |&(other, _)| other)
                .ok()
                .map(|i| self.reverse_other[i].1),
        }
    }
}

/// The codecs in the order they are tried (ftfy's order: the most common
/// mix-ups first, so that an ambiguous text gets the likelier reading).
pub(super) static CODECS: LazyLock<Vec<Codec>> =
    LazyLock::new(|| (0..CODEC_NAMES.len()).map(Codec::new).collect());

/// Latin-1 is the first codec.
pub(super) fn latin1() -> &'static Codec {
    &CODECS[0]
}

/// Sloppy Windows-1252 is the second codec.
pub(super) fn sloppy_windows_1252() -> &'static Codec {
    &CODECS[1]
}

/// Decodes UTF-8 strictly; with `variants`, also accepts the CESU-8 /
/// Java "modified UTF-8" forms: surrogate pairs encoded as two 3-byte
/// sequences, and `C0 80` for NUL. Lone surrogates are still errors.
pub(super) fn decode_utf8(bytes: Vec<u8>, variants: bool) -> Option<String> {
    if !variants {
        return String::from_utf8(bytes).ok();
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == 0xc0 && bytes.get(i + 1) == Some(&0x80) {
            out.push(0);
            i += 2;
            continue;
        }
        if b == 0xed && i + 6 <= bytes.len() {
            let s = &bytes[i..i + 6];
            if (0xa0..=0xaf).contains(&s[1])
                && is_cont(s[2])
                && s[3] == 0xed
                && (0xb0..=0xbf).contains(&s[4])
                && is_cont(s[5])
            {
                let high = 0xd000
                    | (u32::from(s[1] & 0x3f) << 6)
                    | u32::from(s[2] & 0x3f);
                let low = 0xd000
                    | (u32::from(s[4] & 0x3f) << 6)
                    | u32::from(s[5] & 0x3f);
                let cp = 0x10000 + ((high - 0xd800) << 10) + (low - 0xdc00);
                let c = char::from_u32(cp)?;
                let mut buf = [0; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                i += 6;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    String::from_utf8(out).ok()
}

fn is_cont(b: u8) -> bool {
    (0x80..=0xbf).contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sloppy_1252_round_trip() {
        let codec = sloppy_windows_1252();
        for b in 0u8..=255 {
            let c = codec.decode_byte(b);
            assert_eq!(codec.encode_char(c), Some(b), "byte {b:#x}");
        }
        assert_eq!(codec.decode_byte(0x81), '\u{81}');
        assert_eq!(codec.decode_byte(0x80), '€');
    }

    #[test]
    fn cesu8_pair() {
        let bytes = vec![0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x8a];
        assert_eq!(decode_utf8(bytes.clone(), true).as_deref(), Some("😊"));
        assert_eq!(decode_utf8(bytes, false), None);
        assert_eq!(decode_utf8(vec![0xc0, 0x80], true).as_deref(), Some("\0"));
        assert_eq!(decode_utf8(vec![b'a', 0xed, 0xa0, 0x80], true), None);
    }
}
