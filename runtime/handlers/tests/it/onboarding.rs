//! onboarding-trigger against moto Step Functions and DynamoDB; the face check on recorded
//! DetectFaces responses.

use banca_handlers::face::{FaceCheckConfig, FaceStore, FaceVerdict, RejectReason, check};
use banca_handlers::onboarding::{TriggerDeps, TriggerOutcome, handle};
use serde_json::json;

use crate::common::*;

pub(crate) fn s3_event(records: &[(&str, &str, i64)]) -> aws_lambda_events::s3::S3Event {
    let records: Vec<serde_json::Value> = records
        .iter()
        .map(|(event, key, size)| {
            json!({
                "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
                "eventTime": "2026-11-28T10:15:00.000Z", "eventName": event,
                "userIdentity": {"principalId": "AWS:AROAEXAMPLE"},
                "requestParameters": {"sourceIPAddress": "190.152.0.10"},
                "responseElements": {"x-amz-request-id": "C3D13FE58DE4C810", "x-amz-id-2": "FMyUVURIY8"},
                "s3": {
                    "s3SchemaVersion": "1.0", "configurationId": "onboarding",
                    "bucket": {"name": "banca-photos", "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
                               "arn": "arn:aws:s3:::banca-photos"},
                    "object": {"key": key, "size": size, "eTag": "d41d8cd98f00b204e9800998ecf8427e",
                               "versionId": "096fKKXTRTtl3on89fVO.nfljtsv6qko", "sequencer": "0055AED6DCD90281E5"}
                }
            })
        })
        .collect();
    serde_json::from_value(json!({ "Records": records })).unwrap()
}

#[tokio::test]
async fn uploads_start_one_sanitised_execution_and_bad_ones_are_skipped() {
    let sdk = sdk().await;
    let sfn = aws_sdk_sfn::Client::new(&sdk);
    let machine = sfn
        .create_state_machine()
        .name(unique("onboarding"))
        .role_arn("arn:aws:iam::123456789012:role/onboarding")
        .definition(json!({"StartAt":"Done","States":{"Done":{"Type":"Succeed"}}}).to_string())
        .send()
        .await
        .unwrap()
        .state_machine_arn()
        .to_owned();
    let faces = FaceStore::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        dynamo_table(&sdk, "faces", "userId").await,
    );
    faces
        .put_pending(
            &"u-7".parse().unwrap(),
            &"C-100234".parse().unwrap(),
            "2026-11-28T10:00:00Z",
        )
        .await
        .unwrap();
    let deps = TriggerDeps {
        sfn: sfn.clone(),
        state_machine_arn: machine.clone(),
        faces,
        upload_prefix: "uploads/".into(),
        max_photo_bytes: 5 * 1024 * 1024,
    };
    let event = s3_event(&[
        ("ObjectCreated:Put", "uploads/u-7/3f2a-selfie.jpg", 250_000),
        ("ObjectCreated:Put", "uploads/u-7/3f2a-selfie.jpg", 250_000), // duplicated event
        ("ObjectCreated:Put", "other/u-7/a.jpg", 1000),
        ("ObjectCreated:Put", "uploads/u-7/../u-8/a.jpg", 1000),
        ("ObjectCreated:Put", "uploads/u-7/a.exe", 1000),
        ("ObjectCreated:Put", "uploads/u-7/sub/a.jpg", 1000),
        ("ObjectCreated:Put", "uploads/u-7/a.jpg", 6 * 1024 * 1024),
        ("ObjectCreated:Put", "uploads/u-7/a.jpg", 0),
        ("ObjectCreated:Put", "uploads/u-99/a.jpg", 1000), // never signed up
        ("ObjectRemoved:Delete", "uploads/u-7/a.jpg", 1000),
    ]);
    let out = handle(&deps, event).await.unwrap();
    assert!(matches!(out[0], TriggerOutcome::Started { .. }), "{out:?}");
    assert!(
        matches!(
            out[1],
            TriggerOutcome::AlreadyStarted { .. } | TriggerOutcome::Started { .. }
        ),
        "{out:?}"
    );
    for (i, o) in out.iter().enumerate().skip(2) {
        assert!(
            matches!(o, TriggerOutcome::Skipped { .. }),
            "record {i}: {o:?}"
        );
    }
    let TriggerOutcome::Skipped { reason } = &out[8] else {
        unreachable!()
    };
    assert_eq!(reason, "user u-99 has not signed up");
    let executions = sfn
        .list_executions()
        .state_machine_arn(&machine)
        .send()
        .await
        .unwrap();
    assert_eq!(
        executions.executions().len(),
        1,
        "a duplicated S3 event starts no second workflow"
    );
    let arn = executions.executions()[0].execution_arn();
    let input: serde_json::Value = serde_json::from_str(
        sfn.describe_execution()
            .execution_arn(arn)
            .send()
            .await
            .unwrap()
            .input()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        input,
        json!({"userId":"u-7","bucket":"banca-photos","key":"uploads/u-7/3f2a-selfie.jpg",
               "versionId":"096fKKXTRTtl3on89fVO.nfljtsv6qko","size":250000}),
        "only the sanitised fields reach the workflow"
    );
}

fn fixture(name: &str) -> banca_handlers::face::DetectFacesResponse {
    let path = format!(
        "{}/tests/fixtures/detect_faces/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

#[test]
fn face_check_on_recorded_detect_faces_responses() {
    let config = FaceCheckConfig::default();
    let accepted = check(&fixture("one_good_face"), &config);
    assert!(
        matches!(accepted, FaceVerdict::Accepted { confidence, .. } if confidence > 99.0),
        "{accepted:?}"
    );
    let rejected = |name: &str| match check(&fixture(name), &config) {
        FaceVerdict::Rejected { reasons } => reasons,
        other => panic!("{name}: {other:?}"),
    };
    assert_eq!(rejected("no_face"), [RejectReason::NoFace]);
    assert_eq!(rejected("two_faces"), [RejectReason::MultipleFaces]);
    assert_eq!(rejected("sunglasses"), [RejectReason::Sunglasses]);
    assert_eq!(
        rejected("dark_and_blurry"),
        [RejectReason::BadLighting, RejectReason::Blurry]
    );
    assert_eq!(rejected("profile"), [RejectReason::NotFrontal]);
    assert_eq!(rejected("small_far_face"), [RejectReason::TooSmall]);
    // A background face below the detection floor does not count as a second person.
    assert!(matches!(
        check(&fixture("one_face_and_noise"), &config),
        FaceVerdict::Accepted { .. }
    ));
    // Thresholds come from config.
    let strict = FaceCheckConfig {
        min_sharpness: 95.0,
        ..config
    };
    assert_eq!(
        match check(&fixture("one_good_face"), &strict) {
            FaceVerdict::Rejected { reasons } => reasons,
            _ => vec![],
        },
        [RejectReason::Blurry]
    );
    assert_eq!(RejectReason::Sunglasses.message_es(), "lleva gafas de sol");
}
