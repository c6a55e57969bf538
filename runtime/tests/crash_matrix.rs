//! The crash matrix C0-C18 of `shared/CRASH_MATRIX.md`, one test per case and store, each run
//! with 1 and 2 consumers, against real MariaDB (or SQLite), the core simulator over HTTP and
//! SNS on moto. Crashes are injected in-process at each step ([`CrashPoint`]); time moves by
//! advancing the database clock offset and the simulators' clock together (no sleeping).
//! `World::assert_invariants` checks the matrix's invariants in every case.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use banca_runtime::lambda::ManualClock;
use banca_runtime::transfer::batch::{Record, process_batch};
use banca_runtime::transfer::machine::{NotificationState, TransferState};
use banca_runtime::transfer::processor::{CrashHook, CrashPoint, Outcome};
use banca_runtime::transfer::store::TransferStore;
use banca_simulators::{FaultSpec, SimConfig, Step, faults};
use common::{CrashAt, Db, World, transfer};

async fn world(tag: &str, db: Db) -> World {
    World::new(tag, db, SimConfig::default(), true).await
}

fn consumers(
    w: &World,
    n: usize,
    crash: Arc<dyn CrashHook>,
) -> (
    Arc<banca_runtime::transfer::processor::Processor>,
    Arc<banca_runtime::transfer::processor::Processor>,
) {
    let a = w.consumer("consumer-a", Some(crash));
    let b = if n == 2 {
        w.consumer("consumer-b", None)
    } else {
        w.consumer("consumer-a-restarted", None)
    };
    (a, b)
}

fn script(steps: &[Step]) -> FaultSpec {
    FaultSpec {
        script: steps.iter().copied().collect(),
        hang_ms: 3_000,
        ..FaultSpec::default()
    }
}

async fn done_state(o: &Outcome) -> TransferState {
    match o {
        Outcome::Done { state } => *state,
        other => panic!("expected Done, got {other:?}"),
    }
}

async fn c0(db: Db, n: usize) {
    let w = world("c0", db).await;
    let (a, b) = consumers(&w, n, CrashAt::new(CrashPoint::AfterReceive, 1));
    let (id, body) = transfer("10.00");
    assert_eq!(
        a.process(&body).await,
        Outcome::Crashed(CrashPoint::AfterReceive)
    );
    assert!(
        w.row(&id).await.is_none(),
        "nothing written before the claim"
    );
    assert_eq!(
        done_state(&b.process(&body).await).await,
        TransferState::Success
    );
    assert_eq!(w.posts(&id).posts, 1);
    w.assert_invariants(&id).await;
    w.cleanup().await;
}

async fn c1_after_claim(db: Db, n: usize) {
    let w = world("c1a", db).await;
    let (a, b) = consumers(&w, n, CrashAt::new(CrashPoint::AfterClaim, 1));
    let (id, body) = transfer("10.00");
    assert_eq!(
        a.process(&body).await,
        Outcome::Crashed(CrashPoint::AfterClaim)
    );
    assert_eq!(
        w.row(&id).await.unwrap().state,
        TransferState::EventConsumed
    );
    // While the lease lives: item failure, no POST.
    assert!(matches!(b.process(&body).await, Outcome::Retry { .. }));
    assert_eq!(w.posts(&id).posts, 0);
    w.advance(w.policy.lease_ms);
    assert_eq!(
        done_state(&b.process(&body).await).await,
        TransferState::Success
    );
    let row = w.row(&id).await.unwrap();
    assert_eq!((row.fence, row.attempts), (2, 1));
    assert_eq!(w.posts(&id).posts, 1);
    w.assert_invariants(&id).await;
    w.cleanup().await;
}

