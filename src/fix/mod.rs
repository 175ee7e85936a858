//! Text repair: mojibake, HTML entities, control characters, line breaks.
//!
//! The fixer works line by line so that one bad line cannot change the
//! interpretation of a good one, and so that the pipeline can record each
//! changed line with the fixes that changed it.

use std::borrow::Cow;

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
    /// Replace ` \u{FFFD} ` between two words with ` – ` (a lost dash).
    pub restore_lost_dashes: bool,
}

impl FixOptions {
    /// The options of a profile.
    pub fn profile(profile: Profile) -> FixOptions {
        let ftfy = profile == Profile::Ftfy;
        FixOptions {
            fix_encoding: true,
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
}

impl FixOptions {
    /// Only the fixes that repair encodings, like ftfy's `fix_encoding`:
    /// everything that is not about mojibake is switched off.
    pub fn encoding_only(mut self) -> FixOptions {
        self.unescape_html = false;
        self.remove_terminal_escapes = false;
        self.fix_latin_ligatures = false;
        self.fix_character_width = false;
        self.uncurl_quotes = false;
        self.fix_line_breaks = false;
        self.remove_control_chars = false;
        self.normalize_nfc = false;
        self.restore_lost_dashes = false;
        self
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
    /// `encode`, `decode`, `transcode` or `apply`.
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
    pub fn fix<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = String::new();
        let mut changed = false;
        for line in text.split_inclusive('\n') {
            let fixed = self.fix_line(line, None);
            if let Cow::Owned(_) = fixed {
                changed = true;
            }
            out.push_str(&fixed);
        }
        if changed {
            Cow::Owned(out)
        } else {
            Cow::Borrowed(text)
        }
    }

    /// Fixes a whole text and returns the steps applied to it.
    pub fn fix_and_explain(&self, text: &str) -> (String, Vec<FixStep>) {
        let mut out = String::with_capacity(text.len());
        let mut steps = Vec::new();
        for line in text.split_inclusive('\n') {
            out.push_str(&self.fix_line(line, Some(&mut steps)));
        }
        (out, steps)
    }

    /// Fixes one line (which may end with its line break). When `steps`
    /// is given, the steps that changed the line are appended to it.
    pub fn fix_line<'a>(
        &self,
        line: &'a str,
        mut steps: Option<&mut Vec<FixStep>>,
    ) -> Cow<'a, str> {
        let mut text = Cow::Borrowed(line);
        if self.options.fix_line_breaks && text.contains('\r') {
            let fixed = text.replace("\r\n", "\n").replace('\r', "\n");
            record(&mut steps, "fix_line_breaks");
            text = Cow::Owned(fixed);
        }
        if self.options.remove_control_chars
            && text.chars().any(is_removable_control)
        {
            let fixed: String =
                text.chars().filter(|&c| !is_removable_control(c)).collect();
            record(&mut steps, "remove_control_chars");
            text = Cow::Owned(fixed);
        }
        text
    }
}

fn record(steps: &mut Option<&mut Vec<FixStep>>, name: &'static str) {
    if let Some(steps) = steps {
        steps.push(FixStep { action: "apply", parameter: name });
    }
}

fn is_removable_control(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{e}'..='\u{1f}' | '\u{7f}')
}
