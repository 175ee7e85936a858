//! Text repair: mojibake, HTML entities, control characters, line breaks.
//!
//! The fixer works line by line so that one bad line cannot change the
//! interpretation of a good one, and so that the pipeline can record each
//! changed line with the fixes that changed it.
//!
//! The algorithm follows ftfy 6.3 (Robyn Speer): a heuristic
//! ([`badness::is_bad`]) decides whether a line contains mojibake; if so,
//! the line is re-encoded with the single-byte codecs UTF-8 is commonly
//! mistaken for and decoded again as UTF-8, repeatedly, until it is stable.
//! The other fixes run after it, and the whole sequence repeats until the
//! line no longer changes.
//!
//! Most lines need nothing. A quick scan proves that (no byte that any fix
//! reacts to, no pair of characters that a mojibake rule could start
//! from, nothing NFC could change) and the line is returned borrowed,
//! without allocation.
//!
//! Where this differs from ftfy 6.3.1, on purpose:
//! * two more mojibake rules (code page 437 `┬┐`/`┬í` before a word for
//!   `¿`/`¡`; `Г` plus a symbol after a Latin letter, Windows-1251 `é`),
//!   and a C3-space (`Ã `) after a letter is only read as "à + lost space"
//!   when the codec was Latin-1 or Windows-1252: 4 of ftfy's 10 known
//!   failures come out right, no passing case changes;
//! * Rust strings hold no surrogates: CESU-8 pairs are decoded while
//!   repairing (`utf-8-variants`), so `fix_surrogates` has nothing to do;
//! * [`Fixer::fix_line`] decides on entities per line; [`Fixer::fix`] does
//!   as ftfy's `fix_text` (a `<` turns them off for the rest of the text),
//!   except that a `<` that fixing removed (`<` + U+0338 is `≮`) does not
//!   (a second fix would not see it);
//! * when fixing puts a line break inside a line (a lone `\r`), each piece
//!   is fixed again as a line of its own, so that fixing is idempotent
//!   (ftfy's output can change when fixed again).

use std::borrow::Cow;
use std::sync::LazyLock;

pub mod badness;
mod codecs;
mod encoding;
mod entities;
mod fixes;
#[rustfmt::skip]
mod tables;
#[cfg(test)]
mod tests;

/// A named set of defaults for [`FixOptions`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    /// ftfy's `fix_text` defaults, for conformance.
    Ftfy,
    /// What large-scale corpus builders keep: encoding repair, entities,
    /// controls and line breaks, but no quote uncurling and no width
    /// folding (those damage Chinese and Japanese text).
    Pipeline,
}

/// Which fixes run. Every fix can be switched on its own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FixOptions {
    /// Undo UTF-8 that was decoded with a legacy single-byte encoding.
    pub fix_encoding: bool,
    /// While repairing the encoding, put back 0xA0 bytes that became plain
    /// spaces (a mojibaked no-break space, `Â `, "normalised" by someone).
    pub restore_byte_a0: bool,
    /// While repairing the encoding, turn UTF-8 sequences that lost a byte
    /// (to `?` or U+FFFD) into one U+FFFD instead of giving up.
    pub replace_lossy_sequences: bool,
    /// Fix runs of mojibake inside a line that cannot be repaired whole.
    pub decode_inconsistent_utf8: bool,
    /// Decode HTML entities, except on lines containing `<`.
    pub unescape_html: bool,
    /// Remove ANSI terminal escape sequences.
    pub remove_terminal_escapes: bool,
    /// Turn C1 control characters into the Windows-1252 characters meant.
    pub fix_c1_controls: bool,
    /// Split Latin ligatures such as `ﬁ`.
    pub fix_latin_ligatures: bool,
    /// Fold full-width Latin and half-width katakana.
    pub fix_character_width: bool,
    /// Turn curly quotes into straight ones.
    pub uncurl_quotes: bool,
    /// Normalise `\r\n`, `\r`, U+2028, U+2029 and U+0085 to `\n`.
    pub fix_line_breaks: bool,
    /// Remove control characters other than tab and newline.
    pub remove_control_chars: bool,
    /// Apply Unicode NFC normalisation.
    pub normalize_nfc: bool,
    /// Replace ` \u{FFFD} ` between two words with ` – ` (a lost dash; an
    /// en dash, see the comment on the rule). Off in both profiles.
    pub restore_lost_dashes: bool,
}

