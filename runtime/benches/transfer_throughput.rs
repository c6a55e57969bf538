//! Benchmark: transfers per second for one processor against MariaDB and the core simulator
//! (zero injected latency), database round trips and commits per transfer, and MariaDB's
//! single-connection commit rate measured the same way, so the ratio is visible.
//!
//! `cargo bench -p banca-runtime --bench transfer_throughput` (needs `scripts/services`;
//! `BANCA_BENCH_TRANSFERS` sets the count, default 2000). Prints a Markdown table on stdout.
//! Notifications go to an in-memory notifier here: SNS is not part of what is measured.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use banca_contracts::notification::NotificationRequested;
use banca_runtime::lambda::{SeededRng, SystemClock};
use banca_runtime::transfer::batch::{Record, process_batch};
use banca_runtime::transfer::machine::Policy;
use banca_runtime::transfer::ports::{HttpCorePlatform, Notifier, NotifyError};
use banca_runtime::transfer::processor::{Processor, ProcessorParts};
use banca_runtime::transfer::store::{BoxFuture, MySqlStore, TransferStore};

struct Null;

impl Notifier for Null {
    fn publish<'a>(
        &'a self,
        _: &'a NotificationRequested,
    ) -> BoxFuture<'a, Result<(), NotifyError>> {
        Box::pin(async { Ok(()) })
    }
}

async fn fresh_db(admin_url: &str, name: &str) -> String {
    let admin = sqlx::mysql::MySqlPoolOptions::new()
        .max_connections(1)
        .connect(admin_url)
        .await
        .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name}"
    )))
    .execute(&admin)
    .await
    .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
    format!("{}/{name}", admin_url.trim_end_matches('/'))
}

fn body(id: &str, i: u64) -> String {
    serde_json::json!({
        "type": "TransferRequested", "version": 1, "transferId": id, "customerId": "C-100234",
        "sourceAccount": format!("{}", 300_000_000 + i % 100),
        "destinationAccount": format!("{}", 400_000_000 + i % 100),
        "destinationName": "Juan Perez", "amount": "12.34", "currency": "USD",
        "requestedAt": "2026-11-28T10:15:00Z", "channel": "web"
    })
    .to_string()
}

async fn run(
    store: &MySqlStore,
    base_url: &str,
    n: u64,
    in_flight: usize,
    tag: &str,
) -> (f64, f64, f64) {
    let p = Arc::new(
        Processor::new(ProcessorParts {
            store: Arc::new(store.clone()),
            core: Arc::new(
                HttpCorePlatform::new(
                    base_url,
                    "banca",
                    "banca-gateway-secret".to_owned().into(),
                    Duration::from_secs(5),
                )
                .unwrap(),
            ),
            notifier: Arc::new(Null),
            clock: Arc::new(SystemClock),
            rng: Arc::new(SeededRng::new(1)),
            policy: Policy::default(),
            inline_wait_ms: 0,
            owner_prefix: "bench".to_owned(),
        })
        .unwrap(),
    );
    let before = store.stats();
    let start = Instant::now();
    let ids: Vec<u64> = (0..n).collect();
    for chunk in ids.chunks(in_flight) {
        let records = chunk
            .iter()
            .map(|i| Record {
                message_id: Some(format!("m{i}")),
                body: Some(body(&format!("bench-{tag}-{i}"), *i)),
            })
            .collect();
        let r = process_batch(&p, records, None).await;
        assert!(r.response().is_empty(), "every transfer acknowledged");
    }
    let secs = start.elapsed().as_secs_f64();
    let after = store.stats();
    let rts = (after.round_trips - before.round_trips) as f64 / n as f64;
    let commits = (after.commits - before.commits) as f64 / n as f64;
    (n as f64 / secs, rts, commits)
}

async fn commit_rate(url: &str, n: u64) -> f64 {
    let pool = sqlx::mysql::MySqlPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
        .unwrap();
    sqlx::query("CREATE TABLE IF NOT EXISTS commit_probe (id BIGINT NOT NULL PRIMARY KEY, v VARCHAR(64) NOT NULL) ENGINE=InnoDB")
        .execute(&pool)
        .await
        .unwrap();
    let start = Instant::now();
    for i in 0..n {
        // One autocommit statement per commit: exactly how the store writes.
        sqlx::query("INSERT INTO commit_probe (id, v) VALUES (?, ?)")
            .bind(i as i64)
            .bind("x")
            .execute(&pool)
            .await
            .unwrap();
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let n: u64 = std::env::var("BANCA_BENCH_TRANSFERS").ok().and_then(|v| v.parse().ok()).unwrap_or(2_000);
        let admin = std::env::var("BANCA_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".to_owned());
        let sim = banca_simulators::start(banca_simulators::SimConfig::open()).await.unwrap();
        let url = fresh_db(&admin, "banca_bench").await;
        let store = MySqlStore::connect_lazy(&url, 10).unwrap();
        store.migrate().await.unwrap();
        // Warm-up: connections, HTTP keep-alive, InnoDB buffer pool.
        run(&store, &sim.base_url(), 100, 10, "warm").await;
        let (tps1, rts, commits) = run(&store, &sim.base_url(), n, 1, "seq").await;
        let (tps10, _, _) = run(&store, &sim.base_url(), n, 10, "batch").await;
        let cps = commit_rate(&url, n.max(1_000)).await;
        let version: String = sqlx::query_scalar("SELECT VERSION()").fetch_one(store.pool()).await.unwrap();
        let flush: String = sqlx::query_scalar("SELECT @@innodb_flush_log_at_trx_commit").fetch_one(store.pool()).await.map(|v: i64| v.to_string()).unwrap_or_default();
        println!("| measure ({n} transfers, MariaDB {version}, innodb_flush_log_at_trx_commit={flush}) | value |");
        println!("|---|---|");
        println!("| transfers/s, one processor, 1 in flight | {tps1:.0} |");
        println!("| transfers/s, one processor, batches of 10 in flight | {tps10:.0} |");
        println!("| DB round trips per transfer | {rts:.2} |");
        println!("| DB commits per transfer | {commits:.2} |");
        println!("| MariaDB single-connection commits/s | {cps:.0} |");
        println!("| commit-bound ceiling, 1 in flight (commits/s / commits per transfer) | {:.0} |", cps / commits);
        println!("| 1-in-flight throughput as share of that ceiling | {:.0}% |", 100.0 * tps1 / (cps / commits));
        let admin_pool = sqlx::mysql::MySqlPoolOptions::new().max_connections(1).connect(&admin).await.unwrap();
        let _ = sqlx::query("DROP DATABASE banca_bench").execute(&admin_pool).await;
    });
}
