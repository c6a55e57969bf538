//! Shared test harness: real MariaDB (a fresh database per test), real simulators over HTTP,
//! real SNS on moto, and decorators that inject crashes and failures and record every fence.
#![allow(dead_code, clippy::unwrap_used)] // each test binary uses part of the harness

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use banca_contracts::notification::NotificationRequested;
use banca_runtime::lambda::{SeededRng, SystemClock};
use banca_runtime::transfer::machine::{Policy, Row};
use banca_runtime::transfer::ports::{HttpCorePlatform, Notifier, NotifyError, SnsNotifier};
use banca_runtime::transfer::processor::{
    CrashHook, CrashPoint, Outcome, Processor, ProcessorParts,
};
use banca_runtime::transfer::store::{
    BoxFuture, MySqlStore, SqliteStore, StoreError, StoreStats, TransferStore,
};
use banca_simulators::{SimConfig, SimHandle};

/// Limits small enough for tests, still satisfying `Policy::validate` (settle > timeout + guard + delay).
pub fn test_policy() -> Policy {
    Policy {
        lease_ms: 5_000,
        settle_ms: 4_000,
        deadline_ms: 120_000,
        max_attempts: 3,
        send_guard_ms: 1_000,
        core_timeout_ms: 400,
        movement_delay_ms: 2_000,
        backoff_base_ms: 100,
        backoff_cap_ms: 2_000,
    }
}

static DB_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fresh MariaDB database for one test.
pub async fn mysql_store(tag: &str) -> MySqlStore {
    let base = std::env::var("BANCA_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".to_owned());
    let n = DB_COUNTER.fetch_add(1, Ordering::SeqCst);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let name = format!("banca_t_{}_{}_{n}_{nanos}", tag, std::process::id());
    let admin = sqlx::mysql::MySqlPoolOptions::new()
        .max_connections(1)
        .connect(&base)
        .await
        .expect("MariaDB at BANCA_MYSQL_URL (run scripts/services)");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
    let store =
        MySqlStore::connect_lazy(&format!("{}/{name}", base.trim_end_matches('/')), 8).unwrap();
    store.migrate().await.unwrap();
    store
}

/// Drops a test database (best effort).
pub async fn drop_mysql(store: &MySqlStore) {
    let name: Option<String> = sqlx::query_scalar("SELECT DATABASE()")
        .fetch_one(store.pool())
        .await
        .ok()
        .flatten();
    if let Some(name) = name {
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE {name}")))
            .execute(store.pool())
            .await;
    }
    store.pool().close().await;
}

/// A fresh SQLite database file.
pub async fn sqlite_store() -> SqliteStore {
    let n = DB_COUNTER.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("banca-sqlite-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("transfers.db");
    let _ = std::fs::remove_file(&path);
    let store = SqliteStore::open(path.to_str().unwrap()).await.unwrap();
    store.migrate().await.unwrap();
    store
}

/// Wraps a store: records every fence written per transfer (asserting it never decreases)
/// and can fail writes on demand (C9).
pub struct Recording {
    inner: Arc<dyn TransferStore>,
    pub fences: Mutex<HashMap<String, Vec<i64>>>,
    pub fail_writes: AtomicU32,
}

impl Recording {
    pub fn new(inner: Arc<dyn TransferStore>) -> Arc<Self> {
        Arc::new(Self {
            inner,
            fences: Mutex::new(HashMap::new()),
            fail_writes: AtomicU32::new(0),
        })
    }

    fn record(&self, row: &Row) {
        let mut f = self.fences.lock().unwrap();
        let v = f.entry(row.transfer_id.clone()).or_default();
        if let Some(last) = v.last() {
            assert!(
                row.fence >= *last,
                "fence went down for {}: {v:?} then {}",
                row.transfer_id,
                row.fence
            );
        }
        v.push(row.fence);
    }

    fn failing(&self) -> bool {
        self.fail_writes
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("injected: database unavailable")]
struct Injected;

impl TransferStore for Recording {
    fn load<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(i64, Option<Row>), StoreError>> {
        self.inner.load(id)
    }
    fn insert<'a>(&'a self, row: &'a Row) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            if self.failing() {
                return Err(StoreError::Unavailable(Box::new(Injected)));
            }
            let ok = self.inner.insert(row).await?;
            if ok {
                self.record(row);
            }
            Ok(ok)
        })
    }
    fn update<'a>(
        &'a self,
        row: &'a Row,
        expected: i64,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            if self.failing() {
                return Err(StoreError::Unavailable(Box::new(Injected)));
            }
            let ok = self.inner.update(row, expected).await?;
            if ok {
                self.record(row);
            }
            Ok(ok)
        })
    }
    fn overdue<'a>(&'a self, limit: u32) -> BoxFuture<'a, Result<Vec<Row>, StoreError>> {
        self.inner.overdue(limit)
    }
    fn stats(&self) -> StoreStats {
        self.inner.stats()
    }
}

