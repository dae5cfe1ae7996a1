//! The IRC transport under `twitch-irc`: TCP, optionally TLS (rustls, webpki roots), to a
//! configurable address (Twitch, a self-hosted proxy, or a loopback test server).
//!
//! `twitch-irc`'s [`Transport::new`] takes no arguments, so the address lives in a process-wide
//! [`set_endpoint`] slot set once at start-up (tests that start several servers in one process
//! set it before each client and serialise those tests).
//!
//! Lines that would make `twitch-irc` 6.1 panic while converting them (non-ASCII `color`, an
//! emote range ending before it starts) are dropped here and counted
//! ([`screened_lines`]), so one hostile line cannot kill a connection task.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use bytes::Bytes;
use either::Either;
use futures_util::stream::FusedStream;
use futures_util::{future, Sink, SinkExt, StreamExt, TryStreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_util::codec::{
    BytesCodec, Decoder, FramedRead, FramedWrite, LinesCodec, LinesCodecError,
};
use twitch_irc::message::{AsRawIRC, IRCMessage, IRCParseError};
use twitch_irc::transport::Transport;

use crate::input::irc::check_panicky_tags;

/// Where chat connects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IrcEndpoint {
    pub host: String,
    pub port: u16,
    pub tls: bool,
}

impl Default for IrcEndpoint {
    fn default() -> Self {
        IrcEndpoint {
            host: "irc.chat.twitch.tv".into(),
            port: 6697,
            tls: true,
        }
    }
}

impl fmt::Display for IrcEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.tls { "ircs" } else { "irc" };
        write!(f, "{scheme}://{}:{}", self.host, self.port)
    }
}

impl std::str::FromStr for IrcEndpoint {
    type Err = String;

    /// `ircs://host:port` (TLS), `irc://host:port` (plain) or `host:port` (TLS unless the port
    /// is 6667).
    fn from_str(s: &str) -> Result<Self, String> {
        let (tls, rest) = if let Some(r) = s.strip_prefix("ircs://") {
            (Some(true), r)
        } else if let Some(r) = s.strip_prefix("irc://") {
            (Some(false), r)
        } else {
            (None, s)
        };
        let rest = rest.trim_end_matches('/');
        let (host, port) = rest
            .rsplit_once(':')
            .ok_or_else(|| format!("IRC address {s:?} has no port (host:port)"))?;
        let port: u16 = port
            .parse()
            .map_err(|_| format!("IRC address {s:?}: bad port"))?;
        if host.is_empty() {
            return Err(format!("IRC address {s:?} has no host"));
        }
        Ok(IrcEndpoint {
            host: host.to_owned(),
            port,
            tls: tls.unwrap_or(port != 6667),
        })
    }
}

static ENDPOINT: RwLock<Option<IrcEndpoint>> = RwLock::new(None);
static SCREENED: AtomicU64 = AtomicU64::new(0);

/// Sets the address every new connection uses.
pub fn set_endpoint(endpoint: IrcEndpoint) {
    if let Ok(mut g) = ENDPOINT.write() {
        *g = Some(endpoint);
    }
}

/// The address new connections use.
pub fn endpoint() -> IrcEndpoint {
    ENDPOINT
        .read()
        .ok()
        .and_then(|g| g.clone())
        .unwrap_or_default()
}

/// Lines dropped because they would crash the parser, since start.
pub fn screened_lines() -> u64 {
    SCREENED.load(Ordering::Relaxed)
}

/// Why a connection could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("connect to {endpoint}: {source}")]
    Io {
        endpoint: String,
        #[source]
        source: std::io::Error,
    },
    #[error("TLS server name {0:?} is invalid")]
    ServerName(String),
}

type Incoming = Box<
    dyn FusedStream<Item = Result<IRCMessage, Either<std::io::Error, IRCParseError>>>
        + Unpin
        + Send
        + Sync,
>;
type Outgoing = Box<dyn Sink<IRCMessage, Error = std::io::Error> + Unpin + Send + Sync>;

/// TCP or TLS to [`endpoint`].
pub struct ClipperTransport {
    incoming: Incoming,
    outgoing: Outgoing,
}

impl fmt::Debug for ClipperTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClipperTransport").finish_non_exhaustive()
    }
}

/// Longest IRC line accepted (bytes, without the line end).
pub const MAX_IRC_LINE_BYTES: usize = 16 * 1024;

/// [`LinesCodec`] with [`MAX_IRC_LINE_BYTES`], turning an over-long line into an empty one
/// (skipped by the caller, counted) instead of an error: a framed stream ends at its first
/// error, and one bad line must not end the connection.
#[derive(Debug)]
struct CappedLines(LinesCodec);

impl Default for CappedLines {
    fn default() -> Self {
        CappedLines(LinesCodec::new_with_max_length(MAX_IRC_LINE_BYTES))
    }
}

