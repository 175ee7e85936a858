#![no_main]
//! Any bytes: decoding never panics, and text it accepts, fed back as
//! UTF-8, decodes to itself (a leading BOM and NUL/ESC bytes aside: those
//! are read as signatures of other encodings, by design).

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let decoder = chaff::decode::Decoder::new();
    if let Ok(decoded) = decoder.decode(data) {
        let text = decoded.text.trim_start_matches('\u{feff}');
        if text.contains(['\0', '\u{1b}']) {
            return;
        }
        if let Ok(again) = decoder.decode(text.as_bytes()) {
            assert_eq!(again.text, text);
        }
    }
});
