//! The pipeline: decode → fix → strip → dedup, in three phases.
//!
//! 1. **map** (rayon over inputs): read, decode, fix, split into lines,
//!    compute line facts, repetition keys and paragraph fingerprints;
//!    the fixed text of the first inputs is held, up to a budget, and
//!    the rest let go: only facts, keys and fingerprints live on.
//! 2. **global** (a barrier): count lines per source over distinct
//!    documents, decide each document's boilerplate, cluster the kept
//!    paragraphs and choose representatives deterministically.
//! 3. **emit** (in input order, a bounded chunk of inputs at a time):
//!    take the held text, or read an input again (checking it is
//!    unchanged), decode and fix it again; build each cleaned document
//!    with its audit records (rendered for the sink by the pool) and hand
//!    it to the sink; then the clusters.
//!
//! Past the hold budget, memory therefore grows with the number of lines
//! and paragraphs, not with the bytes of the corpus.
//!
//! Nothing depends on thread scheduling: every parallel step collects
//! into input order, so the output is the same for any thread count.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Instant;

use rayon::prelude::*;

use crate::decode::Decoder;
use crate::dedup::cluster::MixState;
use crate::dedup::simhash;
use crate::dedup::store::{preview, PREVIEW_BYTES};
use crate::dedup::{
    Clustering, DedupBuilder, Deduper, DuplicateAction, Fingerprint, Index,
    Paragraph, WordSet,
};
use crate::document::{DocMeta, Document, Removal, Stage};
use crate::error::{BuildError, Error};
use crate::fix::{FixOptions, Fixer};
use crate::input::{read_unit, url_host, Inputs, Record, Unit, UnitKind};
use crate::report::{ErrorRecord, PhaseTime, StageTime, Summary, STAGE_NAMES};
use crate::sink::{
    ClusterMember, ClusterRecord, Prerender, Prerendered, Sink,
};
use crate::strip::{LexiconHit, LineFacts, Reason, StripBuilder, Stripper};

/// How a document is cut into paragraphs for near-duplicate detection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ParagraphMode {
    /// Blank-line-separated blocks when the text looks hard-wrapped (most
    /// lines short, blank lines between blocks), else one line each.
    #[default]
    Auto,
    /// Each line is a paragraph (scraped text: one HTML block a line).
    Line,
    /// Blank-line-separated blocks.
    Blank,
}

#[derive(Clone, Debug)]
struct Config {
    encoding: Option<String>,
    fix: Option<FixOptions>,
    strip: Option<StripBuilder>,
    dedup: Option<DedupBuilder>,
    paragraphs: ParagraphMode,
    threads: usize,
    max_input_bytes: u64,
    hold_text_bytes: u64,
    index: Option<std::path::PathBuf>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            encoding: None,
            fix: Some(FixOptions::default()),
            strip: Some(StripBuilder::new()),
            dedup: Some(DedupBuilder::new()),
            paragraphs: ParagraphMode::Auto,
            threads: 0,
            max_input_bytes: 4 << 30,
            hold_text_bytes: 2 << 30,
            index: None,
        }
    }
}

/// Builds a [`Pipeline`]; `build()` validates every setting up front so a
/// run cannot fail on configuration.
#[derive(Clone, Debug, Default)]
pub struct PipelineBuilder {
    config: Config,
}

impl PipelineBuilder {
    /// All stages on, with their defaults.
    pub fn new() -> PipelineBuilder {
        PipelineBuilder::default()
    }

    /// Decode every input with this encoding label unless a BOM says
    /// otherwise; `None` detects (the default).
    pub fn encoding(&mut self, label: Option<&str>) -> &mut PipelineBuilder {
        self.config.encoding = label.map(str::to_string);
        self
    }

    /// The text repairs to apply; `None` turns fixing off.
    pub fn fix(
        &mut self,
        options: Option<FixOptions>,
    ) -> &mut PipelineBuilder {
        self.config.fix = options;
        self
    }

    /// The boilerplate stripper; `None` turns stripping off.
    pub fn strip(
        &mut self,
        strip: Option<StripBuilder>,
    ) -> &mut PipelineBuilder {
        self.config.strip = strip;
        self
    }

    /// The near-duplicate stage; `None` turns it off.
    pub fn dedup(
        &mut self,
        dedup: Option<DedupBuilder>,
    ) -> &mut PipelineBuilder {
        self.config.dedup = dedup;
        self
    }

    /// How paragraphs are found for near-duplicate detection.
    pub fn paragraphs(&mut self, mode: ParagraphMode) -> &mut PipelineBuilder {
        self.config.paragraphs = mode;
        self
    }

    /// Worker threads; 0 uses one per core.
    pub fn threads(&mut self, threads: usize) -> &mut PipelineBuilder {
        self.config.threads = threads;
        self
    }

    /// Inputs (files, or decompressed JSON Lines) larger than this are
    /// reported and skipped (default 4 GiB).
    pub fn max_input_bytes(&mut self, bytes: u64) -> &mut PipelineBuilder {
        self.config.max_input_bytes = bytes;
        self
    }

    /// Fixed text kept in memory from the map phase for the emit phase
    /// (default 2 GiB). Inputs past it, in input order, are read, decoded
    /// and fixed again when their documents are written, and an input
    /// that changed in between is reported instead of written; 0 keeps
    /// no text, so memory grows with lines and paragraphs, not bytes.
    pub fn hold_text_bytes(&mut self, bytes: u64) -> &mut PipelineBuilder {
        self.config.hold_text_bytes = bytes;
        self
    }

    /// A near-duplicate index file (see [`crate::dedup::store`]): a run
    /// checks its paragraphs against the indexed ones (which act as
    /// representatives and are never removed), then adds its own to the
    /// file, replaced atomically at the end of a successful run. A
    /// missing file starts an empty index.
    pub fn index(
        &mut self,
        path: Option<std::path::PathBuf>,
    ) -> &mut PipelineBuilder {
        self.config.index = path;
        self
    }

    /// Validates the configuration and builds the pipeline.
    pub fn build(&self) -> Result<Pipeline, BuildError> {
        let c = &self.config;
        let decoder = match &c.encoding {
            Some(label) => Decoder::with_label(label)?,
            None => Decoder::new(),
        };
        let stripper =
            c.strip.as_ref().map(StripBuilder::build).transpose()?;
        let deduper = c.dedup.as_ref().map(DedupBuilder::build).transpose()?;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(c.threads)
            .thread_name(|i| format!("chaff-{i}"))
            .build()
            .map_err(|e| BuildError::ThreadPool(e.to_string()))?;
        if stripper.is_some() {
            // Built while the caller lists the inputs (about 10 ms).
            pool.spawn(crate::strip::build_lexicon_ahead);
        }
        Ok(Pipeline {
            inner: Arc::new(Inner {
                decoder,
                fixer: c.fix.clone().map(Fixer::new),
                stripper,
                deduper,
                paragraphs: c.paragraphs,
                max_input_bytes: c.max_input_bytes,
                hold_text_bytes: c.hold_text_bytes,
                index: c.index.clone(),
                pool,
            }),
            cancel: Arc::new(AtomicBool::new(false)),
            progress: Arc::new(AtomicU64::new(0)),
        })
    }
}

struct Inner {
    decoder: Decoder,
    fixer: Option<Fixer>,
    stripper: Option<Stripper>,
    deduper: Option<Deduper>,
    paragraphs: ParagraphMode,
    max_input_bytes: u64,
    hold_text_bytes: u64,
    index: Option<std::path::PathBuf>,
    pool: rayon::ThreadPool,
}

/// The configured cleaner. Cheap to clone; `Send + Sync`.
#[derive(Clone)]
pub struct Pipeline {
    inner: Arc<Inner>,
    cancel: Arc<AtomicBool>,
    progress: Arc<AtomicU64>,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("fix", &self.inner.fixer.is_some())
            .field("strip", &self.inner.stripper.is_some())
            .field("dedup", &self.inner.deduper.is_some())
            .field("threads", &self.inner.pool.current_num_threads())
            .finish()
    }
}

/// Nanoseconds and bytes per stage, summed across threads.
#[derive(Default)]
struct Timers {
    stages: [(AtomicU64, AtomicU64); STAGE_NAMES.len()],
    reads: ReadPace,
}

/// How long reading inputs takes, to tell a cold page cache (reads wait
/// on the disk) from a warm one: prefetching the next chunk's files
/// helps only the first, and costs three system calls a file.
#[derive(Default)]
struct ReadPace {
    files: AtomicU64,
    /// Reads that took longer than a warm page cache explains.
    slow: AtomicU64,
}

impl ReadPace {
    fn read(&self, unit: &Unit, limit: u64) -> Result<Vec<u8>, Error> {
        let start = Instant::now();
        let read = read_unit(unit, limit);
        let len = read.as_ref().map_or(0, |b| b.len() as u64);
        self.record(start.elapsed().as_nanos() as u64, len);
        read
    }

    /// Counts a read of `bytes` that took `nanos`.
    fn record(&self, nanos: u64, bytes: u64) {
        self.files.fetch_add(1, Ordering::Relaxed);
        if is_slow_read(nanos, bytes) {
            self.slow.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn mark(&self) -> [u64; 2] {
        [&self.files, &self.slow].map(|n| n.load(Ordering::Relaxed))
    }

    /// Whether the reads since `mark` waited on a disk: most of them
    /// slow. Counted read by read rather than summed, because a warm
    /// read that loses its core for a few milliseconds (the other
    /// workers, the lexicon's build at start) outweighed a whole chunk
    /// of fast ones: about one run in three of the 3,620-file strip
    /// set prefetched every chunk of a warm cache.
    fn cold_since(&self, mark: [u64; 2]) -> bool {
        let [files, slow] = self.mark();
        let (files, slow) = (files - mark[0], slow - mark[1]);
        files > 0 && slow * 2 > files
    }
}

/// A read slower than 40 µs beyond copying at 1 GB/s: a warm read of a
/// small file takes a few µs; one that waits on a disk, a hundred or
/// more.
fn is_slow_read(nanos: u64, bytes: u64) -> bool {
    nanos > 40_000 + bytes
}

/// Which chunks to prefetch, chunk by chunk: the second always (the
/// first tells nothing yet), then each one after a chunk that was not
/// prefetched and read cold, and every one after that.
struct PrefetchPlan {
    on: bool,
    prefetched: Vec<bool>,
}

impl PrefetchPlan {
    fn new(chunks: usize) -> PrefetchPlan {
        PrefetchPlan { on: true, prefetched: vec![false; chunks] }
    }

    /// Whether to prefetch chunk `k + 1` while chunk `k` is worked on.
    fn before(&mut self, k: usize) -> bool {
        let fetch = self.on && k + 1 < self.prefetched.len();
        if fetch {
            self.prefetched[k + 1] = true;
        }
        fetch
    }

    /// Chunk `k` is read: `cold` tells how its reads went.
    fn after(&mut self, k: usize, cold: bool) {
        if !self.prefetched[k] {
            self.on = cold;
        }
    }
}

impl Timers {
    fn time<T>(&self, stage: usize, bytes: usize, f: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let out = f();
        let (nanos, total) = &self.stages[stage];
        nanos.fetch_add(start.elapsed().as_nanos() as u64, Ordering::Relaxed);
        total.fetch_add(bytes as u64, Ordering::Relaxed);
        out
    }

    fn add_bytes(&self, stage: usize, bytes: usize) {
        self.stages[stage].1.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    fn report(&self) -> BTreeMap<String, StageTime> {
        let mut out = BTreeMap::new();
        for (name, (nanos, bytes)) in STAGE_NAMES.iter().zip(&self.stages) {
            let secs = nanos.load(Ordering::Relaxed) as f64 / 1e9;
            let bytes = bytes.load(Ordering::Relaxed);
            if secs == 0.0 && bytes == 0 {
                continue;
            }
            let rate =
                if secs > 0.0 { bytes as f64 / 1e6 / secs } else { 0.0 };
            out.insert(
                name.to_string(),
                StageTime {
                    cpu_seconds: secs,
                    bytes,
                    mb_per_s_per_core: rate,
                },
            );
        }
        out
    }
}

const READ: usize = 0;
const DECODE: usize = 1;
const FIX: usize = 2;
const STRIP: usize = 3;
const FINGERPRINT: usize = 4;
const CLUSTER: usize = 5;
const EMIT: usize = 6;

/// A document as found in its input: its metadata and decoded text.
struct Source<'a> {
    meta: DocMeta,
    out_path: String,
    text: Cow<'a, str>,
}

/// A document's fixed lines, as the map and the emit phase both derive
/// them from the input's bytes.
struct FixedText<'a> {
    /// Fixed lines, without line breaks: borrowed from the decoded text
    /// unless fixing changed them.
    lines: Vec<Cow<'a, str>>,
    /// Lines changed by fixes (line index, steps, original).
    fixes: Cow<'a, [LineFix]>,
    /// The input ended with a line break.
    final_newline: bool,
}

/// A line that fixing changed: its index, the steps, its original text.
type LineFix = (usize, String, String);

/// The fixed text of documents, kept from the map phase for the emit
/// phase (up to a budget) so that their inputs need not be read, decoded
/// and fixed again. One block per map chunk, so that few large
/// allocations hold it and the emit phase can free it as it goes.
#[derive(Default)]
struct HeldText {
    blocks: Vec<String>,
    /// Per block, the input after its last one.
    block_ends: Vec<usize>,
    /// Bytes held so far, against `budget`.
    used: u64,
    budget: u64,
}

/// Where one document's held text is, and what the emit phase needs
/// besides its lines.
struct Held {
    block: u32,
    start: usize,
    len: usize,
    fixes: Vec<LineFix>,
    final_newline: bool,
}

/// A document's fixed text as a worker hands it over, to be held.
struct HeldDoc {
    /// The fixed lines joined by `\n` (no fixed line holds one).
    text: String,
    fixes: Vec<LineFix>,
    final_newline: bool,
}

impl HeldDoc {
    fn of(fixed: &FixedText<'_>) -> HeldDoc {
        let len = fixed.lines.iter().map(|l| l.len() + 1).sum::<usize>();
        let mut text = String::with_capacity(len);
        for (i, line) in fixed.lines.iter().enumerate() {
            if i > 0 {
                text.push('\n');
            }
            text.push_str(line);
        }
        HeldDoc {
            text,
            fixes: fixed.fixes.to_vec(),
            final_newline: fixed.final_newline,
        }
    }
}

impl HeldText {
    fn new(budget: u64) -> HeldText {
        HeldText { budget, ..HeldText::default() }
    }

