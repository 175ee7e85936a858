//! Boilerplate removal for scraped text, from the text alone.
//!
//! Each line is scored from signals that measurably separate article text
//! from page furniture: sentence-final punctuation, length, stopword
//! density, and a multilingual phrase lexicon. A main-region pass then
//! keeps the best contiguous run of good lines (and runs at least half as
//! good), so menus, footers and teaser lists go as blocks. Lines that
//! recur in many distinct documents of one source are template; the
//! pipeline counts them across documents and passes the counts in.

mod chars;
mod lang;
mod lexicon;
mod scan;
#[cfg(test)]
mod tricky;

use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt;

pub use lang::Lang;
pub(crate) use lexicon::build_ahead as build_lexicon_ahead;
pub(crate) use lexicon::code as lexicon_code;
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
    /// A long line that repeats an earlier line of the same document.
    RepeatedInDocument,
    /// The line follows a comment-section header ("12 Comments").
    CommentSection,
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
            Reason::RepeatedInDocument => f.write_str("repeated-in-document"),
            Reason::CommentSection => f.write_str("comment-section"),
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
    /// Characters in the trimmed line.
    pub chars: u32,
    /// Words (for Chinese and Japanese text: characters / 2).
    pub words: u32,
    /// Stopwords of the document's language among the words.
    pub stopwords: u32,
    /// The line ends like a sentence (`.` `!` `?` `”` `’` `»` `。` …).
    pub sentence_end: bool,
    /// The line ends in an ellipsis, as truncated teasers do.
    pub truncated: bool,
    /// The line repeats an earlier line of the same document.
    pub repeats_earlier: bool,
    /// The lexicon entry the line matched, if any.
    pub lexicon: Option<LexiconHit>,
}

/// How a line scores on its own, before the region pass.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Class {
    #[default]
    Blank,
    /// Matched the lexicon, repeats in its source or its document.
    Flagged,
    /// Prose: long enough, dense in stopwords, ends like a sentence.
    Good,
    /// Short sentences and headline-like lines.
    Near,
    /// Menus, labels, dates, names.
    Bad,
}

/// The thresholds a preset sets.
#[derive(Clone, Copy, Debug)]
struct Tuning {
    /// Runs at least this share of the best run's score are kept too.
    half: f64,
    /// The value of a bad line.
    bad: f64,
    /// Weak lines inside a region: `Some(true)` keeps a bad line only
    /// where a good or near line follows; `Some(false)` only where a good
    /// line follows; `None` keeps every line of the region.
    weak: Option<bool>,
    /// Weak lexicon hits remove a line inside the region too.
    weak_lexicon: bool,
}

impl Preset {
    fn tuning(self) -> Tuning {
        match self {
            Preset::Precision => Tuning {
                half: 0.3,
                bad: -0.4,
                weak: None,
                weak_lexicon: false,
            },
            Preset::Balanced => Tuning {
                half: 0.5,
                bad: -0.5,
                weak: Some(true),
                weak_lexicon: true,
            },
            Preset::Recall => Tuning {
                half: 0.7,
                bad: -0.8,
                weak: Some(false),
                weak_lexicon: true,
            },
        }
    }
}

