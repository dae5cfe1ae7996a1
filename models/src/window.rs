//! Window aggregation: an event-time state machine in the style of vector's aggregate transform.
//!
//! [`WindowAggregator::record`] folds a message into the open hop bucket;
//! [`WindowAggregator::flush`] closes every bucket that ends at or before `until` and emits one
//! [`WindowFeatures`] per bucket, with multi-scale context (5 s, 20 s, 60 s). Time only ever comes
//! from messages and from `flush(until)`: the same code runs on a log's own clock in replay and on
//! the wall clock live.

use crate::emotes::{EmoteConfig, EmoteId, EmoteKind, EmoteVocab};
use crate::message::{ChatEvent, ChatMessage, Millis};
use crate::text::{self, Scratch};
use rustc_hash::{FxHashMap, FxHasher};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::hash::{Hash, Hasher};
use std::sync::LazyLock;
use vader_parity::SentimentIntensityAnalyzer;

static VADER: LazyLock<SentimentIntensityAnalyzer> = LazyLock::new(SentimentIntensityAnalyzer::new);

/// Settings of window aggregation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct WindowConfig {
    /// Hop (and base window) length in ms. Default 5,000.
    pub hop_ms: Millis,
    /// Stop emitting empty windows after this long without any message (a channel that went
    /// offline, a gap between streams); resume with the next message. Default 300,000 (5 min).
    pub max_idle_ms: Millis,
    /// VADER scores at most this many messages per window (the first ones); the mean of a
    /// sample is what the feature needs and VADER is the costliest step per message. Default 16.
    pub sentiment_sample: u32,
    pub emotes: EmoteConfig,
}

impl Default for WindowConfig {
    fn default() -> Self {
        WindowConfig {
            hop_ms: 5_000,
            max_idle_ms: 300_000,
            sentiment_sample: 16,
            emotes: EmoteConfig::default(),
        }
    }
}

/// The features of one window of one channel's chat. Everything the detector looks at is a
/// named field here; [`crate::model::FEATURE_NAMES`] says which go into the anomaly model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowFeatures {
    pub channel: String,
    /// Window start and end in event time (ms). `end_ms - start_ms` is the hop.
    pub start_ms: Millis,
    pub end_ms: Millis,
    /// Messages in the window.
    pub messages: u32,
    /// Messages per second over the last 5 s (this window), 20 s and 60 s.
    pub rate: f64,
    pub rate_20s: f64,
    pub rate_60s: f64,
    /// Distinct chatters in this window and over the last 60 s.
    pub chatters: u32,
    pub chatters_60s: u32,
    /// Emote occurrences, per message, and the share of messages with at least one.
    pub emotes: u32,
    pub emote_density: f64,
    pub emote_msg_share: f64,
    /// The most used emote, its share of all emote occurrences, and the share of the window's
    /// chatters who used it.
    pub top_emote: Option<String>,
    pub top_emote_share: f64,
    pub top_emote_chatters: f64,
    /// Shares of messages with laughter (any language or a laughing emote), hype or shock,
    /// `?` spam, `!!`, a run of four equal characters.
    pub laugh_share: f64,
    pub hype_share: f64,
    pub question_share: f64,
    pub exclaim_share: f64,
    pub elongated_share: f64,
    /// Upper-case letters among cased letters.
    pub caps_ratio: f64,
    /// Messages whose normalised text repeats another message of the window (copypasta).
    pub dup_share: f64,
    /// The most repeated message and its share of messages (when repeated at least twice).
    pub top_phrase: Option<String>,
    pub top_phrase_share: f64,
    /// Mean message length in chars.
    pub mean_len: f64,
    /// Mean VADER compound of the sampled messages (English lexicon; 0 for other scripts).
    pub sentiment: f64,
    /// Messages mentioning a clip.
    pub clip_mentions: u32,
    pub bits: u32,
    pub subs: u32,
    pub raid_viewers: u32,
    /// Viewer count when known (live, from Helix).
    pub viewers: Option<u32>,
    /// Distinct chatters over the last 20 s.
    #[serde(default)]
    pub chatters_20s: u32,
    /// The window's most used reaction tokens ([`text::reaction_tokens`]) by distinct
    /// chatters (at least two), most first, at most [`TOP_TOKENS`].
    #[serde(default)]
    pub top_tokens: Vec<TokenCount>,
}

