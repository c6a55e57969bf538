//! The commands, as clap `Args` and `run` functions, for the `banca` binary to nest:
//!
//! ```text
//! #[derive(clap::Subcommand)]
//! enum Command {
//!     Bootstrap(banca_deploy::commands::BootstrapArgs),
//!     Diff(banca_deploy::commands::DiffArgs),
//!     Deploy(banca_deploy::commands::DeployArgs),
//!     Drift(banca_deploy::commands::DriftArgs),
//!     Destroy(banca_deploy::commands::DestroyArgs),
//!     #[command(subcommand)]
//!     Dr(banca_deploy::dr::DrCommand),
//! }
//! // in main, with `printer = Printer::new(&global_output_args)` on a tokio runtime:
//! let status = match cmd {
//!     Command::Deploy(a) => banca_deploy::commands::deploy(&a, &printer).await,
//!     // ...
//! };
//! std::process::ExitCode::from(printer.finish(status))
//! ```
//!
//! Each `run`-style function loads AWS configuration from the standard chain; the `*_with`
//! variants take an [`Aws`] (tests, or a binary that builds its own).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use banca_synth::cli::{ExitStatus, Printer, Style};
use serde::Serialize;

use crate::assembly::{Assembly, Stack};
use crate::aws::Aws;
use crate::cfn::{self, Waiting};
use crate::deploy::{DeployMethod, DeployOptions, RequireApproval, deploy_all};
use crate::destroy::destroy_all;
use crate::diff::{RenderOptions, StackDiff, diff_templates};
use crate::drift::drift_stack;
use crate::error::Error;
use crate::plan::{RunResult, run_ordered};
use crate::progress::{Outcome, Progress};

/// Where the cloud assembly is.
#[derive(Debug, Clone, clap::Args)]
pub struct AppArgs {
    /// The cloud assembly directory (`banca synth` output).
    #[arg(
        long,
        short = 'a',
        value_name = "DIR",
        default_value = "cdk.out",
        env = "BANCA_APP"
    )]
    pub app: PathBuf,
}

/// How long to wait for AWS.
#[derive(Debug, Clone, clap::Args)]
pub struct WaitArgs {
    /// Give up on a stack operation after this many minutes.
    #[arg(long, value_name = "MINUTES", default_value_t = 60)]
    pub timeout_minutes: u64,
    /// Milliseconds between two status polls.
    #[arg(long, value_name = "MS", default_value_t = 5_000, hide = true)]
    pub poll_ms: u64,
}

impl Default for WaitArgs {
    fn default() -> Self {
        Self {
            timeout_minutes: 60,
            poll_ms: 5_000,
        }
    }
}

impl WaitArgs {
    /// As a [`Waiting`].
    pub fn waiting(&self) -> Waiting {
        Waiting {
            poll: Duration::from_millis(self.poll_ms.max(1)),
            timeout: Duration::from_secs(self.timeout_minutes.saturating_mul(60).max(1)),
        }
    }
}

/// `banca bootstrap`: the asset bucket, key, roles and version parameter per region.
#[derive(Debug, Clone, clap::Args)]
pub struct BootstrapArgs {
    /// Regions to bootstrap (repeat or comma-separate); default: every region of the assembly,
    /// else AWS_REGION.
    #[arg(long = "region", value_delimiter = ',')]
    pub regions: Vec<String>,
    /// The account (default: from the credentials).
    #[arg(long)]
    pub account: Option<String>,
    /// The bootstrap qualifier (the CDK's default keeps either tool compatible).
    #[arg(long, default_value = crate::bootstrap::DEFAULT_QUALIFIER)]
    pub qualifier: String,
    /// Managed policy ARNs for the CloudFormation execution role (default: AdministratorAccess,
    /// as the CDK's).
    #[arg(long = "execution-policy")]
    pub execution_policies: Vec<String>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub app: AppArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub wait: WaitArgs,
}

