//! The `chaff` command: a thin client of the library.

mod fix_jsonl;
mod flags;

use std::io::{self, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Parser;

use chaff::fix::{FixOptions, Fixer};
use chaff::input::Inputs;
use chaff::sink::{self, Fanout, Sink};
use chaff::{Document, Error, Summary};

use flags::{CleanOpts, Command, FixOpts, Opts, WhenArg};

/// mimalloc in place of the system allocator.
///
/// With glibc's allocator (tuned: fixed mmap threshold, 64 MB top pad)
/// the phases after the map (global counts, emit, the clusters file) took
/// about twice as long. On the 1.16 GB mixed corpus, run alternately:
/// 14.8 and 15.4 s with glibc, 12.4 and 12.8 s with mimalloc, with the
/// same peak RSS.
///
/// Built with `no_thp`: mimalloc otherwise asks for transparent huge
/// pages on its arenas, and with them whole runs of that corpus spent
/// 7.3-10.9 s in the kernel against about 3.6 s without (no compaction
/// stalls counted; the cause is not known).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit codes (fd/ripgrep convention).
const EXIT_OK: u8 = 0;
const EXIT_SOME_FAILED: u8 = 1;
const EXIT_ERROR: u8 = 2;
const EXIT_INTERRUPTED: u8 = 130;

fn main() -> ExitCode {
    let opts = Opts::parse();
    let code = match run(opts) {
        Ok(code) => code,
        Err(err) if is_broken_pipe(&err) => EXIT_OK,
        Err(err) => {
            let _ = writeln!(io::stderr().lock(), "chaff: {err:#}");
            EXIT_ERROR
        }
    };
    exit_without_teardown(code)
}

/// Ends the process once `run` has returned: every output is written,
/// renamed into place and closed, and its temporary files removed. What
/// is left is the allocator's own teardown, which hands each of its
/// arenas' pages back to the kernel one `madvise` at a time (about 480
/// calls after the 32 MB strip benchmark; about 3 ms of its 0.3 s, median
/// of six runs) only for the kernel to drop the whole address space
/// anyway.
fn exit_without_teardown(code: u8) -> ExitCode {
    // Rust flushes stdout after `main` returns; `_exit` skips that too.
    if io::stdout().flush().is_err() {
        return ExitCode::from(code);
    }
    #[cfg(target_os = "linux")]
    // SAFETY: `_exit` ends the process at once; nothing runs after it,
    // and every file and buffer this process writes is closed or was
    // flushed above.
    unsafe {
        libc::_exit(i32::from(code))
    }
    #[cfg(not(target_os = "linux"))]
    ExitCode::from(code)
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

fn run(opts: Opts) -> anyhow::Result<u8> {
    match opts.command {
        Command::Clean(clean) => run_clean(&clean),
        Command::Fix(fix) => run_fix(&fix),
    }
}

/// Where `--out` and the audit files go.
struct Outputs {
    text: Option<PathBuf>,
    jsonl: bool,
    clusters: Option<PathBuf>,
    removed: Option<PathBuf>,
    report: Option<PathBuf>,
}

impl Outputs {
    fn plan(opts: &CleanOpts) -> Outputs {
        let text = opts.out.clone();
        let jsonl = text
            .as_ref()
            .is_some_and(|p| p.to_string_lossy().ends_with(".jsonl"));
        let side = |name: &str, ext: &str| -> Option<PathBuf> {
            let out = text.as_ref()?;
            Some(if jsonl {
                let stem = out.to_string_lossy();
                let stem = stem.trim_end_matches(".jsonl");
                PathBuf::from(format!("{stem}.{name}.{ext}"))
            } else {
                out.join(".chaff").join(format!("{name}.{ext}"))
            })
        };
        Outputs {
            clusters: opts
                .clusters
                .clone()
                .or_else(|| side("clusters", "jsonl")),
            removed: opts.removed.clone().or_else(|| side("removed", "jsonl")),
            report: opts.report.clone().or_else(|| side("report", "json")),
            text,
            jsonl,
        }
    }

    /// Refuses to overwrite earlier output unless forced.
    fn check(&self, force: bool) -> anyhow::Result<()> {
        if force {
            return Ok(());
        }
        if let Some(out) = &self.text {
            if !self.jsonl && out.is_dir() {
                let used = std::fs::read_dir(out)
                    .with_context(|| format!("{}", out.display()))?
                    .next()
                    .is_some();
                if used {
                    bail!(
                        "{}: output folder is not empty (use --force to write \
                         into it)",
                        out.display()
                    );
                }
            } else if out.exists() && !out.is_dir() && !self.jsonl {
                bail!("{}: exists and is not a folder", out.display());
            }
        }
        let files = [&self.text, &self.clusters, &self.removed, &self.report];
        for path in files.into_iter().flatten() {
            // `/dev/stdout` and `/dev/stderr` are streams, though they lead
            // to a file when the stream was sent to one.
            if path.is_file() && !path.starts_with("/dev") {
                bail!(
                    "{}: exists (use --force to replace it)",
                    path.display()
                );
            }
        }
        Ok(())
    }
}

fn run_clean(opts: &CleanOpts) -> anyhow::Result<u8> {
    let pipeline = opts.to_pipeline()?;
    let outputs = Outputs::plan(opts);
    outputs.check(opts.force)?;
    let mut walk = opts.walk_options();
    if let Some(out) = &outputs.text {
        if !outputs.jsonl {
            std::fs::create_dir_all(out).with_context(|| {
                format!("{}: cannot create", out.display())
            })?;
            walk.exclude.push(std::fs::canonicalize(out)?);
        }
    }
    let cancel = pipeline.cancel_flag();
    ctrlc::set_handler(move || cancel.store(true, Ordering::SeqCst))
        .context("cannot install the interrupt handler")?;

    let inputs = Inputs::from_paths(&opts.inputs, &walk);
    let mut fanout = Fanout::new();
    match &outputs.text {
        Some(path) if outputs.jsonl => fanout.push(
            sink::JsonLinesFile::create(path)
                .with_context(|| format!("{}", path.display()))?,
        ),
        Some(path) => fanout.push(sink::MirrorDir::new(path)),
        None => fanout
            .push(sink::JsonStream::new(io::BufWriter::new(io::stdout()))),
    }
    if let Some(path) = &outputs.clusters {
        fanout.push(
            sink::ClustersFile::create(path)
                .with_context(|| format!("{}", path.display()))?,
        );
    }
    if let Some(path) = &outputs.removed {
        fanout.push(
            sink::RemovedFile::create(path)
                .with_context(|| format!("{}", path.display()))?,
        );
    }
    if let Some(path) = &outputs.report {
        fanout.push(sink::ReportFile::new(path));
    }
    let mut reporter = ErrorReporter { inner: fanout, failed: 0 };

    let show_progress = match opts.progress {
        WhenArg::Always => true,
        WhenArg::Never => false,
        WhenArg::Auto => !opts.quiet && io::stderr().is_terminal(),
    };
    let progress = show_progress.then(|| {
        // A stat of every input, so only when a bar is shown.
        let total: u64 = inputs
            .units
            .iter()
            .filter_map(|u| std::fs::metadata(&u.path).ok())
            .map(|m| m.len())
            .sum();
        start_progress(&pipeline, total)
    });

    let result = pipeline.run(&inputs, &mut reporter);
    if let Some((bar, handle)) = progress {
        bar.finish_and_clear();
        let _ = handle.join();
    }
    let summary = match result {
        Ok(summary) => summary,
        Err(e) if e.kind() == io::ErrorKind::Interrupted => {
            let _ = writeln!(
                io::stderr(),
                "chaff: interrupted; no output file was left half-written, \
                 and no audit file was committed"
            );
            return Ok(EXIT_INTERRUPTED);
        }
        Err(e) => return Err(e).context("writing output"),
    };
    if !opts.quiet {
        print_summary(&summary);
    }
    if opts.stats {
        print_stats(&summary);
    }
    Ok(if reporter.failed > 0 { EXIT_SOME_FAILED } else { EXIT_OK })
}

/// Prints each failed input to stderr as it is reported, then passes it on.
struct ErrorReporter<S> {
    inner: S,
    failed: u64,
}

impl<S: Sink> Sink for ErrorReporter<S> {
    fn cluster(&mut self, c: &sink::ClusterRecord) -> io::Result<()> {
        self.inner.cluster(c)
    }
    fn rendered_cluster(
        &mut self,
        c: &sink::ClusterRecord,
        record: &[u8],
    ) -> io::Result<()> {
        self.inner.rendered_cluster(c, record)
    }
    fn document(&mut self, doc: &Document) -> io::Result<()> {
        self.inner.document(doc)
    }
    fn prerender(&self) -> sink::Prerender {
        self.inner.prerender()
    }
    fn rendered_document(
        &mut self,
        doc: &Document,
        rendered: &sink::Prerendered,
    ) -> io::Result<()> {
        self.inner.rendered_document(doc, rendered)
    }
    fn take_rendered_document(
        &mut self,
        doc: &Document,
        rendered: &mut sink::Prerendered,
    ) -> io::Result<()> {
        self.inner.take_rendered_document(doc, rendered)
    }
    fn error(&mut self, err: &Error) -> io::Result<()> {
        self.failed += 1;
        let msg = err.to_string().replace(|c: char| c.is_control(), "?");
        let _ = writeln!(io::stderr().lock(), "chaff: {msg}");
        self.inner.error(err)
    }
    fn finish(&mut self, summary: &Summary) -> io::Result<()> {
        self.inner.finish(summary)
    }
}

fn start_progress(
    pipeline: &chaff::Pipeline,
    total: u64,
) -> (indicatif::ProgressBar, std::thread::JoinHandle<()>) {
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} {bytes}/{total_bytes} {bytes_per_sec} {wide_bar} {eta}",
        )
        .expect("the template is valid"),
    );
    let counter = pipeline.progress();
    let watched = bar.clone();
    let handle = std::thread::spawn(move || {
        while !watched.is_finished() {
            watched.set_position(counter.load(Ordering::Relaxed));
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    (bar, handle)
}

fn print_summary(s: &Summary) {
    let line = format!(
        "chaff: {} documents, {:.1} MB in {:.2} s ({:.1} MB/s), {} lines \
         removed, {} clusters, {} failed",
        s.documents,
        s.bytes_in as f64 / 1e6,
        s.wall_seconds,
        s.mb_per_s(),
        s.lines_removed(),
        s.clusters,
        s.failed,
    );
    // The summary is for people: stderr, so stdout stays data only.
    let _ = writeln!(io::stderr().lock(), "{line}");
}

fn print_stats(s: &Summary) {
    let mut err = io::stderr().lock();
    // Time in a stage is counted as elapsed time around its work: CPU
    // time, plus waits such as a cold read.
    let _ = writeln!(err, "stage         busy s    MB/s/core");
    for (name, t) in s.stages_in_order() {
        let _ = writeln!(
            err,
            "{name:<12} {:>8.3} {:>12.1}",
            t.cpu_seconds, t.mb_per_s_per_core
        );
    }
    if !s.phases.is_empty() {
        let phases: Vec<String> = s
            .phases
            .iter()
            .map(|p| match p.cpu_seconds {
                Some(cpu) => format!(
                    "{} {:.2} s ({cpu:.2} s cpu)",
                    p.name, p.wall_seconds
                ),
                None => format!("{} {:.2} s", p.name, p.wall_seconds),
            })
            .collect();
        let _ = writeln!(err, "phases: {}", phases.join(", "));
    }
    let _ = writeln!(
        err,
        "wall {:.3} s, cpu {}, {:.1} documents/s, peak memory {}",
        s.wall_seconds,
        s.cpu_seconds.map_or("?".into(), |c| format!("{c:.2} s")),
        s.documents as f64 / s.wall_seconds.max(1e-9),
        s.peak_rss_bytes
            .map_or("?".into(), |b| format!("{:.1} MB", b as f64 / 1e6)),
    );
}

fn run_fix(opts: &FixOpts) -> anyhow::Result<u8> {
    let mut options = FixOptions::profile(opts.profile.into());
    options.restore_lost_dashes = opts.restore_dashes;
    if opts.only_encoding {
        options = FixOptions::encoding_only();
    }
    let fixer = Fixer::new(options);
    if opts.jsonl {
        fix_jsonl::run(&fixer, opts.explain, io::stdin(), io::stdout())?;
        return Ok(EXIT_OK);
    }
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let mut bytes = Vec::new();
    io::stdin().read_to_end(&mut bytes).context("reading stdin")?;
    let decoded = chaff::decode::Decoder::new()
        .decode(&bytes)
        .map_err(|e| anyhow::anyhow!("stdin: {e}"))?;
    if opts.explain {
        explain_lines(&fixer, &decoded.text, &mut out)?;
    } else {
        out.write_all(fixer.fix(&decoded.text).as_bytes())?;
    }
    out.flush()?;
    Ok(EXIT_OK)
}

/// Prints, for each changed line, its number, the plan, and the line
/// before and after.
fn explain_lines(
    fixer: &Fixer,
    text: &str,
    out: &mut impl Write,
) -> io::Result<()> {
    let mut changed = 0;
    for (n, line) in text.lines().enumerate() {
        let mut steps = Vec::new();
        let fixed = fixer.fix_line(line, Some(&mut steps));
        if fixed != line {
            changed += 1;
            let plan: Vec<String> =
                steps.iter().map(|s| s.to_string()).collect();
            writeln!(out, "line {}: {}", n + 1, plan.join(", "))?;
            writeln!(out, "- {line}")?;
            writeln!(out, "+ {fixed}")?;
        }
    }
    writeln!(out, "{changed} lines changed")
}
