//! `clipper run`: wiring of chat, driver, clip worker (or window forwarder) and Helix pollers.
//! Only wiring: the logic lives in the driver, the detection core and `clipper-functions`.

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clipper_functions::clip_flow::ClipFlowConfig;
use clipper_functions::local::JsonlClipStore;
use clipper_functions::notify::{
    chat::HelixChatSender, JsonlDeliveryLog, Messages, Notifier, NotifyConfig, NotifyTarget,
    SmtpSender, SmtpSettings,
};
use clipper_functions::twitch::auth::{FileTokenStore, MemoryTokenStore, TwitchCredentials};
use clipper_functions::twitch::{
    EmoteCatalog, EmoteProviders, HelixClient, HelixConfig, StreamsBy,
};
use serde::Serialize;
use tokio::sync::{mpsc, watch, Notify};

use clipper_functions::local::{JsonChannelStore, LocalWindowQueue};
use clipper_functions::roles::{ChannelConfig, ChannelStore, TokenStore, WindowQueue};
use clipper_functions::twitch::UserTokens;

use super::chat::{self, ChatOptions};
use super::clips::{pending_jobs, run_clip_worker};
use super::driver::{Control, Driver, DriverOptions, DriverStats};
use super::forward::{finish_forwarder, run_forwarder, ForwardOptions, ForwardStats, SentCounter};
use super::notify::{run_digests, run_notify_worker};
use super::transport::{set_endpoint, IrcEndpoint};
use crate::dashboard::{self, DashboardConfig, Events, PublishingClipStore};
use crate::error::{RelayError, Result};

/// Everything `clipper run` needs.
#[derive(Debug, Clone)]
pub struct RunConfig {
    pub channels: Vec<String>,
    pub irc: IrcEndpoint,
    pub chat: ChatOptions,
    pub driver: DriverOptions,
    /// `clip_urls.txt` and `clips.jsonl` go here (not used when forwarding).
    pub recordings_dir: PathBuf,
    pub credentials: TwitchCredentials,
    /// Helix and OAuth base URLs (client id comes from `credentials`).
    pub helix: HelixConfig,
    pub emote_providers: EmoteProviders,
    /// Rotated user tokens are persisted here (not when forwarding: kept in memory).
    pub token_file: PathBuf,
    pub clip_flow: ClipFlowConfig,
    /// Record clips as "would clip" even with a user token.
    pub dry_run: bool,
    pub viewers_every: Duration,
    pub emotes_every: Duration,
    /// How long shutdown waits for clips in flight (their records are written at every step).
    pub drain_timeout: Duration,
    /// Packing of windows when forwarding to a queue.
    pub forward: ForwardOptions,
    /// How often the channel store (if any) is re-read.
    pub channels_every: Duration,
    /// The web dashboard (needs a channel store; not served by the serverless relay).
    pub dashboard: Option<DashboardConfig>,
    /// Alert targets of every channel (`CLIPPER_NOTIFY`), besides each channel's own.
    pub notify_defaults: Vec<NotifyTarget>,
    /// Retries, rate limits and timeouts of alerts.
    pub notify: NotifyConfig,
    /// Email alerts over SMTP (`CLIPPER_SMTP_*`); `None`: email targets are reported as not
    /// configured.
    pub smtp: Option<SmtpSettings>,
}

impl RunConfig {
    /// Defaults for `channels`, no credentials.
    pub fn new(channels: Vec<String>) -> Self {
        RunConfig {
            channels,
            irc: IrcEndpoint::default(),
            chat: ChatOptions::default(),
            driver: DriverOptions::default(),
            recordings_dir: PathBuf::from("recordings"),
            credentials: TwitchCredentials::default(),
            helix: HelixConfig::new(""),
            emote_providers: EmoteProviders::default(),
            token_file: PathBuf::from(".clipper-tokens.json"),
            clip_flow: ClipFlowConfig::default(),
            dry_run: false,
            viewers_every: Duration::from_secs(60),
            emotes_every: Duration::from_secs(30 * 60),
            // A clip triggered just before the stop is due up to 7 s later, then Create Clip
            // (up to 10 s): 25 s fits ECS's 30 s stop timeout. What is still running after it
            // stays Pending in the store and the next start resumes it.
            drain_timeout: Duration::from_secs(25),
            forward: ForwardOptions::default(),
            channels_every: Duration::from_secs(60),
            dashboard: None,
            notify_defaults: Vec::new(),
            notify: NotifyConfig::default(),
            smtp: None,
        }
    }
}

