//! Least privilege, enforced. A private moto_server checks every request against IAM; each
//! function runs as an IAM user that holds exactly the statements `template.yaml` grants it
//! (resolved against this test's resources), through the same adapters and handlers the
//! Lambda binaries wire:
//!
//! - the relay role sends window batches and reads the channels table;
//! - the score function scores a channel that has no model yet (a missing model must be a 404,
//!   so the channel is scored instead of dead-lettered), archives windows, claims a moment and
//!   schedules a clip;
//! - the train function reads the archive and writes models and its cursor;
//! - the clip function reads and rotates the user token (Secrets Manager, lease table), creates
//!   the clip through Helix (loopback), records it and confirms it.
//!
//! Each role is also refused what it was not granted (so enforcement is on), and every
//! statement of every function is linted (`clipper_testkit::iam::lint`). moto checks S3 and SQS
//! resources and only the actions of DynamoDB and Secrets Manager; their resources are checked
//! by the lint and by the token-secret pattern test below (see the testkit's module note).
//!
//! Skips when `CLIPPER_TEST_AWS_ENDPOINT` is unset (it needs moto_server, which `.ci/run`
//! installs); it runs its own moto_server, since enforcement is server-wide.
#![cfg(feature = "aws")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use clipper_functions::aws::{
    AwsConfig, DynamoLease, SecretsManagerTokenStore, SqsQueueConfig, SqsWindowQueue,
};
use clipper_functions::handlers::train::TrainHandler;
use clipper_functions::handlers::{decode_message, now_ms};
use clipper_functions::record::ClipStatus;
use clipper_functions::roles::{
    ChannelConfig, ChannelStore, ClipStore, ModelFetch, ModelStore, Timeline, TokenStore,
    WindowQueue,
};
use clipper_functions::twitch::{HelixClient, TwitchCredentials};
use clipper_models::{ChannelModel, ModelConfig, WindowBatch};
use clipper_testkit::helix::{self, create_clip, found, get_clips, refresh_once, refused_once};
use clipper_testkit::iam::{self, iam_match, PrivateMoto, Resolver, Statement, Template};
use clipper_testkit::{esm, moto};
use common::{batches, windows};
use serde_json::json;
use wiremock::matchers::{bearer_token, query_param};
use wiremock::MockServer;

const T0: i64 = 1_767_225_600_000;

fn template() -> Template {
    Template::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml"))
}

/// Every function and role of the template that runs our code.
fn principals(t: &Template) -> Vec<String> {
    let mut p = t.resources_of("AWS::Serverless::Function");
    p.push("RelayTaskRole".into());
    p
}

/// Parameters of a deploy with everything on (relay, client secret, SES, SMS, chat links), so
/// that every conditional statement is resolved and checked; the template's own conditions are
/// evaluated from them.
fn conditions(t: &Template, r: &mut Resolver, make_token_secret: bool) {
    for (k, v) in [
        (
            "CreateTokenSecret",
            if make_token_secret { "true" } else { "false" },
        ),
        ("TwitchClientSecretName", "clipper/client"),
        ("AlarmEmail", "ops@example.com"),
        (
            "RelayImageUri",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/clipper:1",
        ),
        ("SesFromAddress", "clips@example.com"),
        ("SesIdentity", "example.com"),
        ("SmsAlerts", "true"),
        ("ChatLinks", "true"),
        ("DashboardTimeline", "true"),
    ] {
        r.refs.insert(k.into(), v.into());
    }
    r.eval_conditions(t);
}

#[test]
fn every_statement_of_the_template_is_least_privilege() {
    let t = template();
    let mut r = Resolver::for_template(&t);
    conditions(&t, &mut r, true);
    let mut problems = Vec::new();
    let mut n = 0;
    for p in principals(&t) {
        let stmts = t.statements(&p, &r);
        assert!(!stmts.is_empty(), "{p}: no statements");
        n += stmts.len();
        problems.extend(iam::lint(&p, &stmts));
    }
    assert!(problems.is_empty(), "{problems:#?}");
    println!(
        "{n} statements of {} principals linted",
        principals(&t).len()
    );
}

