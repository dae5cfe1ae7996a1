//! The Helix client, OAuth tokens and emote providers against a local mock server.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use clipper_functions::local::{FileTokenStore, MemoryTokenStore};
use clipper_functions::models::emotes::EmoteSource;
use clipper_functions::roles::{ClipApi, TokenStore};
use clipper_functions::twitch::{
    EmoteCatalog, EmoteList, EmoteProvider, EmoteProviders, HelixClient, HelixConfig, HelixError,
    Secret, StreamsBy, TwitchCredentials, UserAuth, UserTokens,
};
use clipper_testkit::helix::{
    self, create_clip, created, error, get_clips, refresh_once, refreshed, refused_once,
    requests_to, token, tokens,
};
use serde_json::json;
use wiremock::matchers::{
    bearer_token, body_string_contains, header, method, path, query_param, query_param_is_missing,
};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

fn config(server: &MockServer) -> HelixConfig {
    let mut c = helix::config(server);
    c.timeout = Duration::from_secs(5);
    c.clip_duration_s = Some(30.0);
    c
}

/// A client whose user token is `user-a` / `refresh-a`, kept in `store`.
fn user_client<S: TokenStore>(server: &MockServer, store: S) -> HelixClient<S> {
    helix::user_client(config(server), store, "user-a", "refresh-a")
}

/// A client with app credentials only.
fn app_client(server: &MockServer) -> HelixClient {
    HelixClient::new(config(server), Some(Secret::new("app-secret"))).unwrap()
}

#[tokio::test]
// The configured duration (30 s) wins over the decision's span (47 s) passed to ClipApi.
async fn create_clip_sends_broadcaster_title_and_duration_with_user_token() {
    let server = MockServer::start().await;
    create_clip()
        .and(query_param("broadcaster_id", "1234"))
        .and(query_param("title", "ㅋㅋㅋ LUL moment"))
        .and(query_param("duration", "30.0"))
        .and(header("Client-Id", "cid"))
        .and(bearer_token("user-a"))
        .respond_with(created("AwkwardHelplessSalamander"))
        .expect(1)
        .mount(&server)
        .await;
    let client = user_client(&server, MemoryTokenStore::default());
    let clip = ClipApi::create_clip(&client, "1234", Some("ㅋㅋㅋ LUL moment"), Some(47.0))
        .await
        .unwrap();
    assert_eq!(clip.id, "AwkwardHelplessSalamander");
    assert_eq!(
        clip.edit_url,
        "https://clips.twitch.tv/AwkwardHelplessSalamander/edit"
    );
}

#[tokio::test]
async fn automod_rejected_title_is_retried_once_without_title() {
    let server = MockServer::start().await;
    create_clip()
        .and(query_param("title", "bad words"))
        .respond_with(error(400, "The title was rejected by AutoMod"))
        .expect(1)
        .mount(&server)
        .await;
    create_clip()
        .and(query_param("broadcaster_id", "1234"))
        .and(query_param_is_missing("title"))
        .respond_with(created("NoTitle"))
        .expect(1)
        .mount(&server)
        .await;
    let client = user_client(&server, MemoryTokenStore::default());
    let clip = client
        .create_clip("1234", Some("bad words"), None)
        .await
        .unwrap();
    assert_eq!(clip.id, "NoTitle");
    let calls = requests_to(&server, "/helix/clips").await;
    assert_eq!(calls.len(), 2);
    assert!(
        !calls[1].url.query().unwrap_or("").contains("duration"),
        "no duration asked"
    );
}

#[tokio::test]
async fn other_bad_request_is_not_retried() {
    let server = MockServer::start().await;
    create_clip()
        .respond_with(error(
            400,
            "Clipping is not possible for an offline channel category",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let client = user_client(&server, MemoryTokenStore::default());
    let e = client.create_clip("1234", None, None).await.unwrap_err();
    assert!(
        matches!(&e, HelixError::BadRequest { message } if message.contains("offline channel category")),
        "{e:?}"
    );
    assert!(!e.is_retryable());
}

#[tokio::test]
async fn unauthorized_refreshes_persists_rotated_pair_and_retries_with_new_bearer() {
    let server = MockServer::start().await;
    refused_once("user-a").mount(&server).await;
    create_clip()
        .and(bearer_token("user-b"))
        .respond_with(created("AfterRefresh"))
        .expect(1)
        .mount(&server)
        .await;
    token()
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains("refresh_token=refresh-a"))
        .and(body_string_contains("client_id=cid"))
        .respond_with(refreshed("user-b", "refresh-b"))
        .expect(1)
        .mount(&server)
        .await;

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(".clipper-tokens.json");
    let client = user_client(&server, FileTokenStore::new(&file));
    let clip = client.create_clip("1234", None, None).await.unwrap();
    assert_eq!(clip.id, "AfterRefresh");

    let stored = FileTokenStore::new(&file).load().await.unwrap().unwrap();
    assert_eq!(stored.access_token.expose(), "user-b");
    assert_eq!(stored.refresh_token.expose(), "refresh-b");
    assert!(stored.expires_at_ms.is_some());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "no temporary file left behind");
    assert_eq!(
        client.user_auth().unwrap().access_token().expose(),
        "user-b"
    );
}

