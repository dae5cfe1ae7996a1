//! Clip alerts against loopback webhook receivers (wiremock): Discord and Slack payloads,
//! 429 with `Retry-After` (header and body), 404 disabling, 5xx retries, and exactly one post
//! per clip and target across redelivery and restart.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clipper_functions::notify::{
    targets_for, AlertKind, JsonlDeliveryLog, Notifier, NotifyConfig, NotifyTarget, Outcome,
};
use clipper_functions::record::{ClipRecord, ClipStatus};
use clipper_functions::roles::ChannelConfig;
use clipper_models::{ClipDecision, ClipRequest, Scores, TriggerKind};
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const URL: &str = "https://clips.twitch.tv/ClipOne";

fn confirmed(request_id: &str) -> ClipRecord {
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
    r.clip_id = Some("ClipOne".into());
    r.url = Some(URL.into());
    r.edit_url = Some(format!("{URL}/edit"));
    r
}

fn fast() -> NotifyConfig {
    NotifyConfig {
        max_attempts: 4,
        backoff_base: Duration::from_millis(50),
        backoff_cap: Duration::from_millis(200),
        max_retry_after: Duration::from_secs(5),
        slack_interval: Duration::from_millis(300),
        timeout: Duration::from_secs(5),
        chat_interval: Duration::from_millis(300),
    }
}

/// Answers the scripted responses in order (the last one repeats), keeping every body and
/// when it came.
#[derive(Clone, Default)]
struct Script {
    answers: Arc<Vec<ResponseTemplate>>,
    seen: Arc<Mutex<Vec<(Instant, Value)>>>,
}

impl Script {
    fn new(answers: Vec<ResponseTemplate>) -> Script {
        Script {
            answers: Arc::new(answers),
            seen: Arc::default(),
        }
    }
    fn requests(&self) -> Vec<(Instant, Value)> {
        self.seen.lock().unwrap().clone()
    }
}

impl Respond for Script {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let mut seen = self.seen.lock().unwrap();
        seen.push((Instant::now(), serde_json::from_slice(&req.body).unwrap()));
        let i = (seen.len() - 1).min(self.answers.len() - 1);
        self.answers[i].clone()
    }
}

async fn receiver(p: &str, script: &Script) -> (MockServer, NotifyTarget, NotifyTarget) {
    let s = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(p))
        .respond_with(script.clone())
        .mount(&s)
        .await;
    let discord = NotifyTarget::parse(&format!("discord:{}{p}", s.uri())).unwrap();
    let slack = NotifyTarget::parse(&format!("slack:{}{p}", s.uri())).unwrap();
    (s, discord, slack)
}

fn ok() -> ResponseTemplate {
    ResponseTemplate::new(204)
}

#[tokio::test]
async fn discord_post_has_the_url_in_content_and_a_short_embed() {
    let script = Script::new(vec![ok()]);
    let (_s, discord, _) = receiver("/api/webhooks/1/SECRET", &script).await;
    let dir = tempfile::tempdir().unwrap();
    let n = Notifier::new(JsonlDeliveryLog::open(dir.path()).unwrap(), fast()).unwrap();
    let d = n.notify(&confirmed("r1"), &[discord]).await;
    assert_eq!(d[0].outcome, Outcome::Delivered);
    let reqs = script.requests();
    assert_eq!(reqs.len(), 1);
    let body = &reqs[0].1;
    assert_eq!(body["content"], URL);
    let e = &body["embeds"][0];
    assert_eq!(e["title"], "KEKW moment");
    assert_eq!(e["url"], URL);
    assert_eq!(e["fields"][0]["value"], "hypechan");
    assert_eq!(e["fields"][1]["value"], "laughter");
    assert_eq!(e["fields"][2]["value"], "0.87");
    assert_eq!(e["timestamp"], "2026-11-24T18:00:01.000Z");
    assert!(
        !body.to_string().contains("/edit"),
        "edit URL leaked: {body}"
    );
    // The delivery record and the report never hold the webhook's secret.
    let file = std::fs::read_to_string(dir.path().join("deliveries.jsonl")).unwrap();
    assert!(!file.contains("SECRET"), "{file}");
    assert!(!d[0].target.contains("SECRET"), "{}", d[0].target);
    println!("discord payload: {body}");
}

