//! Properties over random input: no panic on any bytes, stripping never
//! invents text, the audit trail restores the input, and the thread count
//! never changes the output.

use proptest::prelude::*;

use chaff::input::{Inputs, WalkOptions};
use chaff::sink::Collect;
use chaff::Pipeline;

/// Lines drawn from a mix of prose, furniture and mojibake, so that every
/// stage has something to do.
fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("The minister said on Friday that the talks would continue next month in Tokyo.".to_string()),
        Just("Share this article".to_string()),
        Just("© 2024 Example News. All rights reserved.".to_string()),
        Just("It isnâ€™t over, officials said.".to_string()),
        Just(String::new()),
        Just("Windows line\r".to_string()),
        Just("\r".to_string()),
        "[a-zA-Z ,.]{0,80}",
        any::<String>(),
    ]
}

fn page() -> impl Strategy<Value = String> {
    prop::collection::vec(line(), 0..20).prop_map(|lines| lines.join("\n"))
}

/// Found by the strip fuzz target, whose property dropped a trailing `\r`
/// from each input line: with the fix stage off, line breaks are kept as
/// they came, so a `\r` (alone or before `\n`) stays part of its line, in
/// the text and in the audit trail.
#[test]
fn fix_off_keeps_carriage_returns_in_their_lines() {
    let pipeline = Pipeline::builder().fix(None).dedup(None).build().unwrap();
    let prose =
        "The minister said on Friday that the talks would continue.\r\n\
                 Officials from both sides will meet again in Tokyo.\r\n";
    for text in ["\r", "\r\u{8d}\r-", "a\rb\r\n\r", prose] {
        let doc = pipeline.clean_text("x", text);
        let input: Vec<&str> = text.split('\n').collect();
        for (n, line) in doc.kept_lines.iter().zip(doc.text.split('\n')) {
            assert_eq!(input[*n as usize - 1], line, "{text:?}");
        }
        let whole = text.strip_suffix('\n').unwrap_or(text);
        assert_eq!(doc.restore(), whole, "{text:?}");
    }
    let doc = pipeline.clean_text("x", prose);
    assert_eq!(doc.text, prose.strip_suffix('\n').unwrap());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2000)) {
        let pipeline = Pipeline::builder().build().unwrap();
        let _ = pipeline.clean_bytes("x", &bytes);
    }

    /// Without the fix stage a `\r` stays part of its line.
    #[test]
    fn output_lines_are_input_lines_and_restore(text in page()) {
        let pipeline = Pipeline::builder().fix(None).build().unwrap();
        let doc = pipeline.clean_text("x", &text);
        let input: Vec<&str> = text.split('\n').collect();
        for (n, line) in doc.kept_lines.iter().zip(doc.text.split('\n')) {
            prop_assert_eq!(input[*n as usize - 1], line);
        }
        prop_assert_eq!(doc.restore(), text.strip_suffix('\n').unwrap_or(&text));
    }

    #[test]
    fn restore_holds_with_fixes(text in page()) {
        let pipeline = Pipeline::builder().build().unwrap();
        let doc = pipeline.clean_text("x", &text);
        // The fixer makes every line break `\n`, a lone `\r` included.
        let whole = text
            .replace("\r\n", "\n")
            .replace(['\r', '\u{2028}', '\u{2029}'], "\n");
        prop_assert_eq!(doc.restore(), whole.strip_suffix('\n').unwrap_or(&whole));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]

    #[test]
    fn thread_count_never_changes_output(pages in prop::collection::vec(page(), 1..12)) {
        let tmp = tempfile::tempdir().unwrap();
        for (i, p) in pages.iter().enumerate() {
            let dir = tmp.path().join(format!("s{}", i % 3));
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join(format!("{i}.txt")), p).unwrap();
        }
        let inputs = Inputs::from_paths(&[tmp.path()], &WalkOptions::default());
        let mut outs = Vec::new();
        for threads in [1, 2, 4] {
            let pipeline = Pipeline::builder().threads(threads).build().unwrap();
            let mut sink = Collect::default();
            pipeline.run(&inputs, &mut sink).unwrap();
            outs.push((sink.documents, sink.clusters));
        }
        prop_assert_eq!(&outs[0], &outs[1]);
        prop_assert_eq!(&outs[0], &outs[2]);
    }
}
