//! notify-sms: render the SMS template, fit it to the configured number of segments, and send it
//! with Twilio's Messages API over HTTPS. Credentials come from Secrets Manager (cached); 429 and
//! 5xx are retried with full-jitter backoff, a bounded number of times; a 4xx such as 21211
//! (invalid number) is reported to the analysis queue with Twilio's code.

use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use banca_contracts::notification::{Channel, NotificationFailed, NotificationRequested};
use banca_runtime::lambda::{Backoff, BatchResponse, Clock, MissingMessageId, Rng, SecretCache};
use serde::Deserialize;

use super::dedup::Dedup;
use super::{AnalysisQueue, Outcome, parse_record, receive_count};
use crate::templates::Templates;

/// Twilio's hard limit on `Body`, in characters.
pub const TWILIO_MAX_BODY_CHARS: usize = 1600;
/// Default number of SMS segments a notification may use (cost and readability).
pub const DEFAULT_MAX_SEGMENTS: usize = 3;
/// Attempts per record within one invocation for 429/5xx/network errors.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;
/// Longest wait honoured from a `Retry-After` header.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(5);

/// GSM 03.38 basic character set (one septet each).
const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// GSM 03.38 extension table (two septets each: escape + char).
const GSM7_EXTENDED: &str = "^{}\\[~]|€\x0c";

fn gsm7_cost(c: char) -> Option<usize> {
    if GSM7_BASIC.contains(c) {
        Some(1)
    } else if GSM7_EXTENDED.contains(c) {
        Some(2)
    } else {
        None
    }
}

/// Replaces Spanish letters outside GSM-7 with their closest GSM-7 letter, so an SMS in
/// Spanish stays in the 160-character encoding instead of UCS-2's 70 (customers read "codigo"
/// fine; they pay for three segments otherwise).
pub fn transliterate(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'á' => 'a',
            'í' => 'i',
            'ó' => 'o',
            'ú' => 'u',
            'Á' => 'A',
            'Í' => 'I',
            'Ó' => 'O',
            'Ú' => 'U',
            'È' => 'E',
            '“' | '”' => '"',
            '‘' | '’' => '\'',
            '–' | '—' => '-',
            other => other,
        })
        .collect()
}

/// How an SMS body is encoded and how many segments it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SmsSize {
    /// GSM-7 (true) or UCS-2.
    pub gsm7: bool,
    /// Septets (GSM-7) or UTF-16 code units (UCS-2).
    pub units: usize,
    /// Segments on the network.
    pub segments: usize,
}

/// Measures a body the way carriers bill it: GSM-7 160 per single / 153 per concatenated
/// segment; UCS-2 70 / 67.
pub fn measure(body: &str) -> SmsSize {
    let gsm: Option<usize> = body.chars().map(gsm7_cost).sum();
    let (gsm7, units, single, multi) = match gsm {
        Some(septets) => (true, septets, 160, 153),
        None => (false, body.encode_utf16().count(), 70, 67),
    };
    let segments = if units <= single {
        1
    } else {
        units.div_ceil(multi)
    };
    SmsSize {
        gsm7,
        units,
        segments,
    }
}

/// Fits a body into `max_segments` (and Twilio's 1600 characters): transliterates to GSM-7
/// where possible, then cuts at a character boundary and ends with "...".
pub fn fit_sms(body: &str, max_segments: usize) -> String {
    let body = transliterate(body.trim());
    let size = measure(&body);
    let max_segments = max_segments.max(1);
    if size.segments <= max_segments && body.chars().count() <= TWILIO_MAX_BODY_CHARS {
        return body;
    }
    let (single, multi) = if size.gsm7 { (160, 153) } else { (70, 67) };
    let budget = if max_segments == 1 {
        single
    } else {
        multi * max_segments
    }
    .min(TWILIO_MAX_BODY_CHARS);
    let ellipsis = "...";
    let mut out = String::new();
    let mut used = 0;
    for c in body.chars() {
        let cost = if size.gsm7 {
            gsm7_cost(c).unwrap_or(1)
        } else {
            c.len_utf16()
        };
        if used + cost + ellipsis.len() > budget {
            break;
        }
        used += cost;
        out.push(c);
    }
    out.push_str(ellipsis);
    out
}

/// Twilio credentials, as stored in Secrets Manager (JSON).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TwilioCredentials {
    /// Account SID (`AC...`).
    pub account_sid: String,
    /// Auth token.
    pub auth_token: String,
    /// Sender number, unless a messaging service is used.
    #[serde(default)]
    pub from: Option<String>,
    /// Messaging service SID (`MG...`), preferred over `from`.
    #[serde(default)]
    pub messaging_service_sid: Option<String>,
}

