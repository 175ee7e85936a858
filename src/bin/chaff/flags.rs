//! Command-line flags, and their one conversion into library builders.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use chaff::dedup::{DedupBuilder, DuplicateAction};
use chaff::fix::{FixOptions, Profile};
use chaff::input::WalkOptions;
use chaff::strip::{Preset, StripBuilder};
use chaff::{BuildError, ParagraphMode, Pipeline};

/// Clean folders of scraped web and news text: repair broken encodings,
/// strip navigation and ad residue, and cluster near-duplicate
/// paragraphs across sources.
#[derive(Parser, Debug)]
#[command(name = "chaff", version, max_term_width = 100)]
pub struct Opts {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Clean files, folders or JSON Lines into clean text.
    Clean(Box<CleanOpts>),
    /// Fix text on stdin (mojibake, entities, controls) to stdout.
    Fix(FixOpts),
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ProfileArg {
    /// ftfy's fix_text defaults (uncurls quotes, folds width).
    Ftfy,
    /// Encoding repair, entities, controls, line breaks, NFC.
    Pipeline,
}

impl From<ProfileArg> for Profile {
    fn from(p: ProfileArg) -> Profile {
        match p {
            ProfileArg::Ftfy => Profile::Ftfy,
            ProfileArg::Pipeline => Profile::Pipeline,
        }
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum StripArg {
    Precision,
    Balanced,
    Recall,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum DuplicatesArg {
    /// Remove copies that are not their cluster's representative.
    Drop,
    /// Keep every copy; only report clusters.
    Keep,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ParagraphArg {
    /// Blocks when the text looks hard-wrapped, else lines.
    Auto,
    /// One line, one paragraph.
    Line,
    /// Blank-line-separated blocks.
    Blank,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum WhenArg {
    Auto,
    Always,
    Never,
}

#[derive(Args, Debug)]
pub struct FixFlags {
    /// Turn off text repair (decoding still happens).
    #[arg(long)]
    pub no_fix: bool,

    /// Which fixes run.
    #[arg(long, value_enum, default_value = "pipeline")]
    pub profile: ProfileArg,

    /// Replace " \u{FFFD} " between two words with " – " (a lost dash).
    #[arg(long)]
    pub restore_dashes: bool,
}

impl FixFlags {
    pub fn options(&self) -> Option<FixOptions> {
        if self.no_fix {
            return None;
        }
        let mut options = FixOptions::profile(self.profile.into());
        options.restore_lost_dashes = self.restore_dashes;
        Some(options)
    }
}

#[derive(Args, Debug)]
pub struct CleanOpts {
    /// Files, folders (walked recursively) or JSON Lines files
    /// (.jsonl, .jsonl.gz); `-` reads JSON Lines from stdin.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,

    /// Write cleaned text here: a folder mirrors the input tree; a name
    /// ending in .jsonl writes JSON Lines. Without it, JSON Lines records
    /// ({"type": "doc"|"cluster"|"error"|"summary", "data": …}) go to
    /// stdout.
    #[arg(short, long, value_name = "DIR|FILE.jsonl")]
    pub out: Option<PathBuf>,

    /// Near-duplicate clusters, JSON Lines [default with --out DIR:
    /// DIR/.chaff/clusters.jsonl; with --out F.jsonl: F.clusters.jsonl].
    #[arg(long, value_name = "FILE")]
    pub clusters: Option<PathBuf>,

    /// Every removed or changed line with its reason, JSON Lines
    /// [default: DIR/.chaff/removed.jsonl or F.removed.jsonl].
    #[arg(long, value_name = "FILE")]
    pub removed: Option<PathBuf>,

    /// The run's summary as JSON [default: DIR/.chaff/report.json or
    /// F.report.json].
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,

    /// Replace existing output instead of refusing to.
    #[arg(long)]
    pub force: bool,

    /// Worker threads (0: one per core).
    #[arg(short = 'j', long, default_value_t = 0)]
    pub threads: usize,

    /// Decode every input with this encoding (a BOM still wins).
    #[arg(long, value_name = "LABEL")]
    pub encoding: Option<String>,

    #[command(flatten)]
    pub fix: FixFlags,

    /// Turn off boilerplate stripping.
    #[arg(long)]
    pub no_strip: bool,

    /// How much to strip.
    #[arg(long, value_enum, default_value = "balanced")]
    pub strip: StripArg,

    /// Turn off near-duplicate detection.
    #[arg(long)]
    pub no_dedup: bool,

    /// What to do with near-duplicate copies.
    #[arg(long, value_enum, default_value = "drop")]
    pub duplicates: DuplicatesArg,

    /// Simhash distance (bits) for near-duplicate candidates.
    #[arg(long, value_name = "BITS")]
    pub dedup_distance: Option<u32>,

    /// Word-set Jaccard a copy must reach against its representative
    /// [default: 0.55; a copy also joins when 80% of the smaller word set
    /// is in the other and their Jaccard is at least 0.4].
    #[arg(long, value_name = "0..1")]
    pub min_similarity: Option<f64>,

    /// Near-duplicate index of earlier runs: this run's paragraphs are
    /// checked against the indexed ones (kept as representatives, never
    /// removed), then added to the file (replaced atomically at the end;
    /// a missing file starts a new index).
    #[arg(long, value_name = "FILE")]
    pub index: Option<PathBuf>,

    /// How paragraphs are found for near-duplicate detection.
    #[arg(long, value_enum, default_value = "auto")]
    pub paragraphs: ParagraphArg,

    /// A file's source (site) is its first N folders under the input.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub source_depth: usize,

    /// Include hidden files and folders.
    #[arg(long)]
    pub hidden: bool,

    /// Follow symbolic links.
    #[arg(short = 'L', long)]
    pub follow: bool,

    /// Skip inputs larger than this many MiB.
    #[arg(long, default_value_t = 4096, value_name = "MIB")]
    pub max_input_mib: u64,

    /// Keep up to this many MiB of fixed text in memory between reading
    /// and writing; inputs past it are read again (0: keep none).
    #[arg(long, default_value_t = 2048, value_name = "MIB")]
    pub hold_text_mib: u64,

    /// Print per-stage time and throughput to stderr at the end.
    #[arg(long)]
    pub stats: bool,

    /// Progress bar on stderr.
    #[arg(long, value_enum, default_value = "auto")]
    pub progress: WhenArg,

    /// Print nothing but errors.
    #[arg(short, long)]
    pub quiet: bool,
}

impl CleanOpts {
    /// The single conversion point from flags to the library.
    pub fn to_pipeline(&self) -> Result<Pipeline, BuildError> {
        let mut builder = Pipeline::builder();
        builder
            .encoding(self.encoding.as_deref())
            .fix(self.fix.options())
            .threads(self.threads)
            .max_input_bytes(self.max_input_mib.saturating_mul(1 << 20))
            .hold_text_bytes(self.hold_text_mib.saturating_mul(1 << 20))
            .paragraphs(match self.paragraphs {
                ParagraphArg::Auto => ParagraphMode::Auto,
                ParagraphArg::Line => ParagraphMode::Line,
                ParagraphArg::Blank => ParagraphMode::Blank,
            });
        if self.no_strip {
            builder.strip(None);
        } else {
            let mut strip = StripBuilder::new();
            strip.preset(match self.strip {
                StripArg::Precision => Preset::Precision,
                StripArg::Balanced => Preset::Balanced,
                StripArg::Recall => Preset::Recall,
            });
            builder.strip(Some(strip));
        }
        if self.no_dedup {
            builder.dedup(None);
        } else {
            let mut dedup = DedupBuilder::new();
            dedup.action(match self.duplicates {
                DuplicatesArg::Drop => DuplicateAction::Drop,
                DuplicatesArg::Keep => DuplicateAction::Keep,
            });
            if let Some(bits) = self.dedup_distance {
                dedup.max_distance(bits);
            }
            if let Some(s) = self.min_similarity {
                dedup.min_similarity(s);
            }
            builder.dedup(Some(dedup)).index(self.index.clone());
        }
        builder.build()
    }

    pub fn walk_options(&self) -> WalkOptions {
        WalkOptions {
            hidden: self.hidden,
            follow_links: self.follow,
            source_depth: self.source_depth,
            exclude: Vec::new(),
        }
    }
}

#[derive(Args, Debug)]
pub struct FixOpts {
    /// Input is JSON Lines: each line a string, or an object with "text";
    /// answered in the same shape, one line out per line in.
    #[arg(long)]
    pub jsonl: bool,

    /// Which fixes run.
    #[arg(long, value_enum, default_value = "pipeline")]
    pub profile: ProfileArg,

    /// Only the encoding fixes (like ftfy's fix_encoding).
    #[arg(long)]
    pub only_encoding: bool,

    /// Replace " \u{FFFD} " between two words with " – ".
    #[arg(long)]
    pub restore_dashes: bool,

    /// Print the plan applied to each changed line.
    #[arg(long)]
    pub explain: bool,
}
