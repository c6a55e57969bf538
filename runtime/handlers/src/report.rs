//! movements-report: `ReportRequested` (SQS) -> validate the range -> the account's movements
//! from the core platform -> HTML + CSV from `templates/report` -> an e-mail with the CSV
//! attached (SES v2 raw MIME), to the customer's address on file.
//!
//! Per record: unparseable or an invalid range -> the item fails (it ends in the DLQ: the API
//! validates ranges first, so one here is a bug to look at); the core platform or SES
//! unavailable -> the item fails and SQS retries it; the same `requestId` delivered again after
//! success -> skipped (dedup mark).

use std::sync::Arc;

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{Destination, EmailContent, RawMessage};
use banca_contracts::notification::{Channel, TemplateName};
use banca_contracts::report::{DateRange, ReportRequested, validate_range};
use banca_runtime::lambda::{BatchResponse, Clock, MissingMessageId};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::clients::{GatewayClient, MOVEMENTS_LIMIT, Movement};
use crate::notify::dedup::Dedup;
use crate::summary::BasicInfoCache;
use crate::templates::Templates;

/// Default longest range, days (a quarter: bounded work per message).
pub const DEFAULT_MAX_SPAN_DAYS: i64 = 92;

/// Everything movements-report needs.
#[derive(Clone)]
#[allow(missing_debug_implementations)]
pub struct ReportDeps {
    /// Core platform.
    pub core: GatewayClient,
    /// Customer e-mail and name.
    pub cache: BasicInfoCache,
    /// SES v2.
    pub ses: aws_sdk_sesv2::Client,
    /// Sender.
    pub from: String,
    /// Templates.
    pub templates: Arc<Templates>,
    /// Redelivery suppression (by requestId).
    pub dedup: Dedup,
    /// Longest range.
    pub max_span_days: i64,
    /// Time.
    pub clock: Arc<dyn Clock>,
}

/// A row of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportRow {
    /// Posted at (RFC 3339).
    pub posted_at: String,
    /// Counterparty account, masked.
    pub counterparty_account: String,
    /// Counterparty name.
    pub counterparty: String,
    /// Debit amount or empty.
    pub debit: String,
    /// Credit amount or empty.
    pub credit: String,
    /// Reference.
    pub reference: String,
}

/// The template data of a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportData {
    /// Account, masked.
    pub account_masked: String,
    /// Customer's name.
    pub customer_name: String,
    /// First day.
    pub from: String,
    /// Last day.
    pub to: String,
    /// Currency of the account.
    pub currency: String,
    /// Sum of debits.
    pub total_debits: String,
    /// Sum of credits.
    pub total_credits: String,
    /// Number of movements.
    pub count: usize,
    /// Rows, oldest first.
    pub movements: Vec<ReportRow>,
    /// Whether the core's limit cut the list.
    pub truncated: bool,
}

/// Masks an account number, keeping the last 4 digits.
pub fn mask_account(account: &str) -> String {
    let n = account.chars().count();
    if n <= 4 {
        return "****".into();
    }
    let tail: String = account.chars().skip(n - 4).collect();
    format!("{}{tail}", "*".repeat(n - 4))
}

/// Builds the report data (pure): keeps movements of the account within the range (the core's
/// answer is filtered again defensively), oldest first, with totals in exact decimals.
pub fn build(
    account: &str,
    customer_name: &str,
    range: DateRange,
    movements: &[Movement],
    limit_hit: bool,
) -> ReportData {
    let mut rows: Vec<&Movement> = movements
        .iter()
        .filter(|m| m.account_id == account)
        .filter(|m| {
            let d = m.posted_at.date_naive();
            d >= range.from() && d <= range.to()
        })
        .collect();
    rows.sort_by_key(|m| m.posted_at);
    let mut debits = Decimal::ZERO;
    let mut credits = Decimal::ZERO;
    let movements: Vec<ReportRow> = rows
        .iter()
        .map(|m| {
            let (debit, credit) = if m.direction == "debit" {
                debits += m.amount.decimal();
                (m.amount.to_string(), String::new())
            } else {
                credits += m.amount.decimal();
                (String::new(), m.amount.to_string())
            };
            ReportRow {
                posted_at: m
                    .posted_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                counterparty_account: m
                    .counterparty_account
                    .as_deref()
                    .map(mask_account)
                    .unwrap_or_default(),
                counterparty: m.counterparty_name.clone().unwrap_or_default(),
                debit,
                credit,
                reference: m.reference.clone(),
            }
        })
        .collect();
    let currency = rows
        .first()
        .map(|m| m.currency.clone())
        .unwrap_or_else(|| "USD".into());
    ReportData {
        account_masked: mask_account(account),
        customer_name: customer_name.to_owned(),
        from: range.from().to_string(),
        to: range.to().to_string(),
        currency,
        total_debits: format!("{:.2}", debits),
        total_credits: format!("{:.2}", credits),
        count: movements.len(),
        movements,
        truncated: limit_hit,
    }
}

