//! S3 buckets: KMS, versioned, public access blocked, TLS-only, access logs, replication.

use serde_json::{Value as Json, json};

use banca_model::template::DeletionPolicy;

use crate::error::SynthError;
use crate::iam::{Grant, Grantable, Role, RoleProps, actions, grant};
use crate::kms::{Key, KeyProps};
use crate::sqs::deny_insecure_transport;
use crate::tree::{ResourceRef, Scope, Token};

/// Where a bucket's server access logs go.
#[derive(Debug, Clone, Default)]
pub enum AccessLogs {
    /// A log bucket created next to it (SSE-S3: S3 log delivery cannot write SSE-KMS). Default.
    #[default]
    Create,
    /// An existing log bucket, with a key prefix.
    Bucket(Box<Bucket>, String),
    /// None: only for buckets that are themselves access-log targets.
    None,
}

/// Cross-region replication of every object to another bucket.
#[derive(Debug, Clone)]
pub struct Replication {
    /// The destination bucket (in another region; its ARN is read with `Fn::GetStackOutput`).
    pub destination: Box<Bucket>,
}

/// Props of [`Bucket`].
#[derive(Debug, Clone)]
pub struct BucketProps {
    /// The key for SSE-KMS. Unset: a key is created for the bucket (compliance rule S1x).
    pub encryption_key: Option<Key>,
    /// Versioning. Default: on (recovery from overwrites; required by replication).
    pub versioned: bool,
    /// Server access logs. Default: a new log bucket (compliance rule S1).
    pub access_logs: AccessLogs,
    /// Cross-region replication. Default: none.
    pub replication: Option<Replication>,
    /// Send object events to EventBridge (for S3-triggered functions and workflows without
    /// the circular dependency of direct notifications). Default: off.
    pub event_bridge: bool,
    /// The bucket name. Unset: generated.
    pub bucket_name: Option<String>,
    /// Days after which noncurrent versions expire. Default: 90.
    pub noncurrent_version_expiration_days: u32,
}

impl Default for BucketProps {
    fn default() -> Self {
        Self {
            encryption_key: None,
            versioned: true,
            access_logs: AccessLogs::Create,
            replication: None,
            event_bridge: false,
            bucket_name: None,
            noncurrent_version_expiration_days: 90,
        }
    }
}

/// An S3 bucket with its TLS-only bucket policy. Retained on stack deletion.
#[derive(Debug, Clone)]
pub struct Bucket {
    resource: ResourceRef,
    policy: ResourceRef,
    key: Option<Key>,
}

impl Bucket {
    /// A bucket `id` under `scope`.
    pub fn new(scope: &Scope, id: &str, props: BucketProps) -> Result<Self, SynthError> {
        Self::build(scope, id, props, false)
    }