/// What a run did.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    /// Where the dashboard was served (its public URL), if it was.
    pub dashboard: Option<String>,
    pub mode: String,
    pub stats: DriverStats,
    pub clips_finished: u64,
    /// Alert posts delivered (every target counted).
    pub alerts_delivered: u64,
    /// Windows forwarded to the queue (serverless relay).
    pub forwarded: Option<ForwardStats>,
}

/// Normalises channel names (`#Name` → `name`), dropping empties and duplicates.
pub fn normalise_channels<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut v: Vec<String> = names
        .into_iter()
        .flat_map(|s| s.split(','))
        .map(|s| s.trim().trim_start_matches('#').to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect();
    v.sort();
    v.dedup();
    v
}

/// Where rotated user tokens are kept: the token file when clipping here; memory only when
/// forwarding (the relay never clips, and its container's filesystem is read-only).
#[derive(Debug)]
enum Tokens {
    File(FileTokenStore),
    Memory(MemoryTokenStore),
}

impl TokenStore for Tokens {
    async fn load(&self) -> clipper_functions::Result<Option<UserTokens>> {
        match self {
            Tokens::File(s) => s.load().await,
            Tokens::Memory(s) => s.load().await,
        }
    }

    async fn save(&self, tokens: &UserTokens) -> clipper_functions::Result<()> {
        match self {
            Tokens::File(s) => s.save(tokens).await,
            Tokens::Memory(s) => s.save(tokens).await,
        }
    }
}

type Helix = HelixClient<Tokens>;

/// Where a run's results go: windows to a queue (serverless relay), or clips made here.
enum Sink<Q> {
    Forward(Arc<Q>),
    Clip(Arc<JsonlClipStore>),
}

/// Runs live clipping until `shutdown` completes.
pub async fn run(cfg: RunConfig, shutdown: impl Future<Output = ()> + Send) -> Result<RunSummary> {
    run_with::<LocalWindowQueue, JsonChannelStore>(cfg, None, None, shutdown).await
}