#[tokio::test]
async fn unauthorized_twice_is_unauthorized_after_one_refresh() {
    let server = MockServer::start().await;
    create_clip()
        .respond_with(error(401, "Missing scope: clips:edit"))
        .expect(2)
        .mount(&server)
        .await;
    refresh_once("user-b", "refresh-b").mount(&server).await;
    let client = user_client(&server, MemoryTokenStore::default());
    let e = client.create_clip("1234", None, None).await.unwrap_err();
    assert!(
        matches!(&e, HelixError::Unauthorized { message } if message.contains("clips:edit")),
        "{e:?}"
    );
}

#[tokio::test]
async fn invalid_refresh_token_is_a_clear_error_and_nothing_is_saved() {
    let server = MockServer::start().await;
    create_clip()
        .respond_with(ResponseTemplate::new(401))
        .expect(1)
        .mount(&server)
        .await;
    token()
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(json!({"status": 400, "message": "Invalid refresh token"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let store = Arc::new(MemoryTokenStore::default());
    let client = user_client(&server, store.clone());
    let e = client.create_clip("1234", None, None).await.unwrap_err();
    assert!(
        matches!(&e, HelixError::InvalidRefreshToken { message } if message == "Invalid refresh token"),
        "{e:?}"
    );
    assert!(e.to_string().contains("authorise again"));
    assert_eq!(store.saves(), 0);
}

#[tokio::test]
async fn concurrent_refreshes_make_one_token_request() {
    let server = MockServer::start().await;
    // Ten Create Clip calls at once, all refused with the expired token: one refresh.
    create_clip()
        .and(bearer_token("user-a"))
        .respond_with(ResponseTemplate::new(401).set_delay(Duration::from_millis(50)))
        .expect(10)
        .mount(&server)
        .await;
    create_clip()
        .and(bearer_token("user-b"))
        .respond_with(created("C"))
        .expect(10)
        .mount(&server)
        .await;
    token()
        .respond_with(refreshed("user-b", "refresh-b").set_delay(Duration::from_millis(300)))
        .expect(1)
        .mount(&server)
        .await;
    let store = Arc::new(MemoryTokenStore::default());
    let client = Arc::new(user_client(&server, store.clone()));
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let c = client.clone();
            tokio::spawn(async move { c.create_clip(&format!("{i}"), None, None).await })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap().id, "C");
    }
    assert_eq!(store.saves(), 1);

    // Two explicit refreshes at once also spend the refresh token only once.
    server.reset().await;
    token()
        .and(body_string_contains("refresh_token=refresh-b"))
        .respond_with(refreshed("user-c", "refresh-c").set_delay(Duration::from_millis(300)))
        .expect(1)
        .mount(&server)
        .await;
    let auth = client.user_auth().unwrap();
    let (x, y) = tokio::join!(auth.refresh(), auth.refresh());
    assert_eq!(x.unwrap().expose(), "user-c");
    assert_eq!(y.unwrap().expose(), "user-c");
    assert_eq!(store.current().unwrap().refresh_token.expose(), "refresh-c");
    assert_eq!(store.saves(), 2);
}

#[tokio::test]
async fn create_clip_status_mapping() {
    let server = MockServer::start().await;
    let cases = [
        (
            "429",
            error(429, "")
                .insert_header("Ratelimit-Limit", "800")
                .insert_header("Ratelimit-Remaining", "0")
                .insert_header("Ratelimit-Reset", "1767225600"),
        ),
        ("503", error(503, "")),
        (
            "403",
            error(403, "Clips are restricted to followers on this channel"),
        ),
        ("404", error(404, "Channel is offline")),
    ];
    for (id, response) in cases {
        create_clip()
            .and(query_param("broadcaster_id", id))
            .respond_with(response)
            .expect(1)
            .mount(&server)
            .await;
    }
    let client = user_client(&server, MemoryTokenStore::default());

    let e = client.create_clip("429", None, None).await.unwrap_err();
    assert!(
        matches!(
            e,
            HelixError::RateLimited {
                reset_at_ms: Some(1_767_225_600_000)
            }
        ),
        "{e:?}"
    );
    assert!(e.is_retryable());
    assert_eq!(
        e.suggested_delay(1_767_225_590_000),
        Some(Duration::from_secs(10))
    );

    let e = client.create_clip("503", None, None).await.unwrap_err();
    assert!(matches!(e, HelixError::Server { status: 503, .. }), "{e:?}");
    assert!(e.is_retryable());

    let e = client.create_clip("403", None, None).await.unwrap_err();
    assert!(
        matches!(&e, HelixError::ClippingForbidden { message } if message.contains("followers")),
        "{e:?}"
    );
    assert!(!e.is_retryable());

    let e = client.create_clip("404", None, None).await.unwrap_err();
    assert!(matches!(e, HelixError::NotLive), "{e:?}");
}

#[tokio::test]
async fn transport_errors_are_retryable() {
    // Nothing listens here.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let mut c = HelixConfig::new("cid");
    c.helix_base = format!("http://{addr}/helix").parse().unwrap();
    c.timeout = Duration::from_secs(2);
    let client = HelixClient::new(c, None).unwrap();
    let auth = UserAuth::new(
        client.oauth().clone(),
        MemoryTokenStore::default(),
        tokens("a", "r"),
    );
    let client = client.with_user(Arc::new(auth));
    let e = client.create_clip("1", None, None).await.unwrap_err();
    assert!(matches!(e, HelixError::Transport { .. }), "{e:?}");
    assert!(e.is_retryable());
}

/// Get Streams answering for the `user_login`s asked: even-numbered channels are live.
struct Streams;

impl Respond for Streams {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let data: Vec<_> = req
            .url
            .query_pairs()
            .filter(|(k, _)| k == "user_login")
            .filter_map(|(_, login)| {
                let n: u64 = login.trim_start_matches("chan").parse().ok()?;
                (n % 2 == 0).then(|| {
                    json!({
                        "id": format!("s{n}"), "user_id": format!("{}", 1000 + n),
                        "user_login": login, "user_name": login, "game_id": "509658",
                        "game_name": "Just Chatting", "type": "live", "title": format!("stream {n}"),
                        "viewer_count": n * 10, "started_at": "2026-03-10T15:04:21Z",
                        "language": "ko", "thumbnail_url": "https://x/{width}x{height}.jpg",
                        "tag_ids": [], "tags": ["한국어"], "is_mature": false
                    })
                })
            })
            .collect();
        ResponseTemplate::new(200).set_body_json(json!({"data": data, "pagination": {}}))
    }
}

