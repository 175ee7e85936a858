//! Bytes to text: BOM, UTF-8, a forced label, or detection.
//!
//! Decoding is lossy and never fails on malformed bytes: it returns the text
//! together with what it chose and whether anything was lost. Only input
//! that is not text in any encoding (binary files) is refused, with
//! [`NotText`].
//!
//! The order of the checks, see [`Decoder::decode`]:
//!
//! 1. A byte order mark: UTF-8, UTF-16LE/BE, UTF-32LE/BE.
//! 2. A forced encoding ([`Decoder::with_label`]).
//! 3. Valid UTF-8 without NUL or ESC bytes and without many control bytes
//!    in its first 16 KiB is returned borrowed: the hot path costs
//!    `from_utf8` and a look at those 16 KiB.
//! 4. Known binary formats (by magic number) are refused.
//! 5. UTF-16/UTF-32 without a BOM, from where the NUL bytes fall.
//! 6. Other control-heavy or NUL-containing input is refused as binary.
//! 7. 7-bit ISO-2022-KR and ISO-2022-JP, from their escape sequences.
//! 8. Mostly valid UTF-8 with stray legacy bytes ([`Method::MixedUtf8`]).
//! 9. Detection: chardetng's guess, then revised for encodings it does
//!    not know or often confuses: Johab; the single-byte Cyrillic
//!    encodings (windows-1251, KOI8-R, ISO-8859-5, IBM866, IBM855, Mac
//!    Cyrillic) by a letter bigram model; windows-1252 / windows-1250 /
//!    ISO-8859-2 / Mac Roman by the letters of European alphabets.

mod cyrillic;
mod latin;
mod legacy;
mod sniff;
mod tables;

use std::borrow::Cow;

use legacy::Codec;

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
    /// For [`Method::MixedUtf8`], the legacy encoding that decoded the
    /// invalid runs; `None` otherwise.
    pub mixed_with: Option<&'static str>,
}

impl<'a> Decoded<'a> {
    fn new(
        text: Cow<'a, str>,
        codec: Codec,
        method: Method,
        lossy: bool,
    ) -> Decoded<'a> {
        Decoded {
            text,
            encoding: codec.name(),
            method,
            lossy,
            mixed_with: None,
        }
    }
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

impl std::error::Error for NotText {}

/// Decodes bytes of unknown encoding into UTF-8 text.
#[derive(Clone, Debug, Default)]
pub struct Decoder {
    forced: Option<Codec>,
}

impl Decoder {
    /// A decoder that detects the encoding of each document.
    pub fn new() -> Decoder {
        Decoder::default()
    }

    /// A decoder that uses the encoding named by `label` unless a BOM
    /// says otherwise.
    ///
    /// Labels: those of the WHATWG Encoding Standard, plus `utf-32`
    /// (`utf-32le`, `utf-32be`), `ibm855` (`cp855`), `cp866`, `johab`
    /// (`cp1361`), `iso-2022-kr` and `mac-cyrillic`.
    pub fn with_label(label: &str) -> Result<Decoder, BuildError> {
        let codec = Codec::for_label(label)
            .ok_or_else(|| BuildError::UnknownEncoding(label.to_string()))?;
        Ok(Decoder { forced: Some(codec) })
    }

