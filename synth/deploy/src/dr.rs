//! The disaster-recovery runs of the warm-standby region.
//!
//! - `dr bootstrap`: bootstrap the DR region, then deploy its standby stacks in dependency
//!   order, after the stacks they need elsewhere (the primary's global prerequisites), which
//!   are left alone when already deployed.
//! - `dr failover`: the runbook, in order: promote the RDS cross-region read replicas of the DR
//!   stacks; raise standby capacity: every DR stack with a capacity switch (a
//!   [`CAPACITY_PARAMETER`] parameter allowing `standby` and `active`) is updated to `active`
//!   with its previous template and every other parameter as it was (a CloudFormation update,
//!   so nothing drifts; the stacks run concurrently), and an Auto Scaling group of a DR stack
//!   without a switch is raised directly (MinSize and DesiredCapacity to its MaxSize); then
//!   fail Route 53 over by inverting the health checks of the PRIMARY failover records, so the
//!   SECONDARY answers. Each step is reported with its timing; `--dry-run` prints the plan and
//!   changes nothing.
//! - `dr status`: what is deployed where, the capacity switch of each DR stack, replication
//!   health of the replicas (RDS status infos), which region is active.
//!
//! The steps come from the synthesized templates (which resources are replicas, ASGs, failover
//! records) and the physical ids from CloudFormation, so the runbook follows the code.

use std::collections::BTreeMap;

use banca_synth::cli::{ExitStatus, Printer, Style};
use futures_util::StreamExt;
use serde::Serialize;
use serde_json::Value as Json;

use crate::assembly::{Assembly, Stack};
use crate::aws::Aws;
use crate::cfn::{self, Waiting};
use crate::commands::{AppArgs, WaitArgs};
use crate::deploy::{DeployMethod, DeployOptions, RequireApproval, deploy_all};
use crate::error::Error;
use crate::plan::RunResult;
use crate::progress::{Outcome, Progress};

/// The stack parameter of a DR stack's capacity switch: `standby` (default) or `active`.
pub const CAPACITY_PARAMETER: &str = "Capacity";
/// The value that raises a DR stack to the primary's capacity.
pub const ACTIVE_CAPACITY: &str = "active";

/// The two regions.
#[derive(Debug, Clone, clap::Args)]
pub struct Regions {
    /// The primary region.
    #[arg(long, env = "BANCA_PRIMARY_REGION", default_value = "us-east-1")]
    pub primary_region: String,
    /// The warm-standby (DR) region.
    #[arg(long, env = "BANCA_DR_REGION", default_value = "us-west-2")]
    pub dr_region: String,
}

/// `banca dr ...`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum DrCommand {
    /// Bootstrap the DR region and deploy its standby stacks.
    Bootstrap(DrBootstrapArgs),
    /// Promote the DR region: RDS replica, capacity, Route 53.
    Failover(DrFailoverArgs),
    /// What is deployed where, replication health, the active region.
    Status(DrStatusArgs),
}

/// `banca dr bootstrap`.
#[derive(Debug, Clone, clap::Args)]
pub struct DrBootstrapArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub regions: Regions,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub app: AppArgs,
    /// When to ask before deploying.
    #[arg(long, value_enum, default_value_t = RequireApproval::Broadening)]
    pub require_approval: RequireApproval,
    /// Most stacks deploying at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
    /// The bootstrap qualifier.
    #[arg(long, default_value = crate::bootstrap::DEFAULT_QUALIFIER)]
    pub qualifier: String,
    /// How new stacks are created: through a change set, or directly.
    #[arg(long, value_enum, default_value_t = DeployMethod::ChangeSet)]
    pub method: DeployMethod,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub wait: WaitArgs,
}

