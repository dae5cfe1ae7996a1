//! AWS adapters of the [`crate::roles`] traits (feature `aws`).
//!
//! | role | adapter | service |
//! |---|---|---|
//! | [`crate::roles::ModelStore`] | [`S3ModelStore`] | S3 (`GetObject` with `If-None-Match`, versioned bucket) |
//! | [`crate::roles::WindowArchive`] | [`S3WindowArchive`] | S3, one object per flush for all channels |
//! | [`crate::roles::ClipStore`] | [`DynamoClipStore`] | DynamoDB clips table (+ GSI `by_channel`) |
//! | [`crate::roles::MomentClaims`] | [`DynamoClaims`] | DynamoDB state table, conditional write |
//! | [`crate::roles::ChannelStore`] | [`DynamoChannelStore`] | DynamoDB channels table |
//! | [`crate::roles::WindowQueue`] | [`SqsWindowQueue`] | SQS `SendMessageBatch`, batched, retried, bounded |
//! | [`crate::roles::ClipScheduler`] | [`SqsClipScheduler`] | SQS `SendMessage` with `DelaySeconds` |
//! | [`crate::notify::DeliveryLog`] | [`DynamoDeliveryLog`] | DynamoDB deliveries table, conditional put |
//! | [`crate::roles::TokenStore`] | [`SecretsManagerTokenStore`] | Secrets Manager + a DynamoDB lease |
//! | [`crate::notify::MessageSender`] (SMS) | [`SnsSmsSender`] | SNS `Publish` to a phone number |
//! | [`crate::notify::MessageSender`] (email) | [`SesEmailSender`] | SES v2 `SendEmail`, simple content |
//! | [`crate::dashboard::auth::SessionStore`] | [`DynamoSessionStore`] | DynamoDB sessions table, TTL |
//!
//! [`AwsConfig::from_env`] builds the clients; an endpoint override (`AWS_ENDPOINT_URL`, as
//! aws-config reads it, or `CLIPPER_AWS_ENDPOINT`) points everything at an AWS-compatible server
//! such as moto (tests).

mod deliveries;
mod dynamo;
mod messages;
mod s3;
mod secrets;
mod sessions;
mod sqs;
mod timeline;

pub use deliveries::DynamoDeliveryLog;
pub use dynamo::{DynamoChannelStore, DynamoClaims, DynamoClipStore, DynamoLease, LeaseGuard};
pub use messages::{AwsEmail, SesEmailSender, SesSettings, SnsSettings, SnsSmsSender};
pub use s3::{S3ModelStore, S3WindowArchive};
pub use secrets::{read_client_secret, SecretsManagerTokenStore};
pub use sessions::DynamoSessionStore;
pub use sqs::{QueueStats, SqsClipScheduler, SqsQueueConfig, SqsWindowQueue};
pub use timeline::DynamoTimeline;

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use crate::error::FunctionsError;

/// The AWS clients the adapters use, from one shared configuration.
#[derive(Debug, Clone)]
pub struct AwsConfig {
    pub s3: aws_sdk_s3::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
    /// SMS alerts ([`SnsSmsSender`]).
    pub sns: aws_sdk_sns::Client,
    /// Email alerts on AWS ([`SesEmailSender`]).
    pub ses: aws_sdk_sesv2::Client,
    /// Where the clients get their credentials (`None`: none configured at all).
    credentials: Option<aws_sdk_sns::config::SharedCredentialsProvider>,
}

impl AwsConfig {
    /// Clients from the environment (region, credentials, `AWS_ENDPOINT_URL`), with
    /// `CLIPPER_AWS_ENDPOINT` as an extra endpoint override. With an override S3 uses
    /// path-style addressing (moto and other local servers need it).
    pub async fn from_env() -> Self {
        let endpoint = std::env::var("CLIPPER_AWS_ENDPOINT")
            .ok()
            .filter(|s| !s.is_empty());
        Self::load(endpoint.as_deref()).await
    }

    /// Clients with an explicit endpoint (`None`: AWS as configured).
    pub async fn load(endpoint: Option<&str>) -> Self {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(e) = endpoint {
            loader = loader.endpoint_url(e);
        }
        let shared = loader.load().await;
        let path_style = endpoint.is_some() || std::env::var_os("AWS_ENDPOINT_URL").is_some();
        Self::from_shared(&shared, path_style)
    }

