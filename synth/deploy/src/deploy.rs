//! Deploying stacks: publish assets (skipping what is there, by content hash); create or update
//! through a change set (an update's change set is skipped and deleted when empty), or create
//! directly with `--method direct`; wait while streaming events; report the root cause of a
//! failure. Unchanged stacks (same template, parameters and tags as deployed) make no change
//! set at all.

use std::collections::BTreeMap;

use aws_sdk_cloudformation::types::{Capability, ChangeSetStatus, ChangeSetType, Parameter, Tag};
use aws_smithy_types::byte_stream::ByteStream;
use serde::Serialize;

use crate::assembly::{Stack, substitute};
use crate::aws::Aws;
use crate::cfn::{self, Deployed, EventTail, Waiting};
use crate::diff::diff_templates;
use crate::error::Error;
use crate::plan::{RunResult, run_ordered};
use crate::progress::{Event, Outcome, Progress};

/// When a person must approve a deploy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RequireApproval {
    /// Never ask.
    Never,
    /// Ask before any change.
    AnyChange,
    /// Ask when IAM or security-group changes broaden access (the default).
    #[default]
    Broadening,
}

impl RequireApproval {
    fn as_str(self) -> &'static str {
        match self {
            RequireApproval::Never => "never",
            RequireApproval::AnyChange => "any-change",
            RequireApproval::Broadening => "broadening",
        }
    }
}

/// How a new stack is created (updates always go through a change set).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeployMethod {
    /// A CREATE change set, executed (as `cdk deploy`).
    #[default]
    ChangeSet,
    /// CreateStack directly (as `cdk deploy --method=direct`): termination protection from the
    /// first second, one call fewer. moto registers outputs and exports only for stacks
    /// created this way.
    Direct,
}

/// How to deploy.
#[derive(Debug, Clone)]
pub struct DeployOptions {
    /// How new stacks are created.
    pub method: DeployMethod,
    /// Most stacks deploying at once (across regions).
    pub concurrency: usize,
    /// When to ask.
    pub require_approval: RequireApproval,
    /// Make a change set even when the template, parameters and tags are unchanged.
    pub force: bool,
    /// Polling.
    pub waiting: Waiting,
    /// The change set name.
    pub change_set_name: String,
}

impl Default for DeployOptions {
    fn default() -> Self {
        Self {
            method: DeployMethod::ChangeSet,
            concurrency: 4,
            require_approval: RequireApproval::Broadening,
            force: false,
            waiting: Waiting::default(),
            change_set_name: "banca-deploy".to_owned(),
        }
    }
}

/// A deployed stack.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Deployment {
    /// Stack name.
    pub stack: String,
    /// Region.
    pub region: String,
    /// What happened.
    pub outcome: Outcome,
    /// Whether a change set was executed (false for unchanged stacks).
    pub executed_change_set: bool,
    /// Its outputs.
    pub outputs: BTreeMap<String, String>,
    /// Milliseconds it took.
    pub elapsed_ms: u64,
}

/// The inline template body limit; larger templates go through the asset bucket.
const MAX_INLINE_TEMPLATE: usize = 51_200;

pub(crate) async fn account_of(aws: &Aws, stack: &Stack) -> Result<String, Error> {
    match &stack.environment.account {
        Some(a) => Ok(a.clone()),
        None => aws.account(&stack.environment.region).await,
    }
}

/// Checks the environment's bootstrap version parameter.
pub async fn check_bootstrap(aws: &Aws, stack: &Stack, account: &str) -> Result<(), Error> {
    let Some(req) = &stack.bootstrap else {
        return Ok(());
    };
    let region = &stack.environment.region;
    let env = format!("aws://{account}/{region}");
    let out = aws
        .ssm(region)
        .get_parameter()
        .name(&req.ssm_parameter)
        .send()
        .await;
    let value = match out {
        Ok(o) => o
            .parameter()
            .and_then(|p| p.value())
            .unwrap_or_default()
            .to_owned(),
        Err(e) => {
            if e.as_service_error()
                .is_some_and(|s| s.is_parameter_not_found())
            {
                return Err(Error::NotBootstrapped {
                    env,
                    region: region.clone(),
                    reason: format!("the SSM parameter {} does not exist", req.ssm_parameter),
                });
            }
            return Err(Error::aws("GetParameter", &req.ssm_parameter, region, &e));
        }
    };
    match value.trim().parse::<u32>() {
        Ok(v) if v >= req.min_version => Ok(()),
        _ => Err(Error::NotBootstrapped {
            env,
            region: region.clone(),
            reason: format!(
                "{} is {value:?}; this assembly needs version {} or later",
                req.ssm_parameter, req.min_version
            ),
        }),
    }
}

