//! The multilingual boilerplate lexicon.
//!
//! Three tables, each matched once per line:
//!
//! - whole-line labels ("Share", "Menu", "Kommentare"): a short line that
//!   is nothing but the label, looked up after normalising case and
//!   punctuation;
//! - phrases ("all rights reserved", "читайте также"): found anywhere in
//!   the line by one Aho-Corasick automaton, counted only where the line
//!   is short enough for the phrase to be its point;
//! - patterns that need structure ("5 minutes ago", "(Photo by AFP)",
//!   comment headers): one `RegexSet`, run only on short lines or lines
//!   ending in `)` or `:`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::LazyLock;

use regex::RegexSet;
use regex_automata::hybrid::dfa::{Cache as LazyCache, DFA as LazyDfa};
use regex_automata::Input;

use super::chars::{decode_at, CharInfo};
use super::lang::{lowercase_into, FxBuild};
use super::scan::{AsciiAlnum, LineScan};

/// A lexicon match: which kind of boilerplate, and whether it is strong
/// enough to remove a line even inside the main region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LexiconHit {
    /// The kind, used in reason codes (`lexicon:subscribe`).
    pub name: &'static str,
    /// True for phrases that are boilerplate wherever they stand.
    pub strong: bool,
}

impl LexiconHit {
    /// True for a comment-section header ("12 Comments", "Leave a Reply",
    /// "Bob says:"): the article ends before it.
    pub fn opens_comments(&self) -> bool {
        self.name == "comments"
    }
}

/// (kind, strong, phrases): a line hits when it contains the phrase
/// (ASCII case ignored) and is short enough that the phrase is its
/// point: at most 12 words, 25 for subscription and cookie text, 60
/// for strong kinds; consent banners at any length.
const PHRASES: &[(&str, bool, &[&str])] = &[
    (
        "share",
        false,
        &[
            "share this",
            "share on",
            "share via",
            "tweet this",
            "email this",
            "print this",
            "teilen",
            "partager",
            "compartir",
            "compartilhar",
            "condividi",
            "поделиться",
            "分享",
            "シェア",
        ],
    ),
    (
        "subscribe",
        false,
        &[
            "subscribe",
            "subscribing",
            "subscription",
            "sign up",
            "newsletter",
            "quality journalism",
            "support our journalism",
            "become a member",
            "abonnieren",
            "abonnez",
            "abonner",
            "suscríbete",
            "suscribirse",
            "assine",
            "inscreva",
            "iscriviti",
            "подписаться",
            "подпишитесь",
            "подписка",
            "订阅",
            "購読",
            "会員登録",
        ],
    ),
    (
        "consent",
        true,
        &[
            "we use cookies",
            "use of cookies",
            "uses cookies",
            "cookie policy",
            "cookie settings",
            "accept cookies",
            "accept all cookies",
            "by continuing to use",
            "by using this site",
            "by using our site",
            "you agree to our",
            "wir verwenden cookies",
            "verwendet cookies",
            "nous utilisons des cookies",
            "utilise des cookies",
            "utilizamos cookies",
            "utiliza cookies",
            "usamos cookies",
            "utilizziamo i cookie",
            "мы используем файлы cookie",
            "использует файлы cookie",
            "使用cookie",
            "クッキーを使用",
            "cookieを使用",
        ],
    ),
    (
        "cookie",
        false,
        &[
            "cookie",
            "consent",
            "privacy policy",
            "privacy notice",
            "datenschutz",
            "confidentialité",
            "política de privacidad",
            "privacidade",
            "конфиденциальност",
            "隐私政策",
            "プライバシー",
        ],
    ),
    (
        "related",
        false,
        &[
            "related",
            "more stories",
            "see also",
            "you may also like",
            "you might also like",
            "recommended",
            "read more",
            "read next",
            "read also",
            "also read",
            "most popular",
            "most read",
            "trending",
            "popular posts",
            "recent posts",
            "latest news",
            "weitere artikel",
            "mehr zum thema",
            "lesen sie auch",
            "lire aussi",
            "à lire aussi",
            "voir aussi",
            "lee también",
            "leia também",
            "veja também",
            "leggi anche",
            "читайте также",
            "похожие",
            "相关新闻",
            "相关文章",
            "相关阅读",
            "関連記事",
            "あわせて読みたい",
        ],
    ),
    (
        "copyright",
        true,
        &[
            "©",
            "ⓒ",
            "(c) 20",
            "copyright",
            "all rights reserved",
            "all rights of the publication",
            "alle rechte vorbehalten",
            "tous droits réservés",
            "todos los derechos reservados",
            "todos os direitos reservados",
            "tutti i diritti riservati",
            "все права защищены",
            "版权所有",
            "無断転載",
            "무단전재",
        ],
    ),
    (
        "navigation",
        false,
        &[
            "back to top",
            "skip to",
            "main menu",
            "toggle navigation",
            "about us",
            "contact us",
            "terms of use",
            "terms of service",
            "terms and conditions",
            "leave a comment",
            "comment policy",
            "log in",
            "sign in",
            "zum inhalt",
            "nach oben",
            "retour en haut",
            "volver arriba",
            "наверх",
            "返回顶部",
            "トップへ戻る",
        ],
    ),
    (
        "advertisement",
        false,
        &[
            "advertisement",
            "sponsored",
            "anzeige",
            "publicité",
            "publicidad",
            "publicidade",
            "pubblicità",
            "реклама",
            "广告",
            "広告",
        ],
    ),
    (
        "photo-credit",
        true,
        &["getty images", "reuters/", "ap photo", "afp photo", "shutterstock"],
    ),
];

/// (kind, labels): a line that is only the label (case, punctuation and
/// spacing aside).
const LABELS: &[(&str, &str)] = &[
    (
        "navigation",
        "menu|search|home|reply|next|previous|next post|previous post|\
         close|cancel|more|load more|show more|top|tags|categories|archives|\
         newer|older|login|register|startseite|suche|accueil|recherche|\
         inicio|buscar|início|pesquisar|главная|поиск|首页|搜索|ホーム|検索",
    ),
    (
        "share",
        "share|facebook|twitter|whatsapp|pinterest|linkedin|reddit|tumblr|\
         telegram|vk|print|email|share this|tweet|pin it|print this",
    ),
    (
        "comments",
        "comments|comment|responses|discussion|kommentare|commentaires|\
         comentarios|comentários|commenti|комментарии|评论|コメント",
    ),
    ("related", "related|trending|recommended|popular|latest"),
];

