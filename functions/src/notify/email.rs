//! Email alerts over SMTP ([`lettre`], tokio + rustls): subject, plain-text and HTML body with
//! the clip link (and the edit link: email is a private target).
//!
//! Settings from the environment ([`SmtpSettings::from_env`]):
//!
//! | variable | meaning |
//! |---|---|
//! | `CLIPPER_SMTP_HOST` | server; unset = no email |
//! | `CLIPPER_SMTP_PORT` | port (default 587 for STARTTLS, 465 for TLS, 25 for none) |
//! | `CLIPPER_SMTP_TLS` | `starttls` (default), `tls`, or `none` (loopback hosts only) |
//! | `CLIPPER_SMTP_USERNAME`, `CLIPPER_SMTP_PASSWORD` | credentials (optional) |
//! | `CLIPPER_SMTP_FROM` | sender mailbox, e.g. `clipper <clips@example.com>` |

use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::payload::{rfc3339, text, truncate, Alert, AlertKind};
use super::{Attempt, MessageSender, NoMessages, NotifyTarget};
use crate::error::{FunctionsError, Result};

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS (required).
    StartTls,
    /// TLS from the first byte (SMTPS).
    Tls,
    /// No TLS: accepted only for loopback hosts (tests, a local relay).
    None,
}

/// SMTP settings (the password is never printed).
#[derive(Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: Option<u16>,
    pub tls: SmtpTls,
    pub username: Option<String>,
    pub password: Option<String>,
    pub from: String,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "(redacted)"))
            .field("from", &self.from)
            .finish()
    }
}

fn is_loopback_host(h: &str) -> bool {
    h.eq_ignore_ascii_case("localhost")
        || h.parse::<std::net::IpAddr>().is_ok_and(|a| a.is_loopback())
}

impl SmtpSettings {
    /// From `CLIPPER_SMTP_*`; `None` when `CLIPPER_SMTP_HOST` is unset.
    pub fn from_env() -> Result<Option<SmtpSettings>> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let Some(host) = var("CLIPPER_SMTP_HOST") else {
            return Ok(None);
        };
        let tls = match var("CLIPPER_SMTP_TLS")
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("starttls") => SmtpTls::StartTls,
            Some("tls") => SmtpTls::Tls,
            Some("none") => SmtpTls::None,
            Some(_) => {
                return Err(FunctionsError::Config(
                    "CLIPPER_SMTP_TLS: expected starttls, tls or none".into(),
                ))
            }
        };
        let port = var("CLIPPER_SMTP_PORT")
            .map(|p| {
                p.trim().parse::<u16>().map_err(|_| {
                    FunctionsError::Config("CLIPPER_SMTP_PORT: not a port number".into())
                })
            })
            .transpose()?;
        let from = var("CLIPPER_SMTP_FROM").ok_or_else(|| {
            FunctionsError::Config("CLIPPER_SMTP_FROM is needed with CLIPPER_SMTP_HOST".into())
        })?;
        Ok(Some(SmtpSettings {
            host,
            port,
            tls,
            username: var("CLIPPER_SMTP_USERNAME"),
            password: var("CLIPPER_SMTP_PASSWORD"),
            from,
        }))
    }
}

