//! Resources on the test AWS endpoint (moto), named uniquely per test.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType,
};
use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
use aws_sdk_sqs::types::QueueAttributeName;
use clipper_functions::aws::AwsConfig;

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

pub fn unique(prefix: &str) -> String {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{:x}", n % 0xffff_ffff_ffff)
}

pub async fn bucket(aws: &AwsConfig, name: &str) {
    aws.s3.create_bucket().bucket(name).send().await.unwrap();
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
        .unwrap();
}

/// A queue (with a dead-letter queue after `max_receive` receives); returns (url, arn).
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
    let url = req.send().await.unwrap().queue_url.unwrap();
    let arn = aws
        .sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()
        .remove(&QueueAttributeName::QueueArn)
        .unwrap();
    (url, arn)
}

fn attr(name: &str, t: ScalarAttributeType) -> AttributeDefinition {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(t)
        .build()
        .unwrap()
}

fn key(name: &str, t: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(t)
        .build()
        .unwrap()
}

/// A table with string partition key `pk`.
pub async fn table(aws: &AwsConfig, name: &str, pk: &str) {
    aws.dynamodb
        .create_table()
        .table_name(name)
        .attribute_definitions(attr(pk, ScalarAttributeType::S))
        .key_schema(key(pk, KeyType::Hash))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
}

/// The clips table with its `by_channel` index.
pub async fn clips_table(aws: &AwsConfig, name: &str) {
    aws.dynamodb
        .create_table()
        .table_name(name)
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
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
}
