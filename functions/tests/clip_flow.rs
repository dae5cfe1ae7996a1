//! The clip state machine against a scripted fake Clip API.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use clipper_functions::clip_flow::{should_create, should_run, step, ClipFlowConfig, Step};
use clipper_functions::models::{ClipDecision, ClipPhase, ClipRequest, Scores, TriggerKind};
use clipper_functions::record::{ClipRecord, ClipStatus};
use clipper_functions::roles::ClipApi;
use clipper_functions::twitch::{ClipInfo, CreatedClip, HelixError};

/// Answers Create Clip and Get Clips from scripts, recording every call.
#[derive(Default)]
struct Fake {
    creates: Mutex<VecDeque<Result<CreatedClip, HelixError>>>,
    gets: Mutex<VecDeque<Result<Vec<ClipInfo>, HelixError>>>,
    create_calls: Mutex<Vec<(String, Option<String>)>>,
    durations: Mutex<Vec<Option<f64>>>,
    get_calls: Mutex<Vec<Vec<String>>>,
}

impl Fake {
    fn creates(self, r: impl IntoIterator<Item = Result<CreatedClip, HelixError>>) -> Self {
        self.creates.lock().unwrap().extend(r);
        self
    }
    fn gets(self, r: impl IntoIterator<Item = Result<Vec<ClipInfo>, HelixError>>) -> Self {
        self.gets.lock().unwrap().extend(r);
        self
    }
    fn create_calls(&self) -> Vec<(String, Option<String>)> {
        self.create_calls.lock().unwrap().clone()
    }
    fn get_calls(&self) -> usize {
        self.get_calls.lock().unwrap().len()
    }
}

impl ClipApi for Fake {
    async fn create_clip(
        &self,
        broadcaster_id: &str,
        title: Option<&str>,
        duration_s: Option<f64>,
    ) -> Result<CreatedClip, HelixError> {
        self.durations.lock().unwrap().push(duration_s);
        self.create_calls
            .lock()
            .unwrap()
            .push((broadcaster_id.to_owned(), title.map(str::to_owned)));
        self.creates
            .lock()
            .unwrap()
            .pop_front()
            .expect("unexpected Create Clip call")
    }

    async fn get_clips(&self, ids: &[String]) -> Result<Vec<ClipInfo>, HelixError> {
        self.get_calls.lock().unwrap().push(ids.to_vec());
        self.gets
            .lock()
            .unwrap()
            .pop_front()
            .expect("unexpected Get Clips call")
    }
}

fn created(id: &str) -> Result<CreatedClip, HelixError> {
    Ok(CreatedClip {
        id: id.into(),
        edit_url: format!("https://clips.twitch.tv/{id}/edit"),
    })
}

fn clip(id: &str) -> ClipInfo {
    ClipInfo {
        id: id.into(),
        url: format!("https://clips.twitch.tv/{id}"),
        title: "t".into(),
        created_at: "2026-01-01T00:00:00Z".into(),
        broadcaster_id: "1234".into(),
        creator_id: "u1".into(),
        creator_name: "bot".into(),
        duration: 30.0,
        view_count: 0,
        thumbnail_url: String::new(),
    }
}

fn server(status: u16) -> Result<CreatedClip, HelixError> {
    Err(HelixError::Server {
        status,
        message: "Service Unavailable".into(),
    })
}

fn request(broadcaster_id: Option<&str>) -> ClipRequest {
    let decision = ClipDecision {
        channel: "kimdoe".into(),
        trigger_ms: 1_700_000_000_000,
        peak_ms: 1_700_000_005_000,
        fire_at_ms: 1_700_000_007_000,
        kind: TriggerKind::Laughter,
        score: 0.91,
        scores: Scores::default(),
        features: None,
        merged: 2,
        forced_by: None,
        title: "ㅋㅋㅋㅋㅋ".into(),
        duration_ms: 47_040,
    };
    ClipRequest::new(decision, broadcaster_id.map(str::to_owned))
}

const NOW: i64 = 1_700_000_007_000;

