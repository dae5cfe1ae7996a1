//! `clipper run`: watch live chat and clip its moments (flags, environment, `.env`), locally or,
//! with a windows queue, as the serverless relay.

use super::{runtime, secs, shutdown_signal, url};
use anyhow::Context;
use clipper_functions::local::{JsonChannelStore, LocalWindowQueue};
use clipper_functions::twitch::auth::TwitchCredentials;
use clipper_models::DetectorConfig;
use clipper_relay::dashboard::DashboardConfig;
use clipper_relay::live::run::{self, normalise_channels, RunConfig, RunSummary};
use std::path::PathBuf;

#[cfg(feature = "aws")]
use super::aws::run_serverless_relay;

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// Channels to watch (comma-separated).
    #[arg(long, env = "TWITCH_CHANNELS", value_delimiter = ',', required_unless_present_any = ["channels_table", "channels_file"])]
    channels: Vec<String>,
    #[command(flatten)]
    twitch: TwitchArgs,
    /// Channel models: loaded at start, saved every 10 minutes and at shutdown.
    #[arg(long, value_name = "DIR", default_value = "models")]
    models_dir: PathBuf,
    /// clip_urls.txt and clips.jsonl go here.
    #[arg(long, value_name = "DIR", default_value = "recordings")]
    recordings_dir: PathBuf,
    /// Where rotated user tokens are kept (wins over TWITCH_ACCESS_TOKEN once written).
    #[arg(long, value_name = "FILE", default_value = ".clipper-tokens.json")]
    token_file: PathBuf,
    /// Record clips as "would clip" even with a user token.
    #[arg(long)]
    dry_run: bool,
    /// Seconds from trigger to Create Clip (overrides the config file).
    #[arg(long, value_name = "SECS")]
    clip_delay: Option<f64>,
    /// Fixed clip length asked of Twitch, 5-60 s (default: each clip's own span, 30-60 s,
    /// reaching back to the moment).
    #[arg(long, value_name = "SECS")]
    clip_duration: Option<f64>,
    /// Get Clips checks after Create Clip, seconds apart.
    #[arg(long, value_delimiter = ',', default_value = "15,30,60")]
    confirm_backoff: Vec<f64>,
    /// Seconds between status lines.
    #[arg(long, default_value_t = 60.0)]
    status_every: f64,
    /// Seconds between model saves.
    #[arg(long, default_value_t = 600.0)]
    autosave_every: f64,
    /// JOINs allowed per 10 s.
    #[arg(long, default_value_t = 20)]
    joins_per_10s: usize,
    /// Logins (besides broadcaster and moderators) whose `!testclip` forces a clip.
    #[arg(long, value_delimiter = ',')]
    testclip_allow: Vec<String>,
    /// Serverless relay: send windows to this SQS queue instead of scoring here (needs the
    /// `aws` build feature).
    #[arg(long, env = "CLIPPER_WINDOWS_QUEUE_URL")]
    windows_queue_url: Option<String>,
    /// Read channels from this DynamoDB table (re-read every minute; `aws` feature).
    #[arg(long, env = "CLIPPER_CHANNELS_TABLE")]
    channels_table: Option<String>,
    /// Read channels from this JSON file (re-read every minute), instead of --channels.
    /// With the dashboard on it defaults to `channels.json`, and --channels are added to it.
    #[arg(long, value_name = "FILE")]
    channels_file: Option<PathBuf>,
    #[command(flatten)]
    dashboard: DashboardArgs,
}

#[derive(clap::Args, Debug)]
struct DashboardArgs {
    /// Serve the web dashboard here.
    #[arg(
        long = "dashboard",
        value_name = "ADDR",
        env = "CLIPPER_DASHBOARD",
        default_value = "127.0.0.1:8080"
    )]
    addr: std::net::SocketAddr,
    /// Do not serve the dashboard.
    #[arg(long)]
    no_dashboard: bool,
    /// The dashboard's address as browsers reach it (default `http://ADDR`); the Twitch log-in
    /// redirect is `{URL}/auth/callback`.
    #[arg(long, value_name = "URL", env = "CLIPPER_PUBLIC_URL")]
    public_url: Option<String>,
    /// A Twitch login that manages every channel in the dashboard (repeatable).
    #[arg(long = "admin", value_name = "LOGIN")]
    admins: Vec<String>,
}