/// Twilio over HTTPS.
#[derive(Clone)]
pub struct TwilioClient {
    /// HTTP client (with timeouts).
    pub http: reqwest::Client,
    /// `TWILIO_BASE_URL` (`https://api.twilio.com` in production).
    pub base_url: String,
    /// Secrets cache.
    pub secrets: Arc<SecretCache>,
    /// Secret id of the credentials.
    pub secret_id: String,
    /// Backoff between attempts.
    pub backoff: Backoff,
    /// Attempts per send within one invocation.
    pub max_attempts: u32,
    /// Jitter source.
    pub rng: Arc<dyn Rng>,
    /// Sleeps.
    pub clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for TwilioClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwilioClient")
            .field("base_url", &self.base_url)
            .field("secret_id", &self.secret_id)
            .field("max_attempts", &self.max_attempts)
            .finish_non_exhaustive()
    }
}

/// How a send ended, when it did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TwilioFailure {
    /// Still failing after the bounded attempts (429, 5xx, network, credentials unavailable).
    Retryable(String),
    /// Refused for good (4xx other than 429).
    Permanent {
        /// Twilio's error code, when the body had one.
        code: Option<String>,
        /// HTTP status.
        status: u16,
        /// Twilio's message.
        message: String,
    },
}

#[derive(Deserialize)]
struct TwilioError {
    #[serde(default)]
    code: Option<serde_json::Value>,
    #[serde(default)]
    message: Option<String>,
}

impl TwilioClient {
    /// Sends `body` to `to`; returns the message SID.
    pub async fn send(&self, to: &str, body: &str) -> Result<String, TwilioFailure> {
        let mut last = String::new();
        let mut refreshed_credentials = false;
        let mut attempt = 0;
        while attempt < self.max_attempts {
            attempt += 1;
            let creds = self
                .secrets
                .get_json::<TwilioCredentials>(&self.secret_id)
                .await
                .map_err(|e| TwilioFailure::Retryable(e.to_string()))?;
            let creds = creds.expose();
            let url = format!(
                "{}/2010-04-01/Accounts/{}/Messages.json",
                self.base_url.trim_end_matches('/'),
                creds.account_sid
            );
            let mut form = vec![("To", to), ("Body", body)];
            match (&creds.messaging_service_sid, &creds.from) {
                (Some(sid), _) => form.push(("MessagingServiceSid", sid.as_str())),
                (None, Some(from)) => form.push(("From", from.as_str())),
                (None, None) => {
                    return Err(TwilioFailure::Permanent {
                        code: None,
                        status: 0,
                        message: "twilio secret has neither from nor messagingServiceSid".into(),
                    });
                }
            }
            let resp = self
                .http
                .post(&url)
                .basic_auth(&creds.account_sid, Some(&creds.auth_token))
                .form(&form)
                .send()
                .await;
            let retry_after = match resp {
                Err(e) => {
                    last = format!("network: {}", without_url(&e));
                    None
                }
                Ok(r) => {
                    let status = r.status().as_u16();
                    let retry_after = r
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse::<u64>().ok())
                        .map(|s| Duration::from_secs(s).min(MAX_RETRY_AFTER));
                    let text = r.text().await.unwrap_or_default();
                    if (200..300).contains(&status) {
                        let sid = serde_json::from_str::<serde_json::Value>(&text)
                            .ok()
                            .and_then(|v| v.get("sid").and_then(|s| s.as_str()).map(str::to_owned))
                            .unwrap_or_default();
                        return Ok(sid);
                    }
                    let err: Option<TwilioError> = serde_json::from_str(&text).ok();
                    let code = err.as_ref().and_then(|e| e.code.as_ref()).map(|c| match c {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    });
                    let message = err.and_then(|e| e.message).unwrap_or_default();
                    if (status == 401 || status == 403) && !refreshed_credentials {
                        // The token may have been rotated since we cached it: refetch once.
                        refreshed_credentials = true;
                        self.secrets.invalidate(&self.secret_id);
                        attempt -= 1;
                        continue;
                    }
                    if status != 429 && status < 500 {
                        return Err(TwilioFailure::Permanent {
                            code,
                            status,
                            message,
                        });
                    }
                    last = format!("http {status}: {message}");
                    retry_after
                }
            };
            if attempt < self.max_attempts {
                let wait =
                    retry_after.unwrap_or_else(|| self.backoff.delay(attempt, self.rng.as_ref()));
                self.clock.sleep(wait).await;
            }
        }
        Err(TwilioFailure::Retryable(format!(
            "after {} attempts: {last}",
            self.max_attempts
        )))
    }
}