#[tokio::test]
async fn slack_post_has_text_and_blocks_and_is_paced() {
    let script = Script::new(vec![ResponseTemplate::new(200).set_body_string("ok")]);
    let (_s, _, slack) = receiver("/services/T/B/SECRET", &script).await;
    let dir = tempfile::tempdir().unwrap();
    let n = Notifier::new(JsonlDeliveryLog::open(dir.path()).unwrap(), fast()).unwrap();
    for id in ["r1", "r2", "r3"] {
        let d = n.notify(&confirmed(id), std::slice::from_ref(&slack)).await;
        assert_eq!(d[0].outcome, Outcome::Delivered);
    }
    let reqs = script.requests();
    assert_eq!(reqs.len(), 3);
    let body = &reqs[0].1;
    assert_eq!(body["text"], format!("New clip on hypechan: {URL}"));
    assert_eq!(body["blocks"][0]["type"], "section");
    assert!(body["blocks"][0]["text"]["text"]
        .as_str()
        .unwrap()
        .contains(&format!("<{URL}|KEKW moment>")));
    assert!(!body.to_string().contains("/edit"));
    for w in reqs.windows(2) {
        let gap = w[1].0 - w[0].0;
        assert!(
            gap >= Duration::from_millis(290),
            "Slack posts {gap:?} apart"
        );
    }
    println!("slack payload: {body}");
}

#[tokio::test]
async fn discord_429_waits_retry_after_header_then_posts_once() {
    let script = Script::new(vec![
        ResponseTemplate::new(429)
            .insert_header("Retry-After", "0.4")
            .set_body_json(json!({"message": "You are being rate limited.", "retry_after": 9.0, "global": false})),
        ok(),
    ]);
    let (_s, discord, _) = receiver("/api/webhooks/1/SECRET", &script).await;
    let dir = tempfile::tempdir().unwrap();
    let n = Notifier::new(JsonlDeliveryLog::open(dir.path()).unwrap(), fast()).unwrap();
    let d = n.notify(&confirmed("r1"), &[discord]).await;
    assert_eq!(d[0].outcome, Outcome::Delivered);
    assert_eq!(d[0].attempts, 2);
    let reqs = script.requests();
    assert_eq!(reqs.len(), 2);
    let gap = reqs[1].0 - reqs[0].0;
    // The header (0.4 s) wins over the body (9 s).
    assert!(
        gap >= Duration::from_millis(390) && gap < Duration::from_secs(3),
        "{gap:?}"
    );
    println!("429 (Retry-After header): requests=2 posts delivered=1 wait={gap:?}");
}

#[tokio::test]
async fn discord_429_without_header_uses_retry_after_in_the_body() {
    let script = Script::new(vec![
        ResponseTemplate::new(429).set_body_json(
            json!({"message": "You are being rate limited.", "retry_after": 0.3, "global": false}),
        ),
        ok(),
    ]);
    let (_s, discord, _) = receiver("/api/webhooks/1/SECRET", &script).await;
    let dir = tempfile::tempdir().unwrap();
    let n = Notifier::new(JsonlDeliveryLog::open(dir.path()).unwrap(), fast()).unwrap();
    let d = n.notify(&confirmed("r1"), &[discord]).await;
    assert_eq!(d[0].outcome, Outcome::Delivered);
    let reqs = script.requests();
    assert_eq!(reqs.len(), 2);
    let gap = reqs[1].0 - reqs[0].0;
    assert!(gap >= Duration::from_millis(290), "{gap:?}");
    println!("429 (retry_after body): requests=2 posts delivered=1 wait={gap:?}");
}

