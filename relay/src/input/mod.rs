//! Streaming chat-log readers.
//!
//! Two on-disk formats are understood, detected from the first non-empty line
//! ([`detect_format`]):
//!
//! * **TSV** ([`ChatFormat::Tsv`]): a header `offset_s<TAB>user<TAB>message`, then one message per
//!   line: offset from the start of the stream in seconds (integer or fractional), the sender, and
//!   the text. Everything after the second TAB is the message, so a message that itself contains
//!   TABs is kept whole. The header is optional when the first line already parses as a data row.
//!   The channel of every message is the `channel` argument given to the reader.
//! * **Raw Twitch IRC** ([`ChatFormat::Irc`]): one `IRCv3` line per line of the file, exactly as the
//!   server sent it (`@tags :prefix COMMAND params`), parsed with the `twitch-irc` crate. A line may
//!   carry a recorder prefix: a 13-digit Unix-millisecond receive time followed by one TAB or
//!   space (`1700000000123<TAB>@badge-info=...`). The receive time is used only when the line has
//!   no `tmi-sent-ts` tag. RFC 3339 receive times are **not** accepted. See [`irc`] for how
//!   `PRIVMSG` and `USERNOTICE` map to [`ChatMessage`]; every other command (`PING`, `JOIN`,
//!   `ROOMSTATE`, `CLEARCHAT`, numeric replies, ...) is skipped and counted as ignored.
//!
//! [`ChatReader`] streams: it reads one line at a time into a single reused byte buffer and never
//! holds more than one line of the file. Lines are decoded strictly as UTF-8: a line that is not
//! valid UTF-8 is counted as malformed and skipped (no lossy replacement, so garbage never
//! reaches the detector as text). Malformed lines never stop the reader; each is logged with
//! `tracing::warn!` as `path:line: reason`, the first [`MAX_LINE_WARNINGS`] per file only, and
//! [`ChatReader::log_summary`] logs the totals once at the end. Timestamps are passed through in
//! file order, even when they go backwards.

pub mod irc;
pub mod tsv;

use std::borrow::Cow;
use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use clipper_models::ChatMessage;

use crate::error::{RelayError, Result};

/// How many malformed lines per file are logged individually; the rest only show up in the
/// counts ([`ReadStats::malformed`], [`ChatReader::log_summary`]).
pub const MAX_LINE_WARNINGS: u64 = 20;

/// Capacity of the read buffer used by [`ChatReader::open`].
const READ_BUFFER_BYTES: usize = 256 * 1024;

/// Longest first line quoted in [`RelayError::UnknownFormat`], in chars.
const MAX_QUOTED_CHARS: usize = 200;

/// The format of a chat log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChatFormat {
    /// `offset_s<TAB>user<TAB>message` lines (see [`tsv`]).
    Tsv,
    /// Raw Twitch IRC lines with `IRCv3` tags (see [`irc`]).
    Irc,
}

impl fmt::Display for ChatFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ChatFormat::Tsv => "tsv",
            ChatFormat::Irc => "irc",
        })
    }
}

impl FromStr for ChatFormat {
    type Err = String;

    /// Parses `tsv` or `irc` (any case), the names [`Display`](fmt::Display) writes.
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("tsv") {
            Ok(ChatFormat::Tsv)
        } else if s.eq_ignore_ascii_case("irc") {
            Ok(ChatFormat::Irc)
        } else {
            Err(format!(
                "unknown chat format {s:?} (expected `tsv` or `irc`)"
            ))
        }
    }
}

/// Guesses the format of a chat log from its first non-empty line.
///
/// * a TSV header (`offset_s<TAB>user<TAB>message`) or a TSV data row (`<number><TAB><user><TAB>
///   <text>`) gives [`ChatFormat::Tsv`];
/// * a line that `twitch-irc` parses and that starts with `@`, `:` or `PING` (optionally after a
///   13-digit Unix-ms receive time and a TAB or space) gives [`ChatFormat::Irc`];
/// * anything else gives `None`.
///
/// A trailing `\r`/`\n` and a leading UTF-8 byte order mark are ignored.
#[must_use]
pub fn detect_format(first_non_empty_line: &str) -> Option<ChatFormat> {
    let line = clean_line(first_non_empty_line);
    let line = line.strip_prefix('\u{feff}').unwrap_or(line);
    if tsv::is_header(line) {
        Some(ChatFormat::Tsv)
    } else if irc::looks_like_irc(line) {
        Some(ChatFormat::Irc)
    } else if tsv::parse_row(line).is_ok() {
        Some(ChatFormat::Tsv)
    } else {
        None
    }
}

