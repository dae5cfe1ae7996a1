//! `clipper record`: live chat saved as raw IRC lines with tags, one file per channel.

use super::{runtime, shutdown_signal};
use clipper_relay::live::{self, run::normalise_channels, transport::IrcEndpoint};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct RecordArgs {
    #[arg(long, env = "TWITCH_CHANNELS", value_delimiter = ',', required = true)]
    channels: Vec<String>,
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    #[arg(
        long,
        env = "CLIPPER_IRC_ADDR",
        default_value = "irc.chat.twitch.tv:6697"
    )]
    irc_addr: String,
}

pub fn record(args: RecordArgs) -> anyhow::Result<()> {
    let channels = normalise_channels(args.channels.iter().map(String::as_str));
    let endpoint: IrcEndpoint = args.irc_addr.parse().map_err(anyhow::Error::msg)?;
    let out = args.out;
    let stats = runtime()?.block_on(async move {
        live::transport::set_endpoint(endpoint);
        let opts = live::chat::ChatOptions::default();
        let (rx, client) = live::chat::connect(&opts);
        let (_keep, wanted) = tokio::sync::watch::channel(channels);
        let joiner = tokio::spawn(live::chat::run_joiner(client.clone(), opts, wanted));
        let r = live::record::record(rx, &out, shutdown_signal()).await;
        joiner.abort();
        r
    })?;
    eprintln!(
        "recorded {} lines into {} files",
        stats.lines,
        stats.files.len()
    );
    Ok(())
}
