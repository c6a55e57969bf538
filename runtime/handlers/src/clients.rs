//! HTTP clients of the existing systems this crate reads from (core platform, independent
//! system) and writes to (UAA user registration), speaking exactly
//! `shared/contracts/existing-systems.openapi.yaml`. Every call has a timeout; reads are
//! idempotent, so they are retried (bounded, jittered) on 5xx and network errors.

use std::sync::Arc;
use std::time::Duration;

use banca_contracts::api::{CustomerBasic, CustomerComplete, TransferLite};
use banca_contracts::fields::{AccountNumber, CustomerId};
use banca_contracts::money::Amount;
use banca_runtime::lambda::{Backoff, Clock, Rng, Sensitive};
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// Per-request timeout towards on-premise systems (through the VPN).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Attempts for an idempotent read.
pub const READ_ATTEMPTS: u32 = 3;
/// Largest number of movements one report reads (the core's `limit` maximum).
pub const MOVEMENTS_LIMIT: u32 = 500;

/// An HTTP client with the crate's timeouts and rustls.
pub fn http_client() -> Result<reqwest::Client, ClientError> {
    reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(Duration::from_secs(2))
        .pool_idle_timeout(Duration::from_secs(50))
        .build()
        .map_err(|e| ClientError::Network(e.to_string()))
}

/// A call to an existing system failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// 404.
    #[error("{0}: not found")]
    NotFound(String),
    /// 409 (UAA: username taken).
    #[error("{0}: conflict")]
    Conflict(String),
    /// Another non-success status.
    #[error("{what}: http {status}")]
    Status {
        /// What was called.
        what: String,
        /// The status.
        status: u16,
        /// The body (error JSON of the system; never contains our secrets).
        body: String,
    },
    /// Timeout, refused connection, TLS.
    #[error("network: {0}")]
    Network(String),
    /// The answer did not match the contract.
    #[error("{what}: unexpected body: {message}")]
    Decode {
        /// What was called.
        what: String,
        /// The parse error.
        message: String,
    },
}

impl ClientError {
    /// Whether retrying the same idempotent request may help.
    pub fn retryable(&self) -> bool {
        match self {
            Self::Network(_) => true,
            Self::Status { status, .. } => *status == 429 || *status >= 500,
            _ => false,
        }
    }
}

/// The gateway credentials (`X-Client-Id`, `X-Client-Secret`) the on-premise API gateway
/// expects, as stored in Secrets Manager (JSON `{"clientId","clientSecret"}`).
#[derive(Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewayCredentials {
    /// Client id.
    pub client_id: String,
    /// Client secret.
    pub client_secret: String,
}

/// A read-only client of one on-premise system behind the bank's API gateway.
#[derive(Clone)]
pub struct GatewayClient {
    http: reqwest::Client,
    base_url: String,
    credentials: Sensitive<GatewayCredentials>,
    backoff: Backoff,
    rng: Arc<dyn Rng>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for GatewayClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayClient")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireTransferLite {
    date: chrono::DateTime<chrono::Utc>,
    amount: String,
    destination_name: String,
}

/// One movement of an account (core platform).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Movement {
    /// Id.
    pub movement_id: String,
    /// Account.
    pub account_id: String,
    /// When it was posted.
    pub posted_at: chrono::DateTime<chrono::Utc>,
    /// How much.
    pub amount: Amount,
    /// Currency.
    pub currency: String,
    /// `debit` or `credit`.
    pub direction: String,
    /// The other account.
    #[serde(default)]
    pub counterparty_account: Option<String>,
    /// The other party's name.
    #[serde(default)]
    pub counterparty_name: Option<String>,
    /// The caller's reference.
    #[serde(default)]
    pub reference: String,
}

