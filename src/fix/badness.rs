//! The mojibake heuristic: a text is "bad" when it contains a sequence of
//! characters that is far likelier to come from UTF-8 decoded with the wrong
//! single-byte codec than from anyone's intent.
//!
//! About 400 characters occur in such mojibake. They are sorted into
//! categories (tables generated into `tables.rs`, after ftfy 6.3.1), and the
//! rules below list the category sequences that count as bad: for example a
//! lower-case accented letter directly followed by a currency sign ("Ã©€"),
//! or a box-drawing character next to an accented letter. Ordinary text in
//! any language that these codecs cover very rarely produces them.

use std::sync::LazyLock;

use regex::Regex;

use super::tables::*;

/// Character classes used by the rules, by short name.
fn class(name: &str) -> &'static [(char, char)] {
    match name {
        "common" => CAT_COMMON,
        "c1" => CAT_C1,
        "bad" => CAT_BAD,
        "law" => CAT_LAW,
        "currency" => CAT_CURRENCY,
        "start" => CAT_START_PUNCTUATION,
        "end" => CAT_END_PUNCTUATION,
        "numeric" => CAT_NUMERIC,
        "kaomoji" => CAT_KAOMOJI,
        "upper" => CAT_UPPER_ACCENTED,
        "lower" => CAT_LOWER_ACCENTED,
        "upper_common" => CAT_UPPER_COMMON,
        "lower_common" => CAT_LOWER_COMMON,
        "box" => CAT_BOX,
        _ => unreachable!("unknown class {name}"),
    }
}

