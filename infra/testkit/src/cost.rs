//! The cost model: dollars per channel-day at AWS list prices (us-east-1, arm64 Lambda), from
//! quantities measured in the end-to-end run (bytes per window, model size, handler time) and
//! stated deployment assumptions. `infra/COST.md` explains the figures; the end-to-end test
//! (`functions/tests/e2e_moto.rs`) prints this breakdown and checks the goal (≤ $0.01 per
//! channel-day).

use serde::Serialize;

/// List prices, us-east-1 (USD). Free tiers are ignored.
#[derive(Debug, Clone, Serialize)]
pub struct Prices {
    /// Lambda arm64 per GB-second and per request.
    pub lambda_gb_s: f64,
    pub lambda_request: f64,
    /// SQS standard per request (each 64 KiB chunk of a payload is one request).
    pub sqs_request: f64,
    /// DynamoDB on-demand per write / read request unit.
    pub ddb_wru: f64,
    pub ddb_rru: f64,
    /// S3 Standard per PUT/LIST and per GET request, per GB-month stored.
    pub s3_put: f64,
    pub s3_get: f64,
    pub s3_gb_month: f64,
    /// Secrets Manager per secret-month and per API call.
    pub secret_month: f64,
    pub secrets_call: f64,
    /// CloudWatch Logs ingestion per GB; custom metric per month; alarm per month.
    pub logs_gb: f64,
    pub metric_month: f64,
    pub alarm_month: f64,
    /// Fargate arm64 (Linux/ARM) per vCPU-hour and per GB-hour.
    pub fargate_vcpu_h: f64,
    pub fargate_gb_h: f64,
}

impl Prices {
    pub fn us_east_1() -> Self {
        Prices {
            lambda_gb_s: 0.000_013_333_4,
            lambda_request: 0.20e-6,
            sqs_request: 0.40e-6,
            ddb_wru: 0.625e-6,
            ddb_rru: 0.125e-6,
            s3_put: 0.005e-3,
            s3_get: 0.000_4e-3,
            s3_gb_month: 0.023,
            secret_month: 0.40,
            secrets_call: 0.05e-4,
            logs_gb: 0.50,
            metric_month: 0.30,
            alarm_month: 0.10,
            fargate_vcpu_h: 0.032_38,
            fargate_gb_h: 0.003_56,
        }
    }
}

/// What a deployment looks like, and what was measured.
#[derive(Debug, Clone, Serialize)]
pub struct Assumptions {
    /// Channels one relay watches (one relay task; its windows of one 5 s tick travel as one
    /// `WindowBatch`).
    pub channels_per_relay: f64,
    /// Windows per channel-day (one per 5 s: 17,280).
    pub windows_per_channel_day: f64,
    /// Measured: JSON bytes of one window on the queue.
    pub bytes_per_window: f64,
    /// Measured: score handler time per window, and fixed time per invocation (ms).
    pub score_ms_per_window: f64,
    pub score_ms_per_invocation: f64,
    /// Score function memory (GB) and warm instances (each caches models and re-checks them).
    pub score_memory_gb: f64,
    pub score_instances: f64,
    /// Model re-check period (s) of a score instance; archive flush period (s).
    pub model_refresh_s: f64,
    pub archive_flush_s: f64,
    /// Measured: stored model size (bytes) and train time per channel per run (ms).
    pub model_bytes: f64,
    pub train_ms_per_channel: f64,
    pub train_memory_gb: f64,
    /// Train runs per day (every 10 min: 144); noncurrent model versions kept (1 day's).
    pub train_runs_per_day: f64,
    pub model_versions_kept: f64,
    /// Days archived windows are kept.
    pub archive_days: f64,
    /// Clips per channel-day, and per clip: clip-queue messages, DynamoDB writes and reads,
    /// clip function invocations (measured in the end-to-end run).
    pub clips_per_channel_day: f64,
    pub clip_messages_per_clip: f64,
    pub ddb_writes_per_clip: f64,
    pub ddb_reads_per_clip: f64,
    /// Log bytes per score invocation (Lambda START/END/REPORT, our summary, EMF line).
    pub log_bytes_per_invocation: f64,
    /// Idle long-polls of Lambda's SQS pollers per queue-day (5 pollers, 20 s waits).
    pub idle_polls_per_queue_day: f64,
    /// Fixed per deployment: relay vCPU and GB, custom metrics, alarms, secrets.
    pub relay_vcpu: f64,
    pub relay_gb: f64,
    pub custom_metrics: f64,
    pub alarms: f64,
    pub secrets: f64,
}

impl Default for Assumptions {
    fn default() -> Self {
        Assumptions {
            channels_per_relay: 100.0,
            windows_per_channel_day: 17_280.0,
            bytes_per_window: 900.0,
            score_ms_per_window: 0.2,
            score_ms_per_invocation: 10.0,
            score_memory_gb: 1.0,
            score_instances: 2.0,
            model_refresh_s: 60.0,
            archive_flush_s: 60.0,
            model_bytes: 2.0e6,
            train_ms_per_channel: 60.0,
            train_memory_gb: 1.0,
            train_runs_per_day: 144.0,
            model_versions_kept: 145.0,
            archive_days: 7.0,
            clips_per_channel_day: 32.0,
            clip_messages_per_clip: 3.0,
            ddb_writes_per_clip: 5.0,
            ddb_reads_per_clip: 3.0,
            log_bytes_per_invocation: 1_200.0,
            idle_polls_per_queue_day: 21_600.0,
            relay_vcpu: 0.25,
            relay_gb: 0.5,
            custom_metrics: 12.0,
            alarms: 5.0,
            secrets: 1.0,
        }
    }
}