/// Stopword share of a prose line (1/5).
const DENSE: (u64, u64) = (1, 5);
/// Stopword share of a short sentence (3/25).
const NEAR_DENSE: (u64, u64) = (3, 25);
/// Words of a prose line that ends like a sentence.
const PROSE_WORDS: u32 = 8;
/// A line this long and dense is prose even without a sentence end.
const LONG_CHARS: u32 = 150;
/// The value of a flagged line (lexicon, repetition).
const FLAGGED: f64 = -2.0;
/// The value of a near line.
const NEAR: f64 = 0.1;
/// The good text a page must have shown before a comment header ends it.
const COMMENTS_AFTER: f64 = 2.0;
/// Lines of at least this many words that repeat an earlier line of the
/// document are dropped as copies.
const COPY_WORDS: u32 = 8;

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

    /// Computes the features of one line seen without its document:
    /// stopwords of every supported language count.
    pub fn features(&self, line: &str) -> LineFeatures {
        line_features(line, &mut Scratch::default(), |bits| bits != 0).0
    }

    /// Computes the features of every line of one document: detects the
    /// document's language first, so that only its stopwords count, and
    /// marks long lines that repeat an earlier line.
    // Never inlined: a call per document costs nothing, and profiles
    // then show the stage's own cost.
    #[inline(never)]
    pub fn document_features<S: AsRef<str>>(
        &self,
        lines: &[S],
    ) -> Vec<LineFeatures> {
        DOC_SCRATCH.with_borrow_mut(|doc| self.features_with(lines, doc))
    }

    /// [`Stripper::document_features`] in room kept from the document
    /// before.
    fn features_with<S: AsRef<str>>(
        &self,
        lines: &[S],
        doc: &mut DocScratch,
    ) -> Vec<LineFeatures> {
        let DocScratch { hits, seen, line: scratch } = doc;
        // One pass counts every list's stopwords per line; the language
        // then picks which count each line keeps.
        hits.clear();
        hits.resize(lines.len(), [0; lang::LANGS]);
        let mut totals = [0u32; lang::LANGS];
        let (mut words, mut chars, mut cjk) = (0u32, 0u32, 0u32);
        // Room for a key a line up front: growing the set rehashed.
        seen.clear();
        seen.reserve(lines.len());
        let mut features: Vec<LineFeatures> = lines
            .iter()
            .zip(hits.iter_mut())
            .map(|(l, line_hits)| {
                let l = l.as_ref();
                let (mut f, line_cjk) = line_features(l, scratch, |bits| {
                    // Only the lists that hold the word: most hold
                    // none, and few words are on more than two. The
                    // totals add up the lines' counts, which stop
                    // at u16::MAX, as they are counted.
                    let mut rest = bits;
                    while rest != 0 {
                        let list = rest.trailing_zeros() as usize;
                        if line_hits[list] < u16::MAX {
                            line_hits[list] += 1;
                            totals[list] += 1;
                        }
                        rest &= rest - 1;
                    }
                    false
                });
                words += f.words;
                chars += f.chars;
                cjk += line_cjk;
                if f.words >= COPY_WORDS {
                    // `trim` is `str::trim`, cheaper for most lines.
                    let key = xxhash_rust::xxh3::xxh3_64(trim(l).as_bytes());
                    f.repeats_earlier = !seen.insert(key);
                }
                f
            })
            .collect();
        let stop = lang::choose(lines, words, chars, cjk, &totals);
        // Lines with stopwords already are Chinese or Japanese, counted
        // by particles; the others keep their count of the chosen list.
        match (stop.lang, stop.list()) {
            (Lang::Cjk, _) => {} // 0 already.
            (_, Some(list)) => {
                for (f, h) in features.iter_mut().zip(hits.iter()) {
                    if f.stopwords == 0 {
                        f.stopwords = h[list] as u32;
                    }
                }
            }
            (_, None) => {
                for (f, l) in features.iter_mut().zip(lines) {
                    if f.stopwords == 0 {
                        lang::for_each_word(trim(l.as_ref()), |w| {
                            f.stopwords += stop.contains(w) as u32;
                        });
                    }
                }
            }
        }
        features
    }

    /// The language detected for a document, as [`Stripper::
    /// document_features`] sees it.
    pub fn language<S: AsRef<str>>(&self, lines: &[S]) -> Lang {
        lang::detect(lines).lang
    }

    /// A key for counting a line across documents: case and spacing do
    /// not matter, digits do not either (dates and counters change).
    pub fn repeat_key(line: &str) -> u64 {
        thread_local! {
            // Reused across calls: the pipeline keys every line.
            static NORM: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
        }
        NORM.with_borrow_mut(|norm| {
            let len = normalise_for_repeats(line, norm);
            xxhash_rust::xxh3::xxh3_64_with_seed(
                &norm[..len],
                0x6368_6166_6673,
            )
        })
    }

    /// How many ASCII letters `line` holds, `i` and `k` (either case)
    /// left out: lines with one [`Stripper::repeat_key`] have one count,
    /// so two lines whose counts differ cannot share a key. The key's
    /// normalisation keeps every ASCII letter (lowercased) and makes no
    /// other ASCII letter from another character but `i` and `k` (the
    /// lowercase of `İ` and of the Kelvin sign `K`). A pass of a few
    /// instructions a byte where the key takes a dozen or more.
    pub(crate) fn repeat_key_letters(line: &str) -> u32 {
        // Counted in bytes a chunk at a time, which vectorises.
        line.as_bytes()
            .chunks(255)
            .map(|chunk| {
                let n: u8 = chunk
                    .iter()
                    .map(|&b| {
                        let lower = b | 0x20;
                        u8::from(
                            lower.wrapping_sub(b'a') < 26
                                && lower != b'i'
                                && lower != b'k',
                        )
                    })
                    .sum();
                u32::from(n)
            })
            .sum()
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
        let facts: Vec<LineFacts> =
            features.iter().map(LineFacts::pack).collect();
        let hits: Vec<(u32, LexiconHit)> = features
            .iter()
            .enumerate()
            .filter_map(|(i, f)| Some((i as u32, f.lexicon?)))
            .collect();
        let mut verdict: Vec<Option<Reason>> = vec![None; features.len()];
        self.decide(
            &facts,
            &hits,
            |i| repeats.get(i).copied().unwrap_or(0),
            |i, reason| verdict[i as usize] = Some(reason),
        );
        verdict
    }

    /// The count a line's [`Stripper::repeat_key`] must reach for the
    /// line to go: lower counts tell [`Stripper::decide`] nothing.
    pub(crate) fn min_repeat_docs(&self) -> u32 {
        self.config.min_repeat_docs
    }

    /// [`Stripper::classify`] of lines given as their facts, their
    /// lexicon hits (by line, ascending) and their repetition counts
    /// (`repeat(i)`, asked of non-blank lines only), handing each removed
    /// line to `remove` in line order. The pipeline decides every line
    /// of the corpus this way: a pass over the lines, one over the main
    /// regions' lines, and one handing the removals over, in room kept
    /// from the document before. Vectors of features, values, classes
    /// and verdicts made for each document cost twice as many
    /// instructions.
    pub(crate) fn decide(
        &self,
        facts: &[LineFacts],
        hits: &[(u32, LexiconHit)],
        repeat: impl Fn(usize) -> u32,
        remove: impl FnMut(u32, Reason),
    ) {
        DECIDE_SCRATCH.with_borrow_mut(|room| {
            self.decide_with(facts, hits, repeat, remove, room)
        })
    }

    fn decide_with(
        &self,
        facts: &[LineFacts],
        hits: &[(u32, LexiconHit)],
        repeat: impl Fn(usize) -> u32,
        remove: impl FnMut(u32, Reason),
        room: &mut DecideScratch,
    ) {
        let DecideScratch { marks, runs } = room;
        // Marks start blank and kept; the first pass writes the others.
        marks.clear();
        marks.resize(facts.len(), Mark::default());
        runs.clear();
        let end = self.mark_lines(facts, hits, repeat, marks, runs);
        let tuning = self.config.preset.tuning();
        let regions = main_regions(runs, tuning.half);
        let last_text = mark_regions(marks, regions, tuning.weak);
        remove_marked(marks, hits, end, last_text, remove);
    }

    /// The first pass of [`Stripper::decide`]: marks each line with its
    /// class and the removal its own facts decide, and finds where the
    /// comment section starts (returned, `usize::MAX` if nowhere) and
    /// the positive runs of value before it.
    #[inline(never)]
    fn mark_lines(
        &self,
        facts: &[LineFacts],
        hits: &[(u32, LexiconHit)],
        repeat: impl Fn(usize) -> u32,
        marks: &mut [Mark],
        runs: &mut Vec<(usize, usize, f64)>,
    ) -> usize {
        let tuning = self.config.preset.tuning();
        let marks = &mut marks[..facts.len()];
        // The next line with a lexicon hit, and the hits after it.
        let mut next_hit = hits.first().map_or(usize::MAX, |h| h.0 as usize);
        let mut hits = hits.iter().enumerate();
        // Line `i`'s hit and its index in `hits`.
        let mut lexicon_at = |i: usize| {
            if i != next_hit {
                return None;
            }
            let hit = hits.next().map(|(k, h)| (k as u32, h.1));
            next_hit =
                hits.clone().next().map_or(usize::MAX, |(_, h)| h.0 as usize);
            hit
        };
        let mut shown = 0.0;
        let mut kadane = Kadane::default();
        let mut end = usize::MAX;
        let mut i = 0;
        while i < facts.len() {
            let lexicon = lexicon_at(i);
            let (class, value) = self.mark_line(
                &facts[i],
                &mut marks[i],
                lexicon,
                &tuning,
                || repeat(i),
            );
            // A comment header after some article text ends the article.
            if class == Class::Good {
                shown += value;
            } else if lexicon.is_some_and(|h| h.1.opens_comments())
                && shown >= COMMENTS_AFTER
            {
                end = i;
                break;
            }
            kadane.add(i, value, runs);
            i += 1;
        }
        kadane.finish(runs);
        // The comment section is marked too, for its own removals.
        for i in (i + 1)..facts.len() {
            let lexicon = lexicon_at(i);
            self.mark_line(&facts[i], &mut marks[i], lexicon, &tuning, || {
                repeat(i)
            });
        }
        end
    }

    /// Marks one line (`facts`, `mark`, `lexicon` its hit and the hit's
    /// index) with its class and the removal its own facts decide, and
    /// returns its class and value.
    #[inline(always)]
    fn mark_line(
        &self,
        facts: &LineFacts,
        mark: &mut Mark,
        lexicon: Option<(u32, LexiconHit)>,
        tuning: &Tuning,
        repeat: impl FnOnce() -> u32,
    ) -> (Class, f64) {
        if facts.chars == 0 {
            return (Class::Blank, 0.0);
        }
        let count = repeat();
        let (class, value) = if count >= self.config.min_repeat_docs
            && facts.chars as usize <= self.config.max_repeat_chars
        {
            *mark = Mark::cut(Cut::Repeated, count);
            (Class::Flagged, FLAGGED)
        } else if facts.flags & REPEATS_EARLIER != 0 {
            *mark = Mark::cut(Cut::Copy, 0);
            (Class::Flagged, FLAGGED)
        } else if let Some((k, hit)) = lexicon {
            if hit.strong || tuning.weak_lexicon {
                *mark = Mark::cut(Cut::Lexicon, k);
            }
            (Class::Flagged, FLAGGED)
        } else {
            facts.value(tuning)
        };
        mark.class = class;
        (class, value)
    }
}

