//! A test app using every construct, with references inside a stack, across stacks of one
//! region and across regions; all templates go through cfn-lint in one process.

use std::collections::BTreeMap;
use std::process::Command;

use banca_constructs::analytics::{
    Domain, DomainProps, Pipeline, PipelineProps, WorkGroup, WorkGroupProps,
};
use banca_constructs::apigateway::{ApiGatewayAccount, Auth, RestApi, RestApiProps, Route};
use banca_constructs::compute::{
    AutoScalingGroup, AutoScalingGroupProps, LoadBalancer, LoadBalancerProps,
};
use banca_constructs::data::{Database, DatabaseProps, RedisCluster, RedisClusterProps};
use banca_constructs::dynamodb::{Attribute, Table, TableProps, TableReplica};
use banca_constructs::ec2::{NatGateways, SubnetType, Vpc, VpcProps, VpnProps};
use banca_constructs::edge::{
    Certificate, CertificateProps, Distribution, DistributionProps, FailoverRecords,
    FailoverRecordsProps, HealthCheck,
};
use banca_constructs::iam::{Role, RoleProps};
use banca_constructs::kms::{Key, KeyProps, ReplicaKey};
use banca_constructs::lambda::{Function, FunctionProps, SqsEventSourceProps, VpcPlacement};
use banca_constructs::ops::{
    Alarm, AlarmProps, ConfigRule, ConfigRuleProps, Dashboard, EventRule, EventRuleProps,
    EventTarget, Metric, Trail, TrailProps, Widget,
};
use banca_constructs::s3::{Bucket, BucketProps, Replication};
use banca_constructs::secrets::{
    Parameter, ParameterProps, Rotation, Secret, SecretProps, SecretReplica,
};
use banca_constructs::sfn::{
    Catch, ChoiceRule, Definition, Retry, State, StateMachine, StateMachineProps, aws_sdk,
};
use banca_constructs::sns::{FilterPolicy, Topic, TopicProps};
use banca_constructs::sqs::{Queue, QueueProps};
use banca_constructs::waf::{WafScope, WebAcl, WebAclProps};
use banca_constructs::{StackProps, SynthOutput};
use serde_json::{Value as Json, json};

use crate::common::*;

