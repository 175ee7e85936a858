//! Encoding repair: undo UTF-8 that was decoded with a single-byte codec.
//!
//! One step: if the text looks bad (see [`super::badness`]), try each
//! codec in turn; the first one that can encode the whole text and whose
//! bytes then decode as UTF-8 wins. Steps repeat until the text is stable,
//! so double mojibake is undone too. When no codec fits the whole text,
//! runs of UTF-8-looking mojibake inside an otherwise good text are fixed
//! on their own, and lone C1 controls are read as Windows-1252.

use std::sync::LazyLock;

use regex::bytes::Regex;

use super::badness::is_bad;
use super::codecs::{decode_utf8, latin1, sloppy_windows_1252, CODECS};
use super::fixes::fix_c1_controls;
use super::tables::{
    UTF8_CONTINUATION, UTF8_CONTINUATION_STRICT, UTF8_FIRST_OF_2,
    UTF8_FIRST_OF_3, UTF8_FIRST_OF_4,
};
use super::{FixOptions, FixStep};

fn step(action: &'static str, parameter: &'static str) -> FixStep {
    FixStep { action, parameter }
}

/// Repairs the encoding until stable; `None` if nothing changed.
pub(super) fn fix_encoding(
    text: &str,
    options: &FixOptions,
    mut steps: Option<&mut Vec<FixStep>>,
) -> Option<String> {
    let mut current: Option<String> = None;
    loop {
        let text_now = current.as_deref().unwrap_or(text);
        let Some((fixed, plan)) = fix_one_step(text_now, options) else {
            return current;
        };
        if fixed == text_now {
            return current;
        }
        if let Some(steps) = steps.as_deref_mut() {
            steps.extend(plan);
        }
        current = Some(fixed);
    }
}

/// One round of repair: the new text and the plan that produced it.
fn fix_one_step(
    text: &str,
    options: &FixOptions,
) -> Option<(String, Vec<FixStep>)> {
    if text.is_ascii() || !is_bad(text) {
        return None;
    }
    let mut latin1_possible = false;
    for codec in CODECS.iter() {
        let Some(mut bytes) = codec.encode(text) else {
            continue;
        };
        if std::ptr::eq(codec, latin1()) {
            latin1_possible = true;
        }
        let mut plan = vec![step("encode", codec.name)];
        // Mac Roman has no 0xA0 byte for a space to stand for.
        if options.restore_byte_a0
            && codec.name != "macroman"
            && ALTERED_UTF8.is_match(&bytes)
        {
            let latin1_family =
                matches!(codec.name, "latin-1" | "sloppy-windows-1252");
            let restored = restore_byte_a0(&bytes, latin1_family);
            if restored != bytes {
                plan.push(step("transcode", "restore_byte_a0"));
                bytes = restored;
            }
        }
        if options.replace_lossy_sequences && codec.sloppy {
            let replaced =
                LOSSY_UTF8.replace_all(&bytes, "\u{fffd}".as_bytes());
            if replaced[..] != bytes[..] {
                let replaced = replaced.into_owned();
                plan.push(step("transcode", "replace_lossy_sequences"));
                bytes = replaced;
            }
        }
        let variants = bytes.iter().any(|&b| b == 0xed || b == 0xc0);
        if let Some(fixed) = decode_utf8(bytes, variants) {
            plan.push(step(
                "decode",
                if variants { "utf-8-variants" } else { "utf-8" },
            ));
            return Some((fixed, plan));
        }
    }
    if options.decode_inconsistent_utf8 {
        if let Some(fixed) = decode_inconsistent_utf8(text, options) {
            return Some((
                fixed,
                vec![step("apply", "decode_inconsistent_utf8")],
            ));
        }
    }
    // All in Latin-1 but not UTF-8: C1 controls most likely stood for the
    // Windows-1252 characters at the same bytes.
    if latin1_possible
        && !text.chars().any(|c| {
            matches!(c, '\u{81}' | '\u{8d}' | '\u{8f}' | '\u{90}' | '\u{9d}')
        })
    {
        let codec = sloppy_windows_1252();
        let fixed: String = text
            .chars()
            .map(|c| {
                if c as u32 >= 0x80 && (c as u32) < 0xa0 {
                    codec.decode_byte(c as u8)
                } else {
                    c
                }
            })
            .collect();
        if fixed != text {
            return Some((
                fixed,
                vec![
                    step("encode", "latin-1"),
                    step("decode", "windows-1252"),
                ],
            ));
        }
    }
    if options.fix_c1_controls {
        if let Some(fixed) = fix_c1_controls(text) {
            return Some((fixed, vec![step("transcode", "fix_c1_controls")]));
        }
    }
    None
}

/// Byte sequences that are UTF-8 except that one continuation byte 0xA0
/// became 0x20: a no-break space in mojibake that something "normalised"
/// into a plain space.
static ALTERED_UTF8: LazyLock<Regex> = LazyLock::new(|| {
    // Continuation bytes other than 0x85 (NEL) and 0xA0 itself.
    let cont = r"[\x80-\x84\x86-\x9f\xa1-\xbf]";
    let pattern = [
        r"[\xc2\xc3\xc5\xce\xd0\xd9]\x20".to_string(),
        format!(r"[\xe2\xe3]\x20{cont}"),
        format!(r"[\xe0-\xe3]{cont}\x20"),
        r"\xf0\x20[\x80-\xbf][\x80-\xbf]".to_string(),
        r"\xf0[\x80-\xbf]\x20[\x80-\xbf]".to_string(),
        r"\xf0[\x80-\xbf][\x80-\xbf]\x20".to_string(),
    ];
    Regex::new(&format!("(?-u){}", pattern.join("|")))
        .expect("altered utf-8 regex")
});

