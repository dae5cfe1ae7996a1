//! `clipper`: watch Twitch chat, detect the moments it explodes, clip them.
//!
//! This file parses the command line and dispatches; each command is a module of [`cmd`].

use clap::{Parser, Subcommand};
use std::io::IsTerminal;
use std::path::PathBuf;

mod cmd;

/// mimalloc: chat ingest allocates many small strings per message on several threads, where
/// glibc malloc spent ~40% of the time (perf, ingest benchmark).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(
    name = "clipper",
    version,
    about = "Clips the moments Twitch chat explodes"
)]
struct Cli {
    /// Log as JSON lines (for log collectors). Levels via RUST_LOG (default: info).
    #[arg(long, global = true)]
    log_json: bool,
    /// Detection settings (JSON; any subset of the fields, the rest keep their defaults).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

// Parsed once at start: the size of the `Run` variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
enum Command {
    /// Watch live chat, clip the moments it explodes (7 s after the trigger), keep learning.
    Run(cmd::run::RunArgs),
    /// Configure channels: in the DynamoDB channels table (--table / CLIPPER_CHANNELS_TABLE) or a
    /// local JSON file (--file, default channels.json).
    Channels(cmd::channels::ChannelsArgs),
    /// Clip records: export from the DynamoDB clips table (--table / CLIPPER_CLIPS_TABLE) or
    /// local recordings (--recordings-dir).
    Clips(cmd::clips::ClipsArgs),
    /// Save live chat as raw IRC lines with tags (DIR/<channel>.irc.log) for `clipper replay`.
    Record(cmd::record::RecordArgs),
    /// Replay recorded chat (TSV `offset_s,user,message` or raw IRC lines) through the detector.
    Replay(cmd::replay::ReplayArgs),
    /// Replay chat against human labels; print recall / precision beside the best of nine simple
    /// message-count z-score rules (5/10/20 s windows × z ≥ 2/3/4). Or, with --spikes, the ROC
    /// AUC of labelled chat spikes.
    Eval(cmd::eval::EvalArgs),
    /// Write a synthetic chat stream with planted hype moments, and its labels to FILE.labels.csv.
    Synth(cmd::synth::SynthArgs),
}

fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn main() -> anyhow::Result<()> {
    // `.env` fills only variables not already set.
    let _ = dotenvy::dotenv();
    let cli = Cli::parse();
    init_logging(cli.log_json);
    let config = cmd::load_config(cli.config.as_deref())?;
    let progress = std::io::stderr().is_terminal();
    match cli.command {
        Command::Run(args) => cmd::run::run(args, config),
        Command::Channels(args) => cmd::channels::channels(args),
        Command::Clips(args) => cmd::clips::clips(args),
        Command::Record(args) => cmd::record::record(args),
        Command::Replay(args) => cmd::replay::replay(args, config, progress),
        Command::Eval(args) => cmd::eval::eval(args, config, progress),
        Command::Synth(args) => cmd::synth::synth(args),
    }
}
