//! The boilerplate phrase lexicon and the stopword lists.
//!
//! Phrases are matched in one pass over the lowercased line with
//! Aho-Corasick; a few patterns that need structure ("N minutes ago",
//! photo credits) use one `RegexSet`. Both are compiled once.

use std::collections::HashSet;
use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::RegexSet;

/// A lexicon match: which kind of boilerplate, and whether it is strong
/// enough to remove a line even inside the main region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LexiconHit {
    /// The kind, used in reason codes (`lexicon:subscribe`).
    pub name: &'static str,
    /// True for phrases that are boilerplate wherever they stand.
    pub strong: bool,
}

/// (kind, strong, phrases). Phrases are lowercase; a line hits when it is
/// short enough that the phrase is its point (see [`find`]).
const PHRASES: &[(&str, bool, &[&str])] = &[
    (
        "share",
        false,
        &[
            "share this",
            "share on facebook",
            "share on twitter",
            "share via email",
            "tweet this",
            "teilen",
            "partager",
            "compartir",
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
            "sign up for",
            "newsletter",
            "abonnieren",
            "abonnez",
            "suscríbete",
            "suscribirse",
            "подписаться",
            "подпишитесь",
            "订阅",
            "購読",
            "quality journalism",
        ],
    ),
    (
        "cookie",
        false,
        &[
            "cookie",
            "consent",
            "privacy policy",
            "datenschutz",
            "confidentialité",
            "política de privacidad",
            "файлы cookie",
            "隐私政策",
            "プライバシー",
        ],
    ),
    (
        "related",
        false,
        &[
            "related topics",
            "related stories",
            "related articles",
            "related posts",
            "more stories",
            "see also",
            "you may also like",
            "recommended for you",
            "read more",
            "read next",
            "most popular",
            "most read",
            "trending now",
            "weitere artikel",
            "lire aussi",
            "à lire aussi",
            "lee también",
            "читайте также",
            "相关新闻",
            "関連記事",
        ],
    ),
    (
        "copyright",
        true,
        &[
            "©",
            "(c) 20",
            "all rights reserved",
            "all rights of the publication",
            "alle rechte vorbehalten",
            "tous droits réservés",
            "todos los derechos reservados",
            "все права защищены",
            "版权所有",
            "無断転載",
        ],
    ),
    (
        "navigation",
        false,
        &[
            "back to top",
            "skip to content",
            "skip to main content",
            "main menu",
            "toggle navigation",
            "about us",
            "contact us",
            "terms of use",
            "terms of service",
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
            "sponsored content",
            "anzeige",
            "publicité",
            "publicidad",
            "реклама",
            "广告",
            "広告",
        ],
    ),
];

/// (kind, strong, pattern) for things a phrase list cannot say.
const PATTERNS: &[(&str, bool, &str)] = &[
    (
        "time-ago",
        false,
        r"(?i)^\s*(\d+|an?|one)\s+(second|minute|hour|day|week|month|year)s?\s+ago\s*$",
    ),
    ("time-ago", false, r"(?i)^\s*vor\s+\d+\s+(minuten|stunden|tagen)\s*$"),
    (
        "time-ago",
        false,
        r"(?i)^\s*il y a\s+\d+\s+(minutes?|heures?|jours?)\s*$",
    ),
    ("time-ago", false, r"(?i)^\s*hace\s+\d+\s+(minutos?|horas?|días?)\s*$"),
    (
        "time-ago",
        false,
        r"^\s*\d+\s+(минут|минуты|час|часа|часов|дней|дня)\s+назад\s*$",
    ),
    (
        "time-ago",
        false,
        r"^\s*\d+\s*(分钟前|小时前|天前|分前|時間前|日前)\s*$",
    ),
    (
        "photo-credit",
        true,
        r"(?i)\((photo|file photo|image|picture|foto)s?( by|:)[^)]*\)\s*$",
    ),
    (
        "photo-credit",
        true,
        r"(?i)^(photo|image|picture|credit|foto|фото)( by)?\s*[:/]",
    ),
    (
        "photo-credit",
        false,
        r"(?i)(getty images|reuters/|ap photo|afp photo|shutterstock)",
    ),
    ("byline", false, r"^\s*[•·]\s*\S.{0,40}$"),
];

struct Lexicon {
    phrases: AhoCorasick,
    phrase_kind: Vec<(&'static str, bool)>,
    patterns: RegexSet,
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
    let phrases = AhoCorasickBuilder::new()
        .match_kind(MatchKind::LeftmostFirst)
        .build(&words)
        .expect("the built-in phrases compile");
    let patterns = RegexSet::new(PATTERNS.iter().map(|p| p.2))
        .expect("the built-in patterns compile");
    Lexicon { phrases, phrase_kind, patterns }
});

/// The lexicon entry a line matches. A phrase counts only in short lines
/// (at most 25 words), where it is the line's point rather than a word
/// an article happens to use; strong entries count at any length below
/// 60 words.
pub(crate) fn find(line: &str) -> Option<LexiconHit> {
    let lex = &*LEXICON;
    let words = line.split_whitespace().count();
    if words > 60 {
        return None;
    }
    let set = lex.patterns.matches(line);
    if let Some(i) = set.iter().next() {
        let (name, strong, _) = PATTERNS[i];
        return Some(LexiconHit { name, strong });
    }
    let lower = line.to_lowercase();
    for m in lex.phrases.find_iter(&lower) {
        let (name, strong) = lex.phrase_kind[m.pattern().as_usize()];
        if strong || words <= 25 {
            return Some(LexiconHit { name, strong });
        }
    }
    None
}

static STOPWORDS: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    let lists: &[&str] = &[
        // English
        "a an and are as at be been but by for from had has have he her his \
         i in is it its of on or our said she that the their them they this \
         to was we were which who will with would you not after also about \
         there than into over more",
        // German
        "der die das und ist nicht ein eine zu den von mit sich des auf für \
         im dem auch es an als wie wird bei aus er sie nach",
        // French
        "le la les et est un une des du de en que qui dans pour pas sur au \
         par avec il elle ce sont aux plus",
        // Spanish
        "el los las y es un una del que en por con para se su al lo como \
         más pero sus le ya fue",
        // Russian
        "и в во не что он на я с со как а то все она так его но да ты к у \
         же вы за бы по только ее мне было вот от меня еще нет о из ему \
         для при это был были",
    ];
    lists.iter().flat_map(|l| l.split_whitespace()).collect()
});

/// True for a common function word of one of the supported languages.
pub(crate) fn is_stopword(word: &str) -> bool {
    if word.len() > 12 {
        return false;
    }
    if word.bytes().all(|b| b.is_ascii_lowercase()) {
        return STOPWORDS.contains(word);
    }
    STOPWORDS.contains(word.to_lowercase().as_str())
}