/// `banca diff`: deployed templates against synthesized ones.
#[derive(Debug, Clone, clap::Args)]
pub struct DiffArgs {
    /// Stacks (artifact id, stack name or `*` pattern); default: all.
    pub stacks: Vec<String>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub app: AppArgs,
    /// Exit 1 when there are differences.
    #[arg(long)]
    pub fail: bool,
    /// Also ask CloudFormation (a change set, created then deleted) for its exact answer.
    #[arg(long)]
    pub change_set: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub wait: WaitArgs,
}

/// `banca deploy`.
#[derive(Debug, Clone, clap::Args)]
pub struct DeployArgs {
    /// Stacks (artifact id, stack name or `*` pattern); their dependencies come along.
    pub stacks: Vec<String>,
    /// Deploy every stack of the assembly.
    #[arg(long, conflicts_with = "stacks")]
    pub all: bool,
    /// Deploy only the named stacks, not their dependencies.
    #[arg(long, short = 'e')]
    pub exclusively: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub app: AppArgs,
    /// When to ask before deploying.
    #[arg(long, value_enum, default_value_t = RequireApproval::Broadening)]
    pub require_approval: RequireApproval,
    /// Most stacks deploying at once (across regions).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
    /// Write every stack's outputs here as JSON (`{"Stack": {"Output": "value"}}`).
    #[arg(long, value_name = "FILE")]
    pub outputs_file: Option<PathBuf>,
    /// Make a change set even for stacks that look unchanged.
    #[arg(long)]
    pub force: bool,
    /// How new stacks are created: through a change set, or directly.
    #[arg(long, value_enum, default_value_t = DeployMethod::ChangeSet)]
    pub method: DeployMethod,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub wait: WaitArgs,
}

/// `banca drift`.
#[derive(Debug, Clone, clap::Args)]
pub struct DriftArgs {
    /// Stacks (artifact id, stack name or `*` pattern); default: all.
    pub stacks: Vec<String>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub app: AppArgs,
    /// Exit 1 when anything drifted (for CI).
    #[arg(long)]
    pub fail: bool,
    /// Stacks checked at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub wait: WaitArgs,
}

/// `banca destroy`.
#[derive(Debug, Clone, clap::Args)]
pub struct DestroyArgs {
    /// Stacks (artifact id, stack name or `*` pattern); the stacks that depend on them go too.
    pub stacks: Vec<String>,
    /// Destroy every stack of the assembly.
    #[arg(long, conflicts_with = "stacks")]
    pub all: bool,
    /// Do not ask for confirmation.
    #[arg(long, short = 'f')]
    pub force: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub app: AppArgs,
    /// Most stacks deleting at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub wait: WaitArgs,
}

fn fail(printer: &Printer, e: &Error) -> ExitStatus {
    printer.error(e.to_string());
    ExitStatus::Error
}

fn style_fn(printer: &Printer) -> impl Fn(&str, Style) -> String + '_ {
    move |s, st| printer.style(s, st)
}

fn rows(stacks: &[&Stack]) -> Vec<(String, String)> {
    stacks
        .iter()
        .map(|s| (s.stack_name.clone(), s.environment.region.clone()))
        .collect()
}

/// Runs `banca bootstrap`.
pub async fn bootstrap(args: &BootstrapArgs, printer: &Printer) -> ExitStatus {
    let aws = Aws::from_env().await;
    bootstrap_with(args, printer, &aws).await
}

