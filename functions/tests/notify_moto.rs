//! Clip alerts on AWS adapters against moto_server: the DynamoDB delivery record (conditional
//! put: one post per clip and target across concurrent workers and redelivery) and the channel
//! store keeping alert targets. Skips when `CLIPPER_TEST_AWS_ENDPOINT` is unset (`.ci/run`
//! starts moto and sets it).
#![cfg(feature = "aws")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use clipper_functions::aws::{DynamoChannelStore, DynamoDeliveryLog};
use clipper_functions::notify::{
    Claim, DeliveryKey, DeliveryLog, Notifier, NotifyConfig, NotifyTarget, Outcome,
};
use clipper_functions::record::{ClipRecord, ClipStatus};
use clipper_functions::roles::{ChannelConfig, ChannelStore};
use clipper_models::{ClipDecision, ClipRequest, Scores, TriggerKind};
use clipper_testkit::moto;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

fn key(r: &str) -> DeliveryKey {
    DeliveryKey {
        request_id: r.into(),
        alert: "clip",
        target_id: "discord-0011".into(),
    }
}

#[tokio::test]
async fn dynamo_delivery_log_claims_once_releases_and_disables() {
    let Some(aws) = moto::aws("dynamo_delivery_log_claims_once_releases_and_disables").await else {
        return;
    };
    let table = moto::unique("deliveries");
    moto::table(&aws, &table, "delivery_key").await;
    let log = DynamoDeliveryLog::new(aws.dynamodb.clone(), &table);
    assert_eq!(log.claim(&key("r1")).await.unwrap(), Claim::Claimed);
    assert!(matches!(
        log.claim(&key("r1")).await.unwrap(),
        Claim::InFlight { .. }
    ));
    log.release(&key("r1")).await.unwrap();
    assert_eq!(log.claim(&key("r1")).await.unwrap(), Claim::Claimed);
    log.delivered(&key("r1")).await.unwrap();
    assert_eq!(log.claim(&key("r1")).await.unwrap(), Claim::Delivered);
    assert!(!log.is_disabled("chan", "discord-0011").await.unwrap());
    log.disable("chan", "discord-0011", "discord:https://x/…", "HTTP 404")
        .await
        .unwrap();
    assert!(log.is_disabled("chan", "discord-0011").await.unwrap());
    assert!(!log.is_disabled("other", "discord-0011").await.unwrap());
}

#[tokio::test]
async fn concurrent_notify_workers_on_dynamo_post_once() {
    let Some(aws) = moto::aws("concurrent_notify_workers_on_dynamo_post_once").await else {
        return;
    };
    let table = moto::unique("deliveries");
    moto::table(&aws, &table, "delivery_key").await;
    let hook = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&hook)
        .await;
    let target = NotifyTarget::parse(&format!("discord:{}/api/webhooks/1/x", hook.uri())).unwrap();
    let d = ClipDecision {
        channel: "hypechan".into(),
        trigger_ms: 1_795_543_200_000,
        peak_ms: 1_795_543_200_000,
        fire_at_ms: 1_795_543_207_000,
        kind: TriggerKind::Laughter,
        score: 0.8,
        scores: Scores::default(),
        features: None,
        merged: 0,
        forced_by: None,
        title: "t".into(),
        duration_ms: 30_000,
    };
    let mut record = ClipRecord::from_request(&ClipRequest::new(d, None), ClipStatus::Confirmed);
    record.url = Some("https://clips.twitch.tv/ClipOne".into());
    // Four "Lambda instances", each its own notifier, all handling the same clip message.
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let n = Notifier::new(
            DynamoDeliveryLog::new(aws.dynamodb.clone(), &table),
            NotifyConfig {
                timeout: Duration::from_secs(5),
                ..NotifyConfig::default()
            },
        )
        .unwrap();
        let (r, t) = (record.clone(), target.clone());
        set.spawn(async move { n.notify(&r, &[t]).await });
    }
    let mut outcomes = Vec::new();
    while let Some(d) = set.join_next().await {
        outcomes.extend(d.unwrap().into_iter().map(|d| d.outcome));
    }
    let n = Arc::new(
        Notifier::new(
            DynamoDeliveryLog::new(aws.dynamodb.clone(), &table),
            NotifyConfig::default(),
        )
        .unwrap(),
    );
    let again = n.notify(&record, std::slice::from_ref(&target)).await;
    assert_eq!(again[0].outcome, Outcome::AlreadyDelivered);
    let delivered = outcomes
        .iter()
        .filter(|o| **o == Outcome::Delivered)
        .count();
    assert_eq!(delivered, 1, "{outcomes:?}");
    assert_eq!(hook.received_requests().await.unwrap().len(), 1);
    println!("dynamo: 4 concurrent workers + 1 redelivery → posts = 1");
}

#[tokio::test]
async fn dynamo_channel_store_keeps_alert_targets() {
    let Some(aws) = moto::aws("dynamo_channel_store_keeps_alert_targets").await else {
        return;
    };
    let table = moto::unique("channels");
    moto::table(&aws, &table, "channel").await;
    let store = DynamoChannelStore::new(aws.dynamodb.clone(), &table);
    let mut c = ChannelConfig::new("hypechan");
    c.notify = vec![
        NotifyTarget::parse("discord:https://discord.com/api/webhooks/1/x").unwrap(),
        NotifyTarget::parse("sms:+14155550123").unwrap(),
    ];
    c.notify_failures = true;
    store.put(&c).await.unwrap();
    assert_eq!(store.list().await.unwrap(), vec![c]);
}
