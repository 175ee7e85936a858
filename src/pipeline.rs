//! The pipeline: decode → fix → strip → dedup, in three phases.
//!
//! 1. **map** (rayon over inputs): read, decode, fix, split into lines,
//!    compute line features, repetition keys and paragraph fingerprints.
//! 2. **global** (a barrier): count lines per source over distinct
//!    documents, decide each document's boilerplate, cluster the kept
//!    paragraphs and choose representatives deterministically.
//! 3. **emit** (in input order): build each cleaned document with its
//!    audit records and hand it to the sink.
//!
//! Nothing depends on thread scheduling: every parallel step collects
//! into input order, so the output is the same for any thread count.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use rayon::prelude::*;

use crate::decode::Decoder;
use crate::dedup::{
    Clustering, DedupBuilder, Deduper, DuplicateAction, Index, Paragraph,
};
use crate::document::{DocMeta, Document, Removal, Stage};
use crate::error::{BuildError, Error};
use crate::fix::{FixOptions, Fixer};
use crate::input::{read_unit, url_host, Inputs, Record, Unit, UnitKind};
use crate::report::{ErrorRecord, StageTime, Summary};
use crate::sink::{ClusterMember, ClusterRecord, Sink};
use crate::strip::{LineFeatures, Reason, StripBuilder, Stripper};

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
        Ok(Pipeline {
            inner: Arc::new(Inner {
                decoder,
                fixer: c.fix.clone().map(Fixer::new),
                stripper,
                deduper,
                paragraphs: c.paragraphs,
                max_input_bytes: c.max_input_bytes,
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

/// CPU nanoseconds and bytes per stage, summed across threads.
#[derive(Default)]
struct Timers {
    stages: [(AtomicU64, AtomicU64); STAGES.len()],
}

const STAGES: [&str; 7] =
    ["read", "decode", "fix", "strip", "fingerprint", "cluster", "emit"];

impl Timers {
    fn time<T>(&self, stage: usize, bytes: usize, f: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let out = f();
        let (nanos, total) = &self.stages[stage];
        nanos.fetch_add(start.elapsed().as_nanos() as u64, Ordering::Relaxed);
        total.fetch_add(bytes as u64, Ordering::Relaxed);
        out
    }

    fn report(&self) -> BTreeMap<String, StageTime> {
        let mut out = BTreeMap::new();
        for (name, (nanos, bytes)) in STAGES.iter().zip(&self.stages) {
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

/// One document after the map phase: fixed lines and their facts.
struct Mapped {
    meta: DocMeta,
    out_path: String,
    /// Fixed lines, without line breaks.
    lines: Vec<String>,
    /// Lines changed by fixes (line index, steps, original).
    fixes: Vec<(usize, String, String)>,
    features: Vec<LineFeatures>,
    repeat_keys: Vec<u64>,
    /// Hash of the document's long lines, to recognise copies of one
    /// story when counting template lines (0 when it has none).
    story_key: u64,
}

/// A document's line decisions after the global phase.
struct Decided {
    /// `Some(reason)` for each removed line.
    verdict: Vec<Option<Reason>>,
}

/// The map phase's result for one unit: documents or errors, in order.
enum Item {
    Doc(Box<Mapped>),
    Failed(Error),
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
        let timers = Timers::default();
        let inner = &self.inner;
        let decoded = inner.decoder.decode(bytes)?;
        let meta = DocMeta {
            name: name.to_string(),
            source: name.to_string(),
            bytes_in: bytes.len() as u64,
            encoding: decoded.encoding,
            encoding_method: decoded.method.as_str(),
            lossy: decoded.lossy,
            ..DocMeta::default()
        };
        let mapped =
            self.map_text(meta, name.to_string(), &decoded.text, &timers);
        Ok(self.clean_alone(mapped))
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
        let timers = Timers::default();
        let mapped = self.map_text(meta, name.to_string(), text, &timers);
        self.clean_alone(mapped)
    }

    fn clean_alone(&self, mapped: Mapped) -> Document {
        let timers = Timers::default();
        let docs = vec![mapped];
        let decided = self.decide(&docs, &HashMap::new(), &timers);
        let dedup = self.cluster(&docs, &decided, None, &timers);
        let dropped = self.dropped_lines(&dedup, docs.len());
        build_document(0, &docs[0], &decided[0], &dropped[0])
    }

    /// Runs the whole batch: every input is read, cleaned and handed to
    /// `sink` in input order, with per-input failures reported to the
    /// sink and counted, never fatal. Errors only when a sink fails or
    /// the run is cancelled.
    pub fn run(
        &self,
        inputs: &Inputs,
        sink: &mut dyn Sink,
    ) -> io::Result<Summary> {
        let started = Instant::now();
        let timers = Timers::default();
        let inner = &self.inner;
        let cancelled = || self.cancel.load(Ordering::Relaxed);
        let interrupted =
            || io::Error::new(io::ErrorKind::Interrupted, "interrupted");

        // Phase 1: map.
        let items: Vec<Vec<Item>> = inner.pool.install(|| {
            inputs
                .units
                .par_iter()
                .map(|unit| {
                    if cancelled() {
                        return Vec::new();
                    }
                    self.map_unit(unit, &timers)
                })
                .collect()
        });
        if cancelled() {
            return Err(interrupted());
        }
        let mut docs: Vec<Mapped> = Vec::new();
        let mut failures: Vec<(usize, Error)> = Vec::new();
        for item in items.into_iter().flatten() {
            match item {
                Item::Doc(d) => docs.push(*d),
                Item::Failed(e) => failures.push((docs.len(), e)),
            }
        }

        // Phase 2: global.
        let repeats = self.count_repeats(&docs);
        let decided =
            inner.pool.install(|| self.decide(&docs, &repeats, &timers));
        let prior = match (&inner.index, &inner.deduper) {
            (Some(path), Some(_)) => Some(Index::read(path).map_err(|e| {
                io::Error::new(e.kind(), format!("{}: {e}", path.display()))
            })?),
            _ => None,
        };
        let dedup = inner
            .pool
            .install(|| self.cluster(&docs, &decided, prior, &timers));
        if cancelled() {
            return Err(interrupted());
        }
        let dropped = self.dropped_lines(&dedup, docs.len());

        // Phase 3: emit.
        let mut summary = Summary {
            threads: inner.pool.current_num_threads(),
            ..Summary::default()
        };
        for err in &inputs.errors {
            summary.failed += 1;
            summary.errors.push(error_record(err));
            sink.error(err)?;
        }
        for (id, cluster) in dedup.clustering.clusters.iter().enumerate() {
            let record = cluster_record(id, cluster, &dedup, &docs);
            summary.clusters += 1;
            summary.duplicate_paragraphs += cluster.members.len() as u64 - 1;
            sink.cluster(&record)?;
        }
        let mut failures = failures.into_iter().peekable();
        const CHUNK: usize = 256;
        for start in (0..docs.len()).step_by(CHUNK) {
            if cancelled() {
                return Err(interrupted());
            }
            let end = (start + CHUNK).min(docs.len());
            let built: Vec<Document> = inner.pool.install(|| {
                (start..end)
                    .into_par_iter()
                    .map(|i| {
                        timers.time(EMIT, 0, || {
                            build_document(
                                i,
                                &docs[i],
                                &decided[i],
                                &dropped[i],
                            )
                        })
                    })
                    .collect()
            });
            for (i, doc) in (start..end).zip(built) {
                while let Some((_, err)) = failures.next_if(|(at, _)| *at <= i)
                {
                    summary.failed += 1;
                    summary.errors.push(error_record(&err));
                    sink.error(&err)?;
                }
                add_to_summary(&mut summary, &docs[i], &doc);
                sink.document(&doc)?;
            }
        }
        for (_, err) in failures {
            summary.failed += 1;
            summary.errors.push(error_record(&err));
            sink.error(&err)?;
        }
        summary.stages = timers.report();
        summary.wall_seconds = started.elapsed().as_secs_f64();
        summary.measure_process();
        sink.finish(&summary)?;
        if let Some(path) = &inner.index {
            if let Some(index) = updated_index(dedup, &docs) {
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

    /// Reads one unit and maps each of its documents.
    fn map_unit(&self, unit: &Unit, timers: &Timers) -> Vec<Item> {
        let limit = self.inner.max_input_bytes;
        let bytes = match timers.time(READ, 0, || read_unit(unit, limit)) {
            Ok(b) => b,
            Err(e) => return vec![Item::Failed(e)],
        };
        self.progress.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        match unit.kind {
            UnitKind::Text => {
                let decoded = match timers.time(DECODE, bytes.len(), || {
                    self.inner.decoder.decode(&bytes)
                }) {
                    Ok(d) => d,
                    Err(not_text) => {
                        return vec![Item::Failed(Error::NotText {
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
                let mapped = self.map_text(
                    meta,
                    unit.rel.clone(),
                    &decoded.text,
                    timers,
                );
                vec![Item::Doc(Box::new(mapped))]
            }
            _ => self.map_json_lines(unit, &bytes, timers),
        }
    }

    /// Maps every record of a JSON Lines unit (in parallel), reporting
    /// malformed lines with their line number.
    fn map_json_lines(
        &self,
        unit: &Unit,
        bytes: &[u8],
        timers: &Timers,
    ) -> Vec<Item> {
        let lines: Vec<(usize, &[u8])> = bytes
            .split(|&b| b == b'\n')
            .enumerate()
            .filter(|(_, l)| !l.iter().all(u8::is_ascii_whitespace))
            .collect();
        let stem = unit
            .rel
            .trim_end_matches(".gz")
            .trim_end_matches(".jsonl")
            .trim_end_matches(".ndjson")
            .to_string();
        lines
            .par_iter()
            .map(|&(n, line)| {
                let line_no = n as u64 + 1;
                let bad = |reason: String| {
                    Item::Failed(Error::BadRecord {
                        path: unit.path.clone(),
                        line: line_no,
                        reason,
                    })
                };
                let record: Record = match serde_json::from_slice(line) {
                    Ok(r) => r,
                    Err(e) => return bad(e.to_string()),
                };
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
                let out_path = format!("{stem}/{out_name}.txt");
                Item::Doc(Box::new(self.map_text(
                    meta,
                    out_path,
                    &record.text,
                    timers,
                )))
            })
            .collect()
    }

    /// Fixes, splits and analyses one decoded text.
    fn map_text(
        &self,
        meta: DocMeta,
        out_path: String,
        text: &str,
        timers: &Timers,
    ) -> Mapped {
        let inner = &self.inner;
        let raw_lines =
            text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
        let mut lines = Vec::new();
        let mut fixes = Vec::new();
        timers.time(FIX, text.len(), || {
            let mut steps = Vec::new();
            for (i, line) in raw_lines.enumerate() {
                let Some(fixer) = &inner.fixer else {
                    lines.push(line.to_string());
                    continue;
                };
                steps.clear();
                match fixer.fix_line(line, Some(&mut steps)) {
                    std::borrow::Cow::Borrowed(l) => lines.push(l.to_string()),
                    std::borrow::Cow::Owned(fixed) => {
                        let plan = steps
                            .iter()
                            .map(|s| s.to_string())
                            .collect::<Vec<_>>()
                            .join(",");
                        fixes.push((i, plan, line.to_string()));
                        lines.push(fixed);
                    }
                }
            }
        });
        // A trailing newline ends the last line; it does not open one.
        if lines.len() > 1 && lines.last().is_some_and(String::is_empty) {
            lines.pop();
        }
        let (features, repeat_keys, story_key) = match &inner.stripper {
            Some(s) => timers.time(STRIP, text.len(), || {
                let features: Vec<_> =
                    lines.iter().map(|l| s.features(l)).collect();
                let keys: Vec<_> =
                    lines.iter().map(|l| Stripper::repeat_key(l)).collect();
                let mut story = Vec::new();
                for (l, k) in lines.iter().zip(&keys) {
                    if l.len() >= STORY_LINE_BYTES {
                        story.push(*k);
                    }
                }
                story.sort_unstable();
                let story_key = if story.is_empty() {
                    0
                } else {
                    xxhash_rust::xxh3::xxh3_64(bytemuck_u64(&story).as_slice())
                };
                (features, keys, story_key)
            }),
            None => (Vec::new(), Vec::new(), 0),
        };
        Mapped {
            meta,
            out_path,
            lines,
            fixes,
            features,
            repeat_keys,
            story_key,
        }
    }

    /// For each source, how many distinct documents contain each short
    /// line. Documents that share a long line are copies of one story
    /// and count once, so syndicated copies do not empty each other.
    fn count_repeats(&self, docs: &[Mapped]) -> HashMap<(u32, u64), u32> {
        let Some(stripper) = &self.inner.stripper else {
            return HashMap::new();
        };
        let _ = stripper;
        let mut source_ids: HashMap<&str, u32> = HashMap::new();
        let mut counted: HashSet<(u32, u64, u64)> = HashSet::new();
        let mut counts: HashMap<(u32, u64), u32> = HashMap::new();
        for (i, doc) in docs.iter().enumerate() {
            let next = source_ids.len() as u32;
            let source =
                *source_ids.entry(doc.meta.source.as_str()).or_insert(next);
            let story = if doc.story_key == 0 {
                i as u64 | 1 << 63
            } else {
                doc.story_key
            };
            let mut seen = HashSet::new();
            for (line, &key) in doc.lines.iter().zip(&doc.repeat_keys) {
                if line.trim().is_empty() || line.len() > REPEAT_LINE_BYTES {
                    continue;
                }
                if seen.insert(key) && counted.insert((source, key, story)) {
                    *counts.entry((source, key)).or_default() += 1;
                }
            }
        }
        // Re-key by the source's position so lookups need no strings.
        let mut by_doc_source = HashMap::new();
        for ((source, key), n) in counts {
            if n > 1 {
                by_doc_source.insert((source, key), n);
            }
        }
        by_doc_source
    }

    /// Decides each document's lines, using the repetition counts.
    fn decide(
        &self,
        docs: &[Mapped],
        repeats: &HashMap<(u32, u64), u32>,
        timers: &Timers,
    ) -> Vec<Decided> {
        let Some(stripper) = &self.inner.stripper else {
            return docs
                .iter()
                .map(|d| Decided { verdict: vec![None; d.lines.len()] })
                .collect();
        };
        // Source ids in first-seen order, as count_repeats assigned them.
        let mut source_ids: HashMap<&str, u32> = HashMap::new();
        let ids: Vec<u32> = docs
            .iter()
            .map(|d| {
                let next = source_ids.len() as u32;
                *source_ids.entry(d.meta.source.as_str()).or_insert(next)
            })
            .collect();
        docs.par_iter()
            .zip(ids)
            .map(|(doc, source)| {
                let bytes: usize = doc.lines.iter().map(|l| l.len() + 1).sum();
                timers.time(STRIP, bytes, || {
                    let counts: Vec<u32> = doc
                        .repeat_keys
                        .iter()
                        .map(|k| {
                            repeats.get(&(source, *k)).copied().unwrap_or(0)
                        })
                        .collect();
                    Decided {
                        verdict: stripper.classify(&doc.features, &counts),
                    }
                })
            })
            .collect()
    }

    /// Fingerprints the kept paragraphs and clusters them, after the
    /// paragraphs of `prior` (an index from earlier runs), if any.
    fn cluster(
        &self,
        docs: &[Mapped],
        decided: &[Decided],
        prior: Option<Index>,
        timers: &Timers,
    ) -> DedupState {
        let Some(deduper) = &self.inner.deduper else {
            return DedupState::default();
        };
        let mode = self.inner.paragraphs;
        // Source ids in first-seen order (ties between representatives
        // never need them: input order decides).
        let mut source_ids: HashMap<&str, u32> = HashMap::new();
        let sources: Vec<u32> = docs
            .iter()
            .map(|d| {
                let next = source_ids.len() as u32;
                *source_ids.entry(d.meta.source.as_str()).or_insert(next)
            })
            .collect();
        let per_doc: Vec<Vec<Paragraph>> = docs
            .par_iter()
            .zip(decided)
            .enumerate()
            .map(|(d, (doc, dec))| {
                let bytes: usize = doc.lines.iter().map(|l| l.len() + 1).sum();
                timers.time(FINGERPRINT, bytes, || {
                    paragraphs_of(doc, dec, mode)
                        .into_iter()
                        .filter_map(|(first, last)| {
                            let lines = &doc.lines[first..=last];
                            let fingerprint =
                                deduper.fingerprint_lines(lines)?;
                            let len = lines
                                .iter()
                                .map(|l| l.len() + 1)
                                .sum::<usize>()
                                - 1;
                            Some(Paragraph {
                                doc: d,
                                line: first as u32 + 1,
                                last_line: last as u32 + 1,
                                source: sources[d],
                                len: len as u32,
                                fingerprint,
                            })
                        })
                        .collect()
                })
            })
            .collect();
        let (mut paragraphs, fixed, fixed_rep, prior) = match prior {
            Some(mut ix) => {
                let old = std::mem::take(&mut ix.paragraphs);
                let rep = std::mem::take(&mut ix.rep);
                (old, rep.len(), rep, Some(ix))
            }
            None => (Vec::new(), 0, Vec::new(), None),
        };
        paragraphs.extend(per_doc.into_iter().flatten());
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

/// The index after a run: the prior index plus this run's paragraphs.
fn updated_index(dedup: DedupState, docs: &[Mapped]) -> Option<Index> {
    let DedupState { paragraphs, fixed, clustering, prior } = dedup;
    let mut ix = prior?;
    let mut source_ids: HashMap<String, u32> = ix
        .sources
        .iter()
        .enumerate()
        .map(|(i, s)| (s.clone(), i as u32))
        .collect();
    let mut doc_ids: HashMap<usize, usize> = HashMap::new();
    let mut previews = Vec::with_capacity(paragraphs.len() - fixed);
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
        previews.push(
            crate::dedup::store::preview(
                &doc.lines[p.line as usize - 1],
                crate::dedup::store::PREVIEW_BYTES,
            )
            .to_string(),
        );
        p.doc = id;
        p.source = ix.docs[id].source;
    }
    ix.paragraphs = all;
    ix.rep = clustering.rep;
    ix.similarity = clustering.similarity;
    ix.previews.extend(previews);
    Some(ix)
}

const STORY_LINE_BYTES: usize = 200;
const REPEAT_LINE_BYTES: usize = 400;

fn bytemuck_u64(v: &[u64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// The paragraphs of a document as inclusive line ranges over its kept
/// lines.
fn paragraphs_of(
    doc: &Mapped,
    dec: &Decided,
    mode: ParagraphMode,
) -> Vec<(usize, usize)> {
    let kept = |i: usize| dec.verdict[i].is_none();
    let blank = |i: usize| doc.lines[i].trim().is_empty();
    let blocks = match mode {
        ParagraphMode::Line => false,
        ParagraphMode::Blank => true,
        ParagraphMode::Auto => looks_hard_wrapped(&doc.lines),
    };
    let mut out = Vec::new();
    if !blocks {
        for i in 0..doc.lines.len() {
            if kept(i) && !blank(i) {
                out.push((i, i));
            }
        }
        return out;
    }
    let mut start: Option<usize> = None;
    for i in 0..doc.lines.len() {
        if blank(i) || !kept(i) {
            if let Some(s) = start.take() {
                out.push((s, i - 1));
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(s) = start {
        out.push((s, doc.lines.len() - 1));
    }
    out
}

/// Hard-wrapped text: most non-blank lines are of similar, moderate
/// length, continue on the next line, and blank lines separate blocks.
fn looks_hard_wrapped(lines: &[String]) -> bool {
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

fn build_document(
    index: usize,
    doc: &Mapped,
    dec: &Decided,
    dropped: &[(u32, u32, usize)],
) -> Document {
    let mut removals: Vec<Removal> = Vec::new();
    let mut fixes = doc.fixes.iter().peekable();
    let mut dropped = dropped.iter().peekable();
    let mut text = String::new();
    let mut kept_lines = Vec::new();
    let mut dup_until: Option<(u32, usize)> = None;
    for (i, line) in doc.lines.iter().enumerate() {
        let line_no = i as u32 + 1;
        let fix = fixes.next_if(|f| f.0 == i);
        if let Some((_, plan, original)) = fix {
            removals.push(Removal {
                line: line_no,
                stage: Stage::Fix,
                reason: plan.clone(),
                original: original.clone(),
                replacement: Some(line.clone()),
            });
        }
        if let Some(reason) = &dec.verdict[i] {
            removals.push(Removal {
                line: line_no,
                stage: Stage::Strip,
                reason: reason.to_string(),
                original: line.clone(),
                replacement: None,
            });
            continue;
        }
        if let Some(&(_, last, cluster)) = dropped.next_if(|d| d.0 == line_no)
        {
            dup_until = Some((last, cluster));
        }
        if let Some((last, cluster)) = dup_until {
            if line_no <= last {
                removals.push(Removal {
                    line: line_no,
                    stage: Stage::Dedup,
                    reason: format!("near-duplicate:{cluster}"),
                    original: line.clone(),
                    replacement: None,
                });
                continue;
            }
            dup_until = None;
        }
        if !text.is_empty() || !kept_lines.is_empty() {
            text.push('\n');
        }
        text.push_str(line);
        kept_lines.push(line_no);
    }
    // Drop blank lines left dangling at the end by later removals.
    while text.ends_with('\n') || (kept_lines.len() == 1 && text.is_empty()) {
        if text.is_empty() {
            break;
        }
        text.pop();
        let n = kept_lines.pop().expect("a kept line per break");
        removals.push(Removal {
            line: n,
            stage: Stage::Strip,
            reason: Reason::Blank.to_string(),
            original: String::new(),
            replacement: None,
        });
    }
    removals.sort_by_key(|r| (r.line, r.replacement.is_none()));
    Document {
        index,
        meta: doc.meta.clone(),
        text,
        removals,
        kept_lines,
        out_path: doc.out_path.clone(),
    }
}

fn cluster_record(
    id: usize,
    cluster: &crate::dedup::Cluster,
    dedup: &DedupState,
    docs: &[Mapped],
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
                        d.lines[p.line as usize - 1].clone(),
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

fn add_to_summary(summary: &mut Summary, mapped: &Mapped, doc: &Document) {
    summary.documents += 1;
    summary.bytes_in += mapped.meta.bytes_in;
    summary.bytes_out +=
        doc.text.len() as u64 + u64::from(!doc.text.is_empty());
    summary.lines_in += mapped.lines.len() as u64;
    summary.lines_out += doc.kept_lines.len() as u64;
    *summary.encodings.entry(mapped.meta.encoding.to_string()).or_default() +=
        1;
    *summary
        .encoding_methods
        .entry(mapped.meta.encoding_method.to_string())
        .or_default() += 1;
    summary.lossy_documents += u64::from(mapped.meta.lossy);
    for r in &doc.removals {
        match r.stage {
            Stage::Fix => {
                for step in r.reason.split(',') {
                    *summary.fixes.entry(step.to_string()).or_default() += 1;
                }
            }
            _ => {
                let kind = r.reason.split(':').next().unwrap_or(&r.reason);
                let kind = match kind {
                    "lexicon" => r.reason.as_str(),
                    other => other,
                };
                *summary.removed.entry(kind.to_string()).or_default() += 1;
            }
        }
    }
}