/// (kind, pattern) for what a phrase list cannot say.
const PATTERNS: &[(&str, &str)] = &[
    (
        "time-ago",
        r"(?i)^(\d+|an?|one)\s+(second|minute|min|hour|hr|day|week|month|year)s?\s+ago$",
    ),
    ("time-ago", r"(?i)^vor\s+\d+\s+(minuten|stunden|tagen)$"),
    ("time-ago", r"(?i)^il y a\s+\d+\s+(minutes?|heures?|jours?)$"),
    ("time-ago", r"(?i)^hace\s+\d+\s+(minutos?|horas?|días?)$"),
    ("time-ago", r"(?i)^há\s+\d+\s+(minutos?|horas?|dias?)$"),
    ("time-ago", r"^\d+\s+(минут[аы]?|час[аов]*|дн[ейя])\s+назад$"),
    ("time-ago", r"^\d+\s*(分钟前|小时前|天前|分前|時間前|日前)$"),
    (
        "photo-credit",
        r"(?i)\((photo|file photo|image|picture|foto|фото)s?( by|:)[^)]*\)$",
    ),
    (
        "photo-credit",
        r"(?i)^(photo|image|picture|credit|foto|фото)( by)?\s*[:/]",
    ),
    // `(\W|$)` after a word, and `[^\w\n]` before one, are `\b` in a
    // form the lazy DFA runs on non-ASCII text too (a Unicode `\b`
    // sends it to the PikeVM, thirty times slower).
    (
        "comments",
        r"(?i)^(\d+\s+)?(comments?|responses?|thoughts? on|replies|reactions?|kommentare?|commentaires?|comentarios?|comentários?|commenti|комментари[йия]?|评论|コメント)(\W|$)",
    ),
    (
        "comments",
        r"(?i)^(leave a (reply|comment)|join the (discussion|conversation)|post a comment|add a comment|comments are closed|schreibe einen kommentar|laisser un commentaire|deja un comentario|deixe um comentário|lascia un commento|оставить комментарий)",
    ),
    (
        "comments",
        r"(?i)^.{0,59}[^\w\n](says|said|wrote|schreibt|a écrit|dice|dijo|disse|пишет|написал)\s*:$",
    ),
];

struct Lexicon {
    /// The phrases, to tell which one a line holds.
    phrases: PhraseTrie,
    phrase_kind: Vec<(&'static str, bool)>,
    /// The same phrases, to tell only whether any occurs: most lines
    /// hold none.
    phrase_occurs: PhraseTable,
    /// Keyed by bytes: [`label`] writes bytes, and checking them as
    /// UTF-8 again cost more than the lookup.
    labels: HashMap<&'static [u8], &'static str, FxBuild>,
    /// The longest label in bytes: a line normalised past it is none.
    longest_label: usize,
    /// The most words a label has.
    most_label_words: usize,
    /// By a label's first byte, its lengths as bits: most normalised
    /// lines are no label, and this rules them out before hashing.
    label_lengths: [u64; 256],
    /// The patterns anchored at the line's start, so a search stops
    /// within a few bytes of most lines instead of scanning them (and
    /// seldom meets the non-ASCII bytes that send a Unicode `\b` to the
    /// slow engine).
    anchored: PatternSet,
    /// The patterns anchored at a closing `)` or `:`, run only on lines
    /// that end so.
    open_ended: PatternSet,
}

impl Lexicon {
    /// The phrases `hay` holds, by their index in the list, as an
    /// Aho-Corasick search with leftmost-first semantics finds them:
    /// the leftmost, the first in the list where several start there,
    /// then the same after its end (a test compares the crate's). The
    /// table finds where the first phrase ends; the leftmost starts
    /// no more than the longest phrase before that, and a walk of the
    /// trie from each byte there finds it.
    fn phrases_in<'h>(
        &'h self,
        hay: &'h [u8],
    ) -> impl Iterator<Item = u32> + 'h {
        let (trie, table) = (&self.phrases, &self.phrase_occurs);
        let mut at = 0;
        std::iter::from_fn(move || {
            let end = at + table.first_end(&hay[at..])?;
            let from = end.saturating_sub(table.overlap + 1).max(at);
            let (start, (p, len)) = (from..end)
                .find_map(|s| Some((s, trie.first_at(&hay[s..])?)))?;
            at = start + len;
            Some(p)
        })
    }

    /// Whether some label starts with byte `first` and is `len` bytes
    /// long, by [`Lexicon::label_lengths`].
    #[inline]
    fn has_label_shape(&self, first: u8, len: usize) -> bool {
        len < 64 && self.label_lengths[first as usize] >> len & 1 == 1
    }
}

/// Some of [`PATTERNS`] as one set, with each member's index there.
struct PatternSet {
    set: RegexSet,
    index: Vec<usize>,
    /// The bytes a matching line can start with: a line starting with
    /// another byte is not searched, as starting a search cost more than
    /// the search of most lines.
    starts: [bool; 256],
    /// The same for a line's first two bytes, a bit per pair (bit
    /// `second % 64` of entry `first * 4 + second / 64`): most lines
    /// start with a byte some pattern starts with, but few with two.
    pairs: Box<[u64; 1024]>,
    /// The members as one lazy DFA, for sets anchored at the start: its
    /// walk from the start dies within a few bytes of most lines, where
    /// a search of the set costs a hundred instructions to set up.
    walk: Option<LazyDfa>,
}

thread_local! {
    /// The states [`PatternSet::walked`] has built; one set walks.
    static WALK_CACHE: RefCell<Option<LazyCache>> = const { RefCell::new(None) };
}

impl PatternSet {
    /// `anchored` says that every member is anchored at the line's start.
    fn new(
        members: impl Iterator<Item = usize>,
        anchored: bool,
    ) -> PatternSet {
        let index: Vec<usize> = members.collect();
        let patterns: Vec<&str> =
            index.iter().map(|&i| PATTERNS[i].1).collect();
        let set =
            RegexSet::new(&patterns).expect("the built-in patterns compile");
        let walk = anchored.then(|| LazyDfa::new_many(&patterns).ok());
        let walk = walk.flatten();
        let (starts, pairs) = match &walk {
            Some(dfa) => {
                let starts = first_bytes(dfa);
                (starts, first_pairs(dfa, &starts))
            }
            None => ([true; 256], Box::new([u64::MAX; 1024])),
        };
        PatternSet { set, index, starts, pairs, walk }
    }

    /// False when no member can match `line`; true when one may.
    #[cfg(test)]
    fn may_match(&self, line: &str) -> bool {
        self.walked(line).unwrap_or(true)
    }

    /// Whether a member matches `line`, as the walk of the set's DFA
    /// says; `None` for a set that does not walk, or where the walk
    /// cannot say.
    fn walked(&self, line: &str) -> Option<bool> {
        let dfa = self.walk.as_ref()?;
        WALK_CACHE.with_borrow_mut(|cache| {
            let cache = cache.get_or_insert_with(|| dfa.create_cache());
            walk_anchored(dfa, cache, line.as_bytes())
        })
    }

    /// False when no member can match a line starting as `bytes` does,
    /// by its first byte or two.
    #[inline]
    fn may_start(&self, bytes: &[u8]) -> bool {
        match *bytes {
            [] => true,
            [first] => self.starts[first as usize],
            [first, second, ..] => {
                let entry =
                    self.pairs[first as usize * 4 + second as usize / 64];
                entry >> (second % 64) & 1 == 1
            }
        }
    }

