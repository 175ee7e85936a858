#![no_main]
//! Any text: fixing never panics and is idempotent.

use chaff::fix::{FixOptions, Fixer, Profile};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    for profile in [Profile::Pipeline, Profile::Ftfy] {
        let fixer = Fixer::new(FixOptions::profile(profile));
        let once = fixer.fix(text).into_owned();
        let twice = fixer.fix(&once).into_owned();
        assert_eq!(once, twice, "fix is not idempotent");
    }
});
