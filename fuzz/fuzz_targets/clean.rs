#![no_main]
//! Any bytes through the whole single-document path: no panic, one kept
//! line number per output line, and the audit trail restores the decoded
//! text (with its line breaks normalised, as the fixer does).

use chaff::decode::Decoder;
use chaff::Pipeline;
use libfuzzer_sys::fuzz_target;

mod audit;

fuzz_target!(|data: &[u8]| {
    let pipeline = Pipeline::builder().build().unwrap();
    let Ok(doc) = pipeline.clean_bytes("f", data) else {
        return;
    };
    let decoded = Decoder::new().decode(data).unwrap().text;
    audit::assert_restores(&doc, &decoded);
});
