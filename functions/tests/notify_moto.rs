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

// ---- SMS through SNS and email through SES v2, against moto ----
//
// moto keeps what it "sent": SNS SMS publishes as `sns.SMS` models and SES messages as
// `ses.Message` models, both listed by `GET /moto-api/data.json`. The tests read them back from
// there, picking their own by a unique phone number or recipient (moto is shared by the tests).

const CLIP_URL: &str = "https://clips.twitch.tv/ClipOne";

fn confirmed_clip(request_id: &str) -> ClipRecord {
    let d = ClipDecision {
        channel: "hypechan".into(),
        trigger_ms: 1_795_543_200_000,
        peak_ms: 1_795_543_201_000,
        fire_at_ms: 1_795_543_207_000,
        kind: TriggerKind::Laughter,
        score: 0.87,
        scores: Scores::default(),
        features: None,
        merged: 0,
        forced_by: None,
        title: "KEKW moment".into(),
        duration_ms: 30_000,
    };
    let mut r = ClipRecord::from_request(&ClipRequest::new(d, None), ClipStatus::Confirmed);
    r.request_id = request_id.into();
    r.url = Some(CLIP_URL.into());
    r.edit_url = Some(format!("{CLIP_URL}/edit"));
    r
}

fn fast() -> NotifyConfig {
    NotifyConfig {
        max_attempts: 3,
        backoff_base: Duration::from_millis(50),
        backoff_cap: Duration::from_millis(200),
        timeout: Duration::from_secs(5),
        ..NotifyConfig::default()
    }
}

