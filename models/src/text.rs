//! Per-message text analysis: laughter, hype, `?`/`!` spam, caps, elongation, clip mentions and a
//! normalised fingerprint for copypasta detection. Language-agnostic where possible: Korean
//! `ㅋㅋ`, Chinese `哈哈`, Japanese `www`/`笑`/`草`, Spanish `jaja`, Portuguese `kkkk`, English
//! `lol`/`KEKW`, and so on. Runs of digits (`555` is laughter in Thai, crying in Chinese) are
//! left to each channel's learned reaction tokens.

use aho_corasick::{AhoCorasick, AhoCorasickKind};
use rustc_hash::FxHashSet;
use std::hash::{Hash, Hasher};
use std::sync::LazyLock;

static LAUGH_SET: LazyLock<FxHashSet<&'static str>> =
    LazyLock::new(|| LAUGH_WORDS.iter().copied().collect());
static HYPE_SET: LazyLock<FxHashSet<&'static str>> =
    LazyLock::new(|| HYPE_WORDS.iter().copied().collect());

/// What one message says, reduced to the signals the window features need.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TextTraits {
    /// Length in chars.
    pub chars: u32,
    /// Laughter token anywhere (`ㅋㅋ`, `哈哈`, `www`, `lol`, `jaja`, `KEKW`, 😂, ...).
    pub laugh: bool,
    /// Hype or shock token (`pog`, `lets go`, `wow`, `대박`, `ㄷㄷ`, `牛`, `666`, `!!!`, ...).
    pub hype: bool,
    /// The message is mostly question marks (`?`, `???`, `ㅡㅡ?`): confusion spam.
    pub question: bool,
    /// Two or more `!` (or `！`).
    pub exclaim: bool,
    /// The message mentions a clip (`clip`, `클립`, `切片`, `クリップ`, ...).
    pub clip: bool,
    /// A run of four or more equal characters (`아아아아`, `OOOO`, `!!!!`).
    pub elongated: bool,
    /// Upper-case letters among cased letters.
    pub upper: u32,
    pub cased: u32,
    /// Fingerprint of the normalised text (lower case, runs collapsed, spaces and punctuation
    /// dropped): equal for copies of one copypasta. 0 for an empty normalised text.
    pub fingerprint: u64,
}

const LAUGH_WORDS: &[&str] = &[
    "lol",
    "lool",
    "lmao",
    "lmfao",
    "rofl",
    "haha",
    "hahaha",
    "hehe",
    "xd",
    "kek",
    "kekw",
    "lul",
    "lulw",
    "omegalul",
    "pepelaugh",
    "icant",
    "jaja",
    "jajaja",
    "jsjs",
    "kkk",
    "kkkk",
    "rsrs",
    "mdr",
    "ptdr",
    "xdd",
    "ahah",
    "ahaha",
    "хаха",
    "ахах",
    "ахаха",
    "lel",
    "kekl",
    "lulu",
    "4head",
    "elegiggle",
    "trihard",
    "omegaroll",
    "pffft",
    "pfft",
    "dead",
    "💀",
];

const HYPE_WORDS: &[&str] = &[
    "pog",
    "poggers",
    "pogchamp",
    "pogu",
    "pogo",
    "poggies",
    "pagman",
    "pagchomp",
    "hypers",
    "letsgo",
    "letsgoo",
    "wow",
    "woah",
    "whoa",
    "omg",
    "hype",
    "clutch",
    "insane",
    "holy",
    "wtf",
    "gg",
    "ez",
    "ayy",
    "ayyy",
    "sheesh",
    "w",
    "goat",
    "kreygasm",
    "catjam",
    "clap",
    "monkas",
    "monkaw",
    "wutface",
    "notlikethis",
    "d:",
    "jebaited",
    "nice",
    "sick",
    "unreal",
    "가즈아",
    "대박",
    "ㄷㄷ",
    "ㄷㄷㄷ",
    "와",
    "우와",
    "오오",
    "미쳤다",
    "ㅁㅊ",
    "레전드",
    "헐",
    "牛",
    "牛逼",
    "卧槽",
    "我靠",
    "66",
    "666",
    "6666",
    "厉害",
    "神",
    "すごい",
    "やばい",
    "ヤバい",
    "うおおお",
    "nossa",
    "vamos",
    "dale",
    "boom",
    "🔥",
    "😱",
    "😮",
];

const CLIP_WORDS: &[&str] = &["clip", "klip", "클립", "切片", "剪辑", "クリップ"];