    /// The lowest index into [`PATTERNS`] that matches `line` and that
    /// `counts` accepts. Inlined for the check of the first bytes, which
    /// rules out most lines: a call per line cost more than the check.
    #[inline]
    fn first(
        &self,
        line: &str,
        counts: impl Fn(usize) -> bool,
    ) -> Option<usize> {
        if !self.may_start(line.as_bytes()) {
            return None;
        }
        self.first_searched(line, counts)
    }

    /// [`PatternSet::first`] of a line its first bytes do not rule out.
    #[inline(never)]
    fn first_searched(
        &self,
        line: &str,
        counts: impl Fn(usize) -> bool,
    ) -> Option<usize> {
        // A walk that says so has said what `is_match` would.
        let matches = match self.walked(line) {
            Some(walked) => walked,
            None => self.set.is_match(line),
        };
        if !matches {
            return None;
        }
        let found = self.set.matches(line);
        found.iter().map(|i| self.index[i]).find(|&i| counts(i))
    }
}

/// Which first bytes leave a match of `dfa` from its anchored start
/// possible: those on which its first step does not die. Read from the
/// DFA, so case folds (the Kelvin sign for `k`) and Unicode classes
/// (`\d`) count exactly as the regex engine counts them. Every byte
/// where the DFA cannot say.
fn first_bytes(dfa: &LazyDfa) -> [bool; 256] {
    let mut starts = [true; 256];
    let mut cache = dfa.create_cache();
    let input = Input::new("").anchored(regex_automata::Anchored::Yes);
    let Ok(start) = dfa.start_state_forward(&mut cache, &input) else {
        return starts;
    };
    for (b, can_start) in starts.iter_mut().enumerate() {
        if let Ok(next) = dfa.next_state(&mut cache, start, b as u8) {
            *can_start = !next.is_dead();
        }
    }
    starts
}

/// [`PatternSet::pairs`] of `dfa`: the pairs on whose second byte its
/// walk from the anchored start dies are clear. Pairs whose first byte
/// cannot start a match are left set, as the first byte rules them out
/// already; so is every pair where the DFA cannot say, or where its
/// cache was cleared (which leaves the states in hand stale).
fn first_pairs(dfa: &LazyDfa, starts: &[bool; 256]) -> Box<[u64; 1024]> {
    let mut pairs = Box::new([u64::MAX; 1024]);
    let mut cache = dfa.create_cache();
    let input = Input::new("").anchored(regex_automata::Anchored::Yes);
    let Ok(start) = dfa.start_state_forward(&mut cache, &input) else {
        return pairs;
    };
    for first in (0..=255u8).filter(|&b| starts[b as usize]) {
        let clears = cache.clear_count();
        let Ok(after_first) = dfa.next_state(&mut cache, start, first) else {
            continue;
        };
        let mut row = [u64::MAX; 4];
        for second in 0..=255u8 {
            let next = dfa.next_state(&mut cache, after_first, second);
            if next.is_ok_and(|s| s.is_dead()) {
                row[second as usize / 64] &= !(1 << (second % 64));
            }
        }
        if cache.clear_count() == clears {
            let at = first as usize * 4;
            pairs[at..at + 4].copy_from_slice(&row);
        }
    }
    pairs
}

/// Whether `dfa` matches `hay` from its anchored start, byte by byte,
/// stopping where it dies or matches; `None` where it cannot say.
fn walk_anchored(
    dfa: &LazyDfa,
    cache: &mut LazyCache,
    hay: &[u8],
) -> Option<bool> {
    let input = Input::new(hay).anchored(regex_automata::Anchored::Yes);
    let mut sid = dfa.start_state_forward(cache, &input).ok()?;
    for &b in hay {
        sid = dfa.next_state(cache, sid, b).ok()?;
        if sid.is_tagged() {
            if sid.is_dead() {
                return Some(false);
            }
            if sid.is_match() || sid.is_quit() {
                return Some(true);
            }
        }
    }
    let end = dfa.next_eoi_state(cache, sid).ok()?;
    Some(end.is_match() || end.is_quit())
}

/// True for a pattern that can match only a line ending in `)` or `:`.
fn is_open_ended(pattern: &str) -> bool {
    pattern.ends_with(r"\)$") || pattern.ends_with(":$")
}

/// `lexicon:NAME`, the removal code of a kind of the tables, made once:
/// it is the code of every line the kind removes.
pub(crate) fn code(name: &str) -> Option<&'static str> {
    static CODES: LazyLock<Vec<(&str, String)>> = LazyLock::new(|| {
        let names = PHRASES.iter().map(|p| p.0);
        let names = names.chain(LABELS.iter().map(|l| l.0));
        let mut codes: Vec<(&str, String)> = Vec::new();
        for name in names.chain(PATTERNS.iter().map(|p| p.0)) {
            if !codes.iter().any(|(known, _)| *known == name) {
                codes.push((name, format!("lexicon:{name}")));
            }
        }
        codes
    });
    CODES.iter().find(|(known, _)| *known == name).map(|(_, c)| c.as_str())
}

static LEXICON: LazyLock<Lexicon> = LazyLock::new(|| {
    let mut words = Vec::new();
    let mut phrase_kind = Vec::new();
    for &(name, strong, list) in PHRASES {
        for &p in list {
            words.push(p);
            phrase_kind.push((name, strong));
        }
    }
    let phrases = PhraseTrie::new(&words);
    let phrase_occurs = PhraseTable::new(&phrases, &words);
    let mut labels = HashMap::with_hasher(FxBuild);
    for &(name, list) in LABELS {
        for label in list.split('|') {
            labels.insert(label.trim().as_bytes(), name);
        }
    }
    let longest_label = labels.keys().map(|l| l.len()).max().unwrap_or(0);
    let words_of = |l: &[u8]| l.split(|&b| b == b' ').count();
    let most_label_words = labels.keys().map(|l| words_of(l)).max();
    let most_label_words = most_label_words.unwrap_or(0);
    let mut label_lengths = [0u64; 256];
    for l in labels.keys() {
        label_lengths[l[0] as usize] |= 1 << l.len();
    }
    assert!(longest_label <= MAX_LABEL, "a label is too long");
    let open = |i: &usize| is_open_ended(PATTERNS[*i].1);
    for (_, p) in PATTERNS.iter().filter(|p| !is_open_ended(p.1)) {
        // Otherwise the split into two sets would drop matches.
        assert!(
            p.strip_prefix("(?i)").unwrap_or(p).starts_with('^'),
            "{p}: a pattern must be anchored at the start or the end"
        );
    }
    let anchored =
        PatternSet::new((0..PATTERNS.len()).filter(|i| !open(i)), true);
    let open_ended = PatternSet::new((0..PATTERNS.len()).filter(open), false);
    Lexicon {
        phrases,
        phrase_kind,
        phrase_occurs,
        labels,
        longest_label,
        most_label_words,
        label_lengths,
        anchored,
        open_ended,
    }
});

