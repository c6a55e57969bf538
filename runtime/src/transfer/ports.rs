//! The transfer processor's outward ports besides the store: the core platform and the
//! notifier, with their real adapters (HTTP per the OpenAPI contract; SNS).

use std::time::Duration;

use aws_sdk_sns::Client as SnsClient;
use banca_contracts::money::Amount;
use banca_contracts::notification::NotificationRequested;
use serde::Deserialize;

use super::machine::{CoreAnswer, Reconciliation};
use super::store::BoxFuture;
use crate::lambda::Sensitive;

/// `TransferOrder` of the contract.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TransferOrder {
    /// Debited account.
    pub source_account: String,
    /// Credited account.
    pub destination_account: String,
    /// Two-place decimal string on the wire.
    pub amount: Amount,
    /// ISO 4217.
    pub currency: String,
    /// Derived from the transferId; copied by the core into the debit movement.
    pub reference: String,
    /// Free text, at most 140 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A customer's addresses, from `GET /customers/{id}/basic`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Contact {
    /// E-mail.
    pub email: String,
    /// E.164 phone.
    pub phone: String,
    /// Full name.
    pub full_name: String,
}

/// A query to the core platform failed (queries are idempotent: retry).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CoreError {
    /// Unknown customer (404).
    #[error("customer {0:?} is unknown to the core platform")]
    UnknownCustomer(String),
    /// Transport error or unexpected status.
    #[error("core platform query failed: {0}")]
    Unavailable(String),
}

/// The core platform, as the transfer processor uses it.
pub trait CorePlatform: Send + Sync {
    /// `POST /transfers`, classified: 201 executed, 422 rejected, anything else ambiguous.
    fn post_transfer<'a>(&'a self, order: &'a TransferOrder) -> BoxFuture<'a, CoreAnswer>;
    /// Looks for the debit movement carrying `reference` among the source account's movements
    /// posted since `since_ms` (Unix ms).
    fn find_debit<'a>(
        &'a self,
        account: &'a str,
        reference: &'a str,
        since_ms: i64,
    ) -> BoxFuture<'a, Reconciliation>;
    /// The customer's addresses for the notification.
    fn contact<'a>(&'a self, customer_id: &'a str) -> BoxFuture<'a, Result<Contact, CoreError>>;
}

/// The HTTP adapter: the gateway's client headers, a total timeout per request.
#[derive(Debug, Clone)]
pub struct HttpCorePlatform {
    http: reqwest::Client,
    base_url: String,
    client_id: String,
    client_secret: Sensitive<String>,
}

/// The largest page of movements asked for; a full page cannot prove absence.
pub const MOVEMENTS_PAGE: usize = 500;

impl HttpCorePlatform {
    /// A client for the core platform at `base_url` with a total per-request `timeout`.
    pub fn new(
        base_url: &str,
        client_id: &str,
        client_secret: Sensitive<String>,
        timeout: Duration,
    ) -> Result<Self, CoreError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(2)))
            .pool_idle_timeout(Duration::from_secs(50))
            .build()
            .map_err(|e| CoreError::Unavailable(e.to_string()))?;
        Ok(Self {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            client_id: client_id.to_owned(),
            client_secret,
        })
    }

    fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base_url))
            .header("X-Client-Id", &self.client_id)
            .header("X-Client-Secret", self.client_secret.expose())
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Receipt {
    core_transfer_id: String,
}

#[derive(Deserialize)]
struct Rejection {
    code: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MovementLite {
    movement_id: String,
    direction: String,
    reference: String,
}

impl CorePlatform for HttpCorePlatform {
    fn post_transfer<'a>(&'a self, order: &'a TransferOrder) -> BoxFuture<'a, CoreAnswer> {
        Box::pin(async move {
            let sent = self
                .req(reqwest::Method::POST, "/transfers")
                .json(order)
                .send()
                .await;
            let resp = match sent {
                Ok(r) => r,
                // Timeout, reset, refused: the request may have been processed.
                Err(e) => {
                    return CoreAnswer::Ambiguous {
                        reason: format!(
                            "transport: {}",
                            if e.is_timeout() {
                                "timeout"
                            } else {
                                "connection"
                            }
                        ),
                    };
                }
            };
            let status = resp.status().as_u16();
            match status {
                201 => {
                    // 201 means executed even if the body is unreadable.
                    let id = resp
                        .json::<Receipt>()
                        .await
                        .map(|r| r.core_transfer_id)
                        .unwrap_or_else(|_| "unknown".to_owned());
                    CoreAnswer::Executed {
                        core_transfer_id: id,
                    }
                }
                422 => match resp.json::<Rejection>().await {
                    Ok(r) => CoreAnswer::Rejected { code: r.code },
                    Err(_) => CoreAnswer::Rejected {
                        code: "REJECTED".to_owned(),
                    },
                },
                // Our order itself is invalid: nothing moved. Retrying cannot help.
                400 => CoreAnswer::Rejected {
                    code: "BAD_REQUEST".to_owned(),
                },
                other => CoreAnswer::Ambiguous {
                    reason: format!("status {other}"),
                },
            }
        })
    }