#[tokio::test]
async fn a_404_disables_the_target_for_the_channel_with_one_warning_and_survives_restart() {
    let script = Script::new(vec![ResponseTemplate::new(404)
        .set_body_json(json!({"message": "Unknown Webhook", "code": 10015}))]);
    let (_s, discord, _) = receiver("/api/webhooks/1/SECRET", &script).await;
    let dir = tempfile::tempdir().unwrap();
    let n = Notifier::new(JsonlDeliveryLog::open(dir.path()).unwrap(), fast()).unwrap();
    let d = n
        .notify(&confirmed("r1"), std::slice::from_ref(&discord))
        .await;
    assert!(matches!(d[0].outcome, Outcome::NowDisabled(_)), "{d:?}");
    assert_eq!(d[0].attempts, 1, "a 404 is not retried");
    let d = n
        .notify(&confirmed("r2"), std::slice::from_ref(&discord))
        .await;
    assert_eq!(d[0].outcome, Outcome::Disabled);
    drop(n);
    let n = Notifier::new(JsonlDeliveryLog::open(dir.path()).unwrap(), fast()).unwrap();
    let d = n
        .notify(&confirmed("r3"), std::slice::from_ref(&discord))
        .await;
    assert_eq!(d[0].outcome, Outcome::Disabled);
    assert_eq!(
        script.requests().len(),
        1,
        "one request ever to a dead webhook"
    );
}

#[tokio::test]
async fn a_5xx_is_retried_with_backoff_and_posts_once() {
    let script = Script::new(vec![
        ResponseTemplate::new(502),
        ResponseTemplate::new(503),
        ok(),
    ]);
    let (_s, discord, _) = receiver("/api/webhooks/1/SECRET", &script).await;
    let dir = tempfile::tempdir().unwrap();
    let n = Notifier::new(JsonlDeliveryLog::open(dir.path()).unwrap(), fast()).unwrap();
    let d = n
        .notify(&confirmed("r1"), std::slice::from_ref(&discord))
        .await;
    assert_eq!(d[0].outcome, Outcome::Delivered);
    assert_eq!(d[0].attempts, 3);
    let reqs = script.requests();
    assert!(
        reqs[2].0 - reqs[1].0 >= reqs[1].0 - reqs[0].0,
        "backoff grows"
    );
    println!("5xx x2 then 204: requests=3 posts delivered=1");
}

#[tokio::test]
async fn a_5xx_forever_gives_up_bounded_and_a_redelivery_may_retry() {
    let script = Script::new(vec![ResponseTemplate::new(500)]);
    let (_s, discord, _) = receiver("/api/webhooks/1/SECRET", &script).await;
    let dir = tempfile::tempdir().unwrap();
    let n = Notifier::new(JsonlDeliveryLog::open(dir.path()).unwrap(), fast()).unwrap();
    let d = n
        .notify(&confirmed("r1"), std::slice::from_ref(&discord))
        .await;
    assert!(matches!(d[0].outcome, Outcome::Failed(_)), "{d:?}");
    assert!(d[0].should_retry());
    assert_eq!(script.requests().len(), 4, "max_attempts");
    // Released: the next redelivery tries again.
    let d = n
        .notify(&confirmed("r1"), std::slice::from_ref(&discord))
        .await;
    assert!(matches!(d[0].outcome, Outcome::Failed(_)));
    assert_eq!(script.requests().len(), 8);
}

#[tokio::test]
async fn redelivery_and_restart_still_post_once() {
    let script = Script::new(vec![ok()]);
    let (_s, discord, slack) = receiver("/hook/SECRET", &script).await;
    let targets = [discord, slack];
    let dir = tempfile::tempdir().unwrap();
    let n = Arc::new(Notifier::new(JsonlDeliveryLog::open(dir.path()).unwrap(), fast()).unwrap());
    // The same clip message three times at once (a queue redelivering), then again.
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..3 {
        let (n, t) = (n.clone(), targets.clone());
        set.spawn(async move { n.notify(&confirmed("r1"), &t).await });
    }
    let mut outcomes = Vec::new();
    while let Some(d) = set.join_next().await {
        outcomes.extend(d.unwrap().into_iter().map(|d| d.outcome));
    }
    let delivered = outcomes
        .iter()
        .filter(|o| **o == Outcome::Delivered)
        .count();
    assert_eq!(delivered, 2, "{outcomes:?}");
    let d = n.notify(&confirmed("r1"), &targets).await;
    assert!(d.iter().all(|d| d.outcome == Outcome::AlreadyDelivered));
    drop(n);
    // Restart: a new process over the same recordings directory.
    let n = Notifier::new(JsonlDeliveryLog::open(dir.path()).unwrap(), fast()).unwrap();
    let d = n.notify(&confirmed("r1"), &targets).await;
    assert!(d.iter().all(|d| d.outcome == Outcome::AlreadyDelivered));
    assert_eq!(script.requests().len(), 2, "one post per target");
    println!("redelivery x4 + restart: posts per target = 1 (discord 1, slack 1)");
}

