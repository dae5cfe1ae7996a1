//! The Twitch user token pair in Secrets Manager, with a DynamoDB lease around refreshes.

use std::future::Future;

use clipper_models::Millis;

use super::{error_code, sdk_error, DynamoLease};
use crate::error::{FunctionsError, Result};
use crate::handlers::metrics::{self, COUNTS};
use crate::roles::TokenStore;
use crate::twitch::{Secret, UserTokens};

/// The OAuth client secret held in the secret `id` (name or ARN), read once (cold start):
/// trimmed, `None` when `id` is `None` or the secret is empty. The clip, notify and dashboard
/// functions read it from `TWITCH_CLIENT_SECRET_ID` this way.
pub async fn read_client_secret(
    client: &aws_sdk_secretsmanager::Client,
    id: Option<&str>,
) -> Result<Option<Secret>> {
    let Some(id) = id.map(str::trim).filter(|i| !i.is_empty()) else {
        return Ok(None);
    };
    metrics::add(&COUNTS.secrets_calls, 1);
    let out = client
        .get_secret_value()
        .secret_id(id)
        .send()
        .await
        .map_err(|e| sdk_error("secretsmanager", "GetSecretValue", e))?;
    Ok(out
        .secret_string()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(Secret::new))
}

/// The user token pair as one JSON secret
/// (`{"access_token","refresh_token","expires_at_ms"}`).
///
/// Refresh tokens may rotate and be single-use, so two Lambda instances must never refresh the
/// same pair at once: [`SecretsManagerTokenStore::refresh_guarded`] takes a short lease, re-reads
/// the secret, and reuses a pair another worker already rotated instead of spending the old
/// refresh token again.
#[derive(Debug, Clone)]
pub struct SecretsManagerTokenStore {
    client: aws_sdk_secretsmanager::Client,
    secret_id: String,
    lease: Option<DynamoLease>,
    lease_ttl_ms: Millis,
    lease_wait_ms: Millis,
}

impl SecretsManagerTokenStore {
    pub fn new(client: aws_sdk_secretsmanager::Client, secret_id: impl Into<String>) -> Self {
        SecretsManagerTokenStore {
            client,
            secret_id: secret_id.into(),
            lease: None,
            lease_ttl_ms: 15_000,
            lease_wait_ms: 20_000,
        }
    }

    /// Serialise refreshes across workers with this lease table.
    pub fn with_lease(mut self, lease: DynamoLease) -> Self {
        self.lease = Some(lease);
        self
    }

    /// Refresh the pair whose access token `rejected` was refused, once across all workers:
    /// under the lease, re-read the secret; if it already holds another access token, return
    /// it (someone rotated it); else run `refresh` on the stored refresh token, save the new
    /// pair, and return it. Without a lease configured only the re-read protects.
    pub async fn refresh_guarded<F, Fut>(&self, rejected: &Secret, refresh: F) -> Result<UserTokens>
    where
        F: FnOnce(Secret) -> Fut,
        Fut: Future<Output = Result<UserTokens>>,
    {
        let guard = match &self.lease {
            Some(l) => {
                let g = l
                    .acquire(
                        &format!("token:{}", self.secret_id),
                        self.lease_ttl_ms,
                        self.lease_wait_ms,
                        200,
                    )
                    .await?;
                if g.is_none() {
                    return Err(FunctionsError::Backend {
                        service: "dynamodb",
                        operation: "token lease",
                        message: "another worker holds the token refresh lease".into(),
                        retryable: true,
                    });
                }
                g
            }
            None => None,
        };
        let result = async {
            let stored = self.load().await?.ok_or_else(|| {
                FunctionsError::Config(format!("secret {} holds no token pair", self.secret_id))
            })?;
            if &stored.access_token != rejected {
                tracing::info!("user token already rotated by another worker; reusing it");
                return Ok(stored);
            }
            let new = refresh(stored.refresh_token.clone()).await?;
            // The old refresh token may be spent now: never lose the new pair. Retry the
            // write under the lease; if it still fails, hand the pair back with the error
            // (the caller keeps using it and saves it again later).
            if let Err(e) = crate::roles::save_rotated(self, &new).await {
                return Err(FunctionsError::TokenNotSaved {
                    tokens: Box::new(new),
                    source: Box::new(e),
                });
            }
            tracing::info!("user token refreshed and stored");
            Ok(new)
        }
        .await;
        if let (Some(l), Some(g)) = (&self.lease, guard) {
            if let Err(e) = l.release(g).await {
                tracing::warn!(error = %e, "cannot release the token lease; it expires by itself");
            }
        }
        result
    }
}

impl TokenStore for SecretsManagerTokenStore {
    /// Clip instances share this secret: rotate under the DynamoDB lease, re-reading the secret
    /// first and reusing a pair another instance already rotated
    /// ([`SecretsManagerTokenStore::refresh_guarded`]), so a single-use refresh token is never
    /// spent twice.
    async fn rotate<F, Fut>(
        &self,
        rejected: &Secret,
        _current: &UserTokens,
        refresh: F,
    ) -> std::result::Result<UserTokens, crate::twitch::HelixError>
    where
        F: FnOnce(Secret) -> Fut + Send,
        Fut: Future<Output = std::result::Result<UserTokens, crate::twitch::HelixError>> + Send,
    {
        let twitch_error: std::sync::Mutex<Option<crate::twitch::HelixError>> =
            std::sync::Mutex::new(None);
        let result = self
            .refresh_guarded(rejected, |refresh_token| async {
                match refresh(refresh_token).await {
                    Ok(t) => Ok(t),
                    Err(e) => {
                        let message = e.to_string();
                        if let Ok(mut slot) = twitch_error.lock() {
                            *slot = Some(e);
                        }
                        Err(FunctionsError::Backend {
                            service: "twitch",
                            operation: "token refresh",
                            message,
                            retryable: false,
                        })
                    }
                }
            })
            .await;
        match result {
            Ok(t) => Ok(t),
            Err(FunctionsError::TokenNotSaved { tokens, source }) => {
                Err(crate::twitch::HelixError::NotPersisted { tokens, source })
            }
            Err(e) => Err(twitch_error
                .into_inner()
                .ok()
                .flatten()
                .unwrap_or_else(|| crate::twitch::HelixError::from_store(e))),
        }
    }

    async fn load(&self) -> Result<Option<UserTokens>> {
        metrics::add(&COUNTS.secrets_calls, 1);
        let res = self
            .client
            .get_secret_value()
            .secret_id(&self.secret_id)
            .send()
            .await;
        let out = match res {
            Ok(o) => o,
            Err(e) if error_code(&e) == Some("ResourceNotFoundException") => return Ok(None),
            Err(e) => return Err(sdk_error("secretsmanager", "GetSecretValue", e)),
        };
        let text = out.secret_string().unwrap_or("").trim();
        if text.is_empty() || text == "{}" {
            return Ok(None);
        }
        serde_json::from_str(text)
            .map(Some)
            .map_err(|source| FunctionsError::Decode {
                what: "token secret",
                source,
            })
    }

    async fn save(&self, tokens: &UserTokens) -> Result<()> {
        let json = serde_json::to_string(tokens).map_err(|source| FunctionsError::Decode {
            what: "token secret",
            source,
        })?;
        metrics::add(&COUNTS.secrets_calls, 1);
        self.client
            .put_secret_value()
            .secret_id(&self.secret_id)
            .secret_string(json)
            .send()
            .await
            .map_err(|e| sdk_error("secretsmanager", "PutSecretValue", e))?;
        Ok(())
    }
}
