//! Clip alerts: Discord and Slack webhooks, email and SMS, sent once a clip is confirmed.
//!
//! | part | module |
//! |---|---|
//! | targets (`discord:URL`, `slack:URL`, `email:ADDR`, `sms:+E164`), redaction | [`target`] |
//! | what an alert says; plain text | [`payload`] |
//! | Discord / Slack bodies | [`discord`], [`slack`] |
//! | email over SMTP (`lettre`) | [`email`] |
//! | the link back in chat (Helix Send Chat Message) | [`chat`] |
//! | the daily digest (the day's confirmed clips, once a day per target) | [`digest`] |
//! | exactly-once delivery record (role + local JSONL adapter) | [`delivery`] |
//! | sending, retries, rate limits, disabling dead webhooks | [`Notifier`] |
//!
//! Email and SMS go through a [`MessageSender`] (SMTP here; SES and SNS in `crate::aws`,
//! combined with [`Messages`]); without one they are reported as not configured, with a
//! message saying what to set.

pub mod chat;
pub mod delivery;
pub mod digest;
pub mod discord;
pub mod email;
pub mod payload;
pub mod slack;
pub mod target;

use std::collections::HashMap;
use std::future::Future;
use std::time::{Duration, Instant};

pub use delivery::{Claim, DeliveryKey, DeliveryLog, JsonlDeliveryLog};
pub use email::{SmtpSender, SmtpSettings, SmtpTls};
pub use payload::{Alert, AlertKind, DigestItem};
pub use target::{NotifyTarget, TargetKind};

use crate::record::ClipRecord;
use crate::roles::ChannelConfig;

/// Timing of deliveries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyConfig {
    /// Attempts per delivery (first included) for 429, 5xx and network errors. Default 5.
    pub max_attempts: u32,
    /// Wait after the first 5xx/network failure; doubles per attempt, capped at
    /// `backoff_cap`. Default 1 s, cap 30 s.
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    /// A 429 asking for a longer wait than this gives up (the record is released, so a
    /// redelivery may try again). Default 120 s.
    pub max_retry_after: Duration,
    /// Slack incoming webhooks take about one message a second: posts to one Slack webhook are
    /// spaced at least this far apart. Default 1.1 s.
    pub slack_interval: Duration,
    /// Per HTTP request. Default 10 s.
    pub timeout: Duration,
    /// The link back in chat is public to every viewer: at most one `clip: URL` line per
    /// channel per this interval, so a run of clips does not flood the chat (and Twitch drops
    /// a repeated message within 30 s anyway). Later lines wait their turn. Default 30 s.
    pub chat_interval: Duration,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            max_attempts: 5,
            backoff_base: Duration::from_secs(1),
            backoff_cap: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(120),
            slack_interval: Duration::from_millis(1100),
            timeout: Duration::from_secs(10),
            chat_interval: Duration::from_secs(30),
        }
    }
}

/// How one attempt to send ended (not an error type: the [`Notifier`] turns it into an
/// [`Outcome`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Attempt {
    Sent,
    /// 429: wait this long (None: no hint) and try again.
    RateLimited(Option<Duration>),
    /// 5xx or network: try again after a backoff.
    Retry(String),
    /// 401/403/404/410: the target is gone; disable it for the channel.
    Gone(String),
    /// Another refusal (400, bad address, …): not retried; a redelivery may try again.
    Refused(String),
    /// This build or environment cannot send to this kind of target (message says what to
    /// configure).
    Unsupported(String),
}

/// Sends email, SMS and chat lines (SMTP, SES, SNS, Helix). Webhooks are sent by the
/// [`Notifier`] itself.
pub trait MessageSender: Send + Sync {
    fn send(&self, target: &NotifyTarget, alert: &Alert) -> impl Future<Output = Attempt> + Send;
}

/// No email or SMS transport configured.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoMessages;

impl MessageSender for NoMessages {
    async fn send(&self, target: &NotifyTarget, _: &Alert) -> Attempt {
        Attempt::Unsupported(match target.kind() {
            TargetKind::Email => "email alerts need SMTP settings (CLIPPER_SMTP_HOST, CLIPPER_SMTP_FROM, …), or SES_FROM on AWS: not sent".into(),
            TargetKind::Sms => "SMS alerts go through Amazon SNS and need AWS credentials and a region (and a build with the `aws` feature): not sent".into(),
            TargetKind::Chat => "the link back in chat needs a Twitch user token with the user:write:chat scope: not sent".into(),
            k => format!("{k} is sent over HTTP, not by a message sender"),
        })
    }
}

