//! The seeded generator: chatters, planted moments, and the messages of each second.

use super::words::{
    ADJECTIVES, AFTERMATH, CALM_EMOTES, CALM_LAUGH, CLIP_LINES, COLORS, COMMANDS, COPYPASTAS,
    ENGLISH, HANGUL_SYLLABLES, HYPE, KOREAN, LAUGH_LINES, NOUNS, QUESTIONS, ROMAN_SYLLABLES,
    SPAM_EMOTES, TWITCH_EMOTES,
};
use super::{Lang, Moment, MomentKind, Role, SynthConfig, SynthMessage, User, ROOM_ID};
use crate::error::Result;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::HashSet;

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
                s.push_str(word(rng, &ROMAN_SYLLABLES));
            }
            if rng.random_bool(0.6) {
                s.push_str(&rng.random_range(0..10_000u32).to_string());
            }
            s
        } else {
            let mut s = format!("{}_{}", word(rng, &ADJECTIVES), word(rng, &NOUNS));
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
                .map(|_| word(rng, &HANGUL_SYLLABLES))
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
            color: rng.random_bool(0.8).then(|| word(rng, &COLORS)),
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
                        word(&mut self.rng, &AFTERMATH).to_owned()
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
                word(rng, &KOREAN)
            } else {
                word(rng, &ENGLISH)
            }
        };
        let roll = rng.random_range(0..100);
        match roll {
            0..=56 => phrase(rng).to_owned(),
            57..=66 => format!("{} {}", phrase(rng), word(rng, &CALM_EMOTES)),
            67..=79 => {
                let e = word(rng, &CALM_EMOTES);
                match rng.random_range(0..4) {
                    0 => format!("{e} {e}"),
                    1 => format!("{} {e}", pick(rng, &TWITCH_EMOTES).0),
                    _ => e.to_owned(),
                }
            }
            80..=87 => {
                let l = word(rng, &CALM_LAUGH);
                if lang == Lang::Korean && rng.random_bool(0.6) {
                    "ㅋ".repeat(rng.random_range(2..=5))
                } else {
                    l.to_owned()
                }
            }
            88..=93 => word(rng, &QUESTIONS).to_owned(),
            94..=95 => word(rng, &COMMANDS).to_owned(),
            _ => {
                // A sentence of two phrases, sometimes across languages.
                let a = phrase(rng);
                let b = if rng.random_bool(0.3) {
                    word(rng, &KOREAN)
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
                    word(rng, &LAUGH_LINES).to_owned()
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
                    s.push_str(word(rng, &HYPE));
                }
                s
            }
            Some(MomentKind::Copypasta) => match rng.random_range(0..10) {
                0 => format!("{pasta} {emote}"),
                1 => format!("{pasta} KEKW"),
                _ => pasta.to_owned(),
            },
            Some(MomentKind::ClipIt) => word(rng, &CLIP_LINES).to_owned(),
            None => (word(rng, &HYPE)).to_owned(),
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