/// Counts kept by a [`ChatReader`]. Always `lines == messages + malformed + ignored`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadStats {
    /// Lines read so far, including blank lines and the TSV header.
    pub lines: u64,
    /// Lines that became a [`ChatMessage`].
    pub messages: u64,
    /// Lines skipped because they could not be parsed (bad UTF-8, bad offset, missing fields,
    /// broken IRC, ...).
    pub malformed: u64,
    /// Well-formed lines that carry no chat message: blank lines, TSV headers, IRC commands other
    /// than chat (`PING`, `JOIN`, `ROOMSTATE`, ...) and user notices without text or event.
    pub ignored: u64,
}

/// What one line turned into.
#[derive(Debug)]
pub(crate) enum LineOutcome {
    /// A chat message.
    Message(ChatMessage),
    /// Well formed, but nothing for the detector.
    Ignored,
    /// Could not be parsed; the reason is logged.
    Malformed(Cow<'static, str>),
}

/// Strips the line terminator (`\n`, `\r\n` or a lone trailing `\r`).
fn clean_line(line: &str) -> &str {
    let line = line.strip_suffix('\n').unwrap_or(line);
    line.strip_suffix('\r').unwrap_or(line)
}

/// Strips the line terminator from raw bytes.
fn clean_bytes(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// A streaming reader of one chat log, yielding [`ChatMessage`]s in file order.
///
/// Malformed lines are skipped (see the [module docs](self)). An I/O error while reading ends the
/// iteration early; [`ChatReader::take_error`] returns it.
pub struct ChatReader<R: BufRead> {
    reader: R,
    path: PathBuf,
    channel: String,
    format: ChatFormat,
    /// The one line buffer, reused for every line.
    buf: Vec<u8>,
    /// `buf` holds a line read during format detection that has not been parsed yet.
    pending: bool,
    /// The last line read was longer than [`MAX_LINE_BYTES`] (its bytes were not kept).
    oversized: bool,
    stats: ReadStats,
    warnings_logged: u64,
    error: Option<RelayError>,
    finished: bool,
}

impl<R: BufRead> fmt::Debug for ChatReader<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChatReader")
            .field("path", &self.path)
            .field("channel", &self.channel)
            .field("format", &self.format)
            .field("stats", &self.stats)
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

impl ChatReader<BufReader<File>> {
    /// Opens a chat log and detects its format.
    ///
    /// `channel` is the channel of every TSV message (callers usually derive it from the file
    /// name); for IRC logs each line names its own channel and `channel` is only a fallback.
    ///
    /// # Errors
    /// [`RelayError::Open`] when the file cannot be opened, [`RelayError::Read`] on an I/O error,
    /// [`RelayError::EmptyFile`] when it has no non-empty line, [`RelayError::UnknownFormat`] when
    /// the first non-empty line is neither TSV nor IRC.
    pub fn open(path: &Path, channel: &str) -> Result<Self> {
        let file = File::open(path).map_err(|source| RelayError::Open {
            path: path.to_owned(),
            source,
        })?;
        ChatReader::new(
            BufReader::with_capacity(READ_BUFFER_BYTES, file),
            path,
            channel,
        )
    }
}

/// Longest line kept (Twitch IRC lines are at most ~8 KiB of tags and 500 chars of text).
pub const MAX_LINE_BYTES: usize = 64 * 1024;

impl<R: BufRead> ChatReader<R> {
    /// Wraps any buffered reader; `path` is only used in messages. Reads up to the first
    /// non-empty line to detect the format.
    ///
    /// # Errors
    /// As [`ChatReader::open`], except `Open`.
    pub fn new(reader: R, path: &Path, channel: &str) -> Result<Self> {
        let mut this = ChatReader {
            reader,
            path: path.to_owned(),
            channel: channel.to_owned(),
            format: ChatFormat::Tsv,
            buf: Vec::with_capacity(1024),
            pending: false,
            oversized: false,
            stats: ReadStats::default(),
            warnings_logged: 0,
            error: None,
            finished: false,
        };
        loop {
            if !this.read_line()? {
                return Err(RelayError::EmptyFile { path: this.path });
            }
            let bytes = clean_bytes(&this.buf);
            let bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
            if bytes.iter().all(u8::is_ascii_whitespace) {
                this.stats.ignored += 1;
                continue;
            }
            let format = std::str::from_utf8(bytes).ok().and_then(detect_format);
            let Some(format) = format else {
                let first_line: String = String::from_utf8_lossy(bytes)
                    .chars()
                    .take(MAX_QUOTED_CHARS)
                    .collect();
                return Err(RelayError::UnknownFormat {
                    path: this.path,
                    first_line,
                });
            };
            this.format = format;
            this.pending = true;
            return Ok(this);
        }
    }

    /// The detected format.
    pub fn format(&self) -> ChatFormat {
        self.format
    }

    /// Counts so far.
    pub fn stats(&self) -> ReadStats {
        self.stats
    }

    /// The path used in messages.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The channel given at construction (TSV channel, IRC fallback).
    pub fn channel(&self) -> &str {
        &self.channel
    }

    /// The I/O error that ended the iteration early, if any (taken: a second call gives `None`).
    pub fn take_error(&mut self) -> Option<RelayError> {
        self.error.take()
    }

    /// Logs the counts once, typically after the iteration: a warning when lines were malformed
    /// (including those not logged individually), else a debug line.
    pub fn log_summary(&self) {
        let s = self.stats;
        if s.malformed > 0 {
            tracing::warn!(
                path = %self.path.display(),
                format = %self.format,
                lines = s.lines,
                messages = s.messages,
                ignored = s.ignored,
                malformed = s.malformed,
                not_logged = s.malformed.saturating_sub(self.warnings_logged),
                "{}: skipped {} malformed of {} lines",
                self.path.display(),
                s.malformed,
                s.lines,
            );
        } else {
            tracing::debug!(
                path = %self.path.display(),
                format = %self.format,
                lines = s.lines,
                messages = s.messages,
                ignored = s.ignored,
                "{}: read {} messages from {} lines",
                self.path.display(),
                s.messages,
                s.lines,
            );
        }
    }

    /// Reads the next line into `buf`. `Ok(false)` at end of input.
    /// Reads the next line into `buf`, at most [`MAX_LINE_BYTES`] of it: the rest of a longer
    /// line is skipped (read, not kept) and the line is reported malformed, so that a file
    /// without newlines cannot take all memory.
    fn read_line(&mut self) -> Result<bool> {
        self.buf.clear();
        loop {
            let limit = MAX_LINE_BYTES as u64 + 1;
            match (&mut self.reader)
                .take(limit)
                .read_until(b'\n', &mut self.buf)
            {
                Ok(0) => return Ok(false),
                Ok(_) => {
                    self.stats.lines += 1;
                    if self.buf.len() > MAX_LINE_BYTES && self.buf.last() != Some(&b'\n') {
                        self.skip_rest_of_line()?;
                        self.buf.clear();
                        self.oversized = true;
                    } else {
                        self.oversized = false;
                    }
                    return Ok(true);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(RelayError::Read {
                        path: self.path.clone(),
                        source,
                    })
                }
            }
        }
    }

    fn skip_rest_of_line(&mut self) -> Result<()> {
        loop {
            let chunk = match self.reader.fill_buf() {
                Ok(c) => c,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    return Err(RelayError::Read {
                        path: self.path.clone(),
                        source,
                    })
                }
            };
            if chunk.is_empty() {
                return Ok(());
            }
            match chunk.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    self.reader.consume(i + 1);
                    return Ok(());
                }
                None => {
                    let n = chunk.len();
                    self.reader.consume(n);
                }
            }
        }
    }

    /// Parses the line in `buf`.
    fn parse_buffered(&self) -> LineOutcome {
        if self.oversized {
            return LineOutcome::Malformed(Cow::Borrowed("line longer than 64 KiB"));
        }
        let mut bytes = clean_bytes(&self.buf);
        if self.stats.lines == 1 {
            bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
        }
        let line = match std::str::from_utf8(bytes) {
            Ok(line) => line,
            Err(e) => {
                return LineOutcome::Malformed(Cow::Owned(format!(
                    "not valid UTF-8 (at byte {})",
                    e.valid_up_to()
                )))
            }
        };
        if line.trim().is_empty() {
            return LineOutcome::Ignored;
        }
        match self.format {
            ChatFormat::Tsv => tsv::parse_line(line, &self.channel),
            ChatFormat::Irc => irc::parse_line(line, &self.channel),
        }
    }

    /// Counts and, for the first few, logs a malformed line.
    fn note_malformed(&mut self, reason: &str) {
        self.stats.malformed += 1;
        if self.warnings_logged < MAX_LINE_WARNINGS {
            self.warnings_logged += 1;
            tracing::warn!(
                "{}:{}: skipping malformed {} line: {}",
                self.path.display(),
                self.stats.lines,
                self.format,
                reason
            );
            if self.warnings_logged == MAX_LINE_WARNINGS {
                tracing::warn!(
                    "{}: further malformed lines are only counted, not logged",
                    self.path.display()
                );
            }
        }
    }
}

