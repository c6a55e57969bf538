//! The deploy planner: stacks run in dependency order, each as soon as the stacks it depends on
//! are done, at most `concurrency` at a time, across regions alike. Destroy runs the same graph
//! reversed. A stack whose dependency failed is skipped, not attempted.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;

use futures_util::stream::{FuturesUnordered, StreamExt};

use crate::assembly::{Assembly, Stack};
use crate::error::Error;

/// Fails when the assembly's stack dependencies have a cycle, naming it.
pub fn check_acyclic(assembly: &Assembly) -> Result<(), Error> {
    let deps: BTreeMap<&str, Vec<&str>> = assembly
        .stacks
        .iter()
        .map(|s| {
            (
                s.id.as_str(),
                s.depends_on.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    // 0 = unvisited, 1 = on the path, 2 = done.
    let mut state: BTreeMap<&str, u8> = BTreeMap::new();
    fn visit<'a>(
        id: &'a str,
        deps: &BTreeMap<&'a str, Vec<&'a str>>,
        state: &mut BTreeMap<&'a str, u8>,
        path: &mut Vec<&'a str>,
    ) -> Option<String> {
        match state.get(id) {
            Some(2) => return None,
            Some(1) => {
                let start = path.iter().position(|p| *p == id).unwrap_or(0);
                let mut cycle: Vec<&str> = path[start..].to_vec();
                cycle.push(id);
                return Some(cycle.join(" -> "));
            }
            _ => {}
        }
        state.insert(id, 1);
        path.push(id);
        for d in deps.get(id).map(Vec::as_slice).unwrap_or(&[]) {
            if let Some(c) = visit(d, deps, state, path) {
                return Some(c);
            }
        }
        path.pop();
        state.insert(id, 2);
        None
    }
    for id in deps.keys() {
        if let Some(cycle) = visit(id, &deps, &mut state, &mut Vec::new()) {
            return Err(Error::DependencyCycle { cycle });
        }
    }
    Ok(())
}

/// How one stack's run ended, for the scheduler.
#[derive(Debug)]
pub enum RunResult<T> {
    /// It ran and succeeded.
    Done(T),
    /// It ran and failed.
    Failed(Error),
    /// It did not run: a stack it needs failed or was skipped.
    Skipped {
        /// The stack it needed.
        dependency: String,
    },
}

/// Runs `f` for every stack of `stacks`, in dependency order (`reverse`: dependants first, as
/// destroy needs), at most `concurrency` at once. Dependencies outside `stacks` are taken as
/// satisfied. Results come back in `stacks` order.
pub async fn run_ordered<'a, T, F, Fut>(
    stacks: &[&'a Stack],
    concurrency: usize,
    reverse: bool,
    f: F,
) -> Vec<(&'a Stack, RunResult<T>)>
where
    F: Fn(&'a Stack) -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    let concurrency = concurrency.max(1);
    let selected: BTreeSet<&str> = stacks.iter().map(|s| s.id.as_str()).collect();
    // For each stack: what must finish before it.
    let mut waits_for: BTreeMap<&str, BTreeSet<&str>> = stacks
        .iter()
        .map(|s| (s.id.as_str(), BTreeSet::new()))
        .collect();
    for s in stacks {
        for d in &s.depends_on {
            if !selected.contains(d.as_str()) {
                continue;
            }
            let (before, after) = if reverse {
                (s.id.as_str(), d.as_str())
            } else {
                (d.as_str(), s.id.as_str())
            };
            if let Some(w) = waits_for.get_mut(after) {
                w.insert(before);
            }
        }
    }
    let mut results: BTreeMap<&str, RunResult<T>> = BTreeMap::new();
    let mut started: BTreeSet<&str> = BTreeSet::new();
    let mut running = FuturesUnordered::new();
    // Every iteration starts or finishes at least one stack, so this ends after at most
    // 2 * stacks.len() iterations.
    loop {
        let mut progressed = true;
        while progressed {
            progressed = false;
            for s in stacks {
                let id = s.id.as_str();
                if started.contains(id) {
                    continue;
                }
                let deps = waits_for.get(id).cloned().unwrap_or_default();
                if let Some(bad) = deps.iter().find(|d| {
                    matches!(
                        results.get(**d),
                        Some(RunResult::Failed(_) | RunResult::Skipped { .. })
                    )
                }) {
                    started.insert(id);
                    results.insert(
                        id,
                        RunResult::Skipped {
                            dependency: (*bad).to_owned(),
                        },
                    );
                    progressed = true;
                    continue;
                }
                let ready = deps
                    .iter()
                    .all(|d| matches!(results.get(*d), Some(RunResult::Done(_))));
                if ready && running.len() < concurrency {
                    started.insert(id);
                    let stack: &'a Stack = s;
                    let fut = f(stack);
                    running.push(async move { (stack.id.as_str(), fut.await) });
                    progressed = true;
                }
            }
        }
        match running.next().await {
            Some((id, r)) => {
                results.insert(
                    id,
                    match r {
                        Ok(t) => RunResult::Done(t),
                        Err(e) => RunResult::Failed(e),
                    },
                );
            }
            None => break,
        }
    }
    stacks
        .iter()
        .map(|s| {
            let r = results.remove(s.id.as_str()).unwrap_or(RunResult::Skipped {
                dependency: "(cycle)".to_owned(),
            });
            (*s, r)
        })
        .collect()
}

#[cfg(test)]
mod tests;
