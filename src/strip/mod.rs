//! Boilerplate removal for scraped text, from the text alone.
//!
//! Each line is scored from signals that measurably separate article text
//! from page furniture: sentence-final punctuation, length, stopword
//! density, and a multilingual phrase lexicon. A main-region pass then
//! keeps the best contiguous run of good lines (and runs at least half as
//! good), so menus, footers and teaser lists go as blocks. Lines that
//! recur in many distinct documents of one source are template; the
//! pipeline counts them across documents and passes the counts in.

mod lexicon;

use std::fmt;

pub use lexicon::LexiconHit;

use crate::error::BuildError;

/// How aggressively to strip.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Preset {
    /// Remove only what is very likely boilerplate.
    Precision,
    /// The default balance.
    #[default]
    Balanced,
    /// Remove anything that does not look like article text.
    Recall,
}

impl Preset {
    /// Parses `precision`, `balanced` or `recall`.
    pub fn from_name(name: &str) -> Option<Preset> {
        match name {
            "precision" => Some(Preset::Precision),
            "balanced" => Some(Preset::Balanced),
            "recall" => Some(Preset::Recall),
            _ => None,
        }
    }
}

/// Why a line was removed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reason {
    /// The line matched a boilerplate phrase of the lexicon.
    Lexicon(&'static str),
    /// The line lies outside the main text region of the page.
    OutsideMainRegion,
    /// The line recurs in this many distinct documents of its source.
    RepeatedInSource(u32),
    /// An empty line that would only widen a gap left by removals.
    Blank,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Lexicon(what) => write!(f, "lexicon:{what}"),
            Reason::OutsideMainRegion => f.write_str("outside-main-region"),
            Reason::RepeatedInSource(n) => {
                write!(f, "repeated-in-source:{n}")
            }
            Reason::Blank => f.write_str("blank"),
        }
    }
}

/// Settings for [`Stripper`]; build one with [`StripBuilder`].
#[derive(Clone, Debug)]
struct Config {
    preset: Preset,
    min_repeat_docs: u32,
    max_repeat_chars: usize,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            preset: Preset::Balanced,
            min_repeat_docs: 3,
            max_repeat_chars: 200,
        }
    }
}

/// Builds a [`Stripper`], validating its settings.
#[derive(Clone, Debug, Default)]
pub struct StripBuilder {
    config: Config,
}

impl StripBuilder {
    /// A builder with the balanced preset.
    pub fn new() -> StripBuilder {
        StripBuilder::default()
    }

    /// Chooses a preset.
    pub fn preset(&mut self, preset: Preset) -> &mut StripBuilder {
        self.config.preset = preset;
        self
    }

    /// A line must recur in at least this many distinct documents of one
    /// source to count as template (default 3; at least 2).
    pub fn min_repeat_docs(&mut self, docs: u32) -> &mut StripBuilder {
        self.config.min_repeat_docs = docs;
        self
    }

    /// Lines longer than this many characters are never removed for
    /// repetition alone: long repeated lines are syndicated text, which
    /// the near-duplicate stage handles (default 200).
    pub fn max_repeat_chars(&mut self, chars: usize) -> &mut StripBuilder {
        self.config.max_repeat_chars = chars;
        self
    }

    /// Validates the settings.
    pub fn build(&self) -> Result<Stripper, BuildError> {
        if self.config.min_repeat_docs < 2 {
            return Err(BuildError::OutOfRange {
                setting: "min_repeat_docs",
                value: self.config.min_repeat_docs.to_string(),
                allowed: "2 or more",
            });
        }
        Ok(Stripper { config: self.config.clone() })
    }
}

/// The per-line facts the classifier uses, computed once per line.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LineFeatures {
    /// Characters in the trimmed line (CJK counted one each).
    pub chars: u32,
    /// Words (for CJK text: characters / 2).
    pub words: u32,
    /// Stopwords among the words.
    pub stopwords: u32,
    /// The line ends like a sentence.
    pub sentence_end: bool,
    /// The lexicon entry the line matched, if any.
    pub lexicon: Option<LexiconHit>,
}

/// Classifies the lines of one document as text or boilerplate.
#[derive(Clone, Debug)]
pub struct Stripper {
    config: Config,
}

