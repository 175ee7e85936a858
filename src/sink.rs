//! Where results go: the [`Sink`] trait and ready-made sinks.
//!
//! The pipeline calls a sink from one thread, in input order: each
//! document or error, then every cluster, then [`Sink::finish`].

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Component, Path, PathBuf};

use serde::Serialize;

use crate::document::{Document, Removal, Stage};
use crate::error::Error;
use crate::report::Summary;

/// A member of a near-duplicate cluster, as written to `--clusters`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClusterMember {
    /// The document's name (its path relative to the input root).
    pub doc: String,
    /// The 1-based line on which the paragraph starts.
    pub line: u32,
    /// The document's source.
    pub source: String,
    /// True for the cluster's representative (the copy that is kept).
    pub representative: bool,
    /// Hamming distance of its simhash to the representative's.
    pub distance: u32,
    /// Word-set Jaccard similarity to the representative.
    pub similarity: f64,
    /// The paragraph's text.
    pub text: String,
}

/// One near-duplicate cluster.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClusterRecord {
    /// The cluster's number, from 0, in order of representatives.
    pub id: usize,
    /// The members, representative first.
    pub members: Vec<ClusterMember>,
}

/// Receives the results of a run.
pub trait Sink {
    /// A near-duplicate cluster (all clusters come after the documents).
    fn cluster(&mut self, _cluster: &ClusterRecord) -> io::Result<()> {
        Ok(())
    }

    /// A cluster with its JSON Lines record rendered ahead, when
    /// [`Sink::prerender`] asked for it (`record` is empty otherwise).
    fn rendered_cluster(
        &mut self,
        cluster: &ClusterRecord,
        _record: &[u8],
    ) -> io::Result<()> {
        self.cluster(cluster)
    }

    /// A cleaned document.
    fn document(&mut self, doc: &Document) -> io::Result<()>;

    /// The records a batch run should render ahead for this sink, on its
    /// worker threads (none unless a sink asks).
    fn prerender(&self) -> Prerender {
        Prerender::default()
    }

    /// A cleaned document with the records [`Sink::prerender`] asked for
    /// (a batch run calls this instead of [`Sink::document`]).
    fn rendered_document(
        &mut self,
        doc: &Document,
        _rendered: &Prerendered,
    ) -> io::Result<()> {
        self.document(doc)
    }

    /// [`Sink::rendered_document`], where the sink may take the records
    /// it asked for out of `rendered` (leaving them empty), to keep them
    /// without a copy: no other sink reads them after it. A batch run
    /// calls this instead of [`Sink::rendered_document`].
    fn take_rendered_document(
        &mut self,
        doc: &Document,
        rendered: &mut Prerendered,
    ) -> io::Result<()> {
        self.rendered_document(doc, rendered)
    }

    /// An input that failed; the run goes on.
    fn error(&mut self, _err: &Error) -> io::Result<()> {
        Ok(())
    }

    /// The end of the run. Sinks that write files commit them here, so an
    /// interrupted run leaves no partial file.
    fn finish(&mut self, _summary: &Summary) -> io::Result<()> {
        Ok(())
    }
}

/// `Sink` for a pointer to a sink, every method passed on to it: one body
/// for each pointer, so that a method added to the trait is not passed on
/// by one and left to its default (which may not render ahead) by the
/// other.
macro_rules! forward_sink {
    ($($pointer:ty),+) => {$(
        impl<S: Sink + ?Sized> Sink for $pointer {
            fn cluster(&mut self, cluster: &ClusterRecord) -> io::Result<()> {
                (**self).cluster(cluster)
            }
            fn rendered_cluster(
                &mut self,
                cluster: &ClusterRecord,
                record: &[u8],
            ) -> io::Result<()> {
                (**self).rendered_cluster(cluster, record)
            }
            fn document(&mut self, doc: &Document) -> io::Result<()> {
                (**self).document(doc)
            }
            fn prerender(&self) -> Prerender {
                (**self).prerender()
            }
            fn rendered_document(
                &mut self,
                doc: &Document,
                rendered: &Prerendered,
            ) -> io::Result<()> {
                (**self).rendered_document(doc, rendered)
            }
            fn take_rendered_document(
                &mut self,
                doc: &Document,
                rendered: &mut Prerendered,
            ) -> io::Result<()> {
                (**self).take_rendered_document(doc, rendered)
            }
            fn error(&mut self, err: &Error) -> io::Result<()> {
                (**self).error(err)
            }
            fn finish(&mut self, summary: &Summary) -> io::Result<()> {
                (**self).finish(summary)
            }
        }
    )+};
}

forward_sink!(&mut S, Box<S>);

/// Records a batch run can render ahead, on its worker threads, for the
/// sinks that write them, so that the one thread feeding the sinks only
/// copies bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Prerender {
    /// The document's JSON Lines record, as [`JsonLinesFile`] writes it.
    pub record: bool,
    /// The records of its removed and changed lines, as [`RemovedFile`]
    /// writes them.
    pub removals: bool,
    /// Each cluster's record, as [`ClustersFile`] writes it.
    pub clusters: bool,
    /// The sink reads no [`Removal::original`] of a removed line: it takes
    /// removed lines from the rendered records, if at all. When every sink
    /// of a run says so, the run does not copy each removed line into its
    /// document (`original` is left empty; changed lines keep theirs).
    ///
    /// [`Removal::original`]: crate::document::Removal::original
    pub without_removed_text: bool,
}

impl Prerender {
    /// What either of two sinks asks for (the removed text is left out
    /// only when neither reads it).
    pub fn union(self, other: Prerender) -> Prerender {
        Prerender {
            record: self.record || other.record,
            removals: self.removals || other.removals,
            clusters: self.clusters || other.clusters,
            without_removed_text: self.without_removed_text
                && other.without_removed_text,
        }
    }
}

/// The records rendered ahead for one document (empty where not asked
/// for, or where there is nothing to write).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Prerendered {
    /// See [`Prerender::record`].
    pub record: Vec<u8>,
    /// See [`Prerender::removals`].
    pub removals: Vec<u8>,
}

impl Prerendered {
    /// Renders what `what` asks for.
    pub fn render(doc: &Document, what: Prerender) -> Prerendered {
        Prerendered::render_with(doc, what, |r| &r.original)
    }

    /// Renders what `what` asks for, taking each removed or changed
    /// line's text from `text_of` (a run that left [`Removal::original`]
    /// empty has the lines still at hand).
    ///
    /// [`Removal::original`]: crate::document::Removal::original
    pub(crate) fn render_with<'d>(
        doc: &'d Document,
        what: Prerender,
        text_of: impl Fn(&'d Removal) -> &'d str,
    ) -> Prerendered {
        let mut rendered = Prerendered::default();
        // Sized for text that needs no escapes, to grow once at most.
        let meta = doc.meta.name.len() + doc.meta.source.len() + 100;
        if what.record {
            rendered.record.reserve(doc.text.len() + meta);
            write_doc_record(&mut rendered.record, &DocRecord::of(doc));
        }
        if what.removals && !doc.removals.is_empty() {
            let per_line = doc.meta.name.len() + 80;
            rendered.removals.reserve(
                doc.removals
                    .iter()
                    .map(|r| text_of(r).len() + r.reason.len() + per_line)
                    .sum(),
            );
            write_removal_records(&mut rendered.removals, doc, text_of);
        }
        rendered
    }
}

/// Keeps everything in memory.
#[derive(Debug, Default)]
pub struct Collect {
    /// The documents, in input order.
    pub documents: Vec<Document>,
    /// The clusters.
    pub clusters: Vec<ClusterRecord>,
    /// The error messages, in input order.
    pub errors: Vec<String>,
}

impl Sink for Collect {
    fn cluster(&mut self, cluster: &ClusterRecord) -> io::Result<()> {
        self.clusters.push(cluster.clone());
        Ok(())
    }
    fn document(&mut self, doc: &Document) -> io::Result<()> {
        self.documents.push(doc.clone());
        Ok(())
    }
    fn error(&mut self, err: &Error) -> io::Result<()> {
        self.errors.push(err.to_string());
        Ok(())
    }
}

/// Sends every call to each of several sinks.
#[derive(Default)]
pub struct Fanout {
    sinks: Vec<Box<dyn Sink + Send>>,
}

impl Fanout {
    /// An empty fan-out.
    pub fn new() -> Fanout {
        Fanout::default()
    }

