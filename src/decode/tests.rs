//! Unit tests of the decode stage; data under `fixtures/decode/`.

use std::borrow::Cow;
use std::path::PathBuf;

use super::*;

struct Case {
    file: String,
    accepted: Vec<String>,
    method: String,
    bytes: Vec<u8>,
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/decode")
}

fn cases() -> Vec<Case> {
    let table = std::fs::read_to_string(fixtures().join("cases.tsv")).unwrap();
    table
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            let bytes = std::fs::read(fixtures().join(f[0])).unwrap();
            Case {
                file: f[0].to_string(),
                accepted: f[1].split('|').map(str::to_string).collect(),
                method: f[2].to_string(),
                bytes,
            }
        })
        .collect()
}

#[test]
fn fixtures_are_detected_right() {
    let decoder = Decoder::new();
    let cases = cases();
    assert!(cases.len() >= 20);
    for case in &cases {
        let doc = decoder
            .decode(&case.bytes)
            .unwrap_or_else(|e| panic!("{}: refused: {e}", case.file));
        assert!(
            case.accepted.iter().any(|a| a == doc.encoding),
            "{}: got {}, want {:?}",
            case.file,
            doc.encoding,
            case.accepted
        );
        assert_eq!(doc.method.as_str(), case.method, "{}", case.file);
        assert!(!doc.lossy, "{}: lossy", case.file);
        assert!(!doc.text.contains('\u{FFFD}'), "{}", case.file);
    }
}

#[test]
fn padding_with_ascii_keeps_the_encoding() {
    let decoder = Decoder::new();
    let pad = b"<!-- padding: ascii text. -->\n\n\n";
    assert_eq!(pad.len(), 32);
    for case in cases() {
        // Prefixing bytes breaks the code unit alignment of UTF-16/32
        // and moves a BOM; those are not padding invariant by nature.
        if case.file.starts_with("utf-") || case.method == "bom" {
            continue;
        }
        for n in 0..32 {
            let mut bytes = pad[..n].to_vec();
            bytes.extend_from_slice(&case.bytes);
            let doc = decoder.decode(&bytes).unwrap();
            assert!(
                case.accepted.iter().any(|a| a == doc.encoding),
                "{} with {n} bytes of padding: got {}",
                case.file,
                doc.encoding
            );
        }
    }
}

#[test]
fn mixed_file_keeps_utf8_and_decodes_stray_bytes() {
    let bytes =
        std::fs::read(fixtures().join("mixed-utf8-cp1252-fr.txt")).unwrap();
    let doc = Decoder::new().decode(&bytes).unwrap();
    assert_eq!(doc.method, Method::MixedUtf8);
    assert_eq!(doc.mixed_with, Some("windows-1252"));
    assert_eq!(doc.text.matches(" “citée”").count(), 12);
    // The UTF-8 parts are intact: the text is the UTF-8 bytes with only
    // the windows-1252 runs changed.
    let lossy = String::from_utf8_lossy(&bytes);
    assert_eq!(
        doc.text.replace(" “citée”", ""),
        lossy.replace(" \u{FFFD}cit\u{FFFD}e\u{FFFD}", "")
    );
}

#[test]
fn legacy_latin_text_is_not_mixed() {
    let bytes = "Le café est prêt, dit-elle à l'été.".as_bytes();
    let latin1 =
        encoding_rs::WINDOWS_1252.encode(std::str::from_utf8(bytes).unwrap());
    let doc = Decoder::new().decode(&latin1.0).unwrap();
    assert_eq!(doc.method, Method::Detected);
    assert_eq!(doc.text, "Le café est prêt, dit-elle à l'été.");
}

#[test]
fn valid_utf8_is_borrowed() {
    let text = "Съешь же ещё этих мягких французских булок. Ünïcödé ✓";
    let doc = Decoder::new().decode(text.as_bytes()).unwrap();
    assert_eq!(doc.method, Method::Utf8);
    assert_eq!(doc.encoding, "UTF-8");
    match doc.text {
        Cow::Borrowed(s) => assert!(std::ptr::eq(s, text)),
        Cow::Owned(_) => panic!("valid UTF-8 was copied"),
    }
}

#[test]
fn empty_input_is_empty_text() {
    let doc = Decoder::new().decode(b"").unwrap();
    assert_eq!(doc.text, "");
    assert!(!doc.lossy);
}

/// Deterministic pseudo-random bytes.
fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed;
    (0..n)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 56) as u8
        })
        .collect()
}

