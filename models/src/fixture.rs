//! The shared test fixture: 30 minutes of calm chat with one burst of laughter at 20 minutes.
//! Unit tests here and the functions' tests use this one script (feature `testkit` outside
//! this crate).

use crate::message::{ChatMessage, Millis};
use crate::window::{WindowAggregator, WindowConfig, WindowFeatures};

/// Where the burst of [`calm_and_burst`] starts and ends (ms).
pub const BURST_MS: (Millis, Millis) = (1_200_000, 1_215_000);

/// 30 min of calm chat on channel `c` (2 msgs/s from 37 chatters) with a 15 s burst of
/// laughter from many chatters at 20 min.
pub fn calm_and_burst() -> Vec<ChatMessage> {
    calm_and_burst_on("c")
}

/// [`calm_and_burst`] on another channel.
pub fn calm_and_burst_on(channel: &str) -> Vec<ChatMessage> {
    chat(channel, 0, 30, Some(BURST_MS.0))
}

/// `minutes` of calm chat on `channel` from `t0` (2 msgs/s from 37 chatters), with a 15 s burst
/// of laughter from many chatters at `burst_at_ms` after `t0` when given.
pub fn chat(
    channel: &str,
    t0: Millis,
    minutes: i64,
    burst_at_ms: Option<Millis>,
) -> Vec<ChatMessage> {
    let calm = [
        "hi",
        "what is this",
        "nice",
        "ok",
        "he is good",
        "lol",
        "gg",
        "hmm",
    ];
    let mut v = Vec::new();
    for i in 0..(minutes * 60 * 2) {
        let t = i * 500;
        v.push(ChatMessage::plain(
            channel,
            &format!("u{}", i % 37),
            calm[(i % 8) as usize],
            t0 + t,
        ));
        if let Some(b) = burst_at_ms {
            if (b..b + 15_000).contains(&t) {
                for k in 0..8 {
                    v.push(ChatMessage::plain(
                        channel,
                        &format!("f{k}_{i}"),
                        "KEKW KEKW ㅋㅋㅋㅋ",
                        t0 + t + k * 50,
                    ));
                }
            }
        }
    }
    v
}

/// The windows of `msgs` (one channel, in time order) that close by `until`.
pub fn windows_until(msgs: &[ChatMessage], until: Millis) -> Vec<WindowFeatures> {
    let channel = msgs.first().map_or("c", |m| m.channel.as_str());
    let mut agg = WindowAggregator::new(channel, WindowConfig::default());
    let mut out = Vec::new();
    for m in msgs {
        agg.flush(m.time_ms, &mut out);
        agg.record(m);
    }
    agg.flush(until, &mut out);
    out
}

/// The closed windows of `msgs` (one channel, in time order), as a relay would send them.
pub fn windows_of(msgs: &[ChatMessage]) -> Vec<WindowFeatures> {
    windows_until(msgs, Millis::MAX / 2)
}