impl Default for Stripper {
    fn default() -> Stripper {
        StripBuilder::new().build().expect("the default settings are valid")
    }
}

impl Stripper {
    /// The settings' preset.
    pub fn preset(&self) -> Preset {
        self.config.preset
    }

    /// Computes the features of one line.
    pub fn features(&self, line: &str) -> LineFeatures {
        let trimmed = line.trim();
        let mut chars = 0u32;
        let mut cjk = 0u32;
        for c in trimmed.chars() {
            chars += 1;
            if is_cjk(c) {
                cjk += 1;
            }
        }
        let mut words = 0u32;
        let mut stopwords = 0u32;
        for word in trimmed.split(|c: char| !c.is_alphanumeric() && c != '\'')
        {
            if word.is_empty() {
                continue;
            }
            words += 1;
            if lexicon::is_stopword(word) {
                stopwords += 1;
            }
        }
        if cjk * 2 > chars {
            words = words.max(cjk / 2);
            stopwords += cjk / 8;
        }
        LineFeatures {
            chars,
            words,
            stopwords,
            sentence_end: ends_like_sentence(trimmed),
            lexicon: lexicon::find(trimmed),
        }
    }

    /// A key for counting a line across documents: case and spacing do
    /// not matter, digits do not either (dates and counters change).
    pub fn repeat_key(line: &str) -> u64 {
        let mut norm = String::with_capacity(line.len());
        for c in line.trim().chars() {
            if c.is_alphabetic() {
                norm.extend(c.to_lowercase());
            } else if c.is_ascii_digit() {
                // A run of digits is one placeholder: "2" and "17" match.
                if !norm.ends_with('#') {
                    norm.push('#');
                }
            } else if !c.is_whitespace() {
                norm.push(c);
            }
        }
        xxhash_rust::xxh3::xxh3_64_with_seed(norm.as_bytes(), 0x6368_6166_6673)
    }

    /// Decides each line: `None` keeps it, `Some(reason)` removes it.
    ///
    /// `repeats[i]` is the number of distinct documents of the same
    /// source that contain line `i` (0 or 1 where unknown, as in the
    /// single-document path).
    pub fn classify(
        &self,
        features: &[LineFeatures],
        repeats: &[u32],
    ) -> Vec<Option<Reason>> {
        let n = features.len();
        let mut verdict: Vec<Option<Reason>> = vec![None; n];
        // Per-line value: good lines pull the region in, bad ones push out.
        let mut value = vec![0f64; n];
        for (i, f) in features.iter().enumerate() {
            if f.chars == 0 {
                continue;
            }
            let repeat = repeats.get(i).copied().unwrap_or(0);
            let templated = repeat >= self.config.min_repeat_docs
                && (f.chars as usize) <= self.config.max_repeat_chars;
            value[i] = if templated || f.lexicon.is_some() {
                -1.0
            } else {
                self.line_value(f)
            };
            if templated {
                verdict[i] = Some(Reason::RepeatedInSource(repeat));
            } else if let Some(hit) = f.lexicon {
                if hit.strong || self.config.preset != Preset::Precision {
                    verdict[i] = Some(Reason::Lexicon(hit.name));
                }
            }
        }
        let regions = main_regions(&value);
        let mut in_region = vec![false; n];
        for &(start, end) in &regions {
            in_region[start..end].iter_mut().for_each(|x| *x = true);
        }
        for i in 0..n {
            if features[i].chars == 0 || verdict[i].is_some() {
                continue;
            }
            if !in_region[i] {
                verdict[i] = Some(Reason::OutsideMainRegion);
            }
        }
        tidy_blanks(features, &mut verdict);
        verdict
    }

    /// How much a line looks like article text: positive for prose,
    /// negative for furniture. Scaled by length so that one long
    /// paragraph outweighs several short menu items.
    fn line_value(&self, f: &LineFeatures) -> f64 {
        let words = f.words.max(1) as f64;
        let density = f.stopwords as f64 / words;
        let long = f.chars >= 80;
        let prose = f.sentence_end && f.words >= 8 && density >= 0.15;
        let weight = (f.chars as f64 / 80.0).min(4.0);
        let bar = match self.config.preset {
            Preset::Precision => -0.2,
            Preset::Balanced => 0.0,
            Preset::Recall => 0.2,
        };
        if prose || (long && density >= 0.25) {
            weight
        } else if f.sentence_end && f.words >= 4 {
            0.1 - bar
        } else {
            -0.5 - bar
        }
    }
}

