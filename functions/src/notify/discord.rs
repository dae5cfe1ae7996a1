//! Discord webhook payloads. The clip URL goes in `content` so Discord unfurls the Twitch
//! player (webhook embeds cannot carry video); a short embed adds channel, title, trigger,
//! score and time. Mentions are disabled (titles come from chat). Never the edit URL.

use serde_json::{json, Value};

use super::payload::{rfc3339, truncate, Alert, AlertKind};

/// Discord's embed colour for each alert kind (Twitch purple, grey, red).
fn colour(kind: AlertKind) -> u32 {
    match kind {
        AlertKind::Confirmed => 0x9146FF,
        AlertKind::WouldClip => 0x808080,
        AlertKind::Failed => 0xE74C3C,
        AlertKind::Digest => 0x9146FF,
    }
}

/// A digest: the headline and one line per clip in `content` (Discord unfurls the first
/// links), cut to Discord's 2000 characters with a count of the clips left out.
fn digest(a: &Alert) -> Value {
    let mut content = a.headline();
    let lines = super::payload::digest_lines(a);
    for (i, l) in lines.iter().enumerate() {
        let more = format!("\n… and {} more", lines.len() - i);
        if content.chars().count() + 1 + l.chars().count() + more.chars().count() > 2000 {
            content.push_str(&more);
            break;
        }
        content.push('\n');
        content.push_str(l);
    }
    json!({
        "content": content,
        "allowed_mentions": {"parse": []},
    })
}

/// The JSON body of the webhook call.
pub fn payload(a: &Alert) -> Value {
    if a.kind == AlertKind::Digest {
        return digest(a);
    }
    let mut fields = vec![
        json!({"name": "Channel", "value": truncate(&a.channel, 100), "inline": true}),
        json!({"name": "Trigger", "value": truncate(&a.trigger, 100), "inline": true}),
        json!({"name": "Score", "value": format!("{:.2}", a.score), "inline": true}),
    ];
    if let Some(e) = &a.error {
        fields.push(json!({"name": "Reason", "value": truncate(e, 1000), "inline": false}));
    }
    let mut embed = json!({
        "title": truncate(&a.title, 256),
        "color": colour(a.kind),
        "fields": fields,
        "timestamp": rfc3339(a.at_ms),
    });
    let content = match (a.kind, &a.url) {
        (AlertKind::Confirmed, Some(url)) => {
            embed["url"] = json!(url);
            url.clone()
        }
        _ => truncate(&a.headline(), 2000),
    };
    json!({
        "content": content,
        "embeds": [embed],
        "allowed_mentions": {"parse": []},
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn alert() -> Alert {
        Alert {
            kind: AlertKind::Confirmed,
            request_id: "r1".into(),
            channel: "hypechan".into(),
            title: "@everyone KEKW".into(),
            url: Some("https://clips.twitch.tv/ClipOne".into()),
            edit_url: Some("https://clips.twitch.tv/ClipOne/edit".into()),
            trigger: "laughter".into(),
            score: 0.912,
            at_ms: 0,
            error: None,
            clips: Vec::new(),
        }
    }

    #[test]
    fn url_in_content_embed_fields_no_edit_url_no_mentions() {
        let p = payload(&alert());
        assert_eq!(p["content"], "https://clips.twitch.tv/ClipOne");
        assert_eq!(p["embeds"][0]["url"], "https://clips.twitch.tv/ClipOne");
        assert_eq!(p["embeds"][0]["fields"][0]["value"], "hypechan");
        assert_eq!(p["embeds"][0]["fields"][2]["value"], "0.91");
        assert_eq!(p["embeds"][0]["timestamp"], "1970-01-01T00:00:00.000Z");
        assert_eq!(p["allowed_mentions"]["parse"], json!([]));
        assert!(!p.to_string().contains("/edit"));
    }
}