/// A reqwest error's text without its URL (which contains the account SID).
fn without_url(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect"
    } else {
        "request"
    };
    kind.to_owned()
}

/// Everything notify-sms needs, built once per cold start.
#[derive(Clone)]
#[allow(missing_debug_implementations)]
pub struct SmsDeps {
    /// Twilio.
    pub twilio: TwilioClient,
    /// Compiled templates.
    pub templates: Arc<Templates>,
    /// Repeat suppression.
    pub dedup: Dedup,
    /// Where refused deliveries are reported.
    pub analysis: AnalysisQueue,
    /// Segments a body may use.
    pub max_segments: usize,
    /// Deliveries after which a retryable failure is reported instead of retried.
    pub max_receives: u32,
    /// Time of failure reports.
    pub clock: Arc<dyn Clock>,
}

async fn report(
    deps: &SmsDeps,
    n: &NotificationRequested,
    code: Option<String>,
    status: Option<u16>,
    reason: String,
) -> Outcome {
    let failure = NotificationFailed::for_request(
        n,
        Channel::Sms,
        "twilio",
        code,
        status,
        reason.clone(),
        crate::time::utc(deps.clock.now_ms()),
    );
    match deps.analysis.report(&failure).await {
        Ok(()) => Outcome::Reported(reason),
        Err(e) => Outcome::Retry(e.to_string()),
    }
}

/// Processes one record.
pub async fn process(deps: &SmsDeps, record: &SqsMessage) -> Outcome {
    let n = match parse_record(record, Channel::Sms) {
        Ok(n) => n,
        Err(e) => return Outcome::Retry(e.to_string()),
    };
    let Some(phone) = n.to.phone.as_ref() else {
        return Outcome::Retry("no phone".into());
    };
    if deps.dedup.already_sent(Channel::Sms, &n.dedup_key).await {
        return Outcome::Duplicate;
    }
    let body = match deps.templates.sms(n.template, n.locale, &n.data) {
        Ok(b) => fit_sms(&b, deps.max_segments),
        Err(e) => return report(deps, &n, Some("TemplateError".into()), None, e.to_string()).await,
    };
    match deps.twilio.send(phone.as_str(), &body).await {
        Ok(_sid) => {
            deps.dedup.mark_sent(Channel::Sms, &n.dedup_key).await;
            Outcome::Sent
        }
        Err(TwilioFailure::Retryable(reason)) if receive_count(record) < deps.max_receives => {
            Outcome::Retry(reason)
        }
        Err(TwilioFailure::Retryable(reason)) => {
            report(
                deps,
                &n,
                None,
                None,
                format!("gave up after {} deliveries: {reason}", deps.max_receives),
            )
            .await
        }
        Err(TwilioFailure::Permanent {
            code,
            status,
            message,
        }) => report(deps, &n, code, Some(status), message).await,
    }
}

/// The notify-sms handler.
pub async fn handle(deps: &SmsDeps, event: SqsEvent) -> Result<SqsBatchResponse, MissingMessageId> {
    let mut failures = BatchResponse::default();
    for record in &event.records {
        let outcome = process(deps, record).await;
        super::email::log_outcome(record, &outcome);
        if let Outcome::Retry(_) = outcome {
            failures.fail(record.message_id.as_deref());
        }
    }
    failures.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spanish_stays_in_gsm7_after_transliteration() {
        let s = fit_sms(
            "Banca: su transferencia NO se realizó (saldo insuficiente).",
            1,
        );
        assert!(s.contains("realizo"));
        assert!(measure(&s).gsm7);
    }

    #[test]
    fn segments_follow_carrier_rules() {
        assert_eq!(measure(&"a".repeat(160)).segments, 1);
        assert_eq!(measure(&"a".repeat(161)).segments, 2);
        assert_eq!(measure(&"a".repeat(306)).segments, 2);
        assert_eq!(measure(&"a".repeat(307)).segments, 3);
        assert_eq!(measure(&"€".repeat(80)).units, 160);
        let emoji = "hola 🙂".repeat(20);
        assert!(!measure(&emoji).gsm7);
    }

    #[test]
    fn long_bodies_are_cut_to_the_segment_budget() {
        let long = "x".repeat(1000);
        let one = fit_sms(&long, 1);
        assert_eq!(one.chars().count(), 160);
        assert!(one.ends_with("..."));
        let three = fit_sms(&long, 3);
        assert_eq!(measure(&three).segments, 3);
        let ucs = "🙂".repeat(100);
        let cut = fit_sms(&ucs, 1);
        assert!(measure(&cut).segments == 1 && cut.ends_with("..."));
        assert!(fit_sms(&"y".repeat(5000), 20).chars().count() <= TWILIO_MAX_BODY_CHARS);
    }
}
