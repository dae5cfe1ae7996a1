//! Per-channel emote vocabulary.
//!
//! Fed from four places: (a) IRC `emotes` tag spans, (b) lists the relay loads from Twitch, 7TV,
//! BTTV and FFZ (passed in as data), (c) a built-in set of common global and third-party emotes,
//! and (d) for logs without tags, tokens learned as emotes because many distinct chatters repeat
//! them. Names are interned into [`EmoteId`]s so the hot path hashes each token once and counts
//! small integers.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

/// Index of an emote in its channel's vocabulary.
pub type EmoteId = u32;

/// Where the vocabulary learned an emote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmoteSource {
    Builtin,
    /// Seen in an IRC `emotes` tag.
    Tag,
    Twitch,
    SevenTv,
    Bttv,
    Ffz,
    /// Learned from a log without tags: many distinct chatters repeated it.
    Learned,
}

/// What an emote usually expresses; feeds the laughter and hype features.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmoteKind {
    Laugh,
    Hype,
    Shock,
    Other,
}

/// Common global Twitch and third-party (7TV/BTTV/FFZ) emotes, with their usual meaning.
const BUILTIN: &[(&str, EmoteKind)] = {
    use EmoteKind::*;
    &[
        ("Kappa", Other),
        ("KappaPride", Other),
        ("Keepo", Other),
        ("PogChamp", Hype),
        ("LUL", Laugh),
        ("Kreygasm", Hype),
        ("BibleThump", Other),
        ("ResidentSleeper", Other),
        ("4Head", Laugh),
        ("DansGame", Shock),
        ("SwiftRage", Hype),
        ("NotLikeThis", Shock),
        ("WutFace", Shock),
        ("TriHard", Laugh),
        ("CoolStoryBob", Other),
        ("SeemsGood", Hype),
        ("VoHiYo", Other),
        ("HeyGuys", Other),
        ("Jebaited", Laugh),
        ("BabyRage", Other),
        ("FailFish", Shock),
        ("PJSalt", Other),
        ("MingLee", Other),
        ("cmonBruh", Shock),
        ("CoolCat", Other),
        ("OSFrog", Other),
        ("SMOrc", Hype),
        ("EleGiggle", Laugh),
        ("KomodoHype", Hype),
        ("HSWP", Other),
        ("BloodTrail", Hype),
        ("CurseLit", Hype),
        ("TwitchUnity", Other),
        ("GivePLZ", Other),
        ("TakeNRG", Other),
        ("PopCorn", Other),
        ("LuvHearts", Other),
        ("<3", Other),
        ("BOP", Hype),
        ("DinoDance", Hype),
        ("KEKW", Laugh),
        ("KEKL", Laugh),
        ("OMEGALUL", Laugh),
        ("LULW", Laugh),
        ("PepeLaugh", Laugh),
        ("pepeLaugh", Laugh),
        ("ICANT", Laugh),
        ("xdd", Laugh),
        ("KEKWait", Laugh),
        ("forsenLUL", Laugh),
        ("EZ", Hype),
        ("Pog", Hype),
        ("POGGERS", Hype),
        ("PogU", Hype),
        ("PagMan", Hype),
        ("PagChomp", Hype),
        ("POGGIES", Hype),
        ("HYPERS", Hype),
        ("catJAM", Hype),
        ("pepeD", Hype),
        ("Clap", Hype),
        ("peepoClap", Hype),
        ("GIGACHAD", Hype),
        ("monkaS", Shock),
        ("monkaW", Shock),
        ("monkaOMEGA", Shock),
        ("WAYTOODANK", Shock),
        ("Sadge", Other),
        ("PepeHands", Other),
        ("FeelsBadMan", Other),
        ("FeelsGoodMan", Hype),
        ("FeelsStrongMan", Hype),
        ("5Head", Other),
        ("COPIUM", Other),
        ("Aware", Shock),
        ("Stare", Other),
        ("widepeepoHappy", Other),
        ("peepoHappy", Other),
        ("Kappa123", Other),
        ("HUH", Shock),
        ("Susge", Shock),
        ("Okayge", Other),
        ("Clueless", Other),
        ("D:", Shock),
        ("WTRuck", Hype),
        ("OMEGADANCE", Hype),
        ("pepeJAM", Hype),
        ("ratJAM", Hype),
        ("Kappu", Other),
        ("LOLW", Laugh),
        ("LOL", Laugh),
        ("ResidentSleeper", Other),
    ]
};

/// Settings of the vocabulary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EmoteConfig {
    /// Learn an emote-shaped token once this many distinct chatters used it. Default 5.
    pub learn_min_chatters: usize,
    /// At most this many candidate tokens are tracked; the table is pruned past it. Default 20,000.
    pub max_candidates: usize,
}

