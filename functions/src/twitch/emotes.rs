//! Emote names from Twitch (through Helix) and the third-party providers 7TV, BTTV and FFZ,
//! global and per channel, cached, for the channel's emote vocabulary
//! ([`clipper_models::emotes::EmoteVocab::add_list`]).
//!
//! Failures never empty a list: on an HTTP error, timeout or undecodable body the last known
//! list is kept and one warning names the provider and the channel. A 404 on a channel lookup
//! means the channel has no account at that provider: an empty list, not a warning.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex as StdMutex, PoisonError};
use std::time::Duration;

use clipper_models::emotes::EmoteSource;
use serde::Deserialize;

use super::error::{chain, HelixError};
use super::helix::HelixClient;
use super::join_url;
use crate::local::MemoryTokenStore;
use crate::roles::TokenStore;

type HResult<T> = std::result::Result<T, HelixError>;

/// One emote provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EmoteProvider {
    /// Twitch's own emotes (Helix, needs a client id and a token).
    Twitch,
    /// 7TV (`7tv.io`).
    SevenTv,
    /// BetterTTV.
    Bttv,
    /// FrankerFaceZ.
    Ffz,
}

impl EmoteProvider {
    /// All providers, in the order lists are returned.
    pub const ALL: [EmoteProvider; 4] = [
        EmoteProvider::Twitch,
        EmoteProvider::SevenTv,
        EmoteProvider::Bttv,
        EmoteProvider::Ffz,
    ];

    /// The vocabulary source this provider's emotes are recorded under.
    pub fn source(self) -> EmoteSource {
        match self {
            EmoteProvider::Twitch => EmoteSource::Twitch,
            EmoteProvider::SevenTv => EmoteSource::SevenTv,
            EmoteProvider::Bttv => EmoteSource::Bttv,
            EmoteProvider::Ffz => EmoteSource::Ffz,
        }
    }

    /// Short name for logs.
    pub fn name(self) -> &'static str {
        match self {
            EmoteProvider::Twitch => "twitch",
            EmoteProvider::SevenTv => "7tv",
            EmoteProvider::Bttv => "bttv",
            EmoteProvider::Ffz => "ffz",
        }
    }
}

/// Base URLs of the third-party providers (configurable for tests and proxies).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmoteProviders {
    /// Default `https://7tv.io`.
    pub seventv: url::Url,
    /// Default `https://api.betterttv.net`.
    pub bttv: url::Url,
    /// Default `https://api.frankerfacez.com`.
    pub ffz: url::Url,
    /// Per-request timeout. Default 10 s.
    pub timeout: Duration,
}

impl Default for EmoteProviders {
    fn default() -> Self {
        let parse = |s: &str| {
            url::Url::parse(s).unwrap_or_else(|e| unreachable!("built-in URL {s} is valid: {e}"))
        };
        EmoteProviders {
            seventv: parse("https://7tv.io"),
            bttv: parse("https://api.betterttv.net"),
            ffz: parse("https://api.frankerfacez.com"),
            timeout: Duration::from_secs(10),
        }
    }
}

/// Emote names of one provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmoteList {
    pub provider: EmoteProvider,
    /// The vocabulary source to record them under.
    pub source: EmoteSource,
    pub names: Vec<String>,
}

/// What a refresh did, per provider list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RefreshOutcome {
    /// Lists fetched and stored (including empty ones after a 404).
    pub fetched: usize,
    /// Lists that failed (last known kept, one warning each).
    pub failed: usize,
    /// Lists not attempted (Twitch without credentials).
    pub skipped: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Scope {
    Global,
    Channel(String),
}

impl Scope {
    fn channel(&self) -> &str {
        match self {
            Scope::Global => "global",
            Scope::Channel(id) => id,
        }
    }
}

/// Cached emote lists of all providers: global once, per channel per broadcaster id; refresh on
/// demand ([`EmoteCatalog::refresh_global`], [`EmoteCatalog::refresh_channel`], every ~30 min
/// by the caller).
#[derive(Debug)]
pub struct EmoteCatalog<S = MemoryTokenStore> {
    http: reqwest::Client,
    providers: EmoteProviders,
    helix: Option<Arc<HelixClient<S>>>,
    cache: StdMutex<HashMap<(EmoteProvider, Scope), Vec<String>>>,
    attempted: StdMutex<HashSet<Scope>>,
}

impl EmoteCatalog {
    /// A catalog of the third-party providers only (no Twitch credentials).
    pub fn without_twitch(providers: EmoteProviders) -> HResult<EmoteCatalog> {
        EmoteCatalog::new(providers, None)
    }
}

