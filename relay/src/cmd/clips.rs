//! `clipper clips export`: the latest state of every clip record, from the DynamoDB clips table
//! (`--table`, feature `aws`) or local recordings, as CSV or JSON lines.

use super::runtime;
use anyhow::Context;
use clipper_functions::local::JsonlClipStore;
use clipper_relay::admin;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct ClipsArgs {
    #[command(subcommand)]
    action: ClipsAction,
}

#[derive(clap::Subcommand, Debug)]
enum ClipsAction {
    /// Print clip records (latest state of each) as CSV or JSON lines.
    Export {
        #[arg(long)]
        channel: Option<String>,
        /// Only clips triggered at or after: Unix ms, RFC 3339 date-time, or `24h` / `7d` ago.
        #[arg(long)]
        since: Option<String>,
        #[arg(long, default_value = "csv")]
        format: ExportFormat,
        /// DynamoDB clips table (`aws` feature).
        #[arg(long, env = "CLIPPER_CLIPS_TABLE")]
        table: Option<String>,
        #[arg(long, default_value = "recordings")]
        recordings_dir: PathBuf,
    },
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum ExportFormat {
    Csv,
    Json,
}

pub fn clips(args: ClipsArgs) -> anyhow::Result<()> {
    let ClipsAction::Export {
        channel,
        since,
        format,
        table,
        recordings_dir,
    } = args.action;
    let since = since
        .map(|s| admin::parse_since(&s, clipper_functions::clock::now_ms()))
        .transpose()?;
    let format = match format {
        ExportFormat::Csv => admin::Format::Csv,
        ExportFormat::Json => admin::Format::Json,
    };
    let channel = channel.as_deref();
    let n = runtime()?.block_on(async move {
        let out = std::io::stdout().lock();
        match table {
            #[cfg(feature = "aws")]
            Some(t) => super::aws::export_clips(&t, channel, since, format, out).await,
            #[cfg(not(feature = "aws"))]
            Some(_) => anyhow::bail!(super::NEEDS_AWS),
            None => {
                let store = JsonlClipStore::open(&recordings_dir)
                    .with_context(|| format!("reading {}", recordings_dir.display()))?;
                Ok(admin::export_clips(&store, channel, since, format, out).await?)
            }
        }
    })?;
    eprintln!("{n} clips");
    Ok(())
}
