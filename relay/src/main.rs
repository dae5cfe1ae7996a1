//! `clipper`: watch Twitch chat, detect the moments it explodes, clip them.

use anyhow::Context;
use clap::{Parser, Subcommand};
use clipper_functions::local::{JsonChannelStore, JsonlClipStore, LocalWindowQueue};
use clipper_functions::twitch::auth::TwitchCredentials;
use clipper_models::{ClipDecision, DetectorConfig};
use clipper_relay::admin;
use clipper_relay::eval;
use clipper_relay::input::ChatFormat;
use clipper_relay::live::{
    self,
    run::{normalise_channels, RunConfig},
    transport::IrcEndpoint,
};
use clipper_relay::replay::{self, ReplayClip, ReplayOptions, ReplaySink};
use clipper_relay::synth::{self, SynthConfig};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

/// mimalloc: chat ingest allocates many small strings per message on several threads, where
/// glibc malloc spent ~40% of the time (perf, ingest benchmark).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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

#[derive(clap::Args, Debug)]
struct ChannelTarget {
    /// DynamoDB channels table (`aws` feature).
    #[arg(long, env = "CLIPPER_CHANNELS_TABLE")]
    table: Option<String>,
    /// Local channels file.
    #[arg(long, default_value = "channels.json")]
    file: PathBuf,
}

#[derive(Subcommand, Debug)]
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

#[derive(Subcommand, Debug)]
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

