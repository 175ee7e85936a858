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

/// How a character takes part in the rules, for a quick pre-check.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
#[repr(u8)]
pub(super) enum Role {
    /// In no rule.
    None = 0,
    /// Only in rules that also need a [`Role::Trigger`] next to it: the
    /// Greek and Cyrillic letters and the "common" punctuation (’ – — …
    /// no-break space), so that ordinary Russian, Greek or English prose
    /// is cleared without running the rules.
    Weak = 1,
    /// Bad when next to another character with a role.
    Trigger = 2,
    /// Can be bad next to ASCII alone: C1 controls, `Œ œ Â Ã`.
    Single = 3,
}

/// Roles as tables below U+0800 and for U+2000..U+2600 (punctuation,
/// symbols, box drawing), and a short sorted list for the rest.
struct Roles {
    low: Vec<Role>,
    mid: Vec<Role>,
    rest: Vec<(char, Role)>,
}

const MID: std::ops::Range<u32> = 0x2000..0x2600;

static ROLES: LazyLock<Roles> = LazyLock::new(|| {
    let mut roles: Vec<(char, Role)> = Vec::new();
    let mut add = |set: &[(char, char)], role: Role| {
        for &(lo, hi) in set {
            roles.extend((lo..=hi).map(|c| (c, role)));
        }
    };
    add(CAT_COMMON, Role::Weak);
    add(CAT_LOWER_COMMON, Role::Weak);
    add(CAT_UPPER_COMMON, Role::Weak);
    for name in [
        "c1", "bad", "law", "currency", "start", "end", "numeric", "kaomoji",
        "upper", "lower", "box",
    ] {
        add(class(name), Role::Trigger);
    }
    add(CAT_C1, Role::Single);
    add(&[('Œ', 'Œ'), ('œ', 'œ'), ('Â', 'Â'), ('Ã', 'Ã')], Role::Single);
    // "вЂ" and "ГўВЂВ" are made of Cyrillic letters only; Ђ anchors them.
    add(&[('Ђ', 'Ђ')], Role::Trigger);
    // The literal characters of the rules all belong to some category
    // above; listing them again only guards against future rule edits.
    for rule in RULES {
        roles.extend(
            rule.chars().filter(|c| !c.is_ascii()).map(|c| (c, Role::Weak)),
        );
    }
    let mut low = vec![Role::None; 0x800];
    let mut mid = vec![Role::None; MID.len()];
    let mut rest: Vec<(char, Role)> = Vec::new();
    for (c, role) in roles {
        let cp = c as u32;
        let slot = if cp < 0x800 {
            &mut low[cp as usize]
        } else if MID.contains(&cp) {
            &mut mid[(cp - MID.start) as usize]
        } else {
            rest.push((c, role));
            continue;
        };
        *slot = (*slot).max(role);
    }
    rest.sort();
    // Keep the strongest role of each character.
    rest.reverse();
    rest.dedup_by_key(|&mut (c, _)| c);
    rest.reverse();
    Roles { low, mid, rest }
});

/// The role of `c` in the rules.
#[inline]
pub(super) fn role(c: char) -> Role {
    let cp = c as u32;
    if cp < 0x80 {
        Role::None
    } else if cp < 0x800 {
        ROLES.low[cp as usize]
    } else if MID.contains(&cp) {
        ROLES.mid[(cp - MID.start) as usize]
    } else if cp < 0xf000 {
        // CJK, Hangul, Indic...: no rule character between U+2600 and
        // U+F000 (checked in the tests).
        Role::None
    } else {
        match ROLES.rest.binary_search_by(|&(k, _)| k.cmp(&c)) {
            Ok(i) => ROLES.rest[i].1,
            Err(_) => Role::None,
        }
    }
}

/// True if `c` takes part in some mojibake rule.
#[cfg(test)]
pub(super) fn is_suspicious(c: char) -> bool {
    role(c) != Role::None
}

/// Incremental pre-check: every bad sequence contains a [`Role::Single`]
/// character, or a [`Role::Trigger`] next to another character with a
/// role. Feed characters in order; `true` means "run the rules".
#[derive(Default)]
pub(super) struct PreCheck {
    prev: Option<Role>,
}

impl PreCheck {
    /// Feeds the next character; true once the text may be bad.
    #[inline]
    pub fn feed(&mut self, c: char) -> bool {
        self.feed_role(role(c))
    }

    /// Feeds the role of the next character.
    #[inline]
    pub fn feed_role(&mut self, role: Role) -> bool {
        let prev = self.prev.unwrap_or(Role::None);
        self.prev = Some(role);
        role == Role::Single
            || (role == Role::Trigger && prev >= Role::Weak)
            || (role >= Role::Weak && prev == Role::Trigger)
    }
}

/// The pre-check over a whole text.
pub(super) fn may_be_bad(text: &str) -> bool {
    let mut check = PreCheck::default();
    // ASCII has no role: a run of it only resets the check.
    super::FlaggedChars::new(text).any(|(after_ascii, c)| {
        if after_ascii {
            check.feed_role(Role::None);
        }
        check.feed(c)
    })
}

/// True if the text contains at least one bad sequence.
pub fn is_bad(text: &str) -> bool {
    may_be_bad(text) && BADNESS_RE.is_match(text)
}

/// The rules alone, without the pre-check (for testing the pre-check).
#[cfg(test)]
pub(super) fn is_bad_uncached(text: &str) -> bool {
    BADNESS_RE.is_match(text)
}

/// The number of (non-overlapping) bad sequences in the text.
pub fn badness(text: &str) -> usize {
    if !may_be_bad(text) {
        return 0;
    }
    BADNESS_RE.find_iter(text).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_rule_chars_between_mid_and_f000() {
        assert!(ROLES
            .rest
            .iter()
            .all(|&(c, _)| !(MID.end..0xf000).contains(&(c as u32))));
    }

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
