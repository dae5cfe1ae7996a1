//! Replay throughput and memory: `cargo bench -p clipper-relay --bench replay`.
//!
//! 1. Generates two synthetic TSV streams with `clipper_relay::synth` into a temporary directory:
//!    `BENCH_MESSAGES` messages (default 2,000,000) and a tenth of that, at `BENCH_RATE`
//!    messages per second of calm chat (default 3, the demo's rate).
//! 2. Replays each through `clipper_relay::replay::replay_files` with a sink that drops
//!    everything, on this one thread, `BENCH_RUNS` times (default 3): best and median messages/s.
//! 3. Reports the peak resident set size (`VmHWM` in `/proc/self/status`) of the replay of the
//!    small and of the large stream: streaming replay should need the same memory for both. The
//!    peak is reset before each (`/proc/self/clear_refs` = 5) where the kernel allows it.
//! 4. When `../shared/data/kimdoe` exists beside the workspace, replays its logs (in stream-id
//!    order, one channel model carried across them) the same way.
//!
//! Without `--bench` (as under `cargo test --benches`) it only runs a small smoke pass.

use clipper_models::ClipDecision;
use clipper_relay::input::ChatFormat;
use clipper_relay::replay::{replay_files, ReplayClip, ReplayOptions, ReplaySink, ReplaySummary};
use clipper_relay::synth::{self, SynthConfig};
use clipper_testkit::bench::{env_or, mib, reset_peak, status_kb};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The allocator the `clipper` binary ships with, so that speed and peak memory are those of
/// `clipper replay` (mimalloc keeps a few MiB of arenas: the peak is ~20 MiB, not growing with
/// the input).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Drops every clip and window (counts clips only).
struct NullSink {
    clips: u64,
}

impl ReplaySink for NullSink {
    fn clip(&mut self, _clip: &ReplayClip, _decision: &ClipDecision) {
        self.clips += 1;
    }
}

/// Thousands separators.
fn grouped(n: f64) -> String {
    let s = format!("{:.0}", n.max(0.0));
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Result of replaying one input several times.
struct Measured {
    name: String,
    summary: ReplaySummary,
    clips: u64,
    rates: Vec<f64>,
    peak_kb: Option<u64>,
    peak_was_reset: bool,
}

impl Measured {
    fn best(&self) -> f64 {
        self.rates.iter().copied().fold(0.0, f64::max)
    }
    fn median(&self) -> f64 {
        let mut r = self.rates.clone();
        r.sort_by(f64::total_cmp);
        match r.len() {
            0 => 0.0,
            n if n % 2 == 1 => r[n / 2],
            n => (r[n / 2 - 1] + r[n / 2]) / 2.0,
        }
    }
}

fn measure(name: &str, files: &[PathBuf], channel: Option<&str>, runs: usize) -> Measured {
    let opts = ReplayOptions {
        channel: channel.map(str::to_owned),
        ..ReplayOptions::default()
    };
    let peak_was_reset = reset_peak();
    let mut rates = Vec::with_capacity(runs);
    let mut last = ReplaySummary::default();
    let mut clips = 0;
    for run in 0..runs.max(1) {
        let mut sink = NullSink { clips: 0 };
        let summary = match replay_files(files, &opts, &mut sink) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("{name}: replay failed: {e}");
                std::process::exit(1);
            }
        };
        let rate = summary.messages_per_second();
        eprintln!(
            "  {name} run {}: {} messages in {:.2} s = {} msg/s, {} clips",
            run + 1,
            summary.messages,
            summary.elapsed_seconds,
            grouped(rate),
            sink.clips
        );
        rates.push(rate);
        clips = sink.clips;
        last = summary;
    }
    Measured {
        name: name.to_owned(),
        summary: last,
        clips,
        rates,
        peak_kb: status_kb("VmHWM"),
        peak_was_reset,
    }
}

