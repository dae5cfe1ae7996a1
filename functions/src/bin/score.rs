//! The score Lambda: windows queue → models → decisions → clip queue. Thin wiring of
//! [`clipper_functions::handlers::score::ScoreHandler`] with the AWS adapters.
//!
//! Environment: `MODEL_BUCKET`, `CLIP_QUEUE_URL`, `STATE_TABLE`, `CHANNELS_TABLE`, optional
//! `DETECTOR_CONFIG` (JSON of `DetectorConfig` fields), `RUST_LOG`.

use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use clipper_functions::aws::{
    required_env, AwsConfig, DynamoChannelStore, DynamoClaims, DynamoTimeline, S3ModelStore,
    S3WindowArchive, SqsClipScheduler,
};
use clipper_functions::handlers::score::{ScoreConfig, ScoreHandler};
use clipper_functions::handlers::{now_ms, QueueBatch};
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    clipper_functions::aws::init_lambda_tracing();
    let aws = AwsConfig::from_env().await;
    let bucket = required_env("MODEL_BUCKET")?;
    let mut config = ScoreConfig::default();
    if let Ok(json) = std::env::var("DETECTOR_CONFIG") {
        if !json.trim().is_empty() {
            config.detector = clipper_functions::models::DetectorConfig::from_json(&json)
                .map_err(|e| format!("DETECTOR_CONFIG: {e}"))?;
        }
    }
    let archive = Arc::new(S3WindowArchive::new(aws.s3.clone(), bucket.clone()));
    let mut handler = ScoreHandler::new(
        S3ModelStore::new(aws.s3.clone(), bucket),
        DynamoClaims::new(aws.dynamodb.clone(), required_env("STATE_TABLE")?),
        SqsClipScheduler::new(aws.sqs.clone(), required_env("CLIP_QUEUE_URL")?),
        Arc::clone(&archive),
        DynamoChannelStore::new(aws.dynamodb.clone(), required_env("CHANNELS_TABLE")?),
        config,
    );
    // The dashboard's live timeline (template parameter Timeline, on by default).
    if let Some(table) = std::env::var("TIMELINE_TABLE")
        .ok()
        .filter(|t| !t.is_empty())
    {
        handler = handler.with_timeline(Arc::new(DynamoTimeline::new(aws.dynamodb.clone(), table)));
    }
    let handler = Arc::new(handler);
    // Windows still buffered for the archive are written when Lambda shuts the instance down.
    let on_shutdown = Arc::clone(&archive);
    lambda_runtime::spawn_graceful_shutdown_handler(move || async move {
        if let Err(e) = on_shutdown.flush().await {
            tracing::warn!(error = %e, "archive flush at shutdown failed");
        }
    })
    .await;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let handler = Arc::clone(&handler);
        async move {
            let batch = QueueBatch::from(event.payload);
            let outcome = handler.handle(&batch, now_ms()).await;
            Ok::<SqsBatchResponse, Error>(outcome.into())
        }
    }))
    .await
}