/// A reaction token and how many distinct chatters used it in a window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenCount {
    pub token: String,
    pub chatters: u32,
}

/// Reaction tokens a window reports.
pub const TOP_TOKENS: usize = 5;

/// Per-window tally of one reaction token.
#[derive(Debug, Clone)]
struct TokenTally {
    chatters: u32,
    last_user: u64,
    text: Option<Box<str>>,
}

impl WindowFeatures {
    /// Centre of the window in seconds, the detection time used by replay and evaluation.
    pub fn end_secs(&self) -> f64 {
        self.end_ms as f64 / 1000.0
    }
}

/// Whether VADER could give `text` a non-zero score: its lexicon holds English words,
/// ASCII emoticons (`:)`, `<3`, `^^`) and emoji. Text with none of these (Hangul, Han, kana,
/// bare `?`/`!`) scores exactly 0, so the costly call is skipped.
fn vader_can_score(text: &str) -> bool {
    text.chars().any(|c| {
        c.is_ascii_alphabetic()
            || (c.is_ascii_punctuation() && !matches!(c, '?' | '!' | '.' | ','))
            || c >= '\u{2190}' && !matches!(c, '\u{3000}'..='\u{D7FF}' | '\u{F900}'..='\u{FFEF}')
    })
}

/// Running counts of the open bucket.
#[derive(Debug, Default, Clone)]
struct Bucket {
    msgs: u32,
    users: Vec<u64>,
    emote_hits: Vec<(EmoteId, u64)>,
    msgs_with_emote: u32,
    laugh: u32,
    hype: u32,
    question: u32,
    exclaim: u32,
    elongated: u32,
    clip: u32,
    upper: u64,
    cased: u64,
    chars: u64,
    phrases: FxHashMap<u64, (u32, Option<Box<str>>)>,
    tokens: FxHashMap<u64, TokenTally>,
    sentiment_sum: f64,
    sentiment_n: u32,
    bits: u32,
    subs: u32,
    raid_viewers: u32,
}

impl Bucket {
    fn clear(&mut self) {
        let mut users = std::mem::take(&mut self.users);
        let mut hits = std::mem::take(&mut self.emote_hits);
        let mut phrases = std::mem::take(&mut self.phrases);
        let mut tokens = std::mem::take(&mut self.tokens);
        users.clear();
        hits.clear();
        phrases.clear();
        tokens.clear();
        *self = Bucket {
            users,
            emote_hits: hits,
            phrases,
            tokens,
            ..Bucket::default()
        };
    }
}

/// What the context ring keeps of a closed bucket.
#[derive(Debug, Default, Clone)]
struct Past {
    msgs: u32,
    users: Vec<u64>,
}

/// Texts whose VADER score a channel keeps at most (then the cache starts afresh).
const SENTIMENT_CACHE: usize = 256;

/// VADER's compound score of a channel's recent texts. Chat repeats itself (emote spam,
/// copypastas, `LUL`), and VADER is the costliest step per message (about 16,000 instructions
/// a call): on the longest kimdoe stream 16 % of the calls repeat one of the last 256 texts.
/// Keyed by the whole text, so a hit is the same score.
#[derive(Debug, Default)]
struct SentimentCache {
    scores: FxHashMap<Box<str>, f64>,
}

impl SentimentCache {
    fn compound(&mut self, text: &str) -> f64 {
        if let Some(&v) = self.scores.get(text) {
            return v;
        }
        let v = VADER.polarity_scores(text).compound;
        if self.scores.len() >= SENTIMENT_CACHE {
            self.scores.clear();
        }
        self.scores.insert(text.into(), v);
        v
    }
}

