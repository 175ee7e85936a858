//! The character-level fixes. Each returns `None` when it changes nothing,
//! so that the common case costs one scan and no allocation.

use unicode_normalization::{
    is_nfc_quick, IsNormalized, UnicodeNormalization,
};

use super::codecs::sloppy_windows_1252;
use super::tables::WIDTH_MAP;

/// Which character fixes may have work in a text, found in one scan.
#[derive(Default, Debug, PartialEq, Eq)]
pub(super) struct Work {
    pub c1: bool,
    pub ligatures: bool,
    pub width: bool,
    pub quotes: bool,
    pub line_breaks: bool,
    /// Control characters, including ESC of terminal escapes.
    pub controls: bool,
    /// Every character is one NFC leaves alone ([`is_nfc_inert`]).
    pub nfc_inert: bool,
}

impl Work {
    pub fn scan(text: &str) -> Work {
        let mut work = Work { nfc_inert: true, ..Work::default() };
        // The ASCII that matters here (`\r`, controls) is all flagged.
        for (_, c) in super::FlaggedChars::new(text) {
            work.add(c);
        }
        work
    }

    #[inline]
    fn add(&mut self, c: char) {
        if c.is_ascii() {
            self.line_breaks |= c == '\r';
            self.controls |= is_removable_control(c);
            return;
        }
        self.nfc_inert &= is_nfc_inert(c);
        if c < '\u{800}' {
            // The two-byte range holds no width or control character, and
            // of the line breaks and curly quotes only these.
            self.c1 |= is_c1(c);
            self.line_breaks |= c == '\u{85}';
            self.quotes |= c == '\u{2bc}';
            self.ligatures |= ligature(c).is_some();
        } else if ('\u{3001}'..'\u{f000}').contains(&c) {
            // CJK, kana, Hangul: nothing here for these fixes.
        } else {
            self.ligatures |= ligature(c).is_some();
            self.width |= width_fold(c).is_some();
            self.quotes |= is_curly_quote(c);
            self.line_breaks |= is_line_break(c);
            self.controls |= is_removable_control(c);
        }
    }
}

/// Rebuilds `text` if some char satisfies `hit`, mapping each char with `f`.
fn map_chars(
    text: &str,
    hit: impl Fn(char) -> bool,
    f: impl Fn(char, &mut String),
) -> Option<String> {
    let first = text.char_indices().find(|&(_, c)| hit(c))?.0;
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..first]);
    for c in text[first..].chars() {
        f(c, &mut out);
    }
    Some(out)
}

fn is_c1(c: char) -> bool {
    ('\u{80}'..='\u{9f}').contains(&c)
}

/// C1 controls are almost always Windows-1252 bytes read as Latin-1.
pub(super) fn fix_c1_controls(text: &str) -> Option<String> {
    let codec = sloppy_windows_1252();
    let fixed = map_chars(text, is_c1, |c, out| {
        out.push(if is_c1(c) { codec.decode_byte(c as u8) } else { c })
    })?;
    // Bytes that Windows-1252 leaves undefined stay as they are.
    (fixed != text).then_some(fixed)
}

pub(super) fn ligature(c: char) -> Option<&'static str> {
    Some(match c {
        'Ĳ' => "IJ",
        'ĳ' => "ij",
        // An Afrikaans digraph that exists to dodge quote curling.
        'ŉ' => "ʼn",
        'Ǳ' => "DZ",
        'ǲ' => "Dz",
        'ǳ' => "dz",
        'Ǆ' => "DŽ",
        'ǅ' => "Dž",
        'ǆ' => "dž",
        'Ǉ' => "LJ",
        'ǈ' => "Lj",
        'ǉ' => "lj",
        'Ǌ' => "NJ",
        'ǋ' => "Nj",
        'ǌ' => "nj",
        'ﬀ' => "ff",
        'ﬁ' => "fi",
        'ﬂ' => "fl",
        'ﬃ' => "ffi",
        'ﬄ' => "ffl",
        'ﬅ' => "ſt",
        'ﬆ' => "st",
        _ => return None,
    })
}