    /// Adds a sink.
    pub fn push(&mut self, sink: impl Sink + Send + 'static) {
        self.sinks.push(Box::new(sink));
    }
}

impl Sink for Fanout {
    fn cluster(&mut self, cluster: &ClusterRecord) -> io::Result<()> {
        self.sinks.iter_mut().try_for_each(|s| s.cluster(cluster))
    }
    fn rendered_cluster(
        &mut self,
        cluster: &ClusterRecord,
        record: &[u8],
    ) -> io::Result<()> {
        self.sinks
            .iter_mut()
            .try_for_each(|s| s.rendered_cluster(cluster, record))
    }
    fn document(&mut self, doc: &Document) -> io::Result<()> {
        self.sinks.iter_mut().try_for_each(|s| s.document(doc))
    }
    fn prerender(&self) -> Prerender {
        self.sinks
            .iter()
            .map(|s| s.prerender())
            .reduce(Prerender::union)
            .unwrap_or_default()
    }
    fn rendered_document(
        &mut self,
        doc: &Document,
        rendered: &Prerendered,
    ) -> io::Result<()> {
        self.sinks
            .iter_mut()
            .try_for_each(|s| s.rendered_document(doc, rendered))
    }
    fn take_rendered_document(
        &mut self,
        doc: &Document,
        rendered: &mut Prerendered,
    ) -> io::Result<()> {
        for k in 0..self.sinks.len() {
            // A sink may take what it asked for when no later one asked
            // for the same.
            let asked = self.sinks[k].prerender();
            let later = self.sinks[k + 1..]
                .iter()
                .fold(Prerender::default(), |a, s| a.union(s.prerender()));
            let shared = (asked.record && later.record)
                || (asked.removals && later.removals);
            let sink = &mut self.sinks[k];
            if shared {
                sink.rendered_document(doc, rendered)?;
            } else {
                sink.take_rendered_document(doc, rendered)?;
            }
        }
        Ok(())
    }
    fn error(&mut self, err: &Error) -> io::Result<()> {
        self.sinks.iter_mut().try_for_each(|s| s.error(err))
    }
    fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        self.sinks.iter_mut().try_for_each(|s| s.finish(summary))
    }
}

/// A file written under a temporary name in its final folder and renamed
/// into place by [`AtomicFile::commit`]; dropped uncommitted, it leaves
/// nothing behind.
///
/// A path that already names something other than a regular file, such as
/// `/dev/null`, a named pipe, or a symbolic link like `/dev/stderr`, is
/// written in place (through the link, from its start): renaming over it
/// would replace the device, pipe or link with a plain file.
pub struct AtomicFile {
    path: PathBuf,
    writer: BufWriter<Destination>,
}

/// Where an [`AtomicFile`]'s bytes go until it is committed.
enum Destination {
    /// A temporary file beside the final path, renamed over it at the end.
    Temporary(tempfile::NamedTempFile),
    /// An existing device, pipe, socket or symbolic link, written
    /// directly.
    Special(fs::File),
}

impl Write for Destination {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Destination::Temporary(file) => file.write(buf),
            Destination::Special(file) => file.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Destination::Temporary(file) => file.flush(),
            Destination::Special(file) => file.flush(),
        }
    }
}

impl AtomicFile {
    /// Starts writing `path` (its folder is created if missing).
    pub fn create(path: impl Into<PathBuf>) -> io::Result<AtomicFile> {
        let path = path.into();
        let in_place = fs::symlink_metadata(&path)
            .is_ok_and(|m| !m.is_file() && !m.is_dir());
        if in_place {
            let file = match standard_stream(&path) {
                Some(stream) => stream?,
                None => fs::OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .open(&path)?,
            };
            return Ok(AtomicFile {
                path,
                writer: BufWriter::with_capacity(
                    1 << 16,
                    Destination::Special(file),
                ),
            });
        }
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        fs::create_dir_all(&dir)?;
        let tmp = temporary_file_builder().tempfile_in(&dir)?;
        Ok(AtomicFile {
            path,
            writer: BufWriter::with_capacity(
                1 << 16,
                Destination::Temporary(tmp),
            ),
        })
    }

    /// Flushes and renames the file into place.
    pub fn commit(self) -> io::Result<()> {
        let tmp = match self.writer.into_inner().map_err(|e| e.into_error())? {
            Destination::Temporary(tmp) => tmp,
            Destination::Special(_) => return Ok(()),
        };
        tmp.persist(&self.path).map_err(|e| e.error)?;
        Ok(())
    }

    /// Writes `blocks` one after another, with one system call for many
    /// (`writev`), not through the buffer: they are large or many.
    fn write_all_of(&mut self, blocks: &[Vec<u8>]) -> io::Result<()> {
        self.writer.flush()?;
        let file = match self.writer.get_mut() {
            Destination::Temporary(tmp) => tmp.as_file_mut(),
            Destination::Special(file) => file,
        };
        let mut slices: Vec<io::IoSlice<'_>> =
            blocks.iter().map(|b| io::IoSlice::new(b)).collect();
        let mut rest = &mut slices[..];
        io::IoSlice::advance_slices(&mut rest, 0);
        while !rest.is_empty() {
            match file.write_vectored(rest) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => io::IoSlice::advance_slices(&mut rest, n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }
}

/// Output files are first written under a temporary name beside their
/// final one. They are made readable like any other new file (mode 0644
/// less the umask), where temporary files are otherwise private.
fn temporary_file_builder() -> tempfile::Builder<'static, 'static> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(".chaff-").suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(fs::Permissions::from_mode(0o644));
    }
    builder
}

/// The process's own standard output or error for `/dev/stdout` and
/// `/dev/stderr`: opening those paths anew would start at the beginning of
/// a file the stream was sent to, over what the process wrote there.
fn standard_stream(path: &Path) -> Option<io::Result<fs::File>> {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        let fd = if path == Path::new("/dev/stdout") {
            io::stdout().as_fd().try_clone_to_owned()
        } else if path == Path::new("/dev/stderr") {
            io::stderr().as_fd().try_clone_to_owned()
        } else {
            return None;
        };
        Some(fd.map(fs::File::from))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// Writes `bytes` to `path` atomically (temporary name, then rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = AtomicFile::create(path)?;
    file.write_all(bytes)?;
    file.commit()
}

/// Writes each document's text to a file under a folder, at the
/// document's relative output path; each file appears whole or not at all.
///
/// The files are written by threads of its own: creating files is slow on
/// most file systems and would otherwise hold up the thread that feeds
/// every sink. They are written into a hidden folder inside the output
/// folder, then moved into place when the sink finishes (or is dropped),
/// a subfolder at a time where the output folder has none of that name:
/// a temporary name and a rename for each file took a fifth of the time
/// of writing a folder of pages. An error writing a file is returned by
/// a later call, [`Sink::finish`] at the latest.
pub struct MirrorDir {
    root: PathBuf,
    writers: Option<MirrorWriters>,
    /// Files not yet handed to the writers: they are handed over a batch
    /// at a time, as each hand-over wakes a writer (a futex call or two).
    batch: Vec<MirrorJob>,
    batch_bytes: usize,
}

/// Each job is a file's path under the output folder and its bytes.
type MirrorJob = (PathBuf, Vec<u8>);

/// Files handed to the writers at once, at most (fewer when large).
const MIRROR_BATCH: usize = 16;
const MIRROR_BATCH_BYTES: usize = 1 << 20;

struct MirrorWriters {
    queue: std::sync::mpsc::SyncSender<Vec<MirrorJob>>,
    threads: Vec<std::thread::JoinHandle<()>>,
    /// The first error any writer met.
    failed: std::sync::Arc<std::sync::Mutex<Option<io::Error>>>,
    /// Where the files are written until they are moved into place (and
    /// removed, with anything left in it, when dropped).
    staging: tempfile::TempDir,
}

/// Files being written at once, and the documents queued for them.
const MIRROR_WRITERS: usize = 2;
const MIRROR_QUEUE: usize = 64;

impl MirrorDir {
    /// Writes under `root` (created when missing).
    pub fn new(root: impl Into<PathBuf>) -> MirrorDir {
        MirrorDir {
            root: root.into(),
            writers: None,
            batch: Vec::new(),
            batch_bytes: 0,
        }
    }