impl Default for EmoteConfig {
    fn default() -> Self {
        EmoteConfig {
            learn_min_chatters: 5,
            max_candidates: 20_000,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct EmoteInfo {
    name: Box<str>,
    source: EmoteSource,
    kind: EmoteKind,
}

/// The emotes of one channel.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EmoteVocab {
    config: EmoteConfig,
    emotes: Vec<EmoteInfo>,
    #[serde(skip)]
    index: FxHashMap<Box<str>, EmoteId>,
    #[serde(skip)]
    candidates: FxHashMap<Box<str>, Vec<u64>>,
}

impl Default for EmoteVocab {
    fn default() -> Self {
        Self::new(EmoteConfig::default())
    }
}

impl EmoteVocab {
    /// A vocabulary holding the built-in emote set.
    pub fn new(config: EmoteConfig) -> Self {
        let mut v = EmoteVocab {
            config,
            emotes: Vec::new(),
            index: FxHashMap::default(),
            candidates: FxHashMap::default(),
        };
        for (name, kind) in BUILTIN {
            v.insert(name, EmoteSource::Builtin, *kind);
        }
        v
    }

    /// Rebuild the lookup index after deserialising.
    pub fn reindex(&mut self) {
        self.index = self
            .emotes
            .iter()
            .enumerate()
            .map(|(i, e)| (e.name.clone(), i as EmoteId))
            .collect();
    }

    fn insert(&mut self, name: &str, source: EmoteSource, kind: EmoteKind) -> EmoteId {
        if let Some(&id) = self.index.get(name) {
            return id;
        }
        let id = self.emotes.len() as EmoteId;
        self.emotes.push(EmoteInfo {
            name: name.into(),
            source,
            kind,
        });
        self.index.insert(name.into(), id);
        id
    }

    /// Add a provider's list (Twitch channel/global, 7TV, BTTV, FFZ). Returns how many were new.
    pub fn add_list<'a>(
        &mut self,
        source: EmoteSource,
        names: impl IntoIterator<Item = &'a str>,
    ) -> usize {
        let before = self.emotes.len();
        for name in names {
            let name = name.trim();
            if !name.is_empty() && !name.chars().any(char::is_whitespace) {
                self.insert(name, source, guess_kind(name));
            }
        }
        self.emotes.len() - before
    }

    /// An emote named by an IRC `emotes` tag span.
    pub fn tagged(&mut self, name: &str) -> EmoteId {
        self.insert(name, EmoteSource::Tag, guess_kind(name))
    }

    /// The emote a token names, if known.
    #[inline]
    pub fn lookup(&self, token: &str) -> Option<EmoteId> {
        self.index.get(token).copied()
    }

    /// Count `user` as a chatter using an unknown `token`; returns the new id if the token just
    /// became a learned emote.
    pub fn learn(&mut self, token: &str, user: u64) -> Option<EmoteId> {
        if !looks_like_emote(token) {
            return None;
        }
        let min = self.config.learn_min_chatters.max(1);
        let users = match self.candidates.get_mut(token) {
            Some(users) => users,
            None => {
                if self.candidates.len() >= self.config.max_candidates {
                    self.prune();
                }
                self.candidates.entry(token.into()).or_default()
            }
        };
        if !users.contains(&user) {
            users.push(user);
        }
        if users.len() >= min {
            self.candidates.remove(token);
            Some(self.insert(token, EmoteSource::Learned, guess_kind(token)))
        } else {
            None
        }
    }

    fn prune(&mut self) {
        self.candidates.retain(|_, users| users.len() >= 2);
        if self.candidates.len() >= self.config.max_candidates / 2 {
            self.candidates.clear();
        }
    }

    pub fn name(&self, id: EmoteId) -> Option<&str> {
        self.emotes.get(id as usize).map(|e| &*e.name)
    }

    pub fn kind(&self, id: EmoteId) -> EmoteKind {
        self.emotes
            .get(id as usize)
            .map_or(EmoteKind::Other, |e| e.kind)
    }

    pub fn source(&self, id: EmoteId) -> Option<EmoteSource> {
        self.emotes.get(id as usize).map(|e| e.source)
    }

    pub fn len(&self) -> usize {
        self.emotes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.emotes.is_empty()
    }

    /// Names learned from chat (source [`EmoteSource::Learned`]).
    pub fn learned(&self) -> impl Iterator<Item = &str> {
        self.emotes
            .iter()
            .filter(|e| e.source == EmoteSource::Learned)
            .map(|e| &*e.name)
    }
}

/// Emote-shaped: ASCII letters and digits, 3 to 30 long, with a "camel hump" (an upper-case
/// letter right after a lower-case letter or digit), the shape of channel emotes (`kimdoeWA`)
/// and most third-party ones (`PepeLaugh`, `monkaS`, `catJAM`). Plain words and ALL-CAPS words
/// are not learned.
pub fn looks_like_emote(token: &str) -> bool {
    let b = token.as_bytes();
    if !(3..=30).contains(&b.len()) || !b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_') {
        return false;
    }
    b.windows(2)
        .any(|w| (w[0].is_ascii_lowercase() || w[0].is_ascii_digit()) && w[1].is_ascii_uppercase())
}

