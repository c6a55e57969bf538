//! `security`: keys, audit trail, certificate-expiry and health notifications, application
//! configuration in SSM, Session Manager logging with Athena, and the people's IAM groups.
//!
//! Keys: the primary holds two multi-region keys (data, secrets) whose replicas live in the
//! dr stack, so global-table and secret replicas decrypt with the same key material there.
//! Resources that are not replicated (logs, queues' consumers, the dr database and cache) use
//! regional keys. The trail is multi-region and the IAM groups are global, so both exist only
//! in the primary.

use banca_constructs::analytics::{WorkGroup, WorkGroupProps};
use banca_constructs::kms::{Key, KeyProps, ReplicaKey};
use banca_constructs::ops::{
    ConfigRule, ConfigRuleProps, EventRule, EventRuleProps, EventTarget, Trail, TrailProps,
};
use banca_constructs::s3::{Bucket, BucketProps};
use banca_constructs::secrets::{Parameter, ParameterProps};
use banca_constructs::sns::{Topic, TopicProps};
use banca_constructs::{Scope, SynthError};
use serde_json::{Value as Json, json};
use std::collections::BTreeMap;

use super::{Region, Role};

/// Days before expiry that AWS Config reports a certificate (the seed asks for 35).
pub const CERT_EXPIRY_DAYS: u32 = 35;

/// The keys and topics other stacks use.
pub(crate) struct Security {
    /// Regional data key (the multi-region primary key in the primary region).
    pub data_key: Key,
    /// Log groups, function environments, state machines.
    pub logs_key: Key,
    /// The multi-region keys (primary only).
    pub multi_region: Option<MultiRegionKeys>,
    /// The replicas of the multi-region keys (dr only).
    pub replicas: Option<ReplicaKeys>,
}

/// The primary's multi-region keys.
#[derive(Clone)]
pub(crate) struct MultiRegionKeys {
    pub data: Key,
    pub secrets: Key,
}

/// Their replicas in the dr region.
#[derive(Clone)]
pub(crate) struct ReplicaKeys {
    pub data: ReplicaKey,
    pub secrets: ReplicaKey,
}

impl Security {
    /// The ARN of the key secrets are encrypted with in this region.
    pub fn secrets_key_arn(&self) -> Json {
        match (&self.multi_region, &self.replicas) {
            (Some(m), _) => m.secrets.arn().to_json(),
            (None, Some(r)) => r.secrets.arn().to_json(),
            (None, None) => self.data_key.arn().to_json(),
        }
    }

    /// The ARN of the key the global tables' replica in this region uses.
    pub fn table_key_arn(&self) -> Json {
        match (&self.multi_region, &self.replicas) {
            (Some(m), _) => m.data.arn().to_json(),
            (None, Some(r)) => r.data.arn().to_json(),
            (None, None) => self.data_key.arn().to_json(),
        }
    }
}

fn key(scope: &Scope, id: &str, description: &str, multi_region: bool) -> Result<Key, SynthError> {
    Key::new(
        scope,
        id,
        KeyProps {
            description: Some(description.to_owned()),
            multi_region,
            ..KeyProps::default()
        },
    )
}

/// Builds the stack; `primary` is the primary's security (for the dr replicas).
pub(crate) fn build(r: &Region<'_>, primary: Option<&Security>) -> Result<Security, SynthError> {
    let s = r.stack(
        "security",
        "keys, audit trail, configuration and operator access",
    )?;
    let logs_key = key(
        &s,
        "LogsKey",
        "log groups, function environments, workflows",
        false,
    )?;
    let (data_key, multi_region, replicas) =
        match (r.role, primary.and_then(|p| p.multi_region.clone())) {
            (Role::Primary, _) => {
                let data = key(
                    &s,
                    "DataKey",
                    "data at rest, replicated to the dr region",
                    true,
                )?;
                let secrets = key(
                    &s,
                    "SecretsKey",
                    "secrets, replicated to the dr region",
                    true,
                )?;
                (data.clone(), Some(MultiRegionKeys { data, secrets }), None)
            }
            (Role::Dr, Some(mr)) => {
                let regional = key(&s, "DataKey", "data at rest of the standby region", false)?;
                let replicas = ReplicaKeys {
                    data: ReplicaKey::new(&s, "DataKeyReplica", &mr.data)?,
                    secrets: ReplicaKey::new(&s, "SecretsKeyReplica", &mr.secrets)?,
                };
                (regional, None, Some(replicas))
            }
            (Role::Dr, None) => {
                return Err(SynthError::InvalidProps {
                    path: s.path().to_owned(),
                    field: "primary",
                    message: "the dr security stack needs the primary's multi-region keys"
                        .to_owned(),
                });
            }
        };

    let admin_topic = Topic::new(
        &s,
        "AdminTopic",
        TopicProps {
            display_name: Some(format!("{} administrators", r.config.project)),
            ..TopicProps::default()
        },
    )?;
    ConfigRule::new(
        &s,
        "CertificateExpiry",
        ConfigRuleProps {
            identifier: "ACM_CERTIFICATE_EXPIRATION_CHECK".to_owned(),
            input_parameters: BTreeMap::from([(
                "daysToExpiration".to_owned(),
                CERT_EXPIRY_DAYS.to_string(),
            )]),
            resource_types: vec!["AWS::ACM::Certificate".to_owned()],
            notify: Some(admin_topic.clone()),
        },
    )?;
    EventRule::new(
        &s,
        "HealthEvents",
        EventRuleProps {
            pattern: json!({"source": ["aws.health"]}),
            targets: vec![EventTarget::Topic(Box::new(admin_topic.clone()))],
            description: "AWS Health events of this account and region".to_owned(),
        },
    )?;

    if r.role == Role::Primary {
        let trail_bucket = Bucket::new(&s, "TrailBucket", BucketProps::default())?;
        Trail::new(
            &s,
            "Trail",
            TrailProps {
                bucket: trail_bucket,
                encryption_key: logs_key.clone(),
            },
        )?;
    }

    session_logging(r, &s, &data_key)?;
    parameters(r, &s)?;
    if r.role == Role::Primary {
        groups(r, &s)?;
    }

    Ok(Security {
        data_key,
        logs_key,
        multi_region,
        replicas,
    })
}