/// The instances of one moto model (`service`, `model`) from `/moto-api/data.json`.
async fn moto_models(service: &str, model: &str) -> Vec<serde_json::Value> {
    let endpoint = std::env::var("CLIPPER_TEST_AWS_ENDPOINT").unwrap();
    let data: serde_json::Value = reqwest::get(format!("{endpoint}/moto-api/data.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    data[service][model].as_array().cloned().unwrap_or_default()
}

/// A phone number no other test uses: +1 555 01 and 5 digits from the clock.
fn unique_number() -> String {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("+155501{:05}", n % 100_000)
}

#[tokio::test]
async fn sns_sms_is_one_short_line_with_the_link_published_once() {
    use clipper_functions::aws::{SnsSettings, SnsSmsSender};
    use clipper_functions::notify::{Messages, NoMessages};
    let Some(aws) = moto::aws("sns_sms_is_one_short_line_with_the_link_published_once").await
    else {
        return;
    };
    // The relay's local set-up: a sender only when credentials are found (here the test ones).
    assert!(SnsSmsSender::if_credentials(&aws, SnsSettings::default())
        .await
        .is_some());
    let table = moto::unique("deliveries");
    moto::table(&aws, &table, "delivery_key").await;
    let number = unique_number();
    let n = Notifier::with_messages(
        DynamoDeliveryLog::new(aws.dynamodb.clone(), &table),
        Messages {
            email: NoMessages,
            sms: SnsSmsSender::new(
                aws.sns.clone(),
                SnsSettings {
                    origination_number: Some("+15550100000".into()),
                    sender_id: None,
                },
            ),
            chat: NoMessages,
        },
        fast(),
    )
    .unwrap();
    let target = NotifyTarget::parse(&format!("sms:{number}")).unwrap();
    let record = confirmed_clip(&moto::unique("r"));
    let started = std::time::Instant::now();
    let d = n.notify(&record, std::slice::from_ref(&target)).await;
    let took = started.elapsed();
    assert_eq!(d[0].outcome, Outcome::Delivered, "{d:?}");
    // The report names the number only redacted.
    assert!(!d[0].target.contains(&number[1..]), "{}", d[0].target);
    // Redelivered (the stream retries the record) and a restarted worker: no second SMS.
    let again = n.notify(&record, std::slice::from_ref(&target)).await;
    assert_eq!(again[0].outcome, Outcome::AlreadyDelivered);
    let restarted = Notifier::with_messages(
        DynamoDeliveryLog::new(aws.dynamodb.clone(), &table),
        SnsSmsSender::new(aws.sns.clone(), SnsSettings::default()),
        fast(),
    )
    .unwrap();
    let again = restarted
        .notify(&record, std::slice::from_ref(&target))
        .await;
    assert_eq!(again[0].outcome, Outcome::AlreadyDelivered);

    let sent: Vec<_> = moto_models("sns", "SMS")
        .await
        .into_iter()
        .filter(|m| m["phone_number"] == number.as_str())
        .collect();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let text = sent[0]["message"].as_str().unwrap();
    assert_eq!(text, format!("New clip on hypechan: {CLIP_URL}"));
    assert!(
        !text.contains('\n') && text.chars().count() <= 160,
        "{text}"
    );
    assert!(!text.contains("/edit"), "edit URL in an SMS: {text}");
    println!("sms: {text:?}; publishes = 1 after 3 deliveries (first, redelivery, restart); confirmation → published in {took:?}");
}

#[tokio::test]
async fn ses_email_needs_a_verified_sender_then_is_sent_once() {
    use clipper_functions::aws::{SesEmailSender, SesSettings};
    use clipper_functions::notify::{Messages, NoMessages};
    let Some(aws) = moto::aws("ses_email_needs_a_verified_sender_then_is_sent_once").await else {
        return;
    };
    let table = moto::unique("deliveries");
    moto::table(&aws, &table, "delivery_key").await;
    let from = format!("{}@clips.example.com", moto::unique("from"));
    let to = format!("{}@example.org", moto::unique("ops"));
    let ses = |from: &str| Messages {
        email: SesEmailSender::new(
            aws.ses.clone(),
            SesSettings {
                from: from.into(),
                configuration_set: None,
            },
        ),
        sms: NoMessages,
        chat: NoMessages,
    };
    let target = NotifyTarget::parse(&format!("email:{to}")).unwrap();
    let record = confirmed_clip(&moto::unique("r"));

    // Not verified yet: SES refuses (MessageRejected); the error says so, without the
    // recipient's address; the delivery is released so a later try may send.
    let n = Notifier::with_messages(
        DynamoDeliveryLog::new(aws.dynamodb.clone(), &table),
        ses(&from),
        fast(),
    )
    .unwrap();
    let d = n.notify(&record, std::slice::from_ref(&target)).await;
    match &d[0].outcome {
        Outcome::Failed(why) => {
            assert!(why.contains("not verified"), "{why}");
            assert!(!why.contains(&to), "recipient leaked: {why}");
        }
        o => panic!("{o:?}"),
    }
    assert_eq!(d[0].attempts, 1, "a refusal is not retried");

    // Verify the sender (in the sandbox the recipient would need it too), try again.
    aws.ses
        .create_email_identity()
        .email_identity(&from)
        .send()
        .await
        .unwrap();
    let d = n.notify(&record, std::slice::from_ref(&target)).await;
    assert_eq!(d[0].outcome, Outcome::Delivered, "{d:?}");
    let d = n.notify(&record, std::slice::from_ref(&target)).await;
    assert_eq!(d[0].outcome, Outcome::AlreadyDelivered);

    let sent: Vec<_> = moto_models("ses", "Message")
        .await
        .into_iter()
        .filter(|m| m["destinations"]["ToAddresses"][0] == to.as_str())
        .collect();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let m = &sent[0];
    assert_eq!(m["source"], from.as_str());
    assert_eq!(m["subject"], "New clip on hypechan: KEKW moment");
    // moto keeps the HTML part of a simple message (the text part is checked on the wire in
    // `ses_request_carries_text_and_html_parts`).
    let body = m["body"].as_str().unwrap();
    for needle in [
        format!("<a href=\"{CLIP_URL}\">KEKW moment</a>"),
        format!("<a href=\"{CLIP_URL}/edit\">Edit the clip</a>"),
        "channel hypechan | trigger laughter | score 0.87".to_owned(),
    ] {
        assert!(body.contains(&needle), "{needle} not in {body}");
    }
    println!("ses: unverified sender → refused, not retried; verified → 1 email, redelivery → 0 more; html: {body}");
}

/// The SES request as it leaves the SDK (a loopback receiver standing in for SES): simple
/// content with a UTF-8 subject, a text part and an HTML part, both with the clip link and the
/// edit link.
#[tokio::test]
async fn ses_request_carries_text_and_html_parts() {
    use clipper_functions::aws::{AwsConfig, SesEmailSender, SesSettings};
    use clipper_functions::notify::{JsonlDeliveryLog, MessageSender};
    use wiremock::matchers::path;
    let ses = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/email/outbound-emails"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"MessageId": "m-1"})),
        )
        .mount(&ses)
        .await;
    // Clients pointed at the receiver (test credentials, as for moto).
    let aws: AwsConfig = moto::connect(&ses.uri()).await;
    let sender = SesEmailSender::new(
        aws.ses.clone(),
        SesSettings {
            from: "clips@example.com".into(),
            configuration_set: Some("alerts".into()),
        },
    );
    let direct = sender.clone();
    let dir = tempfile::tempdir().unwrap();
    let n = Notifier::with_messages(JsonlDeliveryLog::open(dir.path()).unwrap(), sender, fast())
        .unwrap();
    let target = NotifyTarget::parse("email:ops@example.org").unwrap();
    let d = n
        .notify(&confirmed_clip("r1"), std::slice::from_ref(&target))
        .await;
    assert_eq!(d[0].outcome, Outcome::Delivered, "{d:?}");
    let reqs = ses.received_requests().await.unwrap();
    assert_eq!(reqs.len(), 1);
    let body: serde_json::Value = serde_json::from_slice(&reqs[0].body).unwrap();
    assert_eq!(body["FromEmailAddress"], "clips@example.com");
    assert_eq!(body["Destination"]["ToAddresses"][0], "ops@example.org");
    assert_eq!(body["ConfigurationSetName"], "alerts");
    let simple = &body["Content"]["Simple"];
    assert_eq!(
        simple["Subject"]["Data"],
        "New clip on hypechan: KEKW moment"
    );
    assert_eq!(simple["Subject"]["Charset"], "UTF-8");
    let text = simple["Body"]["Text"]["Data"].as_str().unwrap();
    let html = simple["Body"]["Html"]["Data"].as_str().unwrap();
    for part in [text, html] {
        assert!(part.contains(CLIP_URL), "{part}");
        assert!(part.contains("/ClipOne/edit"), "{part}");
    }
    assert!(
        text.starts_with(&format!("New clip on hypechan: {CLIP_URL}\n")),
        "{text}"
    );
    // An SMS target given to the SES sender is "not configured", never sent.
    let sms = NotifyTarget::parse("sms:+14155550123").unwrap();
    let alert = clipper_functions::notify::Alert::from_record(
        clipper_functions::notify::AlertKind::Confirmed,
        &confirmed_clip("r1"),
    );
    assert!(matches!(
        MessageSender::send(&direct, &sms, &alert).await,
        clipper_functions::notify::Attempt::Unsupported(_)
    ));
    assert_eq!(ses.received_requests().await.unwrap().len(), 1);
    println!("ses request: {body}");
}

/// The daily digest on AWS as the scheduled invocation runs it: the notify handler over the
/// channels table (the `digest` flag), the clips table's `by_channel` index, the DynamoDB
/// delivery record, SNS and SES on moto. The schedule fires twice (EventBridge retry): one SMS
/// and one email, listing the day's confirmed clips only.
#[tokio::test]
async fn scheduled_digest_on_aws_sends_once_per_target() {
    use clipper_functions::aws::{DynamoClipStore, SesEmailSender, SesSettings, SnsSmsSender};
    use clipper_functions::handlers::notify::{is_schedule, NotifyHandler};
    use clipper_functions::notify::digest::scheduled_day;
    use clipper_functions::notify::{Messages, NoMessages};
    use clipper_functions::roles::ClipStore;
    let Some(aws) = moto::aws("scheduled_digest_on_aws_sends_once_per_target").await else {
        return;
    };
    let (deliveries, channels_t, clips_t) = (
        moto::unique("deliveries"),
        moto::unique("channels"),
        moto::unique("clips"),
    );
    moto::table(&aws, &deliveries, "delivery_key").await;
    moto::table(&aws, &channels_t, "channel").await;
    moto::clips_table(&aws, &clips_t).await;
    let from = format!("{}@clips.example.com", moto::unique("digest"));
    aws.ses
        .create_email_identity()
        .email_identity(&from)
        .send()
        .await
        .unwrap();
    let to = format!("{}@example.org", moto::unique("ops"));
    let number = unique_number();
    let channels = DynamoChannelStore::new(aws.dynamodb.clone(), &channels_t);
    let mut c = ChannelConfig::new("hypechan");
    c.digest = true;
    c.notify = vec![
        NotifyTarget::parse(&format!("sms:{number}")).unwrap(),
        NotifyTarget::parse(&format!("email:{to}")).unwrap(),
    ];
    channels.put(&c).await.unwrap();
    assert!(
        channels.list().await.unwrap()[0].digest,
        "the flag is stored"
    );
    let clips = DynamoClipStore::new(aws.dynamodb.clone(), &clips_t);
    // 2026-11-24: two confirmed clips and a failed one; 2026-11-25: one more.
    for (id, status, at) in [
        ("d1", ClipStatus::Confirmed, 1_795_543_200_000_i64),
        ("d2", ClipStatus::Confirmed, 1_795_550_400_000),
        ("d3", ClipStatus::Failed, 1_795_554_000_000),
        ("d4", ClipStatus::Confirmed, 1_795_629_600_000),
    ] {
        let mut r = confirmed_clip(id);
        r.status = status;
        r.trigger_ms = at;
        r.url = (status == ClipStatus::Confirmed).then(|| format!("https://clips.twitch.tv/{id}"));
        clips.put(&r).await.unwrap();
    }
    let handler = NotifyHandler::new(
        Notifier::with_messages(
            DynamoDeliveryLog::new(aws.dynamodb.clone(), &deliveries),
            Messages {
                email: SesEmailSender::new(
                    aws.ses.clone(),
                    SesSettings {
                        from: from.clone(),
                        configuration_set: None,
                    },
                ),
                sms: SnsSmsSender::new(aws.sns.clone(), Default::default()),
                chat: NoMessages,
            },
            fast(),
        )
        .unwrap(),
        channels,
        Vec::new(),
    );
    // What EventBridge Scheduler sends (template.yaml: NotifyFunction DailyDigest Input).
    let event = serde_json::json!({"source": "aws.events", "detail-type": "Scheduled Event",
        "time": "2026-11-25T00:05:00Z"});
    assert!(is_schedule(&event));
    assert!(!is_schedule(&serde_json::json!({"Records": []})));
    let day = scheduled_day(&event, 0).unwrap();
    assert_eq!(day.to_string(), "2026-11-24");
    let first = handler.digest(&clips, day).await.unwrap();
    assert_eq!(first.delivered(), 2, "{first:?}");
    let again = handler.digest(&clips, day).await.unwrap();
    assert_eq!(again.delivered(), 0, "{again:?}");

    let sms: Vec<_> = moto_models("sns", "SMS")
        .await
        .into_iter()
        .filter(|m| m["phone_number"] == number.as_str())
        .collect();
    assert_eq!(sms.len(), 1, "{sms:?}");
    assert_eq!(
        sms[0]["message"],
        "2 clips on hypechan on 2026-11-24, first: https://clips.twitch.tv/d1"
    );
    let mails: Vec<_> = moto_models("ses", "Message")
        .await
        .into_iter()
        .filter(|m| m["destinations"]["ToAddresses"][0] == to.as_str())
        .collect();
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0]["subject"], "2 clips on hypechan on 2026-11-24");
    let html = mails[0]["body"].as_str().unwrap();
    assert!(
        html.contains("https://clips.twitch.tv/d1") && html.contains("https://clips.twitch.tv/d2"),
        "{html}"
    );
    assert!(!html.contains("/d3") && !html.contains("/d4"), "{html}");
    println!(
        "digest on AWS: sms {:?}; email subject {:?}; 2 deliveries, rerun → 0",
        sms[0]["message"], mails[0]["subject"]
    );
}
