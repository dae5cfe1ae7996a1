//! Synthetic chat streams: calm chat with a handful of planted hype moments, for demos, tests
//! and benchmarks (`clipper synth`).
//!
//! Everything here is made up by this module from a seed (no recorded chat is used): the same
//! [`SynthConfig`] always gives the same stream, byte for byte, in either format.
//!
//! * **Arrivals** are a Poisson process whose rate is constant within each second: the calm rate
//!   ([`SynthConfig::rate`]) times a slow random drift (about ±20 %, changing every minute) times
//!   the burst multiplier of a planted moment, if one is under way.
//! * **Chatters**: a few hundred pseudonymous users ([`SynthConfig::users`]) with a Zipf-like
//!   activity (a few regulars write most of the calm chat) and a language: English, Korean or
//!   both. In IRC output some are moderators, VIPs, subscribers (with months), Prime users; the
//!   first user is the broadcaster.
//! * **Calm chat** mixes English and Korean small talk, emote lines (global Twitch emotes,
//!   third-party emotes such as `KEKW`, and the channel's own `synth*` emotes), a little
//!   laughter and occasional `?`.
//! * **Planted moments** ([`Moment`]): the first after 8–12 min, then one every 10–15 min, each a
//!   10–30 s burst where the rate jumps 4–8× (ramp-up over 3 s, decay over the last quarter,
//!   then a short aftermath). Each has a dominant flavour, rotating over [`MomentKind`]:
//!   laughter (`KEKW`, `LUL`, `ㅋㅋㅋ`), spam of one emote, a copypasta, or `Clip it!` calls; the
//!   other flavours are mixed in at lower shares. During a burst most lines come from users
//!   drawn uniformly, so many distinct chatters take part.
//!
//! Output formats ([`write_stream`]):
//!
//! * **TSV**: header `offset_s<TAB>user<TAB>message`, whole seconds since the stream start.
//! * **IRC**: raw Twitch `PRIVMSG` lines with `IRCv3` tags as the server sends them
//!   (`badge-info`, `badges`, `color`, `display-name`, `emotes` with char indices of the global
//!   and channel emotes, `id`, `mod`, `room-id`, `subscriber`, `tmi-sent-ts` = [`IRC_EPOCH_MS`] +
//!   offset, `user-id`, `user-type`, ...), after a connection preamble (welcome, `JOIN`,
//!   `ROOMSTATE`) and with a `PING` every five minutes. The chat messages are the same as in TSV
//!   for the same config, with millisecond times.
//!
//! The planted moments are written to `FILE.labels.csv` as `vod_id,offset_s` (the start second
//! of each burst; `vod_id` is the file stem), the form `clipper eval --labels` reads.

use crate::error::{RelayError, Result};
use crate::input::ChatFormat;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::HashSet;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Default length of a stream in minutes.
pub const DEFAULT_MINUTES: f64 = 60.0;
/// Default calm chat rate in messages per second.
pub const DEFAULT_RATE: f64 = 3.0;
/// Default seed.
pub const DEFAULT_SEED: u64 = 7;
/// Default number of chatters.
pub const DEFAULT_USERS: usize = 320;
/// Default channel login (IRC output; TSV logs take their channel from the directory name).
pub const DEFAULT_CHANNEL: &str = "synthbard";
/// Unix time (ms) of the stream start in IRC output: 2023-11-14T22:13:20Z.
pub const IRC_EPOCH_MS: i64 = 1_700_000_000_000;
/// `room-id` (and the broadcaster's `user-id`) in IRC output.
const ROOM_ID: u64 = 48_151_623;
/// Longest stream accepted: 10 years of chat.
const MAX_MINUTES: f64 = 10.0 * 365.0 * 24.0 * 60.0;
/// Highest calm rate accepted (messages per second).
const MAX_RATE: f64 = 10_000.0;

/// Settings of a synthetic stream.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthConfig {
    /// Stream length in minutes.
    pub minutes: f64,
    /// Seed of the random generator: same seed, same stream.
    pub seed: u64,
    /// Calm chat rate in messages per second (before drift and bursts).
    pub rate: f64,
    /// Number of distinct chatters (at least 10).
    pub users: usize,
    /// Channel login used in IRC output.
    pub channel: String,
    /// Stop after this many messages (benchmarks); labels then cover only the moments that
    /// started before the last message.
    pub max_messages: Option<u64>,
}

impl Default for SynthConfig {
    fn default() -> Self {
        SynthConfig {
            minutes: DEFAULT_MINUTES,
            seed: DEFAULT_SEED,
            rate: DEFAULT_RATE,
            users: DEFAULT_USERS,
            channel: DEFAULT_CHANNEL.to_owned(),
            max_messages: None,
        }
    }
}

impl SynthConfig {
    /// Checks the numbers.
    ///
    /// # Errors
    /// [`RelayError::Invalid`] naming the bad setting.
    pub fn validate(&self) -> Result<()> {
        if !(self.minutes.is_finite() && self.minutes > 0.0 && self.minutes <= MAX_MINUTES) {
            return Err(RelayError::Invalid(format!(
                "--minutes must be a number of minutes in (0, {MAX_MINUTES}], got {}",
                self.minutes
            )));
        }
        if !(self.rate.is_finite() && self.rate > 0.0 && self.rate <= MAX_RATE) {
            return Err(RelayError::Invalid(format!(
                "--rate must be messages per second in (0, {MAX_RATE}], got {}",
                self.rate
            )));
        }
        if self.users < 10 {
            return Err(RelayError::Invalid(format!(
                "a synthetic stream needs at least 10 users, got {}",
                self.users
            )));
        }
        let login_ok = !self.channel.is_empty()
            && self
                .channel
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !login_ok {
            return Err(RelayError::Invalid(format!(
                "channel must be a Twitch login ([a-z0-9_]+), got {:?}",
                self.channel
            )));
        }
        Ok(())
    }
}

/// The dominant flavour of a planted moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MomentKind {
    /// `KEKW`, `LUL`, `ㅋㅋㅋ`, `LMAO`.
    Laughter,
    /// Many chatters spamming one emote.
    EmoteSpam,
    /// One long line pasted by many chatters.
    Copypasta,
    /// `Clip it!`, `CLIP IT`, `클립 각`.
    ClipIt,
}

