//! Project-level tests of the fix stage: ftfy's conformance cases, no
//! false positives on clean text, and properties on random text.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use serde_json::Value;

use super::{badness, FixOptions, Fixer, Profile};

fn fixtures(sub: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/fix").join(sub)
}

/// Every clean text comes out unchanged (and borrowed) with the default
/// Pipeline profile. Set `CHAFF_FIX_CLEAN_DIR` to check another folder too.
#[test]
fn clean_texts_are_unchanged() {
    let fixer = Fixer::new(FixOptions::profile(Profile::Pipeline));
    let mut dirs = vec![fixtures("clean")];
    if let Ok(extra) = std::env::var("CHAFF_FIX_CLEAN_DIR") {
        dirs.push(PathBuf::from(extra));
    }
    let mut checked = 0;
    let mut changed = Vec::new();
    for dir in dirs {
        for entry in std::fs::read_dir(&dir).expect("clean fixture dir") {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "txt") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            checked += 1;
            let (fixed, steps) = fixer.fix_and_explain(&text);
            if fixed != text {
                changed.push(format!("{}: {:?}", path.display(), steps));
            }
            assert!(
                matches!(fixer.fix(&text), std::borrow::Cow::Borrowed(_))
                    || fixed != text
            );
        }
    }
    println!("clean texts checked: {checked}, changed: {}", changed.len());
    assert!(checked >= 35, "only {checked} clean texts found");
    assert!(changed.is_empty(), "false positives:\n{}", changed.join("\n"));
}

struct Case {
    file: String,
    label: String,
    original: String,
    fixed: String,
    fixed_encoding: String,
    pass: bool,
}

