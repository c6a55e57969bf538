//! Property assertions on the synthesized app: the seed's requirements, checked on every
//! template of both regions and the global edge (the example `banca.yaml`).

#[path = "app_common/mod.rs"]
mod common;

use std::collections::{BTreeMap, BTreeSet};

use banca_constructs::edge::CACHING_DISABLED_POLICY;
use banca_contracts::api::{OtpGenerateRequest, OtpValidateRequest, ReportRequest, SignupForm};
use banca_stacks::app::request_schema;
use common::{config, refers_to, resources, resources_in, template, templates};
use serde_json::{Value as Json, json};

const STAGES: [&str; 2] = ["primary", "dr"];

fn stack(stage: &str, id: &str) -> String {
    format!("banca-{stage}-{id}")
}

/// Every stack of both regions and the edge exists, and none nears CloudFormation's limit.
#[test]
fn every_stack_exists_within_limits() {
    let mut expected: BTreeSet<String> = BTreeSet::from([
        "banca-primary-secrets".to_owned(),
        "banca-global-edge".to_owned(),
    ]);
    for stage in STAGES {
        for id in [
            "security",
            "network",
            "storage",
            "data",
            "messaging",
            "backend",
            "otp",
            "onboarding",
            "audit",
            "identity",
            "monitoring",
        ] {
            expected.insert(stack(stage, id));
        }
    }
    let got: BTreeSet<String> = templates().keys().cloned().collect();
    assert_eq!(got, expected);
    for (name, t) in templates() {
        let n = t["Resources"].as_object().map_or(0, serde_json::Map::len);
        assert!(
            n > 0 && n < 400,
            "{name} has {n} resources (CloudFormation allows 500)"
        );
    }
}

/// Every queue is encrypted, TLS-only, and has a DLQ or is one.
#[test]
fn every_queue_is_encrypted_tls_only_with_dlq() {
    let queues = resources("AWS::SQS::Queue");
    assert!(
        queues.len() >= 2 * 12,
        "6 queues + 6 DLQs per region, got {}",
        queues.len()
    );
    for (stack, id, q) in queues {
        let p = &q["Properties"];
        assert!(
            p["SqsManagedSseEnabled"] == json!(true) || p.get("KmsMasterKeyId").is_some(),
            "{stack}/{id} is not encrypted"
        );
        assert_eq!(
            p["ReceiveMessageWaitTimeSeconds"],
            json!(20),
            "{stack}/{id} long polling"
        );
        let tls = resources_in(stack, "AWS::SQS::QueuePolicy")
            .into_iter()
            .any(|(_, pol)| {
                refers_to(&pol["Properties"]["Queues"], id)
                    && pol["Properties"]["PolicyDocument"]["Statement"]
                        .as_array()
                        .is_some_and(|s| {
                            s.iter().any(|st| {
                                st["Effect"] == "Deny"
                                    && st["Condition"]["Bool"]["aws:SecureTransport"] == "false"
                            })
                        })
            });
        assert!(tls, "{stack}/{id} has no TLS-only policy");
        let has_dlq = p.get("RedrivePolicy").is_some();
        let is_dlq = templates()[stack]["Resources"]
            .as_object()
            .is_some_and(|rs| {
                rs.values().any(|r| {
                    refers_to(&r["Properties"]["RedrivePolicy"], id)
                        || refers_to(&r["Properties"]["DeadLetterConfig"], id)
                })
            });
        assert!(has_dlq || is_dlq, "{stack}/{id} neither has nor is a DLQ");
    }
}

/// Queues consumed by a function hide a message for at least 6 x the function's timeout.
#[test]
fn visibility_timeouts_fit_their_consumers() {
    for (stack, id, esm) in resources("AWS::Lambda::EventSourceMapping") {
        let p = &esm["Properties"];
        assert_eq!(p["BatchSize"], json!(10), "{stack}/{id}");
        assert_eq!(
            p["FunctionResponseTypes"],
            json!(["ReportBatchItemFailures"]),
            "{stack}/{id}"
        );
        let function = p["FunctionName"]["Fn::GetAtt"][0]
            .as_str()
            .or(p["FunctionName"]["Ref"].as_str())
            .expect("function ref");
        let timeout = template(stack)["Resources"][function]["Properties"]["Timeout"]
            .as_u64()
            .expect("timeout");
        // The queue is imported from the messaging stack of the same stage.
        let stage = stack.split('-').nth(1).expect("stage");
        let export = serde_json::to_string(&p["EventSourceArn"]).expect("json");
        let queue = resources_in(&format!("banca-{stage}-messaging"), "AWS::SQS::Queue")
            .into_iter()
            .find(|(qid, _)| export.contains(qid))
            .unwrap_or_else(|| panic!("{stack}/{id}: queue of {export} not found"));
        let vis = queue.1["Properties"]["VisibilityTimeout"]
            .as_u64()
            .expect("visibility");
        assert!(
            vis >= 6 * timeout,
            "{stack}/{id}: visibility {vis} < 6 x {timeout}"
        );
    }
}