/// Email through `E`, SMS through `S`, the chat line through `C` (any may be an `Option`:
/// `None` answers "not configured", saying what to set).
#[derive(Debug, Clone, Default)]
pub struct Messages<E, S, C = NoMessages> {
    pub email: E,
    pub sms: S,
    pub chat: C,
}

impl<E: MessageSender, S: MessageSender, C: MessageSender> MessageSender for Messages<E, S, C> {
    async fn send(&self, target: &NotifyTarget, alert: &Alert) -> Attempt {
        match target.kind() {
            TargetKind::Email => self.email.send(target, alert).await,
            TargetKind::Sms => self.sms.send(target, alert).await,
            TargetKind::Chat => self.chat.send(target, alert).await,
            _ => NoMessages.send(target, alert).await,
        }
    }
}

/// What happened to one (alert, target).
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Posted now.
    Delivered,
    /// Posted before (a redelivery or a restart): not posted again.
    AlreadyDelivered,
    /// Claimed by another attempt, or left claimed by a crash: not posted again.
    InFlight,
    /// The target was disabled for this channel earlier: skipped.
    Disabled,
    /// The target answered 401/403/404/410 now and is disabled from now on.
    NowDisabled(String),
    /// Not sent (after retries where they apply); a redelivery may try again.
    Failed(String),
    /// Cannot be sent from here (message says what to configure).
    Unsupported(String),
}

/// One delivery's report.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// The redacted target.
    pub target: String,
    pub kind: TargetKind,
    pub outcome: Outcome,
    /// Requests (or send calls) made.
    pub attempts: u32,
    /// From the start of [`Notifier::notify`] to the outcome.
    pub elapsed: Duration,
}

impl Delivery {
    /// Whether a later redelivery should try this again (for partial batch failures).
    pub fn should_retry(&self) -> bool {
        matches!(self.outcome, Outcome::Failed(_))
    }
}

/// The targets an alert of `kind` goes to for a channel: its `notify` list, its legacy
/// `webhook_url`, and `defaults` (a global target from the environment), without duplicates.
/// Confirmed clips always; dry-run clips and failures only when the channel asks.
pub fn targets_for(
    kind: AlertKind,
    channel: Option<&ChannelConfig>,
    defaults: &[NotifyTarget],
) -> Vec<NotifyTarget> {
    let wanted = match (kind, channel) {
        (AlertKind::Confirmed, _) => true,
        (AlertKind::WouldClip, Some(c)) => c.notify_dry_run,
        (AlertKind::Failed, Some(c)) => c.notify_failures,
        (AlertKind::Digest, Some(c)) => c.digest,
        _ => false,
    };
    if !wanted {
        return Vec::new();
    }
    let mut out: Vec<NotifyTarget> = Vec::new();
    let legacy = channel
        .and_then(|c| c.webhook_url.as_deref())
        .and_then(|w| match NotifyTarget::from_webhook(w) {
            Ok(t) => Some(t),
            Err(e) => {
                tracing::warn!(error = %e, "ignoring the channel's webhook_url");
                None
            }
        });
    let own = channel.map(|c| c.notify.as_slice()).unwrap_or_default();
    // The link back in chat: confirmed clips only, and only where the channel opted in.
    let chat = channel
        .filter(|c| c.chat_link && kind == AlertKind::Confirmed)
        .map(|c| NotifyTarget::Chat(c.channel.clone()));
    for t in own
        .iter()
        .cloned()
        .chain(legacy)
        .chain(defaults.iter().cloned())
        .chain(chat)
    {
        if !out.contains(&t) {
            out.push(t);
        }
    }
    out
}

/// Default targets from the environment: `CLIPPER_NOTIFY` holds targets separated by spaces
/// or commas. Invalid ones are an error (naming the position, never the value).
pub fn default_targets_from_env() -> crate::Result<Vec<NotifyTarget>> {
    match std::env::var("CLIPPER_NOTIFY") {
        Ok(v) => parse_list(&v),
        Err(_) => Ok(Vec::new()),
    }
}

/// Targets separated by whitespace or commas.
pub fn parse_list(s: &str) -> crate::Result<Vec<NotifyTarget>> {
    s.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|p| !p.is_empty())
        .enumerate()
        .map(|(i, p)| {
            NotifyTarget::parse(p).map_err(|e| {
                crate::FunctionsError::Config(format!("CLIPPER_NOTIFY item {}: {e}", i + 1))
            })
        })
        .collect()
}

