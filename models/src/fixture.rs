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
    for i in 0..(30 * 60 * 2) {
        let t = i * 500;
        v.push(ChatMessage::plain(
            channel,
            &format!("u{}", i % 37),
            calm[(i % 8) as usize],
            t,
        ));
        if (BURST_MS.0..BURST_MS.1).contains(&t) {
            for k in 0..8 {
                v.push(ChatMessage::plain(
                    channel,
                    &format!("f{k}_{i}"),
                    "KEKW KEKW ㅋㅋㅋㅋ",
                    t + k * 50,
                ));
            }
        }
    }
    v
}

/// The closed windows of `msgs` (one channel, in time order), as a relay would send them.
pub fn windows_of(msgs: &[ChatMessage]) -> Vec<WindowFeatures> {
    let channel = msgs.first().map_or("c", |m| m.channel.as_str());
    let mut agg = WindowAggregator::new(channel, WindowConfig::default());
    let mut out = Vec::new();
    for m in msgs {
        agg.flush(m.time_ms, &mut out);
        agg.record(m);
    }
    agg.flush(Millis::MAX / 2, &mut out);
    out
}
