//! Live chat: a pooled `twitch-irc` client over [`ClipperTransport`], paced joins, and the
//! mapping of server messages to what the driver needs.
//!
//! Chat is read anonymously (`justinfan`): reading needs no token, and Twitch's limit of 100
//! channels a logged-in user does not moderate is reported not to apply to anonymous
//! connections. `twitch-irc` pools channels onto connections (90 each by default), reconnects
//! (also on `RECONNECT`), answers `PING`s and re-joins after a reconnect.

use std::collections::{HashSet, VecDeque};
use std::time::Duration;

use clipper_models::ChatMessage;
use tokio::sync::mpsc;
use tokio::time::Instant;
use twitch_irc::login::StaticLoginCredentials;
use twitch_irc::message::ServerMessage;
use twitch_irc::{ClientConfig, TwitchIRCClient};

use super::transport::ClipperTransport;
use crate::input::irc::{from_privmsg, from_usernotice};

/// The `twitch-irc` client type used everywhere.
pub type Client = TwitchIRCClient<ClipperTransport, StaticLoginCredentials>;

/// Pooling and pacing.
#[derive(Debug, Clone)]
pub struct ChatOptions {
    /// Channels per IRC connection (`twitch-irc` default 90).
    pub channels_per_connection: usize,
    /// Gap between opening two connections (`twitch-irc` default 2 s).
    pub new_connection_every: Duration,
    /// At most `joins_per_period` JOINs per `join_period` (Twitch: 20 per 10 s).
    pub joins_per_period: usize,
    pub join_period: Duration,
}

impl Default for ChatOptions {
    fn default() -> Self {
        ChatOptions {
            channels_per_connection: 90,
            new_connection_every: Duration::from_secs(2),
            joins_per_period: 20,
            join_period: Duration::from_secs(10),
        }
    }
}

/// An anonymous pooled client and its incoming messages.
pub fn connect(opts: &ChatOptions) -> (mpsc::UnboundedReceiver<ServerMessage>, Client) {
    let mut config = ClientConfig::new_simple(StaticLoginCredentials::anonymous());
    config.max_channels_per_connection = opts.channels_per_connection.max(1);
    config.new_connection_every = opts.new_connection_every;
    Client::new(config)
}

/// Sliding-window limiter for JOINs: at most `n` per `period`.
#[derive(Debug)]
pub struct JoinPacer {
    n: usize,
    period: Duration,
    sent: VecDeque<Instant>,
}

impl JoinPacer {
    pub fn new(n: usize, period: Duration) -> Self {
        JoinPacer {
            n: n.max(1),
            period,
            sent: VecDeque::new(),
        }
    }

    /// Waits until one more JOIN is allowed, then counts it.
    pub async fn ready(&mut self) {
        loop {
            let now = Instant::now();
            while self
                .sent
                .front()
                .is_some_and(|t| now.duration_since(*t) >= self.period)
            {
                self.sent.pop_front();
            }
            if self.sent.len() < self.n {
                self.sent.push_back(now);
                return;
            }
            if let Some(first) = self.sent.front() {
                tokio::time::sleep_until(*first + self.period).await;
            }
        }
    }
}

/// Keeps the client's channel set equal to the wanted set, joining new channels at the paced
/// rate and parting removed ones at once. Runs until `wanted` closes.
pub async fn run_joiner(
    client: Client,
    opts: ChatOptions,
    mut wanted: tokio::sync::watch::Receiver<Vec<String>>,
) {
    let mut pacer = JoinPacer::new(opts.joins_per_period, opts.join_period);
    let mut joined: HashSet<String> = HashSet::new();
    loop {
        let target: HashSet<String> = wanted.borrow_and_update().iter().cloned().collect();
        let gone: Vec<String> = joined.difference(&target).cloned().collect();
        if !gone.is_empty() {
            for c in &gone {
                joined.remove(c);
                tracing::info!(channel = %c, "leaving channel");
            }
            if let Err(e) = client.set_wanted_channels(joined.clone()) {
                tracing::warn!(error = %e, "cannot update channel set");
            }
        }
        let mut new: Vec<String> = target.difference(&joined).cloned().collect();
        new.sort();
        for c in new {
            pacer.ready().await;
            match client.join(c.clone()) {
                Ok(()) => {
                    tracing::debug!(channel = %c, "joining");
                    joined.insert(c);
                }
                Err(e) => tracing::warn!(channel = %c, error = %e, "not a valid channel name"),
            }
            if wanted.has_changed().unwrap_or(false) {
                break;
            }
        }
        if wanted.has_changed().unwrap_or(false) {
            continue;
        }
        if wanted.changed().await.is_err() {
            return;
        }
    }
}

/// What the driver learns from one server message.
#[derive(Debug)]
pub enum ChatEvent {
    Message(ChatMessage),
    /// The channel's Twitch user id (ROOMSTATE `room-id`).
    RoomId {
        channel: String,
        id: String,
    },
    /// A NOTICE about a channel (`msg_concurrent_channel_limit_reached`, suspended, ...).
    Notice {
        channel: Option<String>,
        id: Option<String>,
        text: String,
    },
}

/// One raw IRC line as the live path takes it: parsed (`IRCMessage::parse`), screened for
/// values twitch-irc would panic on, typed (`ServerMessage`), mapped ([`to_event`]). The
/// fuzz target `irc_line` and its corpus test drive it.
pub fn event_of_line(line: &str) -> Option<ChatEvent> {
    let irc = twitch_irc::message::IRCMessage::parse(line).ok()?;
    crate::input::irc::check_panicky_tags(&irc).ok()?;
    to_event(ServerMessage::try_from(irc).ok()?)
}

/// Maps a server message; `None` for what the driver does not need (PING, JOIN, ...).
pub fn to_event(msg: ServerMessage) -> Option<ChatEvent> {
    match msg {
        ServerMessage::Privmsg(m) => from_privmsg(m).map(ChatEvent::Message),
        ServerMessage::UserNotice(m) => from_usernotice(m).map(ChatEvent::Message),
        ServerMessage::RoomState(m) => Some(ChatEvent::RoomId {
            channel: m.channel_login,
            id: m.channel_id,
        }),
        ServerMessage::Notice(m) => Some(ChatEvent::Notice {
            channel: m.channel_login,
            id: m.message_id,
            text: m.message_text,
        }),
        ServerMessage::Reconnect(_) => {
            tracing::info!("server asked to reconnect; twitch-irc reconnects and re-joins");
            None
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn pacer_allows_n_per_period() {
        let mut p = JoinPacer::new(20, Duration::from_secs(10));
        let start = Instant::now();
        for _ in 0..20 {
            p.ready().await;
        }
        assert!(start.elapsed() < Duration::from_millis(1));
        p.ready().await;
        assert!(start.elapsed() >= Duration::from_secs(10));
        for _ in 0..19 {
            p.ready().await;
        }
        assert!(start.elapsed() < Duration::from_secs(11));
        p.ready().await;
        assert!(start.elapsed() >= Duration::from_secs(20));
    }
}
