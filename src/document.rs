//! Documents and the audit records of what was changed or removed.

use std::borrow::Cow;

use serde::Serialize;

/// The stage that changed or removed a span.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Decoding and text repair.
    Fix,
    /// Boilerplate removal.
    Strip,
    /// Near-duplicate removal.
    Dedup,
}

/// One changed or removed line, with enough to restore it.
///
/// `line` is the 1-based line of the decoded input; `original` is the
/// line as it was before this stage (after decoding). A removal has
/// `replacement: None`; a change (a fix) has the new text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Removal {
    /// 1-based line number in the decoded input.
    pub line: u32,
    /// The stage that acted.
    pub stage: Stage,
    /// A reason code, e.g. `lexicon:subscribe`, `outside-main-region`,
    /// `repeated-in-source:37`, `near-duplicate:4` or a fix plan (most
    /// are constants, so not allocated for each line).
    pub reason: Cow<'static, str>,
    /// The line before the stage acted (without its line break).
    pub original: String,
    /// The new text of a changed line; `None` when removed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replacement: Option<String>,
}

/// Where a document came from and how it was decoded.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DocMeta {
    /// The document's name: its path relative to the input root, or for
    /// JSON Lines records the record's `id` (or `FILE:LINE`).
    pub name: String,
    /// The site the document came from (see the crate docs).
    pub source: String,
    /// The record's `url`, when the input gave one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The record's `id`, when the input gave one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Bytes read for this document.
    pub bytes_in: u64,
    /// The encoding it was decoded with.
    pub encoding: &'static str,
    /// How the encoding was chosen.
    pub encoding_method: &'static str,
    /// True when some bytes could not be decoded.
    pub lossy: bool,
}

/// A cleaned document: its text, where it came from, and every change.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Document {
    /// Position of the document in input order, from 0.
    pub index: usize,
    /// Name, source and decoding facts.
    #[serde(flatten)]
    pub meta: DocMeta,
    /// The cleaned text, lines joined by `\n`.
    pub text: String,
    /// Every line changed or removed, in line order.
    pub removals: Vec<Removal>,
    /// The 1-based input line of each line of `text`.
    #[serde(skip)]
    pub kept_lines: Vec<u32>,
    /// Where a folder output writes the text, relative to the folder.
    #[serde(skip)]
    pub out_path: String,
    /// The input ended with a line break (so the written text does too).
    #[serde(skip)]
    pub final_newline: bool,
}

impl Document {
    /// Rebuilds the decoded input text from the cleaned lines and the
    /// removal records: the audit trail is complete when this equals the
    /// decoded input (with line breaks normalised to `\n`).
    ///
    /// It uses `kept_lines`, the input line of each line of `text`.
    pub fn restore(&self) -> String {
        let mut lines: Vec<(u32, &str)> = Vec::new();
        for (&n, text) in self.kept_lines.iter().zip(self.text.split('\n')) {
            lines.push((n, text));
        }
        let mut fixed: std::collections::HashMap<u32, &str> =
            std::collections::HashMap::new();
        for r in &self.removals {
            match r.replacement {
                Some(_) => {
                    fixed.insert(r.line, &r.original);
                }
                None => lines.push((r.line, &r.original)),
            }
        }
        lines.sort_by_key(|&(n, _)| n);
        let restored: Vec<&str> = lines
            .iter()
            .map(|&(n, text)| fixed.get(&n).copied().unwrap_or(text))
            .collect();
        restored.join("\n")
    }
}
