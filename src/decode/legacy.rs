//! Encodings that `encoding_rs` lacks (UTF-32, IBM855, Johab, ISO-2022-KR)
//! and one type, [`Codec`], over them and the `encoding_rs` encodings.

use std::borrow::Cow;

use encoding_rs::Encoding;

use super::tables::IBM855_HIGH;

/// An encoding the decoder can decode with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Codec {
    /// Any encoding of `encoding_rs` (WHATWG Encoding Standard).
    Rs(&'static Encoding),
    /// UTF-32, little-endian.
    Utf32Le,
    /// UTF-32, big-endian.
    Utf32Be,
    /// IBM855 (DOS Cyrillic).
    Ibm855,
    /// Johab (KS X 1001 annex 3, combinational Korean).
    Johab,
    /// ISO-2022-KR (RFC 1557).
    Iso2022Kr,
}

impl Codec {
    /// The encoding named by `label`: a WHATWG label or one of the extra
    /// labels of the encodings above.
    pub(crate) fn for_label(label: &str) -> Option<Codec> {
        let l = label.trim().to_ascii_lowercase();
        let extra = match l.as_str() {
            "utf-32" | "utf32" | "utf-32le" | "utf32le" | "utf-32-le"
            | "ucs-4" | "ucs-4le" => Some(Codec::Utf32Le),
            "utf-32be" | "utf32be" | "utf-32-be" | "ucs-4be" => {
                Some(Codec::Utf32Be)
            }
            "ibm855" | "cp855" | "855" | "csibm855" | "ibm-855" => {
                Some(Codec::Ibm855)
            }
            "johab" | "cp1361" | "ms1361" | "x-johab" => Some(Codec::Johab),
            "iso-2022-kr" | "iso2022-kr" | "iso2022_kr" | "csiso2022kr" => {
                Some(Codec::Iso2022Kr)
            }
            "mac-cyrillic" | "mac_cyrillic" | "maccyrillic" => {
                Some(Codec::Rs(encoding_rs::X_MAC_CYRILLIC))
            }
            "cp866" | "ibm-866" => Some(Codec::Rs(encoding_rs::IBM866)),
            _ => None,
        };
        extra.or_else(|| Encoding::for_label(l.as_bytes()).map(Codec::Rs))
    }

    /// The encoding's name (the WHATWG name where there is one).
    pub(crate) fn name(self) -> &'static str {
        match self {
            Codec::Rs(e) => e.name(),
            Codec::Utf32Le => "UTF-32LE",
            Codec::Utf32Be => "UTF-32BE",
            Codec::Ibm855 => "IBM855",
            Codec::Johab => "Johab",
            Codec::Iso2022Kr => "ISO-2022-KR",
        }
    }

    /// True for encodings with one byte per character, ASCII-compatible.
    pub(crate) fn is_single_byte(self) -> bool {
        match self {
            Codec::Rs(e) => e.is_single_byte(),
            Codec::Ibm855 => true,
            _ => false,
        }
    }

    /// Decodes `bytes` (no BOM handling); the flag says whether anything
    /// became U+FFFD.
    pub(crate) fn decode(self, bytes: &[u8]) -> (Cow<'_, str>, bool) {
        match self {
            Codec::Rs(e) => e.decode_without_bom_handling(bytes),
            Codec::Utf32Le => owned(decode_utf32(bytes, false)),
            Codec::Utf32Be => owned(decode_utf32(bytes, true)),
            Codec::Ibm855 => decode_ibm855(bytes),
            Codec::Johab => owned(decode_johab(bytes)),
            Codec::Iso2022Kr => owned(decode_iso2022kr(bytes)),
        }
    }

    /// The character a single byte decodes to, for single-byte encodings.
    pub(crate) fn byte_char(self, b: u8) -> char {
        if b < 0x80 {
            return b as char;
        }
        match self {
            Codec::Ibm855 => {
                char::from_u32(IBM855_HIGH[usize::from(b - 0x80)].into())
                    .unwrap_or('\u{FFFD}')
            }
            Codec::Rs(e) => {
                let buf = [b];
                let (s, _) = e.decode_without_bom_handling(&buf);
                s.chars().next().unwrap_or('\u{FFFD}')
            }
            _ => '\u{FFFD}',
        }
    }
}

fn owned((s, lossy): (String, bool)) -> (Cow<'static, str>, bool) {
    (Cow::Owned(s), lossy)
}

