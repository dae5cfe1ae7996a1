//! `clipper channels`: list, add, remove and change channels in the DynamoDB channels table
//! (`--table`, feature `aws`) or a local JSON file (`--file`).

use super::{runtime, secs};
use clipper_functions::local::JsonChannelStore;
use clipper_functions::notify::NotifyTarget;
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
    /// Discord/Slack webhook for confirmed clips (Slack when the host is hooks.slack.com).
    #[arg(long)]
    webhook: Option<String>,
    /// Alert target for confirmed clips: discord:URL, slack:URL, email:ADDRESS or sms:+E164
    /// (repeatable; added to the channel's targets).
    #[arg(long = "notify", value_name = "TARGET")]
    notify: Vec<String>,
    /// Remove the channel's alert targets (before adding any --notify).
    #[arg(long)]
    notify_clear: bool,
    /// Also alert when a clip fails for good.
    #[arg(long, value_name = "BOOL")]
    notify_failures: Option<bool>,
    /// Also announce dry-run ("would clip") clips.
    #[arg(long, value_name = "BOOL")]
    notify_dry_run: Option<bool>,
    /// Post `clip: URL` in the channel's own chat once a clip is confirmed (off by default;
    /// at most one line per 30 s; the clip token needs the user:write:chat scope).
    #[arg(long, value_name = "on|off", value_parser = on_off)]
    chat_link: Option<bool>,
    /// Once a day (shortly after 00:00 UTC), one message per alert target listing the day's
    /// confirmed clips (off by default).
    #[arg(long, value_name = "on|off", value_parser = on_off)]
    digest: Option<bool>,
}

/// `on`/`off` (also `true`/`false`, `yes`/`no`).
fn on_off(s: &str) -> Result<bool, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" | "1" => Ok(true),
        "off" | "false" | "no" | "0" => Ok(false),
        _ => Err("expected on or off".into()),
    }
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
            webhook_url: self
                .webhook
                .map(|w| NotifyTarget::from_webhook(&w).map(|_| w))
                .transpose()?,
            notify_clear: self.notify_clear,
            notify_add: self
                .notify
                .iter()
                .map(|t| NotifyTarget::parse(t))
                .collect::<Result<_, _>>()?,
            notify_failures: self.notify_failures,
            notify_dry_run: self.notify_dry_run,
            chat_link: self.chat_link,
            digest: self.digest,
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
            // Webhook URLs are secrets: listed redacted.
            for c in admin::list_channels(store).await? {
                println!("{}", c.redacted());
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
            println!("{}", c.redacted());
        }
    }
    Ok(())
}