/// RFC 2047 encoded-word for a header with non-ASCII text.
fn header_text(s: &str) -> String {
    let one_line: String = s.chars().filter(|c| *c != '\r' && *c != '\n').collect();
    if one_line.is_ascii() {
        one_line
    } else {
        format!("=?UTF-8?B?{}?=", STANDARD.encode(one_line.as_bytes()))
    }
}

fn wrap76(b64: &str) -> String {
    b64.as_bytes()
        .chunks(76)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("\r\n")
}

/// The parts of a report e-mail.
#[derive(Debug, Clone, Copy)]
pub struct MimeParts<'a> {
    /// Sender.
    pub from: &'a str,
    /// Recipient.
    pub to: &'a str,
    /// Subject (encoded when not ASCII).
    pub subject: &'a str,
    /// Plain-text alternative.
    pub text: &'a str,
    /// HTML alternative.
    pub html: &'a str,
    /// CSV file name.
    pub attachment_name: &'a str,
    /// CSV content.
    pub csv: &'a str,
    /// Makes the MIME boundaries unique (the request id).
    pub boundary_seed: &'a str,
}

/// A MIME message: text + HTML alternatives and one CSV attachment, every part base64.
pub fn mime_message(p: MimeParts<'_>) -> String {
    let MimeParts {
        from,
        to,
        subject,
        text,
        html,
        attachment_name,
        csv,
        boundary_seed,
    } = p;
    let mixed = format!("mixed-{boundary_seed}");
    let alt = format!("alt-{boundary_seed}");
    let part = |ctype: &str, body: &str| {
        format!(
            "Content-Type: {ctype}; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n",
            wrap76(&STANDARD.encode(body.as_bytes()))
        )
    };
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {}\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"{mixed}\"\r\n\r\n\
--{mixed}\r\nContent-Type: multipart/alternative; boundary=\"{alt}\"\r\n\r\n\
--{alt}\r\n{}--{alt}\r\n{}--{alt}--\r\n\
--{mixed}\r\nContent-Type: text/csv; charset=UTF-8; name=\"{attachment_name}\"\r\nContent-Disposition: attachment; filename=\"{attachment_name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n\
--{mixed}--\r\n",
        header_text(subject),
        part("text/plain", text),
        part("text/html", html),
        // A BOM so Excel opens the UTF-8 CSV with accents intact.
        wrap76(&STANDARD.encode(format!("\u{feff}{csv}").as_bytes())),
    )
}

/// Why one request was not delivered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// Unparseable or invalid: will not get better.
    #[error("invalid report request: {0}")]
    Invalid(String),
    /// A dependency failed: retry.
    #[error("report not sent: {0}")]
    Unavailable(String),
}

