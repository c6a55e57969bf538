#![allow(clippy::unwrap_used)]

use serde_json::json;

use super::*;

fn t(resources: serde_json::Value) -> Template {
    Template::parse(&json!({ "Resources": resources }).to_string()).unwrap()
}

fn one(old: serde_json::Value, new: serde_json::Value) -> StackDiff {
    diff_templates(Some(&t(old)), &t(new))
}

/// One data-driven check: (what, old resources, new resources, expected replacement of `R`).
#[test]
fn replacement_is_predicted_from_the_schemas() {
    let cases = [
        (
            "QueueName is createOnly",
            json!({"R": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "a"}}}),
            json!({"R": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "b"}}}),
            Replacement::Always,
        ),
        (
            "VisibilityTimeout updates in place",
            json!({"R": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": 30}}}),
            json!({"R": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": 180}}}),
            Replacement::Never,
        ),
        (
            "TableName is createOnly",
            json!({"R": {"Type": "AWS::DynamoDB::Table", "Properties": {"TableName": "faces"}}}),
            json!({"R": {"Type": "AWS::DynamoDB::Table", "Properties": {"TableName": "faces2"}}}),
            Replacement::Always,
        ),
        (
            // The registry lists KeySchema as conditionalCreateOnly: "may replace".
            "a table's KeySchema may replace",
            json!({"R": {"Type": "AWS::DynamoDB::Table", "Properties": {"KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}]}}}),
            json!({"R": {"Type": "AWS::DynamoDB::Table", "Properties": {"KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}]}}}),
            Replacement::Conditional,
        ),
        (
            "a nested createOnly path: the bucket name inside",
            json!({"R": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "x", "VersioningConfiguration": {"Status": "Suspended"}}}}),
            json!({"R": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "x", "VersioningConfiguration": {"Status": "Enabled"}}}}),
            Replacement::Never,
        ),
        (
            "a type change replaces",
            json!({"R": {"Type": "AWS::SQS::Queue", "Properties": {}}}),
            json!({"R": {"Type": "AWS::SNS::Topic", "Properties": {}}}),
            Replacement::Always,
        ),
        (
            "an unknown type may replace",
            json!({"R": {"Type": "Custom::Thing", "Properties": {"A": 1}}}),
            json!({"R": {"Type": "Custom::Thing", "Properties": {"A": 2}}}),
            Replacement::Conditional,
        ),
        (
            "DeletionPolicy alone is no replacement",
            json!({"R": {"Type": "AWS::SQS::Queue", "Properties": {}}}),
            json!({"R": {"Type": "AWS::SQS::Queue", "Properties": {}, "DeletionPolicy": "Retain"}}),
            Replacement::Never,
        ),
    ];
    for (what, old, new, expect) in cases {
        let d = one(old, new);
        assert_eq!(d.resources.len(), 1, "{what}: {d:?}");
        assert_eq!(d.resources[0].action, Action::Modify, "{what}");
        assert_eq!(
            d.resources[0].replacement, expect,
            "{what}: {:?}",
            d.resources[0]
        );
    }
}

#[test]
fn conditional_create_only_properties_may_replace() {
    // Find a type with conditionalCreateOnly properties in the vendored schemas and change one.
    let info = [
        "AWS::RDS::DBInstance",
        "AWS::ElastiCache::ReplicationGroup",
        "AWS::EC2::Instance",
    ]
    .iter()
    .filter_map(|t| resource_info(t))
    .find(|i| !i.conditional_create_only.is_empty());
    let Some(info) = info else {
        // No vendored type has one: the prediction has nothing to act on.
        return;
    };
    let pointer = info.conditional_create_only[0];
    let prop = pointer
        .trim_start_matches("/properties/")
        .split('/')
        .next()
        .unwrap();
    let d = one(
        json!({"R": {"Type": info.type_name, "Properties": {prop: "a"}}}),
        json!({"R": {"Type": info.type_name, "Properties": {prop: "b"}}}),
    );
    assert!(
        d.resources[0].replacement >= Replacement::Conditional,
        "{} {prop}: {:?}",
        info.type_name,
        d.resources[0]
    );
}

#[test]
fn added_removed_and_retained_resources_and_outputs() {
    let old = Template::parse(
        &json!({
            "Resources": {
                "Keep": {"Type": "AWS::SQS::Queue"},
                "Gone": {"Type": "AWS::SQS::Queue"},
                "Table": {"Type": "AWS::DynamoDB::Table", "DeletionPolicy": "Retain"}
            },
            "Outputs": {"A": {"Value": "1"}}
        })
        .to_string(),
    )
    .unwrap();
    let new = Template::parse(
        &json!({
            "Resources": {"Keep": {"Type": "AWS::SQS::Queue"}, "New": {"Type": "AWS::SNS::Topic"}},
            "Outputs": {"A": {"Value": "2"}, "B": {"Value": "x"}}
        })
        .to_string(),
    )
    .unwrap();
    let d = diff_templates(Some(&old), &new);
    let summary: Vec<(String, Action, bool)> = d
        .resources
        .iter()
        .map(|r| (r.logical_id.clone(), r.action, r.retained))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("New".into(), Action::Add, false),
            ("Gone".into(), Action::Remove, false),
            ("Table".into(), Action::Remove, true),
        ]
    );
    assert_eq!(d.outputs.len(), 2);
    assert!(!d.is_empty());
    assert!(diff_templates(Some(&new), &new).is_empty());
}

#[test]
fn deployed_templates_that_only_stringify_scalars_or_reorder_unordered_arrays_are_equal() {
    let d = one(
        json!({"R": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": "30", "FifoQueue": "true"}}}),
        json!({"R": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": 30, "FifoQueue": true}}}),
    );
    assert!(d.is_empty(), "{d:?}");
    let unordered = resource_info("AWS::EC2::SecurityGroup")
        .map(|i| i.unordered_arrays.to_vec())
        .unwrap_or_default();
    if unordered.contains(&"/properties/SecurityGroupIngress") {
        let a =
            json!({"CidrIp": "10.0.0.0/8", "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443});
        let b = json!({"CidrIp": "10.1.0.0/16", "IpProtocol": "tcp", "FromPort": 80, "ToPort": 80});
        let d = one(
            json!({"G": {"Type": "AWS::EC2::SecurityGroup", "Properties": {"GroupDescription": "g", "SecurityGroupIngress": [a, b]}}}),
            json!({"G": {"Type": "AWS::EC2::SecurityGroup", "Properties": {"GroupDescription": "g", "SecurityGroupIngress": [b, a]}}}),
        );
        assert!(d.is_empty(), "{d:?}");
    }
}

#[test]
fn iam_broadening_is_flagged() {
    let role = |actions: serde_json::Value, managed: serde_json::Value| {
        json!({"Role": {"Type": "AWS::IAM::Role", "Properties": {
            "AssumeRolePolicyDocument": {"Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
            "ManagedPolicyArns": managed,
            "Policies": [{"PolicyName": "p", "PolicyDocument": {"Statement": [
                {"Effect": "Allow", "Action": actions, "Resource": {"Fn::GetAtt": ["Queue", "Arn"]}}]}}]}}})
    };
    let d = one(
        role(json!("sqs:ReceiveMessage"), json!([])),
        role(
            json!(["sqs:ReceiveMessage", "sqs:SendMessage"]),
            json!(["arn:aws:iam::aws:policy/AdministratorAccess"]),
        ),
    );
    assert!(d.is_broadening());
    let added: Vec<&IamChange> = d.iam.iter().filter(|c| c.action == Action::Add).collect();
    assert_eq!(added.len(), 2, "{:?}", d.iam);
    assert!(added.iter().all(|c| c.broadening));
    assert!(added.iter().any(|c| c.statement.actions
        == vec!["sqs:ReceiveMessage", "sqs:SendMessage"]
        && c.statement.resources == vec!["${Queue.Arn}"]
        && c.statement.principal == "${Role}"));
    // Taking a permission away narrows: no broadening.
    let d = one(
        role(json!(["sqs:ReceiveMessage", "sqs:SendMessage"]), json!([])),
        role(json!("sqs:ReceiveMessage"), json!([])),
    );
    assert!(!d.is_broadening(), "{:?}", d.iam);
    assert!(!d.iam.is_empty());
    // Resource policies (a queue policy granting a new principal) broaden too.
    let qp = |principal: &str| {
        json!({"P": {"Type": "AWS::SQS::QueuePolicy", "Properties": {
        "Queues": ["q"], "PolicyDocument": {"Statement": [{"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sqs:SendMessage", "Resource": "*"}]}}}})
    };
    let d = one(qp("arn:aws:iam::111111111111:root"), qp("*"));
    assert!(d.is_broadening());
    // A removed Deny broadens.
    let deny = json!({"P": {"Type": "AWS::S3::BucketPolicy", "Properties": {"Bucket": "b", "PolicyDocument": {"Statement": [
        {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}}}});
    let none = json!({"P": {"Type": "AWS::S3::BucketPolicy", "Properties": {"Bucket": "b", "PolicyDocument": {"Statement": []}}}});
    assert!(one(deny.clone(), none.clone()).is_broadening());
    assert!(!one(none, deny).is_broadening());
}

#[test]
fn security_group_rules_are_tabled_and_new_ingress_broadens() {
    let sg = |rules: serde_json::Value| {
        json!({"Sg": {"Type": "AWS::EC2::SecurityGroup", "Properties": {
        "GroupDescription": "api", "SecurityGroupIngress": rules}}})
    };
    let d = one(
        sg(json!([{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "10.0.0.0/16"}])),
        sg(json!([
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "10.0.0.0/16"},
            {"IpProtocol": "-1", "CidrIp": "0.0.0.0/0"}
        ])),
    );
    assert!(d.is_broadening());
    assert_eq!(d.security_groups.len(), 1);
    let r = &d.security_groups[0].rule;
    assert_eq!(
        (
            r.direction.as_str(),
            r.protocol.as_str(),
            r.ports.as_str(),
            r.peer.as_str()
        ),
        ("ingress", "all", "all", "0.0.0.0/0")
    );
    // Standalone rule resources count too.
    let d = diff_templates(
        None,
        &t(
            json!({"In": {"Type": "AWS::EC2::SecurityGroupIngress", "Properties": {
            "GroupId": {"Ref": "Sg"}, "IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432,
            "SourceSecurityGroupId": {"Fn::GetAtt": ["App", "GroupId"]}}}}),
        ),
    );
    assert_eq!(d.security_groups[0].rule.group, "${Sg}");
    assert_eq!(d.security_groups[0].rule.peer, "${App.GroupId}");
    assert_eq!(d.security_groups[0].rule.ports, "5432");
}

#[test]
fn rendered_diff_reads_like_a_review() {
    let d = one(
        json!({
            "Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "transfers", "VisibilityTimeout": 30}},
            "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {"Statement": []}}},
            "Old": {"Type": "AWS::DynamoDB::Table", "DeletionPolicy": "Retain", "Properties": {}}
        }),
        json!({
            "Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "transfers-v2", "VisibilityTimeout": 180}},
            "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {"Statement": []},
                "Policies": [{"PolicyName": "p", "PolicyDocument": {"Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": {"Fn::GetAtt": ["Q", "Arn"]}}]}}]}},
            "Sg": {"Type": "AWS::EC2::SecurityGroup", "Properties": {"GroupDescription": "x",
                "SecurityGroupIngress": [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "0.0.0.0/0"}]}}
        }),
    );
    let plain = |s: &str, _| s.to_owned();
    insta::assert_snapshot!(d.render(&RenderOptions { style: &plain }));
}
