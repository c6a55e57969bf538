//! notify-email: render the template (HTML + text) and send it with SES v2 `SendEmail`.

use std::sync::Arc;

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_sesv2::error::ProvideErrorMetadata;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use banca_contracts::notification::{Channel, NotificationFailed, NotificationRequested};
use banca_runtime::lambda::{BatchResponse, Clock, MissingMessageId};

use super::dedup::Dedup;
use super::{AnalysisQueue, Outcome, parse_record, receive_count};
use crate::templates::Templates;

/// Default number of deliveries after which a retryable failure is reported instead of retried.
pub const DEFAULT_MAX_RECEIVES: u32 = 4;

/// Everything notify-email needs, built once per cold start.
#[derive(Clone)]
#[allow(missing_debug_implementations)]
pub struct EmailDeps {
    /// SES v2.
    pub ses: aws_sdk_sesv2::Client,
    /// Verified sender address.
    pub from: String,
    /// SES configuration set (bounces, complaints), when configured.
    pub configuration_set: Option<String>,
    /// Compiled templates.
    pub templates: Arc<Templates>,
    /// Repeat suppression.
    pub dedup: Dedup,
    /// Where refused deliveries are reported.
    pub analysis: AnalysisQueue,
    /// Deliveries after which a retryable failure is reported instead of retried.
    pub max_receives: u32,
    /// Time of failure reports.
    pub clock: Arc<dyn Clock>,
}

/// How SES answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SesFailure {
    /// Worth retrying later (throttling, quota, 5xx, network).
    Retryable(String),
    /// Will fail again (rejected message, unverified sender, suspended account...).
    Permanent {
        /// SES error code.
        code: String,
        /// Its message.
        message: String,
    },
}

/// Classifies a SES error code: throttling and quota are retryable; the rest is permanent.
pub fn classify_ses_code(code: &str) -> bool {
    matches!(
        code,
        "TooManyRequestsException"
            | "LimitExceededException"
            | "Throttling"
            | "ThrottlingException"
    )
}

async fn send(deps: &EmailDeps, n: &NotificationRequested, to: &str) -> Result<(), SesFailure> {
    let rendered = deps
        .templates
        .email(n.template, n.locale, &n.data)
        .map_err(|e| SesFailure::Permanent {
            code: "TemplateError".into(),
            message: e.to_string(),
        })?;
    let text = |s: String| Content::builder().data(s).charset("UTF-8").build();
    let subject = text(rendered.subject).map_err(|e| SesFailure::Permanent {
        code: "BuildError".into(),
        message: e.to_string(),
    })?;
    let html = text(rendered.html).map_err(|e| SesFailure::Permanent {
        code: "BuildError".into(),
        message: e.to_string(),
    })?;
    let plain = text(rendered.text).map_err(|e| SesFailure::Permanent {
        code: "BuildError".into(),
        message: e.to_string(),
    })?;
    let content = EmailContent::builder()
        .simple(
            Message::builder()
                .subject(subject)
                .body(Body::builder().html(html).text(plain).build())
                .build(),
        )
        .build();
    let mut req = deps
        .ses
        .send_email()
        .from_email_address(&deps.from)
        .destination(Destination::builder().to_addresses(to).build())
        .content(content);
    if let Some(cs) = &deps.configuration_set {
        req = req.configuration_set_name(cs);
    }
    match req.send().await {
        Ok(_) => Ok(()),
        Err(e) => {
            let status = e.raw_response().map(|r| r.status().as_u16());
            match (e.code(), status) {
                (Some(code), Some(s)) if s < 500 && !classify_ses_code(code) => {
                    Err(SesFailure::Permanent {
                        code: code.to_owned(),
                        message: e.message().unwrap_or("").to_owned(),
                    })
                }
                _ => Err(SesFailure::Retryable(
                    aws_sdk_sesv2::error::DisplayErrorContext(&e).to_string(),
                )),
            }
        }
    }
}

/// Processes one record.
pub async fn process(deps: &EmailDeps, record: &SqsMessage) -> Outcome {
    let n = match parse_record(record, Channel::Email) {
        Ok(n) => n,
        Err(e) => return Outcome::Retry(e.to_string()),
    };
    let Some(to) = n.to.email.as_ref() else {
        return Outcome::Retry("no e-mail address".into());
    };
    if deps.dedup.already_sent(Channel::Email, &n.dedup_key).await {
        return Outcome::Duplicate;
    }
    let failure = match send(deps, &n, to.as_str()).await {
        Ok(()) => {
            deps.dedup.mark_sent(Channel::Email, &n.dedup_key).await;
            return Outcome::Sent;
        }
        Err(SesFailure::Retryable(reason)) if receive_count(record) < deps.max_receives => {
            return Outcome::Retry(reason);
        }
        Err(SesFailure::Retryable(reason)) => (
            None,
            format!("gave up after {} deliveries: {reason}", deps.max_receives),
        ),
        Err(SesFailure::Permanent { code, message }) => (Some(code), message),
    };
    let report = NotificationFailed::for_request(
        &n,
        Channel::Email,
        "ses",
        failure.0,
        None,
        failure.1.clone(),
        crate::time::utc(deps.clock.now_ms()),
    );
    match deps.analysis.report(&report).await {
        Ok(()) => Outcome::Reported(failure.1),
        Err(e) => Outcome::Retry(e.to_string()),
    }
}

/// The notify-email handler: every record of the batch, failures reported per item. A failed
/// record without a `messageId` fails the whole invocation (so nothing is silently dropped).
pub async fn handle(
    deps: &EmailDeps,
    event: SqsEvent,
) -> Result<SqsBatchResponse, MissingMessageId> {
    let mut failures = BatchResponse::default();
    for record in &event.records {
        let outcome = process(deps, record).await;
        log_outcome(record, &outcome);
        if let Outcome::Retry(_) = outcome {
            failures.fail(record.message_id.as_deref());
        }
    }
    failures.into_response()
}

pub(crate) fn log_outcome(record: &SqsMessage, outcome: &Outcome) {
    let id = record.message_id.as_deref().unwrap_or("");
    match outcome {
        Outcome::Sent => tracing::info!(message_id = id, "delivered"),
        Outcome::Duplicate => tracing::info!(message_id = id, "duplicate suppressed"),
        Outcome::Reported(reason) => {
            tracing::warn!(message_id = id, reason = %reason, "refused; reported to analysis")
        }
        Outcome::Retry(reason) => {
            tracing::warn!(message_id = id, reason = %reason, "failed; will be retried")
        }
    }
}