/// Laughter written as repeated characters, in any script (`ㅋㅋ`, `ㅎㅎ`, `哈哈`, `呵呵`, `www`,
/// `ｗｗ`; single `笑`, `草`, `😂`, `🤣`), and shock (`ㄷㄷ`) as hype. Called as a run of `c`
/// reaches `run`; returns (laugh, hype).
#[inline]
fn run_signal(c: char, run: u32) -> (bool, bool) {
    match (c, run) {
        // `555` is laughter in Thai but crying in Chinese: a channel's own reaction tokens
        // (learned, see `evidence::Lexicon`) decide what a run of digits means there.
        ('ㅋ' | 'ㅎ' | '哈' | '呵' | 'ｗ', 2) | ('w', 3) => (true, false),
        ('笑' | '草' | '😂' | '🤣', 1) => (true, false),
        ('ㄷ', 2) => (false, true),
        _ => (false, false),
    }
}

/// Punctuation and symbols that do not belong in a copypasta fingerprint.
#[inline]
fn is_separator(c: char) -> bool {
    if c.is_ascii() {
        !c.is_ascii_alphanumeric()
    } else {
        matches!(c, '\u{2000}'..='\u{206F}' | '\u{3000}'..='\u{303F}' | '\u{FF01}'..='\u{FF0F}' | '\u{FF1A}'..='\u{FF20}')
            || c.is_whitespace()
    }
}

/// Strip punctuation around a token and lower-case it into `buf`.
fn normalise_token<'a>(token: &str, buf: &'a mut String) -> &'a str {
    buf.clear();
    let trimmed = token.trim_matches(|c: char| c.is_ascii_punctuation() && c != '?' && c != ':');
    if trimmed.is_ascii() {
        buf.push_str(trimmed);
        buf.make_ascii_lowercase();
    } else {
        for c in trimmed.chars() {
            buf.push(lower(c));
        }
    }
    buf.as_str()
}

/// Collapse a lower-cased word so that `loooool` → `lool`, `hahahaha` stays recognisable.
/// False when nothing was dropped (`buf` is then `word`).
fn squeeze(word: &str, buf: &mut String) -> bool {
    buf.clear();
    let mut last = None;
    let mut run = 0;
    let mut dropped = false;
    for c in word.chars() {
        if Some(c) == last {
            run += 1;
            if run >= 2 {
                dropped = true;
                continue;
            }
        } else {
            run = 0;
            last = Some(c);
        }
        buf.push(c);
    }
    dropped
}

fn is_laugh_word(w: &str) -> bool {
    if LAUGH_SET.contains(w) {
        return true;
    }
    // hahaha / hahah / ahahah / jajaja / hehehe / kekeke of any length.
    let b = w.as_bytes();
    if b.len() >= 3 && b.iter().all(|&c| c == b'k') {
        return true;
    }
    b.len() >= 4
        && (w.starts_with("haha")
            || w.starts_with("ahah")
            || w.starts_with("jaja")
            || w.starts_with("hehe")
            || w.starts_with("lmao")
            || w.starts_with("lmfao"))
}

/// Analyse one message. Emote names are handled by the emote vocabulary; words that are also
/// well-known laughing or hype emotes (`KEKW`, `LUL`, `PogChamp`) count here as well.
pub fn analyse(text: &str, scratch: &mut Scratch) -> TextTraits {
    let mut t = TextTraits::default();
    let mut chars = 0u32;
    let mut questions = 0u32;
    let mut exclaims = 0u32;
    let mut meaningful = 0u32;
    let mut run_char = '\0';
    let mut run = 0u32;
    let mut hasher = rustc_hash::FxHasher::default();
    let mut hashed_any = false;
    let mut last_norm = '\0';
    for c in text.chars() {
        chars += 1;
        if c == run_char {
            run += 1;
        } else {
            run_char = c;
            run = 1;
        }
        if run >= 4 && !c.is_whitespace() {
            t.elongated = true;
        }
        let (laugh, hype) = run_signal(c, run);
        t.laugh |= laugh;
        t.hype |= hype;
        match c {
            '?' | '？' => questions += 1,
            '!' | '！' => exclaims += 1,
            _ => {}
        }
        // Only Latin, Greek and Cyrillic letters have case; skip the lookups for other scripts.
        if c < '\u{0530}' {
            if c.is_uppercase() {
                t.upper += 1;
                t.cased += 1;
            } else if c.is_lowercase() {
                t.cased += 1;
            }
        }
        if c.is_whitespace() {
            continue;
        }
        meaningful += 1;
        if !is_separator(c) {
            let lc = lower(c);
            if lc != last_norm {
                lc.hash(&mut hasher);
                hashed_any = true;
                last_norm = lc;
            }
        }
    }
    t.chars = chars;
    t.fingerprint = if hashed_any { hasher.finish() | 1 } else { 0 };
    t.exclaim = exclaims >= 2;
    t.question = questions > 0 && questions * 2 >= meaningful.max(1);
    t.hype |= exclaims >= 3 && text.contains("!!!");

    scratch.spans.clear();
    scratch.analysed = (text.as_ptr() as usize, text.len());
    let mut split = words(text);
    while let Some(span) = split.next_span() {
        scratch.spans.push(span);
    }
    let mut prev_lets = false;
    let Scratch {
        word,
        squeezed,
        spans,
        ..
    } = scratch;
    for token in spans
        .iter()
        .filter_map(|&(start, end)| text.get(start..end))
    {
        if t.laugh && t.hype && t.clip {
            break;
        }
        let w = normalise_token(token, word);
        if w.is_empty() {
            continue;
        }
        // The squeezed form is looked up only when it differs from the word.
        let other = squeeze(w, squeezed);
        if !t.laugh && (is_laugh_word(w) || (other && is_laugh_word(squeezed))) {
            t.laugh = true;
        }
        if !t.hype
            && (HYPE_SET.contains(w)
                || (other && HYPE_SET.contains(squeezed.as_str()))
                || (prev_lets && w.starts_with("go")))
        {
            t.hype = true;
        }
        prev_lets = matches!(w, "lets" | "let's" | "let’s");
        if !t.clip && is_clip_word(w) {
            t.clip = true;
        }
    }
    t
}