#[tokio::test]
async fn targets_come_from_notify_the_legacy_webhook_and_defaults_without_duplicates() {
    let mut c = ChannelConfig::new("hypechan");
    let d = NotifyTarget::parse("discord:https://discord.com/api/webhooks/1/x").unwrap();
    c.notify = vec![d.clone()];
    c.webhook_url = Some("https://hooks.slack.com/services/T/B/X".into());
    let defaults = vec![
        d.clone(),
        NotifyTarget::parse("email:ops@example.com").unwrap(),
    ];
    let t = targets_for(AlertKind::Confirmed, Some(&c), &defaults);
    let kinds: Vec<String> = t.iter().map(|t| t.kind().to_string()).collect();
    assert_eq!(kinds, ["discord", "slack", "email"]);
    assert!(targets_for(AlertKind::WouldClip, Some(&c), &defaults).is_empty());
    assert!(targets_for(AlertKind::Failed, Some(&c), &defaults).is_empty());
    c.notify_dry_run = true;
    assert_eq!(
        targets_for(AlertKind::WouldClip, Some(&c), &defaults).len(),
        3
    );
    // Old channel files (no `notify`) still load; the secret is redacted on display.
    let old: ChannelConfig = serde_json::from_str(
        r#"{"channel":"a","enabled":true,"webhook_url":"https://discord.com/api/webhooks/1/SECRET"}"#,
    )
    .unwrap();
    assert!(old.notify.is_empty());
    assert!(!old.redacted().to_string().contains("SECRET"));
    let mut c2 = old.clone();
    c2.notify =
        vec![NotifyTarget::parse("slack:https://hooks.slack.com/services/T/B/SECRET").unwrap()];
    let j = serde_json::to_string(&c2).unwrap();
    assert_eq!(serde_json::from_str::<ChannelConfig>(&j).unwrap(), c2);
    assert!(!c2.redacted().to_string().contains("SECRET"));
}

#[tokio::test]
async fn email_and_sms_without_a_transport_say_what_to_configure() {
    let dir = tempfile::tempdir().unwrap();
    let n = Notifier::new(JsonlDeliveryLog::open(dir.path()).unwrap(), fast()).unwrap();
    let t = [
        NotifyTarget::parse("email:ops@example.com").unwrap(),
        NotifyTarget::parse("sms:+14155550123").unwrap(),
    ];
    let d = n.notify(&confirmed("r1"), &t).await;
    for d in &d {
        match &d.outcome {
            Outcome::Unsupported(m) => assert!(m.contains("SMTP") || m.contains("SNS"), "{m}"),
            o => panic!("{o:?}"),
        }
    }
}

