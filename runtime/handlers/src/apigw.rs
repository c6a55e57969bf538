//! API Gateway (REST, Lambda proxy integration) plumbing shared by the API handlers: the
//! caller identity the authorizer put in the request context, JSON bodies in and out, and the
//! error answer every endpoint uses.

use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::{HeaderMap, HeaderValue, header};
use banca_contracts::api::ApiError;
use banca_contracts::fields::{CustomerId, UserId};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Who is calling, as established by the authorizer (never from the body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The UAA user id.
    pub user_id: UserId,
    /// The customer the user acts for.
    pub customer_id: CustomerId,
    /// Source IP, for audit.
    pub ip: Option<String>,
    /// User-Agent, for audit.
    pub user_agent: Option<String>,
}

/// Largest request body accepted, in bytes: every API body is a small form.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// An API error: status plus the [`ApiError`] body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// HTTP status.
    pub status: u16,
    /// The body.
    pub body: ApiError,
}

impl Problem {
    /// A problem with no hint.
    pub fn new(status: u16, error: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            body: ApiError {
                error: error.to_owned(),
                message: message.into(),
                hint: None,
            },
        }
    }

    /// Adds a hint.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.body.hint = Some(hint.into());
        self
    }

    /// 400 `invalid_request`.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(400, "invalid_request", message)
    }

    /// 401: the authorizer context is missing; API Gateway should never let this through.
    pub fn unauthenticated() -> Self {
        Self::new(
            401,
            "unauthenticated",
            "no caller identity in the request context",
        )
    }

    /// 500/503 without internals (they go to the log, not to the customer).
    pub fn internal(status: u16) -> Self {
        Self::new(
            status,
            "unavailable",
            "the service could not complete the request; try again in a moment",
        )
    }

    /// The proxy response.
    pub fn into_response(self) -> ApiGatewayProxyResponse {
        json_response(self.status, &self.body)
    }
}

fn context_str(req: &ApiGatewayProxyRequest, key: &str) -> Option<String> {
    match req.request_context.authorizer.fields.get(key)? {
        serde_json::Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

/// The caller from the authorizer's context (`userId`, `customerId`).
pub fn caller(req: &ApiGatewayProxyRequest) -> Result<Caller, Problem> {
    let user_id = context_str(req, "userId")
        .and_then(|s| s.parse().ok())
        .ok_or_else(Problem::unauthenticated)?;
    let customer_id = context_str(req, "customerId")
        .and_then(|s| s.parse().ok())
        .ok_or_else(Problem::unauthenticated)?;
    Ok(Caller {
        user_id,
        customer_id,
        ip: req.request_context.identity.source_ip.clone(),
        user_agent: req
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(512).collect()),
    })
}

/// The JSON body parsed as `T` (which enforces the contract's field rules).
pub fn json_body<T: DeserializeOwned>(req: &ApiGatewayProxyRequest) -> Result<T, Problem> {
    let raw = req
        .body
        .as_deref()
        .ok_or_else(|| Problem::invalid("body: required, got nothing"))?;
    if req.is_base64_encoded {
        return Err(Problem::invalid("body: must be JSON text, got base64"));
    }
    if raw.len() > MAX_BODY_BYTES {
        return Err(Problem::invalid(format!(
            "body: must be at most {MAX_BODY_BYTES} bytes, got {}",
            raw.len()
        )));
    }
    serde_json::from_str(raw).map_err(|e| Problem::invalid(format!("body: {e}")))
}

/// A JSON response with the security headers every banking answer carries (no caching by any
/// intermediary, by regulation; no MIME sniffing).
pub fn json_response<T: Serialize>(status: u16, body: &T) -> ApiGatewayProxyResponse {
    let text = serde_json::to_string(body).unwrap_or_else(|_| "{}".to_owned());
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    let mut r = ApiGatewayProxyResponse::default();
    r.status_code = i64::from(status);
    r.headers = headers;
    r.body = Some(Body::Text(text));
    r
}

/// The response for a handler result.
pub fn respond<T: Serialize>(status: u16, result: Result<T, Problem>) -> ApiGatewayProxyResponse {
    match result {
        Ok(body) => json_response(status, &body),
        Err(p) => p.into_response(),
    }
}
