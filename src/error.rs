//! Errors: [`BuildError`] for configuration, [`Error`] for one input.

use std::fmt;
use std::path::PathBuf;

/// A configuration that cannot run. Returned by the builders' `build()`.
#[derive(Debug)]
#[non_exhaustive]
pub enum BuildError {
    /// An encoding label that no decoder knows.
    UnknownEncoding(String),
    /// A numeric setting outside its range.
    OutOfRange {
        /// The setting's name.
        setting: &'static str,
        /// What was given.
        value: String,
        /// What is allowed.
        allowed: &'static str,
    },
    /// A thread pool could not be built.
    ThreadPool(String),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::UnknownEncoding(label) => {
                write!(f, "unknown encoding label {label:?}")
            }
            BuildError::OutOfRange { setting, value, allowed } => {
                write!(f, "{setting} = {value} is out of range ({allowed})")
            }
            BuildError::ThreadPool(msg) => {
                write!(f, "cannot start the thread pool: {msg}")
            }
        }
    }
}

impl std::error::Error for BuildError {}

/// A failure of one input. It never stops a batch: the pipeline hands it
/// to the sink and goes on.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// Reading the input failed.
    Io {
        /// The input's path.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The input is not text in any encoding.
    NotText {
        /// The input's path.
        path: PathBuf,
        /// Why it was judged not to be text.
        reason: String,
    },
    /// A JSON Lines record could not be used.
    BadRecord {
        /// The file's path.
        path: PathBuf,
        /// The 1-based line number.
        line: u64,
        /// What was wrong with it.
        reason: String,
    },
    /// The input is larger than the configured limit.
    TooLarge {
        /// The input's path.
        path: PathBuf,
        /// Its size in bytes.
        len: u64,
        /// The limit in bytes.
        limit: u64,
    },
    /// The input changed while the run was using it: its documents were
    /// read twice (analysed, then, being past the text a run holds in
    /// memory, read again to be written) and the second read differed
    /// from the first.
    Changed {
        /// The input's path.
        path: PathBuf,
    },
}

impl Error {
    /// The path of the input that failed.
    pub fn path(&self) -> &std::path::Path {
        match self {
            Error::Io { path, .. }
            | Error::NotText { path, .. }
            | Error::BadRecord { path, .. }
            | Error::TooLarge { path, .. }
            | Error::Changed { path } => path,
        }
    }

    /// A short stable name of the kind of failure, used in reports.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Io { .. } => "io",
            Error::NotText { .. } => "not-text",
            Error::BadRecord { .. } => "bad-record",
            Error::TooLarge { .. } => "too-large",
            Error::Changed { .. } => "changed",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { path, source } => {
                write!(f, "{}: {source}", path.display())
            }
            Error::NotText { path, reason } => {
                write!(f, "{}: skipped, not text: {reason}", path.display())
            }
            Error::BadRecord { path, line, reason } => {
                write!(f, "{}:{line}: bad record: {reason}", path.display())
            }
            Error::TooLarge { path, len, limit } => write!(
                f,
                "{}: skipped, {len} bytes is over the limit of {limit}",
                path.display()
            ),
            Error::Changed { path } => write!(
                f,
                "{}: skipped, changed while the run was reading it",
                path.display()
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
