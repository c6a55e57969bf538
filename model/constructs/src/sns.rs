//! SNS topics (KMS, TLS-only) and SQS subscriptions with message-body filter policies.

use serde_json::{Value as Json, json};

use crate::error::SynthError;
use crate::iam::{Grant, Grantable, actions, grant};
use crate::kms::Key;
use crate::sqs::{Queue, deny_insecure_transport};
use crate::tree::{ResourceRef, Scope, Token};

/// SNS's limit on the combinations of values a filter policy may express.
pub const MAX_FILTER_COMBINATIONS: usize = 150;

/// Props of [`Topic`].
#[derive(Debug, Clone, Default)]
pub struct TopicProps {
    /// The key that encrypts messages at rest. Unset: a key is created for the topic
    /// (compliance rule SNS2 needs KMS; SNS's AWS-managed key cannot be shared with
    /// CloudWatch or EventBridge publishers).
    pub encryption_key: Option<Key>,
    /// The topic name. Unset: generated.
    pub topic_name: Option<String>,
    /// Shown in notifications by e-mail/SMS subscriptions. Unset: none.
    pub display_name: Option<String>,
}

/// A standard SNS topic with a TLS-only topic policy.
#[derive(Debug, Clone)]
pub struct Topic {
    resource: ResourceRef,
    policy: ResourceRef,
    key: Key,
    scope: Scope,
}

impl Topic {
    /// A topic `id` under `scope`.
    pub fn new(scope: &Scope, id: &str, props: TopicProps) -> Result<Self, SynthError> {
        let me = scope.child(id)?;
        let key = match props.encryption_key {
            Some(k) => k,
            None => Key::new(&me, "Key", crate::kms::KeyProps::default())?,
        };
        let mut p = json!({"KmsMasterKeyId": key.arn()});
        if let Some(n) = &props.topic_name {
            p["TopicName"] = json!(n);
        }
        if let Some(n) = &props.display_name {
            p["DisplayName"] = json!(n);
        }
        let resource = me.add_resource("Resource", "AWS::SNS::Topic", p)?;
        let policy = me.add_resource(
            "Policy",
            "AWS::SNS::TopicPolicy",
            json!({
                "Topics": [resource.reference()],
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [deny_insecure_transport("sns:Publish", vec![resource.reference().to_json()])],
                },
            }),
        )?;
        Ok(Self {
            resource,
            policy,
            key,
            scope: me,
        })
    }

    /// The topic's resource.
    pub fn resource(&self) -> &ResourceRef {
        &self.resource
    }

    /// The topic's ARN (its Ref).
    pub fn arn(&self) -> Token {
        self.resource.reference()
    }

    /// Its key.
    pub fn key(&self) -> &Key {
        &self.key
    }

    /// Adds a statement to the topic policy.
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

    /// Lets an AWS service (CloudWatch alarms, EventBridge, AWS Config) of this account publish.
    pub fn allow_service_publish(&self, service: &str) {
        self.add_to_resource_policy(json!({
            "Sid": format!("Allow{}Publish", service.split('.').next().unwrap_or(service)),
            "Effect": "Allow",
            "Principal": {"Service": service},
            "Action": "sns:Publish",
            "Resource": self.arn(),
            "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
        }));
        self.key
            .allow_service(service, &["kms:Decrypt", "kms:GenerateDataKey"], None);
    }

    /// Grants publishing (and the key actions publishing to an encrypted topic needs).
    pub fn grant_publish(&self, grantee: &dyn Grantable) -> Grant {
        grant(
            grantee,
            actions::SNS_PUBLISH,
            vec![self.arn().to_json()],
            Some((&self.key, &["kms:GenerateDataKey", "kms:Decrypt"][..])),
        )
    }

    /// Subscribes `queue` with raw delivery. With a filter policy, only matching messages are
    /// delivered; the queue's policy lets only this topic send to it.
    pub fn add_sqs_subscription(
        &self,
        id: &str,
        queue: &Queue,
        filter: Option<FilterPolicy>,
    ) -> Result<ResourceRef, SynthError> {
        let me = self.scope.child(id)?;
        let mut p = json!({
            "Protocol": "sqs",
            "TopicArn": self.arn(),
            "Endpoint": queue.arn(),
            "RawMessageDelivery": true,
        });
        if let Some(f) = filter {
            f.validate(me.path())?;
            p["FilterPolicy"] = f.policy;
            p["FilterPolicyScope"] = json!(match f.scope {
                FilterScope::MessageBody => "MessageBody",
                FilterScope::MessageAttributes => "MessageAttributes",
            });
        }
        if let Some(dlq) = queue.dead_letter_queue() {
            p["RedrivePolicy"] = json!({"deadLetterTargetArn": dlq.arn()});
            dlq.add_to_resource_policy(self.send_statement(dlq));
        }
        queue.add_to_resource_policy(self.send_statement(queue));
        if let Some(k) = queue.key() {
            k.allow_service(
                "sns.amazonaws.com",
                &["kms:Decrypt", "kms:GenerateDataKey"],
                None,
            );
        }
        me.add_resource("Resource", "AWS::SNS::Subscription", p)
    }

    fn send_statement(&self, queue: &Queue) -> Json {
        json!({
            "Sid": format!("AllowTopic{}", self.resource.logical_id()),
            "Effect": "Allow",
            "Principal": {"Service": "sns.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": queue.arn(),
            "Condition": {"ArnEquals": {"aws:SourceArn": self.arn()}},
        })
    }
}

/// What a filter policy matches on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterScope {
    /// The JSON message body (banca's notifications carry their routing in the body).
    MessageBody,
    /// Message attributes.
    MessageAttributes,
}

/// An SNS filter policy.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterPolicy {
    scope: FilterScope,
    policy: Json,
}

impl FilterPolicy {
    /// A policy on the message body, e.g. `{"channels": ["email"]}`.
    pub fn message_body(policy: Json) -> Self {
        Self {
            scope: FilterScope::MessageBody,
            policy,
        }
    }

    /// A policy on message attributes.
    pub fn message_attributes(policy: Json) -> Self {
        Self {
            scope: FilterScope::MessageAttributes,
            policy,
        }
    }

    /// The policy document.
    pub fn policy(&self) -> &Json {
        &self.policy
    }

    fn validate(&self, path: &str) -> Result<(), SynthError> {
        let err = |message: String| SynthError::InvalidProps {
            path: path.to_owned(),
            field: "filter_policy",
            message,
        };
        fn combos(v: &Json, path: &str) -> Result<usize, String> {
            match v {
                Json::Object(m) if !m.is_empty() => {
                    let mut total = 1usize;
                    for (k, x) in m {
                        if k == "$or" {
                            let Json::Array(alts) = x else {
                                return Err(format!("{path}.$or: must be an array of objects"));
                            };
                            let mut sum = 0usize;
                            for a in alts {
                                sum = sum.saturating_add(combos(a, path)?);
                            }
                            total = total.saturating_mul(sum.max(1));
                        } else {
                            total = total.saturating_mul(combos(x, &format!("{path}.{k}"))?);
                        }
                    }
                    Ok(total)
                }
                Json::Array(a) if !a.is_empty() => Ok(a.len()),
                other => Err(format!(
                    "{path}: must be a non-empty object of keys to arrays of values, got {other}"
                )),
            }
        }
        let n = combos(&self.policy, "filter").map_err(err)?;
        if n > MAX_FILTER_COMBINATIONS {
            return Err(err(format!(
                "expresses {n} combinations of values; SNS allows at most {MAX_FILTER_COMBINATIONS}"
            )));
        }
        Ok(())
    }
}
