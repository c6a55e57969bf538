//! notify-email, notify-sms and the SNS -> SQS routing by body filter policy.

use std::sync::Arc;
use std::time::Duration;

use banca_contracts::notification::NotificationFailed;
use banca_handlers::notify::dedup::Dedup;
use banca_handlers::notify::email::EmailDeps;
use banca_handlers::notify::sms::{SmsDeps, TwilioClient, TwilioFailure, measure};
use banca_handlers::notify::{AnalysisQueue, NotificationPublisher};
use banca_handlers::templates::Templates;
use banca_runtime::lambda::{Backoff, SecretCache, SecretsManagerSource, SeededRng};
use banca_simulators::{FaultSpec, Step, faults};
use serde_json::json;

use crate::common::*;

fn notification(
    id: &str,
    dedup: &str,
    channels: &[&str],
    email: &str,
    phone: &str,
) -> serde_json::Value {
    json!({"type":"NotificationRequested","version":1,
        "notificationId": id, "dedupKey": dedup, "customerId":"C-100234",
        "channels": channels, "template":"transfer_succeeded","locale":"es-EC",
        "to":{"email": email, "phone": phone},
        "data":{"amount":"125.50","currency":"USD","destinationName":"Juan Perez"}})
}

async fn email_deps(
    sdk: &aws_config::SdkConfig,
    from: &str,
    analysis: &str,
    prefix: &str,
) -> EmailDeps {
    EmailDeps {
        ses: ses_client(sdk).await,
        from: from.to_owned(),
        configuration_set: None,
        templates: Arc::new(Templates::load().unwrap()),
        dedup: Dedup::new(redis().await, prefix, 3600),
        analysis: AnalysisQueue::new(aws_sdk_sqs::Client::new(sdk), analysis.to_owned()),
        max_receives: 4,
        clock: manual_clock(),
    }
}

#[tokio::test]
async fn email_is_rendered_sent_deduplicated_and_bad_items_fail_alone() {
    let sdk = sdk().await;
    let from = verified_sender(&sdk).await;
    let analysis = queue(&sdk, "analysis").await;
    let deps = email_deps(&sdk, &from, &analysis, &format!("{}:", unique("t"))).await;
    let to = format!("{}@example.com", unique("maria"));
    let good = notification(
        "n-1",
        &unique("transfer:ok"),
        &["email", "sms"],
        &to,
        "+593991234567",
    );
    // The SNS envelope (subscription without raw delivery) is accepted too.
    let enveloped = json!({"Type":"Notification","MessageId":"x","TopicArn":"arn:aws:sns:us-east-1:123456789012:n",
        "Message": notification("n-2", &unique("transfer:env"), &["email"], &to, "+593991234567").to_string()});
    let bodies = vec![
        good.to_string(),
        "not json".to_owned(),
        json!({"type":"NotificationRequested","version":2}).to_string(),
        notification("n-3", "k", &["sms"], &to, "+593991234567").to_string(),
        enveloped.to_string(),
    ];
    let r = banca_handlers::notify::email::handle(&deps, sqs_event(&bodies, 1))
        .await
        .unwrap();
    assert_eq!(
        failed_ids(&r),
        ["m1", "m2", "m3"],
        "unparseable, wrong version, sms-only fail alone"
    );
    let sent = ses_sent_to(&to).await;
    assert_eq!(sent.len(), 2, "{sent:?}");
    let (subject, html) = &sent[0];
    assert_eq!(subject, "Transferencia realizada: 125.50 USD");
    assert!(
        html.contains("Juan Perez") && html.contains("<!DOCTYPE html>"),
        "{html}"
    );

    // Redelivery of the same dedupKey: suppressed, nothing new reaches SES.
    let r = banca_handlers::notify::email::handle(&deps, sqs_event(&[good.to_string()], 2))
        .await
        .unwrap();
    assert!(r.batch_item_failures.is_empty());
    assert_eq!(ses_sent_to(&to).await.len(), 2);
    assert!(drain(&sdk, &analysis).await.is_empty());
}

#[tokio::test]
async fn email_refused_by_ses_goes_to_analysis_with_the_reason() {
    let sdk = sdk().await;
    let analysis = queue(&sdk, "analysis").await;
    // Never verified: SES answers MessageRejected.
    let deps = email_deps(
        &sdk,
        "unverified@bank.example",
        &analysis,
        &format!("{}:", unique("t")),
    )
    .await;
    let to = format!("{}@example.com", unique("ana"));
    let n = notification(
        "n-9",
        &unique("transfer:rej"),
        &["email"],
        &to,
        "+593991234567",
    );
    let r = banca_handlers::notify::email::handle(&deps, sqs_event(&[n.to_string()], 1))
        .await
        .unwrap();
    assert!(
        r.batch_item_failures.is_empty(),
        "a refused delivery is reported, not retried"
    );
    let reports = drain(&sdk, &analysis).await;
    assert_eq!(reports.len(), 1);
    let f: NotificationFailed = serde_json::from_str(&reports[0]).unwrap();
    assert_eq!(f.provider, "ses");
    assert_eq!(f.code.as_deref(), Some("MessageRejected"));
    assert!(f.reason.contains("not verified"), "{}", f.reason);
    assert_eq!(f.notification_id.as_str(), "n-9");
    assert!(ses_sent_to(&to).await.is_empty());
}