/// The second pass of [`Stripper::decide`], over the lines of the main
/// `regions` only (most lines lie outside): marks them as in a region,
/// and, backward, weak lines for removal unless text follows them (a
/// sub-heading; `weak` as in [`Tuning`]). Returns the last line of text
/// kept, after which no blank line stays.
#[inline(never)]
fn mark_regions(
    marks: &mut [Mark],
    regions: &[(usize, usize, f64)],
    weak: Option<bool>,
) -> Option<usize> {
    let mut last_text = None;
    // Whether text follows, as the lines after a region leave it: any
    // line outside the regions but a blank one sets it false, and
    // before the last region's end is false too.
    let mut text_follows = false;
    let mut after = marks.len();
    for &(start, stop, _) in regions.iter().rev() {
        if marks[stop..after].iter().any(|m| m.class != Class::Blank) {
            text_follows = false;
        }
        after = start;
        for (i, mark) in marks[start..stop].iter_mut().enumerate().rev() {
            mark.in_region = true;
            let mut kept = true;
            if let Some(good_or_near) = weak {
                match mark.class {
                    Class::Blank => {}
                    _ if mark.cut != Cut::No => text_follows = false,
                    Class::Good => text_follows = true,
                    Class::Near if good_or_near => text_follows = true,
                    _ => kept = text_follows,
                }
            }
            if mark.class == Class::Blank || mark.cut != Cut::No {
                continue;
            }
            if !kept {
                mark.cut = Cut::Outside;
            } else if last_text.is_none() {
                last_text = Some(start + i);
            }
        }
    }
    last_text
}

/// The last pass of [`Stripper::decide`]: hands the marked lines to
/// `remove` in line order, lines past `end` as the comment section and
/// lines outside the regions too, with blank lines that would open the
/// text, close it (after `last_text`), or double a gap, so the output
/// has single blank lines between paragraphs at most.
#[inline(never)]
fn remove_marked(
    marks: &[Mark],
    hits: &[(u32, LexiconHit)],
    end: usize,
    last_text: Option<usize>,
    mut remove: impl FnMut(u32, Reason),
) {
    let last_text = last_text.unwrap_or(0);
    let mut last_kept_blank = true;
    for (i, mark) in marks.iter().enumerate() {
        let reason = match mark.cut {
            Cut::Repeated => Reason::RepeatedInSource(mark.count),
            Cut::No if mark.class == Class::Blank => {
                if last_kept_blank || i > last_text {
                    Reason::Blank
                } else {
                    last_kept_blank = true;
                    continue;
                }
            }
            Cut::No if i >= end => Reason::CommentSection,
            Cut::No if !mark.in_region => Reason::OutsideMainRegion,
            Cut::No => {
                last_kept_blank = false;
                continue;
            }
            Cut::Outside => Reason::OutsideMainRegion,
            Cut::Copy => Reason::RepeatedInDocument,
            Cut::Lexicon => Reason::Lexicon(hits[mark.count as usize].1.name),
        };
        remove(i as u32, reason);
    }
}

/// The strip facts of one line, packed into 16 bytes: the pipeline
/// keeps them from the map phase to the strip decision for every line
/// of the corpus (lexicon hits, which few lines have, apart).
#[derive(Clone, Copy)]
pub(crate) struct LineFacts {
    chars: u32,
    words: u32,
    stopwords: u32,
    flags: u8,
}

const SENTENCE_END: u8 = 1;
const TRUNCATED: u8 = 2;
const REPEATS_EARLIER: u8 = 4;

impl LineFacts {
    pub(crate) fn pack(f: &LineFeatures) -> LineFacts {
        LineFacts {
            chars: f.chars,
            words: f.words,
            stopwords: f.stopwords,
            flags: if f.sentence_end { SENTENCE_END } else { 0 }
                | if f.truncated { TRUNCATED } else { 0 }
                | if f.repeats_earlier { REPEATS_EARLIER } else { 0 },
        }
    }

    /// How much the line looks like article text: positive for prose
    /// (scaled by length, so one long paragraph outweighs several menu
    /// items), negative for furniture.
    #[inline]
    fn value(&self, tuning: &Tuning) -> (Class, f64) {
        let weight = || (self.chars as f64 / 80.0).min(4.0);
        let dense = at_least(self.stopwords, self.words, DENSE);
        let sentence_end = self.flags & SENTENCE_END != 0;
        if self.flags & TRUNCATED != 0 {
            (Class::Near, NEAR)
        } else if sentence_end && self.words >= PROSE_WORDS && dense {
            (Class::Good, weight())
        } else if self.chars >= LONG_CHARS && dense {
            (Class::Good, weight() * 0.5)
        } else if sentence_end
            && self.words >= 4
            && at_least(self.stopwords, self.words, NEAR_DENSE)
        {
            (Class::Near, NEAR)
        } else if self.words >= 5 && dense {
            (Class::Near, 0.0)
        } else {
            (Class::Bad, tuning.bad)
        }
    }
}

/// Whether `stopwords` of `words` (as one word when none) are at least
/// the share `num / den`. In integers, as the share was once compared in
/// floating point: `s / w` in `f64` is the exact quotient rounded, and a
/// quotient of two u32 other than the share lies more than 1/(25 * 2^32)
/// from it, far past the rounding, so both give the same answer.
#[inline]
fn at_least(stopwords: u32, words: u32, (num, den): (u64, u64)) -> bool {
    stopwords as u64 * den >= words.max(1) as u64 * num
}

/// A line as [`Stripper::decide`] sees it after the first pass: its
/// class, and why it goes, once that is known.
#[derive(Clone, Copy, Default)]
struct Mark {
    class: Class,
    cut: Cut,
    /// In one of the main regions.
    in_region: bool,
    /// The repetition count of a [`Cut::Repeated`] line, the index of
    /// the hit of a [`Cut::Lexicon`] one.
    count: u32,
}

impl Mark {
    /// A line that goes for its own facts.
    fn cut(cut: Cut, count: u32) -> Mark {
        Mark { class: Class::Flagged, cut, in_region: false, count }
    }
}

/// Why a line goes, where that is decided before the last pass.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
enum Cut {
    #[default]
    No,
    Repeated,
    Copy,
    Lexicon,
    /// A weak line of a region that no text follows.
    Outside,
}

/// Room that [`Stripper::decide`] reuses from document to document.
#[derive(Default)]
struct DecideScratch {
    marks: Vec<Mark>,
    /// The positive runs of value, then the main regions.
    runs: Vec<(usize, usize, f64)>,
}

thread_local! {
    static DECIDE_SCRATCH: RefCell<DecideScratch> =
        RefCell::new(DecideScratch::default());
}

/// Room that [`Stripper::document_features`] reuses from document to
/// document on a thread: allocating it again for each document showed
/// up (per-line stopword counts, the set of long lines, the line scan's
/// bitmaps).
#[derive(Default)]
struct DocScratch {
    hits: Vec<[u16; lang::LANGS]>,
    seen: HashSet<u64, lang::FxBuild>,
    line: Scratch,
}

thread_local! {
    static DOC_SCRATCH: RefCell<DocScratch> =
        RefCell::new(DocScratch::default());
}

/// Room that [`line_features`] reuses from line to line.
#[derive(Default)]
struct Scratch {
    scan: scan::LineScan,
    /// The lexicon's lowercased line.
    line: String,
}