/// Every customer-managed key rotates.
#[test]
fn kms_rotation_is_on() {
    let keys = resources("AWS::KMS::Key");
    assert!(!keys.is_empty());
    for (stack, id, k) in keys {
        assert_eq!(
            k["Properties"]["EnableKeyRotation"],
            json!(true),
            "{stack}/{id}"
        );
    }
    let multi: Vec<_> = resources_in("banca-primary-security", "AWS::KMS::Key")
        .into_iter()
        .filter(|(_, k)| k["Properties"]["MultiRegion"] == json!(true))
        .collect();
    assert_eq!(multi.len(), 2, "data and secrets keys are multi-region");
}

/// AWS Config reports certificates 35 days before expiry, to the admin topic, in both regions.
#[test]
fn config_rule_checks_certificate_expiry_35_days() {
    for stage in STAGES {
        let rules = resources_in(&stack(stage, "security"), "AWS::Config::ConfigRule");
        assert_eq!(rules.len(), 1, "{stage}");
        let p = &rules[0].1["Properties"];
        assert_eq!(
            p["Source"],
            json!({"Owner": "AWS", "SourceIdentifier": "ACM_CERTIFICATE_EXPIRATION_CHECK"})
        );
        assert_eq!(p["InputParameters"], json!({"daysToExpiration": "35"}));
        let events = resources_in(&stack(stage, "security"), "AWS::Events::Rule");
        let patterns: Vec<&Json> = events
            .iter()
            .map(|(_, r)| &r["Properties"]["EventPattern"])
            .collect();
        assert!(
            patterns
                .iter()
                .any(|p| p["source"] == json!(["aws.config"])),
            "{stage}: no NON_COMPLIANT rule"
        );
        assert!(
            patterns
                .iter()
                .any(|p| p["source"] == json!(["aws.health"])),
            "{stage}: no health rule"
        );
    }
    let trails = resources("AWS::CloudTrail::Trail");
    assert_eq!(trails.len(), 1);
    assert_eq!(trails[0].2["Properties"]["IsMultiRegionTrail"], json!(true));
    assert_eq!(
        trails[0].2["Properties"]["EnableLogFileValidation"],
        json!(true)
    );
}

