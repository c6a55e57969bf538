//! Configuration of the transfer processor from the environment (Lambda and the poller), and
//! assembly of a [`Processor`] from it. Reading the environment does no I/O, so Lambda init
//! stays cheap; secrets and connections are fetched on first use.
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `TRANSFER_DB_URL` | `mysql://..` or `sqlite:PATH` (local runs) | - |
//! | `TRANSFER_DB_SECRET_ID` | Secrets Manager secret with `{"url":..}` or RDS `{username,password,host,port,dbname}` | - |
//! | `CORE_BASE_URL` | core platform base URL | required |
//! | `CORE_CLIENT_ID`, `CORE_CLIENT_SECRET` | gateway credentials (local runs) | - |
//! | `CORE_SECRET_ID` | secret with `{"clientId":..,"clientSecret":..}` | - |
//! | `NOTIFICATION_TOPIC_ARN` | SNS topic | required |
//! | `TRANSFER_QUEUE_URL` | the queue (poller mode) | - |
//! | `TRANSFER_MAX_ATTEMPTS` | POSTs per transfer | 3 |
//! | `TRANSFER_LEASE_MS`, `TRANSFER_SETTLE_MS`, `TRANSFER_DEADLINE_MS`, `CORE_TIMEOUT_MS`, `CORE_MOVEMENT_DELAY_MS`, `TRANSFER_SEND_GUARD_MS`, `TRANSFER_BACKOFF_BASE_MS`, `TRANSFER_BACKOFF_CAP_MS` | see [`Policy`] | [`Policy::default`] |
//! | `TRANSFER_INLINE_WAIT_MS` | longest in-process wait before handing a retry to the queue | 2000 |
//! | `TRANSFER_DB_MAX_CONNECTIONS` | pool size | 4 |

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use super::machine::{Policy, PolicyError};
use super::ports::{CoreError, HttpCorePlatform, SnsNotifier};
use super::processor::{Processor, ProcessorParts};
use super::store::{MySqlStore, SqliteStore, StoreError, TransferStore};
use crate::lambda::{SecretCache, SecretError, Sensitive, SystemClock, SystemRng};

/// Where the transfer rows live.
#[derive(Debug, Clone)]
pub enum DbSource {
    /// A URL given directly.
    Url(Sensitive<String>),
    /// A Secrets Manager secret.
    Secret(String),
}

/// How the core platform credentials are found.
#[derive(Debug, Clone)]
pub enum CoreCredentials {
    /// Given directly.
    Direct {
        /// `X-Client-Id`.
        client_id: String,
        /// `X-Client-Secret`.
        client_secret: Sensitive<String>,
    },
    /// A Secrets Manager secret `{"clientId":..,"clientSecret":..}`.
    Secret(String),
}

/// The processor's configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Transfer rows.
    pub db: DbSource,
    /// Pool size.
    pub db_max_connections: u32,
    /// Core platform base URL.
    pub core_base_url: String,
    /// Core credentials.
    pub core_credentials: CoreCredentials,
    /// SNS topic for notifications.
    pub topic_arn: String,
    /// Queue (poller mode).
    pub queue_url: Option<String>,
    /// Limits.
    pub policy: Policy,
    /// Longest in-process wait.
    pub inline_wait_ms: i64,
}

/// The configuration is incomplete or invalid.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A required variable is missing.
    #[error("{0}: required; hint: {1}")]
    Missing(&'static str, &'static str),
    /// A variable does not parse.
    #[error("{name}: must be {expected}, got {got:?}")]
    Invalid {
        /// The variable.
        name: &'static str,
        /// What is allowed.
        expected: &'static str,
        /// What was found.
        got: String,
    },
    /// The limits contradict each other.
    #[error("transfer policy is unsafe")]
    Policy(#[from] PolicyError),
}