fn mount_app_token(access: &'static str) -> Mock {
    token()
        .and(body_string_contains("grant_type=client_credentials"))
        .and(body_string_contains("client_secret=app-secret"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": access, "expires_in": 5011271, "token_type": "bearer"
        })))
}

#[tokio::test]
async fn get_streams_chunks_150_logins_into_two_calls_with_one_app_token() {
    let server = MockServer::start().await;
    mount_app_token("app-1").expect(1).mount(&server).await;
    Mock::given(method("GET"))
        .and(path("/helix/streams"))
        .and(bearer_token("app-1"))
        .and(header("Client-Id", "cid"))
        .respond_with(Streams)
        .expect(2)
        .mount(&server)
        .await;
    let client = app_client(&server);
    let logins: Vec<String> = (0..150).map(|i| format!("chan{i}")).collect();
    let streams = client
        .get_streams(StreamsBy::Logins(&logins))
        .await
        .unwrap();
    assert_eq!(streams.len(), 75, "only the live half is returned");
    let s = streams.iter().find(|s| s.user_login == "chan120").unwrap();
    assert_eq!(s.user_id, "1120");
    assert_eq!(s.viewer_count, 1200);
    assert_eq!(s.game_name, "Just Chatting");
    assert_eq!(s.started_at, "2026-03-10T15:04:21Z");

    let calls = requests_to(&server, "/helix/streams").await;
    let counts: Vec<usize> = calls
        .iter()
        .map(|r| {
            r.url
                .query_pairs()
                .filter(|(k, _)| k == "user_login")
                .count()
        })
        .collect();
    assert_eq!(counts, vec![100, 50]);
    let asked: HashSet<String> = calls
        .iter()
        .flat_map(|r| {
            r.url
                .query_pairs()
                .filter(|(k, _)| k == "user_login")
                .map(|(_, v)| v.into_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(asked.len(), 150);
}

#[tokio::test]
async fn rejected_app_token_is_replaced_once() {
    let server = MockServer::start().await;
    mount_app_token("app-1")
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    mount_app_token("app-2").expect(1).mount(&server).await;
    Mock::given(method("GET"))
        .and(path("/helix/users"))
        .and(bearer_token("app-1"))
        .respond_with(ResponseTemplate::new(401))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/helix/users"))
        .and(bearer_token("app-2"))
        .and(query_param("login", "kimdoe"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [
            {"id": "123456", "login": "kimdoe", "display_name": "김도", "type": "",
             "broadcaster_type": "partner", "description": "", "profile_image_url": "",
             "offline_image_url": "", "view_count": 0, "created_at": "2016-12-14T20:32:28Z"}
        ]})))
        .expect(1)
        .mount(&server)
        .await;
    let client = app_client(&server);
    let ids = client
        .get_users(&["#KimDoe".to_owned(), "nobody".to_owned()])
        .await
        .unwrap();
    assert_eq!(ids.len(), 1);
    assert_eq!(ids.get("kimdoe").map(String::as_str), Some("123456"));
}

#[tokio::test]
async fn get_clips_by_id() {
    let server = MockServer::start().await;
    mount_app_token("app-1").mount(&server).await;
    get_clips()
        .and(query_param("id", "Found"))
        .and(query_param("id", "Pending"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [{
            "id": "Found", "url": "https://clips.twitch.tv/Found",
            "embed_url": "https://clips.twitch.tv/embed?clip=Found",
            "broadcaster_id": "1234", "broadcaster_name": "kimdoe",
            "creator_id": "99", "creator_name": "clipbot", "video_id": "", "game_id": "509658",
            "language": "ko", "title": "ㅋㅋㅋ", "view_count": 3,
            "created_at": "2026-03-10T15:10:00Z", "thumbnail_url": "https://x/t.jpg",
            "duration": 30.0, "vod_offset": null, "is_featured": false
        }], "pagination": {}})))
        .expect(1)
        .mount(&server)
        .await;
    let client = app_client(&server);
    let ids = vec!["Found".to_owned(), "Pending".to_owned()];
    let clips = ClipApi::get_clips(&client, &ids).await.unwrap();
    assert_eq!(clips.len(), 1);
    assert_eq!(clips[0].id, "Found");
    assert_eq!(clips[0].url, "https://clips.twitch.tv/Found");
    assert_eq!(clips[0].title, "ㅋㅋㅋ");
    assert_eq!(clips[0].created_at, "2026-03-10T15:10:00Z");
    assert_eq!(clips[0].duration, 30.0);
}