/// Sends alerts: claims each delivery in the [`DeliveryLog`], posts (webhooks over HTTP,
/// email/SMS through `M`), honours rate limits, retries with bounded backoff and disables dead
/// webhooks. Never logs a target unredacted.
#[derive(Debug)]
pub struct Notifier<D, M = NoMessages> {
    http: reqwest::Client,
    log: D,
    messages: M,
    cfg: NotifyConfig,
    /// Per target id: not before this instant (Slack pacing, 429 answers).
    not_before: tokio::sync::Mutex<HashMap<String, Instant>>,
}

impl<D: DeliveryLog> Notifier<D, NoMessages> {
    pub fn new(log: D, cfg: NotifyConfig) -> crate::Result<Self> {
        Notifier::with_messages(log, NoMessages, cfg)
    }
}

impl<D: DeliveryLog, M: MessageSender> Notifier<D, M> {
    pub fn with_messages(log: D, messages: M, cfg: NotifyConfig) -> crate::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .user_agent(concat!("twitch-clipper/", env!("CARGO_PKG_VERSION")))
            // A webhook must not bounce us elsewhere with its secret.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| crate::FunctionsError::Config(format!("HTTP client: {e}")))?;
        Ok(Notifier {
            http,
            log,
            messages,
            cfg,
            not_before: tokio::sync::Mutex::new(HashMap::new()),
        })
    }

    pub fn log(&self) -> &D {
        &self.log
    }

    /// Sends the alert `record` calls for (if any) to each of `targets`, once per target ever.
    /// Targets are handled one after the other; a slow one (Slack pacing, a 429) delays only
    /// this record's later targets.
    pub async fn notify(&self, record: &ClipRecord, targets: &[NotifyTarget]) -> Vec<Delivery> {
        let Some(kind) = AlertKind::of(record) else {
            return Vec::new();
        };
        let alert = Alert::from_record(kind, record);
        let mut out = Vec::with_capacity(targets.len());
        for t in targets {
            out.push(self.deliver(&alert, t).await);
        }
        out
    }

    /// One (alert, target).
    pub async fn deliver(&self, alert: &Alert, target: &NotifyTarget) -> Delivery {
        let started = Instant::now();
        let label = target.to_string();
        let target_id = target.id();
        let done = |outcome: Outcome, attempts: u32| Delivery {
            target: label.clone(),
            kind: target.kind(),
            outcome,
            attempts,
            elapsed: started.elapsed(),
        };
        match self.log.is_disabled(&alert.channel, &target_id).await {
            Ok(true) => {
                tracing::debug!(channel = %alert.channel, target = %label, "target disabled; skipped");
                return done(Outcome::Disabled, 0);
            }
            Ok(false) => {}
            Err(e) => return done(Outcome::Failed(format!("delivery record: {e}")), 0),
        }
        let key = DeliveryKey {
            request_id: alert.request_id.clone(),
            alert: alert.kind.key(),
            target_id: target_id.clone(),
        };
        match self.log.claim(&key).await {
            Ok(Claim::Claimed) => {}
            Ok(Claim::Delivered) => {
                tracing::debug!(request_id = %alert.request_id, target = %label, "already delivered");
                return done(Outcome::AlreadyDelivered, 0);
            }
            Ok(Claim::InFlight { since_ms }) => {
                tracing::warn!(request_id = %alert.request_id, target = %label, since_ms,
                    "delivery claimed earlier and never completed (another attempt in flight, or a crash mid-send); not posting again");
                return done(Outcome::InFlight, 0);
            }
            Err(e) => return done(Outcome::Failed(format!("delivery record: {e}")), 0),
        }
        let (outcome, attempts) = self.send_with_retries(alert, target, &target_id).await;
        let recorded = match &outcome {
            Outcome::Delivered => self.log.delivered(&key).await,
            Outcome::NowDisabled(reason) => {
                tracing::warn!(channel = %alert.channel, target = %label, reason = %reason,
                    "alert target refused the post; disabled for this channel (set it again to re-enable)");
                let r = self
                    .log
                    .disable(&alert.channel, &target_id, &label, reason)
                    .await;
                r.and(self.log.release(&key).await)
            }
            _ => self.log.release(&key).await,
        };
        if let Err(e) = recorded {
            tracing::error!(request_id = %alert.request_id, target = %label, error = %e, "delivery record not written");
        }
        match &outcome {
            Outcome::Delivered => tracing::info!(
                channel = %alert.channel, request_id = %alert.request_id, target = %label,
                attempts, elapsed_ms = started.elapsed().as_millis() as u64, "clip alert delivered"),
            Outcome::Failed(why) => tracing::warn!(
                channel = %alert.channel, request_id = %alert.request_id, target = %label,
                attempts, error = %why, "clip alert not delivered"),
            Outcome::Unsupported(why) => tracing::warn!(
                channel = %alert.channel, target = %label, "{why}"),
            _ => {}
        }
        done(outcome, attempts)
    }

    async fn send_with_retries(
        &self,
        alert: &Alert,
        target: &NotifyTarget,
        target_id: &str,
    ) -> (Outcome, u32) {
        let mut attempts = 0;
        let mut backoff = self.cfg.backoff_base;
        loop {
            self.wait_turn(target, target_id).await;
            attempts += 1;
            let result = match target {
                NotifyTarget::Discord(url) => self.post(url, &discord::payload(alert)).await,
                NotifyTarget::Slack(url) => self.post(url, &slack::payload(alert)).await,
                NotifyTarget::Email(_) | NotifyTarget::Sms(_) | NotifyTarget::Chat(_) => {
                    self.messages.send(target, alert).await
                }
            };
            let wait = match result {
                Attempt::Sent => return (Outcome::Delivered, attempts),
                Attempt::Gone(why) => return (Outcome::NowDisabled(why), attempts),
                Attempt::Refused(why) => return (Outcome::Failed(why), attempts),
                Attempt::Unsupported(why) => return (Outcome::Unsupported(why), attempts),
                Attempt::RateLimited(after) => {
                    let after = after.unwrap_or(backoff);
                    if after > self.cfg.max_retry_after {
                        return (
                            Outcome::Failed(format!(
                                "rate limited for {} s (more than the {} s allowed)",
                                after.as_secs(),
                                self.cfg.max_retry_after.as_secs()
                            )),
                            attempts,
                        );
                    }
                    tracing::info!(target = %target, retry_after_ms = after.as_millis() as u64, "alert target rate limited; waiting");
                    self.not_before
                        .lock()
                        .await
                        .insert(target_id.to_owned(), Instant::now() + after);
                    Duration::ZERO
                }
                Attempt::Retry(why) => {
                    if attempts >= self.cfg.max_attempts {
                        return (Outcome::Failed(why), attempts);
                    }
                    tracing::debug!(target = %target, error = %why, backoff_ms = backoff.as_millis() as u64, "alert post failed; retrying");
                    backoff
                }
            };
            if attempts >= self.cfg.max_attempts {
                return (
                    Outcome::Failed("still rate limited after the last attempt".into()),
                    attempts,
                );
            }
            tokio::time::sleep(wait).await;
            backoff = (backoff * 2).min(self.cfg.backoff_cap);
        }
    }

    /// Waits until `target` may be posted to (a 429's wait, Slack's pacing), then books the
    /// next slot for Slack.
    async fn wait_turn(&self, target: &NotifyTarget, target_id: &str) {
        loop {
            let until = self.not_before.lock().await.get(target_id).copied();
            match until {
                Some(t) if t > Instant::now() => tokio::time::sleep_until(t.into()).await,
                _ => break,
            }
        }
        let spacing = match target.kind() {
            TargetKind::Slack => Some(self.cfg.slack_interval),
            TargetKind::Chat => Some(self.cfg.chat_interval),
            _ => None,
        };
        if let Some(every) = spacing {
            self.not_before
                .lock()
                .await
                .insert(target_id.to_owned(), Instant::now() + every);
        }
    }

    /// One webhook POST, classified. Errors never carry the URL.
    async fn post(&self, url: &url::Url, body: &serde_json::Value) -> Attempt {
        let resp = match self.http.post(url.clone()).json(body).send().await {
            Ok(r) => r,
            Err(e) => return Attempt::Retry(format!("network: {}", e.without_url())),
        };
        let status = resp.status();
        if status.is_success() {
            return Attempt::Sent;
        }
        let header_wait = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok());
        let text = resp.text().await.unwrap_or_default();
        let code = status.as_u16();
        match code {
            429 => {
                let body_wait = serde_json::from_str::<serde_json::Value>(&text)
                    .ok()
                    .and_then(|v| v.get("retry_after").and_then(serde_json::Value::as_f64));
                let secs = header_wait
                    .or(body_wait)
                    .filter(|s| s.is_finite() && *s >= 0.0);
                Attempt::RateLimited(secs.map(Duration::from_secs_f64))
            }
            401 | 403 | 404 | 410 => Attempt::Gone(format!("HTTP {code}")),
            500..=599 => Attempt::Retry(format!("HTTP {code}")),
            _ => Attempt::Refused(format!(
                "HTTP {code}: {}",
                payload::truncate(text.trim(), 200)
            )),
        }
    }
}