/// `banca dr failover`.
#[derive(Debug, Clone, clap::Args)]
pub struct DrFailoverArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub regions: Regions,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub app: AppArgs,
    /// Print the plan; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Most DR stacks raising their capacity at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
    /// Resume the runbook at this step (1-based, as the plan numbers them), e.g. after a
    /// step failed and its cause was fixed, or after doing a step by hand.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    pub from_step: u16,
    /// Do not ask for confirmation (promoting a replica cannot be undone).
    #[arg(long, short = 'y')]
    pub yes: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub wait: WaitArgs,
}

/// `banca dr status`.
#[derive(Debug, Clone, clap::Args)]
pub struct DrStatusArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub regions: Regions,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub app: AppArgs,
}

/// Runs a `banca dr` command.
pub async fn run(cmd: &DrCommand, printer: &Printer) -> ExitStatus {
    let aws = Aws::from_env().await;
    run_with(cmd, printer, &aws).await
}

/// Runs a `banca dr` command with these clients.
pub async fn run_with(cmd: &DrCommand, printer: &Printer, aws: &Aws) -> ExitStatus {
    let result = match cmd {
        DrCommand::Bootstrap(a) => dr_bootstrap(a, printer, aws).await,
        DrCommand::Failover(a) => failover(a, printer, aws).await,
        DrCommand::Status(a) => status(a, printer, aws).await,
    };
    result.unwrap_or_else(|e| {
        printer.error(e.to_string());
        ExitStatus::Error
    })
}

fn check_regions(r: &Regions) -> Result<(), Error> {
    if r.primary_region == r.dr_region {
        return Err(Error::Dr(format!(
            "--dr-region must differ from --primary-region, got {} for both\nhint: pass the warm-standby region, e.g. --dr-region us-west-2",
            r.dr_region
        )));
    }
    Ok(())
}

async fn dr_bootstrap(
    args: &DrBootstrapArgs,
    printer: &Printer,
    aws: &Aws,
) -> Result<ExitStatus, Error> {
    check_regions(&args.regions)?;
    let assembly = Assembly::read(&args.app.app)?;
    let dr = &args.regions.dr_region;
    let standby: Vec<&Stack> = assembly
        .stacks
        .iter()
        .filter(|s| &s.environment.region == dr)
        .collect();
    if standby.is_empty() {
        return Err(Error::Dr(format!(
            "the assembly has no stack in the DR region {dr}\nhint: synthesize with dr.region set to {dr}, or pass the right --dr-region"
        )));
    }
    let stacks = assembly.with_dependencies(&standby);
    let account = standby[0].environment.account.clone();
    let waiting = args.wait.waiting();
    let started = tokio::time::Instant::now();
    let mut rows = vec![(crate::bootstrap::TOOLKIT_STACK_NAME.to_owned(), dr.clone())];
    rows.extend(
        stacks
            .iter()
            .map(|s| (s.stack_name.clone(), s.environment.region.clone())),
    );
    let progress = Progress::new(printer, &format!("bootstrapping DR region {dr}"), &rows);
    let boot = crate::bootstrap::bootstrap_region(
        aws,
        dr,
        account.as_deref(),
        &args.qualifier,
        &[],
        waiting,
        &progress,
    )
    .await?;
    printer.data(format!(
        "{dr}  {}  {}",
        boot.stack,
        if boot.outcome == Outcome::Unchanged {
            "already bootstrapped"
        } else {
            "bootstrapped"
        }
    ));
    let opts = DeployOptions {
        concurrency: usize::from(args.concurrency),
        require_approval: args.require_approval,
        method: args.method,
        waiting,
        ..DeployOptions::default()
    };
    let results = deploy_all(aws, &stacks, &opts, &progress).await;
    let mut status = ExitStatus::Success;
    for (stack, r) in &results {
        match r {
            RunResult::Done(d) => {
                printer.record("stack_result", d);
                printer.data(format!(
                    "{}  {}  {}",
                    d.stack,
                    d.region,
                    match d.outcome {
                        Outcome::Created => "created",
                        Outcome::Updated => "updated",
                        _ => "no changes",
                    }
                ));
            }
            RunResult::Failed(e) => {
                printer.error(e.to_string());
                status = ExitStatus::Error;
            }
            RunResult::Skipped { dependency } => {
                printer.error(
                    Error::DependencyFailed {
                        stack: stack.stack_name.clone(),
                        dependency: dependency.clone(),
                    }
                    .to_string(),
                );
                status = ExitStatus::Error;
            }
        }
    }
    printer.note(format!(
        "DR region {dr}: {} stack(s) in {}",
        results.len(),
        banca_synth::cli::progress::elapsed(started.elapsed())
    ));
    Ok(status)
}

