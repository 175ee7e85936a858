#![no_main]
//! Any bytes through the whole single-document path: no panic, and the
//! audit trail always restores the decoded text.

use chaff::Pipeline;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let pipeline = Pipeline::builder().build().unwrap();
    if let Ok(doc) = pipeline.clean_bytes("f", data) {
        let _ = doc.restore();
    }
});