/// Computes one line's features; `is_stop` sees the list bits of each
/// word ([`lang::word_bits`]) and says whether it is a stopword. Lines
/// mostly in Han or kana count their particles instead. Also returns
/// the line's Han/kana count.
fn line_features(
    line: &str,
    scratch: &mut Scratch,
    mut is_stop: impl FnMut(u16) -> bool,
) -> (LineFeatures, u32) {
    let trimmed = trim(line);
    if trimmed.is_empty() {
        return (LineFeatures::default(), 0);
    }
    let scan = &mut scratch.scan;
    scan.scan(trimmed);
    let scan::CharCounts { chars, cjk, particles } = scan.counts;
    let table = lang::stopwords();
    let mut words = 0u32;
    let mut stopwords = 0u32;
    scan.for_each_word(|range, ascii| {
        words += 1;
        debug_assert!(range.start < range.end && range.end <= trimmed.len());
        let bits = match ascii {
            // SAFETY: the scan was of `trimmed`, and the words it gives
            // lie within the line it scanned: no word bit is set past
            // the line's end, and a zero entry ends the last run (a
            // proptest checks the words against `lang::raw_words`).
            // Checking each word's bounds showed per word.
            true => table.ascii_bits(unsafe {
                trimmed.as_bytes().get_unchecked(range)
            }),
            false => table.range_bits(trimmed, range, false),
        };
        stopwords += is_stop(bits) as u32;
    });
    if cjk * 2 > chars {
        words = words.max(cjk / 2);
        stopwords = particles * 2;
    }
    let case = scan.case(trimmed);
    let truncated = ends_truncated(trimmed);
    let f = LineFeatures {
        chars,
        words,
        stopwords,
        sentence_end: !truncated && ends_like_sentence(trimmed),
        truncated,
        repeats_earlier: false,
        lexicon: lexicon::find_cased(
            trimmed,
            words,
            case,
            scan,
            &mut scratch.line,
        ),
    };
    (f, cjk)
}

/// `str::trim`, with ASCII ends trimmed by the byte: `str::trim`
/// decodes and classifies each character, which showed per line.
/// The check for nothing to trim is inlined into each caller, which the
/// call (once per line from the scan and the pipeline) cost more than.
#[inline(always)]
pub(crate) fn trim(line: &str) -> &str {
    let bytes = line.as_bytes();
    // Most lines start and end with visible ASCII: nothing to trim.
    if let (Some(a), Some(z)) = (bytes.first(), bytes.last()) {
        if a.is_ascii_graphic() && z.is_ascii_graphic() {
            return line;
        }
    }
    trim_ends(line)
}

/// [`trim`] of a line that may have something to trim.
#[inline(never)]
fn trim_ends(line: &str) -> &str {
    let is_space = |b: &u8| matches!(b, b'\t'..=b'\r' | b' ');
    let bytes = line.as_bytes();
    let start = bytes.iter().position(|b| !is_space(b)).unwrap_or(bytes.len());
    let end =
        bytes.iter().rposition(|b| !is_space(b)).map_or(start, |i| i + 1);
    let rest = &line[start..end];
    // Other whitespace is not ASCII: std decides where an end is not.
    let plain_end = |b: Option<&u8>| b.is_none_or(u8::is_ascii);
    match plain_end(rest.as_bytes().first())
        && plain_end(rest.as_bytes().last())
    {
        true => rest,
        false => rest.trim(),
    }
}

/// [`normalise_for_repeats`] of each ASCII byte: the byte to write
/// (lowercased, or `#` for a digit) in the low eight bits, and whether
/// it is written ([`KEY_WRITE`]) or joins a `#` just written
/// ([`KEY_DIGIT`]). Whitespace is neither. One lookup and no branch a
/// byte: most text is ASCII.
static ASCII_KEY: [u16; 128] = {
    let mut table = [0u16; 128];
    let mut b = 0;
    while b < 128 {
        let byte = b as u8;
        table[b] = match byte {
            b'0'..=b'9' => KEY_WRITE | KEY_DIGIT | b'#' as u16,
            // `char::is_whitespace` of ASCII (a test checks it).
            b'\t'..=b'\r' | b' ' => 0,
            _ => KEY_WRITE | byte.to_ascii_lowercase() as u16,
        };
        b += 1;
    }
    table
};
const KEY_WRITE: u16 = 1 << 8;
const KEY_DIGIT: u16 = 1 << 9;

/// The most bytes one character's lowercase takes (three characters of
/// up to four bytes).
const MAX_LOWER_BYTES: usize = 12;

/// The bytes past what it writes that [`write_plain16`] may store.
const GROUP_STORE_SLACK: usize = 16;

/// Writes `line` into the start of `norm` as [`Stripper::repeat_key`]
/// compares it, and returns its length there:
/// letters lowercased, whitespace dropped, a run of ASCII digits as one
/// `#`, anything else as it is. (No trim first: trimming only drops
/// whitespace, which is dropped anyway.) Writes by index into room made
/// up front, which a push per byte measured slower; ASCII bytes take
/// one table lookup, other characters one [`chars::CharInfo`] lookup.
/// `norm` only grows: zeroing it again for each line showed up.
fn normalise_for_repeats(line: &str, norm: &mut Vec<u8>) -> usize {
    let info = chars::CharInfo::new();
    let bytes = line.as_bytes();
    // Room for the rest of the line, the sixteen bytes that a group of
    // sixteen stores past what it writes ([`write_plain16`] may store
    // up to its 31st byte), and one character's lowercase: an ASCII
    // byte writes at most one byte, and room is made again before each
    // other character. (Without the sixteen, a thread's first line of
    // sixteen bytes ending in whitespace stored past the room.)
    let room = |i: usize, j: usize| {
        j + (bytes.len() - i) + GROUP_STORE_SLACK + MAX_LOWER_BYTES
    };
    if norm.len() < room(0, 0) {
        norm.resize(room(0, 0), 0);
    }
    // The room as a slice of its own: through the `Vec` in the thread
    // local, its pointer and length were loaded again after each store.
    let mut out = norm.as_mut_slice();
    let (mut i, mut j) = (0, 0);
    // Whether the last byte written is `#`, which a digit then joins.
    let mut after_hash = false;
    // Where sixteen bytes at once are worth trying again: past the
    // digit or other character that stopped the last try.
    let mut try_sixteen = 0;
    // A group's bytes lowercased, and sixteen after them so that
    // sixteen can be read from any of them.
    let mut lowered = [0u8; 32];
    while i < bytes.len() {
        if let (true, Some(sixteen)) = (i >= try_sixteen, bytes.get(i..i + 16))
        {
            let sixteen = sixteen.try_into().expect("16 bytes");
            match scan::plain16(sixteen, &mut lowered) {
                Ok(spaces) => {
                    j = write_plain16(
                        &lowered,
                        spaces,
                        out,
                        j,
                        &mut after_hash,
                    );
                    i += 16;
                    continue;
                }
                Err(special) => {
                    try_sixteen = i + special.trailing_zeros() as usize + 1;
                }
            }
        }
        // Eight bytes, or the line's last few, at once.
        let len = (bytes.len() - i).min(8);
        let x = match len {
            8 => lang::read_u64(&bytes[i..]),
            _ => lang::read_short(&bytes[i..]),
        };
        if x & lang::HIGH == 0 && lang::ascii_flags(x, b'0', b'9') == 0 {
            j = write_plain_chunk(x, len as u32, out, j, &mut after_hash);
            i += len;
            continue;
        }
        // The ASCII bytes before the first other one, byte by byte: a
        // read of the eight bytes again after each cost more.
        let ascii = match x & lang::HIGH {
            0 => len,
            high => high.trailing_zeros() as usize / 8,
        };
        for &b in &bytes[i..i + ascii] {
            let key = ASCII_KEY[b as usize];
            let joins = key & KEY_DIGIT != 0 && after_hash;
            if key & KEY_WRITE != 0 && !joins {
                out[j] = key as u8;
                j += 1;
                after_hash = key as u8 == b'#';
            }
        }
        i += ascii;
        if ascii == len {
            continue;
        }
        // Other characters, one after another while they last: in
        // Cyrillic or Greek text the next byte mostly starts another,
        // and trying sixteen and eight ASCII bytes before each cost
        // more than the character. A two-byte character writes at most
        // the two bytes it reads, so only another character may need
        // more room than was made.
        loop {
            let len = match two_byte_key(bytes, i, info) {
                TwoByte::Drop => 2,
                TwoByte::Write([first, second]) => {
                    // Two bytes in and out: `out` has room.
                    out[j..j + 2].copy_from_slice(&[first, second]);
                    j += 2;
                    after_hash = false;
                    2
                }
                TwoByte::Other => {
                    if out.len() < room(i, j) {
                        norm.resize(room(i, j) + bytes.len() / 2, 0);
                        out = norm.as_mut_slice();
                    }
                    let (c, len) = chars::decode_at(line, i);
                    let start = j;
                    j = write_other_char(c, &bytes[i..], len, out, j, info);
                    // No lowercase ends in `#`.
                    if j > start {
                        after_hash = false;
                    }
                    len
                }
            };
            i += len;
            if bytes.get(i).is_none_or(u8::is_ascii) {
                break;
            }
        }
    }
    j
}