/// Session Manager writes every session's transcript to an encrypted bucket that auditors
/// query with Athena; no SSH keys exist anywhere.
fn session_logging(r: &Region<'_>, s: &Scope, key: &Key) -> Result<(), SynthError> {
    let bucket = Bucket::new(
        s,
        "SessionLogs",
        BucketProps {
            encryption_key: Some(key.clone()),
            ..BucketProps::default()
        },
    )?;
    WorkGroup::new(
        s,
        "SessionAudit",
        WorkGroupProps {
            results_bucket: bucket.clone(),
            encryption_key: key.clone(),
            bytes_scanned_cutoff: 10 * 1024 * 1024 * 1024,
        },
    )?;
    // The account's Session Manager preferences document: S3 logging, encrypted, enforced.
    s.add_resource(
        "SessionManagerPreferences",
        "AWS::SSM::Document",
        json!({
            "Name": format!("{}-SessionManagerRunShell", r.name("ssm")),
            "DocumentType": "Session",
            "DocumentFormat": "JSON",
            "Content": {
                "schemaVersion": "1.0",
                "description": "banca Session Manager preferences: transcripts to S3, KMS-encrypted sessions",
                "sessionType": "Standard_Stream",
                "inputs": {
                    "s3BucketName": bucket.name(),
                    "s3KeyPrefix": "sessions/",
                    "s3EncryptionEnabled": true,
                    "cloudWatchLogGroupName": "",
                    "kmsKeyId": key.key_id(),
                    "idleSessionTimeout": "20",
                    "runAsEnabled": false,
                    "shellProfile": {"linux": ""},
                },
            },
        }),
    )?;
    Ok(())
}

/// Application configuration, one parameter per value, under `/<project>/<stage>/`: operators
/// read and audit the deployed values there; nothing is configured on servers.
fn parameters(r: &Region<'_>, s: &Scope) -> Result<(), SynthError> {
    let c = r.config;
    let base = format!("/{}/{}", c.project, r.stage_id());
    let sys = &c.existing_systems;
    let values: Vec<(&str, &str, String, &str)> = vec![
        (
            "OtpLength",
            "otp/length",
            c.otp.length.to_string(),
            "digits of a transfer OTP",
        ),
        (
            "OtpTtl",
            "otp/ttl-seconds",
            c.otp.ttl_seconds.to_string(),
            "seconds an OTP lives",
        ),
        (
            "OtpAttempts",
            "otp/max-attempts",
            c.otp.max_attempts.to_string(),
            "wrong OTPs allowed before lockout",
        ),
        (
            "TransferRetries",
            "transfers/max-retries",
            c.transfers.max_retries.to_string(),
            "retries of a retryable core error before FAIL",
        ),
        (
            "TransferBackoffBase",
            "transfers/backoff-base-ms",
            c.transfers.backoff_base_ms.to_string(),
            "backoff base of transfer retries, ms",
        ),
        (
            "TransferBackoffCap",
            "transfers/backoff-cap-ms",
            c.transfers.backoff_cap_ms.to_string(),
            "backoff cap of transfer retries, ms",
        ),
        (
            "TransferSettle",
            "transfers/settle-window-seconds",
            c.transfers.settle_window_seconds.to_string(),
            "seconds before a missing movement proves a transfer absent",
        ),
        (
            "TransferReview",
            "transfers/review-deadline-seconds",
            c.transfers.review_deadline_seconds.to_string(),
            "seconds after which an ambiguous transfer goes to review",
        ),
        (
            "CoreUrl",
            "systems/core/base-url",
            sys.core.base_url.clone(),
            "core banking platform base URL",
        ),
        (
            "IndependentUrl",
            "systems/independent/base-url",
            sys.independent.base_url.clone(),
            "independent customer system base URL",
        ),
        (
            "UaaUrl",
            "systems/uaa/base-url",
            sys.uaa.base_url.clone(),
            "OAuth2 UAA server base URL",
        ),
        (
            "TwilioUrl",
            "systems/twilio/base-url",
            sys.twilio.base_url.clone(),
            "Twilio API base URL",
        ),
        (
            "EmailSender",
            "notifications/email-sender",
            c.notifications.email_sender.clone(),
            "SES sender of notification e-mails",
        ),
        (
            "SmsSender",
            "notifications/sms-sender",
            c.notifications.sms_sender.clone(),
            "Twilio sender of SMS",
        ),
        (
            "WafRate",
            "waf/rate-limit-per-5-minutes",
            c.waf.rate_limit_per_5_minutes.to_string(),
            "requests per 5 minutes per IP before WAF blocks",
        ),
    ];
    let params = s.child("Config")?;
    for (id, name, value, description) in values {
        Parameter::new(
            &params,
            id,
            ParameterProps {
                name: format!("{base}/{name}"),
                value: json!(value),
                description: description.to_owned(),
            },
        )?;
    }
    Ok(())
}

