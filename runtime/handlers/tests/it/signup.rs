//! /signin against the UAA simulator, with the onboarding record in moto and the audit event in
//! SQS.

use std::sync::Arc;

use banca_handlers::audit::AuditEmitter;
use banca_handlers::clients::GatewayCredentials;
use banca_handlers::face::{FaceStore, STATUS_PHOTO_REQUIRED};
use banca_handlers::signup::{SignupDeps, handle};
use banca_runtime::lambda::Sensitive;
use serde_json::json;

use crate::common::*;

fn form(username: &str) -> serde_json::Value {
    json!({"fullName":"  María José   López ","nationalId":"1710034065","customerId":"C-100236",
           "email":" Maria.Lopez@Example.com ","phone":"099 887 7665","username": username,
           "password":"Quito#2026-seguro"})
}

#[tokio::test]
async fn signup_registers_normalises_records_and_audits() {
    let sdk = sdk().await;
    let sim = sim().await;
    let faces = FaceStore::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        dynamo_table(&sdk, "faces", "userId").await,
    );
    let audit_queue = queue(&sdk, "audit").await;
    let uaa = &sim.simulator().config().uaa;
    let deps = SignupDeps {
        http: banca_handlers::clients::http_client().unwrap(),
        uaa_base_url: sim.base_url(),
        uaa_credentials: Sensitive::new(GatewayCredentials {
            client_id: uaa.client_id.clone(),
            client_secret: uaa.client_secret.clone(),
        }),
        faces: faces.clone(),
        audit: AuditEmitter::new(aws_sdk_sqs::Client::new(&sdk), audit_queue.clone()),
        upload_prefix: "uploads/".into(),
        clock: Arc::new(banca_runtime::lambda::SystemClock),
    };
    let username = format!("Ana.{}", &unique("t")[2..10]);
    let body = form(&username).to_string();
    let (status, out) = status_and_body(
        &handle(
            &deps,
            api_request("POST", "/signin", Some(&body), None, &[]),
        )
        .await,
    );
    assert_eq!(status, 201, "{out}");
    let user_id = out["userId"].as_str().unwrap().to_owned();
    assert_eq!(out["username"], username.to_lowercase());
    assert_eq!(out["nextStep"], "upload_photo");
    assert_eq!(out["uploadPrefix"], format!("uploads/{user_id}/"));
    // What reached the UAA is normalised.
    let u = sim
        .simulator()
        .user(&username.to_lowercase())
        .expect("registered in the UAA");
    assert_eq!(
        (u.email.as_str(), u.phone.as_str(), u.customer_id.as_str()),
        ("maria.lopez@example.com", "+593998877665", "C-100236")
    );
    // The onboarding record: photo required, bound to the customer.
    let rec = faces.get(&user_id.parse().unwrap()).await.unwrap().unwrap();
    assert_eq!(rec.status, STATUS_PHOTO_REQUIRED);
    assert_eq!(rec.customer_id.as_ref().unwrap().as_str(), "C-100236");
    assert!(!rec.has_face());

    // Same username again: 409 with a clear error.
    let (status, out) = status_and_body(
        &handle(
            &deps,
            api_request("POST", "/signin", Some(&body), None, &[]),
        )
        .await,
    );
    assert_eq!(
        (status, out["error"].as_str()),
        (409, Some("username_taken")),
        "{out}"
    );
    assert!(
        out["hint"]
            .as_str()
            .unwrap()
            .contains("choose another username")
    );

    // Invalid forms: 400 naming every bad field; nothing reaches the UAA.
    let users_before = sim
        .simulator()
        .request_counts()
        .get(banca_simulators::faults::UAA_USERS)
        .copied();
    let mut bad = form("pedro");
    bad["nationalId"] = json!("1710034064");
    bad["phone"] = json!("02 234 5678");
    bad["password"] = json!("password");
    let (status, out) = status_and_body(
        &handle(
            &deps,
            api_request("POST", "/signin", Some(&bad.to_string()), None, &[]),
        )
        .await,
    );
    assert_eq!(status, 400);
    let msg = out["message"].as_str().unwrap();
    assert!(
        msg.contains("nationalId:") && msg.contains("phone:") && msg.contains("password:"),
        "{msg}"
    );
    assert!(
        !msg.contains("password\":"),
        "the password itself is never echoed"
    );
    for broken in [json!({"fullName": "x"}).to_string(), "not json".to_owned()] {
        let (status, _) = status_and_body(
            &handle(
                &deps,
                api_request("POST", "/signin", Some(&broken), None, &[]),
            )
            .await,
        );
        assert_eq!(status, 400);
    }
    assert_eq!(
        sim.simulator()
            .request_counts()
            .get(banca_simulators::faults::UAA_USERS)
            .copied(),
        users_before
    );

    let audit: Vec<serde_json::Value> = drain(&sdk, &audit_queue)
        .await
        .iter()
        .map(|b| serde_json::from_str(b).unwrap())
        .collect();
    let outcomes: Vec<&str> = audit
        .iter()
        .map(|a| a["outcome"].as_str().unwrap())
        .collect();
    // Bodies that are not the form at all (not JSON, missing fields) are refused before any
    // processing and not audited; a form that parses but breaks the rules is.
    assert_eq!(outcomes, ["success", "failure", "failure"]);
    assert_eq!(audit[0]["action"], "user.signup");
    assert_eq!(audit[0]["actor"]["userId"], user_id.as_str());
    assert_eq!(audit[0]["actor"]["ip"], "190.152.0.10");
    assert!(
        !audit.iter().any(|a| a.to_string().contains("Quito#2026")),
        "no password in audit"
    );
}