/// Produces and sends one report.
pub async fn process(deps: &ReportDeps, record: &SqsMessage) -> Result<bool, ReportError> {
    let body = record
        .body
        .as_deref()
        .ok_or_else(|| ReportError::Invalid("no body".into()))?;
    let req: ReportRequested =
        serde_json::from_str(body).map_err(|e| ReportError::Invalid(e.to_string()))?;
    let range = validate_range(req.from, req.to, deps.max_span_days)
        .map_err(|e| ReportError::Invalid(e.to_string()))?;
    let dedup_key = format!("report:{}", req.request_id);
    if deps.dedup.already_sent(Channel::Email, &dedup_key).await {
        return Ok(false);
    }
    let basic = deps
        .cache
        .get(&deps.core, &req.customer_id)
        .await
        .map_err(|e| ReportError::Unavailable(e.to_string()))?;
    let Some(basic) = basic.basic else {
        return Err(ReportError::Unavailable(
            "customer e-mail unavailable".into(),
        ));
    };
    let to = basic
        .email
        .parse::<banca_contracts::fields::Email>()
        .map_err(|e| ReportError::Invalid(e.to_string()))?;
    let movements = deps
        .core
        .movements(&req.account_id, range.from(), range.to(), MOVEMENTS_LIMIT)
        .await
        .map_err(|e| ReportError::Unavailable(e.to_string()))?;
    let limit_hit = movements.len() >= MOVEMENTS_LIMIT as usize;
    let data = build(
        req.account_id.as_str(),
        &basic.full_name,
        range,
        &movements,
        limit_hit,
    );
    let rendered = deps
        .templates
        .report(req.locale, &data)
        .map_err(|e| ReportError::Invalid(e.to_string()))?;
    let email = deps
        .templates
        .email(TemplateName::MovementsReport, req.locale, &data)
        .map_err(|e| ReportError::Invalid(e.to_string()))?;
    let raw = mime_message(MimeParts {
        from: &deps.from,
        to: to.as_str(),
        subject: &email.subject,
        text: &email.text,
        html: &rendered.html,
        attachment_name: &format!("movimientos-{}-{}.csv", range.from(), range.to()),
        csv: &rendered.csv,
        boundary_seed: req.request_id.as_str(),
    });
    deps.ses
        .send_email()
        .from_email_address(&deps.from)
        .destination(Destination::builder().to_addresses(to.as_str()).build())
        .content(
            EmailContent::builder()
                .raw(
                    RawMessage::builder()
                        .data(Blob::new(raw.into_bytes()))
                        .build()
                        .map_err(|e| ReportError::Invalid(e.to_string()))?,
                )
                .build(),
        )
        .send()
        .await
        .map_err(|e| {
            ReportError::Unavailable(aws_sdk_sesv2::error::DisplayErrorContext(&e).to_string())
        })?;
    deps.dedup.mark_sent(Channel::Email, &dedup_key).await;
    Ok(true)
}

/// The movements-report handler.
pub async fn handle(
    deps: &ReportDeps,
    event: SqsEvent,
) -> Result<SqsBatchResponse, MissingMessageId> {
    let mut failures = BatchResponse::default();
    for record in &event.records {
        let id = record.message_id.as_deref().unwrap_or("");
        match process(deps, record).await {
            Ok(true) => tracing::info!(message_id = id, "report sent"),
            Ok(false) => tracing::info!(message_id = id, "report already sent"),
            Err(e) => {
                tracing::warn!(message_id = id, error = %e, "report failed");
                failures.fail(record.message_id.as_deref());
            }
        }
    }
    failures.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mv(id: &str, at: &str, amount: &str, dir: &str, account: &str) -> Movement {
        serde_json::from_value(serde_json::json!({
            "movementId": id, "accountId": account, "postedAt": at, "amount": amount,
            "currency": "USD", "direction": dir, "counterpartyAccount": "2200991122",
            "counterpartyName": "Maria Lopez", "reference": format!("ref-{id}")
        }))
        .unwrap()
    }

    #[test]
    fn build_filters_sorts_and_totals_exactly() {
        let range = validate_range(
            "2026-10-01".parse().unwrap(),
            "2026-10-31".parse().unwrap(),
            92,
        )
        .unwrap();
        let ms = vec![
            mv("3", "2026-10-20T10:00:00Z", "0.10", "debit", "2200118877"),
            mv("1", "2026-10-02T10:00:00Z", "0.20", "debit", "2200118877"),
            mv(
                "2",
                "2026-10-05T10:00:00Z",
                "100.00",
                "credit",
                "2200118877",
            ),
            mv("4", "2026-11-01T00:00:01Z", "9.99", "debit", "2200118877"),
            mv("5", "2026-10-03T10:00:00Z", "9.99", "debit", "9999999999"),
        ];
        let d = build("2200118877", "Maria", range, &ms, false);
        assert_eq!(d.count, 3);
        assert_eq!(d.total_debits, "0.30", "no float rounding");
        assert_eq!(d.total_credits, "100.00");
        assert_eq!(d.movements[0].reference, "ref-1");
        assert_eq!(d.account_masked, "******8877");
        assert_eq!(d.movements[0].counterparty_account, "******1122");
    }

    #[test]
    fn mime_has_both_alternatives_and_the_attachment() {
        let m = mime_message(MimeParts {
            from: "a@b.co",
            to: "c@d.co",
            subject: "Sus movimientos del 1 al 2 — octubre",
            text: "hola",
            html: "<p>hola</p>",
            attachment_name: "m.csv",
            csv: "x,y
",
            boundary_seed: "r1",
        });
        assert!(m.contains("Subject: =?UTF-8?B?"));
        assert!(
            m.contains("multipart/alternative")
                && m.contains("text/html")
                && m.contains("text/plain")
        );
        assert!(m.contains("filename=\"m.csv\""));
        assert!(m.lines().all(|l| l.len() <= 998));
    }
}
