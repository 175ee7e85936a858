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

use std::collections::HashMap;
use std::sync::LazyLock;

use aho_corasick::{
    AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind,
};
use regex::RegexSet;

use super::lang::FxBuild;

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
    (
        "comments",
        r"(?i)^(\d+\s+)?(comments?|responses?|thoughts? on|replies|reactions?|kommentare?|commentaires?|comentarios?|comentários?|commenti|комментари[йия]?|评论|コメント)\b",
    ),
    (
        "comments",
        r"(?i)^(leave a (reply|comment)|join the (discussion|conversation)|post a comment|add a comment|comments are closed|schreibe einen kommentar|laisser un commentaire|deja un comentario|deixe um comentário|lascia un commento|оставить комментарий)",
    ),
    (
        "comments",
        r"(?i)^.{1,60}\b(says|said|wrote|schreibt|a écrit|dice|dijo|disse|пишет|написал)\s*:$",
    ),
];

struct Lexicon {
    phrases: AhoCorasick,
    phrase_kind: Vec<(&'static str, bool)>,
    labels: HashMap<&'static str, &'static str, FxBuild>,
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
        .ascii_case_insensitive(true)
        .kind(Some(AhoCorasickKind::DFA))
        .build(&words)
        .expect("the built-in phrases compile");
    let mut labels = HashMap::with_hasher(FxBuild);
    for &(name, list) in LABELS {
        for label in list.split('|') {
            labels.insert(label.trim(), name);
        }
    }
    let patterns = RegexSet::new(PATTERNS.iter().map(|p| p.1))
        .expect("the built-in patterns compile");
    Lexicon { phrases, phrase_kind, labels, patterns }
});

/// Labels are at most this many bytes once normalised.
const MAX_LABEL: usize = 40;

/// The lexicon entry a trimmed line with `words` words matches.
pub(crate) fn find(line: &str, words: u32) -> Option<LexiconHit> {
    if words > 100 {
        return None;
    }
    let lex = &*LEXICON;
    let ends_open = line.ends_with(')') || line.ends_with(':');
    if (words <= 25 || ends_open) && lex.patterns.is_match(line) {
        let hit = lex
            .patterns
            .matches(line)
            .iter()
            .map(|i| PATTERNS[i].0)
            .find(|&name| name != "comments" || words <= 12);
        if let Some(name) = hit {
            return Some(LexiconHit { name, strong: true });
        }
    }
    if line.len() <= MAX_LABEL * 2 {
        if let Some(name) = label(line).and_then(|l| lex.labels.get(&*l)) {
            return Some(LexiconHit { name, strong: false });
        }
    }
    let mut lowered = None;
    let hay = if !line.is_ascii() && line.chars().any(char::is_uppercase) {
        lowered.insert(line.to_lowercase()).as_str()
    } else {
        line
    };
    for m in lex.phrases.find_iter(hay) {
        let (name, strong) = lex.phrase_kind[m.pattern().as_usize()];
        let counts = match name {
            "consent" => true,
            _ if strong => words <= 60,
            "subscribe" | "cookie" => words <= 25,
            _ => words <= 12,
        };
        if counts {
            return Some(LexiconHit { name, strong });
        }
    }
    None
}

/// The line lowercased, with punctuation dropped and spaces collapsed,
/// if it is short enough to be a label.
fn label(line: &str) -> Option<String> {
    let mut out = String::with_capacity(line.len());
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
    let n = out.trim_end().len();
    out.truncate(n);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(line: &str) -> Option<&'static str> {
        let words = line.split_whitespace().count() as u32;
        find(line, words).map(|h| h.name)
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
