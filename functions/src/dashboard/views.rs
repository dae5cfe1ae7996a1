//! View counts of confirmed clips from Helix Get Clips (`GET /helix/clips?id=...`, 100 ids a
//! call), cached: the whole set is refreshed at most every `max_age` (10 min by default), and
//! a clip not seen before is fetched once, when it first shows up. A failing Helix is logged
//! and answered with what the cache has (views are a nicety, never a reason for a 500).

use std::collections::{HashMap, HashSet};
use std::fmt::Debug;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::roles::ClipApi;
use crate::twitch::HelixError;

/// Refresh period of [`ViewCache`] unless told otherwise.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(600);

/// What Get Clips tells about a clip that the pages show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClipStats {
    pub views: u64,
    /// Twitch's preview image (shown where the player cannot be embedded).
    pub thumbnail_url: Option<String>,
}

/// Where view counts come from.
#[async_trait::async_trait]
pub trait ViewSource: Send + Sync + Debug {
    /// Views (and thumbnails) of the clips among `clip_ids` that exist (others are absent).
    async fn views(&self, clip_ids: &[String]) -> Result<HashMap<String, ClipStats>, HelixError>;
}

/// Any [`ClipApi`] (the Helix client) as a [`ViewSource`].
#[derive(Debug)]
pub struct ClipApiViews<A>(pub Arc<A>);

#[async_trait::async_trait]
impl<A: ClipApi + Debug + 'static> ViewSource for ClipApiViews<A> {
    async fn views(&self, clip_ids: &[String]) -> Result<HashMap<String, ClipStats>, HelixError> {
        Ok(self
            .0
            .get_clips(clip_ids)
            .await?
            .into_iter()
            .map(|c| {
                let thumb = Some(c.thumbnail_url).filter(|t| t.starts_with("https://"));
                (
                    c.id,
                    ClipStats {
                        views: c.view_count,
                        thumbnail_url: thumb,
                    },
                )
            })
            .collect())
    }
}

#[derive(Debug, Default)]
struct State {
    /// When the whole set was last fetched.
    refreshed: Option<Instant>,
    /// Ids asked about (found or not), so a missing clip is not asked again before a refresh.
    asked: HashSet<String>,
    views: HashMap<String, ClipStats>,
}

/// View counts, cached.
#[derive(Debug)]
pub struct ViewCache {
    source: Arc<dyn ViewSource>,
    max_age: Duration,
    /// Held across a fetch: concurrent pages wait for one call instead of making several.
    state: tokio::sync::Mutex<State>,
}

impl ViewCache {
    pub fn new(source: Arc<dyn ViewSource>, max_age: Duration) -> Self {
        ViewCache {
            source,
            max_age,
            state: tokio::sync::Mutex::default(),
        }
    }

    /// Views and thumbnails of `clip_ids` (those Twitch knows).
    pub async fn views(&self, clip_ids: &[String]) -> HashMap<String, ClipStats> {
        let mut st = self.state.lock().await;
        let stale = st.refreshed.is_none_or(|t| t.elapsed() >= self.max_age);
        let wanted: Vec<String> = if stale {
            let mut all: Vec<String> = clip_ids.to_vec();
            all.sort();
            all.dedup();
            all
        } else {
            let mut new: Vec<String> = clip_ids
                .iter()
                .filter(|id| !st.asked.contains(*id))
                .cloned()
                .collect();
            new.sort();
            new.dedup();
            new
        };
        if !wanted.is_empty() {
            match self.source.views(&wanted).await {
                Ok(found) => {
                    tracing::debug!(
                        asked = wanted.len(),
                        found = found.len(),
                        full = stale,
                        "clip views fetched"
                    );
                    st.asked.extend(wanted);
                    st.views.extend(found);
                }
                Err(e) => tracing::warn!(error = %e, "clip views not fetched; showing cached ones"),
            }
            if stale {
                st.refreshed = Some(Instant::now());
            }
        } else if stale {
            st.refreshed = Some(Instant::now());
        }
        clip_ids
            .iter()
            .filter_map(|id| st.views.get(id).map(|v| (id.clone(), v.clone())))
            .collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Debug, Default)]
    struct Counting(Mutex<Vec<Vec<String>>>);

    #[async_trait::async_trait]
    impl ViewSource for Counting {
        async fn views(&self, ids: &[String]) -> Result<HashMap<String, ClipStats>, HelixError> {
            self.0.lock().unwrap().push(ids.to_vec());
            Ok(ids
                .iter()
                .map(|i| {
                    let s = ClipStats {
                        views: i.len() as u64,
                        thumbnail_url: None,
                    };
                    (i.clone(), s)
                })
                .collect())
        }
    }

    #[tokio::test]
    async fn refreshes_at_most_every_max_age_and_fetches_new_ids_once() {
        let src = Arc::new(Counting::default());
        let cache = ViewCache::new(src.clone(), Duration::from_secs(600));
        let ids = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(cache.views(&ids(&["a", "bb"])).await.len(), 2);
        assert_eq!(cache.views(&ids(&["a", "bb"])).await["bb"].views, 2);
        assert_eq!(src.0.lock().unwrap().len(), 1, "cached");
        cache.views(&ids(&["a", "ccc"])).await;
        assert_eq!(src.0.lock().unwrap()[1], ids(&["ccc"]), "only the new id");
        let cache = ViewCache::new(src.clone(), Duration::ZERO);
        cache.views(&ids(&["a"])).await;
        cache.views(&ids(&["a"])).await;
        assert_eq!(
            src.0.lock().unwrap().len(),
            4,
            "max age 0: every call refreshes"
        );
    }
}
