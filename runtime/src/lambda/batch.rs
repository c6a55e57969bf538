use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse};

/// A record failed but carried no `messageId`, so it cannot be named in a partial batch
/// response. The only safe answer is to fail the whole invocation: Lambda then returns every
/// record to the queue, and the finished ones are no-ops on redelivery.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a failed sqs record has no messageId; failing the whole batch so no message is lost")]
pub struct MissingMessageId;

/// The failed records of one SQS batch, in the order they failed, without duplicates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchResponse {
    failed: Vec<String>,
    unidentified: usize,
}

impl BatchResponse {
    /// Records a failed message. `None` or an empty id poisons the response (see
    /// [`MissingMessageId`]).
    pub fn fail(&mut self, message_id: Option<&str>) {
        match message_id {
            Some(id) if !id.trim().is_empty() => {
                if !self.failed.iter().any(|f| f == id) {
                    self.failed.push(id.to_owned());
                }
            }
            _ => self.unidentified += 1,
        }
    }

    /// The failed message ids so far.
    pub fn failed_ids(&self) -> &[String] {
        &self.failed
    }

    /// Whether nothing failed.
    pub fn is_empty(&self) -> bool {
        self.failed.is_empty() && self.unidentified == 0
    }

    /// The response Lambda expects (`{"batchItemFailures":[{"itemIdentifier":..}]}`), or an
    /// error when a failure cannot be named.
    pub fn into_response(self) -> Result<SqsBatchResponse, MissingMessageId> {
        if self.unidentified > 0 {
            return Err(MissingMessageId);
        }
        let mut response = SqsBatchResponse::default();
        for id in self.failed {
            let mut item = BatchItemFailure::default();
            item.item_identifier = id;
            response.batch_item_failures.push(item);
        }
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_exactly_the_failed_ids_once() {
        let mut b = BatchResponse::default();
        b.fail(Some("m2"));
        b.fail(Some("m5"));
        b.fail(Some("m2"));
        let json = serde_json::to_value(b.into_response().unwrap()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"batchItemFailures":[{"itemIdentifier":"m2"},{"itemIdentifier":"m5"}]})
        );
    }

    #[test]
    fn empty_is_an_empty_list() {
        let json = serde_json::to_value(BatchResponse::default().into_response().unwrap()).unwrap();
        assert_eq!(json, serde_json::json!({"batchItemFailures":[]}));
    }

    #[test]
    fn never_emits_an_empty_identifier() {
        for bad in [None, Some(""), Some("  ")] {
            let mut b = BatchResponse::default();
            b.fail(Some("m1"));
            b.fail(bad);
            assert!(!b.is_empty());
            assert_eq!(b.into_response(), Err(MissingMessageId));
        }
    }
}
