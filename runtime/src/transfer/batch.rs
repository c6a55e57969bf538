//! SQS batches: the Lambda event (partial batch response) and the long-running poller.

use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::event::sqs::SqsEvent;
use aws_sdk_sqs::Client as SqsClient;

use super::processor::{Outcome, Processor};
use crate::lambda::BatchResponse;

/// One record of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The SQS message id (`None` if the event lacked it).
    pub message_id: Option<String>,
    /// The body (`None` if the event lacked it).
    pub body: Option<String>,
}

/// What became of one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordOutcome {
    /// The record's message id.
    pub message_id: Option<String>,
    /// The processor's outcome; `None` when the invocation's time ran out first (C17).
    pub outcome: Option<Outcome>,
}

/// A batch's results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchResult {
    /// Per record, in input order.
    pub records: Vec<RecordOutcome>,
}

impl BatchResult {
    /// The partial batch response: exactly the records not acknowledged.
    pub fn response(&self) -> BatchResponse {
        let mut r = BatchResponse::default();
        for rec in &self.records {
            if !rec.outcome.as_ref().is_some_and(Outcome::is_ack) {
                r.fail(rec.message_id.as_deref());
            }
        }
        r
    }
}

/// Converts a Lambda SQS event into records.
pub fn records_of(event: SqsEvent) -> Vec<Record> {
    event
        .records
        .into_iter()
        .map(|m| Record {
            message_id: m.message_id,
            body: m.body,
        })
        .collect()
}

/// Processes the records concurrently. With a `budget`, a record still running when it ends
/// is abandoned (its future dropped, as if the consumer died there) and reported as failed,
/// so the invocation answers before Lambda's own timeout (C17).
pub async fn process_batch(
    processor: &Arc<Processor>,
    records: Vec<Record>,
    budget: Option<Duration>,
) -> BatchResult {
    let mut set = tokio::task::JoinSet::new();
    for (i, rec) in records.iter().enumerate() {
        let p = processor.clone();
        let body = rec.body.clone();
        set.spawn(async move {
            let work = async {
                match body {
                    Some(b) => p.process(&b).await,
                    None => Outcome::Invalid {
                        reason: "record without a body".to_owned(),
                    },
                }
            };
            let outcome = match budget {
                Some(b) => tokio::time::timeout(b, work).await.ok(),
                None => Some(work.await),
            };
            (i, outcome)
        });
    }
    let mut outcomes: Vec<Option<Outcome>> = vec![None; records.len()];
    while let Some(joined) = set.join_next().await {
        // A panicking record task leaves its slot `None`: reported as failed, retried.
        if let Ok((i, o)) = joined
            && let Some(slot) = outcomes.get_mut(i)
        {
            *slot = o;
        }
    }
    BatchResult {
        records: records
            .into_iter()
            .zip(outcomes)
            .map(|(r, outcome)| RecordOutcome {
                message_id: r.message_id,
                outcome,
            })
            .collect(),
    }
}

/// Options of the long-running SQS poller.
#[derive(Debug, Clone)]
pub struct PollerOptions {
    /// The queue.
    pub queue_url: String,
    /// Long-poll wait per receive (0-20 s).
    pub wait_time_s: i32,
    /// Messages per receive (1-10).
    pub batch_size: i32,
    /// Stop after this many receives that returned nothing (`None`: never).
    pub stop_after_empty_receives: Option<u32>,
    /// Stop after this many messages handled (`None`: never).
    pub max_messages: Option<u64>,
    /// Longest visibility delay set on a failed message, seconds (SQS allows 12 h).
    pub max_visibility_s: i32,
}

/// What a poller run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PollerStats {
    /// Messages received.
    pub received: u64,
    /// Messages acknowledged (deleted).
    pub acknowledged: u64,
    /// Messages left for redelivery.
    pub failed: u64,
}

/// The poller failed to talk to SQS.
#[derive(Debug, thiserror::Error)]
#[error("sqs {operation} failed")]
pub struct PollerError {
    /// Which call.
    pub operation: &'static str,
    /// Why.
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

/// Receives, processes, deletes acknowledged messages and sets the visibility of failed ones to
/// their retry delay, until a stop condition of `opts` holds.
pub async fn run_poller(
    processor: Arc<Processor>,
    sqs: &SqsClient,
    opts: &PollerOptions,
) -> Result<PollerStats, PollerError> {
    let mut stats = PollerStats::default();
    let mut empty = 0u32;
    loop {
        if opts.max_messages.is_some_and(|m| stats.received >= m) {
            return Ok(stats);
        }
        let out = sqs
            .receive_message()
            .queue_url(&opts.queue_url)
            .max_number_of_messages(opts.batch_size.clamp(1, 10))
            .wait_time_seconds(opts.wait_time_s.clamp(0, 20))
            .send()
            .await
            .map_err(|e| PollerError {
                operation: "ReceiveMessage",
                source: Box::new(e),
            })?;
        let messages = out.messages.unwrap_or_default();
        if messages.is_empty() {
            empty += 1;
            if opts.stop_after_empty_receives.is_some_and(|n| empty >= n) {
                return Ok(stats);
            }
            continue;
        }
        empty = 0;
        stats.received += messages.len() as u64;
        let records: Vec<Record> = messages
            .iter()
            .map(|m| Record {
                message_id: m.message_id.clone(),
                body: m.body.clone(),
            })
            .collect();
        let result = process_batch(&processor, records, None).await;
        let mut deletes = Vec::new();
        for (m, r) in messages.iter().zip(&result.records) {
            let Some(handle) = m.receipt_handle.clone() else {
                continue;
            };
            match &r.outcome {
                Some(o) if o.is_ack() => {
                    stats.acknowledged += 1;
                    let entry = aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
                        .id(format!("d{}", deletes.len()))
                        .receipt_handle(handle)
                        .build()
                        .map_err(|e| PollerError {
                            operation: "DeleteMessageBatch",
                            source: Box::new(e),
                        })?;
                    deletes.push(entry);
                }
                other => {
                    stats.failed += 1;
                    let delay_ms = match other {
                        Some(Outcome::Retry { delay_ms, .. }) => *delay_ms,
                        _ => 0,
                    };
                    let secs = i32::try_from((delay_ms + 999) / 1000)
                        .unwrap_or(i32::MAX)
                        .clamp(0, opts.max_visibility_s);
                    // Best effort: if this fails the message simply reappears after the queue's
                    // default visibility timeout.
                    let _ = sqs
                        .change_message_visibility()
                        .queue_url(&opts.queue_url)
                        .receipt_handle(handle)
                        .visibility_timeout(secs)
                        .send()
                        .await;
                }
            }
        }
        if !deletes.is_empty() {
            sqs.delete_message_batch()
                .queue_url(&opts.queue_url)
                .set_entries(Some(deletes))
                .send()
                .await
                .map_err(|e| PollerError {
                    operation: "DeleteMessageBatch",
                    source: Box::new(e),
                })?;
        }
    }
}