    fn start_writers(root: &Path) -> io::Result<MirrorWriters> {
        use std::sync::{Arc, Mutex};
        let in_root = |e: io::Error| {
            io::Error::new(e.kind(), format!("{}: {e}", root.display()))
        };
        fs::create_dir_all(root).map_err(in_root)?;
        // Output names never start with a dot (`safe_relative`), so the
        // staging folder's name is no file's.
        let staging = tempfile::Builder::new()
            .prefix(".chaff-partial-")
            .tempdir_in(root)
            .map_err(in_root)?;
        let (queue, jobs) =
            std::sync::mpsc::sync_channel::<Vec<MirrorJob>>(MIRROR_QUEUE);
        let jobs = Arc::new(Mutex::new(jobs));
        let failed = Arc::new(Mutex::new(None));
        let threads = (0..MIRROR_WRITERS)
            .map(|_| {
                let jobs = Arc::clone(&jobs);
                let failed = Arc::clone(&failed);
                let (root, staged) =
                    (root.to_path_buf(), staging.path().to_path_buf());
                std::thread::spawn(move || {
                    // Folders this thread made or found: one lookup each.
                    let mut folders = std::collections::HashSet::new();
                    loop {
                        let batch = jobs.lock().expect("queue lock").recv();
                        let Ok(batch) = batch else { break };
                        for (rel, bytes) in batch {
                            let path = staged.join(&rel);
                            if let Err(e) =
                                write_staged(&path, &bytes, &mut folders)
                            {
                                let e = io::Error::new(
                                    e.kind(),
                                    format!(
                                        "{}: {e}",
                                        root.join(&rel).display()
                                    ),
                                );
                                failed
                                    .lock()
                                    .expect("error lock")
                                    .get_or_insert(e);
                            }
                        }
                    }
                })
            })
            .collect();
        Ok(MirrorWriters { queue, threads, failed, staging })
    }

    /// Waits for the files queued so far and moves them into place; the
    /// first error, if any.
    fn drain(&mut self) -> io::Result<()> {
        let Some(writers) = self.writers.take() else { return Ok(()) };
        let batch = std::mem::take(&mut self.batch);
        self.batch_bytes = 0;
        if !batch.is_empty() {
            // A closed queue means a writer panicked: joining it says so.
            let _ = writers.queue.send(batch);
        }
        drop(writers.queue);
        for thread in writers.threads {
            if let Err(panic) = thread.join() {
                std::panic::resume_unwind(panic);
            }
        }
        let failed = writers.failed.lock().expect("error lock").take();
        let moved = move_into(writers.staging.path(), &self.root);
        // Dropping the staging folder removes what could not be moved.
        drop(writers.staging);
        failed.map_or(moved, Err)
    }
}

/// Writes one file into the staging folder. A name met twice in a run
/// (two records with one id) is replaced whole, by a temporary name and
/// a rename, as a file already in place would be.
fn write_staged(
    path: &Path,
    bytes: &[u8],
    folders: &mut std::collections::HashSet<PathBuf>,
) -> io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !folders.contains(dir) {
        fs::create_dir_all(dir)?;
        folders.insert(dir.to_path_buf());
    }
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o644);
    }
    match options.open(path) {
        Ok(mut file) => file.write_all(bytes),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            write_atomic(path, bytes)
        }
        Err(e) => Err(e),
    }
}

/// Moves what `from` holds into `to`: each entry by one rename where `to`
/// has none of its name (a whole subfolder at once), a folder's entries
/// one by one where `to` has that folder already, and a file over a file
/// of its name. Goes on past an error; the first is returned.
fn move_into(from: &Path, to: &Path) -> io::Result<()> {
    let mut entries: Vec<fs::DirEntry> =
        fs::read_dir(from)?.collect::<io::Result<_>>()?;
    // In name order, so that a run's errors come in the same order.
    entries.sort_by_key(|e| e.file_name());
    let mut first_error = None;
    for entry in entries {
        let dest = to.join(entry.file_name());
        let moved = match fs::rename(entry.path(), &dest) {
            Ok(()) => Ok(()),
            Err(e) => match (entry.file_type(), fs::metadata(&dest)) {
                (Ok(t), Ok(m)) if t.is_dir() && m.is_dir() => {
                    move_into(&entry.path(), &dest)
                }
                _ => Err(io::Error::new(
                    e.kind(),
                    format!("{}: {e}", dest.display()),
                )),
            },
        };
        if let Err(e) = moved {
            first_error.get_or_insert(e);
        }
    }
    first_error.map_or(Ok(()), Err)
}

impl Sink for MirrorDir {
    fn prerender(&self) -> Prerender {
        Prerender { without_removed_text: true, ..Prerender::default() }
    }
    fn document(&mut self, doc: &Document) -> io::Result<()> {
        if self.writers.is_none() {
            self.writers = Some(MirrorDir::start_writers(&self.root)?);
        }
        let writers = self.writers.as_mut().expect("started");
        if let Some(e) = writers.failed.lock().expect("error lock").take() {
            return Err(e);
        }
        let mut bytes = Vec::with_capacity(doc.text.len() + 1);
        bytes.extend_from_slice(doc.text.as_bytes());
        if doc.final_newline && !doc.text.is_empty() {
            bytes.push(b'\n');
        }
        self.batch_bytes += bytes.len();
        self.batch.push((safe_relative(&doc.out_path), bytes));
        if self.batch.len() < MIRROR_BATCH
            && self.batch_bytes < MIRROR_BATCH_BYTES
        {
            return Ok(());
        }
        self.batch_bytes = 0;
        let batch = std::mem::take(&mut self.batch);
        if writers.queue.send(batch).is_err() {
            // Only a writer that panicked closes the queue early.
            return self.drain().and(Err(io::Error::other(
                "the output folder's writers stopped",
            )));
        }
        Ok(())
    }

    fn finish(&mut self, _summary: &Summary) -> io::Result<()> {
        self.drain()
    }
}

impl Drop for MirrorDir {
    fn drop(&mut self) {
        // Files already queued are still written: each is whole or absent.
        let _ = self.drain();
    }
}

/// Turns a name from the input (a path, or a record id such as
/// `../../x`) into a relative path that cannot leave the output folder.
pub fn safe_relative(name: &str) -> PathBuf {
    let mut out = PathBuf::new();
    for part in Path::new(name).components() {
        if let Component::Normal(p) = part {
            let p = p.to_string_lossy();
            // A leading dot would hide the file; keep it visible.
            let p = p.trim_start_matches('.');
            if !p.is_empty() {
                out.push(p);
            }
        }
    }
    if out.as_os_str().is_empty() {
        out.push("unnamed");
    }
    out
}

/// A cleaned document as one JSON Lines record, in the shape datatrove
/// and Dolma read (`id`, `text`, plus chaff's metadata).
#[derive(Serialize)]
struct DocRecord<'a> {
    id: &'a str,
    text: &'a str,
    source: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
    encoding: &'a str,
    lines_removed: usize,
}

impl DocRecord<'_> {
    fn of(doc: &Document) -> DocRecord<'_> {
        DocRecord {
            id: doc.meta.id.as_deref().unwrap_or(&doc.meta.name),
            text: &doc.text,
            source: &doc.meta.source,
            url: doc.meta.url.as_deref(),
            encoding: doc.meta.encoding,
            lines_removed: doc
                .removals
                .iter()
                .filter(|r| r.replacement.is_none())
                .count(),
        }
    }
}

/// A JSON Lines file committed at the end of the run: what the three
/// record sinks share.
///
/// The records are gathered into batches that a thread of the file's own
/// writes out: the thread feeding the sinks feeds all of them, so it only
/// copies bytes, or passes on records rendered ahead whole, and the
/// system calls that move them into the file are made beside it.
struct RecordFile {
    /// Records not yet handed to the writer, in order: blocks they were
    /// copied into and records taken whole.
    queued: Vec<Vec<u8>>,
    queued_bytes: usize,
    /// The last of `queued` is a block records are copied into.
    copying: bool,
    writer: Option<RecordWriter>,
}

/// The thread that writes a [`RecordFile`]'s batches, in order; it gives
/// back the file (uncommitted) or the first error.
struct RecordWriter {
    batches: std::sync::mpsc::SyncSender<Vec<Vec<u8>>>,
    /// Blocks written, back for reuse.
    spare: std::sync::mpsc::Receiver<Vec<u8>>,
    thread: std::thread::JoinHandle<io::Result<AtomicFile>>,
}

