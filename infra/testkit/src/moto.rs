//! The tests' AWS: resources on the test endpoint (moto_server), named uniquely per test, the
//! serverless stack's handlers wired to them, and the queue loops the end-to-end tests share.
//!
//! Every test starts with [`aws`], which skips (returns `None` after saying why) when
//! `CLIPPER_TEST_AWS_ENDPOINT` is unset; `.ci/run` starts moto (`infra/moto.sh`) and sets it.

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::create_table::CreateTableError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
};
use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
use aws_sdk_sqs::types::QueueAttributeName;
use clipper_functions::aws::{
    AwsConfig, DynamoChannelStore, DynamoClaims, DynamoClipStore, DynamoTimeline, S3ModelStore,
    S3WindowArchive, SqsClipScheduler,
};
use clipper_functions::clip_flow::ClipFlowConfig;
use clipper_functions::handlers::clip::{ClipHandler, ClipHandlerConfig};
use clipper_functions::handlers::score::{ScoreConfig, ScoreHandler};
use clipper_functions::handlers::{decode_message, BatchOutcome, QueueBatch};
use clipper_functions::record::ClipStatus;
use clipper_functions::roles::{ClipApi, ClipStore};
use clipper_models::WindowBatch;

use crate::esm;

/// The endpoint, or `None` after printing why the test is skipped.
pub fn endpoint(test: &str) -> Option<String> {
    match std::env::var("CLIPPER_TEST_AWS_ENDPOINT") {
        Ok(e) if !e.is_empty() => Some(e),
        _ => {
            eprintln!(
                "SKIPPED {test}: CLIPPER_TEST_AWS_ENDPOINT is not set (start a server with \
                 `eval \"$(infra/moto.sh start)\"`; .ci/run does this)"
            );
            None
        }
    }
}

/// Clients for `endpoint`.
pub async fn connect(endpoint: &str) -> AwsConfig {
    // moto accepts any credentials; set test ones unless the environment has some.
    for (k, v) in [
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_REGION", "us-east-1"),
    ] {
        if std::env::var_os(k).is_none() {
            std::env::set_var(k, v);
        }
    }
    AwsConfig::load(Some(endpoint)).await
}

/// Clients for the test endpoint, or `None` (test skipped, see [`endpoint`]).
pub async fn aws(test: &str) -> Option<AwsConfig> {
    Some(connect(&endpoint(test)?).await)
}

/// `prefix-<hex>`, unique per call: the clock (so that runs of one moto_server do not meet)
/// and a per-process count (so that tests starting on parallel threads in the same clock tick
/// never share a resource).
pub fn unique(prefix: &str) -> String {
    static COUNT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let c = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!(
        "{prefix}-{:x}-{:x}-{c:x}",
        n % 0xffff_ffff_ffff,
        std::process::id()
    )
}

/// A CreateTable's result. `ResourceInUseException` counts as created: names come from
/// [`unique`], so only our own request can have made the table, which happens when the SDK
/// retries a CreateTable whose first answer was lost (seen once in CI).
fn created<T, R: std::fmt::Debug>(r: Result<T, SdkError<CreateTableError, R>>) {
    if let Err(e) = r {
        if !e
            .as_service_error()
            .is_some_and(CreateTableError::is_resource_in_use_exception)
        {
            panic!("CreateTable: {e:?}");
        }
    }
}

/// A versioned bucket.
pub async fn bucket(aws: &AwsConfig, name: &str) {
    aws.s3
        .create_bucket()
        .bucket(name)
        .send()
        .await
        .expect("CreateBucket");
    aws.s3
        .put_bucket_versioning()
        .bucket(name)
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .expect("PutBucketVersioning");
}

/// A queue (with a dead-letter queue `<name>-dlq` after `max_receive` receives); returns (url,
/// arn).
pub async fn queue(aws: &AwsConfig, name: &str, max_receive: Option<u32>) -> (String, String) {
    let mut req = aws
        .sqs
        .create_queue()
        .queue_name(name)
        .attributes(QueueAttributeName::VisibilityTimeout, "5");
    if let Some(n) = max_receive {
        let (_, dlq_arn) = Box::pin(queue(aws, &format!("{name}-dlq"), None)).await;
        req = req.attributes(
            QueueAttributeName::RedrivePolicy,
            serde_json::json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": n}).to_string(),
        );
    }
    let url = req
        .send()
        .await
        .expect("CreateQueue")
        .queue_url
        .expect("queue url");
    let arn = aws
        .sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("GetQueueAttributes")
        .attributes
        .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
        .expect("queue arn");
    (url, arn)
}