/// Runs `banca bootstrap` with these clients.
pub async fn bootstrap_with(args: &BootstrapArgs, printer: &Printer, aws: &Aws) -> ExitStatus {
    let mut regions: Vec<String> = args.regions.clone();
    if regions.is_empty() {
        if args.app.app.join("manifest.json").is_file() {
            match Assembly::read(&args.app.app) {
                Ok(a) => regions = a.environments().into_iter().map(|e| e.region).collect(),
                Err(e) => return fail(printer, &e),
            }
        }
        if regions.is_empty()
            && let Some(r) = aws.default_region()
        {
            regions.push(r);
        }
    }
    let regions: Vec<String> = regions
        .into_iter()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if regions.is_empty() {
        printer.error("bootstrap needs a region: none given, no assembly, no AWS_REGION\nhint: pass --region us-east-1 (repeat for more)");
        return ExitStatus::Error;
    }
    let names: Vec<(String, String)> = regions
        .iter()
        .map(|r| {
            (
                format!("{} ({r})", crate::bootstrap::TOOLKIT_STACK_NAME),
                r.clone(),
            )
        })
        .collect();
    let progress = Progress::new(printer, "bootstrapping", &names);
    let waiting = args.wait.waiting();
    let mut futs = futures_util::stream::FuturesUnordered::new();
    for r in &regions {
        let progress = &progress;
        futs.push(async move {
            (
                r.clone(),
                crate::bootstrap::bootstrap_region(
                    aws,
                    r,
                    args.account.as_deref(),
                    &args.qualifier,
                    &args.execution_policies,
                    waiting,
                    progress,
                )
                .await,
            )
        });
    }
    let mut results = BTreeMap::new();
    while let Some((r, res)) = futures_util::StreamExt::next(&mut futs).await {
        results.insert(r, res);
    }
    progress.finish();
    let mut status = ExitStatus::Success;
    for (region, res) in results {
        match res {
            Ok(d) => {
                printer.data(format!(
                    "{region}  {}  {}",
                    d.stack,
                    match d.outcome {
                        Outcome::Unchanged => "already bootstrapped",
                        _ => "bootstrapped",
                    }
                ));
                printer.record(
                    "bootstrap",
                    &serde_json::json!({
                        "region": region,
                        "stack": d.stack,
                        "outcome": d.outcome,
                        "version": crate::bootstrap::BOOTSTRAP_VERSION,
                        "bucket": d.outputs.get("BucketName"),
                    }),
                );
            }
            Err(e) => status = status.worst(fail(printer, &e)),
        }
    }
    status
}

/// One stack's diff, as `--json` reports it.
#[derive(Debug, Serialize)]
struct DiffRecord<'a> {
    stack: &'a str,
    region: &'a str,
    deployed: bool,
    differences: bool,
    broadening: bool,
    diff: &'a StackDiff,
    #[serde(skip_serializing_if = "Option::is_none")]
    change_set: Option<&'a Vec<ChangeSetChange>>,
}

/// What a change set says about one resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangeSetChange {
    /// `Add`, `Modify`, `Remove`, `Import`, `Dynamic`.
    pub action: String,
    /// Logical id.
    pub logical_id: String,
    /// Type.
    pub resource_type: String,
    /// `True`, `False`, `Conditional` (Modify only).
    pub replacement: Option<String>,
    /// The properties whose change causes it, and whether each requires recreation.
    pub causes: Vec<String>,
}

