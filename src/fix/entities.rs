//! HTML character references: `&amp;`, `&eacute;`, `&#233;`, `&#xE9;`.
//!
//! Only complete references ending in `;` are decoded (a bare `&amp` in
//! text is more often a literal than an entity). Named references use the
//! full HTML5 table, plus upper-case spellings of lower-case names such as
//! `&EACUTE;`, which come from systems that upper-cased whole lines.

use super::codecs::sloppy_windows_1252;
use super::tables::HTML_ENTITIES;

/// The longest reference body (between `&` and `;`) that is considered.
const MAX_BODY: usize = 24;

/// Decodes the character references in `text`; `None` if there were none.
pub(super) fn unescape_html(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = String::new();
    let mut copied = 0;
    let mut pos = 0;
    let mut changed = false;
    while let Some(found) = memchr::memchr(b'&', &bytes[pos..]) {
        let amp = pos + found;
        let Some(end) = reference_end(bytes, amp) else {
            pos = amp + 1;
            continue;
        };
        let reference = &text[amp..=end];
        if let Some(replacement) = decode_reference(reference) {
            out.push_str(&text[copied..amp]);
            out.push_str(&replacement);
            copied = end + 1;
            changed = true;
        }
        pos = end + 1;
    }
    if !changed {
        return None;
    }
    out.push_str(&text[copied..]);
    Some(out)
}

/// Index of the `;` closing a reference that starts at `amp`: an optional
/// `#`, then 1 to 24 ASCII letters or digits.
fn reference_end(bytes: &[u8], amp: usize) -> Option<usize> {
    let mut i = amp + 1;
    if bytes.get(i) == Some(&b'#') {
        i += 1;
    }
    let start = i;
    while i < bytes.len()
        && bytes[i].is_ascii_alphanumeric()
        && i - start < MAX_BODY
    {
        i += 1;
    }
    (i > start && bytes.get(i) == Some(&b';')).then_some(i)
}

/// The text a whole reference (`&...;`) stands for, if it is one.
fn decode_reference(reference: &str) -> Option<String> {
    let name = &reference[1..];
    if let Some(body) = name.strip_prefix('#') {
        return decode_numeric(&body[..body.len() - 1]);
    }
    HTML_ENTITIES
        .binary_search_by(|&(n, _)| n.as_bytes().cmp(name.as_bytes()))
        .ok()
        .map(|i| HTML_ENTITIES[i].1.to_string())
}

/// A numeric reference, decoded the way HTML5 parsers do: C1 numbers mean
/// Windows-1252, out-of-range numbers and surrogates give U+FFFD, and
/// noncharacters and most controls give nothing.
fn decode_numeric(body: &str) -> Option<String> {
    let (digits, radix) = match body.strip_prefix(['x', 'X']) {
        Some(hex) => (hex, 16),
        None => (body, 10),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    // Saturate: anything this large is out of range anyway.
    let num = digits
        .chars()
        .try_fold(0u32, |n, c| {
            n.checked_mul(radix)?.checked_add(c.to_digit(radix)?)
        })
        .unwrap_or(u32::MAX);
    let text = match num {
        0 => "\u{fffd}".to_string(),
        0x0d => "\r".to_string(),
        0x80..=0x9f => {
            sloppy_windows_1252().decode_byte(num as u8).to_string()
        }
        0xd800..=0xdfff => "\u{fffd}".to_string(),
        n if n > 0x10ffff => "\u{fffd}".to_string(),
        0x01..=0x08 | 0x0b | 0x0e..=0x1f | 0x7f | 0xfdd0..=0xfdef => {
            String::new()
        }
        n if n & 0xfffe == 0xfffe => String::new(),
        n => char::from_u32(n)?.to_string(),
    };
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references() {
        let un = |s: &str| unescape_html(s).unwrap_or_else(|| s.to_string());
        assert_eq!(un("a &amp; b"), "a & b");
        assert_eq!(un("&EACUTE;t&eacute;"), "Été");
        assert_eq!(un("&#233;&#xE9;&#X41;"), "ééA");
        assert_eq!(un("&#128;"), "€");
        assert_eq!(
            un("&#0;&#xD800;&#99999999999;"),
            "\u{fffd}\u{fffd}\u{fffd}"
        );
        assert_eq!(un("&#1;x&#xFFFF;"), "x");
        assert_eq!(
            un("&nosuch; &amp &#12ab; & ;"),
            "&nosuch; &amp &#12ab; & ;"
        );
        assert_eq!(un("&&amp;;"), "&&;");
        assert_eq!(unescape_html("no refs"), None);
    }
}
