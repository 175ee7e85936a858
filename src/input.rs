//! Inputs: files, folders (walked recursively in a fixed order), JSON
//! Lines files (`.jsonl`, `.jsonl.gz`) and JSON Lines on stdin.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::Error;

/// How folders are walked and sources named.
#[derive(Clone, Debug)]
pub struct WalkOptions {
    /// Include files and folders whose names start with `.`.
    pub hidden: bool,
    /// Follow symbolic links (loops are detected and reported).
    pub follow_links: bool,
    /// The source of a file in a folder is its first `source_depth` path
    /// components under the input root (default 1).
    pub source_depth: usize,
    /// Paths never listed, such as an output folder inside an input
    /// folder (compared after resolving links).
    pub exclude: Vec<PathBuf>,
}

impl Default for WalkOptions {
    fn default() -> WalkOptions {
        WalkOptions {
            hidden: false,
            follow_links: false,
            source_depth: 1,
            exclude: Vec::new(),
        }
    }
}

/// What kind of unit an input is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UnitKind {
    /// One file, one document.
    Text,
    /// A JSON Lines file: one document per line.
    JsonLines,
    /// A gzip-compressed JSON Lines file.
    JsonLinesGz,
    /// JSON Lines held in memory (read from stdin).
    JsonLinesBytes(std::sync::Arc<Vec<u8>>),
}

/// One input file (or stdin), in the order it will be processed.
#[derive(Clone, Debug)]
pub struct Unit {
    /// The path as found (for messages and reading).
    pub path: PathBuf,
    /// The path relative to its input root, with `/` separators.
    pub rel: String,
    /// The source of its documents when the records do not name one.
    pub source: String,
    /// How to read it.
    pub kind: UnitKind,
}

/// A list of inputs, in processing order, and the errors met while
/// listing them (unreadable folders, broken links, loops).
#[derive(Clone, Debug, Default)]
pub struct Inputs {
    /// The units to process.
    pub units: Vec<Unit>,
    /// Problems found while walking; reported, never fatal.
    pub errors: Vec<std::sync::Arc<Error>>,
}

impl Inputs {
    /// Lists the inputs named by `paths`. A folder is walked recursively
    /// in byte order of names; `-` reads JSON Lines from stdin.
    pub fn from_paths<P: AsRef<Path>>(
        paths: &[P],
        options: &WalkOptions,
    ) -> Inputs {
        let mut inputs = Inputs::default();
        for p in paths {
            let p = p.as_ref();
            if p == Path::new("-") {
                let mut bytes = Vec::new();
                match std::io::stdin().lock().read_to_end(&mut bytes) {
                    Ok(_) => inputs.units.push(Unit {
                        path: PathBuf::from("-"),
                        rel: "-".into(),
                        source: "stdin".into(),
                        kind: UnitKind::JsonLinesBytes(bytes.into()),
                    }),
                    Err(source) => inputs
                        .error(Error::Io { path: p.to_path_buf(), source }),
                }
                continue;
            }
            match fs::metadata(p) {
                Ok(meta) if meta.is_dir() => {
                    let mut seen = Vec::new();
                    if let Ok(canonical) = fs::canonicalize(p) {
                        seen.push(canonical);
                    }
                    inputs.walk(p, "", options, &mut seen);
                }
                Ok(_) => {
                    let rel = p
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_else(|| p.to_string_lossy().into_owned());
                    let source = rel.clone();
                    inputs.push_file(p.to_path_buf(), rel, source);
                }
                Err(source) => {
                    inputs.error(Error::Io { path: p.to_path_buf(), source })
                }
            }
        }
        inputs
    }

    fn error(&mut self, err: Error) {
        self.errors.push(std::sync::Arc::new(err));
    }

    fn push_file(&mut self, path: PathBuf, rel: String, source: String) {
        let name = rel.to_ascii_lowercase();
        let kind = if name.ends_with(".jsonl") || name.ends_with(".ndjson") {
            UnitKind::JsonLines
        } else if name.ends_with(".jsonl.gz") || name.ends_with(".ndjson.gz") {
            UnitKind::JsonLinesGz
        } else {
            UnitKind::Text
        };
        self.units.push(Unit { path, rel, source, kind });
    }

