//! One test binary for everything that runs the `chaff` command.

mod util;

mod bad_input;
mod cli;
mod dedup;
mod properties;
mod strip;
