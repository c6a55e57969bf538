//! Audit: every user operation emits an [`AuditEvent`] to the audit queue ([`AuditEmitter`]);
//! the audit-collector stores each one in DynamoDB exactly once per `eventId` (conditional put)
//! and reports failed items individually; [`AuditStore::query_user`] reads a user's events in a
//! time range.
//!
//! Table layout (the stacks crate creates it from these names):
//! - partition key [`PK`] = `eventId` (string) — the conditional put makes redelivery harmless;
//! - global secondary index [`BY_USER_INDEX`]: partition [`USER_ID`] (string), sort
//!   [`OCCURRED_KEY`] (string, `occurredAt` RFC 3339 in UTC with milliseconds + `#` + `eventId`,
//!   so it sorts by time and stays unique).

use std::collections::HashMap;

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::AttributeValue;
use banca_contracts::audit::AuditEvent;
use banca_contracts::fields::UserId;
use banca_runtime::lambda::{BatchResponse, MissingMessageId};
use chrono::{DateTime, SecondsFormat, Utc};

/// Partition key attribute.
pub const PK: &str = "eventId";
/// GSI partition key attribute.
pub const USER_ID: &str = "userId";
/// GSI sort key attribute.
pub const OCCURRED_KEY: &str = "occurredKey";
/// The GSI that serves queries by user and time.
pub const BY_USER_INDEX: &str = "byUser";
/// Page size and bound of one query (pages are followed up to [`MAX_QUERY_PAGES`]).
pub const QUERY_PAGE: i32 = 100;
/// Most pages one query helper call reads.
pub const MAX_QUERY_PAGES: usize = 20;

fn occurred_key(at: DateTime<Utc>, event_id: &str) -> String {
    format!(
        "{}#{event_id}",
        at.to_rfc3339_opts(SecondsFormat::Millis, true)
    )
}

/// Why storing one event failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// The body is not an AuditEvent.
    #[error("record is not an AuditEvent: {0}")]
    Parse(String),
    /// DynamoDB refused or was unreachable.
    #[error("dynamodb: {0}")]
    Store(String),
}

/// What happened to one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    /// Written now.
    New,
    /// Already there (a redelivery): nothing written.
    Duplicate,
}

/// The audit table.
#[derive(Debug, Clone)]
pub struct AuditStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl AuditStore {
    /// The table `table`.
    pub fn new(client: aws_sdk_dynamodb::Client, table: String) -> Self {
        Self { client, table }
    }

    /// Stores `event` unless its `eventId` is already stored.
    pub async fn put(&self, event: &AuditEvent) -> Result<Stored, AuditError> {
        let json = serde_json::to_string(event).map_err(|e| AuditError::Parse(e.to_string()))?;
        let id = event.event_id.as_str();
        let item = HashMap::from([
            (PK.to_owned(), AttributeValue::S(id.to_owned())),
            (
                USER_ID.to_owned(),
                AttributeValue::S(event.actor.user_id.to_string()),
            ),
            (
                OCCURRED_KEY.to_owned(),
                AttributeValue::S(occurred_key(event.occurred_at, id)),
            ),
            ("action".to_owned(), AttributeValue::S(event.action.clone())),
            (
                "outcome".to_owned(),
                AttributeValue::S(event.outcome.as_str().to_owned()),
            ),
            (
                "resource".to_owned(),
                AttributeValue::S(event.resource.clone()),
            ),
            ("event".to_owned(), AttributeValue::S(json)),
        ]);
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .send()
            .await;
        match result {
            Ok(_) => Ok(Stored::New),
            Err(e) if e.code() == Some("ConditionalCheckFailedException") => Ok(Stored::Duplicate),
            Err(e) => Err(AuditError::Store(
                aws_sdk_dynamodb::error::DisplayErrorContext(&e).to_string(),
            )),
        }
    }