#[test]
fn binary_inputs_are_refused() {
    let decoder = Decoder::new();
    let with_header = |h: &[u8]| {
        let mut v = h.to_vec();
        v.extend(noise(4000, h.len() as u64));
        v
    };
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (with_header(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), "PNG"),
        (with_header(b"\x1f\x8b\x08\x00\0\0\0\0\0\x03"), "gzip"),
        (with_header(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0"), "ELF"),
        (with_header(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"), "PDF"),
        (with_header(b"PK\x03\x04\x14\0\0\0\x08\0"), "ZIP"),
        (noise(5000, 7), "binary data"),
        (
            (0..4096u32)
                .flat_map(|i| i.wrapping_mul(2654435761).to_le_bytes())
                .collect(),
            "binary data",
        ),
    ];
    for (bytes, what) in cases {
        let err = decoder.decode(&bytes).expect_err(what);
        assert!(err.reason.contains(what), "{what}: {}", err.reason);
    }
}

#[test]
fn text_with_iso2022_escapes_is_not_binary() {
    let bytes = std::fs::read(fixtures().join("iso-2022-kr-ko.txt")).unwrap();
    let doc = Decoder::new().decode(&bytes).unwrap();
    assert!(doc.text.starts_with("역사적 예수"), "{}", &doc.text[..40]);
    let jp = b"\x1b$B$3$s$K$A$O\x1b(B, world";
    let doc = Decoder::new().decode(jp).unwrap();
    assert_eq!(doc.encoding, "ISO-2022-JP");
    assert_eq!(doc.text, "こんにちは, world");
}

#[test]
fn short_utf16_without_bom() {
    let bytes: Vec<u8> =
        "Hello, world".encode_utf16().flat_map(u16::to_le_bytes).collect();
    let doc = Decoder::new().decode(&bytes).unwrap();
    assert_eq!((doc.encoding, &*doc.text), ("UTF-16LE", "Hello, world"));
    let bytes: Vec<u8> = "Привет, мир! Hello there, friends."
        .encode_utf16()
        .flat_map(u16::to_be_bytes)
        .collect();
    let doc = Decoder::new().decode(&bytes).unwrap();
    assert_eq!(doc.encoding, "UTF-16BE");
    assert_eq!(doc.text, "Привет, мир! Hello there, friends.");
}

#[test]
fn forced_labels() {
    let bytes = std::fs::read(fixtures().join("ibm855-ru.xml")).unwrap();
    let detected = Decoder::new().decode(&bytes).unwrap();
    for label in ["ibm855", "cp855", " IBM855 "] {
        let doc = Decoder::with_label(label).unwrap().decode(&bytes).unwrap();
        assert_eq!(doc.method, Method::Forced);
        assert_eq!(doc.text, detected.text);
    }
    let doc =
        Decoder::with_label("latin1").unwrap().decode(b"caf\xe9").unwrap();
    assert_eq!((doc.encoding, &*doc.text), ("windows-1252", "café"));
    for label in ["utf-32", "johab", "iso-2022-kr", "koi8-r", "mac-cyrillic"] {
        assert!(Decoder::with_label(label).is_ok(), "{label}");
    }
    assert!(matches!(
        Decoder::with_label("klingon"),
        Err(BuildError::UnknownEncoding(_))
    ));
    // A BOM still wins over a forced label.
    let doc = Decoder::with_label("koi8-r")
        .unwrap()
        .decode(b"\xef\xbb\xbfhi")
        .unwrap();
    assert_eq!((doc.method, &*doc.text), (Method::Bom, "hi"));
}

#[test]
fn decoder_is_clone_send_sync() {
    fn check<T: Clone + Send + Sync>() {}
    check::<Decoder>();
}

/// Throughput, run with
/// `cargo test --release --lib decode::tests::throughput -- --ignored --nocapture`.
#[test]
#[ignore]
fn throughput() {
    let decoder = Decoder::new();
    let utf8 = "Съешь же ещё этих мягких французских булок, да выпей чаю. \
                The quick brown fox jumps over the lazy dog.\n"
        .repeat(200_000);
    let legacy =
        std::fs::read(fixtures().join("windows-1251-ru.xml")).unwrap();
    let legacy = legacy.repeat(64 * 1024 * 1024 / legacy.len() / 16);
    let time = |name: &str, bytes: &[u8], rounds: usize| {
        let start = std::time::Instant::now();
        for _ in 0..rounds {
            std::hint::black_box(
                decoder.decode(std::hint::black_box(bytes)).unwrap(),
            );
        }
        let secs = start.elapsed().as_secs_f64();
        let mbs = (bytes.len() * rounds) as f64 / secs / 1e6;
        println!("{name}: {} bytes x {rounds}: {mbs:.0} MB/s", bytes.len());
    };
    let start = std::time::Instant::now();
    for _ in 0..20 {
        std::hint::black_box(
            std::str::from_utf8(std::hint::black_box(utf8.as_bytes())).is_ok(),
        );
    }
    let mbs = (utf8.len() * 20) as f64 / start.elapsed().as_secs_f64() / 1e6;
    println!("baseline: std::str::from_utf8 alone: {mbs:.0} MB/s");
    time("valid UTF-8", utf8.as_bytes(), 20);
    let ascii =
        "The quick brown fox jumps over the lazy dog.\n".repeat(500_000);
    time("valid ASCII", ascii.as_bytes(), 20);
    time("windows-1251", &legacy, 3);
}