/// Records are handed to the writer this many bytes at a time.
const RECORD_BLOCK: usize = 1 << 20;
/// Batches queued for the writer at most.
const RECORD_QUEUE: usize = 4;

impl RecordFile {
    fn create(path: impl Into<PathBuf>) -> io::Result<RecordFile> {
        let mut file = AtomicFile::create(path)?;
        let (batches, queued) =
            std::sync::mpsc::sync_channel::<Vec<Vec<u8>>>(RECORD_QUEUE);
        let (give_back, spare) =
            std::sync::mpsc::sync_channel::<Vec<u8>>(RECORD_QUEUE);
        let thread = std::thread::spawn(move || {
            for batch in queued {
                file.write_all_of(&batch)?;
                for mut block in batch {
                    // Blocks of about the usual size are reused: records
                    // taken whole are mostly smaller, and a block grown by
                    // a huge record is freed. A full return queue also
                    // means the block is freed.
                    let reused = RECORD_BLOCK..=4 * RECORD_BLOCK;
                    if reused.contains(&block.capacity()) {
                        block.clear();
                        let _ = give_back.try_send(block);
                    }
                }
            }
            Ok(file)
        });
        Ok(RecordFile {
            queued: Vec::new(),
            queued_bytes: 0,
            copying: false,
            writer: Some(RecordWriter { batches, spare, thread }),
        })
    }

    /// Writes records rendered ahead, or what `render` makes of them now
    /// when there are none.
    fn write(
        &mut self,
        ahead: &[u8],
        render: impl FnOnce(&mut Vec<u8>),
    ) -> io::Result<()> {
        if !self.copying {
            let writer =
                self.writer.as_ref().expect("not written after finish");
            let block = writer
                .spare
                .try_recv()
                .unwrap_or_else(|_| Vec::with_capacity(RECORD_BLOCK));
            self.queued.push(block);
            self.copying = true;
        }
        let block = self.queued.last_mut().expect("a block to copy into");
        let before = block.len();
        if ahead.is_empty() {
            render(block);
        } else {
            block.extend_from_slice(ahead);
        }
        self.queued_bytes += block.len() - before;
        if self.queued_bytes >= RECORD_BLOCK {
            self.hand_over()?;
        }
        Ok(())
    }

    /// Writes records rendered ahead and taken whole, without copying
    /// them, or what `render` makes of them now when there are none.
    fn write_taken(
        &mut self,
        records: Vec<u8>,
        render: impl FnOnce(&mut Vec<u8>),
    ) -> io::Result<()> {
        if records.is_empty() {
            return self.write(&[], render);
        }
        self.queued_bytes += records.len();
        self.queued.push(records);
        self.copying = false;
        if self.queued_bytes >= RECORD_BLOCK {
            self.hand_over()?;
        }
        Ok(())
    }

    /// Sends the queued records to the writer.
    fn hand_over(&mut self) -> io::Result<()> {
        let writer = self.writer.as_ref().expect("not written after finish");
        let batch = std::mem::take(&mut self.queued);
        self.queued_bytes = 0;
        self.copying = false;
        if writer.batches.send(batch).is_err() {
            // The writer stopped at an error: that error.
            return self.stop().and(Err(io::Error::other("writer stopped")));
        }
        Ok(())
    }

    /// Ends the writer; the file it wrote, or its error.
    fn stop(&mut self) -> io::Result<AtomicFile> {
        let writer = self.writer.take().expect("not written after finish");
        drop(writer.batches);
        match writer.thread.join() {
            Ok(result) => result,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }

    fn commit(&mut self) -> io::Result<()> {
        if self.writer.is_none() {
            return Ok(());
        }
        if !self.queued.is_empty() {
            self.hand_over()?;
        }
        self.stop()?.commit()
    }
}

impl Drop for RecordFile {
    /// An uncommitted file is removed before the sink is gone (the
    /// writer drops it), so an interrupted run leaves none behind.
    fn drop(&mut self) {
        if let Some(writer) = self.writer.take() {
            drop(writer.batches);
            // Its error or panic has no one to go to now.
            let _ = writer.thread.join();
        }
    }
}

/// Writes documents as JSON Lines records to a file, committed at the
/// end of the run.
pub struct JsonLinesFile(RecordFile);

impl JsonLinesFile {
    /// Starts writing `path`.
    pub fn create(path: impl Into<PathBuf>) -> io::Result<JsonLinesFile> {
        RecordFile::create(path).map(JsonLinesFile)
    }
}

fn write_json_line(
    w: &mut impl Write,
    value: &impl Serialize,
) -> io::Result<()> {
    serde_json::to_writer(&mut *w, value)?;
    w.write_all(b"\n")
}

impl Sink for JsonLinesFile {
    fn document(&mut self, doc: &Document) -> io::Result<()> {
        self.rendered_document(doc, &Prerendered::default())
    }
    fn prerender(&self) -> Prerender {
        Prerender {
            record: true,
            without_removed_text: true,
            ..Prerender::default()
        }
    }
    fn rendered_document(
        &mut self,
        doc: &Document,
        rendered: &Prerendered,
    ) -> io::Result<()> {
        self.0.write(&rendered.record, |out| {
            write_doc_record(out, &DocRecord::of(doc))
        })
    }
    fn take_rendered_document(
        &mut self,
        doc: &Document,
        rendered: &mut Prerendered,
    ) -> io::Result<()> {
        let record = std::mem::take(&mut rendered.record);
        self.0.write_taken(record, |out| {
            write_doc_record(out, &DocRecord::of(doc))
        })
    }
    fn finish(&mut self, _summary: &Summary) -> io::Result<()> {
        self.0.commit()
    }
}

// The documents and the removed lines are most of what a run writes, and
// serde_json escapes strings a byte at a time: these two records are
// written by hand, eight bytes at a time, in serde_json's exact format
// (the tests hold them to it).

fn write_doc_record(out: &mut Vec<u8>, r: &DocRecord<'_>) {
    out.extend_from_slice(b"{\"id\":");
    write_json_str(out, r.id);
    out.extend_from_slice(b",\"text\":");
    write_json_str(out, r.text);
    out.extend_from_slice(b",\"source\":");
    write_json_str(out, r.source);
    if let Some(url) = r.url {
        out.extend_from_slice(b",\"url\":");
        write_json_str(out, url);
    }
    out.extend_from_slice(b",\"encoding\":");
    write_json_str(out, r.encoding);
    out.extend_from_slice(b",\"lines_removed\":");
    push_decimal(out, r.lines_removed as u64);
    out.extend_from_slice(b"}\n");
}

/// Writes the removal records of one document, with its name escaped
/// once rather than once per line (most of a page's lines can be removed),
/// and each reason once rather than once per line.
struct RemovalWriter<'r> {
    /// `{"doc":"NAME","line":`
    start: Vec<u8>,
    /// The record parts of the reasons made for this document.
    own: Middles<'r>,
}

/// The part of a removal record between its line and its text,
/// `,"stage":"strip","reason":"REASON","text":`, for the reasons met,
/// found by the reason's address: reasons are mostly constants, so a
/// line's reason is found without reading it.
struct Middles<'r> {
    /// The parts, one after another.
    bytes: Vec<u8>,
    /// Where in `bytes` each reason's part is, by its address (none until
    /// the first reason); a reason that maps to a taken slot replaces it.
    slots: Vec<MiddleSlot>,
    slot_count: usize,
    /// A hash shifted right by this is a slot.
    shift: u32,
    /// Bytes kept before starting afresh: reasons made for each line (a
    /// near-duplicate's cluster) are met once each.
    held: usize,
    /// The reasons of `slots` are borrowed for as long as `self` is.
    reasons: std::marker::PhantomData<&'r str>,
}

/// A reason's address, length and stage, and where its part of a record
/// is in [`Middles::bytes`] (an address of 0 is an empty slot).
#[derive(Clone, Copy, Default)]
struct MiddleSlot {
    address: usize,
    len: usize,
    stage: u32,
    start: u32,
    end: u32,
}

thread_local! {
    /// The record parts of constant reasons, kept across the documents a
    /// thread renders: the same few hundred recur on every page.
    static CONSTANT_MIDDLES: std::cell::RefCell<Middles<'static>> =
        std::cell::RefCell::new(Middles::new(1024, 1 << 18));
}

