//! `chaff fix --jsonl`: one JSON value per line in, one per line out.
//!
//! Lines are read in blocks and fixed in parallel, in groups, on the rayon
//! pool; the groups' output is written in input order, so the result is
//! the same as fixing line after line (up to the first failing line, after
//! which nothing more is written).

use std::borrow::Cow;
use std::io::{self, Read, Write};
use std::sync::mpsc::{self, Receiver, SyncSender};

use anyhow::{bail, Context};
use rayon::prelude::*;

use chaff::fix::Fixer;

/// Bytes read from the input at a time (then cut after the last newline).
const BLOCK_BYTES: usize = 1 << 20;

/// Input bytes per parallel task: large enough that scheduling costs
/// nothing, small enough that both cores stay busy to the end of a block.
const GROUP_BYTES: usize = 64 << 10;

/// Fixes JSON Lines from `input` to `out`.
///
/// Three stages overlap: a thread reads blocks of whole lines, the pool
/// fixes one block, and a thread writes the answers of the one before.
pub fn run(
    fixer: &Fixer,
    explain: bool,
    input: impl Read + Send,
    out: impl Write + Send,
) -> anyhow::Result<()> {
    // One block waiting at each hand-over keeps every stage busy.
    let (block_tx, block_rx) = mpsc::sync_channel::<io::Result<Vec<u8>>>(1);
    let (answer_tx, answer_rx) = mpsc::sync_channel(1);
    std::thread::scope(|scope| {
        scope.spawn(move || read_blocks(input, block_tx));
        let writer = scope.spawn(move || write_answers(answer_rx, out));
        for block in block_rx {
            let answers = block.context("reading stdin").map(|block| {
                cut_groups(&block)
                    .par_iter()
                    .map(|group| {
                        fix_group(fixer, explain, &block[group.clone()])
                    })
                    .collect::<Vec<GroupOutput>>()
            });
            // The writer stops at the first error: then so does this.
            if answer_tx.send(answers).is_err() {
                break;
            }
        }
        drop(answer_tx);
        writer.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// Sends `input` in blocks of whole lines (the last line may lack its
/// line break), then a read error if there is one. Stops when nobody
/// listens any more.
fn read_blocks(mut input: impl Read, blocks: SyncSender<io::Result<Vec<u8>>>) {
    let mut block: Vec<u8> = Vec::with_capacity(BLOCK_BYTES);
    loop {
        let at_end = match fill(&mut input, &mut block) {
            Ok(at_end) => at_end,
            Err(error) => {
                // The whole lines read so far are answered first.
                let complete =
                    memchr::memrchr(b'\n', &block).map_or(0, |i| i + 1);
                block.truncate(complete);
                if !block.is_empty() && blocks.send(Ok(block)).is_err() {
                    return;
                }
                let _ = blocks.send(Err(error));
                return;
            }
        };
        let complete = if at_end {
            block.len()
        } else {
            match memchr::memrchr(b'\n', &block) {
                Some(i) => i + 1,
                // One line longer than the block: read on.
                None => {
                    block.reserve(block.len());
                    continue;
                }
            }
        };
        let mut next =
            Vec::with_capacity(BLOCK_BYTES.max(block.len() - complete));
        next.extend_from_slice(&block[complete..]);
        block.truncate(complete);
        if !block.is_empty() && blocks.send(Ok(block)).is_err() {
            return;
        }
        if at_end {
            return;
        }
        block = next;
    }
}

/// Writes the answers in order, up to the first error, which it returns.
fn write_answers(
    answers: Receiver<anyhow::Result<Vec<GroupOutput>>>,
    out: impl Write,
) -> anyhow::Result<()> {
    let mut out = io::BufWriter::with_capacity(64 << 10, out);
    let mut lines_before = 0;
    for block in answers {
        for group in block? {
            out.write_all(&group.bytes)?;
            match group.error {
                None => {}
                Some(LineError::Located { line, error }) => {
                    out.flush()?;
                    let number = lines_before + line + 1;
                    return Err(error.context(format!("stdin:{number}")));
                }
                Some(LineError::Input(error)) => {
                    out.flush()?;
                    return Err(error);
                }
            }
            lines_before += group.lines;
        }
    }
    out.flush()?;
    Ok(())
}

/// Reads until `block` is full or the input ends; true at the end.
fn fill(input: &mut impl Read, block: &mut Vec<u8>) -> io::Result<bool> {
    let want = block.capacity().max(BLOCK_BYTES) - block.len();
    let read = input.by_ref().take(want as u64).read_to_end(block)?;
    Ok(read < want)
}

/// Cuts whole lines into byte ranges of about [`GROUP_BYTES`] each.
fn cut_groups(bytes: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut groups = Vec::new();
    let mut start = 0;
    while start < bytes.len() {
        let end = match bytes.get(start + GROUP_BYTES..) {
            Some(rest) => memchr::memchr(b'\n', rest)
                .map_or(bytes.len(), |i| start + GROUP_BYTES + i + 1),
            None => bytes.len(),
        };
        groups.push(start..end);
        start = end;
    }
    groups
}

/// What a group of lines wrote, how many lines it answered, and the error
/// that stopped it, if any.
struct GroupOutput {
    bytes: Vec<u8>,
    lines: usize,
    error: Option<LineError>,
}

/// Why a group stopped.
enum LineError {
    /// Line `line` (from 0, in the group) is not what was expected.
    Located { line: usize, error: anyhow::Error },
    /// The input itself is broken (not UTF-8).
    Input(anyhow::Error),
}

/// Fixes the lines of `bytes` (whole lines; the last may lack its line
/// break), as `BufRead::lines` cuts them: at `\n`, less a `\r` before it.
fn fix_group(fixer: &Fixer, explain: bool, bytes: &[u8]) -> GroupOutput {
    let mut out = GroupOutput {
        bytes: Vec::with_capacity(bytes.len() + bytes.len() / 16),
        lines: 0,
        error: None,
    };
    // One UTF-8 check for the group; line by line only to find the bad one.
    let text = std::str::from_utf8(bytes);
    let mut start = 0;
    let ends = memchr::memchr_iter(b'\n', bytes)
        .chain((!bytes.ends_with(b"\n")).then_some(bytes.len()));
    for end in ends {
        let raw = &bytes[start..end];
        let raw = if end < bytes.len() {
            raw.strip_suffix(b"\r").unwrap_or(raw)
        } else {
            raw
        };
        let line = match &text {
            Ok(text) => &text[start..start + raw.len()],
            Err(_) => match std::str::from_utf8(raw) {
                Ok(line) => line,
                Err(_) => {
                    let error = io::Error::new(
                        io::ErrorKind::InvalidData,
                        "stream did not contain valid UTF-8",
                    );
                    let error =
                        anyhow::Error::new(error).context("reading stdin");
                    out.error = Some(LineError::Input(error));
                    return out;
                }
            },
        };
        if let Err(error) = fix_line(fixer, explain, line, &mut out.bytes) {
            out.error = Some(LineError::Located { line: out.lines, error });
            return out;
        }
        out.lines += 1;
        start = end + 1;
    }
    out
}

/// Fixes one line and appends its answer to `out`.
fn fix_line(
    fixer: &Fixer,
    explain: bool,
    line: &str,
    out: &mut Vec<u8>,
) -> anyhow::Result<()> {
    if line.trim().is_empty() {
        out.push(b'\n');
        return Ok(());
    }
    match plain_json_string(line) {
        // Most lines: a string with nothing escaped (so no line break:
        // `fix_line` is `fix`). Unchanged, it is written back as it came
        // (serde_json would write the same bytes).
        Some(text) if !explain => match fixer.fix_line(text, None) {
            Cow::Borrowed(_) => out.extend_from_slice(line.as_bytes()),
            Cow::Owned(fixed) => chaff::sink::write_json_str(out, &fixed),
        },
        _ => {
            let answer = fix_json_value(fixer, line, explain)?;
            serde_json::to_writer(&mut *out, &answer)?;
        }
    }
    out.push(b'\n');
    Ok(())
}

/// The contents of `line` when it is exactly one JSON string with no
/// escapes: no backslash, no quote and no control byte inside the quotes.
fn plain_json_string(line: &str) -> Option<&str> {
    let body = line.strip_prefix('"')?.strip_suffix('"')?;
    let bytes = body.as_bytes();
    // Without branches, so that it vectorises.
    let control = bytes.iter().fold(false, |any, &b| any | (b < 0x20));
    (!control && memchr::memchr2(b'"', b'\\', bytes).is_none()).then_some(body)
}

/// Fixes one JSON value: a string, or an object's `"text"`.
fn fix_json_value(
    fixer: &Fixer,
    line: &str,
    explain: bool,
) -> anyhow::Result<serde_json::Value> {
    use serde_json::Value;
    let value: Value = serde_json::from_str(line)?;
    let fix = |text: &str| -> (String, Vec<String>) {
        if explain {
            let (fixed, steps) = fixer.fix_and_explain(text);
            (fixed, steps.iter().map(|s| s.to_string()).collect())
        } else {
            (fixer.fix(text).into_owned(), Vec::new())
        }
    };
    Ok(match value {
        Value::String(s) => {
            let (fixed, steps) = fix(&s);
            if explain {
                serde_json::json!({"text": fixed, "explain": steps})
            } else {
                Value::String(fixed)
            }
        }
        Value::Object(mut map) => {
            let Some(Value::String(text)) = map.get("text") else {
                bail!("object has no string \"text\"");
            };
            let (fixed, steps) = fix(text);
            map.insert("text".into(), Value::String(fixed));
            if explain {
                map.insert("explain".into(), serde_json::json!(steps));
            }
            Value::Object(map)
        }
        _ => bail!("expected a string or an object with \"text\""),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serde_string(text: &str) -> Vec<u8> {
        serde_json::to_vec(text).unwrap()
    }

    #[test]
    fn plain_strings_are_those_serde_json_writes_back_unchanged() {
        for line in ["\"abc\"", "\"caf\u{e9}\"", "\"\"", "\"a\u{7f}b\""] {
            let body = plain_json_string(line).unwrap();
            let value: String = serde_json::from_str(line).unwrap();
            assert_eq!(body, value);
            assert_eq!(serde_string(body), line.as_bytes());
        }
        for line in ["\"a\\nb\"", "\"a\tb\"", " \"a\"", "\"a\"b\"", "\"a"] {
            assert_eq!(plain_json_string(line), None, "{line:?}");
        }
    }
}