async fn c1_before_send(db: Db, n: usize) {
    let w = world("c1b", db).await;
    let (a, b) = consumers(&w, n, CrashAt::new(CrashPoint::BeforeSend, 1));
    let (id, body) = transfer("10.00");
    assert_eq!(
        a.process(&body).await,
        Outcome::Crashed(CrashPoint::BeforeSend)
    );
    assert_eq!(
        w.row(&id).await.unwrap().state,
        TransferState::RequestBefore
    );
    assert!(
        matches!(b.process(&body).await, Outcome::Retry { .. }),
        "live lease"
    );
    w.advance(w.policy.lease_ms);
    let movements_before = w
        .sim
        .simulator()
        .request_counts()
        .get(faults::CORE_MOVEMENTS)
        .copied()
        .unwrap_or(0);
    assert_eq!(
        done_state(&b.process(&body).await).await,
        TransferState::Success
    );
    let movements_after = w.sim.simulator().request_counts()[faults::CORE_MOVEMENTS];
    assert!(
        movements_after > movements_before,
        "reconciled before sending"
    );
    assert_eq!(w.posts(&id).posts, 1, "called once");
    w.assert_invariants(&id).await;
    w.cleanup().await;
}

async fn c2_lost_response_found(db: Db, n: usize) {
    let w = world("c2", db).await;
    let (_, b) = consumers(&w, n, Arc::new(common::Never));
    w.sim
        .simulator()
        .set_fault(faults::CORE_TRANSFERS, script(&[Step::Lost]))
        .unwrap();
    let (id, body) = transfer("10.00");
    let first = w.consumer("consumer-a", None).process(&body).await;
    assert!(matches!(first, Outcome::Retry { .. }), "{first:?}");
    assert_eq!(w.row(&id).await.unwrap().state, TransferState::Waiting);
    // The retry reconciles first: found -> SUCCESS with no second POST.
    assert_eq!(
        done_state(&w.drive(&b, &body).await).await,
        TransferState::Success
    );
    assert_eq!(
        w.posts(&id),
        banca_simulators::LedgerEntry {
            posts: 1,
            executed: 1,
            rejected: 0
        }
    );
    w.assert_invariants(&id).await;
    w.cleanup().await;
}

async fn c2_not_sent_then_resend(db: Db, n: usize) {
    let w = world("c2b", db).await;
    let (_, b) = consumers(&w, n, Arc::new(common::Never));
    w.sim
        .simulator()
        .set_fault(faults::CORE_TRANSFERS, script(&[Step::Timeout]))
        .unwrap();
    let (id, body) = transfer("10.00");
    assert!(matches!(
        w.consumer("consumer-a", None).process(&body).await,
        Outcome::Retry { .. }
    ));
    // Not found inside the settle window: wait, never a blind resend.
    let early = b.process(&body).await;
    assert!(matches!(early, Outcome::Retry { .. }), "{early:?}");
    assert_eq!(w.posts(&id).posts, 1);
    w.advance(w.policy.settle_ms);
    assert_eq!(
        done_state(&b.process(&body).await).await,
        TransferState::Success
    );
    // Reconciliation proved the first attempt absent, so exactly one resend.
    assert_eq!(
        w.posts(&id),
        banca_simulators::LedgerEntry {
            posts: 2,
            executed: 1,
            rejected: 0
        }
    );
    assert_eq!(w.row(&id).await.unwrap().attempts, 2);
    w.assert_invariants(&id).await;
    w.cleanup().await;
}

async fn c2_unknown_at_deadline_goes_to_review(db: Db, n: usize) {
    let w = world("c2c", db).await;
    let (_, b) = consumers(&w, n, Arc::new(common::Never));
    w.sim
        .simulator()
        .set_fault(faults::CORE_TRANSFERS, script(&[Step::Timeout]))
        .unwrap();
    w.sim
        .simulator()
        .set_fault(
            faults::CORE_MOVEMENTS,
            FaultSpec {
                error_rate: 1.0,
                ..FaultSpec::default()
            },
        )
        .unwrap();
    let (id, body) = transfer("10.00");
    assert!(matches!(
        w.consumer("consumer-a", None).process(&body).await,
        Outcome::Retry { .. }
    ));
    let mut last = None;
    for _ in 0..10 {
        w.advance(w.policy.deadline_ms / 5);
        last = Some(b.process(&body).await);
        if matches!(last, Some(Outcome::Done { .. })) {
            break;
        }
    }
    assert_eq!(
        last,
        Some(Outcome::Done {
            state: TransferState::Review
        })
    );
    let row = w.row(&id).await.unwrap();
    assert_eq!(row.outcome.as_deref(), Some("AMBIGUOUS_AT_DEADLINE"));
    assert_eq!(w.posts(&id).posts, 1, "never a blind resend");
    // REVIEW is final for automation: another delivery does nothing.
    assert_eq!(
        b.process(&body).await,
        Outcome::Done {
            state: TransferState::Review
        }
    );
    assert_eq!(w.posts(&id).posts, 1);
    w.assert_invariants(&id).await;
    w.cleanup().await;
}

