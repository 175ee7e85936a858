//! The check that both whole-pipeline targets make of each document.

use chaff::Document;

/// `doc` keeps one input line number for each output line, and its
/// audit trail gives back `text`, with line breaks normalised as the
/// fixer does and less a final one.
pub fn assert_restores(doc: &Document, text: &str) {
    let lines = if doc.text.is_empty() && doc.kept_lines.is_empty() {
        0
    } else {
        doc.text.split('\n').count()
    };
    assert_eq!(lines, doc.kept_lines.len(), "{:?}", doc.text);
    let normalised = text
        .replace("\r\n", "\n")
        .replace(['\r', '\u{2028}', '\u{2029}'], "\n");
    let expected = normalised.strip_suffix('\n').unwrap_or(&normalised);
    assert_eq!(doc.restore(), expected, "document {}", doc.index);
}