/// The number of messages waiting in the dead-letter queue of the queue at `url` (made by
/// [`queue`] with `max_receive`).
pub async fn dead_letters(aws: &AwsConfig, url: &str) -> usize {
    let name = url.rsplit('/').next().unwrap_or(url);
    let dlq = aws
        .sqs
        .get_queue_url()
        .queue_name(format!("{name}-dlq"))
        .send()
        .await
        .expect("GetQueueUrl of the dead-letter queue");
    aws.sqs
        .receive_message()
        .queue_url(dlq.queue_url().unwrap_or_default())
        .max_number_of_messages(10)
        .send()
        .await
        .expect("ReceiveMessage")
        .messages()
        .len()
}

fn attr(name: &str, t: ScalarAttributeType) -> AttributeDefinition {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(t)
        .build()
        .expect("attribute definition")
}

fn key(name: &str, t: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(t)
        .build()
        .expect("key schema element")
}

/// A table with string partition key `pk`.
pub async fn table(aws: &AwsConfig, name: &str, pk: &str) {
    let r = aws
        .dynamodb
        .create_table()
        .table_name(name)
        .attribute_definitions(attr(pk, ScalarAttributeType::S))
        .key_schema(key(pk, KeyType::Hash))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await;
    created(r);
}

/// The timeline table (template.yaml `TimelineTable`): partition key `channel`, sort key
/// `end_ms` (a number).
pub async fn timeline_table(aws: &AwsConfig, name: &str) {
    let r = aws
        .dynamodb
        .create_table()
        .table_name(name)
        .attribute_definitions(attr("channel", ScalarAttributeType::S))
        .attribute_definitions(attr("end_ms", ScalarAttributeType::N))
        .key_schema(key("channel", KeyType::Hash))
        .key_schema(key("end_ms", KeyType::Range))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await;
    created(r);
}

/// The clips table with its `by_channel` index and its stream of new images (the notify
/// function's input, as in template.yaml).
pub async fn clips_table(aws: &AwsConfig, name: &str) {
    let r = aws
        .dynamodb
        .create_table()
        .table_name(name)
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewImage)
                .build()
                .expect("stream specification"),
        )
        .attribute_definitions(attr("request_id", ScalarAttributeType::S))
        .attribute_definitions(attr("channel", ScalarAttributeType::S))
        .attribute_definitions(attr("trigger_ms", ScalarAttributeType::N))
        .key_schema(key("request_id", KeyType::Hash))
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name("by_channel")
                .key_schema(key("channel", KeyType::Hash))
                .key_schema(key("trigger_ms", KeyType::Range))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .expect("global secondary index"),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await;
    created(r);
}

/// Poll the queue at `url` (no long polls) until at least `expected` window batches came and
/// it is empty, or `tries` polls were made; returns them in `seq` order.
pub async fn receive_window_batches(
    aws: &AwsConfig,
    url: &str,
    expected: usize,
    tries: usize,
) -> Vec<WindowBatch> {
    let mut received = Vec::new();
    for _ in 0..tries {
        let (n, _) = esm::poll_once(&aws.sqs, url, 0, 30, |event| {
            for r in &event.records {
                let body = r.body.as_deref().unwrap_or_default();
                received.push(decode_message::<WindowBatch>(body).expect("a window batch"));
            }
            async { BatchOutcome::default() }
        })
        .await
        .expect("poll the windows queue");
        if n == 0 && received.len() >= expected {
            break;
        }
    }
    received.sort_by_key(|b| b.seq);
    received
}

/// The serverless stack's resources, named uniquely from one prefix: the bucket (models and
/// window archive), the windows queue (dead letters after 3 receives), the clip queue (after
/// 5), and the clips, state and channels tables.
#[derive(Debug, Clone)]
pub struct Stack {
    pub aws: AwsConfig,
    pub bucket: String,
    pub windows_url: String,
    pub clips_url: String,
    pub clips_table: String,
    pub state_table: String,
    pub channels_table: String,
    /// The dashboard's recent windows (written by the score function).
    pub timeline_table: String,
}

/// The score handler as the stack wires it.
pub type StackScore =
    ScoreHandler<S3ModelStore, DynamoClaims, SqsClipScheduler, S3WindowArchive, DynamoChannelStore>;

/// The clip handler as the stack wires it, with Twitch client `A`.
pub type StackClip<A> =
    ClipHandler<A, DynamoClipStore, SqsClipScheduler, DynamoClaims, DynamoChannelStore>;