async fn c3(db: Db, n: usize) {
    let w = world("c3", db).await;
    let (a, b) = consumers(&w, n, CrashAt::new(CrashPoint::AfterCoreCall, 1));
    let (id, body) = transfer("10.00");
    assert_eq!(
        a.process(&body).await,
        Outcome::Crashed(CrashPoint::AfterCoreCall)
    );
    assert_eq!(w.posts(&id).executed, 1, "the core executed");
    assert_eq!(
        w.row(&id).await.unwrap().state,
        TransferState::RequestBefore
    );
    w.advance(w.policy.lease_ms);
    assert_eq!(
        done_state(&b.process(&body).await).await,
        TransferState::Success
    );
    assert_eq!(w.posts(&id).posts, 1);
    let row = w.row(&id).await.unwrap();
    assert!(
        row.outcome.unwrap().starts_with("movement:"),
        "found by reconciliation"
    );
    assert_eq!(row.notification, Some(NotificationState::Notificated));
    w.assert_invariants(&id).await;
    w.cleanup().await;
}

async fn c4(db: Db, n: usize) {
    let w = world("c4", db).await;
    let (a, b) = consumers(&w, n, CrashAt::new(CrashPoint::AfterOutcomeRecorded, 1));
    let (id, body) = transfer("10.00");
    assert_eq!(
        a.process(&body).await,
        Outcome::Crashed(CrashPoint::AfterOutcomeRecorded)
    );
    let row = w.row(&id).await.unwrap();
    assert_eq!(
        (row.state, row.notification),
        (TransferState::Success, Some(NotificationState::Notify))
    );
    assert_eq!(w.notifier.count_for(&id), 0);
    w.advance(w.policy.lease_ms);
    assert_eq!(
        done_state(&b.process(&body).await).await,
        TransferState::Success
    );
    assert_eq!(w.posts(&id).posts, 1, "the retry skips the POST");
    assert!(w.notifier.count_for(&id) >= 1);
    w.assert_invariants(&id).await;
    w.cleanup().await;
}

async fn c5(db: Db, n: usize) {
    let w = world("c5", db).await;
    let (a, b) = consumers(&w, n, CrashAt::new(CrashPoint::AfterPublish, 1));
    let (id, body) = transfer("10.00");
    assert_eq!(
        a.process(&body).await,
        Outcome::Crashed(CrashPoint::AfterPublish)
    );
    assert_eq!(w.notifier.count_for(&id), 1);
    assert_eq!(
        w.row(&id).await.unwrap().notification,
        Some(NotificationState::Notify)
    );
    w.advance(w.policy.lease_ms);
    assert_eq!(
        done_state(&b.process(&body).await).await,
        TransferState::Success
    );
    // Published again, under the same dedupKey: a harmless duplicate.
    let published = w.notifier.published.lock().unwrap().clone();
    assert_eq!(published.get(&format!("transfer:{id}:SUCCESS")), Some(&2));
    assert_eq!(w.posts(&id).posts, 1);
    w.assert_invariants(&id).await;
    w.cleanup().await;
}

async fn c6(db: Db, n: usize) {
    let w = world("c6", db).await;
    let (a, b) = consumers(&w, n, CrashAt::new(CrashPoint::BeforeAck, 1));
    let (id, body) = transfer("10.00");
    assert_eq!(
        a.process(&body).await,
        Outcome::Crashed(CrashPoint::BeforeAck)
    );
    let before = w.sim.simulator().request_counts();
    let row_before = w.row(&id).await.unwrap();
    // Redelivery right away (even inside the lease): a terminal row is a no-op success.
    assert_eq!(
        done_state(&b.process(&body).await).await,
        TransferState::Success
    );
    assert_eq!(w.sim.simulator().request_counts(), before, "no effects");
    assert_eq!(w.row(&id).await.unwrap(), row_before, "no writes");
    assert_eq!(w.notifier.count_for(&id), 1);
    w.assert_invariants(&id).await;
    w.cleanup().await;
}

