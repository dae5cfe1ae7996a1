//! The dashboard as a Lambda function (feature `aws`; the binary `dashboard` only runs it with
//! `lambda_http` behind a Function URL): the same router over the DynamoDB channels and clips
//! tables, sessions in a DynamoDB table with TTL, the OAuth client secret from Secrets
//! Manager, the clipper's token saved to the user token secret, and `/api/events` polled.

use std::sync::Arc;

use super::downloads::HelixDownloads;
use super::views::{ClipApiViews, DEFAULT_MAX_AGE};
use super::{App, DashboardConfig, Events};
use crate::aws::{
    read_client_secret, required_env, AwsConfig, DynamoChannelStore, DynamoClipStore, DynamoLease,
    DynamoSessionStore, DynamoTimeline, SecretsManagerTokenStore,
};
use crate::error::{FunctionsError, Result};
use crate::twitch::{HelixClient, HelixConfig, TwitchCredentials};

/// The function's settings (environment variables in brackets).
#[derive(Debug, Clone, Default)]
pub struct FunctionSettings {
    /// `TWITCH_CLIENT_ID`.
    pub client_id: String,
    /// `TWITCH_CLIENT_SECRET_ID`: name or ARN of the secret holding the client secret (without
    /// it `/login` answers 503).
    pub client_secret_id: Option<String>,
    /// `CHANNELS_TABLE`, `CLIPS_TABLE`, `SESSIONS_TABLE`.
    pub channels_table: String,
    pub clips_table: String,
    pub sessions_table: String,
    /// `TWITCH_TOKEN_SECRET`: where a log-in by the clipper's account saves its token.
    pub token_secret: Option<String>,
    /// `LEASE_TABLE`: the refresh lease shared with the clip function; with it and the token
    /// secret, the dashboard uses the clipper's token for clip downloads (links).
    pub lease_table: Option<String>,
    /// `DASHBOARD_OWNER`: the login whose token runs the clipper (manages everything).
    pub owner: Option<String>,
    /// `DASHBOARD_ADMINS`: comma-separated logins that manage everything.
    pub admins: Vec<String>,
    /// `DASHBOARD_PUBLIC_URL`: a custom domain in front; unset, each request's host is used
    /// (the Function URL's).
    pub public_url: Option<url::Url>,
    /// `TIMELINE_TABLE`: recent windows written by the score function (the live timeline and
    /// the overview's live state); unset, pages show clips only.
    pub timeline_table: Option<String>,
    /// `TWITCH_OAUTH_URL` (default `https://id.twitch.tv/oauth2`).
    pub oauth_base: Option<url::Url>,
    /// `TWITCH_HELIX_URL` (default `https://api.twitch.tv/helix`): view counts (Get Clips with
    /// an app token, so only with the client secret).
    pub helix_base: Option<url::Url>,
}