/// Builds the whole system in miniature: two regions, every construct.
pub fn build() -> TestApp {
    let t = app();
    // --- primary: security
    let sec = t.stack("security");
    let data_key = Key::new(
        &sec,
        "DataKey",
        KeyProps {
            multi_region: true,
            alias: Some("banca/data".into()),
            ..KeyProps::default()
        },
    )
    .unwrap();
    let logs_key = key(&sec, "LogsKey");
    let trail_bucket = Bucket::new(
        &sec,
        "TrailBucket",
        BucketProps {
            encryption_key: Some(logs_key.clone()),
            ..BucketProps::default()
        },
    )
    .unwrap();
    Trail::new(
        &sec,
        "Trail",
        TrailProps {
            bucket: trail_bucket.clone(),
            encryption_key: logs_key.clone(),
        },
    )
    .unwrap();
    let admin_topic = Topic::new(&sec, "AdminTopic", TopicProps::default()).unwrap();
    ConfigRule::new(
        &sec,
        "CertExpiry",
        ConfigRuleProps {
            identifier: "ACM_CERTIFICATE_EXPIRATION_CHECK".into(),
            input_parameters: BTreeMap::from([("daysToExpiration".into(), "35".into())]),
            resource_types: vec!["AWS::ACM::Certificate".into()],
            notify: Some(admin_topic.clone()),
        },
    )
    .unwrap();
    EventRule::new(
        &sec,
        "Health",
        EventRuleProps {
            pattern: json!({"source": ["aws.health"]}),
            targets: vec![EventTarget::Topic(Box::new(admin_topic.clone()))],
            description: "AWS Health events for the admins".into(),
        },
    )
    .unwrap();
    let twilio = Secret::new(
        &sec,
        "TwilioSecret",
        SecretProps {
            generate_key: None,
            ..SecretProps::new(data_key.clone())
        },
    )
    .unwrap();
    twilio.resource().suppress(
        "AwsSolutions-SMG4",
        "Twilio rotates the API key on its side; operators update the secret",
    );
    Parameter::new(
        &sec,
        "OtpTtl",
        ParameterProps {
            name: "/banca/otp/ttl-seconds".into(),
            value: json!("180"),
            description: "OTP lifetime in seconds".into(),
        },
    )
    .unwrap();
    WorkGroup::new(
        &sec,
        "SessionLogs",
        WorkGroupProps {
            results_bucket: trail_bucket.clone(),
            encryption_key: logs_key.clone(),
            bytes_scanned_cutoff: 10_737_418_240,
        },
    )
    .unwrap();

    // --- dr: security (replica keys, replication target bucket)
    let dr_sec = t.dr_stack("security");
    let dr_data_key = ReplicaKey::new(&dr_sec, "DataKey", &data_key).unwrap();
    let dr_photo_key = key(&dr_sec, "PhotoKey");
    let dr_photos = Bucket::new(
        &dr_sec,
        "PhotoReplica",
        BucketProps {
            encryption_key: Some(dr_photo_key),
            ..BucketProps::default()
        },
    )
    .unwrap();

    // --- primary: network
    let net = t.stack("network");
    let flow_key = key(&net, "FlowLogKey");
    let vpc = Vpc::new(
        &net,
        "Vpc",
        VpcProps {
            vpn: Some(VpnProps {
                customer_gateway_ips: vec!["203.0.113.10".into(), "203.0.113.11".into()],
                bgp_asn: 65000,
            }),
            ..VpcProps::new(flow_key)
        },
    )
    .unwrap();
    let dr_net = t.dr_stack("network");
    let dr_vpc = Vpc::new(
        &dr_net,
        "Vpc",
        VpcProps {
            nat_gateways: NatGateways::Single,
            cidr: "10.1.0.0/16".into(),
            ..VpcProps::new(key(&dr_net, "FlowLogKey"))
        },
    )
    .unwrap();

    // --- primary: data
    let data = t.stack("data");
    let db = Database::new(
        &data,
        "Transfers",
        DatabaseProps::new(&vpc, data_key.clone()),
    )
    .unwrap();
    let redis_secret = Secret::new(&data, "RedisAuth", SecretProps::new(data_key.clone())).unwrap();
    redis_secret.resource().suppress(
        "AwsSolutions-SMG4",
        "the AUTH token rotates with the cluster's own ModifyReplicationGroup runbook",
    );
    let faces = Table::new(
        &data,
        "Faces",
        TableProps {
            replicas: vec![TableReplica {
                region: DR.into(),
                key: dr_data_key.clone(),
            }],
            ..TableProps::new(Attribute::string("userId"), data_key.clone())
        },
    )
    .unwrap();
    let audit_table = Table::new(
        &data,
        "Audit",
        TableProps {
            sort_key: Some(Attribute::string("at")),
            ..TableProps::new(Attribute::string("userId"), data_key.clone())
        },
    )
    .unwrap();
    let photos = Bucket::new(
        &data,
        "Photos",
        BucketProps {
            replication: Some(Replication {
                destination: Box::new(dr_photos.clone()),
            }),
            event_bridge: true,
            ..BucketProps::default()
        },
    )
    .unwrap();
    let dr_data = t.dr_stack("data");
    Database::read_replica(
        &dr_data,
        "TransfersReplica",
        &db,
        &dr_vpc,
        &key(&dr_data, "ReplicaKey"),
    )
    .unwrap();

    // --- primary: messaging
    let msg = t.stack("messaging");
    let topic = Topic::new(&msg, "Notifications", TopicProps::default()).unwrap();
    let transfers = Queue::new(
        &msg,
        "TransferRequests",
        QueueProps {
            visibility_timeout_secs: 180,
            ..QueueProps::default()
        },
    )
    .unwrap();
    let email = Queue::new(
        &msg,
        "NotifyEmail",
        QueueProps {
            visibility_timeout_secs: 60,
            ..QueueProps::default()
        },
    )
    .unwrap();
    let sms = Queue::new(
        &msg,
        "NotifySms",
        QueueProps {
            visibility_timeout_secs: 60,
            encryption: banca_constructs::sqs::QueueEncryption::Kms(key(&msg, "SmsKey")),
            ..QueueProps::default()
        },
    )
    .unwrap();
    topic
        .add_sqs_subscription(
            "ToEmail",
            &email,
            Some(FilterPolicy::message_body(json!({"channels": ["email"]}))),
        )
        .unwrap();
    topic
        .add_sqs_subscription(
            "ToSms",
            &sms,
            Some(FilterPolicy::message_body(json!({"channels": ["sms"]}))),
        )
        .unwrap();

    // --- primary: backend
    let be = t.stack("backend");
    let fn_key = key(&be, "FunctionsKey");
    let processor = Function::new(
        &be,
        "TransferProcessor",
        FunctionProps {
            timeout_secs: 30,
            encryption_key: Some(fn_key.clone()),
            vpc: Some(VpcPlacement {
                vpc: vpc.clone(),
                subnets: SubnetType::Private,
                security_groups: vec![],
            }),
            reserved_concurrency: Some(20),
            provisioned_concurrency: Some(2),
            environment: BTreeMap::from([
                ("QUEUE_URL".into(), json!(transfers.url())),
                ("DB_SECRET_ARN".into(), json!(db.secret_arn())),
            ]),
            ..FunctionProps::new(asset("transfer-processor"))
        },
    )
    .unwrap();
    processor
        .add_sqs_event_source("Source", &transfers, SqsEventSourceProps::default())
        .unwrap();
    topic.grant_publish(&processor);
    faces.grant_read(&processor);
    let notify_email = Function::new(
        &be,
        "NotifyEmail",
        FunctionProps {
            encryption_key: Some(fn_key.clone()),
            ..FunctionProps::new(asset("notify-email"))
        },
    )
    .unwrap();
    notify_email
        .add_sqs_event_source("Source", &email, SqsEventSourceProps::default())
        .unwrap();
    let notify_sms = Function::new(
        &be,
        "NotifySms",
        FunctionProps {
            encryption_key: Some(fn_key.clone()),
            ..FunctionProps::new(asset("notify-sms"))
        },
    )
    .unwrap();
    notify_sms
        .add_sqs_event_source("Source", &sms, SqsEventSourceProps::default())
        .unwrap();
    twilio.grant_read(&notify_sms);
    let audit_fn = Function::new(
        &be,
        "AuditCollector",
        FunctionProps {
            encryption_key: Some(fn_key.clone()),
            ..FunctionProps::new(asset("audit-collector"))
        },
    )
    .unwrap();
    audit_table.grant_write(&audit_fn);
    let rotator = Function::new(
        &be,
        "SecretRotator",
        FunctionProps {
            encryption_key: Some(fn_key.clone()),
            ..FunctionProps::new(asset("secret-rotator"))
        },
    )
    .unwrap();
    Secret::new(
        &be,
        "CoreApiSecret",
        SecretProps {
            rotation: Some(Rotation {
                function: rotator,
                after_days: 30,
            }),
            replicas: vec![SecretReplica {
                region: DR.into(),
                key: dr_data_key.clone(),
            }],
            ..SecretProps::new(data_key.clone())
        },
    )
    .unwrap();
    let redis = RedisCluster::new(
        &data,
        "Cache",
        RedisClusterProps::new(&vpc, data_key.clone(), redis_secret),
    )
    .unwrap();
    let _ = redis.endpoint();

    // --- primary: identity (API, WAF, UAA behind ALB)
    let id = t.stack("identity");
    ApiGatewayAccount::new(&id, "ApiGatewayAccount").unwrap();
    let api_key = key(&id, "ApiKey");
    let authorizer = Function::new(
        &id,
        "Authorizer",
        FunctionProps {
            encryption_key: Some(api_key.clone()),
            ..FunctionProps::new(asset("authorizer"))
        },
    )
    .unwrap();
    faces.grant_read(&authorizer);
    let summary = Function::new(
        &id,
        "UserSummary",
        FunctionProps {
            encryption_key: Some(api_key.clone()),
            ..FunctionProps::new(asset("user-summary"))
        },
    )
    .unwrap();
    transfers.grant_send(&summary);
    let acl = WebAcl::new(
        &id,
        "Waf",
        WebAclProps::new(WafScope::Regional, api_key.clone()),
    )
    .unwrap();
    let api = RestApi::new(&id, "Api", RestApiProps {
        authorizer: Some(authorizer.clone()),
        web_acl: Some(acl),
        ..RestApiProps::new(vec![
            Route { path: "/login".into(), method: "post".into(), function: summary.clone(), auth: Auth::ApiKey,
                request_schema: Some(json!({"type": "object", "required": ["username", "password"], "properties": {"username": {"type": "string"}, "password": {"type": "string"}}})) },
            Route { path: "/me/summary".into(), method: "get".into(), function: summary.clone(), auth: Auth::AuthorizerAndApiKey, request_schema: None },
            Route { path: "/transfers".into(), method: "post".into(), function: summary.clone(), auth: Auth::AuthorizerAndApiKey,
                request_schema: Some(json!({"type": "object", "required": ["amount"], "properties": {"amount": {"type": "string"}}})) },
        ], api_key.clone())
    }).unwrap();
    let uaa_cert = Certificate::new(
        &id,
        "UaaCert",
        CertificateProps {
            domain_name: "uaa.banca.example.ec".into(),
            alternative_names: vec![],
            hosted_zone_id: "Z0123456789ABCDEFGHIJ".into(),
        },
    )
    .unwrap();
    let asg = AutoScalingGroup::new(
        &id,
        "Uaa",
        AutoScalingGroupProps::new(&vpc, api_key.clone()),
    )
    .unwrap();
    LoadBalancer::new(
        &id,
        "UaaAlb",
        LoadBalancerProps {
            vpc: vpc.clone(),
            certificate_arn: uaa_cert.arn().to_json(),
            targets: asg,
            allowed_cidr: "10.0.0.0/16".into(),
            health_check_path: "/healthz".into(),
        },
    )
    .unwrap();

    // --- primary: onboarding (state machine, S3 trigger)
    let ob = t.stack("onboarding");
    let ob_key = key(&ob, "Key");
    let trigger = Function::new(
        &ob,
        "PhotoTrigger",
        FunctionProps {
            encryption_key: Some(ob_key.clone()),
            ..FunctionProps::new(asset("photo-trigger"))
        },
    )
    .unwrap();
    trigger
        .add_s3_event_source("Uploads", &photos, "uploads/")
        .unwrap();
    photos.grant_read(&trigger, "uploads/");
    let def = Definition::new("validate the onboarding photo", "DetectFaces")
        .state("DetectFaces", State::Task {
            resource: aws_sdk("rekognition", "detectFaces"),
            parameters: Some(json!({"Image": {"S3Object": {"Bucket.$": "$.bucket", "Name.$": "$.key"}}, "Attributes": ["DEFAULT"]})),
            result_path: Some("$.faces".into()), result_selector: None, timeout_secs: Some(30),
            retry: vec![Retry { errors: vec!["States.TaskFailed".into()], interval_secs: 2, max_attempts: 3, backoff_rate: 2.0 }],
            catch: vec![Catch { errors: vec!["States.ALL".into()], next: "NotifyError".into(), result_path: Some("$.error".into()) }],
            next: Some("OneFace".into()),
        })
        .state("OneFace", State::Choice {
            choices: vec![ChoiceRule { variable: "$.faces.FaceDetails[1]".into(), operator: "IsPresent".into(), value: json!(false), next: "StoreFace".into() }],
            default: Some("NotifyError".into()),
        })
        .state("StoreFace", State::Task {
            resource: json!("arn:aws:states:::dynamodb:putItem"),
            parameters: Some(json!({"TableName": "${FacesTable}", "Item": {"userId": {"S.$": "$.userId"}}})),
            result_path: Some("$.stored".into()), result_selector: None, timeout_secs: None, retry: vec![], catch: vec![], next: Some("Done".into()),
        })
        .state("NotifyError", State::Pass { result: Some(json!({"notified": true})), result_path: Some("$.notification".into()), next: Some("Rejected".into()) })
        .state("Rejected", State::Fail { error: "PhotoRejected".into(), cause: "the photo is not one clear face".into() })
        .state("Done", State::Succeed);
    let sm = StateMachine::new(
        &ob,
        "FaceCheck",
        StateMachineProps {
            definition: def,
            log_key: ob_key.clone(),
            log_retention_days: 365,
            substitutions: BTreeMap::from([("FacesTable".into(), json!(faces.name()))]),
        },
    )
    .unwrap();
    faces.grant_write(sm.role());
    photos.grant_read(sm.role(), "uploads/");
    sm.role().add_statement(banca_constructs::iam::statement(
        &["rekognition:DetectFaces"],
        vec![json!("*")],
    ));
    sm.grant_start_execution(&trigger);

    // --- primary: audit (OpenSearch)
    let au = t.stack("audit");
    let au_key = key(&au, "Key");
    let master = Role::new(
        &au,
        "IngestRole",
        RoleProps {
            assumed_by: "osis-pipelines.amazonaws.com".into(),
            description: None,
        },
    )
    .unwrap();
    let domain = Domain::new(
        &au,
        "Search",
        DomainProps::new(&vpc, au_key.clone()),
        &master,
    )
    .unwrap();
    Pipeline::new(
        &au,
        "Ingest",
        PipelineProps {
            domain,
            index: "audit-events".into(),
            path: "/audit/ingest".into(),
            encryption_key: au_key,
            vpc: vpc.clone(),
            units: (1, 4),
        },
        &master,
    )
    .unwrap();

    // --- primary: monitoring
    let mon = t.stack("monitoring");
    let ops = Topic::new(&mon, "Ops", TopicProps::default()).unwrap();
    let dlq_alarm = Alarm::new(
        &mon,
        "TransferDlq",
        AlarmProps {
            metric: Metric {
                statistic: "Maximum".into(),
                ..Metric::new(
                    "AWS/SQS",
                    "ApproximateNumberOfMessagesVisible",
                    (
                        "QueueName",
                        json!(transfers.dead_letter_queue().unwrap().name()),
                    ),
                )
            },
            threshold: 0.0,
            comparison: "GreaterThanThreshold".into(),
            evaluation_periods: 1,
            topic: ops.clone(),
            description: "transfers are failing into the DLQ: inspect and redrive".into(),
        },
    )
    .unwrap();
    Dashboard::new(
        &mon,
        "Dashboard",
        vec![
            Widget::Text {
                markdown: "# banca operations".into(),
            },
            Widget::Graph {
                title: "transfer errors".into(),
                metrics: vec![Metric::new(
                    "AWS/Lambda",
                    "Errors",
                    ("FunctionName", json!(processor.name())),
                )],
            },
            Widget::AlarmStatus {
                title: "alarms".into(),
                alarms: vec![dlq_alarm],
            },
        ],
    )
    .unwrap();

    // --- global (us-east-1): CloudFront, WAF, DNS failover
    let gl = t
        .app
        .stack(t.primary, "global", StackProps::default())
        .unwrap();
    let gl_key = key(&gl, "Key");
    let cert = Certificate::new(
        &gl,
        "Cert",
        CertificateProps {
            domain_name: "banca.example.ec".into(),
            alternative_names: vec!["www.banca.example.ec".into()],
            hosted_zone_id: "Z0123456789ABCDEFGHIJ".into(),
        },
    )
    .unwrap();
    let edge_acl = WebAcl::new(
        &gl,
        "EdgeWaf",
        WebAclProps::new(WafScope::CloudFront, gl_key.clone()),
    )
    .unwrap();
    let spa = Bucket::new(
        &gl,
        "Spa",
        BucketProps {
            encryption_key: Some(gl_key),
            ..BucketProps::default()
        },
    )
    .unwrap();
    Distribution::new(
        &gl,
        "Cdn",
        DistributionProps {
            api_domain: api.domain_name(),
            api_origin_path: "/v1".into(),
            spa_bucket: spa,
            geo_allow_list: vec!["EC".into()],
            certificate_arn: cert.arn().to_json(),
            aliases: vec!["banca.example.ec".into(), "www.banca.example.ec".into()],
            web_acl: edge_acl,
        },
    )
    .unwrap();
    let hc = HealthCheck::new(
        &gl,
        "PrimaryApiHealth",
        json!("api-primary.banca.example.ec"),
        "/health",
    )
    .unwrap();
    FailoverRecords::new(
        &gl,
        "Api",
        FailoverRecordsProps {
            hosted_zone_id: "Z0123456789ABCDEFGHIJ".into(),
            name: "api.banca.example.ec".into(),
            primary: json!("api-primary.banca.example.ec"),
            primary_health_check: hc,
            secondary: json!("api-dr.banca.example.ec"),
            ttl_secs: 60,
        },
    )
    .unwrap();
    t
}