    /// Holds the text of one input's documents if all of it fits in the
    /// budget (an input is held whole or read again whole), returning
    /// where each went.
    fn hold(&mut self, unit: usize, docs: Vec<HeldDoc>) -> Option<Vec<Held>> {
        if self.budget == 0 {
            return None;
        }
        let bytes: usize = docs.iter().map(|d| d.text.len()).sum();
        if self.used + bytes as u64 > self.budget {
            self.budget = 0; // Keep input order: hold nothing after this.
            return None;
        }
        self.used += bytes as u64;
        let block = self.blocks.len() - 1;
        self.block_ends[block] = unit + 1;
        let text = &mut self.blocks[block];
        Some(
            docs.into_iter()
                .map(|d| {
                    let start = text.len();
                    text.push_str(&d.text);
                    Held {
                        block: block as u32,
                        start,
                        len: d.text.len(),
                        fixes: d.fixes,
                        final_newline: d.final_newline,
                    }
                })
                .collect(),
        )
    }

    /// Starts a block for the next map chunk, sized for the text it may
    /// hold of `bytes`.
    fn start_block(&mut self, bytes: usize) {
        let room = self.budget.saturating_sub(self.used);
        let capacity = (bytes as u64).min(room) as usize;
        self.blocks.push(String::with_capacity(capacity));
        self.block_ends.push(0);
    }

    /// The held text of a document of `line_count` lines.
    fn fixed<'a>(&'a self, held: &'a Held, line_count: u32) -> FixedText<'a> {
        let text = &self.blocks[held.block as usize]
            [held.start..held.start + held.len];
        // memchr's search, not `str::split`'s: lines are short, and
        // splitting was a twentieth of the emit phase.
        let mut lines = Vec::with_capacity(line_count as usize);
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', text.as_bytes()) {
            lines.push(Cow::Borrowed(&text[start..end]));
            start = end + 1;
        }
        lines.push(Cow::Borrowed(&text[start..]));
        debug_assert_eq!(lines.len(), line_count as usize);
        FixedText {
            lines,
            fixes: Cow::Borrowed(&held.fixes),
            final_newline: held.final_newline,
        }
    }

    /// How many inputs, from the first, are held.
    fn units(&self) -> usize {
        self.block_ends.iter().copied().max().unwrap_or(0)
    }

    /// Frees the blocks of inputs before `unit`.
    fn release_before(&mut self, unit: usize) {
        for (block, &end) in self.blocks.iter_mut().zip(&self.block_ends) {
            if end <= unit && block.capacity() > 0 {
                *block = String::new();
            }
        }
    }
}

/// A paragraph found and fingerprinted in the map phase (0-based,
/// inclusive line range).
struct Candidate {
    first: u32,
    last: u32,
    len: u32,
    fingerprint: Fingerprint,
}

/// One document after the map phase: what the global phase needs, and
/// where its text is held, if it is (else the emit phase reads the input
/// again).
struct Mapped {
    meta: DocMeta,
    /// Where the document is written, when not at its name.
    out_path: Option<String>,
    line_count: u32,
    /// Fixing changed a line (else the emit phase need not fix again).
    fixed_any: bool,
    /// Strip facts per line; emptied once the strip decision is made.
    facts: Vec<LineFacts>,
    /// Lexicon matches (line index, hit): few lines have one.
    lexicon: Vec<(u32, LexiconHit)>,
    /// Per line, the key of its text for template counting (0 for blank
    /// and long lines, which are never counted).
    repeat_keys: Vec<u64>,
    /// Hash of the document's long lines, to recognise copies of one
    /// story when counting template lines (0 when it has none, or is the
    /// only document of its source with its long lines). After the map
    /// phase, a hash of their letter counts; [`Pipeline::settle_stories`]
    /// makes it the key.
    story_key: u64,
    /// Paragraphs are blank-line-separated blocks, not lines.
    blocks: bool,
    /// Paragraphs as if nothing were stripped; those with a stripped line
    /// are dropped (lines) or found again (blocks) in the global phase.
    candidates: Vec<Candidate>,
    /// The fixed text, when held.
    held: Option<Held>,
}

/// Lines a document loses to the strip stage (0-based, ascending), with
/// their reasons.
///
/// They live from the strip decision to the end of the emit phase, for
/// every removed line of the corpus: eight bytes a line rather than the
/// 32 of `(u32, Reason)` (on the strip benchmark, 600,000 lines took
/// 27 MB with the slack of growing, about a fifth of peak memory).
#[derive(Debug, Default, PartialEq, Eq)]
struct Verdicts {
    /// Each line and its reason's code: `REPEATED | n` for
    /// [`Reason::RepeatedInSource`]`(n)` (most lines of a template have
    /// their own count), else an index into `reasons`.
    lines: Vec<(u32, u32)>,
    /// The document's other reasons, each once (a few constants and
    /// lexicon entries).
    reasons: Vec<Reason>,
}

/// The code bit of a [`Verdicts`] line that holds a repetition count.
const REPEATED: u32 = 1 << 31;

/// Room for building a document's [`Verdicts`], kept from document to
/// document.
#[derive(Default)]
struct VerdictsRoom {
    verdicts: Verdicts,
    /// The code of the last reason other than a count, mostly the next
    /// one's too: checked first, it spares looking the reason up.
    last: Option<u32>,
}

impl VerdictsRoom {
    /// Adds line `line`, removed for `reason`, after the lines before it.
    #[inline(always)]
    fn push(&mut self, line: u32, reason: Reason) {
        let code = match reason {
            Reason::RepeatedInSource(n) if n < REPEATED => REPEATED | n,
            reason => match self.last {
                Some(last)
                    if self.verdicts.reasons[last as usize] == reason =>
                {
                    last
                }
                _ => {
                    let code = self.code(reason);
                    self.last = Some(code);
                    code
                }
            },
        };
        self.verdicts.lines.push((line, code));
    }

    /// The code of a reason other than a count.
    fn code(&mut self, reason: Reason) -> u32 {
        let reasons = &mut self.verdicts.reasons;
        // Fewer distinct reasons than lines, which are u32.
        match reasons.iter().position(|r| *r == reason) {
            Some(k) => k as u32,
            None => {
                reasons.push(reason);
                reasons.len() as u32 - 1
            }
        }
    }

    /// The verdicts without slack (they live to the end of the emit
    /// phase), emptying the room for the next document.
    fn take(&mut self) -> Verdicts {
        let Verdicts { lines, reasons } = &mut self.verdicts;
        let exact = Verdicts {
            lines: lines.as_slice().to_vec(),
            reasons: reasons.as_slice().to_vec(),
        };
        lines.clear();
        reasons.clear();
        self.last = None;
        exact
    }
}

impl Verdicts {
    /// The removed lines, ascending.
    fn lines(&self) -> impl Iterator<Item = u32> + '_ {
        self.lines.iter().map(|&(line, _)| line)
    }

    /// The removed lines and their reasons, ascending.
    #[cfg(test)]
    fn iter(&self) -> impl Iterator<Item = (u32, Reason)> + '_ {
        self.lines.iter().map(|&(line, code)| {
            let reason = if code & REPEATED != 0 {
                Reason::RepeatedInSource(code & !REPEATED)
            } else {
                self.reasons[code as usize].clone()
            };
            (line, reason)
        })
    }

    fn len(&self) -> usize {
        self.lines.len()
    }
}

/// The map phase's result for one input.
struct MappedUnit {
    /// Hash of the bytes read, to notice a change when re-reading.
    digest: Option<u64>,
    bytes: u64,
    items: Vec<Item>,
}

/// One document or failure of an input, in input order; a document comes
/// with its fixed text when text is being held.
enum Item {
    Doc(Box<Mapped>, Option<HeldDoc>),
    Failed(Error),
}

/// A document's place after the map phase: an index into the documents,
/// or its failure.
enum Slot {
    Doc(usize),
    Failed(Box<Error>),
}

/// Every input's slots, flattened (a few bytes a document matter when a
/// corpus has millions): input `u` owns `slots[starts[u]..starts[u + 1]]`.
struct Layout {
    slots: Vec<Slot>,
    starts: Vec<usize>,
}

impl Layout {
    fn len(&self) -> usize {
        self.starts.len() - 1
    }

    fn unit(&self, u: usize) -> &[Slot] {
        &self.slots[self.starts[u]..self.starts[u + 1]]
    }
}

/// What the emit phase makes of one document slot.
type Emitted = Option<Result<Built, Error>>;

/// A document built by the emit phase, its records rendered ahead for the
/// sink, the previews of its wanted paragraphs (paragraph, text), and
/// its reasons tallied.
type Built = (Document, Prerendered, Vec<(usize, String)>, ReasonTally);

/// A document's fix steps and removal kinds with their counts, so that
/// tallying the reasons of every line is done by the pool and the
/// summary's maps see each key once.
#[derive(Default)]
struct ReasonTally {
    /// Each key a span of one removal's reason.
    fixes: Vec<(ReasonSpan, u64)>,
    removed: RemovedKinds,
}

