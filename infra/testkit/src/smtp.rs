//! A minimal SMTP server on loopback for the email alert tests: greets, accepts EHLO/HELO,
//! MAIL, RCPT, DATA, RSET, NOOP, QUIT (no TLS, no AUTH), and keeps every message it accepted.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// One accepted message.
#[derive(Debug, Clone, Default)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    /// The DATA section, dot-unstuffed, CRLF line ends.
    pub data: String,
}

/// The running server (stops with the test runtime).
#[derive(Debug, Clone)]
pub struct LoopbackSmtp {
    addr: SocketAddr,
    mails: Arc<Mutex<Vec<Mail>>>,
}

impl LoopbackSmtp {
    pub async fn start() -> std::io::Result<LoopbackSmtp> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let mails: Arc<Mutex<Vec<Mail>>> = Arc::default();
        let m = mails.clone();
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let m = m.clone();
                tokio::spawn(async move {
                    let _ = session(sock, m).await;
                });
            }
        });
        Ok(LoopbackSmtp { addr, mails })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn mails(&self) -> Vec<Mail> {
        self.mails.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

async fn session(sock: tokio::net::TcpStream, mails: Arc<Mutex<Vec<Mail>>>) -> std::io::Result<()> {
    let (r, mut w) = sock.into_split();
    let mut r = BufReader::new(r);
    w.write_all(b"220 loopback ESMTP\r\n").await?;
    let mut cur = Mail::default();
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end().to_owned();
        let upper = cmd.to_ascii_uppercase();
        if upper.starts_with("EHLO") {
            w.write_all(b"250-loopback\r\n250 8BITMIME\r\n").await?;
        } else if upper.starts_with("HELO") || upper.starts_with("NOOP") {
            w.write_all(b"250 ok\r\n").await?;
        } else if upper.starts_with("RSET") {
            cur = Mail::default();
            w.write_all(b"250 ok\r\n").await?;
        } else if upper.starts_with("MAIL FROM:") {
            cur.from = cmd[10..].trim().to_owned();
            w.write_all(b"250 ok\r\n").await?;
        } else if upper.starts_with("RCPT TO:") {
            cur.to.push(cmd[8..].trim().to_owned());
            w.write_all(b"250 ok\r\n").await?;
        } else if upper == "DATA" {
            w.write_all(b"354 end with .\r\n").await?;
            let mut data = String::new();
            loop {
                line.clear();
                if r.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                let l = line.strip_prefix('.').unwrap_or(&line);
                data.push_str(l);
            }
            cur.data = data;
            if let Ok(mut v) = mails.lock() {
                v.push(std::mem::take(&mut cur));
            }
            w.write_all(b"250 queued\r\n").await?;
        } else if upper.starts_with("QUIT") {
            w.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            w.write_all(b"502 not implemented\r\n").await?;
        }
    }
}
