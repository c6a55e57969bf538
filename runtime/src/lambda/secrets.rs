use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::de::DeserializeOwned;

use super::{Clock, Sensitive};

/// A secret could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// The secret does not exist (or this role may not read it).
    #[error("secret {id:?} was not found")]
    NotFound {
        /// The secret id or ARN asked for.
        id: String,
    },
    /// The secret exists but holds no string value.
    #[error("secret {id:?} has no string value")]
    NotString {
        /// The secret id or ARN asked for.
        id: String,
    },
    /// The secret's string is not the JSON document expected.
    #[error("secret {id:?} is not the expected json document")]
    Malformed {
        /// The secret id or ARN asked for.
        id: String,
        /// Why it did not parse (the message never contains the secret itself).
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Secrets Manager could not be reached or answered with an error.
    #[error("secrets manager is unavailable while reading {id:?}")]
    Unavailable {
        /// The secret id or ARN asked for.
        id: String,
        /// The underlying failure.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Where secrets come from: the port behind [`SecretCache`].
pub trait SecretSource: Send + Sync {
    /// Fetches the current string value of secret `id`.
    fn fetch<'a>(
        &'a self,
        id: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<Sensitive<String>, SecretError>> + Send + 'a>>;
}

/// The real adapter: AWS Secrets Manager `GetSecretValue`.
#[derive(Debug, Clone)]
pub struct SecretsManagerSource {
    client: aws_sdk_secretsmanager::Client,
}

impl SecretsManagerSource {
    /// An adapter using the given SDK configuration (see [`super::load_sdk_config`]).
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        Self {
            client: aws_sdk_secretsmanager::Client::new(config),
        }
    }
}

impl SecretSource for SecretsManagerSource {
    fn fetch<'a>(
        &'a self,
        id: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<Sensitive<String>, SecretError>> + Send + 'a>> {
        Box::pin(async move {
            let out = self
                .client
                .get_secret_value()
                .secret_id(id)
                .send()
                .await
                .map_err(|e| {
                    let service = e.into_service_error();
                    if service.is_resource_not_found_exception() {
                        SecretError::NotFound { id: id.to_owned() }
                    } else {
                        SecretError::Unavailable {
                            id: id.to_owned(),
                            source: Box::new(service),
                        }
                    }
                })?;
            out.secret_string
                .map(Sensitive::new)
                .ok_or_else(|| SecretError::NotString { id: id.to_owned() })
        })
    }
}

/// Secrets cached for a TTL: a warm invocation reads no secret over the network, and a rotated
/// secret is picked up at most one TTL later (or at once after [`SecretCache::invalidate`], e.g.
/// when the downstream system answers 401).
pub struct SecretCache {
    source: Arc<dyn SecretSource>,
    clock: Arc<dyn Clock>,
    ttl_ms: i64,
    entries: Mutex<HashMap<String, (i64, Sensitive<String>)>>,
}

impl std::fmt::Debug for SecretCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretCache")
            .field("ttl_ms", &self.ttl_ms)
            .finish_non_exhaustive()
    }
}

impl SecretCache {
    /// The default time a secret stays cached: five minutes, the common Lambda extension default.
    pub const DEFAULT_TTL: Duration = Duration::from_secs(300);

    /// A cache over `source` whose entries live `ttl`.
    pub fn new(source: Arc<dyn SecretSource>, clock: Arc<dyn Clock>, ttl: Duration) -> Self {
        Self {
            source,
            clock,
            ttl_ms: i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX),
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The secret's string value, from the cache while fresh.
    pub async fn get(&self, id: &str) -> Result<Sensitive<String>, SecretError> {
        let now = self.clock.now_ms();
        if let Some((fetched_at, value)) = self.lock().get(id)
            && now.saturating_sub(*fetched_at) < self.ttl_ms
        {
            return Ok(value.clone());
        }
        // Fetch outside the lock: two concurrent misses may both fetch, which costs one extra
        // call but never blocks the runtime.
        let value = self.source.fetch(id).await?;
        self.lock()
            .insert(id.to_owned(), (self.clock.now_ms(), value.clone()));
        Ok(value)
    }

    /// The secret parsed as a JSON document (e.g. `{"clientId":..,"clientSecret":..}`).
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        id: &str,
    ) -> Result<Sensitive<T>, SecretError> {
        let raw = self.get(id).await?;
        serde_json::from_str(raw.expose())
            .map(Sensitive::new)
            .map_err(|e| SecretError::Malformed {
                id: id.to_owned(),
                // Only the position, never serde's message: it may quote the secret's text.
                source: format!("invalid json at line {} column {}", e.line(), e.column()).into(),
            })
    }

    /// Forgets a cached secret, so the next `get` fetches it again.
    pub fn invalidate(&self, id: &str) {
        self.lock().remove(id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (i64, Sensitive<String>)>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lambda::ManualClock;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Counting(AtomicUsize);

    impl SecretSource for Counting {
        fn fetch<'a>(
            &'a self,
            id: &'a str,
        ) -> Pin<Box<dyn Future<Output = Result<Sensitive<String>, SecretError>> + Send + 'a>>
        {
            Box::pin(async move {
                let n = self.0.fetch_add(1, Ordering::SeqCst);
                if id == "missing" {
                    return Err(SecretError::NotFound { id: id.to_owned() });
                }
                Ok(Sensitive::new(format!("{{\"password\":\"pw{n}\"}}")))
            })
        }
    }

    #[derive(serde::Deserialize)]
    struct Creds {
        password: String,
    }

    #[tokio::test]
    async fn caches_for_the_ttl_then_refetches() {
        let source = Arc::new(Counting(AtomicUsize::new(0)));
        let clock = Arc::new(ManualClock::new(0));
        let cache = SecretCache::new(source.clone(), clock.clone(), Duration::from_secs(60));
        assert_eq!(
            cache
                .get_json::<Creds>("db")
                .await
                .unwrap()
                .expose()
                .password,
            "pw0"
        );
        clock.advance(Duration::from_secs(59));
        assert_eq!(
            cache
                .get_json::<Creds>("db")
                .await
                .unwrap()
                .expose()
                .password,
            "pw0"
        );
        assert_eq!(source.0.load(Ordering::SeqCst), 1);
        clock.advance(Duration::from_secs(1));
        assert_eq!(
            cache
                .get_json::<Creds>("db")
                .await
                .unwrap()
                .expose()
                .password,
            "pw1"
        );
        cache.invalidate("db");
        assert_eq!(
            cache
                .get_json::<Creds>("db")
                .await
                .unwrap()
                .expose()
                .password,
            "pw2"
        );
        assert!(matches!(
            cache.get("missing").await,
            Err(SecretError::NotFound { .. })
        ));
    }

    #[tokio::test]
    async fn malformed_json_error_does_not_quote_the_secret() {
        struct Raw;
        impl SecretSource for Raw {
            fn fetch<'a>(
                &'a self,
                _: &'a str,
            ) -> Pin<Box<dyn Future<Output = Result<Sensitive<String>, SecretError>> + Send + 'a>>
            {
                Box::pin(async { Ok(Sensitive::new("s3cr3t-not-json".to_owned())) })
            }
        }
        let cache = SecretCache::new(Arc::new(Raw), Arc::new(ManualClock::new(0)), Duration::ZERO);
        let err = cache.get_json::<Creds>("x").await.unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(!text.contains("s3cr3t"), "{text}");
    }
}
