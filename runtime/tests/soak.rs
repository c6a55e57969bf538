//! The seeded chaos soak: many transfers through several consumers against MariaDB, the core
//! simulator over HTTP and SNS on moto, with random crashes at every step, duplicate
//! deliveries, 5xx, timeouts, lost responses, executed-then-5xx, late movements, movement-read
//! failures and SNS failures. Every fault decision is a pure function of (seed, transferId,
//! occurrence), so a run is reproducible from its seed; only the interleaving of concurrent
//! consumers varies between runs.
//!
//! CI runs 1,000 transfers. The full run:
//! `BANCA_SOAK_TRANSFERS=10000 cargo test -p banca-runtime --test soak -- --nocapture`
//! (`BANCA_SOAK_SEED`, `BANCA_SOAK_CONSUMERS` change the seed and the number of consumers).
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use banca_contracts::notification::NotificationRequested;
use banca_runtime::transfer::batch::{Record, process_batch};
use banca_runtime::transfer::machine::{NotificationState, TransferState};
use banca_runtime::transfer::ports::{Notifier, NotifyError};
use banca_runtime::transfer::processor::{CrashHook, CrashPoint, Outcome, Processor};
use banca_runtime::transfer::store::BoxFuture;
use banca_simulators::{FaultSpec, SimConfig, faults};
use common::{Db, World};
use rust_decimal::Decimal;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A uniform draw in [0, 1) from (seed, parts...).
fn draw(seed: u64, parts: &[&str], n: u64) -> f64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
    for p in parts {
        for b in p.bytes().chain([0xff]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    let mut z = h ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// Crashes at any point with probability `rate`, decided per (transfer, point, occurrence).
struct ChaosCrash {
    seed: u64,
    rate: f64,
    seen: Mutex<HashMap<(String, CrashPoint), u64>>,
    crashes: Mutex<BTreeMap<String, u64>>,
}

impl CrashHook for ChaosCrash {
    fn crash(&self, point: CrashPoint, transfer_id: &str) -> bool {
        let n = {
            let mut seen = self.seen.lock().unwrap();
            let c = seen.entry((transfer_id.to_owned(), point)).or_default();
            *c += 1;
            *c
        };
        let hit = draw(self.seed, &[transfer_id, &format!("{point:?}")], n) < self.rate;
        if hit {
            *self
                .crashes
                .lock()
                .unwrap()
                .entry(format!("{point:?}"))
                .or_default() += 1;
        }
        hit
    }
}

/// Fails SNS publishes with probability `rate` per (dedupKey, occurrence), else delegates.
struct ChaosNotifier {
    inner: Arc<common::Counting>,
    seed: u64,
    rate: f64,
    seen: Mutex<HashMap<String, u64>>,
}

impl Notifier for ChaosNotifier {
    fn publish<'a>(
        &'a self,
        m: &'a NotificationRequested,
    ) -> BoxFuture<'a, Result<(), NotifyError>> {
        Box::pin(async move {
            let n = {
                let mut seen = self.seen.lock().unwrap();
                let c = seen.entry(m.dedup_key.clone()).or_default();
                *c += 1;
                *c
            };
            if draw(self.seed, &["sns", &m.dedup_key], n) < self.rate {
                return Err(NotifyError("injected: Throttling".to_owned()));
            }
            self.inner.publish(m).await
        })
    }
}

#[derive(Debug, Default)]
struct Report {
    transfers: u64,
    deliveries: u64,
    duplicates: u64,
    crashes: BTreeMap<String, u64>,
    retries: u64,
    success: u64,
    fail: u64,
    review: u64,
    fail_reasons: BTreeMap<String, u64>,
    double_executions: u64,
    lost: u64,
    unnotified: u64,
    core_posts: u64,
    resends_after_proven_absence: u64,
    virtual_seconds: i64,
    wall_seconds: f64,
}