impl FixOptions {
    /// The options of a profile.
    pub fn profile(profile: Profile) -> FixOptions {
        let ftfy = profile == Profile::Ftfy;
        FixOptions {
            fix_encoding: true,
            restore_byte_a0: true,
            replace_lossy_sequences: true,
            decode_inconsistent_utf8: true,
            unescape_html: true,
            remove_terminal_escapes: true,
            fix_c1_controls: true,
            fix_latin_ligatures: ftfy,
            fix_character_width: ftfy,
            uncurl_quotes: ftfy,
            fix_line_breaks: true,
            remove_control_chars: true,
            normalize_nfc: true,
            restore_lost_dashes: false,
        }
    }

    /// Only the encoding repair (the analogue of ftfy's `fix_encoding`):
    /// re-encoding trials, 0xA0 restoring, lossy sequences, inconsistent
    /// UTF-8 and C1 controls; no entities, no NFC.
    pub fn encoding_only() -> FixOptions {
        FixOptions {
            fix_encoding: true,
            restore_byte_a0: true,
            replace_lossy_sequences: true,
            decode_inconsistent_utf8: true,
            unescape_html: false,
            remove_terminal_escapes: false,
            fix_c1_controls: true,
            fix_latin_ligatures: false,
            fix_character_width: false,
            uncurl_quotes: false,
            fix_line_breaks: false,
            remove_control_chars: false,
            normalize_nfc: false,
            restore_lost_dashes: false,
        }
    }
}

impl Default for FixOptions {
    fn default() -> FixOptions {
        FixOptions::profile(Profile::Pipeline)
    }
}

/// One step of a fix plan, as ftfy's `fix_and_explain` reports it:
/// e.g. `("encode", "sloppy-windows-1252")`, `("decode", "utf-8")` or
/// `("apply", "unescape_html")`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FixStep {
    /// `encode`, `decode`, `transcode`, `apply` or `normalize`.
    pub action: &'static str,
    /// The codec or fix name.
    pub parameter: &'static str,
}

impl std::fmt::Display for FixStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.action, self.parameter)
    }
}

/// Repairs text according to its [`FixOptions`].
#[derive(Clone, Debug, Default)]
pub struct Fixer {
    options: FixOptions,
}

impl Fixer {
    /// A fixer with the given options.
    pub fn new(options: FixOptions) -> Fixer {
        Fixer { options }
    }

    /// The options in force.
    pub fn options(&self) -> &FixOptions {
        &self.options
    }