#[tokio::test]
async fn validate_and_credentials_wiring() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/oauth2/validate"))
        .and(header("Authorization", "OAuth user-a"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "client_id": "cid", "login": "clipbot", "scopes": ["clips:edit"],
            "user_id": "99", "expires_in": 5520838
        })))
        .expect(1)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let creds = TwitchCredentials {
        client_id: "cid".into(),
        client_secret: None,
        access_token: Some(Secret::new("user-a")),
        refresh_token: Some(Secret::new("refresh-a")),
    };
    let client = HelixClient::from_credentials(
        config(&server),
        &creds,
        FileTokenStore::new(dir.path().join("t.json")),
    )
    .await
    .unwrap();
    assert!(client.can_clip());
    let info = client.user_auth().unwrap().validate().await.unwrap();
    assert_eq!(info.login.as_deref(), Some("clipbot"));
    assert!(info.has_scope("clips:edit"));

    // No user token anywhere: reads only (dry run).
    let creds = TwitchCredentials {
        client_id: "cid".into(),
        ..Default::default()
    };
    let client =
        HelixClient::from_credentials(config(&server), &creds, MemoryTokenStore::default())
            .await
            .unwrap();
    assert!(!client.can_clip());
    let e = client.create_clip("1", None, None).await.unwrap_err();
    assert!(matches!(e, HelixError::MissingCredentials(_)), "{e:?}");
}

// ---- emote providers ----

fn mount_json(p: &str, body: serde_json::Value) -> Mock {
    Mock::given(method("GET"))
        .and(path(p.to_owned()))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
}

