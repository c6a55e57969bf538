//! otp-generate / otp-validate through API Gateway proxy events, on real Redis, moto (SNS, SQS)
//! and the core simulator, with controlled time.

use std::sync::Arc;
use std::time::Duration;

use banca_contracts::transfer::TransferRequested;
use banca_handlers::audit::AuditEmitter;
use banca_handlers::notify::NotificationPublisher;
use banca_handlers::otp::api::{GenerateDeps, ValidateDeps, generate, validate};
use banca_handlers::otp::{OtpConfig, OtpStore};
use banca_handlers::summary::BasicInfoCache;
use banca_runtime::lambda::{Clock, ManualClock, Sensitive};
use serde_json::json;

use crate::common::*;

struct Rig {
    sdk: aws_config::SdkConfig,
    generator: GenerateDeps,
    val: ValidateDeps,
    clock: Arc<ManualClock>,
    sms_queue: String,
    transfer_queue: String,
    audit_queue: String,
    _sim: banca_simulators::SimHandle,
}

const USER: (&str, &str) = ("u-maria", "C-100234");

async fn rig() -> Rig {
    let sdk = sdk().await;
    let sim = sim().await;
    let clock = manual_clock();
    let dyn_clock: Arc<dyn Clock> = clock.clone();
    let prefix = format!("{}:", unique("otp"));
    let mut config = OtpConfig::new(
        Sensitive::new(b"0123456789abcdef0123456789abcdef".to_vec()),
        &prefix,
    );
    config.max_attempts = 5;
    config.max_failures = 5;
    config.generate_limit = 3;
    config.validate().unwrap();
    let store = OtpStore::new(redis().await, Arc::new(config), dyn_clock.clone());
    let sns = aws_sdk_sns::Client::new(&sdk);
    let topic = sns
        .create_topic()
        .name(unique("notifications"))
        .send()
        .await
        .unwrap();
    let topic = topic.topic_arn().unwrap().to_owned();
    let sms_queue = queue(&sdk, "sms").await;
    let arn = format!(
        "arn:aws:sqs:us-east-1:123456789012:{}",
        sms_queue.rsplit('/').next().unwrap()
    );
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(arn)
        .attributes("RawMessageDelivery", "true")
        .send()
        .await
        .unwrap();
    let transfer_queue = queue(&sdk, "transfer-requests").await;
    let audit_queue = queue(&sdk, "audit").await;
    let audit = AuditEmitter::new(aws_sdk_sqs::Client::new(&sdk), audit_queue.clone());
    let generator = GenerateDeps {
        store: store.clone(),
        cache: BasicInfoCache::new(redis().await, &prefix, 300, 3600, dyn_clock.clone()),
        core: gateway(&sim, dyn_clock.clone()),
        publisher: NotificationPublisher::new(sns, topic),
        audit: audit.clone(),
        clock: dyn_clock.clone(),
    };
    let val = ValidateDeps {
        store,
        sqs: aws_sdk_sqs::Client::new(&sdk),
        transfer_queue_url: transfer_queue.clone(),
        audit,
        clock: dyn_clock,
    };
    Rig {
        sdk,
        generator,
        val,
        clock,
        sms_queue,
        transfer_queue,
        audit_queue,
        _sim: sim,
    }
}

fn draft(amount: &str) -> serde_json::Value {
    json!({"sourceAccount":"2200118877","destinationAccount":"2200991122",
           "destinationName":"Juan Perez","amount": amount,"currency":"USD","description":"rent"})
}

async fn gen_code(r: &Rig, amount: &str) -> (i64, serde_json::Value) {
    let body = json!({"transfer": draft(amount)}).to_string();
    let resp = generate(
        &r.generator,
        api_request("POST", "/otpGenerate", Some(&body), Some(USER), &[]),
    )
    .await;
    status_and_body(&resp)
}

async fn val(r: &Rig, code: &str, amount: &str) -> (i64, serde_json::Value) {
    let body = json!({"code": code, "transfer": draft(amount), "channel": "mobile"}).to_string();
    let resp = validate(
        &r.val,
        api_request("POST", "/otpValidate", Some(&body), Some(USER), &[]),
    )
    .await;
    status_and_body(&resp)
}

/// The code, as the SMS notification carries it.
async fn last_code(r: &Rig) -> String {
    let bodies = drain(&r.sdk, &r.sms_queue).await;
    let n: serde_json::Value =
        serde_json::from_str(bodies.last().expect("an SMS notification")).unwrap();
    assert_eq!(n["channels"], json!(["sms"]));
    assert_eq!(n["template"], "otp_code");
    assert_eq!(
        n["to"]["phone"], "+593991234567",
        "the phone on file at the core platform"
    );
    n["data"]["code"].as_str().unwrap().to_owned()
}

