#![no_main]
//! Any bytes: decoding never panics, and text it accepts is valid UTF-8
//! that decodes to itself when fed back.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let decoder = chaff::decode::Decoder::new();
    if let Ok(decoded) = decoder.decode(data) {
        let again = decoder.decode(decoded.text.as_bytes());
        if let Ok(again) = again {
            assert_eq!(again.text, decoded.text);
        }
    }
});