fn seventv_global() -> serde_json::Value {
    json!({
        "id": "01HKQT8EWR000ESSWF3625XCS4", "name": "Global Emotes", "flags": 0, "tags": [],
        "immutable": true, "privileged": true, "capacity": 1000,
        "emotes": [
            {"id": "01F6MQ33FG000FFJ97ZB8MWV52", "name": "peepoHappy", "flags": 0,
             "timestamp": 1622332406000u64, "actor_id": null,
             "data": {"id": "01F6MQ33FG000FFJ97ZB8MWV52", "name": "peepoHappy", "flags": 0,
                      "lifecycle": 3, "state": ["LISTED"], "listed": true, "animated": false,
                      "owner": {"id": "60ae2e", "username": "x"},
                      "host": {"url": "//cdn.7tv.app/emote/01F6MQ33FG000FFJ97ZB8MWV52", "files": []}}},
            {"id": "01GB9W8JN8000C2Z8QMRKRHAMC", "name": "EZ", "flags": 0,
             "timestamp": 1661176000000u64, "actor_id": null, "data": {"name": "EZ"}}
        ],
        "emote_count": 2
    })
}

fn seventv_user() -> serde_json::Value {
    json!({
        "id": "123456", "platform": "TWITCH", "username": "kimdoe", "display_name": "김도",
        "linked_at": 1620000000000u64, "emote_capacity": 600, "emote_set_id": null,
        "emote_set": {"id": "01FE", "name": "kimdoe's Emotes", "flags": 0, "tags": [],
            "immutable": false, "privileged": false,
            "emotes": [
                {"id": "01A", "name": "catJAM", "flags": 0, "timestamp": 1, "actor_id": "x", "data": {}},
                {"id": "01B", "name": "kimdoeKEK", "flags": 0, "timestamp": 2, "actor_id": "x", "data": {}}
            ],
            "emote_count": 2, "capacity": 600},
        "user": {"id": "60ae", "username": "kimdoe"}
    })
}

fn bttv_global() -> serde_json::Value {
    json!([
        {"id": "54fa8f1401e468494b85b537", "code": ":tf:", "imageType": "png", "animated": false, "userId": "5561169bd6b9d206222a8c19", "modifier": false},
        {"id": "54fa925e01e468494b85b54d", "code": "OhMyGoodness", "imageType": "png", "animated": false, "userId": "5561169bd6b9d206222a8c19", "modifier": false}
    ])
}

fn bttv_user() -> serde_json::Value {
    json!({
        "id": "5a0f2f", "bots": ["nightbot"], "avatar": "https://static-cdn/x.png",
        "channelEmotes": [
            {"id": "5f1b0186cf6d2144653d2970", "code": "kimdoeBTTV", "imageType": "png", "animated": false, "userId": "5a0f2f"}
        ],
        "sharedEmotes": [
            {"id": "5e76d338d6581c3724c0f0b2", "code": "PepeLaugh", "imageType": "gif", "animated": true,
             "user": {"id": "x", "name": "y", "displayName": "Y", "providerId": "1"}},
            {"id": "566ca38765dbbdab32ec0560", "code": "SourPls", "imageType": "gif", "animated": true,
             "user": {"id": "x", "name": "y", "displayName": "Y", "providerId": "1"}}
        ]
    })
}

fn ffz_global() -> serde_json::Value {
    json!({
        "default_sets": [3],
        "sets": {
            "3": {"id": 3, "_type": 0, "icon": null, "title": "Global Emotes",
                  "emoticons": [
                      {"id": 25927, "name": "CatBag", "height": 32, "width": 32, "public": false,
                       "hidden": false, "modifier": false, "offset": null, "margins": null,
                       "css": null, "owner": {"_id": 1, "name": "sirstendec", "display_name": "SirStendec"},
                       "urls": {"1": "https://cdn.frankerfacez.com/emote/25927/1"}, "status": 1,
                       "usage_count": 1, "created_at": "2015-05-01T00:00:00.000Z", "last_updated": null},
                      {"id": 9, "name": "ZreknarF", "height": 30, "width": 40, "public": true,
                       "hidden": false, "modifier": false, "urls": {}}
                  ]},
            "4330": {"id": 4330, "_type": 1, "title": "Special", "emoticons": [
                      {"id": 1, "name": "OnlyForOneUser", "urls": {}}]}
        },
        "users": {"4330": ["sirstendec"]}
    })
}