    /// Lists `dir`, which is `rel_dir` below its input root (`""` for
    /// the root itself).
    fn walk(
        &mut self,
        dir: &Path,
        rel_dir: &str,
        options: &WalkOptions,
        seen: &mut Vec<PathBuf>,
    ) {
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(source) => {
                return self
                    .error(Error::Io { path: dir.to_path_buf(), source })
            }
        };
        // The type comes with the listing on most file systems: no call
        // per file to learn it.
        let mut names: Vec<DirItem> = Vec::new();
        for entry in entries {
            match entry {
                Ok(e) => names.push((e.file_name(), e.path(), e.file_type())),
                Err(source) => {
                    self.error(Error::Io { path: dir.to_path_buf(), source })
                }
            }
        }
        // Byte order of names, so every run and platform sees one order.
        names.sort_by(|(a, ..), (b, ..)| {
            a.as_encoded_bytes().cmp(b.as_encoded_bytes())
        });
        // Each file's relative path and source follow from the folder's,
        // rather than being taken apart from its whole path again.
        let child_rel = |name: &std::ffi::OsStr| {
            let name = name.to_string_lossy();
            match rel_dir {
                "" => name.into_owned(),
                _ => format!("{rel_dir}/{name}"),
            }
        };
        // The same for every file here: folders of its path only, so any
        // name stands in for the file's own.
        let files_source = (!rel_dir.is_empty() && options.source_depth > 0)
            .then(|| source_of(&format!("{rel_dir}/_"), options.source_depth));
        // Resolved once: an entry that is no link resolves to it plus its
        // name.
        let resolved_dir = if options.exclude.is_empty() {
            None
        } else {
            fs::canonicalize(dir).ok()
        };
        for (name, path, file_type) in names {
            let hidden = name.as_encoded_bytes().first() == Some(&b'.');
            if hidden && !options.hidden {
                continue;
            }
            let file_type = match file_type {
                Ok(t) => t,
                Err(source) => {
                    self.error(Error::Io { path, source });
                    continue;
                }
            };
            let link = file_type.is_symlink();
            if link && !options.follow_links {
                continue;
            }
            if !options.exclude.is_empty() {
                let canonical = match (&resolved_dir, path.file_name()) {
                    (Some(d), Some(name)) if !link => d.join(name),
                    _ => fs::canonicalize(&path).unwrap_or(path.clone()),
                };
                if options.exclude.iter().any(|e| canonical.starts_with(e)) {
                    continue;
                }
            }
            let meta = if link {
                match fs::metadata(&path) {
                    Ok(m) => m.file_type(),
                    Err(source) => {
                        self.error(Error::Io { path, source });
                        continue;
                    }
                }
            } else {
                file_type
            };
            if meta.is_dir() {
                let canonical = match fs::canonicalize(&path) {
                    Ok(c) => c,
                    Err(source) => {
                        self.error(Error::Io { path, source });
                        continue;
                    }
                };
                // A folder that contains one being walked leads back into it.
                if seen.iter().any(|s| s.starts_with(&canonical)) {
                    self.error(Error::Io {
                        path,
                        source: std::io::Error::other(
                            "symbolic link loop, not followed",
                        ),
                    });
                    continue;
                }
                seen.push(canonical);
                self.walk(&path, &child_rel(&name), options, seen);
                seen.pop();
            } else if meta.is_file() {
                let rel = child_rel(&name);
                let source = match &files_source {
                    Some(source) => source.clone(),
                    // At the top of the root: a file is its own source.
                    None => rel.clone(),
                };
                self.push_file(path, rel, source);
            }
        }
    }
}

/// A folder entry: its name, its path, and its type from the listing.
type DirItem = (std::ffi::OsString, PathBuf, std::io::Result<fs::FileType>);

/// The first `depth` folder components of a relative path; a file at the
/// top of the root is its own source.
fn source_of(rel: &str, depth: usize) -> String {
    let parts: Vec<&str> = rel.split('/').collect();
    if parts.len() <= 1 || depth == 0 {
        return rel.to_string();
    }
    let take = depth.min(parts.len() - 1);
    parts[..take].join("/")
}

/// One JSON Lines record, as datatrove and Dolma write them.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct Record {
    pub text: String,
    #[serde(default, deserialize_with = "string_or_number")]
    pub id: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub source: Option<String>,
}

fn string_or_number<'de, D>(de: D) -> Result<Option<String>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let v: Option<serde_json::Value> = serde::Deserialize::deserialize(de)?;
    Ok(match v {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(s),
        Some(other) => Some(other.to_string()),
    })
}

/// The host of a URL, without `www.`; `None` when it has none.
pub(crate) fn url_host(url: &str) -> Option<String> {
    let rest = url.split_once("://").map(|(_, r)| r)?;
    let host = rest.split(['/', '?', '#']).next()?;
    let host = host.rsplit('@').next()?.split(':').next()?;
    if host.is_empty() {
        return None;
    }
    let host = host.to_ascii_lowercase();
    Some(host.strip_prefix("www.").map(str::to_string).unwrap_or(host))
}

/// Reads a whole unit's bytes, decompressing `.jsonl.gz` with a limit so
/// a decompression bomb is refused rather than filling memory.
pub(crate) fn read_unit(unit: &Unit, limit: u64) -> Result<Vec<u8>, Error> {
    let io = |source| Error::Io { path: unit.path.clone(), source };
    match &unit.kind {
        UnitKind::JsonLinesBytes(bytes) => Ok(bytes.to_vec()),
        UnitKind::Text | UnitKind::JsonLines => {
            // One open and one fstat: the path is looked up once.
            let file = fs::File::open(&unit.path).map_err(io)?;
            let len = file.metadata().map_err(io)?.len();
            if len > limit {
                return Err(Error::TooLarge {
                    path: unit.path.clone(),
                    len,
                    limit,
                });
            }
            let mut out = Vec::with_capacity(len as usize);
            // The size fstat gave is what is read (one read call, no
            // probe for more); a size of 0 may be a pipe or a /proc file,
            // read to its end, still held to the limit.
            let cap = if len > 0 { len } else { limit + 1 };
            file.take(cap).read_to_end(&mut out).map_err(io)?;
            held_to(limit, unit, out)
        }
        UnitKind::JsonLinesGz => {
            let file = fs::File::open(&unit.path).map_err(io)?;
            let mut out = Vec::new();
            let mut gz =
                flate2::read::MultiGzDecoder::new(file).take(limit + 1);
            gz.read_to_end(&mut out).map_err(io)?;
            held_to(limit, unit, out)
        }
    }
}