/// Creates a change set for `stack`, reads its changes, deletes it.
pub async fn change_set_changes(
    aws: &Aws,
    stack: &Stack,
    waiting: Waiting,
) -> Result<Vec<ChangeSetChange>, Error> {
    use aws_sdk_cloudformation::types::{Capability, ChangeSetStatus, ChangeSetType};
    let region = &stack.environment.region;
    let cfn = aws.cloudformation(region);
    let name = "banca-diff";
    let account = if stack.template_body.len() > 51_200 {
        crate::deploy::account_of(aws, stack).await?
    } else {
        String::new()
    };
    let mut create = cfn.create_change_set();
    match crate::deploy::template_source(stack, &account)? {
        crate::deploy::TemplateSource::Body(b) => create = create.template_body(b),
        crate::deploy::TemplateSource::Url(u) => {
            // A template too large to send inline must be in the asset bucket first (as
            // `cdk diff --change-set` does); assets are content-addressed, so this is safe.
            let (quiet, _) = Printer::capture(&banca_synth::cli::OutputArgs {
                json: false,
                quiet: true,
            });
            let progress = Progress::new(&quiet, "", &[]);
            crate::deploy::publish_assets(aws, stack, &account, &progress).await?;
            create = create.template_url(u);
        }
    }
    let created = create
        .stack_name(&stack.stack_name)
        .change_set_name(name)
        .change_set_type(ChangeSetType::Update)
        .capabilities(Capability::CapabilityIam)
        .capabilities(Capability::CapabilityNamedIam)
        .capabilities(Capability::CapabilityAutoExpand)
        .send()
        .await
        .map_err(|e| Error::aws("CreateChangeSet", &stack.stack_name, region, &e))?;
    let id = created.id().unwrap_or(name).to_owned();
    let mut result = None;
    for _ in 0..waiting.max_polls() {
        let out = cfn
            .describe_change_set()
            .change_set_name(&id)
            .stack_name(&stack.stack_name)
            .send()
            .await
            .map_err(|e| Error::aws("DescribeChangeSet", &stack.stack_name, region, &e))?;
        match out.status() {
            Some(ChangeSetStatus::CreateComplete) => {
                result = Some(Ok(out
                    .changes()
                    .iter()
                    .filter_map(|c| c.resource_change())
                    .map(|rc| ChangeSetChange {
                        action: rc
                            .action()
                            .map(|a| a.as_str().to_owned())
                            .unwrap_or_default(),
                        logical_id: rc.logical_resource_id().unwrap_or_default().to_owned(),
                        resource_type: rc.resource_type().unwrap_or_default().to_owned(),
                        replacement: rc.replacement().map(|r| r.as_str().to_owned()),
                        causes: rc
                            .details()
                            .iter()
                            .filter_map(|d| {
                                let t = d.target()?;
                                Some(format!(
                                    "{}{}",
                                    t.name().unwrap_or_default(),
                                    match t.requires_recreation().map(|r| r.as_str()) {
                                        Some("Always") => " (replaces)",
                                        Some("Conditionally") => " (may replace)",
                                        _ => "",
                                    }
                                ))
                            })
                            .collect(),
                    })
                    .collect()));
                break;
            }
            Some(ChangeSetStatus::Failed) => {
                let reason = out.status_reason().unwrap_or_default();
                result = Some(
                    if reason.contains("didn't contain changes") || reason.contains("No updates") {
                        Ok(Vec::new())
                    } else {
                        Err(Error::Aws {
                            operation: "CreateChangeSet",
                            target: stack.stack_name.clone(),
                            region: region.clone(),
                            message: format!("the change set failed: {reason}"),
                            hint: None,
                        })
                    },
                );
                break;
            }
            _ => tokio::time::sleep(waiting.poll).await,
        }
    }
    // The change set was only for reading; a leftover one would block the next deploy's.
    let _ = cfn
        .delete_change_set()
        .change_set_name(&id)
        .stack_name(&stack.stack_name)
        .send()
        .await;
    result.unwrap_or_else(|| {
        Err(Error::Timeout {
            stack: stack.stack_name.clone(),
            status: "change set CREATE_IN_PROGRESS".into(),
            waited_secs: waiting.timeout.as_secs(),
        })
    })
}

/// Runs `banca diff`.
pub async fn diff(args: &DiffArgs, printer: &Printer) -> ExitStatus {
    let aws = Aws::from_env().await;
    diff_with(args, printer, &aws).await
}

