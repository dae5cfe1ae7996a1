//! `clipper`: watch Twitch chat, detect the moments it explodes, clip them.

use anyhow::Context;
use clap::{Parser, Subcommand};
use clipper_models::{ClipDecision, DetectorConfig};
use clipper_relay::eval;
use clipper_relay::input::ChatFormat;
use clipper_relay::replay::{self, ReplayClip, ReplayOptions, ReplaySink};
use clipper_relay::synth::{self, SynthConfig};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

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

#[derive(Subcommand, Debug)]
enum Command {
    /// Replay recorded chat (TSV `offset_s,user,message` or raw IRC lines) through the detector.
    Replay {
        /// Channel of TSV logs (default: the file's directory name).
        #[arg(long)]
        channel: Option<String>,
        /// Load channel models from here before, save them after.
        #[arg(long, value_name = "DIR")]
        models_dir: Option<PathBuf>,
        /// One JSON object per clip on stdout.
        #[arg(long)]
        json: bool,
        /// Also print every scored window (features, baseline z-scores, scores) as JSON lines.
        #[arg(long)]
        windows: bool,
        /// Chat files, replayed in the order given (one stream each).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Replay chat against human labels; print recall / precision beside a z-score baseline.
    Eval {
        /// Labels CSV: `vod_id,offset_s` (hot clips) or `vod_id,start_s,end_s` (intervals).
        #[arg(long)]
        labels: PathBuf,
        #[arg(long)]
        channel: Option<String>,
        #[arg(long, value_name = "DIR")]
        models_dir: Option<PathBuf>,
        /// Write a timeline chart (SVG) per stream here.
        #[arg(long, value_name = "DIR")]
        chart_dir: Option<PathBuf>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Write a synthetic chat stream with planted hype moments, and its labels to FILE.labels.csv.
    Synth {
        /// Chat file to write.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Stream length in minutes.
        #[arg(long, default_value_t = synth::DEFAULT_MINUTES)]
        minutes: f64,
        /// Random seed: the same seed gives the same stream.
        #[arg(long, default_value_t = synth::DEFAULT_SEED)]
        seed: u64,
        /// Calm chat rate in messages per second (bursts go 4-8x higher).
        #[arg(long, value_name = "MSGS_PER_S", default_value_t = synth::DEFAULT_RATE)]
        rate: f64,
        /// `tsv` (offset_s, user, message) or `irc` (raw Twitch PRIVMSG lines with tags).
        #[arg(long, default_value = "tsv")]
        format: ChatFormat,
    },
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

fn load_config(path: Option<&PathBuf>) -> anyhow::Result<DetectorConfig> {
    match path {
        None => Ok(DetectorConfig::default()),
        Some(p) => {
            let text =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            serde_json::from_str(&text).with_context(|| format!("parsing {}", p.display()))
        }
    }
}

struct PrintClips {
    json: bool,
    windows: bool,
    out: std::io::StdoutLock<'static>,
    error: Option<std::io::Error>,
}

impl ReplaySink for PrintClips {
    fn window(&mut self, source: &std::path::Path, w: &clipper_models::ScoredWindow) {
        if !self.windows {
            return;
        }
        let line = serde_json::json!({ "type": "window", "source": source.display().to_string(), "window": w });
        if let Err(e) = writeln!(self.out, "{line}") {
            self.error.get_or_insert(e);
        }
    }

    fn clip(&mut self, clip: &ReplayClip, _decision: &ClipDecision) {
        let r = if self.json {
            serde_json::to_string(clip)
                .map_err(std::io::Error::other)
                .and_then(|s| writeln!(self.out, "{s}"))
        } else {
            let t = clip.at as i64;
            writeln!(
                self.out,
                "{} {:>2}:{:02}:{:02}  score {:.2}  {:<11} {}",
                clip.channel,
                t / 3600,
                t / 60 % 60,
                t % 60,
                clip.score,
                clip.trigger,
                clip.title
            )
        };
        if let Err(e) = r {
            self.error.get_or_insert(e);
        }
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_logging(cli.log_json);
    let config = load_config(cli.config.as_ref())?;
    let progress = std::io::stderr().is_terminal();
    match cli.command {
        Command::Replay {
            channel,
            models_dir,
            json,
            windows,
            files,
        } => {
            let opts = ReplayOptions {
                channel,
                models_dir,
                config,
                progress,
            };
            let mut sink = PrintClips {
                json: json || windows,
                windows,
                out: std::io::stdout().lock(),
                error: None,
            };
            let s = replay::replay_files(&files, &opts, &mut sink)?;
            if let Some(e) = sink.error {
                // A closed pipe (`| head`) is not worth a failure message.
                if e.kind() != std::io::ErrorKind::BrokenPipe {
                    return Err(e).context("writing clips to stdout");
                }
            }
            eprintln!(
                "replayed {} file(s): {} messages ({} malformed skipped), {} windows, {} clips over {:.1} h = {:.2} clips/h; {:.0} messages/s",
                s.files,
                s.messages,
                s.malformed,
                s.windows,
                s.clips,
                s.log_seconds / 3600.0,
                s.clips_per_hour(),
                s.messages_per_second()
            );
        }
        Command::Eval {
            labels,
            channel,
            models_dir,
            chart_dir,
            json,
            files,
        } => {
            let labels = eval::load_labels(&labels)?;
            let opts = ReplayOptions {
                channel,
                models_dir,
                config,
                progress,
            };
            let (report, streams, s) =
                eval::evaluate(&files, &labels, &opts, chart_dir.as_deref())?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!(
                    "{}",
                    eval::render(&report, streams.len(), s.log_seconds / 3600.0)
                );
            }
            if let Some(dir) = chart_dir {
                eprintln!("charts in {}", dir.display());
            }
            eprintln!(
                "{} messages in {:.1} s ({:.0} messages/s)",
                s.messages,
                s.elapsed_seconds,
                s.messages_per_second()
            );
        }
        Command::Synth {
            out,
            minutes,
            seed,
            rate,
            format,
        } => {
            let cfg = SynthConfig {
                minutes,
                seed,
                rate,
                ..SynthConfig::default()
            };
            let s = synth::write_stream(&out, &cfg, format)?;
            eprintln!(
                "wrote {} ({format}): {} messages over {:.1} min, {} planted moments -> {}",
                s.path.display(),
                s.messages,
                s.last_s / 60.0,
                s.moments.len(),
                s.labels_path.display()
            );
        }
    }
    Ok(())
}