impl<'r> Middles<'r> {
    /// `slot_count` is a power of two.
    fn new(slot_count: usize, held: usize) -> Middles<'r> {
        Middles {
            bytes: Vec::new(),
            slots: Vec::new(),
            slot_count,
            shift: 64 - slot_count.ilog2(),
            held,
            reasons: std::marker::PhantomData,
        }
    }

    /// `,"stage":"STAGE","reason":"REASON","text":`, escaped the first
    /// time the reason is met.
    #[inline]
    fn get(&mut self, stage: Stage, reason: &'r str) -> &[u8] {
        // Two live strings at one address with one length are the same
        // bytes: the address stands for the reason.
        let address = reason.as_ptr() as usize;
        let (len, stage_code) = (reason.len(), stage as u32);
        let hash = (address ^ len.rotate_left(32) ^ stage_code as usize)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let k = hash >> self.shift;
        match self.slots.get(k) {
            Some(slot)
                if slot.address == address
                    && slot.len == len
                    && slot.stage == stage_code =>
            {
                &self.bytes[slot.start as usize..slot.end as usize]
            }
            _ => self.add(k, address, stage, reason),
        }
    }

    /// Escapes a reason's part into slot `k`.
    #[cold]
    #[inline(never)]
    fn add(
        &mut self,
        k: usize,
        address: usize,
        stage: Stage,
        reason: &'r str,
    ) -> &[u8] {
        if self.slots.is_empty() || self.bytes.len() > self.held {
            self.bytes.clear();
            self.slots.clear();
            self.slots.resize(self.slot_count, MiddleSlot::default());
        }
        let start = self.bytes.len();
        self.bytes.extend_from_slice(match stage {
            Stage::Fix => b",\"stage\":\"fix\",\"reason\":",
            Stage::Strip => b",\"stage\":\"strip\",\"reason\":",
            Stage::Dedup => b",\"stage\":\"dedup\",\"reason\":",
        });
        write_json_str(&mut self.bytes, reason);
        self.bytes.extend_from_slice(b",\"text\":");
        let at = |n: usize| u32::try_from(n).expect("reasons are short");
        self.slots[k] = MiddleSlot {
            address,
            len: reason.len(),
            stage: stage as u32,
            start: at(start),
            end: at(self.bytes.len()),
        };
        &self.bytes[start..]
    }
}

impl<'r> RemovalWriter<'r> {
    fn new(doc: &str) -> RemovalWriter<'r> {
        let mut start = Vec::with_capacity(doc.len() + 24);
        start.extend_from_slice(b"{\"doc\":");
        write_json_str(&mut start, doc);
        start.extend_from_slice(b",\"line\":");
        // More slots than a page's distinct reasons (about 25 on the
        // strip benchmark, 45 at most).
        RemovalWriter { start, own: Middles::new(64, 1 << 16) }
    }

    fn write(&mut self, out: &mut Vec<u8>, r: &RemovalRecord<'r>) {
        let middle = self.own.get(r.stage, r.reason);
        write_removal_record(out, &self.start, r, middle);
    }
}

/// `start`, then what of `r` follows it, `middle` in place of its stage
/// and reason.
fn write_removal_record(
    out: &mut Vec<u8>,
    start: &[u8],
    r: &RemovalRecord<'_>,
    middle: &[u8],
) {
    out.extend_from_slice(start);
    push_decimal(out, u64::from(r.line));
    out.extend_from_slice(middle);
    write_json_str(out, r.text);
    if let Some(replacement) = r.replacement {
        out.extend_from_slice(b",\"replacement\":");
        write_json_str(out, replacement);
    }
    out.extend_from_slice(b"}\n");
}

/// Appends `n` in decimal, as serde_json writes integers (without the
/// allocation of `to_string`, once per removed line).
pub(crate) fn push_decimal(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// Appends `s` as a JSON string, escaped exactly as serde_json escapes
/// it: `"`, `\\` and the C0 controls only (`\b \t \n \f \r` by name,
/// the others as `\u00xx`). Eight bytes are checked at a time, where
/// serde_json looks at each.
pub fn write_json_str(out: &mut Vec<u8>, s: &str) {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH_BITS: u64 = ONES * 0x80;
    // The high bit of each byte of `word` that is below 0x20, a quote or
    // a backslash. The lowest bit set is exact; bits above it may be
    // false alarms (borrows), so only the first one is trusted.
    let special_bits = |word: u64| {
        let quote = word ^ (ONES * u64::from(b'"'));
        let backslash = word ^ (ONES * u64::from(b'\\'));
        let below_space = word.wrapping_sub(ONES * 0x20) & !word;
        let is_quote = quote.wrapping_sub(ONES) & !quote;
        let is_backslash = backslash.wrapping_sub(ONES) & !backslash;
        (below_space | is_quote | is_backslash) & HIGH_BITS
    };
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut clean_from = 0;
    let mut at = 0;
    loop {
        // The next byte to escape: sixteen bytes at a time where SSE2 is
        // there, then a word at a time, then the tail.
        #[cfg(target_arch = "x86_64")]
        let found = loop {
            if at + 16 > bytes.len() {
                // The last bytes, by loading the last sixteen again with
                // the bits of those looked at shifted out.
                let Some(last) = bytes.len().checked_sub(16) else {
                    // A string shorter than sixteen bytes: copied into a
                    // padded block, not walked a byte at a time.
                    let block = crate::sse2::padded_with_spaces(&bytes[at..]);
                    let mask = special_mask_16(&block);
                    if mask == 0 {
                        at = bytes.len();
                        break None;
                    }
                    break Some(at + mask.trailing_zeros() as usize);
                };
                let mask = special_mask_16(&bytes[last..]) >> (at - last);
                if mask == 0 {
                    at = bytes.len();
                    break None;
                }
                break Some(at + mask.trailing_zeros() as usize);
            }
            let mask = special_mask_16(&bytes[at..at + 16]);
            if mask != 0 {
                break Some(at + mask.trailing_zeros() as usize);
            }
            at += 16;
        };
        #[cfg(not(target_arch = "x86_64"))]
        let found = None;
        let found = found.or_else(|| loop {
            if at + 8 > bytes.len() {
                break bytes[at..]
                    .iter()
                    .position(|&b| b < 0x20 || b == b'"' || b == b'\\')
                    .map(|k| at + k);
            }
            let word = u64::from_le_bytes(
                bytes[at..at + 8].try_into().expect("eight bytes"),
            );
            let bits = special_bits(word);
            if bits != 0 {
                break Some(at + bits.trailing_zeros() as usize / 8);
            }
            at += 8;
        });
        let Some(i) = found else { break };
        let b = bytes[i];
        out.extend_from_slice(&bytes[clean_from..i]);
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0C => out.extend_from_slice(b"\\f"),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 0xF)]);
            }
        }
        clean_from = i + 1;
        at = i + 1;
    }
    out.extend_from_slice(&bytes[clean_from..]);
    out.push(b'"');
}

/// One bit per byte of `chunk` (16 bytes) that JSON must escape: below
/// 0x20, a quote or a backslash.
#[cfg(target_arch = "x86_64")]
#[inline]
fn special_mask_16(chunk: &[u8]) -> u32 {
    use std::arch::x86_64::*;
    assert_eq!(chunk.len(), 16);
    // SAFETY: SSE2 is part of x86-64; the load reads the 16 bytes of
    // `chunk`, checked above, and needs no alignment.
    unsafe {
        let v = _mm_loadu_si128(chunk.as_ptr().cast());
        let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
        let backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
        // Unsigned v <= 0x1f exactly when max(v, 0x1f) is 0x1f.
        let low = _mm_set1_epi8(0x1f);
        let control = _mm_cmpeq_epi8(_mm_max_epu8(v, low), low);
        let any = _mm_or_si128(_mm_or_si128(quote, backslash), control);
        _mm_movemask_epi8(any) as u32
    }
}

/// Machine output on a stream: JSON Lines with a `type`/`data` envelope
/// (`doc`, `cluster`, `error`, `summary`).
pub struct JsonStream<W: Write> {
    out: W,
}

impl<W: Write> JsonStream<W> {
    /// Writes to `out`.
    pub fn new(out: W) -> JsonStream<W> {
        JsonStream { out }
    }
}

#[derive(Serialize)]
struct Envelope<'a, T: Serialize> {
    #[serde(rename = "type")]
    kind: &'a str,
    data: &'a T,
}

#[derive(Serialize)]
struct ErrorData<'a> {
    path: String,
    kind: &'a str,
    message: String,
}

