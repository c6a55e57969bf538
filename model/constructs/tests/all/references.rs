//! References: same stack, across stacks of a region, across regions; dependencies.

use banca_constructs::kms::{Key, KeyProps, ReplicaKey};
use banca_constructs::lambda::{Function, FunctionProps};
use banca_constructs::sqs::{Queue, QueueEncryption, QueueProps};
use banca_constructs::{App, Environment, StackProps, SynthError};
use serde_json::json;

use crate::common::*;

#[test]
fn same_stack_references_are_ref_and_get_att() {
    let t = app();
    let s = t.stack("messaging");
    let k = key(&s, "Key");
    let q = Queue::new(
        &s,
        "Q",
        QueueProps {
            encryption: QueueEncryption::Kms(k),
            ..QueueProps::default()
        },
    )
    .unwrap();
    let tpl = t.template("messaging");
    let props = &tpl["Resources"][q.resource().logical_id()]["Properties"];
    assert_eq!(
        props["KmsMasterKeyId"],
        json!({"Fn::GetAtt": ["Key", "Arn"]})
    );
    has_resource_properties(
        &tpl,
        "AWS::SQS::QueuePolicy",
        json!({"Queues": [{"Ref": q.resource().logical_id()}]}),
    );
    assert!(
        tpl.get("Outputs").is_none(),
        "no outputs for local references"
    );
}

#[test]
fn cross_stack_references_in_one_region_export_and_import_and_order_stacks() {
    let t = app();
    let msg = t.stack("messaging");
    let be = t.stack("backend");
    let q = Queue::new(&msg, "Transfers", QueueProps::default()).unwrap();
    let f = Function::new(&be, "Producer", FunctionProps::new(asset("producer"))).unwrap();
    q.grant_send(&f);
    let out = t.synth();
    let names: Vec<_> = out.stacks.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["banca-primary-messaging", "banca-primary-backend"]);
    assert_eq!(
        out.stack("banca-primary-backend").unwrap().dependencies,
        ["banca-primary-messaging"]
    );
    let producer = template_of(&out, "banca-primary-messaging");
    let id = q.resource().logical_id();
    assert_eq!(
        producer["Outputs"][format!("ExportsOutputFnGetAtt{id}Arn")],
        json!({
            "Value": {"Fn::GetAtt": [id, "Arn"]},
            "Export": {"Name": format!("banca-primary-messaging:ExportsOutputFnGetAtt{id}Arn")},
        })
    );
    let consumer = template_of(&out, "banca-primary-backend");
    has_resource_properties(
        &consumer,
        "AWS::IAM::Role",
        json!({"Policies": [{"PolicyDocument": {"Statement": [
            {}, {}, {},
            {"Action": ["sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"],
             "Resource": [{"Fn::ImportValue": format!("banca-primary-messaging:ExportsOutputFnGetAtt{id}Arn")}]},
        ]}}]}),
    );
}

#[test]
fn cross_region_references_use_get_stack_output() {
    let t = app();
    let sec = t.stack("security");
    let dr = t.dr_stack("security");
    let k = Key::new(
        &sec,
        "DataKey",
        KeyProps {
            multi_region: true,
            ..KeyProps::default()
        },
    )
    .unwrap();
    ReplicaKey::new(&dr, "DataKey", &k).unwrap();
    let out = t.synth();
    assert_eq!(
        out.stack("banca-dr-security").unwrap().dependencies,
        ["banca-primary-security"]
    );
    let producer = template_of(&out, "banca-primary-security");
    // Fn::GetStackOutput reads outputs, not exports: no export name is spent.
    assert_eq!(
        producer["Outputs"]["CrossRegionFnGetAttDataKeyArn"],
        json!({"Value": {"Fn::GetAtt": ["DataKey", "Arn"]}})
    );
    let consumer = template_of(&out, "banca-dr-security");
    assert_eq!(
        consumer["Resources"]["DataKey"]["Properties"]["PrimaryKeyArn"],
        json!({"Fn::GetStackOutput": {
        "StackName": "banca-primary-security", "OutputName": "CrossRegionFnGetAttDataKeyArn", "Region": "us-east-1"}})
    );
    // A replica of a single-region key is refused.
    let single = key(&sec, "Single");
    let err = ReplicaKey::new(&dr, "Single", &single)
        .unwrap_err()
        .to_string();
    assert!(err.contains("is not a multi-region key"), "{err}");
}

#[test]
fn an_export_can_be_kept_alive_after_its_last_import_is_removed() {
    let t = app();
    let msg = t.stack("messaging");
    let q = Queue::new(&msg, "Transfers", QueueProps::default()).unwrap();
    // The backend stopped importing the ARN; keep the export for one deployment.
    msg.export_value(&q.arn());
    let tpl = t.template("messaging");
    let id = q.resource().logical_id();
    assert_eq!(
        tpl["Outputs"][format!("ExportsOutputFnGetAtt{id}Arn")]["Export"]["Name"],
        json!(format!(
            "banca-primary-messaging:ExportsOutputFnGetAtt{id}Arn"
        ))
    );
}

#[test]
fn a_reference_cycle_between_stacks_is_an_error() {
    let t = app();
    let a = t.stack("a");
    let b = t.stack("b");
    let qa = Queue::new(&a, "Qa", QueueProps::default()).unwrap();
    let qb = Queue::new(&b, "Qb", QueueProps::default()).unwrap();
    qa.add_to_resource_policy(json!({"Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage", "Resource": qa.arn(), "Condition": {"ArnEquals": {"aws:SourceArn": qb.arn()}}}));
    qb.add_to_resource_policy(json!({"Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage", "Resource": qb.arn(), "Condition": {"ArnEquals": {"aws:SourceArn": qa.arn()}}}));
    let err = t.app.synth().unwrap_err();
    assert_eq!(
        err.to_string(),
        "stacks reference each other in a cycle: banca-primary-a -> banca-primary-b -> banca-primary-a\nhint: move one of the resources so references point one way"
    );
}

#[test]
fn cross_account_references_are_refused() {
    let app = App::new("banca");
    let a = app
        .stage("primary", Environment::new("111111111111", "us-east-1"))
        .unwrap();
    let b = app
        .stage("other", Environment::new("222222222222", "us-east-1"))
        .unwrap();
    let sa = app.stack(a, "sec", StackProps::default()).unwrap();
    let sb = app.stack(b, "msg", StackProps::default()).unwrap();
    let k = key(&sa, "Key");
    Queue::new(
        &sb,
        "Q",
        QueueProps {
            encryption: QueueEncryption::Kms(k),
            ..QueueProps::default()
        },
    )
    .unwrap();
    let err = app.synth().unwrap_err();
    assert!(
        matches!(
            err,
            SynthError::Many(_) | SynthError::CrossAccountReference { .. }
        ),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("cross-account references are not supported"),
        "{err}"
    );
}

#[test]
fn explicit_dependencies_order_stacks_without_references() {
    let t = app();
    let late = t.stack("late");
    let early = t.stack("early");
    Queue::new(&late, "Q", QueueProps::default()).unwrap();
    Queue::new(&early, "Q", QueueProps::default()).unwrap();
    late.add_dependency(early.stack_id().unwrap()).unwrap();
    let out = t.synth();
    let names: Vec<_> = out.stacks.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["banca-primary-early", "banca-primary-late"]);
}
