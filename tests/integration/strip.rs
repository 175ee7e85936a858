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

/// `chaff clean INPUT --out OUT --no-dedup --quiet` and `extra`.
fn clean_no_dedup(
    input: &Path,
    out: &Path,
    extra: &[&str],
) -> std::process::Output {
    let mut args = vec![
        "clean",
        input.to_str().expect("UTF-8 path"),
        "--out",
        out.to_str().expect("UTF-8 path"),
        "--no-dedup",
        "--quiet",
    ];
    args.extend(extra);
    chaff(&args, b"")
}

#[test]
fn seeds_clean_to_their_expected_text() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/seeds");
    let out = tempfile::tempdir().expect("temp dir");
    let out_dir = out.path().join("out");
    let output = clean_no_dedup(&root.join("input"), &out_dir, &[]);
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

/// A sentence that copies of one story carry, and one that several
/// stories of the site carry: the first counts once (one story), the
/// second in every story.
const STORY_NOTE: &str = "The reporters of this newspaper in the capital \
                          contributed to this report.";
const SITE_NOTE: &str = "You can share this article with a friend by \
                         sending them the link below.";

/// Cleans `root` (one source, `site`) to a folder and returns each
/// document's name and text.
fn clean_site(
    root: &Path,
    out: &Path,
    extra: &[&str],
) -> Vec<(String, String)> {
    let output = clean_no_dedup(root, out, extra);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut docs: Vec<(String, String)> = std::fs::read_dir(out.join("site"))
        .expect("the source's folder")
        .map(|e| {
            let path = e.expect("entry").path();
            let name = path.file_name().expect("a name");
            let text = std::fs::read_to_string(&path).expect("text");
            (name.to_string_lossy().into_owned(), text)
        })
        .collect();
    docs.sort();
    docs
}

#[test]
fn copies_of_one_story_count_once_for_repeated_lines() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let site = tmp.path().join("in/site");
    std::fs::create_dir_all(&site).expect("folder");
    let story = [
        "Officials in the northern province said on Monday that the new \
         bridge over the river would open to traffic in the spring of 2027, \
         after years of delays caused by flooding, by work stoppages and by \
         a long dispute over the contract with the builder.",
        "The bridge, which cost 120 million dollars, will carry about \
         15,000 cars a day and shorten the drive between the two largest \
         towns of the province by more than an hour, the officials said \
         at a news conference in the provincial capital.",
    ];
    // Four copies of the story as sites republish it, in one source:
    // digits, case or spacing changed, a `k` written as the Kelvin sign.
    let copies = [
        story.map(String::from),
        story.map(|p| p.replace("2027", "2028").replace("120", "125")),
        story.map(|p| p.to_uppercase()),
        story.map(|p| p.replace(' ', "  ").replace("work", "wor\u{212a}")),
    ];
    let write = |name: &str, paragraphs: &[&str]| {
        let text = paragraphs.join("\n\n") + "\n";
        std::fs::write(site.join(name), text).expect("written");
    };
    for (k, [first, second]) in copies.iter().enumerate() {
        write(&format!("copy{k}.txt"), &[first, STORY_NOTE, second]);
    }
    // Three stories of the same letters in other orders: as many letters
    // of each kind a line as one another, but not copies.
    let words: Vec<&str> = story[0].split(' ').collect();
    for k in 0..3 {
        let mut shuffled = words.clone();
        shuffled.rotate_left(5 * k + 3);
        let first = shuffled.join(" ");
        write(&format!("other{k}.txt"), &[&first, SITE_NOTE, story[1]]);
    }
    let held = clean_site(&tmp.path().join("in"), &tmp.path().join("a"), &[]);
    // With no text held, the text is read again to tell the stories.
    let read_again = clean_site(
        &tmp.path().join("in"),
        &tmp.path().join("b"),
        &["--hold-text-mib", "0"],
    );
    assert_eq!(held, read_again);
    assert_eq!(held.len(), 7);
    for (name, text) in &held {
        if name.starts_with("copy") {
            assert!(text.contains(STORY_NOTE), "{name} lost it:\n{text}");
        } else {
            assert!(!text.contains(SITE_NOTE), "{name} kept it:\n{text}");
        }
    }
}
