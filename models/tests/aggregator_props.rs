//! Property tests of the window aggregator (`WindowAggregator::record` / `flush`), driven the way
//! the pipeline drives it: `flush(msg.time_ms)` then `record(msg)` for every message, then a final
//! flush far in the future.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use clipper_models::{ChatMessage, Millis, WindowAggregator, WindowConfig, WindowFeatures};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

/// The default hop and idle limit (the properties below are stated against them).
const HOP_MS: Millis = 5_000;
const MAX_IDLE_MS: Millis = 300_000;

/// One generated message: time since the previous one (negative: a late message), sender, text.
#[derive(Debug, Clone)]
struct Step {
    delta_ms: Millis,
    user: u8,
    text: String,
}

const TOKENS: &[&str] = &[
    "",
    " ",
    "hi",
    "KEKW",
    "KEKW KEKW",
    "ㅋㅋㅋㅋ",
    "ㅋ",
    "???",
    "?",
    "Kappa",
    "LUL",
    "clip it",
    "Clip it!",
    "!testclip",
    "PogChamp PogChamp",
    "무바라!",
    "lol",
    "WHAT!!",
    "LETS GOOOO",
    "kimdoeOOPS",
    "哈哈哈",
    "😂😂",
    "good game :)",
    "a\tb",
];

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => select(TOKENS).prop_map(str::to_owned),
        3 => vec(select(TOKENS), 0..6).prop_map(|v| v.join(" ")),
        1 => any::<String>(),
        1 => "[a-zA-Z ?!ㅋㄷ.]{0,24}",
    ]
}

/// Gaps of at most `MAX_IDLE_MS` (the stream never goes idle), some negative (late messages).
fn delta() -> impl Strategy<Value = Millis> {
    prop_oneof![
        8 => 0..2_000i64,
        3 => 2_000..30_000i64,
        1 => 30_000..=MAX_IDLE_MS,
        2 => -20_000..0i64,
    ]
}

fn steps(max: usize) -> impl Strategy<Value = Vec<Step>> {
    vec(
        (delta(), 0u8..12, text()).prop_map(|(delta_ms, user, text)| Step {
            delta_ms,
            user,
            text,
        }),
        0..max,
    )
}

fn messages(t0: Millis, steps: &[Step]) -> Vec<ChatMessage> {
    let mut t = t0;
    steps
        .iter()
        .map(|s| {
            t += s.delta_ms;
            ChatMessage::plain("chan", &format!("u{}", s.user), &s.text, t)
        })
        .collect()
}

fn aggregator() -> WindowAggregator {
    let config = WindowConfig::default();
    assert_eq!(config.hop_ms, HOP_MS);
    assert_eq!(config.max_idle_ms, MAX_IDLE_MS);
    WindowAggregator::new("chan", config)
}

fn latest(msgs: &[ChatMessage]) -> Millis {
    msgs.iter().map(|m| m.time_ms).max().unwrap_or(0)
}

/// Far enough after the last message that everything is closed.
const FAR_MS: Millis = 24 * 3_600_000;

/// The pipeline's way: flush to each message's time, record it; one final flush far ahead.
fn run_simple(msgs: &[ChatMessage]) -> Vec<WindowFeatures> {
    let mut agg = aggregator();
    let mut out = Vec::new();
    for m in msgs {
        agg.flush(m.time_ms, &mut out);
        agg.record(m);
    }
    agg.flush(latest(msgs) + FAR_MS, &mut out);
    out
}

/// The same stream with many extra flushes: before each message, flushes at points between the
/// previous flush time and the message time (step sizes cycling through `step_ms`); at the end,
/// small steps through the idle limit, then the same final flush.
fn run_chopped(msgs: &[ChatMessage], step_ms: &[Millis]) -> Vec<WindowFeatures> {
    let mut agg = aggregator();
    let mut out = Vec::new();
    let mut steps = step_ms.iter().cycle();
    let mut flushed: Option<Millis> = None;
    let mut chop = |agg: &mut WindowAggregator, out: &mut Vec<_>, from: Millis, to: Millis| {
        let mut u = from;
        while u < to {
            agg.flush(u, out);
            u += *steps.next().unwrap();
        }
        agg.flush(to, out);
    };
    for m in msgs {
        match flushed {
            Some(f) if f < m.time_ms => chop(&mut agg, &mut out, f, m.time_ms),
            _ => agg.flush(m.time_ms, &mut out),
        }
        flushed = Some(flushed.map_or(m.time_ms, |f| f.max(m.time_ms)));
        agg.record(m);
    }
    let last = latest(msgs);
    chop(&mut agg, &mut out, last, last + MAX_IDLE_MS + 4 * HOP_MS);
    agg.flush(last + FAR_MS, &mut out);
    out
}

fn unit(name: &str, x: f64, w: &WindowFeatures) -> Result<(), TestCaseError> {
    prop_assert!(
        (0.0..=1.0).contains(&x),
        "{name} = {x} outside [0, 1] in {w:?}"
    );
    Ok(())
}