impl GatewayClient {
    /// A client of the system at `base_url`.
    pub fn new(
        http: reqwest::Client,
        base_url: &str,
        credentials: Sensitive<GatewayCredentials>,
        rng: Arc<dyn Rng>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            credentials,
            backoff: Backoff::new(Duration::from_millis(100), Duration::from_secs(1)),
            rng,
            clock,
        }
    }

    async fn get_once<T: DeserializeOwned>(
        &self,
        what: &str,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, ClientError> {
        let creds = self.credentials.expose();
        let resp = self
            .http
            .get(format!("{}{path}", self.base_url))
            .query(query)
            .header("X-Client-Id", &creds.client_id)
            .header("X-Client-Secret", &creds.client_secret)
            .send()
            .await
            .map_err(|e| {
                ClientError::Network(if e.is_timeout() {
                    format!("{what}: timeout")
                } else {
                    format!("{what}: unreachable")
                })
            })?;
        let status = resp.status().as_u16();
        let body = resp
            .text()
            .await
            .map_err(|_| ClientError::Network(format!("{what}: body cut")))?;
        match status {
            200 => serde_json::from_str(&body).map_err(|e| ClientError::Decode {
                what: what.to_owned(),
                message: e.to_string(),
            }),
            404 => Err(ClientError::NotFound(what.to_owned())),
            _ => Err(ClientError::Status {
                what: what.to_owned(),
                status,
                body: body.chars().take(300).collect(),
            }),
        }
    }

    async fn get<T: DeserializeOwned>(
        &self,
        what: &str,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, ClientError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.get_once(what, path, query).await {
                Err(e) if e.retryable() && attempt < READ_ATTEMPTS => {
                    self.clock
                        .sleep(self.backoff.delay(attempt, self.rng.as_ref()))
                        .await;
                }
                other => return other,
            }
        }
    }

    /// `GET /customers/{id}/basic` (core platform).
    pub async fn customer_basic(&self, id: &CustomerId) -> Result<CustomerBasic, ClientError> {
        self.get(
            "core customers/basic",
            &format!("/customers/{}/basic", enc(id.as_str())),
            &[],
        )
        .await
    }

    /// `GET /customers/{id}/complete` (independent system).
    pub async fn customer_complete(
        &self,
        id: &CustomerId,
    ) -> Result<CustomerComplete, ClientError> {
        self.get(
            "independent customers/complete",
            &format!("/customers/{}/complete", enc(id.as_str())),
            &[],
        )
        .await
    }

    /// `GET /customers/{id}/transfers/latest?limit=n` (core platform's light endpoint).
    pub async fn latest_transfers(
        &self,
        id: &CustomerId,
        limit: u32,
    ) -> Result<Vec<TransferLite>, ClientError> {
        let wire: Vec<WireTransferLite> = self
            .get(
                "core transfers/latest",
                &format!("/customers/{}/transfers/latest", enc(id.as_str())),
                &[("limit", limit.clamp(1, 10).to_string())],
            )
            .await?;
        wire.into_iter()
            .map(|w| {
                Ok(TransferLite {
                    date: w.date,
                    amount: w.amount.parse().map_err(
                        |e: banca_contracts::money::AmountError| ClientError::Decode {
                            what: "core transfers/latest".into(),
                            message: e.to_string(),
                        },
                    )?,
                    destination_name: w.destination_name,
                })
            })
            .collect()
    }

    /// `GET /accounts/{id}/movements?from&to&limit` (core platform), newest first.
    pub async fn movements(
        &self,
        account: &AccountNumber,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
        limit: u32,
    ) -> Result<Vec<Movement>, ClientError> {
        self.get(
            "core accounts/movements",
            &format!("/accounts/{}/movements", enc(account.as_str())),
            &[
                ("from", from.to_string()),
                ("to", to.to_string()),
                ("limit", limit.clamp(1, MOVEMENTS_LIMIT).to_string()),
            ],
        )
        .await
    }
}

fn enc(segment: &str) -> String {
    percent_encoding::utf8_percent_encode(segment, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// The UAA's OAuth2 client credentials (JSON `{"clientId","clientSecret"}` in Secrets Manager).
pub type UaaCredentials = GatewayCredentials;

/// A new user for `POST /users`.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewUaaUser<'a> {
    /// Login.
    pub username: &'a str,
    /// Password (only ever sent over TLS to the UAA).
    pub password: &'a str,
    /// Core customer id.
    pub customer_id: &'a str,
    /// E-mail.
    pub email: &'a str,
    /// E.164 phone.
    pub phone: &'a str,
}

/// Registers a user in the UAA. Not retried: `POST /users` is not idempotent (a retry after a
/// lost answer would see 409 for the user it just created).
pub async fn uaa_register(
    http: &reqwest::Client,
    base_url: &str,
    credentials: &Sensitive<UaaCredentials>,
    user: &NewUaaUser<'_>,
) -> Result<String, ClientError> {
    let creds = credentials.expose();
    let resp = http
        .post(format!("{}/users", base_url.trim_end_matches('/')))
        .basic_auth(&creds.client_id, Some(&creds.client_secret))
        .json(user)
        .send()
        .await
        .map_err(|e| {
            ClientError::Network(if e.is_timeout() {
                "uaa users: timeout".into()
            } else {
                "uaa users: unreachable".into()
            })
        })?;
    let status = resp.status().as_u16();
    let body = resp.text().await.unwrap_or_default();
    match status {
        200 | 201 => serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("userId")?.as_str().map(str::to_owned))
            .ok_or_else(|| ClientError::Decode {
                what: "uaa users".into(),
                message: "no userId in answer".into(),
            }),
        409 => Err(ClientError::Conflict("uaa users".into())),
        _ => Err(ClientError::Status {
            what: "uaa users".into(),
            status,
            body: body.chars().take(300).collect(),
        }),
    }
}