/// Expands a rule written in a small notation into regex syntax.
///
/// `{a b c}` is a character class made of the named categories; any other
/// text is regex syntax taken as is. Literal non-ASCII characters inside a
/// `[...]` class may be mixed with categories as `[{a b}xyz]`.
fn expand(rule: &str) -> String {
    let mut out = String::new();
    let mut rest = rule;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = start + rest[start..].find('}').expect("unclosed {");
        let names = &rest[start + 1..end];
        // A bare `{..}` becomes its own class; inside `[..]` only ranges.
        let inside = out.ends_with('[')
            || rest[..start].rfind('[') > rest[..start].rfind(']');
        if !inside {
            out.push('[');
        }
        for name in names.split_whitespace() {
            for &(lo, hi) in class(name) {
                out.push_str(&format!(
                    "\\x{{{:x}}}-\\x{{{:x}}}",
                    lo as u32, hi as u32
                ));
            }
        }
        if !inside {
            out.push(']');
        }
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// The bad sequences, one alternative each.
const RULES: &[&str] = &[
    // A C1 control character on its own: never intended in text.
    "{c1}",
    // "bad" symbols (¦ ¤ ¨ ¬ ƒ † ‰ ◊ � ...) next to other mojibake material.
    "{bad lower upper box start end currency numeric law}{bad}",
    "[a-zA-Z]{lower_common upper_common}{bad}",
    "{bad}{lower upper box start end currency numeric law}",
    // Letters and symbols followed by an upper-case accented letter.
    "{lower lower_common box end currency numeric}{upper}",
    "{box end currency numeric}{lower}",
    "{lower box end}{currency}",
    r"\s{upper}{currency}",
    "{upper box}{numeric law}",
    "{lower upper box currency end}{start}{numeric}",
    "{lower upper currency numeric box law}{end}{start}",
    "{currency numeric box}{start}",
    "[a-z]{upper}{start currency}",
    "{box}{kaomoji}",
    "{lower upper currency numeric start end law}{box}",
    "{box}{end}",
    r"{lower upper}{start end}\w",
    // Specific sequences that UTF-8 for common characters turns into.
    "[Œœ][^A-Za-z]",
    "{upper}°",
    "[ÂÃÎÐ][€œŠš¢£Ÿž\u{a0}\u{ad}®©°·»{start end}–—´]",
    "×[²³]",
    "[ØÙ][{common currency bad numeric start}ŸŠ®°µ»][ØÙ][{common currency bad numeric start}ŸŠ®°µ»]",
    "à[²µ¹¼½¾]",
    "√[±∂†≠®™´≤≥¥µø]",
    "≈[°¢]",
    "‚Ä[ìîïòôúùû†°¢π]",
    "‚[âó][àä°ê]",
    "вЂ",
    "[ВГРС][{c1 bad start end currency}°µ][ВГРС]",
    "ГўВЂВ.[A-Za-z ]",
    "Ã[\u{a0}¡]",
    r"[a-z]\s?[ÃÂ] ",
    "^[ÃÂ] ",
    "[a-z.,?!{end}]Â[ {start end}]",
    "β€[™\u{a0}Ά\u{ad}®°]",
    "[ΒΓΞΟ][{c1 bad start end currency}°][ΒΓΞΟ]",
    "ā€",
    // Beyond ftfy 6.3.1 (two of its known failures):
    // `¿` / `¡` (C2 BF / C2 A1) read as code page 437 before a word: box
    // drawing glued to a letter is never box art.
    r"┬[┐í]\w",
    // French `é` (C3 A9) read as Windows-1251 inside a Latin word: a
    // Cyrillic capital between Latin letters and a symbol.
    "[A-Za-z]Г[{c1 bad start end currency numeric law}°µ]",
];

static BADNESS_RE: LazyLock<Regex> = LazyLock::new(|| {
    let pattern: Vec<String> = RULES.iter().map(|r| expand(r)).collect();
    Regex::new(&pattern.join("|")).expect("badness regex")
});

/// Every character that occurs in some rule: a text without any of them
/// cannot be bad. Kept as a bitmap below U+0800 and a range list above.
struct Suspicious {
    low: [u64; 32],
    high: Vec<(char, char)>,
}

static SUSPICIOUS: LazyLock<Suspicious> = LazyLock::new(|| {
    let mut all: Vec<(char, char)> = Vec::new();
    for name in [
        "common",
        "c1",
        "bad",
        "law",
        "currency",
        "start",
        "end",
        "numeric",
        "kaomoji",
        "upper",
        "lower",
        "upper_common",
        "lower_common",
        "box",
    ] {
        all.extend_from_slice(class(name));
    }
    for rule in RULES {
        all.extend(rule.chars().filter(|c| !c.is_ascii()).map(|c| (c, c)));
    }
    let mut low = [0u64; 32];
    let mut high = Vec::new();
    for (lo, hi) in all {
        for cp in lo as u32..=hi as u32 {
            if cp < 0x800 {
                low[(cp / 64) as usize] |= 1 << (cp % 64);
            } else if let Some(c) = char::from_u32(cp) {
                high.push((c, c));
            }
        }
    }
    high.sort();
    high.dedup();
    Suspicious { low, high }
});

/// True if `c` takes part in some mojibake rule.
pub(super) fn is_suspicious(c: char) -> bool {
    let cp = c as u32;
    if cp < 0x80 {
        false
    } else if cp < 0x800 {
        SUSPICIOUS.low[(cp / 64) as usize] & (1 << (cp % 64)) != 0
    } else {
        SUSPICIOUS.high.binary_search_by(|&(lo, _)| lo.cmp(&c)).is_ok()
    }
}

/// True if the text contains at least one bad sequence.
pub fn is_bad(text: &str) -> bool {
    text.chars().any(is_suspicious) && BADNESS_RE.is_match(text)
}

/// The number of (non-overlapping) bad sequences in the text.
pub fn badness(text: &str) -> usize {
    if !text.chars().any(is_suspicious) {
        return 0;
    }
    BADNESS_RE.find_iter(text).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_compile_and_match() {
        assert!(is_bad("Ã©"));
        assert!(is_bad("cafÃ© "));
        assert!(is_bad("\u{80}"));
        assert!(is_bad("вЂ"));
        assert!(!is_bad("café"));
        assert!(!is_bad("naïve résumé — “quoted” 10 €"));
        assert!(!is_bad("Москва"));
        assert_eq!(badness("plain"), 0);
    }
}