impl<S: TokenStore> EmoteCatalog<S> {
    /// A catalog; Twitch's own emotes come through `helix` when it can read (client secret or
    /// user token), and are skipped otherwise.
    pub fn new(providers: EmoteProviders, helix: Option<Arc<HelixClient<S>>>) -> HResult<Self> {
        let http = reqwest::Client::builder()
            .timeout(providers.timeout)
            .user_agent(concat!("twitch-clipper/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| HelixError::Config(format!("HTTP client: {e}")))?;
        Ok(EmoteCatalog {
            http,
            providers,
            helix,
            cache: StdMutex::new(HashMap::new()),
            attempted: StdMutex::new(HashSet::new()),
        })
    }

    /// Fetch every provider's global list now.
    pub async fn refresh_global(&self) -> RefreshOutcome {
        self.refresh(Scope::Global).await
    }

    /// Fetch every provider's list of the channel `broadcaster_id` (Twitch user id) now.
    pub async fn refresh_channel(&self, broadcaster_id: &str) -> RefreshOutcome {
        self.refresh(Scope::Channel(broadcaster_id.to_owned()))
            .await
    }

    /// The cached global lists (providers with a known list only).
    pub fn global(&self) -> Vec<EmoteList> {
        self.cached(&[Scope::Global])
    }

    /// The cached lists of one channel (without the global ones).
    pub fn channel(&self, broadcaster_id: &str) -> Vec<EmoteList> {
        self.cached(&[Scope::Channel(broadcaster_id.to_owned())])
    }

    /// Global and channel lists merged per provider, fetching the global lists and this
    /// channel's lists the first time they are asked for (later calls use the cache; refresh
    /// explicitly to update).
    pub async fn lists_for(&self, broadcaster_id: Option<&str>) -> Vec<EmoteList> {
        let mut scopes = vec![Scope::Global];
        if let Some(id) = broadcaster_id {
            scopes.push(Scope::Channel(id.to_owned()));
        }
        for scope in &scopes {
            let first = self
                .attempted
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(scope.clone());
            if first {
                self.refresh(scope.clone()).await;
            }
        }
        self.cached(&scopes)
    }

    fn cached(&self, scopes: &[Scope]) -> Vec<EmoteList> {
        let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        let mut out = Vec::new();
        for provider in EmoteProvider::ALL {
            let mut names: Vec<String> = Vec::new();
            // Linear merge (a provider's list can hold thousands of names; `Vec::contains`
            // per name made this quadratic).
            let mut seen: std::collections::HashSet<&str> = std::collections::HashSet::new();
            let mut known = false;
            for scope in scopes {
                if let Some(list) = cache.get(&(provider, scope.clone())) {
                    known = true;
                    for n in list {
                        if seen.insert(n.as_str()) {
                            names.push(n.clone());
                        }
                    }
                }
            }
            if known {
                out.push(EmoteList {
                    provider,
                    source: provider.source(),
                    names,
                });
            }
        }
        out
    }

    async fn refresh(&self, scope: Scope) -> RefreshOutcome {
        self.attempted
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(scope.clone());
        let (twitch, seventv, bttv, ffz) = tokio::join!(
            self.fetch_twitch(&scope),
            self.fetch_seventv(&scope),
            self.fetch_bttv(&scope),
            self.fetch_ffz(&scope),
        );
        let mut outcome = RefreshOutcome::default();
        let results = [
            (EmoteProvider::Twitch, twitch),
            (EmoteProvider::SevenTv, seventv.map(Some)),
            (EmoteProvider::Bttv, bttv.map(Some)),
            (EmoteProvider::Ffz, ffz.map(Some)),
        ];
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        for (provider, result) in results {
            match result {
                Ok(Some(names)) => {
                    outcome.fetched += 1;
                    tracing::debug!(
                        provider = provider.name(),
                        channel = scope.channel(),
                        emotes = names.len(),
                        "emote list fetched"
                    );
                    cache.insert((provider, scope.clone()), dedup(names));
                }
                Ok(None) => outcome.skipped += 1,
                Err(e) => {
                    outcome.failed += 1;
                    let kept = cache.get(&(provider, scope.clone())).map_or(0, Vec::len);
                    tracing::warn!(
                        provider = provider.name(),
                        channel = scope.channel(),
                        kept,
                        error = %chain(&e),
                        "emote list fetch failed; keeping the last known list"
                    );
                }
            }
        }
        outcome
    }

    async fn fetch_twitch(&self, scope: &Scope) -> HResult<Option<Vec<String>>> {
        let Some(helix) = self.helix.as_ref().filter(|h| h.can_read()) else {
            return Ok(None);
        };
        let r = match scope {
            Scope::Global => helix.get_global_emotes().await,
            Scope::Channel(id) => helix.get_channel_emotes(id).await,
        };
        match r {
            Err(HelixError::Status { status: 404, .. }) => Ok(Some(Vec::new())),
            other => other.map(Some),
        }
    }

    /// GET `url` and decode it as `T`; `None` on 404.
    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        operation: &'static str,
        url: String,
    ) -> HResult<Option<T>> {
        let resp = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|source| HelixError::Transport { operation, source })?;
        let status = resp.status().as_u16();
        if status == 404 {
            return Ok(None);
        }
        let body = super::body_capped(resp, operation).await?;
        if !(200..300).contains(&status) {
            let message: String = String::from_utf8_lossy(&body).chars().take(200).collect();
            return Err(if status >= 500 {
                HelixError::Server { status, message }
            } else {
                HelixError::Status { status, message }
            });
        }
        serde_json::from_slice(&body)
            .map(Some)
            .map_err(|source| HelixError::Decode { operation, source })
    }

