//! Batch protocol for the ftfy conformance runner: JSON Lines in, JSON
//! Lines out, same order. Each input item is a JSON string, or an object
//! with a `text` field; the answer has the same shape.
//!
//! ```text
//! fix_jsonl [--profile ftfy|pipeline] [--only-encoding] [--explain]
//! ```

use std::io::{self, BufRead, BufWriter, Write};

use chaff::fix::{FixOptions, Fixer, Profile};
use serde_json::Value;

fn main() -> io::Result<()> {
    let mut profile = Profile::Ftfy;
    let mut only_encoding = false;
    let mut explain = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--profile" => match args.next().as_deref() {
                Some("ftfy") => profile = Profile::Ftfy,
                Some("pipeline") => profile = Profile::Pipeline,
                other => fail(&format!("unknown profile {other:?}")),
            },
            "--only-encoding" => only_encoding = true,
            "--explain" => explain = true,
            other => fail(&format!("unknown argument {other:?}")),
        }
    }
    let options = if only_encoding {
        FixOptions::encoding_only()
    } else {
        FixOptions::profile(profile)
    };
    let fixer = Fixer::new(options);
    let stdin = io::stdin().lock();
    let mut out = BufWriter::new(io::stdout().lock());
    for line in stdin.lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let item: Value =
            serde_json::from_str(&line).map_err(io::Error::other)?;
        let answer = match item {
            Value::String(text) => {
                let (fixed, steps) = fixer.fix_and_explain(&text);
                if explain {
                    let steps: Vec<String> =
                        steps.iter().map(|s| s.to_string()).collect();
                    serde_json::json!({ "text": fixed, "steps": steps })
                } else {
                    Value::String(fixed)
                }
            }
            Value::Object(mut map) => {
                let text = map
                    .get("text")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let (fixed, steps) = fixer.fix_and_explain(text);
                map.insert("text".into(), Value::String(fixed));
                if explain {
                    let steps: Vec<String> =
                        steps.iter().map(|s| s.to_string()).collect();
                    map.insert("steps".into(), steps.into());
                }
                Value::Object(map)
            }
            _ => fail(
                "each line must be a JSON string or an object with `text`",
            ),
        };
        serde_json::to_writer(&mut out, &answer)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

fn fail(message: &str) -> ! {
    eprintln!("fix_jsonl: {message}");
    std::process::exit(2)
}