fn ffz_room() -> serde_json::Value {
    json!({
        "room": {"_id": 1234, "twitch_id": 123456, "youtube_id": null, "id": "kimdoe",
                 "is_group": false, "display_name": "kimdoe", "set": 555, "moderator_badge": null,
                 "vip_badge": null, "mod_urls": null, "user_badges": {}, "user_badge_ids": {}, "css": null},
        "sets": {"555": {"id": 555, "_type": 1, "icon": null, "title": "Channel: kimdoe",
                         "css": null, "emoticons": [
                             {"id": 1000, "name": "kimdoeFFZ", "height": 28, "width": 28, "urls": {}},
                             {"id": 1001, "name": "OMEGALUL", "height": 28, "width": 28, "urls": {}}]}}
    })
}

fn providers(server: &MockServer) -> EmoteProviders {
    EmoteProviders {
        seventv: format!("{}/7tv", server.uri()).parse().unwrap(),
        bttv: format!("{}/bttv", server.uri()).parse().unwrap(),
        ffz: format!("{}/ffz", server.uri()).parse().unwrap(),
        timeout: Duration::from_secs(2),
    }
}

fn names(lists: &[EmoteList], p: EmoteProvider) -> Option<Vec<String>> {
    lists.iter().find(|l| l.provider == p).map(|l| {
        assert_eq!(l.source, p.source());
        l.names.clone()
    })
}

async fn mount_all_providers(server: &MockServer) {
    for (p, body) in [
        ("/7tv/v3/emote-sets/global", seventv_global()),
        ("/7tv/v3/users/twitch/123456", seventv_user()),
        ("/bttv/3/cached/emotes/global", bttv_global()),
        ("/bttv/3/cached/users/twitch/123456", bttv_user()),
        ("/ffz/v1/set/global", ffz_global()),
        ("/ffz/v1/room/id/123456", ffz_room()),
    ] {
        mount_json(p, body).mount(server).await;
    }
}

#[tokio::test]
async fn emote_catalog_parses_every_provider_and_twitch() {
    let server = MockServer::start().await;
    mount_all_providers(&server).await;
    mount_app_token("app-1").mount(&server).await;
    Mock::given(method("GET"))
        .and(path("/helix/chat/emotes/global"))
        .and(bearer_token("app-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [
                {"id": "25", "name": "Kappa", "images": {}, "format": ["static"], "scale": ["1.0"], "theme_mode": ["light"]},
                {"id": "88", "name": "PogChamp", "images": {}, "format": ["static"], "scale": ["1.0"], "theme_mode": ["dark"]}
            ],
            "template": "https://static-cdn.jtvnw.net/emoticons/v2/{{id}}/{{format}}/{{theme_mode}}/{{scale}}"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/helix/chat/emotes"))
        .and(query_param("broadcaster_id", "123456"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [{"id": "emotesv2_1", "name": "kimdoeWA", "tier": "1000", "emote_type": "subscriptions",
                      "emote_set_id": "1", "format": ["static"], "scale": ["1.0"], "theme_mode": ["light"], "images": {}}],
            "template": "x"
        })))
        .expect(1)
        .mount(&server)
        .await;

    let helix = Arc::new(app_client(&server));
    let catalog = EmoteCatalog::new(providers(&server), Some(helix)).unwrap();
    let lists = catalog.lists_for(Some("123456")).await;
    assert_eq!(
        lists.iter().map(|l| l.provider).collect::<Vec<_>>(),
        EmoteProvider::ALL.to_vec()
    );
    assert_eq!(
        names(&lists, EmoteProvider::Twitch).unwrap(),
        ["Kappa", "PogChamp", "kimdoeWA"]
    );
    assert_eq!(
        names(&lists, EmoteProvider::SevenTv).unwrap(),
        ["peepoHappy", "EZ", "catJAM", "kimdoeKEK"]
    );
    assert_eq!(
        names(&lists, EmoteProvider::Bttv).unwrap(),
        [":tf:", "OhMyGoodness", "kimdoeBTTV", "PepeLaugh", "SourPls"]
    );
    assert_eq!(
        names(&lists, EmoteProvider::Ffz).unwrap(),
        ["CatBag", "ZreknarF", "kimdoeFFZ", "OMEGALUL"],
        "global FFZ uses default_sets only"
    );
    assert_eq!(lists[1].source, EmoteSource::SevenTv);

    // Cached: asking again makes no request (the Twitch mocks expect exactly one call each).
    let before = server.received_requests().await.unwrap().len();
    let again = catalog.lists_for(Some("123456")).await;
    assert_eq!(again, lists);
    assert_eq!(server.received_requests().await.unwrap().len(), before);
    assert_eq!(catalog.channel("123456").len(), 4);
}

