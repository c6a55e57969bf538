//! Test fixtures: small CDK cloud assemblies written the way `cdk synth` / `banca synth` write
//! them (manifest 48.0.0, per-stack asset manifests, a content-hashed zip asset), with a
//! stack-name prefix so parallel tests sharing one moto never collide.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// moto's default account.
pub const ACCOUNT: &str = "123456789012";
/// Primary region.
pub const PRIMARY: &str = "us-east-1";
/// DR region.
pub const DR: &str = "us-west-2";

/// A unique prefix for stack and resource names.
pub fn prefix(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("t{}{tag}{:x}", std::process::id() % 10_000, nanos % 0xffff)
}

/// A fresh directory under the system temp dir.
pub fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("banca-deploy-{name}"));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn sha256_hex(bytes: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(bytes);
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// A real zip (one stored entry `bootstrap`, mode 0755, fixed timestamp).
pub fn zip_with_bootstrap(body: &[u8]) -> Vec<u8> {
    let name = b"bootstrap";
    let crc = crc32fast::hash(body);
    let size = u32::try_from(body.len()).unwrap();
    let mut out = Vec::new();
    // Local file header.
    out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
    out.extend_from_slice(&20u16.to_le_bytes()); // version needed
    out.extend_from_slice(&0u16.to_le_bytes()); // flags
    out.extend_from_slice(&0u16.to_le_bytes()); // stored
    out.extend_from_slice(&0u16.to_le_bytes()); // time
    out.extend_from_slice(&0x21u16.to_le_bytes()); // date 1980-01-01
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(&u16::try_from(name.len()).unwrap().to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(name);
    out.extend_from_slice(body);
    let cd_offset = u32::try_from(out.len()).unwrap();
    // Central directory.
    out.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
    out.extend_from_slice(&0x031eu16.to_le_bytes()); // made by: unix
    out.extend_from_slice(&20u16.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&0x21u16.to_le_bytes());
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(&u16::try_from(name.len()).unwrap().to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes()); // extra
    out.extend_from_slice(&0u16.to_le_bytes()); // comment
    out.extend_from_slice(&0u16.to_le_bytes()); // disk
    out.extend_from_slice(&0u16.to_le_bytes()); // internal attrs
    out.extend_from_slice(&((0o100_755u32) << 16).to_le_bytes()); // external attrs
    out.extend_from_slice(&0u32.to_le_bytes()); // local header offset
    out.extend_from_slice(name);
    let cd_size = u32::try_from(out.len()).unwrap() - cd_offset;
    // End of central directory.
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&cd_size.to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

fn role(kind: &str, region: &str) -> String {
    format!("arn:${{AWS::Partition}}:iam::{ACCOUNT}:role/cdk-hnb659fds-{kind}-{ACCOUNT}-{region}")
}

struct StackSpec {
    id: String,
    region: &'static str,
    template: Value,
    depends_on: Vec<String>,
    /// (asset id, file name, bytes, object key)
    assets: Vec<(String, String, Vec<u8>, String)>,
    termination_protection: bool,
}

fn write_stack(dir: &Path, s: &StackSpec, artifacts: &mut serde_json::Map<String, Value>) {
    let template_file = format!("{}.template.json", s.id);
    let body = serde_json::to_string_pretty(&s.template).unwrap();
    std::fs::write(dir.join(&template_file), &body).unwrap();
    let template_hash = sha256_hex(body.as_bytes());
    let bucket = format!("cdk-hnb659fds-assets-${{AWS::AccountId}}-{}", s.region);
    let dest_key = format!("{ACCOUNT}-{}", s.region);
    let mut files = serde_json::Map::new();
    let mut all_assets = s.assets.clone();
    all_assets.push((
        template_hash.clone(),
        template_file.clone(),
        Vec::new(),
        format!("{template_hash}.json"),
    ));
    for (id, file, bytes, key) in &all_assets {
        if !bytes.is_empty() {
            std::fs::write(dir.join(file), bytes).unwrap();
        }
        files.insert(
            id.clone(),
            json!({
                "displayName": file,
                "source": {"path": file, "packaging": "file"},
                "destinations": {
                    dest_key.clone(): {
                        "bucketName": bucket,
                        "objectKey": key,
                        "region": s.region,
                        "assumeRoleArn": role("file-publishing-role", s.region)
                    }
                }
            }),
        );
    }
    let assets_file = format!("{}.assets.json", s.id);
    std::fs::write(
        dir.join(&assets_file),
        serde_json::to_string_pretty(
            &json!({"version": "48.0.0", "files": files, "dockerImages": {}}),
        )
        .unwrap(),
    )
    .unwrap();
    let assets_id = format!("{}.assets", s.id);
    artifacts.insert(
        assets_id.clone(),
        json!({
            "type": "cdk:asset-manifest",
            "properties": {
                "file": assets_file,
                "requiresBootstrapStackVersion": 6,
                "bootstrapStackVersionSsmParameter": "/cdk-bootstrap/hnb659fds/version"
            }
        }),
    );
    let mut deps: Vec<Value> = s.depends_on.iter().map(|d| json!(d)).collect();
    deps.push(json!(assets_id));
    artifacts.insert(
        s.id.clone(),
        json!({
            "type": "aws:cloudformation:stack",
            "environment": format!("aws://{ACCOUNT}/{}", s.region),
            "properties": {
                "templateFile": template_file,
                "terminationProtection": s.termination_protection,
                "tags": {"project": "banca-test"},
                "validateOnSynth": false,
                "stackName": s.id,
                "assumeRoleArn": role("deploy-role", s.region),
                "cloudFormationExecutionRoleArn": role("cfn-exec-role", s.region),
                "stackTemplateAssetObjectUrl": format!("s3://cdk-hnb659fds-assets-{ACCOUNT}-{}/{template_hash}.json", s.region),
                "requiresBootstrapStackVersion": 6,
                "bootstrapStackVersionSsmParameter": "/cdk-bootstrap/hnb659fds/version",
                "additionalDependencies": [assets_id]
            },
            "dependencies": deps,
            "displayName": s.id
        }),
    );
}

/// Writes the four-stack test app to `dir`: `{p}-global` (SSM parameter), `{p}-data` (queues
/// with a DLQ, a table; Retain on the queue and the table), `{p}-backend` (role, policy, Lambda
/// from a zip asset; imports the queue ARN), and `{p}-data-dr` in the DR region.
pub fn write_app(dir: &Path, p: &str) {
    let zip = zip_with_bootstrap(b"#!/bin/sh\necho banca test handler\n");
    let zip_hash = sha256_hex(&zip);
    let mut artifacts = serde_json::Map::new();
    let global = StackSpec {
        id: format!("{p}-global"),
        region: PRIMARY,
        template: json!({
            "Resources": {
                "Domain": {"Type": "AWS::SSM::Parameter", "Properties": {
                    "Name": format!("/{p}/global/domain"), "Type": "String", "Value": "banca.example.ec"}}
            },
            "Outputs": {"DomainParameter": {"Value": {"Ref": "Domain"}}},
            // Over CloudFormation's 51,200-byte inline limit, so this stack goes through the
            // published template asset (TemplateURL), as large real stacks do.
            "Metadata": {"Padding": "x".repeat(60_000)}
        }),
        depends_on: vec![],
        assets: vec![],
        termination_protection: false,
    };
    let data = |region: &'static str, id: String, deps: Vec<String>| StackSpec {
        id,
        region,
        template: json!({
            "Resources": {
                "TransfersDlq": {"Type": "AWS::SQS::Queue", "Properties": {
                    "QueueName": format!("{p}-transfers-dlq"), "MessageRetentionPeriod": 1209600, "SqsManagedSseEnabled": true}},
                "Transfers": {"Type": "AWS::SQS::Queue", "Properties": {
                    "QueueName": format!("{p}-transfers"), "VisibilityTimeout": 180, "SqsManagedSseEnabled": true,
                    "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": ["TransfersDlq", "Arn"]}, "maxReceiveCount": 5}},
                    "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"},
                "FaceRecords": {"Type": "AWS::DynamoDB::Table", "Properties": {
                    "TableName": format!("{p}-faces"), "BillingMode": "PAY_PER_REQUEST",
                    "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}]},
                    "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}
            },
            "Outputs": {
                "TransfersArn": {"Value": {"Fn::GetAtt": ["Transfers", "Arn"]},
                    "Export": {"Name": format!("{p}-{region}-TransfersArn")}},
                "TableName": {"Value": {"Ref": "FaceRecords"}}
            }
        }),
        depends_on: deps,
        assets: vec![],
        termination_protection: false,
    };
    let data_primary = data(PRIMARY, format!("{p}-data"), vec![format!("{p}-global")]);
    let backend = StackSpec {
        id: format!("{p}-backend"),
        region: PRIMARY,
        template: json!({
            "Resources": {
                "HandlerRole": {"Type": "AWS::IAM::Role", "Properties": {
                    "RoleName": format!("{p}-transfer-processor"),
                    "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
                        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}}},
                "HandlerPolicy": {"Type": "AWS::IAM::Policy", "Properties": {
                    "PolicyName": "consume",
                    "Roles": [{"Ref": "HandlerRole"}],
                    "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                        {"Effect": "Allow", "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage"],
                         "Resource": {"Fn::ImportValue": format!("{p}-{PRIMARY}-TransfersArn")}}]}}},
                "Handler": {"Type": "AWS::Lambda::Function", "DependsOn": ["HandlerPolicy"], "Properties": {
                    "FunctionName": format!("{p}-transfer-processor"),
                    "Runtime": "provided.al2023", "Handler": "bootstrap", "Architectures": ["x86_64"],
                    "Role": {"Fn::GetAtt": ["HandlerRole", "Arn"]},
                    "Code": {"S3Bucket": format!("cdk-hnb659fds-assets-{ACCOUNT}-{PRIMARY}"), "S3Key": format!("{zip_hash}.zip")}}}
            },
            "Outputs": {"FunctionArn": {"Value": {"Fn::GetAtt": ["Handler", "Arn"]}}}
        }),
        depends_on: vec![format!("{p}-data")],
        assets: vec![(
            zip_hash.clone(),
            format!("asset.{zip_hash}.zip"),
            zip,
            format!("{zip_hash}.zip"),
        )],
        termination_protection: false,
    };
    let data_dr = data(DR, format!("{p}-data-dr"), vec![format!("{p}-data")]);
    for s in [&global, &data_primary, &backend, &data_dr] {
        write_stack(dir, s, &mut artifacts);
    }
    artifacts.insert(
        "Tree".into(),
        json!({"type": "cdk:tree", "properties": {"file": "tree.json"}}),
    );
    std::fs::write(
        dir.join("manifest.json"),
        serde_json::to_string_pretty(&json!({"version": "48.0.0", "artifacts": artifacts}))
            .unwrap(),
    )
    .unwrap();
}
