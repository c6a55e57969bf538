//! Each construct's secure defaults, asserted property by property, and an insta snapshot of
//! the stack it makes (review a changed snapshot like a diff of the bank's infrastructure).

use std::collections::BTreeMap;

use banca_constructs::Scope;
use banca_constructs::analytics::{
    Domain, DomainProps, Pipeline, PipelineProps, WorkGroup, WorkGroupProps,
};
use banca_constructs::apigateway::{ApiGatewayAccount, Auth, RestApi, RestApiProps, Route};
use banca_constructs::compute::{
    AutoScalingGroup, AutoScalingGroupProps, LoadBalancer, LoadBalancerProps,
};
use banca_constructs::data::{Database, DatabaseProps, RedisCluster, RedisClusterProps};
use banca_constructs::dynamodb::{Attribute, Table, TableProps};
use banca_constructs::ec2::{SecurityGroup, SecurityGroupProps, Vpc, VpcProps, VpnProps};
use banca_constructs::edge::{
    Certificate, CertificateProps, FailoverRecords, FailoverRecordsProps, HealthCheck,
};
use banca_constructs::iam::{Role, RoleProps};
use banca_constructs::kms::{Key, KeyProps};
use banca_constructs::lambda::{Function, FunctionProps, SqsEventSourceProps};
use banca_constructs::logs::{LogGroup, LogGroupProps};
use banca_constructs::ops::{
    Alarm, AlarmProps, ConfigRule, ConfigRuleProps, Dashboard, EventRule, EventRuleProps,
    EventTarget, Metric, Trail, TrailProps, Widget,
};
use banca_constructs::s3::{Bucket, BucketProps};
use banca_constructs::secrets::{Parameter, ParameterProps, Secret, SecretProps};
use banca_constructs::sfn::{Definition, State, StateMachine, StateMachineProps};
use banca_constructs::sns::{FilterPolicy, Topic, TopicProps};
use banca_constructs::sqs::{Queue, QueueProps};
use banca_constructs::waf::{WafScope, WebAcl, WebAclProps};
use serde_json::{Value as Json, json};

use crate::common::*;

fn snapshot(name: &str, t: &TestApp, stack: &str) -> Json {
    let tpl = t.template(stack);
    insta::assert_json_snapshot!(name, tpl);
    tpl
}

fn vpc(s: &Scope) -> Vpc {
    Vpc::new(
        s,
        "Vpc",
        VpcProps {
            interface_endpoints: vec![],
            ..VpcProps::new(key(s, "FlowKey"))
        },
    )
    .unwrap()
}

#[test]
fn key_rotates_is_retained_and_has_no_wildcard_in_its_policy() {
    let t = app();
    Key::new(
        &t.stack("s"),
        "Key",
        KeyProps {
            alias: Some("banca/test".into()),
            ..KeyProps::default()
        },
    )
    .unwrap();
    let tpl = snapshot("key", &t, "s");
    has_resource(
        &tpl,
        "AWS::KMS::Key",
        json!({"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
        "Properties": {"EnableKeyRotation": true, "MultiRegion": false, "PendingWindowInDays": 30}}),
    );
    has_resource_properties(
        &tpl,
        "AWS::KMS::Alias",
        json!({"AliasName": "alias/banca/test"}),
    );
    assert!(all_actions(&tpl).iter().all(|a| !a.contains('*')));
}

#[test]
fn log_group_has_retention_and_kms_and_is_retained() {
    let t = app();
    let s = t.stack("s");
    LogGroup::new(&s, "Logs", LogGroupProps::new(key(&s, "Key"))).unwrap();
    let tpl = snapshot("log_group", &t, "s");
    has_resource(
        &tpl,
        "AWS::Logs::LogGroup",
        json!({"DeletionPolicy": "Retain", "Properties": {"RetentionInDays": 365, "KmsKeyId": {"Fn::GetAtt": ["Key", "Arn"]}}}),
    );
    // The key lets CloudWatch Logs of this region use it, for this account's groups only.
    has_resource_properties(
        &tpl,
        "AWS::KMS::Key",
        json!({"KeyPolicy": {"Statement": [{}, {"Principal": {"Service": "logs.us-east-1.amazonaws.com"}}]}}),
    );
    let err = LogGroup::new(
        &s,
        "Bad",
        LogGroupProps {
            retention_days: 100,
            ..LogGroupProps::new(key(&s, "K2"))
        },
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("retention_days: must be one of"), "{err}");
}