/// Runs `banca diff` with these clients.
pub async fn diff_with(args: &DiffArgs, printer: &Printer, aws: &Aws) -> ExitStatus {
    let assembly = match Assembly::read(&args.app.app) {
        Ok(a) => a,
        Err(e) => return fail(printer, &e),
    };
    let stacks = match assembly.select(&args.stacks) {
        Ok(s) => s,
        Err(e) => return fail(printer, &e),
    };
    let style = style_fn(printer);
    let mut status = ExitStatus::Success;
    let mut differing = 0usize;
    for stack in &stacks {
        let region = &stack.environment.region;
        let cfn = aws.cloudformation(region);
        let deployed = match cfn::deployed_template(&cfn, &stack.stack_name, region).await {
            Ok(d) => d,
            Err(e) => {
                status = status.worst(fail(printer, &e));
                continue;
            }
        };
        let d = diff_templates(deployed.as_ref().map(|(_, t)| t), &stack.template);
        let change_set = if args.change_set && deployed.is_some() && !d.is_empty() {
            match change_set_changes(aws, stack, args.wait.waiting()).await {
                Ok(c) => Some(c),
                Err(e) => {
                    status = status.worst(fail(printer, &e));
                    None
                }
            }
        } else {
            None
        };
        if !d.is_empty() {
            differing += 1;
        }
        printer.record(
            "diff",
            &DiffRecord {
                stack: &stack.stack_name,
                region,
                deployed: deployed.is_some(),
                differences: !d.is_empty(),
                broadening: d.is_broadening(),
                diff: &d,
                change_set: change_set.as_ref(),
            },
        );
        let head = if deployed.is_some() {
            format!("Stack {} ({region})", stack.stack_name)
        } else {
            format!("Stack {} ({region}) (not deployed)", stack.stack_name)
        };
        printer.data(printer.style(&head, Style::Bold));
        if d.is_broadening() {
            printer.data(printer.style(
                "warning: this change broadens access (IAM statements or security-group rules)",
                Style::Red,
            ));
        }
        printer.data(d.render(&RenderOptions { style: &style }));
        if let Some(changes) = &change_set {
            printer.data("CloudFormation change set says:");
            for c in changes {
                printer.data(format!(
                    "  {} {} {}{}{}",
                    c.action,
                    c.resource_type,
                    c.logical_id,
                    match c.replacement.as_deref() {
                        Some("True") => " replace",
                        Some("Conditional") => " may replace",
                        _ => "",
                    },
                    if c.causes.is_empty() {
                        String::new()
                    } else {
                        format!(" [{}]", c.causes.join(", "))
                    }
                ));
            }
            printer.data("");
        }
    }
    printer.note(format!(
        "{differing} of {} stack(s) differ from what is deployed",
        stacks.len()
    ));
    if args.fail && differing > 0 {
        status = status.worst(ExitStatus::Failure);
    }
    status
}

/// Runs `banca deploy`.
pub async fn deploy(args: &DeployArgs, printer: &Printer) -> ExitStatus {
    let aws = Aws::from_env().await;
    deploy_with(args, printer, &aws).await
}