/// Removal kinds and their counts, each kind once; counted as the
/// document is built, from its reasons rather than each line's code.
#[derive(Default)]
struct RemovedKinds(Vec<(Cow<'static, str>, u64)>);

impl RemovedKinds {
    fn add(&mut self, kind: Cow<'static, str>, n: u64) {
        if n == 0 {
            return;
        }
        match self.0.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, total)) => *total += n,
            None => self.0.push((kind, n)),
        }
    }
}

/// Bytes `start..end` of the reason of removal `removal`.
#[derive(Clone, Copy)]
struct ReasonSpan {
    removal: usize,
    start: usize,
    end: usize,
}

impl ReasonSpan {
    fn of(self, doc: &Document) -> &str {
        &doc.removals[self.removal].reason[self.start..self.end]
    }
}

impl ReasonTally {
    /// The fix steps of `doc`'s changed lines, with the kinds of its
    /// removals counted by [`build_document`].
    fn of(doc: &Document, removed: RemovedKinds) -> ReasonTally {
        // Keys are compared as the strings they are while tallying.
        let mut fixes: Vec<(&str, ReasonSpan, u64)> = Vec::new();
        for (removal, r) in doc.removals.iter().enumerate() {
            if r.stage != Stage::Fix {
                continue;
            }
            let mut start = 0;
            for step in r.reason.split(',') {
                let end = start + step.len();
                match fixes.iter_mut().find(|(k, _, _)| *k == step) {
                    Some((_, _, n)) => *n += 1,
                    None => {
                        let span = ReasonSpan { removal, start, end };
                        fixes.push((step, span, 1));
                    }
                }
                start = end + 1;
            }
        }
        let fixes = fixes.into_iter().map(|(_, span, n)| (span, n)).collect();
        ReasonTally { fixes, removed }
    }
}

impl Pipeline {
    /// A builder with every stage on.
    pub fn builder() -> PipelineBuilder {
        PipelineBuilder::new()
    }

    /// A flag that, once set, makes a running [`Pipeline::run`] stop at
    /// the next document and return an `Interrupted` error without
    /// finishing its sinks (so no partial output is committed).
    pub fn cancel_flag(&self) -> Arc<AtomicBool> {
        self.cancel.clone()
    }

    /// A counter of input bytes read so far by [`Pipeline::run`], for
    /// progress display from another thread.
    pub fn progress(&self) -> Arc<AtomicU64> {
        self.progress.clone()
    }

    /// Cleans one document given as bytes: decode, fix, strip (without
    /// cross-document counts) and drop paragraphs repeated within it.
    /// Fails only when the bytes are not text.
    pub fn clean_bytes(
        &self,
        name: &str,
        bytes: &[u8],
    ) -> Result<Document, crate::decode::NotText> {
        let decoded = self.inner.decoder.decode(bytes)?;
        let meta = DocMeta {
            name: name.to_string(),
            source: name.to_string(),
            bytes_in: bytes.len() as u64,
            encoding: decoded.encoding,
            encoding_method: decoded.method.as_str(),
            lossy: decoded.lossy,
            ..DocMeta::default()
        };
        Ok(self.clean_alone(meta, &decoded.text))
    }

    /// Cleans one document given as text (already decoded).
    pub fn clean_text(&self, name: &str, text: &str) -> Document {
        let meta = DocMeta {
            name: name.to_string(),
            source: name.to_string(),
            bytes_in: text.len() as u64,
            encoding: "UTF-8",
            encoding_method: "text",
            ..DocMeta::default()
        };
        self.clean_alone(meta, text)
    }

    fn clean_alone(&self, meta: DocMeta, text: &str) -> Document {
        let timers = Timers::default();
        let out_path = meta.name.clone();
        let fixed = self.fixed_text(text, &timers, true);
        let mut docs = vec![self.analyse(meta, out_path, &fixed, &timers)];
        let verdicts =
            self.decide(&mut docs, &[0], &RepeatCounts::default(), &timers);
        if docs[0].blocks {
            docs[0].candidates =
                self.find_candidates(&fixed.lines, true, &verdicts[0]);
        }
        let dedup = self.cluster(&mut docs, &[0], &verdicts, None, &timers);
        let dropped = self.dropped_lines(&dedup, 1);
        let (doc, _) = build_document(
            0,
            &docs[0],
            &fixed,
            &verdicts[0],
            &dropped[0],
            true,
        );
        doc
    }

    /// Runs the whole batch: every input is read, cleaned and handed to
    /// `sink` in input order, with per-input failures reported to the
    /// sink and counted, never fatal. Errors only when a sink fails or
    /// the run is cancelled.
    ///
    /// The fixed text of the first inputs, up to
    /// [`PipelineBuilder::hold_text_bytes`], is held between the phases;
    /// inputs past it are read twice, once to analyse them and once
    /// (after the global decisions) to write them, and one that changed
    /// in between is reported as [`Error::Changed`].
    pub fn run(
        &self,
        inputs: &Inputs,
        sink: &mut dyn Sink,
    ) -> io::Result<Summary> {
        let started = Instant::now();
        let mut phases = PhaseClock::start();
        let timers = Timers::default();
        let inner = &self.inner;
        let cancelled = || self.cancel.load(Ordering::Relaxed);
        let interrupted =
            || io::Error::new(io::ErrorKind::Interrupted, "interrupted");

        // Phase 1: map, a chunk of inputs at a time. What a chunk keeps
        // for later phases is moved here, on this thread, into few large
        // allocations, so the workers' short-lived allocations of the
        // next chunk reuse the same memory instead of being pinned by the
        // long-lived ones between them. Two chunks are in flight (one
        // mapped, one collected), with their texts and per-line facts:
        // at 1024 files a chunk that was the strip set's peak memory.
        const MAP_CHUNK_UNITS: usize = 256;
        let mut docs: Vec<Mapped> = Vec::new();
        let mut layout = Layout {
            slots: Vec::with_capacity(inputs.units.len()),
            starts: Vec::with_capacity(inputs.units.len() + 1),
        };
        let mut digests = Vec::with_capacity(inputs.units.len());
        let mut unit_bytes = Vec::with_capacity(inputs.units.len());
        let map_chunk = |chunk: &[Unit]| -> Vec<MappedUnit> {
            inner.pool.install(|| {
                chunk
                    .par_iter()
                    .map(|unit| {
                        if cancelled() {
                            return MappedUnit {
                                digest: None,
                                bytes: 0,
                                items: Vec::new(),
                            };
                        }
                        self.map_unit(unit, &timers)
                    })
                    .collect()
            })
        };
        let mut held = HeldText::new(inner.hold_text_bytes);
        let mut collect = |mapped: Vec<MappedUnit>| {
            let first_doc = docs.len();
            let text_bytes = mapped
                .iter()
                .flat_map(|u| &u.items)
                .map(|item| match item {
                    Item::Doc(_, Some(h)) => h.text.len(),
                    _ => 0,
                })
                .sum();
            held.start_block(text_bytes);
            for unit in mapped {
                let u = layout.starts.len();
                layout.starts.push(layout.slots.len());
                digests.push(unit.digest);
                unit_bytes.push(unit.bytes);
                let unit_first_doc = docs.len();
                let mut texts = Vec::new();
                for item in unit.items {
                    layout.slots.push(match item {
                        Item::Doc(d, text) => {
                            texts.extend(text);
                            docs.push(*d);
                            Slot::Doc(docs.len() - 1)
                        }
                        Item::Failed(e) => Slot::Failed(Box::new(e)),
                    });
                }
                let unit_docs = &mut docs[unit_first_doc..];
                if texts.len() == unit_docs.len() {
                    if let Some(places) = held.hold(u, texts) {
                        for (d, place) in unit_docs.iter_mut().zip(places) {
                            d.held = Some(place);
                        }
                    }
                }
            }
            rehome(&mut docs[first_doc..]);
        };
        // This thread collects one chunk while the pool maps the next.
        let mut pending: Option<Vec<MappedUnit>> = None;
        let chunks: Vec<&[Unit]> =
            inputs.units.chunks(MAP_CHUNK_UNITS).collect();
        let mut prefetch = PrefetchPlan::new(chunks.len());
        for (k, chunk) in chunks.iter().enumerate() {
            if cancelled() {
                break;
            }
            let mark = timers.reads.mark();
            let mapped = std::thread::scope(|scope| {
                if prefetch.before(k) {
                    let next = chunks[k + 1];
                    scope.spawn(|| crate::input::prefetch(next));
                }
                let mapping = scope.spawn(|| map_chunk(chunk));
                if let Some(done) = pending.take() {
                    collect(done);
                }
                mapping
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            });
            prefetch.after(k, timers.reads.cold_since(mark));
            pending = Some(mapped);
        }
        if let Some(done) = pending.take() {
            collect(done);
        }
        if cancelled() {
            return Err(interrupted());
        }
        layout.starts.push(layout.slots.len());
        docs.shrink_to_fit();
        release_free_memory();
        phases.end("map");
        // Phase 2: global.
        let sources = source_ids(&docs);
        timers.time(STRIP, 0, || {
            self.settle_stories(
                inputs, &layout, &digests, &mut docs, &sources, &held,
            )
        });
        let repeats = self.count_repeats(&docs, &sources);
        let verdicts = inner
            .pool
            .install(|| self.decide(&mut docs, &sources, &repeats, &timers));
        drop(repeats);
        release_free_memory();
        self.find_split_blocks(
            inputs, &layout, &digests, &mut docs, &verdicts, &held,
        );
        let prior = match (&inner.index, &inner.deduper) {
            (Some(path), Some(_)) => Some(Index::read(path).map_err(|e| {
                io::Error::new(e.kind(), format!("{}: {e}", path.display()))
            })?),
            _ => None,
        };
        phases.end("global");
        let mut dedup = inner.pool.install(|| {
            self.cluster(&mut docs, &sources, &verdicts, prior, &timers)
        });
        drop(sources);
        if cancelled() {
            return Err(interrupted());
        }
        if inner.index.is_none() {
            // Only a saved index needs the word sets after clustering:
            // free them (most of the dedup stage's memory) before the
            // emit phase builds the documents.
            let none = WordSet::default();
            for p in &mut dedup.paragraphs {
                p.fingerprint.words = none.clone();
            }
        }
        let dropped = self.dropped_lines(&dedup, docs.len());
        // The paragraphs whose text the clusters file (members) or the
        // index (every new paragraph) shows, by document.
        let mut wanted: Vec<Vec<(u32, usize)>> = vec![Vec::new(); docs.len()];
        if inner.index.is_some() {
            for (k, p) in dedup.paragraphs.iter().enumerate().skip(dedup.fixed)
            {
                wanted[p.doc].push((p.line, k));
            }
        } else {
            for c in &dedup.clustering.clusters {
                for m in &c.members {
                    if m.paragraph >= dedup.fixed {
                        let p = &dedup.paragraphs[m.paragraph];
                        wanted[p.doc].push((p.line, m.paragraph));
                    }
                }
            }
        }
        // Filled in the emit phase: only the wanted paragraphs have one.
        let mut previews: HashMap<usize, String> = HashMap::new();
        phases.end("cluster");

        // Phase 3: emit, from the held text or reading inputs again.
        let mut summary = Summary {
            threads: inner.pool.current_num_threads(),
            ..Summary::default()
        };
        for err in &inputs.errors {
            summary.failed += 1;
            summary.errors.push(error_record(err));
            sink.error(err)?;
        }
        // Up to three chunks of built documents and rendered records are
        // alive at once (several times their inputs' size): at 256 files
        // a chunk they were a quarter of the strip set's peak memory.
        const CHUNK_UNITS: usize = 64;
        const CHUNK_BYTES: u64 = 64 << 20;
        let emit_reads = ReadPace::default();
        let prerender = sink.prerender();
        // Chunks of inputs, cut at a count or a size so that the text in
        // flight stays bounded.
        let mut chunks = Vec::new();
        let mut next = 0;
        while next < layout.len() {
            let start = next;
            let mut bytes = 0;
            while next < layout.len()
                && (next == start
                    || (next - start < CHUNK_UNITS && bytes < CHUNK_BYTES))
            {
                bytes += unit_bytes[next];
                next += 1;
            }
            chunks.push(start..next);
        }
        // The pool builds the next chunk while this thread hands the last
        // one to the sink (which need not be `Send`); the channel holds
        // one chunk, so at most three are alive at once.
        let (docs_ref, verdicts_ref) = (&docs, &verdicts);
        let (dropped_ref, wanted_ref) = (&dropped, &wanted);
        let (timers_ref, reads_ref) = (&timers, &emit_reads);
        let (digests_ref, layout_ref) = (&digests, &layout);
        let unit_bytes_ref = &unit_bytes;
        let sink_failed = AtomicBool::new(false);
        let sink_failed_ref = &sink_failed;
        std::thread::scope(|scope| -> io::Result<()> {
            let (tx, rx) = std::sync::mpsc::sync_channel(1);
            scope.spawn(move || {
                let mut held = held;
                // Held inputs are a prefix: only those after it are read.
                let held_units = held.units();
                let mut prefetch = PrefetchPlan::new(chunks.len());
                for (k, range) in chunks.iter().enumerate() {
                    if cancelled() || sink_failed_ref.load(Ordering::Relaxed) {
                        break;
                    }
                    let mark = reads_ref.mark();
                    let read_next = chunks
                        .get(k + 1)
                        .is_some_and(|next| next.end > held_units);
                    if read_next && prefetch.before(k) {
                        let next = &chunks[k + 1];
                        let next = next.start.max(held_units)..next.end;
                        let next = &inputs.units[next];
                        scope.spawn(move || crate::input::prefetch(next));
                    }
                    let plan = EmitPlan {
                        docs: docs_ref,
                        verdicts: verdicts_ref,
                        dropped: dropped_ref,
                        wanted: wanted_ref,
                        held: &held,
                        prerender,
                        reads: reads_ref,
                    };
                    let plan_ref = &plan;
                    let built: Vec<Vec<Emitted>> = inner.pool.install(|| {
                        range
                            .clone()
                            .into_par_iter()
                            .map(|u| {
                                let bytes = unit_bytes_ref[u] as usize;
                                timers_ref.time(EMIT, bytes, || {
                                    self.emit_unit(
                                        &inputs.units[u],
                                        digests_ref[u],
                                        layout_ref.unit(u),
                                        plan_ref,
                                    )
                                })
                            })
                            .collect()
                    });
                    prefetch.after(k, reads_ref.cold_since(mark));
                    // The documents built own their text: what was held
                    // for them can go.
                    held.release_before(range.end);
                    if tx.send((range.clone(), built)).is_err() {
                        break;
                    }
                }
            });
            for (range, built) in rx {
                let written = self.write_chunk(
                    range.map(|u| layout.unit(u)),
                    built,
                    &docs,
                    &mut previews,
                    &mut summary,
                    sink,
                );
                if let Err(e) = written {
                    sink_failed.store(true, Ordering::Relaxed);
                    return Err(e);
                }
            }
            Ok(())
        })?;
        if cancelled() {
            return Err(interrupted());
        }
        phases.end("emit");
        // Records are built by the pool, a bounded batch at a time, the
        // next batch while the sink writes the one before.
        const CLUSTER_BATCH: usize = 4096;
        let clusters = &dedup.clustering.clusters;
        let (tx, rx) =
            std::sync::mpsc::sync_channel::<Vec<(ClusterRecord, Vec<u8>)>>(1);
        std::thread::scope(|scope| -> io::Result<()> {
            let (dedup, docs, previews) = (&dedup, &docs, &previews);
            scope.spawn(move || {
                for first in (0..clusters.len()).step_by(CLUSTER_BATCH) {
                    let ids =
                        first..(first + CLUSTER_BATCH).min(clusters.len());
                    let records = inner.pool.install(|| {
                        ids.into_par_iter()
                            .map(|id| {
                                let c = &clusters[id];
                                let r = cluster_record(
                                    id, c, dedup, docs, previews,
                                );
                                let mut rendered = Vec::new();
                                if prerender.clusters {
                                    crate::sink::write_cluster_record(
                                        &mut rendered,
                                        &r,
                                    );
                                }
                                (r, rendered)
                            })
                            .collect()
                    });
                    if tx.send(records).is_err() {
                        break;
                    }
                }
            });
            for records in rx {
                for (record, rendered) in &records {
                    summary.clusters += 1;
                    summary.duplicate_paragraphs +=
                        record.members.len() as u64 - 1;
                    sink.rendered_cluster(record, rendered)?;
                }
                inner.pool.spawn(move || drop(records));
            }
            Ok(())
        })?;
        phases.end("write-clusters");
        summary.phases = phases.phases;
        summary.stages = timers.report();
        summary.wall_seconds = started.elapsed().as_secs_f64();
        summary.measure_process();
        sink.finish(&summary)?;
        if let Some(path) = &inner.index {
            if let Some(index) = updated_index(dedup, &docs, previews) {
                index.write_atomic(path).map_err(|e| {
                    io::Error::new(
                        e.kind(),
                        format!("{}: {e}", path.display()),
                    )
                })?;
            }
        }
        Ok(summary)
    }