/// Builds the lexicon now. A batch run asks for it when it is set up, on
/// a worker thread, so that it is ready by the first line to strip:
/// otherwise every thread of the first chunk waits while one builds it.
pub(crate) fn build_ahead() {
    LazyLock::force(&LEXICON);
}

/// Labels are at most this many bytes once normalised.
const MAX_LABEL: usize = 40;

/// The most words a line may have for a phrase of this kind to count.
fn max_words(name: &str, strong: bool) -> u32 {
    match name {
        "consent" => u32::MAX,
        _ if strong => MOST_WORDS_BUT_CONSENT,
        "subscribe" | "cookie" => 25,
        _ => 12,
    }
}

/// Past this many words a line can hit no phrase but a consent
/// banner's ([`max_words`]).
const MOST_WORDS_BUT_CONSENT: u32 = 60;

/// Each consent phrase holds one of these once ASCII letters are
/// lowercased (a test checks). A phrase also matches where lowercasing
/// the line makes it, and the only letters lowercasing makes ASCII
/// ones of are `İ` (`i` and a combining dot, which no phrase holds)
/// and the Kelvin sign (`k`): hence the second.
const CONSENT_NEEDLES: [&str; 6] = [
    "cookie",
    "coo\u{212a}ie",
    "by continuing to use",
    "by using",
    "you agree to our",
    "クッキーを使用",
];

/// Whether `line` may hold a consent phrase: one of
/// [`CONSENT_NEEDLES`] occurs in it, ASCII case aside. A few searches
/// with SIMD, where the phrase table takes a dependent load a byte: most
/// lines of more than [`MOST_WORDS_BUT_CONSENT`] words (a third of the
/// planted corpus's bytes) are ruled out this way.
fn may_hold_consent(line: &str, scratch: &mut String) -> bool {
    static FINDERS: LazyLock<Vec<memchr::memmem::Finder<'static>>> =
        LazyLock::new(|| {
            CONSENT_NEEDLES.iter().map(memchr::memmem::Finder::new).collect()
        });
    scratch.clear();
    scratch.push_str(line);
    scratch.make_ascii_lowercase();
    FINDERS.iter().any(|f| f.find(scratch.as_bytes()).is_some())
}

/// The lexicon entry a trimmed line with `words` words matches.
/// `scratch` holds the lowercased line where it needs one.
#[cfg(test)]
pub(crate) fn find(
    line: &str,
    words: u32,
    scratch: &mut String,
) -> Option<LexiconHit> {
    let mut scan = super::scan::LineScan::default();
    scan.scan(line);
    find_cased(line, words, scan.case(line), &scan, scratch)
}

/// What the phrase scan must do about a line's case, which the caller
/// knows from its own pass over the line. The phrases, matched ignoring
/// ASCII case, match as they always did (on the line, or on
/// `str::to_lowercase` of it where it holds an uppercase letter), and
/// the line is lowercased only when that changes more than ASCII
/// letters: so English with curly quotes is not copied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Case {
    /// The line is ASCII.
    Ascii,
    /// Lowercasing would change no more than ASCII letters.
    AsIs,
    /// The phrases must see the line lowercased: it holds a non-ASCII
    /// character with another lowercase, and an uppercase letter.
    Lower,
}

/// [`find`] of a line whose [`Case`] and number of ASCII letters and
/// digits are known.
pub(crate) fn find_cased(
    line: &str,
    words: u32,
    case: Case,
    scan: &LineScan,
    scratch: &mut String,
) -> Option<LexiconHit> {
    if words > 100 {
        return None;
    }
    let lex = &*LEXICON;
    let ends_open = line.ends_with(')') || line.ends_with(':');
    if words <= 25 || ends_open {
        let counts = |i: usize| PATTERNS[i].0 != "comments" || words <= 12;
        let start = lex.anchored.first(line, counts);
        // The first pattern in table order wins, whichever set holds it.
        let end = match ends_open {
            true => lex.open_ended.first(line, counts),
            false => None,
        };
        let first = match (start, end) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if let Some(i) = first {
            return Some(LexiconHit { name: PATTERNS[i].0, strong: true });
        }
    }
    // A label keeps every letter and digit, so a line with more than a
    // label holds is none (most lines: each would be normalised).
    let label_cap = (lex.longest_label + 1).min(MAX_LABEL);
    // An ASCII line normalises to its runs of letters and digits, a
    // space between each: its first byte and length are known without
    // writing it, and most lines are ruled out by them.
    let may_be_label = |alnum: AsciiAlnum| match (case, alnum.first) {
        _ if alnum.count as usize > label_cap => false,
        (Case::Ascii, None) => false,
        (Case::Ascii, Some(at)) => {
            let first = line.as_bytes()[at as usize].to_ascii_lowercase();
            let len = alnum.count + alnum.runs - 1;
            alnum.runs as usize <= lex.most_label_words
                && lex.has_label_shape(first, len as usize)
        }
        (Case::AsIs | Case::Lower, _) => true,
    };
    // At most MAX_LABEL * 2 bytes: `ascii_alnum` answers.
    if line.len() <= MAX_LABEL * 2
        && scan.ascii_alnum().is_some_and(may_be_label)
    {
        let mut buf = LabelBuf::default();
        let normalised = label(line, lex.longest_label, &mut buf);
        let may_be_label = |l: &&[u8]| {
            l.first().is_some_and(|&b| lex.has_label_shape(b, l.len()))
        };
        let normalised = normalised.filter(may_be_label);
        if let Some(name) = normalised.and_then(|l| lex.labels.get(l)) {
            return Some(LexiconHit { name, strong: false });
        }
    }
    if words > MOST_WORDS_BUT_CONSENT && !may_hold_consent(line, scratch) {
        return None;
    }
    // ASCII letters match either case; other letters need lowering,
    // which is written out only for the few lines a phrase occurs in.
    let occurs = match case {
        Case::Lower => lex.phrase_occurs.occurs_lowered(line),
        Case::Ascii | Case::AsIs => lex.phrase_occurs.occurs(line.as_bytes()),
    };
    if !occurs {
        return None;
    }
    let hay = match case {
        Case::Lower => lowercase_into(line, scratch),
        Case::Ascii | Case::AsIs => line,
    };
    for p in lex.phrases_in(hay.as_bytes()) {
        let (name, strong) = lex.phrase_kind[p as usize];
        if words <= max_words(name, strong) {
            return Some(LexiconHit { name, strong });
        }
    }
    None
}

/// The phrases as a flat DFA table (Aho-Corasick, standard semantics), to tell
/// whether a phrase occurs in a line: every byte of most lines is
/// walked. Every match state is one state that never leaves, so a walk
/// checks for it once at the end rather than after each byte, and a
/// step is a class lookup and a load (the DFA's own step also checks
/// the state and the index).
struct PhraseTable {
    /// Each byte's class: ASCII case folded, and every byte that is in
    /// no phrase in class 0 (from every state of an Aho-Corasick
    /// automaton such a byte goes where any other such byte goes).
    class: [u8; 256],
    /// Each state's row of next states, a slot per class; states are
    /// numbered by where their row starts.
    next: Vec<u32>,
    /// The unanchored start.
    start: u32,
    /// The longest phrase in bytes, less one: how far two halves of a
    /// line walked apart must overlap.
    overlap: usize,
}

