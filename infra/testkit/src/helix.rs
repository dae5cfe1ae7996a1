//! A scripted Twitch HTTP side for tests: Helix and OAuth routes on one wiremock server, the
//! bodies Twitch answers with, and clients pointed at the server (client id [`CLIENT_ID`],
//! Helix under `/helix`, OAuth under `/oauth2`).

use std::sync::Arc;

use clipper_functions::roles::TokenStore;
use clipper_functions::twitch::{HelixClient, HelixConfig, Secret, UserAuth, UserTokens};
use serde_json::{json, Value};
use wiremock::matchers::{bearer_token, method, path};
use wiremock::{Mock, MockBuilder, MockServer, Request, ResponseTemplate};

/// The application client id of the scripted Twitch.
pub const CLIENT_ID: &str = "cid";

/// A Helix configuration for `server`: [`CLIENT_ID`], Helix at `/helix`, OAuth at `/oauth2`.
pub fn config(server: &MockServer) -> HelixConfig {
    let mut c = HelixConfig::new(CLIENT_ID);
    c.helix_base = format!("{}/helix", server.uri()).parse().unwrap();
    c.oauth_base = format!("{}/oauth2", server.uri()).parse().unwrap();
    c
}

/// A user token pair without a known expiry.
pub fn tokens(access: &str, refresh: &str) -> UserTokens {
    UserTokens {
        access_token: Secret::new(access),
        refresh_token: Secret::new(refresh),
        expires_at_ms: None,
    }
}

/// A client with `config`'s endpoints and the user token `access` / `refresh` kept in `store`.
pub fn user_client<S: TokenStore>(
    config: HelixConfig,
    store: S,
    access: &str,
    refresh: &str,
) -> HelixClient<S> {
    let client = HelixClient::new(config, None).unwrap();
    let auth = UserAuth::new(client.oauth().clone(), store, tokens(access, refresh));
    client.with_user(Arc::new(auth))
}

/// `POST /helix/clips` (Create Clip).
pub fn create_clip() -> MockBuilder {
    Mock::given(method("POST")).and(path("/helix/clips"))
}

/// `GET /helix/clips` (Get Clips).
pub fn get_clips() -> MockBuilder {
    Mock::given(method("GET")).and(path("/helix/clips"))
}

/// `GET /oauth2/validate` answering that the user token belongs to `user_id` (`clipperbot`,
/// with `clips:edit`): how the clip flow learns whose clips to adopt after a lost answer.
pub async fn mount_validate(server: &MockServer, user_id: &str) {
    Mock::given(method("GET"))
        .and(path("/oauth2/validate"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "client_id": CLIENT_ID, "login": "clipperbot", "user_id": user_id,
            "scopes": ["clips:edit"], "expires_in": 3600
        })))
        .mount(server)
        .await;
}

/// `POST /oauth2/token` (client credentials, refresh).
pub fn token() -> MockBuilder {
    Mock::given(method("POST")).and(path("/oauth2/token"))
}

/// Create Clip's body: `{"data": [{"id", "edit_url"}]}`.
pub fn created_json(id: &str) -> Value {
    json!({"data": [{"id": id, "edit_url": format!("https://clips.twitch.tv/{id}/edit")}]})
}

/// Create Clip's answer: 202 with [`created_json`].
pub fn created(id: &str) -> ResponseTemplate {
    ResponseTemplate::new(202).set_body_json(created_json(id))
}

/// Get Clips' answer: 200 finding clip `id` (with `extra` fields merged in).
pub fn found(id: &str, extra: Value) -> ResponseTemplate {
    let mut clip = json!({"id": id, "url": format!("https://clips.twitch.tv/{id}")});
    if let (Some(c), Value::Object(extra)) = (clip.as_object_mut(), extra) {
        c.extend(extra);
    }
    ResponseTemplate::new(200).set_body_json(json!({ "data": [clip] }))
}

/// A Twitch error answer: `status` with `{"error": <reason>, "status", "message"}`.
pub fn error(status: u16, message: &str) -> ResponseTemplate {
    let reason = match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        503 => "Service Unavailable",
        _ => "Error",
    };
    ResponseTemplate::new(status)
        .set_body_json(json!({"error": reason, "status": status, "message": message}))
}

/// A token refresh's answer: 200 with the new pair, valid 14,124 s, scope `clips:edit`.
pub fn refreshed(access: &str, refresh: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "access_token": access, "refresh_token": refresh,
        "expires_in": 14_124, "scope": ["clips:edit"], "token_type": "bearer"
    }))
}

/// Create Clip with the user token `bearer` answered once with 401 (the stored token is stale).
pub fn refused_once(bearer: &str) -> Mock {
    create_clip()
        .and(bearer_token(bearer))
        .respond_with(error(401, "Invalid OAuth token"))
        .expect(1)
}

/// One token refresh, answered with the pair `access` / `refresh` ([`refreshed`]).
pub fn refresh_once(access: &str, refresh: &str) -> Mock {
    token().respond_with(refreshed(access, refresh)).expect(1)
}

/// The requests `server` received on `path`, in order.
pub async fn requests_to(server: &MockServer, path: &str) -> Vec<Request> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.url.path() == path)
        .collect()
}