    async fn fetch_seventv(&self, scope: &Scope) -> HResult<Vec<String>> {
        let base = &self.providers.seventv;
        let set = match scope {
            Scope::Global => {
                self.get_json::<SevenTvSet>(
                    "7tv global emotes",
                    join_url(base, "v3/emote-sets/global"),
                )
                .await?
            }
            Scope::Channel(id) => self
                .get_json::<SevenTvUser>(
                    "7tv channel emotes",
                    join_url(base, &format!("v3/users/twitch/{id}")),
                )
                .await?
                .and_then(|u| u.emote_set),
        };
        Ok(set
            .and_then(|s| s.emotes)
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.name)
            .collect())
    }

    async fn fetch_bttv(&self, scope: &Scope) -> HResult<Vec<String>> {
        let base = &self.providers.bttv;
        Ok(match scope {
            Scope::Global => self
                .get_json::<Vec<BttvEmote>>(
                    "bttv global emotes",
                    join_url(base, "3/cached/emotes/global"),
                )
                .await?
                .unwrap_or_default()
                .into_iter()
                .map(|e| e.code)
                .collect(),
            Scope::Channel(id) => self
                .get_json::<BttvUser>(
                    "bttv channel emotes",
                    join_url(base, &format!("3/cached/users/twitch/{id}")),
                )
                .await?
                .map(|u| {
                    u.channel_emotes
                        .into_iter()
                        .chain(u.shared_emotes)
                        .map(|e| e.code)
                        .collect()
                })
                .unwrap_or_default(),
        })
    }

    async fn fetch_ffz(&self, scope: &Scope) -> HResult<Vec<String>> {
        let base = &self.providers.ffz;
        let (op, url) = match scope {
            Scope::Global => ("ffz global emotes", join_url(base, "v1/set/global")),
            Scope::Channel(id) => (
                "ffz channel emotes",
                join_url(base, &format!("v1/room/id/{id}")),
            ),
        };
        let Some(body) = self.get_json::<FfzSets>(op, url).await? else {
            return Ok(Vec::new());
        };
        // The global answer also carries sets given to single users; `default_sets` names the
        // ones everybody has. Rooms have no `default_sets`: all their sets count.
        let mut ids: Vec<&String> = body.sets.keys().collect();
        if !body.default_sets.is_empty() {
            ids.retain(|k| body.default_sets.iter().any(|d| &d.to_string() == *k));
        }
        ids.sort();
        Ok(ids
            .into_iter()
            .filter_map(|k| body.sets.get(k))
            .flat_map(|s| s.emoticons.iter().map(|e| e.name.clone()))
            .collect())
    }
}

fn dedup(names: Vec<String>) -> Vec<String> {
    let mut seen = HashSet::with_capacity(names.len());
    names
        .into_iter()
        .filter(|n| !n.trim().is_empty() && seen.insert(n.clone()))
        .collect()
}

#[derive(Deserialize)]
struct Named {
    name: String,
}

#[derive(Deserialize)]
struct SevenTvSet {
    #[serde(default)]
    emotes: Option<Vec<Named>>,
}

#[derive(Deserialize)]
struct SevenTvUser {
    #[serde(default)]
    emote_set: Option<SevenTvSet>,
}

#[derive(Deserialize)]
struct BttvEmote {
    code: String,
}

#[derive(Deserialize)]
struct BttvUser {
    #[serde(default, rename = "channelEmotes")]
    channel_emotes: Vec<BttvEmote>,
    #[serde(default, rename = "sharedEmotes")]
    shared_emotes: Vec<BttvEmote>,
}

#[derive(Deserialize)]
struct FfzSet {
    #[serde(default)]
    emoticons: Vec<Named>,
}

#[derive(Deserialize)]
struct FfzSets {
    #[serde(default)]
    default_sets: Vec<u64>,
    sets: HashMap<String, FfzSet>,
}