/// Every web ACL blocks by rate (the configured limit) and runs managed rule groups.
#[test]
fn waf_has_rate_rule_and_managed_groups() {
    let acls = resources("AWS::WAFv2::WebACL");
    let scopes: BTreeSet<(&str, &str)> = acls
        .iter()
        .map(|(s, _, a)| (*s, a["Properties"]["Scope"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(
        scopes,
        BTreeSet::from([
            ("banca-dr-identity", "REGIONAL"),
            ("banca-global-edge", "CLOUDFRONT"),
            ("banca-primary-identity", "REGIONAL")
        ])
    );
    for (stack, id, acl) in acls {
        let rules = acl["Properties"]["Rules"].as_array().expect("rules");
        let rate = rules
            .iter()
            .find_map(|r| r["Statement"].get("RateBasedStatement"))
            .unwrap_or_else(|| panic!("{stack}/{id}: no rate rule"));
        assert_eq!(
            rate["Limit"],
            json!(config().waf.rate_limit_per_5_minutes),
            "{stack}/{id}"
        );
        assert!(
            rules
                .iter()
                .filter(|r| r["Statement"].get("ManagedRuleGroupStatement").is_some())
                .count()
                >= 3,
            "{stack}/{id}"
        );
    }
}

/// CloudFront: no edge caching, Ecuador only, HTTPS only with TLS 1.2_2021, SPA through OAC.
#[test]
fn cloudfront_caching_disabled_geo_ec_tls12() {
    let d = resources_in("banca-global-edge", "AWS::CloudFront::Distribution");
    assert_eq!(d.len(), 1);
    let c = &d[0].1["Properties"]["DistributionConfig"];
    let mut behaviors = vec![&c["DefaultCacheBehavior"]];
    behaviors.extend(c["CacheBehaviors"].as_array().expect("behaviors"));
    for b in behaviors {
        assert_eq!(b["CachePolicyId"], json!(CACHING_DISABLED_POLICY));
        assert!(matches!(
            b["ViewerProtocolPolicy"].as_str(),
            Some("redirect-to-https" | "https-only")
        ));
    }
    assert_eq!(
        c["Restrictions"]["GeoRestriction"],
        json!({"RestrictionType": "whitelist", "Locations": ["EC"]})
    );
    assert_eq!(
        c["ViewerCertificate"]["MinimumProtocolVersion"],
        json!("TLSv1.2_2021")
    );
    let origins = c["Origins"].as_array().expect("origins");
    let spa = origins
        .iter()
        .find(|o| o["Id"] == "spa")
        .expect("spa origin");
    assert!(spa.get("OriginAccessControlId").is_some());
    let api = origins
        .iter()
        .find(|o| o["Id"] == "api")
        .expect("api origin");
    assert_eq!(api["DomainName"], json!("api.banca.example.ec"));
    assert_eq!(
        api["CustomOriginConfig"]["OriginProtocolPolicy"],
        json!("https-only")
    );
    assert!(c.get("WebACLId").is_some());
}

/// Route 53 answers api.<domain> with the primary while its health check passes, else dr.
#[test]
fn route53_failover_primary_secondary() {
    let records = resources_in("banca-global-edge", "AWS::Route53::RecordSet");
    let failover: BTreeMap<&str, &Json> = records
        .iter()
        .filter_map(|(_, r)| Some((r["Properties"]["Failover"].as_str()?, &r["Properties"])))
        .collect();
    assert_eq!(
        failover.keys().copied().collect::<Vec<_>>(),
        ["PRIMARY", "SECONDARY"]
    );
    assert!(failover["PRIMARY"].get("HealthCheckId").is_some());
    assert_eq!(failover["PRIMARY"]["Name"], json!("api.banca.example.ec"));
    // Each side is the regional domain of its region's API, read across regions.
    let text = |v: &Json| serde_json::to_string(v).expect("json");
    assert!(text(&failover["PRIMARY"]["ResourceRecords"]).contains("banca-primary-identity"));
    assert!(text(&failover["SECONDARY"]["ResourceRecords"]).contains("banca-dr-identity"));
    let checks = resources_in("banca-global-edge", "AWS::Route53::HealthCheck");
    assert_eq!(checks.len(), 1);
    assert_eq!(
        checks[0].1["Properties"]["HealthCheckConfig"]["ResourcePath"],
        json!("/v1/health")
    );
}

/// The topic routes by the message body: `channels` email -> notify-email, sms -> notify-sms;
/// failed deliveries are kept 4 days.
#[test]
fn sns_body_filters_route_email_and_sms() {
    for stage in STAGES {
        let name = stack(stage, "messaging");
        let subs = resources_in(&name, "AWS::SNS::Subscription");
        assert_eq!(subs.len(), 2, "{name}");
        let mut routes = BTreeMap::new();
        for (_, s) in subs {
            let p = &s["Properties"];
            assert_eq!(p["FilterPolicyScope"], json!("MessageBody"));
            assert_eq!(p["RawMessageDelivery"], json!(true));
            let endpoint = p["Endpoint"]["Fn::GetAtt"][0]
                .as_str()
                .expect("queue")
                .to_owned();
            routes.insert(p["FilterPolicy"]["channels"].to_string(), endpoint);
        }
        assert!(
            routes[r#"["email"]"#].starts_with("NotifyEmail"),
            "{routes:?}"
        );
        assert!(routes[r#"["sms"]"#].starts_with("NotifySms"), "{routes:?}");
        assert_eq!(
            template(&name)["Resources"]["NotifyAnalysis"]["Properties"]["MessageRetentionPeriod"],
            json!(345_600)
        );
    }
}

/// The dr region holds replicas of everything stateful.
#[test]
fn dr_replicas_present() {
    let dr = &config().regions.dr;
    let replica_keys = resources_in("banca-dr-security", "AWS::KMS::ReplicaKey");
    assert_eq!(replica_keys.len(), 2);
    let tables = resources_in("banca-primary-data", "AWS::DynamoDB::GlobalTable");
    assert_eq!(tables.len(), 2);
    for (id, t) in &tables {
        let regions: Vec<&str> = t["Properties"]["Replicas"]
            .as_array()
            .expect("replicas")
            .iter()
            .filter_map(|r| r["Region"].as_str())
            .collect();
        assert_eq!(regions, ["us-east-1", dr.as_str()], "{id}");
        for r in t["Properties"]["Replicas"].as_array().expect("replicas") {
            assert_eq!(
                r["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
                json!(true),
                "{id}"
            );
        }
    }
    let secrets = resources_in("banca-primary-secrets", "AWS::SecretsManager::Secret");
    assert_eq!(secrets.len(), 7);
    for (id, s) in secrets {
        assert_eq!(
            s["Properties"]["ReplicaRegions"][0]["Region"],
            json!(dr),
            "{id}"
        );
    }
    let replica_db: Vec<_> = resources_in("banca-dr-data", "AWS::RDS::DBInstance");
    assert_eq!(replica_db.len(), 1);
    assert!(
        replica_db[0].1["Properties"]
            .get("SourceDBInstanceIdentifier")
            .is_some()
    );
    assert_eq!(
        replica_db[0].1["Properties"]["DBInstanceClass"],
        json!(config().capacity.standby.db_instance_class)
    );
    let primary_db = resources_in("banca-primary-data", "AWS::RDS::DBInstance");
    assert_eq!(primary_db[0].1["Properties"]["MultiAZ"], json!(true));
    let buckets = resources_in("banca-primary-storage", "AWS::S3::Bucket");
    let photos = buckets
        .iter()
        .find(|(id, _)| *id == "Photos")
        .expect("photo bucket");
    let rule = &photos.1["Properties"]["ReplicationConfiguration"]["Rules"][0];
    assert_eq!(rule["Status"], json!("Enabled"));
    assert!(
        serde_json::to_string(&rule["Destination"])
            .expect("json")
            .contains("banca-dr-storage")
    );
}

/// The DR region runs at standby capacity behind one switch per stack, the `Capacity`
/// parameter (`standby` by default, `active` after `banca dr failover`): the UAA group's
/// minimum, the transfer processor's reserved concurrency and the API handlers' provisioned
/// concurrency take the primary's figures only when it is `active`. The primary has no switch.
#[test]
fn dr_capacity_follows_one_switch_per_stack() {
    let c = config();
    let (active, standby) = (&c.capacity.primary, &c.capacity.standby);
    for (name, t) in templates() {
        let has_switch = t
            .get("Parameters")
            .is_some_and(|p| p.get("Capacity").is_some());
        if !name.starts_with("banca-dr-") {
            assert!(!has_switch, "{name}: only DR stacks scale on failover");
            continue;
        }
        let text = serde_json::to_string(&t["Resources"]).expect("json");
        assert_eq!(has_switch, text.contains("ActiveCapacity"), "{name}");
        if has_switch {
            assert_eq!(
                t["Parameters"]["Capacity"],
                json!({"Type": "String", "Default": "standby", "AllowedValues": ["standby", "active"],
                    "Description": "standby: warm-standby capacity; active: the primary's capacity (set by `banca dr failover`)"}),
                "{name}"
            );
            assert_eq!(
                t["Conditions"]["ActiveCapacity"],
                json!({"Fn::Equals": [{"Ref": "Capacity"}, "active"]}),
                "{name}"
            );
        }
    }
    let asg = resources_in("banca-dr-identity", "AWS::AutoScaling::AutoScalingGroup");
    assert_eq!(
        asg[0].1["Properties"]["MinSize"],
        json!({"Fn::If": ["ActiveCapacity", active.uaa_min_instances.to_string(), standby.uaa_min_instances.to_string()]})
    );
    let max: u32 = asg[0].1["Properties"]["MaxSize"]
        .as_str()
        .and_then(|m| m.parse().ok())
        .expect("MaxSize");
    assert!(
        max >= active.uaa_min_instances,
        "active capacity fits the group"
    );
    // Every synchronous API handler has its `live` alias in both regions; in DR its
    // provisioned concurrency is the primary's when active, none when standby.
    for stage in STAGES {
        let aliases: Vec<_> = ["otp", "onboarding", "backend"]
            .iter()
            .flat_map(|s| resources_in(&stack(stage, s), "AWS::Lambda::Alias"))
            .collect();
        assert_eq!(aliases.len(), 4, "{stage}");
        for (id, a) in aliases {
            let pc = &a["Properties"]["ProvisionedConcurrencyConfig"];
            let expected = if stage == "primary" {
                json!({"ProvisionedConcurrentExecutions": active.api_provisioned_concurrency})
            } else {
                assert_eq!(standby.api_provisioned_concurrency, 0);
                json!({"Fn::If": ["ActiveCapacity",
                    {"ProvisionedConcurrentExecutions": active.api_provisioned_concurrency},
                    {"Ref": "AWS::NoValue"}]})
            };
            assert_eq!(pc, &expected, "{stage} {id}");
        }
    }
}

/// Network: NAT per AZ in the primary, one in dr; 8 interface and 2 gateway endpoints; flow
/// logs; the HA VPN with two customer gateways.
#[test]
fn network_layout_per_region() {
    for (stage, nats) in [("primary", 2), ("dr", 1)] {
        let name = stack(stage, "network");
        assert_eq!(
            resources_in(&name, "AWS::EC2::NatGateway").len(),
            nats,
            "{name}"
        );
        let endpoints = resources_in(&name, "AWS::EC2::VPCEndpoint");
        let kinds: Vec<&str> = endpoints
            .iter()
            .filter_map(|(_, e)| e["Properties"]["VpcEndpointType"].as_str())
            .collect();
        assert_eq!(
            kinds.iter().filter(|k| **k == "Interface").count(),
            8,
            "{name}"
        );
        assert_eq!(
            kinds.iter().filter(|k| **k == "Gateway").count(),
            2,
            "{name}"
        );
        assert_eq!(resources_in(&name, "AWS::EC2::FlowLog").len(), 1);
        assert_eq!(resources_in(&name, "AWS::EC2::CustomerGateway").len(), 2);
        assert_eq!(resources_in(&name, "AWS::EC2::VPNConnection").len(), 2);
        let subnets = resources_in(&name, "AWS::EC2::Subnet").len();
        assert_eq!(subnets, 6, "3 tiers x 2 AZs");
    }
}

/// Redis: encrypted at rest and in transit, AUTH required.
#[test]
fn redis_is_encrypted_with_auth() {
    for stage in STAGES {
        let groups = resources_in(&stack(stage, "data"), "AWS::ElastiCache::ReplicationGroup");
        assert_eq!(groups.len(), 1);
        let p = &groups[0].1["Properties"];
        assert_eq!(p["AtRestEncryptionEnabled"], json!(true));
        assert_eq!(p["TransitEncryptionEnabled"], json!(true));
        assert_eq!(
            p["AuthToken"],
            json!("{{resolve:secretsmanager:banca-redis-auth:SecretString:password}}")
        );
    }
}

fn api_body(stage: &str) -> &'static Json {
    let apis = resources_in(&stack(stage, "identity"), "AWS::ApiGateway::RestApi");
    assert_eq!(apis.len(), 1);
    &apis[0].1["Properties"]["Body"]
}

/// The API's request models are exactly the schemars schemas of the handlers' contract types.
#[test]
fn api_request_schemas_are_the_contract_types() {
    let expected = [
        ("/signin", request_schema::<SignupForm>()),
        ("/otpGenerate", request_schema::<OtpGenerateRequest>()),
        ("/otpValidate", request_schema::<OtpValidateRequest>()),
        ("/transfers", request_schema::<OtpValidateRequest>()),
        ("/reports", request_schema::<ReportRequest>()),
    ];
    for stage in STAGES {
        let body = api_body(stage);
        let schemas = &body["components"]["schemas"];
        for (path, (root, defs)) in &expected {
            let reference =
                body["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
                    ["$ref"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{stage} {path}: no request model"));
            let name = reference.trim_start_matches("#/components/schemas/");
            assert_eq!(&schemas[name], root, "{stage} {path}");
            for (k, v) in defs {
                assert_eq!(&schemas[k], v, "{stage} {path}: definition {k}");
            }
            assert_eq!(
                body["paths"][path]["post"]["x-amazon-apigateway-request-validator"],
                json!("all")
            );
        }
    }
}

/// Routes, their authorization, and the decisions on /login, /transfers and /reports.
#[test]
fn api_routes_and_authorization() {
    for stage in STAGES {
        let body = api_body(stage);
        let paths: BTreeSet<&str> = body["paths"]
            .as_object()
            .expect("paths")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            paths,
            BTreeSet::from([
                "/health",
                "/login",
                "/me/summary",
                "/otpGenerate",
                "/otpValidate",
                "/reports",
                "/signin",
                "/transfers"
            ])
        );
        for (path, item) in body["paths"].as_object().expect("paths") {
            for (method, op) in item.as_object().expect("ops") {
                let security = serde_json::to_string(&op["security"]).expect("json");
                match path.as_str() {
                    "/health" => assert!(op.get("security").is_none()),
                    "/login" | "/signin" => {
                        assert_eq!(op["security"], json!([{"api_key": []}]), "{method} {path}")
                    }
                    _ => assert!(
                        security.contains("jwt") && security.contains("api_key"),
                        "{method} {path}"
                    ),
                }
            }
        }
        let login = &body["paths"]["/login"]["post"]["x-amazon-apigateway-integration"];
        assert_eq!(login["connectionType"], json!("VPC_LINK"));
        assert_eq!(
            login["uri"],
            json!("https://uaa.banca.example.ec/oauth/token")
        );
        let reports = &body["paths"]["/reports"]["post"]["x-amazon-apigateway-integration"];
        assert_eq!(reports["type"], json!("aws"));
        assert!(
            reports["requestTemplates"]["application/json"]
                .as_str()
                .expect("template")
                .contains("ReportRequested")
        );
        assert_eq!(
            body["paths"]["/transfers"]["post"]["x-amazon-apigateway-integration"]["uri"],
            body["paths"]["/otpValidate"]["post"]["x-amazon-apigateway-integration"]["uri"]
        );
        let id = stack(stage, "identity");
        assert_eq!(resources_in(&id, "AWS::ApiGateway::ApiKey").len(), 1);
        assert_eq!(resources_in(&id, "AWS::ApiGateway::UsagePlan").len(), 1);
        assert_eq!(resources_in(&id, "AWS::WAFv2::WebACLAssociation").len(), 1);
        let stage_res = resources_in(&id, "AWS::ApiGateway::Stage");
        assert!(
            stage_res[0].1["Properties"]
                .get("AccessLogSetting")
                .is_some()
        );
        // The UAA: IMDSv2, Auto Scaling over the private subnets, internal ALB.
        let lt = resources_in(&id, "AWS::EC2::LaunchTemplate");
        assert_eq!(
            lt[0].1["Properties"]["LaunchTemplateData"]["MetadataOptions"]["HttpTokens"],
            json!("required")
        );
        let albs = resources_in(&id, "AWS::ElasticLoadBalancingV2::LoadBalancer");
        assert!(
            albs.iter()
                .all(|(_, lb)| lb["Properties"]["Scheme"] == "internal")
        );
    }
}

/// (handler, variables it requires, variables it may read): from `runtime/handlers/src/boot.rs`
/// and `runtime/src/transfer/config.rs`.
const HANDLER_ENV: &[(&str, &[&str], &[&str])] = &[
    (
        "transfer-processor",
        &[
            "TRANSFER_DB_SECRET_ID",
            "CORE_BASE_URL",
            "CORE_SECRET_ID",
            "NOTIFICATION_TOPIC_ARN",
        ],
        &[
            "TRANSFER_QUEUE_URL",
            "TRANSFER_MAX_ATTEMPTS",
            "TRANSFER_BACKOFF_BASE_MS",
            "TRANSFER_BACKOFF_CAP_MS",
            "TRANSFER_SETTLE_MS",
            "TRANSFER_DEADLINE_MS",
        ],
    ),
    (
        "notify-email",
        &["SES_FROM_ADDRESS", "ANALYSIS_QUEUE_URL"],
        &["REDIS_URL", "KEY_PREFIX"],
    ),
    (
        "notify-sms",
        &["TWILIO_SECRET_ID", "ANALYSIS_QUEUE_URL"],
        &["TWILIO_BASE_URL", "REDIS_URL", "KEY_PREFIX"],
    ),
    (
        "otp-generate",
        &[
            "OTP_PEPPER_SECRET_ID",
            "REDIS_URL",
            "CORE_BASE_URL",
            "CORE_SECRET_ID",
            "NOTIFICATIONS_TOPIC_ARN",
            "AUDIT_QUEUE_URL",
        ],
        &[
            "OTP_LENGTH",
            "OTP_TTL_SECS",
            "OTP_MAX_ATTEMPTS",
            "KEY_PREFIX",
        ],
    ),
    (
        "otp-validate",
        &[
            "OTP_PEPPER_SECRET_ID",
            "REDIS_URL",
            "TRANSFER_QUEUE_URL",
            "AUDIT_QUEUE_URL",
        ],
        &[
            "OTP_LENGTH",
            "OTP_TTL_SECS",
            "OTP_MAX_ATTEMPTS",
            "KEY_PREFIX",
        ],
    ),
    (
        "authorizer",
        &["UAA_BASE_URL", "UAA_ISSUER", "UAA_AUDIENCE", "FACE_TABLE"],
        &["UPLOAD_PREFIX"],
    ),
    (
        "signup",
        &[
            "UAA_SECRET_ID",
            "UAA_BASE_URL",
            "FACE_TABLE",
            "AUDIT_QUEUE_URL",
        ],
        &["UPLOAD_PREFIX"],
    ),
    (
        "onboarding-trigger",
        &["STATE_MACHINE_ARN", "FACE_TABLE"],
        &["UPLOAD_PREFIX"],
    ),
    ("audit-collector", &["AUDIT_TABLE"], &[]),
    (
        "user-summary",
        &[
            "REDIS_URL",
            "CORE_BASE_URL",
            "CORE_SECRET_ID",
            "INDEPENDENT_BASE_URL",
            "INDEPENDENT_SECRET_ID",
        ],
        &["KEY_PREFIX"],
    ),
    (
        "movements-report",
        &[
            "CORE_BASE_URL",
            "CORE_SECRET_ID",
            "REDIS_URL",
            "SES_FROM_ADDRESS",
        ],
        &["KEY_PREFIX"],
    ),
];

/// Every handler gets exactly the variables it reads, with the configured values.
#[test]
fn handler_environment_matches_what_handlers_read() {
    // The table above stays in step with the handlers' own source.
    let boot = include_str!("../../runtime/handlers/src/boot.rs");
    let transfer = include_str!("../../runtime/src/transfer/config.rs");
    for src in [boot, transfer] {
        for part in src.split("required(\"").skip(1).chain(
            src.split("ConfigError::Missing(\n                    \"")
                .skip(1),
        ) {
            let var = part.split('"').next().expect("name");
            assert!(
                HANDLER_ENV.iter().any(|(_, req, _)| req.contains(&var))
                    || var == "TRANSFER_DB_URL",
                "{var} is read by a handler but no stack test knows it"
            );
        }
    }
    let c = config();
    for stage in STAGES {
        let functions: BTreeMap<String, &Json> = resources("AWS::Lambda::Function")
            .into_iter()
            .filter(|(s, _, _)| s.starts_with(&format!("banca-{stage}-")))
            .map(|(_, _, f)| {
                let d = f["Properties"]["Description"]
                    .as_str()
                    .expect("description");
                (
                    d.split(' ').next().expect("handler").to_owned(),
                    &f["Properties"],
                )
            })
            .collect();
        let names: BTreeSet<&str> = functions.keys().map(String::as_str).collect();
        let handlers: BTreeSet<&str> = banca_stacks::app::HANDLERS
            .iter()
            .map(|(_, b)| *b)
            .collect();
        assert_eq!(names, handlers, "{stage}: one function per handler");
        for (handler, required, optional) in HANDLER_ENV {
            let f = functions[*handler];
            assert_eq!(f["Runtime"], json!("provided.al2023"), "{handler}");
            assert_eq!(f["TracingConfig"]["Mode"], json!("Active"), "{handler}");
            let vars = f["Environment"]["Variables"]
                .as_object()
                .unwrap_or_else(|| panic!("{stage} {handler}: no environment"));
            for v in *required {
                assert!(vars.contains_key(*v), "{stage} {handler}: {v} missing");
            }
            for k in vars.keys() {
                assert!(
                    required.contains(&k.as_str()) || optional.contains(&k.as_str()),
                    "{stage} {handler}: sets {k}, which it does not read"
                );
            }
            if let Some(n) = vars.get("OTP_LENGTH") {
                assert_eq!(n, &json!(c.otp.length.to_string()));
                assert_eq!(vars["OTP_TTL_SECS"], json!(c.otp.ttl_seconds.to_string()));
                assert_eq!(
                    vars["OTP_MAX_ATTEMPTS"],
                    json!(c.otp.max_attempts.to_string())
                );
            }
        }
        let tp = functions["transfer-processor"];
        assert_eq!(
            tp["ReservedConcurrentExecutions"],
            if stage == "primary" {
                json!(c.capacity.primary.transfer_reserved_concurrency)
            } else {
                // Standby until `banca dr failover` flips the stack's capacity switch.
                json!({"Fn::If": ["ActiveCapacity",
                    c.capacity.primary.transfer_reserved_concurrency,
                    c.capacity.standby.transfer_reserved_concurrency]})
            }
        );
        assert_eq!(
            tp["Environment"]["Variables"]["CORE_SECRET_ID"],
            json!(c.existing_systems.core.secret_name)
        );
        assert_eq!(
            tp["Environment"]["Variables"]["TRANSFER_MAX_ATTEMPTS"],
            json!((c.transfers.max_retries + 1).to_string())
        );
    }
}

/// The onboarding workflow: DetectFaces -> valid? -> face record, else the rejection.
#[test]
fn onboarding_workflow_checks_faces() {
    for stage in STAGES {
        let machines = resources_in(
            &stack(stage, "onboarding"),
            "AWS::StepFunctions::StateMachine",
        );
        assert_eq!(machines.len(), 1);
        let states = &machines[0].1["Properties"]["Definition"]["States"];
        assert_eq!(
            states["DetectFaces"]["Resource"],
            json!("arn:aws:states:::aws-sdk:rekognition:detectFaces")
        );
        assert_eq!(states["OneFace"]["Type"], json!("Choice"));
        assert_eq!(
            states["StoreFace"]["Resource"],
            json!("arn:aws:states:::aws-sdk:dynamodb:updateItem")
        );
        let rules = resources_in(&stack(stage, "onboarding"), "AWS::Events::Rule");
        let target = &rules[0].1["Properties"]["Targets"][0];
        assert!(
            target["InputTransformer"]["InputTemplate"]
                .as_str()
                .expect("template")
                .contains("\"Records\"")
        );
    }
}

/// Every dead-letter queue alarms when it holds a message; the API, the database and the
/// transfer FAIL rate alarm too; every function alarms on errors and throttles.
#[test]
fn monitoring_alarms_cover_dlqs_api_database_and_transfers() {
    for stage in STAGES {
        let mon = stack(stage, "monitoring");
        let alarms = resources_in(&mon, "AWS::CloudWatch::Alarm");
        let metric = |name: &str| {
            alarms
                .iter()
                .filter(|(_, a)| a["Properties"]["MetricName"] == name)
                .count()
        };
        let dlqs = resources_in(&stack(stage, "messaging"), "AWS::SQS::Queue")
            .into_iter()
            .filter(|(_, q)| q["Properties"].get("RedrivePolicy").is_none())
            .count()
            + resources_in(&stack(stage, "onboarding"), "AWS::SQS::Queue").len();
        assert_eq!(
            metric("ApproximateNumberOfMessagesVisible"),
            dlqs,
            "{stage}"
        );
        assert_eq!(metric("Errors"), 11, "{stage}");
        assert_eq!(metric("Throttles"), 11, "{stage}");
        assert_eq!(metric("5XXError"), 1, "{stage}");
        assert_eq!(metric("CPUUtilization"), 1, "{stage}");
        let rate = alarms
            .iter()
            .find(|(id, _)| *id == "TransferFailRate")
            .expect("transfer FAIL rate alarm");
        assert_eq!(
            rate.1["Properties"]["Threshold"],
            json!(f64::from(config().alarms.transfer_fail_rate_percent))
        );
        assert_eq!(resources_in(&mon, "AWS::Logs::MetricFilter").len(), 2);
        assert_eq!(resources_in(&mon, "AWS::CloudWatch::Dashboard").len(), 1);
    }
}

/// With `features.opensearch_audit` the audit stacks add the domain and its ingestion pipeline
/// (off by default: cost).
#[test]
fn opensearch_audit_is_optional() {
    assert!(resources("AWS::OpenSearchService::Domain").is_empty());
    let mut c = config();
    c.features.opensearch_audit = true;
    let out = common::synth_with(c);
    for stage in STAGES {
        let t = &out
            .stack(&stack(stage, "audit"))
            .expect("audit stack")
            .template;
        let types: Vec<&str> = t.resources.values().map(|r| r.type_name.as_str()).collect();
        assert!(types.contains(&"AWS::OpenSearchService::Domain"), "{stage}");
        assert!(types.contains(&"AWS::OSIS::Pipeline"), "{stage}");
    }
}