/// Splits Latin ligatures (typographic ones and the Dutch/Serbo-Croatian
/// digraph characters) into their letters.
pub(super) fn fix_latin_ligatures(text: &str) -> Option<String> {
    map_chars(
        text,
        |c| ligature(c).is_some(),
        |c, out| match ligature(c) {
            Some(s) => out.push_str(s),
            None => out.push(c),
        },
    )
}

pub(super) fn width_fold(c: char) -> Option<&'static str> {
    if c != '\u{3000}' && !('\u{ff01}'..='\u{ffef}').contains(&c) {
        return None;
    }
    WIDTH_MAP
        .binary_search_by(|&(k, _)| k.cmp(&c))
        .ok()
        .map(|i| WIDTH_MAP[i].1)
}

/// Folds full-width Latin and half-width Katakana to their usual forms.
pub(super) fn fix_character_width(text: &str) -> Option<String> {
    map_chars(
        text,
        |c| width_fold(c).is_some(),
        |c, out| match width_fold(c) {
            Some(s) => out.push_str(s),
            None => out.push(c),
        },
    )
}

pub(super) fn is_curly_quote(c: char) -> bool {
    matches!(c, '\u{2bc}' | '\u{2018}'..='\u{201f}')
}

/// Turns curly quotes (and the modifier-letter apostrophe) into ASCII.
pub(super) fn uncurl_quotes(text: &str) -> Option<String> {
    // U+2018..U+201F are E2 80 98..9F in UTF-8, U+02BC is CA BC: jump
    // from one candidate lead byte to the next and copy the runs between.
    let bytes = text.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0;
    for at in memchr::memchr2_iter(0xe2, 0xca, bytes) {
        let straight = match bytes[at..] {
            [0xca, 0xbc, ..] | [0xe2, 0x80, 0x98..=0x9b, ..] => '\'',
            [0xe2, 0x80, 0x9c..=0x9f, ..] => '"',
            _ => continue,
        };
        let out = out.get_or_insert_with(|| String::with_capacity(text.len()));
        out.push_str(&text[copied..at]);
        out.push(straight);
        copied = at + if bytes[at] == 0xca { 2 } else { 3 };
    }
    let mut out = out?;
    out.push_str(&text[copied..]);
    Some(out)
}

pub(super) fn is_line_break(c: char) -> bool {
    matches!(c, '\r' | '\u{2028}' | '\u{2029}' | '\u{85}')
}

/// `\r\n`, `\r`, U+2028, U+2029 and U+0085 all become `\n`.
pub(super) fn fix_line_breaks(text: &str) -> Option<String> {
    if !text.chars().any(is_line_break) {
        return None;
    }
    let fixed = text
        .replace("\r\n", "\n")
        .replace(['\r', '\u{2028}', '\u{2029}', '\u{85}'], "\n");
    Some(fixed)
}

/// Removes ANSI escapes of the form `ESC [ digits-and-semicolons letter`.
pub(super) fn remove_terminal_escapes(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut pos = memchr::memchr(0x1b, bytes)?;
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    loop {
        let mut end = pos + 1;
        let mut matched = false;
        if bytes.get(end) == Some(&b'[') {
            end += 1;
            while end < bytes.len()
                && (bytes[end].is_ascii_digit() || bytes[end] == b';')
            {
                end += 1;
            }
            if end < bytes.len() && bytes[end].is_ascii_alphabetic() {
                matched = true;
                end += 1;
            }
        }
        if matched {
            out.push_str(&text[copied..pos]);
            copied = end;
        }
        let next = if matched { end } else { pos + 1 };
        match memchr::memchr(0x1b, &bytes[next..]) {
            Some(p) => pos = next + p,
            None => break,
        }
    }
    if copied == 0 {
        return None;
    }
    out.push_str(&text[copied..]);
    Some(out)
}