impl std::fmt::Display for MomentKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            MomentKind::Laughter => "laughter",
            MomentKind::EmoteSpam => "emote_spam",
            MomentKind::Copypasta => "copypasta",
            MomentKind::ClipIt => "clip_it",
        })
    }
}

/// A planted moment.
#[derive(Debug, Clone, PartialEq)]
pub struct Moment {
    /// Start of the burst, whole seconds from the stream start (the label).
    pub start_s: i64,
    /// Length of the burst in seconds (10–30).
    pub duration_s: i64,
    /// Rate multiplier at the burst's height (4–8).
    pub multiplier: f64,
    pub kind: MomentKind,
    /// The spammed emote (every kind has one; it dominates [`MomentKind::EmoteSpam`]).
    pub emote: &'static str,
    /// The pasted line (dominates [`MomentKind::Copypasta`]).
    pub copypasta: &'static str,
}

/// Language of a chatter's calm messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    English,
    Korean,
    Both,
}

/// The role badge a chatter wears.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Broadcaster,
    Moderator,
    Vip,
    Viewer,
}

/// A synthetic chatter.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    /// Login (`[a-z0-9_]`), also the TSV `user` column.
    pub login: String,
    /// Display name: the login with some capitals, or a Hangul name for some Korean chatters.
    pub display_name: String,
    pub user_id: u64,
    pub lang: Lang,
    pub role: Role,
    /// Subscription months (0: not subscribed).
    pub sub_months: u32,
    /// Prime badge (non-subscribers only).
    pub prime: bool,
    /// Name colour (`#RRGGBB`), or none when the user never chose one.
    pub color: Option<&'static str>,
}

/// One generated chat message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynthMessage {
    /// Milliseconds since the stream start.
    pub time_ms: i64,
    /// Index into [`Generator::users`].
    pub user: usize,
    pub text: String,
}

// ---------------------------------------------------------------------------------------------
// Vocabulary (written for this generator).

/// Global Twitch emotes and their ids (these get `emotes` tags in IRC output).
const TWITCH_EMOTES: &[(&str, &str)] = &[
    ("Kappa", "25"),
    ("Keepo", "1902"),
    ("LUL", "425618"),
    ("4Head", "354"),
    ("BibleThump", "86"),
    ("ResidentSleeper", "245"),
    ("Kreygasm", "41"),
    ("DansGame", "33"),
    ("FailFish", "360"),
    ("SMOrc", "52"),
    ("PJSalt", "36"),
    ("SwiftRage", "34"),
    ("WutFace", "28087"),
    ("NotLikeThis", "58765"),
    ("SeemsGood", "64138"),
    ("HeyGuys", "30259"),
    ("CoolCat", "58127"),
    ("VoHiYo", "81274"),
    ("PogChamp", "305954156"),
];

/// The channel's own (subscriber) emotes and their ids.
const CHANNEL_EMOTES: &[(&str, &str)] = &[
    ("synthHype", "emotesv2_4f1c9a2be07d4c3e8a61d5b0c2f7e913"),
    ("synthLaugh", "emotesv2_a83d2e51c6f94b07b1e2c4d8f5a60b27"),
    ("synthHi", "emotesv2_0c7e4b19d2a84f6e93b5a1c8d7e2f640"),
    ("synthLove", "emotesv2_d95b3f07a1c24e8bb6f0e3a92c4d7158"),
    ("synthRage", "emotesv2_7a2f6c84e0b14d39a5c8e1f2b3d4a6c9"),
];

/// Emotes seen in calm chat (mostly friendly or bored ones).
const CALM_EMOTES: &[&str] = &[
    "Kappa",
    "Kappa",
    "SeemsGood",
    "HeyGuys",
    "VoHiYo",
    "BibleThump",
    "ResidentSleeper",
    "4Head",
    "CoolCat",
    "Keepo",
    "PJSalt",
    "Sadge",
    "monkaS",
    "catJAM",
    "EZ",
    "Clap",
    "5Head",
    "synthHi",
    "synthLove",
    "synthHi",
];

const ENGLISH: &[&str] = &[
    "hi chat",
    "hello everyone",
    "what game is this",
    "how long has he been live",
    "this song is a banger",
    "that was close",
    "nice play",
    "gg",
    "ez",
    "lets go",
    "just got here what did i miss",
    "he is cooking",
    "wait what",
    "is this ranked",
    "chat is slow today",
    "good morning from lisbon",
    "first time catching the stream live",
    "that build is kinda weird",
    "honestly not bad",
    "he should go left",
    "why is he going there",
    "true",
    "real",
    "fair enough",
    "the audio is a bit low",
    "can you turn the music down a bit",
    "what rank is he",
    "ok that was clean",
    "i love this map",
    "imagine",
    "classic",
    "big brain",
    "unlucky",
    "so close",
    "one more game",
    "any tips for this boss",
    "where is the shop",
    "he forgot the potion again",
    "brb food",
    "back",
    "that hat is fire",
    "hydrate streamer",
    "what time is it there",
    "how many deaths so far",
    "chat behave",
    "yep",
    "nope",
    "maybe next time",
    "we believe",
    "he needs more armor",
    "the pacing on this run is great",
    "is the giveaway still on",
    "my cat is watching with me",
    "this lobby is stacked",
    "respect the grind",
    "tomorrow same time?",
    "that dodge was sick",
    "i would have gone right",
    "do the side quest first",
    "the second phase is the hard one",
];