impl<W: Write> Sink for JsonStream<W> {
    fn cluster(&mut self, cluster: &ClusterRecord) -> io::Result<()> {
        write_json_line(
            &mut self.out,
            &Envelope { kind: "cluster", data: cluster },
        )
    }
    fn document(&mut self, doc: &Document) -> io::Result<()> {
        write_json_line(&mut self.out, &Envelope { kind: "doc", data: doc })
    }
    fn error(&mut self, err: &Error) -> io::Result<()> {
        let data = ErrorData {
            path: err.path().display().to_string(),
            kind: err.kind(),
            message: err.to_string(),
        };
        write_json_line(
            &mut self.out,
            &Envelope { kind: "error", data: &data },
        )
    }
    fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        write_json_line(
            &mut self.out,
            &Envelope { kind: "summary", data: summary },
        )?;
        self.out.flush()
    }
}

/// One line of the removed record.
#[derive(Serialize)]
struct RemovalRecord<'a> {
    doc: &'a str,
    line: u32,
    stage: Stage,
    reason: &'a str,
    text: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    replacement: Option<&'a str>,
}

/// Writes every removed or changed line (the audit trail) as JSON Lines,
/// committed at the end of the run.
pub struct RemovedFile(RecordFile);

impl RemovedFile {
    /// Starts writing `path`.
    pub fn create(path: impl Into<PathBuf>) -> io::Result<RemovedFile> {
        RecordFile::create(path).map(RemovedFile)
    }
}

/// Appends the records of `doc`'s removed and changed lines.
fn write_removal_records<'d>(
    out: &mut Vec<u8>,
    doc: &'d Document,
    text_of: impl Fn(&'d Removal) -> &'d str,
) {
    if doc.removals.is_empty() {
        return;
    }
    let mut writer = RemovalWriter::new(&doc.meta.name);
    CONSTANT_MIDDLES.with_borrow_mut(|constants| {
        for r in &doc.removals {
            let record = RemovalRecord {
                doc: &doc.meta.name,
                line: r.line,
                stage: r.stage,
                reason: &r.reason,
                text: text_of(r),
                replacement: r.replacement.as_deref(),
            };
            match &r.reason {
                std::borrow::Cow::Borrowed(reason) => {
                    let middle = constants.get(r.stage, reason);
                    write_removal_record(out, &writer.start, &record, middle);
                }
                std::borrow::Cow::Owned(_) => writer.write(out, &record),
            }
        }
    });
}

impl Sink for RemovedFile {
    fn document(&mut self, doc: &Document) -> io::Result<()> {
        self.rendered_document(doc, &Prerendered::default())
    }
    fn prerender(&self) -> Prerender {
        Prerender {
            removals: true,
            without_removed_text: true,
            ..Prerender::default()
        }
    }
    fn rendered_document(
        &mut self,
        doc: &Document,
        rendered: &Prerendered,
    ) -> io::Result<()> {
        if doc.removals.is_empty() {
            return Ok(());
        }
        self.0.write(&rendered.removals, |out| {
            write_removal_records(out, doc, |r| &r.original)
        })
    }
    fn take_rendered_document(
        &mut self,
        doc: &Document,
        rendered: &mut Prerendered,
    ) -> io::Result<()> {
        if doc.removals.is_empty() {
            return Ok(());
        }
        let records = std::mem::take(&mut rendered.removals);
        self.0.write_taken(records, |out| {
            write_removal_records(out, doc, |r| &r.original)
        })
    }
    fn finish(&mut self, _summary: &Summary) -> io::Result<()> {
        self.0.commit()
    }
}

/// Writes the clusters as JSON Lines, committed at the end of the run.
pub struct ClustersFile(RecordFile);

impl ClustersFile {
    /// Starts writing `path`.
    pub fn create(path: impl Into<PathBuf>) -> io::Result<ClustersFile> {
        RecordFile::create(path).map(ClustersFile)
    }
}

/// Appends a cluster's JSON Lines record, as [`ClustersFile`] writes it:
/// serde_json's format (the similarity is written by serde_json itself).
pub fn write_cluster_record(out: &mut Vec<u8>, c: &ClusterRecord) {
    out.extend_from_slice(b"{\"id\":");
    push_decimal(out, c.id as u64);
    out.extend_from_slice(b",\"members\":[");
    for (k, m) in c.members.iter().enumerate() {
        if k > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"doc\":");
        write_json_str(out, &m.doc);
        out.extend_from_slice(b",\"line\":");
        push_decimal(out, u64::from(m.line));
        out.extend_from_slice(b",\"source\":");
        write_json_str(out, &m.source);
        out.extend_from_slice(if m.representative {
            b",\"representative\":true,\"distance\":"
        } else {
            b",\"representative\":false,\"distance\":"
        });
        push_decimal(out, u64::from(m.distance));
        out.extend_from_slice(b",\"similarity\":");
        serde_json::to_writer(&mut *out, &m.similarity)
            .expect("a Vec takes any write");
        out.extend_from_slice(b",\"text\":");
        write_json_str(out, &m.text);
        out.push(b'}');
    }
    out.extend_from_slice(b"]}\n");
}

impl Sink for ClustersFile {
    fn cluster(&mut self, cluster: &ClusterRecord) -> io::Result<()> {
        self.rendered_cluster(cluster, &[])
    }
    fn rendered_cluster(
        &mut self,
        cluster: &ClusterRecord,
        record: &[u8],
    ) -> io::Result<()> {
        self.0.write(record, |out| write_cluster_record(out, cluster))
    }
    fn prerender(&self) -> Prerender {
        Prerender {
            clusters: true,
            without_removed_text: true,
            ..Prerender::default()
        }
    }
    fn document(&mut self, _doc: &Document) -> io::Result<()> {
        Ok(())
    }
    fn finish(&mut self, _summary: &Summary) -> io::Result<()> {
        self.0.commit()
    }
}

/// Writes the summary as pretty JSON when the run finishes.
pub struct ReportFile {
    path: PathBuf,
}

impl ReportFile {
    /// Will write `path`.
    pub fn new(path: impl Into<PathBuf>) -> ReportFile {
        ReportFile { path: path.into() }
    }
}