#[test]
fn queue_is_encrypted_tls_only_long_polling_with_a_dlq() {
    let t = app();
    let q = Queue::new(&t.stack("s"), "Transfers", QueueProps::default()).unwrap();
    let tpl = snapshot("queue", &t, "s");
    let dlq = q
        .dead_letter_queue()
        .unwrap()
        .resource()
        .logical_id()
        .to_owned();
    has_resource_properties(
        &tpl,
        "AWS::SQS::Queue",
        json!({
            "SqsManagedSseEnabled": true, "ReceiveMessageWaitTimeSeconds": 20, "VisibilityTimeout": 30, "MessageRetentionPeriod": 345_600,
            "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": [dlq, "Arn"]}, "maxReceiveCount": 5},
        }),
    );
    has_resource_properties(
        &tpl,
        "AWS::SQS::Queue",
        json!({"SqsManagedSseEnabled": true, "MessageRetentionPeriod": 1_209_600}),
    );
    assert_eq!(resource_count(&tpl, "AWS::SQS::QueuePolicy"), 2);
    has_resource_properties(
        &tpl,
        "AWS::SQS::QueuePolicy",
        json!({"Queues": [{"Ref": q.resource().logical_id()}], "PolicyDocument": {"Statement": [
        {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "sqs:*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}}),
    );
}

#[test]
fn topic_is_kms_encrypted_and_tls_only_and_subscriptions_filter_on_the_body() {
    let t = app();
    let s = t.stack("s");
    let topic = Topic::new(&s, "Notifications", TopicProps::default()).unwrap();
    let email = Queue::new(&s, "Email", QueueProps::default()).unwrap();
    topic
        .add_sqs_subscription(
            "ToEmail",
            &email,
            Some(FilterPolicy::message_body(
                json!({"channels": ["email", "both"]}),
            )),
        )
        .unwrap();
    let tpl = snapshot("topic", &t, "s");
    has_resource_properties(
        &tpl,
        "AWS::SNS::Topic",
        json!({"KmsMasterKeyId": {"Fn::GetAtt": [topic.key().resource().logical_id(), "Arn"]}}),
    );
    has_resource_properties(
        &tpl,
        "AWS::SNS::TopicPolicy",
        json!({"PolicyDocument": {"Statement": [{"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}}),
    );
    has_resource_properties(
        &tpl,
        "AWS::SNS::Subscription",
        json!({"Protocol": "sqs", "RawMessageDelivery": true,
        "FilterPolicyScope": "MessageBody", "FilterPolicy": {"channels": ["email", "both"]}}),
    );
    // Only this topic may send to the queue.
    has_resource_properties(
        &tpl,
        "AWS::SQS::QueuePolicy",
        json!({"PolicyDocument": {"Statement": [{}, {"Effect": "Allow",
        "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage", "Condition": {"ArnEquals": {"aws:SourceArn": {"Ref": "Notifications"}}}}]}}),
    );
    let err = topic
        .add_sqs_subscription(
            "Bad",
            &email,
            Some(FilterPolicy::message_body(json!({"a": "x"}))),
        )
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(
            "filter_policy: filter.a: must be a non-empty object of keys to arrays of values"
        ),
        "{err}"
    );
    let values: Vec<Json> = (0..20).map(|i| json!(i)).collect();
    let err = topic
        .add_sqs_subscription(
            "Big",
            &email,
            Some(FilterPolicy::message_body(
                json!({"a": values, "b": values}),
            )),
        )
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("expresses 400 combinations of values; SNS allows at most 150"),
        "{err}"
    );
}

#[test]
fn bucket_is_kms_versioned_private_tls_only_logged_and_retained() {
    let t = app();
    Bucket::new(&t.stack("s"), "Photos", BucketProps::default()).unwrap();
    let tpl = snapshot("bucket", &t, "s");
    has_resource(
        &tpl,
        "AWS::S3::Bucket",
        json!({"DeletionPolicy": "Retain", "Properties": {
            "BucketEncryption": {"ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}, "BucketKeyEnabled": true}]},
            "VersioningConfiguration": {"Status": "Enabled"},
            "PublicAccessBlockConfiguration": {"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true},
            "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
        }}),
    );
    has_resource_properties(
        &tpl,
        "AWS::S3::Bucket",
        json!({"LoggingConfiguration": {"LogFilePrefix": ""}}),
    );
    assert_eq!(resource_count(&tpl, "AWS::S3::BucketPolicy"), 2);
    // The access-log bucket's own S1 exemption is a recorded, reasoned suppression.
    has_resource(
        &tpl,
        "AWS::S3::Bucket",
        json!({"Metadata": {"cdk_nag": {"rules_to_suppress": [{"id": "AwsSolutions-S1"}]}}}),
    );
}

#[test]
fn table_is_a_global_table_with_pitr_kms_and_deletion_protection() {
    let t = app();
    let s = t.stack("s");
    Table::new(
        &s,
        "Faces",
        TableProps::new(Attribute::string("userId"), key(&s, "Key")),
    )
    .unwrap();
    let tpl = snapshot("table", &t, "s");
    has_resource(
        &tpl,
        "AWS::DynamoDB::GlobalTable",
        json!({"DeletionPolicy": "Retain", "Properties": {
            "BillingMode": "PAY_PER_REQUEST", "SSESpecification": {"SSEEnabled": true, "SSEType": "KMS"},
            "Replicas": [{"Region": "us-east-1", "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": true},
                "DeletionProtectionEnabled": true, "SSESpecification": {"KMSMasterKeyId": {"Fn::GetAtt": ["Key", "Arn"]}}}],
        }}),
    );
}

#[test]
fn function_has_role_log_group_kms_tracing_and_an_sqs_source_with_partial_batches() {
    let t = app();
    let s = t.stack("s");
    let q = Queue::new(
        &s,
        "Jobs",
        QueueProps {
            visibility_timeout_secs: 180,
            ..QueueProps::default()
        },
    )
    .unwrap();
    let f = Function::new(
        &s,
        "Worker",
        FunctionProps {
            reserved_concurrency: Some(10),
            provisioned_concurrency: Some(1),
            environment: BTreeMap::from([("QUEUE_URL".into(), json!(q.url()))]),
            ..FunctionProps::new(asset("worker"))
        },
    )
    .unwrap();
    f.add_sqs_event_source("Source", &q, SqsEventSourceProps::default())
        .unwrap();
    let tpl = snapshot("function", &t, "s");
    has_resource_properties(
        &tpl,
        "AWS::Lambda::Function",
        json!({
            "Runtime": "provided.al2023", "Handler": "bootstrap", "Architectures": ["arm64"], "TracingConfig": {"Mode": "Active"},
            "KmsKeyArn": {"Fn::GetAtt": [f.key().resource().logical_id(), "Arn"]},
            "LoggingConfig": {"LogGroup": {"Ref": f.log_group().resource().logical_id()}, "LogFormat": "JSON"},
            "ReservedConcurrentExecutions": 10, "Timeout": 30, "MemorySize": 256,
        }),
    );
    has_resource_properties(
        &tpl,
        "AWS::Lambda::Alias",
        json!({"Name": "live", "ProvisionedConcurrencyConfig": {"ProvisionedConcurrentExecutions": 1}}),
    );
    // The mapping invokes the `live` alias, which has the provisioned concurrency.
    let alias = resources(&tpl, "AWS::Lambda::Alias")[0].0.clone();
    has_resource_properties(
        &tpl,
        "AWS::Lambda::EventSourceMapping",
        json!({"BatchSize": 10, "FunctionResponseTypes": ["ReportBatchItemFailures"], "FunctionName": {"Ref": alias}}),
    );
    has_resource(
        &tpl,
        "AWS::Lambda::EventSourceMapping",
        json!({"DependsOn": [f.role().resource().logical_id()]}),
    );
    has_resource(
        &tpl,
        "AWS::Logs::LogGroup",
        json!({"Properties": {"RetentionInDays": 365}}),
    );
    assert_eq!(
        f.role().statements()[0],
        json!({"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": [f.log_group().arn()]})
    );
}

#[test]
fn function_runs_on_s3_object_events_through_eventbridge() {
    let t = app();
    let s = t.stack("s");
    let b = Bucket::new(
        &s,
        "Uploads",
        BucketProps {
            event_bridge: true,
            ..BucketProps::default()
        },
    )
    .unwrap();
    let f = Function::new(&s, "OnUpload", FunctionProps::new(asset("on-upload"))).unwrap();
    f.add_s3_event_source("FromUploads", &b, "photos/").unwrap();
    let tpl = snapshot("s3_event_source", &t, "s");
    has_resource_properties(
        &tpl,
        "AWS::S3::Bucket",
        json!({"NotificationConfiguration": {"EventBridgeConfiguration": {"EventBridgeEnabled": true}}}),
    );
    has_resource_properties(
        &tpl,
        "AWS::Events::Rule",
        json!({"EventPattern": {"source": ["aws.s3"], "detail-type": ["Object Created"],
        "detail": {"bucket": {"name": [{"Ref": "Uploads"}]}, "object": {"key": [{"prefix": "photos/"}]}}}}),
    );
    has_resource_properties(
        &tpl,
        "AWS::Lambda::Permission",
        json!({"Principal": "events.amazonaws.com"}),
    );
    let plain = Bucket::new(&s, "Plain", BucketProps::default()).unwrap();
    let err = f
        .add_s3_event_source("FromPlain", &plain, "")
        .unwrap_err()
        .to_string();
    assert!(err.contains("does not send events to EventBridge"), "{err}");
}

#[test]
fn vpc_spans_azs_with_three_tiers_nat_endpoints_flow_logs_and_ha_vpn() {
    let t = app();
    let s = t.stack("s");
    Vpc::new(
        &s,
        "Vpc",
        VpcProps {
            vpn: Some(VpnProps {
                customer_gateway_ips: vec!["203.0.113.10".into(), "203.0.113.11".into()],
                bgp_asn: 65000,
            }),
            ..VpcProps::new(key(&s, "FlowKey"))
        },
    )
    .unwrap();
    let tpl = snapshot("vpc", &t, "s");
    assert_eq!(resource_count(&tpl, "AWS::EC2::Subnet"), 6);
    assert_eq!(resource_count(&tpl, "AWS::EC2::NatGateway"), 2);
    assert_eq!(resource_count(&tpl, "AWS::EC2::VPCEndpoint"), 10);
    assert_eq!(resource_count(&tpl, "AWS::EC2::CustomerGateway"), 2);
    assert_eq!(resource_count(&tpl, "AWS::EC2::VPNConnection"), 2);
    has_resource_properties(
        &tpl,
        "AWS::EC2::FlowLog",
        json!({"ResourceType": "VPC", "TrafficType": "ALL"}),
    );
    has_resource_properties(
        &tpl,
        "AWS::EC2::VPCEndpoint",
        json!({"VpcEndpointType": "Interface", "PrivateDnsEnabled": true, "ServiceName": {"Fn::Sub": "com.amazonaws.${AWS::Region}.sqs"}}),
    );
    assert!(
        resources(&tpl, "AWS::EC2::Subnet")
            .iter()
            .all(|(_, r)| r["Properties"]["MapPublicIpOnLaunch"] == json!(false))
    );
    let t = app();
    let s = t.stack("s");
    Vpc::new(
        &s,
        "Vpc",
        VpcProps {
            nat_gateways: banca_constructs::ec2::NatGateways::Single,
            max_azs: 3,
            ..VpcProps::new(key(&s, "K"))
        },
    )
    .unwrap();
    let tpl = t.template("s");
    assert_eq!(resource_count(&tpl, "AWS::EC2::NatGateway"), 1);
    assert_eq!(resource_count(&tpl, "AWS::EC2::Subnet"), 9);
}

#[test]
fn security_group_rules_are_described_and_egress_is_https_only() {
    let t = app();
    let s = t.stack("s");
    let v = vpc(&s);
    let a = SecurityGroup::new(&s, "App", SecurityGroupProps::new(&v, "application")).unwrap();
    let db = SecurityGroup::new(
        &s,
        "Db",
        SecurityGroupProps {
            allow_https_egress: false,
            ..SecurityGroupProps::new(&v, "database")
        },
    )
    .unwrap();
    db.add_ingress(
        banca_constructs::ec2::Peer::SecurityGroup(Box::new(a.clone())),
        3307,
        "MySQL from the application",
    )
    .unwrap();
    let tpl = snapshot("security_group", &t, "s");
    has_resource_properties(
        &tpl,
        "AWS::EC2::SecurityGroup",
        json!({"GroupDescription": "application",
        "SecurityGroupEgress": [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "0.0.0.0/0", "Description": "HTTPS to AWS APIs and partners"}]}),
    );
    has_resource_properties(
        &tpl,
        "AWS::EC2::SecurityGroupIngress",
        json!({"FromPort": 3307, "Description": "MySQL from the application"}),
    );
}

#[test]
fn database_is_encrypted_multi_az_isolated_managed_secret_protected_and_snapshotted() {
    let t = app();
    let s = t.stack("s");
    let v = vpc(&s);
    Database::new(&s, "Db", DatabaseProps::new(&v, key(&s, "Key"))).unwrap();
    let tpl = snapshot("database", &t, "s");
    has_resource(
        &tpl,
        "AWS::RDS::DBInstance",
        json!({"DeletionPolicy": "Snapshot", "Properties": {
            "Engine": "mysql", "StorageEncrypted": true, "MultiAZ": true, "PubliclyAccessible": false, "Port": "3307",
            "ManageMasterUserPassword": true, "MasterUserSecret": {"KmsKeyId": {"Fn::GetAtt": ["Key", "Arn"]}},
            "EnableIAMDatabaseAuthentication": true, "DeletionProtection": true, "BackupRetentionPeriod": 14,
            "EnableCloudwatchLogsExports": ["error", "general", "slowquery"],
        }}),
    );
    assert!(
        !tpl.to_string().contains("\"MasterUserPassword\""),
        "no password in the template"
    );
}

#[test]
fn redis_is_encrypted_authenticated_and_multi_az() {
    let t = app();
    let s = t.stack("s");
    let v = vpc(&s);
    let k = key(&s, "Key");
    let auth = Secret::new(&s, "Auth", SecretProps::new(k.clone())).unwrap();
    auth.resource().suppress(
        "AwsSolutions-SMG4",
        "rotated by the cache runbook, not a function",
    );
    RedisCluster::new(&s, "Cache", RedisClusterProps::new(&v, k, auth)).unwrap();
    let tpl = snapshot("redis", &t, "s");
    has_resource_properties(
        &tpl,
        "AWS::ElastiCache::ReplicationGroup",
        json!({
            "AtRestEncryptionEnabled": true, "TransitEncryptionEnabled": true, "MultiAZEnabled": true, "AutomaticFailoverEnabled": true,
            "NumCacheClusters": 2, "Port": 6380,
            "AuthToken": {"Fn::Join": ["", ["{{resolve:secretsmanager:", {"Ref": "Auth"}, ":SecretString:password}}"]]},
        }),
    );
}

#[test]
fn state_machine_logs_all_and_traces() {
    let t = app();
    let s = t.stack("s");
    StateMachine::new(
        &s,
        "Flow",
        StateMachineProps {
            definition: Definition::new("test", "Wait")
                .state(
                    "Wait",
                    State::Wait {
                        seconds: 5,
                        next: "Done".into(),
                    },
                )
                .state("Done", State::Succeed),
            log_key: key(&s, "Key"),
            log_retention_days: 365,
            substitutions: BTreeMap::new(),
        },
    )
    .unwrap();
    let tpl = snapshot("state_machine", &t, "s");
    has_resource_properties(
        &tpl,
        "AWS::StepFunctions::StateMachine",
        json!({
            "LoggingConfiguration": {"Level": "ALL", "IncludeExecutionData": false}, "TracingConfiguration": {"Enabled": true},
            "Definition": {"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 5, "Next": "Done"}, "Done": {"Type": "Succeed"}}},
        }),
    );
}

#[test]
fn secret_and_parameter() {
    let t = app();
    let s = t.stack("s");
    let rot = Function::new(&s, "Rotator", FunctionProps::new(asset("rotator"))).unwrap();
    Secret::new(
        &s,
        "Core",
        SecretProps {
            rotation: Some(banca_constructs::secrets::Rotation {
                function: rot,
                after_days: 30,
            }),
            ..SecretProps::new(key(&s, "Key"))
        },
    )
    .unwrap();
    Parameter::new(
        &s,
        "Ttl",
        ParameterProps {
            name: "/banca/otp/ttl-seconds".into(),
            value: json!("180"),
            description: "OTP lifetime".into(),
        },
    )
    .unwrap();
    let tpl = snapshot("secret_parameter", &t, "s");
    has_resource(
        &tpl,
        "AWS::SecretsManager::Secret",
        json!({"DeletionPolicy": "Retain", "Properties": {"KmsKeyId": {"Fn::GetAtt": ["Key", "Arn"]},
        "GenerateSecretString": {"GenerateStringKey": "password", "PasswordLength": 32}}}),
    );
    has_resource_properties(
        &tpl,
        "AWS::SecretsManager::RotationSchedule",
        json!({"SecretId": {"Ref": "Core"}, "RotationRules": {"AutomaticallyAfterDays": 30}}),
    );
    has_resource_properties(
        &tpl,
        "AWS::SSM::Parameter",
        json!({"Name": "/banca/otp/ttl-seconds", "Type": "String", "Value": "180"}),
    );
    let err = Parameter::new(
        &s,
        "Bad",
        ParameterProps {
            name: "banca ttl".into(),
            value: json!("1"),
            description: "x".into(),
        },
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("name: must be a path like /banca/otp/ttl-seconds"),
        "{err}"
    );
}

#[test]
fn rest_api_from_routes_with_validation_authorizer_keys_logs_tracing_and_waf() {
    let t = app();
    let s = t.stack("s");
    let k = key(&s, "Key");
    let auth = Function::new(&s, "Authorizer", FunctionProps::new(asset("authorizer"))).unwrap();
    let h = Function::new(&s, "Transfers", FunctionProps::new(asset("transfers"))).unwrap();
    let acl = WebAcl::new(&s, "Waf", WebAclProps::new(WafScope::Regional, k.clone())).unwrap();
    RestApi::new(&s, "Api", RestApiProps {
        authorizer: Some(auth), web_acl: Some(acl),
        ..RestApiProps::new(vec![Route { path: "/transfers".into(), method: "post".into(), function: h, auth: Auth::AuthorizerAndApiKey,
            request_schema: Some(json!({"type": "object", "required": ["amount"], "properties": {"amount": {"type": "string"}}}))}], k)
    }).unwrap();
    let tpl = snapshot("rest_api", &t, "s");
    has_resource_properties(
        &tpl,
        "AWS::ApiGateway::RestApi",
        json!({"Body": {
            "x-amazon-apigateway-request-validators": {"all": {"validateRequestBody": true, "validateRequestParameters": true}},
            "paths": {"/transfers": {"post": {"security": [{"jwt": [], "api_key": []}], "x-amazon-apigateway-request-validator": "all",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TransfersPostRequest"}}}}}}},
            "components": {"schemas": {"TransfersPostRequest": {"required": ["amount"]}}},
        }}),
    );
    has_resource_properties(
        &tpl,
        "AWS::ApiGateway::Stage",
        json!({"StageName": "v1", "TracingEnabled": true,
        "MethodSettings": [{"ResourcePath": "/*", "HttpMethod": "*", "LoggingLevel": "ERROR", "DataTraceEnabled": false}]}),
    );
    assert_eq!(resource_count(&tpl, "AWS::ApiGateway::UsagePlanKey"), 1);
    assert_eq!(resource_count(&tpl, "AWS::WAFv2::WebACLAssociation"), 1);
    assert_eq!(resource_count(&tpl, "AWS::Lambda::Permission"), 2);

    // The account setting APIG6's execution logs need, with a role scoped to API Gateway's groups.
    let t = app();
    ApiGatewayAccount::new(&t.stack("s"), "Account").unwrap();
    let tpl = t.template("s");
    has_resource(
        &tpl,
        "AWS::ApiGateway::Account",
        json!({"DeletionPolicy": "Retain"}),
    );
    has_resource_properties(
        &tpl,
        "AWS::IAM::Role",
        json!({"Policies": [{"PolicyDocument": {"Statement": [{"Resource": [
        {"Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:API-Gateway-Execution-Logs_*"}]}]}}]}),
    );
}

#[test]
fn web_acl_has_a_rate_rule_managed_groups_and_logging() {
    let t = app();
    let s = t.stack("s");
    WebAcl::new(
        &s,
        "Waf",
        WebAclProps::new(WafScope::Regional, key(&s, "Key")),
    )
    .unwrap();
    let tpl = snapshot("web_acl", &t, "s");
    has_resource_properties(
        &tpl,
        "AWS::WAFv2::WebACL",
        json!({"Scope": "REGIONAL", "DefaultAction": {"Allow": {}}}),
    );
    let acl = resources(&tpl, "AWS::WAFv2::WebACL")[0].1;
    assert_eq!(
        acl["Properties"]["Rules"][0]["Statement"],
        json!({"RateBasedStatement": {"Limit": 1000, "AggregateKeyType": "IP"}})
    );
    assert_eq!(acl["Properties"]["Rules"].as_array().unwrap().len(), 5);
    assert_eq!(resource_count(&tpl, "AWS::WAFv2::LoggingConfiguration"), 1);
    let t = app();
    let s = t.dr_stack("s");
    let err = WebAcl::new(
        &s,
        "Edge",
        WebAclProps::new(WafScope::CloudFront, key(&s, "K")),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("CloudFront web ACLs must be in us-east-1, got us-west-2"),
        "{err}"
    );
}

#[test]
fn distribution_disables_caching_restricts_geography_and_enforces_tls() {
    let full = crate::full_app::build();
    let tpl = template_of(&full.synth(), "banca-primary-global");
    insta::assert_json_snapshot!("distribution_global_stack", tpl);
    has_resource_properties(
        &tpl,
        "AWS::CloudFront::Distribution",
        json!({"DistributionConfig": {
            "DefaultCacheBehavior": {"ViewerProtocolPolicy": "redirect-to-https", "CachePolicyId": "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"},
            "CacheBehaviors": [{"PathPattern": "/api/*", "ViewerProtocolPolicy": "redirect-to-https", "CachePolicyId": "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"}],
            "Restrictions": {"GeoRestriction": {"RestrictionType": "whitelist", "Locations": ["EC"]}},
            "ViewerCertificate": {"SslSupportMethod": "sni-only", "MinimumProtocolVersion": "TLSv1.2_2021"},
        }}),
    );
    has_resource_properties(
        &tpl,
        "AWS::CloudFront::OriginAccessControl",
        json!({"OriginAccessControlConfig": {"SigningBehavior": "always"}}),
    );
    has_resource_properties(
        &tpl,
        "AWS::Route53::RecordSet",
        json!({"Failover": "PRIMARY", "Type": "CNAME"}),
    );
    has_resource_properties(
        &tpl,
        "AWS::Route53::RecordSet",
        json!({"Failover": "SECONDARY"}),
    );
    has_resource_properties(
        &tpl,
        "AWS::Route53::HealthCheck",
        json!({"HealthCheckConfig": {"Type": "HTTPS", "ResourcePath": "/health", "EnableSNI": true}}),
    );
    has_resource_properties(
        &tpl,
        "AWS::CertificateManager::Certificate",
        json!({"ValidationMethod": "DNS", "CertificateTransparencyLoggingPreference": "ENABLED"}),
    );
}

#[test]
fn certificate_health_check_and_failover_records() {
    let t = app();
    let s = t.stack("s");
    Certificate::new(
        &s,
        "Cert",
        CertificateProps {
            domain_name: "api.banca.example.ec".into(),
            alternative_names: vec![],
            hosted_zone_id: "Z1".into(),
        },
    )
    .unwrap();
    let hc = HealthCheck::new(
        &s,
        "Health",
        json!("api-primary.banca.example.ec"),
        "/health",
    )
    .unwrap();
    FailoverRecords::new(
        &s,
        "Api",
        FailoverRecordsProps {
            hosted_zone_id: "Z1".into(),
            name: "api.banca.example.ec".into(),
            primary: json!("a.example.ec"),
            primary_health_check: hc,
            secondary: json!("b.example.ec"),
            ttl_secs: 60,
        },
    )
    .unwrap();
    let tpl = snapshot("dns", &t, "s");
    has_resource_properties(
        &tpl,
        "AWS::Route53::RecordSet",
        json!({"Failover": "PRIMARY", "HealthCheckId": {"Ref": "Health"}, "TTL": "60"}),
    );
}

#[test]
fn trail_config_rule_event_rule_alarm_and_dashboard() {
    let t = app();
    let s = t.stack("s");
    let k = key(&s, "Key");
    let b = Bucket::new(
        &s,
        "TrailBucket",
        BucketProps {
            encryption_key: Some(k.clone()),
            ..BucketProps::default()
        },
    )
    .unwrap();
    Trail::new(
        &s,
        "Trail",
        TrailProps {
            bucket: b,
            encryption_key: k.clone(),
        },
    )
    .unwrap();
    let topic = Topic::new(
        &s,
        "Admin",
        TopicProps {
            encryption_key: Some(k),
            ..TopicProps::default()
        },
    )
    .unwrap();
    ConfigRule::new(
        &s,
        "CertExpiry",
        ConfigRuleProps {
            identifier: "ACM_CERTIFICATE_EXPIRATION_CHECK".into(),
            input_parameters: BTreeMap::from([("daysToExpiration".into(), "35".into())]),
            resource_types: vec![],
            notify: Some(topic.clone()),
        },
    )
    .unwrap();
    EventRule::new(
        &s,
        "Health",
        EventRuleProps {
            pattern: json!({"source": ["aws.health"]}),
            targets: vec![EventTarget::Topic(Box::new(topic.clone()))],
            description: "health".into(),
        },
    )
    .unwrap();
    let alarm = Alarm::new(
        &s,
        "Errors",
        AlarmProps {
            metric: Metric::new("AWS/Lambda", "Errors", ("FunctionName", json!("f"))),
            threshold: 1.0,
            comparison: "GreaterThanOrEqualToThreshold".into(),
            evaluation_periods: 1,
            topic,
            description: "errors".into(),
        },
    )
    .unwrap();
    Dashboard::new(
        &s,
        "Dash",
        vec![
            Widget::Text {
                markdown: "# ${not a var}".into(),
            },
            Widget::AlarmStatus {
                title: "a".into(),
                alarms: vec![alarm],
            },
        ],
    )
    .unwrap();
    let tpl = snapshot("operations", &t, "s");
    has_resource_properties(
        &tpl,
        "AWS::CloudTrail::Trail",
        json!({"IsMultiRegionTrail": true, "EnableLogFileValidation": true, "IncludeGlobalServiceEvents": true, "KMSKeyId": {"Fn::GetAtt": ["Key", "Arn"]}}),
    );
    has_resource_properties(
        &tpl,
        "AWS::Config::ConfigRule",
        json!({"Source": {"Owner": "AWS", "SourceIdentifier": "ACM_CERTIFICATE_EXPIRATION_CHECK"}, "InputParameters": {"daysToExpiration": "35"}}),
    );
    has_resource_properties(
        &tpl,
        "AWS::CloudWatch::Alarm",
        json!({"TreatMissingData": "notBreaching", "AlarmActions": [{"Ref": "Admin"}]}),
    );
    // The dashboard body is valid JSON once CloudFormation substitutes the variables.
    let dash = resources(&tpl, "AWS::CloudWatch::Dashboard")[0].1;
    let body = dash["Properties"]["DashboardBody"]["Fn::Sub"][0]
        .as_str()
        .unwrap();
    let parsed: Json = serde_json::from_str(body).unwrap();
    assert_eq!(
        parsed["widgets"][0]["properties"]["markdown"],
        json!("# ${!not a var}")
    );
    assert_eq!(
        parsed["widgets"][1]["properties"]["alarms"],
        json!(["${v0}"])
    );
}

#[test]
fn auto_scaling_group_behind_an_internal_https_alb_with_imdsv2() {
    let t = app();
    let s = t.stack("s");
    let v = vpc(&s);
    let k = key(&s, "Key");
    let asg = AutoScalingGroup::new(&s, "Uaa", AutoScalingGroupProps::new(&v, k)).unwrap();
    LoadBalancer::new(
        &s,
        "Alb",
        LoadBalancerProps {
            vpc: v,
            certificate_arn: json!("arn:aws:acm:us-east-1:111111111111:certificate/abc"),
            targets: asg,
            allowed_cidr: "10.0.0.0/8".into(),
            health_check_path: "/healthz".into(),
        },
    )
    .unwrap();
    let tpl = snapshot("auto_scaling", &t, "s");
    has_resource_properties(
        &tpl,
        "AWS::EC2::LaunchTemplate",
        json!({"LaunchTemplateData": {"MetadataOptions": {"HttpTokens": "required", "HttpPutResponseHopLimit": 1}}}),
    );
    assert!(tpl.to_string().contains("\"Encrypted\":true"));
    assert!(!tpl.to_string().contains("KeyName"), "no SSH key pairs");
    has_resource_properties(
        &tpl,
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        json!({"Scheme": "internal"}),
    );
    has_resource_properties(
        &tpl,
        "AWS::ElasticLoadBalancingV2::Listener",
        json!({"Protocol": "HTTPS", "SslPolicy": "ELBSecurityPolicy-TLS13-1-2-2021-06"}),
    );
    has_resource_properties(
        &tpl,
        "AWS::AutoScaling::AutoScalingGroup",
        json!({"MinSize": "2", "HealthCheckType": "ELB"}),
    );
}

#[test]
fn athena_opensearch_and_ingestion_pipeline() {
    let t = app();
    let s = t.stack("s");
    let v = vpc(&s);
    let k = key(&s, "Key");
    let b = Bucket::new(
        &s,
        "Results",
        BucketProps {
            encryption_key: Some(k.clone()),
            ..BucketProps::default()
        },
    )
    .unwrap();
    WorkGroup::new(
        &s,
        "Queries",
        WorkGroupProps {
            results_bucket: b,
            encryption_key: k.clone(),
            bytes_scanned_cutoff: 10_737_418_240,
        },
    )
    .unwrap();
    let master = Role::new(
        &s,
        "Ingest",
        RoleProps {
            assumed_by: "osis-pipelines.amazonaws.com".into(),
            description: None,
        },
    )
    .unwrap();
    let d = Domain::new(&s, "Search", DomainProps::new(&v, k.clone()), &master).unwrap();
    Pipeline::new(
        &s,
        "Pipe",
        PipelineProps {
            domain: d,
            index: "audit".into(),
            path: "/audit".into(),
            encryption_key: k,
            vpc: v,
            units: (1, 2),
        },
        &master,
    )
    .unwrap();
    let tpl = snapshot("analytics", &t, "s");
    has_resource_properties(
        &tpl,
        "AWS::Athena::WorkGroup",
        json!({"WorkGroupConfiguration": {"EnforceWorkGroupConfiguration": true, "ResultConfiguration": {"EncryptionConfiguration": {"EncryptionOption": "SSE_KMS"}}}}),
    );
    has_resource(
        &tpl,
        "AWS::OpenSearchService::Domain",
        json!({"DeletionPolicy": "Retain", "Properties": {"EncryptionAtRestOptions": {"Enabled": true}, "NodeToNodeEncryptionOptions": {"Enabled": true},
        "DomainEndpointOptions": {"EnforceHTTPS": true}, "ClusterConfig": {"ZoneAwarenessEnabled": true}}}),
    );
    has_resource_properties(
        &tpl,
        "AWS::OSIS::Pipeline",
        json!({"MinUnits": 1, "MaxUnits": 2, "LogPublishingOptions": {"IsLoggingEnabled": true}}),
    );
}
