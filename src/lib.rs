//! chaff: clean, deduplicated text from folders of scraped pages.
#![deny(missing_docs)]

pub mod decode;
pub mod error;
pub mod fix;

pub use error::{BuildError, Error};