/// What [`normalise_for_repeats`] does with a two-byte character.
enum TwoByte {
    /// Drops it (whitespace).
    Drop,
    /// Writes these two bytes (the character or its lowercase).
    Write([u8; 2]),
    /// Anything else, which [`write_other_char`] decides.
    Other,
}

/// [`TwoByte`] of the character at `bytes[i]`, a non-ASCII lead byte,
/// from the two-byte table of [`chars::CharInfo`] (one load a character
/// of Cyrillic, Greek or accented Latin, as the line scan reads them).
#[inline(always)]
fn two_byte_key(bytes: &[u8], i: usize, info: chars::CharInfo) -> TwoByte {
    let lead = bytes[i];
    if !(0xc2..=0xdf).contains(&lead) {
        return TwoByte::Other;
    }
    let known = info.two_byte(lead, bytes[i + 1]);
    let p = known.props();
    // As [`write_other_char`] would write it.
    if p.is_alphabetic() && p.lowers() {
        match known.lower_bytes() {
            Some(lower) => TwoByte::Write(lower),
            None => TwoByte::Other,
        }
    } else if p.is_whitespace() && !p.is_alphabetic() {
        TwoByte::Drop
    } else {
        TwoByte::Write([lead, bytes[i + 1]])
    }
}

/// Writes the non-ASCII character `c` (the first `len` bytes of `rest`)
/// to `norm` at `j` as [`normalise_for_repeats`] does, and returns the
/// new `j`; `norm` has room for its lowercase and four bytes.
#[inline]
fn write_other_char(
    c: char,
    rest: &[u8],
    len: usize,
    norm: &mut [u8],
    mut j: usize,
    info: chars::CharInfo,
) -> usize {
    match info.props(c) {
        Some(p) if p.is_alphabetic() && p.lowers() => match p.single_lower() {
            Some(l) => j += l.encode_utf8(&mut norm[j..]).len(),
            None => c
                .to_lowercase()
                .for_each(|l| j += l.encode_utf8(&mut norm[j..]).len()),
        },
        Some(p) if p.is_whitespace() && !p.is_alphabetic() => {}
        Some(_) => {
            // Four bytes where the line has them (`norm` has room): a
            // copy of `len` bytes called memcpy.
            match rest.get(..4) {
                Some(four) => norm[j..j + 4].copy_from_slice(four),
                None => norm[j..j + len].copy_from_slice(&rest[..len]),
            }
            j += len;
        }
        None => {
            let mut utf8 = [0u8; 4];
            let mut push = |c: char| {
                let s = c.encode_utf8(&mut utf8).as_bytes();
                norm[j..j + s.len()].copy_from_slice(s);
                j += s.len();
            };
            if c.is_alphabetic() {
                c.to_lowercase().for_each(push);
            } else if !c.is_whitespace() {
                push(c);
            }
        }
    }
    j
}

/// Writes the first `len` (at most eight) bytes of `x`, ASCII without
/// digits, to `out` at `j` as [`normalise_for_repeats`] does: letters
/// lowercased, whitespace dropped. Each stretch between whitespace is
/// stored as a whole word (`out` has room for eight bytes past any
/// stretch), so a line costs a few operations per word rather than per
/// byte. Returns the new `j`.
#[inline]
fn write_plain_chunk(
    x: u64,
    len: u32,
    out: &mut [u8],
    mut j: usize,
    after_hash: &mut bool,
) -> usize {
    let start = j;
    let mut rest = x | lang::ascii_flags(x, b'A', b'Z') >> 2;
    let mut spaces =
        lang::ascii_flags(x, b'\t', b'\r') | lang::ascii_flags(x, b' ', b' ');
    let mut left = len;
    while left > 0 {
        // Bytes before the next whitespace (8 when there is none).
        let stretch = spaces.trailing_zeros() / 8;
        out[j..j + 8].copy_from_slice(&rest.to_le_bytes());
        if stretch >= left {
            j += left as usize;
            break;
        }
        j += stretch as usize;
        // A skip of 64 (shifting by nothing) ends the loop: it takes a
        // stretch of seven before whitespace with eight bytes left.
        let skip = (stretch + 1) * 8;
        rest = rest.wrapping_shr(skip);
        spaces = spaces.wrapping_shr(skip);
        left -= stretch + 1;
    }
    if j > start {
        *after_hash = out[j - 1] == b'#';
    }
    j
}

/// [`write_plain_chunk`] of sixteen bytes, given lowercased (with
/// sixteen bytes after them), with their whitespace as bits: each
/// stretch between whitespace is stored as sixteen bytes read from
/// where it starts (`out` has room for sixteen bytes past any
/// stretch), which shifting one 128-bit number measured slower.
#[inline]
fn write_plain16(
    lowered: &[u8; 32],
    spaces: u32,
    out: &mut [u8],
    j: usize,
    after_hash: &mut bool,
) -> usize {
    // A stop past the last byte, so that every stretch ends.
    let spaces = spaces | 1 << 16;
    // The room checked once (`normalise_for_repeats` makes room for
    // sixteen bytes past the group's): every store lies in this window,
    // starting at most sixteen bytes in, as no more bytes are written
    // than read. A check of each store showed per stretch.
    let window: &mut [u8; 32] =
        (&mut out[j..j + 32]).try_into().expect("room for a group");
    let (mut at, mut written) = (0, 0);
    while at <= 16 {
        // Bytes before the next whitespace.
        let stretch = (spaces >> at).trailing_zeros() as usize;
        // The mask changes nothing but tells the compiler so, which
        // spares the store's bounds check: `written <= at <= 16`, and
        // `written` reaches 16 only with sixteen bytes and no
        // whitespace, which ends the loop before another store.
        debug_assert!(written < 16);
        let w = written & 15;
        window[w..w + 16].copy_from_slice(&lowered[at..at + 16]);
        written += stretch;
        at += stretch + 1;
    }
    if written > 0 {
        *after_hash = window[written - 1] == b'#';
    }
    j + written
}