/// [`run`], optionally as the serverless relay: with `queue`, every channel only aggregates
/// windows and closed windows are forwarded there (packed, see [`super::forward`]); no model,
/// clip or file is made here (`models_dir`, `recordings_dir` and `token_file` are not used).
/// With `channel_store`, the channel set is re-read every `channels_every` (enabled channels
/// only) and joins/parts, viewer polls and emote refreshes follow without a restart.
pub async fn run_with<Q, C>(
    cfg: RunConfig,
    queue: Option<Arc<Q>>,
    channel_store: Option<Arc<C>>,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<RunSummary>
where
    Q: WindowQueue + 'static,
    C: ChannelStore + 'static,
{
    let mut cfg = cfg;
    let mut settings = None;
    if let Some(store) = &channel_store {
        match store.list().await {
            Ok(list) => {
                cfg.channels = enabled(&list);
                settings = Some(list);
            }
            Err(e) => return Err(RelayError::Invalid(format!("channel store: {e}"))),
        }
    }
    if cfg.channels.is_empty() && channel_store.is_none() {
        return Err(RelayError::Invalid(
            "no channels: pass --channels a,b or set TWITCH_CHANNELS".into(),
        ));
    }
    set_endpoint(cfg.irc.clone());
    // Checked before anything connects: clipping here writes records.
    let sink = match queue {
        Some(q) => Sink::Forward(q),
        None => Sink::Clip(Arc::new(
            JsonlClipStore::open(&cfg.recordings_dir).map_err(|e| {
                RelayError::Invalid(format!(
                    "recordings directory {}: {e}",
                    cfg.recordings_dir.display()
                ))
            })?,
        )),
    };

    // The dashboard listens before anything connects, so a port clash shows at once.
    let dashboard_bound = match (&cfg.dashboard, &sink, &channel_store) {
        (Some(d), Sink::Clip(_), Some(_)) => match dashboard::bind(d.addr).await {
            Ok(b) => Some(b),
            Err(e) => {
                tracing::warn!(error = %e, "dashboard not started; clipping goes on without it");
                None
            }
        },
        (Some(_), Sink::Forward(_), _) => {
            tracing::info!("the serverless relay serves no dashboard");
            None
        }
        (Some(_), _, None) => {
            tracing::warn!("dashboard not started: it needs a channels file");
            None
        }
        _ => None,
    };
    let dashboard_url = dashboard_bound.as_ref().and_then(|b| {
        cfg.dashboard.as_ref().map(|d| {
            if d.public_url.port_or_known_default() == Some(0) || d.addr.port() == 0 {
                format!("http://{}", b.local_addr)
            } else {
                d.public_url.as_str().trim_end_matches('/').to_owned()
            }
        })
    });
    let events = Events::new();
    let channels_changed = Arc::new(Notify::new());

    let helix: Option<Arc<Helix>> = if cfg.credentials.client_id.is_empty() {
        None
    } else {
        let tokens = match &sink {
            Sink::Forward(_) => Tokens::Memory(MemoryTokenStore::default()),
            Sink::Clip(_) => Tokens::File(FileTokenStore::new(&cfg.token_file)),
        };
        let h = HelixClient::from_credentials(cfg.helix.clone(), &cfg.credentials, tokens)
            .await
            .map_err(|e| RelayError::Invalid(format!("Twitch credentials: {e}")))?;
        Some(Arc::new(h))
    };
    let reads_helix = helix.as_ref().is_some_and(|h| h.can_read());

    let (chat_rx, client) = chat::connect(&cfg.chat);
    let (wanted_tx, wanted_rx) = watch::channel(cfg.channels.clone());
    let joiner = tokio::spawn(chat::run_joiner(
        client.clone(),
        cfg.chat.clone(),
        wanted_rx,
    ));

    let (control_tx, control_rx) = mpsc::unbounded_channel();
    let (room_tx, room_rx) = mpsc::unbounded_channel();
    let mut forwarder = None;
    let sent = SentCounter::default();
    let mut worker = None;
    let mut server = None;
    let mut alerter = None;
    let mut digests = None;
    let (driver, mode) = match sink {
        Sink::Forward(q) => {
            let (tx, rx) = mpsc::channel(cfg.forward.max_backlog.max(1));
            let opts = cfg.forward.clone();
            let counter = sent.clone();
            forwarder = Some(tokio::spawn(async move {
                run_forwarder(&*q, rx, opts, counter).await
            }));
            let mode = "forwarding windows to the queue; scoring and clips happen in the functions";
            let _ = &dashboard_bound;
            tracing::info!(
                channels = cfg.channels.len(),
                irc = %cfg.irc,
                relay = %cfg.forward.relay_id,
                viewers = reads_helix,
                "{mode}"
            );
            (
                Driver::forwarding(cfg.driver.clone(), &cfg.channels, tx),
                mode.to_owned(),
            )
        }
        Sink::Clip(store) => {
            let (clip_api, mode, owner) = clip_mode(&cfg, helix.as_ref()).await;
            tracing::info!(
                channels = cfg.channels.len(),
                irc = %cfg.irc,
                recordings = %cfg.recordings_dir.display(),
                viewers = reads_helix,
                dashboard = dashboard_url.as_deref().unwrap_or("off"),
                "{mode}"
            );
            if let (Some(bound), Some(d), Some(channels)) = (
                dashboard_bound,
                cfg.dashboard.clone(),
                channel_store.clone(),
            ) {
                let app = dashboard::App::new(
                    d,
                    owner,
                    channels,
                    store.clone(),
                    events.clone(),
                    channels_changed.clone(),
                )?;
                // View counts on the clips and analytics pages, from Get Clips.
                let app = match helix.as_ref().filter(|h| h.can_read()) {
                    Some(h) => app.with_views(
                        Arc::new(dashboard::views::ClipApiViews(h.clone())),
                        dashboard::views::DEFAULT_MAX_AGE,
                    ),
                    None => app,
                };
                // Downloads (Get Clips Download) with the clipper's user token, saved under
                // recordings/downloads.
                let app = match helix.as_ref().filter(|h| h.can_clip()) {
                    Some(h) => {
                        app.with_downloads(Arc::new(dashboard::downloads::HelixDownloads::saving(
                            h.clone(),
                            cfg.recordings_dir.join("downloads"),
                        )))
                    }
                    None => app,
                };
                server = Some(tokio::spawn(dashboard::serve(
                    bound,
                    Arc::new(app),
                    std::future::pending(),
                )));
            }
            let (clip_tx, clip_rx) = mpsc::unbounded_channel();
            // What a previous run triggered or started and did not finish.
            for job in pending_jobs(&*store, super::driver::now_ms()).await {
                let _ = clip_tx.send(job);
            }
            let (alert_tx, alert_rx) = mpsc::unbounded_channel();
            let log = JsonlDeliveryLog::open(&cfg.recordings_dir).map_err(|e| {
                RelayError::Invalid(format!(
                    "delivery log in {}: {e}",
                    cfg.recordings_dir.display()
                ))
            })?;
            let smtp = cfg
                .smtp
                .as_ref()
                .map(SmtpSender::new)
                .transpose()
                .map_err(|e| RelayError::Invalid(format!("email alerts: {e}")))?;
            let messages = Messages {
                email: smtp,
                sms: sms_sender().await,
                // The link back in chat (channels with `chat_link` on) uses the clip token.
                chat: helix
                    .as_ref()
                    .filter(|h| h.can_clip())
                    .map(|h| HelixChatSender::new(h.clone())),
            };
            let notifier = Arc::new(
                Notifier::with_messages(log, messages, cfg.notify.clone())
                    .map_err(|e| RelayError::Invalid(format!("alerts: {e}")))?,
            );
            // Daily digests (channels with `digest` on; they live in the channel store).
            if let Some(channels) = channel_store.clone() {
                digests = Some(tokio::spawn(run_digests(
                    notifier.clone(),
                    channels,
                    store.clone(),
                    cfg.notify_defaults.clone(),
                )));
            }
            alerter = Some(tokio::spawn(run_notify_worker(
                notifier,
                channel_store.clone(),
                cfg.notify_defaults.clone(),
                alert_rx,
            )));
            worker = Some(tokio::spawn(run_clip_worker(
                clip_api,
                Arc::new(PublishingClipStore::new(store, events.clone())),
                cfg.clip_flow.clone(),
                clip_rx,
                control_tx.clone(),
                Some(alert_tx),
            )));
            (
                Driver::new(
                    cfg.driver.clone(),
                    &cfg.channels,
                    clip_tx,
                    control_tx.clone(),
                ),
                mode,
            )
        }
    };
    let driver = driver.with_room_ids(room_tx).with_events(events);

    let mut side = Vec::new();
    if let Some(h) = helix.clone().filter(|h| h.can_read()) {
        side.push(tokio::spawn(poll_viewers(
            h,
            wanted_tx.subscribe(),
            cfg.viewers_every,
            control_tx.clone(),
        )));
    }
    let catalog = match &helix {
        Some(h) if h.can_read() => EmoteCatalog::new(cfg.emote_providers.clone(), Some(h.clone())),
        _ => EmoteCatalog::<Tokens>::new(cfg.emote_providers.clone(), None),
    };
    match catalog {
        Ok(c) => side.push(tokio::spawn(poll_emotes(
            Arc::new(c),
            room_rx,
            wanted_tx.subscribe(),
            cfg.emotes_every,
            control_tx.clone(),
        ))),
        Err(e) => tracing::warn!(error = %e, "emote providers disabled"),
    }
    if let Some(list) = &settings {
        // Before any chat: the driver reads its control channel first.
        let _ = control_tx.send(Control::Settings(list.clone()));
    }
    if let Some(store) = channel_store.clone() {
        side.push(tokio::spawn(poll_channels(
            store,
            settings.unwrap_or_default(),
            cfg.channels_every,
            channels_changed,
            wanted_tx.clone(),
            control_tx.clone(),
        )));
    }
    drop(control_tx);

    let stats = driver.run(chat_rx, control_rx, shutdown).await;
    let forwarded = match forwarder {
        Some(h) => {
            let passed_on = stats.windows.saturating_sub(stats.windows_shed);
            let mut f = finish_forwarder(h, &sent, passed_on, cfg.forward.shutdown_grace).await;
            // Shed while the queue was down, or left when the grace ran out.
            f.unsent += stats.windows_shed;
            Some(f)
        }
        None => None,
    };
    drop(wanted_tx);
    joiner.abort();
    if let Some(s) = server {
        s.abort();
    }
    for t in side {
        t.abort();
    }
    if let Some(d) = digests {
        d.abort();
    }
    drop(client);
    let clips_finished = match worker {
        None => 0,
        Some(worker) => match tokio::time::timeout(cfg.drain_timeout, worker).await {
            Ok(Ok(n)) => n,
            Ok(Err(e)) => {
                tracing::error!(error = %e, "clip worker failed");
                0
            }
            Err(_) => {
                tracing::warn!("clips still in flight at shutdown; their last state is recorded");
                0
            }
        },
    };
    // The clip worker is done (or timed out): its alert sender is gone once it is dropped.
    let alerts_delivered = match alerter {
        None => 0,
        Some(a) => match tokio::time::timeout(cfg.drain_timeout, a).await {
            Ok(Ok(n)) => n,
            Ok(Err(e)) => {
                tracing::error!(error = %e, "alert worker failed");
                0
            }
            Err(_) => {
                tracing::warn!("alerts still in flight at shutdown; undelivered ones stay claimed or released in the delivery log");
                0
            }
        },
    };
    Ok(RunSummary {
        dashboard: dashboard_url,
        mode,
        stats,
        clips_finished,
        alerts_delivered,
        forwarded,
    })
}

/// The Create Clip client to use (none: dry run), the mode line saying why, and the login of
/// the account whose token runs the clipper (if a token validated).
async fn clip_mode(
    cfg: &RunConfig,
    helix: Option<&Arc<Helix>>,
) -> (Option<Arc<Helix>>, String, Option<String>) {
    let mut clip_api = helix.cloned().filter(|h| h.can_clip() && !cfg.dry_run);
    let mut owner = None;
    let mode = match &clip_api {
        Some(h) => match h.user_auth() {
            Some(user) => match user.validate().await {
                Ok(info) if info.has_scope("clips:edit") => {
                    owner.clone_from(&info.login);
                    format!("live clipping as {}", info.login.unwrap_or_default())
                }
                Ok(info) => {
                    owner.clone_from(&info.login);
                    clip_api = None;
                    format!(
                        "dry run: the token of {} lacks the clips:edit scope; clips are recorded as \"would clip\"",
                        info.login.unwrap_or_default()
                    )
                }
                Err(e) => {
                    tracing::warn!(error = %e, "user token not validated; trying it anyway");
                    "live clipping (token not validated)".to_owned()
                }
            },
            None => "dry run".to_owned(),
        },
        None if cfg.dry_run => "dry run (--dry-run): clips are recorded as \"would clip\"".to_owned(),
        None => "dry run: no TWITCH_ACCESS_TOKEN, chat is read anonymously and clips are recorded as \"would clip\"".to_owned(),
    };
    (clip_api, mode, owner)
}

fn enabled(list: &[ChannelConfig]) -> Vec<String> {
    normalise_channels(
        list.iter()
            .filter(|c| c.enabled)
            .map(|c| c.channel.as_str()),
    )
}

async fn poll_channels<C: ChannelStore>(
    store: Arc<C>,
    mut last: Vec<ChannelConfig>,
    every: Duration,
    changed: Arc<Notify>,
    wanted: watch::Sender<Vec<String>>,
    control: mpsc::UnboundedSender<Control>,
) {
    let mut current = enabled(&last);
    let mut tick = tokio::time::interval(every);
    tick.tick().await;
    loop {
        // Every `every`, and at once when the dashboard changed the store.
        tokio::select! {
            _ = tick.tick() => {}
            () = changed.notified() => {}
        }
        match store.list().await {
            Ok(list) => {
                if list != last {
                    if control.send(Control::Settings(list.clone())).is_err() {
                        return;
                    }
                    last = list.clone();
                }
                let next = enabled(&list);
                if next != current {
                    tracing::info!(
                        before = current.len(),
                        after = next.len(),
                        "channel set changed"
                    );
                    if control.send(Control::Channels(next.clone())).is_err() {
                        return;
                    }
                    let _ = wanted.send(next.clone());
                    current = next;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "channel store not read; keeping the current channels")
            }
        }
    }
}

/// Viewer counts and live state of the channels watched at each round (`channels`: the set the
/// channel-store poller keeps current).
async fn poll_viewers<S: TokenStore>(
    helix: Arc<HelixClient<S>>,
    channels: watch::Receiver<Vec<String>>,
    every: Duration,
    control: mpsc::UnboundedSender<Control>,
) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        let queried = channels.borrow().clone();
        if queried.is_empty() {
            continue;
        }
        match helix.get_streams(StreamsBy::Logins(&queried)).await {
            Ok(streams) => {
                let live: HashMap<String, u32> = streams
                    .into_iter()
                    .map(|s| {
                        (
                            s.user_login.to_ascii_lowercase(),
                            u32::try_from(s.viewer_count).unwrap_or(u32::MAX),
                        )
                    })
                    .collect();
                if control.send(Control::Streams { queried, live }).is_err() {
                    return;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "viewer counts not updated; keeping the last known")
            }
        }
    }
}

