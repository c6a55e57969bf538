//! The admin API, for tests in any crate and for other processes (the local sandbox, the soak):
//!
//! | method and path | body / answer |
//! |---|---|
//! | `GET /__admin/health` | `{"ok":true}` |
//! | `POST /__admin/reset` | back to the seeded state, no faults |
//! | `GET /__admin/faults/{endpoint}` | the endpoint's [`FaultSpec`] |
//! | `PUT /__admin/faults/{endpoint}` | a [`FaultSpec`] (camelCase); 400 with the reason when refused |
//! | `DELETE /__admin/faults` | removes every fault |
//! | `GET /__admin/requests` | requests received per endpoint |
//! | `GET /__admin/ledger` | `{reference: {posts, executed, rejected}}` |
//! | `GET /__admin/ledger/{reference}` | one [`LedgerEntry`] |
//! | `POST /__admin/clock/advance` | `{"ms": n}` moves the simulators' clock forward |
//! | `PUT /__admin/core/customers` | a [`Customer`] |
//! | `PUT /__admin/core/accounts` | an [`Account`] |
//! | `GET /__admin/core/accounts/{id}` | the account (balance) |
//! | `GET /__admin/core/accounts/{id}/movements` | every movement, visible or not yet |
//! | `POST /__admin/uaa/rotate-key` | `{"retirePrevious": bool}` -> `{"kid": ..}` |
//! | `POST /__admin/uaa/sign` | any JSON claims -> `{"token": ..}` signed with the current key |
//! | `GET /__admin/twilio/messages?to=+593...` | `{"count": n, "messages": [..]}` |
//! | `GET /__admin/twilio/counts` | `{to: n}` |
//!
//! Endpoint names: [`crate::faults::ENDPOINTS`].
//!
//! [`FaultSpec`]: crate::FaultSpec
//! [`LedgerEntry`]: crate::LedgerEntry
//! [`Customer`]: crate::Customer
//! [`Account`]: crate::Account

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use serde::Deserialize;

use crate::{Account, Customer, FaultSpec, Simulator};

pub(crate) fn routes() -> Router<Arc<Simulator>> {
    Router::new()
        .route(
            "/__admin/health",
            get(|| async { Json(serde_json::json!({"ok": true})) }),
        )
        .route("/__admin/reset", post(reset))
        .route("/__admin/faults/{endpoint}", put(set_fault).get(get_fault))
        .route("/__admin/faults", delete(clear_faults))
        .route("/__admin/requests", get(requests))
        .route("/__admin/ledger", get(ledger_all))
        .route("/__admin/ledger/{reference}", get(ledger_one))
        .route("/__admin/clock/advance", post(advance))
        .route("/__admin/core/customers", put(put_customer))
        .route("/__admin/core/accounts", put(put_account))
        .route("/__admin/core/accounts/{account_id}", get(get_account))
        .route(
            "/__admin/core/accounts/{account_id}/movements",
            get(all_movements),
        )
        .route("/__admin/uaa/rotate-key", post(rotate))
        .route("/__admin/uaa/sign", post(sign))
        .route("/__admin/twilio/messages", get(sms))
        .route("/__admin/twilio/counts", get(sms_counts))
}

fn bad_request(message: String) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(serde_json::json!({"error": message})),
    )
        .into_response()
}

#[allow(clippy::result_large_err)] // a handler-local early return, never stored
fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Response> {
    serde_json::from_slice(body).map_err(|e| bad_request(format!("invalid body: {e}")))
}

async fn reset(State(sim): State<Arc<Simulator>>) -> StatusCode {
    sim.reset();
    StatusCode::NO_CONTENT
}

async fn set_fault(
    State(sim): State<Arc<Simulator>>,
    Path(endpoint): Path<String>,
    body: Bytes,
) -> Response {
    let spec: FaultSpec = match parse(&body) {
        Ok(s) => s,
        Err(r) => return r,
    };
    match sim.set_fault(&endpoint, spec) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => bad_request(match e {
            crate::SimError::Fault(f) => f.to_string(),
            other => other.to_string(),
        }),
    }
}

