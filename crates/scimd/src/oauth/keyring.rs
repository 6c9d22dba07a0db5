//! The keys trusted issuers sign assertions with: a JWKS document kept with the client, or one
//! fetched from the issuer's JWKS URL (through the same guarded client as webhooks: public
//! addresses only unless allowed, 5 s, 64 KiB) and cached for five minutes. An assertion naming
//! a key the cache lacks fetches the document again, at most every 30 seconds per URL, so
//! callers cannot make the server fetch in a loop.

use super::jwk::JwkSet;
use crate::webhooks::guard;
use scimd_core::oauth::{MAX_JWKS_BYTES, TrustKeys};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
const FRESH_FOR: Duration = Duration::from_secs(300);
const MIN_REFETCH: Duration = Duration::from_secs(30);
/// URLs cached at most (each is an admin's trust; more are forgotten, not refused).
const MAX_CACHED: usize = 256;

#[derive(Debug)]
struct Cached {
    keys: Option<Arc<JwkSet>>,
    fetched_at: Option<Instant>,
    tried_at: Instant,
}

enum Plan {
    Use(Arc<JwkSet>),
    Unavailable,
    Fetch,
}

#[derive(Debug)]
pub(crate) struct Keyring {
    allow_private: bool,
    client: tokio::sync::OnceCell<reqwest::Client>,
    cache: Mutex<HashMap<String, Cached>>,
}

impl Keyring {
    pub fn new(allow_private: bool) -> Self {
        Self {
            allow_private,
            client: tokio::sync::OnceCell::new(),
            cache: Mutex::default(),
        }
    }

    /// The keys `trust_keys` names, with a key `kid` if one is asked for and can be had.
    pub async fn keys(
        &self,
        trust_keys: &TrustKeys,
        kid: Option<&str>,
    ) -> Result<Arc<JwkSet>, String> {
        let url = match trust_keys {
            TrustKeys::Jwks(document) => return JwkSet::parse(document).map(Arc::new),
            TrustKeys::JwksUrl(url) => url,
        };
        match self.plan(url, kid, Instant::now()) {
            Plan::Use(keys) => Ok(keys),
            Plan::Unavailable => Err(format!("the JWKS at {url} could not be fetched lately")),
            Plan::Fetch => {
                let fetched = self.fetch(url).await.map(Arc::new);
                let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
                if let (Ok(keys), Some(entry)) = (&fetched, cache.get_mut(url)) {
                    entry.keys = Some(Arc::clone(keys));
                    entry.fetched_at = Some(Instant::now());
                }
                fetched
            }
        }
    }

    /// Whether the cached keys of `url` do, or it is to be fetched now (then the try is noted
    /// first, so that callers arriving meanwhile do not fetch too).
    fn plan(&self, url: &str, kid: Option<&str>, now: Instant) -> Plan {
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = cache.get(url);
        let keys = entry.and_then(|entry| entry.keys.clone());
        let fresh = entry
            .and_then(|entry| entry.fetched_at)
            .is_some_and(|at| now.duration_since(at) < FRESH_FOR);
        let lacks_kid = kid.is_some_and(|kid| keys.as_ref().is_some_and(|keys| !keys.has(kid)));
        let may_fetch = entry.is_none_or(|entry| now.duration_since(entry.tried_at) >= MIN_REFETCH);
        if (fresh && !lacks_kid) || !may_fetch {
            return keys.map_or(Plan::Unavailable, Plan::Use);
        }
        if cache.len() >= MAX_CACHED && !cache.contains_key(url) {
            cache.clear();
        }
        cache
            .entry(url.to_owned())
            .or_insert(Cached {
                keys: None,
                fetched_at: None,
                tried_at: now,
            })
            .tried_at = now;
        Plan::Fetch
    }

    async fn fetch(&self, url: &str) -> Result<JwkSet, String> {
        let client = self
            .client
            .get_or_try_init(|| async {
                guard::guarded_client(self.allow_private, FETCH_TIMEOUT)
                    .and_then(|builder| {
                        Ok(builder
                            .user_agent(concat!("scimd/", env!("CARGO_PKG_VERSION")))
                            .build()?)
                    })
                    .map_err(|error| format!("no HTTP client: {error}"))
            })
            .await?;
        let parsed = guard::parse_url(url).map_err(|reason| format!("JWKS URL: {reason}"))?;
        guard::literal_address_allowed(&parsed, self.allow_private)?;
        let mut response = client
            .get(parsed)
            .send()
            .await
            .map_err(|error| format!("fetching the JWKS at {url}: {error}"))?;
        if !response.status().is_success() {
            return Err(format!(
                "the JWKS at {url} answered {}",
                response.status().as_u16()
            ));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|error| format!("reading the JWKS at {url}: {error}"))?
        {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_JWKS_BYTES {
                return Err(format!("the JWKS at {url} is over {MAX_JWKS_BYTES} bytes"));
            }
        }
        JwkSet::parse(&String::from_utf8_lossy(&body))
    }
}
