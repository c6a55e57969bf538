//! The long-running SQS poller against moto: malformed messages reach the DLQ after
//! maxReceiveCount (C11), and a real `transfer-processor poll` process killed with SIGKILL in
//! the middle of the core call is finished by a second process exactly once (C2/C7 with a real
//! process death).
#![allow(clippy::unwrap_used)]

mod common;

use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_sqs::types::QueueAttributeName;
use banca_runtime::transfer::batch::{PollerOptions, run_poller};
use banca_runtime::transfer::machine::{NotificationState, TransferState};
use banca_simulators::{FaultSpec, SimConfig, faults};
use common::{Db, World, transfer};

static N: AtomicU64 = AtomicU64::new(0);

async fn queues(
    sqs: &aws_sdk_sqs::Client,
    tag: &str,
    visibility_s: u32,
    max_receive: u32,
) -> (String, String) {
    let n = N.fetch_add(1, Ordering::SeqCst);
    let name = format!("transfer-requests-{tag}-{}-{n}", std::process::id());
    let dlq = sqs
        .create_queue()
        .queue_name(format!("{name}-dlq"))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let dlq_arn = sqs
        .get_queue_attributes()
        .queue_url(&dlq)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&QueueAttributeName::QueueArn]
        .clone();
    let main = sqs
        .create_queue()
        .queue_name(&name)
        .attributes(
            QueueAttributeName::VisibilityTimeout,
            visibility_s.to_string(),
        )
        .attributes(
            QueueAttributeName::RedrivePolicy,
            serde_json::json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive.to_string()}).to_string(),
        )
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    (main, dlq)
}

async fn drain(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<String> {
    let out = sqs
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    out.messages
        .unwrap_or_default()
        .into_iter()
        .filter_map(|m| m.body)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_messages_reach_the_dlq_and_good_ones_execute_once() {
    let w = World::new("dlq", Db::MySql, SimConfig::default(), true).await;
    let sdk = banca_runtime::lambda::load_sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let (main, dlq) = queues(&sqs, "dlq", 30, 2).await;
    let (id, good) = transfer("13.00");
    for body in [
        good.as_str(),
        "{\"type\":\"TransferRequested\",\"version\":1}",
    ] {
        sqs.send_message()
            .queue_url(&main)
            .message_body(body)
            .send()
            .await
            .unwrap();
    }
    let p = w.consumer("poller", None);
    let opts = PollerOptions {
        queue_url: main.clone(),
        wait_time_s: 1,
        batch_size: 10,
        stop_after_empty_receives: Some(2),
        max_messages: None,
        max_visibility_s: 900,
    };
    let stats = run_poller(p, &sqs, &opts).await.unwrap();
    assert_eq!(stats.acknowledged, 1);
    assert!(
        stats.failed >= 2,
        "the malformed message was received maxReceiveCount times: {stats:?}"
    );
    assert_eq!(
        drain(&sqs, &dlq).await,
        ["{\"type\":\"TransferRequested\",\"version\":1}"]
    );
    assert!(drain(&sqs, &main).await.is_empty());
    assert_eq!(w.posts(&id).posts, 1);
    w.assert_invariants(&id).await;
    w.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_poller_process_is_finished_by_the_next_exactly_once() {
    let w = World::new("kill", Db::MySql, SimConfig::default(), false).await;
    let sdk = banca_runtime::lambda::load_sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let (main, _dlq) = queues(&sqs, "kill", 2, 10).await;
    let (_, topic) = common::sns_topic("kill").await;
    let (id, body) = transfer("14.00");
    sqs.send_message()
        .queue_url(&main)
        .message_body(&body)
        .send()
        .await
        .unwrap();
    // The core takes 800 ms: the first process is killed inside that call.
    w.sim
        .simulator()
        .set_fault(
            faults::CORE_TRANSFERS,
            FaultSpec {
                latency_ms: 800,
                ..FaultSpec::default()
            },
        )
        .unwrap();
    let name: String = sqlx::query_scalar("SELECT DATABASE()")
        .fetch_one(w.mysql().pool())
        .await
        .unwrap();
    let base = std::env::var("BANCA_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".to_owned());
    let db_url = format!("{}/{name}", base.trim_end_matches('/'));
    let spawn = |args: &[&str]| {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_transfer-processor"))
            .arg("poll")
            .args(args)
            .env("TRANSFER_DB_URL", &db_url)
            .env("TRANSFER_QUEUE_URL", &main)
            .env("TRANSFER_POLL_WAIT_S", "1")
            .env("CORE_BASE_URL", w.sim.base_url())
            .env("CORE_CLIENT_ID", "banca")
            .env("CORE_CLIENT_SECRET", "banca-gateway-secret")
            .env("NOTIFICATION_TOPIC_ARN", &topic)
            .env("CORE_TIMEOUT_MS", "1000")
            .env("TRANSFER_SEND_GUARD_MS", "500")
            .env("CORE_MOVEMENT_DELAY_MS", "0")
            .env("TRANSFER_SETTLE_MS", "1500")
            .env("TRANSFER_LEASE_MS", "2500")
            .env("TRANSFER_INLINE_WAIT_MS", "0")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap()
    };
    let mut first = spawn(&[]);
    common::wait_until(|| w.posts(&id).posts == 1).await;
    first.kill().await.unwrap(); // SIGKILL, in the middle of the core call
    first.wait().await.unwrap();
    let row = w.row(&id).await.unwrap();
    assert_eq!(
        row.state,
        TransferState::RequestBefore,
        "died with the request in flight"
    );

    let second = spawn(&["--stop-after-empty", "3"]);
    let status = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        second.wait_with_output(),
    )
    .await
    .expect("the second poller finishes")
    .unwrap();
    assert!(status.status.success());
    let row = w.row(&id).await.unwrap();
    assert_eq!(
        (row.state, row.notification),
        (TransferState::Success, Some(NotificationState::Notificated))
    );
    assert!(
        row.fence >= 2,
        "the second process took over with a new fence"
    );
    let ledger = w.posts(&id);
    assert_eq!(ledger.executed, 1, "exactly once: {ledger:?}");
    assert!(
        ledger.posts <= 2 && ledger.posts <= u64::from(row.attempts),
        "{ledger:?} {row:?}"
    );
    w.cleanup().await;
}