async fn c7(db: Db, n: usize) {
    let w = world("c7", db).await;
    let (_, b) = consumers(&w, n, Arc::new(common::Never));
    let a = w.consumer("consumer-a", None);
    // A is inside a slow core call (latency below its timeout).
    w.sim
        .simulator()
        .set_fault(
            faults::CORE_TRANSFERS,
            FaultSpec {
                latency_ms: 300,
                ..FaultSpec::default()
            },
        )
        .unwrap();
    let (id, body) = transfer("10.00");
    let a_task = {
        let (a, body) = (a.clone(), body.clone());
        tokio::spawn(async move { a.process(&body).await })
    };
    common::wait_until(|| w.posts(&id).posts == 1).await;
    // The visibility timeout expired: B receives the message while A's lease is live.
    assert!(matches!(b.process(&body).await, Outcome::Retry { .. }));
    assert_eq!(w.posts(&id).posts, 1, "no POST from B");
    assert_eq!(
        done_state(&a_task.await.unwrap()).await,
        TransferState::Success
    );
    w.assert_invariants(&id).await;

    // Now A's lease expires while A is still in the call (its answer is held back): B takes
    // the next fence and reconciles first; A's late write fails the fence check.
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let gated = w.build_with(
        "consumer-a-slow",
        None,
        Arc::new(banca_runtime::lambda::SystemClock),
        Arc::new(Gated {
            inner: w.http_core(),
            gate: gate.clone(),
        }),
    );
    w.sim.simulator().clear_faults();
    let (id2, body2) = transfer("11.00");
    let a_task = {
        let body = body2.clone();
        tokio::spawn(async move { gated.process(&body).await })
    };
    common::wait_until(|| w.posts(&id2).executed == 1).await;
    w.advance(w.policy.lease_ms);
    assert_eq!(
        done_state(&b.process(&body2).await).await,
        TransferState::Success
    );
    let row = w.row(&id2).await.unwrap();
    assert_eq!(row.fence, 2);
    assert!(
        row.outcome
            .as_deref()
            .unwrap_or("")
            .starts_with("movement:"),
        "B reconciled: {row:?}"
    );
    gate.add_permits(1);
    let a_late = a_task.await.unwrap();
    assert!(
        matches!(&a_late, Outcome::Retry { reason, .. } if reason.contains("fenced out")),
        "A's late write must fail the fence check: {a_late:?}"
    );
    assert_eq!(w.row(&id2).await.unwrap(), row, "A wrote nothing");
    assert_eq!(w.posts(&id2).posts, 1);
    w.assert_invariants(&id2).await;
    w.cleanup().await;
}

/// A core client whose `POST /transfers` answer is held until the test releases it.
struct Gated {
    inner: banca_runtime::transfer::ports::HttpCorePlatform,
    gate: Arc<tokio::sync::Semaphore>,
}

impl banca_runtime::transfer::ports::CorePlatform for Gated {
    fn post_transfer<'a>(
        &'a self,
        order: &'a banca_runtime::transfer::ports::TransferOrder,
    ) -> banca_runtime::transfer::store::BoxFuture<'a, banca_runtime::transfer::machine::CoreAnswer>
    {
        Box::pin(async move {
            let answer = self.inner.post_transfer(order).await;
            let _permit = self.gate.acquire().await.unwrap();
            answer
        })
    }
    fn find_debit<'a>(
        &'a self,
        account: &'a str,
        reference: &'a str,
        since_ms: i64,
    ) -> banca_runtime::transfer::store::BoxFuture<
        'a,
        banca_runtime::transfer::machine::Reconciliation,
    > {
        self.inner.find_debit(account, reference, since_ms)
    }
    fn contact<'a>(
        &'a self,
        customer_id: &'a str,
    ) -> banca_runtime::transfer::store::BoxFuture<
        'a,
        Result<banca_runtime::transfer::ports::Contact, banca_runtime::transfer::ports::CoreError>,
    > {
        self.inner.contact(customer_id)
    }
}

