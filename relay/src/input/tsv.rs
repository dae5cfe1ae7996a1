//! TSV chat logs: `offset_s<TAB>user<TAB>message`.
//!
//! * `offset_s` is the time from the start of the stream in seconds, an integer (`6`) or a
//!   decimal (`6.25`, `1e3`); it becomes `time_ms = round(offset_s * 1000)`. Integers take a fast
//!   path (`i64` parse) and are exact. Negative offsets are accepted; NaN and infinities are not.
//! * `user` must be non-empty.
//! * `message` is everything after the second TAB (further TABs stay in the text); it may be
//!   empty.
//!
//! A header line `offset_s<TAB>user<TAB>message` is skipped wherever it appears (logs are
//! sometimes concatenated). Messages get no user id, no roles, no emote tags and no event.

use std::borrow::Cow;

use clipper_models::{ChatMessage, Millis};

use super::LineOutcome;

/// The header's column names, in order.
const HEADER: [&str; 3] = ["offset_s", "user", "message"];

/// True for the header line `offset_s<TAB>user<TAB>message` (names compared ignoring ASCII case,
/// surrounding spaces allowed; extra columns after `message` are tolerated).
#[must_use]
pub fn is_header(line: &str) -> bool {
    let mut fields = line.split('\t');
    HEADER.iter().all(|name| {
        fields
            .next()
            .is_some_and(|f| f.trim().eq_ignore_ascii_case(name))
    })
}

/// Parses an offset in seconds into milliseconds. `None` when it is not a finite number or the
/// result does not fit an `i64`.
#[must_use]
pub fn parse_offset_ms(offset: &str) -> Option<Millis> {
    let offset = offset.trim();
    if let Ok(seconds) = offset.parse::<i64>() {
        return seconds.checked_mul(1000);
    }
    let seconds = offset.parse::<f64>().ok()?;
    let ms = (seconds * 1000.0).round();
    // `i64::MAX as f64` rounds up to 2^63, so the bound must be exclusive.
    #[allow(clippy::cast_precision_loss)]
    let limit = i64::MAX as f64;
    if ms.is_finite() && ms.abs() < limit {
        #[allow(clippy::cast_possible_truncation)]
        Some(ms as i64)
    } else {
        None
    }
}

/// One parsed data row, borrowing from the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TsvRow<'a> {
    /// `offset_s` in milliseconds.
    pub time_ms: Millis,
    /// The `user` column.
    pub user: &'a str,
    /// Everything after the second TAB.
    pub text: &'a str,
}

/// Parses a data row (without its line terminator). The error is a short reason.
///
/// # Errors
/// When a field is missing, the offset is not a number or the user is empty.
pub fn parse_row(line: &str) -> Result<TsvRow<'_>, &'static str> {
    let Some((offset, rest)) = line.split_once('\t') else {
        return Err("missing fields (expected offset_s<TAB>user<TAB>message)");
    };
    let Some((user, text)) = rest.split_once('\t') else {
        return Err("missing message field (expected offset_s<TAB>user<TAB>message)");
    };
    let Some(time_ms) = parse_offset_ms(offset) else {
        return Err("offset_s is not a number of seconds");
    };
    if user.is_empty() {
        return Err("empty user");
    }
    Ok(TsvRow {
        time_ms,
        user,
        text,
    })
}

/// Turns one non-blank line (terminator already removed) into a message for `channel`.
pub(crate) fn parse_line(line: &str, channel: &str) -> LineOutcome {
    match parse_row(line) {
        Ok(row) => {
            LineOutcome::Message(ChatMessage::plain(channel, row.user, row.text, row.time_ms))
        }
        Err(_) if is_header(line) => LineOutcome::Ignored,
        Err(reason) => LineOutcome::Malformed(Cow::Borrowed(reason)),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn message(line: &str) -> ChatMessage {
        match parse_line(line, "kimdoe") {
            LineOutcome::Message(m) => m,
            other => panic!("{line:?}: {other:?}"),
        }
    }

    fn malformed(line: &str) -> String {
        match parse_line(line, "kimdoe") {
            LineOutcome::Malformed(reason) => reason.into_owned(),
            other => panic!("{line:?}: {other:?}"),
        }
    }

    #[test]
    fn parses_rows() {
        let m = message("6\tu_87f4c0f2bf\t카와이 ㅋㅋ");
        assert_eq!(
            m,
            ChatMessage::plain("kimdoe", "u_87f4c0f2bf", "카와이 ㅋㅋ", 6000)
        );
        assert_eq!(message("6.25\tu\tx").time_ms, 6250);
        assert_eq!(message(" 7 \tu\tx").time_ms, 7000);
        assert_eq!(message("0.0005\tu\tx").time_ms, 1);
        assert_eq!(message("1e3\tu\tx").time_ms, 1_000_000);
        assert_eq!(message("-2\tu\tx").time_ms, -2000);
        assert_eq!(message("5\tu\t").text, "");
        assert_eq!(message("5\tu\ta\tb\t\tc").text, "a\tb\t\tc");
        assert_eq!(message("5\tu\t  spaced  ").text, "  spaced  ");
    }

    #[test]
    fn headers_are_ignored() {
        assert!(is_header("offset_s\tuser\tmessage"));
        assert!(is_header("Offset_S\tUSER\tmessage\textra"));
        assert!(!is_header("offset_s\tuser"));
        assert!(!is_header("offset\tuser\tmessage"));
        assert!(matches!(
            parse_line("offset_s\tuser\tmessage", "c"),
            LineOutcome::Ignored
        ));
    }

    #[test]
    fn malformed_rows() {
        assert!(malformed("abc\tu\tx").contains("offset"));
        assert!(malformed("NaN\tu\tx").contains("offset"));
        assert!(malformed("inf\tu\tx").contains("offset"));
        assert!(malformed("\tu\tx").contains("offset"));
        assert!(malformed("1e300\tu\tx").contains("offset"));
        assert!(malformed("9223372036854775807\tu\tx").contains("offset"));
        assert!(malformed("5").contains("missing"));
        assert!(malformed("5\tu").contains("missing"));
        assert!(malformed("5 u hello").contains("missing"));
        assert_eq!(malformed("5\t\thello"), "empty user");
    }

    #[test]
    fn offset_limits() {
        assert_eq!(
            parse_offset_ms("9223372036854775"),
            Some(9_223_372_036_854_775_000)
        );
        assert_eq!(parse_offset_ms("9223372036854776"), None);
        assert_eq!(parse_offset_ms("-0.0"), Some(0));
        assert_eq!(parse_offset_ms(""), None);
    }
}