// Parsed once at start: the size of the `Run` variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
enum Command {
    /// Watch live chat, clip the moments it explodes (7 s after the trigger), keep learning.
    Run {
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
        /// Clip length asked of Twitch, 5-60 s (default: Twitch's 30 s).
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
        #[arg(long, value_name = "FILE")]
        channels_file: Option<PathBuf>,
    },
    /// Configure channels: in the DynamoDB channels table (--table / CLIPPER_CHANNELS_TABLE) or a
    /// local JSON file (--file, default channels.json).
    Channels {
        #[command(flatten)]
        target: ChannelTarget,
        #[command(subcommand)]
        action: ChannelAction,
    },
    /// Clip records: export from the DynamoDB clips table (--table / CLIPPER_CLIPS_TABLE) or
    /// local recordings (--recordings-dir).
    Clips {
        #[command(subcommand)]
        action: ClipsAction,
    },
    /// Save live chat as raw IRC lines with tags (DIR/<channel>.irc.log) for `clipper replay`.
    Record {
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
    },
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
        /// Keep the chat of 1 chatter in N (a stable hash of the user: the same users every run).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
        thin: Option<u32>,
        /// Chat files, replayed in the order given (one stream each).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Replay chat against human labels; print recall / precision beside the best of nine simple
    /// message-count z-score rules (5/10/20 s windows × z ≥ 2/3/4). Or, with --spikes, the ROC
    /// AUC of labelled chat spikes.
    Eval {
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

fn url(s: &str, what: &str) -> anyhow::Result<url::Url> {
    url::Url::parse(s).with_context(|| format!("{what} {s:?} is not a URL"))
}

fn secs(s: f64, what: &str) -> anyhow::Result<std::time::Duration> {
    std::time::Duration::try_from_secs_f64(s)
        .with_context(|| format!("{what}: {s} is not a duration in seconds"))
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: saving models and records");
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

async fn run_live(
    cfg: RunConfig,
    queue_url: Option<String>,
    channels_table: Option<String>,
    channels_file: Option<PathBuf>,
) -> anyhow::Result<live::run::RunSummary> {
    if let Some(file) = channels_file {
        anyhow::ensure!(
            queue_url.is_none() && channels_table.is_none() || cfg!(feature = "aws"),
            "--windows-queue-url and --channels-table need the `aws` build feature"
        );
        let store = std::sync::Arc::new(JsonChannelStore::new(file));
        return Ok(live::run::run_with::<LocalWindowQueue, _>(
            cfg,
            None,
            Some(store),
            shutdown_signal(),
        )
        .await?);
    }
    if queue_url.is_none() && channels_table.is_none() {
        return Ok(live::run::run(cfg, shutdown_signal()).await?);
    }
    run_serverless_relay(cfg, queue_url, channels_table).await
}

#[cfg(feature = "aws")]
async fn run_serverless_relay(
    cfg: RunConfig,
    queue_url: Option<String>,
    channels_table: Option<String>,
) -> anyhow::Result<live::run::RunSummary> {
    use clipper_functions::aws::{AwsConfig, DynamoChannelStore, SqsQueueConfig, SqsWindowQueue};
    use std::sync::Arc;
    let aws = AwsConfig::from_env().await;
    let queue = queue_url.map(|url| {
        Arc::new(SqsWindowQueue::start(
            aws.sqs.clone(),
            url,
            SqsQueueConfig::default(),
        ))
    });
    let channels =
        channels_table.map(|t| Arc::new(DynamoChannelStore::new(aws.dynamodb.clone(), t)));
    let summary = live::run::run_with(cfg, queue.clone(), channels, shutdown_signal()).await?;
    if let Some(q) = queue.and_then(Arc::into_inner) {
        let unsent = q.shutdown(std::time::Duration::from_secs(30)).await;
        anyhow::ensure!(
            unsent == 0,
            "{unsent} window messages could not be sent to SQS before exit"
        );
    }
    Ok(summary)
}

#[cfg(not(feature = "aws"))]
async fn run_serverless_relay(
    _cfg: RunConfig,
    _queue_url: Option<String>,
    _channels_table: Option<String>,
) -> anyhow::Result<live::run::RunSummary> {
    anyhow::bail!("--windows-queue-url and --channels-table need a build with `--features aws`")
}

async fn channels_cmd(target: ChannelTarget, action: ChannelAction) -> anyhow::Result<()> {
    match &target.table {
        #[cfg(feature = "aws")]
        Some(t) => {
            let aws = clipper_functions::aws::AwsConfig::from_env().await;
            let store = clipper_functions::aws::DynamoChannelStore::new(aws.dynamodb, t.clone());
            channels_on(&store, action).await
        }
        #[cfg(not(feature = "aws"))]
        Some(_) => anyhow::bail!("--table needs a build with `--features aws`"),
        None => channels_on(&JsonChannelStore::new(target.file), action).await,
    }
}

async fn channels_on<C: clipper_functions::roles::ChannelStore>(
    store: &C,
    action: ChannelAction,
) -> anyhow::Result<()> {
    let change =
        |s: ChannelSettings, enabled: Option<bool>| -> anyhow::Result<admin::ChannelChange> {
            Ok(admin::ChannelChange {
                enabled,
                threshold: s.threshold,
                cooldown_ms: s
                    .cooldown
                    .map(|c| secs(c, "--cooldown").map(|d| d.as_millis() as i64))
                    .transpose()?,
                webhook_url: s.webhook,
            })
        };
    match action {
        ChannelAction::List => {
            for c in admin::list_channels(store).await? {
                println!("{}", serde_json::to_string(&c)?);
            }
        }
        ChannelAction::Add { channel, settings } => {
            let c = admin::add_channel(store, &channel, &change(settings, None)?).await?;
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
            let c = admin::set_channel(store, &channel, &change(settings, enabled)?).await?;
            println!("{}", serde_json::to_string(&c)?);
        }
    }
    Ok(())
}

#[cfg(feature = "aws")]
async fn export_from_table(
    table: &str,
    channel: Option<&str>,
    since: Option<i64>,
    format: admin::Format,
    out: impl Write,
) -> anyhow::Result<usize> {
    let aws = clipper_functions::aws::AwsConfig::from_env().await;
    let store = clipper_functions::aws::DynamoClipStore::new(aws.dynamodb, table);
    Ok(admin::export_clips(&store, channel, since, format, out).await?)
}

#[cfg(not(feature = "aws"))]
async fn export_from_table(
    _table: &str,
    _channel: Option<&str>,
    _since: Option<i64>,
    _format: admin::Format,
    _out: impl Write,
) -> anyhow::Result<usize> {
    anyhow::bail!("--table needs a build with `--features aws`")
}

fn main() -> anyhow::Result<()> {
    // `.env` fills only variables not already set.
    let _ = dotenvy::dotenv();
    let cli = Cli::parse();
    init_logging(cli.log_json);
    let config = load_config(cli.config.as_ref())?;
    let progress = std::io::stderr().is_terminal();
    match cli.command {
        Command::Run {
            channels,
            twitch,
            models_dir,
            recordings_dir,
            token_file,
            dry_run,
            clip_delay,
            clip_duration,
            confirm_backoff,
            status_every,
            autosave_every,
            joins_per_10s,
            testclip_allow,
            windows_queue_url,
            channels_table,
            channels_file,
        } => {
            let mut detector = config;
            if let Some(d) = clip_delay {
                detector.decision.clip_delay_ms = secs(d, "--clip-delay")?.as_millis() as i64;
            }
            detector.testclip_allowlist.extend(testclip_allow);
            let mut cfg = RunConfig::new(normalise_channels(channels.iter().map(String::as_str)));
            cfg.irc = twitch.irc_addr.parse().map_err(anyhow::Error::msg)?;
            cfg.chat.joins_per_period = joins_per_10s;
            cfg.driver.detector = detector;
            cfg.driver.models_dir = Some(models_dir);
            cfg.driver.status_every = secs(status_every, "--status-every")?;
            cfg.driver.autosave_every = secs(autosave_every, "--autosave-every")?;
            cfg.recordings_dir = recordings_dir;
            cfg.token_file = token_file;
            cfg.dry_run = dry_run;
            cfg.credentials = TwitchCredentials::from_lookup(|k| match k {
                "TWITCH_CLIENT_ID" => twitch.client_id.clone(),
                "TWITCH_CLIENT_SECRET" => twitch.client_secret.clone(),
                "TWITCH_ACCESS_TOKEN" => twitch.access_token.clone(),
                "TWITCH_REFRESH_TOKEN" => twitch.refresh_token.clone(),
                _ => None,
            });
            cfg.helix.helix_base = url(&twitch.helix_url, "--helix-url")?;
            cfg.helix.oauth_base = url(&twitch.oauth_url, "--oauth-url")?;
            cfg.helix.clip_duration_s = clip_duration;
            cfg.emote_providers.seventv = url(&twitch.seventv_url, "--seventv-url")?;
            cfg.emote_providers.bttv = url(&twitch.bttv_url, "--bttv-url")?;
            cfg.emote_providers.ffz = url(&twitch.ffz_url, "--ffz-url")?;
            cfg.clip_flow.confirm_backoff = confirm_backoff
                .iter()
                .map(|s| secs(*s, "--confirm-backoff"))
                .collect::<anyhow::Result<_>>()?;
            cfg.forward.relay_id = std::env::var("HOSTNAME").unwrap_or_else(|_| "relay".into());
            let summary = runtime()?.block_on(run_live(
                cfg,
                windows_queue_url,
                channels_table,
                channels_file,
            ))?;
            if let Some(f) = summary.forwarded {
                eprintln!(
                    "forwarded {} windows in {} queue messages",
                    f.windows, f.messages
                );
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
        }
        Command::Channels { target, action } => {
            runtime()?.block_on(channels_cmd(target, action))?;
        }
        Command::Clips {
            action:
                ClipsAction::Export {
                    channel,
                    since,
                    format,
                    table,
                    recordings_dir,
                },
        } => {
            let since = since
                .map(|s| admin::parse_since(&s, live::driver::now_ms()))
                .transpose()?;
            let format = match format {
                ExportFormat::Csv => admin::Format::Csv,
                ExportFormat::Json => admin::Format::Json,
            };
            let n = runtime()?.block_on(async move {
                let out = std::io::stdout().lock();
                match table {
                    Some(t) => export_from_table(&t, channel.as_deref(), since, format, out).await,
                    None => {
                        let store = JsonlClipStore::open(&recordings_dir)
                            .with_context(|| format!("reading {}", recordings_dir.display()))?;
                        Ok(
                            admin::export_clips(&store, channel.as_deref(), since, format, out)
                                .await?,
                        )
                    }
                }
            })?;
            eprintln!("{n} clips");
        }
        Command::Record {
            channels,
            out,
            irc_addr,
        } => {
            let channels = normalise_channels(channels.iter().map(String::as_str));
            let endpoint: IrcEndpoint = irc_addr.parse().map_err(anyhow::Error::msg)?;
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
        }
        Command::Replay {
            channel,
            models_dir,
            json,
            windows,
            thin,
            files,
        } => {
            let opts = ReplayOptions {
                channel,
                models_dir,
                config,
                progress,
                thin,
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
            spikes,
            channel,
            models_dir,
            chart_dir,
            thin,
            ablate,
            rules,
            json,
            files,
        } => {
            let mut config = config;
            for part in &ablate {
                eval::ablate(&mut config.decision.ablate, part)?;
            }
            if let Some(path) = spikes {
                let started = std::time::Instant::now();
                let spikes = eval::load_spikes(&path)?;
                let report = eval::evaluate_spikes(&spikes, &config, thin);
                if json {
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
            let labels = eval::load_labels(&labels.context("--labels is required")?)?;
            let opts = ReplayOptions {
                channel,
                models_dir,
                config,
                progress,
                thin,
            };
            let (report, _streams, s) =
                eval::evaluate(&files, &labels, &opts, chart_dir.as_deref())?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", eval::render(&report, rules));
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