/// Control and format characters that have no business in plain text:
/// C0 controls other than tab, newline, form feed and carriage return,
/// DEL, the deprecated format controls U+206A..U+206F, a BOM in the middle
/// of text, and the interlinear annotation / object replacement marks.
pub(super) fn is_removable_control(c: char) -> bool {
    matches!(
        c,
        '\u{0}'..='\u{8}'
            | '\u{b}'
            | '\u{e}'..='\u{1f}'
            | '\u{7f}'
            | '\u{206a}'..='\u{206f}'
            | '\u{feff}'
            | '\u{fff9}'..='\u{fffc}'
    )
}

/// Removes the characters of [`is_removable_control`].
pub(super) fn remove_control_chars(text: &str) -> Option<String> {
    map_chars(text, is_removable_control, |c, out| {
        if !is_removable_control(c) {
            out.push(c)
        }
    })
}

/// True for characters that NFC leaves alone whatever surrounds them:
/// starters (combining class 0) that are their own NFC form and never the
/// second half of a composition (quick check "yes"), so that a text made
/// of them alone is in NFC. Checked against Python's unicodedata (Unicode
/// 14), and in the tests against `unicode-normalization`'s own tables, for
/// these blocks: Latin below U+0300, Greek and Cyrillic (minus U+0374,
/// U+037E, U+0387 and the combining marks), Hebrew and Arabic letters,
/// Latin Extended Additional (Vietnamese), general punctuation (minus the
/// quads U+2000, U+2001), super- and subscripts, currency, letterlike and
/// other symbols, arrows, box drawing, dingbats (minus U+2126, U+212A,
/// U+212B, U+2329, U+232A, U+2ADC), CJK punctuation, kana (minus the
/// voicing marks), CJK ideographs, Hangul syllables, Arabic presentation
/// forms, variation selectors, vertical, small and full-width forms,
/// specials, and the planes' emoji and CJK extensions.
pub(super) fn is_nfc_inert(c: char) -> bool {
    matches!(
        c as u32,
        0x0..=0x2ff
            | 0x370..=0x373
            | 0x375..=0x37d
            | 0x37f..=0x386
            | 0x388..=0x482
            | 0x48a..=0x52f
            | 0x5d0..=0x5ea
            | 0x61b..=0x64a
            | 0x660..=0x66f
            | 0x671..=0x6d5
            | 0x1e00..=0x1eff
            | 0x2002..=0x20cf
            | 0x2100..=0x2125
            | 0x2127..=0x2129
            | 0x212c..=0x2328
            | 0x232b..=0x2adb
            | 0x2add..=0x2cee
            | 0x3000..=0x3029
            | 0x3030..=0x3098
            | 0x309b..=0x30ff
            | 0x3400..=0x4dbf
            | 0x4e00..=0x9fff
            | 0xac00..=0xd7a3
            | 0xfb50..=0xfdff
            | 0xfe00..=0xfe19
            | 0xfe30..=0xfffd
            | 0x1f000..=0x1faff
            | 0x20000..=0x2a6df
    )
}

/// True when NFC leaves every character of `text` alone.
pub(super) fn is_all_nfc_inert(text: &str) -> bool {
    super::FlaggedChars::new(text).all(|(_, c)| is_nfc_inert(c))
}

/// Unicode NFC; the quick check avoids the work for text already in NFC.
/// (Callers skip text for which [`is_all_nfc_inert`] holds.)
pub(super) fn normalize_nfc(text: &str) -> Option<String> {
    if is_nfc_quick(text.chars()) == IsNormalized::Yes {
        return None;
    }
    let fixed: String = text.nfc().collect();
    (fixed != text).then_some(fixed)
}

