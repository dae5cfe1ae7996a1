//! `clipper channels ...` and `clipper clips export`: the same code over any [`ChannelStore`] /
//! [`ClipStore`] (DynamoDB tables in the cloud, local files in embedded mode).

use std::io::Write;

pub use clipper_functions::dashboard::export::{clip_rows, parse_since, write_clips, Format};
use clipper_functions::roles::{ChannelConfig, ChannelStore, ClipStore};
use clipper_models::Millis;

use crate::error::{RelayError, Result};

/// A change to one channel.
#[derive(Debug, Clone, Default)]
pub struct ChannelChange {
    pub enabled: Option<bool>,
    pub threshold: Option<f64>,
    pub cooldown_ms: Option<Millis>,
    pub webhook_url: Option<String>,
    /// Remove every alert target first (`--notify-clear`).
    pub notify_clear: bool,
    /// Alert targets to add (`--notify`, repeatable); duplicates are kept once.
    pub notify_add: Vec<clipper_functions::notify::NotifyTarget>,
    /// Also alert on failed clips / announce dry-run clips.
    pub notify_failures: Option<bool>,
    pub notify_dry_run: Option<bool>,
    /// Post `clip: URL` in the channel's chat (`--chat-link on|off`).
    pub chat_link: Option<bool>,
    /// The daily digest (`--digest on|off`).
    pub digest: Option<bool>,
}

fn backend(e: clipper_functions::FunctionsError) -> RelayError {
    RelayError::Invalid(format!("channel store: {e}"))
}

/// Adds `channel` (enabled) with `change` applied; replaces an existing entry.
pub async fn add_channel<C: ChannelStore>(
    store: &C,
    channel: &str,
    change: &ChannelChange,
) -> Result<ChannelConfig> {
    let mut c = ChannelConfig::new(channel);
    apply(&mut c, change);
    store.put(&c).await.map_err(backend)?;
    Ok(c)
}

/// Changes an existing channel; an unknown channel is an error.
pub async fn set_channel<C: ChannelStore>(
    store: &C,
    channel: &str,
    change: &ChannelChange,
) -> Result<ChannelConfig> {
    let name = ChannelConfig::new(channel).channel;
    let mut c = store
        .list()
        .await
        .map_err(backend)?
        .into_iter()
        .find(|c| c.channel == name)
        .ok_or_else(|| RelayError::Invalid(format!("no channel {name:?}; add it first")))?;
    apply(&mut c, change);
    store.put(&c).await.map_err(backend)?;
    Ok(c)
}

/// Removes a channel; false when it was not there.
pub async fn remove_channel<C: ChannelStore>(store: &C, channel: &str) -> Result<bool> {
    let name = ChannelConfig::new(channel).channel;
    store.remove(&name).await.map_err(backend)
}

/// All channels, sorted by name.
pub async fn list_channels<C: ChannelStore>(store: &C) -> Result<Vec<ChannelConfig>> {
    let mut v = store.list().await.map_err(backend)?;
    v.sort_by(|a, b| a.channel.cmp(&b.channel));
    Ok(v)
}

fn apply(c: &mut ChannelConfig, ch: &ChannelChange) {
    if let Some(e) = ch.enabled {
        c.enabled = e;
    }
    if ch.threshold.is_some() {
        c.threshold = ch.threshold;
    }
    if ch.cooldown_ms.is_some() {
        c.cooldown_ms = ch.cooldown_ms;
    }
    if ch.webhook_url.is_some() {
        c.webhook_url.clone_from(&ch.webhook_url);
    }
    if ch.notify_clear {
        c.notify.clear();
    }
    for t in &ch.notify_add {
        if !c.notify.contains(t) {
            c.notify.push(t.clone());
        }
    }
    if let Some(f) = ch.notify_failures {
        c.notify_failures = f;
    }
    if let Some(d) = ch.notify_dry_run {
        c.notify_dry_run = d;
    }
    if let Some(l) = ch.chat_link {
        c.chat_link = l;
    }
    if let Some(d) = ch.digest {
        c.digest = d;
    }
}

/// Writes the records of `channel` (or all) triggered at or after `since`, oldest first.
pub async fn export_clips<S: ClipStore>(
    store: &S,
    channel: Option<&str>,
    since: Option<Millis>,
    format: Format,
    out: impl Write,
) -> Result<usize> {
    let records = clip_rows(store, channel, since).await?;
    write_clips(&records, format, out)?;
    Ok(records.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_forms() {
        assert_eq!(parse_since("1700000000000", 0).unwrap(), 1_700_000_000_000);
        assert_eq!(
            parse_since("24h", 100_000_000).unwrap(),
            100_000_000 - 86_400_000
        );
        assert_eq!(
            parse_since("90m", 10_000_000).unwrap(),
            10_000_000 - 5_400_000
        );
        assert_eq!(parse_since("1970-01-02T00:00:00Z", 0).unwrap(), 86_400_000);
        assert_eq!(
            parse_since("2026-11-24T18:00:00.5Z", 0).unwrap(),
            1_795_543_200_500
        );
        assert!(parse_since("yesterday", 0).is_err());
        // Inputs that used to panic (byte slicing inside a non-ASCII fraction, overflow).
        assert!(parse_since("2026-11-24T18:00:00.\u{e9}Z", 0).is_err());
        assert!(parse_since("2026-11-24T18:00:00.5\u{e9}Z", 0).is_err());
        assert!(parse_since("1e300d", 0).is_err());
        assert!(parse_since("-5d", 0).is_err());
        assert!(parse_since("NaNh", 0).is_err());
        assert!(parse_since("\u{e9}m", 0).is_err());
        assert!(parse_since("-1", 0).is_err());
        assert_eq!(
            parse_since("2026-11-24T19:00:00+01:00", 0).unwrap(),
            parse_since("2026-11-24T18:00:00Z", 0).unwrap()
        );
        assert!(parse_since("2026-13-01T00:00:00Z", 0).is_err());
    }

    #[tokio::test]
    async fn channels_round_trip_and_export() {
        use clipper_functions::local::{JsonChannelStore, JsonlClipStore};
        let dir = tempfile::tempdir().unwrap();
        let store = JsonChannelStore::new(dir.path().join("channels.json"));
        add_channel(&store, "#Foo", &ChannelChange::default())
            .await
            .unwrap();
        add_channel(
            &store,
            "bar",
            &ChannelChange {
                threshold: Some(0.7),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        set_channel(
            &store,
            "foo",
            &ChannelChange {
                enabled: Some(false),
                chat_link: Some(true),
                digest: Some(true),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert!(set_channel(&store, "nope", &ChannelChange::default())
            .await
            .is_err());
        let l = list_channels(&store).await.unwrap();
        assert_eq!(l.len(), 2);
        assert_eq!((l[0].channel.as_str(), l[0].threshold), ("bar", Some(0.7)));
        assert_eq!((l[1].channel.as_str(), l[1].enabled), ("foo", false));
        assert!(l[1].chat_link && l[1].digest && !l[0].chat_link && !l[0].digest);
        assert!(remove_channel(&store, "FOO").await.unwrap());
        assert!(!remove_channel(&store, "foo").await.unwrap());

        let clips = JsonlClipStore::open(dir.path().join("rec")).unwrap();
        let mut out = Vec::new();
        assert_eq!(
            export_clips(&clips, None, None, Format::Csv, &mut out)
                .await
                .unwrap(),
            0
        );
        assert!(String::from_utf8(out)
            .unwrap()
            .starts_with("request_id,channel,status"));
    }
}