fn wrong(code: &str) -> String {
    code.chars()
        .map(|c| char::from(b'0' + ((c as u8 - b'0' + 1) % 10)))
        .collect()
}

#[tokio::test]
async fn happy_path_queues_the_transfer_that_was_confirmed() {
    let r = rig().await;
    let (status, body) = gen_code(&r, "125.50").await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["codeLength"], 6);
    assert_eq!(body["sentTo"], "+59399****567");
    let code = last_code(&r).await;
    assert_eq!(code.len(), 6);
    let (status, body) = val(&r, &code, "125.50").await;
    assert_eq!(status, 202, "{body}");
    let queued = drain(&r.sdk, &r.transfer_queue).await;
    assert_eq!(queued.len(), 1);
    let t = TransferRequested::from_json(&queued[0]).unwrap();
    assert_eq!(t.transfer_id, body["transferId"].as_str().unwrap());
    assert_eq!(
        (t.customer_id.as_str(), t.amount.to_string().as_str()),
        ("C-100234", "125.50")
    );
    assert_eq!(t.destination_account, "2200991122");
    let audit: Vec<serde_json::Value> = drain(&r.sdk, &r.audit_queue)
        .await
        .iter()
        .map(|b| serde_json::from_str(b).unwrap())
        .collect();
    let actions: Vec<&str> = audit
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["otp.generate", "transfer.requested"]);
    assert!(
        !audit.iter().any(|a| a.to_string().contains(&code)),
        "no code in audit"
    );
}

#[tokio::test]
async fn replay_of_a_used_code_fails() {
    let r = rig().await;
    gen_code(&r, "10.00").await;
    let code = last_code(&r).await;
    assert_eq!(val(&r, &code, "10.00").await.0, 202);
    let (status, body) = val(&r, &code, "10.00").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("otp_not_found"))
    );
    assert_eq!(
        drain(&r.sdk, &r.transfer_queue).await.len(),
        1,
        "one transfer only"
    );
}

#[tokio::test]
async fn concurrent_validations_of_one_code_queue_one_transfer() {
    let r = rig().await;
    gen_code(&r, "10.00").await;
    let code = last_code(&r).await;
    let (a, b, c) = tokio::join!(
        val(&r, &code, "10.00"),
        val(&r, &code, "10.00"),
        val(&r, &code, "10.00")
    );
    let mut statuses = [a.0, b.0, c.0];
    statuses.sort();
    assert_eq!(statuses, [202, 401, 401]);
    assert_eq!(drain(&r.sdk, &r.transfer_queue).await.len(), 1);
}

#[tokio::test]
async fn brute_force_is_refused_even_with_the_right_code() {
    let r = rig().await;
    gen_code(&r, "99.00").await;
    let code = last_code(&r).await;
    let bad = wrong(&code);
    for left in (0..5).rev() {
        let (status, body) = val(&r, &bad, "99.00").await;
        assert_eq!(status, 401, "{body}");
        if left > 0 {
            assert_eq!(
                body["message"],
                format!("the code is not correct; {left} attempts left")
            );
        }
    }
    // Sixth attempt, right code: refused (per-user lockout after 5 failures).
    let (status, body) = val(&r, &code, "99.00").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (429, Some("otp_locked")),
        "{body}"
    );
    // A new code does not reset the failure count.
    let (status, body) = gen_code(&r, "99.00").await;
    assert_eq!((status, body["error"].as_str()), (429, Some("otp_locked")));
    assert!(drain(&r.sdk, &r.transfer_queue).await.is_empty());
    // After the lockout window (controlled time), the user may try again.
    r.clock.advance(Duration::from_secs(901));
    assert_eq!(gen_code(&r, "99.00").await.0, 201);
    let code = last_code(&r).await;
    assert_eq!(val(&r, &code, "99.00").await.0, 202);
}