    /// Hands one emitted chunk to the sink, in input order.
    fn write_chunk<'a>(
        &self,
        slots: impl Iterator<Item = &'a [Slot]>,
        built: Vec<Vec<Emitted>>,
        docs: &[Mapped],
        previews: &mut HashMap<usize, String>,
        summary: &mut Summary,
        sink: &mut dyn Sink,
    ) -> io::Result<()> {
        // Freeing the documents' many strings is left to the pool: this
        // thread feeds every sink, so it is the emit phase's bottleneck.
        let mut written = Vec::new();
        for (unit_slots, results) in slots.zip(built) {
            for (slot, result) in unit_slots.iter().zip(results) {
                let failure = match (slot, result) {
                    (Slot::Failed(e), _) => {
                        summary.failed += 1;
                        summary.errors.push(error_record(e));
                        sink.error(e)?;
                        continue;
                    }
                    (
                        Slot::Doc(i),
                        Some(Ok((doc, mut rendered, texts, tally))),
                    ) => {
                        for (k, text) in texts {
                            previews.insert(k, text);
                        }
                        add_to_summary(summary, &docs[*i], &doc, &tally);
                        sink.take_rendered_document(&doc, &mut rendered)?;
                        written.push((doc, rendered));
                        continue;
                    }
                    (Slot::Doc(_), Some(Err(e))) => e,
                    (Slot::Doc(_), None) => {
                        unreachable!("every document slot is emitted")
                    }
                };
                summary.failed += 1;
                summary.errors.push(error_record(&failure));
                sink.error(&failure)?;
            }
        }
        self.inner.pool.spawn(move || drop(written));
        Ok(())
    }

    /// Reads one input and maps each of its documents.
    fn map_unit(&self, unit: &Unit, timers: &Timers) -> MappedUnit {
        let limit = self.inner.max_input_bytes;
        let bytes =
            match timers.time(READ, 0, || timers.reads.read(unit, limit)) {
                Ok(b) => {
                    // Known only once read: counted apart from its time.
                    timers.add_bytes(READ, b.len());
                    b
                }
                Err(e) => {
                    return MappedUnit {
                        digest: None,
                        bytes: 0,
                        items: vec![Item::Failed(e)],
                    }
                }
            };
        self.progress.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        let digest = xxhash_rust::xxh3::xxh3_64(&bytes);
        let items = self
            .sources(unit, &bytes, timers)
            .into_par_iter()
            .map(|source| match source {
                Ok(s) => {
                    let fixed = self.fixed_text(&s.text, timers, true);
                    let mapped =
                        self.analyse(s.meta, s.out_path, &fixed, timers);
                    let held = (self.inner.hold_text_bytes > 0)
                        .then(|| HeldDoc::of(&fixed));
                    Item::Doc(Box::new(mapped), held)
                }
                Err(e) => Item::Failed(e),
            })
            .collect();
        MappedUnit { digest: Some(digest), bytes: bytes.len() as u64, items }
    }

    /// Hands each slot's fixed text, as the map phase saw it, to `each`
    /// (`None` for failed slots): the held text, or else the input read,
    /// decoded and fixed again.
    #[allow(clippy::too_many_arguments)]
    fn reread<R: Send>(
        &self,
        unit: &Unit,
        digest: Option<u64>,
        slots: &[Slot],
        docs: &[Mapped],
        held: &HeldText,
        reads: &ReadPace,
        each: impl Fn(&Slot, Option<&FixedText<'_>>) -> R + Sync,
    ) -> Result<Vec<R>, Error> {
        let all_held = slots.iter().all(|slot| match slot {
            Slot::Doc(i) => docs[*i].held.is_some(),
            Slot::Failed(_) => true,
        });
        if all_held {
            return Ok(slots
                .par_iter()
                .map(|slot| match slot {
                    Slot::Doc(i) => {
                        let doc = &docs[*i];
                        let place = doc.held.as_ref().expect("held");
                        each(slot, Some(&held.fixed(place, doc.line_count)))
                    }
                    Slot::Failed(_) => each(slot, None),
                })
                .collect());
        }
        let timers = Timers::default();
        let bytes = reads.read(unit, self.inner.max_input_bytes)?;
        if Some(xxhash_rust::xxh3::xxh3_64(&bytes)) != digest {
            return Err(Error::Changed { path: unit.path.clone() });
        }
        let sources = self.sources(unit, &bytes, &timers);
        if sources.len() != slots.len() {
            return Err(Error::Changed { path: unit.path.clone() });
        }
        sources
            .into_par_iter()
            .zip(slots)
            .map(|(source, slot)| match (source, slot) {
                (Ok(s), Slot::Doc(i)) => {
                    let refix = docs[*i].fixed_any;
                    let fixed = self.fixed_text(&s.text, &timers, refix);
                    Ok(each(slot, Some(&fixed)))
                }
                (Err(_), Slot::Failed(_)) => Ok(each(slot, None)),
                _ => Err(Error::Changed { path: unit.path.clone() }),
            })
            .collect()
    }

    /// Builds the documents of one input for the emit phase, one entry
    /// per slot (`None` for failed slots).
    fn emit_unit(
        &self,
        unit: &Unit,
        digest: Option<u64>,
        slots: &[Slot],
        plan: &EmitPlan<'_>,
    ) -> Vec<Emitted> {
        if !slots.iter().any(|s| matches!(s, Slot::Doc(_))) {
            return slots.iter().map(|_| None).collect();
        }
        let build = |slot: &Slot, fixed: Option<&FixedText<'_>>| {
            let (Slot::Doc(i), Some(fixed)) = (slot, fixed) else {
                return None;
            };
            let i = *i;
            let (doc, removed) = build_document(
                i,
                &plan.docs[i],
                fixed,
                &plan.verdicts[i],
                &plan.dropped[i],
                !plan.prerender.without_removed_text,
            );
            let previews = plan.wanted[i]
                .iter()
                .map(|&(line, k)| {
                    let text = &fixed.lines[line as usize - 1];
                    (k, preview(text, PREVIEW_BYTES).to_string())
                })
                .collect();
            // Removed lines are the fixed lines (changed lines keep their
            // original in the document).
            let rendered =
                Prerendered::render_with(&doc, plan.prerender, |r| {
                    match r.stage {
                        Stage::Fix => &r.original,
                        Stage::Strip | Stage::Dedup => {
                            &fixed.lines[r.line as usize - 1]
                        }
                    }
                });
            let tally = ReasonTally::of(&doc, removed);
            Some(Ok((doc, rendered, previews, tally)))
        };
        let (docs, held, reads) = (plan.docs, plan.held, plan.reads);
        match self.reread(unit, digest, slots, docs, held, reads, build) {
            Ok(built) => built,
            Err(e) => {
                // The same failure for each of its documents.
                let message = e.to_string();
                slots
                    .iter()
                    .map(|s| {
                        matches!(s, Slot::Doc(_)).then(|| {
                            Err(match &e {
                                Error::Changed { path } => {
                                    Error::Changed { path: path.clone() }
                                }
                                _ => Error::Io {
                                    path: unit.path.clone(),
                                    source: io::Error::other(message.clone()),
                                },
                            })
                        })
                    })
                    .collect()
            }
        }
    }

    /// The documents of one input's bytes, in order: one for a text file,
    /// one per non-blank line of JSON Lines (malformed lines are failures
    /// that name their line).
    fn sources<'a>(
        &self,
        unit: &Unit,
        bytes: &'a [u8],
        timers: &Timers,
    ) -> Vec<Result<Source<'a>, Error>> {
        if unit.kind != UnitKind::Text {
            return json_sources(unit, bytes);
        }
        let decoded = match timers
            .time(DECODE, bytes.len(), || self.inner.decoder.decode(bytes))
        {
            Ok(d) => d,
            Err(not_text) => {
                return vec![Err(Error::NotText {
                    path: unit.path.clone(),
                    reason: not_text.reason,
                })]
            }
        };
        let meta = DocMeta {
            name: unit.rel.clone(),
            source: unit.source.clone(),
            bytes_in: bytes.len() as u64,
            encoding: decoded.encoding,
            encoding_method: decoded.method.as_str(),
            lossy: decoded.lossy,
            ..DocMeta::default()
        };
        vec![Ok(Source {
            meta,
            out_path: unit.rel.clone(),
            text: decoded.text,
        })]
    }

    /// Splits a text into lines and fixes each.
    /// `refix` false: the map phase found nothing to fix in this text, so
    /// the lines are only split (fixing is deterministic).
    fn fixed_text<'a>(
        &self,
        text: &'a str,
        timers: &Timers,
        refix: bool,
    ) -> FixedText<'a> {
        let inner = &self.inner;
        // Line breaks are kept as they came unless the fixer normalises
        // them: a decode-only run must give back the text exactly.
        let normalise_breaks =
            inner.fixer.as_ref().is_some_and(|f| f.options().fix_line_breaks);
        let raw_lines: Vec<&str> = if normalise_breaks {
            lines_of_any_break(text)
        } else {
            text.split('\n').collect()
        };
        let final_newline = text.ends_with('\n')
            || normalise_breaks && raw_lines.last() == Some(&"");
        let mut lines = Vec::with_capacity(raw_lines.len());
        let mut fixes: Vec<LineFix> = Vec::new();
        timers.time(FIX, text.len(), || {
            let mut steps = Vec::new();
            for (i, &line) in raw_lines.iter().enumerate() {
                let Some(fixer) = inner.fixer.as_ref().filter(|_| refix)
                else {
                    lines.push(Cow::Borrowed(line));
                    continue;
                };
                steps.clear();
                match fixer.fix_line(line, Some(&mut steps)) {
                    Cow::Borrowed(l) => lines.push(Cow::Borrowed(l)),
                    Cow::Owned(mut fixed) => {
                        // Lines were cut at every break already; a break
                        // that fixing makes (mojibake of U+2028) would put
                        // two lines in one, so it becomes a space.
                        if fixed.contains('\n') {
                            fixed = fixed.replace('\n', " ");
                        }
                        let plan = steps
                            .iter()
                            .map(|s| s.to_string())
                            .collect::<Vec<_>>()
                            .join(",");
                        fixes.push((i, plan, line.to_string()));
                        lines.push(Cow::Owned(fixed));
                    }
                }
            }
        });
        // A trailing newline ends the last line; it does not open one. (A
        // last line that fixing emptied, such as a lone NUL, stays.)
        if raw_lines.len() > 1 && raw_lines.last() == Some(&"") {
            lines.pop();
        }
        FixedText { lines, fixes: Cow::Owned(fixes), final_newline }
    }

    /// The facts the global phase needs about one document's lines.
    fn analyse(
        &self,
        meta: DocMeta,
        out_path: String,
        fixed: &FixedText<'_>,
        timers: &Timers,
    ) -> Mapped {
        let inner = &self.inner;
        let lines = &fixed.lines;
        let bytes: usize = lines.iter().map(|l| l.len() + 1).sum();
        let mut mapped = Mapped {
            out_path: (out_path != meta.name).then_some(out_path),
            meta,
            line_count: lines.len() as u32,
            fixed_any: !fixed.fixes.is_empty(),
            facts: Vec::new(),
            lexicon: Vec::new(),
            repeat_keys: Vec::new(),
            story_key: 0,
            blocks: false,
            candidates: Vec::new(),
            held: None,
        };
        if let Some(s) = &inner.stripper {
            timers.time(STRIP, bytes, || {
                let features = s.document_features(lines);
                mapped.facts = features.iter().map(LineFacts::pack).collect();
                mapped.lexicon = features
                    .iter()
                    .enumerate()
                    .filter_map(|(i, f)| Some((i as u32, f.lexicon?)))
                    .collect();
                // A key a short line, counted as a template. Long lines
                // identify the story; here only their letter counts are
                // hashed, a hint that [`Pipeline::settle_stories`] makes
                // a key for the few documents that share one.
                let mut story = Vec::new();
                mapped.repeat_keys = lines
                    .iter()
                    .map(|l| {
                        if l.len() >= STORY_LINE_BYTES {
                            story.push(u64::from(
                                Stripper::repeat_key_letters(l),
                            ));
                        }
                        let counted = l.len() <= REPEAT_LINE_BYTES
                            && !crate::strip::trim(l).is_empty();
                        match counted {
                            true => Stripper::repeat_key(l),
                            false => 0,
                        }
                    })
                    .collect();
                story.sort_unstable();
                if !story.is_empty() {
                    mapped.story_key =
                        xxhash_rust::xxh3::xxh3_64(&bytemuck_u64(&story));
                }
            });
        }
        if inner.deduper.is_some() {
            mapped.blocks = match inner.paragraphs {
                ParagraphMode::Line => false,
                ParagraphMode::Blank => true,
                ParagraphMode::Auto => looks_hard_wrapped(lines),
            };
            timers.time(FINGERPRINT, bytes, || {
                mapped.candidates = self.find_candidates(
                    lines,
                    mapped.blocks,
                    &Verdicts::default(),
                );
            });
        }
        mapped
    }

    /// The fingerprinted paragraphs of a document's lines, leaving out
    /// stripped lines: each non-blank line, or each run of them.
    fn find_candidates(
        &self,
        lines: &[Cow<'_, str>],
        blocks: bool,
        stripped: &Verdicts,
    ) -> Vec<Candidate> {
        let Some(deduper) = &self.inner.deduper else {
            return Vec::new();
        };
        let mut stripped = stripped.lines().map(|l| l as usize).peekable();
        // Sized once: at most a paragraph a line (growing it and the list
        // below a push at a time took ~1% of fingerprinting's
        // instructions).
        let mut ranges = Vec::with_capacity(lines.len());
        let mut start: Option<usize> = None;
        for (i, line) in lines.iter().enumerate() {
            let gone = stripped.next_if_eq(&i).is_some();
            // Blank: nothing but whitespace, which trimming one end shows.
            if gone || line.trim_start().is_empty() {
                if let Some(s) = start.take() {
                    ranges.push((s, i - 1));
                }
                continue;
            }
            if !blocks {
                ranges.push((i, i));
            } else if start.is_none() {
                start = Some(i);
            }
        }
        if let Some(s) = start {
            ranges.push((s, lines.len() - 1));
        }
        // The document's word sets share one allocation.
        let (pending, storage) = simhash::with_key_buffer(|keys| {
            let mut pending = Vec::with_capacity(ranges.len());
            for (first, last) in ranges {
                let lines = &lines[first..=last];
                let Some(fingerprint) =
                    deduper.fingerprint_lines_appending(lines, keys)
                else {
                    continue;
                };
                let len = lines.iter().map(|l| l.len() + 1).sum::<usize>() - 1;
                pending.push((
                    first as u32,
                    last as u32,
                    len as u32,
                    fingerprint,
                ));
            }
            let storage =
                (!pending.is_empty()).then(|| WordSet::storage_of(keys));
            (pending, storage)
        });
        let Some(storage) = storage else {
            return Vec::new();
        };
        // Kept until the global phase for every document: no slack.
        pending
            .into_iter()
            .map(|(first, last, len, fingerprint)| Candidate {
                first,
                last,
                len,
                fingerprint: fingerprint.with_words(&storage),
            })
            .collect()
    }

    /// `each` of the fixed text of every document `picked` chooses
    /// (by index), held or read again, in parallel by input: `(index,
    /// result)` pairs in no set order. An input that cannot be read
    /// again gives none.
    #[allow(clippy::too_many_arguments)]
    fn for_docs_read_again<R: Send>(
        &self,
        inputs: &Inputs,
        layout: &Layout,
        digests: &[Option<u64>],
        docs: &[Mapped],
        held: &HeldText,
        picked: impl Fn(usize) -> bool + Sync,
        each: impl Fn(usize, &FixedText<'_>) -> R + Sync,
    ) -> Vec<(usize, R)> {
        let units: Vec<usize> = (0..layout.len())
            .filter(|&u| {
                layout.unit(u).iter().any(|s| match s {
                    Slot::Doc(i) => picked(*i),
                    Slot::Failed(_) => false,
                })
            })
            .collect();
        self.inner.pool.install(|| {
            units
                .par_iter()
                .flat_map_iter(|&u| {
                    let found = self.reread(
                        &inputs.units[u],
                        digests[u],
                        layout.unit(u),
                        docs,
                        held,
                        &ReadPace::default(),
                        |slot, fixed| match (slot, fixed) {
                            (Slot::Doc(i), Some(fixed)) if picked(*i) => {
                                Some((*i, each(*i, fixed)))
                            }
                            _ => None,
                        },
                    );
                    found.unwrap_or_default().into_iter().flatten()
                })
                .collect()
        })
    }

    /// Makes each document's story key: 0 for a document whose long
    /// lines' letter counts (its hint from the map phase) no other
    /// document of its source shares, for it can share no long lines
    /// either; else the hash of its long lines' [`Stripper::repeat_key`]s,
    /// sorted, from its text (held, or read again). Normalising every
    /// long line in the map phase took about 7% of a run's instructions
    /// on the mixed corpus, where few documents share a hint.
    fn settle_stories(
        &self,
        inputs: &Inputs,
        layout: &Layout,
        digests: &[Option<u64>],
        docs: &mut [Mapped],
        sources: &[u32],
        held: &HeldText,
    ) {
        if self.inner.stripper.is_none() {
            return;
        }
        let mut hints: HashMap<(u32, u64), u32, MixState> =
            HashMap::with_hasher(MixState);
        for (d, &source) in docs.iter().zip(sources) {
            if d.story_key != 0 {
                *hints.entry((source, d.story_key)).or_default() += 1;
            }
        }
        let shared: Vec<bool> = docs
            .iter()
            .zip(sources)
            .map(|(d, &source)| {
                d.story_key != 0 && hints[&(source, d.story_key)] > 1
            })
            .collect();
        drop(hints);
        // An input that cannot be read again is reported by the emit
        // phase; its documents are stories alone.
        let keys = self.for_docs_read_again(
            inputs,
            layout,
            digests,
            docs,
            held,
            |i| shared[i],
            |_, fixed| story_key(&fixed.lines),
        );
        for doc in docs.iter_mut() {
            doc.story_key = 0;
        }
        for (i, key) in keys {
            docs[i].story_key = key;
        }
    }

    /// For each source, how many distinct documents contain each short
    /// line. Documents that share a long line are copies of one story
    /// and count once, so syndicated copies do not empty each other.
    fn count_repeats(&self, docs: &[Mapped], sources: &[u32]) -> RepeatCounts {
        let Some(stripper) = &self.inner.stripper else {
            return RepeatCounts::default();
        };
        let min_docs = stripper.min_repeat_docs();
        let source_count = sources.iter().max().map_or(0, |&s| s as usize + 1);
        let mut members: Vec<Vec<u32>> = vec![Vec::new(); source_count];
        for (i, &source) in sources.iter().enumerate() {
            members[source as usize].push(i as u32);
        }
        // Sources are counted apart, so the pool takes one at a time.
        self.inner.pool.install(|| {
            members
                .par_iter()
                .map(|members| {
                    // A line counts once per story (copies of one story
                    // are one document): the documents are taken story by
                    // story, each story's lines counted once.
                    let mut by_story: Vec<(u64, u32)> = members
                        .iter()
                        .map(|&i| {
                            let doc = &docs[i as usize];
                            match doc.story_key {
                                0 => (i as u64 | 1 << 63, i),
                                story => (story, i),
                            }
                        })
                        .collect();
                    by_story.sort_unstable();
                    // Sized for half the source's keys to be distinct:
                    // growing from empty rehashed a dozen times a source.
                    let keys: usize = members
                        .iter()
                        .map(|&i| docs[i as usize].repeat_keys.len())
                        .sum();
                    let mut counts: HashMap<u64, u32, MixState> =
                        HashMap::with_capacity_and_hasher(keys / 2, MixState);
                    let mut seen: HashSet<u64, MixState> = HashSet::default();
                    for story in by_story.chunk_by(|a, b| a.0 == b.0) {
                        seen.clear();
                        for &(_, i) in story {
                            for &key in &docs[i as usize].repeat_keys {
                                if key != 0 && seen.insert(key) {
                                    *counts.entry(key).or_default() += 1;
                                }
                            }
                        }
                    }
                    // Fewer documents than that make no template.
                    counts.retain(|_, n| *n >= min_docs);
                    RepeatTable::new(&counts)
                })
                .collect()
        })
    }

    /// Decides each document's lines, using the repetition counts, and
    /// frees the facts that decision needed.
    fn decide(
        &self,
        docs: &mut [Mapped],
        sources: &[u32],
        repeats: &RepeatCounts,
        timers: &Timers,
    ) -> Vec<Verdicts> {
        let Some(stripper) = &self.inner.stripper else {
            return docs.iter().map(|_| Verdicts::default()).collect();
        };
        docs.par_iter_mut()
            .zip(sources)
            .map_init(VerdictsRoom::default, |room, (doc, source)| {
                timers.time(STRIP, 0, || {
                    let slots = repeats
                        .get(*source as usize)
                        .map_or(NO_REPEATS, |r| &r.slots[..]);
                    let keys = &doc.repeat_keys[..];
                    stripper.decide(
                        &doc.facts,
                        &doc.lexicon,
                        |i| repeat_count(slots, keys[i]),
                        |line, reason| room.push(line, reason),
                    );
                    doc.facts = Vec::new();
                    doc.lexicon = Vec::new();
                    doc.repeat_keys = Vec::new();
                    room.take()
                })
            })
            .collect()
    }

    /// Blocks that lost a line to the strip stage are paragraphs no more:
    /// takes those documents' text again (held or read) and finds their
    /// blocks anew.
    fn find_split_blocks(
        &self,
        inputs: &Inputs,
        layout: &Layout,
        digests: &[Option<u64>],
        docs: &mut [Mapped],
        verdicts: &[Verdicts],
        held: &HeldText,
    ) {
        let split = |d: &Mapped, v: &Verdicts| {
            d.blocks
                && v.lines().any(|line| {
                    d.candidates
                        .iter()
                        .any(|c| (c.first..=c.last).contains(&line))
                })
        };
        // An input that cannot be read again keeps its first blocks; the
        // emit phase reports it.
        let found = self.for_docs_read_again(
            inputs,
            layout,
            digests,
            docs,
            held,
            |i| split(&docs[i], &verdicts[i]),
            |i, fixed| self.find_candidates(&fixed.lines, true, &verdicts[i]),
        );
        for (i, candidates) in found {
            docs[i].candidates = candidates;
        }
    }

    /// Clusters the paragraphs no stripped line touches, after the
    /// paragraphs of `prior` (an index from earlier runs), if any. Takes
    /// the documents' candidates.
    fn cluster(
        &self,
        docs: &mut [Mapped],
        sources: &[u32],
        verdicts: &[Verdicts],
        prior: Option<Index>,
        timers: &Timers,
    ) -> DedupState {
        let Some(deduper) = &self.inner.deduper else {
            return DedupState::default();
        };
        let (mut paragraphs, fixed, fixed_rep, prior) = match prior {
            Some(mut ix) => {
                let old = std::mem::take(&mut ix.paragraphs);
                let rep = std::mem::take(&mut ix.rep);
                (old, rep.len(), rep, Some(ix))
            }
            None => (Vec::new(), 0, Vec::new(), None),
        };
        // Millions of paragraphs: no doubling slack.
        paragraphs.reserve_exact(
            docs.iter().map(|d| d.candidates.len()).sum::<usize>(),
        );
        for (d, (doc, stripped)) in docs.iter_mut().zip(verdicts).enumerate() {
            let mut stripped = stripped.lines().peekable();
            for c in std::mem::take(&mut doc.candidates) {
                while stripped.next_if(|&l| l < c.first).is_some() {}
                if stripped.peek().is_some_and(|&l| l <= c.last) {
                    continue;
                }
                paragraphs.push(Paragraph {
                    doc: d,
                    line: c.first + 1,
                    last_line: c.last + 1,
                    source: sources[d],
                    len: c.len,
                    fingerprint: c.fingerprint,
                });
            }
        }
        let bytes: usize =
            paragraphs[fixed..].iter().map(|p| p.len as usize).sum();
        let clustering = timers.time(CLUSTER, bytes, || {
            deduper.cluster_with(&paragraphs, fixed, &fixed_rep)
        });
        DedupState { paragraphs, fixed, clustering, prior }
    }

    /// The lines each document loses as non-representative copies, with
    /// the paragraph's last line and the cluster's number.
    fn dropped_lines(
        &self,
        dedup: &DedupState,
        docs: usize,
    ) -> Vec<Vec<(u32, u32, usize)>> {
        let mut dropped: Vec<Vec<(u32, u32, usize)>> = vec![Vec::new(); docs];
        let drop = self
            .inner
            .deduper
            .as_ref()
            .is_some_and(|d| d.action() == DuplicateAction::Drop);
        if !drop {
            return dropped;
        }
        for (id, c) in dedup.clustering.clusters.iter().enumerate() {
            for m in &c.members[1..] {
                // Indexed paragraphs are never removed (and are never
                // members of a run's clusters anyway).
                if m.paragraph < dedup.fixed {
                    continue;
                }
                let p = &dedup.paragraphs[m.paragraph];
                dropped[p.doc].push((p.line, p.last_line, id));
            }
        }
        for d in &mut dropped {
            d.sort_unstable();
        }
        dropped
    }
}

/// Wall-clock and CPU time of each phase of a run, as it ends.
struct PhaseClock {
    last: Instant,
    last_cpu: Option<f64>,
    phases: Vec<PhaseTime>,
}

impl PhaseClock {
    fn start() -> PhaseClock {
        PhaseClock {
            last: Instant::now(),
            last_cpu: crate::report::process_cpu_seconds(),
            phases: Vec::new(),
        }
    }

    fn end(&mut self, name: &'static str) {
        let now = Instant::now();
        let cpu = crate::report::process_cpu_seconds();
        let wall_seconds = (now - self.last).as_secs_f64();
        let cpu_seconds = cpu.zip(self.last_cpu).map(|(c, l)| c - l);
        self.phases.push(PhaseTime { name, wall_seconds, cpu_seconds });
        (self.last, self.last_cpu) = (now, cpu);
    }
}

/// What the emit phase needs from the global phase, per document.
struct EmitPlan<'a> {
    docs: &'a [Mapped],
    verdicts: &'a [Verdicts],
    dropped: &'a [Vec<(u32, u32, usize)>],
    /// (1-based line, paragraph) whose text the clusters or index show.
    wanted: &'a [Vec<(u32, usize)>],
    /// The text held from the map phase.
    held: &'a HeldText,
    /// The records to render for the sink.
    prerender: Prerender,
    /// The emit phase's reads.
    reads: &'a ReadPace,
}