async fn sms_deps(
    sdk: &aws_config::SdkConfig,
    sim: &banca_simulators::SimHandle,
    analysis: &str,
    token: &str,
) -> SmsDeps {
    let cfg = sim.simulator().config();
    let secret = secret(
        sdk,
        &json!({"accountSid": cfg.twilio.account_sid, "authToken": token, "from": "+15005550006"})
            .to_string(),
    )
    .await;
    let clock = manual_clock();
    SmsDeps {
        twilio: TwilioClient {
            http: banca_handlers::clients::http_client().unwrap(),
            base_url: sim.base_url(),
            secrets: Arc::new(SecretCache::new(
                Arc::new(SecretsManagerSource::new(sdk)),
                clock.clone(),
                Duration::from_secs(300),
            )),
            secret_id: secret,
            backoff: Backoff::new(Duration::from_millis(100), Duration::from_secs(1)),
            max_attempts: 3,
            rng: Arc::new(SeededRng::new(1)),
            clock: clock.clone(),
        },
        templates: Arc::new(Templates::load().unwrap()),
        dedup: Dedup::new(redis().await, &format!("{}:", unique("t")), 3600),
        analysis: AnalysisQueue::new(aws_sdk_sqs::Client::new(sdk), analysis.to_owned()),
        max_segments: 1,
        max_receives: 3,
        clock,
    }
}

#[tokio::test]
async fn sms_is_sent_once_retried_on_429_and_fits_one_segment() {
    let sdk = sdk().await;
    let sim = sim().await;
    let analysis = queue(&sdk, "analysis").await;
    let token = sim.simulator().config().twilio.auth_token.clone();
    let deps = sms_deps(&sdk, &sim, &analysis, &token).await;
    // Two 429s, then Twilio accepts: the bounded retry gets through within one invocation.
    sim.simulator()
        .set_fault(
            faults::TWILIO_MESSAGES,
            FaultSpec {
                script: [Step::Error, Step::Error].into(),
                status: 429,
                ..FaultSpec::default()
            },
        )
        .unwrap();
    let mut n = notification(
        "s-1",
        &unique("transfer:sms"),
        &["sms"],
        "x@example.com",
        "+593987654321",
    );
    n["data"]["destinationName"] = json!("Juan Perez ".repeat(30)); // forces a cut to 1 segment
    let r =
        banca_handlers::notify::sms::handle(&deps, sqs_event(&[n.to_string(), n.to_string()], 1))
            .await
            .unwrap();
    assert!(r.batch_item_failures.is_empty());
    let sent = sim.simulator().sms_to("+593987654321");
    assert_eq!(
        sent.len(),
        1,
        "the repeat of the dedupKey in the same batch is suppressed"
    );
    assert!(
        sent[0]
            .body
            .starts_with("Banca: transferencia de 125.50 USD a Juan Perez")
    );
    assert!(sent[0].body.ends_with("..."));
    assert_eq!(measure(&sent[0].body).segments, 1);
    assert_eq!(
        sim.simulator()
            .request_counts()
            .get(faults::TWILIO_MESSAGES),
        Some(&3)
    );
    assert!(drain(&sdk, &analysis).await.is_empty());
}

#[tokio::test]
async fn sms_unavailable_is_retried_by_sqs_then_reported() {
    let sdk = sdk().await;
    let sim = sim().await;
    let analysis = queue(&sdk, "analysis").await;
    let token = sim.simulator().config().twilio.auth_token.clone();
    let deps = sms_deps(&sdk, &sim, &analysis, &token).await;
    sim.simulator()
        .set_fault(
            faults::TWILIO_MESSAGES,
            FaultSpec {
                error_rate: 1.0,
                status: 503,
                ..FaultSpec::default()
            },
        )
        .unwrap();
    let n = notification(
        "s-2",
        &unique("transfer:down"),
        &["sms"],
        "x@example.com",
        "+593998877665",
    );
    // First delivery: 3 attempts, then the item fails so SQS redelivers it.
    let r = banca_handlers::notify::sms::handle(&deps, sqs_event(&[n.to_string()], 1))
        .await
        .unwrap();
    assert_eq!(failed_ids(&r), ["m0"]);
    assert_eq!(
        sim.simulator()
            .request_counts()
            .get(faults::TWILIO_MESSAGES),
        Some(&3)
    );
    // Last allowed delivery: reported to analysis instead of failing forever.
    let r = banca_handlers::notify::sms::handle(&deps, sqs_event(&[n.to_string()], 3))
        .await
        .unwrap();
    assert!(r.batch_item_failures.is_empty());
    let reports = drain(&sdk, &analysis).await;
    assert_eq!(reports.len(), 1);
    let f: NotificationFailed = serde_json::from_str(&reports[0]).unwrap();
    assert!(
        f.reason.contains("gave up after 3 deliveries"),
        "{}",
        f.reason
    );
    assert!(sim.simulator().sms_to("+593998877665").is_empty());
}