fn select_for_deploy<'a>(
    assembly: &'a Assembly,
    stacks: &[String],
    all: bool,
    exclusively: bool,
) -> Result<Vec<&'a Stack>, Error> {
    if all {
        return Ok(assembly.stacks.iter().collect());
    }
    if stacks.is_empty() {
        if assembly.stacks.len() == 1 {
            return Ok(assembly.stacks.iter().collect());
        }
        return Err(Error::NoSuchStack {
            pattern: String::new(),
            available: assembly
                .stacks
                .iter()
                .map(|s| s.id.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    let chosen = assembly.select(stacks)?;
    Ok(if exclusively {
        chosen
    } else {
        assembly.with_dependencies(&chosen)
    })
}

/// Runs `banca deploy` with these clients.
pub async fn deploy_with(args: &DeployArgs, printer: &Printer, aws: &Aws) -> ExitStatus {
    let assembly = match Assembly::read(&args.app.app) {
        Ok(a) => a,
        Err(e) => return fail(printer, &e),
    };
    let stacks = match select_for_deploy(&assembly, &args.stacks, args.all, args.exclusively) {
        Ok(s) => s,
        Err(Error::NoSuchStack { pattern, available }) if pattern.is_empty() => {
            printer.error(format!(
                "name the stacks to deploy, or pass --all; the assembly has: {available}"
            ));
            return ExitStatus::Error;
        }
        Err(e) => return fail(printer, &e),
    };
    let opts = DeployOptions {
        concurrency: usize::from(args.concurrency),
        require_approval: args.require_approval,
        force: args.force,
        method: args.method,
        waiting: args.wait.waiting(),
        ..DeployOptions::default()
    };
    let started = tokio::time::Instant::now();
    let progress = Progress::new(
        printer,
        &format!("deploying {} stack(s)", stacks.len()),
        &rows(&stacks),
    );
    let results = deploy_all(aws, &stacks, &opts, &progress).await;
    let mut status = ExitStatus::Success;
    let mut outputs: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for (stack, r) in &results {
        match r {
            RunResult::Done(d) => {
                *counts
                    .entry(match d.outcome {
                        Outcome::Created => "created",
                        Outcome::Updated => "updated",
                        _ => "unchanged",
                    })
                    .or_default() += 1;
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
                for (k, v) in &d.outputs {
                    printer.data(format!("  {}.{k} = {v}", d.stack));
                }
                outputs.insert(d.stack.clone(), d.outputs.clone());
            }
            RunResult::Failed(e) => {
                *counts.entry("failed").or_default() += 1;
                status = status.worst(fail(printer, e));
            }
            RunResult::Skipped { dependency } => {
                *counts.entry("skipped").or_default() += 1;
                status = status.worst(fail(
                    printer,
                    &Error::DependencyFailed {
                        stack: stack.stack_name.clone(),
                        dependency: dependency.clone(),
                    },
                ));
            }
        }
    }
    if let Some(path) = &args.outputs_file {
        let body = serde_json::to_string_pretty(&outputs).unwrap_or_default();
        if let Err(e) = std::fs::write(path, body + "\n") {
            status = status.worst(fail(
                printer,
                &Error::Io {
                    path: path.clone(),
                    reason: format!("cannot write the outputs file: {e}"),
                },
            ));
        }
    }
    let summary: Vec<String> = counts.iter().map(|(k, v)| format!("{v} {k}")).collect();
    printer.note(format!(
        "{} stack(s): {} in {}",
        results.len(),
        summary.join(", "),
        banca_synth::cli::progress::elapsed(started.elapsed())
    ));
    status
}

/// Runs `banca drift`.
pub async fn drift(args: &DriftArgs, printer: &Printer) -> ExitStatus {
    let aws = Aws::from_env().await;
    drift_with(args, printer, &aws).await
}

/// Runs `banca drift` with these clients.
pub async fn drift_with(args: &DriftArgs, printer: &Printer, aws: &Aws) -> ExitStatus {
    let assembly = match Assembly::read(&args.app.app) {
        Ok(a) => a,
        Err(e) => return fail(printer, &e),
    };
    let stacks = match assembly.select(&args.stacks) {
        Ok(s) => s,
        Err(e) => return fail(printer, &e),
    };
    let waiting = args.wait.waiting();
    // Drift checks are independent: dependency order does not matter.
    let independent: Vec<Stack> = stacks
        .iter()
        .map(|s| {
            let mut s = (*s).clone();
            s.depends_on.clear();
            s
        })
        .collect();
    let refs: Vec<&Stack> = independent.iter().collect();
    let results = run_ordered(
        &refs,
        usize::from(args.concurrency),
        false,
        |s| async move {
            let aws = crate::deploy::stack_clients(aws, s, printer).await?;
            drift_stack(&aws, s, waiting).await
        },
    )
    .await;
    let style = style_fn(printer);
    let mut status = ExitStatus::Success;
    let mut drifted = 0usize;
    for (_, r) in &results {
        match r {
            RunResult::Done(report) => {
                if report.has_drift() {
                    drifted += 1;
                }
                printer.record(
                    "drift",
                    &serde_json::json!({
                        "stack": report.stack,
                        "region": report.region,
                        "drifted": report.has_drift(),
                        "report": report,
                    }),
                );
                printer.data(report.render(&style).trim_end());
            }
            RunResult::Failed(e) => status = status.worst(fail(printer, e)),
            RunResult::Skipped { .. } => {}
        }
    }
    printer.note(format!(
        "{drifted} of {} stack(s) drifted from the code",
        results.len()
    ));
    if args.fail && drifted > 0 {
        status = status.worst(ExitStatus::Failure);
    }
    status
}

/// Runs `banca destroy`.
pub async fn destroy(args: &DestroyArgs, printer: &Printer) -> ExitStatus {
    let aws = Aws::from_env().await;
    destroy_with(args, printer, &aws).await
}

/// Runs `banca destroy` with these clients.
pub async fn destroy_with(args: &DestroyArgs, printer: &Printer, aws: &Aws) -> ExitStatus {
    let assembly = match Assembly::read(&args.app.app) {
        Ok(a) => a,
        Err(e) => return fail(printer, &e),
    };
    let stacks: Vec<&Stack> = if args.all {
        assembly.stacks.iter().collect()
    } else if args.stacks.is_empty() {
        printer.error("name the stacks to destroy, or pass --all\nhint: `banca destroy --all` removes every stack of the assembly");
        return ExitStatus::Error;
    } else {
        match assembly.select(&args.stacks) {
            Ok(chosen) => with_dependants(&assembly, &chosen),
            Err(e) => return fail(printer, &e),
        }
    };
    let names: Vec<String> = stacks
        .iter()
        .map(|s| format!("{} ({})", s.stack_name, s.environment.region))
        .collect();
    if !args.force {
        match printer.confirm(&format!(
            "Destroy {}? Resources with DeletionPolicy Retain are kept.",
            names.join(", ")
        )) {
            Some(true) => {}
            Some(false) => {
                return fail(
                    printer,
                    &Error::Cancelled {
                        action: "destroy".into(),
                    },
                );
            }
            None => {
                printer.error(format!(
                    "destroying {} needs confirmation and nobody can answer here\nhint: pass --force to destroy without asking",
                    names.join(", ")
                ));
                return ExitStatus::Error;
            }
        }
    }
    let progress = Progress::new(
        printer,
        &format!("destroying {} stack(s)", stacks.len()),
        &rows(&stacks),
    );
    let results = destroy_all(
        aws,
        &stacks,
        usize::from(args.concurrency),
        args.wait.waiting(),
        &progress,
    )
    .await;
    let mut status = ExitStatus::Success;
    for (stack, r) in &results {
        match r {
            RunResult::Done(d) => {
                printer.record("destroy", d);
                printer.data(format!(
                    "{}  {}  {}",
                    d.stack,
                    d.region,
                    if d.outcome == Outcome::Absent {
                        "not deployed"
                    } else {
                        "destroyed"
                    }
                ));
                for k in &d.retained {
                    printer.data(format!(
                        "  kept {} {} ({})",
                        k.resource_type, k.logical_id, k.physical_id
                    ));
                }
            }
            RunResult::Failed(e) => status = status.worst(fail(printer, e)),
            RunResult::Skipped { dependency } => {
                printer.error(format!(
                    "{}: not destroyed because {dependency}, which depends on it, was not destroyed",
                    stack.stack_name
                ));
                status = ExitStatus::Error;
            }
        }
    }
    status
}

/// `stacks` plus every stack that depends on them, transitively, in manifest order.
fn with_dependants<'a>(assembly: &'a Assembly, stacks: &[&'a Stack]) -> Vec<&'a Stack> {
    let mut wanted: BTreeSet<&str> = stacks.iter().map(|s| s.id.as_str()).collect();
    // At most one pass per stack adds something.
    for _ in 0..=assembly.stacks.len() {
        let before = wanted.len();
        for s in &assembly.stacks {
            if s.depends_on.iter().any(|d| wanted.contains(d.as_str())) {
                wanted.insert(s.id.as_str());
            }
        }
        if wanted.len() == before {
            break;
        }
    }
    assembly
        .stacks
        .iter()
        .filter(|s| wanted.contains(s.id.as_str()))
        .collect()
}