/// Each document's source as a small id, in first-seen order.
fn source_ids(docs: &[Mapped]) -> Vec<u32> {
    let mut ids: HashMap<&str, u32> = HashMap::new();
    docs.iter()
        .map(|d| {
            let next = ids.len() as u32;
            *ids.entry(d.meta.source.as_str()).or_insert(next)
        })
        .collect()
}

/// The records of a JSON Lines input (in parallel), with malformed lines
/// reported with their line number.
fn json_sources<'a>(
    unit: &Unit,
    bytes: &[u8],
) -> Vec<Result<Source<'a>, Error>> {
    let lines: Vec<(usize, &[u8])> = bytes
        .split(|&b| b == b'\n')
        .enumerate()
        .filter(|(_, l)| !l.iter().all(u8::is_ascii_whitespace))
        .collect();
    let stem = unit
        .rel
        .trim_end_matches(".gz")
        .trim_end_matches(".jsonl")
        .trim_end_matches(".ndjson");
    lines
        .par_iter()
        .map(|&(n, line)| {
            let line_no = n as u64 + 1;
            let record: Record =
                serde_json::from_slice(line).map_err(|e| {
                    Error::BadRecord {
                        path: unit.path.clone(),
                        line: line_no,
                        reason: e.to_string(),
                    }
                })?;
            let name = match &record.id {
                Some(id) => id.clone(),
                None => format!("{}:{line_no}", unit.rel),
            };
            let source = record
                .source
                .clone()
                .or_else(|| record.url.as_deref().and_then(url_host))
                .unwrap_or_else(|| unit.source.clone());
            let out_name =
                record.id.clone().unwrap_or_else(|| line_no.to_string());
            let meta = DocMeta {
                name,
                source,
                url: record.url.clone(),
                id: record.id.clone(),
                bytes_in: line.len() as u64,
                encoding: "UTF-8",
                encoding_method: "json",
                lossy: false,
            };
            Ok(Source {
                meta,
                out_path: format!("{stem}/{out_name}.txt"),
                text: Cow::Owned(record.text),
            })
        })
        .collect()
}

