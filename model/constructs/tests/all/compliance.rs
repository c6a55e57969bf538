//! Every compliance rule fires on a deliberately insecure override of the full app, is not
//! silenced by a short reason, and is silenced by a reasoned suppression that lands in the
//! resource's Metadata in cdk-nag's shape.

use std::collections::BTreeSet;

use banca_constructs::aspects::{Aspect, PRIORITY_MUTATING};
use banca_constructs::compliance::RULES;
use banca_constructs::{ResourceNode, SynthError};
use serde_json::{Value as Json, json};

use crate::common::*;

struct Override(&'static str, fn(&mut Json));

impl Aspect for Override {
    fn visit(&self, node: &mut ResourceNode) {
        if node.type_name() == self.0 {
            (self.1)(&mut node.entry.properties);
        }
    }
}

fn without_deny(p: &mut Json) {
    if let Some(s) = p
        .pointer_mut("/PolicyDocument/Statement")
        .and_then(Json::as_array_mut)
    {
        s.retain(|x| x["Effect"] != "Deny");
    }
}

fn remove(p: &mut Json, key: &str) {
    if let Some(o) = p.as_object_mut() {
        o.remove(key);
    }
}

fn set(p: &mut Json, pointer: &str, v: Json) {
    if let Some(x) = p.pointer_mut(pointer) {
        *x = v;
    }
}

struct Case {
    rule: &'static str,
    also: &'static [&'static str],
    type_name: &'static str,
    mutate: fn(&mut Json),
}

const fn case(rule: &'static str, type_name: &'static str, mutate: fn(&mut Json)) -> Case {
    Case {
        rule,
        also: &[],
        type_name,
        mutate,
    }
}

