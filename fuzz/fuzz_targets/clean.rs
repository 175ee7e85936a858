#![no_main]
//! Any bytes through the whole single-document path: no panic, one kept
//! line number per output line, and the audit trail restores the decoded
//! text (with its line breaks normalised, as the fixer does).

use chaff::decode::Decoder;
use chaff::Pipeline;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let pipeline = Pipeline::builder().build().unwrap();
    let Ok(doc) = pipeline.clean_bytes("f", data) else {
        return;
    };
    let lines = if doc.text.is_empty() && doc.kept_lines.is_empty() {
        0
    } else {
        doc.text.split('\n').count()
    };
    assert_eq!(lines, doc.kept_lines.len(), "{:?}", doc.text);
    let decoded = Decoder::new().decode(data).unwrap().text;
    let normalised = decoded
        .replace("\r\n", "\n")
        .replace(['\r', '\u{2028}', '\u{2029}'], "\n");
    let expected = normalised.strip_suffix('\n').unwrap_or(&normalised);
    assert_eq!(doc.restore(), expected);
});
