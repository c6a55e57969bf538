#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use banca_model::template::Template;

use super::*;
use crate::assembly::Environment;

fn stack(id: &str, region: &str, deps: &[&str]) -> Stack {
    Stack {
        id: id.into(),
        stack_name: id.into(),
        display_name: id.into(),
        environment: Environment {
            account: Some("1".into()),
            region: region.into(),
        },
        template_file: PathBuf::new(),
        template: Template::new(),
        template_body: String::new(),
        parameters: Default::default(),
        tags: Default::default(),
        termination_protection: false,
        assume_role_arn: None,
        execution_role_arn: None,
        template_asset_url: None,
        bootstrap: None,
        depends_on: deps.iter().map(|d| (*d).to_owned()).collect(),
        assets: vec![],
        notification_arns: vec![],
    }
}

/// Runs the graph with fake work of `secs[id]` seconds each (paused clock), returning the
/// (start, end) second of every stack and the results.
async fn simulate(
    stacks: &[Stack],
    concurrency: usize,
    reverse: bool,
    failing: &[&str],
) -> (Vec<(String, u64, u64)>, Vec<(String, String)>) {
    let log = Mutex::new(Vec::new());
    let t0 = tokio::time::Instant::now();
    let refs: Vec<&Stack> = stacks.iter().collect();
    let results = run_ordered(&refs, concurrency, reverse, |s| {
        let log = &log;
        async move {
            let start = t0.elapsed().as_secs();
            tokio::time::sleep(Duration::from_secs(
                if s.environment.region == "us-west-2" {
                    3
                } else {
                    2
                },
            ))
            .await;
            log.lock()
                .unwrap()
                .push((s.id.clone(), start, t0.elapsed().as_secs()));
            if failing.contains(&s.id.as_str()) {
                Err(Error::Dr(format!("{} failed", s.id)))
            } else {
                Ok(())
            }
        }
    })
    .await;
    let mut log = log.into_inner().unwrap();
    log.sort();
    let results = results
        .into_iter()
        .map(|(s, r)| {
            (
                s.id.clone(),
                match r {
                    RunResult::Done(()) => "done".to_owned(),
                    RunResult::Failed(e) => format!("failed: {e}"),
                    RunResult::Skipped { dependency } => format!("skipped: {dependency}"),
                },
            )
        })
        .collect();
    (log, results)
}

fn app() -> Vec<Stack> {
    vec![
        stack("global", "us-east-1", &[]),
        stack("network", "us-east-1", &[]),
        stack("data", "us-east-1", &["network"]),
        stack("backend", "us-east-1", &["data", "global"]),
        stack("network-dr", "us-west-2", &[]),
        stack("data-dr", "us-west-2", &["network-dr", "data"]),
    ]
}

#[tokio::test(start_paused = true)]
async fn stacks_start_as_soon_as_their_dependencies_are_done_across_regions() {
    let (log, results) = simulate(&app(), 4, false, &[]).await;
    assert!(results.iter().all(|(_, r)| r == "done"), "{results:?}");
    assert_eq!(
        log,
        vec![
            ("backend".into(), 4, 6),
            ("data".into(), 2, 4),
            ("data-dr".into(), 4, 7),
            ("global".into(), 0, 2),
            ("network".into(), 0, 2),
            ("network-dr".into(), 0, 3),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn concurrency_limits_how_many_run_at_once() {
    let (log, _) = simulate(&app(), 1, false, &[]).await;
    // One at a time: no two intervals overlap, 2+2+2+2+3+3 seconds in all.
    let end = log.iter().map(|(_, _, e)| *e).max().unwrap();
    assert_eq!(end, 14);
    for (i, a) in log.iter().enumerate() {
        for b in log.iter().skip(i + 1) {
            assert!(a.2 <= b.1 || b.2 <= a.1, "{a:?} overlaps {b:?}");
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_failure_skips_what_depends_on_it_and_nothing_else() {
    let (_, results) = simulate(&app(), 4, false, &["data"]).await;
    let get = |id: &str| results.iter().find(|(s, _)| s == id).unwrap().1.clone();
    assert_eq!(get("data"), "failed: dr: data failed");
    assert_eq!(get("backend"), "skipped: data");
    assert_eq!(get("data-dr"), "skipped: data");
    assert_eq!(get("global"), "done");
    assert_eq!(get("network-dr"), "done");
}

#[tokio::test(start_paused = true)]
async fn destroy_order_is_reversed() {
    let (log, _) = simulate(&app(), 4, true, &[]).await;
    let at = |id: &str| log.iter().find(|(s, _, _)| s == id).unwrap().clone();
    assert!(at("backend").2 <= at("data").1);
    assert!(at("data-dr").2 <= at("data").1);
    assert!(at("data").2 <= at("network").1);
}

#[test]
fn cycles_are_named() {
    let a = Assembly {
        dir: PathBuf::new(),
        version: "48.0.0".into(),
        stacks: vec![
            stack("a", "r", &["b"]),
            stack("b", "r", &["c"]),
            stack("c", "r", &["a"]),
        ],
    };
    let e = check_acyclic(&a).unwrap_err().to_string();
    assert!(e.contains("a -> b -> c -> a"), "{e}");
    assert!(e.contains("hint:"), "{e}");
}
