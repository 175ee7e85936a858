#![no_main]
//! Any text: stripping never panics, never invents text (every output
//! line is an input line) and is idempotent.

use chaff::Pipeline;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let pipeline = Pipeline::builder().fix(None).dedup(None).build().unwrap();
    let once = pipeline.clean_text("f", text);
    let input: Vec<&str> = text.split('\n').map(|l| l.trim_end_matches('\r')).collect();
    for (line_no, line) in once.kept_lines.iter().zip(once.text.split('\n')) {
        assert_eq!(input[*line_no as usize - 1], line);
    }
    let whole = input.join("\n");
    assert_eq!(once.restore(), whole.strip_suffix('\n').unwrap_or(&whole));
});