/// One step of the failover runbook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Step {
    /// Promote an RDS cross-region read replica to a standalone writer.
    PromoteReplica {
        /// Stack name.
        stack: String,
        /// Region.
        region: String,
        /// Logical id.
        logical_id: String,
    },
    /// Set a DR stack's capacity switch to `active` (a stack update with the previous
    /// template).
    ActivateCapacity {
        /// Stack name.
        stack: String,
        /// Region.
        region: String,
    },
    /// Raise an Auto Scaling group of a stack without a capacity switch to full capacity.
    RaiseCapacity {
        /// Stack name.
        stack: String,
        /// Region.
        region: String,
        /// Logical id.
        logical_id: String,
    },
    /// Invert the health check of a PRIMARY failover record, so Route 53 answers with the
    /// SECONDARY (DR) record.
    InvertHealthCheck {
        /// Stack name.
        stack: String,
        /// Region of the stack.
        region: String,
        /// Logical id of the health check.
        logical_id: String,
        /// The record it guards.
        record: String,
    },
}

impl Step {
    fn describe(&self) -> String {
        match self {
            Step::PromoteReplica {
                stack, logical_id, ..
            } => format!("promote RDS read replica {stack}/{logical_id}"),
            Step::ActivateCapacity { stack, .. } => {
                format!("raise {stack} to full capacity ({CAPACITY_PARAMETER}={ACTIVE_CAPACITY})")
            }
            Step::RaiseCapacity {
                stack, logical_id, ..
            } => format!("raise Auto Scaling group {stack}/{logical_id} to full capacity"),
            Step::InvertHealthCheck {
                stack,
                logical_id,
                record,
                ..
            } => format!(
                "fail Route 53 over: invert health check {stack}/{logical_id} of PRIMARY record {record}"
            ),
        }
    }
}

fn ref_target(v: Option<&Json>) -> Option<String> {
    v?.get("Ref")?.as_str().map(str::to_owned)
}

/// The failover runbook of an assembly, in execution order.
pub fn failover_plan(assembly: &Assembly, regions: &Regions) -> Vec<Step> {
    let mut promote = Vec::new();
    let mut raise = Vec::new();
    let mut dns = Vec::new();
    for s in &assembly.stacks {
        let in_dr = s.environment.region == regions.dr_region;
        let switched = in_dr && has_capacity_switch(s);
        if switched {
            raise.push(Step::ActivateCapacity {
                stack: s.stack_name.clone(),
                region: s.environment.region.clone(),
            });
        }
        for (id, r) in &s.template.resources {
            let p = &r.properties;
            match r.type_name.as_str() {
                "AWS::RDS::DBInstance"
                    if in_dr && p.get("SourceDBInstanceIdentifier").is_some() =>
                {
                    promote.push(Step::PromoteReplica {
                        stack: s.stack_name.clone(),
                        region: s.environment.region.clone(),
                        logical_id: id.clone(),
                    });
                }
                "AWS::AutoScaling::AutoScalingGroup" if in_dr && !switched => {
                    raise.push(Step::RaiseCapacity {
                        stack: s.stack_name.clone(),
                        region: s.environment.region.clone(),
                        logical_id: id.clone(),
                    })
                }
                "AWS::Route53::RecordSet"
                    if p.get("Failover").and_then(Json::as_str) == Some("PRIMARY") =>
                {
                    if let Some(hc) = ref_target(p.get("HealthCheckId")) {
                        dns.push(Step::InvertHealthCheck {
                            stack: s.stack_name.clone(),
                            region: s.environment.region.clone(),
                            logical_id: hc,
                            record: p
                                .get("Name")
                                .map(crate::diff::render_value)
                                .unwrap_or_else(|| id.clone()),
                        });
                    }
                }
                _ => {}
            }
        }
    }
    promote.into_iter().chain(raise).chain(dns).collect()
}