/// The dedup stage's result: the paragraphs (an index's first, with
/// `doc` numbering the index's documents; then this run's, numbering
/// its documents) and their clustering.
#[derive(Default)]
struct DedupState {
    paragraphs: Vec<Paragraph>,
    fixed: usize,
    clustering: Clustering,
    /// The index read at the start, without its paragraphs.
    prior: Option<Index>,
}

/// The index after a run: the prior index plus this run's paragraphs,
/// with their previews (by paragraph).
fn updated_index(
    dedup: DedupState,
    docs: &[Mapped],
    mut previews: HashMap<usize, String>,
) -> Option<Index> {
    let DedupState { paragraphs, fixed, clustering, prior } = dedup;
    let mut ix = prior?;
    let mut source_ids: HashMap<String, u32> = ix
        .sources
        .iter()
        .enumerate()
        .map(|(i, s)| (s.clone(), i as u32))
        .collect();
    let mut doc_ids: HashMap<usize, usize> = HashMap::new();
    let mut all = paragraphs;
    for p in &mut all[fixed..] {
        let doc = &docs[p.doc];
        let id = *doc_ids.entry(p.doc).or_insert_with(|| {
            let next = source_ids.len() as u32;
            let source = *source_ids
                .entry(doc.meta.source.clone())
                .or_insert_with(|| {
                    ix.sources.push(doc.meta.source.clone());
                    next
                });
            ix.docs.push(crate::dedup::store::IndexedDoc {
                name: doc.meta.name.clone(),
                source,
            });
            ix.docs.len() - 1
        });
        p.doc = id;
        p.source = ix.docs[id].source;
    }
    ix.paragraphs = all;
    ix.rep = clustering.rep;
    ix.similarity = clustering.similarity;
    let all = ix.paragraphs.len();
    ix.previews
        .extend((fixed..all).map(|k| previews.remove(&k).unwrap_or_default()));
    Some(ix)
}