/// Keeps the best-scoring of `runs` (from [`Kadane`]), and runs at least
/// `half` as good, as half-open ranges in line order.
fn main_regions(
    runs: &mut Vec<(usize, usize, f64)>,
    half: f64,
) -> &[(usize, usize, f64)] {
    let best = runs.iter().map(|r| r.2).fold(0.0, f64::max);
    if best <= 0.0 {
        runs.clear();
    }
    runs.retain(|r| r.2 >= best * half);
    runs
}

/// Maximal-sum segments found greedily (Kadane, restarted after each
/// segment ends), each with its score, fed a line's value at a time.
#[derive(Default)]
struct Kadane {
    /// The first line of the segment.
    start: usize,
    sum: f64,
    /// The segment's best score so far, and the line it ends before.
    best: f64,
    best_end: usize,
}

impl Kadane {
    /// Adds line `i` of value `v`, pushing a segment that ended to `runs`.
    #[inline(always)]
    fn add(&mut self, i: usize, v: f64, runs: &mut Vec<(usize, usize, f64)>) {
        self.sum += v;
        if self.sum > self.best {
            self.best = self.sum;
            self.best_end = i + 1;
        }
        if self.sum <= 0.0 {
            self.finish_segment(runs);
            *self = Kadane { start: i + 1, ..Kadane::default() };
        }
    }

    fn finish_segment(&self, runs: &mut Vec<(usize, usize, f64)>) {
        if self.best > 0.0 {
            runs.push((self.start, self.best_end, self.best));
        }
    }

    /// Pushes the last segment, if any.
    fn finish(self, runs: &mut Vec<(usize, usize, f64)>) {
        self.finish_segment(runs);
    }
}

/// An ellipsis at the end: "…", "...", "..", "[…]". By bytes: the
/// trimmed `]` is ASCII, and matching a whole character's bytes at the
/// end of UTF-8 text is matching the character.
fn ends_truncated(line: &str) -> bool {
    let mut end = line.as_bytes();
    while let [rest @ .., b']'] = end {
        end = rest;
    }
    // "…" is E2 80 A6.
    matches!(end, [.., b'.', b'.'] | [.., 0xe2, 0x80, 0xa6])
}

/// The characters other than ASCII that end a sentence.
const SENTENCE_ENDS: [&str; 9] =
    ["”", "’", "»", "…", "。", "！", "？", "」", "』"];

