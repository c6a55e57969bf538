//! Destroying stacks, dependants first, reporting what CloudFormation keeps (resources with
//! DeletionPolicy Retain or RetainExceptOnCreate).

use banca_model::template::DeletionPolicy;
use serde::Serialize;

use crate::assembly::Stack;
use crate::aws::Aws;
use crate::cfn::{self, EventTail, Waiting};
use crate::error::Error;
use crate::plan::{RunResult, run_ordered};
use crate::progress::{Event, Outcome, Progress};

/// A resource left in the account on purpose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Retained {
    /// Logical id.
    pub logical_id: String,
    /// Type.
    pub resource_type: String,
    /// Physical id (name or ARN), as CloudFormation knew it.
    pub physical_id: String,
}

/// A destroyed stack.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Destruction {
    /// Stack name.
    pub stack: String,
    /// Region.
    pub region: String,
    /// Destroyed, or absent.
    pub outcome: Outcome,
    /// What was kept.
    pub retained: Vec<Retained>,
}

/// Deletes one stack and waits for it.
pub async fn destroy_stack(
    aws: &Aws,
    stack: &Stack,
    waiting: Waiting,
    progress: &Progress<'_>,
) -> Result<Destruction, Error> {
    let started = tokio::time::Instant::now();
    let region = stack.environment.region.clone();
    let name = stack.stack_name.clone();
    progress.event(Event::StackStart {
        stack: name.clone(),
        region: region.clone(),
    });
    let aws = &crate::deploy::stack_clients(aws, stack, progress.printer()).await?;
    let cfn = aws.cloudformation(&region);
    let Some(deployed) = cfn::describe(&cfn, &name, &region).await? else {
        progress.event(Event::StackDone {
            stack: name.clone(),
            region: region.clone(),
            outcome: Outcome::Absent,
            elapsed_ms: 0,
        });
        return Ok(Destruction {
            stack: name,
            region,
            outcome: Outcome::Absent,
            retained: Vec::new(),
        });
    };
    if deployed.termination_protection {
        return Err(Error::StackState {
            stack: name.clone(),
            action: "destroy",
            status: "protected against termination".into(),
            hint: format!(
                "it holds state on purpose; if you really mean it, run `aws cloudformation update-termination-protection --no-enable-termination-protection --stack-name {name} --region {region}` first"
            ),
        });
    }
    if !cfn::is_terminal(&deployed.status) {
        return Err(Error::StackState {
            stack: name,
            action: "destroy",
            status: deployed.status,
            hint: "wait for the running operation to finish".into(),
        });
    }
    let template = cfn::deployed_template(&cfn, &name, &region).await?;
    let ids = cfn::physical_ids(&cfn, &name, &region).await?;
    let mut retained = Vec::new();
    if let Some((_, t)) = &template {
        for (id, r) in &t.resources {
            if matches!(
                r.deletion_policy,
                Some(DeletionPolicy::Retain | DeletionPolicy::RetainExceptOnCreate)
            ) && let Some((ty, physical)) = ids.get(id)
            {
                retained.push(Retained {
                    logical_id: id.clone(),
                    resource_type: ty.clone(),
                    physical_id: physical.clone(),
                });
            }
        }
    }
    let mut tail = EventTail::start(&cfn, &deployed.id, &region).await;
    let status = cfn::delete_stack(
        &cfn,
        &deployed.id,
        &name,
        &region,
        waiting,
        &mut tail,
        progress,
    )
    .await?;
    if status != "DELETE_COMPLETE" {
        return Err(Error::DeployFailed {
            stack: name.clone(),
            status,
            root_cause: tail
                .root_cause(&name)
                .unwrap_or_else(|| "no failed resource reported".into()),
        });
    }
    progress.event(Event::StackDone {
        stack: name.clone(),
        region: region.clone(),
        outcome: Outcome::Destroyed,
        elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    });
    Ok(Destruction {
        stack: name,
        region,
        outcome: Outcome::Destroyed,
        retained,
    })
}

/// Destroys `stacks`, dependants before what they depend on.
pub async fn destroy_all<'a>(
    aws: &Aws,
    stacks: &[&'a Stack],
    concurrency: usize,
    waiting: Waiting,
    progress: &Progress<'_>,
) -> Vec<(&'a Stack, RunResult<Destruction>)> {
    let results = run_ordered(stacks, concurrency, true, |s| async move {
        let r = destroy_stack(aws, s, waiting, progress).await;
        if let Err(e) = &r {
            progress.event(Event::StackFailed {
                stack: s.stack_name.clone(),
                region: s.environment.region.clone(),
                message: e.to_string(),
            });
        }
        r
    })
    .await;
    for (s, r) in &results {
        if let RunResult::Skipped { dependency } = r {
            progress.event(Event::StackSkipped {
                stack: s.stack_name.clone(),
                region: s.environment.region.clone(),
                reason: format!("{dependency}, which depends on it, was not destroyed"),
            });
        }
    }
    progress.finish();
    results
}
