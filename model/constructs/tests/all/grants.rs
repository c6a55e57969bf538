//! Grants: the exact statements, KMS when the resource has a key, no wildcard actions.

use banca_constructs::dynamodb::{Attribute, Table, TableProps};
use banca_constructs::iam::{Role, RoleProps};
use banca_constructs::lambda::{Function, FunctionProps};
use banca_constructs::s3::{Bucket, BucketProps};
use banca_constructs::secrets::{Secret, SecretProps};
use banca_constructs::sns::{Topic, TopicProps};
use banca_constructs::sqs::{Queue, QueueEncryption, QueueProps};
use serde_json::{Value as Json, json};

use crate::common::*;

fn tok(stack: usize, id: &str, attr: Option<&str>) -> Json {
    json!({"Banca::Token": [stack, id, attr]})
}

fn allow(actions: &[&str], resources: Vec<Json>) -> Json {
    json!({"Effect": "Allow", "Action": actions, "Resource": resources})
}

#[test]
fn grants_produce_exact_least_privilege_statements() {
    let t = app();
    let s = t.stack("backend");
    let role = Role::new(
        &s,
        "Worker",
        RoleProps {
            assumed_by: "lambda.amazonaws.com".into(),
            description: None,
        },
    )
    .unwrap();

    let plain = Queue::new(&s, "Plain", QueueProps::default()).unwrap();
    let g = plain.grant_consume(&role);
    let plain_arn = tok(0, plain.resource().logical_id(), Some("Arn"));
    assert_eq!(
        g.statements,
        vec![allow(
            &[
                "sqs:ReceiveMessage",
                "sqs:ChangeMessageVisibility",
                "sqs:GetQueueUrl",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes"
            ],
            vec![plain_arn.clone()]
        )]
    );

    let qkey = key(&s, "QueueKey");
    let enc = Queue::new(
        &s,
        "Encrypted",
        QueueProps {
            encryption: QueueEncryption::Kms(qkey),
            ..QueueProps::default()
        },
    )
    .unwrap();
    let g = enc.grant_send(&role);
    assert_eq!(
        g.statements,
        vec![
            allow(
                &[
                    "sqs:SendMessage",
                    "sqs:GetQueueAttributes",
                    "sqs:GetQueueUrl"
                ],
                vec![tok(0, enc.resource().logical_id(), Some("Arn"))]
            ),
            allow(
                &["kms:GenerateDataKey", "kms:Decrypt"],
                vec![tok(0, "QueueKey", Some("Arn"))]
            ),
        ]
    );

    let topic = Topic::new(
        &s,
        "Topic",
        TopicProps {
            encryption_key: Some(key(&s, "TopicKey")),
            ..TopicProps::default()
        },
    )
    .unwrap();
    assert_eq!(
        topic.grant_publish(&role).statements,
        vec![
            allow(&["sns:Publish"], vec![tok(0, "Topic", None)]),
            allow(
                &["kms:GenerateDataKey", "kms:Decrypt"],
                vec![tok(0, "TopicKey", Some("Arn"))]
            ),
        ]
    );

    let table = Table::new(
        &s,
        "Faces",
        TableProps::new(Attribute::string("userId"), key(&s, "TableKey")),
    )
    .unwrap();
    assert_eq!(
        table.grant_read(&role).statements,
        vec![
            allow(
                &[
                    "dynamodb:BatchGetItem",
                    "dynamodb:Query",
                    "dynamodb:GetItem",
                    "dynamodb:Scan",
                    "dynamodb:ConditionCheckItem",
                    "dynamodb:DescribeTable"
                ],
                vec![tok(0, "Faces", Some("Arn"))]
            ),
            allow(&["kms:Decrypt"], vec![tok(0, "TableKey", Some("Arn"))]),
        ]
    );
    assert_eq!(
        table.grant_write(&role).statements,
        vec![
            allow(
                &[
                    "dynamodb:BatchWriteItem",
                    "dynamodb:PutItem",
                    "dynamodb:UpdateItem",
                    "dynamodb:DeleteItem",
                    "dynamodb:DescribeTable"
                ],
                vec![tok(0, "Faces", Some("Arn"))]
            ),
            allow(
                &["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
                vec![tok(0, "TableKey", Some("Arn"))]
            ),
        ]
    );

    let bucket = Bucket::new(
        &s,
        "Photos",
        BucketProps {
            encryption_key: Some(key(&s, "BucketKey")),
            ..BucketProps::default()
        },
    )
    .unwrap();
    assert_eq!(
        bucket.grant_read(&role, "uploads/").statements,
        vec![
            allow(
                &["s3:GetObject", "s3:GetObjectVersion"],
                vec![json!({"Fn::Join": ["", [tok(0, "Photos", Some("Arn")), "/uploads/*"]]})]
            ),
            allow(&["kms:Decrypt"], vec![tok(0, "BucketKey", Some("Arn"))]),
        ]
    );
    assert_eq!(
        bucket.grant_put(&role, "").statements[0],
        allow(
            &["s3:PutObject", "s3:AbortMultipartUpload"],
            vec![json!({"Fn::Join": ["", [tok(0, "Photos", Some("Arn")), "/*"]]})]
        )
    );

    let secret = Secret::new(&s, "Db", SecretProps::new(key(&s, "SecretKey"))).unwrap();
    assert_eq!(
        secret.grant_read(&role).statements,
        vec![
            allow(
                &[
                    "secretsmanager:GetSecretValue",
                    "secretsmanager:DescribeSecret"
                ],
                vec![tok(0, "Db", None)]
            ),
            allow(&["kms:Decrypt"], vec![tok(0, "SecretKey", Some("Arn"))]),
        ]
    );

    let f = Function::new(&s, "Target", FunctionProps::new(asset("target"))).unwrap();
    assert_eq!(
        f.grant_invoke(&role).statements,
        vec![allow(
            &["lambda:InvokeFunction"],
            vec![tok(0, f.resource().logical_id(), Some("Arn"))]
        )]
    );

    // Every grant landed on the role's one inline policy, once.
    let n = role.statements().len();
    plain.grant_consume(&role);
    assert_eq!(role.statements().len(), n, "a repeated grant adds nothing");
    secret.resource().suppress(
        "AwsSolutions-SMG4",
        "test secret without a rotation function",
    );
    let tpl = t.template("backend");
    let stmts = &tpl["Resources"][role.resource().logical_id()]["Properties"]["Policies"][0]["PolicyDocument"]
        ["Statement"];
    assert_eq!(stmts.as_array().unwrap().len(), n);
    assert_eq!(
        stmts[0],
        json!({"Effect": "Allow", "Action": ["sqs:ReceiveMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueUrl", "sqs:DeleteMessage", "sqs:GetQueueAttributes"], "Resource": [{"Fn::GetAtt": [plain.resource().logical_id(), "Arn"]}]})
    );
}

#[test]
fn no_allow_statement_of_the_full_app_has_a_wildcard_action() {
    let out = crate::full_app::build().synth();
    let mut allows = 0;
    for s in &out.stacks {
        let tpl = template_of(&out, &s.name);
        fn walk(v: &Json, name: &str, allows: &mut usize) {
            match v {
                Json::Object(m) => {
                    if m.get("Effect") == Some(&json!("Allow")) {
                        *allows += 1;
                        let actions: Vec<&str> = match m.get("Action") {
                            Some(Json::String(a)) => vec![a.as_str()],
                            Some(Json::Array(a)) => a.iter().filter_map(Json::as_str).collect(),
                            _ => vec![],
                        };
                        assert!(
                            !actions.is_empty(),
                            "{name}: statement without actions: {v}"
                        );
                        for a in actions {
                            assert!(!a.contains('*'), "{name}: wildcard action {a} in {v}");
                        }
                        assert!(m.get("NotAction").is_none(), "{name}: NotAction in {v}");
                        // `*` resources only for actions without resource-level permissions
                        // (and key policies, where `*` means the key itself).
                        if m.get("Resource") == Some(&json!(["*"])) {
                            for a in m["Action"].as_array().unwrap() {
                                assert!(
                                    banca_constructs::iam::actions::NO_RESOURCE_LEVEL
                                        .contains(&a.as_str().unwrap()),
                                    "{name}: {a} on *"
                                );
                            }
                        }
                    }
                    m.values().for_each(|x| walk(x, name, allows));
                }
                Json::Array(a) => a.iter().for_each(|x| walk(x, name, allows)),
                _ => {}
            }
        }
        walk(&tpl["Resources"], &s.name, &mut allows);
    }
    assert!(allows > 50, "only {allows} Allow statements seen");
}
