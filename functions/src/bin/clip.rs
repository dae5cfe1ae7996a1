//! The clip Lambda: clip queue → Helix Create Clip / Get Clips → clips table, re-checks as
//! delayed messages. Thin wiring of [`clipper_functions::handlers::clip::ClipHandler`].
//!
//! Environment: `TWITCH_CLIENT_ID`, `TWITCH_TOKEN_SECRET` (name or ARN of the user token
//! secret), optional `TWITCH_CLIENT_SECRET_ID` (secret holding the client secret, for
//! confidential-client refreshes), `CLIPS_TABLE`, `STATE_TABLE`, `LEASE_TABLE`,
//! `CHANNELS_TABLE`, `CLIP_QUEUE_URL`, optional `CLIP_DURATION_S`, `RUST_LOG`.

use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use clipper_functions::aws::{
    required_env, AwsConfig, DynamoChannelStore, DynamoClaims, DynamoClipStore, DynamoLease,
    SecretsManagerTokenStore, SqsClipScheduler,
};
use clipper_functions::handlers::clip::{ClipHandler, ClipHandlerConfig};
use clipper_functions::handlers::{now_ms, QueueBatch};
use clipper_functions::twitch::{HelixClient, HelixConfig, TwitchCredentials};
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    clipper_functions::aws::init_lambda_tracing();
    let aws = AwsConfig::from_env().await;
    let client_id = required_env("TWITCH_CLIENT_ID")?;
    let client_secret = clipper_functions::aws::read_client_secret(
        &aws.secrets,
        std::env::var("TWITCH_CLIENT_SECRET_ID").ok().as_deref(),
    )
    .await?;
    let store =
        SecretsManagerTokenStore::new(aws.secrets.clone(), required_env("TWITCH_TOKEN_SECRET")?)
            .with_lease(DynamoLease::new(
                aws.dynamodb.clone(),
                required_env("LEASE_TABLE")?,
            ));
    let creds = TwitchCredentials {
        client_id: client_id.clone(),
        client_secret,
        access_token: None,
        refresh_token: None,
    };
    let mut helix_config = HelixConfig::new(client_id);
    if let Some(d) = std::env::var("CLIP_DURATION_S")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        helix_config.clip_duration_s = Some(d);
    }
    // The secret is read when a token is needed (at most once a minute; on every clip while it
    // is empty), not only at cold start: after a fresh deploy it holds `{}` until the README's
    // `put-secret-value` step, and clips are recorded as would-clip until then.
    let helix = HelixClient::from_shared_store(
        helix_config,
        &creds,
        store,
        std::time::Duration::from_secs(60),
    )
    .await?;
    if !helix.user_auth().is_some_and(|u| u.has_token()) {
        tracing::warn!("no user token in the secret yet: clips are recorded as would-clip until one is put there");
    }
    let api = Some(helix);
    let handler = Arc::new(ClipHandler::new(
        api,
        DynamoClipStore::new(aws.dynamodb.clone(), required_env("CLIPS_TABLE")?),
        SqsClipScheduler::new(aws.sqs.clone(), required_env("CLIP_QUEUE_URL")?),
        DynamoClaims::new(aws.dynamodb.clone(), required_env("STATE_TABLE")?),
        DynamoChannelStore::new(aws.dynamodb.clone(), required_env("CHANNELS_TABLE")?),
        ClipHandlerConfig::default(),
    ));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let handler = Arc::clone(&handler);
        async move {
            let id = event.context.request_id.clone();
            let batch = QueueBatch::from(event.payload);
            let outcome = handler.handle(&batch, now_ms(), &id).await;
            Ok::<SqsBatchResponse, Error>(outcome.into())
        }
    }))
    .await
}
