//! chaff turns folders of scraped web and news text into clean,
//! deduplicated text.
//!
//! # Brief overview
//!
//! Scraped text arrives with three problems, and chaff has a stage for
//! each:
//!
//! 1. **Broken text** ([`decode`], [`fix`]): unknown legacy encodings,
//!    UTF-8 read as Windows-1252 (`â€™`), HTML entities, control
//!    characters.
//! 2. **Residue** ([`strip`]): navigation, share and subscribe boxes,
//!    cookie notices, copyright footers, teaser lists.
//! 3. **Repetition across sources** ([`dedup`]): wire stories republished
//!    with small edits, leads repeated inside a page.
//!
//! A [`Pipeline`] runs them in three phases (map with rayon, a global
//! step across documents, emit in input order) and hands results to a
//! [`sink::Sink`]. Every removed or changed line is recorded with its
//! reason, so a run can be audited and undone.
//!
//! # Example
//!
//! One page, as a scraper would clean it:
//!
//! ```
//! use chaff::Pipeline;
//!
//! let pipeline = Pipeline::builder().build()?;
//! let page = "Home | World | Sport\n\
//!     The minister said on Friday that the talks would go on, and that \
//!     both sides were ready to meet again next month.\n\
//!     It costs 5 â‚¬ and isnâ€™t cheap, officials said on the same day.\n\
//!     © 2024 Example News. All rights reserved.";
//! let doc = pipeline.clean_bytes("page.txt", page.as_bytes())?;
//! assert!(doc.text.starts_with("The minister said"));
//! assert!(doc.text.contains("isn’t"));
//! assert!(!doc.text.contains("All rights reserved"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A batch, with cross-document counts and near-duplicate clusters:
//!
//! ```no_run
//! use chaff::{input::{Inputs, WalkOptions}, sink, Pipeline};
//!
//! let pipeline = Pipeline::builder().threads(2).build()?;
//! let inputs = Inputs::from_paths(&["scraped/"], &WalkOptions::default());
//! let mut out = sink::MirrorDir::new("clean/");
//! let summary = pipeline.run(&inputs, &mut out)?;
//! println!("{} documents, {} clusters", summary.documents, summary.clusters);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

pub mod decode;
pub mod dedup;
pub mod document;
pub mod error;
pub mod fix;
pub mod input;
mod pipeline;
pub mod report;
pub mod sink;
#[cfg(target_arch = "x86_64")]
mod sse2;
pub mod strip;

pub use document::{DocMeta, Document, Removal, Stage};
pub use error::{BuildError, Error};
pub use pipeline::{ParagraphMode, Pipeline, PipelineBuilder};
pub use report::{PhaseTime, Summary};
