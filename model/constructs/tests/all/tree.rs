//! The construct tree: logical ids, tags, aspects, synth output.

use std::cell::RefCell;
use std::rc::Rc;

use banca_constructs::aspects::{Aspect, Check, Finding, StackView};
use banca_constructs::lambda::{Function, FunctionProps};
use banca_constructs::secrets::{Parameter, ParameterProps};
use banca_constructs::sqs::{Queue, QueueProps};
use banca_constructs::tree::logical_id;
use banca_constructs::{App, Environment, ResourceNode, StackProps, SynthError};
use serde_json::json;

use crate::common::*;

#[test]
fn logical_ids_are_readable_path_derived_and_hashed() {
    let s = "banca/primary/backend";
    let id = logical_id(s, "banca/primary/backend/TransferProcessor/Role/Resource");
    assert!(id.starts_with("TransferProcessorRole"), "{id}");
    assert_eq!(id.len(), "TransferProcessorRole".len() + 8);
    assert!(id.bytes().all(|b| b.is_ascii_alphanumeric()));
    // Stable: the same path always gives the same id.
    assert_eq!(
        id,
        logical_id(s, "banca/primary/backend/TransferProcessor/Role/Resource")
    );
    // Unique: paths that read the same still differ by their hash.
    assert_ne!(
        logical_id(s, "banca/primary/backend/AB/C"),
        logical_id(s, "banca/primary/backend/A/BC")
    );
    // A construct id is a contract: renaming it changes the logical id (CloudFormation replaces).
    assert_ne!(
        id,
        logical_id(s, "banca/primary/backend/TransferWorker/Role/Resource")
    );
    // One component (a hand-named resource, or an L2's Resource) stays as written.
    assert_eq!(
        logical_id(s, "banca/primary/backend/DataKey/Resource"),
        "DataKey"
    );
    assert_eq!(logical_id(s, "banca/primary/backend/Bucket"), "Bucket");
    // "Default" is hidden, like CDK.
    assert_eq!(
        logical_id(s, "banca/primary/backend/Default/Thing"),
        "Thing"
    );
}

#[test]
fn the_same_tree_synthesizes_to_the_same_bytes() {
    let a = crate::full_app::build().synth();
    let b = crate::full_app::build().synth();
    for (x, y) in a.stacks.iter().zip(&b.stacks) {
        assert_eq!(
            x.template.to_json().unwrap(),
            y.template.to_json().unwrap(),
            "{}",
            x.name
        );
    }
}

