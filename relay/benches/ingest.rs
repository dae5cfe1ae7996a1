//! Live ingest: `cargo bench -p clipper-relay --bench ingest`.
//!
//! A loopback Twitch-dialect IRC server ([`LoopbackIrc`]) and the real client stack in one
//! process on a 2-thread runtime: `twitch-irc` over [`ClipperTransport`] (pooled, 90 channels a
//! connection), message mapping, and the live [`Driver`] for `INGEST_CHANNELS` joined channels
//! (default 1,000), in one of two modes (`INGEST_MODE`):
//!
//! * `local`: every channel runs the whole detector (aggregation, scoring, decisions);
//! * `forward`: the serverless relay, aggregation only; closed windows go through the real
//!   forwarder (packing) to an in-process counting sink instead of SQS.
//!
//! The server pushes `INGEST_MESSAGES` tagged PRIVMSGs (default 1,000,000) round-robin over the
//! channels, as fast as they are taken or at `INGEST_RATE` messages a second, keeping at most
//! `INGEST_IN_FLIGHT` (default 10,000) sent but not yet handled. Each run reports messages per
//! second from the first send to the last message handled by the driver, the largest backlog,
//! the resident set size after the joins (and the driver's share of it per channel) and when the
//! last message was handled, and the peak (VmHWM) of the whole process (server included).
//!
//! `INGEST_GLOBAL_EMOTES` gives every channel that many global emote names at start, as the
//! emote poller does live (default 0).
//!
//! Memory: a message waiting in the pipeline costs ~3.5 KiB (`twitch-irc`'s parsed message
//! with its tag map and raw source), so with the client flooded the backlog dominates the peak
//! (10,000 in flight ≈ 35 MiB); a relay that keeps up with chat holds a small backlog. RSS
//! figures include memory mimalloc has freed but not yet returned (`MIMALLOC_PURGE_DELAY=0`
//! returns it at once).
//!
//! Without `INGEST_MODE` the benchmark runs, each in a process of its own (peak RSS is per
//! process): forward with `INGEST_CHANNELS`, forward with a tenth of them (the difference gives
//! the memory cost of one channel), and local with `INGEST_CHANNELS`.
//!
//! Without `--bench` (as under `cargo test --benches`) it runs a small smoke pass.

#![allow(clippy::expect_used)] // a benchmark: failing loudly is right

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clipper_functions::roles::WindowQueue;
use clipper_models::emotes::EmoteSource;
use clipper_models::WindowBatch;
use clipper_relay::live::chat::{self, ChatOptions};
use clipper_relay::live::driver::{Control, Driver, DriverOptions, DriverStats};
use clipper_relay::live::forward::{run_forwarder, ForwardOptions};
use clipper_relay::live::transport::set_endpoint;
use clipper_testkit::bench::{env_or, status_kb};
use clipper_testkit::loopback::{privmsg, Chatter, LoopbackIrc};
use tokio::sync::{mpsc, oneshot, watch};

/// mimalloc: chat ingest allocates many small strings per message on several threads, where
/// glibc malloc spent ~40% of the time (perf, ingest benchmark).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const TEXTS: [&str; 8] = [
    "KEKW KEKW",
    "what just happened",
    "LUL that was close",
    "ㅋㅋㅋㅋㅋㅋ",
    "Pog Pog Pog",
    "gg",
    "哈哈哈哈",
    "this streamer is actually insane at this game",
];

/// Messages sent but not yet handled, at most (a live server sends as chat comes; this only
/// keeps the test server from queueing the whole run in memory).
/// `INGEST_IN_FLIGHT` overrides it.
const IN_FLIGHT: u64 = 10_000;

/// The window sink of the forward runs: counts what would have gone to SQS.
#[derive(Debug, Default)]
struct CountingQueue {
    batches: AtomicU64,
    windows: AtomicU64,
}

impl WindowQueue for CountingQueue {
    async fn send(&self, batch: &WindowBatch) -> clipper_functions::Result<()> {
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.windows
            .fetch_add(batch.windows.len() as u64, Ordering::Relaxed);
        Ok(())
    }
}

/// One run's figures, as a child process prints them for the parent.
#[derive(Debug, Clone, Copy)]
struct Figures {
    channels: u64,
    msgs_per_s: f64,
    rss_end_kib: u64,
    peak_kib: u64,
}

impl Figures {
    fn line(&self) -> String {
        format!(
            "FIGURES {} {:.0} {} {}",
            self.channels, self.msgs_per_s, self.rss_end_kib, self.peak_kib
        )
    }