impl Sink for ReportFile {
    fn prerender(&self) -> Prerender {
        Prerender { without_removed_text: true, ..Prerender::default() }
    }
    fn document(&mut self, _doc: &Document) -> io::Result<()> {
        Ok(())
    }
    fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        let mut json = serde_json::to_vec_pretty(summary)?;
        json.push(b'\n');
        write_atomic(&self.path, &json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::Stage;

    #[test]
    fn names_cannot_escape() {
        assert_eq!(safe_relative("../../x"), PathBuf::from("x"));
        assert_eq!(safe_relative("/etc/passwd"), PathBuf::from("etc/passwd"));
        assert_eq!(safe_relative("a/./b/../c"), PathBuf::from("a/b/c"));
        assert_eq!(safe_relative(".."), PathBuf::from("unnamed"));
        assert_eq!(safe_relative(".hidden"), PathBuf::from("hidden"));
    }

    /// Strings with every escape at every offset of an eight-byte word.
    fn awkward_strings() -> Vec<String> {
        let mut out = vec![String::new(), "plain ascii text".to_string()];
        let specials = ['"', '\\', '\n', '\r', '\t', '\u{8}', '\u{c}', '\0'];
        for c in specials.into_iter().chain(['\u{1f}', '\u{7f}', 'é', '€'])
        {
            for at in 0..17 {
                let mut s = "abcdefghijklmnopq".to_string();
                s.insert(at, c);
                out.push(s);
            }
        }
        out.push("\u{1}\u{2}\"\"\\\\x\u{1b}日本語\u{2028}".to_string());
        out
    }

    #[test]
    fn every_ascii_byte_is_escaped_as_serde_json_escapes_it() {
        for b in 0..=0x7fu8 {
            let one = char::from(b).to_string();
            let long =
                format!("ab{one}cdefghij\u{e9}k{one}{one}lmnopqrs{one}");
            let mut texts = vec![one.clone(), long];
            // The byte at every place of the sixteen- and eight-byte
            // steps and the tail.
            for at in 0..40 {
                let mut text = "wxyz".repeat(12) + "\u{e9}";
                text.insert_str(at, &one);
                texts.push(text);
            }
            // Strings under sixteen bytes (one padded block): the byte at
            // every place of every length, alone and with a second one.
            for len in 0..16 {
                for at in 0..=len {
                    let mut text = "abcdefghijklmno"[..len].to_string();
                    text.insert_str(at, &one);
                    texts.push(text.clone());
                    text.push_str(&one);
                    texts.push(text);
                }
            }
            for text in &texts {
                let mut ours = Vec::new();
                write_json_str(&mut ours, text);
                assert_eq!(ours, serde_json::to_vec(text).unwrap(), "{b:#x}");
            }
        }
    }

    #[test]
    fn hand_written_records_match_serde_json() {
        for s in awkward_strings() {
            let doc = DocRecord {
                id: &s,
                text: &s,
                source: "src",
                url: (s.len() % 2 == 0).then_some(s.as_str()),
                encoding: "UTF-8",
                lines_removed: s.len(),
            };
            let mut ours = Vec::new();
            write_doc_record(&mut ours, &doc);
            let mut theirs = serde_json::to_vec(&doc).unwrap();
            theirs.push(b'\n');
            assert_eq!(ours, theirs, "{s:?}");
            let stages = [Stage::Fix, Stage::Strip, Stage::Dedup];
            let lines = [0, 7, 10, 99, 12345, u32::MAX];
            for (stage, line) in stages
                .into_iter()
                .flat_map(|stage| lines.map(|line| (stage, line)))
            {
                let removal = RemovalRecord {
                    doc: &s,
                    line,
                    stage,
                    reason: "near-duplicate:3",
                    text: &s,
                    replacement: (stage == Stage::Fix).then_some(s.as_str()),
                };
                let mut ours = Vec::new();
                RemovalWriter::new(&s).write(&mut ours, &removal);
                let mut theirs = serde_json::to_vec(&removal).unwrap();
                theirs.push(b'\n');
                assert_eq!(ours, theirs, "{s:?}");
            }
        }
    }

    /// One writer for many records, as for a page: reasons met again (by
    /// the same string or an equal one elsewhere), more reasons than its
    /// slots, an escaped reason, and enough to start its store afresh.
    #[test]
    fn removal_writer_reuses_reasons_exactly() {
        let mut reasons: Vec<String> = (0..300)
            .map(|n| format!("repeated-in-source:{n}"))
            .chain(["a \"quoted\"\\ reason\u{1}".to_string()])
            .collect();
        reasons.push(reasons[7].clone());
        let stages = [Stage::Fix, Stage::Strip, Stage::Dedup];
        let mut ours = Vec::new();
        let mut theirs = Vec::new();
        let texts: Vec<String> =
            (0..20_000).map(|k| format!("line {k}")).collect();
        let mut writer = RemovalWriter::new("a/b.txt");
        for (k, text) in texts.iter().enumerate() {
            let reason = &reasons[(k * k + k / 3) % reasons.len()];
            let stage = stages[k % 7 % 3];
            let removal = RemovalRecord {
                doc: "a/b.txt",
                line: k as u32,
                stage,
                reason,
                text,
                replacement: (stage == Stage::Fix).then_some("new"),
            };
            writer.write(&mut ours, &removal);
            serde_json::to_writer(&mut theirs, &removal).unwrap();
            theirs.push(b'\n');
        }
        assert!(String::from_utf8(ours) == String::from_utf8(theirs));
    }

    /// A document's records, with constant reasons (kept by the thread
    /// across documents) and reasons of its own, as serde_json writes
    /// them, for one document after another.
    #[test]
    fn removal_records_of_documents_match_serde_json() {
        use std::borrow::Cow;
        const CONSTANTS: [&str; 4] =
            ["outside-main-region", "blank", "lexicon:cookie", "a \"b\"\n"];
        for round in 0..3 {
            let mut d = doc("a.txt", "");
            d.meta.name = format!("page {round}.txt");
            for k in 0..500u32 {
                let stage =
                    [Stage::Fix, Stage::Strip, Stage::Dedup][(k % 3) as usize];
                let reason = match k % 5 {
                    0..=2 => Cow::Borrowed(CONSTANTS[(k % 4) as usize]),
                    _ => Cow::Owned(format!("near-duplicate:{}", k % 9)),
                };
                d.removals.push(Removal {
                    line: k + 1,
                    stage,
                    reason,
                    original: format!("line {k} of {round}"),
                    replacement: (stage == Stage::Fix).then(|| "new".into()),
                });
            }
            let mut ours = Vec::new();
            write_removal_records(&mut ours, &d, |r| &r.original);
            let mut theirs = Vec::new();
            for r in &d.removals {
                let record = RemovalRecord {
                    doc: &d.meta.name,
                    line: r.line,
                    stage: r.stage,
                    reason: &r.reason,
                    text: &r.original,
                    replacement: r.replacement.as_deref(),
                };
                serde_json::to_writer(&mut theirs, &record).unwrap();
                theirs.push(b'\n');
            }
            assert!(String::from_utf8(ours) == String::from_utf8(theirs));
        }
    }

    #[test]
    fn hand_written_cluster_records_match_serde_json() {
        let strings = awkward_strings();
        for (k, s) in strings.iter().enumerate() {
            let similarities = [0.0, 1.0, 0.956, 0.5, 0.001, 0.1 + 0.2, 0.07];
            let members = (0..3)
                .map(|m| ClusterMember {
                    doc: s.clone(),
                    line: (k * 7 + m) as u32,
                    source: strings[(k + m) % strings.len()].clone(),
                    representative: m == 0,
                    distance: m as u32 * 3,
                    similarity: similarities[(k + m) % similarities.len()],
                    text: s.repeat(m + 1),
                })
                .collect();
            let record = ClusterRecord { id: k * 1000, members };
            let mut ours = Vec::new();
            write_cluster_record(&mut ours, &record);
            let mut theirs = serde_json::to_vec(&record).unwrap();
            theirs.push(b'\n');
            assert_eq!(ours, theirs, "{s:?}");
        }
    }

    fn doc(out_path: &str, text: &str) -> Document {
        Document {
            index: 0,
            meta: crate::document::DocMeta::default(),
            text: text.to_string(),
            removals: Vec::new(),
            kept_lines: Vec::new(),
            out_path: out_path.to_string(),
            final_newline: true,
        }
    }

    /// Renaming over a device or pipe would replace it with a plain file
    /// (`--removed /dev/null` would replace the machine's `/dev/null`);
    /// such paths are written in place.
    #[cfg(unix)]
    #[test]
    fn atomic_file_writes_into_a_named_pipe_without_replacing_it() {
        use std::os::unix::fs::FileTypeExt;
        let dir = tempfile::tempdir().unwrap();
        let pipe = dir.path().join("removed.jsonl");
        let made = std::process::Command::new("mkfifo")
            .arg(&pipe)
            .status()
            .expect("mkfifo runs");
        assert!(made.success());
        let reader = {
            let pipe = pipe.clone();
            std::thread::spawn(move || fs::read(pipe).unwrap())
        };
        write_atomic(&pipe, b"one\ntwo\n").unwrap();
        // Checked before the reader is joined: had the pipe been replaced,
        // the reader would wait for a writer forever.
        let kind = fs::symlink_metadata(&pipe).unwrap().file_type();
        assert!(kind.is_fifo(), "the pipe was replaced: {kind:?}");
        assert_eq!(reader.join().unwrap(), b"one\ntwo\n");
        let left: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "no temporary file is left");
    }