/// Whether the stack declares a capacity switch that accepts `active`.
pub fn has_capacity_switch(stack: &Stack) -> bool {
    stack
        .template
        .parameters
        .get(CAPACITY_PARAMETER)
        .is_some_and(|p| {
            p.allowed_values
                .iter()
                .any(|v| v.as_str() == Some(ACTIVE_CAPACITY))
        })
}

/// Sets the capacity switch of a deployed DR stack to `active`: UpdateStack with the previous
/// template and every other parameter's previous value, then waits.
async fn activate_capacity(
    aws: &Aws,
    stack: &str,
    region: &str,
    waiting: Waiting,
    progress: &Progress<'_>,
) -> Result<String, Error> {
    use aws_sdk_cloudformation::types::{Capability, Parameter};
    let cfn = aws.cloudformation(region);
    let Some(d) = cfn::describe(&cfn, stack, region).await? else {
        return Err(Error::Dr(format!(
            "{stack} is not deployed in {region}\nhint: run `banca dr bootstrap` first"
        )));
    };
    let before = d
        .parameters
        .get(CAPACITY_PARAMETER)
        .cloned()
        .unwrap_or_default();
    if before == ACTIVE_CAPACITY {
        return Ok(format!(
            "{stack}: already {CAPACITY_PARAMETER}={ACTIVE_CAPACITY}"
        ));
    }
    if !cfn::is_terminal(&d.status) {
        return Err(Error::StackState {
            stack: stack.to_owned(),
            action: "raise the capacity of",
            status: d.status,
            hint: "wait for the running operation to finish, then run `banca dr failover` again"
                .into(),
        });
    }
    let parameters = d
        .parameters
        .keys()
        .filter(|k| *k != CAPACITY_PARAMETER)
        .map(|k| {
            Parameter::builder()
                .parameter_key(k)
                .use_previous_value(true)
                .build()
        })
        .chain(std::iter::once(
            Parameter::builder()
                .parameter_key(CAPACITY_PARAMETER)
                .parameter_value(ACTIVE_CAPACITY)
                .build(),
        ))
        .collect();
    cfn.update_stack()
        .stack_name(stack)
        .client_request_token(cfn::request_token("capacity", stack))
        .use_previous_template(true)
        .set_parameters(Some(parameters))
        .capabilities(Capability::CapabilityIam)
        .capabilities(Capability::CapabilityNamedIam)
        .capabilities(Capability::CapabilityAutoExpand)
        .send()
        .await
        .map_err(|e| Error::aws("UpdateStack", stack, region, &e))?;
    progress.event(crate::progress::Event::StackStart {
        stack: stack.to_owned(),
        region: region.to_owned(),
    });
    let started = tokio::time::Instant::now();
    let mut tail = cfn::EventTail::fresh(region);
    let status =
        cfn::wait_for_stack(&cfn, &d.id, stack, region, waiting, &mut tail, progress).await?;
    if status != "UPDATE_COMPLETE" {
        return Err(Error::DeployFailed {
            stack: stack.to_owned(),
            status,
            root_cause: tail.root_cause(stack).unwrap_or_else(|| {
                "CloudFormation reported no failed resource; see the stack's events".to_owned()
            }),
        });
    }
    progress.event(crate::progress::Event::StackDone {
        stack: stack.to_owned(),
        region: region.to_owned(),
        outcome: Outcome::Updated,
        elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    });
    Ok(format!(
        "{stack}: {CAPACITY_PARAMETER} {} -> {ACTIVE_CAPACITY} ({status})",
        if before.is_empty() {
            "(default)"
        } else {
            before.as_str()
        }
    ))
}

