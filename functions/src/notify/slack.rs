//! Slack incoming-webhook payloads: `text` (the notification and fallback) plus blocks (a
//! section with the linked title, a context line with channel, trigger, score and time).
//! Never the edit URL.

use serde_json::{json, Value};

use super::payload::{rfc3339, truncate, Alert, AlertKind};

/// Slack mrkdwn escaping: `&`, `<` and `>` only.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A digest: `text` is the headline; a section lists the linked titles (at most 40, Slack's
/// section text is capped at 3000 characters).
fn digest(a: &Alert) -> Value {
    let mut list = String::new();
    for (i, c) in a.clips.iter().enumerate() {
        let line = format!(
            "• <{}|{}> ({}, score {:.2})\n",
            c.url,
            esc(&truncate(&c.title, 80)),
            esc(&c.trigger),
            c.score
        );
        if i >= 40 || list.len() + line.len() > 2800 {
            list.push_str(&format!("… and {} more", a.clips.len() - i));
            break;
        }
        list.push_str(&line);
    }
    let h = esc(&a.headline());
    json!({
        "text": h,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": format!("*{h}*")}},
            {"type": "section", "text": {"type": "mrkdwn", "text": list.trim_end()}}
        ],
        "unfurl_links": false,
    })
}

/// The JSON body of the webhook call.
pub fn payload(a: &Alert) -> Value {
    if a.kind == AlertKind::Digest {
        return digest(a);
    }
    let title = esc(&truncate(&a.title, 200));
    let (text, section) = match (a.kind, &a.url) {
        (AlertKind::Confirmed, Some(url)) => (
            format!("New clip on {}: {url}", esc(&a.channel)),
            format!(
                ":clapper: *<{url}|{title}>*\nNew clip on *{}*",
                esc(&a.channel)
            ),
        ),
        _ => {
            let h = esc(&a.headline());
            let mut s = format!("*{h}*\n{title}");
            if let Some(e) = &a.error {
                s.push_str(&format!("\nreason: {}", esc(&truncate(e, 500))));
            }
            (h, s)
        }
    };
    json!({
        "text": text,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": section}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": format!(
                "trigger: {} · score {:.2} · {}",
                esc(&a.trigger), a.score, rfc3339(a.at_ms)
            )}]}
        ],
        "unfurl_links": true,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn text_and_blocks_escape_and_no_edit_url() {
        let a = Alert {
            kind: AlertKind::Confirmed,
            request_id: "r1".into(),
            channel: "hypechan".into(),
            title: "<b>&".into(),
            url: Some("https://clips.twitch.tv/ClipOne".into()),
            edit_url: Some("https://clips.twitch.tv/ClipOne/edit".into()),
            trigger: "laughter".into(),
            score: 0.5,
            at_ms: 0,
            error: None,
            clips: Vec::new(),
        };
        let p = payload(&a);
        assert_eq!(
            p["text"],
            "New clip on hypechan: https://clips.twitch.tv/ClipOne"
        );
        let sec = p["blocks"][0]["text"]["text"].as_str().unwrap();
        assert!(
            sec.contains("<https://clips.twitch.tv/ClipOne|&lt;b&gt;&amp;>"),
            "{sec}"
        );
        assert!(!p.to_string().contains("/edit"));
    }
}