/// The clients for `stack`'s own CloudFormation calls: acting as the deploy role its cloud
/// assembly names (as `cdk deploy`, `cdk destroy` and `cdk drift` do), else the caller's.
pub async fn stack_clients(
    aws: &Aws,
    stack: &Stack,
    printer: &banca_synth::cli::Printer,
) -> Result<Aws, Error> {
    let Some(role) = &stack.assume_role_arn else {
        return Ok(aws.clone());
    };
    let region = &stack.environment.region;
    let account = account_of(aws, stack).await?;
    Ok(acting_as_with(aws, &substitute(role, &account, region), region, printer).await)
}

/// The clients acting as `role` (from the cloud assembly), or the current ones with a note
/// when the role cannot be assumed.
async fn acting_as(aws: &Aws, role: &str, region: &str, progress: &Progress<'_>) -> Aws {
    acting_as_with(aws, role, region, progress.printer()).await
}

async fn acting_as_with(
    aws: &Aws,
    role: &str,
    region: &str,
    printer: &banca_synth::cli::Printer,
) -> Aws {
    let (acting, failure) = aws.as_role(role, region).await;
    if let Some(why) = failure {
        printer.note(format!(
            "could not assume {role} ({why}); going on with the current credentials\nhint: bootstrap with `banca bootstrap --region {region}` or allow sts:AssumeRole on the role"
        ));
    }
    acting
}

/// Uploads the stack's file assets that are not in their bucket yet.
pub async fn publish_assets(
    aws: &Aws,
    stack: &Stack,
    account: &str,
    progress: &Progress<'_>,
) -> Result<(), Error> {
    for asset in &stack.assets {
        let region = asset
            .region
            .clone()
            .unwrap_or_else(|| stack.environment.region.clone());
        let bucket = substitute(&asset.bucket, account, &region);
        let key = substitute(&asset.key, account, &region);
        let publisher = match &asset.assume_role_arn {
            Some(role) => {
                acting_as(aws, &substitute(role, account, &region), &region, progress).await
            }
            None => aws.clone(),
        };
        let s3 = publisher.s3(&region);
        let destination = format!("s3://{bucket}/{key}");
        match s3.head_object().bucket(&bucket).key(&key).send().await {
            Ok(_) => {
                progress.event(Event::Asset {
                    stack: stack.stack_name.clone(),
                    region: stack.environment.region.clone(),
                    destination,
                    uploaded: false,
                });
                continue;
            }
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => {}
            Err(e) => {
                return Err(Error::aws("HeadObject", &destination, &region, &e));
            }
        }
        let body = std::fs::read(&asset.path).map_err(|e| Error::Io {
            path: asset.path.clone(),
            reason: format!("cannot read asset: {e}"),
        })?;
        s3.put_object()
            .bucket(&bucket)
            .key(&key)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| {
                let mut err = Error::aws("PutObject", &destination, &region, &e);
                if let Error::Aws { message, hint, .. } = &mut err
                    && message.contains("NoSuchBucket")
                {
                    *hint = Some(format!("run `banca bootstrap --region {region}`"));
                }
                err
            })?;
        progress.event(Event::Asset {
            stack: stack.stack_name.clone(),
            region: stack.environment.region.clone(),
            destination,
            uploaded: true,
        });
    }
    Ok(())
}