/// Sends email alerts over SMTP; SMS is answered as not configured.
#[derive(Debug, Clone)]
pub struct SmtpSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpSender {
    pub fn new(s: &SmtpSettings) -> Result<SmtpSender> {
        let from: Mailbox = s
            .from
            .parse()
            .map_err(|e| FunctionsError::Config(format!("CLIPPER_SMTP_FROM: {e}")))?;
        let cfg = |e: lettre::transport::smtp::Error| {
            FunctionsError::Config(format!("SMTP settings: {e}"))
        };
        let mut b = match s.tls {
            SmtpTls::StartTls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&s.host).map_err(cfg)?
            }
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&s.host).map_err(cfg)?,
            SmtpTls::None if is_loopback_host(&s.host) => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host).port(25)
            }
            SmtpTls::None => {
                return Err(FunctionsError::Config(
                    "CLIPPER_SMTP_TLS=none is accepted only for a loopback host".into(),
                ))
            }
        };
        if let Some(p) = s.port {
            b = b.port(p);
        }
        if let (Some(u), Some(p)) = (&s.username, &s.password) {
            b = b.credentials(Credentials::new(u.clone(), p.clone()));
        }
        b = b.timeout(Some(std::time::Duration::from_secs(20)));
        Ok(SmtpSender {
            transport: b.build(),
            from,
        })
    }

    async fn send_email(&self, to: &str, alert: &Alert) -> Attempt {
        let to: Mailbox = match to.parse() {
            Ok(m) => m,
            Err(_) => return Attempt::Refused("not a valid email address".into()),
        };
        let msg = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject(alert))
            .multipart(
                MultiPart::alternative()
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_PLAIN)
                            .body(text(alert, true)),
                    )
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_HTML)
                            .body(html(alert)),
                    ),
            );
        let msg = match msg {
            Ok(m) => m,
            Err(e) => return Attempt::Refused(format!("email not built: {e}")),
        };
        match self.transport.send(msg).await {
            Ok(_) => Attempt::Sent,
            Err(e) if e.is_permanent() => Attempt::Refused(format!("SMTP: {e}")),
            Err(e) => Attempt::Retry(format!("SMTP: {e}")),
        }
    }
}

impl MessageSender for SmtpSender {
    async fn send(&self, target: &NotifyTarget, alert: &Alert) -> Attempt {
        match target {
            NotifyTarget::Email(to) => self.send_email(to, alert).await,
            other => NoMessages.send(other, alert).await,
        }
    }
}

/// Email when configured, otherwise "not configured".
impl<M: MessageSender> MessageSender for Option<M> {
    async fn send(&self, target: &NotifyTarget, alert: &Alert) -> Attempt {
        match self {
            Some(m) => m.send(target, alert).await,
            None => NoMessages.send(target, alert).await,
        }
    }
}

/// The subject line (SMTP and SES alike): the channel and the clip's title.
pub fn subject(alert: &Alert) -> String {
    match alert.kind {
        AlertKind::Confirmed => format!(
            "New clip on {}: {}",
            alert.channel,
            truncate(&alert.title, 80)
        ),
        _ => alert.headline(),
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The HTML part: headline, linked title, facts, edit link.
pub fn html(a: &Alert) -> String {
    let mut h = String::from("<!doctype html><html><body>");
    h.push_str(&format!("<p><strong>{}</strong></p>", esc(&a.headline())));
    if a.kind == AlertKind::Digest {
        h.push_str("<ul>");
        for c in &a.clips {
            h.push_str(&format!(
                "<li><a href=\"{}\">{}</a> ({}, score {:.2}, {})</li>",
                esc(&c.url),
                esc(&truncate(&c.title, 200)),
                esc(&c.trigger),
                c.score,
                rfc3339(c.at_ms)
            ));
        }
        h.push_str("</ul></body></html>");
        return h;
    }
    match &a.url {
        Some(u) => h.push_str(&format!(
            "<p><a href=\"{}\">{}</a></p>",
            esc(u),
            esc(&truncate(&a.title, 200))
        )),
        None => h.push_str(&format!("<p>{}</p>", esc(&truncate(&a.title, 200)))),
    }
    h.push_str(&format!(
        "<p>channel {} | trigger {} | score {:.2} | {}</p>",
        esc(&a.channel),
        esc(&a.trigger),
        a.score,
        rfc3339(a.at_ms)
    ));
    if let Some(e) = &a.error {
        h.push_str(&format!("<p>reason: {}</p>", esc(&truncate(e, 300))));
    }
    if let Some(e) = &a.edit_url {
        h.push_str(&format!("<p><a href=\"{}\">Edit the clip</a></p>", esc(e)));
    }
    h.push_str("</body></html>");
    h
}