    fn build(
        scope: &Scope,
        id: &str,
        props: BucketProps,
        is_log_bucket: bool,
    ) -> Result<Self, SynthError> {
        let me = scope.child(id)?;
        let key = if is_log_bucket {
            None
        } else {
            Some(match props.encryption_key {
                Some(k) => k,
                None => Key::new(&me, "Key", KeyProps::default())?,
            })
        };
        let mut p = json!({
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": true,
                "BlockPublicPolicy": true,
                "IgnorePublicAcls": true,
                "RestrictPublicBuckets": true,
            },
            "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
        });
        p["BucketEncryption"] = match &key {
            Some(k) => json!({"ServerSideEncryptionConfiguration": [{
                "ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": k.arn()},
                "BucketKeyEnabled": true,
            }]}),
            None => json!({"ServerSideEncryptionConfiguration": [{
                "ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
            }]}),
        };
        if props.versioned {
            p["VersioningConfiguration"] = json!({"Status": "Enabled"});
            p["LifecycleConfiguration"] = json!({"Rules": [{
                "Id": "expire-noncurrent-versions",
                "Status": "Enabled",
                "NoncurrentVersionExpiration": {"NoncurrentDays": props.noncurrent_version_expiration_days},
                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
            }]});
        }
        if let Some(n) = &props.bucket_name {
            p["BucketName"] = json!(n);
        }
        if props.event_bridge {
            p["NotificationConfiguration"] =
                json!({"EventBridgeConfiguration": {"EventBridgeEnabled": true}});
        }
        let log_bucket = match props.access_logs {
            AccessLogs::Create => Some((
                Bucket::build(
                    &me,
                    "AccessLogs",
                    BucketProps {
                        access_logs: AccessLogs::None,
                        ..BucketProps::default()
                    },
                    true,
                )?,
                String::new(),
            )),
            AccessLogs::Bucket(b, prefix) => Some((*b, prefix)),
            AccessLogs::None => None,
        };
        if let Some((b, prefix)) = &log_bucket {
            p["LoggingConfiguration"] =
                json!({"DestinationBucketName": b.resource.reference(), "LogFilePrefix": prefix});
        }
        let replication_role = match &props.replication {
            Some(r) => {
                if !props.versioned {
                    return Err(SynthError::InvalidProps {
                        path: me.path().to_owned(),
                        field: "replication",
                        message: "needs versioned: true (S3 replicates versions)".to_owned(),
                    });
                }
                let role = Role::new(
                    &me,
                    "ReplicationRole",
                    RoleProps {
                        assumed_by: "s3.amazonaws.com".to_owned(),
                        description: Some("replicates objects to the DR bucket".to_owned()),
                    },
                )?;
                let mut destination = json!({"Bucket": r.destination.arn()});
                if let Some(k) = r.destination.key() {
                    destination["EncryptionConfiguration"] = json!({"ReplicaKmsKeyID": k.arn()});
                }
                p["ReplicationConfiguration"] = json!({
                    "Role": role.arn(),
                    "Rules": [{
                        "Id": "replicate-all",
                        "Status": "Enabled",
                        "Priority": 1,
                        "Filter": {"Prefix": ""},
                        "DeleteMarkerReplication": {"Status": "Enabled"},
                        "SourceSelectionCriteria": {"SseKmsEncryptedObjects": {"Status": "Enabled"}},
                        "Destination": destination,
                    }],
                });
                Some(role)
            }
            None => None,
        };
        let resource = me.add_resource("Resource", "AWS::S3::Bucket", p)?;
        resource.apply_removal_policy(DeletionPolicy::Retain);
        if let (Some(role), Some(r)) = (&replication_role, &props.replication) {
            let mut stmts = vec![
                crate::iam::statement(
                    &["s3:GetReplicationConfiguration", "s3:ListBucket"],
                    vec![resource.get_att("Arn").to_json()],
                ),
                crate::iam::statement(
                    &[
                        "s3:GetObjectVersionForReplication",
                        "s3:GetObjectVersionAcl",
                        "s3:GetObjectVersionTagging",
                    ],
                    vec![json!({"Fn::Join": ["", [resource.get_att("Arn"), "/*"]]})],
                ),
                crate::iam::statement(
                    &[
                        "s3:ReplicateObject",
                        "s3:ReplicateDelete",
                        "s3:ReplicateTags",
                    ],
                    vec![json!({"Fn::Join": ["", [r.destination.arn(), "/*"]]})],
                ),
            ];
            if let Some(k) = &key {
                stmts.push(crate::iam::statement(
                    actions::KMS_DECRYPT,
                    vec![k.arn().to_json()],
                ));
            }
            if let Some(k) = r.destination.key() {
                stmts.push(crate::iam::statement(
                    actions::KMS_ENCRYPT,
                    vec![k.arn().to_json()],
                ));
            }
            role.add_policy_resource(&me, "ReplicationPolicy", stmts)?;
        }
        let mut statements = vec![deny_insecure_transport(
            "s3:*",
            vec![
                resource.get_att("Arn").to_json(),
                json!({"Fn::Join": ["", [resource.get_att("Arn"), "/*"]]}),
            ],
        )];
        if is_log_bucket {
            statements.push(json!({
                "Sid": "AllowS3ServerAccessLogs",
                "Effect": "Allow",
                "Principal": {"Service": "logging.s3.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": {"Fn::Join": ["", [resource.get_att("Arn"), "/*"]]},
                "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
            }));
        }
        let policy = me.add_resource(
            "Policy",
            "AWS::S3::BucketPolicy",
            json!({
                "Bucket": resource.reference(),
                "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
            }),
        )?;
        if is_log_bucket {
            me.suppress(
                "AwsSolutions-S1",
                "this bucket is the access-log target; logging it would loop",
            );
        }
        Ok(Self {
            resource,
            policy,
            key,
        })
    }

    /// The bucket's resource.
    pub fn resource(&self) -> &ResourceRef {
        &self.resource
    }

    /// The bucket's ARN.
    pub fn arn(&self) -> Token {
        self.resource.get_att("Arn")
    }

    /// The bucket's name.
    pub fn name(&self) -> Token {
        self.resource.reference()
    }

    /// The bucket's regional domain name (for CloudFront origins).
    pub fn regional_domain_name(&self) -> Token {
        self.resource.get_att("RegionalDomainName")
    }

    /// Its key (none for access-log buckets, which use SSE-S3).
    pub fn key(&self) -> Option<&Key> {
        self.key.as_ref()
    }

    /// Adds a statement to the bucket policy.
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

    fn objects(&self, prefix: &str) -> Json {
        json!({"Fn::Join": ["", [self.arn(), format!("/{prefix}*")]]})
    }

    /// Grants reading objects under `prefix` ("" for all).
    pub fn grant_read(&self, grantee: &dyn Grantable, prefix: &str) -> Grant {
        grant(
            grantee,
            actions::S3_READ,
            vec![self.objects(prefix)],
            self.key.as_ref().map(|k| (k, actions::KMS_DECRYPT)),
        )
    }

    /// Grants writing objects under `prefix` ("" for all).
    pub fn grant_put(&self, grantee: &dyn Grantable, prefix: &str) -> Grant {
        grant(
            grantee,
            actions::S3_PUT,
            vec![self.objects(prefix)],
            self.key.as_ref().map(|k| (k, actions::KMS_ENCRYPT)),
        )
    }
}