#[tokio::test]
async fn email_goes_over_smtp_with_text_and_html_and_the_edit_link() {
    use clipper_functions::notify::{SmtpSender, SmtpSettings, SmtpTls};
    let smtp = clipper_testkit::smtp::LoopbackSmtp::start().await.unwrap();
    let settings = SmtpSettings {
        host: "127.0.0.1".into(),
        port: Some(smtp.addr().port()),
        tls: SmtpTls::None,
        username: None,
        password: None,
        from: "clipper <clips@example.com>".into(),
    };
    let dir = tempfile::tempdir().unwrap();
    let n = Notifier::with_messages(
        JsonlDeliveryLog::open(dir.path()).unwrap(),
        SmtpSender::new(&settings).unwrap(),
        fast(),
    )
    .unwrap();
    let t = [NotifyTarget::parse("email:ops@example.com").unwrap()];
    let d = n.notify(&confirmed("r1"), &t).await;
    assert_eq!(d[0].outcome, Outcome::Delivered, "{d:?}");
    // Redelivered: no second mail.
    let d = n.notify(&confirmed("r1"), &t).await;
    assert_eq!(d[0].outcome, Outcome::AlreadyDelivered);
    let mails = smtp.mails();
    assert_eq!(mails.len(), 1);
    let m = &mails[0];
    assert!(m.to[0].contains("ops@example.com"), "{:?}", m.to);
    assert!(m.from.contains("clips@example.com"));
    for needle in [
        "Subject: New clip on hypechan: KEKW moment",
        "text/plain",
        "text/html",
        URL,
        "/ClipOne/edit",
    ] {
        assert!(
            m.data.contains(needle),
            "mail lacks {needle:?}:\n{}",
            m.data
        );
    }
    // Plain SMTP is refused for a non-loopback host.
    let mut remote = settings.clone();
    remote.host = "smtp.example.com".into();
    assert!(SmtpSender::new(&remote).is_err());
    println!("email: 1 mail (text + HTML, link and edit link), redelivery → 0 more");
}

/// The notify function's handler on a DynamoDB stream event (as Lambda sends it): the same
/// confirmed clip twice (redelivery) posts once; a target failing with 5xx reports that
/// record's sequence number for retry (partial batch failure).
#[tokio::test]
async fn notify_handler_reads_a_stream_batch_posts_once_and_reports_failures() {
    use clipper_functions::handlers::notify::{batch_response, stream_batch, NotifyHandler};
    use clipper_functions::local::JsonChannelStore;
    use clipper_functions::roles::ChannelStore;
    let good = Script::new(vec![ok()]);
    let (_s1, good_hook, _) = receiver("/api/webhooks/1/GOOD", &good).await;
    let bad = Script::new(vec![ResponseTemplate::new(500)]);
    let (_s2, bad_hook, _) = receiver("/api/webhooks/2/BAD", &bad).await;
    let dir = tempfile::tempdir().unwrap();
    let channels = JsonChannelStore::new(dir.path().join("channels.json"));
    let mut hype = ChannelConfig::new("hypechan");
    hype.notify = vec![good_hook];
    channels.put(&hype).await.unwrap();
    let mut other = ChannelConfig::new("otherchan");
    other.notify = vec![bad_hook];
    channels.put(&other).await.unwrap();
    let handler = NotifyHandler::new(
        Notifier::new(JsonlDeliveryLog::open(dir.path()).unwrap(), fast()).unwrap(),
        channels,
        Vec::new(),
    );
    let image = |r: &ClipRecord, seq: &str| {
        json!({"eventName": "MODIFY", "dynamodb": {
            "SequenceNumber": seq,
            "NewImage": {"request_id": {"S": r.request_id}, "status": {"S": "confirmed"},
                         "record": {"S": serde_json::to_string(r).unwrap()}}
        }})
    };
    let a = confirmed("r1");
    let mut b = confirmed("r2");
    b.channel = "otherchan".into();
    let event = json!({"Records": [image(&a, "100"), image(&a, "101"), image(&b, "102"),
        {"eventName": "REMOVE", "dynamodb": {"SequenceNumber": "103"}}]});
    let batch = stream_batch(&event);
    assert_eq!(batch.records.len(), 3);
    let outcome = handler.handle(&batch).await;
    assert_eq!(outcome.failed, vec!["102".to_owned()]);
    assert_eq!(
        batch_response(&outcome),
        json!({"batchItemFailures": [{"itemIdentifier": "102"}]})
    );
    assert_eq!(good.requests().len(), 1, "one post for a clip seen twice");
    assert_eq!(bad.requests().len(), 4, "5xx retried, bounded");
    // Lambda retries the failed record: the good target is not posted again.
    let outcome = handler.handle(&stream_batch(&event)).await;
    assert_eq!(outcome.failed, vec!["102".to_owned()]);
    assert_eq!(good.requests().len(), 1);
}

// ---- the link back in chat: Helix Send Chat Message on a loopback Helix ----