/// Publishes for real (SNS on moto, when given) and counts successful publishes per dedupKey;
/// can fail the next publishes (C10).
pub struct Counting {
    inner: Option<SnsNotifier>,
    pub published: Mutex<HashMap<String, u32>>,
    pub fail_next: AtomicU32,
}

impl Counting {
    pub fn new(inner: Option<SnsNotifier>) -> Arc<Self> {
        Arc::new(Self {
            inner,
            published: Mutex::new(HashMap::new()),
            fail_next: AtomicU32::new(0),
        })
    }

    pub fn count_for(&self, transfer_id: &str) -> u32 {
        let p = self.published.lock().unwrap();
        p.iter()
            .filter(|(k, _)| k.starts_with(&format!("transfer:{transfer_id}:")))
            .map(|(_, v)| *v)
            .sum()
    }
}

impl Notifier for Counting {
    fn publish<'a>(
        &'a self,
        m: &'a NotificationRequested,
    ) -> BoxFuture<'a, Result<(), NotifyError>> {
        Box::pin(async move {
            if self
                .fail_next
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
            {
                return Err(NotifyError(
                    "injected: Throttling: rate exceeded".to_owned(),
                ));
            }
            if let Some(sns) = &self.inner {
                sns.publish(m).await?;
            }
            *self
                .published
                .lock()
                .unwrap()
                .entry(m.dedup_key.clone())
                .or_default() += 1;
            Ok(())
        })
    }
}

/// Crashes at a point for the first `times` passes (for any transfer).
pub struct CrashAt {
    pub point: CrashPoint,
    pub times: AtomicU32,
}

impl CrashAt {
    pub fn new(point: CrashPoint, times: u32) -> Arc<Self> {
        Arc::new(Self {
            point,
            times: AtomicU32::new(times),
        })
    }
}

impl CrashHook for CrashAt {
    fn crash(&self, point: CrashPoint, _: &str) -> bool {
        point == self.point
            && self
                .times
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
    }
}

/// Never crashes.
pub struct Never;

impl CrashHook for Never {
    fn crash(&self, _: CrashPoint, _: &str) -> bool {
        false
    }
}