async fn c8(db: Db, n: usize) {
    let w = world("c8", db).await;
    let a = w.consumer("consumer-a", None);
    let b = if n == 2 {
        w.consumer("consumer-b", None)
    } else {
        a.clone()
    };
    for round in 0..5 {
        let (id, body) = transfer(&format!("{}.00", 10 + round));
        let (x, y) = tokio::join!(a.process(&body), b.process(&body));
        let winners = [&x, &y].iter().filter(|o| o.is_ack()).count();
        assert!(winners >= 1, "{x:?} {y:?}");
        assert_eq!(w.posts(&id).posts, 1, "exactly one claim wins: {x:?} {y:?}");
        w.drive(&b, &body).await;
        assert_eq!(w.posts(&id).posts, 1);
        w.assert_invariants(&id).await;
    }
    w.cleanup().await;
}

/// Makes the database unavailable right after the core call returned (C9).
struct DbDownAfterCore(Arc<common::Recording>);

impl CrashHook for DbDownAfterCore {
    fn crash(&self, point: CrashPoint, _: &str) -> bool {
        if point == CrashPoint::AfterCoreCall {
            self.0.fail_writes.store(1, Ordering::SeqCst);
        }
        false
    }
}

async fn c9(db: Db, n: usize) {
    let w = world("c9", db).await;
    let (a, b) = consumers(&w, n, Arc::new(DbDownAfterCore(w.store.clone())));
    let (id, body) = transfer("10.00");
    let first = a.process(&body).await;
    assert!(
        matches!(&first, Outcome::Retry { reason, .. } if reason.contains("store")),
        "{first:?}"
    );
    assert_eq!(w.posts(&id).executed, 1);
    assert_eq!(
        w.row(&id).await.unwrap().state,
        TransferState::RequestBefore,
        "no acknowledgement, nothing recorded"
    );
    w.advance(w.policy.lease_ms);
    assert_eq!(
        done_state(&b.process(&body).await).await,
        TransferState::Success
    );
    assert_eq!(w.posts(&id).posts, 1, "the next attempt follows C3");
    w.assert_invariants(&id).await;
    w.cleanup().await;
}

async fn c10(db: Db, n: usize) {
    let w = world("c10", db).await;
    let (a, b) = consumers(&w, n, Arc::new(common::Never));
    w.notifier.fail_next.store(1, Ordering::SeqCst);
    let (id, body) = transfer("10.00");
    assert!(matches!(a.process(&body).await, Outcome::Retry { .. }));
    let row = w.row(&id).await.unwrap();
    assert_eq!(
        (row.state, row.notification),
        (TransferState::Success, Some(NotificationState::Notify))
    );
    let transfers_before = w.sim.simulator().request_counts()[faults::CORE_TRANSFERS];
    w.advance(w.policy.lease_ms);
    assert_eq!(
        done_state(&b.process(&body).await).await,
        TransferState::Success
    );
    assert_eq!(
        w.sim.simulator().request_counts()[faults::CORE_TRANSFERS],
        transfers_before,
        "the retry only publishes"
    );
    assert_eq!(w.notifier.count_for(&id), 1);
    w.assert_invariants(&id).await;
    w.cleanup().await;
}

async fn c11(db: Db, n: usize) {
    let w = world("c11", db).await;
    let (a, _) = consumers(&w, n, Arc::new(common::Never));
    let (id, good) = transfer("10.00");
    let bad_amount = good.replace("\"10.00\"", "10.0");
    let wrong_version = good.replace("\"version\":1", "\"version\":2");
    let records = vec![
        Record {
            message_id: Some("m-good".into()),
            body: Some(good),
        },
        Record {
            message_id: Some("m-json".into()),
            body: Some("{not json".into()),
        },
        Record {
            message_id: Some("m-schema".into()),
            body: Some(bad_amount),
        },
        Record {
            message_id: Some("m-version".into()),
            body: Some(wrong_version),
        },
        Record {
            message_id: Some("m-nobody".into()),
            body: None,
        },
    ];
    let result = process_batch(&a, records, None).await;
    assert_eq!(
        result.response().failed_ids(),
        ["m-json", "m-schema", "m-version", "m-nobody"]
    );
    assert_eq!(w.posts(&id).posts, 1);
    w.assert_invariants(&id).await;
    w.cleanup().await;
}