/// The absorbing state every match leads to (its row comes first).
const HIT: u32 = 0;

/// The phrases as a trie over byte classes (ASCII case folded), for
/// [`PhraseTable`] and for finding which phrases a line holds
/// ([`Lexicon::phrases_in`]).
struct PhraseTrie {
    /// Each byte's class: ASCII case folded, and every byte that is in
    /// no phrase in class 0.
    class: [u8; 256],
    /// Classes, the length of a row.
    stride: usize,
    /// A row of children per node, 0 for none (the root, node 0, is no
    /// node's child).
    child: Vec<u32>,
    /// Per node, the first phrase in the list that ends there, or
    /// [`NO_PHRASE`].
    phrase: Vec<u32>,
}

const NO_PHRASE: u32 = u32::MAX;

impl PhraseTrie {
    fn new(phrases: &[&str]) -> PhraseTrie {
        let mut in_phrase = [false; 256];
        for &b in phrases.iter().flat_map(|p| p.as_bytes()) {
            in_phrase[b.to_ascii_lowercase() as usize] = true;
        }
        // A byte standing for each class, class 0 first.
        let other = (0..=255u8).find(|&b| !in_phrase[b as usize]);
        let mut members = vec![other.expect("a byte is in no phrase")];
        let mut class = [0u8; 256];
        for b in 0..=255u8 {
            let lower = b.to_ascii_lowercase();
            if !in_phrase[lower as usize] {
                continue;
            }
            if class[lower as usize] == 0 {
                members.push(lower);
                class[lower as usize] =
                    u8::try_from(members.len() - 1).expect("few classes");
            }
            class[b as usize] = class[lower as usize];
        }
        let stride = members.len();
        // Every byte of a phrase has a class of its own, ASCII case
        // aside.
        let mut child = vec![0u32; stride];
        let mut phrase = vec![NO_PHRASE];
        for (index, p) in phrases.iter().enumerate() {
            let mut node = 0;
            for &b in p.as_bytes() {
                let at = node * stride + class[b as usize] as usize;
                if child[at] == 0 {
                    child[at] = phrase.len() as u32;
                    phrase.push(NO_PHRASE);
                    child.resize(child.len() + stride, 0);
                }
                node = child[at] as usize;
            }
            phrase[node] = phrase[node].min(index as u32);
        }
        PhraseTrie { class, stride, child, phrase }
    }

    /// The phrase first in the list of those that start at `hay[0]`,
    /// and its length.
    #[inline]
    fn first_at(&self, hay: &[u8]) -> Option<(u32, usize)> {
        let mut node = 0;
        let mut found: Option<(u32, usize)> = None;
        for (k, &b) in hay.iter().enumerate() {
            let at = node * self.stride + self.class[b as usize] as usize;
            node = self.child[at] as usize;
            if node == 0 {
                break;
            }
            let p = self.phrase[node];
            if p != NO_PHRASE && found.is_none_or(|(q, _)| p < q) {
                found = Some((p, k + 1));
            }
        }
        found
    }
}

impl PhraseTable {
    /// Builds the table from the phrases' trie: failure links found
    /// breadth first, and each node's row its children or else its
    /// failure node's row. (The Aho-Corasick crate's DFA, copied, took
    /// five times as long; a test checks the table steps as that DFA
    /// does.)
    fn new(trie: &PhraseTrie, phrases: &[&str]) -> PhraseTable {
        let PhraseTrie { class, stride, child, phrase } = trie;
        let stride = *stride;
        let mut ends: Vec<bool> =
            phrase.iter().map(|&p| p != NO_PHRASE).collect();
        // Breadth first, so that a node's failure node (shallower) has
        // its row and its `ends` complete: a phrase ends at a node where
        // one ends at its failure node.
        let nodes = ends.len();
        let mut step = vec![0u32; nodes * stride];
        let mut fail = vec![0u32; nodes];
        step[..stride].copy_from_slice(&child[..stride]);
        let mut queue: Vec<u32> =
            child[..stride].iter().copied().filter(|&v| v != 0).collect();
        let mut head = 0;
        while let Some(&node) = queue.get(head) {
            head += 1;
            let (u, f) = (node as usize, fail[node as usize] as usize);
            ends[u] |= ends[f];
            for c in 0..stride {
                let v = child[u * stride + c];
                step[u * stride + c] = match v {
                    0 => step[f * stride + c],
                    _ => {
                        fail[v as usize] = step[f * stride + c];
                        queue.push(v);
                        v
                    }
                };
            }
        }
        // The HIT row first, then a row per node (the root's first):
        // a step into a node where a phrase ends goes to HIT.
        let row = |node: u32| (node as usize + 1) * stride;
        let mut next = vec![HIT; (nodes + 1) * stride];
        for u in 0..nodes {
            for c in 0..stride {
                let v = step[u * stride + c];
                if !ends[v as usize] {
                    next[row(u as u32) + c] = row(v) as u32;
                }
            }
        }
        let longest = phrases.iter().map(|p| p.len()).max();
        let overlap = longest.expect("there are phrases") - 1;
        PhraseTable { class: *class, next, start: stride as u32, overlap }
    }

    #[inline(always)]
    fn step(&self, state: u32, byte: u8) -> u32 {
        let at = (state + self.class[byte as usize] as u32) as usize;
        debug_assert!(at < self.next.len());
        // SAFETY: `state` is where a row starts (`new` stores nothing
        // else), every row has a slot for each class, and classes are
        // below their number: `at` is in `next`. A checked index was a
        // compare and a branch of the step's six instructions.
        unsafe { *self.next.get_unchecked(at) }
    }

    /// Where the first phrase in `hay` ends (ASCII case aside): one
    /// past its last byte.
    fn first_end(&self, hay: &[u8]) -> Option<usize> {
        let mut state = self.start;
        for (k, &b) in hay.iter().enumerate() {
            state = self.step(state, b);
            if state == HIT {
                return Some(k + 1);
            }
        }
        None
    }

    /// Steps over `bytes` four at a time, so the loop's own count and
    /// branch are paid once for four steps.
    #[inline]
    fn walk(&self, mut state: u32, bytes: &[u8]) -> u32 {
        let mut fours = bytes.chunks_exact(4);
        for four in &mut fours {
            for &b in four {
                state = self.step(state, b);
            }
        }
        for &b in fours.remainder() {
            state = self.step(state, b);
        }
        state
    }