/// Dollars per channel-day, by item.
#[derive(Debug, Clone, Serialize)]
pub struct Breakdown {
    pub items: Vec<(&'static str, f64)>,
    pub total: f64,
}

/// The cost of one channel-day under `a` at `p`.
pub fn per_channel_day(a: &Assumptions, p: &Prices) -> Breakdown {
    let c = a.channels_per_relay.max(1.0);
    let ticks = a.windows_per_channel_day; // one WindowBatch per tick per relay
    let day_s = 86_400.0;
    let month_days = 30.0;

    // SQS windows queue, per relay-day: one send per tick in 64 KiB chunks, one receive and
    // one delete per delivered batch, plus idle polls; clip queue messages per clip (send,
    // receive, delete each) and its idle polls.
    let chunks = (c * a.bytes_per_window / 65_536.0).ceil().max(1.0);
    let sqs_relay = ticks * (chunks + 2.0) + 2.0 * a.idle_polls_per_queue_day;
    let sqs = sqs_relay / c * p.sqs_request
        + a.clips_per_channel_day * a.clip_messages_per_clip * 3.0 * p.sqs_request;

    // Lambda: score once per tick for all channels of a relay; clip per message; train.
    let score_gb_s = (ticks * a.score_ms_per_invocation + ticks * c * a.score_ms_per_window)
        / 1000.0
        * a.score_memory_gb;
    let lambda_score = score_gb_s / c * p.lambda_gb_s + ticks / c * p.lambda_request;
    let clip_inv = a.clips_per_channel_day * a.clip_messages_per_clip;
    let lambda_clip = clip_inv * (p.lambda_request + 0.3 * 0.25 * p.lambda_gb_s);
    let lambda_train = a.train_runs_per_day
        * (a.train_ms_per_channel / 1000.0 * a.train_memory_gb * p.lambda_gb_s
            + p.lambda_request / c);

    // S3: model re-checks by every score instance, train GET + PUT per run, archive PUTs
    // (one object per instance per flush, all channels) and their GETs by train, storage.
    let model_checks = a.score_instances * day_s / a.model_refresh_s;
    let archive_objects = a.score_instances * day_s / a.archive_flush_s / c;
    let s3_requests = model_checks * p.s3_get
        + a.train_runs_per_day * (p.s3_get + p.s3_put)
        + archive_objects * (p.s3_put + p.s3_get)
        + a.train_runs_per_day * 3.0 / c * p.s3_put;
    let stored_gb = (a.model_bytes * a.model_versions_kept
        + a.bytes_per_window * a.windows_per_channel_day * a.archive_days)
        / 1e9;
    let s3_storage = stored_gb * p.s3_gb_month / month_days;

    // DynamoDB: per clip (claim, records, create claim, reads), and the channels table
    // scanned by every score instance every minute (≈ 0.5 RRU per 4 KiB of 100-byte items).
    let ddb = a.clips_per_channel_day
        * (a.ddb_writes_per_clip * p.ddb_wru + a.ddb_reads_per_clip * p.ddb_rru)
        + a.score_instances * 1440.0 * (100.0_f64 / 4096.0 * 0.5).max(0.5 / c) * p.ddb_rru;

    let logs = ticks / c * a.log_bytes_per_invocation / 1e9 * p.logs_gb;
    let relay = (a.relay_vcpu * p.fargate_vcpu_h + a.relay_gb * p.fargate_gb_h) * 24.0 / c;
    let monitoring =
        (a.custom_metrics * p.metric_month + a.alarms * p.alarm_month) / month_days / c;
    let secrets =
        a.secrets * p.secret_month / month_days / c + a.clips_per_channel_day * p.secrets_call;

    let items = vec![
        ("sqs", sqs),
        ("lambda_score", lambda_score),
        ("lambda_clip", lambda_clip),
        ("lambda_train", lambda_train),
        ("s3_requests", s3_requests),
        ("s3_storage", s3_storage),
        ("dynamodb", ddb),
        ("cloudwatch_logs", logs),
        ("relay_fargate", relay),
        ("metrics_alarms", monitoring),
        ("secrets_manager", secrets),
    ];
    let total = items.iter().map(|(_, v)| v).sum();
    Breakdown { items, total }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_meet_the_goal_and_scale_with_channels() {
        let p = Prices::us_east_1();
        let b = per_channel_day(&Assumptions::default(), &p);
        assert!(b.total <= 0.01, "{b:?}");
        let few = per_channel_day(
            &Assumptions {
                channels_per_relay: 5.0,
                ..Assumptions::default()
            },
            &p,
        );
        assert!(
            few.total > b.total,
            "fixed costs spread over fewer channels"
        );
    }
}