fn open_ingress(p: &mut Json, port: u16) {
    let rules = p
        .as_object_mut()
        .unwrap()
        .entry("SecurityGroupIngress")
        .or_insert(json!([]));
    rules.as_array_mut().unwrap().push(json!({"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "CidrIp": "0.0.0.0/0", "Description": "open"}));
}

fn cases() -> Vec<Case> {
    vec![
        case("AwsSolutions-SQS2", "AWS::SQS::Queue", |p| {
            remove(p, "SqsManagedSseEnabled");
            remove(p, "KmsMasterKeyId");
        }),
        case("AwsSolutions-SQS3", "AWS::SQS::Queue", |p| {
            remove(p, "RedrivePolicy")
        }),
        case("AwsSolutions-SQS4", "AWS::SQS::QueuePolicy", without_deny),
        case("AwsSolutions-SNS2", "AWS::SNS::Topic", |p| {
            remove(p, "KmsMasterKeyId")
        }),
        case("AwsSolutions-SNS3", "AWS::SNS::TopicPolicy", without_deny),
        case("AwsSolutions-KMS5", "AWS::KMS::Key", |p| {
            p["EnableKeyRotation"] = json!(false)
        }),
        case("AwsSolutions-S1", "AWS::S3::Bucket", |p| {
            remove(p, "LoggingConfiguration")
        }),
        case("AwsSolutions-S2", "AWS::S3::Bucket", |p| {
            set(
                p,
                "/PublicAccessBlockConfiguration/BlockPublicPolicy",
                json!(false),
            )
        }),
        case("AwsSolutions-S10", "AWS::S3::BucketPolicy", without_deny),
        case("Banca-S3Encryption", "AWS::S3::Bucket", |p| {
            remove(p, "BucketEncryption")
        }),
        case("AwsSolutions-DDB3", "AWS::DynamoDB::GlobalTable", |p| {
            set(
                p,
                "/Replicas/0/PointInTimeRecoverySpecification/PointInTimeRecoveryEnabled",
                json!(false),
            )
        }),
        case("AwsSolutions-DDB3", "AWS::DynamoDB::Table", |_| {}),
        case("Banca-DDBKms", "AWS::DynamoDB::GlobalTable", |p| {
            remove(p, "SSESpecification")
        }),
        case("AwsSolutions-L1", "AWS::Lambda::Function", |p| {
            p["Runtime"] = json!("nodejs18.x")
        }),
        case("Banca-L2", "AWS::Lambda::Function", |p| {
            remove(p, "TracingConfig")
        }),
        case("AwsSolutions-APIG1", "AWS::ApiGateway::Stage", |p| {
            remove(p, "AccessLogSetting")
        }),
        case("AwsSolutions-APIG2", "AWS::ApiGateway::RestApi", |p| {
            remove(&mut p["Body"], "x-amazon-apigateway-request-validators")
        }),
        case("AwsSolutions-APIG3", "AWS::WAFv2::WebACLAssociation", |p| {
            p["ResourceArn"] = json!("arn:aws:apigateway:us-east-1::/restapis/abc/stages/v1")
        }),
        case("AwsSolutions-APIG4", "AWS::ApiGateway::RestApi", |p| {
            set(p, "/Body/paths/~1login/post/security", json!([]))
        }),
        case("AwsSolutions-APIG6", "AWS::ApiGateway::Stage", |p| {
            set(p, "/MethodSettings/0/LoggingLevel", json!("OFF"))
        }),
        case("AwsSolutions-CFR1", "AWS::CloudFront::Distribution", |p| {
            set(
                p,
                "/DistributionConfig/Restrictions/GeoRestriction",
                json!({"RestrictionType": "none"}),
            )
        }),
        case("AwsSolutions-CFR2", "AWS::CloudFront::Distribution", |p| {
            remove(&mut p["DistributionConfig"], "WebACLId")
        }),
        case("AwsSolutions-CFR3", "AWS::CloudFront::Distribution", |p| {
            remove(&mut p["DistributionConfig"], "Logging")
        }),
        case("AwsSolutions-CFR4", "AWS::CloudFront::Distribution", |p| {
            set(
                p,
                "/DistributionConfig/ViewerCertificate/MinimumProtocolVersion",
                json!("TLSv1"),
            )
        }),
        case("AwsSolutions-CFR5", "AWS::CloudFront::Distribution", |p| {
            set(
                p,
                "/DistributionConfig/Origins/0/CustomOriginConfig/OriginSSLProtocols",
                json!(["TLSv1", "TLSv1.2"]),
            )
        }),
        case("AwsSolutions-CFR6", "AWS::CloudFront::Distribution", |p| {
            remove(
                &mut p["DistributionConfig"]["Origins"][1],
                "OriginAccessControlId",
            )
        }),
        case("AwsSolutions-CFR7", "AWS::CloudFront::Distribution", |p| {
            set(
                p,
                "/DistributionConfig/Origins/1/S3OriginConfig/OriginAccessIdentity",
                json!("origin-access-identity/cloudfront/E2EXAMPLE"),
            )
        }),
        case("AwsSolutions-RDS2", "AWS::RDS::DBInstance", |p| {
            if p.get("SourceDBInstanceIdentifier").is_none() {
                p["StorageEncrypted"] = json!(false)
            }
        }),
        case("AwsSolutions-RDS3", "AWS::RDS::DBInstance", |p| {
            p["MultiAZ"] = json!(false)
        }),
        case("AwsSolutions-RDS6", "AWS::RDS::DBInstance", |p| {
            p["EnableIAMDatabaseAuthentication"] = json!(false)
        }),
        Case {
            rule: "AwsSolutions-RDS8",
            also: &["AwsSolutions-EC23"],
            type_name: "AWS::EC2::SecurityGroup",
            mutate: |p| {
                if p["GroupDescription"]
                    .as_str()
                    .is_some_and(|d| d.starts_with("MySQL of"))
                {
                    open_ingress(p, 3306)
                }
            },
        },
        case("AwsSolutions-RDS10", "AWS::RDS::DBInstance", |p| {
            p["DeletionProtection"] = json!(false)
        }),
        case("AwsSolutions-RDS11", "AWS::RDS::DBInstance", |p| {
            p["Port"] = json!("3306")
        }),
        case("AwsSolutions-RDS13", "AWS::RDS::DBInstance", |p| {
            p["BackupRetentionPeriod"] = json!(0)
        }),
        case(
            "AwsSolutions-AEC1",
            "AWS::ElastiCache::ReplicationGroup",
            |p| remove(p, "CacheSubnetGroupName"),
        ),
        case(
            "AwsSolutions-AEC3",
            "AWS::ElastiCache::ReplicationGroup",
            |p| p["TransitEncryptionEnabled"] = json!(false),
        ),
        case(
            "AwsSolutions-AEC4",
            "AWS::ElastiCache::ReplicationGroup",
            |p| p["MultiAZEnabled"] = json!(false),
        ),
        case(
            "AwsSolutions-AEC5",
            "AWS::ElastiCache::ReplicationGroup",
            |p| p["Port"] = json!(6379),
        ),
        case(
            "AwsSolutions-AEC6",
            "AWS::ElastiCache::ReplicationGroup",
            |p| remove(p, "AuthToken"),
        ),
        case("AwsSolutions-VPC7", "AWS::EC2::FlowLog", |p| {
            p["ResourceId"] = json!("vpc-0123456789abcdef0")
        }),
        case("AwsSolutions-EC23", "AWS::EC2::SecurityGroup", |p| {
            if p["GroupDescription"]
                .as_str()
                .is_some_and(|d| d.starts_with("instances of"))
            {
                open_ingress(p, 443)
            }
        }),
        case("AwsSolutions-EC26", "AWS::EC2::LaunchTemplate", |p| {
            set(
                p,
                "/LaunchTemplateData/MetadataOptions/HttpTokens",
                json!("optional"),
            )
        }),
        case("AwsSolutions-EC27", "AWS::EC2::SecurityGroup", |p| {
            p["GroupDescription"] = json!(" ")
        }),
        case("AwsSolutions-IAM4", "AWS::IAM::Role", |p| {
            p["ManagedPolicyArns"] = json!(["arn:aws:iam::aws:policy/AdministratorAccess"])
        }),
        case("AwsSolutions-IAM5", "AWS::IAM::Role", |p| {
            if let Some(s) = p
                .pointer_mut("/Policies/0/PolicyDocument/Statement")
                .and_then(Json::as_array_mut)
            {
                s.push(json!({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}));
            }
        }),
        case("AwsSolutions-IAM5", "AWS::IAM::Policy", |p| {
            if let Some(s) = p
                .pointer_mut("/PolicyDocument/Statement")
                .and_then(Json::as_array_mut)
            {
                s.push(json!({"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"}));
            }
        }),
        case(
            "AwsSolutions-SF1",
            "AWS::StepFunctions::StateMachine",
            |p| set(p, "/LoggingConfiguration/Level", json!("ERROR")),
        ),
        case(
            "AwsSolutions-SF2",
            "AWS::StepFunctions::StateMachine",
            |p| set(p, "/TracingConfiguration/Enabled", json!(false)),
        ),
        case(
            "AwsSolutions-SMG4",
            "AWS::SecretsManager::RotationSchedule",
            |p| p["SecretId"] = json!("arn:aws:secretsmanager:us-east-1:111111111111:secret:other"),
        ),
        case("Banca-SecretKms", "AWS::SecretsManager::Secret", |p| {
            remove(p, "KmsKeyId")
        }),
        case("Banca-CT1", "AWS::CloudTrail::Trail", |p| {
            remove(p, "KMSKeyId")
        }),
        case("Banca-CT2", "AWS::CloudTrail::Trail", |p| {
            p["EnableLogFileValidation"] = json!(false)
        }),
        case("Banca-CT3", "AWS::CloudTrail::Trail", |p| {
            p["IsMultiRegionTrail"] = json!(false)
        }),
        case("Banca-WAF1", "AWS::WAFv2::LoggingConfiguration", |p| {
            p["ResourceArn"] = json!("arn:aws:wafv2:us-east-1:111111111111:regional/webacl/other/1")
        }),
        case("Banca-LOG1", "AWS::Logs::LogGroup", |p| {
            remove(p, "RetentionInDays")
        }),
        case("Banca-OS1", "AWS::OpenSearchService::Domain", |p| {
            set(p, "/NodeToNodeEncryptionOptions/Enabled", json!(false))
        }),
        case("Banca-ATH1", "AWS::Athena::WorkGroup", |p| {
            set(
                p,
                "/WorkGroupConfiguration/EnforceWorkGroupConfiguration",
                json!(false),
            )
        }),
    ]
}

fn insecure(c: &Case) -> TestApp {
    let t = crate::full_app::build();
    t.app
        .root()
        .add_aspect(PRIORITY_MUTATING, Override(c.type_name, c.mutate));
    t
}

#[test]
fn every_rule_fires_on_an_insecure_override_and_only_a_reasoned_suppression_silences_it() {
    let mut covered = BTreeSet::new();
    for c in cases() {
        if c.type_name == "AWS::DynamoDB::Table" {
            continue; // covered below: the full app has only global tables
        }
        covered.insert(c.rule);
        let err = insecure(&c).app.synth().unwrap_err();
        let SynthError::Compliance(findings) = err else {
            panic!("{}: expected findings, got {err}", c.rule)
        };
        assert!(
            findings.iter().any(|f| f.rule == c.rule),
            "{}: did not fire; got {findings:?}",
            c.rule
        );
        for f in &findings {
            assert!(
                f.rule == c.rule || c.also.contains(&f.rule.as_str()),
                "{}: unexpected {f}",
                c.rule
            );
        }
        let paths: BTreeSet<String> = findings.iter().map(|f| f.path.clone()).collect();

        // A suppression of another rule, or with a short reason, does not help.
        let t = insecure(&c);
        for p in &paths {
            t.app
                .scope_at(p)
                .unwrap()
                .suppress("AwsSolutions-XYZ1", "an unrelated rule suppressed");
        }
        assert!(
            matches!(t.app.synth(), Err(SynthError::Compliance(_))),
            "{}",
            c.rule
        );
        let t = insecure(&c);
        let p = paths.iter().next().unwrap();
        t.app.scope_at(p).unwrap().suppress(c.rule, "because");
        let err = t.app.synth().unwrap_err().to_string();
        assert!(
            err.contains(&format!(
                "suppression of {} needs a reason of at least 10 characters, got \"because\"",
                c.rule
            )),
            "{err}"
        );

        // A reasoned suppression on each flagged resource silences it, and is recorded.
        let t = insecure(&c);
        let reason = format!("accepted risk for {}: reviewed by security", c.rule);
        for f in &findings {
            t.app.scope_at(&f.path).unwrap().suppress(&f.rule, &reason);
        }
        let out = match t.app.synth() {
            Ok(o) => o,
            Err(e) => panic!("{}: still failing after suppression: {e}", c.rule),
        };
        let mut seen = 0;
        for s in &out.stacks {
            for r in s.template.resources.values() {
                let meta = r.metadata.as_ref().unwrap();
                if meta["aws:cdk:path"]
                    .as_str()
                    .is_some_and(|p| paths.contains(p))
                {
                    let rules = meta["cdk_nag"]["rules_to_suppress"].as_array().unwrap();
                    assert!(
                        rules.contains(&json!({"id": c.rule, "reason": reason})),
                        "{}: {meta}",
                        c.rule
                    );
                    seen += 1;
                }
            }
        }
        assert_eq!(seen, paths.len(), "{}", c.rule);
    }
    let all: BTreeSet<&str> = RULES.iter().map(|r| r.id).collect();
    let missing: Vec<_> = all.difference(&covered).collect();
    assert!(
        missing.is_empty(),
        "rules without a negative test: {missing:?}"
    );
}

#[test]
fn plain_dynamodb_tables_need_point_in_time_recovery() {
    let t = app();
    let s = t.stack("data");
    let r = s
        .add_resource(
            "Legacy",
            "AWS::DynamoDB::Table",
            json!({
                "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
                "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
                "BillingMode": "PAY_PER_REQUEST",
            }),
        )
        .unwrap();
    let err = t.app.synth().unwrap_err().to_string();
    assert!(err.contains("banca/primary/data/Legacy: AwsSolutions-DDB3: AWS::DynamoDB::Table needs: point-in-time recovery is on"), "{err}");
    r.set_property(
        "PointInTimeRecoverySpecification",
        json!({"PointInTimeRecoveryEnabled": true}),
    );
    t.synth();
}

#[test]
fn a_finding_message_names_the_path_the_rule_and_the_fix() {
    let c = case("AwsSolutions-SQS2", "AWS::SQS::Queue", |p| {
        remove(p, "SqsManagedSseEnabled");
    });
    let err = insecure(&c).app.synth().unwrap_err().to_string();
    assert!(err.contains("banca/primary/messaging/TransferRequests/Resource: AwsSolutions-SQS2: AWS::SQS::Queue needs: the queue is encrypted at rest (KMS or SQS-managed SSE)"), "{err}");
    assert!(err.ends_with("hint: fix the resource, or call .suppress(rule, reason) with a reason of at least 10 characters"), "{err}");
}