async fn soak(transfers: u64, seed: u64, consumers: usize) -> Report {
    let started = std::time::Instant::now();
    let mut w = World::new("soak", Db::MySql, SimConfig::open().with_seed(seed), true).await;
    // Production's 15-minute deadline: one round of a 10,000-transfer run takes minutes of real
    // (database) time on this machine, and a shorter deadline would turn slowness into FAILs.
    w.policy.deadline_ms = 15 * 60_000;
    let sim = w.sim.simulator();
    sim.set_fault(
        faults::CORE_TRANSFERS,
        FaultSpec {
            error_rate: 0.04,
            error_after_execute_rate: 0.03,
            timeout_rate: 0.03,
            lost_response_rate: 0.04,
            movement_delay_ms: 1_500,
            hang_ms: 1_500,
            keyed: true,
            ..FaultSpec::default()
        },
    )
    .unwrap();
    sim.set_fault(
        faults::CORE_MOVEMENTS,
        FaultSpec {
            error_rate: 0.05,
            keyed: true,
            ..FaultSpec::default()
        },
    )
    .unwrap();
    sim.set_fault(
        faults::CORE_CUSTOMER_BASIC,
        FaultSpec {
            error_rate: 0.02,
            keyed: true,
            ..FaultSpec::default()
        },
    )
    .unwrap();
    let crash = Arc::new(ChaosCrash {
        seed,
        rate: 0.02,
        seen: Mutex::new(HashMap::new()),
        crashes: Mutex::new(BTreeMap::new()),
    });
    let notifier = Arc::new(ChaosNotifier {
        inner: w.notifier.clone(),
        seed,
        rate: 0.03,
        seen: Mutex::new(HashMap::new()),
    });
    let procs: Vec<Arc<Processor>> = (0..consumers)
        .map(|i| w.build_full(&format!("soak-{i}"), crash.clone(), notifier.clone()))
        .collect();

    // Messages: one per transfer, plus a duplicate copy for ~5% of them.
    let mut bodies = Vec::new();
    let mut ids = Vec::new();
    let mut amounts: HashMap<String, (String, Decimal)> = HashMap::new();
    for i in 0..transfers {
        let id = format!("soak-{seed}-{i}");
        let source = format!("{}", 100_000_000 + i % 200);
        let destination = format!("{}", 900_000_000 + i % 200);
        let cents = 100 + (draw(seed, &["amount", &id], 0) * 100_000.0) as i64;
        let amount = Decimal::new(cents, 2);
        let body = common::body(&id, &source, &destination, &format!("{amount:.2}"));
        amounts.insert(id.clone(), (source, amount));
        ids.push(id.clone());
        bodies.push(body);
    }
    let mut report = Report {
        transfers,
        ..Report::default()
    };
    // due (virtual ms) -> message indexes (into `bodies`)
    let mut due: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
    for (i, id) in ids.iter().enumerate() {
        let copies = if draw(seed, &["dup", id], 0) < 0.05 {
            2
        } else {
            1
        };
        report.duplicates += copies - 1;
        for _ in 0..copies {
            due.entry(0).or_default().push(i);
        }
    }
    let mut now = 0i64;
    let mut message_seq = 0u64;
    // Rounds: everything due within the next quantum of virtual time is delivered, in waves
    // where each consumer works on one batch of up to 10 (like one Lambda instance).
    const QUANTUM_MS: i64 = 250;
    for _round in 0..20_000 {
        let Some((&t, _)) = due.iter().next() else {
            break;
        };
        let until = t + QUANTUM_MS;
        if until > now {
            w.advance(until - now);
            now = until;
        }
        let later = due.split_off(&(until + 1));
        let ready: Vec<usize> = std::mem::replace(&mut due, later)
            .into_values()
            .flatten()
            .collect();
        let batches: Vec<Vec<usize>> = ready.chunks(10).map(<[usize]>::to_vec).collect();
        for wave in batches.chunks(consumers) {
            let mut set = tokio::task::JoinSet::new();
            for (c, chunk) in wave.iter().enumerate() {
                let p = procs[c].clone();
                let chunk = chunk.clone();
                let records: Vec<Record> = chunk
                    .iter()
                    .map(|&i| {
                        message_seq += 1;
                        Record {
                            message_id: Some(format!("m-{message_seq}")),
                            body: Some(bodies[i].clone()),
                        }
                    })
                    .collect();
                set.spawn(async move { (chunk, process_batch(&p, records, None).await) });
            }
            while let Some(joined) = set.join_next().await {
                let (chunk, result) = joined.unwrap();
                for (i, rec) in chunk.into_iter().zip(result.records) {
                    report.deliveries += 1;
                    match rec.outcome {
                        Some(Outcome::Done { .. }) => {}
                        Some(Outcome::Retry { delay_ms, .. }) => {
                            report.retries += 1;
                            due.entry(now + delay_ms.max(1)).or_default().push(i);
                        }
                        // A dead consumer: the message reappears after the visibility timeout.
                        Some(Outcome::Crashed(_)) | None => {
                            due.entry(now + w.policy.lease_ms).or_default().push(i);
                        }
                        Some(Outcome::Invalid { reason }) => {
                            panic!("valid soak message refused: {reason}")
                        }
                    }
                }
            }
        }
    }
    assert!(
        due.is_empty(),
        "soak did not converge: {} messages pending",
        due.values().map(Vec::len).sum::<usize>()
    );

    let mut debits: HashMap<String, Decimal> = HashMap::new();
    let mut expected: HashMap<String, Decimal> = HashMap::new();
    for id in &ids {
        let row = w.row(id).await;
        let ledger = w.posts(id);
        report.core_posts += ledger.posts;
        report.resends_after_proven_absence += ledger.posts.saturating_sub(1);
        if ledger.executed > 1 {
            report.double_executions += 1;
        }
        let Some(row) = row else {
            report.lost += 1;
            continue;
        };
        match row.state {
            TransferState::Success => report.success += 1,
            TransferState::Fail => {
                report.fail += 1;
                *report
                    .fail_reasons
                    .entry(row.outcome.clone().unwrap_or_default())
                    .or_default() += 1;
            }
            TransferState::Review => report.review += 1,
            _ => report.lost += 1,
        }
        if row.state.is_outcome()
            && (w.notifier.count_for(id) == 0
                || row.notification != Some(NotificationState::Notificated))
        {
            report.unnotified += 1;
        }
        w.assert_invariants(id).await;
        let (source, amount) = &amounts[id];
        // The core's own truth: what it executed is what was debited (REVIEW rows included).
        if ledger.executed == 1 {
            *expected.entry(source.clone()).or_default() += *amount;
        }
        debits.entry(source.clone()).or_default();
    }
    // Money check: every source account was debited exactly the successful transfers' amounts.
    for (account, total) in debits.iter_mut() {
        *total = sim
            .all_movements(account)
            .iter()
            .filter(|m| m.direction == "debit")
            .map(|m| m.amount.decimal())
            .sum();
        assert_eq!(
            *total,
            expected.get(account).copied().unwrap_or_default(),
            "account {account}"
        );
    }
    report.crashes = crash.crashes.lock().unwrap().clone();
    report.virtual_seconds = now / 1000;
    report.wall_seconds = started.elapsed().as_secs_f64();
    w.cleanup().await;
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_soak_executes_every_transfer_exactly_once() {
    let transfers = env_u64("BANCA_SOAK_TRANSFERS", 1_000);
    let seed = env_u64("BANCA_SOAK_SEED", 20_261_128);
    let consumers = env_u64("BANCA_SOAK_CONSUMERS", 4).max(2) as usize;
    let r = soak(transfers, seed, consumers).await;
    eprintln!("soak seed={seed} consumers={consumers}: {r:#?}");
    assert_eq!(r.double_executions, 0, "{r:?}");
    assert_eq!(r.lost, 0, "{r:?}");
    assert_eq!(r.unnotified, 0, "{r:?}");
    assert_eq!(r.success + r.fail + r.review, r.transfers);
    // The chaos really happened.
    assert!(
        r.crashes.len() >= 5,
        "crashes at most points: {:?}",
        r.crashes
    );
    assert!(
        r.duplicates > 0 && r.retries > 0 && r.resends_after_proven_absence > 0,
        "{r:?}"
    );
}