    fn parse(out: &str) -> Option<Figures> {
        let l = out.lines().find_map(|l| l.strip_prefix("FIGURES "))?;
        let v: Vec<&str> = l.split_whitespace().collect();
        Some(Figures {
            channels: v.first()?.parse().ok()?,
            msgs_per_s: v.get(1)?.parse().ok()?,
            rss_end_kib: v.get(2)?.parse().ok()?,
            peak_kib: v.get(3)?.parse().ok()?,
        })
    }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Runs this benchmark again in a child process with `mode` and `channels`.
fn child(mode: &str, channels: u64) -> Figures {
    let exe = std::env::current_exe().expect("own path");
    let out = std::process::Command::new(exe)
        .args(std::env::args().skip(1))
        .env("INGEST_MODE", mode)
        .env("INGEST_CHANNELS", channels.to_string())
        .stderr(std::process::Stdio::inherit())
        .output()
        .expect("child run");
    let text = String::from_utf8_lossy(&out.stdout);
    print!(
        "{}",
        text.lines()
            .filter(|l| !l.starts_with("FIGURES "))
            .map(|l| format!("{l}\n"))
            .collect::<String>()
    );
    assert!(out.status.success(), "{mode} run failed");
    Figures::parse(&text).expect("figures line")
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let channels = env_or("INGEST_CHANNELS", if full { 1_000 } else { 50 });
    match std::env::var("INGEST_MODE").ok().as_deref() {
        Some("local") => println!("{}", run(false, channels as usize, full).line()),
        Some("forward") => println!("{}", run(true, channels as usize, full).line()),
        Some(other) => panic!("INGEST_MODE: local or forward, not {other}"),
        None => {
            let few = (channels / 10).max(1);
            let fwd = child("forward", channels);
            let fwd_few = child("forward", few);
            let local = child("local", channels);
            let per =
                |a: u64, b: u64| (a as f64 - b as f64) * 1024.0 / (channels - few).max(1) as f64;
            // Below a few hundred channels the difference is lost in the backlog's noise.
            if channels >= 500 {
                println!(
                    "forward mode, memory per channel ({channels} vs {few} channels): {:.1} KiB at the last message, {:.1} KiB at peak",
                    per(fwd.rss_end_kib, fwd_few.rss_end_kib) / 1024.0,
                    per(fwd.peak_kib, fwd_few.peak_kib) / 1024.0,
                );
            }
            println!(
                "forward {:.0} msgs/s, peak {:.1} MiB; local {:.0} msgs/s, peak {:.1} MiB ({channels} channels)",
                fwd.msgs_per_s,
                mib(fwd.peak_kib),
                local.msgs_per_s,
                mib(local.peak_kib)
            );
        }
    }
}

/// One run in this process: `forward` mode or local, `channels` joined channels.
fn run(forward: bool, channels: usize, full: bool) -> Figures {
    let in_flight = env_or("INGEST_IN_FLIGHT", IN_FLIGHT);
    // Messages per second the server sends at most (0: as fast as the client takes them).
    let pace = env_or("INGEST_RATE", 0u64);
    // Global emote names given to every channel at start (Twitch, 7TV, BTTV and FFZ globals
    // are a few hundred in all; 0: none, as before).
    let global_emotes = env_or("INGEST_GLOBAL_EMOTES", 0u64);
    let messages = env_or("INGEST_MESSAGES", if full { 1_000_000 } else { 20_000 });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let server = LoopbackIrc::start().await.expect("server");
        set_endpoint(server.endpoint());
        let names: Vec<String> = (0..channels).map(|i| format!("chan{i:04}")).collect();
        let opts = ChatOptions {
            new_connection_every: Duration::ZERO,
            joins_per_period: 100_000,
            join_period: Duration::from_millis(1),
            ..ChatOptions::default()
        };
        let (rx, client) = chat::connect(&opts);
        let (_keep, wanted) = watch::channel(names.clone());
        tokio::spawn(chat::run_joiner(client.clone(), opts, wanted));
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let t = Instant::now();
        assert!(
            server.wait_joined(&refs, Duration::from_secs(120)).await,
            "not all channels joined"
        );
        eprintln!(
            "joined {channels} channels over {} connections in {:.1} s",
            server.connections(),
            t.elapsed().as_secs_f64()
        );
        let rss_no_driver = status_kb("VmRSS").unwrap_or(0);
        let (control_tx, control_rx) = mpsc::unbounded_channel();
        let emotes_tx = control_tx.clone();
        let progress = Arc::new(AtomicU64::new(0));
        let driver_opts = DriverOptions {
            models_dir: None,
            ..DriverOptions::default()
        };
        let sink = Arc::new(CountingQueue::default());
        let mut forwarder = None;
        let mut _clip_rx = None;
        let driver = if forward {
            let opts = ForwardOptions::default();
            let (tx, rx) = mpsc::channel(opts.max_backlog);
            let q = sink.clone();
            forwarder = Some(tokio::spawn(async move {
                run_forwarder(&*q, rx, opts, Default::default()).await
            }));
            drop(control_tx);
            Driver::forwarding(driver_opts, &names, tx)
        } else {
            let (clip_tx, clip_rx) = mpsc::unbounded_channel();
            _clip_rx = Some(clip_rx);
            Driver::new(driver_opts, &names, clip_tx, control_tx)
        }
        .with_progress(progress.clone());
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(driver.run(rx, control_rx, async {
            let _ = stop_rx.await;
        }));
        if global_emotes > 0 {
            // What the emote poller sends at start: the global lists, into every channel.
            let list = (0..global_emotes).map(|i| format!("Glob{i}Emote")).collect();
            let _ = emotes_tx.send(Control::Emotes {
                channel: None,
                lists: vec![(EmoteSource::Twitch, list)],
            });
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        drop(emotes_tx);
        let rss_before = status_kb("VmRSS").unwrap_or(0);
        let base_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        // Lines are prepared up front (8 per channel) so the timing is the client's, not the
        // test server's string formatting.
        let lines: Vec<Vec<Arc<str>>> = names
            .iter()
            .enumerate()
            .map(|(ci, c)| {
                (0..8u64)
                    .map(|k| {
                        let n = ci as u64 * 8 + k;
                        let login = format!("user{}", n % 997);
                        let uid = (n % 997).to_string();
                        let who = Chatter { login: &login, user_id: &uid, badges: "" };
                        LoopbackIrc::line(&privmsg(c, &who, TEXTS[k as usize], base_ms, n))
                    })
                    .collect()
            })
            .collect();
        let start = Instant::now();
        let mut sent = 0u64;
        let mut max_backlog = 0u64;
        while sent < messages {
            if pace > 0 {
                let due = start + Duration::from_secs_f64(sent as f64 / pace as f64);
                tokio::time::sleep_until(due.into()).await;
            }
            max_backlog = max_backlog.max(sent.saturating_sub(progress.load(Ordering::Relaxed)));
            while sent.saturating_sub(progress.load(Ordering::Relaxed)) > in_flight {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            for _ in 0..1_000 {
                let ci = (sent % channels as u64) as usize;
                server.send_line(&names[ci], &lines[ci][((sent / channels as u64) % 8) as usize]);
                sent += 1;
            }
            tokio::task::yield_now().await;
        }
        while progress.load(Ordering::Relaxed) < messages {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let secs = start.elapsed().as_secs_f64();
        // Still running: every channel's state is live.
        let rss_end = status_kb("VmRSS").unwrap_or(0);
        let file_end = status_kb("RssFile").unwrap_or(0);
        let _ = stop_tx.send(());
        let stats: DriverStats = handle.await.expect("driver");
        if let Some(f) = forwarder {
            let fs = f.await.expect("forwarder");
            assert_eq!(fs.windows, stats.windows);
        }
        let peak = status_kb("VmHWM").unwrap_or(0);
        let rate = stats.messages as f64 / secs;
        println!(
            "ingest ({}): {channels} channels, {} messages in {secs:.2} s = {rate:.0} msgs/s (2 worker threads); windows {} (sink: {} in {} batches); backlog at most {max_backlog}; RSS after joins {:.1} MiB (driver state {:.1} KiB a channel), at the last message {:.1} MiB ({:.1} MiB of it file pages: the binary), peak {:.1} MiB",
            if forward { "forward" } else { "local" },
            stats.messages,
            stats.windows,
            sink.windows.load(Ordering::Relaxed),
            sink.batches.load(Ordering::Relaxed),
            mib(rss_before),
            (rss_before as f64 - rss_no_driver as f64) / channels as f64,
            mib(rss_end),
            mib(file_end),
            mib(peak),
        );
        drop(client);
        Figures {
            channels: channels as u64,
            msgs_per_s: rate,
            rss_end_kib: rss_end,
            peak_kib: peak,
        }
    })
}
