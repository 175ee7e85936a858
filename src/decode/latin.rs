//! Choosing among Western and Central European single-byte encodings.
//!
//! chardetng often settles on windows-1252 for short Central European
//! text (Hungarian ő and ű become õ and û) and sometimes on windows-1250
//! for Western text. Each candidate decodes the bytes >= 0x80; the share
//! of them that are letters of one European language's alphabet (or
//! common signs such as £ « » – “ ”) is the candidate's coverage, taken for
//! the language that covers most. Upper-case letters right after
//! lower-case ones and letters touching digits count as uncovered. A
//! candidate replaces the detector's guess only when it leaves fewer than
//! half as many bytes uncovered.

use encoding_rs::{
    Encoding, ISO_8859_2, MACINTOSH, WINDOWS_1250, WINDOWS_1252,
};

use super::legacy::Codec;

/// The accented letters (lower case) of European languages written in
/// windows-1252 or windows-1250 / ISO-8859-2.
const ALPHABETS: &[&str] = &[
    "àâæçéèêëîïôœùûüÿ",  // French
    "äöüß",              // German
    "áéíñóúü",           // Spanish
    "àáâãçéêíóôõú",      // Portuguese
    "àèéìíîòóùú",        // Italian
    "áéèëïóöü",          // Dutch
    "àçèéíïòóúü",        // Catalan
    "åäöé",              // Swedish, Finnish
    "åæøéó",             // Danish, Norwegian
    "áæéíðóöúýþ",        // Icelandic
    "áéíóöőúüű",         // Hungarian
    "áčďéěíňóřšťúůýž",   // Czech
    "áäčďéíĺľňóôŕšťúýž", // Slovak
    "ąćęłńóśźż",         // Polish
    "čćđšž",             // Croatian, Bosnian, Slovene
    "ăâîșțşţ",           // Romanian
];

/// Signs common in any European text.
const SIGNS: &str =
    "«»–—„“”‘’‚…•·©®°€£¥§±×÷½¼¾¹²³\u{a0}\u{ad}¡¿™†‡‰¢¤¦¨¯´µ¸ªº¬";

/// The encodings a Latin guess is compared with, in order of preference.
const CANDIDATES: [&Encoding; 4] =
    [WINDOWS_1252, WINDOWS_1250, ISO_8859_2, MACINTOSH];

/// True for the guesses this module may revise.
pub(crate) fn is_latin(codec: Codec) -> bool {
    matches!(codec, Codec::Rs(e) if e == WINDOWS_1252 || e == WINDOWS_1250 || e == ISO_8859_2)
}

/// How many high bytes `enc` decodes to something other than letters of
/// the best covering alphabet or common signs.
fn uncovered(enc: &'static Encoding, bytes: &[u8]) -> usize {
    let (text, _) = enc.decode_without_bom_handling(bytes);
    let chars: Vec<char> = text.chars().collect();
    let mut signs = 0usize;
    let mut high = 0usize;
    let mut per_alphabet = vec![0usize; ALPHABETS.len()];
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii() {
            continue;
        }
        high += 1;
        if SIGNS.contains(c) {
            signs += 1;
            continue;
        }
        if !c.is_alphabetic() {
            continue;
        }
        let prev = if i > 0 { chars[i - 1] } else { ' ' };
        let next = chars.get(i + 1).copied().unwrap_or(' ');
        if (c.is_uppercase() && prev.is_lowercase())
            || prev.is_ascii_digit()
            || next.is_ascii_digit()
        {
            continue;
        }
        let lower = c.to_lowercase().next().unwrap_or(c);
        for (n, alphabet) in per_alphabet.iter_mut().zip(ALPHABETS) {
            *n += usize::from(alphabet.contains(lower));
        }
    }
    let best = per_alphabet.into_iter().max().unwrap_or(0);
    high - best - signs
}

/// The best of the Latin candidates for `bytes`, given the detector's
/// `guess`: another candidate wins only when it leaves fewer than half as
/// many high bytes uncovered.
pub(crate) fn refine(guess: Codec, bytes: &[u8]) -> Codec {
    let Codec::Rs(guess_enc) = guess else { return guess };
    let bytes = &bytes[..bytes.len().min(256 * 1024)];
    let c1 = bytes.iter().any(|&b| (0x80..0xA0).contains(&b));
    let of_guess = uncovered(guess_enc, bytes);
    if of_guess == 0 {
        return guess;
    }
    let mut best = (guess_enc, of_guess);
    for enc in CANDIDATES {
        if enc == guess_enc || (c1 && enc == ISO_8859_2) {
            continue;
        }
        let u = uncovered(enc, bytes);
        if u < best.1 {
            best = (enc, u);
        }
    }
    if best.1 * 2 < of_guess {
        Codec::Rs(best.0)
    } else {
        guess
    }
}