/// Waits (bounded: 10 s) for a condition that another task makes true over real I/O.
pub async fn wait_until(cond: impl Fn() -> bool) {
    for _ in 0..2_000 {
        if cond() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    panic!("condition not reached within 10 s");
}

/// Real SNS topic on moto (unique name), or `None` when moto is not configured.
pub async fn sns_topic(tag: &str) -> (aws_config::SdkConfig, String) {
    let sdk = banca_runtime::lambda::load_sdk_config().await;
    let client = aws_sdk_sns::Client::new(&sdk);
    let n = DB_COUNTER.fetch_add(1, Ordering::SeqCst);
    let out = client
        .create_topic()
        .name(format!("notifications-{tag}-{}-{n}", std::process::id()))
        .send()
        .await
        .expect("moto at AWS_ENDPOINT_URL (run scripts/services)");
    (sdk, out.topic_arn.unwrap())
}

/// One test's world: simulator, store, notifier, database-time control, consumers.
pub struct World {
    pub sim: SimHandle,
    pub store: Arc<Recording>,
    pub notifier: Arc<Counting>,
    pub offset: Arc<AtomicI64>,
    pub policy: Policy,
    mysql: Option<MySqlStore>,
}

pub enum Db {
    MySql,
    Sqlite,
}

impl World {
    pub async fn new(tag: &str, db: Db, sim_config: SimConfig, sns: bool) -> Self {
        let sim = banca_simulators::start(sim_config).await.unwrap();
        let offset = Arc::new(AtomicI64::new(0));
        let (inner, mysql): (Arc<dyn TransferStore>, _) = match db {
            Db::MySql => {
                let s = mysql_store(tag).await.with_time_offset(offset.clone());
                (Arc::new(s.clone()), Some(s))
            }
            Db::Sqlite => (
                Arc::new(sqlite_store().await.with_time_offset(offset.clone())),
                None,
            ),
        };
        let notifier = if sns {
            let (sdk, arn) = sns_topic(tag).await;
            Counting::new(Some(SnsNotifier::new(&sdk, &arn)))
        } else {
            Counting::new(None)
        };
        Self {
            sim,
            store: Recording::new(inner),
            notifier,
            offset,
            policy: test_policy(),
            mysql,
        }
    }

    /// A consumer whose local clock is `clock` (C16).
    pub fn consumer_with_clock(
        &self,
        name: &str,
        clock: Arc<dyn banca_runtime::lambda::Clock>,
    ) -> Arc<Processor> {
        self.build(name, None, clock)
    }

    /// A consumer (think: one Lambda instance).
    pub fn consumer(&self, name: &str, crash: Option<Arc<dyn CrashHook>>) -> Arc<Processor> {
        self.build(name, crash, Arc::new(SystemClock))
    }

    /// The core platform client over HTTP to the simulator.
    pub fn http_core(&self) -> HttpCorePlatform {
        HttpCorePlatform::new(
            &self.sim.base_url(),
            "banca",
            "banca-gateway-secret".to_owned().into(),
            std::time::Duration::from_millis(u64::try_from(self.policy.core_timeout_ms).unwrap()),
        )
        .unwrap()
    }

    fn build(
        &self,
        name: &str,
        crash: Option<Arc<dyn CrashHook>>,
        clock: Arc<dyn banca_runtime::lambda::Clock>,
    ) -> Arc<Processor> {
        self.build_with(name, crash, clock, Arc::new(self.http_core()))
    }

    /// A consumer with a crash hook and its own notifier (the soak's chaotic one).
    pub fn build_full(
        &self,
        name: &str,
        crash: Arc<dyn CrashHook>,
        notifier: Arc<dyn Notifier>,
    ) -> Arc<Processor> {
        let p = Processor::new(ProcessorParts {
            store: self.store.clone(),
            core: Arc::new(self.http_core()),
            notifier,
            clock: Arc::new(SystemClock),
            rng: Arc::new(SeededRng::new(name.len() as u64)),
            policy: self.policy,
            inline_wait_ms: 0,
            owner_prefix: name.to_owned(),
        })
        .unwrap();
        Arc::new(p.with_crash_hook(crash))
    }

    /// A consumer with its own core platform client (e.g. a gated one).
    pub fn build_with(
        &self,
        name: &str,
        crash: Option<Arc<dyn CrashHook>>,
        clock: Arc<dyn banca_runtime::lambda::Clock>,
        core: Arc<dyn banca_runtime::transfer::ports::CorePlatform>,
    ) -> Arc<Processor> {
        let p = Processor::new(ProcessorParts {
            store: self.store.clone(),
            core,
            notifier: self.notifier.clone(),
            clock,
            rng: Arc::new(SeededRng::new(name.len() as u64)),
            policy: self.policy,
            // Every retry goes back to the "queue", so tests control time explicitly.
            inline_wait_ms: 0,
            owner_prefix: name.to_owned(),
        })
        .unwrap();
        Arc::new(match crash {
            Some(c) => p.with_crash_hook(c),
            None => p,
        })
    }

    /// Moves database time and the simulators' clock forward together (no sleeping).
    pub fn advance(&self, ms: i64) {
        self.offset.fetch_add(ms, Ordering::SeqCst);
        self.sim
            .simulator()
            .advance_clock(std::time::Duration::from_millis(ms as u64));
    }

    /// The MariaDB store (panics for SQLite worlds).
    pub fn mysql(&self) -> &MySqlStore {
        self.mysql.as_ref().expect("a MySQL world")
    }

    pub async fn row(&self, transfer_id: &str) -> Option<Row> {
        self.store.load(transfer_id).await.unwrap().1
    }

    pub fn posts(&self, transfer_id: &str) -> banca_simulators::LedgerEntry {
        self.sim
            .simulator()
            .ledger(&banca_runtime::transfer::processor::reference_of(
                transfer_id,
            ))
    }

    /// Redelivers until acknowledged, advancing time by each retry's delay (bounded).
    pub async fn drive(&self, consumer: &Processor, body: &str) -> Outcome {
        let mut last = None;
        for _ in 0..30 {
            let o = consumer.process(body).await;
            match &o {
                Outcome::Done { .. } | Outcome::Invalid { .. } => return o,
                Outcome::Retry { delay_ms, .. } => self.advance((*delay_ms).max(1)),
                Outcome::Crashed(_) => self.advance(self.policy.lease_ms),
            }
            last = Some(o);
        }
        panic!("not acknowledged after 30 deliveries: {last:?}");
    }

    /// The invariants of every crash-matrix case, for one transfer.
    pub async fn assert_invariants(&self, transfer_id: &str) {
        let row = self.row(transfer_id).await.expect("row exists");
        let ledger = self.posts(transfer_id);
        assert!(ledger.executed <= 1, "double execution: {ledger:?}");
        // More than one POST only when the row's attempts say reconciliation proved the earlier
        // ones absent (each resend is recorded as a new attempt).
        assert!(
            ledger.posts <= u64::from(row.attempts),
            "unrecorded POST: {ledger:?} vs {row:?}"
        );
        if row.state.is_outcome() {
            assert!(
                self.notifier.count_for(transfer_id) >= 1,
                "terminal without notification: {row:?}"
            );
        }
        use banca_runtime::transfer::machine::TransferState;
        match row.state {
            TransferState::Success => assert_eq!(ledger.executed, 1, "{row:?}"),
            TransferState::Fail => assert_eq!(ledger.executed, 0, "{row:?}"),
            _ => {}
        }
        let fences = self.store.fences.lock().unwrap();
        let f = fences.get(transfer_id).cloned().unwrap_or_default();
        assert!(f.windows(2).all(|w| w[0] <= w[1]), "fences {f:?}");
    }

    pub async fn cleanup(self) {
        if let Some(m) = &self.mysql {
            drop_mysql(m).await;
        }
    }
}

static TRANSFER_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A valid TransferRequested body with a unique transferId.
pub fn transfer(amount: &str) -> (String, String) {
    let n = TRANSFER_COUNTER.fetch_add(1, Ordering::SeqCst);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
        % 1_000_000_000_000;
    let id = format!("t-{}-{n}-{nanos}", std::process::id());
    (id.clone(), body(&id, "2200118877", "2200991122", amount))
}

pub fn body(id: &str, source: &str, destination: &str, amount: &str) -> String {
    serde_json::json!({
        "type": "TransferRequested", "version": 1, "transferId": id, "customerId": "C-100234",
        "sourceAccount": source, "destinationAccount": destination,
        "destinationName": "Juan Perez", "amount": amount, "currency": "USD",
        "description": "rent", "requestedAt": "2026-11-28T10:15:00Z", "channel": "mobile"
    })
    .to_string()
}