    /// True when a phrase occurs anywhere in `hay` (ASCII case aside).
    /// Each step waits for the load of the step before, so two
    /// overlapping halves of a long line are walked in step, about half
    /// again as fast; a phrase lies whole in one of them.
    fn occurs(&self, hay: &[u8]) -> bool {
        let mid = hay.len() / 2;
        if mid < 2 * self.overlap {
            return self.walk(self.start, hay) == HIT;
        }
        // A phrase ending past `mid + overlap` starts at `mid` or later.
        let (first, second) = (&hay[..mid + self.overlap], &hay[mid..]);
        let (mut a, mut b) = (self.start, self.start);
        for (&x, &y) in first.iter().zip(second) {
            (a, b) = (self.step(a, x), self.step(b, y));
        }
        let common = first.len().min(second.len());
        self.walk(a, &first[common..]) == HIT
            || self.walk(b, &second[common..]) == HIT
    }

    /// [`PhraseTable::occurs`] of `line` lowercased, lowering each
    /// character as the walk meets it rather than writing the line out
    /// first. ('Σ' lowers by its neighbours, to 'σ' or 'ς'; no phrase
    /// holds either, or starts within a character, so which one makes
    /// no difference.)
    fn occurs_lowered(&self, line: &str) -> bool {
        let info = CharInfo::new();
        let mut state = self.start;
        let bytes = line.as_bytes();
        let mut utf8 = [0u8; 4];
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            if b.is_ascii() {
                state = self.step(state, b);
                i += 1;
                continue;
            }
            if (0xc2..=0xdf).contains(&b) {
                let t = info.two_byte(b, bytes[i + 1]);
                if let Some([x, y]) = t.lower_bytes() {
                    state = self.step(self.step(state, x), y);
                    i += 2;
                    continue;
                }
            }
            let (c, len) = decode_at(line, i);
            i += len;
            info.lowercase(c, |l| {
                state = self.walk(state, l.encode_utf8(&mut utf8).as_bytes());
            });
        }
        state == HIT
    }
}

/// Room for a label, a space and the last character pushed before the
/// length check (one character lowercases to at most three, of four
/// bytes).
const LABEL_ROOM: usize = MAX_LABEL + 1 + 12;

/// A stack buffer for [`label`]: every line of up to 80 bytes is looked
/// up, so a heap string per line would cost more than the lookup.
struct LabelBuf {
    bytes: [u8; LABEL_ROOM],
    len: usize,
}

impl Default for LabelBuf {
    fn default() -> LabelBuf {
        LabelBuf { bytes: [0; LABEL_ROOM], len: 0 }
    }
}

impl LabelBuf {
    fn push(&mut self, c: char) {
        self.len += c.encode_utf8(&mut self.bytes[self.len..]).len();
    }

    /// [`LabelBuf::push`] of an ASCII byte, without encoding a char.
    fn push_ascii(&mut self, b: u8) {
        self.bytes[self.len] = b;
        self.len += 1;
    }

    /// [`LabelBuf::push`] of a two-byte character's bytes.
    fn push_two(&mut self, [x, y]: [u8; 2]) {
        self.bytes[self.len] = x;
        self.bytes[self.len + 1] = y;
        self.len += 2;
    }

    fn last(&self) -> Option<u8> {
        self.len.checked_sub(1).map(|i| self.bytes[i])
    }
}

/// [`label`] of each ASCII byte: a letter or digit lowercased, 0 for a
/// separator.
static LABEL_ASCII: [u8; 128] = {
    let mut table = [0u8; 128];
    let mut b = 0;
    while b < 128 {
        let byte = b as u8;
        if byte.is_ascii_alphanumeric() {
            table[b] = byte.to_ascii_lowercase();
        }
        b += 1;
    }
    table
};

/// The line lowercased, with punctuation dropped and spaces collapsed,
/// if that is at most `longest` bytes (the longest label), as UTF-8.
fn label<'b>(
    line: &str,
    longest: usize,
    out: &'b mut LabelBuf,
) -> Option<&'b [u8]> {
    out.len = 0;
    let info = CharInfo::new();
    let bytes = line.as_bytes();
    // The end trims one space at most; past that a line is too long for
    // any label, and the old cap of MAX_LABEL still holds. (`find_cased`
    // counts on this cap.)
    let cap = (longest + 1).min(MAX_LABEL);
    // Whether the last byte written is a letter or digit's, so that a
    // separator writes a space.
    let mut open = false;
    let mut i = 0;
    // Bytes, not chars: most lines are ASCII, and decoding each char
    // cost more than the rest of the work on it.
    while i < bytes.len() {
        let b = bytes[i];
        let alphanumeric = if b.is_ascii() {
            i += 1;
            let lower = LABEL_ASCII[b as usize];
            if lower != 0 {
                out.push_ascii(lower);
            }
            lower != 0
        } else if let Some((alphanumeric, lower)) =
            two_byte_lower(info, bytes, i)
        {
            // Cyrillic, Greek, accented Latin: from one table load.
            i += 2;
            if alphanumeric {
                out.push_two(lower);
            }
            alphanumeric
        } else {
            let (c, len) = decode_at(line, i);
            i += len;
            let alphanumeric = info.is_alphanumeric(c);
            if alphanumeric {
                info.lowercase(c, |l| out.push(l));
            }
            alphanumeric
        };
        if !alphanumeric && open {
            out.push_ascii(b' ');
        }
        open = alphanumeric;
        if out.len > cap {
            return None;
        }
    }
    if out.last() == Some(b' ') {
        out.len -= 1;
    }
    Some(&out.bytes[..out.len])
}