const KOREAN: &[&str] = &[
    "안녕하세요",
    "ㅎㅇㅎㅇ",
    "오늘 뭐해요",
    "이거 무슨 게임이에요",
    "잘한다",
    "배고프다",
    "방금 왔어요",
    "ㅇㅈ",
    "ㄹㅇ",
    "아 아깝다",
    "조금만 더",
    "그쪽 아니에요",
    "왼쪽으로 가요",
    "오늘 컨디션 좋네",
    "노래 좋다",
    "이 맵 좋아요",
    "몇 판째에요",
    "ㅠㅠ",
    "화이팅",
    "굿굿",
    "오 좋아요",
    "뭐지",
    "아 진짜",
    "가보자",
    "천천히 해요",
    "소리 좀 작아요",
    "물 마셔요",
    "저녁 뭐 먹지",
    "이번 판 이기자",
    "방송 몇 시까지 해요",
    "헐",
    "ㄱㄱ",
    "ㅇㅇ",
    "아니 왜",
    "장비 먼저 사요",
    "보스 패턴 어렵네",
    "오늘 방송 재밌다",
    "퇴근하고 왔습니다",
    "이 노래 제목 뭐에요",
    "내일도 방송해요?",
    "고양이 보고 싶다",
    "와 손 빠르다",
    "침착하게",
    "좋아 좋아",
];

const QUESTIONS: &[&str] = &[
    "?",
    "??",
    "???",
    "what?",
    "뭐야?",
    "??????",
    "wait why?",
    "왜요?",
    "huh?",
];

const CALM_LAUGH: &[&str] = &["lol", "ㅋㅋ", "ㅋㅋㅋ", "LUL", "haha", "ㅎㅎ", "KEKW"];

const COMMANDS: &[&str] = &["!uptime", "!discord", "!song", "!rank", "!schedule"];

const HYPE: &[&str] = &[
    "WHAT",
    "NO WAY",
    "LETS GOOOO",
    "ㄷㄷㄷ",
    "미쳤다",
    "와아아아",
    "WHAT A PLAY",
    "HOLY",
    "대박",
    "did that just happen",
    "insane",
    "actually cracked",
];

const LAUGH_LINES: &[&str] = &[
    "KEKW",
    "KEKW KEKW",
    "KEKW KEKW KEKW",
    "LUL",
    "LUL LUL",
    "LUL LUL LUL",
    "OMEGALUL",
    "LMAO",
    "lmaooo",
    "HAHAHAHA",
    "im dying KEKW",
    "PepeLaugh",
    "LUL what was that",
    "ㅋㅋㅋㅋ 뭐야",
    "ㅋㅋㅋㅋㅋㅋ 미쳤다",
    "KEKW ㅋㅋㅋㅋ",
    "synthLaugh synthLaugh",
    "LULW",
];

const CLIP_LINES: &[&str] = &[
    "Clip it!",
    "Clip it!",
    "CLIP IT",
    "clip it",
    "Clip it! KEKW",
    "CLIP IT CLIP IT",
    "someone clip that",
    "클립 각",
    "클립 클립",
    "clip that PogChamp",
    "mods clip it",
];

const SPAM_EMOTES: &[&str] = &["PogChamp", "Pog", "Kreygasm", "synthHype", "catJAM", "PogU"];

const COPYPASTAS: &[&str] = &[
    "chat we just witnessed history, tell your grandkids you were here for this",
    "I was eating cereal and now it is on my keyboard thanks a lot streamer",
    "이거 보려고 방송 켰다 레전드 장면 박제 완료",
    "streamer please never do that again my heart cannot take it",
    "this is why I pay for prime, absolute cinema, no notes",
    "들어올 때 마음대로였겠지만 나갈 때도 마음대로다 ㅋㅋ",
];

const AFTERMATH: &[&str] = &[
    "that was insane",
    "replay it",
    "i cant breathe",
    "best moment of the stream",
    "방금 뭐였냐",
    "다시 보고 싶다",
    "chat was going crazy",
    "ㅋㅋㅋ 레전드",
];

const COLORS: &[&str] = &[
    "#FF0000", "#0000FF", "#008000", "#B22222", "#FF7F50", "#9ACD32", "#FF4500", "#2E8B57",
    "#DAA520", "#D2691E", "#5F9EA0", "#1E90FF", "#FF69B4", "#8A2BE2", "#00FF7F",
];

const ADJECTIVES: &[&str] = &[
    "sleepy", "mossy", "quiet", "brave", "lucky", "tiny", "cosmic", "rusty", "salty", "fuzzy",
    "swift", "grumpy", "golden", "silent", "crispy", "lazy", "neon", "odd", "polar", "spicy",
    "frosty", "wild", "humble", "clever", "shy", "loud", "velvet", "pixel", "lunar", "stormy",
];

const NOUNS: &[&str] = &[
    "otter", "falcon", "pancake", "wizard", "badger", "comet", "noodle", "walrus", "pebble",
    "lantern", "moth", "panda", "raven", "turnip", "gecko", "kettle", "marble", "bison", "pickle",
    "sprout", "ferret", "anchor", "llama", "cactus", "beetle", "cobalt", "tofu", "yeti", "koala",
    "dumpling",
];

const ROMAN_SYLLABLES: &[&str] = &[
    "min", "su", "ji", "hoon", "seo", "yeon", "jun", "woo", "hye", "dong", "hyun", "jae", "eun",
    "bin", "kyu", "tae", "ha", "na", "ri",
];

const HANGUL_SYLLABLES: &[&str] = &[
    "민", "수", "지", "훈", "서", "연", "준", "우", "혜", "동", "현", "재", "은", "빈", "규", "태",
    "하", "나", "리", "별", "솔",
];

// ---------------------------------------------------------------------------------------------
// Random helpers.

fn pick<'a, T>(rng: &mut ChaCha8Rng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