fn decode_utf32(bytes: &[u8], big_endian: bool) -> (String, bool) {
    let mut out = String::with_capacity(bytes.len() / 4 + 4);
    let mut lossy = false;
    let mut units = bytes.chunks_exact(4);
    for unit in &mut units {
        let arr = [unit[0], unit[1], unit[2], unit[3]];
        let v = if big_endian {
            u32::from_be_bytes(arr)
        } else {
            u32::from_le_bytes(arr)
        };
        match char::from_u32(v) {
            Some(c) => out.push(c),
            None => {
                out.push('\u{FFFD}');
                lossy = true;
            }
        }
    }
    if !units.remainder().is_empty() {
        out.push('\u{FFFD}');
        lossy = true;
    }
    (out, lossy)
}

fn decode_ibm855(bytes: &[u8]) -> (Cow<'_, str>, bool) {
    if bytes.is_ascii() {
        return (
            Cow::Borrowed(std::str::from_utf8(bytes).unwrap_or("")),
            false,
        );
    }
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(Codec::Ibm855.byte_char(b));
    }
    (Cow::Owned(out), false)
}

/// Johab jamo for the 5-bit initial, medial and final fields: the
/// compatibility jamo shown when a field stands alone (0: none).
const JOHAB_CHO_JAMO: [u16; 32] = [
    0, 0, 0x3131, 0x3132, 0x3134, 0x3137, 0x3138, 0x3139, 0x3141, 0x3142,
    0x3143, 0x3145, 0x3146, 0x3147, 0x3148, 0x3149, 0x314A, 0x314B, 0x314C,
    0x314D, 0x314E, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
];
const JOHAB_JUNG_JAMO: [u16; 32] = [
    0, 0, 0, 0x314F, 0x3150, 0x3151, 0x3152, 0x3153, 0, 0, 0x3154, 0x3155,
    0x3156, 0x3157, 0x3158, 0x3159, 0, 0, 0x315A, 0x315B, 0x315C, 0x315D,
    0x315E, 0x315F, 0, 0, 0x3160, 0x3161, 0x3162, 0x3163, 0, 0,
];
const JOHAB_JONG_JAMO: [u16; 32] = [
    0, 0, 0x3131, 0x3132, 0x3133, 0x3134, 0x3135, 0x3136, 0x3137, 0x3139,
    0x313A, 0x313B, 0x313C, 0x313D, 0x313E, 0x313F, 0x3140, 0x3141, 0, 0x3142,
    0x3144, 0x3145, 0x3146, 0x3147, 0x3148, 0x314A, 0x314B, 0x314C, 0x314D,
    0x314E, 0, 0,
];

const FILL: i8 = -2;
const NONE: i8 = -1;

fn johab_cho(v: u16) -> i8 {
    match v {
        1 => FILL,
        2..=20 => (v - 2) as i8,
        _ => NONE,
    }
}

fn johab_jung(v: u16) -> i8 {
    match v {
        2 => FILL,
        3..=7 => (v - 3) as i8,
        10..=15 => (v - 5) as i8,
        18..=23 => (v - 7) as i8,
        26..=29 => (v - 9) as i8,
        _ => NONE,
    }
}

fn johab_jong(v: u16) -> i8 {
    match v {
        1 => FILL,
        2..=17 => (v - 1) as i8,
        19..=29 => (v - 2) as i8,
        _ => NONE,
    }
}

/// One Johab double-byte character (lead >= 0x84), as CPython decodes it.
pub(crate) fn johab_pair(lead: u8, trail: u8) -> Option<char> {
    if lead < 0xD8 {
        let code = u16::from(lead) << 8 | u16::from(trail);
        let (c, j, f) = ((code >> 10) & 0x1F, (code >> 5) & 0x1F, code & 0x1F);
        let (ic, ij, jf) = (johab_cho(c), johab_jung(j), johab_jong(f));
        if ic == NONE || ij == NONE || jf == NONE {
            return None;
        }
        let cp: u32 = match (ic == FILL, ij == FILL, jf == FILL) {
            (true, true, true) => 0x3000,
            (true, true, false) => JOHAB_JONG_JAMO[usize::from(f)].into(),
            (true, false, true) => JOHAB_JUNG_JAMO[usize::from(j)].into(),
            (true, false, false) => return None,
            (false, true, true) => JOHAB_CHO_JAMO[usize::from(c)].into(),
            (false, true, false) => return None,
            (false, false, _) => {
                let jong = if jf == FILL { 0 } else { jf as u32 };
                0xAC00 + ic as u32 * 588 + ij as u32 * 28 + jong
            }
        };
        return char::from_u32(cp);
    }
    if lead == 0xD8
        || lead == 0xDF
        || lead > 0xF9
        || trail < 0x31
        || (0x80..0x91).contains(&trail)
        || trail & 0x7F == 0x7F
        || (lead == 0xDA && (0xA1..=0xD3).contains(&trail))
    {
        return None;
    }
    let t1 = if lead < 0xE0 {
        2 * (u32::from(lead) - 0xD9)
    } else {
        2 * u32::from(lead) - 0x197
    };
    let t2 = if trail < 0x91 {
        u32::from(trail) - 0x31
    } else {
        u32::from(trail) - 0x43
    };
    let (row, cell) = if t2 < 0x5E {
        (t1 + 0x21, t2 + 0x21)
    } else {
        (t1 + 0x22, t2 - 0x5E + 0x21)
    };
    ksx1001(row as u8, cell as u8)
}