/// Guess what an emote means from its name (`...LUL`, `...Laugh`, `KEK...`, `Pog...`).
pub fn guess_kind(name: &str) -> EmoteKind {
    if let Some((_, kind)) = BUILTIN.iter().find(|(n, _)| *n == name) {
        return *kind;
    }
    let lower = name.to_ascii_lowercase();
    const LAUGH: &[&str] = &[
        "lul", "laugh", "kek", "lol", "lmao", "haha", "xd", "giggle", "icant", "omega",
    ];
    const HYPE: &[&str] = &[
        "pog", "hype", "wow", "gasm", "clap", "jam", "ez", "gg", "fire", "yay",
    ];
    const SHOCK: &[&str] = &[
        "monka", "wut", "scared", "shock", "omg", "dank", "huh", "what", "oops",
    ];
    // Judge on the part after a channel prefix (`kimdoeWA` → `wa`) when there is a hump.
    let suffix = name
        .char_indices()
        .skip(1)
        .find(|(_, c)| c.is_ascii_uppercase())
        .map_or(lower.as_str(), |(i, _)| &lower[i..]);
    if LAUGH.iter().any(|p| suffix.contains(p)) {
        EmoteKind::Laugh
    } else if SHOCK.iter().any(|p| suffix.contains(p)) {
        EmoteKind::Shock
    } else if HYPE.iter().any(|p| suffix.starts_with(p) || suffix == *p) {
        EmoteKind::Hype
    } else {
        EmoteKind::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_lookup_and_kinds() {
        let v = EmoteVocab::default();
        let id = v.lookup("KEKW").unwrap();
        assert_eq!(v.kind(id), EmoteKind::Laugh);
        assert_eq!(v.name(id), Some("KEKW"));
        assert!(v.lookup("kekw").is_none());
        assert_eq!(v.kind(v.lookup("PogChamp").unwrap()), EmoteKind::Hype);
    }

    #[test]
    fn learns_after_distinct_chatters() {
        let mut v = EmoteVocab::new(EmoteConfig {
            learn_min_chatters: 3,
            ..Default::default()
        });
        assert_eq!(v.learn("kimdoeWA", 1), None);
        assert_eq!(v.learn("kimdoeWA", 1), None, "same chatter counts once");
        assert_eq!(v.learn("kimdoeWA", 2), None);
        let id = v.learn("kimdoeWA", 3).unwrap();
        assert_eq!(v.lookup("kimdoeWA"), Some(id));
        assert_eq!(v.learned().collect::<Vec<_>>(), vec!["kimdoeWA"]);
        for u in 0..10 {
            assert_eq!(v.learn("hello", u), None, "plain words are not emotes");
            assert_eq!(v.learn("ㅋㅋㅋ", u), None);
        }
    }

    #[test]
    fn provider_lists_and_serde() {
        let mut v = EmoteVocab::default();
        assert_eq!(
            v.add_list(
                EmoteSource::SevenTv,
                ["peepoGiggle", "  ", "two words", "KEKW"]
            ),
            1
        );
        assert_eq!(v.kind(v.lookup("peepoGiggle").unwrap()), EmoteKind::Laugh);
        let json = serde_json::to_string(&v).unwrap();
        let mut back: EmoteVocab = serde_json::from_str(&json).unwrap();
        back.reindex();
        assert_eq!(back.lookup("peepoGiggle"), v.lookup("peepoGiggle"));
    }

    #[test]
    fn shapes() {
        assert!(looks_like_emote("kimdoeWA"));
        assert!(looks_like_emote("monkaS"));
        assert!(!looks_like_emote("LOL"));
        assert!(!looks_like_emote("Hello"));
        assert!(!looks_like_emote("a"));
        assert_eq!(guess_kind("kimdoeLUL"), EmoteKind::Laugh);
        assert_eq!(guess_kind("kimdoeOOPS"), EmoteKind::Shock);
    }
}