/// The whitespace-separated tokens of `text`: the same as [`str::split_whitespace`] (Unicode
/// `White_Space`), found by looking at bytes. ASCII bytes are classified at once; of the other
/// bytes only the lead bytes of the 19 non-ASCII whitespace characters (`0xC2`, `0xE1`,
/// `0xE2`, `0xE3`) lead to a decode. On Korean chat the standard splitter, which decodes every
/// char, cost about as much as the rest of the per-token work.
#[inline]
pub fn words(text: &str) -> Words<'_> {
    Words { text, pos: 0 }
}

/// Iterator of [`words`].
#[derive(Debug, Clone)]
pub struct Words<'a> {
    text: &'a str,
    pos: usize,
}

/// Length in bytes of the whitespace character starting at byte `i` of `s`, or 0 when none
/// starts there (also when `i` is not a char boundary: a continuation byte is never a lead).
#[inline]
fn whitespace_len(s: &str, i: usize) -> usize {
    match s.as_bytes().get(i) {
        Some(b' ' | b'\t'..=b'\r') => 1,
        Some(0xC2 | 0xE1..=0xE3) => s
            .get(i..)
            .and_then(|rest| rest.chars().next())
            .filter(|c| c.is_whitespace())
            .map_or(0, char::len_utf8),
        _ => 0,
    }
}

impl Words<'_> {
    /// Byte range of the next token.
    #[inline]
    fn next_span(&mut self) -> Option<(usize, usize)> {
        let len = self.text.len();
        let mut i = self.pos;
        while i < len {
            match whitespace_len(self.text, i) {
                0 => break,
                n => i += n,
            }
        }
        if i >= len {
            self.pos = len;
            return None;
        }
        let start = i;
        while i < len && whitespace_len(self.text, i) == 0 {
            i += 1;
        }
        self.pos = i;
        // `start` follows whitespace (or is 0) and `i` is where whitespace starts (or the
        // end): both are char boundaries.
        Some((start, i))
    }
}

impl<'a> Iterator for Words<'a> {
    type Item = &'a str;

    #[inline]
    fn next(&mut self) -> Option<&'a str> {
        let (start, end) = self.next_span()?;
        self.text.get(start..end)
    }
}

/// [`CLIP_WORDS`] as one automaton: a token is scanned once for all of them (six substring
/// searches per non-Latin token were 6 % of replay time on Korean chat).
static CLIP_MATCHER: LazyLock<Option<AhoCorasick>> = LazyLock::new(|| {
    AhoCorasick::builder()
        .kind(Some(AhoCorasickKind::DFA))
        .build(CLIP_WORDS)
        .ok()
});

/// `clip`, `clipit`, `clipped`, `klip`, `클립`, `切片`, `剪辑`, `クリップ`.
fn is_clip_word(w: &str) -> bool {
    match CLIP_MATCHER.as_ref() {
        Some(m) => m.is_match(w),
        // Not reachable (six fixed patterns build); the plain searches say the same.
        None => CLIP_WORDS.iter().any(|c| w.contains(c)),
    }
}