#[tokio::test]
async fn emote_failures_keep_last_known_lists_and_404_means_empty() {
    let server = MockServer::start().await;
    mount_all_providers(&server).await;
    let catalog = EmoteCatalog::without_twitch(providers(&server)).unwrap();
    let first = catalog.refresh_channel("123456").await;
    assert_eq!((first.fetched, first.failed, first.skipped), (3, 0, 1));
    let before = catalog.channel("123456");

    // Now 7TV breaks (500), BTTV sends garbage, FFZ says the channel has no account (404).
    server.reset().await;
    Mock::given(method("GET"))
        .and(path("/7tv/v3/users/twitch/123456"))
        .respond_with(ResponseTemplate::new(500).set_body_string("upstream error"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/bttv/3/cached/users/twitch/123456"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>cloudflare</html>"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/ffz/v1/room/id/123456"))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(
                json!({"error": "Not Found", "status": 404, "message": "No such room"}),
            ),
        )
        .mount(&server)
        .await;
    let second = catalog.refresh_channel("123456").await;
    assert_eq!((second.fetched, second.failed), (1, 2));
    let after = catalog.channel("123456");
    assert_eq!(
        names(&after, EmoteProvider::SevenTv),
        names(&before, EmoteProvider::SevenTv)
    );
    assert_eq!(
        names(&after, EmoteProvider::Bttv).unwrap(),
        ["kimdoeBTTV", "PepeLaugh", "SourPls"]
    );
    assert_eq!(names(&after, EmoteProvider::Ffz), Some(vec![]));
}

#[tokio::test]
async fn one_broken_provider_does_not_hide_the_others() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/7tv/v3/emote-sets/global"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{\"emotes\": 42"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/bttv/3/cached/emotes/global"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    mount_json("/ffz/v1/set/global", ffz_global())
        .mount(&server)
        .await;
    let catalog = EmoteCatalog::without_twitch(providers(&server)).unwrap();
    let outcome = catalog.refresh_global().await;
    assert_eq!((outcome.fetched, outcome.failed), (1, 2));
    let lists = catalog.lists_for(None).await;
    assert_eq!(lists.len(), 1);
    assert_eq!(
        names(&lists, EmoteProvider::Ffz).unwrap(),
        ["CatBag", "ZreknarF"]
    );
}

/// A store whose saves fail.
struct BrokenStore;

impl TokenStore for BrokenStore {
    async fn load(&self) -> clipper_functions::Result<Option<UserTokens>> {
        Ok(None)
    }
    async fn save(&self, _: &UserTokens) -> clipper_functions::Result<()> {
        Err(clipper_functions::FunctionsError::Config(
            "disk full".into(),
        ))
    }
}

/// A store shared with another process that already rotated the pair (as a leased
/// Secrets Manager store would find on re-reading).
struct AlreadyRotated;

impl TokenStore for AlreadyRotated {
    async fn load(&self) -> clipper_functions::Result<Option<UserTokens>> {
        Ok(Some(tokens("other-worker", "other-refresh")))
    }
    async fn save(&self, _: &UserTokens) -> clipper_functions::Result<()> {
        panic!("must not save");
    }
    async fn rotate<F, Fut>(
        &self,
        rejected: &Secret,
        _current: &UserTokens,
        refresh: F,
    ) -> Result<UserTokens, HelixError>
    where
        F: FnOnce(Secret) -> Fut + Send,
        Fut: std::future::Future<Output = Result<UserTokens, HelixError>> + Send,
    {
        let stored = self.load().await.unwrap().unwrap();
        if &stored.access_token != rejected {
            return Ok(stored);
        }
        refresh(stored.refresh_token).await
    }
}

/// A store whose first `failures` saves fail (a throttled `PutSecretValue`, a full disk that
/// clears), then keeps what it is given.
struct FlakyStore {
    failures: std::sync::atomic::AtomicU32,
    saves: std::sync::atomic::AtomicU32,
    kept: std::sync::Mutex<Option<UserTokens>>,
}

impl FlakyStore {
    fn new(failures: u32) -> Self {
        FlakyStore {
            failures: failures.into(),
            saves: 0.into(),
            kept: std::sync::Mutex::new(None),
        }
    }
}

impl TokenStore for FlakyStore {
    async fn load(&self) -> clipper_functions::Result<Option<UserTokens>> {
        Ok(self.kept.lock().unwrap().clone())
    }
    async fn save(&self, t: &UserTokens) -> clipper_functions::Result<()> {
        use std::sync::atomic::Ordering::SeqCst;
        self.saves.fetch_add(1, SeqCst);
        if self
            .failures
            .fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(clipper_functions::FunctionsError::Config(
                "throttled".into(),
            ));
        }
        *self.kept.lock().unwrap() = Some(t.clone());
        Ok(())
    }
}

