use super::*;
use crate::intrinsic::DynamicReference;
use crate::l1::sqs::queue::RedrivePolicy;
use crate::l1::sqs::{Queue, QueuePolicy};
use serde_json::json;

fn shape(i: Intrinsic) -> Json {
    serde_json::to_value(&i).unwrap()
}

#[test]
fn every_intrinsic_has_cloudformations_json_shape() {
    let check: Vec<(Intrinsic, Json)> = vec![
        (Intrinsic::reference("Q"), json!({"Ref": "Q"})),
        (Pseudo::Region.into(), json!({"Ref": "AWS::Region"})),
        (
            Intrinsic::get_att("Q", "Arn"),
            json!({"Fn::GetAtt": ["Q", "Arn"]}),
        ),
        (
            Intrinsic::sub("arn:${AWS::Partition}:s3:::b/*"),
            json!({"Fn::Sub": "arn:${AWS::Partition}:s3:::b/*"}),
        ),
        (
            Intrinsic::sub_with("${Name}-x", [("Name", Intrinsic::reference("P"))]),
            json!({"Fn::Sub": ["${Name}-x", {"Name": {"Ref": "P"}}]}),
        ),
        (
            Intrinsic::join(",", vec!["a", "b"]),
            json!({"Fn::Join": [",", ["a", "b"]]}),
        ),
        (
            Intrinsic::select(0, Intrinsic::get_azs()),
            json!({"Fn::Select": [0, {"Fn::GetAZs": ""}]}),
        ),
        (
            Intrinsic::split(",", Intrinsic::reference("P")),
            json!({"Fn::Split": [",", {"Ref": "P"}]}),
        ),
        (
            Intrinsic::if_("IsPrimary", "a", Pseudo::NoValue),
            json!({"Fn::If": ["IsPrimary", "a", {"Ref": "AWS::NoValue"}]}),
        ),
        (
            Intrinsic::equals(Pseudo::Region, "us-east-1"),
            json!({"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]}),
        ),
        (
            Intrinsic::and([Intrinsic::condition("A"), Intrinsic::condition("B")]),
            json!({"Fn::And": [{"Condition": "A"}, {"Condition": "B"}]}),
        ),
        (
            Intrinsic::or([Intrinsic::condition("A"), Intrinsic::condition("B")]),
            json!({"Fn::Or": [{"Condition": "A"}, {"Condition": "B"}]}),
        ),
        (
            Intrinsic::not(Intrinsic::condition("A")),
            json!({"Fn::Not": [{"Condition": "A"}]}),
        ),
        (
            Intrinsic::import_value("net-VpcId"),
            json!({"Fn::ImportValue": "net-VpcId"}),
        ),
        (
            Intrinsic::base64("#!/bin/sh"),
            json!({"Fn::Base64": "#!/bin/sh"}),
        ),
        (
            Intrinsic::cidr("10.0.0.0/16", 6, 8),
            json!({"Fn::Cidr": ["10.0.0.0/16", 6, 8]}),
        ),
        (
            Intrinsic::find_in_map("Cap", Pseudo::Region, "Min"),
            json!({"Fn::FindInMap": ["Cap", {"Ref": "AWS::Region"}, "Min"]}),
        ),
        (
            Intrinsic::get_stack_output("banca-data", "TableArn", Some("us-east-1".into())),
            json!({"Fn::GetStackOutput": {"StackName": "banca-data", "OutputName": "TableArn", "Region": "us-east-1"}}),
        ),
    ];
    for (i, expected) in check {
        assert_eq!(shape(i), expected);
    }
}

#[test]
fn dynamic_references_keep_secrets_out_of_templates() {
    let literal = DynamicReference::secrets_manager("banca/db", Some("password")).to_value();
    assert_eq!(
        serde_json::to_value(&literal).unwrap(),
        json!("{{resolve:secretsmanager:banca/db:SecretString:password::}}")
    );
    let computed =
        DynamicReference::secrets_manager(Intrinsic::reference("DbSecret"), None).to_value();
    assert_eq!(
        serde_json::to_value(&computed).unwrap(),
        json!({"Fn::Join": ["", ["{{resolve:secretsmanager:", {"Ref": "DbSecret"}, ":SecretString:::}}"]]})
    );
    assert_eq!(
        serde_json::to_value(DynamicReference::ssm("/banca/otp/ttl").to_value()).unwrap(),
        json!("{{resolve:ssm:/banca/otp/ttl}}")
    );
}

fn queue_template() -> Template {
    let mut t = Template::new().with_description("queues");
    let dlq = t
        .add(
            "Dlq",
            Queue::builder().message_retention_period(1_209_600).build(),
        )
        .unwrap();
    let q = t
        .add(
            "Transfers",
            Queue::builder()
                .visibility_timeout(180)
                .redrive_policy(
                    RedrivePolicy::builder()
                        .dead_letter_target_arn(dlq.attr_arn())
                        .max_receive_count(5)
                        .build(),
                )
                .sqs_managed_sse_enabled(true)
                .build(),
        )
        .unwrap();
    t.add(
        "TransfersPolicy",
        QueuePolicy::builder()
            .queues(vec![q.reference()])
            .policy_document(json!({"Version": "2012-10-17", "Statement": []}))
            .build()
            .unwrap(),
    )
    .unwrap();
    t.add_output(
        "TransfersArn",
        Output::new(q.attr_arn()).export("banca-TransfersArn"),
    )
    .unwrap();
    t.entry_mut(&q).unwrap().retain(DeletionPolicy::Retain);
    t
}

#[test]
fn same_model_gives_identical_bytes() {
    let a = queue_template().to_json().unwrap();
    let b = queue_template().to_json().unwrap();
    assert_eq!(a, b);
    assert_eq!(
        queue_template().to_yaml().unwrap(),
        queue_template().to_yaml().unwrap()
    );
}

#[test]
fn json_and_yaml_round_trip() {
    let t = queue_template();
    let json = t.to_json().unwrap();
    let back = Template::from_json(&json).unwrap();
    assert_eq!(back.to_json().unwrap(), json);
    let yaml = t.to_yaml().unwrap();
    let back = Template::from_yaml(&yaml).unwrap();
    assert_eq!(back.to_json().unwrap(), json);
    assert_eq!(
        Template::parse(&yaml).unwrap(),
        Template::parse(&json).unwrap()
    );
}

#[test]
fn yaml_short_forms_are_read_as_long_forms() {
    let t = Template::from_yaml(
        "Resources:\n  Q:\n    Type: AWS::SQS::Queue\n    Properties:\n      QueueName: !Sub '${AWS::StackName}-q'\nOutputs:\n  A:\n    Value: !GetAtt Q.Arn\n",
    )
    .unwrap();
    assert_eq!(
        t.resources["Q"].properties,
        json!({"QueueName": {"Fn::Sub": "${AWS::StackName}-q"}})
    );
    assert_eq!(t.outputs["A"].value, json!({"Fn::GetAtt": ["Q", "Arn"]}));
    t.validate().unwrap();
}

#[test]
fn literal_values_are_checked_against_the_schema() {
    let mut t = Template::new();
    t.add(
        "Q",
        Queue::builder()
            .delay_seconds(901)
            .visibility_timeout(-1)
            .build(),
    )
    .unwrap();
    let err = t.to_json().unwrap_err().to_string();
    assert!(
        err.contains("Resources.Q.Properties.DelaySeconds: must be <= 900, got 901"),
        "{err}"
    );
    assert!(
        err.contains("Resources.Q.Properties.VisibilityTimeout: must be >= 0, got -1"),
        "{err}"
    );
}

#[test]
fn dangling_references_are_synth_errors_naming_resource_and_attribute() {
    let mut t = Template::new();
    t.add(
        "P",
        QueuePolicy::builder()
            .queues(vec![Intrinsic::reference("Missing")])
            .policy_document(json!({"Resource": Intrinsic::get_att("Q", "Url"), "Other": Intrinsic::sub("${Nope.Arn}-${AWS::Region}-${!Literal}")}))
            .build()
            .unwrap(),
    )
    .unwrap();
    t.add("Q", Queue::builder().build()).unwrap();
    t.entry_mut(&Handle::<Queue>::new("Q"))
        .unwrap()
        .depends_on
        .push("Ghost".into());
    t.add_output(
        "O",
        Output::new(Intrinsic::if_("NoSuchCondition", "a", "b")),
    )
    .unwrap();
    let err = t.validate().unwrap_err();
    let text = err.to_string();
    assert_eq!(err.0.len(), 5, "{text}");
    assert!(text.contains("Resources.P.Properties.Queues[0]: Ref \"Missing\", which is not a resource, parameter or pseudo parameter"), "{text}");
    assert!(
        text.contains("Fn::GetAtt Q.Url: AWS::SQS::Queue has no attribute \"Url\"; it has Arn,"),
        "{text}"
    );
    assert!(text.contains("Fn::GetAtt \"Nope\""), "{text}");
    assert!(
        text.contains("Resources.Q.DependsOn: DependsOn \"Ghost\""),
        "{text}"
    );
    assert!(
        text.contains("Outputs.O.Value: condition \"NoSuchCondition\" is not defined"),
        "{text}"
    );
}

#[test]
fn quotas_and_ids_are_enforced() {
    let mut t = Template::new();
    for i in 0..=limits::MAX_RESOURCES {
        t.add(&format!("Q{i}"), Queue::builder().build()).unwrap();
    }
    let err = t.to_json().unwrap_err().to_string();
    assert!(
        err.contains("the template has 501 resources; CloudFormation allows at most 500"),
        "{err}"
    );
    assert_eq!(
        t.add("Q1", Queue::builder().build()).unwrap_err(),
        TemplateError::Duplicate {
            kind: "resource",
            id: "Q1".into()
        }
    );
    assert!(matches!(
        t.add("bad-id", Queue::builder().build()),
        Err(TemplateError::InvalidLogicalId { .. })
    ));

    let mut big = Template::new();
    let blob = "x".repeat(4000);
    for i in 0..300 {
        big.add(
            &format!("Q{i}"),
            Queue::builder().queue_name(blob.clone()).build(),
        )
        .unwrap();
    }
    let err = big.to_json().unwrap_err().to_string();
    assert!(
        err.contains("bytes; CloudFormation allows at most 1048576"),
        "{err}"
    );
}

#[test]
fn required_properties_are_named_when_missing() {
    let err = QueuePolicy::builder()
        .policy_document(json!({}))
        .build()
        .unwrap_err();
    assert_eq!(err.property, "Queues");
    assert!(
        err.to_string()
            .starts_with("AWS::SQS::QueuePolicy: missing required property Queues")
    );
}

#[test]
fn schema_enums_parse_and_keep_an_escape_for_new_values() {
    use crate::l1::lambda::function::Runtime;
    assert_eq!(
        Runtime::try_parse("provided.al2023").unwrap(),
        Runtime::ProvidedAl2023
    );
    let newer = Runtime::from("rust2030");
    assert_eq!(newer.as_str(), "rust2030");
    let err = Runtime::try_parse("rust2030").unwrap_err().to_string();
    assert!(
        err.starts_with("\"rust2030\" is not one of") && err.contains("provided.al2023"),
        "{err}"
    );
}

#[test]
fn resource_metadata_predicts_replacement() {
    let info = <Queue as Resource>::info();
    assert!(info.replaces_on_change("QueueName"));
    assert!(info.replaces_on_change("FifoQueue"));
    assert!(!info.replaces_on_change("VisibilityTimeout"));
    assert!(info.has_attribute("Arn") && info.has_attribute("QueueUrl"));
    assert_eq!(info.unordered_arrays, ["/properties/Tags"]);
    let table = crate::l1::resource_info("AWS::DynamoDB::Table").unwrap();
    assert!(table.replaces_on_change("TableName"));
    assert!(
        !table.replaces_on_change("KeySchema") && table.may_replace_on_change("KeySchema"),
        "the schema lists KeySchema as conditional"
    );
}
