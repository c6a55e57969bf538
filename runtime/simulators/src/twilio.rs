//! Twilio's Messages resource: `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, HTTP
//! basic auth `AccountSid:AuthToken`, form body `To`, `Body` and `From` or
//! `MessagingServiceSid`. Answers 201 (queued), 400 with Twilio's error codes (21211 invalid
//! `To`, 21602 missing body, 21617 body too long, 21603 missing sender), 401 (20003) and, by
//! fault injection, 429 (20429).
//!
//! Every accepted message is kept, so tests can count messages per recipient.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Serialize;

use crate::faults::TWILIO_MESSAGES;
use crate::{Simulator, after, before, lock, time};

/// Twilio settings.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TwilioConfig {
    /// The account SID in the path and the basic-auth user.
    pub account_sid: String,
    /// The basic-auth password.
    pub auth_token: String,
}

impl Default for TwilioConfig {
    fn default() -> Self {
        Self {
            account_sid: "AC00000000000000000000000000000001".to_owned(),
            auth_token: "twilio-test-token".to_owned(),
        }
    }
}

/// A message Twilio accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SentMessage {
    /// `SM...`.
    pub sid: String,
    /// E.164 recipient.
    pub to: String,
    /// Sender number or messaging service.
    pub from: String,
    /// Text.
    pub body: String,
    /// When it was accepted (RFC 3339).
    pub date_created: String,
}

#[derive(Default)]
pub(crate) struct TwilioState {
    messages: Vec<SentMessage>,
}

impl TwilioState {
    pub(crate) fn clear(&mut self) {
        self.messages.clear();
    }
}

impl Simulator {
    /// Messages accepted for `to`, oldest first.
    pub fn sms_to(&self, to: &str) -> Vec<SentMessage> {
        lock(&self.twilio)
            .messages
            .iter()
            .filter(|m| m.to == to)
            .cloned()
            .collect()
    }

    /// Every accepted message, oldest first.
    pub fn all_sms(&self) -> Vec<SentMessage> {
        lock(&self.twilio).messages.clone()
    }

    /// How many messages each recipient received.
    pub fn sms_counts(&self) -> BTreeMap<String, u64> {
        let mut counts = BTreeMap::new();
        for m in &lock(&self.twilio).messages {
            *counts.entry(m.to.clone()).or_default() += 1;
        }
        counts
    }
}

/// `+` then 8 to 15 digits, the first not 0.
pub fn is_e164(s: &str) -> bool {
    s.strip_prefix('+').is_some_and(|d| {
        (8..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()) && !d.starts_with('0')
    })
}

pub(crate) fn routes() -> Router<Arc<Simulator>> {
    Router::new().route(
        "/2010-04-01/Accounts/{account_sid}/Messages.json",
        post(send),
    )
}

fn twilio_error(status: StatusCode, code: u32, message: String) -> Response {
    (
        status,
        Json(serde_json::json!({
            "code": code, "message": message,
            "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
            "status": status.as_u16(),
        })),
    )
        .into_response()
}

async fn send(
    State(sim): State<Arc<Simulator>>,
    Path(account_sid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = crate::uaa::parse_form(&body);
    let to = form.get("To").cloned().unwrap_or_default();
    let d = sim.decide(TWILIO_MESSAGES, Some(&to));
    if let Some(r) = before(&d).await {
        return r;
    }
    let cfg = &sim.config.twilio;
    let authorized = crate::uaa::basic_credentials(&headers)
        .is_some_and(|(u, p)| u == cfg.account_sid && p == cfg.auth_token)
        && account_sid == cfg.account_sid;
    if !authorized {
        return twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate".to_owned());
    }
    if !is_e164(&to) {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            21211,
            format!("Invalid 'To' Phone Number: {to}"),
        );
    }
    let Some(text) = form.get("Body").filter(|b| !b.is_empty()) else {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            21602,
            "Message body is required.".to_owned(),
        );
    };
    if text.chars().count() > 1600 {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            21617,
            "The concatenated message body exceeds the 1600 character limit.".to_owned(),
        );
    }
    let Some(from) = form
        .get("From")
        .or_else(|| form.get("MessagingServiceSid"))
        .cloned()
    else {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            21603,
            "A 'From' phone number or MessagingServiceSid is required.".to_owned(),
        );
    };
    let served = {
        let mut tw = lock(&sim.twilio);
        let sid = format!("SM{:032x}", tw.messages.len() as u128 + 1);
        let msg = SentMessage {
            sid: sid.clone(),
            to: to.clone(),
            from: from.clone(),
            body: text.clone(),
            date_created: time::rfc3339(sim.now_ms()),
        };
        tw.messages.push(msg);
        (
            StatusCode::CREATED,
            Json(serde_json::json!({
                "sid": sid, "status": "queued", "to": to, "from": from, "body": text,
                "account_sid": account_sid, "num_segments": "1",
            })),
        )
            .into_response()
    };
    after(&d, served).await
}