#[tokio::test]
async fn a_refreshed_pair_the_store_refuses_is_used_and_saved_later() {
    let server = MockServer::start().await;
    refresh_once("user-b", "refresh-b").mount(&server).await;
    create_clip()
        .and(bearer_token("user-b"))
        .respond_with(created("C1"))
        .expect(2)
        .mount(&server)
        .await;
    // Four attempts fail (save_rotated's retries), the fifth (at the next use) succeeds.
    let client = user_client(&server, FlakyStore::new(4));
    let auth = Arc::clone(client.user_auth().unwrap());
    // Before the fix the error replaced the new pair for the caller: this clip failed and
    // the pair lived only until the process ended.
    assert_eq!(auth.refresh().await.unwrap().expose(), "user-b");
    assert!(auth.has_unsaved_tokens());
    assert_eq!(auth.store().kept.lock().unwrap().clone(), None);
    client.create_clip("1", None, None).await.unwrap();
    assert!(!auth.has_unsaved_tokens());
    let kept = auth.store().kept.lock().unwrap().clone().unwrap();
    assert_eq!(kept.refresh_token.expose(), "refresh-b");
    assert_eq!(
        auth.store().saves.load(std::sync::atomic::Ordering::SeqCst),
        5
    );
    client.create_clip("1", None, None).await.unwrap();
}

#[tokio::test]
async fn a_store_that_never_saves_still_leaves_a_working_token() {
    let server = MockServer::start().await;
    refresh_once("user-b", "refresh-b").mount(&server).await;
    let client = user_client(&server, BrokenStore);
    let auth = client.user_auth().unwrap();
    assert_eq!(auth.refresh().await.unwrap().expose(), "user-b");
    assert_eq!(auth.tokens().refresh_token.expose(), "refresh-b");
    assert!(auth.has_unsaved_tokens());
}

#[tokio::test]
async fn a_shared_store_is_read_when_a_token_is_needed() {
    let server = MockServer::start().await;
    create_clip()
        .and(bearer_token("put-later"))
        .respond_with(created("C2"))
        .expect(1)
        .mount(&server)
        .await;
    let store = Arc::new(MemoryTokenStore::default());
    let creds = clipper_functions::twitch::TwitchCredentials {
        client_id: "cid".into(),
        client_secret: None,
        access_token: None,
        refresh_token: None,
    };
    let client = HelixClient::from_shared_store(
        config(&server),
        &creds,
        Arc::clone(&store),
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    // Fresh deploy: the secret is empty, so the clip flow records a would-clip.
    let e = client.create_clip("1", None, None).await.unwrap_err();
    assert!(matches!(e, HelixError::MissingCredentials(_)), "{e:?}");
    // Someone puts the token in the secret: the next clip uses it, no restart.
    store.save(&tokens("put-later", "r")).await.unwrap();
    assert_eq!(client.create_clip("1", None, None).await.unwrap().id, "C2");
}

#[tokio::test]
async fn a_store_override_can_reuse_a_pair_rotated_elsewhere() {
    let server = MockServer::start().await;
    token()
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    get_clips()
        .and(bearer_token("user-a"))
        .respond_with(ResponseTemplate::new(401))
        .expect(1)
        .mount(&server)
        .await;
    get_clips()
        .and(bearer_token("other-worker"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": []})))
        .expect(1)
        .mount(&server)
        .await;
    let client = user_client(&server, Arc::new(AlreadyRotated));
    let clips = client.get_clips(&["x".to_owned()]).await.unwrap();
    assert!(clips.is_empty());
    assert_eq!(
        client.user_auth().unwrap().access_token().expose(),
        "other-worker"
    );
}

#[tokio::test]
async fn an_endless_body_is_refused_not_buffered() {
    let server = MockServer::start().await;
    let huge = format!(
        "{{\"data\": [\"{}\"]}}",
        "x".repeat(clipper_functions::twitch::MAX_BODY_BYTES)
    );
    get_clips()
        .respond_with(ResponseTemplate::new(200).set_body_string(huge))
        .mount(&server)
        .await;
    let client = user_client(&server, MemoryTokenStore::default());
    let e = client.get_clips(&["a".into()]).await.unwrap_err();
    assert!(matches!(e, HelixError::BodyTooLarge { .. }), "{e:?}");
}