#[derive(clap::Args, Debug)]
struct TwitchArgs {
    /// Application client id (Helix reads; with a user token, clips).
    #[arg(long, env = "TWITCH_CLIENT_ID", hide_env_values = true)]
    client_id: Option<String>,
    /// Application secret (app token for viewer counts and emotes; token refresh).
    #[arg(long, env = "TWITCH_CLIENT_SECRET", hide_env_values = true)]
    client_secret: Option<String>,
    /// User access token with `clips:edit`. Without it: dry run.
    #[arg(long, env = "TWITCH_ACCESS_TOKEN", hide_env_values = true)]
    access_token: Option<String>,
    /// Its refresh token (rotated tokens are saved to --token-file).
    #[arg(long, env = "TWITCH_REFRESH_TOKEN", hide_env_values = true)]
    refresh_token: Option<String>,
    /// IRC server: `host:port` (TLS unless port 6667), `irc://` or `ircs://`.
    #[arg(
        long,
        env = "CLIPPER_IRC_ADDR",
        default_value = "irc.chat.twitch.tv:6697"
    )]
    irc_addr: String,
    #[arg(
        long,
        env = "CLIPPER_HELIX_URL",
        default_value = "https://api.twitch.tv/helix"
    )]
    helix_url: String,
    #[arg(
        long,
        env = "CLIPPER_OAUTH_URL",
        default_value = "https://id.twitch.tv/oauth2"
    )]
    oauth_url: String,
    #[arg(long, env = "CLIPPER_7TV_URL", default_value = "https://7tv.io")]
    seventv_url: String,
    #[arg(
        long,
        env = "CLIPPER_BTTV_URL",
        default_value = "https://api.betterttv.net"
    )]
    bttv_url: String,
    #[arg(
        long,
        env = "CLIPPER_FFZ_URL",
        default_value = "https://api.frankerfacez.com"
    )]
    ffz_url: String,
}

impl RunArgs {
    /// The live pipeline's settings from the flags and the detection settings.
    fn config(&self, mut detector: DetectorConfig) -> anyhow::Result<RunConfig> {
        let twitch = &self.twitch;
        if let Some(d) = self.clip_delay {
            detector.decision.clip_delay_ms = secs(d, "--clip-delay")?.as_millis() as i64;
        }
        detector
            .testclip_allowlist
            .extend(self.testclip_allow.iter().cloned());
        let mut cfg = RunConfig::new(normalise_channels(self.channels.iter().map(String::as_str)));
        cfg.irc = twitch.irc_addr.parse().map_err(anyhow::Error::msg)?;
        cfg.chat.joins_per_period = self.joins_per_10s;
        cfg.driver.detector = detector;
        cfg.driver.models_dir = Some(self.models_dir.clone());
        cfg.driver.status_every = secs(self.status_every, "--status-every")?;
        cfg.driver.autosave_every = secs(self.autosave_every, "--autosave-every")?;
        cfg.recordings_dir = self.recordings_dir.clone();
        cfg.token_file = self.token_file.clone();
        cfg.dry_run = self.dry_run;
        // A global alert target for every channel (besides each channel's own).
        cfg.notify_defaults = clipper_functions::notify::default_targets_from_env()?;
        cfg.smtp = clipper_functions::notify::SmtpSettings::from_env()?;
        cfg.credentials = TwitchCredentials::from_lookup(|k| match k {
            "TWITCH_CLIENT_ID" => twitch.client_id.clone(),
            "TWITCH_CLIENT_SECRET" => twitch.client_secret.clone(),
            "TWITCH_ACCESS_TOKEN" => twitch.access_token.clone(),
            "TWITCH_REFRESH_TOKEN" => twitch.refresh_token.clone(),
            _ => None,
        });
        cfg.helix.helix_base = url(&twitch.helix_url, "--helix-url")?;
        cfg.helix.oauth_base = url(&twitch.oauth_url, "--oauth-url")?;
        cfg.helix.clip_duration_s = self.clip_duration;
        cfg.emote_providers.seventv = url(&twitch.seventv_url, "--seventv-url")?;
        cfg.emote_providers.bttv = url(&twitch.bttv_url, "--bttv-url")?;
        cfg.emote_providers.ffz = url(&twitch.ffz_url, "--ffz-url")?;
        cfg.clip_flow.confirm_backoff = self
            .confirm_backoff
            .iter()
            .map(|s| secs(*s, "--confirm-backoff"))
            .collect::<anyhow::Result<_>>()?;
        cfg.forward.relay_id = std::env::var("HOSTNAME").unwrap_or_else(|_| "relay".into());
        let d = &self.dashboard;
        if !d.no_dashboard {
            let mut dash = DashboardConfig::new(d.addr)?;
            if let Some(u) = &d.public_url {
                dash.public_url = url(u, "--public-url")?;
            }
            dash.oauth_base = cfg.helix.oauth_base.clone();
            dash.client_id.clone_from(&cfg.credentials.client_id);
            dash.client_secret
                .clone_from(&cfg.credentials.client_secret);
            dash.admins = d
                .admins
                .iter()
                .map(|a| a.trim().to_ascii_lowercase())
                .collect();
            dash.token_file = Some(self.token_file.clone());
            cfg.dashboard = Some(dash);
        }
        Ok(cfg)
    }
}