impl CappedLines {
    fn map(r: Result<Option<String>, LinesCodecError>) -> std::io::Result<Option<String>> {
        match r {
            Ok(line) => Ok(line),
            Err(LinesCodecError::MaxLineLengthExceeded) => {
                SCREENED.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    max_bytes = MAX_IRC_LINE_BYTES,
                    "dropped an over-long IRC line"
                );
                Ok(Some(String::new()))
            }
            Err(LinesCodecError::Io(e)) => Err(e),
        }
    }
}

impl Decoder for CappedLines {
    type Item = String;
    type Error = std::io::Error;

    fn decode(&mut self, buf: &mut bytes::BytesMut) -> std::io::Result<Option<String>> {
        Self::map(self.0.decode(buf))
    }

    fn decode_eof(&mut self, buf: &mut bytes::BytesMut) -> std::io::Result<Option<String>> {
        Self::map(self.0.decode_eof(buf))
    }
}

fn tls_connector() -> tokio_rustls::TlsConnector {
    use tokio_rustls::rustls::{ClientConfig, RootCertStore};
    let roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let config = ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

fn halves<S>(socket: S) -> (Incoming, Outgoing)
where
    S: AsyncRead + AsyncWrite + Send + Sync + 'static,
{
    let (read_half, write_half) = tokio::io::split(socket);
    // Lines are capped: Twitch's are at most ~8 KiB of tags and 512 bytes of text, and a server
    // (or anything in between) sending an endless line must not take all memory. An over-long
    // line is skipped (and counted), the connection goes on.
    let lines = FramedRead::new(read_half, CappedLines::default())
        .try_filter(|line| future::ready(!line.is_empty()))
        .map_err(Either::Left)
        .and_then(|s| future::ready(IRCMessage::parse(&s).map_err(Either::Right)))
        .try_filter(|m| {
            let ok = check_panicky_tags(m).is_ok();
            if !ok {
                SCREENED.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(command = %m.command, "dropped an IRC line twitch-irc cannot parse safely");
            }
            future::ready(ok)
        })
        .fuse();
    let sink = FramedWrite::new(write_half, BytesCodec::new()).with(|msg: IRCMessage| {
        let mut s = msg.as_raw_irc();
        s.push_str("\r\n");
        future::ready(Ok::<_, std::io::Error>(Bytes::from(s)))
    });
    (Box::new(lines), Box::new(sink))
}

#[async_trait]
impl Transport for ClipperTransport {
    type ConnectError = ConnectError;
    type IncomingError = std::io::Error;
    type OutgoingError = std::io::Error;
    type Incoming = Incoming;
    type Outgoing = Outgoing;

    async fn new() -> Result<Self, ConnectError> {
        let ep = endpoint();
        let io_err = |source| ConnectError::Io {
            endpoint: ep.to_string(),
            source,
        };
        let tcp = TcpStream::connect((ep.host.as_str(), ep.port))
            .await
            .map_err(io_err)?;
        tcp.set_nodelay(true).ok();
        let (incoming, outgoing) = if ep.tls {
            let name = tokio_rustls::rustls::pki_types::ServerName::try_from(ep.host.clone())
                .map_err(|_| ConnectError::ServerName(ep.host.clone()))?;
            let tls = tls_connector().connect(name, tcp).await.map_err(io_err)?;
            halves(tls)
        } else {
            halves(tcp)
        };
        Ok(ClipperTransport { incoming, outgoing })
    }

    fn split(self) -> (Incoming, Outgoing) {
        (self.incoming, self.outgoing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[tokio::test]
    async fn an_endless_line_is_dropped_and_the_next_one_read() {
        let (client, mut server) = tokio::io::duplex(64 * 1024);
        let (mut incoming, _out) = halves(client);
        let before = screened_lines();
        tokio::spawn(async move {
            server.write_all(b"@a=").await.unwrap();
            let chunk = vec![b'x'; 64 * 1024];
            for _ in 0..64 {
                server.write_all(&chunk).await.unwrap();
            }
            server
                .write_all(b"\r\n:tmi.twitch.tv PING :hello\r\n")
                .await
                .unwrap();
            // Keep the pipe open until the reader is done.
            tokio::time::sleep(std::time::Duration::from_secs(5)).await;
        });
        let m = incoming.next().await.unwrap().unwrap();
        assert_eq!(m.command, "PING");
        assert!(screened_lines() > before);
    }

    #[test]
    fn endpoint_parsing() {
        let e: IrcEndpoint = "127.0.0.1:6667".parse().unwrap();
        assert!(!e.tls);
        let e: IrcEndpoint = "irc.chat.twitch.tv:6697".parse().unwrap();
        assert!(e.tls);
        let e: IrcEndpoint = "irc://localhost:7000".parse().unwrap();
        assert_eq!((e.host.as_str(), e.port, e.tls), ("localhost", 7000, false));
        assert!("nohost".parse::<IrcEndpoint>().is_err());
        assert!("h:xx".parse::<IrcEndpoint>().is_err());
    }
}
