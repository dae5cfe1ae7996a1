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
//!
//! | part | module |
//! |---|---|
//! | settings, moments, chatters, messages | this module |
//! | the vocabulary (data files `words/*.txt`) | `words` |
//! | the seeded generator | [`Generator`] (`generator`) |
//! | TSV and IRC writers, labels | [`write_stream`] (`writers`) |

use crate::error::{RelayError, Result};

mod generator;
mod words;
mod writers;

pub use generator::Generator;
pub use writers::{labels_path, write_irc, write_stream, write_tsv, SynthSummary};

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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::words::{CHANNEL_EMOTES, TWITCH_EMOTES};
    use super::*;
    use crate::input::{ChatFormat, ChatReader};
    use clipper_models::Roles;
    use std::collections::HashSet;
    use std::io::Cursor;
    use std::path::Path;

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
                        .chain(CHANNEL_EMOTES.iter())
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
