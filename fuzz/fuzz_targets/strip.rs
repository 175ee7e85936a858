#![no_main]
//! Any text: stripping never panics, never invents text (every output
//! line is an input line, in input order) and the audit trail restores the
//! input exactly. With the fix stage off, line breaks are kept as they
//! came: a `\r` stays part of its line.
//!
//! Stripping is not idempotent, by design: a line is judged in its
//! document (the language, stopwords learned from the document, the main
//! region), and the stripped document is another context.

use chaff::Pipeline;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let pipeline = Pipeline::builder().fix(None).dedup(None).build().unwrap();
    let once = pipeline.clean_text("f", text);
    let input: Vec<&str> = text.split('\n').collect();
    let output: Vec<&str> = once.text.split('\n').collect();
    if once.kept_lines.is_empty() {
        assert_eq!(once.text, "");
    } else {
        assert_eq!(once.kept_lines.len(), output.len());
    }
    assert!(once.kept_lines.windows(2).all(|w| w[0] < w[1]));
    for (line_no, line) in once.kept_lines.iter().zip(output) {
        assert_eq!(input[*line_no as usize - 1], line);
    }
    assert_eq!(once.restore(), text.strip_suffix('\n').unwrap_or(text));
});
