//! The API Gateway handlers of /otpGenerate and /otpValidate over [`super::OtpStore`].

use std::sync::Arc;

use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use aws_lambda_events::http::HeaderValue;
use banca_contracts::api::{
    OtpGenerateRequest, OtpGenerateResponse, OtpValidateRequest, OtpValidateResponse, TransferDraft,
};
use banca_contracts::audit::{Actor, AuditEvent, Outcome};
use banca_contracts::fields::{Locale, MessageId};
use banca_contracts::notification::{Channel, NotificationRequested, Recipient, TemplateName};
use banca_contracts::transfer::{TransferRequested, TransferRequestedType, VersionOne};
use banca_runtime::lambda::Clock;
use chrono::SecondsFormat;

use super::{OtpError, OtpStore, mask_phone};
use crate::apigw::{Caller, Problem, caller, json_body, json_response};
use crate::audit::{AuditEmitter, new_event_id};
use crate::clients::GatewayClient;
use crate::notify::NotificationPublisher;
use crate::summary::BasicInfoCache;

/// Everything otp-generate needs.
#[derive(Clone)]
#[allow(missing_debug_implementations)]
pub struct GenerateDeps {
    /// Codes.
    pub store: OtpStore,
    /// Where the phone number comes from (lazy-loaded basic info).
    pub cache: BasicInfoCache,
    /// Core platform.
    pub core: GatewayClient,
    /// The notifications topic.
    pub publisher: NotificationPublisher,
    /// Audit.
    pub audit: AuditEmitter,
    /// Time.
    pub clock: Arc<dyn Clock>,
}

/// Everything otp-validate needs.
#[derive(Clone)]
#[allow(missing_debug_implementations)]
pub struct ValidateDeps {
    /// Codes.
    pub store: OtpStore,
    /// SQS.
    pub sqs: aws_sdk_sqs::Client,
    /// The transfer-requests queue.
    pub transfer_queue_url: String,
    /// Audit.
    pub audit: AuditEmitter,
    /// Time.
    pub clock: Arc<dyn Clock>,
}

fn otp_problem(e: &OtpError) -> Problem {
    match e {
        OtpError::RateLimited { retry_after_secs } => {
            Problem::new(429, "otp_rate_limited", e.to_string()).hint(format!(
                "wait {retry_after_secs} seconds before asking for another code"
            ))
        }
        OtpError::LockedOut { .. } => Problem::new(429, "otp_locked", e.to_string()),
        OtpError::NoCode => Problem::new(401, "otp_not_found", e.to_string()),
        OtpError::Expired => Problem::new(401, "otp_expired", e.to_string()),
        OtpError::AttemptsExhausted => Problem::new(401, "otp_exhausted", e.to_string()),
        OtpError::Mismatch { .. } => Problem::new(401, "otp_invalid", e.to_string()),
        OtpError::PayloadMismatch => Problem::new(401, "otp_payload_mismatch", e.to_string())
            .hint("confirm exactly the transfer the code was requested for"),
        OtpError::Internal(_) => Problem::internal(503),
    }
}

fn retry_after(e: &OtpError) -> Option<u64> {
    match e {
        OtpError::RateLimited { retry_after_secs } | OtpError::LockedOut { retry_after_secs } => {
            Some(*retry_after_secs)
        }
        _ => None,
    }
}

fn error_response(e: &OtpError) -> ApiGatewayProxyResponse {
    let mut r = otp_problem(e).into_response();
    if let Some(Ok(v)) = retry_after(e).map(|secs| HeaderValue::from_str(&secs.to_string())) {
        r.headers.insert("retry-after", v);
    }
    r
}

async fn audit(
    emitter: &AuditEmitter,
    clock: &dyn Clock,
    who: &Caller,
    action: &str,
    resource: String,
    outcome: Outcome,
    reason: Option<&str>,
) {
    let mut details = serde_json::Map::new();
    if let Some(r) = reason {
        details.insert("reason".into(), r.into());
    }
    let event = AuditEvent::new(
        new_event_id(),
        crate::time::utc(clock.now_ms()),
        Actor {
            user_id: who.user_id.clone(),
            ip: who.ip.clone(),
            user_agent: who.user_agent.clone(),
        },
        action,
        resource,
        outcome,
        details,
    );
    emitter.emit(&event).await;
}

fn parse_draft<T>(
    req: &ApiGatewayProxyRequest,
    draft: impl Fn(&T) -> &TransferDraft,
) -> Result<T, Problem>
where
    T: serde::de::DeserializeOwned,
{
    let body: T = json_body(req)?;
    draft(&body)
        .validate()
        .map_err(|e| Problem::invalid(e.to_string()))?;
    Ok(body)
}