/// Emote lists: global ones, and each channel's once its room id is known; refreshed every
/// `every` for the channels still watched (`channels`).
async fn poll_emotes<S: TokenStore + 'static>(
    catalog: Arc<EmoteCatalog<S>>,
    mut rooms: mpsc::UnboundedReceiver<(String, String)>,
    channels: watch::Receiver<Vec<String>>,
    every: Duration,
    control: mpsc::UnboundedSender<Control>,
) {
    let send = |channel: Option<String>, lists: Vec<clipper_functions::twitch::EmoteList>| {
        let lists = lists.into_iter().map(|l| (l.source, l.names)).collect();
        control.send(Control::Emotes { channel, lists }).is_ok()
    };
    catalog.refresh_global().await;
    if !send(None, catalog.global()) {
        return;
    }
    let mut known: HashMap<String, String> = HashMap::new();
    let mut tick = tokio::time::interval(every);
    tick.tick().await;
    loop {
        tokio::select! {
            room = rooms.recv() => {
                let Some((channel, id)) = room else { return };
                if known.get(&channel) == Some(&id) { continue; }
                catalog.refresh_channel(&id).await;
                known.insert(channel.clone(), id.clone());
                if !send(Some(channel), catalog.channel(&id)) { return; }
            }
            _ = tick.tick() => {
                catalog.refresh_global().await;
                if !send(None, catalog.global()) { return; }
                {
                    let watched = channels.borrow();
                    let watched: std::collections::HashSet<&str> =
                        watched.iter().map(String::as_str).collect();
                    known.retain(|c, _| watched.contains(c.as_str()));
                }
                for (channel, id) in &known {
                    catalog.refresh_channel(id).await;
                    if !send(Some(channel.clone()), catalog.channel(id)) { return; }
                }
            }
        }
    }
}

/// SMS alerts locally: through SNS when this build has the `aws` feature and AWS credentials
/// are found (environment, profile, role), otherwise not configured (each SMS target is then
/// reported once per alert with what to set).
#[cfg(feature = "aws")]
type SmsSender = Option<clipper_functions::aws::SnsSmsSender>;
#[cfg(not(feature = "aws"))]
type SmsSender = clipper_functions::notify::NoMessages;

#[cfg(feature = "aws")]
async fn sms_sender() -> SmsSender {
    use clipper_functions::aws::{AwsConfig, SnsSettings, SnsSmsSender};
    let aws = AwsConfig::from_env().await;
    // The credential chain may probe the instance metadata service: bounded.
    let found = tokio::time::timeout(
        Duration::from_secs(5),
        SnsSmsSender::if_credentials(&aws, SnsSettings::from_env()),
    )
    .await
    .ok()
    .flatten();
    if found.is_some() {
        tracing::info!("SMS alerts through Amazon SNS (AWS credentials found)");
    }
    found
}

#[cfg(not(feature = "aws"))]
async fn sms_sender() -> SmsSender {
    clipper_functions::notify::NoMessages
}
