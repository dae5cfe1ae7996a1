//! `clipper eval`: replay against human labels (recall / precision beside the nine message-count
//! z-score rules), or the ROC AUC of labelled chat spikes.

use anyhow::Context;
use clipper_models::DetectorConfig;
use clipper_relay::eval;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct EvalArgs {
    /// Labels CSV: `vod_id,offset_s` (hot clips) or `vod_id,start_s,end_s` (intervals).
    #[arg(long, required_unless_present = "spikes")]
    labels: Option<PathBuf>,
    /// Labelled chat spikes (JSONL: video_id, start_s, end_s, binary, messages,
    /// timestamps_s): ROC AUC of clipper's score per spike beside message-count rules.
    #[arg(
        long,
        value_name = "FILE.jsonl",
        conflicts_with_all = ["labels", "files", "channel", "models_dir", "chart_dir"]
    )]
    spikes: Option<PathBuf>,
    #[arg(long)]
    channel: Option<String>,
    #[arg(long, value_name = "DIR")]
    models_dir: Option<PathBuf>,
    /// Write a timeline chart (SVG) per stream here.
    #[arg(long, value_name = "DIR")]
    chart_dir: Option<PathBuf>,
    /// Keep the chat of 1 chatter in N (a stable hash of the user: the same users every
    /// run), for the detector and the rules alike.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    thin: Option<u32>,
    /// Leave a part out of the combined score (repeatable).
    #[arg(long, value_name = "PART", value_parser = ["forest", "content", "activity"])]
    ablate: Vec<String>,
    /// Also print all nine rules' scores.
    #[arg(long)]
    rules: bool,
    /// Print the report as JSON (always with all nine rules).
    #[arg(long)]
    json: bool,
    #[arg(required_unless_present = "spikes")]
    files: Vec<PathBuf>,
}

pub fn eval(args: EvalArgs, mut config: DetectorConfig, progress: bool) -> anyhow::Result<()> {
    for part in &args.ablate {
        eval::ablate(&mut config.decision.ablate, part)?;
    }
    if let Some(path) = args.spikes {
        let started = std::time::Instant::now();
        let spikes = eval::load_spikes(&path)?;
        let report = eval::evaluate_spikes(&spikes, &config, args.thin);
        if args.json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            print!("{}", eval::render_spikes(&report));
        }
        eprintln!(
            "{} spikes in {:.1} s",
            report.spikes,
            started.elapsed().as_secs_f64()
        );
        return Ok(());
    }
    let labels = eval::load_labels(&args.labels.context("--labels is required")?)?;
    let opts = super::replay_options(args.channel, args.models_dir, args.thin, config, progress);
    let (report, _streams, s) =
        eval::evaluate(&args.files, &labels, &opts, args.chart_dir.as_deref())?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", eval::render(&report, args.rules));
    }
    if let Some(dir) = args.chart_dir {
        eprintln!("charts in {}", dir.display());
    }
    eprintln!(
        "{} messages in {:.1} s ({:.0} messages/s)",
        s.messages,
        s.elapsed_seconds,
        s.messages_per_second()
    );
    Ok(())
}