    /// Fixes a whole text, line by line. Borrows when nothing changed.
    ///
    /// As in ftfy's `fix_text`, once a line contains `<` the text is taken
    /// to be HTML and entities are no longer decoded on later lines either
    /// (unless fixing removed that `<`, as `<` + U+0338 composing to `≮`).
    pub fn fix<'a>(&self, text: &'a str) -> Cow<'a, str> {
        // Jump from one flagged byte to the next and fix only the lines
        // that hold one: clean lines are never split out or looked at again.
        let bytes = text.as_bytes();
        let mut lt_seen = LtSeen::default();
        let mut out: Option<String> = None;
        let mut copied = 0;
        let mut pos = 0;
        while let Some(flagged) = next_flagged_byte(bytes, pos) {
            let start = memchr::memrchr(b'\n', &bytes[pos..flagged])
                .map_or(pos, |i| pos + i + 1);
            let end = memchr::memchr(b'\n', &bytes[flagged..])
                .map_or(bytes.len(), |i| flagged + i + 1);
            // The lines skipped are the same in the input and the output.
            if memchr::memchr(b'<', &bytes[pos..start]).is_some() {
                lt_seen = LtSeen { input: true, output: true };
            }
            let line = &text[start..end];
            let fixed = self.fix_line_with(line, None, lt_seen);
            lt_seen = lt_seen.after(line, &fixed);
            if let Cow::Owned(fixed) = fixed {
                let out = out.get_or_insert_with(|| {
                    String::with_capacity(text.len() + 16)
                });
                out.push_str(&text[copied..start]);
                out.push_str(&fixed);
                copied = end;
            }
            pos = end;
        }
        match out {
            Some(mut out) => {
                out.push_str(&text[copied..]);
                Cow::Owned(out)
            }
            None => Cow::Borrowed(text),
        }
    }

    /// Fixes a whole text and returns the steps applied to it.
    pub fn fix_and_explain(&self, text: &str) -> (String, Vec<FixStep>) {
        let mut out = String::with_capacity(text.len());
        let mut steps = Vec::new();
        let mut lt_seen = LtSeen::default();
        for line in text.split_inclusive('\n') {
            let fixed = self.fix_line_with(line, Some(&mut steps), lt_seen);
            lt_seen = lt_seen.after(line, &fixed);
            out.push_str(&fixed);
        }
        (out, steps)
    }

    /// Fixes one line (which may end with its line break). When `steps`
    /// is given, the steps that changed the line are appended to it.
    pub fn fix_line<'a>(
        &self,
        line: &'a str,
        steps: Option<&mut Vec<FixStep>>,
    ) -> Cow<'a, str> {
        self.fix_line_with(line, steps, LtSeen::default())
    }

    /// Fixes one line; `lt_before` tells where earlier lines held `<`.
    fn fix_line_with<'a>(
        &self,
        line: &'a str,
        mut steps: Option<&mut Vec<FixStep>>,
        lt_before: LtSeen,
    ) -> Cow<'a, str> {
        if !self.may_need_fixing(line) {
            return Cow::Borrowed(line);
        }
        let o = &self.options;
        let mut text = line.to_string();
        // Every fix can expose work for another (an entity that decodes to
        // mojibake, mojibake that decodes to an entity...): repeat until
        // stable, as ftfy does.
        loop {
            let html_ok = !lt_before.after(line, &text).ends_entities();
            let mut run = Run {
                text: &mut text,
                before: None,
                steps: steps.as_deref_mut(),
            };
            run.apply(
                o.unescape_html && html_ok,
                "unescape_html",
                entities::unescape_html,
            );
            if o.fix_encoding {
                let fixed = encoding::fix_encoding(
                    run.text,
                    o,
                    run.steps.as_deref_mut(),
                );
                if let Some(fixed) = fixed {
                    run.replace(fixed);
                }
            }
            // One scan finds which character fixes have work; only the C1
            // fix can create work for a later one (curly quotes).
            let mut work = fixes::Work::scan(run.text);
            let mut changed = false;
            if run.apply(
                o.fix_c1_controls && work.c1,
                "fix_c1_controls",
                fixes::fix_c1_controls,
            ) {
                work.quotes = true;
                changed = true;
            }
            changed |= run.apply(
                o.fix_latin_ligatures && work.ligatures,
                "fix_latin_ligatures",
                fixes::fix_latin_ligatures,
            );
            changed |= run.apply(
                o.fix_character_width && work.width,
                "fix_character_width",
                fixes::fix_character_width,
            );
            changed |= run.apply(
                o.uncurl_quotes && work.quotes,
                "uncurl_quotes",
                fixes::uncurl_quotes,
            );
            changed |= run.apply(
                o.fix_line_breaks && work.line_breaks,
                "fix_line_breaks",
                fixes::fix_line_breaks,
            );
            changed |= run.apply(
                o.remove_terminal_escapes && work.controls,
                "remove_terminal_escapes",
                fixes::remove_terminal_escapes,
            );
            changed |= run.apply(
                o.remove_control_chars && work.controls,
                "remove_control_chars",
                fixes::remove_control_chars,
            );
            // The scan still holds for NFC unless a fix above changed the
            // text.
            let nfc_inert = || {
                if changed {
                    fixes::is_all_nfc_inert(run.text)
                } else {
                    work.nfc_inert
                }
            };
            if o.normalize_nfc && !nfc_inert() {
                if let Some(fixed) = fixes::normalize_nfc(run.text) {
                    record(&mut run.steps, "normalize", "NFC");
                    run.replace(fixed);
                }
            }
            run.apply(
                o.restore_lost_dashes,
                "restore_lost_dashes",
                fixes::restore_lost_dashes,
            );
            // Stable once no fix replaced the text, or the replacements
            // brought it back to where the round began.
            match run.before {
                None => break,
                Some(before) if before == *run.text => break,
                Some(_) => {}
            }
        }
        // Fixing can put a line break inside the line (a lone `\r`, a
        // U+2028 decoded from mojibake). Fixing the output again would
        // judge each piece as a line of its own, and mojibake that did not
        // decode in the longer line may decode alone: fix the pieces now,
        // so that fixing is idempotent. (A `<` in the line now ends entity
        // decoding only from its own piece on, as it will in a later fix.)
        if has_interior_newline(&text) {
            let mut pieces = String::with_capacity(text.len());
            let mut lt_seen = lt_before;
            for piece in text.split_inclusive('\n') {
                let fixed =
                    self.fix_line_with(piece, steps.as_deref_mut(), lt_seen);
                lt_seen = lt_seen.after(piece, &fixed);
                pieces.push_str(&fixed);
            }
            text = pieces;
        }
        if text == line {
            Cow::Borrowed(line)
        } else {
            Cow::Owned(text)
        }
    }

    /// False when no fix can change the line: the fast path.
    ///
    /// It walks the line's bytes rather than its characters: plain ASCII
    /// is skipped sixteen bytes at a time, and two-byte characters and
    /// general punctuation (curly quotes, dashes) are one table lookup
    /// each. Text with Cyrillic or curly quotes on most lines made the
    /// character-by-character walk a tenth of a whole run.
    fn may_need_fixing(&self, line: &str) -> bool {
        let o = &self.options;
        let encoding = o.fix_encoding || o.fix_c1_controls;
        let two_byte: &[CharFacts] = &TWO_BYTE;
        let punctuation: &[CharFacts] = &PUNCTUATION;
        // What a table's facts say; the same test for both tables.
        let concerns = |precheck: &mut badness::PreCheck,
                        &(role, flags): &CharFacts| {
            (precheck.feed_role(role) && encoding)
                || flags & ALWAYS != 0
                || (o.uncurl_quotes && flags & QUOTE != 0)
                || (o.fix_latin_ligatures && flags & LIGATURE != 0)
        };
        let bytes = line.as_bytes();
        let mut precheck = badness::PreCheck::default();
        let mut maybe_unnormalized = false;
        let mut pos = 0;
        while let Some(&lead) = bytes.get(pos) {
            // Unflagged ASCII (most of most lines) concerns no fix and has
            // no role in the mojibake rules: it is skipped, and only resets
            // the pre-check.
            if !ASCII_FLAGS[usize::from(lead)] {
                precheck.feed_role(badness::Role::None);
                match next_flagged_byte(bytes, pos + 1) {
                    Some(at) => pos = at,
                    None => break,
                }
                continue;
            }
            let hit = match lead {
                0x00..=0x7f => {
                    pos += 1;
                    precheck.feed_role(badness::Role::None);
                    match lead {
                        b'&' => o.unescape_html,
                        b'\r' => o.fix_line_breaks,
                        0x1b => {
                            o.remove_terminal_escapes || o.remove_control_chars
                        }
                        _ => {
                            fixes::is_removable_control(char::from(lead))
                                && o.remove_control_chars
                        }
                    }
                }
                // A two-byte character (valid UTF-8: its continuation
                // byte follows): U+0080..U+07FF, Latin, Greek, Cyrillic...
                0xc2..=0xdf => {
                    let cp = usize::from(lead & 0x1f) << 6
                        | usize::from(bytes[pos + 1] & 0x3f);
                    pos += 2;
                    let facts = &two_byte[cp - 0x80];
                    maybe_unnormalized |= facts.1 & NOT_NFC_INERT != 0;
                    concerns(&mut precheck, facts)
                }
                _ => {
                    let c = line[pos..].chars().next().expect("a character");
                    pos += c.len_utf8();
                    let cp = c as u32;
                    if let Some(facts) = cp
                        .checked_sub(PUNCTUATION_START)
                        .and_then(|k| punctuation.get(k as usize))
                    {
                        maybe_unnormalized |= facts.1 & NOT_NFC_INERT != 0;
                        concerns(&mut precheck, facts)
                    } else if ('\u{3001}'..'\u{f000}').contains(&c) {
                        // CJK, kana, Hangul: no rule or fix character in
                        // this block (U+3000, the ideographic space, is
                        // folded by the width fix).
                        precheck.feed_role(badness::Role::None);
                        maybe_unnormalized |= !fixes::is_nfc_inert(c);
                        false
                    } else {
                        // The facts the tables hold, found on the spot,
                        // and the two fixes of characters past them.
                        let facts = char_facts(c);
                        maybe_unnormalized |= facts.1 & NOT_NFC_INERT != 0;
                        concerns(&mut precheck, &facts)
                            || (o.restore_lost_dashes && c == '\u{fffd}')
                            || (o.fix_character_width
                                && fixes::width_fold(c).is_some())
                    }
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
}

/// The characters of a text that are not plain ASCII: non-ASCII ones and
/// the ASCII bytes of [`ASCII_FLAGS`], each with whether other (plain)
/// ASCII came before it since the previous one. Prose is mostly plain
/// ASCII, skipped eight bytes at a time.
pub(super) struct FlaggedChars<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> FlaggedChars<'a> {
    pub fn new(text: &'a str) -> FlaggedChars<'a> {
        FlaggedChars { text, pos: 0 }
    }
}

impl Iterator for FlaggedChars<'_> {
    type Item = (bool, char);

    #[inline]
    fn next(&mut self) -> Option<(bool, char)> {
        let bytes = self.text.as_bytes();
        let &first = bytes.get(self.pos)?;
        // In non-Latin text the next character is usually flagged itself.
        let at = if ASCII_FLAGS[usize::from(first)] {
            self.pos
        } else {
            next_flagged_byte(bytes, self.pos + 1)?
        };
        let c = if bytes[at].is_ascii() {
            char::from(bytes[at])
        } else {
            // `at` starts a character: scanning began at one, and only
            // non-ASCII (lead) bytes or ASCII stop it.
            self.text[at..].chars().next()?
        };
        let after_ascii = at > self.pos;
        self.pos = at + c.len_utf8();
        Some((after_ascii, c))
    }
}

const NOT_NFC_INERT: u8 = 1;
/// A fix that is never switched off in practice: line breaks, controls.
const ALWAYS: u8 = 2;
const QUOTE: u8 = 4;
const LIGATURE: u8 = 8;

/// A character's mojibake role and which fixes it concerns (the flags
/// above), so the fast path needs one lookup.
type CharFacts = (badness::Role, u8);

fn char_facts(c: char) -> CharFacts {
    let mut flags = 0;
    if !fixes::is_nfc_inert(c) {
        flags |= NOT_NFC_INERT;
    }
    if fixes::is_line_break(c) || fixes::is_removable_control(c) {
        flags |= ALWAYS;
    }
    if fixes::is_curly_quote(c) {
        flags |= QUOTE;
    }
    if fixes::ligature(c).is_some() {
        flags |= LIGATURE;
    }
    (badness::role(c), flags)
}

/// [`CharFacts`] of the characters `range`, which the width fix and the
/// lost dash do not concern (the fast path asks those of no table).
fn char_facts_table(range: std::ops::Range<u32>) -> Vec<CharFacts> {
    range
        .map(|cp| {
            let c = char::from_u32(cp).expect("no surrogates in the tables");
            debug_assert!(fixes::width_fold(c).is_none() && c != '\u{fffd}');
            char_facts(c)
        })
        .collect()
}

/// [`CharFacts`] of U+0080..U+07FF (the two-byte UTF-8 range).
static TWO_BYTE: LazyLock<Vec<CharFacts>> =
    LazyLock::new(|| char_facts_table(0x80..0x800));

/// The first character of [`PUNCTUATION`].
const PUNCTUATION_START: u32 = 0x2000;

/// [`CharFacts`] of General Punctuation, U+2000..U+206F: curly quotes,
/// dashes and ellipses, the three-byte characters of most Western text.
static PUNCTUATION: LazyLock<Vec<CharFacts>> =
    LazyLock::new(|| char_facts_table(PUNCTUATION_START..0x2070));

/// Bytes that can matter to some fix: everything non-ASCII, `&`, and the
/// C0 controls other than tab, newline and form feed, and DEL.
static ASCII_FLAGS: [bool; 256] = {
    let mut flags = [false; 256];
    let mut b = 0;
    while b < 256 {
        flags[b] = b >= 0x7f
            || (b < 0x20 && b != 0x09 && b != 0x0a && b != 0x0c)
            || b == b'&' as usize;
        b += 1;
    }
    flags
};

/// The position of the first byte at or after `from` that is in
/// [`ASCII_FLAGS`]: sixteen bytes at a time with SSE2, the last (under
/// sixteen) by loading the line's last sixteen bytes again, or in a line
/// shorter than that, from a padded copy.
#[cfg(target_arch = "x86_64")]
fn next_flagged_byte(bytes: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    while let Some(sixteen) = bytes.get(at..at + 16) {
        let flagged = flagged_16(sixteen);
        if flagged != 0 {
            return Some(at + flagged.trailing_zeros() as usize);
        }
        at += 16;
    }
    if at >= bytes.len() {
        return None;
    }
    let Some(last) = bytes.len().checked_sub(16) else {
        // A line shorter than sixteen bytes: copied into a padded block.
        let block = crate::sse2::padded_with_spaces(&bytes[at..]);
        let flagged = flagged_16(&block);
        return (flagged != 0).then(|| at + flagged.trailing_zeros() as usize);
    };
    // The bits of the bytes before `at`, looked at already, are shifted
    // out.
    let flagged = flagged_16(&bytes[last..]) >> (at - last);
    (flagged != 0).then(|| at + flagged.trailing_zeros() as usize)
}

/// The bytes of `sixteen` that are in [`ASCII_FLAGS`], as bits.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn flagged_16(sixteen: &[u8]) -> u32 {
    use crate::sse2::splat;
    use std::arch::x86_64::*;
    assert!(sixteen.len() == 16);
    // SAFETY: every x86-64 CPU has SSE2 (the build enables it), and the
    // unaligned load reads the sixteen bytes of `sixteen`.
    unsafe {
        let x = _mm_loadu_si128(sixteen.as_ptr().cast());
        // Signed: bytes from 0x80 are negative, so "below 0x20" too.
        let low = _mm_cmplt_epi8(x, splat(0x20));
        let harmless = _mm_or_si128(
            _mm_or_si128(
                _mm_cmpeq_epi8(x, splat(b'\t')),
                _mm_cmpeq_epi8(x, splat(b'\n')),
            ),
            _mm_cmpeq_epi8(x, splat(0x0c)),
        );
        let other = _mm_or_si128(
            _mm_cmpeq_epi8(x, splat(b'&')),
            _mm_cmpeq_epi8(x, splat(0x7f)),
        );
        let flagged = _mm_or_si128(_mm_andnot_si128(harmless, low), other);
        _mm_movemask_epi8(flagged) as u32
    }
}

#[cfg(not(target_arch = "x86_64"))]
use next_flagged_byte_swar as next_flagged_byte;

/// [`next_flagged_byte`] eight bytes at a time: a word with no high bit,
/// no `&`, no DEL and no control byte is skipped whole (most words of
/// ASCII prose); others are looked at byte by byte.
#[cfg(any(not(target_arch = "x86_64"), test))]
fn next_flagged_byte_swar(bytes: &[u8], from: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let has_zero = |w: u64| w.wrapping_sub(ONES) & !w & HIGH;
    let flagged = |b: &u8| ASCII_FLAGS[usize::from(*b)];
    let rest = &bytes[from..];
    let mut chunks = rest.chunks_exact(8);
    let mut offset = from;
    for chunk in &mut chunks {
        let w = u64::from_le_bytes(chunk.try_into().unwrap());
        let suspicious = (w & HIGH)
            | (w.wrapping_sub(ONES * 0x20) & !w & HIGH)
            | has_zero(w ^ (ONES * u64::from(b'&')))
            | has_zero(w ^ (ONES * 0x7f));
        if suspicious != 0 {
            if let Some(i) = chunk.iter().position(flagged) {
                return Some(offset + i);
            }
        }
        offset += 8;
    }
    chunks.remainder().iter().position(flagged).map(|i| offset + i)
}

/// Whether a `<` came before, in the input and in the fixed output.
///
/// ftfy takes a text whose input holds `<` to be HTML and decodes no
/// entities in it. Fixing can remove that `<` (NFC composes `<` and
/// U+0338 into `≮`), and a second fix would then decode them: so entities
/// stay decoded while the output holds no `<` either. The output alone
/// cannot decide: `&lt;` decodes to `<` and ftfy decodes on after it.
#[derive(Clone, Copy, Debug, Default)]
struct LtSeen {
    input: bool,
    output: bool,
}

impl LtSeen {
    /// Entity decoding is off.
    fn ends_entities(self) -> bool {
        self.input && self.output
    }

    /// What is seen once `input`, fixed to `output`, has been added.
    fn after(self, input: &str, output: &str) -> LtSeen {
        let has_lt =
            |text: &str| memchr::memchr(b'<', text.as_bytes()).is_some();
        LtSeen {
            input: self.input || has_lt(input),
            output: self.output || has_lt(output),
        }
    }
}

/// True when `text` has a `\n` before its last character.
fn has_interior_newline(text: &str) -> bool {
    let body = text.strip_suffix('\n').unwrap_or(text);
    memchr::memchr(b'\n', body.as_bytes()).is_some()
}

/// The text being fixed in one round, where to record the steps that
/// change it, and the text as the round began once a fix has replaced it.
struct Run<'t, 's> {
    text: &'t mut String,
    before: Option<String>,
    steps: Option<&'s mut Vec<FixStep>>,
}

impl Run<'_, '_> {
    /// Applies `fix` when `on`; true if it changed the text.
    fn apply(
        &mut self,
        on: bool,
        name: &'static str,
        fix: fn(&str) -> Option<String>,
    ) -> bool {
        let Some(fixed) = on.then(|| fix(self.text)).flatten() else {
            return false;
        };
        record(&mut self.steps, "apply", name);
        self.replace(fixed);
        true
    }

    /// Puts `fixed` in place of the text, keeping the round's first text.
    fn replace(&mut self, fixed: String) {
        let previous = std::mem::replace(self.text, fixed);
        self.before.get_or_insert(previous);
    }
}

fn record(
    steps: &mut Option<&mut Vec<FixStep>>,
    action: &'static str,
    parameter: &'static str,
) {
    if let Some(steps) = steps {
        steps.push(FixStep { action, parameter });
    }
}
