//! user-summary against the core and independent simulators and Redis, with controlled time.

use std::sync::Arc;
use std::time::Duration;

use banca_handlers::summary::{BasicInfoCache, SummaryDeps, handle};
use banca_runtime::lambda::Clock;
use banca_simulators::{FaultSpec, faults};

use crate::common::*;

const USER: (&str, &str) = ("u-maria", "C-100234");

async fn rig() -> (
    SummaryDeps,
    banca_simulators::SimHandle,
    Arc<banca_runtime::lambda::ManualClock>,
) {
    let sim = sim().await;
    let clock = manual_clock();
    let dyn_clock: Arc<dyn Clock> = clock.clone();
    let deps = SummaryDeps {
        cache: BasicInfoCache::new(
            redis().await,
            &format!("{}:", unique("sum")),
            300,
            3600,
            dyn_clock.clone(),
        ),
        core: gateway(&sim, dyn_clock.clone()),
        independent: gateway(&sim, dyn_clock),
    };
    (deps, sim, clock)
}

async fn get(deps: &SummaryDeps, query: &[(&str, &str)]) -> (i64, serde_json::Value) {
    status_and_body(
        &handle(
            deps,
            api_request("GET", "/me/summary", None, Some(USER), query),
        )
        .await,
    )
}

fn basic_calls(sim: &banca_simulators::SimHandle) -> u64 {
    sim.simulator()
        .request_counts()
        .get(faults::CORE_CUSTOMER_BASIC)
        .copied()
        .unwrap_or(0)
}

#[tokio::test]
async fn basic_info_is_lazy_loaded_cached_and_refreshed_on_demand() {
    let (deps, sim, clock) = rig().await;
    // Some transfers so the light endpoint has data.
    let core = gateway(&sim, clock.clone());
    let _ = core;
    let (status, body) = get(&deps, &[]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["basicStatus"], "fresh");
    assert_eq!(body["basic"]["fullName"], "Maria Lopez");
    assert_eq!(body["transfersStatus"], "fresh");
    assert!(body["latestTransfers"].as_array().unwrap().len() <= 4);
    assert_eq!(body["completeStatus"], "skipped");
    assert_eq!(basic_calls(&sim), 1);

    let (_, body) = get(&deps, &[]).await;
    assert_eq!(body["basicStatus"], "cached");
    assert_eq!(basic_calls(&sim), 1, "served from Redis");

    let (_, body) = get(&deps, &[("refresh", "true")]).await;
    assert_eq!(body["basicStatus"], "fresh");
    assert_eq!(basic_calls(&sim), 2, "invalidated on demand");

    clock.advance(Duration::from_secs(301));
    let (_, body) = get(&deps, &[("include", "basic")]).await;
    assert_eq!(body["basicStatus"], "fresh", "TTL over: reloaded");
    assert_eq!(body["transfersStatus"], "skipped");
    assert_eq!(basic_calls(&sim), 3);

    let (_, body) = get(&deps, &[("include", "complete")]).await;
    assert_eq!(body["completeStatus"], "fresh");
    assert_eq!(body["complete"]["nationalId"], "1710034065");
    assert_eq!(body["complete"]["monthlyIncome"], "2500.00");
}

#[tokio::test]
async fn core_failures_degrade_to_the_cache_with_a_clear_status() {
    let (deps, sim, clock) = rig().await;
    assert_eq!(get(&deps, &[]).await.1["basicStatus"], "fresh");
    clock.advance(Duration::from_secs(301));
    for endpoint in [
        faults::CORE_CUSTOMER_BASIC,
        faults::CORE_TRANSFERS_LATEST,
        faults::INDEPENDENT_CUSTOMER_COMPLETE,
    ] {
        sim.simulator()
            .set_fault(
                endpoint,
                FaultSpec {
                    error_rate: 1.0,
                    status: 503,
                    ..FaultSpec::default()
                },
            )
            .unwrap();
    }
    let (status, body) = get(&deps, &[("include", "basic,transfers,complete")]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["basicStatus"], "stale");
    assert_eq!(body["basic"]["email"], "maria@example.com");
    assert_eq!(body["transfersStatus"], "unavailable");
    assert!(body.get("latestTransfers").is_none());
    assert_eq!(body["completeStatus"], "unavailable");

    // Nothing cached and everything down: 503 with each part marked unavailable.
    let (fresh_deps, sim2, _) = rig().await;
    for endpoint in [faults::CORE_CUSTOMER_BASIC, faults::CORE_TRANSFERS_LATEST] {
        sim2.simulator()
            .set_fault(
                endpoint,
                FaultSpec {
                    error_rate: 1.0,
                    status: 500,
                    ..FaultSpec::default()
                },
            )
            .unwrap();
    }
    let (status, body) = get(&fresh_deps, &[]).await;
    assert_eq!(status, 503);
    assert_eq!(
        (
            body["basicStatus"].as_str(),
            body["transfersStatus"].as_str()
        ),
        (Some("unavailable"), Some("unavailable"))
    );
}

#[tokio::test]
async fn bad_queries_unknown_customers_and_missing_identity() {
    let (deps, _sim, _) = rig().await;
    let (status, body) = get(&deps, &[("include", "basic,secrets")]).await;
    assert_eq!(status, 400);
    assert!(body["message"].as_str().unwrap().contains("\"secrets\""));
    assert_eq!(get(&deps, &[("refresh", "yes")]).await.0, 400);
    let resp = handle(
        &deps,
        api_request("GET", "/me/summary", None, Some(("u-x", "C-999999")), &[]),
    )
    .await;
    assert_eq!(status_and_body(&resp).0, 404);
    let resp = handle(&deps, api_request("GET", "/me/summary", None, None, &[])).await;
    assert_eq!(status_and_body(&resp).0, 401);
}
