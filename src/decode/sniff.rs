//! Cheap looks at the bytes: BOMs, UTF-16/32 without a BOM, binary formats.

use super::legacy::Codec;

/// The encoding named by a byte order mark, and the mark's length.
/// UTF-32LE's mark (`FF FE 00 00`) is checked before UTF-16LE's (`FF FE`).
pub(crate) fn bom(bytes: &[u8]) -> Option<(Codec, usize)> {
    if bytes.starts_with(&[0xFF, 0xFE, 0, 0]) && bytes.len().is_multiple_of(4)
    {
        return Some((Codec::Utf32Le, 4));
    }
    if bytes.starts_with(&[0, 0, 0xFE, 0xFF]) {
        return Some((Codec::Utf32Be, 4));
    }
    encoding_rs::Encoding::for_bom(bytes).map(|(e, n)| (Codec::Rs(e), n))
}

/// How many leading bytes the sniffers look at.
pub(crate) const SAMPLE: usize = 16 * 1024;

/// UTF-16 or UTF-32 without a BOM, recognised by where the NUL bytes
/// fall: text in Latin, Cyrillic, Greek… scripts has a NUL in the high
/// byte of most code units. Returns `None` unless one pattern is clear and
/// the sample decodes to text without stray controls.
pub(crate) fn utf16_32_without_bom(bytes: &[u8]) -> Option<Codec> {
    let n = bytes.len().min(SAMPLE) & !3;
    if n < 8 {
        return utf16_short(bytes);
    }
    let sample = &bytes[..n];
    // zeros[i] counts NULs at positions i mod 4; planes[0] counts code
    // units whose plane byte (third little-endian byte) is at most 0x10
    // and whose top byte is NUL, planes[1] the same big-endian.
    let mut zeros = [0usize; 4];
    let mut planes = [0usize; 2];
    for quad in sample.chunks_exact(4) {
        for (z, &b) in zeros.iter_mut().zip(quad) {
            *z += usize::from(b == 0);
        }
        planes[0] += usize::from(quad[3] == 0 && quad[2] <= 0x10);
        planes[1] += usize::from(quad[0] == 0 && quad[1] <= 0x10);
    }
    let units4 = n / 4;
    // UTF-32: every unit is a code point, most of them in the BMP.
    let candidate = if planes[0] == units4
        && zeros[2] * 2 >= units4
        && zeros[0] < units4
    {
        Some(Codec::Utf32Le)
    } else if planes[1] == units4
        && zeros[1] * 2 >= units4
        && zeros[3] < units4
    {
        Some(Codec::Utf32Be)
    } else {
        let (even, odd) = (zeros[0] + zeros[2], zeros[1] + zeros[3]);
        let units2 = n / 2;
        // Most high bytes are NUL; few low bytes are.
        if odd * 10 >= units2 * 4 && even * 20 <= odd {
            Some(Codec::Rs(encoding_rs::UTF_16LE))
        } else if even * 10 >= units2 * 4 && odd * 20 <= even {
            Some(Codec::Rs(encoding_rs::UTF_16BE))
        } else {
            // Fewer NULs (CJK, Cyrillic… with some ASCII), mostly on one
            // side, or none: the decoded sample must then be clean text.
            let le = Codec::Rs(encoding_rs::UTF_16LE);
            let be = Codec::Rs(encoding_rs::UTF_16BE);
            Some(le)
                .filter(|&c| even * 2 <= odd && plausible(c, sample))
                .or(Some(be)
                    .filter(|&c| odd * 2 <= even && plausible(c, sample)))
        }
    };
    candidate.filter(|&c| decodes_to_text(c, sample))
}

/// Nearly all characters of the decoded sample are letters, digits,
/// marks, whitespace or punctuation of assigned, non-private blocks.
fn plausible(codec: Codec, sample: &[u8]) -> bool {
    let (text, _) = codec.decode(sample);
    let mut chars = 0usize;
    let mut odd = 0usize;
    for c in text.chars() {
        chars += 1;
        let ok = c.is_alphanumeric()
            || c.is_whitespace()
            || c.is_ascii_punctuation()
            || matches!(c,
                '\u{2000}'..='\u{2BFF}'   // punctuation, symbols, arrows
                | '\u{3000}'..='\u{303F}' // CJK punctuation
                | '\u{FF00}'..='\u{FFEF}' // full-width forms
                | '\u{0300}'..='\u{036F}' // combining marks
                | '\u{00A0}'..='\u{00BF}');
        let bad =
            !ok || ('\u{E000}'..='\u{F8FF}').contains(&c) || c == '\u{FFFD}';
        odd += usize::from(bad);
    }
    chars > 0 && odd * 50 <= chars
}

