//! The writers: a stream as TSV or as raw Twitch IRC lines, and a stream file with its labels.

use super::generator::Generator;
use super::words::{CHANNEL_EMOTES, TWITCH_EMOTES};
use super::{Moment, Role, SynthConfig, User, IRC_EPOCH_MS, ROOM_ID};
use crate::error::{RelayError, Result};
use crate::input::ChatFormat;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Writes the stream as TSV (`offset_s<TAB>user<TAB>message`, whole seconds). Returns the number
/// of messages.
///
/// # Errors
/// Any write error.
pub fn write_tsv<W: Write>(gen: &mut Generator, out: &mut W) -> std::io::Result<u64> {
    writeln!(out, "offset_s\tuser\tmessage")?;
    let users = gen.users().to_vec();
    let mut n = 0;
    for m in gen.by_ref() {
        let user = &users[m.user];
        writeln!(out, "{}\t{}\t{}", m.time_ms / 1000, user.login, m.text)?;
        n += 1;
    }
    Ok(n)
}

/// Writes the stream as raw Twitch IRC lines (see the [module docs](self)). Returns the number of
/// chat messages (`PRIVMSG` lines).
///
/// # Errors
/// Any write error.
pub fn write_irc<W: Write>(gen: &mut Generator, out: &mut W) -> std::io::Result<u64> {
    // A second random stream for tag values only, so that the chat itself is the same as TSV.
    let mut tag_rng = ChaCha8Rng::seed_from_u64(gen.config().seed ^ 0x1BC7_A6E5_0F00_D5ED);
    let channel = gen.config().channel.clone();
    let me = "justinfan48151";
    for line in [
        format!(":tmi.twitch.tv 001 {me} :Welcome, GLHF!"),
        format!(":tmi.twitch.tv 002 {me} :Your host is tmi.twitch.tv"),
        format!(":tmi.twitch.tv 003 {me} :This server is rather new"),
        format!(":tmi.twitch.tv 004 {me} :-"),
        format!(":tmi.twitch.tv 375 {me} :-"),
        format!(":tmi.twitch.tv 372 {me} :You are in a maze of twisty passages, all alike."),
        format!(":tmi.twitch.tv 376 {me} :>"),
        ":tmi.twitch.tv CAP * ACK :twitch.tv/tags twitch.tv/commands twitch.tv/membership".to_owned(),
        format!(":{me}!{me}@{me}.tmi.twitch.tv JOIN #{channel}"),
        format!(":{me}.tmi.twitch.tv 353 {me} = #{channel} :{me}"),
        format!(":{me}.tmi.twitch.tv 366 {me} #{channel} :End of /NAMES list"),
        format!(
            "@emote-only=0;followers-only=-1;r9k=0;room-id={ROOM_ID};slow=0;subs-only=0 :tmi.twitch.tv ROOMSTATE #{channel}"
        ),
    ] {
        writeln!(out, "{line}")?;
    }
    let mut next_ping_ms = 300_000;
    let mut emotes = String::new();
    let mut spans: Vec<(&'static str, usize, usize)> = Vec::new();
    let users = gen.users().to_vec();
    let mut n = 0;
    for m in gen.by_ref() {
        while m.time_ms >= next_ping_ms {
            writeln!(out, "PING :tmi.twitch.tv")?;
            next_ping_ms += 300_000;
        }
        let user = &users[m.user];
        emote_tag(&m.text, user.sub_months > 0, &mut spans, &mut emotes);
        let (badge_info, badges) = badges(user);
        let is_mod = user.role == Role::Moderator;
        write!(out, "@badge-info={badge_info};badges={badges};")?;
        if tag_rng.random_bool(0.8) {
            write!(
                out,
                "client-nonce={:016x}{:016x};",
                tag_rng.random::<u64>(),
                tag_rng.random::<u64>()
            )?;
        }
        let id: u128 = tag_rng.random();
        write!(
            out,
            "color={};display-name={};emotes={emotes};first-msg=0;flags=;id={:08x}-{:04x}-4{:03x}-{:x}{:03x}-{:012x};mod={};returning-chatter=0;room-id={ROOM_ID};subscriber={};tmi-sent-ts={};turbo=0;user-id={};user-type={}",
            user.color.unwrap_or(""),
            user.display_name,
            (id >> 96) as u32,
            (id >> 80) as u16,
            (id >> 68) as u16 & 0xfff,
            8 + ((id >> 66) as u8 & 0x3),
            (id >> 54) as u16 & 0xfff,
            id as u64 & 0xffff_ffff_ffff,
            u8::from(is_mod),
            u8::from(user.sub_months > 0),
            IRC_EPOCH_MS + m.time_ms,
            user.user_id,
            if is_mod { "mod" } else { "" },
        )?;
        if user.role == Role::Vip {
            write!(out, ";vip=1")?;
        }
        writeln!(
            out,
            " :{l}!{l}@{l}.tmi.twitch.tv PRIVMSG #{channel} :{}",
            m.text,
            l = user.login
        )?;
        n += 1;
    }
    Ok(n)
}

/// `badge-info` and `badges` tag values of a user.
fn badges(user: &User) -> (String, String) {
    let mut list: Vec<String> = Vec::with_capacity(3);
    match user.role {
        Role::Broadcaster => list.push("broadcaster/1".into()),
        Role::Moderator => list.push("moderator/1".into()),
        Role::Vip => list.push("vip/1".into()),
        Role::Viewer => {}
    }
    let info = if user.sub_months > 0 {
        let tier = [36, 24, 18, 12, 9, 6, 3, 2]
            .into_iter()
            .find(|&t| user.sub_months >= t)
            .unwrap_or(0);
        list.push(format!("subscriber/{tier}"));
        format!("subscriber/{}", user.sub_months)
    } else {
        if user.prime {
            list.push("premium/1".into());
        }
        String::new()
    };
    (info, list.join(","))
}

/// Fills `out` with the `emotes` tag value of `text`: `id:start-end,start-end/id:...` with
/// inclusive char indices, ids in order of first use. Channel emotes count only for
/// subscribers (others cannot use them). Tokens are separated by single spaces.
fn emote_tag(
    text: &str,
    subscriber: bool,
    spans: &mut Vec<(&'static str, usize, usize)>,
    out: &mut String,
) {
    use std::fmt::Write as _;
    spans.clear();
    out.clear();
    let mut char_pos = 0usize;
    for token in text.split(' ') {
        let len = token.chars().count();
        let id = TWITCH_EMOTES
            .iter()
            .chain(if subscriber { &CHANNEL_EMOTES[..] } else { &[] })
            .find(|(name, _)| *name == token)
            .map(|(_, id)| *id);
        if let (Some(id), true) = (id, len > 0) {
            spans.push((id, char_pos, char_pos + len - 1));
        }
        char_pos += len + 1;
    }
    let mut done: Vec<&str> = Vec::new();
    for &(id, _, _) in spans.iter() {
        if done.contains(&id) {
            continue;
        }
        done.push(id);
        if !out.is_empty() {
            out.push('/');
        }
        out.push_str(id);
        out.push(':');
        let mut first = true;
        for &(_, s, e) in spans.iter().filter(|(i, _, _)| *i == id) {
            if !first {
                out.push(',');
            }
            first = false;
            let _ = write!(out, "{s}-{e}");
        }
    }
}

/// The labels file of a stream file: `FILE.labels.csv`.
pub fn labels_path(out: &Path) -> PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(".labels.csv");
    PathBuf::from(name)
}

/// What [`write_stream`] wrote.
#[derive(Debug, Clone)]
pub struct SynthSummary {
    pub path: PathBuf,
    pub labels_path: PathBuf,
    pub format: ChatFormat,
    pub messages: u64,
    /// The moments written as labels.
    pub moments: Vec<Moment>,
    /// Time of the last message, in seconds from the start.
    pub last_s: f64,
}

/// Generates a stream into `out` (TSV or IRC) and its labels into [`labels_path`]`(out)`.
///
/// # Errors
/// [`RelayError::Invalid`] for a bad config, [`RelayError::Write`] when a file cannot be
/// written.
pub fn write_stream(out: &Path, config: &SynthConfig, format: ChatFormat) -> Result<SynthSummary> {
    use std::fmt::Write as _;
    let mut gen = Generator::new(config)?;
    let write_err = |path: &Path| {
        let path = path.to_owned();
        move |source| RelayError::Write { path, source }
    };
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(write_err(dir))?;
    }
    let file = std::fs::File::create(out).map_err(write_err(out))?;
    let mut w = BufWriter::with_capacity(1 << 16, file);
    let messages = match format {
        ChatFormat::Tsv => write_tsv(&mut gen, &mut w),
        ChatFormat::Irc => write_irc(&mut gen, &mut w),
    }
    .map_err(write_err(out))?;
    w.flush().map_err(write_err(out))?;

    let last_ms = gen.last_ms();
    let moments: Vec<Moment> = gen
        .moments()
        .iter()
        .filter(|m| m.start_s * 1000 <= last_ms)
        .cloned()
        .collect();
    let labels = labels_path(out);
    let vod_id = out
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut csv = String::from("vod_id,offset_s\n");
    for m in &moments {
        let _ = writeln!(csv, "{vod_id},{}", m.start_s);
    }
    std::fs::write(&labels, csv).map_err(write_err(&labels))?;
    Ok(SynthSummary {
        path: out.to_owned(),
        labels_path: labels,
        format,
        messages,
        moments,
        last_s: last_ms as f64 / 1000.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emote_tag_uses_char_indices() {
        let mut spans = Vec::new();
        let mut out = String::new();
        emote_tag("ㅋㅋ Kappa 와 LUL Kappa", false, &mut spans, &mut out);
        assert_eq!(out, "25:3-7,15-19/425618:11-13");
        emote_tag("synthHype KEKW synthHype", true, &mut spans, &mut out);
        assert_eq!(out, "emotesv2_4f1c9a2be07d4c3e8a61d5b0c2f7e913:0-8,15-23");
        emote_tag("synthHype KEKW", false, &mut spans, &mut out);
        assert_eq!(out, "");
    }
}
