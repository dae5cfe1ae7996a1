//! What the benchmarks read about themselves: memory from `/proc/self/status` and settings from
//! the environment.

/// A `kB` field of `/proc/self/status` (`VmHWM`, `VmRSS`), `None` where there is no such file.
pub fn status_kb(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Resets the peak RSS to the current RSS; false where the kernel does not allow it.
pub fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// `kb` as MiB with one decimal, `n/a` when unknown.
pub fn mib(kb: Option<u64>) -> String {
    kb.map_or_else(
        || "n/a".to_owned(),
        |kb| format!("{:.1} MiB", kb as f64 / 1024.0),
    )
}

/// The environment variable `name` parsed, or `default` when unset or unreadable.
pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