/// Event-time window aggregator of one channel.
#[derive(Debug)]
pub struct WindowAggregator {
    channel: String,
    config: WindowConfig,
    vocab: EmoteVocab,
    /// Start of the open bucket; `None` before the first message.
    open_start: Option<Millis>,
    last_msg_ms: Millis,
    bucket: Bucket,
    past: VecDeque<Past>,
    viewers: Option<u32>,
    scratch: Scratch,
    token_buf: (String, String),
    sentiment: SentimentCache,
    /// Distinct chatters of the 20 s and 60 s context: per user, in how many of the context's
    /// buckets it chatted (kept as buckets enter and leave, instead of sorting the union of
    /// the buckets' users every window).
    ctx: ChatterContext,
    late: u64,
}

/// Per-user bucket counts over the last `k20` and `k60` buckets of `past`.
#[derive(Debug, Default)]
struct ChatterContext {
    k: (usize, usize),
    in20: FxHashMap<u64, u32>,
    in60: FxHashMap<u64, u32>,
}

impl ChatterContext {
    fn add(map: &mut FxHashMap<u64, u32>, users: &[u64]) {
        for u in users {
            *map.entry(*u).or_insert(0) += 1;
        }
    }

    fn remove(map: &mut FxHashMap<u64, u32>, users: &[u64]) {
        for u in users {
            if let std::collections::hash_map::Entry::Occupied(mut e) = map.entry(*u) {
                *e.get_mut() -= 1;
                if *e.get() == 0 {
                    e.remove();
                }
            }
        }
    }

    fn clear(&mut self) {
        self.in20.clear();
        self.in60.clear();
    }

    /// `past` just got its newest bucket (and is not yet trimmed): count it in, count out the
    /// buckets that left each span. `k` are the spans in buckets (capped by what `past` keeps).
    fn pushed(&mut self, past: &VecDeque<Past>, k: (usize, usize)) {
        if k != self.k {
            // Another span (another hop length): count the context afresh.
            self.k = k;
            self.clear();
            for p in past.iter().rev().take(k.0) {
                Self::add(&mut self.in20, &p.users);
            }
            for p in past.iter().rev().take(k.1) {
                Self::add(&mut self.in60, &p.users);
            }
            return;
        }
        let len = past.len();
        if let Some(p) = past.back() {
            Self::add(&mut self.in20, &p.users);
            Self::add(&mut self.in60, &p.users);
        }
        if len > k.0 {
            if let Some(p) = past.get(len - 1 - k.0) {
                Self::remove(&mut self.in20, &p.users);
            }
        }
        if len > k.1 {
            if let Some(p) = past.get(len - 1 - k.1) {
                Self::remove(&mut self.in60, &p.users);
            }
        }
    }
}

const CONTEXT_BUCKETS: usize = 12;

fn hash_str(s: &str) -> u64 {
    let mut h = FxHasher::default();
    s.hash(&mut h);
    h.finish()
}

impl WindowAggregator {
    pub fn new(channel: &str, config: WindowConfig) -> Self {
        let vocab = EmoteVocab::new(config.emotes.clone());
        Self::with_vocab(channel, config, vocab)
    }

    /// An aggregator that starts from a known vocabulary (provider lists, learned emotes).
    pub fn with_vocab(channel: &str, config: WindowConfig, vocab: EmoteVocab) -> Self {
        WindowAggregator {
            channel: channel.to_owned(),
            config,
            vocab,
            open_start: None,
            last_msg_ms: 0,
            bucket: Bucket::default(),
            past: VecDeque::with_capacity(CONTEXT_BUCKETS + 1),
            viewers: None,
            scratch: Scratch::default(),
            token_buf: Default::default(),
            sentiment: SentimentCache::default(),
            ctx: ChatterContext::default(),
            late: 0,
        }
    }

    pub fn channel(&self) -> &str {
        &self.channel
    }

    pub fn vocab(&self) -> &EmoteVocab {
        &self.vocab
    }

    pub fn vocab_mut(&mut self) -> &mut EmoteVocab {
        &mut self.vocab
    }

    /// Give the aggregator's vocabulary away (to persist learned emotes).
    pub fn into_vocab(self) -> EmoteVocab {
        self.vocab
    }

