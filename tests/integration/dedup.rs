//! Near-duplicate clusters end to end: the seed pages and `--index`.

use std::collections::HashSet;
use std::fs;
use std::path::Path;

use serde_json::Value;

use crate::util::{chaff, fixtures, text};

fn seeds() -> String {
    fixtures().join("seeds/input").to_string_lossy().into_owned()
}

fn clusters(path: &Path) -> Vec<Vec<Value>> {
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            let c: Value = serde_json::from_str(l).unwrap();
            c["members"].as_array().unwrap().clone()
        })
        .collect()
}

fn words(text: &str) -> HashSet<String> {
    let mut out = HashSet::new();
    chaff::dedup::for_each_word(text, |w| {
        out.insert(w.to_string());
    });
    out
}

fn jaccard(a: &str, b: &str) -> f64 {
    let (a, b) = (words(a), words(b));
    a.intersection(&b).count() as f64 / a.union(&b).count() as f64
}

/// (document prefix, line) of each member.
fn keys(members: &[Value]) -> Vec<(String, u64)> {
    members
        .iter()
        .map(|m| {
            (
                m["doc"].as_str().unwrap()[..3].to_string(),
                m["line"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn same_cluster(cs: &[Vec<Value>], a: (&str, u64), b: (&str, u64)) -> bool {
    cs.iter().any(|c| {
        let k = keys(c);
        k.contains(&(a.0.to_string(), a.1))
            && k.contains(&(b.0.to_string(), b.1))
    })
}

fn check_seeds(strip: bool) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let cl = tmp.path().join("clusters.jsonl");
    let rm = tmp.path().join("removed.jsonl");
    let seeds = seeds();
    let mut args = vec!["clean", &seeds, "--out", out.to_str().unwrap()];
    args.extend(["--clusters", cl.to_str().unwrap()]);
    args.extend(["--removed", rm.to_str().unwrap()]);
    if !strip {
        args.push("--no-strip");
    }
    let o = chaff(&args, b"");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let cs = clusters(&cl);
    let ctx = format!("strip {strip}: {cs:#?}");
    // Lines the strip stage removed never reach dedup.
    let stripped: HashSet<(String, u64)> = fs::read_to_string(&rm)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["stage"] == "strip")
        .map(|r| {
            (
                r["doc"].as_str().unwrap()[..3].to_string(),
                r["line"].as_u64().unwrap(),
            )
        })
        .collect();
    let gone = |k: (&str, u64)| stripped.contains(&(k.0.to_string(), k.1));
    let same_cluster = |a: (&str, u64), b: (&str, u64)| {
        gone(a) || gone(b) || same_cluster(&cs, a, b)
    };
    // 000's lead and its "MOSCOW (UrduPoint News / Sputnik …)" repeat.
    assert!(same_cluster(("000", 3), ("000", 5)), "{ctx}");
    // 003's repeated headline, and its repeated lead.
    assert!(same_cluster(("003", 3), ("003", 7)), "{ctx}");
    assert!(same_cluster(("003", 9), ("003", 11)), "{ctx}");
    // The same story told by two sites (word-set Jaccard 0.59).
    assert!(same_cluster(("000", 9), ("003", 21)), "{ctx}");
    if strip {
        // Strip keeps 000's lead and repeat: dedup must still pair them.
        assert!(!gone(("000", 3)) && !gone(("000", 5)), "{ctx}");
    }
    // No two members of any cluster are below Jaccard 0.4.
    for c in &cs {
        for (i, a) in c.iter().enumerate() {
            for b in &c[..i] {
                let (ta, tb) =
                    (a["text"].as_str().unwrap(), b["text"].as_str().unwrap());
                let j = jaccard(ta, tb);
                assert!(j >= 0.4, "{j:.3}: {ta:?} / {tb:?}");
            }
            let s = a["similarity"].as_f64().unwrap();
            assert!(s >= 0.4, "{a}");
        }
    }
}

#[test]
fn seed_copies_cluster_without_strip() {
    check_seeds(false);
}

#[test]
fn seed_copies_cluster_with_strip() {
    check_seeds(true);
}

#[test]
fn duplicates_keep_reports_but_keeps_every_line() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let o = chaff(
        &[
            "clean",
            &seeds(),
            "--out",
            out.to_str().unwrap(),
            "--no-strip",
            "--duplicates",
            "keep",
        ],
        b"",
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let cleaned =
        fs::read_to_string(out.join("000_a5be767c738e9f55.txt")).unwrap();
    assert!(cleaned
        .contains("MOSCOW (UrduPoint News / Sputnik - 19th December, 2019)"));
    assert!(!fs::read_to_string(out.join(".chaff/clusters.jsonl"))
        .unwrap()
        .is_empty());
}

const STORY: &str =
    "The central bank raised its main interest rate by half a \
    point on Thursday, the third increase this year, saying that inflation \
    in food and energy prices had not yet peaked and would stay high.";
const EDITED: &str = "LONDON (Reuters) - The central bank raised its key \
    interest rate by half a point on Thursday, the third rise this year, \
    saying that inflation in food and energy prices had not yet peaked.";
const OTHER: &str = "Heavy rain flooded several villages in the north of the \
    region overnight and rescue teams moved hundreds of residents to \
    schools and sports halls, the regional governor said.";
const LATER: &str = "Shares in the carmaker fell sharply after it cut its \
    sales forecast for the year, blaming a shortage of chips and the cost \
    of raw materials, and said it would delay two new models.";

fn write(dir: &Path, name: &str, paras: &[&str]) {
    let path = dir.join(name);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, paras.join("\n\n") + "\n").unwrap();
}

fn run(input: &Path, out: &Path, index: &Path) -> Vec<Vec<Value>> {
    let cl = out.with_extension("clusters.jsonl");
    let o = chaff(
        &[
            "clean",
            input.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--no-strip",
            "--index",
            index.to_str().unwrap(),
            "--clusters",
            cl.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    clusters(&cl)
}

#[test]
fn index_carries_paragraphs_to_later_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let index = t.join("state/dedup.idx");
    write(&t.join("in1"), "wire/a.txt", &[STORY, OTHER]);
    let first = run(&t.join("in1"), &t.join("out1"), &index);
    assert!(first.is_empty(), "{first:?}");
    let size1 = fs::metadata(&index).unwrap().len();
    let out1 = fs::read_to_string(t.join("out1/wire/a.txt")).unwrap();

    // A second run: an edited copy of an indexed paragraph, a new one,
    // and an exact copy of that new one in another document.
    write(&t.join("in2"), "site/b.txt", &[EDITED, LATER]);
    write(&t.join("in2"), "site/c.txt", &[LATER]);
    let second = run(&t.join("in2"), &t.join("out2"), &index);
    assert_eq!(second.len(), 2, "{second:#?}");
    // The indexed paragraph stays the representative.
    assert_eq!(second[0][0]["doc"], "wire/a.txt");
    assert_eq!(second[0][0]["line"], 1);
    assert_eq!(second[0][0]["representative"], true);
    assert_eq!(second[0][1]["doc"], "site/b.txt");
    assert!(second[0][1]["similarity"].as_f64().unwrap() >= 0.55);
    assert!(second[0][0]["text"]
        .as_str()
        .unwrap()
        .starts_with("The central bank"));
    assert_eq!(keys(&second[1]), [("sit".into(), 3), ("sit".into(), 1)]);
    let b = fs::read_to_string(t.join("out2/site/b.txt")).unwrap();
    assert!(!b.contains("central bank") && b.contains("carmaker"), "{b}");
    assert!(fs::read_to_string(t.join("out2/site/c.txt"))
        .unwrap()
        .trim()
        .is_empty());
    // The old corpus is untouched; the index grew and is whole.
    assert_eq!(fs::read_to_string(t.join("out1/wire/a.txt")).unwrap(), out1);
    assert!(fs::metadata(&index).unwrap().len() > size1);
    assert_eq!(
        fs::read_dir(t.join("state")).unwrap().count(),
        1,
        "no temp file left"
    );

    // A third run sees the second run's paragraphs too.
    write(&t.join("in3"), "blog/d.txt", &[LATER]);
    let third = run(&t.join("in3"), &t.join("out3"), &index);
    assert_eq!(third.len(), 1, "{third:#?}");
    assert_eq!(third[0][0]["doc"], "site/b.txt");
    assert_eq!(third[0][1]["doc"], "blog/d.txt");
}

#[test]
fn damaged_index_is_an_error_not_a_fresh_start() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let index = t.join("dedup.idx");
    fs::write(&index, b"CHAFFIDX but not really an index file").unwrap();
    write(&t.join("in"), "x/a.txt", &[STORY]);
    let o = chaff(
        &[
            "clean",
            t.join("in").to_str().unwrap(),
            "--out",
            t.join("out").to_str().unwrap(),
            "--index",
            index.to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("index"), "{}", text(&o.stderr));
}