#[tokio::test]
async fn attempts_per_code_are_bounded_before_the_comparison() {
    let r = rig().await;
    // Raise the per-user budget above the per-code one to isolate the per-code limit.
    let mut cfg = r.val.store.config().clone();
    cfg.max_failures = 20;
    let store = OtpStore::new(redis().await, Arc::new(cfg), r.clock.clone());
    let val_deps = ValidateDeps {
        store: store.clone(),
        ..r.val.clone()
    };
    let gen_deps = GenerateDeps {
        store,
        ..r.generator.clone()
    };
    let body = json!({"transfer": draft("5.00")}).to_string();
    generate(
        &gen_deps,
        api_request("POST", "/otpGenerate", Some(&body), Some(USER), &[]),
    )
    .await;
    let code = last_code(&r).await;
    let try_code = |c: String| {
        let deps = val_deps.clone();
        async move {
            let body = json!({"code": c, "transfer": draft("5.00"), "channel": "web"}).to_string();
            status_and_body(
                &validate(
                    &deps,
                    api_request("POST", "/otpValidate", Some(&body), Some(USER), &[]),
                )
                .await,
            )
        }
    };
    for _ in 0..5 {
        assert_eq!(try_code(wrong(&code)).await.0, 401);
    }
    let (status, body) = try_code(code.clone()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("otp_exhausted")),
        "{body}"
    );
}

#[tokio::test]
async fn an_expired_code_fails_under_controlled_time() {
    let r = rig().await;
    gen_code(&r, "20.00").await;
    let code = last_code(&r).await;
    r.clock.advance(Duration::from_secs(179));
    // Still valid one second before expiry: check with a wrong code (does not consume).
    assert_eq!(
        val(&r, &wrong(&code), "20.00").await.1["error"],
        "otp_invalid"
    );
    r.clock.advance(Duration::from_secs(1));
    let (status, body) = val(&r, &code, "20.00").await;
    assert_eq!((status, body["error"].as_str()), (401, Some("otp_expired")));
    assert!(drain(&r.sdk, &r.transfer_queue).await.is_empty());
}

#[tokio::test]
async fn a_code_does_not_confirm_another_transfer() {
    let r = rig().await;
    gen_code(&r, "20.00").await;
    let code = last_code(&r).await;
    let (status, body) = val(&r, &code, "2000.00").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("otp_payload_mismatch")),
        "{body}"
    );
    assert!(drain(&r.sdk, &r.transfer_queue).await.is_empty());
}

#[tokio::test]
async fn generation_is_rate_limited_per_user() {
    let r = rig().await;
    for _ in 0..3 {
        assert_eq!(gen_code(&r, "1.00").await.0, 201);
    }
    let resp = generate(
        &r.generator,
        api_request(
            "POST",
            "/otpGenerate",
            Some(&json!({"transfer": draft("1.00")}).to_string()),
            Some(USER),
            &[],
        ),
    )
    .await;
    assert_eq!(resp.status_code, 429);
    assert_eq!(resp.headers["retry-after"], "300");
    r.clock.advance(Duration::from_secs(300));
    assert_eq!(gen_code(&r, "1.00").await.0, 201);
    // Only the latest code works: earlier ones were replaced.
    let bodies = drain(&r.sdk, &r.sms_queue).await;
    assert_eq!(bodies.len(), 4);
}

#[tokio::test]
async fn bad_requests_are_refused_with_the_field_named() {
    let r = rig().await;
    type Case<'a> = (Option<String>, Option<(&'a str, &'a str)>, i64, &'a str);
    let cases: Vec<Case> = vec![
        (None, Some(USER), 400, "body: required"),
        (Some("{".into()), Some(USER), 400, "body:"),
        (Some(json!({"transfer": draft("1.00")}).to_string()), None, 401, "no caller identity"),
        (Some(json!({"transfer": draft("1.5")}).to_string()), Some(USER), 400, "amount must be a decimal string"),
        (Some(json!({"transfer": draft("0.00")}).to_string()), Some(USER), 400, "amount: must be greater than 0.00"),
        (Some(json!({"transfer": {"sourceAccount":"2200118877","destinationAccount":"2200118877","destinationName":"x","amount":"1.00","currency":"USD"}}).to_string()), Some(USER), 400, "destinationAccount: must differ"),
        (Some(json!({"transfer": draft("1.00"), "extra": 1}).to_string()), Some(USER), 400, "unknown field"),
    ];
    for (body, user, status, needle) in cases {
        let resp = generate(
            &r.generator,
            api_request("POST", "/otpGenerate", body.as_deref(), user, &[]),
        )
        .await;
        let (s, b) = status_and_body(&resp);
        assert_eq!(s, status, "{b}");
        assert!(
            b["message"].as_str().unwrap().contains(needle),
            "{needle}: {b}"
        );
    }
    let body =
        json!({"code": "12ab56", "transfer": draft("1.00"), "channel": "mobile"}).to_string();
    let (s, b) = status_and_body(
        &validate(
            &r.val,
            api_request("POST", "/otpValidate", Some(&body), Some(USER), &[]),
        )
        .await,
    );
    assert_eq!(s, 400, "{b}");
    assert!(drain(&r.sdk, &r.sms_queue).await.is_empty());
}
