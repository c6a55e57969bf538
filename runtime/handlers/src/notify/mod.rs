//! Notification delivery: the notify-email and notify-sms consumers of the SNS fan-out queues.
//!
//! Each SQS record carries a `NotificationRequested` (raw message delivery) or the SNS envelope
//! around it; [`parse_record`] accepts both. Per record:
//! unparseable -> the item fails (and, after maxReceiveCount, lands in the DLQ);
//! already delivered within the dedup window -> skipped;
//! the provider refused it for good -> a `NotificationFailed` goes to the analysis queue and the
//! item succeeds; the provider is unavailable -> the item fails, to be retried by SQS, until its
//! receive count reaches the configured limit, then it goes to the analysis queue too.

pub mod dedup;
pub mod email;
pub mod sms;

use aws_lambda_events::sqs::SqsMessage;
use banca_contracts::notification::{Channel, NotificationFailed, NotificationRequested};

/// Why a record is not a usable notification.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The record had no body.
    #[error("record has no body")]
    NoBody,
    /// Not JSON of the contract's shape.
    #[error("body is not a NotificationRequested: {0}")]
    Shape(String),
    /// Parsed, but inconsistent (missing address for a channel...).
    #[error("notification is inconsistent: {0}")]
    Invalid(String),
    /// Parsed, but not for this channel (a routing mistake in the subscription).
    #[error("notification {id} does not ask for channel {channel}")]
    WrongChannel {
        /// The notification.
        id: String,
        /// This consumer's channel.
        channel: &'static str,
    },
}

/// The notification in an SQS record, for `channel`'s consumer. Accepts raw delivery (the body
/// is the message) and the SNS JSON envelope (`{"Type":"Notification","Message":"..."}`).
pub fn parse_record(
    record: &SqsMessage,
    channel: Channel,
) -> Result<NotificationRequested, ParseError> {
    let body = record.body.as_deref().ok_or(ParseError::NoBody)?;
    let value: serde_json::Value =
        serde_json::from_str(body).map_err(|e| ParseError::Shape(e.to_string()))?;
    let inner = match (value.get("Type"), value.get("Message")) {
        (Some(serde_json::Value::String(t)), Some(serde_json::Value::String(m)))
            if t == "Notification" =>
        {
            serde_json::from_str(m).map_err(|e| ParseError::Shape(e.to_string()))?
        }
        _ => value,
    };
    let n: NotificationRequested =
        serde_json::from_value(inner).map_err(|e| ParseError::Shape(e.to_string()))?;
    n.validate()
        .map_err(|e| ParseError::Invalid(e.to_string()))?;
    if !n.channels.contains(&channel) {
        return Err(ParseError::WrongChannel {
            id: n.notification_id.to_string(),
            channel: channel.as_str(),
        });
    }
    Ok(n)
}

/// How many times SQS has delivered this record (1 on first delivery).
pub fn receive_count(record: &SqsMessage) -> u32 {
    record
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

/// What happened to one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Delivered to the provider.
    Sent,
    /// Skipped: the same dedup key was delivered within the window.
    Duplicate,
    /// Refused for good; reported to the analysis queue.
    Reported(String),
    /// Not processed; the item must fail so SQS retries it (or moves it to the DLQ).
    Retry(String),
}

/// Sends `NotificationFailed` reports to the analysis queue.
#[derive(Debug, Clone)]
pub struct AnalysisQueue {
    client: aws_sdk_sqs::Client,
    url: String,
}

/// The analysis queue could not take the report.
#[derive(Debug, thiserror::Error)]
#[error("analysis queue {url}: {message}")]
pub struct AnalysisError {
    url: String,
    message: String,
}

impl AnalysisQueue {
    /// A sender to the queue at `url`.
    pub fn new(client: aws_sdk_sqs::Client, url: String) -> Self {
        Self { client, url }
    }

    /// Sends one report.
    pub async fn report(&self, failure: &NotificationFailed) -> Result<(), AnalysisError> {
        let body = serde_json::to_string(failure).map_err(|e| AnalysisError {
            url: self.url.clone(),
            message: e.to_string(),
        })?;
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .send()
            .await
            .map_err(|e| AnalysisError {
                url: self.url.clone(),
                message: aws_sdk_sqs::error::DisplayErrorContext(&e).to_string(),
            })?;
        Ok(())
    }
}

/// Publishes `NotificationRequested` to the SNS topic; the subscriptions' body filter policies
/// route it to the e-mail and/or SMS queues.
#[derive(Debug, Clone)]
pub struct NotificationPublisher {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

impl NotificationPublisher {
    /// A publisher to `topic_arn`.
    pub fn new(client: aws_sdk_sns::Client, topic_arn: String) -> Self {
        Self { client, topic_arn }
    }

    /// Publishes one notification; returns the SNS message id.
    pub async fn publish(&self, n: &NotificationRequested) -> Result<String, AnalysisError> {
        let body = serde_json::to_string(n).map_err(|e| AnalysisError {
            url: self.topic_arn.clone(),
            message: e.to_string(),
        })?;
        let out = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .message(body)
            .send()
            .await
            .map_err(|e| AnalysisError {
                url: self.topic_arn.clone(),
                message: aws_sdk_sns::error::DisplayErrorContext(&e).to_string(),
            })?;
        Ok(out.message_id().unwrap_or_default().to_owned())
    }
}