/// POST /otpGenerate.
pub async fn generate(deps: &GenerateDeps, req: ApiGatewayProxyRequest) -> ApiGatewayProxyResponse {
    let who = match caller(&req) {
        Ok(c) => c,
        Err(p) => return p.into_response(),
    };
    let body: OtpGenerateRequest = match parse_draft(&req, |b: &OtpGenerateRequest| &b.transfer) {
        Ok(b) => b,
        Err(p) => return p.into_response(),
    };
    let phone = match deps.cache.get(&deps.core, &who.customer_id).await {
        Ok(l) => l
            .basic
            .and_then(|b| b.phone.parse::<banca_contracts::fields::E164Phone>().ok()),
        Err(_) => None,
    };
    let Some(phone) = phone else {
        return Problem::new(
            503,
            "phone_unavailable",
            "the phone number on file could not be read, so no code can be sent",
        )
        .hint("try again in a moment")
        .into_response();
    };
    let issued = match deps.store.issue(&who.user_id, &body.transfer).await {
        Ok(i) => i,
        Err(e) => {
            audit(
                &deps.audit,
                deps.clock.as_ref(),
                &who,
                "otp.generate",
                format!("user/{}", who.user_id),
                Outcome::Denied,
                Some(&e.to_string()),
            )
            .await;
            return error_response(&e);
        }
    };
    let ttl_minutes = deps.store.config().ttl_secs.div_ceil(60);
    let mut data = serde_json::Map::new();
    data.insert("code".into(), issued.code.expose().clone().into());
    data.insert("ttlMinutes".into(), ttl_minutes.into());
    let notification = NotificationRequested::new(
        MessageId::from_uuid_bytes(*uuid::Uuid::new_v4().as_bytes()),
        format!("otp:{}", issued.id),
        who.customer_id.clone(),
        vec![Channel::Sms],
        TemplateName::OtpCode,
        Locale::EsEc,
        Recipient {
            email: None,
            phone: Some(phone.clone()),
        },
        data,
    );
    if let Err(e) = deps.publisher.publish(&notification).await {
        tracing::error!(error = %e, "otp notification not published");
        return Problem::internal(503).into_response();
    }
    audit(
        &deps.audit,
        deps.clock.as_ref(),
        &who,
        "otp.generate",
        format!("otp/{}", issued.id),
        Outcome::Success,
        None,
    )
    .await;
    json_response(
        201,
        &OtpGenerateResponse {
            expires_at: crate::time::utc(issued.expires_at_ms),
            code_length: u8::try_from(deps.store.config().length).unwrap_or(u8::MAX),
            sent_to: mask_phone(phone.as_str()),
        },
    )
}

/// POST /otpValidate.
pub async fn validate(deps: &ValidateDeps, req: ApiGatewayProxyRequest) -> ApiGatewayProxyResponse {
    let who = match caller(&req) {
        Ok(c) => c,
        Err(p) => return p.into_response(),
    };
    let body: OtpValidateRequest = match parse_draft(&req, |b: &OtpValidateRequest| &b.transfer) {
        Ok(b) => b,
        Err(p) => return p.into_response(),
    };
    if !body.code.bytes().all(|b| b.is_ascii_digit())
        || body.code.is_empty()
        || body.code.len() > 10
    {
        return Problem::invalid("code: must be 6 to 10 digits").into_response();
    }
    let consumed = match deps
        .store
        .validate(&who.user_id, &body.code, &body.transfer)
        .await
    {
        Ok(c) => c,
        Err(e) => {
            audit(
                &deps.audit,
                deps.clock.as_ref(),
                &who,
                "otp.validate",
                format!("user/{}", who.user_id),
                Outcome::Denied,
                Some(&e.to_string()),
            )
            .await;
            return error_response(&e);
        }
    };
    let t = &body.transfer;
    let message = TransferRequested {
        kind: TransferRequestedType::TransferRequested,
        version: VersionOne,
        transfer_id: consumed.id.clone(),
        customer_id: who.customer_id.to_string(),
        source_account: t.source_account.to_string(),
        destination_account: t.destination_account.to_string(),
        destination_name: t.destination_name.clone(),
        amount: t.amount,
        currency: t.currency.as_str().to_owned(),
        description: t.description.clone(),
        requested_at: crate::time::utc(deps.clock.now_ms())
            .to_rfc3339_opts(SecondsFormat::Secs, true),
        channel: body.channel,
    };
    if let Err(e) = message.validate() {
        tracing::error!(error = %e, "built an invalid TransferRequested");
        return Problem::internal(500).into_response();
    }
    let Ok(json) = serde_json::to_string(&message) else {
        return Problem::internal(500).into_response();
    };
    if let Err(e) = deps
        .sqs
        .send_message()
        .queue_url(&deps.transfer_queue_url)
        .message_body(json)
        .send()
        .await
    {
        // The code is already consumed (single use comes first, so a race can never queue two
        // transfers); the customer asks for a new code.
        tracing::error!(error = %aws_sdk_sqs::error::DisplayErrorContext(&e), "transfer not queued");
        return Problem::internal(503)
            .hint("request a new code and confirm again")
            .into_response();
    }
    audit(
        &deps.audit,
        deps.clock.as_ref(),
        &who,
        "transfer.requested",
        format!("transfer/{}", consumed.id),
        Outcome::Success,
        None,
    )
    .await;
    json_response(
        202,
        &OtpValidateResponse {
            transfer_id: consumed.id,
            status: "queued".into(),
        },
    )
}
