//! `clipper channels`: list, add, remove and change channels in the DynamoDB channels table
//! (`--table`, feature `aws`) or a local JSON file (`--file`).

use super::{runtime, secs};
use clipper_functions::local::JsonChannelStore;
use clipper_functions::roles::ChannelStore;
use clipper_relay::admin;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct ChannelsArgs {
    #[command(flatten)]
    target: ChannelTarget,
    #[command(subcommand)]
    action: ChannelAction,
}

#[derive(clap::Args, Debug)]
struct ChannelTarget {
    /// DynamoDB channels table (`aws` feature).
    #[arg(long, env = "CLIPPER_CHANNELS_TABLE")]
    table: Option<String>,
    /// Local channels file.
    #[arg(long, default_value = "channels.json")]
    file: PathBuf,
}

#[derive(clap::Subcommand, Debug)]
enum ChannelAction {
    /// List channels and their settings.
    List,
    /// Add (or replace) a channel, enabled.
    Add {
        channel: String,
        #[command(flatten)]
        settings: ChannelSettings,
    },
    /// Remove a channel.
    Remove { channel: String },
    /// Change a channel's settings.
    Set {
        channel: String,
        /// Enable or disable without removing.
        #[arg(long)]
        enabled: Option<bool>,
        #[command(flatten)]
        settings: ChannelSettings,
    },
}

#[derive(clap::Args, Debug)]
struct ChannelSettings {
    /// Decision threshold override.
    #[arg(long)]
    threshold: Option<f64>,
    /// Cooldown override in seconds.
    #[arg(long)]
    cooldown: Option<f64>,
    /// Discord/Slack webhook for confirmed clips.
    #[arg(long)]
    webhook: Option<String>,
}

impl ChannelSettings {
    fn change(self, enabled: Option<bool>) -> anyhow::Result<admin::ChannelChange> {
        Ok(admin::ChannelChange {
            enabled,
            threshold: self.threshold,
            cooldown_ms: self
                .cooldown
                .map(|c| secs(c, "--cooldown").map(|d| d.as_millis() as i64))
                .transpose()?,
            webhook_url: self.webhook,
        })
    }
}

pub fn channels(args: ChannelsArgs) -> anyhow::Result<()> {
    let (target, action) = (args.target, args.action);
    runtime()?.block_on(async move {
        match target.table {
            #[cfg(feature = "aws")]
            Some(t) => apply(&super::aws::channel_store(t).await, action).await,
            #[cfg(not(feature = "aws"))]
            Some(_) => anyhow::bail!(super::NEEDS_AWS),
            None => apply(&JsonChannelStore::new(target.file), action).await,
        }
    })
}

async fn apply<C: ChannelStore>(store: &C, action: ChannelAction) -> anyhow::Result<()> {
    match action {
        ChannelAction::List => {
            for c in admin::list_channels(store).await? {
                println!("{}", serde_json::to_string(&c)?);
            }
        }
        ChannelAction::Add { channel, settings } => {
            let c = admin::add_channel(store, &channel, &settings.change(None)?).await?;
            eprintln!("added {}", c.channel);
        }
        ChannelAction::Remove { channel } => {
            if admin::remove_channel(store, &channel).await? {
                eprintln!("removed {channel}");
            } else {
                anyhow::bail!("no channel {channel:?}");
            }
        }
        ChannelAction::Set {
            channel,
            enabled,
            settings,
        } => {
            let c = admin::set_channel(store, &channel, &settings.change(enabled)?).await?;
            println!("{}", serde_json::to_string(&c)?);
        }
    }
    Ok(())
}
