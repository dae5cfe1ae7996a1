//! The `clipper` subcommands, one module each: their flags (clap) and what they run. `main.rs`
//! only parses and dispatches; what the commands share (config file, durations, URLs, the
//! runtime, the shutdown signal) is here, and the AWS wiring is in one module, `aws` (feature
//! `aws`).

use anyhow::Context;
use clipper_models::DetectorConfig;
use clipper_relay::replay::{ReplayOptions, Thin};
use std::path::{Path, PathBuf};

#[cfg(feature = "aws")]
pub mod aws;
pub mod channels;
pub mod clips;
pub mod eval;
pub mod record;
pub mod replay;
pub mod run;
pub mod synth;

/// What a table flag says in a build without the `aws` feature.
#[cfg(not(feature = "aws"))]
pub const NEEDS_AWS: &str = "--table needs a build with `--features aws`";

/// Detection settings from a JSON file (any subset of the fields), or the defaults.
pub fn load_config(path: Option<&Path>) -> anyhow::Result<DetectorConfig> {
    match path {
        None => Ok(DetectorConfig::default()),
        Some(p) => {
            let text =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            DetectorConfig::from_json(&text).with_context(|| format!("config {}", p.display()))
        }
    }
}

/// Thinning flags of `replay` and `eval`: a small channel simulated from a big one.
#[derive(clap::Args, Debug, Clone, Copy)]
pub struct ThinArgs {
    /// Keep the chat of 1 chatter in N (a stable hash of the user: the same users every run).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub thin: Option<u32>,
    /// Which of the N disjoint sets of chatters `--thin N` keeps (0 to N − 1; default 0).
    #[arg(long, value_name = "D", requires = "thin")]
    pub thin_draw: Option<u32>,
}

impl ThinArgs {
    /// The thinning asked for; an error for a draw outside 0..N.
    pub fn thin(&self) -> anyhow::Result<Option<Thin>> {
        let Some(every) = self.thin else {
            return Ok(None);
        };
        let draw = self.thin_draw.unwrap_or(0);
        if draw >= every {
            anyhow::bail!(
                "--thin-draw {draw}: --thin {every} has draws 0 to {}",
                every - 1
            );
        }
        Ok(Some(Thin { every, draw }))
    }
}

/// How `replay` and `eval` replay their files: the flags they share, the detection settings and
/// whether to show progress.
pub fn replay_options(
    channel: Option<String>,
    models_dir: Option<PathBuf>,
    thin: Option<Thin>,
    config: DetectorConfig,
    progress: bool,
) -> ReplayOptions {
    ReplayOptions {
        channel,
        models_dir,
        config,
        progress,
        thin,
    }
}

/// Flag `what`'s value `s` as a URL.
pub fn url(s: &str, what: &str) -> anyhow::Result<url::Url> {
    url::Url::parse(s).with_context(|| format!("{what} {s:?} is not a URL"))
}

/// Flag `what`'s value `s` (seconds) as a duration.
pub fn secs(s: f64, what: &str) -> anyhow::Result<std::time::Duration> {
    std::time::Duration::try_from_secs_f64(s)
        .with_context(|| format!("{what}: {s} is not a duration in seconds"))
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: saving models and records");
}

/// The multi-threaded runtime the async commands run on.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}