/// Assembling the processor failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A secret could not be read.
    #[error("reading a secret failed")]
    Secret(#[from] SecretError),
    /// The store could not be opened.
    #[error("opening the transfer store failed")]
    Store(#[from] StoreError),
    /// The core client could not be built.
    #[error("building the core platform client failed")]
    Core(#[from] CoreError),
    /// The configuration is invalid.
    #[error("invalid configuration")]
    Config(#[from] ConfigError),
    /// The database URL is neither mysql nor sqlite.
    #[error("transfer database url must start with mysql:// or sqlite:")]
    DbScheme,
}

impl Config {
    /// Reads the configuration through `var` (e.g. `|k| std::env::var(k).ok()`).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let num =
            |name: &'static str, default: i64| -> Result<i64, ConfigError> {
                match var(name) {
                    None => Ok(default),
                    Some(v) => v.trim().parse::<i64>().ok().filter(|n| *n >= 0).ok_or(
                        ConfigError::Invalid {
                            name,
                            expected: "a non-negative integer",
                            got: v,
                        },
                    ),
                }
            };
        let d = Policy::default();
        let policy = Policy {
            lease_ms: num("TRANSFER_LEASE_MS", d.lease_ms)?,
            settle_ms: num("TRANSFER_SETTLE_MS", d.settle_ms)?,
            deadline_ms: num("TRANSFER_DEADLINE_MS", d.deadline_ms)?,
            max_attempts: u32::try_from(num("TRANSFER_MAX_ATTEMPTS", i64::from(d.max_attempts))?)
                .unwrap_or(u32::MAX),
            send_guard_ms: num("TRANSFER_SEND_GUARD_MS", d.send_guard_ms)?,
            core_timeout_ms: num("CORE_TIMEOUT_MS", d.core_timeout_ms)?,
            movement_delay_ms: num("CORE_MOVEMENT_DELAY_MS", d.movement_delay_ms)?,
            backoff_base_ms: num("TRANSFER_BACKOFF_BASE_MS", d.backoff_base_ms)?,
            backoff_cap_ms: num("TRANSFER_BACKOFF_CAP_MS", d.backoff_cap_ms)?,
        };
        policy.validate()?;
        let db = match (var("TRANSFER_DB_URL"), var("TRANSFER_DB_SECRET_ID")) {
            (Some(url), _) => DbSource::Url(Sensitive::new(url)),
            (None, Some(id)) => DbSource::Secret(id),
            (None, None) => {
                return Err(ConfigError::Missing(
                    "TRANSFER_DB_URL",
                    "set TRANSFER_DB_URL (mysql://.. or sqlite:PATH) or TRANSFER_DB_SECRET_ID",
                ));
            }
        };
        let core_credentials = match (
            var("CORE_CLIENT_ID"),
            var("CORE_CLIENT_SECRET"),
            var("CORE_SECRET_ID"),
        ) {
            (Some(client_id), Some(secret), _) => CoreCredentials::Direct {
                client_id,
                client_secret: Sensitive::new(secret),
            },
            (_, _, Some(id)) => CoreCredentials::Secret(id),
            _ => {
                return Err(ConfigError::Missing(
                    "CORE_SECRET_ID",
                    "set CORE_SECRET_ID, or CORE_CLIENT_ID and CORE_CLIENT_SECRET",
                ));
            }
        };
        Ok(Self {
            db,
            db_max_connections: u32::try_from(num("TRANSFER_DB_MAX_CONNECTIONS", 4)?.max(1))
                .unwrap_or(4),
            core_base_url: var("CORE_BASE_URL").ok_or(ConfigError::Missing(
                "CORE_BASE_URL",
                "the core platform's base URL, e.g. https://core.bank.internal",
            ))?,
            core_credentials,
            topic_arn: var("NOTIFICATION_TOPIC_ARN").ok_or(ConfigError::Missing(
                "NOTIFICATION_TOPIC_ARN",
                "the ARN of the notifications SNS topic",
            ))?,
            queue_url: var("TRANSFER_QUEUE_URL"),
            policy,
            inline_wait_ms: num("TRANSFER_INLINE_WAIT_MS", 2_000)?,
        })
    }

    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(|k| std::env::var(k).ok())
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CoreSecret {
    client_id: String,
    client_secret: String,
}

#[derive(Deserialize)]
struct DbSecret {
    url: Option<String>,
    username: Option<String>,
    password: Option<String>,
    host: Option<String>,
    port: Option<u16>,
    dbname: Option<String>,
}

/// Opens the store named by a URL (`mysql://..` lazily; `sqlite:PATH` now) and creates its
/// table if needed.
pub async fn open_store(
    url: &str,
    max_connections: u32,
) -> Result<Arc<dyn TransferStore>, BuildError> {
    if url.starts_with("mysql://") {
        let store = MySqlStore::connect_lazy(url, max_connections)?;
        store.migrate().await?;
        Ok(Arc::new(store))
    } else if let Some(path) = url.strip_prefix("sqlite:") {
        let store = SqliteStore::open(path.trim_start_matches("//")).await?;
        store.migrate().await?;
        Ok(Arc::new(store))
    } else {
        Err(BuildError::DbScheme)
    }
}

/// Builds the production processor: MySQL/SQLite store, HTTP core platform, SNS notifier,
/// system clock and randomness.
pub async fn build_processor(
    config: &Config,
    sdk: &aws_config::SdkConfig,
    secrets: &SecretCache,
    owner_prefix: &str,
) -> Result<Processor, BuildError> {
    let url = match &config.db {
        DbSource::Url(u) => u.clone(),
        DbSource::Secret(id) => {
            let s: Sensitive<DbSecret> = secrets.get_json(id).await?;
            let s = s.expose();
            match (&s.url, &s.username, &s.password, &s.host) {
                (Some(u), ..) => Sensitive::new(u.clone()),
                (None, Some(user), Some(pass), Some(host)) => Sensitive::new(format!(
                    "mysql://{user}:{pass}@{host}:{}/{}",
                    s.port.unwrap_or(3306),
                    s.dbname.clone().unwrap_or_else(|| "banca".to_owned())
                )),
                _ => return Err(BuildError::DbScheme),
            }
        }
    };
    let store = open_store(url.expose(), config.db_max_connections).await?;
    let (client_id, client_secret) = match &config.core_credentials {
        CoreCredentials::Direct {
            client_id,
            client_secret,
        } => (client_id.clone(), client_secret.clone()),
        CoreCredentials::Secret(id) => {
            let s: Sensitive<CoreSecret> = secrets.get_json(id).await?;
            (
                s.expose().client_id.clone(),
                Sensitive::new(s.expose().client_secret.clone()),
            )
        }
    };
    let timeout =
        Duration::from_millis(u64::try_from(config.policy.core_timeout_ms).unwrap_or(5_000));
    let core = HttpCorePlatform::new(&config.core_base_url, &client_id, client_secret, timeout)?;
    let notifier = SnsNotifier::new(sdk, &config.topic_arn);
    Ok(Processor::new(ProcessorParts {
        store,
        core: Arc::new(core),
        notifier: Arc::new(notifier),
        clock: Arc::new(SystemClock),
        rng: Arc::new(SystemRng::default()),
        policy: config.policy,
        inline_wait_ms: config.inline_wait_ms,
        owner_prefix: owner_prefix.to_owned(),
    })
    .map_err(ConfigError::from)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn reads_and_validates_the_environment() {
        let base = [
            ("TRANSFER_DB_URL", "mysql://u:p@h/db"),
            ("CORE_BASE_URL", "http://core"),
            ("CORE_CLIENT_ID", "banca"),
            ("CORE_CLIENT_SECRET", "s3cr3t"),
            (
                "NOTIFICATION_TOPIC_ARN",
                "arn:aws:sns:us-east-1:000000000000:n",
            ),
        ];
        let c = Config::from_vars(vars(&base)).unwrap();
        assert_eq!(c.policy, Policy::default());
        assert!(
            !format!("{c:?}").contains("s3cr3t"),
            "secrets never reach Debug"
        );
        assert!(!format!("{c:?}").contains("u:p@h"));
        let mut more = base.to_vec();
        more.push(("TRANSFER_MAX_ATTEMPTS", "5"));
        assert_eq!(
            Config::from_vars(vars(&more)).unwrap().policy.max_attempts,
            5
        );
        let mut bad = base.to_vec();
        bad.push(("TRANSFER_SETTLE_MS", "100"));
        assert!(matches!(
            Config::from_vars(vars(&bad)),
            Err(ConfigError::Policy(_))
        ));
        let mut bad = base.to_vec();
        bad.push(("CORE_TIMEOUT_MS", "soon"));
        let e = Config::from_vars(vars(&bad)).unwrap_err().to_string();
        assert_eq!(
            e,
            "CORE_TIMEOUT_MS: must be a non-negative integer, got \"soon\""
        );
        let e = Config::from_vars(vars(&base[1..])).unwrap_err().to_string();
        assert!(e.starts_with("TRANSFER_DB_URL: required; hint:"), "{e}");
    }
}
