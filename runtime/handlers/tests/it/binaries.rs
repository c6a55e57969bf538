//! Every Lambda binary, built as it ships, booted from its documented environment against a
//! fake Runtime API, answering one real event (what the thin `main`s add over the library:
//! configuration, secrets, clients, the event and response shapes on the wire).
//!
//! With `BANCA_COLDSTART_DIR=<dir with release binaries>` it also measures cold start
//! (process spawn -> first `/next` poll, median of `BANCA_COLDSTART_RUNS`, default 20) and
//! prints one line per binary; without it, only the debug binaries' smoke run happens.

use std::time::Duration;

use serde_json::json;

use crate::common::*;
use crate::fake_runtime::Child;

type Check = Box<dyn Fn(&str, &serde_json::Value) + Send>;

struct Case {
    bin: &'static str,
    path: &'static str,
    env: Vec<(&'static str, String)>,
    event: serde_json::Value,
    check: Check,
}

async fn cases(sim: &banca_simulators::SimHandle) -> Vec<Case> {
    let sdk = sdk().await;
    let cfg = sim.simulator().config().clone();
    let redis_url =
        std::env::var("BANCA_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let prefix = format!("{}:", unique("bin"));
    let gateway_secret = secret(
        &sdk,
        &json!({"clientId": cfg.gateway_client_id, "clientSecret": cfg.gateway_client_secret})
            .to_string(),
    )
    .await;
    let uaa_secret = secret(
        &sdk,
        &json!({"clientId": cfg.uaa.client_id, "clientSecret": cfg.uaa.client_secret}).to_string(),
    )
    .await;
    let twilio_secret = secret(
        &sdk,
        &json!({"accountSid": cfg.twilio.account_sid, "authToken": cfg.twilio.auth_token, "messagingServiceSid": "MG0001"}).to_string(),
    )
    .await;
    let pepper_secret = secret(&sdk, "a-pepper-of-at-least-sixteen-bytes").await;
    let from = verified_sender(&sdk).await;
    let analysis = queue(&sdk, "analysis").await;
    let audit_queue = queue(&sdk, "audit").await;
    let transfers = queue(&sdk, "transfers").await;
    let audit_table = crate::audit::table(&sdk).await;
    let face_table = dynamo_table(&sdk, "faces", "userId").await;
    let topic = aws_sdk_sns::Client::new(&sdk)
        .create_topic()
        .name(unique("notifications"))
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_owned();
    let machine = aws_sdk_sfn::Client::new(&sdk)
        .create_state_machine()
        .name(unique("onboarding"))
        .role_arn("arn:aws:iam::123456789012:role/onboarding")
        .definition(json!({"StartAt":"Done","States":{"Done":{"Type":"Succeed"}}}).to_string())
        .send()
        .await
        .unwrap()
        .state_machine_arn()
        .to_owned();
    let token = crate::authorizer::login(sim).await;
    let base = sim.base_url();
    let user = ("u-maria", "C-100234");
    let to = format!("{}@example.com", unique("bin"));
    let notification = json!({"type":"NotificationRequested","version":1,"notificationId":"b-1",
        "dedupKey": unique("bin"),"customerId":"C-100234","channels":["email","sms"],
        "template":"onboarding_completed","locale":"en","to":{"email": to,"phone":"+593987654321"},"data":{}})
    .to_string();
    let draft = json!({"sourceAccount":"2200118877","destinationAccount":"2200991122",
        "destinationName":"Juan Perez","amount":"1.00","currency":"USD"});
    let api = |path: &str, body: Option<String>, who: Option<(&str, &str)>| {
        serde_json::to_value(api_request("POST", path, body.as_deref(), who, &[])).unwrap()
    };
    let status = |expected: i64| -> Check {
        Box::new(move |kind, v| {
            assert_eq!(kind, "response", "{v}");
            assert_eq!(v["statusCode"], expected, "{v}");
        })
    };
    vec![
        Case {
            bin: env!("CARGO_BIN_EXE_audit-collector"),
            path: "audit-collector",
            env: vec![("AUDIT_TABLE", audit_table)],
            event: serde_json::to_value(sqs_event(
                &[crate::audit::event(&unique("e"), "u-1", "2026-11-28T10:00:00Z", "user.login"), "{".into()],
                1,
            ))
            .unwrap(),
            check: Box::new(|kind, v| {
                assert_eq!(kind, "response");
                assert_eq!(v, &json!({"batchItemFailures": [{"itemIdentifier": "m1"}]}));
            }),
        },
        Case {
            bin: env!("CARGO_BIN_EXE_notify-email"),
            path: "notify-email",
            env: vec![
                ("SES_FROM_ADDRESS", from.clone()),
                ("AWS_ENDPOINT_URL_SESV2", ses_endpoint().await),
                ("ANALYSIS_QUEUE_URL", analysis.clone()),
                ("REDIS_URL", redis_url.clone()),
                ("KEY_PREFIX", prefix.clone()),
            ],
            event: serde_json::to_value(sqs_event(std::slice::from_ref(&notification), 1)).unwrap(),
            check: Box::new(|kind, v| {
                assert_eq!(kind, "response");
                assert_eq!(v, &json!({"batchItemFailures": []}));
            }),
        },
        Case {
            bin: env!("CARGO_BIN_EXE_notify-sms"),
            path: "notify-sms",
            env: vec![
                ("TWILIO_BASE_URL", base.clone()),
                ("TWILIO_SECRET_ID", twilio_secret),
                ("ANALYSIS_QUEUE_URL", analysis.clone()),
                ("REDIS_URL", redis_url.clone()),
                ("KEY_PREFIX", prefix.clone()),
            ],
            event: serde_json::to_value(sqs_event(&[notification], 1)).unwrap(),
            check: Box::new(|kind, v| {
                assert_eq!(kind, "response");
                assert_eq!(v, &json!({"batchItemFailures": []}));
            }),
        },
        Case {
            bin: env!("CARGO_BIN_EXE_otp-generate"),
            path: "otp-generate",
            env: vec![
                ("REDIS_URL", redis_url.clone()),
                ("KEY_PREFIX", prefix.clone()),
                ("OTP_PEPPER_SECRET_ID", pepper_secret.clone()),
                ("CORE_BASE_URL", base.clone()),
                ("CORE_SECRET_ID", gateway_secret.clone()),
                ("NOTIFICATIONS_TOPIC_ARN", topic),
                ("AUDIT_QUEUE_URL", audit_queue.clone()),
                // Cold-start runs issue one code per start: keep the limiter out of the way.
                ("OTP_GENERATE_LIMIT", "20".into()),
            ],
            event: api("/otpGenerate", Some(json!({"transfer": draft}).to_string()), Some(user)),
            check: status(201),
        },
        Case {
            bin: env!("CARGO_BIN_EXE_otp-validate"),
            path: "otp-validate",
            env: vec![
                ("REDIS_URL", redis_url.clone()),
                ("KEY_PREFIX", format!("{}:", unique("nocode"))),
                ("OTP_PEPPER_SECRET_ID", pepper_secret),
                ("TRANSFER_QUEUE_URL", transfers),
                ("AUDIT_QUEUE_URL", audit_queue.clone()),
            ],
            event: api(
                "/otpValidate",
                Some(json!({"code":"123456","transfer": draft,"channel":"web"}).to_string()),
                Some(user),
            ),
            check: status(401),
        },
        Case {
            bin: env!("CARGO_BIN_EXE_authorizer"),
            path: "authorizer",
            env: vec![
                ("UAA_BASE_URL", base.clone()),
                ("UAA_ISSUER", cfg.uaa.issuer.clone()),
                ("UAA_AUDIENCE", cfg.uaa.audience.clone()),
                ("FACE_TABLE", face_table.clone()),
            ],
            event: json!({"type":"TOKEN","authorizationToken": format!("Bearer {token}"),
                          "methodArn":"arn:aws:execute-api:us-east-1:123456789012:abc/prod/GET/me/summary"}),
            check: Box::new(|kind, v| {
                assert_eq!(kind, "response");
                assert_eq!(v["policyDocument"]["Statement"][0]["Effect"], "Deny");
                assert_eq!(v["context"]["reason"], "photo_required");
            }),
        },
        Case {
            bin: env!("CARGO_BIN_EXE_signup"),
            path: "signup",
            env: vec![
                ("UAA_BASE_URL", base.clone()),
                ("UAA_SECRET_ID", uaa_secret),
                ("FACE_TABLE", face_table.clone()),
                ("AUDIT_QUEUE_URL", audit_queue),
            ],
            // An invalid form: answered without side effects, so cold-start runs can repeat it.
            event: api("/signin", Some(json!({"fullName":"x"}).to_string()), None),
            check: status(400),
        },
        Case {
            bin: env!("CARGO_BIN_EXE_onboarding-trigger"),
            path: "onboarding-trigger",
            env: vec![("STATE_MACHINE_ARN", machine), ("FACE_TABLE", face_table)],
            event: serde_json::to_value(crate::onboarding::s3_event(&[(
                "ObjectCreated:Put",
                "uploads/u-nobody/a.jpg",
                1000,
            )]))
            .unwrap(),
            check: Box::new(|kind, v| {
                assert_eq!(kind, "response");
                assert_eq!(v, &json!([{"result": "skipped", "reason": "user u-nobody has not signed up"}]));
            }),
        },
        Case {
            bin: env!("CARGO_BIN_EXE_user-summary"),
            path: "user-summary",
            env: vec![
                ("REDIS_URL", redis_url.clone()),
                ("KEY_PREFIX", prefix.clone()),
                ("CORE_BASE_URL", base.clone()),
                ("CORE_SECRET_ID", gateway_secret.clone()),
                ("INDEPENDENT_BASE_URL", base.clone()),
                ("INDEPENDENT_SECRET_ID", gateway_secret.clone()),
            ],
            event: serde_json::to_value(api_request("GET", "/me/summary", None, Some(user), &[])).unwrap(),
            check: status(200),
        },
        Case {
            bin: env!("CARGO_BIN_EXE_movements-report"),
            path: "movements-report",
            env: vec![
                ("REDIS_URL", redis_url),
                ("KEY_PREFIX", prefix),
                ("CORE_BASE_URL", base),
                ("CORE_SECRET_ID", gateway_secret),
                ("SES_FROM_ADDRESS", from),
                ("AWS_ENDPOINT_URL_SESV2", ses_endpoint().await),
            ],
            event: serde_json::to_value(sqs_event(
                &[json!({"type":"ReportRequested","version":1,"requestId":"r-1","customerId":"C-100234",
                         "accountId":"2200118877","from":"2026-10-31","to":"2026-10-01"})
                .to_string()],
                1,
            ))
            .unwrap(),
            check: Box::new(|kind, v| {
                assert_eq!(kind, "response");
                assert_eq!(v, &json!({"batchItemFailures": [{"itemIdentifier": "m0"}]}));
            }),
        },
    ]
}

async fn run_once(bin: &str, case: &Case, env: &[(&'static str, String)]) -> Duration {
    let child = Child::spawn(bin, env).await;
    child.runtime.push("req-1", case.event.clone());
    let polled = tokio::time::timeout(
        Duration::from_secs(20),
        child.runtime.polled(Duration::from_secs(20)),
    )
    .await;
    let Ok(polled) = polled else {
        let log = child.stop().await;
        panic!("{} did not poll: {log}", case.path);
    };
    let cold = polled - child.started;
    let (kind, answer) = child.runtime.answer("req-1", Duration::from_secs(20)).await;
    let log = child.stop().await;
    (case.check)(&kind, &answer);
    assert!(!log.contains("panicked"), "{}: {log}", case.path);
    cold
}

#[tokio::test]
async fn every_binary_boots_from_its_environment_and_answers_a_real_event() {
    let sim = sim().await;
    let cases = cases(&sim).await;
    for case in &cases {
        run_once(case.bin, case, &case.env).await;
    }
    let Ok(dir) = std::env::var("BANCA_COLDSTART_DIR") else {
        return;
    };
    let runs: usize = std::env::var("BANCA_COLDSTART_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(20);
    for case in &cases {
        let bin = format!("{dir}/{}", case.path);
        if !std::path::Path::new(&bin).exists() {
            eprintln!("coldstart {:<20} not in {dir}", case.path);
            continue;
        }
        let mut times = Vec::with_capacity(runs);
        for _ in 0..runs {
            // A fresh Redis key space per start: no run sees another's codes, rate limits or
            // cache, as after a real cold start of a new deployment.
            let mut env = case.env.clone();
            for (k, v) in env.iter_mut() {
                if *k == "KEY_PREFIX" {
                    *v = format!("{}:", unique("cold"));
                }
            }
            times.push(run_once(&bin, case, &env).await);
        }
        times.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        eprintln!(
            "coldstart {:<20} median {:>7.1} ms  min {:>7.1} ms  max {:>7.1} ms  ({} runs)",
            case.path,
            ms(times[runs / 2]),
            ms(times[0]),
            ms(times[runs - 1]),
            runs
        );
    }
}
