//! A Twitch-dialect IRC server on loopback: the real protocol peer for tests and the ingest
//! benchmark. It speaks what `twitch-irc` needs from Twitch: `CAP REQ`/`ACK`, `PASS`/`NICK` and
//! the welcome numerics, `JOIN` (with NAMES and a `ROOMSTATE` carrying `room-id`), `PART`,
//! `PING`/`PONG`, and it can push tagged `PRIVMSG`/`USERNOTICE` lines and `RECONNECT`.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Notify};
use twitch_irc::message::IRCMessage;

use clipper_relay::live::transport::IrcEndpoint;

type Line = Arc<str>;

/// Held by every test that starts a whole run (`run_with`) against a loopback server. The run
/// reads the IRC address from a process-wide slot (`transport::set_endpoint`: `twitch-irc`'s
/// `Transport::new` takes no arguments), so two runs at once in one test binary would connect
/// to each other's server.
pub static SERIAL_RUNS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[derive(Debug, Default)]
struct State {
    next_id: u64,
    conns: HashMap<u64, mpsc::UnboundedSender<Line>>,
    /// channel → connections joined to it
    members: HashMap<String, HashSet<u64>>,
}

/// Counters of what clients did.
#[derive(Debug, Default)]
pub struct ServerCounters {
    pub connections: AtomicU64,
    pub joins: AtomicU64,
    pub pings: AtomicU64,
    pub lines_sent: AtomicU64,
}

/// A running loopback server (its tasks run until the runtime ends).
#[derive(Debug, Clone)]
pub struct LoopbackIrc {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    changed: Arc<Notify>,
    pub counters: Arc<ServerCounters>,
}

/// Twitch user id the server gives channel `c` (stable, for assertions).
pub fn room_id(channel: &str) -> String {
    let h = channel.bytes().fold(1_469_598_103_934_665_603_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(1_099_511_628_211)
    });
    (h % 1_000_000_000).to_string()
}