/// ` \u{FFFD} ` between two words becomes ` – `.
///
/// A lone U+FFFD with a space on each side is nearly always a dash whose
/// Windows-1252 byte (0x96 en dash or 0x97 em dash) was decoded as UTF-8.
/// The en dash is chosen: spaced dashes are en dashes in most typographic
/// traditions (British, German, French, Russian...), and an en dash is the
/// less wrong of the two where an em dash was meant, whereas US style writes
/// em dashes without spaces, which this rule never sees.
pub(super) fn restore_lost_dashes(text: &str) -> Option<String> {
    if !text.contains(" \u{fffd} ") {
        return None;
    }
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut changed = false;
    for (i, &c) in chars.iter().enumerate() {
        let between_words = c == '\u{fffd}'
            && i >= 2
            && chars[i - 1] == ' '
            && chars.get(i + 1) == Some(&' ')
            && is_word_edge(chars[i - 2])
            && chars.get(i + 2).is_some_and(|&n| is_word_edge(n));
        if between_words {
            out.push('\u{2013}');
            changed = true;
        } else {
            out.push(c);
        }
    }
    changed.then_some(out)
}

/// A character that can end or start a word next to a dash: letters,
/// digits, and closing / opening punctuation such as `)`, `"` or `.`.
fn is_word_edge(c: char) -> bool {
    c.is_alphanumeric()
        || matches!(
            c,
            '.' | ',' | ')' | '(' | '"' | '\'' | '’' | '”' | '“' | '‘'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_scan_agrees_with_every_check() {
        for c in (0x80..=0x10ffff).filter_map(char::from_u32) {
            let expected = Work {
                c1: is_c1(c),
                ligatures: ligature(c).is_some(),
                width: width_fold(c).is_some(),
                quotes: is_curly_quote(c),
                line_breaks: is_line_break(c),
                controls: is_removable_control(c),
                nfc_inert: is_nfc_inert(c),
            };
            assert_eq!(Work::scan(&c.to_string()), expected, "{c:?}");
        }
    }

    #[test]
    fn nfc_inert_agrees_with_unicode_normalization() {
        use unicode_normalization::char::canonical_combining_class;
        for c in (0..=0x10ffff).filter_map(char::from_u32) {
            if is_nfc_inert(c) {
                assert_eq!(canonical_combining_class(c), 0, "{c:?}");
                assert_eq!(
                    is_nfc_quick(std::iter::once(c)),
                    IsNormalized::Yes,
                    "{c:?}"
                );
            }
        }
    }

    #[test]
    fn simple_fixes() {
        assert_eq!(fix_c1_controls("\u{93}hi\u{94}").as_deref(), Some("“hi”"));
        assert_eq!(fix_c1_controls("\u{81}"), None);
        assert_eq!(fix_latin_ligatures("ﬁne").as_deref(), Some("fine"));
        assert_eq!(
            fix_character_width("ＡＢＣ　ｶ").as_deref(),
            Some("ABC ｶ".replace('ｶ', "カ").as_str())
        );
        assert_eq!(uncurl_quotes("“it’s”").as_deref(), Some("\"it's\""));
        assert_eq!(
            fix_line_breaks("a\r\nb\rc\u{2028}").as_deref(),
            Some("a\nb\nc\n")
        );
        assert_eq!(
            remove_terminal_escapes("\x1b[1;31mred\x1b[0m \x1bx").as_deref(),
            Some("red \x1bx")
        );
        assert_eq!(
            remove_control_chars("a\u{0}b\u{feff}\t").as_deref(),
            Some("ab\t")
        );
        assert_eq!(normalize_nfc("e\u{301}").as_deref(), Some("é"));
        assert_eq!(normalize_nfc("é"), None);
        assert!(is_all_nfc_inert("é"));
        assert!(!is_all_nfc_inert("e\u{301}"));
        assert_eq!(
            restore_lost_dashes("2010 \u{fffd} 2015").as_deref(),
            Some("2010 – 2015")
        );
        assert_eq!(restore_lost_dashes("a \u{fffd} \u{fffd} b"), None);
    }
}