/// Per source (by id), how many documents contain each short line (by
/// key), where enough do to remove it.
type RepeatCounts = Vec<RepeatTable>;

/// Repetition counts by line key, open-addressed: the keys are xxh3
/// hashes already, so their low bits place them, and a lookup (one for
/// each line of the corpus, most of them missing) hashes nothing. Key 0
/// (never counted) marks an empty slot, whose count is 0.
struct RepeatTable {
    /// A power of two in length, at most a quarter full.
    slots: Vec<(u64, u32)>,
}

impl RepeatTable {
    fn new(counts: &HashMap<u64, u32, MixState>) -> RepeatTable {
        // At most a quarter full: most keys are missing, and a lookup on
        // the strip benchmark took 1.23 probes (1.67 at half full).
        let mut slots =
            vec![(0, 0); (counts.len() * 4).max(1).next_power_of_two()];
        let mask = slots.len() - 1;
        for (&key, &count) in counts {
            let mut i = key as usize & mask;
            while slots[i].0 != 0 {
                i = (i + 1) & mask;
            }
            slots[i] = (key, count);
        }
        RepeatTable { slots }
    }
}

/// The slots of a source with no counts.
const NO_REPEATS: &[(u64, u32)] = &[(0, 0)];

/// The count of `key` in `slots` (a [`RepeatTable`]'s), 0 if it has
/// none.
#[inline]
fn repeat_count(slots: &[(u64, u32)], key: u64) -> u32 {
    let mask = slots.len() - 1;
    let mut i = key as usize & mask;
    loop {
        let (k, count) = slots[i];
        if k == key || k == 0 {
            return count;
        }
        i = (i + 1) & mask;
    }
}

const STORY_LINE_BYTES: usize = 200;