/// The best-scoring contiguous run of lines, plus runs at least half as
/// good, as half-open ranges in line order.
fn main_regions(value: &[f64]) -> Vec<(usize, usize)> {
    let runs = positive_runs(value);
    let best = runs.iter().map(|r| r.2).fold(0.0, f64::max);
    if best <= 0.0 {
        return Vec::new();
    }
    runs.into_iter()
        .filter(|r| r.2 >= best * 0.5)
        .map(|(s, e, _)| (s, e))
        .collect()
}

/// Maximal-sum segments found greedily (Kadane, restarted after each
/// segment ends), each with its score.
fn positive_runs(value: &[f64]) -> Vec<(usize, usize, f64)> {
    let mut runs = Vec::new();
    let mut start = 0;
    let mut sum = 0.0;
    let mut best = (0, 0, 0.0);
    for (i, &v) in value.iter().enumerate() {
        if sum <= 0.0 {
            if best.2 > 0.0 {
                runs.push(best);
            }
            start = i;
            sum = 0.0;
            best = (i, i, 0.0);
        }
        sum += v;
        if sum > best.2 {
            best = (start, i + 1, sum);
        }
    }
    if best.2 > 0.0 {
        runs.push(best);
    }
    runs
}

/// Removes blank lines that would open the text, close it, or double a
/// gap, so the output has single blank lines between paragraphs at most.
fn tidy_blanks(features: &[LineFeatures], verdict: &mut [Option<Reason>]) {
    let mut last_kept_blank = true;
    let mut pending_blank: Option<usize> = None;
    for i in 0..features.len() {
        if verdict[i].is_some() {
            continue;
        }
        if features[i].chars == 0 {
            if last_kept_blank {
                verdict[i] = Some(Reason::Blank);
            } else {
                last_kept_blank = true;
                pending_blank = Some(i);
            }
        } else {
            last_kept_blank = false;
            pending_blank = None;
        }
    }
    if let Some(i) = pending_blank {
        verdict[i] = Some(Reason::Blank);
    }
}

fn ends_like_sentence(line: &str) -> bool {
    let end = line.trim_end_matches([')', ']', '*']);
    matches!(
        end.chars().next_back(),
        Some(
            '.' | '!'
                | '?'
                | '"'
                | '\''
                | '”'
                | '’'
                | '»'
                | '…'
                | '。'
                | '！'
                | '？'
                | '」'
                | '』'
        )
    )
}

/// Han, kana and Hangul: one character carries about a word.
pub(crate) fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30ff | 0x3400..=0x4dbf | 0x4e00..=0x9fff
        | 0xac00..=0xd7af | 0xf900..=0xfaff)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strip(text: &str) -> Vec<Option<Reason>> {
        let s = Stripper::default();
        let f: Vec<_> = text.lines().map(|l| s.features(l)).collect();
        s.classify(&f, &[])
    }

    #[test]
    fn keeps_article_drops_menu_and_footer() {
        let text = "Home\nWorld\nSports\n\nThe minister said on Friday that \
                    the talks would go on, and that both sides were ready to \
                    meet again next month in the capital.\n\nIt is the first \
                    time in years that the two countries have agreed on a \
                    date for a new round of talks, officials said.\n\n\
                    © 2024 Example News. All rights reserved.";
        let v = strip(text);
        assert!(v[0].is_some() && v[1].is_some() && v[2].is_some());
        assert!(v[4].is_none() && v[6].is_none());
        assert_eq!(v[8], Some(Reason::Lexicon("copyright")));
    }

    #[test]
    fn repeated_short_lines_go() {
        let s = Stripper::default();
        let lines = ["Subscribe to our newsletter today", "x"];
        let f: Vec<_> = lines.iter().map(|l| s.features(l)).collect();
        let v = s.classify(&f, &[5, 0]);
        assert_eq!(v[0], Some(Reason::RepeatedInSource(5)));
    }

    #[test]
    fn repeat_key_ignores_case_space_and_digits() {
        assert_eq!(
            Stripper::repeat_key(" Posted 2 minutes ago "),
            Stripper::repeat_key("posted 17 MINUTES ago")
        );
    }
}