    /// Decodes `bytes`, refusing only binary data. Empty input is empty
    /// text. Valid UTF-8 is returned borrowed.
    pub fn decode<'a>(&self, bytes: &'a [u8]) -> Result<Decoded<'a>, NotText> {
        if let Some((codec, bom_len)) = sniff::bom(bytes) {
            let (text, lossy) = codec.decode(&bytes[bom_len..]);
            return Ok(Decoded::new(text, codec, Method::Bom, lossy));
        }
        if let Some(codec) = self.forced {
            let (text, lossy) = codec.decode(bytes);
            return Ok(Decoded::new(text, codec, Method::Forced, lossy));
        }
        let utf8 = simdutf8::basic::from_utf8(bytes).ok();
        if let Some(text) = utf8 {
            // Only the sniffing sample is looked at: UTF-16/32 has NULs
            // from the start, and ISO-2022 text its escapes near it.
            let sample = &bytes[..bytes.len().min(sniff::SAMPLE)];
            if memchr::memchr2(0, 0x1B, sample).is_none() {
                if let Some(reason) = sniff::binary_reason(bytes, true) {
                    return Err(NotText { reason });
                }
                return Ok(Decoded::new(
                    Cow::Borrowed(text),
                    Codec::Rs(encoding_rs::UTF_8),
                    Method::Utf8,
                    false,
                ));
            }
        }
        if let Some(what) = sniff::magic(bytes) {
            return Err(NotText { reason: what.to_string() });
        }
        if memchr::memchr(0, bytes).is_some()
            || sniff::binary_reason(bytes, utf8.is_some()).is_some()
        {
            if let Some(codec) = sniff::utf16_32_without_bom(bytes) {
                let (text, lossy) = codec.decode(bytes);
                return Ok(Decoded::new(text, codec, Method::Detected, lossy));
            }
        }
        if let Some(reason) = sniff::binary_reason(bytes, utf8.is_some()) {
            return Err(NotText { reason });
        }
        if let Some(codec) = iso2022(bytes) {
            let (text, lossy) = codec.decode(bytes);
            return Ok(Decoded::new(text, codec, Method::Detected, lossy));
        }
        if let Some(text) = utf8 {
            return Ok(Decoded::new(
                Cow::Borrowed(text),
                Codec::Rs(encoding_rs::UTF_8),
                Method::Utf8,
                false,
            ));
        }
        if let Some(doc) = mixed_utf8(bytes) {
            return Ok(doc);
        }
        let codec = detect(bytes);
        let (text, lossy) = codec.decode(bytes);
        Ok(Decoded::new(text, codec, Method::Detected, lossy))
    }
}

/// ISO-2022-KR or ISO-2022-JP: 7-bit text with their escape sequences.
fn iso2022(bytes: &[u8]) -> Option<Codec> {
    memchr::memchr(0x1B, bytes)?;
    if !bytes.is_ascii() {
        return None;
    }
    let finder = |needle: &[u8]| memchr::memmem::find(bytes, needle).is_some();
    if finder(legacy::ISO2022KR_DESIGNATOR)
        && memchr::memchr(0x0E, bytes).is_some()
    {
        return Some(Codec::Iso2022Kr);
    }
    if finder(b"\x1b$B")
        || finder(b"\x1b$@")
        || finder(b"\x1b(J")
        || finder(b"\x1b(I")
    {
        return Some(Codec::Rs(encoding_rs::ISO_2022_JP));
    }
    None
}

/// Mostly valid UTF-8 with a few invalid bytes, decoded piecewise.
///
/// The rule: the valid parts hold at least 3 multi-byte characters and at
/// least 2 of them for every invalid byte. Legacy text seldom forms valid
/// multi-byte UTF-8 sequences by chance (single-byte encodings almost
/// never; EUC-JP, the worst case, about 0.4 per invalid byte), so a legacy
/// file (mostly ASCII with a few high bytes, or full of them) fails the
/// rule and goes to detection as a whole, as does a file that is about
/// half UTF-8 and half legacy. The scan stops early, with no, as soon as
/// 256 invalid bytes have been seen and the rule fails at that point. The invalid runs are decoded with the
/// encoding detected on the document with its valid non-ASCII characters
/// blanked out.
fn mixed_utf8(bytes: &[u8]) -> Option<Decoded<'static>> {
    let mut multi = 0usize;
    let mut bad = 0usize;
    for chunk in bytes.utf8_chunks() {
        multi += chunk.valid().bytes().filter(|&b| b >= 0xC0).count();
        bad += chunk.invalid().len();
        if bad >= 256 && multi < 2 * bad {
            return None;
        }
    }
    if multi < 3 || multi < 2 * bad {
        return None;
    }
    let mut view = Vec::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        view.extend(chunk.valid().bytes().map(|b| {
            if b >= 0x80 {
                b' '
            } else {
                b
            }
        }));
        view.extend_from_slice(chunk.invalid());
    }
    let legacy = detect(&view);
    let mut text = String::with_capacity(bytes.len() + bad * 2);
    let mut lossy = false;
    let mut pending: Vec<u8> = Vec::new();
    let mut flush = |pending: &mut Vec<u8>, text: &mut String| {
        if !pending.is_empty() {
            let (s, l) = legacy.decode(pending);
            text.push_str(&s);
            lossy |= l;
            pending.clear();
        }
    };
    for chunk in bytes.utf8_chunks() {
        if !chunk.valid().is_empty() {
            flush(&mut pending, &mut text);
            text.push_str(chunk.valid());
        }
        pending.extend_from_slice(chunk.invalid());
    }
    flush(&mut pending, &mut text);
    Some(Decoded {
        text: Cow::Owned(text),
        encoding: "UTF-8",
        method: Method::MixedUtf8,
        lossy,
        mixed_with: Some(legacy.name()),
    })
}