    /// A user's events with `from <= occurredAt <= to`, oldest first (bounded by
    /// [`MAX_QUERY_PAGES`] pages of [`QUERY_PAGE`]).
    pub async fn query_user(
        &self,
        user: &UserId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<AuditEvent>, AuditError> {
        let lo = format!("{}#", from.to_rfc3339_opts(SecondsFormat::Millis, true));
        // '~' sorts after every character of an event id, so `to` itself is included.
        let hi = format!("{}#~", to.to_rfc3339_opts(SecondsFormat::Millis, true));
        let mut out = Vec::new();
        let mut start = None;
        for _ in 0..MAX_QUERY_PAGES {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(BY_USER_INDEX)
                .key_condition_expression("#u = :u AND #o BETWEEN :lo AND :hi")
                .expression_attribute_names("#u", USER_ID)
                .expression_attribute_names("#o", OCCURRED_KEY)
                .expression_attribute_values(":u", AttributeValue::S(user.to_string()))
                .expression_attribute_values(":lo", AttributeValue::S(lo.clone()))
                .expression_attribute_values(":hi", AttributeValue::S(hi.clone()))
                .limit(QUERY_PAGE)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| {
                    AuditError::Store(aws_sdk_dynamodb::error::DisplayErrorContext(&e).to_string())
                })?;
            for item in page.items() {
                if let Some(AttributeValue::S(json)) = item.get("event") {
                    let e: AuditEvent =
                        serde_json::from_str(json).map_err(|e| AuditError::Parse(e.to_string()))?;
                    out.push(e);
                }
            }
            start = page.last_evaluated_key().cloned();
            if start.is_none() {
                break;
            }
        }
        Ok(out)
    }
}

/// Parses one SQS record (raw body, or an SNS envelope) as a valid [`AuditEvent`].
pub fn parse_record(record: &SqsMessage) -> Result<AuditEvent, AuditError> {
    let body = record
        .body
        .as_deref()
        .ok_or_else(|| AuditError::Parse("no body".into()))?;
    let e: AuditEvent = serde_json::from_str(body).map_err(|e| AuditError::Parse(e.to_string()))?;
    e.validate().map_err(|e| AuditError::Parse(e.to_string()))?;
    Ok(e)
}

/// The audit-collector handler: each record stored once; failures reported per item
/// (unparseable ones end in the DLQ after maxReceiveCount).
pub async fn handle(
    store: &AuditStore,
    event: SqsEvent,
) -> Result<SqsBatchResponse, MissingMessageId> {
    let mut failures = BatchResponse::default();
    for record in &event.records {
        let id = record.message_id.as_deref().unwrap_or("");
        let result = match parse_record(record) {
            Ok(e) => store.put(&e).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(Stored::New) => tracing::info!(message_id = id, "audit event stored"),
            Ok(Stored::Duplicate) => tracing::info!(message_id = id, "audit event already stored"),
            Err(e) => {
                tracing::warn!(message_id = id, error = %e, "audit event not stored");
                failures.fail(record.message_id.as_deref());
            }
        }
    }
    failures.into_response()
}

/// Sends audit events to the audit queue. Auditing must not break the operation it records,
/// so a send failure is logged (with the event, minus secrets) and swallowed.
#[derive(Debug, Clone)]
pub struct AuditEmitter {
    client: aws_sdk_sqs::Client,
    queue_url: String,
}

impl AuditEmitter {
    /// An emitter to the queue at `queue_url`.
    pub fn new(client: aws_sdk_sqs::Client, queue_url: String) -> Self {
        Self { client, queue_url }
    }

    /// Sends one event.
    pub async fn emit(&self, event: &AuditEvent) {
        let Ok(body) = serde_json::to_string(event) else {
            return;
        };
        if let Err(e) = self
            .client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(&body)
            .send()
            .await
        {
            tracing::error!(
                error = %aws_sdk_sqs::error::DisplayErrorContext(&e),
                audit_event = %body,
                "audit event could not be queued"
            );
        }
    }
}

/// A new event id (UUID v4).
pub fn new_event_id() -> banca_contracts::fields::MessageId {
    banca_contracts::fields::MessageId::from_uuid_bytes(*uuid::Uuid::new_v4().as_bytes())
}