fn write_templates(out: &SynthOutput) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("banca-constructs-lint-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for s in &out.stacks {
        std::fs::write(
            dir.join(format!("{}.json", s.name)),
            s.template.to_json().unwrap(),
        )
        .unwrap();
    }
    dir
}

#[test]
fn every_construct_synthesizes_with_zero_cfn_lint_errors_and_warnings() {
    let t = build();
    let out = t.synth();
    let names: Vec<&str> = out.stacks.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(out.stacks.len(), 13, "{names:?}");
    let dir = write_templates(&out);
    let files: Vec<_> = out
        .stacks
        .iter()
        .map(|s| dir.join(format!("{}.json", s.name)))
        .collect();
    // One cfn-lint process for every template (start-up dominates its run time).
    let result = Command::new("cfn-lint")
        .args(["--format", "json"])
        .args(&files)
        .output();
    let result = match result {
        Ok(r) => r,
        Err(e) => panic!("cfn-lint must be installed (scripts/services installs it): {e}"),
    };
    let stdout = String::from_utf8_lossy(&result.stdout);
    let findings: Vec<Json> = serde_json::from_str(&stdout).unwrap_or_else(|_| {
        panic!(
            "cfn-lint output: {stdout}\n{}",
            String::from_utf8_lossy(&result.stderr)
        )
    });
    let problems: Vec<String> = findings
        .iter()
        .filter(|f| f["Level"] != "Informational")
        .map(|f| {
            format!(
                "{} {} {} {}",
                f["Level"], f["Rule"]["Id"], f["Filename"], f["Message"]
            )
        })
        .collect();
    assert!(
        problems.is_empty(),
        "cfn-lint found {} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
    if std::env::var_os("BANCA_KEEP_LINT_DIR").is_none() {
        std::fs::remove_dir_all(&dir).ok();
    }
}
