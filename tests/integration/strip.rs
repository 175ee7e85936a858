//! The strip stage on whole pages: each seed in fixtures/seeds/input,
//! cleaned with near-duplicate removal off, must equal its expected text
//! in fixtures/seeds/expected byte for byte.

use std::path::Path;

use crate::util::chaff;

/// A line diff of `expected` and `got`, marking each line that differs.
fn diff(expected: &str, got: &str) -> String {
    let e: Vec<&str> = expected.lines().collect();
    let g: Vec<&str> = got.lines().collect();
    let mut out = String::new();
    for i in 0..e.len().max(g.len()) {
        let (a, b) = (e.get(i), g.get(i));
        if a != b {
            if let Some(a) = a {
                out.push_str(&format!("{:4} - {a}\n", i + 1));
            }
            if let Some(b) = b {
                out.push_str(&format!("{:4} + {b}\n", i + 1));
            }
        }
    }
    if out.is_empty() {
        out.push_str("(the texts differ only in line endings)\n");
    }
    out
}

#[test]
fn seeds_clean_to_their_expected_text() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/seeds");
    let out = tempfile::tempdir().expect("temp dir");
    let out_dir = out.path().join("out");
    let input = root.join("input");
    let output = chaff(
        &[
            "clean",
            input.to_str().expect("UTF-8 path"),
            "--out",
            out_dir.to_str().expect("UTF-8 path"),
            "--no-dedup",
            "--quiet",
        ],
        b"",
    );
    assert!(
        output.status.success(),
        "chaff failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut failures = Vec::new();
    let mut seen = 0;
    for entry in std::fs::read_dir(root.join("expected")).expect("readable") {
        let path = entry.expect("entry").path();
        let name = path.file_name().expect("a file").to_owned();
        let expected = std::fs::read_to_string(&path).expect("expected text");
        let got = std::fs::read_to_string(out_dir.join(&name))
            .unwrap_or_else(|e| format!("<missing output: {e}>"));
        seen += 1;
        if got != expected {
            failures.push(format!(
                "{}:\n{}",
                name.to_string_lossy(),
                diff(&expected, &got)
            ));
        }
    }
    assert_eq!(seen, 5, "one expected file per seed");
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}