/// IAM groups for people. Each gets only the actions its job needs, on named resources;
/// users get no policies of their own.
fn groups(r: &Region<'_>, s: &Scope) -> Result<(), SynthError> {
    let p = &r.config.project;
    let stacks = json!({"Fn::Sub": format!("arn:${{AWS::Partition}}:cloudformation:*:${{AWS::AccountId}}:stack/{p}-*/*")});
    let cdk_roles =
        json!({"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/cdk-hnb659fds-*"});
    let instances = json!({"Fn::Sub": "arn:${AWS::Partition}:ec2:*:${AWS::AccountId}:instance/*"});
    let session_doc =
        json!({"Fn::Sub": "arn:${AWS::Partition}:ssm:*:*:document/AWS-StartInteractiveCommand"});
    let own_sessions = json!({"Fn::Sub": "arn:${AWS::Partition}:ssm:*:${AWS::AccountId}:session/${!aws:username}-*"});
    let workgroups = json!({"Fn::Sub": format!("arn:${{AWS::Partition}}:athena:*:${{AWS::AccountId}}:workgroup/{p}-*")});
    let trail_buckets = json!({"Fn::Sub": format!("arn:${{AWS::Partition}}:s3:::{p}-*")});
    let groups: [(&str, &str, Vec<Json>); 3] = [
        (
            "Administrators",
            "administrators",
            vec![
                json!({"Effect": "Allow", "Action": ["cloudformation:DescribeStacks", "cloudformation:DescribeStackEvents", "cloudformation:GetTemplate", "cloudformation:CreateChangeSet", "cloudformation:DescribeChangeSet", "cloudformation:ExecuteChangeSet", "cloudformation:DeleteChangeSet", "cloudformation:DetectStackDrift", "cloudformation:DescribeStackResourceDrifts"], "Resource": [stacks]}),
                json!({"Effect": "Allow", "Action": ["sts:AssumeRole"], "Resource": [cdk_roles]}),
            ],
        ),
        (
            "Operators",
            "operators",
            vec![
                json!({"Effect": "Allow", "Action": ["ssm:StartSession"], "Resource": [instances, session_doc]}),
                json!({"Effect": "Allow", "Action": ["ssm:TerminateSession", "ssm:ResumeSession"], "Resource": [own_sessions]}),
                json!({"Effect": "Allow", "Action": ["cloudformation:DescribeStacks", "cloudformation:DescribeStackEvents"], "Resource": [json!({"Fn::Sub": format!("arn:${{AWS::Partition}}:cloudformation:*:${{AWS::AccountId}}:stack/{p}-*/*")})]}),
            ],
        ),
        (
            "Auditors",
            "auditors",
            vec![
                json!({"Effect": "Allow", "Action": ["athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults", "athena:StopQueryExecution"], "Resource": [workgroups]}),
                json!({"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": [trail_buckets.clone(), json!({"Fn::Join": ["", [trail_buckets, "/*"]]})]}),
            ],
        ),
    ];
    for (id, name, statements) in groups {
        s.add_resource(
            id,
            "AWS::IAM::Group",
            json!({
                "GroupName": format!("{p}-{name}"),
                "Policies": [{
                    "PolicyName": format!("{p}-{name}"),
                    "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
                }],
            }),
        )?;
    }
    Ok(())
}