/// The line ends like a sentence, closing brackets, `*` and spaces
/// aside. By bytes, as [`ends_truncated`]: decoding the end by chars
/// showed per line.
fn ends_like_sentence(line: &str) -> bool {
    let mut end = line.as_bytes();
    while let [rest @ .., b')' | b']' | b'*' | b' '] = end {
        end = rest;
    }
    match end.last() {
        Some(b'.' | b'!' | b'?' | b'"' | b'\'') => true,
        Some(&b) if b >= 0x80 => {
            SENTENCE_ENDS.iter().any(|c| end.ends_with(c.as_bytes()))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::ProptestConfig;

    fn strip(text: &str) -> Vec<Option<Reason>> {
        let s = Stripper::default();
        let lines: Vec<&str> = text.lines().collect();
        let f = s.document_features(&lines);
        s.classify(&f, &[])
    }

    /// Runs fixtures/strip/cases.txt: every case, every line, all
    /// failures reported at once.
    #[test]
    fn data_driven_cases() {
        let data = include_str!("../../fixtures/strip/cases.txt");
        let mut cases: Vec<(&str, Vec<(bool, &str)>)> = Vec::new();
        for line in data.lines() {
            if let Some(name) = line.strip_prefix("=== ") {
                cases.push((name, Vec::new()));
            } else if line.starts_with('#') || line.is_empty() {
                continue;
            } else if let Some(case) = cases.last_mut() {
                let keep = line.starts_with('+');
                assert!(keep || line.starts_with('-'), "bad line {line:?}");
                case.1.push((keep, line.get(2..).unwrap_or("")));
            }
        }
        assert!(cases.len() >= 7);
        let s = Stripper::default();
        let mut failures = Vec::new();
        for (name, lines) in &cases {
            let text: Vec<&str> = lines.iter().map(|l| l.1).collect();
            let f = s.document_features(&text);
            let v = s.classify(&f, &[]);
            for ((keep, line), verdict) in lines.iter().zip(&v) {
                if line.is_empty() {
                    continue;
                }
                if *keep != verdict.is_none() {
                    failures.push(format!(
                        "{name}: expected {}, got {verdict:?}: {line}",
                        if *keep { "kept" } else { "removed" },
                    ));
                }
            }
        }
        assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    }

    /// Room kept from a longer document in another language, with
    /// repeated lines, changes nothing for the next one.
    #[test]
    fn documents_after_others_get_the_same_features() {
        let s = Stripper::default();
        let seeds = include_str!(
            "../../fixtures/seeds/input/003_9be57a1a1a1860f9.txt"
        );
        let before: Vec<String> = (0..3)
            .flat_map(|_| {
                ["Министр заявил, что переговоры будут продолжены и что \
                  стороны готовы встретиться снова в следующем месяце."
                    .to_string()]
                .into_iter()
                .chain(seeds.lines().map(str::to_string))
            })
            .collect();
        let after: Vec<&str> = seeds.lines().take(12).collect();
        let fresh = std::thread::spawn({
            let after: Vec<String> =
                after.iter().map(|l| l.to_string()).collect();
            move || Stripper::default().document_features(&after)
        })
        .join()
        .expect("no panic");
        s.document_features(&before);
        assert_eq!(s.document_features(&after), fresh);
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
    fn presets_differ() {
        let text = include_str!(
            "../../fixtures/seeds/input/003_9be57a1a1a1860f9.txt"
        );
        let lines: Vec<&str> = text.lines().collect();
        let removed = |p| {
            let s = StripBuilder::new().preset(p).build().expect("valid");
            let f = s.document_features(&lines);
            s.classify(&f, &[]).iter().filter(|v| v.is_some()).count()
        };
        let (p, b, r) = (
            removed(Preset::Precision),
            removed(Preset::Balanced),
            removed(Preset::Recall),
        );
        assert!(p <= b && b <= r, "{p} {b} {r}");
    }

    #[test]
    fn repeat_key_ignores_case_space_and_digits() {
        assert_eq!(
            Stripper::repeat_key(" Posted 2 minutes ago "),
            Stripper::repeat_key("posted 17 MINUTES ago")
        );
    }

    /// The count of ASCII letters but `i` and `k` in `text`, as a
    /// plain loop.
    fn letters_but_i_k(text: &[u8]) -> u32 {
        text.iter()
            .filter(|b| b.is_ascii_alphabetic())
            .filter(|b| !b"iIkK".contains(b))
            .count() as u32
    }

    #[test]
    fn no_character_normalises_to_an_ascii_letter_but_i_and_k() {
        // Every character, alone and between letters: what the key's
        // normalisation makes of it holds the ASCII letters it holds,
        // with only `i` and `k` made from other characters.
        let mut norm = Vec::new();
        let mut made = Vec::new();
        for c in (0x80..=0x10_ffff).filter_map(char::from_u32) {
            for line in [c.to_string(), format!("Ab{c}Zq")] {
                let len = normalise_for_repeats(&line, &mut norm);
                let out = &norm[..len];
                assert_eq!(
                    letters_but_i_k(out),
                    letters_but_i_k(line.as_bytes()),
                    "{c:?} U+{:04X}",
                    c as u32
                );
                if out.iter().any(|b| b"ik".contains(b)) && line.len() < 5 {
                    made.push(c);
                }
            }
        }
        assert_eq!(made, ['\u{130}', '\u{212a}']);
    }

    #[test]
    fn repeat_key_letters_count_what_a_plain_loop_counts() {
        let text = "Ein Kilometer, İstanbul, 7 KM: the quick brown fox \
                    jumps over the lazy dog. THE QUICK BROWN FOX \
                    JUMPS OVER THE LAZY DOG! @[`{ Русский текст"
            .repeat(9);
        for end in (0..text.len()).filter(|&e| text.is_char_boundary(e)) {
            let line = &text[..end];
            assert_eq!(
                Stripper::repeat_key_letters(line),
                letters_but_i_k(line.as_bytes()),
                "{end}"
            );
        }
    }

    /// The key as first written: a string per line, built by chars.
    fn repeat_key_reference(line: &str) -> u64 {
        let mut norm = String::with_capacity(line.len());
        for c in line.trim().chars() {
            if c.is_alphabetic() {
                norm.extend(c.to_lowercase());
            } else if c.is_ascii_digit() {
                if !norm.ends_with('#') {
                    norm.push('#');
                }
            } else if !c.is_whitespace() {
                norm.push(c);
            }
        }
        xxhash_rust::xxh3::xxh3_64_with_seed(norm.as_bytes(), 0x6368_6166_6673)
    }

    #[test]
    fn repeat_key_matches_reference_for_ascii_pairs() {
        for a in 0..128u8 {
            for b in 0..128u8 {
                let line = format!("{}{}7", a as char, b as char);
                assert_eq!(
                    Stripper::repeat_key(&line),
                    repeat_key_reference(&line),
                    "{line:?}"
                );
            }
        }
    }

    /// Each line keyed as the first of a thread of its own (where the
    /// thread's buffer has only the room made for that line), against the
    /// reference.
    fn assert_first_lines_key_as_the_reference(lines: Vec<String>) {
        for line in lines {
            let got = std::thread::spawn({
                let line = line.clone();
                move || Stripper::repeat_key(&line)
            })
            .join()
            .expect("no panic");
            assert_eq!(got, repeat_key_reference(&line), "{line:?}");
        }
    }

    /// A thread's first line, of every length to three groups of
    /// sixteen, with whitespace at each place: the stores of a group
    /// stay within the room made for the line.
    #[test]
    fn repeat_key_of_a_first_line_with_whitespace_anywhere() {
        let mut lines = Vec::new();
        for len in 1..=48 {
            for space in 0..len {
                let mut line: Vec<u8> =
                    (0..len).map(|k| b'a' + (k % 26) as u8).collect();
                line[space] = b' ';
                lines.push(String::from_utf8(line).expect("ASCII"));
            }
        }
        assert_first_lines_key_as_the_reference(lines);
    }

    /// A thread's first line where lowercases grow it (`İ` takes three
    /// bytes lowered) before groups of sixteen and runs of two-byte
    /// characters, which write without making room again.
    #[test]
    fn repeat_key_of_a_first_line_that_grows_when_lowered() {
        let mut lines = Vec::new();
        for grow in 0..12 {
            for two in [0, 1, 7, 30] {
                for tail in [0, 5, 16, 32] {
                    let mut line = "İ".repeat(grow);
                    line.push_str(&"Жé".repeat(two));
                    line.push_str(&"Abcdefgh ijklmnop QRSTUVWXYZ0123"[..tail]);
                    line.push_str(&"ẞİ ж".repeat(grow % 3));
                    lines.push(line);
                }
            }
        }
        assert_first_lines_key_as_the_reference(lines);
    }

    /// Digits at each place of the eight bytes read at once, after
    /// plain bytes that end in `#`, whitespace or a letter and before
    /// other characters.
    #[test]
    fn repeat_key_matches_reference_with_digits_anywhere() {
        for before in ["", "a", "Ab#", "ab #", "AB# ", "x y\tZ", "#  "] {
            for pad in 0..8 {
                for digits in ["1", "23", "4 5", "6#7", "89é", "0Ж1 ", "2 #3x"]
                {
                    let line =
                        format!("{}{before}{digits} Tail", "q".repeat(pad));
                    assert_eq!(
                        Stripper::repeat_key(&line),
                        repeat_key_reference(&line),
                        "{line:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn repeat_key_matches_reference_for_every_cut() {
        // Every length and alignment of plain text, which goes sixteen
        // or eight bytes at a time.
        let text = "Read More  About US\tand\x0bThe Menu, (or) [not] x1 ab";
        for start in 0..text.len() {
            for end in start..=text.len() {
                let line = &text[start..end];
                assert_eq!(
                    Stripper::repeat_key(line),
                    repeat_key_reference(line),
                    "{line:?}"
                );
            }
        }
    }

    #[test]
    fn repeat_key_matches_reference_for_two_byte_chars() {
        // Each two-byte character alone, in a run of its kind, and after
        // a digit, as the table of two-byte keys answers for it.
        for c in (0x80..0x800).filter_map(char::from_u32) {
            for line in
                [format!("{c}"), format!("A{c}{c}Ж b"), format!("7{c}7")]
            {
                assert_eq!(
                    Stripper::repeat_key(&line),
                    repeat_key_reference(&line),
                    "{line:?}"
                );
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn repeat_key_matches_reference(
            line in tricky::line(),
            pad in 0usize..9,
        ) {
            // Every alignment of the line within the eight-byte reads.
            let padded = format!("{}{line}", "x".repeat(pad));
            for text in [line.as_str(), padded.as_str()] {
                proptest::prop_assert_eq!(
                    Stripper::repeat_key(text),
                    repeat_key_reference(text)
                );
            }
        }

        #[test]
        fn lines_with_one_repeat_key_have_one_letter_count(
            line in tricky::line(),
        ) {
            let mut norm = Vec::new();
            let len = normalise_for_repeats(&line, &mut norm);
            proptest::prop_assert_eq!(
                Stripper::repeat_key_letters(&line),
                letters_but_i_k(&norm[..len])
            );
        }

        #[test]
        fn char_counts_match_reference(line in tricky::line()) {
            let (f, cjk) =
                line_features(&line, &mut Scratch::default(), |_| false);
            let trimmed = line.trim();
            proptest::prop_assert_eq!(trim(&line), trimmed);
            let chars = trimmed.chars().count() as u32;
            let want_cjk =
                trimmed.chars().filter(|&c| lang::is_cjk(c)).count() as u32;
            let particles = trimmed
                .chars()
                .filter(|&c| lang::is_cjk_particle(c))
                .count() as u32;
            proptest::prop_assert_eq!((f.chars, cjk), (chars, want_cjk));
            if want_cjk * 2 > chars {
                proptest::prop_assert_eq!(f.stopwords, particles * 2);
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn line_ends_match_reference(
            line in tricky::line(),
            end in proptest::sample::select(vec![
                "", ".", "..", "…", "…]]", "”)", "。 *", "!)", "a", "»",
                "’ ]", "?", "\"", "'", "』", "x…", ". . ", "」*", "ä",
            ]),
        ) {
            let line = format!("{line}{end}");
            let trimmed = line.trim_end_matches(']');
            let truncated = trimmed.ends_with("..") || trimmed.ends_with('…');
            proptest::prop_assert_eq!(ends_truncated(&line), truncated);
            let end = line.trim_end_matches([')', ']', '*', ' ']);
            let sentence = matches!(
                end.chars().next_back(),
                Some(
                    '.' | '!' | '?' | '"' | '\'' | '”' | '’' | '»' | '…'
                        | '。' | '！' | '？' | '」' | '』'
                )
            );
            proptest::prop_assert_eq!(ends_like_sentence(&line), sentence);
        }
    }

    #[test]
    fn ellipsis_is_not_a_sentence_end() {
        let s = Stripper::default();
        let f = s
            .features("UN to Allocate Record High $150Mln to Support Huma ..");
        assert!(f.truncated && !f.sentence_end);
        assert!(s.features("He said “yes.”").sentence_end);
        assert!(s.features("会議は来月開かれる。").sentence_end);
    }

    // The strip decision as it was first written (vectors of verdicts,
    // values, classes and regions per document), which
    // `Stripper::decide` must match line for line.
    fn classify_reference(
        s: &Stripper,
        features: &[LineFeatures],
        repeats: &[u32],
    ) -> Vec<Option<Reason>> {
        let n = features.len();
        let tuning = s.config.preset.tuning();
        let mut verdict: Vec<Option<Reason>> = vec![None; n];
        let mut value = vec![0f64; n];
        let mut class = vec![Class::Blank; n];
        for (i, f) in features.iter().enumerate() {
            if f.chars == 0 {
                continue;
            }
            let repeat = repeats.get(i).copied().unwrap_or(0);
            let templated = repeat >= s.config.min_repeat_docs
                && (f.chars as usize) <= s.config.max_repeat_chars;
            if templated {
                verdict[i] = Some(Reason::RepeatedInSource(repeat));
            } else if f.repeats_earlier {
                verdict[i] = Some(Reason::RepeatedInDocument);
            } else if let Some(hit) = f.lexicon {
                if hit.strong || tuning.weak_lexicon {
                    verdict[i] = Some(Reason::Lexicon(hit.name));
                }
            }
            if templated || f.repeats_earlier || f.lexicon.is_some() {
                class[i] = Class::Flagged;
                value[i] = FLAGGED;
            } else {
                (class[i], value[i]) = line_value_reference(f, &tuning);
            }
        }
        // A comment header after some article text ends the article.
        let mut end = n;
        let mut shown = 0.0;
        for i in 0..n {
            if class[i] == Class::Good {
                shown += value[i];
            } else if shown >= COMMENTS_AFTER
                && features[i].lexicon.is_some_and(|h| h.opens_comments())
            {
                end = i;
                break;
            }
        }
        let mut in_region = vec![false; n];
        for (start, stop) in main_regions(&value[..end], tuning.half) {
            in_region[start..stop].iter_mut().for_each(|x| *x = true);
        }
        if let Some(good_or_near) = tuning.weak {
            // Keep a weak line only where text follows it (a sub-heading).
            let mut text_follows = false;
            for i in (0..n).rev() {
                match class[i] {
                    Class::Blank => {}
                    _ if !in_region[i] || verdict[i].is_some() => {
                        text_follows = false;
                    }
                    Class::Good => text_follows = true,
                    Class::Near if good_or_near => text_follows = true,
                    _ => in_region[i] = text_follows,
                }
            }
        }
        for i in 0..n {
            if features[i].chars == 0 || verdict[i].is_some() {
                continue;
            }
            if i >= end {
                verdict[i] = Some(Reason::CommentSection);
            } else if !in_region[i] {
                verdict[i] = Some(Reason::OutsideMainRegion);
            }
        }
        tidy_blanks(features, &mut verdict);
        verdict
    }
    /// How much a line looks like article text: positive for prose (scaled
    /// by length, so one long paragraph outweighs several menu items),
    /// negative for furniture.
    fn line_value_reference(
        f: &LineFeatures,
        tuning: &Tuning,
    ) -> (Class, f64) {
        let density = f.stopwords as f64 / f.words.max(1) as f64;
        let weight = (f.chars as f64 / 80.0).min(4.0);
        let dense = density >= 0.2;
        if f.truncated {
            (Class::Near, NEAR)
        } else if f.sentence_end && f.words >= PROSE_WORDS && dense {
            (Class::Good, weight)
        } else if f.chars >= LONG_CHARS && dense {
            (Class::Good, weight * 0.5)
        } else if f.sentence_end && f.words >= 4 && density >= 0.12 {
            (Class::Near, NEAR)
        } else if f.words >= 5 && dense {
            (Class::Near, 0.0)
        } else {
            (Class::Bad, tuning.bad)
        }
    }

    /// The best-scoring contiguous run of lines, plus runs at least `half`
    /// as good, as half-open ranges in line order.
    fn main_regions(value: &[f64], half: f64) -> Vec<(usize, usize)> {
        let runs = positive_runs(value);
        let best = runs.iter().map(|r| r.2).fold(0.0, f64::max);
        if best <= 0.0 {
            return Vec::new();
        }
        runs.into_iter()
            .filter(|r| r.2 >= best * half)
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

    fn features_strategy(
    ) -> impl proptest::strategy::Strategy<Value = Vec<(LineFeatures, u32)>>
    {
        use proptest::prelude::*;
        let hit = prop_oneof![
            6 => Just(None),
            1 => Just(Some(LexiconHit { name: "comments", strong: false })),
            1 => Just(Some(LexiconHit { name: "subscribe", strong: true })),
            1 => Just(Some(LexiconHit { name: "share", strong: false })),
        ];
        let line = (
            prop_oneof![2 => Just(0u32), 5 => 1u32..400],
            0u32..40,
            0u32..12,
            any::<(bool, bool)>(),
            prop_oneof![9 => Just(false), 1 => Just(true)],
            hit,
            prop_oneof![6 => Just(0u32), 2 => 1u32..6, 1 => Just(u32::MAX)],
        )
            .prop_map(
                |(chars, words, stops, (end, trunc), copy, hit, n)| {
                    let f = LineFeatures {
                        chars,
                        words,
                        stopwords: stops.min(words + 2),
                        sentence_end: end,
                        truncated: trunc,
                        repeats_earlier: copy,
                        lexicon: hit,
                    };
                    (f, n)
                },
            );
        proptest::collection::vec(line, 0..60)
    }

    proptest::proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        #[test]
        fn decide_matches_reference(lines in features_strategy()) {
            let (features, repeats): (Vec<_>, Vec<_>) =
                lines.into_iter().unzip();
            for preset in [Preset::Precision, Preset::Balanced, Preset::Recall]
            {
                let s = StripBuilder::new().preset(preset).build().expect("valid");
                proptest::prop_assert_eq!(
                    s.classify(&features, &repeats),
                    classify_reference(&s, &features, &repeats),
                    "{:?}", preset
                );
            }
        }
    }
}