    /// Viewer count stamped on the windows that close from now on.
    pub fn set_viewers(&mut self, viewers: Option<u32>) {
        self.viewers = viewers;
    }

    /// Messages that arrived for a bucket that had already closed; they are counted in the open
    /// bucket instead of being dropped.
    pub fn late_messages(&self) -> u64 {
        self.late
    }

    fn align(&self, t: Millis) -> Millis {
        t.div_euclid(self.config.hop_ms) * self.config.hop_ms
    }

    /// Fold one message into the open bucket. Call [`flush`](Self::flush) with the message time
    /// first when messages arrive in time order, so that finished buckets close before it.
    pub fn record(&mut self, msg: &ChatMessage) {
        let start = match self.open_start {
            None => {
                let s = self.align(msg.time_ms);
                self.open_start = Some(s);
                self.last_msg_ms = msg.time_ms;
                s
            }
            Some(s) => s,
        };
        if msg.time_ms < start {
            self.late += 1;
        } else if msg.time_ms >= start.saturating_add(self.config.hop_ms) {
            // A message beyond the open bucket while nobody flushed: the caller skipped
            // `flush`; open the message's bucket directly (closing happens on the next flush).
            if self.bucket.msgs == 0
                && msg.time_ms.saturating_sub(self.last_msg_ms) > self.config.max_idle_ms
            {
                self.open_start = Some(self.align(msg.time_ms));
            }
        }
        self.last_msg_ms = self.last_msg_ms.max(msg.time_ms);

        let user = hash_str(msg.user_key());
        let b = &mut self.bucket;
        match &msg.event {
            Some(ChatEvent::Bits { bits }) => b.bits = b.bits.saturating_add(*bits),
            Some(ChatEvent::Sub { .. }) => b.subs += 1,
            Some(ChatEvent::Raid { viewers }) => {
                b.raid_viewers = b.raid_viewers.saturating_add(*viewers)
            }
            None => {}
        }
        if msg.text.is_empty() {
            return;
        }
        b.msgs += 1;
        b.users.push(user);
        let t = text::analyse(&msg.text, &mut self.scratch);
        b.chars += u64::from(t.chars);
        b.upper += u64::from(t.upper);
        b.cased += u64::from(t.cased);
        b.question += u32::from(t.question);
        b.exclaim += u32::from(t.exclaim);
        b.elongated += u32::from(t.elongated);
        b.clip += u32::from(t.clip);
        if t.fingerprint != 0 {
            let entry = b.phrases.entry(t.fingerprint).or_insert((0, None));
            entry.0 += 1;
            if entry.0 == 2 && t.chars <= 80 {
                entry.1 = Some(msg.text.trim().into());
            }
        }
        if b.sentiment_n < self.config.sentiment_sample {
            if vader_can_score(&msg.text) {
                b.sentiment_sum += self.sentiment.compound(&msg.text);
            }
            b.sentiment_n += 1;
        }

        // Emotes: tag spans teach the vocabulary; every token is then looked up once.
        if msg.emotes.is_some() {
            for name in msg.tagged_emote_names() {
                self.vocab.tagged(name);
            }
        }
        let mut laugh = t.laugh;
        let mut hype = t.hype;
        let mut any = false;
        for token in self.scratch.words(&msg.text) {
            let id = match self.vocab.lookup(token) {
                Some(id) => Some(id),
                None => self.vocab.learn(token, user),
            };
            if let Some(id) = id {
                any = true;
                b.emote_hits.push((id, user));
                match self.vocab.kind(id) {
                    EmoteKind::Laugh => laugh = true,
                    EmoteKind::Hype | EmoteKind::Shock => hype = true,
                    EmoteKind::Other => {}
                }
            }
        }
        let tokens = &mut b.tokens;
        let words = self.scratch.words(&msg.text);
        text::reaction_tokens(words, &mut self.token_buf, |tok| {
            let e = tokens.entry(hash_str(tok)).or_insert(TokenTally {
                chatters: 0,
                last_user: !user,
                text: None,
            });
            if e.last_user != user {
                e.last_user = user;
                e.chatters += 1;
                if e.chatters == 2 {
                    e.text = Some(tok.into());
                }
            }
        });
        b.msgs_with_emote += u32::from(any);
        b.laugh += u32::from(laugh);
        b.hype += u32::from(hype);
    }