fn same_json(a: &str, b: &str) -> bool {
    match (
        serde_json::from_str::<serde_json::Value>(a),
        serde_json::from_str::<serde_json::Value>(b),
    ) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

/// Whether the deployed stack already is what the assembly says.
fn unchanged(stack: &Stack, deployed: &Deployed, deployed_body: &str) -> bool {
    same_json(deployed_body, &stack.template_body)
        && stack
            .parameters
            .iter()
            .all(|(k, v)| deployed.parameters.get(k) == Some(v))
        && stack.tags == deployed.tags
}

/// Asks for approval when `opts.require_approval` says so, given the deployed template.
pub fn approve(
    stack: &Stack,
    deployed: Option<&banca_model::template::Template>,
    level: RequireApproval,
    progress: &Progress<'_>,
) -> Result<(), Error> {
    if level == RequireApproval::Never {
        return Ok(());
    }
    let diff = diff_templates(deployed, &stack.template);
    let what = match level {
        RequireApproval::AnyChange if !diff.is_empty() => "this change",
        RequireApproval::Broadening | RequireApproval::AnyChange if diff.is_broadening() => {
            "a change that broadens IAM or security-group access"
        }
        _ => return Ok(()),
    };
    let printer = progress.printer();
    let style = |s: &str, st| printer.style(s, st);
    printer.note(format!(
        "{} ({}):\n{}",
        stack.stack_name,
        stack.environment.region,
        diff.render(&crate::diff::RenderOptions { style: &style })
    ));
    match printer.confirm(&format!("Deploy {} with {what}?", stack.stack_name)) {
        Some(true) => Ok(()),
        Some(false) => Err(Error::Cancelled {
            action: format!("deploy of {}", stack.stack_name),
        }),
        None => Err(Error::ApprovalRequired {
            stack: stack.stack_name.clone(),
            what: what.to_owned(),
            level: level.as_str().to_owned(),
        }),
    }
}

/// Deploys one stack.
pub async fn deploy_stack(
    aws: &Aws,
    stack: &Stack,
    opts: &DeployOptions,
    progress: &Progress<'_>,
) -> Result<Deployment, Error> {
    let started = tokio::time::Instant::now();
    let region = stack.environment.region.clone();
    let name = stack.stack_name.clone();
    progress.event(Event::StackStart {
        stack: name.clone(),
        region: region.clone(),
    });
    let needs_account = stack.bootstrap.is_some()
        || !stack.assets.is_empty()
        || stack.assume_role_arn.is_some()
        || stack.execution_role_arn.is_some()
        || stack.template_body.len() > MAX_INLINE_TEMPLATE;
    let account = if needs_account {
        account_of(aws, stack).await?
    } else {
        stack.environment.account.clone().unwrap_or_default()
    };
    let as_deploy_role = match &stack.assume_role_arn {
        Some(role) => {
            Some(acting_as(aws, &substitute(role, &account, &region), &region, progress).await)
        }
        None => None,
    };
    // Assets are published as their own role, assumed with the caller's credentials (no role
    // chaining), as cdk-assets does.
    let caller = aws;
    let aws = as_deploy_role.as_ref().unwrap_or(aws);
    check_bootstrap(aws, stack, &account).await?;
    let cfn = aws.cloudformation(&region);
    let mut deployed = cfn::describe(&cfn, &name, &region).await?;
    if let Some(d) = &deployed {
        match d.status.as_str() {
            // A first deploy that failed leaves a stack that can only be deleted.
            "ROLLBACK_COMPLETE" | "ROLLBACK_FAILED" => {
                progress.printer().note(format!(
                    "{name}: deleting the stack left by a failed first deploy ({})",
                    d.status
                ));
                let mut tail = EventTail::fresh(&region);
                cfn::delete_stack(
                    &cfn,
                    &d.id,
                    &name,
                    &region,
                    opts.waiting,
                    &mut tail,
                    progress,
                )
                .await?;
                deployed = None;
            }
            // Only a change set was ever created: the stack does not really exist yet.
            "REVIEW_IN_PROGRESS" => {}
            s if !cfn::is_terminal(s) => {
                return Err(Error::StackState {
                    stack: name,
                    action: "deploy",
                    status: s.to_owned(),
                    hint: "wait for the running operation to finish, then deploy again".into(),
                });
            }
            _ => {}
        }
    }
    let exists = deployed
        .as_ref()
        .is_some_and(|d| d.status != "REVIEW_IN_PROGRESS");
    let deployed_template = if exists {
        cfn::deployed_template(&cfn, &name, &region).await?
    } else {
        None
    };
    if let (Some(d), Some((body, _))) = (&deployed, &deployed_template)
        && !opts.force
        && unchanged(stack, d, body)
    {
        sync_termination_protection(&cfn, stack, d, &region).await?;
        let out = Deployment {
            stack: name.clone(),
            region: region.clone(),
            outcome: Outcome::Unchanged,
            executed_change_set: false,
            outputs: d.outputs.clone(),
            elapsed_ms: elapsed_ms(started),
        };
        progress.event(Event::StackDone {
            stack: name,
            region,
            outcome: Outcome::Unchanged,
            elapsed_ms: out.elapsed_ms,
        });
        return Ok(out);
    }
    approve(
        stack,
        deployed_template.as_ref().map(|(_, t)| t),
        opts.require_approval,
        progress,
    )?;
    publish_assets(caller, stack, &account, progress).await?;

    if !exists && opts.method == DeployMethod::Direct {
        return create_stack(
            aws,
            stack,
            &account,
            opts,
            progress,
            started,
            deployed.as_ref(),
        )
        .await;
    }
    // A change set left by an interrupted run would make the create fail.
    if deployed.is_some() {
        let _ = cfn
            .delete_change_set()
            .stack_name(&name)
            .change_set_name(&opts.change_set_name)
            .send()
            .await;
    }
    let mut create = cfn
        .create_change_set()
        .stack_name(&name)
        .change_set_name(&opts.change_set_name)
        .client_token(cfn::request_token("change-set", &name))
        .change_set_type(if exists {
            ChangeSetType::Update
        } else {
            ChangeSetType::Create
        })
        .description("banca deploy")
        .capabilities(Capability::CapabilityIam)
        .capabilities(Capability::CapabilityNamedIam)
        .capabilities(Capability::CapabilityAutoExpand)
        .set_notification_arns(
            (!stack.notification_arns.is_empty()).then(|| stack.notification_arns.clone()),
        );
    match template_source(stack, &account)? {
        TemplateSource::Body(b) => create = create.template_body(b),
        TemplateSource::Url(u) => create = create.template_url(u),
    }
    create = create
        .set_parameters(Some(parameters(stack, deployed.as_ref())))
        .set_tags(Some(tags(stack)));
    if let Some(role) = &stack.execution_role_arn {
        create = create.role_arn(substitute(role, &account, &region));
    }
    let created = create
        .send()
        .await
        .map_err(|e| Error::aws("CreateChangeSet", &name, &region, &e))?;
    let stack_id = created.stack_id().unwrap_or(&name).to_owned();
    let change_set_id = created.id().unwrap_or(&opts.change_set_name).to_owned();

    let changes =
        match wait_for_change_set(&cfn, &change_set_id, &name, &region, opts.waiting).await? {
            ChangeSetReady::Empty => {
                let _ = cfn
                    .delete_change_set()
                    .change_set_name(&change_set_id)
                    .send()
                    .await;
                let d = cfn::describe(&cfn, &name, &region)
                    .await?
                    .unwrap_or_default();
                sync_termination_protection(&cfn, stack, &d, &region).await?;
                let out = Deployment {
                    stack: name.clone(),
                    region: region.clone(),
                    outcome: Outcome::Unchanged,
                    executed_change_set: false,
                    outputs: d.outputs,
                    elapsed_ms: elapsed_ms(started),
                };
                progress.event(Event::StackDone {
                    stack: name,
                    region,
                    outcome: Outcome::Unchanged,
                    elapsed_ms: out.elapsed_ms,
                });
                return Ok(out);
            }
            ChangeSetReady::Changes(n) => n,
        };
    progress.event(Event::ChangeSet {
        stack: name.clone(),
        region: region.clone(),
        name: opts.change_set_name.clone(),
        changes,
    });
    let mut tail = EventTail::start(&cfn, &stack_id, &region).await;
    cfn.execute_change_set()
        .change_set_name(&change_set_id)
        .client_request_token(cfn::request_token("execute", &name))
        .send()
        .await
        .map_err(|e| Error::aws("ExecuteChangeSet", &name, &region, &e))?;
    let status = cfn::wait_for_stack(
        &cfn,
        &stack_id,
        &name,
        &region,
        opts.waiting,
        &mut tail,
        progress,
    )
    .await?;
    if status != "CREATE_COMPLETE" && status != "UPDATE_COMPLETE" {
        let root_cause = tail.root_cause(&name).unwrap_or_else(|| {
            "CloudFormation reported no failed resource; see the stack's events".to_owned()
        });
        return Err(Error::DeployFailed {
            stack: name,
            status,
            root_cause,
        });
    }
    let d = cfn::describe(&cfn, &stack_id, &region)
        .await?
        .unwrap_or_default();
    sync_termination_protection(&cfn, stack, &d, &region).await?;
    let outcome = if exists {
        Outcome::Updated
    } else {
        Outcome::Created
    };
    let out = Deployment {
        stack: name.clone(),
        region: region.clone(),
        outcome,
        executed_change_set: true,
        outputs: d.outputs,
        elapsed_ms: elapsed_ms(started),
    };
    progress.event(Event::StackDone {
        stack: name,
        region,
        outcome,
        elapsed_ms: out.elapsed_ms,
    });
    Ok(out)
}

pub(crate) enum TemplateSource {
    Body(String),
    Url(String),
}

/// The template inline when it fits, else its published asset's URL.
pub(crate) fn template_source(stack: &Stack, account: &str) -> Result<TemplateSource, Error> {
    if stack.template_body.len() <= MAX_INLINE_TEMPLATE {
        return Ok(TemplateSource::Body(stack.template_body.clone()));
    }
    let Some(url) = &stack.template_asset_url else {
        return Err(Error::AssemblyFormat {
            path: stack.template_file.clone(),
            reason: format!(
                "the template has {} bytes (more than {MAX_INLINE_TEMPLATE} inline) and the manifest gives no stackTemplateAssetObjectUrl",
                stack.template_body.len()
            ),
        });
    };
    let region = &stack.environment.region;
    Ok(TemplateSource::Url(s3_https_url(
        &substitute(url, account, region),
        region,
    )))
}

/// The parameters to send: the assembly's values; on an update, every other parameter the
/// template declares and the stack already has keeps its deployed value (as `cdk deploy`
/// does), so a value set outside the assembly, e.g. a DR stack's capacity switch raised by
/// `banca dr failover`, survives the next deploy instead of falling back to its default.
fn parameters(stack: &Stack, deployed: Option<&Deployed>) -> Vec<Parameter> {
    let given = stack.parameters.iter().map(|(k, v)| {
        Parameter::builder()
            .parameter_key(k)
            .parameter_value(v)
            .build()
    });
    let kept = deployed
        .into_iter()
        .flat_map(|d| d.parameters.keys())
        .filter(|k| {
            !stack.parameters.contains_key(*k) && stack.template.parameters.contains_key(*k)
        })
        .map(|k| {
            Parameter::builder()
                .parameter_key(k)
                .use_previous_value(true)
                .build()
        });
    given.chain(kept).collect()
}

fn tags(stack: &Stack) -> Vec<Tag> {
    stack
        .tags
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

/// A first deploy with `--method direct`: CreateStack (as `cdk deploy --method=direct`), which
/// also sets termination protection from the first second.
async fn create_stack(
    aws: &Aws,
    stack: &Stack,
    account: &str,
    opts: &DeployOptions,
    progress: &Progress<'_>,
    started: tokio::time::Instant,
    leftover: Option<&Deployed>,
) -> Result<Deployment, Error> {
    let region = stack.environment.region.clone();
    let name = stack.stack_name.clone();
    let cfn = aws.cloudformation(&region);
    // A stack that only ever had a change set (REVIEW_IN_PROGRESS) blocks CreateStack.
    if let Some(d) = leftover {
        let mut tail = EventTail::fresh(&region);
        cfn::delete_stack(
            &cfn,
            &d.id,
            &name,
            &region,
            opts.waiting,
            &mut tail,
            progress,
        )
        .await?;
    }
    let mut create = cfn
        .create_stack()
        .stack_name(&name)
        .client_request_token(cfn::request_token("create", &name))
        .capabilities(Capability::CapabilityIam)
        .capabilities(Capability::CapabilityNamedIam)
        .capabilities(Capability::CapabilityAutoExpand)
        .enable_termination_protection(stack.termination_protection)
        .set_notification_arns(
            (!stack.notification_arns.is_empty()).then(|| stack.notification_arns.clone()),
        )
        .set_parameters(Some(parameters(stack, None)))
        .set_tags(Some(tags(stack)));
    match template_source(stack, account)? {
        TemplateSource::Body(b) => create = create.template_body(b),
        TemplateSource::Url(u) => create = create.template_url(u),
    }
    if let Some(role) = &stack.execution_role_arn {
        create = create.role_arn(substitute(role, account, &region));
    }
    let created = create
        .send()
        .await
        .map_err(|e| Error::aws("CreateStack", &name, &region, &e))?;
    let stack_id = created.stack_id().unwrap_or(&name).to_owned();
    let mut tail = EventTail::fresh(&region);
    let status = cfn::wait_for_stack(
        &cfn,
        &stack_id,
        &name,
        &region,
        opts.waiting,
        &mut tail,
        progress,
    )
    .await?;
    if status != "CREATE_COMPLETE" {
        let root_cause = tail.root_cause(&name).unwrap_or_else(|| {
            "CloudFormation reported no failed resource; see the stack's events".to_owned()
        });
        return Err(Error::DeployFailed {
            stack: name,
            status,
            root_cause,
        });
    }
    let d = cfn::describe(&cfn, &stack_id, &region)
        .await?
        .unwrap_or_default();
    let out = Deployment {
        stack: name.clone(),
        region: region.clone(),
        outcome: Outcome::Created,
        executed_change_set: false,
        outputs: d.outputs,
        elapsed_ms: elapsed_ms(started),
    };
    progress.event(Event::StackDone {
        stack: name,
        region,
        outcome: Outcome::Created,
        elapsed_ms: out.elapsed_ms,
    });
    Ok(out)
}

fn elapsed_ms(since: tokio::time::Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// `s3://bucket/key` as the https URL CloudFormation takes.
fn s3_https_url(url: &str, region: &str) -> String {
    match url.strip_prefix("s3://").and_then(|r| r.split_once('/')) {
        Some((bucket, key)) => {
            let suffix = if region.starts_with("cn-") {
                "amazonaws.com.cn"
            } else {
                "amazonaws.com"
            };
            format!("https://{bucket}.s3.{region}.{suffix}/{key}")
        }
        None => url.to_owned(),
    }
}

async fn sync_termination_protection(
    cfn: &aws_sdk_cloudformation::Client,
    stack: &Stack,
    deployed: &Deployed,
    region: &str,
) -> Result<(), Error> {
    if stack.termination_protection == deployed.termination_protection {
        return Ok(());
    }
    cfn.update_termination_protection()
        .stack_name(&stack.stack_name)
        .enable_termination_protection(stack.termination_protection)
        .send()
        .await
        .map_err(|e| Error::aws("UpdateTerminationProtection", &stack.stack_name, region, &e))?;
    Ok(())
}

enum ChangeSetReady {
    Empty,
    Changes(usize),
}

/// Whether a failed change set failed only for having nothing to do.
fn is_empty_change_set(reason: &str) -> bool {
    reason.contains("didn't contain changes")
        || reason.contains("No updates are to be performed")
        || reason.contains("no changes")
}

async fn wait_for_change_set(
    cfn: &aws_sdk_cloudformation::Client,
    id: &str,
    name: &str,
    region: &str,
    waiting: Waiting,
) -> Result<ChangeSetReady, Error> {
    let mut last = String::new();
    for _ in 0..waiting.max_polls() {
        let out = cfn
            .describe_change_set()
            .change_set_name(id)
            .stack_name(name)
            .send()
            .await
            .map_err(|e| Error::aws("DescribeChangeSet", name, region, &e))?;
        match out.status() {
            Some(ChangeSetStatus::CreateComplete) => {
                return Ok(if out.changes().is_empty() {
                    ChangeSetReady::Empty
                } else {
                    ChangeSetReady::Changes(out.changes().len())
                });
            }
            Some(ChangeSetStatus::Failed) => {
                let reason = out.status_reason().unwrap_or_default();
                if is_empty_change_set(reason) {
                    return Ok(ChangeSetReady::Empty);
                }
                return Err(Error::Aws {
                    operation: "CreateChangeSet",
                    target: name.to_owned(),
                    region: region.to_owned(),
                    message: format!("the change set failed: {reason}"),
                    hint: Some(
                        "fix the template (banca check, cfn-lint), then deploy again".into(),
                    ),
                });
            }
            s => last = s.map(|s| s.as_str().to_owned()).unwrap_or_default(),
        }
        tokio::time::sleep(waiting.poll).await;
    }
    Err(Error::Timeout {
        stack: name.to_owned(),
        status: format!("change set {last}"),
        waited_secs: waiting.timeout.as_secs(),
    })
}

/// Deploys `stacks` in dependency order, in parallel up to `opts.concurrency`; every stack's
/// result, in `stacks` order.
pub async fn deploy_all<'a>(
    aws: &Aws,
    stacks: &[&'a Stack],
    opts: &DeployOptions,
    progress: &Progress<'_>,
) -> Vec<(&'a Stack, RunResult<Deployment>)> {
    let results = run_ordered(stacks, opts.concurrency, false, |s| async move {
        let r = deploy_stack(aws, s, opts, progress).await;
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
                reason: format!("{dependency} did not deploy"),
            });
        }
    }
    progress.finish();
    results
}
