//! The notify Lambda: the clips table's stream (new images whose `status` is `confirmed`,
//! filtered by the event source mapping) → alerts to each channel's targets, exactly once per
//! clip and target (DynamoDB deliveries table). Thin wiring of
//! [`clipper_functions::handlers::notify::NotifyHandler`]; partial batch failures name the
//! stream records to retry.
//!
//! Environment: `DELIVERIES_TABLE`, `CHANNELS_TABLE`, optional `CLIPPER_NOTIFY` (targets for
//! every channel), optional `CLIPPER_SMTP_*` (email over SMTP), `RUST_LOG`. SES and SNS are not
//! wired yet: email without SMTP settings and SMS are logged as not configured.

use std::sync::Arc;

use clipper_functions::aws::{required_env, AwsConfig, DynamoChannelStore, DynamoDeliveryLog};
use clipper_functions::handlers::notify::{batch_response, stream_batch, NotifyHandler};
use clipper_functions::notify::{
    default_targets_from_env, Notifier, NotifyConfig, SmtpSender, SmtpSettings,
};
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    clipper_functions::aws::init_lambda_tracing();
    let aws = AwsConfig::from_env().await;
    let smtp = SmtpSettings::from_env()?
        .as_ref()
        .map(SmtpSender::new)
        .transpose()?;
    let notifier = Notifier::with_messages(
        DynamoDeliveryLog::new(aws.dynamodb.clone(), required_env("DELIVERIES_TABLE")?),
        smtp,
        NotifyConfig::default(),
    )?;
    let handler = Arc::new(NotifyHandler::new(
        notifier,
        DynamoChannelStore::new(aws.dynamodb.clone(), required_env("CHANNELS_TABLE")?),
        default_targets_from_env()?,
    ));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| {
        let handler = Arc::clone(&handler);
        async move {
            let batch = stream_batch(&event.payload);
            let outcome = handler.handle(&batch).await;
            Ok::<serde_json::Value, Error>(batch_response(&outcome))
        }
    }))
    .await
}