/// `bytes` read from `unit`, or the error for more than `limit` of them.
fn held_to(limit: u64, unit: &Unit, bytes: Vec<u8>) -> Result<Vec<u8>, Error> {
    if bytes.len() as u64 > limit {
        return Err(Error::TooLarge {
            path: unit.path.clone(),
            len: bytes.len() as u64,
            limit,
        });
    }
    Ok(bytes)
}

/// Asks the kernel to start reading the units' files (their first
/// [`PREFETCH_BYTES`]) into the page cache, without waiting: many small
/// files read one at a time by the workers wait on the disk one at a
/// time, while these reads are queued together. Best effort; a file that
/// cannot be opened is left for the read that reports it.
pub(crate) fn prefetch(units: &[Unit]) {
    for unit in units {
        if matches!(unit.kind, UnitKind::JsonLinesBytes(_)) {
            continue;
        }
        #[cfg(target_os = "linux")]
        if let Ok(file) = fs::File::open(&unit.path) {
            use std::os::fd::AsRawFd;
            // SAFETY: the descriptor is open for the whole call.
            unsafe {
                libc::posix_fadvise(
                    file.as_raw_fd(),
                    0,
                    PREFETCH_BYTES,
                    libc::POSIX_FADV_WILLNEED,
                );
            }
        }
    }
}

/// How much of each file [`prefetch`] asks for; the kernel's own
/// read-ahead follows a long file from there.
const PREFETCH_BYTES: i64 = 4 << 20;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources() {
        assert_eq!(source_of("a.txt", 1), "a.txt");
        assert_eq!(source_of("site/x/a.txt", 1), "site");
        assert_eq!(source_of("site/x/a.txt", 2), "site/x");
        assert_eq!(source_of("site/x/a.txt", 5), "site/x");
    }

    #[test]
    fn hosts() {
        assert_eq!(
            url_host("https://www.Example.com/a?b").unwrap(),
            "example.com"
        );
        assert_eq!(url_host("http://u@h.org:80/").unwrap(), "h.org");
        assert_eq!(url_host("nope"), None);
    }

    #[test]
    fn walked_files_get_their_relative_path_and_source() {
        let tmp = tempfile::tempdir().unwrap();
        let files = ["a.txt", "s/b.txt", "s/x/c.txt", "s/x/y/d.txt", "t/e"];
        for f in files {
            let path = tmp.path().join(f);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, "text").unwrap();
        }
        for depth in 0..4 {
            let options =
                WalkOptions { source_depth: depth, ..WalkOptions::default() };
            let inputs = Inputs::from_paths(&[tmp.path()], &options);
            let listed: Vec<(&str, &str)> = inputs
                .units
                .iter()
                .map(|u| (u.rel.as_str(), u.source.as_str()))
                .collect();
            let expected: Vec<(&str, String)> =
                files.iter().map(|f| (*f, source_of(f, depth))).collect();
            let expected: Vec<(&str, &str)> =
                expected.iter().map(|(f, s)| (*f, s.as_str())).collect();
            assert_eq!(listed, expected, "source depth {depth}");
            let paths: Vec<PathBuf> =
                inputs.units.iter().map(|u| u.path.clone()).collect();
            let joined: Vec<PathBuf> =
                files.iter().map(|f| tmp.path().join(f)).collect();
            assert_eq!(paths, joined);
        }
    }

    #[cfg(unix)]
    #[test]
    fn excluded_paths_are_not_listed_even_through_links() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("in");
        fs::create_dir_all(root.join("site/out")).unwrap();
        for f in ["site/a.txt", "site/b.txt", "site/out/c.txt", "d.txt"] {
            fs::write(root.join(f), "text").unwrap();
        }
        std::os::unix::fs::symlink(
            root.join("site/out/c.txt"),
            root.join("e"),
        )
        .unwrap();
        let options = WalkOptions {
            follow_links: true,
            exclude: vec![
                fs::canonicalize(root.join("site/out")).unwrap(),
                fs::canonicalize(root.join("site/b.txt")).unwrap(),
            ],
            ..WalkOptions::default()
        };
        // Through a link to the root itself, too.
        let linked_root = tmp.path().join("linked");
        std::os::unix::fs::symlink(&root, &linked_root).unwrap();
        for input in [&root, &linked_root] {
            let inputs = Inputs::from_paths(&[input], &options);
            let listed: Vec<&str> =
                inputs.units.iter().map(|u| u.rel.as_str()).collect();
            assert_eq!(listed, ["d.txt", "site/a.txt"]);
            assert!(inputs.errors.is_empty(), "{:?}", inputs.errors);
        }
    }
}
