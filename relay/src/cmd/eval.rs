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
    /// Thinning (`--thin N`, `--thin-draw D`), for the detector and the rules alike.
    #[command(flatten)]
    thin: super::ThinArgs,
    /// Measure every draw of `--thin N` (each chatter once) and pool them: recall and
    /// precision count over all draws, AUCs are averaged; the best rule is the best pooled.
    #[arg(long, requires = "thin", conflicts_with_all = ["thin_draw", "chart_dir"])]
    thin_draws: bool,
    /// Leave a part out of the combined score (repeatable).
    #[arg(long, value_name = "PART", value_parser = ["forest", "content", "activity"])]
    ablate: Vec<String>,
    /// Also print all nine rules' scores.
    #[arg(long)]
    rules: bool,
    /// Print the report as JSON (always with all nine rules).
    #[arg(long)]
    json: bool,
    /// Run N times, the Isolation Forest's seed the only difference (the configured seed
    /// first, then 1, 2, ...), and add clipper's median and range per measure: how big a
    /// difference the seed alone makes. The report itself is the first run's.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 1,
        value_parser = clap::value_parser!(u32).range(1..=100),
        conflicts_with = "models_dir"
    )]
    seeds: u32,
    #[arg(required_unless_present = "spikes")]
    files: Vec<PathBuf>,
}

pub fn eval(args: EvalArgs, mut config: DetectorConfig, progress: bool) -> anyhow::Result<()> {
    for part in &args.ablate {
        eval::ablate(&mut config.decision.ablate, part)?;
    }
    let thin = args.thin.thin()?;
    let draws = if args.thin_draws {
        eval::Draws::All
    } else {
        eval::Draws::One
    };
    if let Some(path) = args.spikes {
        let started = std::time::Instant::now();
        let spikes = eval::load_spikes(&path)?;
        let mut report = eval::evaluate_spikes(&spikes, &config, thin, draws);
        report.seed_spread = eval::over_seeds(&config, args.seeds, report.measures(), |c| {
            Ok(eval::evaluate_spikes(&spikes, c, thin, draws).measures())
        })?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            print!("{}", eval::render_spikes(&report));
            if let Some(spread) = &report.seed_spread {
                print!("{}", eval::render_spread(spread));
            }
        }
        eprintln!(
            "{} spikes in {:.1} s",
            report.spikes,
            started.elapsed().as_secs_f64()
        );
        return Ok(());
    }
    let labels = eval::load_labels(&args.labels.context("--labels is required")?)?;
    let opts = super::replay_options(args.channel, args.models_dir, thin, config, progress);
    let (mut report, _streams, s) = eval::evaluate(
        &args.files,
        &labels,
        &opts,
        draws,
        args.chart_dir.as_deref(),
    )?;
    report.seed_spread = eval::over_seeds(&opts.config, args.seeds, report.ours.measures(), |c| {
        let opts = super::replay_options(opts.channel.clone(), None, thin, c.clone(), false);
        Ok(eval::evaluate_clipper(&args.files, &labels, &opts, draws)?.measures())
    })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", eval::render(&report, args.rules));
        if let Some(spread) = &report.seed_spread {
            print!("{}", eval::render_spread(spread));
        }
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
