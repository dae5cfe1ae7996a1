//! `clipper synth`: a synthetic chat stream with planted hype moments, and its labels.

use clipper_relay::input::ChatFormat;
use clipper_relay::synth::{self, SynthConfig};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct SynthArgs {
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
}

pub fn synth(args: SynthArgs) -> anyhow::Result<()> {
    let cfg = SynthConfig {
        minutes: args.minutes,
        seed: args.seed,
        rate: args.rate,
        ..SynthConfig::default()
    };
    let format = args.format;
    let s = synth::write_stream(&args.out, &cfg, format)?;
    eprintln!(
        "wrote {} ({format}): {} messages over {:.1} min, {} planted moments -> {}",
        s.path.display(),
        s.messages,
        s.last_s / 60.0,
        s.moments.len(),
        s.labels_path.display()
    );
    Ok(())
}
