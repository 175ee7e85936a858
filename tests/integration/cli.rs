//! The command line, end to end, on the bundled fixtures.

use std::fs;

use crate::util::{chaff, fixtures, text, tree};

fn seeds() -> String {
    fixtures().join("seeds/input").to_string_lossy().into_owned()
}

#[test]
fn clean_seeds_writes_text_and_audit_files() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let o = chaff(&["clean", &seeds(), "--out", out.to_str().unwrap()], b"");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    for name in [
        "000_a5be767c738e9f55.txt",
        "001_8f899b33aa897c36.txt",
        "002_47c0697c2c071386.txt",
        "003_9be57a1a1a1860f9.txt",
        "004_5f64260be6cfe75f.txt",
    ] {
        let cleaned = fs::read_to_string(out.join(name)).unwrap();
        assert!(!cleaned.is_empty(), "{name} is empty");
    }
    let report: serde_json::Value = serde_json::from_slice(
        &fs::read(out.join(".chaff/report.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(report["documents"], 5);
    // Every stage timed counts the bytes it worked on; `read` counts
    // what was read, the whole input here.
    let stages = report["stages"].as_object().unwrap();
    for stage in ["read", "decode", "fix", "strip", "fingerprint"] {
        assert!(stages[stage]["bytes"].as_u64().unwrap() > 0, "{stage}");
    }
    assert_eq!(stages["read"]["bytes"], report["bytes_in"]);
    let removed =
        fs::read_to_string(out.join(".chaff/removed.jsonl")).unwrap();
    assert!(removed.contains("\"stage\":\"strip\""));
    assert!(out.join(".chaff/clusters.jsonl").is_file());
}

#[test]
fn thread_count_never_changes_output() {
    let tmp = tempfile::tempdir().unwrap();
    let mut trees = Vec::new();
    for threads in ["1", "2", "3"] {
        let out = tmp.path().join(format!("out{threads}"));
        let o = chaff(
            &[
                "clean",
                &seeds(),
                "--out",
                out.to_str().unwrap(),
                "--threads",
                threads,
            ],
            b"",
        );
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        // The report holds timings; everything else must be identical.
        let files: Vec<_> = tree(&out)
            .into_iter()
            .filter(|(name, _)| !name.ends_with("report.json"))
            .collect();
        trees.push(files);
    }
    assert_eq!(trees[0], trees[1]);
    assert_eq!(trees[0], trees[2]);
}

#[test]
fn broken_inputs_are_reported_and_the_batch_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("in");
    fs::create_dir_all(input.join("site")).unwrap();
    fs::write(
        input.join("site/good.txt"),
        "A perfectly ordinary paragraph of news text that says something, \
         as news text does.\n",
    )
    .unwrap();
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    png.extend((0..4000u32).map(|i| (i * 7919 % 251) as u8));
    fs::write(input.join("site/image.txt"), png).unwrap();
    fs::write(
        input.join("records.jsonl"),
        "{\"id\": \"a\", \"text\": \"First record, a sentence of text.\"}\n\
         {not json\n\
         {\"id\": \"../../escape\", \"text\": \"Second record.\"}\n",
    )
    .unwrap();
    let out = tmp.path().join("out");
    let o = chaff(
        &["clean", input.to_str().unwrap(), "--out", out.to_str().unwrap()],
        b"",
    );
    let stderr = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("image.txt"), "{stderr}");
    assert!(stderr.contains("records.jsonl:2"), "{stderr}");
    assert!(out.join("site/good.txt").is_file());
    assert!(out.join("records/a.txt").is_file());
    // A record id cannot write outside the output folder.
    assert!(out.join("records/escape.txt").is_file());
    assert!(!tmp.path().join("escape.txt").exists());
}

#[test]
fn existing_output_is_refused_without_force() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    fs::create_dir_all(&out).unwrap();
    fs::write(out.join("keep.txt"), "mine").unwrap();
    let o = chaff(&["clean", &seeds(), "--out", out.to_str().unwrap()], b"");
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("not empty"));
    assert_eq!(fs::read_to_string(out.join("keep.txt")).unwrap(), "mine");
    let o = chaff(
        &["clean", &seeds(), "--out", out.to_str().unwrap(), "--force"],
        b"",
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
}

/// `--removed PIPE` streams the audit records into the pipe, which stays
/// a pipe (a rename over it would have put a plain file in its place).
#[cfg(unix)]
#[test]
fn audit_records_can_go_to_a_named_pipe() {
    use std::os::unix::fs::FileTypeExt;
    let tmp = tempfile::tempdir().unwrap();
    let pipe = tmp.path().join("removed.fifo");
    let made = std::process::Command::new("mkfifo").arg(&pipe).status();
    assert!(made.unwrap().success());
    let reader = {
        let pipe = pipe.clone();
        std::thread::spawn(move || fs::read_to_string(pipe).unwrap())
    };
    let out = tmp.path().join("out.jsonl");
    let o = chaff(
        &[
            "clean",
            &seeds(),
            "--out",
            out.to_str().unwrap(),
            "--removed",
            pipe.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let kind = fs::symlink_metadata(&pipe).unwrap().file_type();
    assert!(kind.is_fifo(), "the pipe was replaced: {kind:?}");
    let records = reader.join().unwrap();
    assert!(records.lines().count() > 50, "{records}");
    assert!(records.contains("\"stage\":\"strip\""));
}

#[test]
fn json_lines_on_stdin_to_stdout() {
    let input = "{\"text\": \"It isnâ€™t broken any more, the engineers said on Monday.\", \"url\": \"https://www.example.com/a\"}\n";
    let o = chaff(&["clean", "-", "--no-strip"], input.as_bytes());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let stdout = text(&o.stdout);
    let doc: serde_json::Value =
        serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    assert_eq!(doc["type"], "doc");
    assert_eq!(doc["data"]["source"], "example.com");
    assert!(doc["data"]["text"].as_str().unwrap().contains("isn’t"));
}

#[test]
fn fix_jsonl_answers_in_the_same_shape() {
    let input = "\"isnâ€™t\"\n{\"text\": \"caf&eacute;\", \"k\": 1}\n";
    let o = chaff(&["fix", "--jsonl"], input.as_bytes());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let lines: Vec<serde_json::Value> = text(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0], "isn’t");
    assert_eq!(lines[1]["k"], 1);
}