mod chat_link {
    use super::*;
    use clipper_functions::local::MemoryTokenStore;
    use clipper_functions::notify::chat::HelixChatSender;
    use clipper_functions::notify::{Messages, NoMessages};
    use clipper_testkit::helix::{self, mount_validate, refresh_once, requests_to};
    use wiremock::matchers::{bearer_token, query_param};

    async fn users(server: &MockServer) {
        Mock::given(method("GET"))
            .and(path("/helix/users"))
            .and(query_param("login", "hypechan"))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                json!({"data": [{"id": "1001", "login": "hypechan", "display_name": "HypeChan"}]}),
            ))
            .mount(server)
            .await;
    }

    fn sent(id: &str) -> ResponseTemplate {
        ResponseTemplate::new(200)
            .set_body_json(json!({"data": [{"message_id": id, "is_sent": true}]}))
    }

    fn chat_cfg() -> NotifyConfig {
        NotifyConfig {
            chat_interval: Duration::from_millis(600),
            ..fast()
        }
    }

    fn notifier(
        server: &MockServer,
        dir: &std::path::Path,
    ) -> Notifier<
        JsonlDeliveryLog,
        Messages<NoMessages, NoMessages, HelixChatSender<MemoryTokenStore>>,
    > {
        let client = helix::user_client(
            helix::config(server),
            MemoryTokenStore::default(),
            "user-a",
            "refresh-a",
        );
        Notifier::with_messages(
            JsonlDeliveryLog::open(dir).unwrap(),
            Messages {
                email: NoMessages,
                sms: NoMessages,
                chat: HelixChatSender::new(Arc::new(client)),
            },
            chat_cfg(),
        )
        .unwrap()
    }

    #[test]
    fn only_opted_in_channels_and_only_confirmed_clips_get_a_chat_line() {
        let mut on = ChannelConfig::new("hypechan");
        on.chat_link = true;
        on.notify_failures = true;
        on.notify_dry_run = true;
        let off = ChannelConfig::new("quietchan");
        let chat = NotifyTarget::Chat("hypechan".into());
        assert!(targets_for(AlertKind::Confirmed, Some(&on), &[]).contains(&chat));
        assert!(targets_for(AlertKind::Confirmed, Some(&off), &[]).is_empty());
        assert!(targets_for(AlertKind::Confirmed, None, &[]).is_empty());
        assert!(!targets_for(AlertKind::Failed, Some(&on), &[]).contains(&chat));
        assert!(!targets_for(AlertKind::WouldClip, Some(&on), &[]).contains(&chat));
        // A chat target cannot be smuggled in as a --notify target or a global default.
        assert!(NotifyTarget::parse("chat:hypechan").is_err());
        assert!(clipper_functions::notify::parse_list("chat:hypechan").is_err());
        // Stored and listed.
        let j = serde_json::to_string(&on).unwrap();
        assert!(j.contains("\"chat_link\":true"), "{j}");
        assert!(!serde_json::to_string(&off).unwrap().contains("chat_link"));
        assert_eq!(on.redacted()["chat_link"], true);
    }

    /// `clip: URL` once per clip through Send Chat Message (sender = the token's user,
    /// broadcaster looked up once), the stale token refreshed on 401, a redelivery not posted
    /// again, and the next clip's line held back by the per-channel interval.
    #[tokio::test]
    async fn posts_clip_url_once_refreshes_on_401_and_paces_the_channel() {
        let server = MockServer::start().await;
        users(&server).await;
        mount_validate(&server, "2002").await;
        Mock::given(method("POST"))
            .and(path("/helix/chat/messages"))
            .and(bearer_token("user-a"))
            .respond_with(helix::error(401, "Invalid OAuth token"))
            .expect(1)
            .mount(&server)
            .await;
        refresh_once("user-b", "refresh-b").mount(&server).await;
        let ok_posts = Script::new(vec![sent("m1")]);
        Mock::given(method("POST"))
            .and(path("/helix/chat/messages"))
            .and(bearer_token("user-b"))
            .respond_with(ok_posts.clone())
            .mount(&server)
            .await;
        let dir = tempfile::tempdir().unwrap();
        let n = notifier(&server, dir.path());
        let mut on = ChannelConfig::new("hypechan");
        on.chat_link = true;
        let targets = targets_for(AlertKind::Confirmed, Some(&on), &[]);
        assert_eq!(targets, vec![NotifyTarget::Chat("hypechan".into())]);

        let d = n.notify(&confirmed("r1"), &targets).await;
        assert_eq!(d[0].outcome, Outcome::Delivered, "{d:?}");
        assert_eq!(d[0].target, "chat:#hypechan");
        let d = n.notify(&confirmed("r1"), &targets).await;
        assert_eq!(d[0].outcome, Outcome::AlreadyDelivered);
        let mut second = confirmed("r2");
        second.url = Some("https://clips.twitch.tv/ClipTwo".into());
        let d = n.notify(&second, &targets).await;
        assert_eq!(d[0].outcome, Outcome::Delivered);

        let posts = requests_to(&server, "/helix/chat/messages").await;
        assert_eq!(posts.len(), 3, "one refused with 401, then one per clip");
        let bodies: Vec<Value> = posts
            .iter()
            .map(|r| serde_json::from_slice(&r.body).unwrap())
            .collect();
        assert_eq!(
            bodies[1],
            json!({"broadcaster_id": "1001", "sender_id": "2002", "message": format!("clip: {URL}")})
        );
        assert_eq!(
            bodies[2]["message"],
            "clip: https://clips.twitch.tv/ClipTwo"
        );
        assert!(!bodies.iter().any(|b| b.to_string().contains("/edit")));
        assert_eq!(
            requests_to(&server, "/helix/users").await.len(),
            1,
            "id cached"
        );
        // Paced: the second line waited for the channel's interval after the first.
        let times = ok_posts.requests();
        assert_eq!(times.len(), 2);
        let gap = times[1].0 - times[0].0;
        assert!(gap >= Duration::from_millis(590), "{gap:?}");
        println!("chat line: {}", bodies[1]);
    }

    /// A message Twitch accepts but drops (AutoMod, duplicate) is a failure that a redelivery
    /// may retry; a 403 (the bot may not chat there) disables the chat target for the channel
    /// with one warning, and later clips skip it without calling Helix.
    #[tokio::test]
    async fn dropped_is_retryable_and_403_disables_the_chat_target() {
        let server = MockServer::start().await;
        users(&server).await;
        mount_validate(&server, "2002").await;
        let script = Script::new(vec![
            ResponseTemplate::new(200).set_body_json(json!({"data": [{"message_id": "",
                "is_sent": false, "drop_reason": {"code": "msg_rejected", "message": "held by AutoMod"}}]})),
            helix::error(403, "The sender is banned from the channel"),
        ]);
        Mock::given(method("POST"))
            .and(path("/helix/chat/messages"))
            .respond_with(script.clone())
            .mount(&server)
            .await;
        let dir = tempfile::tempdir().unwrap();
        let n = notifier(&server, dir.path());
        let t = [NotifyTarget::Chat("hypechan".into())];
        let d = n.notify(&confirmed("r1"), &t).await;
        match &d[0].outcome {
            Outcome::Failed(why) => assert!(why.contains("msg_rejected"), "{why}"),
            o => panic!("{o:?}"),
        }
        assert!(d[0].should_retry());
        let d = n.notify(&confirmed("r1"), &t).await;
        assert!(matches!(d[0].outcome, Outcome::NowDisabled(_)), "{d:?}");
        let d = n.notify(&confirmed("r2"), &t).await;
        assert_eq!(d[0].outcome, Outcome::Disabled);
        assert_eq!(script.requests().len(), 2);
    }
}