/// Runs one step of the runbook.
async fn execute(
    step: &Step,
    ids: &Ids<'_>,
    aws: &Aws,
    waiting: Waiting,
    progress: &Progress<'_>,
) -> Result<String, Error> {
    let (stack, region, logical) = match step {
        Step::ActivateCapacity { stack, region } => {
            return activate_capacity(aws, stack, region, waiting, progress).await;
        }
        Step::PromoteReplica {
            stack,
            region,
            logical_id,
        }
        | Step::RaiseCapacity {
            stack,
            region,
            logical_id,
        }
        | Step::InvertHealthCheck {
            stack,
            region,
            logical_id,
            ..
        } => (stack, region, logical_id),
    };
    let physical = ids.physical(stack, region, logical).await?;
    run_step(step, &physical, aws, waiting).await
}

/// Physical ids by (stack, region), then logical id -> (type, physical id).
type PhysicalIds = BTreeMap<(String, String), BTreeMap<String, (String, String)>>;

struct Ids<'a> {
    aws: &'a Aws,
    cache: tokio::sync::Mutex<PhysicalIds>,
}

impl Ids<'_> {
    async fn physical(&self, stack: &str, region: &str, logical: &str) -> Result<String, Error> {
        let key = (stack.to_owned(), region.to_owned());
        let mut cache = self.cache.lock().await;
        if !cache.contains_key(&key) {
            let ids = cfn::physical_ids(&self.aws.cloudformation(region), stack, region).await?;
            cache.insert(key.clone(), ids);
        }
        cache
            .get(&key)
            .and_then(|m| m.get(logical))
            .map(|(_, p)| p.clone())
            .filter(|p| !p.is_empty())
            .ok_or_else(|| {
                Error::Dr(format!(
                    "{stack} ({region}) has no deployed resource {logical}\nhint: run `banca dr bootstrap` first"
                ))
            })
    }
}

async fn run_step(
    step: &Step,
    physical: &str,
    aws: &Aws,
    waiting: Waiting,
) -> Result<String, Error> {
    match step {
        Step::PromoteReplica { region, .. } => {
            let rds = aws.rds(region);
            // A repeated run (or a replica promoted by hand) finds a standalone writer:
            // PromoteReadReplica would fail on it, and there is nothing left to do.
            let now = rds
                .describe_db_instances()
                .db_instance_identifier(physical)
                .send()
                .await
                .map_err(|e| Error::aws("DescribeDBInstances", physical, region, &e))?;
            if now
                .db_instances()
                .first()
                .is_some_and(|d| d.read_replica_source_db_instance_identifier().is_none())
            {
                return Ok(format!("{physical} is already a standalone writer"));
            }
            rds.promote_read_replica()
                .db_instance_identifier(physical)
                .send()
                .await
                .map_err(|e| Error::aws("PromoteReadReplica", physical, region, &e))?;
            for _ in 0..waiting.max_polls() {
                let out = rds
                    .describe_db_instances()
                    .db_instance_identifier(physical)
                    .send()
                    .await
                    .map_err(|e| Error::aws("DescribeDBInstances", physical, region, &e))?;
                let db = out.db_instances().first();
                let available = db.and_then(|d| d.db_instance_status()) == Some("available");
                let standalone =
                    db.is_some_and(|d| d.read_replica_source_db_instance_identifier().is_none());
                if available && standalone {
                    return Ok(format!("{physical} is a standalone writer"));
                }
                tokio::time::sleep(waiting.poll).await;
            }
            Err(Error::Timeout {
                stack: physical.to_owned(),
                status: "promoting".into(),
                waited_secs: waiting.timeout.as_secs(),
            })
        }
        Step::RaiseCapacity { region, .. } => {
            let asg = aws.autoscaling(region);
            let out = asg
                .describe_auto_scaling_groups()
                .auto_scaling_group_names(physical)
                .send()
                .await
                .map_err(|e| Error::aws("DescribeAutoScalingGroups", physical, region, &e))?;
            let Some(g) = out.auto_scaling_groups().first() else {
                return Err(Error::Dr(format!(
                    "Auto Scaling group {physical} not found in {region}"
                )));
            };
            let max = g.max_size().unwrap_or(0);
            asg.update_auto_scaling_group()
                .auto_scaling_group_name(physical)
                .min_size(max)
                .desired_capacity(max)
                .send()
                .await
                .map_err(|e| Error::aws("UpdateAutoScalingGroup", physical, region, &e))?;
            Ok(format!(
                "{physical}: min {} -> {max}, desired {} -> {max}",
                g.min_size().unwrap_or(0),
                g.desired_capacity().unwrap_or(0)
            ))
        }
        Step::ActivateCapacity { .. } => Err(Error::Dr(
            "a capacity switch has no physical resource to act on".into(),
        )),
        Step::InvertHealthCheck { .. } => {
            aws.route53()
                .update_health_check()
                .health_check_id(physical)
                .inverted(true)
                .send()
                .await
                .map_err(|e| Error::aws("UpdateHealthCheck", physical, "global", &e))?;
            Ok(format!(
                "health check {physical} inverted: the SECONDARY record now answers"
            ))
        }
    }
}