/// Whether the character at `bytes[i]` (a byte that is not ASCII) is
/// alphanumeric, and its lowercase bytes, where it is a two-byte
/// character whose lowercase is one too.
#[inline]
fn two_byte_lower(
    info: CharInfo,
    bytes: &[u8],
    i: usize,
) -> Option<(bool, [u8; 2])> {
    let lead = bytes[i];
    if !(0xc2..=0xdf).contains(&lead) {
        return None;
    }
    let t = info.two_byte(lead, bytes[i + 1]);
    Some((t.props().is_alphanumeric(), t.lower_bytes()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aho_corasick::automaton::Automaton;
    use aho_corasick::{AhoCorasick, Anchored, MatchKind};
    use proptest::prelude::ProptestConfig;

    /// Every phrase, in the lexicon's order.
    fn all_phrases() -> Vec<&'static str> {
        PHRASES.iter().flat_map(|p| p.2.iter().copied()).collect()
    }

    /// The phrase search as it was first built: the crate's automaton,
    /// leftmost-first, ASCII case ignored.
    fn phrases_reference() -> &'static AhoCorasick {
        static REFERENCE: LazyLock<AhoCorasick> = LazyLock::new(|| {
            AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostFirst)
                .ascii_case_insensitive(true)
                .build(all_phrases())
                .expect("the built-in phrases compile")
        });
        &REFERENCE
    }

    /// Each line followed by its phrase as `written` writes it (`how`
    /// picks a way).
    fn lines_and_phrases(
        pieces: Vec<(String, &str, u8)>,
        written: impl Fn(&str, u8) -> String,
    ) -> String {
        let mut hay = String::new();
        for (line, phrase, how) in pieces {
            hay.push_str(&line);
            hay.push_str(&written(phrase, how));
        }
        hay
    }

    fn consent_phrases() -> Vec<&'static str> {
        PHRASES
            .iter()
            .filter(|p| p.0 == "consent")
            .flat_map(|p| p.2.iter().copied())
            .collect()
    }

    #[test]
    fn only_consent_phrases_count_past_sixty_words() {
        for &(name, strong, phrases) in PHRASES {
            let past = max_words(name, strong) > MOST_WORDS_BUT_CONSENT;
            assert_eq!(past, name == "consent", "{name}");
            if name == "consent" {
                for phrase in phrases {
                    let lower = phrase.to_ascii_lowercase();
                    assert!(
                        CONSENT_NEEDLES.iter().any(|n| lower.contains(n)),
                        "{phrase}"
                    );
                }
            }
        }
    }

    #[test]
    fn long_consent_banners_hit_and_other_long_lines_do_not() {
        let filler = "and the weather was fine all day long ".repeat(9);
        for (phrase, want) in [
            ("We use cookies to improve", Some("consent")),
            ("WE USE COO\u{212a}IES TO IMPROVE", Some("consent")),
            ("МЫ ИСПОЛЬЗУЕМ ФАЙЛЫ COOKIE", Some("consent")),
            ("このサイトはクッキーを使用します", Some("consent")),
            ("Subscribe to our newsletter", None),
            ("All rights reserved", None),
        ] {
            let line = format!("{phrase} {filler}");
            let words = line.split_whitespace().count() as u32;
            assert!(words > MOST_WORDS_BUT_CONSENT && words <= 100);
            let hit = find(&line, words, &mut String::new());
            assert_eq!(hit.map(|h| h.name), want, "{phrase}");
        }
    }

    fn kind(line: &str) -> Option<&'static str> {
        let words = line.split_whitespace().count() as u32;
        find(line, words, &mut String::new()).map(|h| h.name)
    }

    /// Labels as first normalised: a string per line, capped at
    /// `MAX_LABEL` bytes.
    fn label_reference(line: &str) -> Option<String> {
        let mut out = String::new();
        for c in line.chars() {
            if c.is_alphanumeric() {
                out.extend(c.to_lowercase());
            } else if !out.is_empty() && !out.ends_with(' ') {
                out.push(' ');
            }
            if out.len() > MAX_LABEL {
                return None;
            }
        }
        Some(out.trim_end().to_string())
    }

    /// The structural patterns as first run: one set, in table order.
    fn pattern_reference(line: &str, words: u32) -> Option<&'static str> {
        // With `\b` where the table now spells it otherwise.
        static ALL: LazyLock<RegexSet> = LazyLock::new(|| {
            let with_b = |p: &str| {
                p.replace(r"(\W|$)", r"\b")
                    .replace(r".{0,59}[^\w\n](", r".{1,60}\b(")
            };
            RegexSet::new(PATTERNS.iter().map(|p| with_b(p.1))).unwrap()
        });
        let ends_open = line.ends_with(')') || line.ends_with(':');
        if !(words <= 25 || ends_open) {
            return None;
        }
        ALL.matches(line)
            .iter()
            .map(|i| PATTERNS[i].0)
            .find(|&name| name != "comments" || words <= 12)
    }

    proptest::proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn label_matches_reference(line in crate::strip::tricky::line()) {
            let lex = &*LEXICON;
            let mut buf = LabelBuf::default();
            let got = label(&line, lex.longest_label, &mut buf);
            let want = label_reference(&line);
            let want = want.as_deref().map(str::as_bytes);
            proptest::prop_assert_eq!(
                got.and_then(|l| lex.labels.get(l)),
                want.and_then(|l| lex.labels.get(l))
            );
            if let Some(l) = got {
                proptest::prop_assert_eq!(Some(l), want);
                // What lets `find_cased` skip lines with more letters.
                let alnum = line.bytes().filter(u8::is_ascii_alphanumeric);
                let cap = (lex.longest_label + 1).min(MAX_LABEL);
                proptest::prop_assert!(alnum.count() <= cap);
            }
        }

        #[test]
        fn lowercase_matches_reference(line in crate::strip::tricky::line()) {
            let want = match line.chars().any(char::is_uppercase) {
                true => line.to_lowercase(),
                false => line.clone(),
            };
            let mut scan = crate::strip::scan::LineScan::default();
            scan.scan(&line);
            let mut scratch = String::new();
            let hay = match scan.case(&line) {
                Case::Lower => lowercase_into(&line, &mut scratch),
                Case::Ascii | Case::AsIs => &line,
            };
            // Equal but for ASCII case, which the phrase scan ignores.
            proptest::prop_assert_eq!(
                hay.to_ascii_lowercase(),
                want.to_ascii_lowercase()
            );
        }

        #[test]
        fn walk_is_is_match(line in crate::strip::tricky::line()) {
            let anchored = &LEXICON.anchored;
            let dfa = anchored.walk.as_ref().expect("the anchored set walks");
            let mut cache = dfa.create_cache();
            for hay in [line.as_str(), line.trim()] {
                proptest::prop_assert_eq!(
                    walk_anchored(dfa, &mut cache, hay.as_bytes()),
                    Some(anchored.set.is_match(hay))
                );
            }
        }

        #[test]
        fn occurs_lowered_is_occurs_of_lowercase(
            pieces in proptest::collection::vec(crate::strip::tricky::line(), 1..8),
        ) {
            let lex = &*LEXICON;
            let line = pieces.concat();
            let mut scratch = String::new();
            let lowered = lowercase_into(&line, &mut scratch);
            proptest::prop_assert_eq!(
                lex.phrase_occurs.occurs_lowered(&line),
                lex.phrase_occurs.occurs(lowered.as_bytes())
            );
        }

        #[test]
        fn lines_with_a_consent_phrase_may_hold_one(
            pieces in proptest::collection::vec(
                (
                    crate::strip::tricky::line(),
                    proptest::sample::select(consent_phrases()),
                    0u8..5,
                ),
                1..5,
            ),
        ) {
            let hay = lines_and_phrases(pieces, |phrase, how| match how {
                0 => phrase.to_string(),
                1 => phrase.to_ascii_uppercase(),
                2 => phrase.to_uppercase(),
                3 => phrase.replace('k', "\u{212a}"),
                _ => String::new(),
            });
            // Where the table walk could find one: on the line (ASCII
            // case ignored) or on its lowercase.
            static CONSENT: LazyLock<AhoCorasick> = LazyLock::new(|| {
                AhoCorasick::builder()
                    .ascii_case_insensitive(true)
                    .build(consent_phrases())
                    .expect("the consent phrases compile")
            });
            let lowered = hay.to_lowercase();
            if CONSENT.is_match(&hay) || CONSENT.is_match(&lowered) {
                proptest::prop_assert!(
                    may_hold_consent(&hay, &mut String::new()),
                    "{:?}",
                    hay
                );
            }
        }

        #[test]
        fn occurs_is_is_match(
            pieces in proptest::collection::vec(crate::strip::tricky::line(), 1..8),
        ) {
            let lex = &*LEXICON;
            let hay = pieces.concat();
            proptest::prop_assert_eq!(
                lex.phrase_occurs.occurs(hay.as_bytes()),
                phrases_reference().is_match(&hay)
            );
        }

        #[test]
        fn leftmost_first_is_the_crates(
            pieces in proptest::collection::vec(
                (
                    crate::strip::tricky::line(),
                    proptest::sample::select(all_phrases()),
                    0u8..4,
                ),
                1..6,
            ),
        ) {
            // Lines with phrases in them, some cut short, some in
            // capitals, where their ends may make or meet others.
            let hay = lines_and_phrases(pieces, |phrase, how| match how {
                0 => phrase.to_string(),
                1 => phrase.to_ascii_uppercase(),
                2 => phrase.chars().skip(1).collect(),
                _ => String::new(),
            });
            let lex = &*LEXICON;
            let got: Vec<u32> =
                lex.phrases_in(hay.as_bytes()).collect();
            let want: Vec<u32> = phrases_reference()
                .find_iter(&hay)
                .map(|m| m.pattern().as_u32())
                .collect();
            proptest::prop_assert_eq!(got, want);
        }

        #[test]
        fn patterns_match_reference(
            line in crate::strip::tricky::line(),
            words in 0u32..40,
        ) {
            let lex = &*LEXICON;
            let trimmed = line.trim();
            let want = pattern_reference(trimmed, words);
            let got = find(trimmed, words, &mut String::new());
            // A pattern hit comes first and is strong; otherwise a label
            // or phrase may answer, which is no pattern hit.
            match want {
                Some(name) => proptest::prop_assert_eq!(
                    got,
                    Some(LexiconHit { name, strong: true })
                ),
                None => {
                    let counts =
                        |i: usize| PATTERNS[i].0 != "comments" || words <= 12;
                    let ends_open =
                        trimmed.ends_with(')') || trimmed.ends_with(':');
                    let start = lex.anchored.first(trimmed, counts);
                    let end = lex.open_ended.first(trimmed, counts);
                    proptest::prop_assert!(
                        !(words <= 25 || ends_open)
                            || (start.is_none()
                                && (!ends_open || end.is_none()))
                    );
                }
            }
        }
    }

    #[test]
    fn occurs_finds_each_phrase_anywhere() {
        let lex = &*LEXICON;
        let filler = "Lorem ipsum dolor sit amet, consectetur adipiscing elit";
        for &(_, _, list) in PHRASES {
            for p in list {
                let p = p.to_ascii_uppercase();
                for at in (0..=filler.len()).step_by(3) {
                    let mut hay = String::from(filler);
                    if !hay.is_char_boundary(at) {
                        continue;
                    }
                    hay.insert_str(at, &p);
                    hay.push_str(filler);
                    assert!(lex.phrase_occurs.occurs(hay.as_bytes()), "{hay}");
                }
            }
        }
        let clean = filler.repeat(5);
        assert!(!lex.phrase_occurs.occurs(clean.as_bytes()));
    }

    /// The table steps as the phrases' Aho-Corasick DFA does, from
    /// every state the DFA reaches and on every byte.
    #[test]
    fn phrase_table_steps_as_the_dfa() {
        let words: Vec<&str> =
            PHRASES.iter().flat_map(|p| p.2.iter().copied()).collect();
        let dfa = aho_corasick::dfa::DFA::builder()
            .match_kind(MatchKind::Standard)
            .ascii_case_insensitive(true)
            .prefilter(false)
            .build(&words)
            .expect("the built-in phrases compile");
        let table = PhraseTable::new(&PhraseTrie::new(&words), &words);
        let start = dfa.start_state(Anchored::No).expect("unanchored");
        let mut row_of = HashMap::from([(start, table.start)]);
        let mut todo = vec![start];
        while let Some(id) = todo.pop() {
            let row = row_of[&id];
            for b in 0..=255u8 {
                let to = dfa.next_state(Anchored::No, id, b);
                let got = table.step(row, b);
                if dfa.is_special(to) {
                    assert_eq!(got, HIT);
                    continue;
                }
                assert_ne!(got, HIT);
                let want = *row_of.entry(to).or_insert_with(|| {
                    todo.push(to);
                    got
                });
                assert_eq!(got, want, "state {id:?} byte {b}");
            }
        }
        assert!((0..=255u8).all(|b| table.step(HIT, b) == HIT));
    }

    #[test]
    fn every_label_is_found_with_punctuation_around() {
        let lex = &*LEXICON;
        for (&l, &name) in &lex.labels {
            let l = std::str::from_utf8(l).expect("labels are text");
            let line = format!("« {} »", l.to_uppercase());
            let mut buf = LabelBuf::default();
            let got = label(&line, lex.longest_label, &mut buf);
            assert_eq!(got.and_then(|l| lex.labels.get(l)), Some(&name));
        }
    }

    #[test]
    fn first_bytes_skip_only_lines_no_pattern_matches() {
        let lex = &*LEXICON;
        let starts = &lex.anchored.starts;
        // Folds and Unicode digits start matches too.
        for line in [
            "\u{212a}ommentare",
            "\u{ff15} minutes ago",
            "\u{0663} minutes ago",
            "Фото: ТАСС",
            "评论",
            "hace 3 horas",
        ] {
            assert!(starts[line.as_bytes()[0] as usize], "{line}");
            assert!(lex.anchored.may_start(line.as_bytes()), "{line}");
            assert!(lex.anchored.set.is_match(line), "{line}");
            assert!(lex.anchored.may_match(line), "{line}");
        }
        // Otherwise the filter would be no use.
        for b in *b"BbEeGgMmNnQqUuWwXxYyZz\"'(-" {
            assert!(!starts[b as usize], "{}", b as char);
        }
    }

    #[test]
    fn labels_need_the_whole_line() {
        assert_eq!(kind("Share"), Some("share"));
        assert_eq!(kind("  Menu »"), Some("navigation"));
        assert_eq!(kind("Meal Prep Menu for Eating Plan B"), None);
    }

    #[test]
    fn comment_headers() {
        assert_eq!(kind("34 responses to “Lynn”"), Some("comments"));
        assert_eq!(kind("joetoronto says:"), Some("comments"));
        assert_eq!(kind("Leave a Reply"), Some("comments"));
        assert_eq!(kind("Комментарии"), Some("comments"));
    }

    #[test]
    fn phrases_in_many_languages() {
        assert_eq!(kind("Читайте также"), Some("related"));
        assert_eq!(kind("© 2024 Example"), Some("copyright"));
        assert_eq!(kind("Alle Rechte vorbehalten."), Some("copyright"));
        assert_eq!(kind("2 minutes ago"), Some("time-ago"));
        assert_eq!(kind("3 小时前"), Some("time-ago"));
        assert_eq!(kind("(File photo by Reuters)"), Some("photo-credit"));
    }
}
