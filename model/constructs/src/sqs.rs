//! SQS queues: encrypted, TLS-only, long polling, with a dead-letter queue.

use serde_json::{Value as Json, json};

use crate::error::SynthError;
use crate::iam::{Grant, Grantable, actions, grant};
use crate::kms::Key;
use crate::tree::{ResourceRef, Scope, Token};

/// How a queue is encrypted at rest.
#[derive(Debug, Clone, Default)]
pub enum QueueEncryption {
    /// SQS-managed keys (`SqsManagedSseEnabled`): no key policy to manage, works with SNS and
    /// Lambda without extra grants. The default.
    #[default]
    SqsManaged,
    /// A customer-managed key; grants add the KMS actions clients need.
    Kms(Key),
}

/// Where messages go after failing `max_receive_count` times.
#[derive(Debug, Clone)]
pub enum DeadLetter {
    /// Create a DLQ next to the queue (14 days retention, same encryption). The default, with 5.
    Create {
        /// Receives before a message moves to the DLQ.
        max_receive_count: u32,
    },
    /// Use an existing queue.
    Queue {
        /// The DLQ.
        queue: Box<Queue>,
        /// Receives before a message moves to the DLQ.
        max_receive_count: u32,
    },
    /// No DLQ: this queue is itself a DLQ (compliance rule SQS3 checks some queue targets it).
    None,
}

impl Default for DeadLetter {
    fn default() -> Self {
        DeadLetter::Create {
            max_receive_count: 5,
        }
    }
}

/// Props of [`Queue`].
#[derive(Debug, Clone)]
pub struct QueueProps {
    /// Encryption at rest. Default: SQS-managed SSE.
    pub encryption: QueueEncryption,
    /// Seconds a received message stays hidden, 0..=43200. Default: 30. Must be at least the
    /// timeout of a function consuming it (checked at synth).
    pub visibility_timeout_secs: u32,
    /// Seconds a message is kept, 60..=1209600. Default: 345600 (4 days).
    pub retention_period_secs: u32,
    /// Long-polling wait, 0..=20 seconds. Default: 20 (fewer empty receives, lower cost).
    pub receive_wait_time_secs: u32,
    /// The dead-letter queue. Default: a new DLQ, 5 receives.
    pub dead_letter: DeadLetter,
    /// FIFO queue. Default: off (standard; consumers are idempotent).
    pub fifo: bool,
    /// The queue name. Unset: generated (so replacement never collides).
    pub queue_name: Option<String>,
}

impl Default for QueueProps {
    fn default() -> Self {
        Self {
            encryption: QueueEncryption::default(),
            visibility_timeout_secs: 30,
            retention_period_secs: 345_600,
            receive_wait_time_secs: 20,
            dead_letter: DeadLetter::default(),
            fifo: false,
            queue_name: None,
        }
    }
}

/// An SQS queue with its TLS-only queue policy.
#[derive(Debug, Clone)]
pub struct Queue {
    resource: ResourceRef,
    policy: ResourceRef,
    key: Option<Key>,
    dlq: Option<Box<Queue>>,
}

fn check_range(
    me: &Scope,
    field: &'static str,
    v: u32,
    r: std::ops::RangeInclusive<u32>,
) -> Result<(), SynthError> {
    if r.contains(&v) {
        Ok(())
    } else {
        Err(SynthError::InvalidProps {
            path: me.path().to_owned(),
            field,
            message: format!("must be {}..={}, got {v}", r.start(), r.end()),
        })
    }
}

/// The statement denying any request not made over TLS (compliance rules SQS4/SNS3/S10).
pub fn deny_insecure_transport(action: &str, resources: Vec<Json>) -> Json {
    json!({
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": action,
        "Resource": resources,
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    })
}

