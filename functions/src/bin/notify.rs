//! The notify Lambda: the clips table's stream (new images whose `status` is `confirmed`,
//! filtered by the event source mapping) → alerts to each channel's targets, exactly once per
//! clip and target (DynamoDB deliveries table). Thin wiring of
//! [`clipper_functions::handlers::notify::NotifyHandler`]; partial batch failures name the
//! stream records to retry.
//!
//! Once a day an EventBridge schedule invokes it for the daily digests of the day before
//! (`CLIPS_TABLE`, its `by_channel` index).
//!
//! Environment: `DELIVERIES_TABLE`, `CHANNELS_TABLE`, `CLIPS_TABLE`, optional `CLIPPER_NOTIFY` (targets for
//! every channel), `SES_FROM` (+ `SES_CONFIGURATION_SET`) for email through SES, else
//! `CLIPPER_SMTP_*` for email over SMTP, optional `CLIPPER_SMS_ORIGINATION_NUMBER` /
//! `CLIPPER_SMS_SENDER_ID` for SMS through SNS (on unless `SMS_ALERTS=false`), optional
//! `TWITCH_TOKEN_SECRET` with `TWITCH_CLIENT_ID`, `LEASE_TABLE` (and `TWITCH_CLIENT_SECRET_ID`)
//! for the link back in chat,
//! `RUST_LOG`.

use std::sync::Arc;

use clipper_functions::aws::{
    required_env, AwsConfig, AwsEmail, DynamoChannelStore, DynamoClipStore, DynamoDeliveryLog,
    DynamoLease, SecretsManagerTokenStore, SesEmailSender, SesSettings, SnsSettings, SnsSmsSender,
};
use clipper_functions::handlers::notify::{
    batch_response, is_schedule, stream_batch, NotifyHandler,
};
use clipper_functions::notify::digest::scheduled_day;
use clipper_functions::notify::{
    chat::HelixChatSender, default_targets_from_env, Messages, Notifier, NotifyConfig, SmtpSender,
    SmtpSettings,
};
use clipper_functions::twitch::{HelixClient, HelixConfig, TwitchCredentials};
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    clipper_functions::aws::init_lambda_tracing();
    let aws = AwsConfig::from_env().await;
    let email = match (SesSettings::from_env(), SmtpSettings::from_env()?) {
        (Some(ses), _) => AwsEmail::Ses(SesEmailSender::new(aws.ses.clone(), ses)),
        (None, Some(smtp)) => AwsEmail::Smtp(SmtpSender::new(&smtp)?),
        (None, None) => AwsEmail::None,
    };
    let messages = Messages {
        email,
        // `SMS_ALERTS=false` (template parameter SmsAlerts): no SNS permission, SMS targets
        // reported as not configured.
        sms: (std::env::var("SMS_ALERTS").as_deref() != Ok("false"))
            .then(|| SnsSmsSender::new(aws.sns.clone(), SnsSettings::from_env())),
        chat: chat_sender(&aws).await?,
    };
    let notifier = Notifier::with_messages(
        DynamoDeliveryLog::new(aws.dynamodb.clone(), required_env("DELIVERIES_TABLE")?),
        messages,
        NotifyConfig::default(),
    )?;
    let handler = Arc::new(NotifyHandler::new(
        notifier,
        DynamoChannelStore::new(aws.dynamodb.clone(), required_env("CHANNELS_TABLE")?),
        default_targets_from_env()?,
    ));
    let clips = Arc::new(DynamoClipStore::new(
        aws.dynamodb.clone(),
        required_env("CLIPS_TABLE")?,
    ));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| {
        let handler = Arc::clone(&handler);
        let clips = Arc::clone(&clips);
        async move {
            if is_schedule(&event.payload) {
                let date = scheduled_day(&event.payload, clipper_functions::clock::now_ms())?;
                let report = handler.digest(&*clips, date).await?;
                // A failed target makes the invocation fail, so EventBridge retries it; the
                // delivery record keeps the targets already served from a second message.
                if report.should_retry() {
                    return Err(Error::from(format!(
                        "daily digest of {date}: some targets failed; retrying"
                    )));
                }
                return Ok(serde_json::json!({
                    "digest": report.date,
                    "channels": report.channels,
                    "with_clips": report.with_clips,
                    "delivered": report.delivered(),
                }));
            }
            let batch = stream_batch(&event.payload);
            let outcome = handler.handle(&batch).await;
            Ok::<serde_json::Value, Error>(batch_response(&outcome))
        }
    }))
    .await
}

/// The link back in chat (channels with `chat_link` on), when the stack gives this function
/// the clip token (template parameter `ChatLinks`: `TWITCH_TOKEN_SECRET` set): the same secret
/// and refresh lease as the clip function, so a refresh by either is seen by both. Without it,
/// chat lines are logged as not configured.
async fn chat_sender(
    aws: &AwsConfig,
) -> Result<Option<HelixChatSender<SecretsManagerTokenStore>>, Error> {
    let Ok(secret) = required_env("TWITCH_TOKEN_SECRET") else {
        return Ok(None);
    };
    let client_id = required_env("TWITCH_CLIENT_ID")?;
    let client_secret = clipper_functions::aws::read_client_secret(
        &aws.secrets,
        std::env::var("TWITCH_CLIENT_SECRET_ID").ok().as_deref(),
    )
    .await?;
    let store = SecretsManagerTokenStore::new(aws.secrets.clone(), secret).with_lease(
        DynamoLease::new(aws.dynamodb.clone(), required_env("LEASE_TABLE")?),
    );
    let creds = TwitchCredentials {
        client_id: client_id.clone(),
        client_secret,
        access_token: None,
        refresh_token: None,
    };
    let helix = HelixClient::from_shared_store(
        HelixConfig::new(client_id),
        &creds,
        store,
        std::time::Duration::from_secs(60),
    )
    .await?;
    Ok(Some(HelixChatSender::new(Arc::new(helix))))
}