/// Very short inputs: only the plain ASCII-in-UTF-16 pattern.
fn utf16_short(bytes: &[u8]) -> Option<Codec> {
    if bytes.len() < 4 || !bytes.len().is_multiple_of(2) {
        return None;
    }
    let ascii = |hi: u8, lo: u8| hi == 0 && (0x20..0x7F).contains(&lo);
    let pairs = bytes.chunks_exact(2);
    if pairs.clone().all(|p| ascii(p[1], p[0])) {
        Some(Codec::Rs(encoding_rs::UTF_16LE))
    } else if pairs.clone().all(|p| ascii(p[0], p[1])) {
        Some(Codec::Rs(encoding_rs::UTF_16BE))
    } else {
        None
    }
}

/// The sample decodes without errors (a cut surrogate pair at the end is
/// fine) to characters that are rarely controls.
fn decodes_to_text(codec: Codec, sample: &[u8]) -> bool {
    let (text, _) = codec.decode(sample);
    let mut chars = 0usize;
    let mut bad = 0usize;
    for c in text.chars() {
        chars += 1;
        if c == '\u{FFFD}'
            || (c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\x0c'))
        {
            bad += 1;
        }
    }
    bad <= 1 + chars / 100
}

/// A well-known binary format recognised by its first bytes.
pub(crate) fn magic(bytes: &[u8]) -> Option<&'static str> {
    const MAGIC: &[(&[u8], &str)] = &[
        (b"\x89PNG\r\n\x1a\n", "looks like a PNG image"),
        (b"GIF87a", "looks like a GIF image"),
        (b"GIF89a", "looks like a GIF image"),
        (b"\xFF\xD8\xFF", "looks like a JPEG image"),
        (b"%PDF-", "looks like a PDF document"),
        (b"PK\x03\x04", "looks like a ZIP archive"),
        (b"PK\x05\x06", "looks like a ZIP archive"),
        (b"\x1F\x8B", "looks like gzip data"),
        (b"BZh", "looks like bzip2 data"),
        (b"\xFD7zXZ\x00", "looks like xz data"),
        (b"\x28\xB5\x2F\xFD", "looks like zstd data"),
        (b"7z\xBC\xAF\x27\x1C", "looks like a 7-Zip archive"),
        (b"Rar!\x1A\x07", "looks like a RAR archive"),
        (b"\x7FELF", "looks like an ELF executable"),
        (b"\xCA\xFE\xBA\xBE", "looks like a Mach-O or Java class file"),
        (b"\xCF\xFA\xED\xFE", "looks like a Mach-O executable"),
        (b"\xCE\xFA\xED\xFE", "looks like a Mach-O executable"),
        (b"\0asm", "looks like WebAssembly"),
        (b"SQLite format 3\0", "looks like an SQLite database"),
        (b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", "looks like an OLE document"),
        (b"OggS\0", "looks like Ogg media"),
        (b"ID3", "looks like MP3 audio"),
        (b"wOFF", "looks like a WOFF font"),
        (b"wOF2", "looks like a WOFF2 font"),
        (b"\x00\x01\x00\x00\x00", "looks like a TrueType font"),
    ];
    for &(m, what) in MAGIC {
        if bytes.starts_with(m) {
            // Three-byte magics that are also plausible text openings
            // ("BZh", "ID3") need a binary-looking byte right after.
            if m.len() <= 3 && m.is_ascii() {
                let next = bytes.get(m.len()).copied().unwrap_or(b' ');
                let ok = match m {
                    b"BZh" => {
                        next.is_ascii_digit()
                            && bytes.get(4..10) == Some(b"1AY&SY")
                    }
                    _ => next < 0x09,
                };
                if !ok {
                    continue;
                }
            }
            return Some(what);
        }
    }
    if bytes.len() >= 12 && &bytes[..4] == b"RIFF" {
        return Some("looks like a RIFF file (WAV, AVI or WebP)");
    }
    if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
        return Some("looks like an MP4/QuickTime or HEIF file");
    }
    if bytes.len() > 262 && &bytes[257..262] == b"ustar" {
        return Some("looks like a tar archive");
    }
    if bytes.starts_with(b"MZ")
        && bytes.len() > 64
        && bytes[2..64].contains(&0)
    {
        return Some("looks like a Windows executable");
    }
    None
}

/// Counts of the bytes that say "binary" in a sample.
pub(crate) struct Controls {
    /// Bytes in the sample.
    pub(crate) len: usize,
    /// NUL bytes.
    pub(crate) nul: usize,
    /// C0 controls other than NUL, tab, newline, form feed, carriage
    /// return, and the ISO 2022 escape, shift-out and shift-in, plus DEL.
    pub(crate) other: usize,
}