/// Longest reaction token kept (chars); longer tokens are cut.
const MAX_TOKEN_CHARS: usize = 16;
/// Tokens per message looked at for reactions (reactions are short).
const MAX_TOKENS_PER_MESSAGE: usize = 4;

/// The message's reaction tokens, language-neutral: each whitespace token lower-cased, stripped
/// of surrounding punctuation (a token of only `?` or `!` is kept), runs squeezed to two (`ㅋㅋㅋㅋ` → `ㅋㅋ`,
/// `LULLLL` → `lull`, `666666` → `66`, `???` → `??`); and a run of two or more equal
/// characters (not a Latin letter) inside a longer token on its own (`아ㅋㅋㅋ` gives `아ㅋㅋ` and `ㅋㅋ`). What these
/// tokens mean is learned per channel ([`crate::evidence::Lexicon`]), not listed here.
///
/// `tokens` are the message's [`words`] (the aggregator passes the ones [`analyse`] already
/// split, [`Scratch::words`]).
pub fn reaction_tokens<'t>(
    tokens: impl Iterator<Item = &'t str>,
    bufs: &mut (String, String),
    mut f: impl FnMut(&str),
) {
    let (buf, pair) = bufs;
    for token in tokens.take(MAX_TOKENS_PER_MESSAGE) {
        // Punctuation around a word goes; a token of punctuation only (`???`, `!!`) stays.
        let word = token.trim_matches(|c: char| c.is_ascii_punctuation());
        let trimmed = if word.is_empty() { token } else { word };
        buf.clear();
        let mut last = '\0';
        let mut run = 0usize;
        let mut n = 0usize;
        let mut inner_run: Option<char> = None;
        for c in trimmed.chars() {
            let lc = lower(c);
            if lc == last {
                run += 1;
                if run == 2 && !lc.is_ascii_alphabetic() {
                    inner_run.get_or_insert(lc);
                }
                if run > 2 {
                    continue;
                }
            } else {
                last = lc;
                run = 1;
            }
            if n < MAX_TOKEN_CHARS {
                buf.push(lc);
                n += 1;
            }
        }
        f(buf);
        if let Some(c) = inner_run {
            pair.clear();
            pair.push(c);
            pair.push(c);
            if pair != buf {
                f(pair);
            }
        }
    }
}

/// Lower case of one char without the Unicode table lookup for scripts that have no case
/// (Hangul, Han, kana, ... and emoji): the hot path meets these a lot.
#[inline]
fn lower(c: char) -> char {
    if c.is_ascii() {
        c.to_ascii_lowercase()
    } else if c < '\u{0530}'
        || ('\u{10A0}'..='\u{10FF}').contains(&c)
        || ('\u{1E00}'..='\u{1FFF}').contains(&c)
        || ('\u{2C00}'..='\u{2D2F}').contains(&c)
        || ('\u{A640}'..='\u{A7FF}').contains(&c)
        || ('\u{FF21}'..='\u{FF3A}').contains(&c)
        || ('\u{10400}'..'\u{1F000}').contains(&c)
    {
        c.to_lowercase().next().unwrap_or(c)
    } else {
        c
    }
}

/// Reusable buffers for [`analyse`], so the hot path does not allocate; they also keep the
/// tokens of the message analysed last, so its other readers need not split it again.
#[derive(Debug, Default)]
pub struct Scratch {
    word: String,
    squeezed: String,
    /// Byte range (start, end) of each [`words`] token of the text analysed last.
    spans: Vec<(usize, usize)>,
    /// That text's address and length, to check that [`Scratch::words`] is given the same.
    analysed: (usize, usize),
}