/// A KS X 1001 character by row and cell bytes (0x21..=0x7E each).
fn ksx1001(row: u8, cell: u8) -> Option<char> {
    if !(0x21..=0x7E).contains(&row) || !(0x21..=0x7E).contains(&cell) {
        return None;
    }
    let buf = [row | 0x80, cell | 0x80];
    let (s, _, had_errors) = encoding_rs::EUC_KR.decode(&buf);
    let mut chars = s.chars();
    match (had_errors, chars.next(), chars.next()) {
        (false, Some(c), None) => Some(c),
        _ => None,
    }
}

/// Decodes Johab; also reports how many double-byte characters were read.
pub(crate) fn decode_johab_counted(bytes: &[u8]) -> (String, bool, usize) {
    let mut out = String::with_capacity(bytes.len() * 2);
    let mut lossy = false;
    let mut pairs = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b < 0x80 {
            out.push(b as char);
            i += 1;
        } else if b >= 0x84 && i + 1 < bytes.len() {
            match johab_pair(b, bytes[i + 1]) {
                Some(c) => {
                    out.push(c);
                    pairs += 1;
                    i += 2;
                }
                None => {
                    out.push('\u{FFFD}');
                    lossy = true;
                    i += 1;
                }
            }
        } else {
            out.push('\u{FFFD}');
            lossy = true;
            i += 1;
        }
    }
    (out, lossy, pairs)
}

fn decode_johab(bytes: &[u8]) -> (String, bool) {
    let (s, lossy, _) = decode_johab_counted(bytes);
    (s, lossy)
}

/// The designation that starts ISO-2022-KR text.
pub(crate) const ISO2022KR_DESIGNATOR: &[u8] = b"\x1b$)C";

fn decode_iso2022kr(bytes: &[u8]) -> (String, bool) {
    let mut out = String::with_capacity(bytes.len() * 2);
    let mut lossy = false;
    let mut shifted = false;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if bytes[i..].starts_with(ISO2022KR_DESIGNATOR) {
            i += ISO2022KR_DESIGNATOR.len();
            continue;
        }
        match b {
            0x0E => shifted = true,
            0x0F => shifted = false,
            0x21..=0x7E if shifted => {
                let c = bytes.get(i + 1).and_then(|&t| ksx1001(b, t));
                match c {
                    Some(c) => {
                        out.push(c);
                        i += 1;
                    }
                    None => {
                        out.push('\u{FFFD}');
                        lossy = true;
                    }
                }
            }
            0x00..=0x7F => {
                if b == b'\n' {
                    shifted = false;
                }
                out.push(b as char);
            }
            _ => {
                out.push('\u{FFFD}');
                lossy = true;
            }
        }
        i += 1;
    }
    (out, lossy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf32_both_orders() {
        let le = [0x41, 0, 0, 0, 0x00, 0xF6, 0x01, 0x00];
        assert_eq!(Codec::Utf32Le.decode(&le).0, "A\u{1F600}");
        let be = [0, 0, 0, 0x41, 0x00, 0x01, 0xF6, 0x00];
        assert_eq!(Codec::Utf32Be.decode(&be), ("A\u{1F600}".into(), false));
        assert!(Codec::Utf32Le.decode(&[0, 0, 0x11, 0]).1);
    }

    #[test]
    fn johab_hangul_and_symbols() {
        // 한 = 0xD065 and 글 = 0x8B69 in Johab.
        assert_eq!(johab_pair(0xD0, 0x65), Some('한'));
        assert_eq!(johab_pair(0x8B, 0x69), Some('글'));
        assert_eq!(johab_pair(0x88, 0x41), Some('\u{3131}'));
        assert_eq!(johab_pair(0xDF, 0x41), None);
    }

    #[test]
    fn labels() {
        assert_eq!(Codec::for_label("CP855"), Some(Codec::Ibm855));
        assert_eq!(Codec::for_label("utf-32"), Some(Codec::Utf32Le));
        assert_eq!(Codec::for_label("johab"), Some(Codec::Johab));
        assert_eq!(Codec::for_label("iso-2022-kr"), Some(Codec::Iso2022Kr));
        assert_eq!(
            Codec::for_label("koi8-r"),
            Some(Codec::Rs(encoding_rs::KOI8_R))
        );
        assert_eq!(Codec::for_label("nope"), None);
    }
}