fn generate(dir: &Path, name: &str, messages: u64, rate: f64) -> PathBuf {
    let path = dir.join("synth").join(name);
    // Enough minutes for `messages` at the calm rate (bursts add a little); cut exactly.
    let minutes = messages as f64 / (rate * 60.0) * 1.1 + 1.0;
    let config = SynthConfig {
        minutes,
        rate,
        seed: 7,
        max_messages: Some(messages),
        ..SynthConfig::default()
    };
    let started = Instant::now();
    match synth::write_stream(&path, &config, ChatFormat::Tsv) {
        Ok(s) => {
            let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            eprintln!(
                "generated {}: {} messages, {:.1} h of chat, {:.1} MB in {:.2} s",
                path.display(),
                grouped(s.messages as f64),
                s.last_s / 3600.0,
                bytes as f64 / 1e6,
                started.elapsed().as_secs_f64()
            );
        }
        Err(e) => {
            eprintln!("cannot generate {}: {e}", path.display());
            std::process::exit(1);
        }
    }
    path
}

fn kimdoe_files() -> Option<Vec<PathBuf>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/kimdoe");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "tsv"))
        .collect();
    // Stream ids grow with time: numeric order is broadcast order.
    files.sort_by_key(|p| {
        let stem = p.file_stem().map(|s| s.to_string_lossy().into_owned());
        let id = stem.as_deref().and_then(|s| s.parse::<u64>().ok());
        (id, p.clone())
    });
    (!files.is_empty()).then_some(files)
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let big: u64 = env_or("BENCH_MESSAGES", if bench { 2_000_000 } else { 20_000 });
    let small = (big / 10).max(1);
    let rate: f64 = env_or("BENCH_RATE", synth::DEFAULT_RATE);
    let runs: usize = env_or("BENCH_RUNS", if bench { 3 } else { 1 });

    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("cannot create a temporary directory: {e}");
            std::process::exit(1);
        }
    };
    let small_path = generate(dir.path(), "small.tsv", small, rate);
    let big_path = generate(dir.path(), "big.tsv", big, rate);
    let rss_before = status_kb("VmRSS");

    let mut results = Vec::new();
    results.push(measure(
        &format!("synthetic {}", grouped(small as f64)),
        std::slice::from_ref(&small_path),
        None,
        runs,
    ));
    results.push(measure(
        &format!("synthetic {}", grouped(big as f64)),
        std::slice::from_ref(&big_path),
        None,
        runs,
    ));
    if bench {
        match kimdoe_files() {
            Some(files) => results.push(measure(
                &format!("kimdoe ({} streams)", files.len()),
                &files,
                Some("kimdoe"),
                runs,
            )),
            None => eprintln!("../shared/data/kimdoe not found beside the workspace: skipped"),
        }
    }

    println!();
    println!(
        "replay throughput: one thread, null sink, best and median of {runs} run(s); synthetic \
         calm rate {rate} msg/s"
    );
    println!(
        "{:<26} {:>11} {:>9} {:>8} {:>7} {:>13} {:>13} {:>12}",
        "input", "messages", "log h", "windows", "clips", "best msg/s", "median msg/s", "peak RSS"
    );
    for m in &results {
        println!(
            "{:<26} {:>11} {:>9.1} {:>8} {:>7} {:>13} {:>13} {:>12}",
            m.name,
            grouped(m.summary.messages as f64),
            m.summary.log_seconds / 3600.0,
            m.summary.windows,
            m.clips,
            grouped(m.best()),
            grouped(m.median()),
            mib(m.peak_kb),
        );
    }
    println!();
    let reset = results.iter().all(|m| m.peak_was_reset);
    println!(
        "memory: RSS before replay {} (after generating the files); peak RSS (VmHWM) is {} each \
         input's replay",
        mib(rss_before),
        if reset {
            "measured over"
        } else {
            "cumulative up to the end of (clear_refs not allowed)"
        }
    );
    if let (Some(a), Some(b)) = (results.first(), results.get(1)) {
        if let (Some(pa), Some(pb)) = (a.peak_kb, b.peak_kb) {
            println!(
                "{} → {} messages: peak RSS {} → {} ({:+} KiB for {:.0}× the messages)",
                grouped(a.summary.messages as f64),
                grouped(b.summary.messages as f64),
                mib(Some(pa)),
                mib(Some(pb)),
                pb as i64 - pa as i64,
                b.summary.messages as f64 / a.summary.messages.max(1) as f64
            );
        }
    }
}
