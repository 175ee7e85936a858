//! One test binary for everything that runs the `chaff` command.

mod util;

mod cli;
mod dedup;