    /// Clients from a loaded shared config (S3 with path-style addressing when asked: local
    /// servers need it).
    pub fn from_shared(shared: &aws_config::SdkConfig, path_style: bool) -> Self {
        let shared = shared.clone();
        let s3 = aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(path_style)
            .build();
        AwsConfig {
            s3: aws_sdk_s3::Client::from_conf(s3),
            sqs: aws_sdk_sqs::Client::new(&shared),
            dynamodb: aws_sdk_dynamodb::Client::new(&shared),
            secrets: aws_sdk_secretsmanager::Client::new(&shared),
            sns: aws_sdk_sns::Client::new(&shared),
            ses: aws_sdk_sesv2::Client::new(&shared),
            credentials: shared.credentials_provider(),
        }
    }

    /// Whether AWS credentials can be found (environment, profile, container or instance
    /// role): the credential chain is asked once.
    pub async fn has_credentials(&self) -> bool {
        use aws_sdk_sns::config::ProvideCredentials;
        let Some(p) = &self.credentials else {
            return false;
        };
        match p.provide_credentials().await {
            Ok(_) => true,
            Err(e) => {
                tracing::info!(error = %e, "no AWS credentials found");
                false
            }
        }
    }
}

/// Error codes that mean "slow down" across S3, SQS and DynamoDB.
const THROTTLING: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottled",
    "RequestThrottledException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "SlowDown",
    "ServiceUnavailable",
    "InternalError",
    "InternalFailure",
    "AWS.SimpleQueueService.RequestThrottled",
    "KMS.ThrottlingException",
];

/// A failed SDK call as [`FunctionsError::Backend`], retryable on throttling, 5xx, timeouts and
/// network failures.
pub(crate) fn sdk_error<E>(
    service: &'static str,
    operation: &'static str,
    e: SdkError<E, HttpResponse>,
) -> FunctionsError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let retryable = match &e {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(se) => {
            let status = se.raw().status().as_u16();
            status >= 500
                || status == 429
                || se.err().code().is_some_and(|c| THROTTLING.contains(&c))
        }
        _ => false,
    };
    FunctionsError::Backend {
        service,
        operation,
        message: DisplayErrorContext(&e).to_string(),
        retryable,
    }
}

/// The service error code of a failed call (`ConditionalCheckFailedException`, `NoSuchKey`).
pub(crate) fn error_code<E: ProvideErrorMetadata>(e: &SdkError<E, HttpResponse>) -> Option<&str> {
    match e {
        SdkError::ServiceError(se) => se.err().code(),
        _ => None,
    }
}

/// HTTP status of a failed call's response, when there was one.
pub(crate) fn error_status<E>(e: &SdkError<E, HttpResponse>) -> Option<u16> {
    e.raw_response().map(|r| r.status().as_u16())
}

/// A small pseudo-random jitter in `0..max_ms` (no RNG dependency: clock nanoseconds).
pub(crate) fn jitter_ms(max_ms: u64) -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::from(d.subsec_nanos()));
    if max_ms == 0 {
        0
    } else {
        nanos.wrapping_mul(0x9E37_79B9_7F4A_7C15) % max_ms
    }
}

/// An id for this process (Lambda instance or relay task), used in object keys and lease
/// holders.
pub(crate) fn instance_id() -> String {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let mixed = (nanos as u64) ^ (u64::from(std::process::id()) << 32);
        format!("{:016x}", mixed.wrapping_mul(0x9E37_79B9_7F4A_7C15))
    })
    .clone()
}

/// A required environment variable, or a configuration error naming it.
pub fn required_env(name: &str) -> crate::Result<String> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| FunctionsError::Config(format!("environment variable {name} is not set")))
}

/// JSON logs for CloudWatch (`RUST_LOG`, default `info`), without ANSI colours or timestamps
/// (CloudWatch adds its own).
#[cfg(feature = "lambda")]
pub fn init_lambda_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_ansi(false)
        .without_time()
        .with_current_span(false)
        .try_init();
}
