//! The run summary: what was read, changed, removed and how fast.

use std::collections::BTreeMap;

use serde::Serialize;

/// The stages a run times, in the order a document meets them: the keys
/// of [`Summary::stages`].
pub const STAGE_NAMES: [&str; 7] =
    ["read", "decode", "fix", "strip", "fingerprint", "cluster", "emit"];

/// Time spent in one stage.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct StageTime {
    /// Seconds the worker threads spent in the stage, summed over
    /// threads. Clocked as elapsed time around each piece of work, so
    /// it is CPU time plus any wait inside the stage: for `read`, a wait
    /// on the disk when the page cache is cold.
    pub cpu_seconds: f64,
    /// Bytes the stage processed.
    pub bytes: u64,
    /// Throughput per core: bytes / [`StageTime::cpu_seconds`], in MB/s
    /// (10^6 bytes).
    pub mb_per_s_per_core: f64,
}

/// Wall-clock time of one phase of a batch run.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct PhaseTime {
    /// `map` (read and analyse every input), `global` (decide the
    /// boilerplate), `cluster` (find near-duplicates), `emit` (build and
    /// write the documents) or `write-clusters`.
    pub name: &'static str,
    /// Wall-clock seconds.
    pub wall_seconds: f64,
    /// CPU seconds of the process (user + system) in the phase, summed
    /// over threads, where known (to 10 ms).
    pub cpu_seconds: Option<f64>,
}

/// One input that failed, for the report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ErrorRecord {
    /// The input's path (with `:LINE` for a JSON Lines record).
    pub path: String,
    /// A short kind: `io`, `not-text`, `bad-record`, `too-large`.
    pub kind: &'static str,
    /// The full message.
    pub message: String,
}

/// Totals of a run, written as the `--report` file.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Summary {
    /// Documents cleaned and written.
    pub documents: u64,
    /// Inputs that failed (files or JSON Lines records).
    pub failed: u64,
    /// Bytes read.
    pub bytes_in: u64,
    /// Bytes of cleaned text written.
    pub bytes_out: u64,
    /// Lines in the decoded documents.
    pub lines_in: u64,
    /// Lines in the cleaned documents.
    pub lines_out: u64,
    /// Documents per encoding used.
    pub encodings: BTreeMap<String, u64>,
    /// Documents per way the encoding was chosen.
    pub encoding_methods: BTreeMap<String, u64>,
    /// Documents in which some bytes could not be decoded.
    pub lossy_documents: u64,
    /// Lines changed, per fix applied.
    pub fixes: BTreeMap<String, u64>,
    /// Lines removed, per reason (counts after `:` folded together).
    pub removed: BTreeMap<String, u64>,
    /// Near-duplicate clusters found.
    pub clusters: u64,
    /// Paragraphs that belong to a cluster but are not its
    /// representative.
    pub duplicate_paragraphs: u64,
    /// Per-stage time and throughput, keyed by [`STAGE_NAMES`]; stages
    /// that did no work are left out.
    pub stages: BTreeMap<String, StageTime>,
    /// Wall-clock seconds of the whole run.
    pub wall_seconds: f64,
    /// Wall-clock seconds per phase of a batch run, in run order.
    pub phases: Vec<PhaseTime>,
    /// CPU seconds of the process (user + system), where known.
    pub cpu_seconds: Option<f64>,
    /// Peak resident memory in bytes, where known.
    pub peak_rss_bytes: Option<u64>,
    /// Threads used.
    pub threads: usize,
    /// Every failed input.
    pub errors: Vec<ErrorRecord>,
}

impl Summary {
    /// Overall throughput: bytes read per wall-clock second, in MB/s.
    pub fn mb_per_s(&self) -> f64 {
        if self.wall_seconds > 0.0 {
            self.bytes_in as f64 / 1e6 / self.wall_seconds
        } else {
            0.0
        }
    }

    /// [`Summary::stages`] in the order a document meets them.
    pub fn stages_in_order(&self) -> impl Iterator<Item = (&str, &StageTime)> {
        STAGE_NAMES
            .iter()
            .filter_map(|&name| Some((name, self.stages.get(name)?)))
    }

    /// Lines removed by all stages.
    pub fn lines_removed(&self) -> u64 {
        self.removed.values().sum()
    }

    /// Fills in process-wide CPU time and peak memory (Linux; elsewhere
    /// they stay unknown).
    pub fn measure_process(&mut self) {
        if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
            self.peak_rss_bytes = status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| {
                    v.trim().trim_end_matches("kB").trim().parse().ok()
                })
                .map(|kb: u64| kb * 1024);
        }
        self.cpu_seconds = process_cpu_seconds();
    }
}

/// CPU seconds the process has used so far (user + system), where known.
pub(crate) fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields 14 and 15 (utime, stime) in clock ticks, after the
    // parenthesised command name.
    let after = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let user: f64 = fields.get(11)?.parse().ok()?;
    let system: f64 = fields.get(12)?.parse().ok()?;
    Some((user + system) / 100.0)
}
