//! Invalid models are synth errors with clear messages.

use banca_constructs::SynthError;
use banca_constructs::apigateway::{Auth, RestApi, RestApiProps, Route};
use banca_constructs::ec2::{Peer, SecurityGroup, SecurityGroupProps, Vpc, VpcProps};
use banca_constructs::lambda::{Function, FunctionProps, SqsEventSourceProps};
use banca_constructs::sfn::{Definition, State, StateMachine, StateMachineProps, valid_json_path};
use banca_constructs::sqs::{Queue, QueueProps};
use serde_json::json;

use crate::common::*;

fn machine(def: Definition) -> Result<StateMachine, SynthError> {
    let t = app();
    let s = t.stack("onboarding");
    let k = key(&s, "Key");
    StateMachine::new(
        &s,
        "Flow",
        StateMachineProps {
            definition: def,
            log_key: k,
            log_retention_days: 365,
            substitutions: Default::default(),
        },
    )
}

#[test]
fn a_state_machine_with_a_missing_target_or_unreachable_state_is_an_error() {
    let err = machine(
        Definition::new("x", "Start")
            .state(
                "Start",
                State::Pass {
                    result: None,
                    result_path: None,
                    next: Some("Nowhere".into()),
                },
            )
            .state("Orphan", State::Succeed),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "banca/primary/onboarding/Flow: invalid state machine: state \"Start\": Next/Default target \"Nowhere\" does not exist; state \"Orphan\" is unreachable from StartAt \"Start\""
    );
    let err = machine(Definition::new("x", "Missing").state("A", State::Succeed))
        .unwrap_err()
        .to_string();
    assert!(err.contains("StartAt \"Missing\" is not a state"), "{err}");
    let err = machine(Definition::new("x", "A").state(
        "A",
        State::Wait {
            seconds: 1,
            next: "A".into(),
        },
    ))
    .unwrap_err()
    .to_string();
    assert!(err.contains("no state ends the execution"), "{err}");
    let err = machine(Definition::new("x", "A").state(
        "A",
        State::Pass {
            result: None,
            result_path: Some("result".into()),
            next: None,
        },
    ))
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("ResultPath \"result\" is not a JSONPath"),
        "{err}"
    );
}

#[test]
fn json_paths_are_checked() {
    for ok in [
        "$",
        "$.a",
        "$.a.b[0]",
        "$['x']",
        "$$.Execution.Id",
        "$.items[*]",
    ] {
        assert!(valid_json_path(ok), "{ok}");
    }
    for bad in ["", "a", "$.", "$..a", "$[", "$[x]", "$.a b"] {
        assert!(!valid_json_path(bad), "{bad}");
    }
}

fn api_props(t: &TestApp) -> (RestApiProps, Function) {
    let s = t.stack("identity");
    let k = key(&s, "Key");
    let f = Function::new(&s, "Login", FunctionProps::new(asset("login"))).unwrap();
    (
        RestApiProps::new(
            vec![Route {
                path: "/login".into(),
                method: "post".into(),
                function: f.clone(),
                request_schema: None,
                auth: Auth::ApiKey,
            }],
            k,
        ),
        f,
    )
}

#[test]
fn an_invalid_openapi_body_is_an_error() {
    let t = app();
    let (props, f) = api_props(&t);
    let s = t.stack("api");
    let body = json!({
        "openapi": "3.0.1",
        "info": {"title": "t", "version": "1"},
        "paths": {
            "/login": {"post": {"security": [{"oauth": []}], "x-amazon-apigateway-request-validator": "body",
                "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Login"}}}}}},
            "me": {"fetch": {}},
        },
    });
    let err = RestApi::from_openapi(&s, "Api", body, &[&f], &props).unwrap_err();
    assert_eq!(
        err.to_string(),
        "banca/primary/api/Api: invalid OpenAPI body: post /login: has no x-amazon-apigateway-integration; post /login: security scheme \"oauth\" is not in components.securitySchemes; post /login: request validator \"body\" is not defined; path \"me\" must start with /; me: \"fetch\" is not an HTTP method; use one of [\"get\", \"put\", \"post\", \"delete\", \"options\", \"head\", \"patch\"]; $ref \"#/components/schemas/Login\" does not resolve inside the document"
    );
    // Routes that need the authorizer without one are refused too.
    let (mut props, f) = api_props(&app());
    props.routes.push(Route {
        path: "/me".into(),
        method: "get".into(),
        function: f,
        request_schema: None,
        auth: Auth::AuthorizerAndApiKey,
    });
    let t2 = app();
    let err = RestApi::new(&t2.stack("x"), "Api", props)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("authorizer: routes use the authorizer but none is set"),
        "{err}"
    );
}

#[test]
fn a_queue_whose_visibility_timeout_is_below_its_consumers_timeout_is_an_error() {
    let t = app();
    let s = t.stack("backend");
    let q = Queue::new(
        &s,
        "Transfers",
        QueueProps {
            visibility_timeout_secs: 30,
            ..QueueProps::default()
        },
    )
    .unwrap();
    let f = Function::new(
        &s,
        "Processor",
        FunctionProps {
            timeout_secs: 60,
            ..FunctionProps::new(asset("transfer-processor"))
        },
    )
    .unwrap();
    f.add_sqs_event_source("Source", &q, SqsEventSourceProps::default())
        .unwrap();
    let err = t.app.synth().unwrap_err();
    assert_eq!(
        err.to_string(),
        "banca/primary/backend/Transfers/Resource: visibility timeout 30s is shorter than the timeout 60s of its consumer banca/primary/backend/Processor/Resource\nhint: set visibility_timeout to at least 6 times the function timeout (AWS's advice for SQS event sources)"
    );
    // Raising it (here by an override) fixes it.
    q.resource().set_property("VisibilityTimeout", 360);
    t.synth();
}

#[test]
fn props_out_of_range_name_the_path_the_value_and_what_is_allowed() {
    let t = app();
    let s = t.stack("x");
    let err = Queue::new(
        &s,
        "Q",
        QueueProps {
            receive_wait_time_secs: 21,
            ..QueueProps::default()
        },
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "banca/primary/x/Q: receive_wait_time_secs: must be 0..=20, got 21"
    );
    let err = Function::new(
        &s,
        "F",
        FunctionProps {
            timeout_secs: 901,
            ..FunctionProps::new(asset("f"))
        },
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "banca/primary/x/F: timeout_secs: must be 1..=900, got 901"
    );
    let err = Function::new(
        &s,
        "G",
        FunctionProps::new(banca_constructs::LambdaAsset::new("g", "ABC")),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "banca/primary/x/G: asset: sha256 must be 64 lowercase hex digits, got \"ABC\""
    );
}

#[test]
fn security_groups_refuse_internet_ingress_unless_asked() {
    let t = app();
    let s = t.stack("net");
    let vpc = Vpc::new(&s, "Vpc", VpcProps::new(key(&s, "K"))).unwrap();
    let sg = SecurityGroup::new(&s, "Sg", SecurityGroupProps::new(&vpc, "test")).unwrap();
    let err = sg
        .add_ingress(Peer::Cidr("0.0.0.0/0".into()), 443, "web")
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "banca/primary/net/Sg/Resource: ingress: port 443 from 0.0.0.0/0 opens the group to the internet\nhint: set allow_internet_ingress: true if that is intended"
    );
    let err = sg
        .add_ingress(Peer::Cidr("10.0.0.0/8".into()), 443, " ")
        .unwrap_err();
    assert!(err.to_string().contains("needs a description"), "{err}");
}