/// Run steps until Done, as the relay would (without sleeping); returns the final step's record
/// and pause reason, and each wait with the interim record's status.
async fn drive(
    api: &Fake,
    cfg: &ClipFlowConfig,
    mut req: ClipRequest,
) -> (ClipRecord, Option<String>, Vec<(Duration, ClipStatus)>) {
    let mut now = NOW;
    let mut waits = Vec::new();
    for _ in 0..50 {
        match step(Some(api), cfg, req, now).await {
            Step::Done {
                record,
                pause_channel,
            } => return (record, pause_channel, waits),
            Step::Again {
                request,
                after,
                record,
            } => {
                waits.push((after, record.status));
                now += i64::try_from(after.as_millis()).unwrap();
                req = request;
            }
        }
    }
    panic!("clip flow did not finish");
}

#[tokio::test]
async fn dry_run_records_would_clip_from_the_decision() {
    let req = request(Some("1234"));
    let s = step(None::<&Fake>, &ClipFlowConfig::default(), req.clone(), NOW).await;
    let Step::Done {
        record,
        pause_channel,
    } = s
    else {
        panic!("dry run must finish at once: {s:?}");
    };
    assert_eq!(record.status, ClipStatus::WouldClip);
    assert_eq!(pause_channel, None);
    assert_eq!(record.request_id, req.request_id);
    assert_eq!(record.title, req.decision.title);
    assert_eq!(record.peak_ms, req.decision.peak_ms);
    assert_eq!(record.kind, TriggerKind::Laughter);
    assert_eq!(record.broadcaster_id.as_deref(), Some("1234"));
}

#[tokio::test]
async fn missing_broadcaster_id_fails_clearly_without_calling_twitch() {
    let api = Fake::default();
    let s = step(Some(&api), &ClipFlowConfig::default(), request(None), NOW).await;
    let Step::Done { record, .. } = s else {
        panic!("must finish: {s:?}");
    };
    assert_eq!(record.status, ClipStatus::Failed);
    assert!(record.error.unwrap().contains("broadcaster id"));
    assert!(api.create_calls().is_empty());
}

#[tokio::test]
async fn created_then_confirmed_on_second_check() {
    let api = Fake::default()
        .creates([created("AwkwardClip")])
        .gets([Ok(vec![]), Ok(vec![clip("AwkwardClip")])]);
    let cfg = ClipFlowConfig::default();

    // First step by hand: the interim record must carry the clip id before Confirm is scheduled.
    let s = step(Some(&api), &cfg, request(Some("1234")), NOW).await;
    let Step::Again {
        request: next,
        after,
        record,
    } = s
    else {
        panic!("202 must lead to a confirm step: {s:?}");
    };
    assert_eq!(after, Duration::from_secs(15));
    assert_eq!(record.status, ClipStatus::Pending);
    assert_eq!(record.clip_id.as_deref(), Some("AwkwardClip"));
    assert_eq!(
        record.edit_url.as_deref(),
        Some("https://clips.twitch.tv/AwkwardClip/edit")
    );
    assert_eq!(record.created_at_ms, Some(NOW));
    assert!(matches!(next.phase, ClipPhase::Confirm { check: 0, .. }));

    let (record, pause, waits) = drive(&api, &cfg, next).await;
    assert_eq!(record.status, ClipStatus::Confirmed);
    assert_eq!(
        record.url.as_deref(),
        Some("https://clips.twitch.tv/AwkwardClip")
    );
    assert_eq!(record.clip_id.as_deref(), Some("AwkwardClip"));
    assert_eq!(pause, None);
    assert_eq!(waits, vec![(Duration::from_secs(30), ClipStatus::Pending)]);
    assert_eq!(
        api.create_calls(),
        vec![("1234".to_owned(), Some("ㅋㅋㅋㅋㅋ".to_owned()))]
    );
    assert_eq!(
        *api.durations.lock().unwrap(),
        vec![Some(47.0)],
        "the decision's span, in 0.1 s steps"
    );
    assert_eq!(api.get_calls(), 2);
}