impl Queue {
    /// A queue `id` under `scope`.
    pub fn new(scope: &Scope, id: &str, props: QueueProps) -> Result<Self, SynthError> {
        let me = scope.child(id)?;
        check_range(
            &me,
            "visibility_timeout_secs",
            props.visibility_timeout_secs,
            0..=43_200,
        )?;
        check_range(
            &me,
            "retention_period_secs",
            props.retention_period_secs,
            60..=1_209_600,
        )?;
        check_range(
            &me,
            "receive_wait_time_secs",
            props.receive_wait_time_secs,
            0..=20,
        )?;
        let dlq = match props.dead_letter.clone() {
            DeadLetter::Create { max_receive_count } => {
                check_range(&me, "max_receive_count", max_receive_count, 1..=1000)?;
                let q = Queue::new(
                    &me,
                    "Dlq",
                    QueueProps {
                        encryption: props.encryption.clone(),
                        retention_period_secs: 1_209_600,
                        dead_letter: DeadLetter::None,
                        fifo: props.fifo,
                        queue_name: props.queue_name.as_ref().map(|n| {
                            match n.strip_suffix(".fifo") {
                                Some(base) => format!("{base}-dlq.fifo"),
                                None => format!("{n}-dlq"),
                            }
                        }),
                        ..QueueProps::default()
                    },
                )?;
                Some((Box::new(q), max_receive_count))
            }
            DeadLetter::Queue {
                queue,
                max_receive_count,
            } => {
                check_range(&me, "max_receive_count", max_receive_count, 1..=1000)?;
                Some((queue, max_receive_count))
            }
            DeadLetter::None => None,
        };
        let mut p = json!({
            "VisibilityTimeout": props.visibility_timeout_secs,
            "MessageRetentionPeriod": props.retention_period_secs,
            "ReceiveMessageWaitTimeSeconds": props.receive_wait_time_secs,
        });
        let key = match &props.encryption {
            QueueEncryption::SqsManaged => {
                p["SqsManagedSseEnabled"] = json!(true);
                None
            }
            QueueEncryption::Kms(k) => {
                p["KmsMasterKeyId"] = k.arn().to_json();
                p["KmsDataKeyReusePeriodSeconds"] = json!(300);
                Some(k.clone())
            }
        };
        if props.fifo {
            p["FifoQueue"] = json!(true);
            p["ContentBasedDeduplication"] = json!(false);
        }
        if let Some(n) = &props.queue_name {
            if props.fifo != n.ends_with(".fifo") {
                return Err(SynthError::InvalidProps {
                    path: me.path().to_owned(),
                    field: "queue_name",
                    message: format!(
                        "a FIFO queue's name must end in .fifo and only then, got {n:?} (fifo: {})",
                        props.fifo
                    ),
                });
            }
            p["QueueName"] = json!(n);
        }
        if let Some((q, n)) = &dlq {
            p["RedrivePolicy"] = json!({"deadLetterTargetArn": q.arn(), "maxReceiveCount": n});
        }
        let resource = me.add_resource("Resource", "AWS::SQS::Queue", p)?;
        let policy = me.add_resource(
            "Policy",
            "AWS::SQS::QueuePolicy",
            json!({
                "Queues": [resource.reference()],
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [deny_insecure_transport("sqs:*", vec![resource.get_att("Arn").to_json()])],
                },
            }),
        )?;
        Ok(Self {
            resource,
            policy,
            key,
            dlq: dlq.map(|(q, _)| q),
        })
    }

    /// The queue's resource.
    pub fn resource(&self) -> &ResourceRef {
        &self.resource
    }

    /// The queue's ARN.
    pub fn arn(&self) -> Token {
        self.resource.get_att("Arn")
    }

    /// The queue's URL.
    pub fn url(&self) -> Token {
        self.resource.get_att("QueueUrl")
    }

    /// The queue's name.
    pub fn name(&self) -> Token {
        self.resource.get_att("QueueName")
    }

    /// Its customer-managed key, if any.
    pub fn key(&self) -> Option<&Key> {
        self.key.as_ref()
    }

    /// Its dead-letter queue, if this construct created or was given one.
    pub fn dead_letter_queue(&self) -> Option<&Queue> {
        self.dlq.as_deref()
    }

    /// The visibility timeout currently set (after overrides).
    pub fn visibility_timeout_secs(&self) -> Option<u64> {
        self.resource
            .property("VisibilityTimeout")
            .and_then(|v| v.as_u64())
    }

    /// Adds a statement to the queue policy.
    pub fn add_to_resource_policy(&self, statement: Json) {
        self.policy.with_entry(|e| {
            if let Some(s) = e
                .properties
                .get_mut("PolicyDocument")
                .and_then(|d| d.get_mut("Statement"))
                .and_then(Json::as_array_mut)
                && !s.contains(&statement)
            {
                s.push(statement);
            }
        });
    }

    /// Grants receiving and deleting messages (plus `kms:Decrypt` on a CMK).
    pub fn grant_consume(&self, grantee: &dyn Grantable) -> Grant {
        grant(
            grantee,
            actions::SQS_CONSUME,
            vec![self.arn().to_json()],
            self.key.as_ref().map(|k| (k, actions::KMS_DECRYPT)),
        )
    }

    /// Grants sending messages (plus `kms:GenerateDataKey`/`kms:Decrypt` on a CMK).
    pub fn grant_send(&self, grantee: &dyn Grantable) -> Grant {
        grant(
            grantee,
            actions::SQS_SEND,
            vec![self.arn().to_json()],
            self.key
                .as_ref()
                .map(|k| (k, &["kms:GenerateDataKey", "kms:Decrypt"][..])),
        )
    }
}