fn ftfy_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(fixtures("ftfy-cases"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    for path in files {
        let data: Vec<Value> =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
                .unwrap();
        for case in data {
            let get = |k: &str| {
                case.get(k).and_then(Value::as_str).map(str::to_string)
            };
            let fixed = get("fixed").unwrap();
            cases.push(Case {
                file: path.file_name().unwrap().to_string_lossy().into_owned(),
                label: get("label").unwrap_or_default(),
                original: get("original").unwrap(),
                fixed_encoding: get("fixed-encoding")
                    .unwrap_or_else(|| fixed.clone()),
                fixed,
                pass: get("expect").as_deref() == Some("pass"),
            });
        }
    }
    cases
}

/// Python's `s.encode("utf-8").decode("latin-1")`: one more layer of mojibake.
fn latin1_layer(s: &str) -> String {
    s.bytes().map(char::from).collect()
}

#[test]
fn ftfy_conformance_cases() {
    let ftfy = Fixer::new(FixOptions::profile(Profile::Ftfy));
    let encoding = Fixer::new(FixOptions::encoding_only());
    let cases = ftfy_cases();
    assert_eq!(cases.len(), 161);
    let mut failures = Vec::new();
    let mut passing = 0;
    for case in cases.iter().filter(|c| c.pass) {
        passing += 1;
        let got = ftfy.fix(&case.original);
        if got != case.fixed {
            failures.push(format!(
                "fix_text {} {}: {got:?}",
                case.file, case.label
            ));
        }
        let layered = latin1_layer(&case.original);
        let got = ftfy.fix(&layered);
        if got != case.fixed {
            failures.push(format!(
                "extra_layer {} {}: {got:?}",
                case.file, case.label
            ));
        }
        let got = encoding.fix(&case.original);
        if got != case.fixed_encoding && got != case.fixed {
            failures.push(format!(
                "fix_encoding {} {}: {got:?}",
                case.file, case.label
            ));
        }
        // The explanation must describe the same result.
        let (explained, _) = ftfy.fix_and_explain(&case.original);
        assert_eq!(explained, ftfy.fix(&case.original));
    }
    assert_eq!(passing, 151);
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Text that only looks like mojibake is left alone by the encoding fixer
/// (apart from C1 controls, which are always read as Windows-1252).
#[test]
fn negative_cases_unchanged_by_encoding_fixer() {
    let encoding = Fixer::new(FixOptions::encoding_only());
    let mut n = 0;
    for case in ftfy_cases().iter().filter(|c| c.file == "negative.json") {
        n += 1;
        let got = encoding.fix(&case.original);
        if case.original.chars().any(|c| ('\u{80}'..='\u{9f}').contains(&c)) {
            assert_eq!(got, case.fixed_encoding, "{}", case.label);
        } else {
            assert_eq!(got, case.original, "{}", case.label);
        }
    }
    assert_eq!(n, 31);
}

#[test]
fn explain_plan() {
    let ftfy = Fixer::new(FixOptions::profile(Profile::Ftfy));
    let (fixed, steps) = ftfy.fix_and_explain("schÃ¶n &amp; gut\r\n");
    assert_eq!(fixed, "schön & gut\n");
    let steps: Vec<String> = steps.iter().map(|s| s.to_string()).collect();
    assert_eq!(
        steps,
        [
            "apply:unescape_html",
            "encode:latin-1",
            "decode:utf-8",
            "apply:fix_line_breaks"
        ]
    );
}

#[test]
fn lost_dashes_only_when_asked() {
    let text = "Ministers met on Monday \u{fffd} the talks ended late.\n";
    let default = Fixer::default();
    assert!(matches!(default.fix(text), std::borrow::Cow::Borrowed(_)));
    let dashes = Fixer::new(FixOptions {
        restore_lost_dashes: true,
        ..FixOptions::default()
    });
    assert_eq!(
        dashes.fix(text),
        "Ministers met on Monday \u{2013} the talks ended late.\n"
    );
}

#[test]
fn fast_path_borrows() {
    let fixer = Fixer::default();
    for line in
        ["plain ASCII line\n", "naïve café “quoted” — 中文 Москва\n", ""]
    {
        assert!(
            matches!(
                fixer.fix_line(line, None),
                std::borrow::Cow::Borrowed(_)
            ),
            "{line}"
        );
    }
}

/// Found by the fix fuzz target: a lone `\r` became a line break, and the
/// line it split off (`Ÿ≠`, Mac Roman mojibake of `٭`) was repaired only
/// by a second fix, which saw it as a line of its own.
#[test]
fn line_split_off_by_a_fixed_line_break_is_fixed_at_once() {
    let cases = [
        (" Ÿ\r-\tŸ=\u{338}\nŸ.", " Ÿ\n-\t\u{66d}\nŸ."),
        // The break can come from mojibake too: `â€¨` is U+2028.
        ("x â€¨Ÿ≠", "x \n\u{66d}"),
        // A `<` ends entity decoding from its own line on, once that is
        // a line.
        ("&amp;\r<", "&\n<"),
    ];
    for profile in [Profile::Ftfy, Profile::Pipeline] {
        let fixer = Fixer::new(FixOptions::profile(profile));
        for (text, expected) in cases {
            let once = fixer.fix(text).into_owned();
            assert_eq!(once, expected, "{profile:?}");
            assert_eq!(fixer.fix(&once), once, "{profile:?}");
            assert_eq!(fixer.fix_and_explain(text).0, once, "{profile:?}");
        }
    }
}

/// Found by the fix fuzz target: a line with `<` decodes no entities, but
/// fixing removed the `<` (control characters dropped, then NFC composed
/// `<` and U+0338 into `≮`), so a second fix decoded `&llarr;`.
#[test]
fn lt_composed_away_by_nfc_does_not_stop_entity_decoding() {
    let cases = [
        (")<\x0b\u{338}\0\0\0\x08&llarr;", ")≮⇇"),
        ("<\u{338}\n&amp;", "≮\n&"),
        // As in ftfy: a `<` in the input ends decoding, a decoded one not.
        ("<b>&amp;</b>\n&amp;", "<b>&amp;</b>\n&amp;"),
        ("&lt;p&gt; &amp;amp;\n&amp;", "<p> &\n&"),
    ];
    for profile in [Profile::Ftfy, Profile::Pipeline] {
        let fixer = Fixer::new(FixOptions::profile(profile));
        for (text, expected) in cases {
            let once = fixer.fix(text).into_owned();
            assert_eq!(once, expected, "{profile:?}");
            assert_eq!(fixer.fix(&once), once, "{profile:?}");
            assert_eq!(fixer.fix_and_explain(text).0, once, "{profile:?}");
        }
    }
}

/// Characters mojibake is made of, mixed with ordinary text, so that random
/// strings often hit the interesting paths.
fn text_strategy() -> impl Strategy<Value = String> {
    use super::tables::*;
    let categories = [
        CAT_COMMON,
        CAT_C1,
        CAT_BAD,
        CAT_LAW,
        CAT_CURRENCY,
        CAT_START_PUNCTUATION,
        CAT_END_PUNCTUATION,
        CAT_NUMERIC,
        CAT_KAOMOJI,
        CAT_UPPER_ACCENTED,
        CAT_LOWER_ACCENTED,
        CAT_UPPER_COMMON,
        CAT_LOWER_COMMON,
        CAT_BOX,
    ];
    let mojibake_chars: Vec<String> = categories
        .iter()
        .flat_map(|set| set.iter().flat_map(|&(lo, hi)| lo..=hi))
        .map(String::from)
        .collect();
    let pieces = prop_oneof![
        prop::sample::select(mojibake_chars),
        any::<char>().prop_map(String::from),
        "[a-zA-Z ]{1,6}",
        prop::sample::select(vec![
            "Ã", "Â", "©", "€", "\u{a0}", "\u{80}", "\u{9d}", "â€™", "Ã©",
            "Ð", "Ñ", "Г", "В", "┬", "&amp;", "&#x41;", "\r\n", "\n", "<",
            "\u{fffd}", "ﬁ", "Ａ", "’", "\x1b[1m", "e\u{301}", " ", "\r",
            "\u{2028}", "â€¨", "Ÿ≠", "=\u{338}", "\u{338}", "&lt;", "\0",
        ])
        .prop_map(String::from),
    ];
    prop::collection::vec(pieces, 0..24).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Fixing twice gives what fixing once gave, also when fixing creates
    /// line breaks (from a `\r`, or mojibake of U+2028).
    #[test]
    fn fix_is_idempotent(text in text_strategy()) {
        for profile in [Profile::Ftfy, Profile::Pipeline] {
            let fixer = Fixer::new(FixOptions::profile(profile));
            let once = fixer.fix(&text).into_owned();
            let twice = fixer.fix(&once).into_owned();
            prop_assert_eq!(&twice, &once, "profile {:?}", profile);
        }
    }

    /// `fix` (which skips clean lines in bulk) agrees with the plain
    /// line-by-line `fix_and_explain`.
    #[test]
    fn fix_matches_line_by_line(text in text_strategy()) {
        for profile in [Profile::Ftfy, Profile::Pipeline] {
            let fixer = Fixer::new(FixOptions::profile(profile));
            prop_assert_eq!(fixer.fix(&text).into_owned(), fixer.fix_and_explain(&text).0);
        }
    }

    /// The quick pre-check never clears a text the rules call bad.
    #[test]
    fn precheck_is_sound(text in text_strategy()) {
        if badness::is_bad_uncached(&text) {
            prop_assert!(badness::may_be_bad(&text));
        }
    }

    /// Characters called NFC-inert really are: NFC keeps them, and a
    /// following combining mark never merges into the inert character
    /// unless it is a composable starter (then the mark is not inert).
    #[test]
    fn nfc_inert_chars_are_stable(c in any::<char>()) {
        use unicode_normalization::UnicodeNormalization;
        if super::fixes::is_nfc_inert(c) {
            prop_assert_eq!(std::iter::once(c).nfc().collect::<String>(), c.to_string());
        }
    }

    #[test]
    fn unsuspicious_text_is_untouched_by_encoding_fixer(text in any::<String>()) {
        let text: String = text.chars().filter(|&c| !badness::is_suspicious(c)).collect();
        let fixer = Fixer::new(FixOptions::encoding_only());
        prop_assert!(matches!(fixer.fix(&text), std::borrow::Cow::Borrowed(_)));
    }
}

#[test]
fn fixer_is_clone_send_sync() {
    fn check<T: Clone + Send + Sync>() {}
    check::<Fixer>();
}

/// The fast path as a plain walk over characters: what
/// `Fixer::may_need_fixing` computes on bytes and tables.
fn may_need_fixing_by_chars(fixer: &Fixer, line: &str) -> bool {
    use super::fixes;
    let o = fixer.options();
    let encoding = o.fix_encoding || o.fix_c1_controls;
    let mut precheck = badness::PreCheck::default();
    let mut maybe_unnormalized = false;
    for c in line.chars() {
        maybe_unnormalized |= !fixes::is_nfc_inert(c);
        let hit = match c {
            // ASCII has no mojibake role, but it breaks a sequence.
            _ if c.is_ascii() => {
                precheck.feed(c);
                match c {
                    '&' => o.unescape_html,
                    '\r' => o.fix_line_breaks,
                    '\x1b' => {
                        o.remove_terminal_escapes || o.remove_control_chars
                    }
                    _ => {
                        fixes::is_removable_control(c)
                            && o.remove_control_chars
                    }
                }
            }
            _ => {
                (precheck.feed(c) && encoding)
                    || (o.restore_lost_dashes && c == '\u{fffd}')
                    || fixes::is_line_break(c)
                    || fixes::is_removable_control(c)
                    || (o.uncurl_quotes && fixes::is_curly_quote(c))
                    || (o.fix_character_width
                        && fixes::width_fold(c).is_some())
                    || (o.fix_latin_ligatures && fixes::ligature(c).is_some())
            }
        };
        if hit {
            return true;
        }
    }
    maybe_unnormalized
        && o.normalize_nfc
        && !unicode_normalization::is_nfc(line)
}

fn fast_path_options() -> Vec<FixOptions> {
    let mut all = vec![
        FixOptions::profile(Profile::Ftfy),
        FixOptions::profile(Profile::Pipeline),
    ];
    all.push(FixOptions { restore_lost_dashes: true, ..all[1].clone() });
    all
}

/// Lines from every range the fast path treats apart: plain and flagged
/// ASCII, two-byte characters, general punctuation, CJK and the rest.
fn fast_path_line() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[a-z &\t\r\x0c\x1b\x7f\x01]{0,40}",
        prop::char::range('\u{80}', '\u{7ff}').prop_map(String::from),
        prop::char::range('\u{2000}', '\u{206f}').prop_map(String::from),
        prop::char::range('\u{3000}', '\u{f010}').prop_map(String::from),
        any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..24).prop_map(|p| p.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    /// The byte-level fast path decides as the character walk does.
    #[test]
    fn fast_path_matches_the_character_walk(line in fast_path_line()) {
        for options in fast_path_options() {
            let fixer = Fixer::new(options);
            prop_assert_eq!(
                fixer.may_need_fixing(&line),
                may_need_fixing_by_chars(&fixer, &line),
                "{:?}", fixer.options()
            );
        }
    }
}

/// Every character of the two tables, alone and next to a trigger
/// character, decides as the character walk does.
#[test]
fn fast_path_tables_match_the_character_walk() {
    let ranges = [0x80..0x800u32, 0x2000..0x2070];
    let trigger = ('\u{80}'..'\u{800}')
        .find(|&c| badness::role(c) == badness::Role::Trigger)
        .expect("a trigger character");
    for options in fast_path_options() {
        let fixer = Fixer::new(options);
        for cp in ranges.iter().cloned().flatten() {
            let c = char::from_u32(cp).unwrap();
            for line in [
                format!("{c}"),
                format!("a{c}b"),
                format!("{trigger}{c}"),
                format!("{c}{trigger}"),
                // ASCII between breaks a sequence.
                format!("{trigger}a{c}"),
                format!("{c} {trigger}"),
            ] {
                assert_eq!(
                    fixer.may_need_fixing(&line),
                    may_need_fixing_by_chars(&fixer, &line),
                    "U+{cp:04X} in {line:?}"
                );
            }
        }
    }
}

/// The sixteen-byte scan (and the eight-byte one of other targets) finds
/// what a byte-by-byte one finds, from every start and with the flagged
/// byte at every offset.
#[test]
fn next_flagged_byte_finds_the_first_flagged_byte() {
    for flagged in [b'&', 0x7f, 0x01, b'\r', 0x1b, 0xc3, 0xff] {
        for len in 0..48 {
            for at in 0..=len {
                let mut bytes = vec![b'x'; len];
                for (i, b) in bytes.iter_mut().enumerate() {
                    *b = [b'x', b'\t', b'\n', 0x0c, b' ', b'~'][i % 6];
                }
                if at < len {
                    bytes[at] = flagged;
                }
                for from in 0..=len {
                    let expected = bytes[from..]
                        .iter()
                        .position(|&b| super::ASCII_FLAGS[usize::from(b)])
                        .map(|i| from + i);
                    assert_eq!(
                        super::next_flagged_byte(&bytes, from),
                        expected
                    );
                    assert_eq!(
                        super::next_flagged_byte_swar(&bytes, from),
                        expected
                    );
                }
            }
        }
    }
}