#[tokio::test]
async fn server_errors_twice_then_success() {
    let api = Fake::default()
        .creates([server(503), server(500), created("C1")])
        .gets([Ok(vec![clip("C1")])]);
    let (record, _, waits) = drive(&api, &ClipFlowConfig::default(), request(Some("1234"))).await;
    assert_eq!(record.status, ClipStatus::Confirmed);
    assert_eq!(record.attempts, 3, "three Create Clip calls were made");
    assert_eq!(
        waits,
        vec![
            (Duration::from_secs(5), ClipStatus::Pending),
            (Duration::from_secs(10), ClipStatus::Pending),
            (Duration::from_secs(15), ClipStatus::Pending),
        ]
    );
    assert_eq!(api.create_calls().len(), 3);
}

#[tokio::test]
async fn server_errors_give_up_after_max_attempts() {
    let api = Fake::default().creates([server(503), server(503), server(502), server(503)]);
    let cfg = ClipFlowConfig::default();
    let (record, _, waits) = drive(&api, &cfg, request(Some("1234"))).await;
    assert_eq!(record.status, ClipStatus::Failed);
    assert_eq!(api.create_calls().len(), 4);
    assert_eq!(record.attempts, 4);
    assert!(record.error.unwrap().contains("4 attempts"));
    let delays: Vec<_> = waits.iter().map(|w| w.0).collect();
    assert_eq!(delays, [5, 10, 20].map(Duration::from_secs).to_vec());
    // Doubling, capped at 60 s.
    let slow = ClipFlowConfig {
        retry_base: Duration::from_secs(20),
        ..Default::default()
    };
    assert_eq!(
        (1..=4).map(|n| slow.retry_delay(n)).collect::<Vec<_>>(),
        [20, 40, 60, 60].map(Duration::from_secs).to_vec()
    );
    // Retries that would run past Twitch's reach end as expired instead.
    let api = Fake::default().creates([server(503), server(503), server(503)]);
    let (record, _, _) = drive(&api, &slow, request(Some("1234"))).await;
    assert!(record.error.unwrap().starts_with("expired"));
    assert_eq!(
        api.create_calls().len(),
        3,
        "calls at 0, 20 and 60 s; 120 s is too late"
    );
}

#[tokio::test]
async fn rate_limit_waits_until_reset() {
    let api = Fake::default().creates([
        Err(HelixError::RateLimited {
            reset_at_ms: Some(NOW + 12_345),
        }),
        Err(HelixError::RateLimited {
            reset_at_ms: Some(NOW - 50_000),
        }),
    ]);
    let cfg = ClipFlowConfig::default();
    let s = step(Some(&api), &cfg, request(Some("1234")), NOW).await;
    let Step::Again { request, after, .. } = s else {
        panic!("429 must be retried: {s:?}");
    };
    assert_eq!(after, Duration::from_millis(12_345));
    assert_eq!(request.attempt, 1);
    assert!(matches!(request.phase, ClipPhase::Create));
    let s = step(Some(&api), &cfg, request, NOW).await;
    let Step::Again { after, .. } = s else {
        panic!("429 must be retried: {s:?}");
    };
    assert_eq!(
        after,
        Duration::from_secs(1),
        "a reset in the past waits 1 s"
    );
}

#[tokio::test]
async fn a_create_past_twitchs_reach_is_recorded_as_expired_without_a_call() {
    let api = Fake::default();
    let cfg = ClipFlowConfig::default();
    let req = request(Some("1234"));
    let due = req.decision.fire_at_ms;
    let s = step(Some(&api), &cfg, req, due + 91_000).await;
    let Step::Done { record, .. } = s else {
        panic!("must finish: {s:?}");
    };
    assert_eq!(record.status, ClipStatus::Failed);
    assert!(record.error.unwrap().starts_with("expired: 91 s"));
    assert!(api.create_calls().is_empty());
}

#[tokio::test]
async fn forbidden_pauses_the_channel() {
    let api = Fake::default().creates([Err(HelixError::ClippingForbidden {
        message: "clips are disabled for this channel".into(),
    })]);
    let (record, pause, waits) =
        drive(&api, &ClipFlowConfig::default(), request(Some("1234"))).await;
    assert!(waits.is_empty());
    assert_eq!(record.status, ClipStatus::Failed);
    let reason = pause.expect("403 must pause the channel");
    assert!(reason.contains("clips are disabled"), "{reason}");
}