fn check_window(w: &WindowFeatures) -> Result<(), TestCaseError> {
    prop_assert_eq!(w.end_ms - w.start_ms, HOP_MS);
    prop_assert_eq!(
        w.start_ms.rem_euclid(HOP_MS),
        0,
        "not aligned: {}",
        w.start_ms
    );
    for (name, x) in [
        ("emote_msg_share", w.emote_msg_share),
        ("top_emote_share", w.top_emote_share),
        ("top_emote_chatters", w.top_emote_chatters),
        ("laugh_share", w.laugh_share),
        ("hype_share", w.hype_share),
        ("question_share", w.question_share),
        ("exclaim_share", w.exclaim_share),
        ("elongated_share", w.elongated_share),
        ("caps_ratio", w.caps_ratio),
        ("dup_share", w.dup_share),
        ("top_phrase_share", w.top_phrase_share),
    ] {
        unit(name, x, w)?;
    }
    prop_assert!(
        (-1.0..=1.0).contains(&w.sentiment),
        "sentiment {}",
        w.sentiment
    );
    prop_assert!(w.chatters <= w.messages, "{w:?}");
    prop_assert!(w.rate >= 0.0 && w.rate_20s >= 0.0 && w.rate_60s >= 0.0);
    prop_assert!(w.mean_len >= 0.0);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Without idle gaps: every message with text is counted exactly once (late ones included),
    /// windows are contiguous, hop-aligned and increasing, and shares are in [0, 1].
    #[test]
    fn every_message_counted_once_in_contiguous_aligned_windows(
        t0 in -10_000_000_000i64..10_000_000_000_000,
        steps in steps(120),
    ) {
        let msgs = messages(t0, &steps);
        let windows = run_simple(&msgs);
        let with_text = msgs.iter().filter(|m| !m.text.is_empty()).count();
        let counted: u64 = windows.iter().map(|w| u64::from(w.messages)).sum();
        prop_assert_eq!(counted, with_text as u64);
        if with_text > 0 {
            prop_assert!(!windows.is_empty());
        }
        for w in &windows {
            check_window(w)?;
        }
        for pair in windows.windows(2) {
            prop_assert_eq!(
                pair[1].start_ms, pair[0].end_ms,
                "gap or overlap between windows"
            );
        }
        if let (Some(first), Some(last)) = (windows.first(), windows.last()) {
            // Windows cover the stream from the first message's bucket to the idle cut-off.
            let t_first = msgs[0].time_ms;
            prop_assert_eq!(first.start_ms, t_first.div_euclid(HOP_MS) * HOP_MS);
            prop_assert!(last.end_ms > latest(&msgs));
            // Then windows stop within the idle limit. Only for streams that reach time 0:
            // `WindowAggregator` starts `last_msg_ms` at 0, so an all-negative stream (TSV
            // offsets may be negative) keeps emitting empty windows up to time 0 + the limit.
            if latest(&msgs) >= 0 {
                prop_assert!(last.end_ms <= latest(&msgs) + MAX_IDLE_MS + 2 * HOP_MS);
            }
        }
    }

    /// Flushing in one call or in many small ones gives the same windows.
    #[test]
    fn one_flush_equals_many_small_flushes(
        t0 in -10_000_000_000i64..10_000_000_000_000,
        steps in steps(80),
        step_ms in vec(prop_oneof![1..1_000i64, 1_000..20_000i64], 1..8),
    ) {
        let msgs = messages(t0, &steps);
        let a = run_simple(&msgs);
        let b = run_chopped(&msgs, &step_ms);
        prop_assert_eq!(a.len(), b.len());
        // Debug text compares floats bit for bit and treats NaN as equal to itself.
        for (x, y) in a.iter().zip(&b) {
            prop_assert_eq!(format!("{x:?}"), format!("{y:?}"));
        }
    }

    /// Anything goes (silences of up to 30 min, messages up to 2 min late, flushes at arbitrary
    /// times, backwards too, or no flush before a message): no panic, every message with text
    /// still counted once, every window hop-aligned with shares in [0, 1]. (Messages far in the
    /// past after an idle reset reopen the aggregator there and make it emit empty windows up to
    /// the latest message: correct, but slow to test, hence the 2 min.)
    #[test]
    fn never_panics_and_never_loses_a_message(
        t0 in 0i64..10_000_000_000_000,
        ops in vec(
            prop_oneof![
                4 => (prop_oneof![
                    6 => 0..5_000i64,
                    1 => 5_000..1_800_000i64,
                    1 => -120_000..0i64,
                ], 0u8..12, text()).prop_map(|(d, u, t)| (Some((d, u, t)), 0i64)),
                1 => (-3_000_000i64..3_000_000_000).prop_map(|f| (None, f)),
            ],
            0..100,
        ),
        flush_before in any::<bool>(),
    ) {
        let mut agg = aggregator();
        let mut out = Vec::new();
        let mut t = t0;
        let mut with_text = 0u64;
        for (msg, flush_offset) in ops {
            match msg {
                Some((d, user, text)) => {
                    t += d;
                    let m = ChatMessage::plain("chan", &format!("u{user}"), &text, t);
                    if flush_before {
                        agg.flush(t, &mut out);
                    }
                    agg.record(&m);
                    with_text += u64::from(!m.text.is_empty());
                }
                None => agg.flush(t + flush_offset, &mut out),
            }
        }
        agg.flush(t.max(t0) + 40 * FAR_MS, &mut out);
        let counted: u64 = out.iter().map(|w| u64::from(w.messages)).sum();
        prop_assert_eq!(counted, with_text);
        for w in &out {
            check_window(w)?;
        }
    }
}
