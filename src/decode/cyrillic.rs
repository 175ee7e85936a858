//! Choosing among single-byte Cyrillic encodings with a letter bigram
//! model of Bulgarian and Russian.
//!
//! Every candidate maps each byte to a character; only the bytes >= 0x80
//! differ between candidates, so the score of a candidate is the sum of
//! the log-probabilities of the transitions that touch such a byte, under
//! a bigram model of character classes (Cyrillic letters folded to lower
//! case, ASCII letters, common typographic signs, anything else). A Latin
//! or box-drawing mess scores far below real words. A lower-case letter
//! followed by an upper-case one costs extra: it separates encodings that
//! share the letter positions but not the case (Mac Cyrillic and
//! windows-1251).

use std::sync::OnceLock;

use encoding_rs::{IBM866, ISO_8859_5, KOI8_R, WINDOWS_1251, X_MAC_CYRILLIC};

use super::legacy::Codec;
use super::tables::{CLASSES, CYRILLIC_BIGRAMS};

/// The single-byte Cyrillic encodings the model chooses among.
pub(crate) const CANDIDATES: [Codec; 6] = [
    Codec::Rs(WINDOWS_1251),
    Codec::Rs(KOI8_R),
    Codec::Rs(ISO_8859_5),
    Codec::Rs(IBM866),
    Codec::Ibm855,
    Codec::Rs(X_MAC_CYRILLIC),
];

/// True for the encodings chardetng reports for Cyrillic text.
pub(crate) fn is_cyrillic(codec: Codec) -> bool {
    CANDIDATES.contains(&codec) || codec == Codec::Rs(encoding_rs::KOI8_U)
}

const TYPO: &str = "«»–—„“”‘’…№\u{a0}•·";
/// Class of other Cyrillic letters; classes 2..=34 are а..я and ё.
const OTHER_CYRILLIC: u8 = 35;
const LOWER_UPPER_PENALTY: f32 = -4.6; // ln(0.01)

/// The model class of a character and whether it is an upper-case
/// Cyrillic letter.
fn class_of(c: char) -> (u8, bool) {
    if c.is_ascii() {
        return (u8::from(c.is_ascii_alphabetic()), false);
    }
    let lower = c.to_lowercase().next().unwrap_or(c);
    let upper = lower != c;
    match lower {
        'а'..='я' => (2 + (lower as u32 - 'а' as u32) as u8, upper),
        'ё' => (34, upper),
        '\u{400}'..='\u{4FF}' if lower.is_alphabetic() => {
            (OTHER_CYRILLIC, upper)
        }
        _ if TYPO.contains(c) => (36, false),
        _ if c.is_whitespace() => (0, false),
        _ => (37, false),
    }
}

struct Model {
    logp: [[f32; CLASSES]; CLASSES],
    /// Per candidate: the class of every byte, bit 7 set for upper case.
    classes: Vec<[u8; 256]>,
}

fn model() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(|| {
        let mut logp = [[0f32; CLASSES]; CLASSES];
        for (row, counts) in logp.iter_mut().zip(CYRILLIC_BIGRAMS.iter()) {
            let total: f64 = counts.iter().map(|&n| f64::from(n)).sum();
            for (lp, &n) in row.iter_mut().zip(counts.iter()) {
                let p = (f64::from(n) + 0.5) / (total + 0.5 * CLASSES as f64);
                *lp = p.ln() as f32;
            }
        }
        let classes = CANDIDATES
            .iter()
            .map(|&codec| {
                let mut t = [0u8; 256];
                for (b, slot) in t.iter_mut().enumerate() {
                    let (class, upper) = class_of(codec.byte_char(b as u8));
                    *slot = class | if upper { 0x80 } else { 0 };
                }
                t
            })
            .collect();
        Model { logp, classes }
    })
}

/// A candidate's score: the sum of log-probabilities over transitions
/// that touch a byte >= 0x80, and the number of such bytes.
fn score(model: &Model, table: &[u8; 256], bytes: &[u8]) -> f32 {
    let mut total = 0f32;
    let mut prev_byte = b' ';
    let mut prev = table[usize::from(b' ')];
    for &b in bytes {
        let cur = table[usize::from(b)];
        if b >= 0x80 || prev_byte >= 0x80 {
            total +=
                model.logp[usize::from(prev & 0x7F)][usize::from(cur & 0x7F)];
            let letter = |c: u8| (2..=OTHER_CYRILLIC).contains(&(c & 0x7F));
            if letter(prev)
                && letter(cur)
                && prev & 0x80 == 0
                && cur & 0x80 != 0
            {
                total += LOWER_UPPER_PENALTY;
            }
        }
        prev = cur;
        prev_byte = b;
    }
    total
}

/// The verdict of the model on some bytes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Verdict {
    /// The best candidate.
    pub(crate) codec: Codec,
    /// Its mean log-probability per transition that touches a high byte.
    pub(crate) mean: f32,
    /// The share of high bytes that it decodes to Cyrillic letters.
    pub(crate) letters: f32,
}

/// Scores every candidate on (a prefix of) `bytes`; the best wins, the
/// earlier candidate on a tie.
pub(crate) fn best(bytes: &[u8]) -> Option<Verdict> {
    let bytes = &bytes[..bytes.len().min(256 * 1024)];
    let high = bytes.iter().filter(|&&b| b >= 0x80).count();
    if high == 0 {
        return None;
    }
    let m = model();
    let mut best: Option<(usize, f32)> = None;
    for (i, table) in m.classes.iter().enumerate() {
        let s = score(m, table, bytes);
        if best.is_none_or(|(_, bs)| s > bs) {
            best = Some((i, s));
        }
    }
    let (i, s) = best?;
    let table = &m.classes[i];
    let letters = bytes
        .iter()
        .filter(|&&b| {
            b >= 0x80
                && (2..=OTHER_CYRILLIC)
                    .contains(&(table[usize::from(b)] & 0x7F))
        })
        .count();
    Some(Verdict {
        codec: CANDIDATES[i],
        mean: s / high as f32,
        letters: letters as f32 / high as f32,
    })
}
