//! The commands' AWS wiring (feature `aws`): the serverless relay (windows to SQS, channels
//! from the DynamoDB table), the channels table of `clipper channels`, the clips table of
//! `clipper clips export`. Clients come from the environment ([`AwsConfig::from_env`]).

use clipper_functions::aws::{
    AwsConfig, DynamoChannelStore, DynamoClipStore, SqsQueueConfig, SqsWindowQueue,
};
use clipper_relay::admin;
use clipper_relay::live::run::{run_with, RunConfig, RunSummary};
use std::io::Write;
use std::sync::Arc;

/// `clipper run` with `--windows-queue-url` and/or `--channels-table`: flushes the window
/// queue before returning and fails if windows were left unsent.
pub async fn run_serverless_relay(
    cfg: RunConfig,
    queue_url: Option<String>,
    channels_table: Option<String>,
) -> anyhow::Result<RunSummary> {
    let aws = AwsConfig::from_env().await;
    let queue = queue_url.map(|url| {
        Arc::new(SqsWindowQueue::start(
            aws.sqs.clone(),
            url,
            SqsQueueConfig::relay(),
        ))
    });
    let channels =
        channels_table.map(|t| Arc::new(DynamoChannelStore::new(aws.dynamodb.clone(), t)));
    let summary = run_with(cfg, queue.clone(), channels, super::shutdown_signal()).await?;
    // ECS stops the task 30 s after SIGTERM: the forwarder had up to 10 s, the SQS buffer gets
    // up to 15 s; then the exit says what was not sent.
    let mut unsent_messages = 0;
    if let Some(q) = queue.and_then(Arc::into_inner) {
        unsent_messages = q.shutdown(std::time::Duration::from_secs(15)).await;
    }
    let unsent_windows = summary.forwarded.map_or(0, |f| f.unsent);
    anyhow::ensure!(
        unsent_messages == 0 && unsent_windows == 0,
        "not sent to SQS before exit: {unsent_messages} queue messages still buffered, \
         {unsent_windows} windows shed or left ({} shed while the queue was down)",
        summary.stats.windows_shed
    );
    Ok(summary)
}

/// The DynamoDB channels table `table`.
pub async fn channel_store(table: String) -> DynamoChannelStore {
    DynamoChannelStore::new(AwsConfig::from_env().await.dynamodb, table)
}

/// `clipper clips export --table`: the records of the DynamoDB clips table `table`.
pub async fn export_clips(
    table: &str,
    channel: Option<&str>,
    since: Option<i64>,
    format: admin::Format,
    out: impl Write,
) -> anyhow::Result<usize> {
    let store = DynamoClipStore::new(AwsConfig::from_env().await.dynamodb, table);
    Ok(admin::export_clips(&store, channel, since, format, out).await?)
}