impl LoopbackIrc {
    /// Listens on 127.0.0.1 (random port).
    pub async fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let server = LoopbackIrc {
            addr: listener.local_addr()?,
            state: Arc::default(),
            changed: Arc::new(Notify::new()),
            counters: Arc::default(),
        };
        let s = server.clone();
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let s = s.clone();
                tokio::spawn(async move { s.serve(sock).await });
            }
        });
        Ok(server)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The endpoint a client should use (plain TCP).
    pub fn endpoint(&self) -> IrcEndpoint {
        IrcEndpoint {
            host: self.addr.ip().to_string(),
            port: self.addr.port(),
            tls: false,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// Channels with at least one joined connection.
    pub fn joined(&self) -> HashSet<String> {
        self.lock()
            .members
            .iter()
            .filter(|(_, m)| !m.is_empty())
            .map(|(c, _)| c.clone())
            .collect()
    }

    /// Waits until every channel in `channels` is joined, up to `timeout`.
    pub async fn wait_joined(&self, channels: &[&str], timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.changed.notified();
            let joined = self.joined();
            if channels.iter().all(|c| joined.contains(*c)) {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return false;
            }
        }
    }

    /// Sends a raw line to every connection joined to `channel`; returns how many got it.
    pub fn send(&self, channel: &str, raw: &str) -> usize {
        self.send_line(channel, &Self::line(raw))
    }

    /// A line ready for [`send_line`](Self::send_line) (terminator added once).
    pub fn line(raw: &str) -> Arc<str> {
        Arc::from(format!("{raw}\r\n"))
    }

    /// Like [`send`](Self::send) with a prepared [`line`](Self::line): no allocation per call.
    pub fn send_line(&self, channel: &str, line: &Arc<str>) -> usize {
        let st = self.lock();
        let mut n = 0;
        if let Some(m) = st.members.get(channel) {
            for id in m {
                if let Some(tx) = st.conns.get(id) {
                    if tx.send(line.clone()).is_ok() {
                        n += 1;
                    }
                }
            }
        }
        self.counters
            .lines_sent
            .fetch_add(n as u64, Ordering::Relaxed);
        n
    }

    /// Sends a line to every connection.
    pub fn broadcast(&self, raw: &str) {
        let line: Line = Arc::from(format!("{raw}\r\n"));
        for tx in self.lock().conns.values() {
            let _ = tx.send(line.clone());
        }
    }

    /// Tells every client to reconnect (`RECONNECT`), as Twitch does before maintenance.
    pub fn reconnect_all(&self) {
        self.broadcast(":tmi.twitch.tv RECONNECT");
    }

    /// Open client connections.
    pub fn connections(&self) -> usize {
        self.lock().conns.len()
    }

    async fn serve(self, sock: TcpStream) {
        sock.set_nodelay(true).ok();
        self.counters.connections.fetch_add(1, Ordering::Relaxed);
        let (rd, wr) = sock.into_split();
        let (tx, mut rx) = mpsc::unbounded_channel::<Line>();
        let id = {
            let mut st = self.lock();
            st.next_id += 1;
            let id = st.next_id;
            st.conns.insert(id, tx.clone());
            id
        };
        let writer = tokio::spawn(async move {
            let mut w = BufWriter::with_capacity(64 * 1024, wr);
            while let Some(line) = rx.recv().await {
                if w.write_all(line.as_bytes()).await.is_err() {
                    return;
                }
                while let Ok(more) = rx.try_recv() {
                    if w.write_all(more.as_bytes()).await.is_err() {
                        return;
                    }
                }
                if w.flush().await.is_err() {
                    return;
                }
            }
        });
        let mut lines = BufReader::new(rd).lines();
        let mut nick = String::from("justinfan");
        let say = |s: String| {
            let _ = tx.send(Arc::from(format!("{s}\r\n")));
        };
        while let Ok(Some(line)) = lines.next_line().await {
            let Ok(msg) = IRCMessage::parse(&line) else {
                continue;
            };
            let p = &msg.params;
            match msg.command.as_str() {
                "CAP" if p.first().map(String::as_str) == Some("REQ") => {
                    let caps = p.get(1).cloned().unwrap_or_default();
                    say(format!(":tmi.twitch.tv CAP * ACK :{caps}"));
                }
                "NICK" => {
                    nick = p.first().cloned().unwrap_or_default();
                    for (code, text) in [
                        ("001", "Welcome, GLHF!"),
                        ("002", "Your host is tmi.twitch.tv"),
                        ("003", "This server is rather new"),
                        ("004", "-"),
                        ("375", "-"),
                        ("372", "You are in a maze of twisty passages, all alike."),
                        ("376", ">"),
                    ] {
                        say(format!(":tmi.twitch.tv {code} {nick} :{text}"));
                    }
                }
                "PING" => {
                    self.counters.pings.fetch_add(1, Ordering::Relaxed);
                    let arg = p.first().cloned().unwrap_or_default();
                    say(format!(":tmi.twitch.tv PONG tmi.twitch.tv :{arg}"));
                }
                "JOIN" => {
                    for ch in p.first().map(String::as_str).unwrap_or("").split(',') {
                        let c = ch.trim_start_matches('#').to_ascii_lowercase();
                        if c.is_empty() {
                            continue;
                        }
                        self.counters.joins.fetch_add(1, Ordering::Relaxed);
                        say(format!(":{nick}!{nick}@{nick}.tmi.twitch.tv JOIN #{c}"));
                        say(format!(":{nick}.tmi.twitch.tv 353 {nick} = #{c} :{nick}"));
                        say(format!(
                            ":{nick}.tmi.twitch.tv 366 {nick} #{c} :End of /NAMES list"
                        ));
                        say(format!(
                            "@emote-only=0;followers-only=-1;r9k=0;room-id={};slow=0;subs-only=0 :tmi.twitch.tv ROOMSTATE #{c}",
                            room_id(&c)
                        ));
                        self.lock().members.entry(c).or_default().insert(id);
                    }
                    self.changed.notify_waiters();
                }
                "PART" => {
                    for ch in p.first().map(String::as_str).unwrap_or("").split(',') {
                        let c = ch.trim_start_matches('#').to_ascii_lowercase();
                        if let Some(m) = self.lock().members.get_mut(&c) {
                            m.remove(&id);
                        }
                        say(format!(":{nick}!{nick}@{nick}.tmi.twitch.tv PART #{c}"));
                    }
                    self.changed.notify_waiters();
                }
                _ => {}
            }
        }
        {
            let mut st = self.lock();
            st.conns.remove(&id);
            for m in st.members.values_mut() {
                m.remove(&id);
            }
        }
        self.changed.notify_waiters();
        writer.abort();
    }
}

/// A sender's part of a chat line.
#[derive(Debug, Clone, Default)]
pub struct Chatter<'a> {
    pub login: &'a str,
    pub user_id: &'a str,
    /// `badges` tag, e.g. `moderator/1` or `broadcaster/1`.
    pub badges: &'a str,
}

/// A tagged PRIVMSG as Twitch sends it (`emotes` tag empty unless given).
pub fn privmsg(channel: &str, who: &Chatter<'_>, text: &str, sent_ms: i64, msg_id: u64) -> String {
    privmsg_with_emotes(channel, who, text, sent_ms, msg_id, "")
}

/// [`privmsg`] with an `emotes` tag (`id:start-end/...`).
pub fn privmsg_with_emotes(
    channel: &str,
    who: &Chatter<'_>,
    text: &str,
    sent_ms: i64,
    msg_id: u64,
    emotes: &str,
) -> String {
    let is_mod = u8::from(who.badges.contains("moderator"));
    format!(
        "@badge-info=;badges={badges};color=#1E90FF;display-name={login};emotes={emotes};first-msg=0;flags=;id=00000000-0000-0000-0000-{msg_id:012};mod={is_mod};returning-chatter=0;room-id={room};subscriber=0;tmi-sent-ts={sent_ms};turbo=0;user-id={uid};user-type= :{login}!{login}@{login}.tmi.twitch.tv PRIVMSG #{channel} :{text}",
        badges = who.badges,
        login = who.login,
        room = room_id(channel),
        uid = who.user_id,
    )
}