async fn failover(
    args: &DrFailoverArgs,
    printer: &Printer,
    aws: &Aws,
) -> Result<ExitStatus, Error> {
    check_regions(&args.regions)?;
    let assembly = Assembly::read(&args.app.app)?;
    let plan = failover_plan(&assembly, &args.regions);
    if plan.is_empty() {
        return Err(Error::Dr(
            "the assembly has no replica, DR Auto Scaling group or PRIMARY failover record to act on\nhint: check --dr-region and that the DR stacks are in the assembly".into(),
        ));
    }
    printer.data(format!(
        "failover plan, {} -> {}:",
        args.regions.primary_region, args.regions.dr_region
    ));
    for (i, s) in plan.iter().enumerate() {
        printer.data(format!("  {}. {}", i + 1, s.describe()));
        printer.record("dr_plan_step", &serde_json::json!({"n": i + 1, "step": s}));
    }
    if args.dry_run {
        printer.note("dry run: nothing was changed");
        return Ok(ExitStatus::Success);
    }
    if !args.yes {
        match printer.confirm("Fail over to the DR region? Promoting a replica cannot be undone.") {
            Some(true) => {}
            Some(false) => {
                return Err(Error::Cancelled {
                    action: "failover".into(),
                });
            }
            None => {
                return Err(Error::Dr(
                    "failover needs confirmation and nobody can answer here\nhint: review the plan with --dry-run, then pass --yes".into(),
                ));
            }
        }
    }
    let waiting = args.wait.waiting();
    let ids = Ids {
        aws,
        cache: tokio::sync::Mutex::new(BTreeMap::new()),
    };
    let started = tokio::time::Instant::now();
    let mut i = usize::from(args.from_step) - 1;
    if i >= plan.len() {
        return Err(Error::Dr(format!(
            "--from-step {} is past the plan's {} step(s)\nhint: see the plan with --dry-run",
            args.from_step,
            plan.len()
        )));
    }
    for (k, step) in plan.iter().enumerate().take(i) {
        printer.data(format!(
            "- {}. {} (skipped: --from-step)",
            k + 1,
            step.describe()
        ));
        printer.record(
            "dr_step",
            &serde_json::json!({"n": k + 1, "step": step, "ok": true, "skipped": true}),
        );
    }
    while i < plan.len() {
        // Capacity switches of different stacks are independent: they update together.
        let batch = if matches!(plan[i], Step::ActivateCapacity { .. }) {
            plan[i..]
                .iter()
                .take_while(|s| matches!(s, Step::ActivateCapacity { .. }))
                .count()
        } else {
            1
        };
        let steps = &plan[i..i + batch];
        let rows: Vec<(String, String)> = steps
            .iter()
            .filter_map(|s| match s {
                Step::ActivateCapacity { stack, region } => Some((stack.clone(), region.clone())),
                _ => None,
            })
            .collect();
        let progress = if rows.is_empty() {
            Progress::without_view(printer)
        } else {
            Progress::new(printer, "raising DR capacity", &rows)
        };
        let results: Vec<(Result<String, Error>, std::time::Duration)> =
            futures_util::stream::iter(steps.iter().map(|step| {
                let (ids, progress) = (&ids, &progress);
                async move {
                    let t = tokio::time::Instant::now();
                    let r = execute(step, ids, aws, waiting, progress).await;
                    (r, t.elapsed())
                }
            }))
            .buffered(usize::from(args.concurrency))
            .collect()
            .await;
        progress.finish();
        let mut failed = None;
        for (k, (step, (result, took))) in steps.iter().zip(results).enumerate() {
            let n = i + k + 1;
            let elapsed_ms = u64::try_from(took.as_millis()).unwrap_or(u64::MAX);
            let took = banca_synth::cli::progress::elapsed(took);
            match result {
                Ok(detail) => {
                    printer.data(format!(
                        "{} {n}. {} ({took}): {detail}",
                        printer.style("✔", Style::Green),
                        step.describe()
                    ));
                    printer.record(
                        "dr_step",
                        &serde_json::json!({"n": n, "step": step, "ok": true, "detail": detail, "elapsed_ms": elapsed_ms}),
                    );
                }
                Err(e) => {
                    printer.data(format!(
                        "{} {n}. {} ({took}): failed",
                        printer.style("✘", Style::Red),
                        step.describe()
                    ));
                    printer.record(
                        "dr_step",
                        &serde_json::json!({"n": n, "step": step, "ok": false, "error": e.to_string(), "elapsed_ms": elapsed_ms}),
                    );
                    failed.get_or_insert((n, e));
                }
            }
        }
        if let Some((n, e)) = failed {
            printer.error(format!(
                "failover stopped at step {n}: {e}\nhint: the steps before it are done; fix the cause and run `banca dr failover` again (done steps are safe to repeat)"
            ));
            return Ok(ExitStatus::Error);
        }
        i += batch;
    }
    printer.note(format!(
        "failover to {} done in {}",
        args.regions.dr_region,
        banca_synth::cli::progress::elapsed(started.elapsed())
    ));
    Ok(ExitStatus::Success)
}