pub fn run(mut args: RunArgs, config: DetectorConfig) -> anyhow::Result<()> {
    let cfg = args.config(config)?;
    // The dashboard edits a channels file: `channels.json` unless one is named; --channels
    // missing from it are added to it.
    if cfg.dashboard.is_some()
        && args.channels_file.is_none()
        && args.channels_table.is_none()
        && args.windows_queue_url.is_none()
    {
        args.channels_file = Some(PathBuf::from(DEFAULT_CHANNELS_FILE));
    }
    if cfg.dashboard.is_some() {
        if let Some(file) = &args.channels_file {
            let names = cfg.channels.clone();
            runtime()?.block_on(seed_channels(file, &names))?;
        }
    }
    let summary = runtime()?.block_on(run_live(
        cfg,
        args.windows_queue_url,
        args.channels_table,
        args.channels_file,
    ))?;
    if let Some(f) = summary.forwarded {
        eprintln!(
            "forwarded {} windows in {} queue messages; {} windows not sent ({} shed while the queue was down)",
            f.windows, f.messages, f.unsent, summary.stats.windows_shed
        );
    }
    if let Some(url) = &summary.dashboard {
        eprintln!("dashboard was at {url}");
    }
    eprintln!(
        "{}: {} messages, {} windows, {} triggers, {} clips due, {} finished, {} models saved",
        summary.mode,
        summary.stats.messages,
        summary.stats.windows,
        summary.stats.triggers,
        summary.stats.clips,
        summary.clips_finished,
        summary.stats.models_saved
    );
    Ok(())
}

/// The channels file the dashboard edits when `--channels-file` is not given.
const DEFAULT_CHANNELS_FILE: &str = "channels.json";

/// Adds `names` missing from the channels file `file` (enabled).
async fn seed_channels(file: &std::path::Path, names: &[String]) -> anyhow::Result<()> {
    use clipper_functions::roles::{ChannelConfig, ChannelStore};
    let store = JsonChannelStore::new(file);
    let have = store
        .list()
        .await
        .with_context(|| format!("reading {}", file.display()))?;
    for n in names {
        if !have.iter().any(|c| &c.channel == n) {
            store
                .put(&ChannelConfig::new(n))
                .await
                .with_context(|| format!("writing {}", file.display()))?;
        }
    }
    Ok(())
}

async fn run_live(
    cfg: RunConfig,
    queue_url: Option<String>,
    channels_table: Option<String>,
    channels_file: Option<PathBuf>,
) -> anyhow::Result<RunSummary> {
    if let Some(file) = channels_file {
        anyhow::ensure!(
            queue_url.is_none() && channels_table.is_none() || cfg!(feature = "aws"),
            "--windows-queue-url and --channels-table need the `aws` build feature"
        );
        let store = std::sync::Arc::new(JsonChannelStore::new(file));
        return Ok(
            run::run_with::<LocalWindowQueue, _>(cfg, None, Some(store), shutdown_signal()).await?,
        );
    }
    if queue_url.is_none() && channels_table.is_none() {
        return Ok(run::run(cfg, shutdown_signal()).await?);
    }
    run_serverless_relay(cfg, queue_url, channels_table).await
}

/// Without the `aws` feature there is no serverless relay.
#[cfg(not(feature = "aws"))]
async fn run_serverless_relay(
    _: RunConfig,
    _: Option<String>,
    _: Option<String>,
) -> anyhow::Result<RunSummary> {
    anyhow::bail!("--windows-queue-url and --channels-table need a build with `--features aws`")
}