/// The token secret of a deploy that brings its own (`CreateTokenSecret=false`): the ARN
/// pattern matches that secret (AWS appends 6 random characters) and not a sibling whose name
/// starts the same.
#[test]
fn the_token_secret_pattern_matches_only_that_secret() {
    let t = template();
    let mut r = Resolver::for_template(&t);
    conditions(&t, &mut r, false);
    r.refs
        .insert("TwitchTokenSecretName".into(), "clipper/token".into());
    let grants: Vec<Statement> = t
        .statements("ClipFunction", &r)
        .into_iter()
        .filter(|s| {
            s.actions
                .iter()
                .any(|a| a == "secretsmanager:PutSecretValue")
        })
        .collect();
    assert_eq!(grants.len(), 1);
    let arn = |name: &str| format!("arn:aws:secretsmanager:us-east-1:123456789012:secret:{name}");
    let allowed = |target: &str| grants[0].resources.iter().any(|p| iam_match(p, target));
    assert!(allowed(&arn("clipper/token-AbC123")));
    assert!(!allowed(&arn("clipper/token-old-AbC123")));
    assert!(!allowed(&arn("clipper/token2-AbC123")));
}

/// The test's resources, as the template names them.
struct Resources {
    stack: moto::Stack,
    leases: String,
    secret_name: String,
    secret_arn: String,
}

fn queue_arn(url: &str) -> String {
    format!(
        "arn:aws:sqs:us-east-1:123456789012:{}",
        url.rsplit('/').next().unwrap()
    )
}

fn resolver(t: &Template, res: &Resources) -> Resolver {
    let mut r = Resolver::for_template(t);
    conditions(t, &mut r, true);
    let s = &res.stack;
    let table = |n: &str| format!("arn:aws:dynamodb:us-east-1:123456789012:table/{n}");
    for (id, reference, arn) in [
        (
            "ModelBucket",
            s.bucket.clone(),
            format!("arn:aws:s3:::{}", s.bucket),
        ),
        (
            "WindowsQueue",
            s.windows_url.clone(),
            queue_arn(&s.windows_url),
        ),
        ("ClipQueue", s.clips_url.clone(), queue_arn(&s.clips_url)),
        (
            "ChannelsTable",
            s.channels_table.clone(),
            table(&s.channels_table),
        ),
        ("ClipsTable", s.clips_table.clone(), table(&s.clips_table)),
        ("StateTable", s.state_table.clone(), table(&s.state_table)),
        (
            "TimelineTable",
            s.timeline_table.clone(),
            table(&s.timeline_table),
        ),
        ("LeaseTable", res.leases.clone(), table(&res.leases)),
        (
            "TokenSecret",
            res.secret_arn.clone(),
            res.secret_arn.clone(),
        ),
    ] {
        r.refs.insert(id.into(), reference);
        r.atts.insert(format!("{id}.Arn"), arn);
    }
    r.refs
        .insert("TwitchTokenSecretName".into(), res.secret_name.clone());
    r
}

/// A Helix on loopback: the stored token is refused once and refreshed (so the clip function
/// rotates the secret under its lease), Create Clip answers 202, Get Clips finds the clip.
async fn twitch() -> MockServer {
    let server = MockServer::start().await;
    refused_once("user-a").mount(&server).await;
    refresh_once("user-b", "refresh-b").mount(&server).await;
    create_clip()
        .and(bearer_token("user-b"))
        .respond_with(helix::created("IamClip"))
        .mount(&server)
        .await;
    let clip =
        json!({"title": "t", "broadcaster_id": "id_alpha", "created_at": "2026-01-01T00:20:10Z"});
    get_clips()
        .and(query_param("id", "IamClip"))
        .respond_with(found("IamClip", clip))
        .mount(&server)
        .await;
    helix::mount_validate(&server, "u1").await;
    get_clips()
        .and(query_param("broadcaster_id", "id_alpha"))
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_json(json!({"data": []})))
        .mount(&server)
        .await;
    server
}