    fn find_debit<'a>(
        &'a self,
        account: &'a str,
        reference: &'a str,
        since_ms: i64,
    ) -> BoxFuture<'a, Reconciliation> {
        Box::pin(async move {
            // One day of slack: the core may post in its local date.
            let from = date_of(since_ms - 86_400_000);
            let path = format!("/accounts/{account}/movements?from={from}&limit={MOVEMENTS_PAGE}");
            let resp = match self.req(reqwest::Method::GET, &path).send().await {
                Ok(r) if r.status().as_u16() == 200 => r,
                Ok(r) => {
                    return Reconciliation::Unavailable {
                        reason: format!("status {}", r.status().as_u16()),
                    };
                }
                Err(_) => {
                    return Reconciliation::Unavailable {
                        reason: "transport".to_owned(),
                    };
                }
            };
            let list: Vec<MovementLite> = match resp.json().await {
                Ok(l) => l,
                Err(_) => {
                    return Reconciliation::Unavailable {
                        reason: "unreadable movements".to_owned(),
                    };
                }
            };
            if let Some(m) = list
                .iter()
                .find(|m| m.reference == reference && m.direction == "debit")
            {
                return Reconciliation::Found {
                    movement_id: m.movement_id.clone(),
                };
            }
            if list.len() >= MOVEMENTS_PAGE {
                return Reconciliation::Unavailable {
                    reason: "movement page full: absence not proven".to_owned(),
                };
            }
            Reconciliation::NotFound
        })
    }

    fn contact<'a>(&'a self, customer_id: &'a str) -> BoxFuture<'a, Result<Contact, CoreError>> {
        Box::pin(async move {
            let resp = self
                .req(
                    reqwest::Method::GET,
                    &format!("/customers/{customer_id}/basic"),
                )
                .send()
                .await
                .map_err(|e| {
                    CoreError::Unavailable(
                        if e.is_timeout() {
                            "timeout"
                        } else {
                            "transport"
                        }
                        .to_owned(),
                    )
                })?;
            match resp.status().as_u16() {
                200 => resp
                    .json::<Contact>()
                    .await
                    .map_err(|_| CoreError::Unavailable("unreadable customer".to_owned())),
                404 => Err(CoreError::UnknownCustomer(customer_id.to_owned())),
                s => Err(CoreError::Unavailable(format!("status {s}"))),
            }
        })
    }
}

/// `YYYY-MM-DD` (UTC) of Unix milliseconds.
pub fn date_of(ms: i64) -> String {
    let z = ms.div_euclid(86_400_000) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Publishing a notification failed (throttled, unavailable): retry later.
#[derive(Debug, thiserror::Error)]
#[error("notification publish failed: {0}")]
pub struct NotifyError(pub String);

/// Where customer notifications go.
pub trait Notifier: Send + Sync {
    /// Publishes one `NotificationRequested`.
    fn publish<'a>(
        &'a self,
        message: &'a NotificationRequested,
    ) -> BoxFuture<'a, Result<(), NotifyError>>;
}

/// The real adapter: SNS `Publish` of the JSON body to the notifications topic (the
/// subscriptions' filter policies route on the body's `channels`).
#[derive(Debug, Clone)]
pub struct SnsNotifier {
    client: SnsClient,
    topic_arn: String,
}

impl SnsNotifier {
    /// A notifier publishing to `topic_arn`.
    pub fn new(config: &aws_config::SdkConfig, topic_arn: &str) -> Self {
        Self {
            client: SnsClient::new(config),
            topic_arn: topic_arn.to_owned(),
        }
    }
}

impl Notifier for SnsNotifier {
    fn publish<'a>(
        &'a self,
        message: &'a NotificationRequested,
    ) -> BoxFuture<'a, Result<(), NotifyError>> {
        Box::pin(async move {
            let body = serde_json::to_string(message).map_err(|e| NotifyError(e.to_string()))?;
            self.client
                .publish()
                .topic_arn(&self.topic_arn)
                .message(body)
                .send()
                .await
                .map_err(|e| {
                    NotifyError(format!("{}", aws_sdk_sns::error::DisplayErrorContext(&e)))
                })?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::date_of;

    #[test]
    fn dates() {
        assert_eq!(date_of(0), "1970-01-01");
        assert_eq!(date_of(1_795_860_900_123), "2026-11-28");
        assert_eq!(date_of(951_782_400_000), "2000-02-29");
    }
}