async fn get_fault(State(sim): State<Arc<Simulator>>, Path(endpoint): Path<String>) -> Response {
    if !crate::faults::ENDPOINTS.contains(&endpoint.as_str()) {
        return (
            StatusCode::NOT_FOUND,
            Json(serde_json::json!({"error": "unknown endpoint"})),
        )
            .into_response();
    }
    Json(sim.faults.get(&endpoint)).into_response()
}

async fn clear_faults(State(sim): State<Arc<Simulator>>) -> StatusCode {
    sim.clear_faults();
    StatusCode::NO_CONTENT
}

async fn requests(State(sim): State<Arc<Simulator>>) -> Response {
    Json(sim.request_counts()).into_response()
}

async fn ledger_all(State(sim): State<Arc<Simulator>>) -> Response {
    Json(sim.ledger_all()).into_response()
}

async fn ledger_one(State(sim): State<Arc<Simulator>>, Path(reference): Path<String>) -> Response {
    Json(sim.ledger(&reference)).into_response()
}

#[derive(Deserialize)]
struct Advance {
    ms: u64,
}

async fn advance(State(sim): State<Arc<Simulator>>, body: Bytes) -> Response {
    match parse::<Advance>(&body) {
        Ok(a) => {
            sim.advance_clock(std::time::Duration::from_millis(a.ms));
            Json(serde_json::json!({"nowMs": sim.now_ms()})).into_response()
        }
        Err(r) => r,
    }
}

async fn put_customer(State(sim): State<Arc<Simulator>>, body: Bytes) -> Response {
    match parse::<Customer>(&body) {
        Ok(c) => {
            sim.upsert_customer(c);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(r) => r,
    }
}

async fn put_account(State(sim): State<Arc<Simulator>>, body: Bytes) -> Response {
    match parse::<Account>(&body) {
        Ok(a) => match sim.upsert_account(a) {
            Ok(()) => StatusCode::NO_CONTENT.into_response(),
            Err(e) => bad_request(e.to_string()),
        },
        Err(r) => r,
    }
}

async fn get_account(
    State(sim): State<Arc<Simulator>>,
    Path(account_id): Path<String>,
) -> Response {
    match sim.account(&account_id) {
        Some(a) => Json(a).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(serde_json::json!({"error": "unknown account"})),
        )
            .into_response(),
    }
}

async fn all_movements(
    State(sim): State<Arc<Simulator>>,
    Path(account_id): Path<String>,
) -> Response {
    Json(sim.all_movements(&account_id)).into_response()
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Rotate {
    retire_previous: bool,
}

async fn rotate(State(sim): State<Arc<Simulator>>, body: Bytes) -> Response {
    let r: Rotate = if body.is_empty() {
        Rotate::default()
    } else {
        match parse(&body) {
            Ok(r) => r,
            Err(resp) => return resp,
        }
    };
    // Key generation is CPU-bound: keep it off the async workers.
    let retire = r.retire_previous;
    let rotated = tokio::task::spawn_blocking(move || sim.rotate_signing_key(retire)).await;
    let rotated = match rotated {
        Ok(r) => r,
        Err(_) => Err(crate::SimError::Crypto),
    };
    match rotated {
        Ok(kid) => Json(serde_json::json!({"kid": kid})).into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(serde_json::json!({"error": e.to_string()})),
        )
            .into_response(),
    }
}

async fn sign(State(sim): State<Arc<Simulator>>, body: Bytes) -> Response {
    let claims: serde_json::Value = match parse(&body) {
        Ok(c) => c,
        Err(r) => return r,
    };
    match sim.sign_claims(&claims) {
        Ok(token) => Json(serde_json::json!({"token": token})).into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(serde_json::json!({"error": e.to_string()})),
        )
            .into_response(),
    }
}

async fn sms(
    State(sim): State<Arc<Simulator>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let messages = match q.get("to") {
        Some(to) => sim.sms_to(to),
        None => sim.all_sms(),
    };
    Json(serde_json::json!({"count": messages.len(), "messages": messages})).into_response()
}

async fn sms_counts(State(sim): State<Arc<Simulator>>) -> Response {
    Json(sim.sms_counts()).into_response()
}