/// The key of a document's story: a hash of its long lines' repeat keys,
/// sorted (0 when it has none).
fn story_key(lines: &[Cow<'_, str>]) -> u64 {
    let mut keys: Vec<u64> = lines
        .iter()
        .filter(|l| l.len() >= STORY_LINE_BYTES)
        .map(|l| Stripper::repeat_key(l))
        .collect();
    if keys.is_empty() {
        return 0;
    }
    keys.sort_unstable();
    xxhash_rust::xxh3::xxh3_64(&bytemuck_u64(&keys))
}
const REPEAT_LINE_BYTES: usize = 400;

fn bytemuck_u64(v: &[u64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// The lines of a text cut at every line break the fixer normalises:
/// `\r\n`, `\n`, a lone `\r` (old Mac files are one line otherwise),
/// U+2028 and U+2029.
fn lines_of_any_break(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut at = 0;
    while let Some(k) = memchr::memchr3(b'\n', b'\r', 0xe2, &bytes[at..]) {
        let i = at + k;
        let width = match bytes[i] {
            b'\r' if bytes.get(i + 1) == Some(&b'\n') => 2,
            b'\n' | b'\r' => 1,
            // U+2028 and U+2029 are E2 80 A8 and E2 80 A9.
            _ if bytes.get(i + 1) == Some(&0x80)
                && matches!(bytes.get(i + 2), Some(0xa8 | 0xa9)) =>
            {
                3
            }
            _ => {
                at = i + 1;
                continue;
            }
        };
        out.push(&text[start..i]);
        start = i + width;
        at = start;
    }
    out.push(&text[start..]);
    out
}

/// Hard-wrapped text: most non-blank lines are of similar, moderate
/// length, continue on the next line, and blank lines separate blocks.
fn looks_hard_wrapped(lines: &[Cow<'_, str>]) -> bool {
    let mut continued = 0;
    let mut nonblank = 0;
    for w in lines.windows(2) {
        if w[0].trim().is_empty() {
            continue;
        }
        nonblank += 1;
        let len = w[0].chars().count();
        if (40..=100).contains(&len) && !w[1].trim().is_empty() {
            continued += 1;
        }
    }
    nonblank >= 4 && continued * 2 > nonblank
}

/// Builds the document from its fixed lines and the decisions about them,
/// with the kinds of its removals counted (see [`ReasonTally`]).
fn build_document(
    index: usize,
    doc: &Mapped,
    fixed: &FixedText<'_>,
    stripped: &Verdicts,
    dropped: &[(u32, u32, usize)],
    keep_removed_text: bool,
) -> (Document, RemovedKinds) {
    let removed_text = |line: &str| {
        if keep_removed_text {
            line.to_string()
        } else {
            String::new()
        }
    };
    // Sized up front: growing them was a tenth of the emit phase.
    let mut removals: Vec<Removal> =
        Vec::with_capacity(fixed.fixes.len() + stripped.len() + 1);
    let mut fixes = fixed.fixes.iter().peekable();
    // Each reason's code made once, and its lines counted: a page's lines
    // share a few reasons.
    let codes: Vec<Cow<'static, str>> =
        stripped.reasons.iter().map(reason_code).collect();
    let mut per_reason = vec![0u64; codes.len()];
    let (mut repeated, mut duplicates, mut blanks) = (0u64, 0u64, 0u64);
    let reasons = &stripped.reasons;
    let mut stripped = stripped.lines.iter().peekable();
    let mut dropped = dropped.iter().peekable();
    let mut text = String::with_capacity(
        fixed.lines.iter().map(|l| l.len() + 1).sum::<usize>(),
    );
    let mut kept_lines = Vec::with_capacity(fixed.lines.len());
    let mut dup_until: Option<(u32, String)> = None;
    for (i, line) in fixed.lines.iter().enumerate() {
        let line_no = i as u32 + 1;
        let fix = fixes.next_if(|f| f.0 == i);
        if let Some((_, plan, original)) = fix {
            removals.push(Removal {
                line: line_no,
                stage: Stage::Fix,
                reason: Cow::Owned(plan.clone()),
                original: original.clone(),
                replacement: Some(line.to_string()),
            });
        }
        if let Some(&(_, code)) = stripped.next_if(|s| s.0 as usize == i) {
            let reason = if code & REPEATED != 0 {
                repeated += 1;
                repeated_code(code & !REPEATED)
            } else {
                per_reason[code as usize] += 1;
                codes[code as usize].clone()
            };
            removals.push(Removal {
                line: line_no,
                stage: Stage::Strip,
                reason,
                original: removed_text(line),
                replacement: None,
            });
            continue;
        }
        if let Some(&(_, last, cluster)) = dropped.next_if(|d| d.0 == line_no)
        {
            dup_until = Some((last, format!("near-duplicate:{cluster}")));
        }
        match &dup_until {
            Some((last, code)) if line_no <= *last => {
                duplicates += 1;
                removals.push(Removal {
                    line: line_no,
                    stage: Stage::Dedup,
                    reason: Cow::Owned(code.clone()),
                    original: removed_text(line),
                    replacement: None,
                });
                continue;
            }
            Some(_) => dup_until = None,
            None => {}
        }
        if !text.is_empty() || !kept_lines.is_empty() {
            text.push('\n');
        }
        text.push_str(line);
        kept_lines.push(line_no);
    }
    // Drop blank lines left dangling at the end by removals; a document
    // nothing was removed from is given back exactly.
    let removed_any = removals.iter().any(|r| r.replacement.is_none());
    while removed_any && text.ends_with('\n') {
        text.pop();
        let n = kept_lines.pop().expect("a kept line per break");
        blanks += 1;
        removals.push(Removal {
            line: n,
            stage: Stage::Strip,
            reason: reason_code(&Reason::Blank),
            original: String::new(),
            replacement: None,
        });
    }
    removals.sort_by_key(|r| (r.line, r.replacement.is_none()));
    let mut kinds = RemovedKinds::default();
    for (reason, &n) in reasons.iter().zip(&per_reason) {
        kinds.add(removed_kind(reason), n);
    }
    kinds.add(removed_kind(&Reason::RepeatedInSource(0)), repeated);
    kinds.add(Cow::Borrowed("near-duplicate"), duplicates);
    kinds.add(removed_kind(&Reason::Blank), blanks);
    let doc = Document {
        index,
        meta: doc.meta.clone(),
        text,
        removals,
        kept_lines,
        out_path: doc
            .out_path
            .clone()
            .unwrap_or_else(|| doc.meta.name.clone()),
        final_newline: fixed.final_newline,
    };
    (doc, kinds)
}

/// A strip reason as a removal's code: the constant ones are not
/// allocated, which shows when most of a corpus's lines are removed.
fn reason_code(reason: &Reason) -> Cow<'static, str> {
    match reason {
        Reason::OutsideMainRegion => Cow::Borrowed("outside-main-region"),
        Reason::RepeatedInDocument => Cow::Borrowed("repeated-in-document"),
        Reason::CommentSection => Cow::Borrowed("comment-section"),
        Reason::Blank => Cow::Borrowed("blank"),
        Reason::Lexicon(what) => match crate::strip::lexicon_code(what) {
            Some(code) => Cow::Borrowed(code),
            None => Cow::Owned(format!("lexicon:{what}")),
        },
        Reason::RepeatedInSource(n) => repeated_code(*n),
    }
}

/// The code of [`Reason::RepeatedInSource`]`(n)`. Template lines of a
/// site are removed from every page: the usual counts are made once.
fn repeated_code(n: u32) -> Cow<'static, str> {
    static COMMON: LazyLock<Vec<String>> = LazyLock::new(|| {
        (0..COMMON_REPEATS).map(repeated_in_source).collect()
    });
    match COMMON.get(n as usize) {
        Some(code) => Cow::Borrowed(code.as_str()),
        None => Cow::Owned(repeated_in_source(n)),
    }
}

/// A strip reason's kind in the summary: its code without a count, but
/// a lexicon entry whole.
fn removed_kind(reason: &Reason) -> Cow<'static, str> {
    match reason {
        Reason::RepeatedInSource(_) => Cow::Borrowed("repeated-in-source"),
        reason => reason_code(reason),
    }
}

/// How many of the codes of [`Reason::RepeatedInSource`] are made once.
const COMMON_REPEATS: u32 = 1024;

fn repeated_in_source(n: u32) -> String {
    let mut code = Vec::with_capacity(30);
    code.extend_from_slice(b"repeated-in-source:");
    crate::sink::push_decimal(&mut code, u64::from(n));
    String::from_utf8(code).expect("ASCII")
}

/// A cluster for the clusters file; member texts are previews (the first
/// line cut to [`PREVIEW_BYTES`]): the whole text of each dropped copy is
/// in the removed record.
fn cluster_record(
    id: usize,
    cluster: &crate::dedup::Cluster,
    dedup: &DedupState,
    docs: &[Mapped],
    previews: &HashMap<usize, String>,
) -> ClusterRecord {
    let members = cluster
        .members
        .iter()
        .enumerate()
        .map(|(k, m)| {
            let p = &dedup.paragraphs[m.paragraph];
            let (doc, source, text) = match &dedup.prior {
                // An indexed paragraph: its document is not in this run.
                Some(ix) if m.paragraph < dedup.fixed => {
                    let d = &ix.docs[p.doc];
                    (
                        d.name.clone(),
                        ix.sources[d.source as usize].clone(),
                        ix.previews[m.paragraph].clone(),
                    )
                }
                _ => {
                    let d = &docs[p.doc];
                    (
                        d.meta.name.clone(),
                        d.meta.source.clone(),
                        previews
                            .get(&m.paragraph)
                            .cloned()
                            .unwrap_or_default(),
                    )
                }
            };
            ClusterMember {
                doc,
                line: p.line,
                source,
                representative: k == 0,
                distance: m.distance,
                similarity: (m.similarity * 1000.0).round() / 1000.0,
                text,
            }
        })
        .collect();
    ClusterRecord { id, members }
}

fn error_record(err: &Error) -> ErrorRecord {
    let path = match err {
        Error::BadRecord { path, line, .. } => {
            format!("{}:{line}", path.display())
        }
        other => other.path().display().to_string(),
    };
    ErrorRecord { path, kind: err.kind(), message: err.to_string() }
}

fn add_to_summary(
    summary: &mut Summary,
    mapped: &Mapped,
    doc: &Document,
    tally: &ReasonTally,
) {
    summary.documents += 1;
    summary.bytes_in += mapped.meta.bytes_in;
    summary.bytes_out +=
        doc.text.len() as u64 + u64::from(!doc.text.is_empty());
    summary.lines_in += u64::from(mapped.line_count);
    summary.lines_out += doc.kept_lines.len() as u64;
    count(&mut summary.encodings, mapped.meta.encoding, 1);
    count(&mut summary.encoding_methods, mapped.meta.encoding_method, 1);
    summary.lossy_documents += u64::from(mapped.meta.lossy);
    for &(key, n) in &tally.fixes {
        count(&mut summary.fixes, key.of(doc), n);
    }
    for (kind, n) in &tally.removed.0 {
        count(&mut summary.removed, kind, *n);
    }
}

/// Adds `n` to `key`'s count; the key is copied only the first time.
fn count(counts: &mut BTreeMap<String, u64>, key: &str, n: u64) {
    match counts.get_mut(key) {
        Some(total) => *total += n,
        None => {
            counts.insert(key.to_string(), n);
        }
    }
}

/// Moves the map phase's long-lived results of `docs` (candidates and
/// their word sets) into allocations made by this thread: the word sets
/// into one shared block, the candidates into exact-size vectors.
fn rehome(docs: &mut [Mapped]) {
    for doc in docs.iter_mut() {
        if !doc.candidates.is_empty() {
            let mut moved = Vec::with_capacity(doc.candidates.len());
            moved.append(&mut doc.candidates);
            doc.candidates = moved;
        }
    }
    let mut sets: Vec<&mut WordSet> = docs
        .iter_mut()
        .flat_map(|d| {
            d.candidates.iter_mut().map(|c| &mut c.fingerprint.words)
        })
        .collect();
    WordSet::share_storage(&mut sets);
}

/// Hands the heap's free pages back to the system. The map phase frees
/// every text and the strip decision every line's facts, but small live
/// allocations between them keep glibc from shrinking the heap, so the
/// freed pages would count towards peak memory in the phases after.
fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        extern "C" {
            fn malloc_trim(pad: usize) -> std::ffi::c_int;
        }
        // SAFETY: malloc_trim only returns unused heap pages to the
        // kernel; it is safe to call at any time from any thread.
        unsafe {
            malloc_trim(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_codes_are_the_reasons_displayed() {
        let mut reasons = vec![
            Reason::OutsideMainRegion,
            Reason::RepeatedInDocument,
            Reason::CommentSection,
            Reason::Blank,
            Reason::Lexicon("cookie"),
            Reason::Lexicon(""),
        ];
        for n in [0, 1, 9, 10, 99, 100, 1023, 1024, 12345, u32::MAX] {
            reasons.push(Reason::RepeatedInSource(n));
        }
        for r in reasons {
            assert_eq!(reason_code(&r), r.to_string());
        }
        // The lexicon's own kinds are made once, not for each line.
        let cookie = reason_code(&Reason::Lexicon("cookie"));
        assert!(matches!(cookie, Cow::Borrowed(_)));
    }

    #[test]
    fn every_break_the_fixer_normalises_cuts_a_line() {
        let text = "a\r\nb\rc\nd\u{2028}e\u{2029}f\u{2026}g\r";
        assert_eq!(
            lines_of_any_break(text),
            ["a", "b", "c", "d", "e", "f\u{2026}g", ""]
        );
        assert_eq!(lines_of_any_break(""), [""]);
    }

    #[test]
    fn reasons_are_tallied_by_fix_step_and_removal_kind() {
        let removal = |stage, reason: &str| Removal {
            line: 1,
            stage,
            reason: reason.to_string().into(),
            original: String::new(),
            replacement: None,
        };
        let doc = Document {
            removals: vec![
                removal(Stage::Fix, "unescape_html,normalize:NFC"),
                removal(Stage::Fix, "normalize:NFC"),
                removal(Stage::Strip, "lexicon:cookie"),
                removal(Stage::Strip, "lexicon:subscribe"),
                removal(Stage::Strip, "lexicon:cookie"),
                removal(Stage::Strip, "repeated-in-source:3"),
                removal(Stage::Strip, "repeated-in-source:40"),
                removal(Stage::Dedup, "near-duplicate:7"),
                removal(Stage::Strip, "blank"),
                removal(Stage::Strip, "lexicon"),
            ],
            ..Document::default()
        };
        let tally = ReasonTally::of(&doc, RemovedKinds::default());
        let named = |counts: &[(ReasonSpan, u64)]| {
            counts
                .iter()
                .map(|&(k, n)| (k.of(&doc).to_string(), n))
                .collect::<Vec<_>>()
        };
        let pairs = |list: &[(&str, u64)]| {
            list.iter().map(|&(k, n)| (k.to_string(), n)).collect::<Vec<_>>()
        };
        assert_eq!(
            named(&tally.fixes),
            pairs(&[("unescape_html", 1), ("normalize:NFC", 2)])
        );
        // A removal's kind is its code without a count, but a lexicon
        // entry whole; each kind is counted once.
        let kinds = [
            (Reason::Lexicon("cookie"), "lexicon:cookie"),
            (Reason::Lexicon("time-ago"), "lexicon:time-ago"),
            (Reason::RepeatedInSource(3), "repeated-in-source"),
            (Reason::RepeatedInSource(u32::MAX), "repeated-in-source"),
            (Reason::OutsideMainRegion, "outside-main-region"),
            (Reason::RepeatedInDocument, "repeated-in-document"),
            (Reason::CommentSection, "comment-section"),
            (Reason::Blank, "blank"),
        ];
        let mut tally = RemovedKinds::default();
        for (reason, kind) in kinds {
            assert_eq!(removed_kind(&reason), kind);
            tally.add(removed_kind(&reason), 1);
        }
        tally.add(Cow::Borrowed("near-duplicate"), 0);
        let named: Vec<_> =
            tally.0.iter().map(|(k, n)| (k.to_string(), *n)).collect();
        assert_eq!(
            named,
            pairs(&[
                ("lexicon:cookie", 1),
                ("lexicon:time-ago", 1),
                ("repeated-in-source", 2),
                ("outside-main-region", 1),
                ("repeated-in-document", 1),
                ("comment-section", 1),
                ("blank", 1),
            ])
        );
    }

    /// The same lines as a plain walk over the characters.
    #[test]
    fn lines_of_any_break_match_a_character_walk() {
        fn walked(text: &str) -> Vec<&str> {
            let mut out = Vec::new();
            let mut start = 0;
            let mut chars = text.char_indices().peekable();
            while let Some((i, c)) = chars.next() {
                let end = match c {
                    '\r' if chars.peek().map(|p| p.1) == Some('\n') => {
                        chars.next();
                        i + 2
                    }
                    '\r' | '\n' | '\u{2028}' | '\u{2029}' => i + c.len_utf8(),
                    _ => continue,
                };
                out.push(&text[start..i]);
                start = end;
            }
            out.push(&text[start..]);
            out
        }
        let pieces = [
            "a", "bcdefgh", "\r", "\n", "\r\n", "\u{2028}", "\u{2029}",
            "\u{2026}", "\u{e9}", "\u{20ac}",
        ];
        let mut state = 0x2545_f491_u32;
        for _ in 0..3000 {
            let mut text = String::new();
            while text.len() < 70 {
                state =
                    state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                text.push_str(pieces[(state >> 24) as usize % pieces.len()]);
            }
            assert_eq!(lines_of_any_break(&text), walked(&text), "{text:?}");
        }
    }

    /// Found by fuzzing: a lone `\r` inside a line became `\n` in the
    /// text, so the text had more lines than `kept_lines`.
    #[test]
    fn lone_carriage_returns_are_line_breaks_when_fixing() {
        let pipeline = Pipeline::builder().dedup(None).build().unwrap();
        let text = "The first sentence of an old Mac file, with some words.\r\
                    The second sentence of that file, with other words.\r";
        let doc = pipeline.clean_text("mac.txt", text);
        assert_eq!(doc.kept_lines, [1, 2]);
        assert_eq!(doc.text.split('\n').count(), 2);
        assert!(doc.final_newline);
        assert_eq!(doc.restore(), text.replace('\r', "\n").trim_end());
        // Without the fixer, line breaks are kept as they came.
        let raw = Pipeline::builder()
            .fix(None)
            .strip(None)
            .dedup(None)
            .build()
            .unwrap()
            .clean_text("mac.txt", text);
        assert_eq!(raw.text, text);
    }

    /// Found by fuzzing: a last line that fixing emptied ("\0") was
    /// taken for the end of a trailing newline and lost from the audit.
    #[test]
    fn last_line_emptied_by_fixing_is_kept_in_the_audit() {
        let pipeline = Pipeline::builder().build().unwrap();
        let doc = pipeline.clean_bytes("f", b"\n\0").unwrap();
        assert_eq!(doc.restore(), "\n\0");
    }

    #[test]
    fn a_few_slow_reads_do_not_make_a_warm_cache_cold() {
        // 256 warm reads of 9 KB files, three of them preempted for
        // milliseconds: the sum rule called this cold.
        let pace = ReadPace::default();
        let mark = pace.mark();
        for k in 0..256u64 {
            let nanos = if k % 100 == 7 { 4_000_000 } else { 6_000 };
            pace.record(nanos, 9_000);
        }
        assert!(!pace.cold_since(mark));
        // The same files waiting on a disk, 150 µs each.
        let mark = pace.mark();
        for _ in 0..256 {
            pace.record(150_000, 9_000);
        }
        assert!(pace.cold_since(mark));
        assert!(!pace.cold_since(pace.mark()), "no reads: not cold");
    }

    #[test]
    fn verdicts_give_back_each_line_and_reason() {
        let classified = vec![
            Some(Reason::OutsideMainRegion),
            None,
            Some(Reason::RepeatedInSource(37)),
            Some(Reason::Lexicon("subscribe")),
            Some(Reason::RepeatedInSource(REPEATED)),
            None,
            Some(Reason::Lexicon("cookies")),
            Some(Reason::Lexicon("subscribe")),
            Some(Reason::OutsideMainRegion),
            Some(Reason::RepeatedInSource(0)),
            Some(Reason::Blank),
        ];
        let expected: Vec<(u32, Reason)> = classified
            .iter()
            .enumerate()
            .filter_map(|(i, r)| Some((i as u32, r.clone()?)))
            .collect();
        let mut room = VerdictsRoom::default();
        for (i, reason) in classified.into_iter().enumerate() {
            if let Some(reason) = reason {
                room.push(i as u32, reason);
            }
        }
        let verdicts = room.take();
        assert_eq!(verdicts.iter().collect::<Vec<_>>(), expected);
        assert_eq!(
            verdicts.lines().collect::<Vec<_>>(),
            expected.iter().map(|e| e.0).collect::<Vec<_>>()
        );
        assert_eq!(verdicts.len(), expected.len());
        // Repeated reasons are kept once; counts are not kept at all
        // unless too large for the code.
        assert_eq!(verdicts.reasons.len(), 5);
    }
}