/// How much text chardetng sees at most: it runs at about 20 MB/s, so
/// large inputs are sampled in blocks that hold non-ASCII bytes (pure
/// ASCII blocks tell nothing about the encoding).
const DETECT_BUDGET: usize = 128 * 1024;
const DETECT_BLOCK: usize = 4 * 1024;

/// chardetng's guess from a sample of `bytes`.
fn chardetng_guess(bytes: &[u8]) -> &'static encoding_rs::Encoding {
    let mut detector = chardetng::EncodingDetector::new();
    if bytes.len() <= DETECT_BUDGET {
        detector.feed(bytes, true);
    } else {
        let mut fed = 0;
        for block in bytes.chunks(DETECT_BLOCK) {
            if fed >= DETECT_BUDGET {
                break;
            }
            if !block.is_ascii() {
                detector.feed(block, false);
                fed += block.len();
            }
        }
        detector.feed(&[], true);
    }
    detector.guess(None, true)
}

/// The detected encoding of non-UTF-8 bytes: chardetng's guess, revised.
fn detect(bytes: &[u8]) -> Codec {
    let guess = Codec::Rs(chardetng_guess(bytes));
    if johab(bytes) && (guess.is_single_byte() || guess.decode(bytes).1) {
        return Codec::Johab;
    }
    if !guess.is_single_byte() {
        return guess;
    }
    if cyrillic::is_cyrillic(guess) {
        return cyrillic::best(bytes).map_or(guess, |v| v.codec);
    }
    if latin::is_latin(guess) {
        if let Some(v) = cyrillic::best(bytes) {
            if v.letters >= CYRILLIC_MIN_LETTERS && v.mean >= CYRILLIC_MIN_MEAN
            {
                return v.codec;
            }
        }
    }
    if latin::is_latin(guess) {
        return latin::refine(guess, bytes);
    }
    guess
}

/// For a Latin guess: the share of high bytes that must decode to Cyrillic
/// letters, and the mean log-probability per high byte, for the Cyrillic
/// model to overrule it. Real Russian and Bulgarian text scores about
/// -3.5 (-6.3 for a few words), Western and Central European text -8.5
/// and below.
const CYRILLIC_MIN_LETTERS: f32 = 0.9;
const CYRILLIC_MIN_MEAN: f32 = -7.0;

/// Johab: every high byte starts a valid double-byte character, there are
/// at least 8 of them and most are Hangul syllables.
fn johab(bytes: &[u8]) -> bool {
    let sample = &bytes[..bytes.len().min(64 * 1024)];
    let (text, lossy, pairs) = legacy::decode_johab_counted(sample);
    // A cut character at the end of the sample is not an error.
    if pairs < 8
        || (lossy && text.trim_end_matches('\u{FFFD}').contains('\u{FFFD}'))
    {
        return false;
    }
    let hangul =
        text.chars().filter(|c| ('\u{AC00}'..='\u{D7A3}').contains(c)).count();
    hangul * 2 > pairs
}

#[cfg(test)]
mod tests;
