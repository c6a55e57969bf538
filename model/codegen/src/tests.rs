//! Tests of the generator on the tricky schema constructs.

use super::*;
use serde_json::json;

fn gen_one(schema: Json) -> String {
    let tn = schema["typeName"].as_str().unwrap().to_owned();
    let set = SchemaSet {
        source: "test".into(),
        resources: vec![schema],
        getatts: BTreeMap::from([(tn, vec!["Arn".to_owned(), "Endpoint.Address".to_owned()])]),
    };
    let files = generate_unformatted(&set).unwrap();
    files
        .into_iter()
        .filter(|(k, _)| k != "mod.rs")
        .map(|(_, v)| v)
        .collect()
}

#[test]
fn names_follow_rust_conventions() {
    assert_eq!(snake("DBInstance"), "db_instance");
    assert_eq!(snake("SSESpecification"), "sse_specification");
    assert_eq!(snake("IPV6Enabled"), "ipv6_enabled");
    assert_eq!(snake("deadLetterTargetArn"), "dead_letter_target_arn");
    assert_eq!(snake("S3BucketName"), "s3_bucket_name");
    assert_eq!(pascal("VPCEndpoint"), "VpcEndpoint");
    assert_eq!(variant_name("provided.al2023"), "ProvidedAl2023");
    assert_eq!(variant_name("aws:kms"), "AwsKms");
    assert_eq!(variant_name("PAY_PER_REQUEST"), "PayPerRequest");
    assert_eq!(variant_name("1.2"), "V12");
    assert_eq!(field_name("Type"), "type_");
}

#[test]
fn refs_required_enums_and_read_only() {
    let code = gen_one(json!({
        "typeName": "AWS::Test::Thing",
        "definitions": {"Tag": {"type": "object", "properties": {"Key": {"type": "string"}, "Value": {"type": "string"}}, "required": ["Key", "Value"]}},
        "properties": {
            "Name": {"type": "string", "maxLength": 64, "pattern": "^[a-z]+$"},
            "Mode": {"type": "string", "enum": ["ON", "OFF", "aws:kms"]},
            "Tags": {"type": "array", "insertionOrder": false, "items": {"$ref": "#/definitions/Tag"}},
            "Size": {"type": "integer", "minimum": 1, "maximum": 10},
            "Arn": {"type": "string"}
        },
        "required": ["Name"],
        "readOnlyProperties": ["/properties/Arn"],
        "createOnlyProperties": ["/properties/Name"],
        "primaryIdentifier": ["/properties/Arn"]
    }));
    assert!(
        code.contains("pub name: Value<String>,"),
        "required is non-optional"
    );
    assert!(code.contains("pub size: Option<Value<i64>>,"));
    assert!(
        !code.contains("pub arn:"),
        "read-only properties are attributes, not settable"
    );
    assert!(
        code.contains("pub tags: Option<Value<Vec<Value<thing::Tag>>>>,"),
        "$ref becomes the definition's struct"
    );
    assert!(code.contains("Off = \"OFF\","));
    assert!(code.contains("AwsKms = \"aws:kms\","));
    assert!(code.contains("maximum: Some(10.0)"));
    assert!(code.contains("pattern: Some(\"^[a-z]+$\")"));
    assert!(code.contains("unordered_arrays: &[\"/properties/Tags\"]"));
    assert!(code.contains("create_only: &[\"/properties/Name\"]"));
    assert!(code.contains("pub fn attr_endpoint_address(&self) -> Intrinsic"));
    assert!(
        code.contains("property: \"Name\""),
        "build() names the missing property"
    );
}

#[test]
fn polymorphic_pattern_properties_and_one_of() {
    let code = gen_one(json!({
        "typeName": "AWS::Test::Poly",
        "definitions": {
            "Partitioned": {"type": "object", "properties": {"Source": {"type": "string"}}}
        },
        "properties": {
            "Policy": {"type": ["object", "string"]},
            "Redrive": {"type": ["object", "string"], "properties": {"maxReceiveCount": {"type": "integer"}}},
            "Topic": {"type": ["string", "array"], "items": {"type": "string"}},
            "Subst": {"type": "object", "patternProperties": {".*": {"anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "boolean"}]}}},
            "Kms": {"type": "string", "anyOf": [{"format": "AWS::KMS::Key.Arn"}, {"format": "AWS::KMS::Key.Id"}]},
            "Format": {"type": "object", "oneOf": [
                {"properties": {"Simple": {"type": "object", "additionalProperties": false}}, "required": ["Simple"]},
                {"properties": {"Partitioned": {"$ref": "#/definitions/Partitioned"}}, "required": ["Partitioned"]}
            ]},
            "Keys": {"oneOf": [{"type": "array", "items": {"type": "string"}, "maxItems": 2}, {"format": "json", "type": ["object", "string"]}]}
        },
        "requiredXor": ["Policy", "Topic"],
        "primaryIdentifier": []
    }));
    assert!(
        code.contains("pub policy: Option<Value<Json>>,"),
        "object without properties is free-form JSON"
    );
    assert!(
        code.contains("pub redrive: Option<Value<poly::Redrive>>,"),
        "object|string with properties keeps the struct"
    );
    assert!(
        code.contains("pub dead_letter")
            || code.contains("pub max_receive_count: Option<Value<i64>>,")
    );
    assert!(
        code.contains("pub enum TopicValue {"),
        "string|array becomes a union"
    );
    assert!(code.contains("List(Vec<Value<String>>)"));
    assert!(
        code.contains("pub subst: Option<Value<BTreeMap<String, Value<poly::SubstItemValue>>>>,"),
        "patternProperties become a map"
    );
    assert!(
        code.contains("Integer(i64)"),
        "anyOf of types becomes a union"
    );
    assert!(
        code.contains("pub kms: Option<Value<String>>,"),
        "format-only anyOf keeps the base type"
    );
    assert!(
        code.contains("v.require_one_of(&[\"Simple\", \"Partitioned\"]"),
        "oneOf of objects merges with an exactly-one check"
    );
    assert!(
        code.contains("pub keys: Option<Value<Vec<Value<String>>>>,"),
        "the typed alternative wins over the JSON-string one"
    );
    assert!(code.contains("maximum") || code.contains("max_items: Some(2)"));
    assert!(
        code.contains("v.require_one_of(&[\"Policy\", \"Topic\"]"),
        "requiredXor is checked"
    );
}

#[test]
fn recursive_types_are_boxed() {
    let code = gen_one(json!({
        "typeName": "AWS::Test::Rec",
        "definitions": {
            "Statement": {"type": "object", "properties": {"Not": {"$ref": "#/definitions/NotStatement"}, "And": {"type": "array", "items": {"$ref": "#/definitions/Statement"}}}},
            "NotStatement": {"type": "object", "properties": {"Statement": {"$ref": "#/definitions/Statement"}}, "required": ["Statement"]}
        },
        "properties": {"Rule": {"$ref": "#/definitions/Statement"}},
        "primaryIdentifier": []
    }));
    assert!(
        code.contains("Box<NotStatement>") || code.contains("Box<Statement>"),
        "a cycle is broken by a Box:\n{code}"
    );
    assert!(
        code.contains("pub and: Option<Value<Vec<Value<Statement>>>>,"),
        "a Vec needs no Box"
    );
}