fn denied<T: std::fmt::Debug, E: std::fmt::Debug>(what: &str, r: Result<T, E>) {
    let e = format!(
        "{:?}",
        r.expect_err(&format!("{what}: allowed, but not granted"))
    );
    assert!(
        e.contains("AccessDenied") || e.contains("403") || e.contains("not authorized"),
        "{what}: failed, but not as access denied: {e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_function_works_with_exactly_its_template_policy() {
    if moto::endpoint("each_function_works_with_exactly_its_template_policy").is_none() {
        return;
    }
    let Some(server) =
        PrivateMoto::start("each_function_works_with_exactly_its_template_policy").await
    else {
        return;
    };
    let admin_keys = server
        .user("admin", &json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        .await;
    // Resources are made before enforcement (as CloudFormation would), with the default
    // credentials moto accepts then.
    let setup = moto::connect(&server.endpoint).await;
    let stack = moto::Stack::create(&setup, "iam").await;
    let leases = moto::unique("iam-leases");
    moto::table(&setup, &leases, "lease").await;
    let secret_name = moto::unique("iam-token");
    let secret_arn = setup
        .secrets
        .create_secret()
        .name(&secret_name)
        .secret_string(r#"{"access_token":"user-a","refresh_token":"refresh-a"}"#)
        .send()
        .await
        .unwrap()
        .arn
        .unwrap();
    let res = Resources {
        stack,
        leases,
        secret_name,
        secret_arn,
    };
    let t = template();
    let r = resolver(&t, &res);
    let mut roles: std::collections::BTreeMap<&str, AwsConfig> = Default::default();
    for p in [
        "RelayTaskRole",
        "ScoreFunction",
        "TrainFunction",
        "ClipFunction",
    ] {
        let stmts = t.statements(p, &r);
        let keys = server.user(p, &iam::for_moto(&stmts)).await;
        roles.insert(p, server.connect_as(&keys).await);
    }
    server.enforce().await;
    let admin = server.connect_as(&admin_keys).await;
    let as_role = |p: &str| moto::Stack {
        aws: roles[p].clone(),
        ..res.stack.clone()
    };
    let admin_stack = moto::Stack {
        aws: admin.clone(),
        ..res.stack.clone()
    };
    // Unknown keys are refused: enforcement is on.
    let nobody = server
        .connect_as(&("AKIAIOSFODNN7NOBODY1".into(), "x".into()))
        .await;
    denied(
        "an unknown user lists channels",
        moto::Stack {
            aws: nobody,
            ..res.stack.clone()
        }
        .channels()
        .list()
        .await,
    );
    admin_stack
        .channels()
        .put(&ChannelConfig::new("alpha"))
        .await
        .unwrap();

    // The relay: channels, and window batches onto the windows queue.
    let relay = as_role("RelayTaskRole");
    assert_eq!(relay.channels().list().await.unwrap().len(), 1);
    let all = batches(
        "iam",
        &[windows("alpha", T0, 30, Some(20 * 60_000))],
        Some(true),
    );
    let split = all
        .iter()
        .position(|b| b.windows[0].features.end_ms >= T0 + 15 * 60_000)
        .unwrap();
    denied(
        "the relay sends to the clip queue",
        relay
            .aws
            .sqs
            .send_message()
            .queue_url(&res.stack.clips_url)
            .message_body("{}")
            .send()
            .await,
    );

    let score_stack = as_role("ScoreFunction");
    let score = score_stack.score_handler_with_timeline();
    let train_stack = as_role("TrainFunction");
    let trainer = TrainHandler::new(
        train_stack.models(),
        train_stack.archive().grace_ms(0),
        ModelConfig::default(),
    );
    for (part, range) in [(0, 0..split), (1, split..all.len())] {
        let queue = SqsWindowQueue::start(
            relay.aws.sqs.clone(),
            &res.stack.windows_url,
            SqsQueueConfig::default(),
        );
        for b in &all[range.clone()] {
            queue.send(b).await.unwrap();
        }
        assert_eq!(
            queue.shutdown(Duration::from_secs(60)).await,
            0,
            "windows not sent"
        );
        // The score function, fed as the event source mapping feeds it (the poller stands for
        // Lambda's service role, so it runs as admin).
        let mut seen = 0;
        let mut idle = 0;
        while idle < 2 {
            let (n, failed) = esm::poll_once(&admin.sqs, &res.stack.windows_url, 0, 30, |event| {
                let now = event
                    .records
                    .iter()
                    .filter_map(|r| decode_message::<WindowBatch>(r.body.as_deref()?).ok())
                    .flat_map(|b| b.windows.into_iter().map(|w| w.features.end_ms))
                    .max()
                    .unwrap_or(T0)
                    + 300;
                let score = &score;
                async move { score.handle(&event, now).await }
            })
            .await
            .unwrap();
            assert_eq!(failed, 0, "a window batch failed under the score policy");
            if n == 0 {
                idle += 1;
            }
            seen += n;
        }
        assert_eq!(seen, range.len());
        score.archive().flush().await.unwrap();
        // The timeline writes (BatchWriteItem) were allowed: the windows are there.
        let shown = admin_stack
            .timeline()
            .recent("alpha", 0, 10_000)
            .await
            .unwrap();
        assert!(!shown.is_empty(), "no window in the timeline");
        if part == 0 {
            // The first part was scored with no model in the bucket (404, not 403).
            assert!(matches!(
                admin_stack.models().load("alpha", None).await.unwrap(),
                ModelFetch::Missing
            ));
            let report = trainer.handle(now_ms() + 1).await.unwrap();
            assert_eq!(report.fits, 1, "{report:?}");
            assert!(matches!(
                admin_stack.models().load("alpha", None).await.unwrap(),
                ModelFetch::Loaded { .. }
            ));
        }
    }
    denied(
        "the score function writes a model",
        score_stack
            .models()
            .save(&ChannelModel::new("alpha", ModelConfig::default()))
            .await,
    );
    denied(
        "the score function edits a channel",
        score_stack
            .channels()
            .put(&ChannelConfig::new("beta"))
            .await,
    );
    denied(
        "the train function writes the window archive",
        train_stack
            .aws
            .s3
            .put_object()
            .bucket(&res.stack.bucket)
            .key("windows/alpha/x.json")
            .body(b"{}".to_vec().into())
            .send()
            .await,
    );
    denied(
        "the train function lists channels",
        train_stack.channels().list().await,
    );

    // The clip function: the token from Secrets Manager with its lease, Helix on loopback.
    let clip_stack = as_role("ClipFunction");
    denied(
        "the clip function reads a model",
        clip_stack.models().load("alpha", None).await,
    );
    let helix_server = twitch().await;
    let token_store =
        SecretsManagerTokenStore::new(clip_stack.aws.secrets.clone(), &res.secret_name).with_lease(
            DynamoLease::new(clip_stack.aws.dynamodb.clone(), &res.leases),
        );
    let creds = TwitchCredentials {
        client_id: helix::CLIENT_ID.into(),
        ..TwitchCredentials::default()
    };
    let api =
        HelixClient::from_credentials(helix::config(&helix_server), &creds, token_store.clone())
            .await
            .unwrap();
    let clip = clip_stack.clip_handler(Some(api));
    let skew = now_ms() - (T0 + 20 * 60_000);
    let began = Instant::now();
    let admin_store = admin_stack.clip_store();
    loop {
        let (_, failed) = esm::poll_once(&admin.sqs, &res.stack.clips_url, 1, 5, |event| {
            let clip = &clip;
            async move { clip.handle(&event, now_ms() - skew, "iam").await }
        })
        .await
        .unwrap();
        assert_eq!(failed, 0, "a clip message failed under the clip policy");
        let records = admin_store.list(None, None).await.unwrap();
        if records.iter().any(|r| r.status == ClipStatus::Confirmed) {
            assert_eq!(records.len(), 1, "{records:#?}");
            assert_eq!(
                records[0].url.as_deref(),
                Some("https://clips.twitch.tv/IamClip")
            );
            break;
        }
        assert!(
            began.elapsed() < Duration::from_secs(90),
            "no confirmed clip: {records:#?}"
        );
    }
    let stored = SecretsManagerTokenStore::new(admin.secrets.clone(), &res.secret_name)
        .load()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.access_token.expose(),
        "user-b",
        "the rotated pair was saved"
    );
}