async fn c12(db: Db, n: usize) {
    let w = world("c12", db).await;
    let (a, b) = consumers(&w, n, CrashAt::new(CrashPoint::AfterClaim, 1));
    let (done_id, done_body) = transfer("10.00");
    w.drive(&b, &done_body).await;
    let (busy_id, busy_body) = transfer("11.00");
    assert_eq!(
        a.process(&busy_body).await,
        Outcome::Crashed(CrashPoint::AfterClaim)
    );
    let (ok_id, ok_body) = transfer("12.00");
    let records = vec![
        Record {
            message_id: Some("m-ok".into()),
            body: Some(ok_body),
        },
        Record {
            message_id: Some("m-busy".into()),
            body: Some(busy_body),
        },
        Record {
            message_id: Some("m-done".into()),
            body: Some(done_body),
        },
    ];
    let result = process_batch(&b, records.clone(), None).await;
    let response = result.response().into_response().unwrap();
    let json = serde_json::to_value(&response).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"batchItemFailures": [{"itemIdentifier": "m-busy"}]})
    );
    // A failing record without an id: never an empty identifier, the whole batch fails.
    let mut no_id = records;
    no_id[1].message_id = None;
    let result = process_batch(&b, no_id, None).await;
    assert!(result.response().into_response().is_err());
    for id in [&done_id, &ok_id] {
        assert_eq!(w.posts(id).posts, 1);
        w.assert_invariants(id).await;
    }
    assert_eq!(w.posts(&busy_id).posts, 0);
    w.cleanup().await;
}

async fn c13(db: Db, n: usize) {
    let w = world("c13", db).await;
    let (a, b) = consumers(&w, n, CrashAt::new(CrashPoint::BeforeSend, 2));
    let (lost_id, lost_body) = transfer("10.00");
    let (stuck_id, stuck_body) = transfer("11.00");
    assert_eq!(
        a.process(&lost_body).await,
        Outcome::Crashed(CrashPoint::BeforeSend)
    );
    assert_eq!(
        a.process(&stuck_body).await,
        Outcome::Crashed(CrashPoint::BeforeSend)
    );
    // The messages went to the DLQ (maxReceiveCount): nobody redelivers. The rows stay
    // authoritative, and past the deadline the sweeper finds them.
    assert!(w.store.overdue(10).await.unwrap().is_empty());
    w.advance(w.policy.deadline_ms + 1);
    let overdue: Vec<String> = w
        .store
        .overdue(10)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.transfer_id)
        .collect();
    assert!(
        overdue.contains(&lost_id) && overdue.contains(&stuck_id),
        "{overdue:?}"
    );
    let swept = b.sweep(10).await.unwrap();
    assert_eq!(swept.len(), 2);
    for id in [&lost_id, &stuck_id] {
        let row = w.row(id).await.unwrap();
        // Never sent (crash before the request left): proven absent, no POST after the deadline.
        assert_eq!(
            (row.state, row.outcome.as_deref()),
            (TransferState::Fail, Some("DEADLINE_NOT_EXECUTED"))
        );
        assert_eq!(w.posts(id).posts, 0);
        w.assert_invariants(id).await;
    }
    assert!(w.store.overdue(10).await.unwrap().is_empty());
    w.cleanup().await;
}

async fn c14(db: Db, n: usize) {
    let w = world("c14", db).await;
    let (a, b) = consumers(&w, n, Arc::new(common::Never));
    w.sim
        .simulator()
        .set_fault(faults::CORE_TRANSFERS, script(&[Step::ErrorAfterExecute]))
        .unwrap();
    let (id, body) = transfer("10.00");
    let first = a.process(&body).await;
    assert!(matches!(first, Outcome::Retry { .. }), "{first:?}");
    assert_eq!(
        w.row(&id).await.unwrap().state,
        TransferState::Waiting,
        "ambiguous, never FAIL"
    );
    assert_eq!(
        done_state(&w.drive(&b, &body).await).await,
        TransferState::Success
    );
    assert_eq!(
        w.posts(&id),
        banca_simulators::LedgerEntry {
            posts: 1,
            executed: 1,
            rejected: 0
        }
    );
    w.assert_invariants(&id).await;
    w.cleanup().await;
}

