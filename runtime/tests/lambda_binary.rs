//! The `transfer-processor` binary in Lambda mode, driven through a fake Runtime API: a real
//! SQS event in, the partial batch response out, real MariaDB, simulator and SNS on moto.
#![allow(clippy::unwrap_used)]

mod common;
#[path = "common/fake_runtime.rs"]
mod fake_runtime;

use std::process::Stdio;

use banca_simulators::SimConfig;
use common::{Db, World, transfer};

fn sqs_event(records: &[(&str, &str)]) -> String {
    let recs: Vec<serde_json::Value> = records
        .iter()
        .map(|(id, body)| {
            serde_json::json!({
                "messageId": id, "receiptHandle": format!("rh-{id}"), "body": body,
                "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {},
                "md5OfBody": "", "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:transfer-requests",
                "awsRegion": "us-east-1"
            })
        })
        .collect();
    serde_json::json!({ "Records": recs }).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lambda_mode_answers_a_partial_batch_response_and_logs_json() {
    let w = World::new("lambda", Db::MySql, SimConfig::default(), false).await;
    let (_sdk, topic) = common::sns_topic("lambda").await;
    let rt = fake_runtime::FakeRuntime::start().await;
    let (id, good) = transfer("15.00");
    rt.push(
        "req-1",
        sqs_event(&[
            ("m-good", &good),
            ("m-bad", "{\"type\":\"TransferRequested\"}"),
        ]),
    );
    let db_url: String = {
        let name: String = sqlx::query_scalar("SELECT DATABASE()")
            .fetch_one(w.mysql().pool())
            .await
            .unwrap();
        let base = std::env::var("BANCA_MYSQL_URL")
            .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".to_owned());
        format!("{}/{name}", base.trim_end_matches('/'))
    };
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_transfer-processor"))
        .env("AWS_LAMBDA_RUNTIME_API", rt.addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "transfer-processor")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("TRANSFER_DB_URL", &db_url)
        .env("CORE_BASE_URL", w.sim.base_url())
        .env("CORE_CLIENT_ID", "banca")
        .env("CORE_CLIENT_SECRET", "banca-gateway-secret")
        .env("NOTIFICATION_TOPIC_ARN", &topic)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    for _ in 0..600 {
        if !rt.state.lock().unwrap().responses.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let responses = rt.state.lock().unwrap().responses.clone();
    assert_eq!(
        responses.len(),
        1,
        "errors: {:?}",
        rt.state.lock().unwrap().errors
    );
    let body: serde_json::Value = serde_json::from_str(&responses[0].1).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"batchItemFailures": [{"itemIdentifier": "m-bad"}]})
    );
    assert_eq!(w.posts(&id).executed, 1);
    child.kill().await.unwrap();
    let out = child.wait_with_output().await.unwrap();
    let logs = String::from_utf8_lossy(&out.stderr);
    let line = logs
        .lines()
        .find(|l| l.contains("transfer processed"))
        .unwrap_or_else(|| panic!("no processed log line in {logs}"));
    let json: serde_json::Value = serde_json::from_str(line).expect("logs are JSON lines");
    assert_eq!(
        json["span"]["transferId"],
        id.as_str(),
        "structured logs carry the transferId: {line}"
    );
    assert_eq!(json["level"], "INFO");
    assert!(
        !logs.contains("banca-gateway-secret"),
        "no secret in the logs"
    );
    w.cleanup().await;
}
