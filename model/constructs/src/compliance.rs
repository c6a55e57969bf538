//! Compliance rules: a port of the cdk-nag AwsSolutions checks for the services banca uses,
//! plus CloudTrail and WAF logging checks. They run as a read-only aspect at synth; a finding
//! fails synth unless the resource (or a scope above it) suppresses that rule with a reason.

use serde_json::Value as Json;

use crate::aspects::{Check, Finding, StackView};
use crate::tree::ResourceNode;

/// One rule: the resource type it judges and the check (`Some(problem)` when broken).
pub struct Rule {
    /// The id, as cdk-nag names it (`AwsSolutions-SQS3`), or `Banca-*` for our own.
    pub id: &'static str,
    /// The resource type.
    pub type_name: &'static str,
    /// What the rule asks for.
    pub description: &'static str,
    check: fn(&ResourceNode, &StackView<'_>) -> bool,
}

impl std::fmt::Debug for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.id, self.type_name)
    }
}

fn prop<'a>(n: &'a ResourceNode, path: &[&str]) -> Option<&'a Json> {
    let mut v = &n.entry.properties;
    for p in path {
        v = v.get(*p)?;
    }
    Some(v)
}

fn is_true(v: Option<&Json>) -> bool {
    matches!(v, Some(Json::Bool(true))) || matches!(v, Some(Json::String(s)) if s == "true")
}

fn present(v: Option<&Json>) -> bool {
    !matches!(v, None | Some(Json::Null)) && !matches!(v, Some(Json::String(s)) if s.is_empty())
}

/// Whether a policy document has a Deny on `aws:SecureTransport = false`.
fn denies_insecure_transport(doc: Option<&Json>) -> bool {
    let Some(stmts) = doc
        .and_then(|d| d.get("Statement"))
        .and_then(Json::as_array)
    else {
        return false;
    };
    stmts.iter().any(|s| {
        s.get("Effect").and_then(Json::as_str) == Some("Deny")
            && s.get("Condition")
                .and_then(|c| c.get("Bool"))
                .and_then(|b| b.get("aws:SecureTransport"))
                .is_some_and(|v| v == "false" || v == &Json::Bool(false))
    })
}

fn policy_with_ssl(n: &ResourceNode, s: &StackView<'_>, policy_type: &str) -> bool {
    s.referencing(policy_type, &n.logical_id)
        .any(|p| denies_insecure_transport(p.entry.properties.get("PolicyDocument")))
}