async fn c15(db: Db, n: usize) {
    let w = world("c15", db).await;
    let (a, b) = consumers(&w, n, Arc::new(common::Never));
    w.sim
        .simulator()
        .set_fault(
            faults::CORE_TRANSFERS,
            FaultSpec {
                script: [Step::Lost].into(),
                hang_ms: 3_000,
                movement_delay_ms: 1_900,
                ..FaultSpec::default()
            },
        )
        .unwrap();
    let (id, body) = transfer("10.00");
    assert!(matches!(a.process(&body).await, Outcome::Retry { .. }));
    // Not visible yet: "not found" must hold across the settle window, so no resend.
    for _ in 0..3 {
        assert!(matches!(b.process(&body).await, Outcome::Retry { .. }));
        w.advance(500);
    }
    assert_eq!(w.posts(&id).posts, 1);
    w.advance(w.policy.settle_ms);
    assert_eq!(
        done_state(&b.process(&body).await).await,
        TransferState::Success
    );
    assert_eq!(
        w.posts(&id),
        banca_simulators::LedgerEntry {
            posts: 1,
            executed: 1,
            rejected: 0
        }
    );
    w.assert_invariants(&id).await;
    w.cleanup().await;
}

async fn c16(db: Db, n: usize) {
    let w = world("c16", db).await;
    let a = w.consumer("consumer-a", Some(CrashAt::new(CrashPoint::AfterClaim, 1)));
    // B's local clock is a century ahead; C's is 1970. Leases are judged on database time.
    let b = w.consumer_with_clock("consumer-b", Arc::new(ManualClock::new(4_102_444_800_000)));
    let c = w.consumer_with_clock("consumer-c", Arc::new(ManualClock::new(0)));
    let (id, body) = transfer("10.00");
    assert_eq!(
        a.process(&body).await,
        Outcome::Crashed(CrashPoint::AfterClaim)
    );
    assert!(
        matches!(b.process(&body).await, Outcome::Retry { .. }),
        "a skewed clock does not expire a live lease"
    );
    w.advance(w.policy.lease_ms);
    let finisher = if n == 2 { &c } else { &b };
    assert_eq!(
        done_state(&finisher.process(&body).await).await,
        TransferState::Success
    );
    assert_eq!(w.posts(&id).posts, 1);
    w.assert_invariants(&id).await;
    w.cleanup().await;
}

async fn c17(db: Db, n: usize) {
    let w = world("c17", db).await;
    let (_, b) = consumers(&w, n, Arc::new(common::Never));
    let a = w.consumer("consumer-a", None);
    let (done_id, done_body) = transfer("10.00");
    w.drive(&a, &done_body).await;
    w.sim
        .simulator()
        .set_fault(
            faults::CORE_TRANSFERS,
            FaultSpec {
                latency_ms: 350,
                ..FaultSpec::default()
            },
        )
        .unwrap();
    let (x_id, x_body) = transfer("11.00");
    let (y_id, y_body) = transfer("12.00");
    let records = vec![
        Record {
            message_id: Some("m-done".into()),
            body: Some(done_body.clone()),
        },
        Record {
            message_id: Some("m-x".into()),
            body: Some(x_body.clone()),
        },
        Record {
            message_id: Some("m-y".into()),
            body: Some(y_body.clone()),
        },
    ];
    // The invocation's time runs out while x and y are inside the core call.
    let result = process_batch(
        &a,
        records.clone(),
        Some(std::time::Duration::from_millis(150)),
    )
    .await;
    assert_eq!(
        result.response().failed_ids(),
        ["m-x", "m-y"],
        "every unfinished record comes back"
    );
    w.sim.simulator().clear_faults();
    // The abandoned calls may or may not have executed (the client went away mid-call): the
    // next delivery reconciles, and resends only once absence is proven.
    w.advance(w.policy.lease_ms + w.policy.settle_ms);
    let again = process_batch(&b, records, None).await;
    assert!(again.response().is_empty(), "{again:?}");
    assert_eq!(w.posts(&done_id).posts, 1, "finished ones are no-ops");
    for id in [&done_id, &x_id, &y_id] {
        assert_eq!(w.posts(id).executed, 1, "the rest resume from their row");
        w.assert_invariants(id).await;
    }
    w.cleanup().await;
}