fn optional_env(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

fn url_env(name: &str) -> Result<Option<url::Url>> {
    optional_env(name)
        .map(|v| url::Url::parse(&v).map_err(|e| FunctionsError::Config(format!("{name}: {e}"))))
        .transpose()
}

impl FunctionSettings {
    pub fn from_env() -> Result<Self> {
        Ok(FunctionSettings {
            client_id: required_env("TWITCH_CLIENT_ID")?,
            client_secret_id: optional_env("TWITCH_CLIENT_SECRET_ID"),
            channels_table: required_env("CHANNELS_TABLE")?,
            clips_table: required_env("CLIPS_TABLE")?,
            sessions_table: required_env("SESSIONS_TABLE")?,
            token_secret: optional_env("TWITCH_TOKEN_SECRET"),
            lease_table: optional_env("LEASE_TABLE"),
            owner: optional_env("DASHBOARD_OWNER"),
            admins: optional_env("DASHBOARD_ADMINS")
                .map(|a| {
                    a.split(',')
                        .map(|s| s.trim().to_ascii_lowercase())
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            public_url: url_env("DASHBOARD_PUBLIC_URL")?,
            timeline_table: optional_env("TIMELINE_TABLE"),
            oauth_base: url_env("TWITCH_OAUTH_URL")?,
            helix_base: url_env("TWITCH_HELIX_URL")?,
        })
    }
}

/// The dashboard the function serves.
pub type FunctionApp = App<DynamoChannelStore, DynamoClipStore>;

/// Reads the client secret (one `GetSecretValue` at cold start) and builds the app.
pub async fn function_app(aws: &AwsConfig, s: &FunctionSettings) -> Result<FunctionApp> {
    let client_secret = read_client_secret(&aws.secrets, s.client_secret_id.as_deref()).await?;
    if client_secret.is_none() {
        tracing::warn!("no client secret configured: log-in answers 503 until TWITCH_CLIENT_SECRET_ID names one");
    }
    // Not listening anywhere: the address only seeds the (unused) default public URL.
    let mut cfg = DashboardConfig::new(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))?;
    match &s.public_url {
        Some(u) => cfg.public_url = u.clone(),
        None => cfg.public_url_from_host = true,
    }
    if let Some(o) = &s.oauth_base {
        cfg.oauth_base = o.clone();
    }
    cfg.client_id.clone_from(&s.client_id);
    // View counts: Get Clips with an app token (client credentials), so only with the secret.
    let helix = match &client_secret {
        Some(secret) => {
            let mut h = HelixConfig::new(&s.client_id);
            h.oauth_base = cfg.oauth_base.clone();
            if let Some(b) = &s.helix_base {
                h.helix_base = b.clone();
            }
            Some(Arc::new(
                HelixClient::new(h, Some(secret.clone()))
                    .map_err(|e| FunctionsError::Config(format!("Helix client: {e}")))?,
            ))
        }
        None => None,
    };
    let client_secret_kept = client_secret.clone();
    let cfg_oauth = cfg.oauth_base.clone();
    cfg.client_secret = client_secret;
    cfg.admins.clone_from(&s.admins);
    cfg.poll_events = true;
    let mut app = App::new(
        cfg,
        s.owner.clone(),
        Arc::new(DynamoChannelStore::new(
            aws.dynamodb.clone(),
            &s.channels_table,
        )),
        Arc::new(DynamoClipStore::new(aws.dynamodb.clone(), &s.clips_table)),
        Events::new(),
        Arc::default(),
    )?
    .with_session_store(Arc::new(DynamoSessionStore::new(
        aws.dynamodb.clone(),
        &s.sessions_table,
    )));
    if let Some(t) = &s.timeline_table {
        app = app.with_timeline(Arc::new(DynamoTimeline::new(aws.dynamodb.clone(), t)));
    }
    if let Some(h) = helix {
        app = app.with_views(Arc::new(ClipApiViews(h)), DEFAULT_MAX_AGE);
    }
    if let Some(secret) = &s.token_secret {
        app = app.with_token_sink(Arc::new(SecretsManagerTokenStore::new(
            aws.secrets.clone(),
            secret,
        )));
        // Downloads with the clipper's own token: the secret the clip function uses, read when
        // needed, refreshed under the same lease (never two refreshes of one pair at once).
        if let Some(lease) = &s.lease_table {
            let store = SecretsManagerTokenStore::new(aws.secrets.clone(), secret)
                .with_lease(DynamoLease::new(aws.dynamodb.clone(), lease));
            let mut h = HelixConfig::new(&s.client_id);
            h.oauth_base = cfg_oauth.clone();
            if let Some(b) = &s.helix_base {
                h.helix_base = b.clone();
            }
            let creds = TwitchCredentials {
                client_id: s.client_id.clone(),
                client_secret: client_secret_kept.clone(),
                access_token: None,
                refresh_token: None,
            };
            let helix = HelixClient::from_shared_store(
                h,
                &creds,
                store,
                std::time::Duration::from_secs(60),
            )
            .await
            .map_err(|e| FunctionsError::Config(format!("Helix client: {e}")))?;
            app = app.with_downloads(Arc::new(HelixDownloads::links(Arc::new(helix))));
        }
    }
    Ok(app)
}