/// A random entry of a word list.
fn word(rng: &mut ChaCha8Rng, items: &[&'static str]) -> &'static str {
    items[rng.random_range(0..items.len())]
}

/// Standard normal (Box–Muller).
fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Exponential with the given rate (per second).
fn exponential(rng: &mut ChaCha8Rng, rate: f64) -> f64 {
    -(1.0 - rng.random::<f64>()).ln() / rate
}

fn make_users(rng: &mut ChaCha8Rng, n: usize, channel: &str) -> Vec<User> {
    let mut seen: HashSet<String> = HashSet::with_capacity(n);
    seen.insert(channel.to_owned());
    let mut ids: HashSet<u64> = HashSet::with_capacity(n);
    ids.insert(ROOM_ID);
    let mut users = Vec::with_capacity(n);
    users.push(User {
        login: channel.to_owned(),
        display_name: capitalise(channel),
        user_id: ROOM_ID,
        lang: Lang::Both,
        role: Role::Broadcaster,
        sub_months: 0,
        prime: false,
        color: Some("#8A2BE2"),
    });
    while users.len() < n {
        let lang = match rng.random_range(0..10) {
            0..=3 => Lang::English,
            4..=7 => Lang::Korean,
            _ => Lang::Both,
        };
        let login = if lang == Lang::Korean && rng.random_bool(0.7) {
            let mut s = String::new();
            for _ in 0..rng.random_range(2..=3) {
                s.push_str(word(rng, ROMAN_SYLLABLES));
            }
            if rng.random_bool(0.6) {
                s.push_str(&rng.random_range(0..10_000u32).to_string());
            }
            s
        } else {
            let mut s = format!("{}_{}", word(rng, ADJECTIVES), word(rng, NOUNS));
            if rng.random_bool(0.5) {
                s.push_str(&rng.random_range(0..1_000u32).to_string());
            }
            s
        };
        if !seen.insert(login.clone()) {
            continue;
        }
        let display_name = if lang == Lang::Korean && rng.random_bool(0.3) {
            (0..rng.random_range(2..=3))
                .map(|_| word(rng, HANGUL_SYLLABLES))
                .collect()
        } else if rng.random_bool(0.6) {
            capitalise(&login)
        } else {
            login.clone()
        };
        let mut user_id = rng.random_range(10_000_000..1_000_000_000u64);
        while !ids.insert(user_id) {
            user_id = rng.random_range(10_000_000..1_000_000_000u64);
        }
        let role = match rng.random_range(0..100) {
            0..=2 => Role::Moderator,
            3..=4 => Role::Vip,
            _ => Role::Viewer,
        };
        let subscribed = role == Role::Moderator || rng.random_bool(0.35);
        let sub_months = if subscribed {
            rng.random_range(1..=48)
        } else {
            0
        };
        users.push(User {
            login,
            display_name,
            user_id,
            lang,
            role,
            sub_months,
            prime: !subscribed && rng.random_bool(0.1),
            color: rng.random_bool(0.8).then(|| word(rng, COLORS)),
        });
    }
    users
}

fn capitalise(login: &str) -> String {
    login
        .split('_')
        .map(|part| {
            let mut c = part.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join("_")
}

/// Cumulative weights for sampling calm chatters: Zipf-like activity in a shuffled order.
fn activity_table(rng: &mut ChaCha8Rng, n: usize) -> Vec<f64> {
    let mut ranks: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = rng.random_range(0..=i);
        ranks.swap(i, j);
    }
    let mut total = 0.0;
    ranks
        .iter()
        .map(|&r| {
            total += 1.0 / ((r + 1) as f64).powf(0.7);
            total
        })
        .collect()
}

fn plan_moments(rng: &mut ChaCha8Rng, end_s: f64) -> Vec<Moment> {
    let kinds = {
        let mut k = [
            MomentKind::Laughter,
            MomentKind::EmoteSpam,
            MomentKind::Copypasta,
            MomentKind::ClipIt,
        ];
        for i in (1..k.len()).rev() {
            let j = rng.random_range(0..=i);
            k.swap(i, j);
        }
        k
    };
    let mut moments = Vec::new();
    let mut t = rng.random_range(480.0..720.0);
    while t + 30.0 + 60.0 <= end_s {
        let i = moments.len();
        moments.push(Moment {
            start_s: t as i64,
            duration_s: rng.random_range(10..=30),
            multiplier: rng.random_range(4.0..=8.0),
            kind: kinds[i % kinds.len()],
            emote: SPAM_EMOTES[i % SPAM_EMOTES.len()],
            copypasta: COPYPASTAS[i % COPYPASTAS.len()],
        });
        t += rng.random_range(600.0..900.0);
    }
    moments
}

// ---------------------------------------------------------------------------------------------
// The generator.

/// Where in a moment a second lies.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    Calm,
    Burst { moment: usize, multiplier: f64 },
    Aftermath { moment: usize },
}

/// Seconds of aftermath (1.3× rate, reactions) after a burst.
const AFTERMATH_S: i64 = 15;

/// A seeded, streaming generator of one synthetic stream (an iterator of [`SynthMessage`] in
/// time order). Memory does not grow with the stream's length.
#[derive(Debug)]
pub struct Generator {
    rng: ChaCha8Rng,
    config: SynthConfig,
    users: Vec<User>,
    activity: Vec<f64>,
    moments: Vec<Moment>,
    end_ms: i64,
    /// Next second to generate.
    second: i64,
    /// Log-rate drift, updated every minute.
    drift: f64,
    buf: std::collections::VecDeque<SynthMessage>,
    emitted: u64,
    last_ms: i64,
    done: bool,
}

impl Generator {
    /// A generator for `config`.
    ///
    /// # Errors
    /// [`RelayError::Invalid`] when the config does not [validate](SynthConfig::validate).
    pub fn new(config: &SynthConfig) -> Result<Self> {
        config.validate()?;
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        let users = make_users(&mut rng, config.users, &config.channel);
        let activity = activity_table(&mut rng, users.len());
        let end_s = config.minutes * 60.0;
        let moments = plan_moments(&mut rng, end_s);
        Ok(Generator {
            rng,
            config: config.clone(),
            users,
            activity,
            moments,
            end_ms: (end_s * 1000.0).round() as i64,
            second: 0,
            drift: 0.0,
            buf: std::collections::VecDeque::with_capacity(64),
            emitted: 0,
            last_ms: 0,
            done: false,
        })
    }

    /// The chatters (index = [`SynthMessage::user`]).
    pub fn users(&self) -> &[User] {
        &self.users
    }

    /// The planted moments, in time order (all of them, including any after a
    /// [`SynthConfig::max_messages`] cut).
    pub fn moments(&self) -> &[Moment] {
        &self.moments
    }

    /// Messages handed out so far.
    pub fn emitted(&self) -> u64 {
        self.emitted
    }

    /// Time of the last message handed out (ms from the start).
    pub fn last_ms(&self) -> i64 {
        self.last_ms
    }

    /// The config.
    pub fn config(&self) -> &SynthConfig {
        &self.config
    }

    fn phase(&self, s: i64) -> Phase {
        // Moments are few (one per 10+ min): a scan is cheap enough per second.
        for (i, m) in self.moments.iter().enumerate() {
            let k = s - m.start_s;
            if k < 0 {
                break;
            }
            if k < m.duration_s {
                let d = m.duration_s as f64;
                let kf = k as f64;
                let multiplier = if k < 3 {
                    1.0 + (m.multiplier - 1.0) * (kf + 1.0) / 3.0
                } else if kf < 0.75 * d {
                    m.multiplier
                } else {
                    let f = (kf - 0.75 * d) / (0.25 * d);
                    m.multiplier + (1.5 - m.multiplier) * f
                };
                return Phase::Burst {
                    moment: i,
                    multiplier,
                };
            }
            if k < m.duration_s + AFTERMATH_S {
                return Phase::Aftermath { moment: i };
            }
        }
        Phase::Calm
    }

    fn calm_user(&mut self) -> usize {
        let total = self.activity.last().copied().unwrap_or(1.0);
        let x = self.rng.random::<f64>() * total;
        self.activity
            .partition_point(|&c| c <= x)
            .min(self.users.len() - 1)
    }

    fn any_user(&mut self) -> usize {
        self.rng.random_range(0..self.users.len())
    }

    /// Fills `buf` with the messages of the next second. False at the end of the stream.
    fn fill_second(&mut self) -> bool {
        let start_ms = self.second * 1000;
        if start_ms >= self.end_ms {
            return false;
        }
        if self.second % 60 == 0 {
            self.drift = (0.85 * self.drift + 0.08 * normal(&mut self.rng)).clamp(-0.35, 0.35);
        }
        let phase = self.phase(self.second);
        let multiplier = match phase {
            Phase::Calm => 1.0,
            Phase::Burst { multiplier, .. } => multiplier,
            Phase::Aftermath { .. } => 1.3,
        };
        let rate = self.config.rate * self.drift.exp() * multiplier;
        let second_end = (start_ms + 1000).min(self.end_ms);
        let mut t = start_ms as f64 / 1000.0;
        loop {
            t += exponential(&mut self.rng, rate);
            let time_ms = (t * 1000.0).floor() as i64;
            if time_ms >= second_end {
                break;
            }
            let (user, text) = match phase {
                Phase::Calm => {
                    let u = self.calm_user();
                    (u, self.calm_text(u))
                }
                Phase::Burst { moment, .. } => {
                    // Most burst lines come from anyone in chat: many distinct chatters.
                    let u = if self.rng.random_bool(0.8) {
                        self.any_user()
                    } else {
                        self.calm_user()
                    };
                    (u, self.burst_text(moment))
                }
                Phase::Aftermath { moment } => {
                    let u = self.calm_user();
                    let text = if self.rng.random_bool(0.4) {
                        word(&mut self.rng, AFTERMATH).to_owned()
                    } else if self.rng.random_bool(0.3) {
                        self.burst_text(moment)
                    } else {
                        self.calm_text(u)
                    };
                    (u, text)
                }
            };
            self.buf.push_back(SynthMessage {
                time_ms,
                user,
                text,
            });
        }
        self.second += 1;
        true
    }

    fn calm_text(&mut self, user: usize) -> String {
        let lang = match self.users[user].lang {
            Lang::Both => {
                if self.rng.random_bool(0.5) {
                    Lang::English
                } else {
                    Lang::Korean
                }
            }
            l => l,
        };
        let rng = &mut self.rng;
        let phrase = |rng: &mut ChaCha8Rng| -> &'static str {
            if lang == Lang::Korean {
                word(rng, KOREAN)
            } else {
                word(rng, ENGLISH)
            }
        };
        let roll = rng.random_range(0..100);
        match roll {
            0..=56 => phrase(rng).to_owned(),
            57..=66 => format!("{} {}", phrase(rng), word(rng, CALM_EMOTES)),
            67..=79 => {
                let e = word(rng, CALM_EMOTES);
                match rng.random_range(0..4) {
                    0 => format!("{e} {e}"),
                    1 => format!("{} {e}", pick(rng, TWITCH_EMOTES).0),
                    _ => e.to_owned(),
                }
            }
            80..=87 => {
                let l = word(rng, CALM_LAUGH);
                if lang == Lang::Korean && rng.random_bool(0.6) {
                    "ㅋ".repeat(rng.random_range(2..=5))
                } else {
                    l.to_owned()
                }
            }
            88..=93 => word(rng, QUESTIONS).to_owned(),
            94..=95 => word(rng, COMMANDS).to_owned(),
            _ => {
                // A sentence of two phrases, sometimes across languages.
                let a = phrase(rng);
                let b = if rng.random_bool(0.3) {
                    word(rng, KOREAN)
                } else {
                    phrase(rng)
                };
                format!("{a} {b}")
            }
        }
    }

    fn burst_text(&mut self, moment: usize) -> String {
        let Some(m) = self.moments.get(moment) else {
            return String::from("?");
        };
        let (kind, emote, pasta) = (m.kind, m.emote, m.copypasta);
        let rng = &mut self.rng;
        // The dominant flavour for 60 % of lines, the rest mixed.
        let flavour = if rng.random_bool(0.6) {
            Some(kind)
        } else {
            match rng.random_range(0..100) {
                0..=34 => Some(MomentKind::Laughter),
                35..=49 => Some(MomentKind::ClipIt),
                50..=59 => Some(MomentKind::EmoteSpam),
                60..=64 => Some(MomentKind::Copypasta),
                _ => None,
            }
        };
        match flavour {
            Some(MomentKind::Laughter) => {
                if rng.random_bool(0.3) {
                    "ㅋ".repeat(rng.random_range(3..=14))
                } else {
                    word(rng, LAUGH_LINES).to_owned()
                }
            }
            Some(MomentKind::EmoteSpam) => {
                let n = rng.random_range(1..=6);
                let mut s = String::with_capacity(n * (emote.len() + 1) + 12);
                for i in 0..n {
                    if i > 0 {
                        s.push(' ');
                    }
                    s.push_str(emote);
                }
                if rng.random_bool(0.15) {
                    s.push(' ');
                    s.push_str(word(rng, HYPE));
                }
                s
            }
            Some(MomentKind::Copypasta) => match rng.random_range(0..10) {
                0 => format!("{pasta} {emote}"),
                1 => format!("{pasta} KEKW"),
                _ => pasta.to_owned(),
            },
            Some(MomentKind::ClipIt) => word(rng, CLIP_LINES).to_owned(),
            None => (word(rng, HYPE)).to_owned(),
        }
    }
}

impl Iterator for Generator {
    type Item = SynthMessage;

    fn next(&mut self) -> Option<SynthMessage> {
        if self.done {
            return None;
        }
        if self
            .config
            .max_messages
            .is_some_and(|max| self.emitted >= max)
        {
            self.done = true;
            return None;
        }
        while self.buf.is_empty() {
            if !self.fill_second() {
                self.done = true;
                return None;
            }
        }
        let m = self.buf.pop_front()?;
        self.emitted += 1;
        self.last_ms = m.time_ms;
        Some(m)
    }
}

// ---------------------------------------------------------------------------------------------
// Writers.

/// Writes the stream as TSV (`offset_s<TAB>user<TAB>message`, whole seconds). Returns the number
/// of messages.
///
/// # Errors
/// Any write error.
pub fn write_tsv<W: Write>(gen: &mut Generator, out: &mut W) -> std::io::Result<u64> {
    writeln!(out, "offset_s\tuser\tmessage")?;
    let users = gen.users.clone();
    let mut n = 0;
    for m in gen.by_ref() {
        let user = &users[m.user];
        writeln!(out, "{}\t{}\t{}", m.time_ms / 1000, user.login, m.text)?;
        n += 1;
    }
    Ok(n)
}

/// Writes the stream as raw Twitch IRC lines (see the [module docs](self)). Returns the number of
/// chat messages (`PRIVMSG` lines).
///
/// # Errors
/// Any write error.
pub fn write_irc<W: Write>(gen: &mut Generator, out: &mut W) -> std::io::Result<u64> {
    // A second random stream for tag values only, so that the chat itself is the same as TSV.
    let mut tag_rng = ChaCha8Rng::seed_from_u64(gen.config.seed ^ 0x1BC7_A6E5_0F00_D5ED);
    let channel = gen.config.channel.clone();
    let me = "justinfan48151";
    for line in [
        format!(":tmi.twitch.tv 001 {me} :Welcome, GLHF!"),
        format!(":tmi.twitch.tv 002 {me} :Your host is tmi.twitch.tv"),
        format!(":tmi.twitch.tv 003 {me} :This server is rather new"),
        format!(":tmi.twitch.tv 004 {me} :-"),
        format!(":tmi.twitch.tv 375 {me} :-"),
        format!(":tmi.twitch.tv 372 {me} :You are in a maze of twisty passages, all alike."),
        format!(":tmi.twitch.tv 376 {me} :>"),
        ":tmi.twitch.tv CAP * ACK :twitch.tv/tags twitch.tv/commands twitch.tv/membership".to_owned(),
        format!(":{me}!{me}@{me}.tmi.twitch.tv JOIN #{channel}"),
        format!(":{me}.tmi.twitch.tv 353 {me} = #{channel} :{me}"),
        format!(":{me}.tmi.twitch.tv 366 {me} #{channel} :End of /NAMES list"),
        format!(
            "@emote-only=0;followers-only=-1;r9k=0;room-id={ROOM_ID};slow=0;subs-only=0 :tmi.twitch.tv ROOMSTATE #{channel}"
        ),
    ] {
        writeln!(out, "{line}")?;
    }
    let mut next_ping_ms = 300_000;
    let mut emotes = String::new();
    let mut spans: Vec<(&'static str, usize, usize)> = Vec::new();
    let users = gen.users.clone();
    let mut n = 0;
    for m in gen.by_ref() {
        while m.time_ms >= next_ping_ms {
            writeln!(out, "PING :tmi.twitch.tv")?;
            next_ping_ms += 300_000;
        }
        let user = &users[m.user];
        emote_tag(&m.text, user.sub_months > 0, &mut spans, &mut emotes);
        let (badge_info, badges) = badges(user);
        let is_mod = user.role == Role::Moderator;
        write!(out, "@badge-info={badge_info};badges={badges};")?;
        if tag_rng.random_bool(0.8) {
            write!(
                out,
                "client-nonce={:016x}{:016x};",
                tag_rng.random::<u64>(),
                tag_rng.random::<u64>()
            )?;
        }
        let id: u128 = tag_rng.random();
        write!(
            out,
            "color={};display-name={};emotes={emotes};first-msg=0;flags=;id={:08x}-{:04x}-4{:03x}-{:x}{:03x}-{:012x};mod={};returning-chatter=0;room-id={ROOM_ID};subscriber={};tmi-sent-ts={};turbo=0;user-id={};user-type={}",
            user.color.unwrap_or(""),
            user.display_name,
            (id >> 96) as u32,
            (id >> 80) as u16,
            (id >> 68) as u16 & 0xfff,
            8 + ((id >> 66) as u8 & 0x3),
            (id >> 54) as u16 & 0xfff,
            id as u64 & 0xffff_ffff_ffff,
            u8::from(is_mod),
            u8::from(user.sub_months > 0),
            IRC_EPOCH_MS + m.time_ms,
            user.user_id,
            if is_mod { "mod" } else { "" },
        )?;
        if user.role == Role::Vip {
            write!(out, ";vip=1")?;
        }
        writeln!(
            out,
            " :{l}!{l}@{l}.tmi.twitch.tv PRIVMSG #{channel} :{}",
            m.text,
            l = user.login
        )?;
        n += 1;
    }
    Ok(n)
}

/// `badge-info` and `badges` tag values of a user.
fn badges(user: &User) -> (String, String) {
    let mut list: Vec<String> = Vec::with_capacity(3);
    match user.role {
        Role::Broadcaster => list.push("broadcaster/1".into()),
        Role::Moderator => list.push("moderator/1".into()),
        Role::Vip => list.push("vip/1".into()),
        Role::Viewer => {}
    }
    let info = if user.sub_months > 0 {
        let tier = [36, 24, 18, 12, 9, 6, 3, 2]
            .into_iter()
            .find(|&t| user.sub_months >= t)
            .unwrap_or(0);
        list.push(format!("subscriber/{tier}"));
        format!("subscriber/{}", user.sub_months)
    } else {
        if user.prime {
            list.push("premium/1".into());
        }
        String::new()
    };
    (info, list.join(","))
}

/// Fills `out` with the `emotes` tag value of `text`: `id:start-end,start-end/id:...` with
/// inclusive char indices, ids in order of first use. Channel emotes count only for
/// subscribers (others cannot use them). Tokens are separated by single spaces.
fn emote_tag(
    text: &str,
    subscriber: bool,
    spans: &mut Vec<(&'static str, usize, usize)>,
    out: &mut String,
) {
    use std::fmt::Write as _;
    spans.clear();
    out.clear();
    let mut char_pos = 0usize;
    for token in text.split(' ') {
        let len = token.chars().count();
        let id = TWITCH_EMOTES
            .iter()
            .chain(if subscriber { CHANNEL_EMOTES } else { &[] })
            .find(|(name, _)| *name == token)
            .map(|(_, id)| *id);
        if let (Some(id), true) = (id, len > 0) {
            spans.push((id, char_pos, char_pos + len - 1));
        }
        char_pos += len + 1;
    }
    let mut done: Vec<&str> = Vec::new();
    for &(id, _, _) in spans.iter() {
        if done.contains(&id) {
            continue;
        }
        done.push(id);
        if !out.is_empty() {
            out.push('/');
        }
        out.push_str(id);
        out.push(':');
        let mut first = true;
        for &(_, s, e) in spans.iter().filter(|(i, _, _)| *i == id) {
            if !first {
                out.push(',');
            }
            first = false;
            let _ = write!(out, "{s}-{e}");
        }
    }
}

/// The labels file of a stream file: `FILE.labels.csv`.
pub fn labels_path(out: &Path) -> PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(".labels.csv");
    PathBuf::from(name)
}

/// What [`write_stream`] wrote.
#[derive(Debug, Clone)]
pub struct SynthSummary {
    pub path: PathBuf,
    pub labels_path: PathBuf,
    pub format: ChatFormat,
    pub messages: u64,
    /// The moments written as labels.
    pub moments: Vec<Moment>,
    /// Time of the last message, in seconds from the start.
    pub last_s: f64,
}

/// Generates a stream into `out` (TSV or IRC) and its labels into [`labels_path`]`(out)`.
///
/// # Errors
/// [`RelayError::Invalid`] for a bad config, [`RelayError::Write`] when a file cannot be
/// written.
pub fn write_stream(out: &Path, config: &SynthConfig, format: ChatFormat) -> Result<SynthSummary> {
    use std::fmt::Write as _;
    let mut gen = Generator::new(config)?;
    let write_err = |path: &Path| {
        let path = path.to_owned();
        move |source| RelayError::Write { path, source }
    };
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(write_err(dir))?;
    }
    let file = std::fs::File::create(out).map_err(write_err(out))?;
    let mut w = BufWriter::with_capacity(1 << 16, file);
    let messages = match format {
        ChatFormat::Tsv => write_tsv(&mut gen, &mut w),
        ChatFormat::Irc => write_irc(&mut gen, &mut w),
    }
    .map_err(write_err(out))?;
    w.flush().map_err(write_err(out))?;

    let last_ms = gen.last_ms();
    let moments: Vec<Moment> = gen
        .moments()
        .iter()
        .filter(|m| m.start_s * 1000 <= last_ms)
        .cloned()
        .collect();
    let labels = labels_path(out);
    let vod_id = out
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut csv = String::from("vod_id,offset_s\n");
    for m in &moments {
        let _ = writeln!(csv, "{vod_id},{}", m.start_s);
    }
    std::fs::write(&labels, csv).map_err(write_err(&labels))?;
    Ok(SynthSummary {
        path: out.to_owned(),
        labels_path: labels,
        format,
        messages,
        moments,
        last_s: last_ms as f64 / 1000.0,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::input::ChatReader;
    use clipper_models::Roles;
    use std::io::Cursor;

    fn small(seed: u64, minutes: f64) -> SynthConfig {
        SynthConfig {
            minutes,
            seed,
            ..SynthConfig::default()
        }
    }

    fn render(config: &SynthConfig, format: ChatFormat) -> Vec<u8> {
        let mut gen = Generator::new(config).unwrap();
        let mut out = Vec::new();
        match format {
            ChatFormat::Tsv => write_tsv(&mut gen, &mut out).unwrap(),
            ChatFormat::Irc => write_irc(&mut gen, &mut out).unwrap(),
        };
        out
    }

    #[test]
    fn same_seed_same_stream_other_seed_other_stream() {
        let a = render(&small(1, 5.0), ChatFormat::Tsv);
        assert_eq!(a, render(&small(1, 5.0), ChatFormat::Tsv));
        assert_ne!(a, render(&small(2, 5.0), ChatFormat::Tsv));
        let i = render(&small(1, 5.0), ChatFormat::Irc);
        assert_eq!(i, render(&small(1, 5.0), ChatFormat::Irc));
    }

    #[test]
    fn calm_rate_is_about_right_and_times_are_ordered() {
        let config = SynthConfig {
            minutes: 7.0,
            ..small(3, 7.0)
        };
        let gen = Generator::new(&config).unwrap();
        assert!(
            gen.moments().is_empty(),
            "no moment fits 7 minutes: {:?}",
            gen.moments()
        );
        let msgs: Vec<_> = gen.collect();
        let rate = msgs.len() as f64 / 420.0;
        assert!((2.2..3.8).contains(&rate), "{rate}");
        assert!(msgs.windows(2).all(|w| w[0].time_ms <= w[1].time_ms));
        assert!(msgs.iter().all(|m| (0..420_000).contains(&m.time_ms)));
        assert!(msgs
            .iter()
            .all(|m| !m.text.is_empty() && !m.text.contains(['\t', '\n', '\r'])));
        let users: HashSet<usize> = msgs.iter().map(|m| m.user).collect();
        assert!(users.len() > 100, "{}", users.len());
    }

    #[test]
    fn moments_are_planted_every_ten_to_fifteen_minutes_and_burst() {
        let gen = Generator::new(&small(7, 60.0)).unwrap();
        let moments = gen.moments().to_vec();
        assert!((4..=5).contains(&moments.len()), "{moments:?}");
        assert!((480..720).contains(&moments[0].start_s));
        for w in moments.windows(2) {
            let gap = w[1].start_s - w[0].start_s;
            assert!((599..=900).contains(&gap), "{gap}");
        }
        let kinds: HashSet<_> = moments.iter().map(|m| m.kind).collect();
        assert_eq!(kinds.len(), 4);
        let mut per_second = vec![0u32; 3600];
        for m in gen {
            per_second[(m.time_ms / 1000) as usize] += 1;
        }
        for m in &moments {
            let s = m.start_s as usize;
            let burst: u32 = per_second[s + 3..s + 8].iter().sum();
            let before: u32 = per_second[s - 60..s].iter().sum();
            let burst_rate = f64::from(burst) / 5.0;
            let calm_rate = f64::from(before) / 60.0;
            assert!(
                burst_rate > 2.5 * calm_rate,
                "{m:?}: {burst_rate} vs {calm_rate}"
            );
        }
    }

    #[test]
    fn max_messages_cuts_the_stream() {
        let config = SynthConfig {
            max_messages: Some(1000),
            ..small(1, 600.0)
        };
        assert_eq!(Generator::new(&config).unwrap().count(), 1000);
    }

    #[test]
    fn bad_configs_are_refused() {
        for c in [
            SynthConfig {
                minutes: 0.0,
                ..SynthConfig::default()
            },
            SynthConfig {
                minutes: f64::NAN,
                ..SynthConfig::default()
            },
            SynthConfig {
                rate: -1.0,
                ..SynthConfig::default()
            },
            SynthConfig {
                users: 3,
                ..SynthConfig::default()
            },
            SynthConfig {
                channel: "Bad Name".into(),
                ..SynthConfig::default()
            },
        ] {
            assert!(matches!(Generator::new(&c), Err(RelayError::Invalid(_))));
        }
    }

    #[test]
    fn emote_tag_uses_char_indices() {
        let mut spans = Vec::new();
        let mut out = String::new();
        emote_tag("ㅋㅋ Kappa 와 LUL Kappa", false, &mut spans, &mut out);
        assert_eq!(out, "25:3-7,15-19/425618:11-13");
        emote_tag("synthHype KEKW synthHype", true, &mut spans, &mut out);
        assert_eq!(out, "emotesv2_4f1c9a2be07d4c3e8a61d5b0c2f7e913:0-8,15-23");
        emote_tag("synthHype KEKW", false, &mut spans, &mut out);
        assert_eq!(out, "");
    }

    #[test]
    fn tsv_and_irc_read_back_as_the_same_chat() {
        let config = small(11, 12.0);
        let tsv = render(&config, ChatFormat::Tsv);
        let irc = render(&config, ChatFormat::Irc);
        let mut tr = ChatReader::new(Cursor::new(tsv), Path::new("s.tsv"), "chan").unwrap();
        let mut ir = ChatReader::new(Cursor::new(irc), Path::new("s.log"), "x").unwrap();
        assert_eq!(tr.format(), ChatFormat::Tsv);
        assert_eq!(ir.format(), ChatFormat::Irc);
        let t: Vec<_> = tr.by_ref().collect();
        let i: Vec<_> = ir.by_ref().collect();
        assert_eq!(tr.stats().malformed, 0);
        assert_eq!(ir.stats().malformed, 0);
        assert_eq!(t.len(), i.len());
        let mut tagged = 0;
        let mut roles = Roles::default();
        for (a, b) in t.iter().zip(&i) {
            assert_eq!(a.text, b.text);
            assert_eq!(a.login, b.login);
            assert_eq!(a.time_ms, (b.time_ms - IRC_EPOCH_MS) / 1000 * 1000);
            assert_eq!(b.channel, DEFAULT_CHANNEL);
            // Every tagged span names exactly an emote token.
            let names = b.tagged_emote_names();
            assert_eq!(names.len(), b.emotes.as_ref().map_or(0, Vec::len));
            for name in names {
                assert!(
                    TWITCH_EMOTES
                        .iter()
                        .chain(CHANNEL_EMOTES)
                        .any(|(n, _)| *n == name),
                    "{name:?} in {:?}",
                    b.text
                );
                tagged += 1;
            }
            roles.moderator |= b.roles.moderator;
            roles.subscriber |= b.roles.subscriber;
            roles.broadcaster |= b.roles.broadcaster;
        }
        assert!(tagged > 100, "{tagged}");
        assert!(roles.moderator && roles.subscriber, "{roles:?}");
        let s = ir.stats();
        assert!(s.ignored >= 12, "preamble and PINGs are ignored: {s:?}");
    }

    #[test]
    fn write_stream_writes_labels_next_to_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("sub/my-stream.tsv");
        let s = write_stream(&out, &small(7, 30.0), ChatFormat::Tsv).unwrap();
        assert_eq!(
            s.labels_path,
            dir.path().join("sub/my-stream.tsv.labels.csv")
        );
        let labels = std::fs::read_to_string(&s.labels_path).unwrap();
        let lines: Vec<_> = labels.lines().collect();
        assert_eq!(lines[0], "vod_id,offset_s");
        assert_eq!(lines.len(), 1 + s.moments.len());
        assert!(s.moments.len() >= 2);
        assert!(lines[1].starts_with("my-stream,"));
        let loaded = crate::eval::load_labels(&s.labels_path).unwrap();
        assert!(
            matches!(loaded, crate::eval::Labels::Points(p) if p["my-stream"].len() == s.moments.len())
        );
    }
}