#[tokio::test]
async fn offline_and_token_errors_finish_at_once() {
    let api = Fake::default().creates([
        Err(HelixError::NotLive),
        Err(HelixError::Unauthorized {
            message: "invalid oauth token".into(),
        }),
        Err(HelixError::BadRequest {
            message: "category not clippable".into(),
        }),
        Err(HelixError::MissingCredentials(
            "user access token (clips:edit)",
        )),
    ]);
    let cfg = ClipFlowConfig::default();
    let (r, p, _) = drive(&api, &cfg, request(Some("1234"))).await;
    assert_eq!(
        (r.status, r.error.as_deref(), p),
        (ClipStatus::Skipped, Some("not live"), None)
    );
    let (r, _, _) = drive(&api, &cfg, request(Some("1234"))).await;
    assert_eq!(r.status, ClipStatus::Failed);
    assert!(r.error.unwrap().starts_with("token rejected: "));
    let (r, _, _) = drive(&api, &cfg, request(Some("1234"))).await;
    assert_eq!(r.status, ClipStatus::Failed);
    assert!(r.error.unwrap().contains("category not clippable"));
    // No user token yet (the clip function's secret still empty): recorded as dry run would.
    let (r, p, _) = drive(&api, &cfg, request(Some("1234"))).await;
    assert_eq!((r.status, p), (ClipStatus::WouldClip, None));
    assert_eq!(api.create_calls().len(), 4);
}

#[tokio::test]
async fn never_confirmed_fails_after_the_backoff_steps_without_recreating() {
    let api = Fake::default().creates([created("Ghost")]).gets([
        Ok(vec![]),
        Err(HelixError::Server {
            status: 500,
            message: "x".into(),
        }),
        Ok(vec![clip("SomeOtherClip")]),
    ]);
    let cfg = ClipFlowConfig::default();
    let (record, pause, waits) = drive(&api, &cfg, request(Some("1234"))).await;
    assert_eq!(record.status, ClipStatus::Failed);
    assert_eq!(pause, None);
    assert_eq!(
        waits.iter().map(|w| w.0).collect::<Vec<_>>(),
        cfg.confirm_backoff
    );
    assert!(waits.iter().all(|w| w.1 == ClipStatus::Pending));
    assert_eq!(record.error.as_deref(), Some("not confirmed after 105 s"));
    assert_eq!(record.clip_id.as_deref(), Some("Ghost"));
    assert_eq!(api.create_calls().len(), 1, "Confirm never creates a clip");
    assert_eq!(api.get_calls(), 3);
}

#[tokio::test]
async fn redelivered_create_is_not_run_again() {
    let api = Fake::default().creates([created("Once")]);
    let cfg = ClipFlowConfig::default();
    let original = request(Some("1234"));
    let Step::Again { record, .. } = step(Some(&api), &cfg, original.clone(), NOW).await else {
        panic!("expected a confirm step");
    };
    // The caller stored the Pending record; the queue delivers the Create message again.
    assert_eq!(record.status, ClipStatus::Pending);
    assert!(!should_create(Some(&record)));
    assert!(!should_run(Some(&record), &original));
    assert_eq!(api.create_calls().len(), 1);

    let mut confirmed = record.clone();
    confirmed.status = ClipStatus::Confirmed;
    assert!(!should_create(Some(&confirmed)));
    assert!(should_create(None));
}

#[tokio::test]
async fn scheduled_retry_runs_but_a_stale_redelivery_does_not() {
    let api = Fake::default().creates([server(503)]);
    let original = request(Some("1234"));
    let Step::Again {
        request: retry,
        record,
        ..
    } = step(
        Some(&api),
        &ClipFlowConfig::default(),
        original.clone(),
        NOW,
    )
    .await
    else {
        panic!("503 must be retried");
    };
    assert_eq!(record.status, ClipStatus::Pending);
    assert_eq!(record.clip_id, None);
    assert_eq!(record.attempts, 1);
    assert!(
        should_create(Some(&record)),
        "no clip exists yet: retry may create"
    );
    assert!(should_run(Some(&record), &retry));
    assert!(
        !should_run(Some(&record), &original),
        "the first message redelivered after its retry was scheduled is stale"
    );
}