/// The daily digest: the day's confirmed clips of each channel that asked, one message per
/// target, once per (channel, day, target); nothing for a day without clips or a channel that
/// did not ask.
#[tokio::test]
async fn daily_digest_lists_the_days_clips_once_per_target() {
    use clipper_functions::local::{JsonChannelStore, JsonlClipStore};
    use clipper_functions::notify::digest::{day_of, send_digests};
    use clipper_functions::roles::{ChannelStore, ClipStore};
    let discord = Script::new(vec![ok()]);
    let (_s1, hook, _) = receiver("/api/webhooks/1/DIGEST", &discord).await;
    let slack_script = Script::new(vec![ResponseTemplate::new(200).set_body_string("ok")]);
    let (_s2, _, slack) = receiver("/services/T/B/DIGEST", &slack_script).await;
    let quiet = Script::new(vec![ok()]);
    let (_s3, quiet_hook, _) = receiver("/api/webhooks/2/QUIET", &quiet).await;
    let dir = tempfile::tempdir().unwrap();
    let channels = JsonChannelStore::new(dir.path().join("channels.json"));
    let mut hype = ChannelConfig::new("hypechan");
    hype.notify = vec![hook, slack];
    hype.digest = true;
    channels.put(&hype).await.unwrap();
    let mut q = ChannelConfig::new("quietchan");
    q.notify = vec![quiet_hook];
    channels.put(&q).await.unwrap();
    let clips = JsonlClipStore::open(dir.path().join("clips")).unwrap();
    // Three confirmed clips on 2026-11-24 (18:00, 19:00, 20:00 UTC), one failed that day, one
    // confirmed the next day, one of quietchan.
    for (i, (id, status, day_offset)) in [
        ("a", ClipStatus::Confirmed, 0),
        ("b", ClipStatus::Confirmed, 0),
        ("c", ClipStatus::Confirmed, 0),
        ("f", ClipStatus::Failed, 0),
        ("n", ClipStatus::Confirmed, 1),
    ]
    .into_iter()
    .enumerate()
    {
        let mut r = confirmed(id);
        r.status = status;
        r.trigger_ms = 1_795_543_200_000 + i as i64 * 3_600_000 + day_offset * 86_400_000;
        r.title = format!("clip {id}");
        r.url =
            (status == ClipStatus::Confirmed).then(|| format!("https://clips.twitch.tv/Clip{id}"));
        clips.put(&r).await.unwrap();
    }
    let mut other = confirmed("q");
    other.channel = "quietchan".into();
    clips.put(&other).await.unwrap();
    let n = Notifier::new(JsonlDeliveryLog::open(dir.path()).unwrap(), fast()).unwrap();
    let day = day_of(1_795_543_200_000);

    let r = send_digests(&n, &channels, &clips, &[], day).await.unwrap();
    assert_eq!(
        (r.channels, r.with_clips, r.delivered()),
        (1, 1, 2),
        "{r:?}"
    );
    let body = &discord.requests()[0].1;
    let content = body["content"].as_str().unwrap();
    assert!(
        content.starts_with("3 clips on hypechan on 2026-11-24\n"),
        "{content}"
    );
    let (pa, pb, pc) = (
        content.find("/Clipa").unwrap(),
        content.find("/Clipb").unwrap(),
        content.find("/Clipc").unwrap(),
    );
    assert!(pa < pb && pb < pc, "oldest first: {content}");
    assert!(content.contains("- clip a (laughter, score 0.87) https://clips.twitch.tv/Clipa"));
    assert!(
        !content.contains("Clipn") && !content.contains("clip f"),
        "{content}"
    );
    let s = &slack_script.requests()[0].1;
    assert_eq!(s["text"], "3 clips on hypechan on 2026-11-24");
    assert!(s["blocks"][1]["text"]["text"]
        .as_str()
        .unwrap()
        .contains("<https://clips.twitch.tv/Clipb|clip b>"));

    // Run again (a restart, a retried schedule): nothing more.
    let r = send_digests(&n, &channels, &clips, &[], day).await.unwrap();
    assert_eq!(r.delivered(), 0);
    assert!(r
        .deliveries
        .iter()
        .all(|d| d.outcome == Outcome::AlreadyDelivered));
    // A day without clips: no message.
    let r = send_digests(&n, &channels, &clips, &[], day.pred_opt().unwrap())
        .await
        .unwrap();
    assert_eq!((r.with_clips, r.deliveries.len()), (0, 0));
    assert_eq!(discord.requests().len(), 1);
    assert_eq!(slack_script.requests().len(), 1);
    assert_eq!(
        quiet.requests().len(),
        0,
        "quietchan did not ask for a digest"
    );
    println!("digest (discord): {body}");
    println!("digest (slack): {s}");
}
