//! `onboarding`: sign-up and the face-check workflow.
//!
//! `signup` (POST /signin) registers the user in the UAA and leaves a face record with status
//! `PHOTO_REQUIRED`. The app uploads the photo under `uploads/<userId>/`; the bucket's
//! "Object Created" event reaches `onboarding-trigger` through EventBridge, reshaped by an
//! input transformer into the S3 notification records the handler parses (EventBridge avoids
//! the bucket <-> function cycle of direct notifications across stacks). The trigger starts
//! the state machine: Rekognition `DetectFaces` -> exactly one face? -> confident and sharp?
//! -> the face record turns `ACTIVE`; otherwise the rejection reason is written on the face
//! record, the authorizer's "photo required" answer tells the user, and the execution fails
//! with the reason.
//!
//! Gap: the face record holds no e-mail or phone, so the workflow cannot address a
//! `NotificationRequested` to the user; notifying by SNS needs the contact stored at sign-up.

use banca_constructs::SynthError;
use banca_constructs::lambda::Function;
use banca_constructs::sfn::{
    Catch, ChoiceRule, Definition, Retry, State, StateMachine, StateMachineProps, aws_sdk,
};
use banca_constructs::sqs::{DeadLetter, Queue, QueueProps};
use serde_json::{Value as Json, json};
use std::collections::BTreeMap;

use super::backend::{LOG_RETENTION_DAYS, Spec, api_provisioned, function};
use super::secrets::grant_read;
use super::storage::Storage;
use super::{Handler, Region, Shared, local_arn};

/// Where photos are uploaded (the handlers' default, stated so both sides agree).
pub const UPLOAD_PREFIX: &str = "uploads/";
/// Minimum confidence of the one detected face.
pub const MIN_FACE_CONFIDENCE: f64 = 90.0;
/// Minimum sharpness of the face.
pub const MIN_FACE_SHARPNESS: f64 = 20.0;

/// Grants `actions` on the global table `name` in the function's region (and its indexes),
/// plus `key_actions` on this region's table key.
pub(crate) fn grant_table(
    role: &banca_constructs::iam::Role,
    env: &Shared<'_>,
    name: &str,
    actions: &[&str],
    key_actions: &[&str],
) {
    role.add_statement(json!({
        "Effect": "Allow",
        "Action": actions,
        "Resource": [local_arn("dynamodb", &format!("table/{name}")), local_arn("dynamodb", &format!("table/{name}/index/*"))],
    }));
    role.add_statement(
        json!({"Effect": "Allow", "Action": key_actions, "Resource": [env.sec.table_key_arn()]}),
    );
}

/// The onboarding handlers.
pub(crate) struct Onboarding {
    pub functions: Vec<Handler>,
    pub signup: Function,
    /// The dead-letter queue of the trigger's failed invocations.
    pub trigger_failures: Queue,
}