/// Counts control bytes in the first [`SAMPLE`] bytes.
pub(crate) fn controls(bytes: &[u8]) -> Controls {
    let sample = &bytes[..bytes.len().min(SAMPLE)];
    // Most text has no control byte but tab and line breaks: a quicker
    // pass says so, and only the rest is counted.
    if only_tabs_and_breaks(sample) {
        return Controls { len: sample.len(), nul: 0, other: 0 };
    }
    // Counted as three byte classes in u8 lanes, 255 bytes at a time, so
    // the loop vectorises: this runs on every input, twice.
    let (mut nul, mut controls, mut allowed) = (0usize, 0usize, 0usize);
    for chunk in sample.chunks(255) {
        let (mut n, mut c, mut a) = (0u8, 0u8, 0u8);
        for &b in chunk {
            n += u8::from(b == 0);
            c += u8::from(b < 0x20 || b == 0x7F);
            a += u8::from(matches!(
                b,
                b'\t' | b'\n' | b'\r' | 0x0C | 0x1B | 0x0E | 0x0F
            ));
        }
        nul += usize::from(n);
        controls += usize::from(c);
        allowed += usize::from(a);
    }
    let other = controls - nul - allowed;
    Controls { len: sample.len(), nul, other }
}

/// True when `bytes` has no control byte but tab, line feed and carriage
/// return: sixteen bytes at a time with SSE2.
#[cfg(target_arch = "x86_64")]
fn only_tabs_and_breaks(bytes: &[u8]) -> bool {
    use crate::sse2::splat;
    use std::arch::x86_64::*;
    let mut sixteens = bytes.chunks_exact(16);
    // SAFETY: every x86-64 CPU has SSE2 (the build enables it), and each
    // unaligned load reads the sixteen bytes of one chunk.
    let found = unsafe {
        let mut found = _mm_setzero_si128();
        for sixteen in &mut sixteens {
            let x = _mm_loadu_si128(sixteen.as_ptr().cast());
            // Unsigned x <= 0x1f: the minimum of the two is x.
            let control = _mm_cmpeq_epi8(_mm_min_epu8(x, splat(0x1f)), x);
            let allowed = _mm_or_si128(
                _mm_or_si128(
                    _mm_cmpeq_epi8(x, splat(b'\t')),
                    _mm_cmpeq_epi8(x, splat(b'\n')),
                ),
                _mm_cmpeq_epi8(x, splat(b'\r')),
            );
            let delete = _mm_cmpeq_epi8(x, splat(0x7f));
            found = _mm_or_si128(
                found,
                _mm_or_si128(_mm_andnot_si128(allowed, control), delete),
            );
        }
        _mm_movemask_epi8(found)
    };
    found == 0 && only_tabs_and_breaks_bytes(sixteens.remainder())
}

#[cfg(not(target_arch = "x86_64"))]
use only_tabs_and_breaks_bytes as only_tabs_and_breaks;

/// [`only_tabs_and_breaks`] a byte at a time.
fn only_tabs_and_breaks_bytes(bytes: &[u8]) -> bool {
    bytes.iter().all(|&b| {
        (b >= 0x20 && b != 0x7f) || matches!(b, b'\t' | b'\n' | b'\r')
    })
}

/// Why `bytes` is not text, judged from control bytes, or `None`.
///
/// Refused: more than 5% controls other than NUL, or NUL bytes mixed with
/// anything that is not clean text. NUL bytes alone (text padded with NUL
/// runs) are tolerated when every other byte is printable or whitespace
/// and valid UTF-8, since no binary format looks like that.
pub(crate) fn binary_reason(bytes: &[u8], utf8: bool) -> Option<String> {
    let c = controls(bytes);
    if c.len == 0 {
        return None;
    }
    if c.other * 100 > c.len * 5 {
        let pct = (c.other + c.nul) * 100 / c.len;
        return Some(format!("binary data: {pct}% control bytes"));
    }
    if c.nul > 0 && (!utf8 || c.other > 0) {
        let pct = c.nul * 100 / c.len;
        let pct = if pct == 0 { "<1".to_string() } else { pct.to_string() };
        return Some(format!("binary data: {pct}% NUL bytes, not UTF-16/32"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The quick pass agrees with a byte-by-byte one, whatever byte comes
    /// wherever; and the counts stay those of a plain count.
    #[test]
    fn control_bytes_are_found_at_every_offset() {
        for b in 0..=255u8 {
            for len in [1, 15, 16, 17, 40, 255, 256, 600] {
                for at in [0, len / 2, len - 1] {
                    let mut bytes = vec![b'a'; len];
                    bytes[at] = b;
                    assert_eq!(
                        only_tabs_and_breaks(&bytes),
                        only_tabs_and_breaks_bytes(&bytes),
                        "{b:#x} at {at} of {len}"
                    );
                    let counted = controls(&bytes);
                    let nul = bytes.iter().filter(|&&b| b == 0).count();
                    let other = bytes
                        .iter()
                        .filter(|&&b| {
                            (b < 0x20 || b == 0x7f)
                                && !matches!(
                                    b,
                                    0 | b'\t'
                                        | b'\n'
                                        | b'\r'
                                        | 0x0c
                                        | 0x1b
                                        | 0x0e
                                        | 0x0f
                                )
                        })
                        .count();
                    assert_eq!((counted.nul, counted.other), (nul, other));
                }
            }
        }
    }
}
