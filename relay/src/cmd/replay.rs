//! `clipper replay`: recorded chat through the detector, clips printed as text or JSON lines
//! (and, with `--windows`, every scored window).

use anyhow::Context;
use clipper_models::{ClipDecision, DetectorConfig, ScoredWindow};
use clipper_relay::replay::{self, ReplayClip, ReplaySink};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct ReplayArgs {
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
    #[command(flatten)]
    thin: super::ThinArgs,
    /// Chat files, replayed in the order given (one stream each).
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

/// Prints clips (text or JSON lines) and, when asked, windows to stdout; keeps the first write
/// error.
struct PrintClips {
    json: bool,
    windows: bool,
    out: std::io::StdoutLock<'static>,
    error: Option<std::io::Error>,
}

impl ReplaySink for PrintClips {
    fn window(&mut self, source: &Path, w: &ScoredWindow) {
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

pub fn replay(args: ReplayArgs, config: DetectorConfig, progress: bool) -> anyhow::Result<()> {
    let opts = super::replay_options(
        args.channel,
        args.models_dir,
        args.thin.thin()?,
        config,
        progress,
    );
    let mut sink = PrintClips {
        json: args.json || args.windows,
        windows: args.windows,
        out: std::io::stdout().lock(),
        error: None,
    };
    let s = replay::replay_files(&args.files, &opts, &mut sink)?;
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
    Ok(())
}