/// Builds the stack.
pub(crate) fn build(
    r: &Region<'_>,
    env: &Shared<'_>,
    storage: &Storage,
) -> Result<Onboarding, SynthError> {
    let s = r.stack("onboarding", "sign-up and the face-check workflow")?;
    let c = r.config;
    let sys = &c.existing_systems;
    let faces = env.data.face_table.as_str();

    let signup = function(
        r,
        &s,
        env,
        Spec {
            timeout_secs: 15,
            in_vpc: true,
            environment: vec![
                ("UAA_BASE_URL", json!(sys.uaa.base_url)),
                ("UAA_SECRET_ID", json!(sys.uaa.secret_name)),
                ("FACE_TABLE", json!(faces)),
                ("AUDIT_QUEUE_URL", env.msg.audit.url().to_json()),
                ("UPLOAD_PREFIX", json!(UPLOAD_PREFIX)),
            ],
            provisioned: api_provisioned(),
            ..Spec::new("Signup", "signup")
        },
    )?;
    grant_read(&signup, &sys.uaa.secret_name, env.sec);
    grant_table(
        signup.role(),
        env,
        faces,
        &["dynamodb:GetItem", "dynamodb:PutItem"],
        &["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
    );
    env.msg.audit.grant_send(&signup);

    let machine = workflow(r, &s, env, storage)?;

    // Failed asynchronous invocations (after Lambda's own retries) are kept for replay.
    let failed = Queue::new(
        &s,
        "TriggerFailures",
        QueueProps {
            retention_period_secs: 1_209_600,
            dead_letter: DeadLetter::None,
            ..QueueProps::default()
        },
    )?;
    let trigger = {
        let mut spec = Spec::new("OnboardingTrigger", "onboarding-trigger");
        spec.environment = vec![
            ("STATE_MACHINE_ARN", machine.arn().to_json()),
            ("FACE_TABLE", json!(faces)),
            ("UPLOAD_PREFIX", json!(UPLOAD_PREFIX)),
        ];
        let f = function(r, &s, env, spec)?;
        f.resource()
            .set_property("DeadLetterConfig", json!({"TargetArn": failed.arn()}));
        failed.grant_send(&f);
        f
    };
    failed.resource().suppress(
        "AwsSolutions-SQS3",
        "this queue is the dead-letter target of the onboarding trigger's failed invocations",
    );
    grant_table(
        trigger.role(),
        env,
        faces,
        &["dynamodb:GetItem"],
        &["kms:Decrypt"],
    );
    machine.grant_start_execution(&trigger);
    let rule = trigger.add_s3_event_source("PhotoUploaded", &storage.photos, UPLOAD_PREFIX)?;
    // The handler parses S3 notification records; reshape EventBridge's "Object Created".
    rule.set_property("Targets", json!([{
        "Id": "function",
        "Arn": trigger.arn(),
        "InputTransformer": {
            "InputPathsMap": {
                "time": "$.time", "bucket": "$.detail.bucket.name", "key": "$.detail.object.key",
                "size": "$.detail.object.size", "version": "$.detail.object.version-id",
            },
            "InputTemplate": "{\"Records\": [{\"eventTime\": <time>, \"eventName\": \"ObjectCreated:Put\", \"eventSource\": \"aws:s3\", \"userIdentity\": {}, \"requestParameters\": {}, \"responseElements\": {}, \"s3\": {\"bucket\": {\"name\": <bucket>}, \"object\": {\"key\": <key>, \"size\": <size>, \"versionId\": <version>}}}]}",
        },
        "RetryPolicy": {"MaximumRetryAttempts": 10, "MaximumEventAgeInSeconds": 3600},
    }]));

    Ok(Onboarding {
        functions: vec![
            ("signup".to_owned(), signup.clone()),
            ("onboarding-trigger".to_owned(), trigger),
        ],
        signup,
        trigger_failures: failed,
    })
}

fn choice(variable: &str, operator: &str, value: Json, next: &str) -> ChoiceRule {
    ChoiceRule {
        variable: variable.to_owned(),
        operator: operator.to_owned(),
        value,
        next: next.to_owned(),
    }
}

fn task(resource: Json, parameters: Json, result_path: Option<&str>, next: Option<&str>) -> State {
    State::Task {
        resource,
        parameters: Some(parameters),
        result_path: result_path.map(str::to_owned),
        result_selector: None,
        timeout_secs: Some(30),
        retry: vec![Retry {
            errors: vec!["States.TaskFailed".to_owned()],
            interval_secs: 2,
            max_attempts: 3,
            backoff_rate: 2.0,
        }],
        catch: Vec::new(),
        next: next.map(str::to_owned),
    }
}

fn reject(faces: &str, reason: &str) -> State {
    task(
        aws_sdk("dynamodb", "updateItem"),
        json!({
            "TableName": faces,
            "Key": {"userId": {"S.$": "$.userId"}},
            "UpdateExpression": "SET lastRejection = :r, rejectedAt = :t",
            "ConditionExpression": "attribute_exists(userId)",
            "ExpressionAttributeValues": {":r": {"S": reason}, ":t": {"S.$": "$$.State.EnteredTime"}},
        }),
        Some("$.rejection"),
        Some("Rejected"),
    )
}

/// The face-check state machine.
fn workflow(
    r: &Region<'_>,
    s: &banca_constructs::Scope,
    env: &Shared<'_>,
    storage: &Storage,
) -> Result<StateMachine, SynthError> {
    let faces = env.data.face_table.as_str();
    let detect = State::Task {
        resource: aws_sdk("rekognition", "detectFaces"),
        parameters: Some(
            json!({"Image": {"S3Object": {"Bucket.$": "$.bucket", "Name.$": "$.key"}}, "Attributes": ["ALL"]}),
        ),
        result_path: Some("$.detection".to_owned()),
        result_selector: Some(
            json!({"count.$": "States.ArrayLength($.FaceDetails)", "faces.$": "$.FaceDetails"}),
        ),
        timeout_secs: Some(30),
        retry: vec![Retry {
            errors: vec![
                "Rekognition.ThrottlingException".to_owned(),
                "Rekognition.ProvisionedThroughputExceededException".to_owned(),
                "States.Timeout".to_owned(),
            ],
            interval_secs: 2,
            max_attempts: 4,
            backoff_rate: 2.0,
        }],
        catch: vec![Catch {
            errors: vec!["States.ALL".to_owned()],
            next: "RejectUnreadable".to_owned(),
            result_path: Some("$.error".to_owned()),
        }],
        next: Some("OneFace".to_owned()),
    };
    let store = task(
        aws_sdk("dynamodb", "updateItem"),
        json!({
            "TableName": faces,
            "Key": {"userId": {"S.$": "$.userId"}},
            "UpdateExpression": "SET #s = :s, faceKey = :k, confidence = :c, activatedAt = :t REMOVE lastRejection",
            "ConditionExpression": "attribute_exists(userId)",
            "ExpressionAttributeNames": {"#s": "status"},
            "ExpressionAttributeValues": {
                ":s": {"S": "ACTIVE"}, ":k": {"S.$": "$.key"},
                ":c": {"N.$": "States.Format('{}', $.detection.faces[0].Confidence)"},
                ":t": {"S.$": "$$.State.EnteredTime"},
            },
        }),
        Some("$.stored"),
        None,
    );
    let definition = Definition::new(
        "onboarding face check: DetectFaces -> valid? -> face record : tell the user",
        "DetectFaces",
    )
    .state("DetectFaces", detect)
    .state(
        "OneFace",
        State::Choice {
            choices: vec![choice(
                "$.detection.count",
                "NumericEquals",
                json!(1),
                "Confident",
            )],
            default: Some("RejectFaceCount".to_owned()),
        },
    )
    .state(
        "Confident",
        State::Choice {
            choices: vec![choice(
                "$.detection.faces[0].Confidence",
                "NumericGreaterThanEquals",
                json!(MIN_FACE_CONFIDENCE),
                "Sharp",
            )],
            default: Some("RejectQuality".to_owned()),
        },
    )
    .state(
        "Sharp",
        State::Choice {
            choices: vec![choice(
                "$.detection.faces[0].Quality.Sharpness",
                "NumericGreaterThanEquals",
                json!(MIN_FACE_SHARPNESS),
                "StoreFace",
            )],
            default: Some("RejectQuality".to_owned()),
        },
    )
    .state("StoreFace", store)
    .state("RejectFaceCount", reject(faces, "FACE_COUNT"))
    .state("RejectQuality", reject(faces, "LOW_QUALITY"))
    .state("RejectUnreadable", reject(faces, "UNREADABLE"))
    .state(
        "Rejected",
        State::Fail {
            error: "PhotoRejected".to_owned(),
            cause: "the photo is not one clear face; the reason is on the face record".to_owned(),
        },
    );
    let machine = StateMachine::new(
        s,
        "FaceCheck",
        StateMachineProps {
            definition,
            log_key: env.sec.logs_key.clone(),
            log_retention_days: LOG_RETENTION_DAYS,
            substitutions: BTreeMap::new(),
        },
    )?;
    machine.role().add_statement(
        json!({"Effect": "Allow", "Action": ["rekognition:DetectFaces"], "Resource": "*"}),
    );
    storage.photos.grant_read(&machine, UPLOAD_PREFIX);
    grant_table(
        machine.role(),
        env,
        faces,
        &["dynamodb:UpdateItem"],
        &["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
    );
    let _ = r;
    Ok(machine)
}