impl<R: BufRead> Iterator for ChatReader<R> {
    type Item = ChatMessage;

    fn next(&mut self) -> Option<ChatMessage> {
        if self.finished {
            return None;
        }
        loop {
            if self.pending {
                self.pending = false;
            } else {
                match self.read_line() {
                    Ok(true) => {}
                    Ok(false) => {
                        self.finished = true;
                        return None;
                    }
                    Err(e) => {
                        tracing::warn!("{e}; stopping after {} lines", self.stats.lines);
                        self.error = Some(e);
                        self.finished = true;
                        return None;
                    }
                }
            }
            match self.parse_buffered() {
                LineOutcome::Message(message) => {
                    self.stats.messages += 1;
                    return Some(message);
                }
                LineOutcome::Ignored => self.stats.ignored += 1,
                LineOutcome::Malformed(reason) => self.note_malformed(&reason),
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn reader(text: &[u8]) -> Result<ChatReader<Cursor<Vec<u8>>>> {
        ChatReader::new(Cursor::new(text.to_vec()), Path::new("mem.log"), "chan")
    }

    #[test]
    fn an_endless_line_is_skipped_not_kept() {
        let mut text = b"offset_s\tuser\tmessage\n1\ta\thi\n2\tb\t".to_vec();
        text.extend(std::iter::repeat_n(b'x', 3 * MAX_LINE_BYTES));
        text.extend_from_slice(b"\n3\tc\tafter\n4\td\t");
        text.extend(std::iter::repeat_n(b'y', MAX_LINE_BYTES + 10));
        let mut r = reader(&text).unwrap();
        let got: Vec<String> = r.by_ref().map(|m| m.text).collect();
        assert_eq!(got, ["hi", "after"]);
        assert_eq!(r.stats().malformed, 2);
        assert!(
            r.buf.capacity() <= 2 * MAX_LINE_BYTES + 1024,
            "{}",
            r.buf.capacity()
        );
    }

    #[test]
    fn detects_formats() {
        assert_eq!(
            detect_format("offset_s\tuser\tmessage"),
            Some(ChatFormat::Tsv)
        );
        assert_eq!(
            detect_format("\u{feff}offset_s\tuser\tmessage\r\n"),
            Some(ChatFormat::Tsv)
        );
        assert_eq!(detect_format("12\tbob\thello there"), Some(ChatFormat::Tsv));
        assert_eq!(detect_format("1.5\tbob\t"), Some(ChatFormat::Tsv));
        assert_eq!(detect_format("PING :tmi.twitch.tv"), Some(ChatFormat::Irc));
        assert_eq!(
            detect_format(":tmi.twitch.tv 001 justinfan123 :Welcome, GLHF!"),
            Some(ChatFormat::Irc)
        );
        assert_eq!(
            detect_format("@room-id=1 :tmi.twitch.tv ROOMSTATE #chan"),
            Some(ChatFormat::Irc)
        );
        assert_eq!(
            detect_format("1700000000123\t:a!a@a.tmi.twitch.tv JOIN #chan"),
            Some(ChatFormat::Irc)
        );
        assert_eq!(detect_format("hello world"), None);
        assert_eq!(detect_format("12\tbob"), None);
        assert_eq!(detect_format("x\tbob\thi"), None);
        assert_eq!(detect_format("{\"json\": true}"), None);
        assert_eq!(detect_format("@"), None);
    }

    #[test]
    fn format_names_round_trip() {
        for f in [ChatFormat::Tsv, ChatFormat::Irc] {
            assert_eq!(f.to_string().parse::<ChatFormat>(), Ok(f));
        }
        assert!("csv".parse::<ChatFormat>().is_err());
    }

    #[test]
    fn stats_add_up_and_blank_lines_are_ignored() {
        let mut r =
            reader(b"\n  \noffset_s\tuser\tmessage\r\n1\ta\thi\r\n\nbad\n2\tb\tyo").unwrap();
        assert_eq!(r.format(), ChatFormat::Tsv);
        let msgs: Vec<_> = r.by_ref().collect();
        assert_eq!(msgs.len(), 2);
        assert_eq!(msgs[0].text, "hi");
        assert_eq!(msgs[1].time_ms, 2000);
        let s = r.stats();
        assert_eq!(
            s,
            ReadStats {
                lines: 7,
                messages: 2,
                malformed: 1,
                ignored: 4
            }
        );
        assert_eq!(s.lines, s.messages + s.malformed + s.ignored);
        assert!(r.take_error().is_none());
        r.log_summary();
    }

    #[test]
    fn first_data_line_is_not_lost() {
        let msgs: Vec<_> = reader(b"3\ta\tfirst\n4\tb\tsecond\n").unwrap().collect();
        assert_eq!(msgs.len(), 2);
        assert_eq!(msgs[0].text, "first");
    }

    #[test]
    fn empty_and_unknown() {
        assert!(matches!(reader(b""), Err(RelayError::EmptyFile { .. })));
        assert!(matches!(
            reader(b"\n\r\n  \n"),
            Err(RelayError::EmptyFile { .. })
        ));
        match reader(b"\nhello world\n1\ta\tb\n") {
            Err(RelayError::UnknownFormat { first_line, .. }) => {
                assert_eq!(first_line, "hello world");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            reader(b"\xff\xfe\x00garbage\n"),
            Err(RelayError::UnknownFormat { .. })
        ));
    }

    #[test]
    fn many_malformed_lines_do_not_stop_reading() {
        let mut text = String::from("offset_s\tuser\tmessage\n");
        for i in 0..100 {
            text.push_str(&format!("oops {i}\n{i}\tu\tok\n"));
        }
        let mut r = reader(text.as_bytes()).unwrap();
        assert_eq!(r.by_ref().count(), 100);
        assert_eq!(r.stats().malformed, 100);
        assert_eq!(r.warnings_logged, MAX_LINE_WARNINGS);
    }

    /// A reader that fails after some bytes.
    struct Failing(Cursor<Vec<u8>>);
    impl std::io::Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.0.read(buf)?;
            if n == 0 {
                Err(std::io::Error::other("disk on fire"))
            } else {
                Ok(n)
            }
        }
    }

    #[test]
    fn io_error_ends_iteration_and_is_kept() {
        let inner = Failing(Cursor::new(b"1\ta\tx\n2\tb\ty\n".to_vec()));
        let mut r =
            ChatReader::new(BufReader::with_capacity(4, inner), Path::new("f"), "c").unwrap();
        assert_eq!(r.by_ref().count(), 2);
        assert!(matches!(r.take_error(), Some(RelayError::Read { .. })));
        assert!(r.next().is_none());
    }
}