/// Puts the 0xA0 bytes back where a space replaced them.
fn restore_byte_a0(bytes: &[u8], latin1_family: bool) -> Vec<u8> {
    // "à " is common in French and Portuguese ("à la"); its UTF-8 ends in
    // 0xA0, so a `C3 20` before a word is taken to be "à " -- except before
    // words that follow a capital "Ã" in Portuguese ("Ãs ", "Ãquele").
    // French "voilà le" loses the space after "à" the same way. But when
    // the text was read as another codec than Latin-1 / Windows-1252 (say
    // Windows-1250, where C3 is "Ă"), a C3 after a letter is an "à" inside
    // a word (Vietnamese "hài") and the space is the 0xA0 byte itself,
    // which the general rule below restores.
    let mut words = Vec::with_capacity(bytes.len() + 8);
    let mut i = 0;
    while i < bytes.len() {
        let in_word =
            !latin1_family && i > 0 && bytes[i - 1].is_ascii_alphabetic();
        if bytes[i] == 0xc3 && bytes.get(i + 1) == Some(&b' ') && !in_word {
            let after = &bytes[i + 2..];
            let keep = [&b" "[..], b"quele", b"quela", b"quilo", b"s "]
                .iter()
                .any(|w| after.starts_with(w));
            if !keep {
                words.extend_from_slice(&[0xc3, 0xa0, b' ']);
                i += 2;
                continue;
            }
        }
        words.push(bytes[i]);
        i += 1;
    }
    ALTERED_UTF8
        .replace_all(&words, |m: &regex::bytes::Captures<'_>| {
            m[0].iter()
                .map(|&b| if b == b' ' { 0xa0 } else { b })
                .collect::<Vec<u8>>()
        })
        .into_owned()
}

/// UTF-8 sequences with a byte that was lost (became `?` or, through a
/// sloppy codec's U+FFFD, 0x1A): they become one U+FFFD instead of
/// failing the whole decode.
static LOSSY_UTF8: LazyLock<Regex> = LazyLock::new(|| {
    let lost = r"[\x1a?]";
    let cont = r"[\x1a\x80-\xbf]";
    let pattern = [
        r"[\xc2-\xdf]\x1a".to_string(),
        r"[\xc2-\xc3]\?".to_string(),
        format!(r"\xed[\xa0-\xaf]{lost}\xed[\xb0-\xbf][\x1a?\x80-\xbf]"),
        format!(r"\xed[\xa0-\xaf][\x1a?\x80-\xbf]\xed[\xb0-\xbf]{lost}"),
        format!(r"[\xe0-\xef]{lost}{cont}"),
        format!(r"[\xe0-\xef]{cont}{lost}"),
        format!(r"[\xf0-\xf4]{lost}{cont}{cont}"),
        format!(r"[\xf0-\xf4]{cont}{lost}{cont}"),
        format!(r"[\xf0-\xf4]{cont}{cont}{lost}"),
        r"\x1a".to_string(),
    ];
    Regex::new(&format!("(?-u){}", pattern.join("|")))
        .expect("lossy utf-8 regex")
});

fn in_set(set: &[(char, char)], c: char) -> bool {
    set.binary_search_by(|&(lo, hi)| {
        if hi < c {
            std::cmp::Ordering::Less
        } else if lo > c {
            std::cmp::Ordering::Greater
        } else {
            std::cmp::Ordering::Equal
        }
    })
    .is_ok()
}

/// Length in chars of one UTF-8-lookalike unit at `j`, or 0.
fn utf8_unit(chars: &[(usize, char)], j: usize) -> usize {
    let c = chars[j].1;
    let conts = |n: usize| {
        (1..=n).all(|k| {
            chars
                .get(j + k)
                .is_some_and(|&(_, d)| in_set(UTF8_CONTINUATION, d))
        })
    };
    for (set, len) in
        [(UTF8_FIRST_OF_2, 2), (UTF8_FIRST_OF_3, 3), (UTF8_FIRST_OF_4, 4)]
    {
        if in_set(set, c) && conts(len - 1) {
            return len;
        }
    }
    0
}

/// Fixes runs of mojibake inside a text that, as a whole, cannot be
/// re-encoded (e.g. one mojibaked name in a line of correct Cyrillic).
fn decode_inconsistent_utf8(
    text: &str,
    options: &FixOptions,
) -> Option<String> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut out = String::new();
    let mut copied = 0;
    let mut i = 0;
    while i < chars.len() {
        // A run must not continue a previous UTF-8-like sequence.
        if i > 0 && in_set(UTF8_CONTINUATION_STRICT, chars[i - 1].1) {
            i += 1;
            continue;
        }
        let mut j = i;
        loop {
            let len = utf8_unit(&chars, j);
            if len == 0 {
                break;
            }
            j += len;
            if j >= chars.len() {
                break;
            }
        }
        if j == i {
            i += 1;
            continue;
        }
        let start = chars[i].0;
        let end = chars.get(j).map_or(text.len(), |&(b, _)| b);
        let run = &text[start..end];
        if run.len() < text.len() && is_bad(run) {
            if let Some(fixed) = fix_encoding(run, options, None) {
                out.push_str(&text[copied..start]);
                out.push_str(&fixed);
                copied = end;
            }
        }
        i = j;
    }
    if copied == 0 {
        return None;
    }
    out.push_str(&text[copied..]);
    (out != text).then_some(out)
}
