//! Live ingest: `cargo bench -p clipper-relay --bench ingest`.
//!
//! A loopback Twitch-dialect IRC server ([`LoopbackIrc`]) and the real client stack in one
//! process on a 2-thread runtime: `twitch-irc` over [`ClipperTransport`] (pooled, 90 channels a
//! connection), message mapping, and the live [`Driver`] (aggregation, scoring, decisions) for
//! `INGEST_CHANNELS` joined channels (default 1,000). The server pushes `INGEST_MESSAGES` tagged
//! PRIVMSGs (default 1,000,000) round-robin over the channels, keeping at most 10,000 in
//! flight; the benchmark reports messages per second from the first send to the last message
//! handled by the driver, and the peak resident set size of the whole process (server
//! included).
//!
//! Without `--bench` (as under `cargo test --benches`) it runs a small smoke pass.

#![allow(clippy::expect_used)] // a benchmark: failing loudly is right

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clipper_relay::live::chat::{self, ChatOptions};
use clipper_relay::live::driver::{Driver, DriverOptions};
use clipper_testkit::loopback::{privmsg, Chatter, LoopbackIrc};
use clipper_relay::live::transport::set_endpoint;
use tokio::sync::{mpsc, oneshot, watch};

/// mimalloc: chat ingest allocates many small strings per message on several threads, where
/// glibc malloc spent ~40% of the time (perf, ingest benchmark).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn status_kb(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

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
const IN_FLIGHT: u64 = 10_000;

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let channels = env_or("INGEST_CHANNELS", if full { 1_000 } else { 50 }) as usize;
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
        let (clip_tx, _clip_rx) = mpsc::unbounded_channel();
        let (control_tx, control_rx) = mpsc::unbounded_channel();
        let progress = Arc::new(AtomicU64::new(0));
        let driver_opts = DriverOptions {
            models_dir: None,
            ..DriverOptions::default()
        };
        let driver = Driver::new(driver_opts, &names, clip_tx, None, control_tx)
            .with_progress(progress.clone());
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(driver.run(rx, control_rx, async {
            let _ = stop_rx.await;
        }));
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
        while sent < messages {
            while sent.saturating_sub(progress.load(Ordering::Relaxed)) > IN_FLIGHT {
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
        let _ = stop_tx.send(());
        let stats = handle.await.expect("driver");
        let peak = status_kb("VmHWM").unwrap_or(0);
        println!(
            "ingest: {channels} channels, {} messages in {secs:.2} s = {:.0} msgs/s (2 worker threads); windows {}; RSS before {:.1} MiB, peak {:.1} MiB",
            stats.messages,
            stats.messages as f64 / secs,
            stats.windows,
            rss_before as f64 / 1024.0,
            peak as f64 / 1024.0
        );
        drop(client);
    });
}