#[test]
fn duplicate_and_invalid_ids_are_errors_naming_the_path() {
    let t = app();
    let s = t.stack("messaging");
    Queue::new(&s, "Q", QueueProps::default()).unwrap();
    let err = Queue::new(&s, "Q", QueueProps::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "banca/primary/messaging/Q/Dlq/Resource: defined twice\nhint: construct ids must be unique within their parent"
    );
    let err = t
        .app
        .stack(t.primary, "Messaging", StackProps::default())
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("stack id \"Messaging\" is not allowed"),
        "{err}"
    );
    let err = Queue::new(&s, "a/b", QueueProps::default()).unwrap_err();
    assert!(
        matches!(
            err,
            SynthError::InvalidId {
                kind: "construct",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn tags_propagate_to_every_taggable_resource_deeper_tags_winning() {
    let t = app();
    t.app.root().add_tag("project", "banca");
    t.app.root().add_tag("owner", "platform");
    let s = t.stack("messaging");
    s.add_tag("stack", "messaging");
    let q = Queue::new(&s, "Transfers", QueueProps::default()).unwrap();
    q.resource().scope().parent().add_tag("owner", "payments");
    Parameter::new(
        &s,
        "Ttl",
        ParameterProps {
            name: "/banca/ttl".into(),
            value: json!("1"),
            description: "a ttl".into(),
        },
    )
    .unwrap();
    let out = t.synth();
    let tpl = template_of(&out, "banca-primary-messaging");
    let queue = &tpl["Resources"][q.resource().logical_id()];
    assert_eq!(
        queue["Properties"]["Tags"],
        json!([
            {"Key": "owner", "Value": "payments"},
            {"Key": "project", "Value": "banca"},
            {"Key": "stack", "Value": "messaging"},
        ])
    );
    // The DLQ is under the queue's construct: it inherits the override too.
    has_resource_properties(
        &tpl,
        "AWS::SQS::Queue",
        json!({"MessageRetentionPeriod": 1_209_600, "Tags": [
        {"Key": "owner", "Value": "payments"}, {"Key": "project", "Value": "banca"}, {"Key": "stack", "Value": "messaging"}]}),
    );
    // SSM parameters take tags as a map.
    has_resource_properties(
        &tpl,
        "AWS::SSM::Parameter",
        json!({"Tags": {"owner": "platform", "project": "banca", "stack": "messaging"}}),
    );
    // Queue policies are not taggable: no Tags property appears.
    assert!(
        resources(&tpl, "AWS::SQS::QueuePolicy")
            .iter()
            .all(|(_, r)| r["Properties"].get("Tags").is_none())
    );
    let stack = out.stack("banca-primary-messaging").unwrap();
    assert_eq!(
        stack.tags.get("stack").map(String::as_str),
        Some("messaging")
    );
    assert_eq!(
        stack.tags.get("owner").map(String::as_str),
        Some("platform")
    );
}

struct SetVisibility(u32, Rc<RefCell<Vec<String>>>);
impl Aspect for SetVisibility {
    fn visit(&self, node: &mut ResourceNode) {
        if node.type_name() == "AWS::SQS::Queue" {
            node.entry.properties["VisibilityTimeout"] = json!(self.0);
            self.1.borrow_mut().push(format!("mutate {}", self.0));
        }
    }
}

struct RequireVisibility(u64, Rc<RefCell<Vec<String>>>);
impl Check for RequireVisibility {
    fn check(&self, node: &ResourceNode, _: &StackView<'_>) -> Vec<Finding> {
        if node.type_name() != "AWS::SQS::Queue" {
            return vec![];
        }
        let v = node
            .prop("VisibilityTimeout")
            .and_then(|v| v.as_u64())
            .unwrap_or(0);
        self.1.borrow_mut().push(format!("check saw {v}"));
        if v < self.0 {
            vec![Finding {
                rule: "Test-VIS".into(),
                path: node.path.clone(),
                message: format!("visibility {v} < {}", self.0),
            }]
        } else {
            vec![]
        }
    }
}

#[test]
fn aspects_run_mutating_first_then_read_only_each_by_priority() {
    let t = app();
    let s = t.stack("messaging");
    Queue::new(
        &s,
        "Q",
        QueueProps {
            dead_letter: banca_constructs::sqs::DeadLetter::None,
            ..QueueProps::default()
        },
    )
    .unwrap();
    s.suppress(
        "AwsSolutions-SQS3",
        "this test queue needs no dead-letter queue",
    );
    let log = Rc::new(RefCell::new(Vec::new()));
    // Added first and with the lowest priority, the check still runs after every mutation.
    s.add_check(1, RequireVisibility(100, log.clone()));
    s.add_aspect(900, SetVisibility(120, log.clone()));
    s.add_aspect(100, SetVisibility(60, log.clone()));
    let out = t.synth();
    assert_eq!(
        *log.borrow(),
        vec!["mutate 60", "mutate 120", "check saw 120"]
    );
    has_resource_properties(
        &template_of(&out, "banca-primary-messaging"),
        "AWS::SQS::Queue",
        json!({"VisibilityTimeout": 120}),
    );

    // A read-only finding fails synth like a compliance finding.
    let t = app();
    let s = t.stack("messaging");
    Queue::new(&s, "Q", QueueProps::default()).unwrap();
    s.add_check(1, RequireVisibility(100, Rc::new(RefCell::new(Vec::new()))));
    let err = t.app.synth().unwrap_err().to_string();
    assert!(
        err.contains("banca/primary/messaging/Q/Resource: Test-VIS: visibility 30 < 100"),
        "{err}"
    );
}

#[test]
fn synth_output_carries_what_the_cloud_assembly_needs() {
    let t = app();
    let s = t
        .app
        .stack(
            t.primary,
            "backend",
            StackProps {
                description: Some("handlers".into()),
                termination_protection: false,
            },
        )
        .unwrap();
    let f = Function::new(&s, "Notify", FunctionProps::new(asset("notify-email"))).unwrap();
    let out = t.synth();
    let st = out.stack("banca-primary-backend").unwrap();
    assert_eq!(st.path, "banca/primary/backend");
    assert_eq!(st.stage, "primary");
    assert_eq!(st.environment, Environment::new(ACCOUNT, PRIMARY));
    assert!(!st.termination_protection);
    assert_eq!(st.template.description.as_deref(), Some("handlers"));
    assert_eq!(st.assets, vec![asset("notify-email")]);
    let tpl = template_of(&out, "banca-primary-backend");
    assert_eq!(
        tpl["Resources"][f.resource().logical_id()]["Properties"]["Code"],
        json!({
            "S3Bucket": {"Fn::Sub": "cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}"},
            "S3Key": format!("{}.zip", asset("notify-email").sha256),
        })
    );
    assert_eq!(
        tpl["Resources"][f.resource().logical_id()]["Metadata"]["aws:cdk:path"],
        json!("banca/primary/backend/Notify/Resource")
    );

    // The qualifier is configurable.
    let app = App::new("banca").with_qualifier("custom123");
    let st = app
        .stage("primary", Environment::new(ACCOUNT, PRIMARY))
        .unwrap();
    let s = app.stack(st, "backend", StackProps::default()).unwrap();
    Function::new(&s, "Notify", FunctionProps::new(asset("notify-email"))).unwrap();
    let out = app.synth().unwrap();
    let tpl = template_of(&out, "banca-primary-backend");
    has_resource_properties(
        &tpl,
        "AWS::Lambda::Function",
        json!({"Code": {"S3Bucket": {"Fn::Sub": "cdk-custom123-assets-${AWS::AccountId}-${AWS::Region}"}}}),
    );
}