async fn status(args: &DrStatusArgs, printer: &Printer, aws: &Aws) -> Result<ExitStatus, Error> {
    check_regions(&args.regions)?;
    let assembly = Assembly::read(&args.app.app)?;
    let mut exit = ExitStatus::Success;
    printer.data(printer.style("Stacks", Style::Bold));
    let mut rows = Vec::new();
    for s in &assembly.stacks {
        let region = &s.environment.region;
        let st = match cfn::describe(&aws.cloudformation(region), &s.stack_name, region).await {
            Ok(Some(d)) => d.status,
            Ok(None) => "NOT_DEPLOYED".to_owned(),
            Err(e) => {
                printer.error(e.to_string());
                exit = ExitStatus::Error;
                "UNKNOWN".to_owned()
            }
        };
        let role = if *region == args.regions.primary_region {
            "primary"
        } else if *region == args.regions.dr_region {
            "dr"
        } else {
            "global"
        };
        printer.record(
            "dr_stack",
            &serde_json::json!({"stack": s.stack_name, "region": region, "role": role, "status": st}),
        );
        rows.push(vec![
            s.stack_name.clone(),
            region.clone(),
            role.to_owned(),
            st,
        ]);
    }
    printer.data(crate::diff::table(&["stack", "region", "role", "status"], &rows).trim_end());

    let plan = failover_plan(&assembly, &args.regions);
    let ids = Ids {
        aws,
        cache: tokio::sync::Mutex::new(BTreeMap::new()),
    };
    let mut active = args.regions.primary_region.clone();
    for step in &plan {
        match step {
            Step::PromoteReplica {
                stack,
                region,
                logical_id,
            } => {
                let line = match ids.physical(stack, region, logical_id).await {
                    Ok(p) => match aws
                        .rds(region)
                        .describe_db_instances()
                        .db_instance_identifier(&p)
                        .send()
                        .await
                    {
                        Ok(out) => {
                            let db = out.db_instances().first();
                            let state =
                                db.and_then(|d| d.db_instance_status()).unwrap_or("unknown");
                            // RDS reports replication health in the status infos
                            // ("read replication": replicating / error / stopped ...).
                            let health = db
                                .map(|d| d.status_infos())
                                .unwrap_or_default()
                                .iter()
                                .find(|i| i.status_type() == Some("read replication"))
                                .map(|i| {
                                    let mut h =
                                        format!("replication {}", i.status().unwrap_or("unknown"));
                                    if i.normal() == Some(false) {
                                        h.push_str(" (NOT normal)");
                                    }
                                    if let Some(m) = i.message() {
                                        h.push_str(&format!(": {m}"));
                                    }
                                    h
                                });
                            match db.and_then(|d| d.read_replica_source_db_instance_identifier()) {
                                Some(src) => format!(
                                    "{p}: {state}, replicating from {src}{}",
                                    health.map(|h| format!("; {h}")).unwrap_or_default()
                                ),
                                None => format!("{p}: {state}, promoted (standalone writer)"),
                            }
                        }
                        Err(e) => {
                            exit = ExitStatus::Error;
                            Error::aws("DescribeDBInstances", &p, region, &e).to_string()
                        }
                    },
                    Err(e) => e.to_string(),
                };
                printer.data(format!("replica {stack}/{logical_id}: {line}"));
                printer.record(
                    "dr_replica",
                    &serde_json::json!({"stack": stack, "logical_id": logical_id, "status": line}),
                );
            }
            Step::InvertHealthCheck {
                stack,
                region,
                logical_id,
                record,
            } => {
                let line = match ids.physical(stack, region, logical_id).await {
                    Ok(p) => match aws
                        .route53()
                        .get_health_check()
                        .health_check_id(&p)
                        .send()
                        .await
                    {
                        Ok(out) => {
                            let inverted = out
                                .health_check()
                                .and_then(|h| h.health_check_config())
                                .and_then(|c| c.inverted())
                                .unwrap_or(false);
                            if inverted {
                                active = args.regions.dr_region.clone();
                                format!("{p}: inverted (failed over: DR answers)")
                            } else {
                                format!("{p}: normal (PRIMARY answers while healthy)")
                            }
                        }
                        Err(e) => {
                            exit = ExitStatus::Error;
                            Error::aws("GetHealthCheck", &p, "global", &e).to_string()
                        }
                    },
                    Err(e) => e.to_string(),
                };
                printer.data(format!("route {record}: {line}"));
                printer.record(
                    "dr_route",
                    &serde_json::json!({"record": record, "status": line}),
                );
            }
            Step::ActivateCapacity { stack, region } => {
                let line = match cfn::describe(&aws.cloudformation(region), stack, region).await {
                    Ok(Some(d)) => d
                        .parameters
                        .get(CAPACITY_PARAMETER)
                        .cloned()
                        .unwrap_or_else(|| "standby (default)".to_owned()),
                    Ok(None) => "not deployed".to_owned(),
                    Err(e) => {
                        exit = ExitStatus::Error;
                        e.to_string()
                    }
                };
                printer.data(format!("capacity {stack}: {line}"));
                printer.record(
                    "dr_capacity",
                    &serde_json::json!({"stack": stack, "region": region, "capacity": line}),
                );
            }
            Step::RaiseCapacity { .. } => {}
        }
    }
    printer.data(format!("active region: {active}"));
    printer.record("dr_active", &serde_json::json!({"region": active}));
    Ok(exit)
}
