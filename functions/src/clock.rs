//! The one wall clock of the adapters and drivers: Unix time in milliseconds. The detection
//! core and the handlers take time as an argument; only their callers read it here.

use clipper_models::Millis;

/// Current Unix time in ms (0 before 1970, saturating far in the future).
pub fn now_ms() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Unix ms as an RFC 3339 UTC time (`Z`) with `precision` (chrono); a time outside chrono's
/// range (±262,000 years) is written as its ms.
pub fn utc_string(ms: Millis, precision: chrono::SecondsFormat) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map_or_else(
        || format!("{ms} ms"),
        |t| t.to_rfc3339_opts(precision, true),
    )
}