async fn c18(db: Db, n: usize) {
    let w = world("c18", db).await;
    let (a, b) = consumers(&w, n, Arc::new(common::Never));
    let (id, body) = transfer("10.00");
    w.drive(&a, &body).await;
    let row = w.row(&id).await.unwrap();
    for tampered in [
        body.replace("\"10.00\"", "\"9999.00\""),
        body.replace("2200991122", "2200334455"),
        body.replace("\"2200118877\"", "\"2200334455\""),
    ] {
        assert!(matches!(
            b.process(&tampered).await,
            Outcome::Invalid { .. }
        ));
    }
    assert_eq!(w.row(&id).await.unwrap(), row, "row untouched");
    assert_eq!(w.posts(&id).posts, 1, "never executed");
    // Also before any execution, racing: whichever payload claims first wins, the other is
    // refused, and exactly one transfer moves money.
    let (id2, first) = transfer("20.00");
    let second = first.replace("\"20.00\"", "\"21.00\"");
    let _ = tokio::join!(a.process(&first), b.process(&second));
    let fx = w.drive(&a, &first).await;
    let fy = w.drive(&b, &second).await;
    let winner = match (&fx, &fy) {
        (Outcome::Done { .. }, Outcome::Invalid { .. }) => "20.00",
        (Outcome::Invalid { .. }, Outcome::Done { .. }) => "21.00",
        other => panic!("exactly one payload must win: {other:?}"),
    };
    let ledger = w.posts(&id2);
    assert_eq!((ledger.posts, ledger.executed), (1, 1));
    let moved = w.sim.simulator().all_movements("2200118877");
    assert!(
        moved
            .iter()
            .any(|m| m.reference.ends_with(&id2) && m.amount.to_string() == winner)
    );
    w.assert_invariants(&id).await;
    w.assert_invariants(&id2).await;
    w.cleanup().await;
}

/// Advances a consumer's local clock at a point (a stall between two steps).
struct Stall(Arc<ManualClock>, CrashPoint, i64);

impl CrashHook for Stall {
    fn crash(&self, point: CrashPoint, _: &str) -> bool {
        if point == self.1 {
            self.0
                .advance(std::time::Duration::from_millis(self.2 as u64));
        }
        false
    }
}

/// Not in the matrix: the consumer stalls between committing REQUEST_BEFORE and sending
/// (longer than the send guard). It must not send late; it restores the row, unspent.
async fn send_guard_stall(db: Db, n: usize) {
    let w = world("guard", db).await;
    let clock = Arc::new(ManualClock::new(1_000_000));
    let a = w.build_with(
        "consumer-a",
        Some(Arc::new(Stall(
            clock.clone(),
            CrashPoint::BeforeSend,
            1_500,
        ))),
        clock,
        Arc::new(w.http_core()),
    );
    let (_, b) = consumers(&w, n, Arc::new(common::Never));
    let (id, body) = transfer("10.00");
    let o = a.process(&body).await;
    assert!(
        matches!(&o, Outcome::Retry { reason, .. } if reason.contains("send guard")),
        "{o:?}"
    );
    // The stall was real time for everyone: the database clock moved too.
    w.advance(1_500);
    let row = w.row(&id).await.unwrap();
    assert_eq!(
        (row.state, row.attempts, row.post_sent_at_ms),
        (TransferState::EventConsumed, 0, None)
    );
    assert_eq!(w.posts(&id).posts, 0, "no late POST");
    assert_eq!(
        done_state(&b.process(&body).await).await,
        TransferState::Success,
        "lease given back"
    );
    assert_eq!(w.posts(&id).posts, 1);
    w.assert_invariants(&id).await;
    w.cleanup().await;
}

macro_rules! cases {
    ($($name:ident),* $(,)?) => {
        mod mysql {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(Db::MySql, 1).await;
                    super::$name(Db::MySql, 2).await;
                }
            )*
        }
        mod sqlite {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(Db::Sqlite, 1).await;
                    super::$name(Db::Sqlite, 2).await;
                }
            )*
        }
    };
}

cases!(
    c0,
    c1_after_claim,
    c1_before_send,
    c2_lost_response_found,
    c2_not_sent_then_resend,
    c2_unknown_at_deadline_goes_to_review,
    c3,
    c4,
    c5,
    c6,
    c7,
    c8,
    c9,
    c10,
    c11,
    c12,
    c13,
    c14,
    c15,
    c16,
    c17,
    c18,
    send_guard_stall,
);