fn strings(v: Option<&Json>) -> Vec<String> {
    match v {
        Some(Json::String(s)) => vec![s.clone()],
        Some(Json::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

fn statements(n: &ResourceNode) -> Vec<Json> {
    let mut out = Vec::new();
    let mut docs: Vec<&Json> = Vec::new();
    if let Some(d) = n.entry.properties.get("PolicyDocument") {
        docs.push(d);
    }
    if let Some(Json::Array(ps)) = n.entry.properties.get("Policies") {
        docs.extend(ps.iter().filter_map(|p| p.get("PolicyDocument")));
    }
    for d in docs {
        match d.get("Statement") {
            Some(Json::Array(a)) => out.extend(a.iter().cloned()),
            Some(s @ Json::Object(_)) => out.push(s.clone()),
            _ => {}
        }
    }
    out
}

/// Whether an IAM identity policy grants a wildcard action, or `*` resource for an action that
/// has resource-level permissions.
fn iam_wildcard(n: &ResourceNode) -> bool {
    statements(n).iter().any(|s| {
        if s.get("Effect").and_then(Json::as_str) != Some("Allow") {
            return false;
        }
        let actions = strings(s.get("Action"));
        if actions.iter().any(|a| a.contains('*')) || s.get("NotAction").is_some() {
            return true;
        }
        let star = strings(s.get("Resource")).iter().any(|r| r == "*");
        star && actions
            .iter()
            .any(|a| !crate::iam::actions::NO_RESOURCE_LEVEL.contains(&a.as_str()))
    })
}

fn sg_open_ingress(n: &ResourceNode) -> bool {
    n.entry
        .properties
        .get("SecurityGroupIngress")
        .and_then(Json::as_array)
        .is_some_and(|rules| {
            rules.iter().any(|r| {
                r.get("CidrIp").and_then(Json::as_str) == Some("0.0.0.0/0")
                    || r.get("CidrIpv6").and_then(Json::as_str) == Some("::/0")
            })
        })
}

/// Lambda runtimes that are the latest of their family (rule L1).
pub const LATEST_RUNTIMES: &[&str] = &[
    "provided.al2023",
    "nodejs22.x",
    "python3.13",
    "java21",
    "dotnet8",
    "ruby3.3",
];

fn replicas_all(n: &ResourceNode, f: impl Fn(&Json) -> bool) -> bool {
    match n.entry.properties.get("Replicas").and_then(Json::as_array) {
        Some(rs) if !rs.is_empty() => rs.iter().all(f),
        _ => false,
    }
}

fn openapi_operations(n: &ResourceNode) -> Vec<&Json> {
    let mut out = Vec::new();
    if let Some(Json::Object(paths)) = prop(n, &["Body", "paths"]) {
        for item in paths.values() {
            if let Json::Object(ops) = item {
                for (m, op) in ops {
                    if crate::apigateway::HTTP_METHODS.contains(&m.as_str()) {
                        out.push(op);
                    }
                }
            }
        }
    }
    out
}

/// Every rule, in the order they are reported.
pub const RULES: &[Rule] = &[
    Rule {
        id: "AwsSolutions-SQS2",
        type_name: "AWS::SQS::Queue",
        description: "the queue is encrypted at rest (KMS or SQS-managed SSE)",
        check: |n, _| {
            !(present(prop(n, &["KmsMasterKeyId"])) || is_true(prop(n, &["SqsManagedSseEnabled"])))
        },
    },
    Rule {
        id: "AwsSolutions-SQS3",
        type_name: "AWS::SQS::Queue",
        description: "the queue has a DLQ, or is one",
        check: |n, s| {
            !present(prop(n, &["RedrivePolicy"]))
                && !s.referencing("AWS::SQS::Queue", &n.logical_id).any(|q| {
                    q.entry
                        .properties
                        .get("RedrivePolicy")
                        .is_some_and(|r| crate::tree::references(r, s.stack, &n.logical_id))
                })
                && !s
                    .referencing("AWS::SNS::Subscription", &n.logical_id)
                    .any(|sub| {
                        sub.entry
                            .properties
                            .get("RedrivePolicy")
                            .is_some_and(|r| crate::tree::references(r, s.stack, &n.logical_id))
                    })
        },
    },
    Rule {
        id: "AwsSolutions-SQS4",
        type_name: "AWS::SQS::Queue",
        description: "the queue policy denies requests without TLS",
        check: |n, s| !policy_with_ssl(n, s, "AWS::SQS::QueuePolicy"),
    },
    Rule {
        id: "AwsSolutions-SNS2",
        type_name: "AWS::SNS::Topic",
        description: "the topic is encrypted with KMS",
        check: |n, _| !present(prop(n, &["KmsMasterKeyId"])),
    },
    Rule {
        id: "AwsSolutions-SNS3",
        type_name: "AWS::SNS::Topic",
        description: "the topic policy denies publishing without TLS",
        check: |n, s| !policy_with_ssl(n, s, "AWS::SNS::TopicPolicy"),
    },
    Rule {
        id: "AwsSolutions-KMS5",
        type_name: "AWS::KMS::Key",
        description: "the symmetric key rotates yearly",
        check: |n, _| {
            let symmetric = prop(n, &["KeySpec"])
                .and_then(Json::as_str)
                .is_none_or(|s| s == "SYMMETRIC_DEFAULT");
            symmetric && !is_true(prop(n, &["EnableKeyRotation"]))
        },
    },
    Rule {
        id: "AwsSolutions-S1",
        type_name: "AWS::S3::Bucket",
        description: "the bucket has server access logs",
        check: |n, _| !present(prop(n, &["LoggingConfiguration"])),
    },
    Rule {
        id: "AwsSolutions-S2",
        type_name: "AWS::S3::Bucket",
        description: "public access is blocked (all four settings)",
        check: |n, _| {
            ![
                "BlockPublicAcls",
                "BlockPublicPolicy",
                "IgnorePublicAcls",
                "RestrictPublicBuckets",
            ]
            .iter()
            .all(|k| is_true(prop(n, &["PublicAccessBlockConfiguration", k])))
        },
    },
    Rule {
        id: "AwsSolutions-S10",
        type_name: "AWS::S3::Bucket",
        description: "the bucket policy denies requests without TLS",
        check: |n, s| !policy_with_ssl(n, s, "AWS::S3::BucketPolicy"),
    },
    Rule {
        id: "Banca-S3Encryption",
        type_name: "AWS::S3::Bucket",
        description: "the bucket encrypts by default",
        check: |n, _| !present(prop(n, &["BucketEncryption"])),
    },
    Rule {
        id: "AwsSolutions-DDB3",
        type_name: "AWS::DynamoDB::Table",
        description: "point-in-time recovery is on",
        check: |n, _| {
            !is_true(prop(
                n,
                &[
                    "PointInTimeRecoverySpecification",
                    "PointInTimeRecoveryEnabled",
                ],
            ))
        },
    },
    Rule {
        id: "AwsSolutions-DDB3",
        type_name: "AWS::DynamoDB::GlobalTable",
        description: "point-in-time recovery is on in every replica",
        check: |n, _| {
            !replicas_all(n, |r| {
                is_true(
                    r.get("PointInTimeRecoverySpecification")
                        .and_then(|p| p.get("PointInTimeRecoveryEnabled")),
                )
            })
        },
    },
    Rule {
        id: "Banca-DDBKms",
        type_name: "AWS::DynamoDB::GlobalTable",
        description: "every replica is encrypted with a customer-managed key",
        check: |n, _| {
            !(is_true(prop(n, &["SSESpecification", "SSEEnabled"]))
                && replicas_all(n, |r| {
                    present(
                        r.get("SSESpecification")
                            .and_then(|s| s.get("KMSMasterKeyId")),
                    )
                }))
        },
    },
    Rule {
        id: "AwsSolutions-L1",
        type_name: "AWS::Lambda::Function",
        description: "the function uses the latest runtime of its family",
        check: |n, _| {
            prop(n, &["Runtime"])
                .and_then(Json::as_str)
                .is_some_and(|r| !LATEST_RUNTIMES.contains(&r))
        },
    },
    Rule {
        id: "AwsSolutions-APIG1",
        type_name: "AWS::ApiGateway::Stage",
        description: "the stage writes access logs",
        check: |n, _| !present(prop(n, &["AccessLogSetting", "DestinationArn"])),
    },
    Rule {
        id: "AwsSolutions-APIG2",
        type_name: "AWS::ApiGateway::RestApi",
        description: "the API validates requests",
        check: |n, s| {
            let in_body = prop(n, &["Body", "x-amazon-apigateway-request-validators"]).is_some();
            !in_body
                && s.referencing("AWS::ApiGateway::RequestValidator", &n.logical_id)
                    .next()
                    .is_none()
        },
    },
    Rule {
        id: "AwsSolutions-APIG3",
        type_name: "AWS::ApiGateway::Stage",
        description: "the stage is associated with a WAF web ACL",
        check: |n, s| {
            s.referencing("AWS::WAFv2::WebACLAssociation", &n.logical_id)
                .next()
                .is_none()
        },
    },
    Rule {
        id: "AwsSolutions-APIG4",
        type_name: "AWS::ApiGateway::RestApi",
        description: "every method has an authorizer or API key",
        check: |n, _| {
            openapi_operations(n).iter().any(|op| {
                op.get("security")
                    .and_then(Json::as_array)
                    .is_none_or(Vec::is_empty)
            })
        },
    },
    Rule {
        id: "AwsSolutions-APIG6",
        type_name: "AWS::ApiGateway::Stage",
        description: "CloudWatch execution logging is on for all methods",
        check: |n, _| {
            !prop(n, &["MethodSettings"])
                .and_then(Json::as_array)
                .is_some_and(|ms| {
                    ms.iter().any(|m| {
                        m.get("ResourcePath").and_then(Json::as_str) == Some("/*")
                            && m.get("HttpMethod").and_then(Json::as_str) == Some("*")
                            && matches!(
                                m.get("LoggingLevel").and_then(Json::as_str),
                                Some("ERROR" | "INFO")
                            )
                    })
                })
        },
    },
    Rule {
        id: "AwsSolutions-CFR1",
        type_name: "AWS::CloudFront::Distribution",
        description: "the distribution has geo restrictions",
        check: |n, _| {
            prop(
                n,
                &[
                    "DistributionConfig",
                    "Restrictions",
                    "GeoRestriction",
                    "RestrictionType",
                ],
            )
            .and_then(Json::as_str)
            .is_none_or(|t| t == "none")
        },
    },
    Rule {
        id: "AwsSolutions-CFR2",
        type_name: "AWS::CloudFront::Distribution",
        description: "the distribution has a WAF web ACL",
        check: |n, _| !present(prop(n, &["DistributionConfig", "WebACLId"])),
    },
    Rule {
        id: "AwsSolutions-CFR3",
        type_name: "AWS::CloudFront::Distribution",
        description: "the distribution writes access logs",
        check: |n, _| !present(prop(n, &["DistributionConfig", "Logging", "Bucket"])),
    },
    Rule {
        id: "AwsSolutions-CFR4",
        type_name: "AWS::CloudFront::Distribution",
        description: "viewers connect with TLS 1.2 or later and a custom certificate",
        check: |n, _| {
            !prop(
                n,
                &[
                    "DistributionConfig",
                    "ViewerCertificate",
                    "MinimumProtocolVersion",
                ],
            )
            .and_then(Json::as_str)
            .is_some_and(|v| v.starts_with("TLSv1.2"))
        },
    },
    Rule {
        id: "AwsSolutions-CFR5",
        type_name: "AWS::CloudFront::Distribution",
        description: "origins are reached with TLS 1.2 and HTTPS only",
        check: |n, _| {
            prop(n, &["DistributionConfig", "Origins"])
                .and_then(Json::as_array)
                .is_some_and(|os| {
                    os.iter().any(|o| {
                        o.get("CustomOriginConfig").is_some_and(|c| {
                            c.get("OriginProtocolPolicy").and_then(Json::as_str)
                                != Some("https-only")
                                || strings(c.get("OriginSSLProtocols"))
                                    .iter()
                                    .any(|p| p != "TLSv1.2")
                        })
                    })
                })
        },
    },
    Rule {
        id: "AwsSolutions-CFR6",
        type_name: "AWS::CloudFront::Distribution",
        description: "S3 origins use origin access control",
        check: |n, _| {
            prop(n, &["DistributionConfig", "Origins"])
                .and_then(Json::as_array)
                .is_some_and(|os| {
                    os.iter().any(|o| {
                        o.get("S3OriginConfig").is_some()
                            && !present(o.get("OriginAccessControlId"))
                    })
                })
        },
    },
    Rule {
        id: "AwsSolutions-CFR7",
        type_name: "AWS::CloudFront::Distribution",
        description: "no legacy origin access identity",
        check: |n, _| {
            prop(n, &["DistributionConfig", "Origins"])
                .and_then(Json::as_array)
                .is_some_and(|os| {
                    os.iter().any(|o| {
                        o.get("S3OriginConfig")
                            .and_then(|c| c.get("OriginAccessIdentity"))
                            .and_then(Json::as_str)
                            .is_some_and(|s| !s.is_empty())
                    })
                })
        },
    },
    Rule {
        id: "AwsSolutions-RDS2",
        type_name: "AWS::RDS::DBInstance",
        description: "storage is encrypted",
        check: |n, _| {
            !is_true(prop(n, &["StorageEncrypted"]))
                && !present(prop(n, &["SourceDBInstanceIdentifier"]))
        },
    },
    Rule {
        id: "AwsSolutions-RDS3",
        type_name: "AWS::RDS::DBInstance",
        description: "the instance is Multi-AZ",
        check: |n, _| !is_true(prop(n, &["MultiAZ"])),
    },
    Rule {
        id: "AwsSolutions-RDS6",
        type_name: "AWS::RDS::DBInstance",
        description: "IAM database authentication is on",
        check: |n, _| !is_true(prop(n, &["EnableIAMDatabaseAuthentication"])),
    },
    Rule {
        id: "AwsSolutions-RDS8",
        type_name: "AWS::EC2::SecurityGroup",
        description: "no database group is open to 0.0.0.0/0 (checked for every group)",
        check: |n, _| {
            sg_open_ingress(n)
                && n.entry
                    .properties
                    .get("SecurityGroupIngress")
                    .and_then(Json::as_array)
                    .is_some_and(|rs| {
                        rs.iter()
                            .any(|r| r.get("FromPort").and_then(Json::as_u64) == Some(3306))
                    })
        },
    },
    Rule {
        id: "AwsSolutions-RDS10",
        type_name: "AWS::RDS::DBInstance",
        description: "deletion protection is on",
        check: |n, _| !is_true(prop(n, &["DeletionProtection"])),
    },
    Rule {
        id: "AwsSolutions-RDS11",
        type_name: "AWS::RDS::DBInstance",
        description: "the instance does not listen on its engine's default port",
        check: |n, _| prop(n, &["Port"]).is_none_or(|p| p == "3306" || p == &Json::from(3306)),
    },
    Rule {
        id: "AwsSolutions-RDS13",
        type_name: "AWS::RDS::DBInstance",
        description: "automated backups are kept",
        check: |n, _| {
            prop(n, &["BackupRetentionPeriod"])
                .and_then(Json::as_u64)
                .is_none_or(|d| d == 0)
        },
    },
    Rule {
        id: "AwsSolutions-AEC1",
        type_name: "AWS::ElastiCache::ReplicationGroup",
        description: "the cluster is in a VPC subnet group",
        check: |n, _| !present(prop(n, &["CacheSubnetGroupName"])),
    },
    Rule {
        id: "AwsSolutions-AEC3",
        type_name: "AWS::ElastiCache::ReplicationGroup",
        description: "encryption at rest and in transit",
        check: |n, _| {
            !(is_true(prop(n, &["AtRestEncryptionEnabled"]))
                && is_true(prop(n, &["TransitEncryptionEnabled"])))
        },
    },
    Rule {
        id: "AwsSolutions-AEC4",
        type_name: "AWS::ElastiCache::ReplicationGroup",
        description: "Multi-AZ with automatic failover",
        check: |n, _| {
            !(is_true(prop(n, &["MultiAZEnabled"]))
                && is_true(prop(n, &["AutomaticFailoverEnabled"])))
        },
    },
    Rule {
        id: "AwsSolutions-AEC5",
        type_name: "AWS::ElastiCache::ReplicationGroup",
        description: "the cluster does not listen on the default port",
        check: |n, _| prop(n, &["Port"]).is_none_or(|p| p == &Json::from(6379)),
    },
    Rule {
        id: "AwsSolutions-AEC6",
        type_name: "AWS::ElastiCache::ReplicationGroup",
        description: "Redis AUTH is required",
        check: |n, _| !present(prop(n, &["AuthToken"])),
    },
    Rule {
        id: "AwsSolutions-VPC7",
        type_name: "AWS::EC2::VPC",
        description: "the VPC has flow logs",
        check: |n, s| {
            s.referencing("AWS::EC2::FlowLog", &n.logical_id)
                .next()
                .is_none()
        },
    },
    Rule {
        id: "AwsSolutions-EC23",
        type_name: "AWS::EC2::SecurityGroup",
        description: "no ingress from 0.0.0.0/0 or ::/0",
        check: |n, _| sg_open_ingress(n),
    },
    Rule {
        id: "AwsSolutions-EC27",
        type_name: "AWS::EC2::SecurityGroup",
        description: "the group has a description",
        check: |n, _| {
            prop(n, &["GroupDescription"])
                .and_then(Json::as_str)
                .is_none_or(|d| d.trim().is_empty())
        },
    },
    Rule {
        id: "AwsSolutions-EC26",
        type_name: "AWS::EC2::LaunchTemplate",
        description: "EBS volumes are encrypted and IMDSv2 is required",
        check: |n, _| {
            let imds = prop(n, &["LaunchTemplateData", "MetadataOptions", "HttpTokens"])
                .and_then(Json::as_str)
                == Some("required");
            let ebs = prop(n, &["LaunchTemplateData", "BlockDeviceMappings"])
                .and_then(Json::as_array)
                .is_some_and(|b| {
                    b.iter()
                        .all(|d| is_true(d.get("Ebs").and_then(|e| e.get("Encrypted"))))
                });
            !(imds && ebs)
        },
    },
    Rule {
        id: "AwsSolutions-IAM4",
        type_name: "AWS::IAM::Role",
        description: "no AWS managed policies",
        check: |n, _| {
            !strings(prop(n, &["ManagedPolicyArns"])).is_empty()
                || prop(n, &["ManagedPolicyArns"])
                    .and_then(Json::as_array)
                    .is_some_and(|a| !a.is_empty())
        },
    },
    Rule {
        id: "AwsSolutions-IAM5",
        type_name: "AWS::IAM::Role",
        description: "no wildcard actions, and `*` resources only for actions without resource-level permissions",
        check: |n, _| iam_wildcard(n),
    },
    Rule {
        id: "AwsSolutions-IAM5",
        type_name: "AWS::IAM::Policy",
        description: "no wildcard actions, and `*` resources only for actions without resource-level permissions",
        check: |n, _| iam_wildcard(n),
    },
    Rule {
        id: "AwsSolutions-IAM5",
        type_name: "AWS::IAM::ManagedPolicy",
        description: "no wildcard actions, and `*` resources only for actions without resource-level permissions",
        check: |n, _| iam_wildcard(n),
    },
    Rule {
        id: "AwsSolutions-SF1",
        type_name: "AWS::StepFunctions::StateMachine",
        description: "the state machine logs ALL events",
        check: |n, _| {
            prop(n, &["LoggingConfiguration", "Level"]).and_then(Json::as_str) != Some("ALL")
        },
    },
    Rule {
        id: "AwsSolutions-SF2",
        type_name: "AWS::StepFunctions::StateMachine",
        description: "X-Ray tracing is on",
        check: |n, _| !is_true(prop(n, &["TracingConfiguration", "Enabled"])),
    },
    Rule {
        id: "AwsSolutions-SMG4",
        type_name: "AWS::SecretsManager::Secret",
        description: "the secret rotates automatically",
        check: |n, s| {
            s.referencing("AWS::SecretsManager::RotationSchedule", &n.logical_id)
                .next()
                .is_none()
        },
    },
    Rule {
        id: "Banca-SecretKms",
        type_name: "AWS::SecretsManager::Secret",
        description: "the secret is encrypted with a customer-managed key",
        check: |n, _| !present(prop(n, &["KmsKeyId"])),
    },
    Rule {
        id: "Banca-CT1",
        type_name: "AWS::CloudTrail::Trail",
        description: "the trail encrypts its logs with KMS",
        check: |n, _| !present(prop(n, &["KMSKeyId"])),
    },
    Rule {
        id: "Banca-CT2",
        type_name: "AWS::CloudTrail::Trail",
        description: "log file validation is on",
        check: |n, _| !is_true(prop(n, &["EnableLogFileValidation"])),
    },
    Rule {
        id: "Banca-CT3",
        type_name: "AWS::CloudTrail::Trail",
        description: "the trail covers every region",
        check: |n, _| !is_true(prop(n, &["IsMultiRegionTrail"])),
    },
    Rule {
        id: "Banca-WAF1",
        type_name: "AWS::WAFv2::WebACL",
        description: "the web ACL has logging",
        check: |n, s| {
            s.referencing("AWS::WAFv2::LoggingConfiguration", &n.logical_id)
                .next()
                .is_none()
        },
    },
    Rule {
        id: "Banca-LOG1",
        type_name: "AWS::Logs::LogGroup",
        description: "the log group has retention and a KMS key",
        check: |n, _| !(present(prop(n, &["RetentionInDays"])) && present(prop(n, &["KmsKeyId"]))),
    },
    Rule {
        id: "Banca-L2",
        type_name: "AWS::Lambda::Function",
        description: "the function traces with X-Ray and has a log group",
        check: |n, _| {
            prop(n, &["TracingConfig", "Mode"]).and_then(Json::as_str) != Some("Active")
                || !present(prop(n, &["LoggingConfig", "LogGroup"]))
        },
    },
    Rule {
        id: "Banca-OS1",
        type_name: "AWS::OpenSearchService::Domain",
        description: "encryption at rest, node-to-node, HTTPS only with TLS 1.2",
        check: |n, _| {
            !(is_true(prop(n, &["EncryptionAtRestOptions", "Enabled"]))
                && is_true(prop(n, &["NodeToNodeEncryptionOptions", "Enabled"]))
                && is_true(prop(n, &["DomainEndpointOptions", "EnforceHTTPS"])))
        },
    },
    Rule {
        id: "Banca-ATH1",
        type_name: "AWS::Athena::WorkGroup",
        description: "query results are encrypted and the configuration is enforced",
        check: |n, _| {
            !(present(prop(
                n,
                &[
                    "WorkGroupConfiguration",
                    "ResultConfiguration",
                    "EncryptionConfiguration",
                ],
            )) && is_true(prop(
                n,
                &["WorkGroupConfiguration", "EnforceWorkGroupConfiguration"],
            )))
        },
    },
];

/// The compliance aspect: every rule of [`RULES`] against every resource of its type.
#[derive(Debug, Clone, Copy, Default)]
pub struct Compliance;

impl Check for Compliance {
    fn check(&self, node: &ResourceNode, stack: &StackView<'_>) -> Vec<Finding> {
        RULES
            .iter()
            .filter(|r| r.type_name == node.entry.type_name && (r.check)(node, stack))
            .map(|r| Finding {
                rule: r.id.to_owned(),
                path: node.path.clone(),
                message: format!("{} needs: {}", r.type_name, r.description),
            })
            .collect()
    }
}