impl Scratch {
    /// The [`words`] of `text`, which must be the text [`analyse`] was last given.
    pub(crate) fn words<'t>(&self, text: &'t str) -> impl Iterator<Item = &'t str> + use<'_, 't> {
        debug_assert_eq!(
            self.analysed,
            (text.as_ptr() as usize, text.len()),
            "Scratch::words: not the text analysed last"
        );
        self.spans
            .iter()
            .filter_map(move |&(start, end)| text.get(start..end))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> TextTraits {
        analyse(s, &mut Scratch::default())
    }

    #[test]
    fn words_split_like_split_whitespace_on_every_char() {
        // Every Unicode scalar as the separator, alone, doubled, at the ends and between
        // tokens of several scripts.
        for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            let s = format!("{c}a{c}{c}ㅋㅋ{c}\u{3000}é{c}\u{85}x{c}");
            let ours: Vec<&str> = words(&s).collect();
            let std: Vec<&str> = s.split_whitespace().collect();
            assert_eq!(ours, std, "separator U+{:04X}", c as u32);
        }
        assert_eq!(words("").count(), 0);
        assert_eq!(words(" \t\u{2003} ").count(), 0);
    }

    proptest::proptest! {
        #[test]
        fn words_equal_split_whitespace(s in "(\\PC|\\s|[\u{85}\u{a0}\u{1680}\u{2000}-\u{200b}\u{2028}\u{2029}\u{202f}\u{205f}\u{3000}ㅋ가])*") {
            let ours: Vec<&str> = words(&s).collect();
            let std: Vec<&str> = s.split_whitespace().collect();
            proptest::prop_assert_eq!(ours, std);
        }
    }

    #[test]
    fn laughter_across_languages() {
        for s in [
            "ㅋㅋㅋㅋㅋ",
            "哈哈哈",
            "wwwww",
            "KEKW",
            "LUL",
            "lmaooo",
            "hahahaha",
            "jajaja",
            "kkkkkk",
            "笑",
            "草",
            "😂",
            "OMEGALUL",
            "LOOOOL",
            "that was so funny lol",
        ] {
            assert!(a(s).laugh, "{s} should be laughter");
        }
        for s in ["hello", "what", "wow", "www.example.com is down", "ㅋ"] {
            let laugh = a(s).laugh;
            // `www.` is a known false positive we accept; everything else must be clean.
            if !s.starts_with("www") {
                assert!(!laugh, "{s} should not be laughter");
            }
        }
    }

    #[test]
    fn hype_question_clip() {
        assert!(a("POGGERS").hype);
        assert!(a("LETS GOOOO").hype || a("LETS GOOOO").elongated);
        assert!(a("lets go!!").hype);
        assert!(a("ㄷㄷㄷ").hype);
        assert!(a("대박").hype);
        assert!(a("???").question);
        assert!(a("?").question);
        assert!(!a("what is that? i mean really").question);
        assert!(a("CLIP IT").clip);
        assert!(a("클립 각").clip);
        assert!(a("nice!!").exclaim);
    }

    #[test]
    fn clip_words_in_any_script_and_inside_longer_tokens() {
        for w in [
            "clip",
            "clipit",
            "klip",
            "클립",
            "클립각",
            "切片",
            "剪辑",
            "クリップ",
            "ㅋㅋ클립ㅋㅋ",
            "切片切片",
            "clip클립",
        ] {
            assert!(is_clip_word(w), "{w}");
            // The automaton answers as the plain substring searches it replaced.
            assert!(CLIP_WORDS.iter().any(|c| w.contains(c)), "{w}");
        }
        for w in [
            "",
            "cli",
            "kli",
            "클",
            "립",
            "切",
            "剪",
            "クリッ",
            "ㅋㅋㅋ",
            "가나다",
            "lip",
        ] {
            assert!(!is_clip_word(w), "{w}");
            assert!(!CLIP_WORDS.iter().any(|c| w.contains(c)), "{w}");
        }
    }

    #[test]
    fn word_list_defects() {
        assert!(
            !a("5555").laugh,
            "555 is crying in Chinese: learned per channel"
        );
        assert!(a("666666").hype, "squeezed 66");
        assert!(!a("Kappa").laugh, "Kappa is irony, not laughter");
    }

    #[test]
    fn reaction_tokens_are_squeezed_and_split() {
        let mut out = Vec::new();
        let mut buf = Default::default();
        for text in ["ㅋㅋㅋㅋㅋ LULLLL 666666 ????", "아ㅋㅋㅋ, Pog! a b c d e"] {
            reaction_tokens(words(text), &mut buf, |t| out.push(t.to_owned()));
        }
        assert_eq!(
            out,
            [
                "ㅋㅋ",
                "lull",
                "66",
                "??",
                "아ㅋㅋ",
                "ㅋㅋ",
                "pog",
                "a",
                "b"
            ]
            .map(String::from),
            "at most four tokens a message"
        );
    }

    #[test]
    fn caps_and_elongation() {
        let t = a("NOOOOO way");
        assert!(t.elongated);
        assert_eq!(t.upper, 6);
        assert_eq!(t.cased, 9);
        assert!(!a("nope").elongated);
    }

    #[test]
    fn fingerprints_match_copies() {
        assert_eq!(a("무바라!").fingerprint, a("무바라").fingerprint);
        assert_eq!(
            a("Kappa Kappa").fingerprint,
            a("kappa  KAPPA!!").fingerprint
        );
        assert_eq!(a("loool").fingerprint, a("lol").fingerprint);
        assert_ne!(a("hello").fingerprint, a("world").fingerprint);
        assert_eq!(a("???").fingerprint, 0);
    }
}