#[tokio::test]
async fn sms_refused_by_twilio_goes_to_analysis_with_its_code() {
    let sdk = sdk().await;
    let sim = sim().await;
    let analysis = queue(&sdk, "analysis").await;
    // A wrong auth token: Twilio answers 401 code 20003; refetching the secret does not help.
    let deps = sms_deps(&sdk, &sim, &analysis, "wrong-token").await;
    let n = notification(
        "s-3",
        &unique("transfer:auth"),
        &["sms"],
        "x@example.com",
        "+593991234567",
    );
    let r = banca_handlers::notify::sms::handle(&deps, sqs_event(&[n.to_string()], 1))
        .await
        .unwrap();
    assert!(r.batch_item_failures.is_empty());
    let f: NotificationFailed = serde_json::from_str(&drain(&sdk, &analysis).await[0]).unwrap();
    assert_eq!(
        (f.provider.as_str(), f.code.as_deref(), f.http_status),
        ("twilio", Some("20003"), Some(401))
    );

    // An invalid number (the contracts' E.164 rule stops it before Twilio; the client still
    // classifies Twilio's 400 code 21211 as permanent, with the code).
    let deps = sms_deps(
        &sdk,
        &sim,
        &analysis,
        &sim.simulator().config().twilio.auth_token.clone(),
    )
    .await;
    let err = deps.twilio.send("+0999", "hola").await.unwrap_err();
    assert_eq!(
        err,
        TwilioFailure::Permanent {
            code: Some("21211".into()),
            status: 400,
            message: "Invalid 'To' Phone Number: +0999".into()
        }
    );
    assert!(sim.simulator().all_sms().is_empty());
}

/// SNS -> SQS with `FilterPolicyScope: MessageBody`, verified against moto: email-only,
/// sms-only and both, then each queue's messages through its handler.
#[tokio::test]
async fn sns_body_filter_policies_route_to_email_sms_or_both() {
    let sdk = sdk().await;
    let sns = aws_sdk_sns::Client::new(&sdk);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let topic = sns
        .create_topic()
        .name(unique("notifications"))
        .send()
        .await
        .unwrap();
    let topic = topic.topic_arn().unwrap().to_owned();
    let mut queues = Vec::new();
    for channel in ["email", "sms"] {
        let url = queue(&sdk, channel).await;
        let arn = sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .unwrap()
            .attributes()
            .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
            .clone();
        sns.subscribe()
            .topic_arn(&topic)
            .protocol("sqs")
            .endpoint(arn)
            .attributes("RawMessageDelivery", "true")
            .attributes("FilterPolicyScope", "MessageBody")
            .attributes("FilterPolicy", json!({"channels": [channel]}).to_string())
            .send()
            .await
            .unwrap();
        queues.push(url);
    }
    let publisher = NotificationPublisher::new(sns.clone(), topic);
    let to = format!("{}@example.com", unique("route"));
    for (id, channels) in [
        ("only-email", vec!["email"]),
        ("only-sms", vec!["sms"]),
        ("both", vec!["email", "sms"]),
    ] {
        let n = serde_json::from_value(notification(
            id,
            &unique(id),
            &channels,
            &to,
            "+593991234567",
        ))
        .unwrap();
        publisher.publish(&n).await.unwrap();
    }
    let ids = |bodies: &[String]| -> Vec<String> {
        let mut v: Vec<String> = bodies
            .iter()
            .map(|b| {
                serde_json::from_str::<serde_json::Value>(b).unwrap()["notificationId"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        v.sort();
        v
    };
    let email_bodies = drain(&sdk, &queues[0]).await;
    let sms_bodies = drain(&sdk, &queues[1]).await;
    assert_eq!(ids(&email_bodies), ["both", "only-email"]);
    assert_eq!(ids(&sms_bodies), ["both", "only-sms"]);

    // What the e-mail queue received is exactly what notify-email consumes.
    let from = verified_sender(&sdk).await;
    let analysis = queue(&sdk, "analysis").await;
    let deps = email_deps(&sdk, &from, &analysis, &format!("{}:", unique("t"))).await;
    let r = banca_handlers::notify::email::handle(&deps, sqs_event(&email_bodies, 1))
        .await
        .unwrap();
    assert!(r.batch_item_failures.is_empty());
    assert_eq!(ses_sent_to(&to).await.len(), 2);
}