    #[cfg(unix)]
    #[test]
    fn atomic_file_writes_through_a_symbolic_link_and_keeps_it() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("kept.jsonl");
        fs::write(&target, "an older and longer file").unwrap();
        let link = dir.path().join("link.jsonl");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        write_atomic(&link, b"new").unwrap();
        assert!(fs::symlink_metadata(&link).unwrap().is_symlink());
        assert_eq!(fs::read(&target).unwrap(), b"new");
    }

    /// Written files are as readable as other new files (0644 less the
    /// umask), in a folder and alone, not private like temporary files.
    #[cfg(unix)]
    #[test]
    fn written_files_take_their_mode_through_the_umask() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode();
        let plain = dir.path().join("plain");
        fs::File::create(&plain).unwrap();
        let expected = 0o644 & mode(&plain) & 0o777;
        let alone = dir.path().join("report.json");
        write_atomic(&alone, b"{}").unwrap();
        assert_eq!(mode(&alone) & 0o777, expected);
        let mut mirror = MirrorDir::new(dir.path().join("out"));
        mirror.document(&doc("a/b.txt", "text")).unwrap();
        mirror.finish(&Summary::default()).unwrap();
        let mirrored = dir.path().join("out/a/b.txt");
        assert_eq!(mode(&mirrored) & 0o777, expected);
    }

    /// A record file's writer fails on a full disk: the error reaches the
    /// run, at the latest when the file is committed.
    #[cfg(target_os = "linux")]
    #[test]
    fn record_file_reports_a_full_disk() {
        let mut file = RecordFile::create("/dev/full").unwrap();
        let line = b"{\"doc\":\"a\"}\n".repeat(1000);
        let mut result = Ok(());
        for _ in 0..300 {
            result = file.write(&line, |_| {});
            if result.is_err() {
                break;
            }
        }
        let result = result.and_then(|()| file.commit());
        let err = result.expect_err("the disk is full");
        assert_eq!(err.raw_os_error(), Some(28), "{err}"); // ENOSPC
    }

    /// Records reach the file in the order written, across many blocks,
    /// whether rendered ahead (copied or taken) or in place.
    #[test]
    fn record_file_keeps_the_order_of_its_records() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("records.jsonl");
        let mut file = RecordFile::create(&path).unwrap();
        let mut expected = Vec::new();
        for k in 0..200_000u32 {
            let line = format!("{{\"k\":{k}}}\n");
            expected.extend_from_slice(line.as_bytes());
            match k % 5 {
                0 => file
                    .write(b"", |out| out.extend_from_slice(line.as_bytes())),
                1 | 2 => {
                    file.write_taken(line.into_bytes(), |_| unreachable!())
                }
                _ => file.write(line.as_bytes(), |_| unreachable!()),
            }
            .unwrap();
        }
        assert!(!path.exists(), "nothing is in place before the commit");
        file.commit().unwrap();
        assert_eq!(fs::read(&path).unwrap(), expected);
    }

    #[test]
    fn atomic_file_replaces_a_regular_file_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        fs::write(&path, "an older and longer report").unwrap();
        write_atomic(&path, b"new").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
    }

    #[test]
    fn mirror_writes_every_file_by_finish() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = MirrorDir::new(dir.path());
        for k in 0..300 {
            sink.document(&doc(&format!("s{}/{k}.txt", k % 7), "text"))
                .unwrap();
        }
        sink.finish(&Summary::default()).unwrap();
        for k in 0..300 {
            let path = dir.path().join(format!("s{}/{k}.txt", k % 7));
            assert_eq!(fs::read_to_string(path).unwrap(), "text\n");
        }
    }

    /// Files still waiting in a batch when the sink is dropped are written
    /// too (each whole), as queued ones always were.
    #[test]
    fn mirror_dropped_unfinished_writes_what_it_was_given() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = MirrorDir::new(dir.path());
        for k in 0..(MIRROR_BATCH + 3) {
            sink.document(&doc(&format!("{k}.txt"), "text")).unwrap();
        }
        drop(sink);
        for k in 0..(MIRROR_BATCH + 3) {
            let path = dir.path().join(format!("{k}.txt"));
            assert_eq!(fs::read_to_string(path).unwrap(), "text\n");
        }
        let entries = fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(entries, MIRROR_BATCH + 3, "no staging folder is left");
    }

    /// Into a folder that has files already: new subfolders arrive
    /// whole, a subfolder of the same name is merged, a file of the same
    /// name replaced, other files left; no staging folder is left behind.
    #[test]
    fn mirror_merges_into_a_folder_with_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("old")).unwrap();
        fs::write(root.join("old/kept.txt"), "kept").unwrap();
        fs::write(root.join("old/replaced.txt"), "an older text").unwrap();
        fs::create_dir_all(root.join("empty")).unwrap();
        let mut sink = MirrorDir::new(root);
        for name in ["old/replaced.txt", "old/new.txt", "empty/a.txt", "b.txt"]
        {
            sink.document(&doc(name, name)).unwrap();
        }
        sink.finish(&Summary::default()).unwrap();
        let read = |p: &str| fs::read_to_string(root.join(p)).unwrap();
        assert_eq!(read("old/kept.txt"), "kept");
        assert_eq!(read("old/replaced.txt"), "old/replaced.txt\n");
        assert_eq!(read("old/new.txt"), "old/new.txt\n");
        assert_eq!(read("empty/a.txt"), "empty/a.txt\n");
        assert_eq!(read("b.txt"), "b.txt\n");
        let mut names: Vec<String> = fs::read_dir(root)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["b.txt", "empty", "old"]);
    }

    /// A name given twice in one run (two records with one id) ends as
    /// one of the two texts, whole.
    #[test]
    fn mirror_writes_a_name_met_twice_whole() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = MirrorDir::new(dir.path());
        let long = "x".repeat(100_000);
        for k in 0..40 {
            let text = if k % 2 == 0 { "short" } else { long.as_str() };
            sink.document(&doc("same.txt", text)).unwrap();
        }
        sink.finish(&Summary::default()).unwrap();
        let got = fs::read_to_string(dir.path().join("same.txt")).unwrap();
        assert!(got == "short\n" || got == format!("{long}\n"));
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn mirror_reports_a_file_it_cannot_write() {
        let dir = tempfile::tempdir().unwrap();
        // A file where the output needs a folder.
        fs::write(dir.path().join("taken"), "").unwrap();
        let mut sink = MirrorDir::new(dir.path());
        let queued = sink.document(&doc("taken/a.txt", "text"));
        let finished = sink.finish(&Summary::default());
        let err = queued.and(finished).unwrap_err();
        assert!(err.to_string().contains("taken"), "{err}");
        // The file that could not be moved goes with the staging folder.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn records_rendered_ahead_are_the_records_written_in_place() {
        use crate::document::{Removal, Stage};
        let mut docs = Vec::new();
        for (k, s) in awkward_strings().into_iter().enumerate() {
            let mut d = doc(&format!("{k}.txt"), &s);
            d.meta.name = format!("{k}\u{2028}.txt");
            d.meta.source = s.clone();
            if k % 2 == 0 {
                d.removals.push(Removal {
                    line: 3,
                    stage: Stage::Strip,
                    reason: "lexicon:cookie".into(),
                    original: s.clone(),
                    replacement: None,
                });
            }
            docs.push(d);
        }
        let dir = tempfile::tempdir().unwrap();
        #[derive(Clone, Copy, PartialEq)]
        enum Way {
            InPlace,
            Ahead,
            Taken,
        }
        let run = |way: Way| {
            let tag = match way {
                Way::InPlace => "in-place",
                Way::Ahead => "ahead",
                Way::Taken => "taken",
            };
            let records = dir.path().join(format!("{tag}.jsonl"));
            let removed = dir.path().join(format!("{tag}.removed.jsonl"));
            let mut sink = Fanout::new();
            sink.push(JsonLinesFile::create(&records).unwrap());
            sink.push(RemovedFile::create(&removed).unwrap());
            let what = sink.prerender();
            let both = Prerender {
                record: true,
                removals: true,
                clusters: false,
                without_removed_text: true,
            };
            assert_eq!(what, both);
            for d in &docs {
                let mut rendered = Prerendered::render(d, what);
                match way {
                    Way::InPlace => sink.document(d),
                    Way::Ahead => sink.rendered_document(d, &rendered),
                    Way::Taken => {
                        sink.take_rendered_document(d, &mut rendered)
                    }
                }
                .unwrap();
            }
            sink.finish(&Summary::default()).unwrap();
            (fs::read(records).unwrap(), fs::read(removed).unwrap())
        };
        let in_place = run(Way::InPlace);
        assert!(!in_place.0.is_empty() && !in_place.1.is_empty());
        assert_eq!(run(Way::Ahead), in_place);
        assert_eq!(run(Way::Taken), in_place);

        // Two sinks asking for the same records: the first may not take
        // them from the second.
        let (first, second) =
            (dir.path().join("first"), dir.path().join("second"));
        let mut sink = Fanout::new();
        sink.push(RemovedFile::create(&first).unwrap());
        sink.push(RemovedFile::create(&second).unwrap());
        for d in &docs {
            let mut rendered = Prerendered::render(d, sink.prerender());
            sink.take_rendered_document(d, &mut rendered).unwrap();
        }
        sink.finish(&Summary::default()).unwrap();
        assert_eq!(fs::read(first).unwrap(), in_place.1);
        assert_eq!(fs::read(second).unwrap(), in_place.1);
    }
}