impl Stack {
    /// Create every resource.
    pub async fn create(aws: &AwsConfig, prefix: &str) -> Stack {
        let stack = Stack {
            aws: aws.clone(),
            bucket: unique(prefix),
            windows_url: queue(aws, &unique(&format!("{prefix}-windows")), Some(3))
                .await
                .0,
            clips_url: queue(aws, &unique(&format!("{prefix}-clips")), Some(5))
                .await
                .0,
            clips_table: unique(&format!("{prefix}-clips")),
            state_table: unique(&format!("{prefix}-state")),
            channels_table: unique(&format!("{prefix}-channels")),
            timeline_table: unique(&format!("{prefix}-timeline")),
        };
        bucket(aws, &stack.bucket).await;
        clips_table(aws, &stack.clips_table).await;
        table(aws, &stack.state_table, "channel").await;
        table(aws, &stack.channels_table, "channel").await;
        timeline_table(aws, &stack.timeline_table).await;
        stack
    }

    pub fn timeline(&self) -> DynamoTimeline {
        DynamoTimeline::new(self.aws.dynamodb.clone(), &self.timeline_table)
    }

    pub fn models(&self) -> S3ModelStore {
        S3ModelStore::new(self.aws.s3.clone(), &self.bucket)
    }

    pub fn archive(&self) -> S3WindowArchive {
        S3WindowArchive::new(self.aws.s3.clone(), &self.bucket)
    }

    pub fn claims(&self) -> DynamoClaims {
        DynamoClaims::new(self.aws.dynamodb.clone(), &self.state_table)
    }

    pub fn scheduler(&self) -> SqsClipScheduler {
        SqsClipScheduler::new(self.aws.sqs.clone(), &self.clips_url)
    }

    pub fn clip_store(&self) -> DynamoClipStore {
        DynamoClipStore::new(self.aws.dynamodb.clone(), &self.clips_table)
    }

    pub fn channels(&self) -> DynamoChannelStore {
        DynamoChannelStore::new(self.aws.dynamodb.clone(), &self.channels_table)
    }

    /// The score function with the default configuration (as deployed by default: no
    /// dashboard timeline).
    pub fn score_handler(&self) -> StackScore {
        ScoreHandler::new(
            self.models(),
            self.claims(),
            self.scheduler(),
            self.archive(),
            self.channels(),
            ScoreConfig::default(),
        )
    }

    /// [`Stack::score_handler`] also writing the timeline table (`DashboardTimeline=true`).
    pub fn score_handler_with_timeline(&self) -> StackScore {
        self.score_handler()
            .with_timeline(std::sync::Arc::new(self.timeline()))
    }

    /// The clip function with quick confirmation re-checks (1 s, 2 s), 4 Create attempts 1 s
    /// apart, and a 60 s Create claim.
    pub fn clip_handler<A: ClipApi>(&self, api: Option<A>) -> StackClip<A> {
        ClipHandler::new(
            api,
            self.clip_store(),
            self.scheduler(),
            self.claims(),
            self.channels(),
            ClipHandlerConfig {
                flow: ClipFlowConfig {
                    confirm_backoff: vec![Duration::from_secs(1), Duration::from_secs(2)],
                    max_create_attempts: 4,
                    retry_base: Duration::from_secs(1),
                },
                create_claim_ms: 60_000,
            },
        )
    }

    /// Run `handle` on the clip queue as Lambda would (1 s long polls, 5 s visibility) until a
    /// confirmed clip is in the clips table and the queue is idle, sending the first batch
    /// delivered back to the queue once (a duplicate delivery). Returns the number of batches
    /// handled. Panics when no clip is confirmed within 90 s.
    pub async fn drain_clip_queue<H, Fut>(&self, handle: H) -> usize
    where
        H: Fn(QueueBatch) -> Fut,
        Fut: std::future::Future<Output = BatchOutcome>,
    {
        let (sqs, url, handle) = (&self.aws.sqs, self.clips_url.as_str(), &handle);
        let store = self.clip_store();
        let began = Instant::now();
        let mut batches = 0;
        loop {
            let duplicate = batches == 0;
            let (n, _) = esm::poll_once(sqs, url, 1, 5, |event| async move {
                if duplicate {
                    for body in event.records.iter().filter_map(|r| r.body.clone()) {
                        sqs.send_message()
                            .queue_url(url)
                            .message_body(body)
                            .send()
                            .await
                            .expect("SendMessage (duplicate)");
                    }
                }
                handle(event).await
            })
            .await
            .expect("poll the clip queue");
            if n > 0 {
                batches += 1;
            }
            let done = store
                .list(None, None)
                .await
                .expect("list clips")
                .iter()
                .any(|r| r.status == ClipStatus::Confirmed);
            if done && n == 0 {
                return batches;
            }
            assert!(
                began.elapsed() < Duration::from_secs(90),
                "no confirmed clip in time"
            );
        }
    }
}
