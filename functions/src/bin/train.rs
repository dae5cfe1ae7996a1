//! The train Lambda (EventBridge schedule, every 10 minutes): archived windows → learn →
//! refit → models in S3. Thin wiring of [`clipper_functions::handlers::train::TrainHandler`].
//!
//! Environment: `MODEL_BUCKET`, optional `MODEL_CONFIG` (JSON of `ModelConfig` fields),
//! `RUST_LOG`.

use std::sync::Arc;

use clipper_functions::aws::{required_env, AwsConfig, S3ModelStore, S3WindowArchive};
use clipper_functions::handlers::now_ms;
use clipper_functions::handlers::train::{TrainHandler, TrainReport};
use clipper_functions::models::ModelConfig;
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    clipper_functions::aws::init_lambda_tracing();
    let aws = AwsConfig::from_env().await;
    let bucket = required_env("MODEL_BUCKET")?;
    let model_config: ModelConfig = match std::env::var("MODEL_CONFIG") {
        Ok(json) if !json.trim().is_empty() => serde_json::from_str(&json)?,
        _ => ModelConfig::default(),
    };
    model_config
        .validate()
        .map_err(|e| format!("MODEL_CONFIG: {e}"))?;
    let handler = Arc::new(TrainHandler::new(
        S3ModelStore::new(aws.s3.clone(), bucket.clone()),
        S3WindowArchive::new(aws.s3.clone(), bucket),
        model_config,
    ));
    lambda_runtime::run(service_fn(move |_event: LambdaEvent<serde_json::Value>| {
        let handler = Arc::clone(&handler);
        async move { Ok::<TrainReport, Error>(handler.handle(now_ms()).await?) }
    }))
    .await
}