    /// Close every bucket that ends at or before `until`, appending one window per bucket to
    /// `out`. Empty windows are emitted while the channel is active; after `max_idle_ms` without
    /// a message, nothing is emitted until the next message.
    pub fn flush(&mut self, until: Millis, out: &mut Vec<WindowFeatures>) {
        let hop = self.config.hop_ms;
        while let Some(start) = self.open_start {
            let end = start.saturating_add(hop);
            if end > until || end == start {
                break;
            }
            let idle = self.bucket.msgs == 0
                && end.saturating_sub(self.last_msg_ms) > self.config.max_idle_ms;
            if idle {
                // Skip the silent stretch: reopen at the bucket of `until` (or leave it closed).
                self.past.clear();
                self.ctx.clear();
                self.bucket.clear();
                self.open_start = None;
                break;
            }
            out.push(self.close(start, end));
            self.open_start = Some(end);
        }
    }

    fn close(&mut self, start: Millis, end: Millis) -> WindowFeatures {
        let hop_s = (end - start) as f64 / 1000.0;
        let b = &mut self.bucket;
        let n = b.msgs;
        let nf = f64::from(n.max(1));
        b.users.sort_unstable();
        b.users.dedup();
        let chatters = b.users.len() as u32;

        // Top emote by occurrences, and how many distinct chatters used it.
        let mut top: Option<(EmoteId, u32)> = None;
        let emotes = b.emote_hits.len() as u32;
        let mut top_chatters = 0u32;
        if !b.emote_hits.is_empty() {
            b.emote_hits.sort_unstable();
            let mut i = 0;
            while i < b.emote_hits.len() {
                let id = b.emote_hits[i].0;
                let mut j = i;
                let mut distinct = 0u32;
                let mut last_user = None;
                while j < b.emote_hits.len() && b.emote_hits[j].0 == id {
                    if last_user != Some(b.emote_hits[j].1) {
                        distinct += 1;
                        last_user = Some(b.emote_hits[j].1);
                    }
                    j += 1;
                }
                let count = (j - i) as u32;
                if top.is_none_or(|(_, c)| count > c) {
                    top = Some((id, count));
                    top_chatters = distinct;
                }
                i = j;
            }
        }
        let (top_emote, top_emote_share) = match top {
            Some((id, c)) => (
                self.vocab.name(id).map(str::to_owned),
                f64::from(c) / f64::from(emotes.max(1)),
            ),
            None => (None, 0.0),
        };

        let mut dups = 0u32;
        let mut top_phrase: Option<(u32, &Option<Box<str>>)> = None;
        for (count, text) in b.phrases.values() {
            if *count >= 2 {
                dups += count;
                if top_phrase.is_none_or(|(c, _)| *count > c) {
                    top_phrase = Some((*count, text));
                }
            }
        }
        let (top_phrase, top_phrase_share) = match top_phrase {
            Some((c, text)) => (text.as_deref().map(str::to_owned), f64::from(c) / nf),
            None => (None, 0.0),
        };

        // Context over the last 20 s and 60 s, this bucket included.
        let mut users_now = std::mem::take(&mut b.users);
        self.past.push_back(Past {
            msgs: n,
            users: std::mem::take(&mut users_now),
        });
        let k20 = (20_000 / (end - start).max(1)).max(1) as usize;
        let k60 = (60_000 / (end - start).max(1)).max(1) as usize;
        self.ctx.pushed(
            &self.past,
            (k20.min(CONTEXT_BUCKETS), k60.min(CONTEXT_BUCKETS)),
        );
        while self.past.len() > CONTEXT_BUCKETS {
            if let Some(old) = self.past.pop_front() {
                users_now = old.users;
                users_now.clear();
            }
        }
        let take = |k: usize| self.past.iter().rev().take(k).map(|p| p.msgs).sum::<u32>();
        let msgs_20 = take(k20);
        let msgs_60 = take(k60);
        let span20 = hop_s * k20.min(self.past.len()) as f64;
        let span60 = hop_s * k60.min(self.past.len()) as f64;
        let chatters_20s = self.ctx.in20.len() as u32;
        let chatters_60s = self.ctx.in60.len() as u32;

        let mut top_tokens: Vec<TokenCount> = Vec::new();
        for t in self.bucket.tokens.values() {
            let Some(text) = &t.text else { continue };
            if top_tokens.len() == TOP_TOKENS
                && top_tokens.last().is_some_and(|l| l.chatters >= t.chatters)
            {
                continue;
            }
            let at = top_tokens
                .iter()
                .position(|x| {
                    x.chatters < t.chatters || (x.chatters == t.chatters && *x.token > **text)
                })
                .unwrap_or(top_tokens.len());
            top_tokens.insert(
                at,
                TokenCount {
                    token: text.to_string(),
                    chatters: t.chatters,
                },
            );
            top_tokens.truncate(TOP_TOKENS);
        }

        let b = &self.bucket;
        let w = WindowFeatures {
            channel: self.channel.clone(),
            start_ms: start,
            end_ms: end,
            messages: n,
            rate: f64::from(n) / hop_s,
            rate_20s: f64::from(msgs_20) / span20.max(hop_s),
            rate_60s: f64::from(msgs_60) / span60.max(hop_s),
            chatters,
            chatters_60s,
            emotes,
            emote_density: f64::from(emotes) / nf,
            emote_msg_share: f64::from(b.msgs_with_emote) / nf,
            top_emote,
            top_emote_share,
            top_emote_chatters: f64::from(top_chatters) / f64::from(chatters.max(1)),
            laugh_share: f64::from(b.laugh) / nf,
            hype_share: f64::from(b.hype) / nf,
            question_share: f64::from(b.question) / nf,
            exclaim_share: f64::from(b.exclaim) / nf,
            elongated_share: f64::from(b.elongated) / nf,
            caps_ratio: if b.cased == 0 {
                0.0
            } else {
                b.upper as f64 / b.cased as f64
            },
            dup_share: f64::from(dups) / nf,
            top_phrase,
            top_phrase_share,
            mean_len: b.chars as f64 / nf,
            sentiment: if b.sentiment_n == 0 {
                0.0
            } else {
                b.sentiment_sum / f64::from(b.sentiment_n)
            },
            clip_mentions: b.clip,
            bits: b.bits,
            subs: b.subs,
            raid_viewers: b.raid_viewers,
            viewers: self.viewers,
            chatters_20s,
            top_tokens,
        };
        self.bucket.clear();
        self.bucket.users = users_now;
        w
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(t: Millis, user: &str, text: &str) -> ChatMessage {
        ChatMessage::plain("chan", user, text, t)
    }

    fn run(msgs: &[ChatMessage], until: Millis) -> Vec<WindowFeatures> {
        crate::fixture::windows_until(msgs, until)
    }

    proptest::proptest! {
        /// Distinct chatters of the 20 s and 60 s context, kept as buckets come and go, equal
        /// a count by time over the messages themselves (silences longer than the idle limit
        /// included, which reset the context).
        #[test]
        fn context_chatters_equal_a_count_by_time(
            steps in proptest::collection::vec((0u8..30, 0i64..4_000, proptest::bool::weighted(0.02)), 1..400)
        ) {
            let mut t: Millis = 0;
            let mut msgs = Vec::new();
            for (user, dt, gap) in steps {
                t += dt + if gap { 400_000 } else { 0 };
                msgs.push(msg(t, &format!("u{user}"), "hi"));
            }
            let w = run(&msgs, t + 70_000);
            for f in &w {
                for (span, got) in [(20_000, f.chatters_20s), (60_000, f.chatters_60s)] {
                    let want: std::collections::HashSet<&str> = msgs
                        .iter()
                        .filter(|m| m.time_ms >= f.end_ms - span && m.time_ms < f.end_ms)
                        .map(|m| m.login.as_str())
                        .collect();
                    proptest::prop_assert_eq!(got as usize, want.len(), "window ending {}", f.end_ms);
                }
            }
        }
    }

    #[test]
    fn windows_are_aligned_and_counted() {
        let msgs = vec![
            msg(1_000, "a", "hello"),
            msg(2_000, "b", "KEKW KEKW"),
            msg(4_999, "a", "KEKW"),
            msg(5_000, "c", "ㅋㅋㅋㅋ"),
            msg(12_000, "d", "???"),
        ];
        let w = run(&msgs, 15_000);
        assert_eq!(w.len(), 3);
        assert_eq!((w[0].start_ms, w[0].end_ms), (0, 5_000));
        assert_eq!(w[0].messages, 3);
        assert_eq!(w[0].chatters, 2);
        assert_eq!(w[0].emotes, 3);
        assert_eq!(w[0].top_emote.as_deref(), Some("KEKW"));
        assert!((w[0].top_emote_chatters - 1.0).abs() < 1e-9);
        assert!((w[0].laugh_share - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(w[1].messages, 1);
        assert!((w[1].laugh_share - 1.0).abs() < 1e-9);
        assert_eq!(w[2].messages, 1);
        assert!((w[2].question_share - 1.0).abs() < 1e-9);
        assert!(
            (w[1].rate_20s - 4.0 / 10.0).abs() < 1e-9,
            "{}",
            w[1].rate_20s
        );
        assert_eq!(w[2].chatters_60s, 4);
    }

    #[test]
    fn copypasta_and_top_phrase() {
        let msgs: Vec<_> = (0..6)
            .map(|i| {
                msg(
                    i * 100,
                    &format!("u{i}"),
                    &if i < 4 {
                        "무바라!".to_owned()
                    } else {
                        format!("other {i}")
                    },
                )
            })
            .collect();
        let w = run(&msgs, 5_000);
        assert_eq!(w[0].top_phrase.as_deref(), Some("무바라!"));
        assert!((w[0].dup_share - 4.0 / 6.0).abs() < 1e-9);
        assert!((w[0].top_phrase_share - 4.0 / 6.0).abs() < 1e-9);
    }

    #[test]
    fn idle_gap_stops_windows_and_late_messages_count() {
        let msgs = vec![msg(0, "a", "x"), msg(3_600_000, "b", "y")];
        let w = run(&msgs, 3_605_000);
        // 5 min of empty windows after the first message, then silence, then one more window.
        assert!(w.len() <= 62 + 1, "{}", w.len());
        assert_eq!(w.last().map(|w| w.messages), Some(1));
        assert_eq!(w.iter().map(|w| w.messages).sum::<u32>(), 2);

        let mut agg = WindowAggregator::new("chan", WindowConfig::default());
        let mut out = Vec::new();
        agg.record(&msg(10_000, "a", "x"));
        agg.flush(15_000, &mut out);
        agg.record(&msg(9_000, "a", "late"));
        agg.flush(20_000, &mut out);
        assert_eq!(agg.late_messages(), 1);
        assert_eq!(
            out.iter().map(|w| w.messages).sum::<u32>(),
            2,
            "late message kept"
        );
    }

    #[test]
    fn learns_emotes_from_untagged_logs() {
        let msgs: Vec<_> = (0..8)
            .map(|i| msg(i * 200, &format!("u{i}"), "kimdoeOOPS kimdoeOOPS"))
            .collect();
        let w = run(&msgs, 5_000);
        assert!(w[0].emotes >= 6, "{}", w[0].emotes);
        assert_eq!(w[0].top_emote.as_deref(), Some("kimdoeOOPS"));
    }

    #[test]
    fn vader_skip_is_exact() {
        for t in [
            "ㅋㅋㅋㅋ",
            "哈哈哈 ?",
            "わろた！",
            "???",
            "무바라!",
            "ㄷㄷ...",
        ] {
            assert!(!vader_can_score(t), "{t}");
            assert_eq!(VADER.polarity_scores(t).compound, 0.0, "{t}");
        }
        for t in ["good", ":)", "<3", "😂", "^^"] {
            assert!(vader_can_score(t), "{t}");
        }
    }
}
