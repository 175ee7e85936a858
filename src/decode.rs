//! Bytes to text: BOM, UTF-8, a forced label, or detection.
//!
//! Decoding is lossy and never fails on malformed bytes: it returns the text
//! together with what it chose and whether anything was lost. Only input
//! that is not text in any encoding (binary files) is refused, with
//! [`NotText`].

use std::borrow::Cow;

use encoding_rs::Encoding;

use crate::error::BuildError;

/// How the decoder chose the encoding of a document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Method {
    /// A byte order mark named the encoding.
    Bom,
    /// The bytes were valid UTF-8.
    Utf8,
    /// The user forced the encoding.
    Forced,
    /// The encoding was detected from the bytes.
    Detected,
    /// Mostly UTF-8: invalid runs were decoded with a legacy guess.
    MixedUtf8,
}

impl Method {
    /// A short stable name, used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Bom => "bom",
            Method::Utf8 => "utf-8",
            Method::Forced => "forced",
            Method::Detected => "detected",
            Method::MixedUtf8 => "mixed-utf-8",
        }
    }
}

/// The result of decoding one document.
#[derive(Clone, Debug)]
pub struct Decoded<'a> {
    /// The decoded text; borrowed when the input was valid UTF-8.
    pub text: Cow<'a, str>,
    /// The name of the encoding used (WHATWG name where there is one).
    pub encoding: &'static str,
    /// How the encoding was chosen.
    pub method: Method,
    /// True when some bytes could not be decoded and became U+FFFD.
    pub lossy: bool,
}

/// Why a byte string was not decoded: it is not text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotText {
    /// A lowercase explanation, e.g. "binary data (NUL bytes)".
    pub reason: String,
}

impl std::fmt::Display for NotText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

/// Decodes bytes of unknown encoding into UTF-8 text.
#[derive(Clone, Debug, Default)]
pub struct Decoder {
    forced: Option<&'static Encoding>,
}

impl Decoder {
    /// A decoder that detects the encoding of each document.
    pub fn new() -> Decoder {
        Decoder::default()
    }

    /// A decoder that uses the encoding named by `label` unless a BOM
    /// says otherwise.
    pub fn with_label(label: &str) -> Result<Decoder, BuildError> {
        let enc = Encoding::for_label(label.trim().as_bytes())
            .ok_or_else(|| BuildError::UnknownEncoding(label.to_string()))?;
        Ok(Decoder { forced: Some(enc) })
    }

    /// Decodes `bytes`, refusing only binary data.
    pub fn decode<'a>(&self, bytes: &'a [u8]) -> Result<Decoded<'a>, NotText> {
        if let Some((enc, bom_len)) = Encoding::for_bom(bytes) {
            let (text, lossy) =
                enc.decode_without_bom_handling(&bytes[bom_len..]);
            return Ok(Decoded {
                text,
                encoding: enc.name(),
                method: Method::Bom,
                lossy,
            });
        }
        if let Some(enc) = self.forced {
            let (text, lossy) = enc.decode_without_bom_handling(bytes);
            return Ok(Decoded {
                text,
                encoding: enc.name(),
                method: Method::Forced,
                lossy,
            });
        }
        if let Ok(text) = std::str::from_utf8(bytes) {
            if looks_binary(bytes) {
                return Err(NotText { reason: "binary data".into() });
            }
            return Ok(Decoded {
                text: Cow::Borrowed(text),
                encoding: "UTF-8",
                method: Method::Utf8,
                lossy: false,
            });
        }
        if looks_binary(bytes) {
            return Err(NotText { reason: "binary data".into() });
        }
        let mut detector = chardetng::EncodingDetector::new();
        detector.feed(bytes, true);
        let enc = detector.guess(None, true);
        let (text, lossy) = enc.decode_without_bom_handling(bytes);
        Ok(Decoded {
            text,
            encoding: enc.name(),
            method: Method::Detected,
            lossy,
        })
    }
}

/// Text has almost no C0 controls besides tab, newline, form feed and
/// carriage return; binary formats are full of them.
fn looks_binary(bytes: &[u8]) -> bool {
    let sample = &bytes[..bytes.len().min(8192)];
    if sample.is_empty() {
        return false;
    }
    let controls = sample
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0c))
        .count();
    controls * 100 > sample.len() * 5
}
