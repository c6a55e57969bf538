//! `backend`: the asynchronous workers and the summary endpoint's handler.
//!
//! | function | trigger | reads / writes |
//! |---|---|---|
//! | transfer-processor | `transfer-requests` (batch 10) | MySQL (secret), core platform, topic |
//! | notify-email | `notify-email` | SES, Redis (dedup), `notify-analysis` |
//! | notify-sms | `notify-sms` | Twilio (secret, through NAT), Redis, `notify-analysis` |
//! | movements-report | `report-requests` | core platform, Redis, SES |
//! | user-summary | GET /me/summary | Redis, core platform, independent system |
//!
//! Every function runs `provided.al2023` (arm64), traces with X-Ray, logs JSON to a retained,
//! KMS-encrypted group, and gets only the grants listed above. Functions that reach the
//! database, the cache or the on-premise systems (through the VPN) run in the private subnets.
//! Environment variables are exactly those the handlers read (`runtime/handlers/src/boot.rs`,
//! `runtime/src/transfer/config.rs`); secrets are passed by name, never by value.
//!
//! Known gap: the handlers read the Redis AUTH token from `REDIS_URL`, so the token reaches
//! the function configuration through a dynamic reference (encrypted with the logs key, but
//! readable by anyone allowed `lambda:GetFunctionConfiguration`). The runtime should read it
//! from the `redis-auth` secret instead.

use std::collections::BTreeMap;

use banca_constructs::ec2::SubnetType;
use banca_constructs::lambda::{Function, FunctionProps, SqsEventSourceProps, VpcPlacement};
use banca_constructs::{Scope, SynthError};
use serde_json::{Value as Json, json};

use super::messaging::timeouts;
use super::secrets::grant_read;
use super::{Handler, Pick, Region, Role, Shared, local_arn, unless_zero};

/// Log retention of every handler, days.
pub const LOG_RETENTION_DAYS: u32 = 365;

/// How one handler is deployed.
pub(crate) struct Spec<'a> {
    pub id: &'a str,
    pub handler: &'a str,
    pub timeout_secs: u32,
    pub memory_mb: u32,
    pub in_vpc: bool,
    pub environment: Vec<(&'a str, Json)>,
    /// Reserved concurrency, from the region's capacity (scaled by the DR capacity switch).
    pub reserved: Option<Pick>,
    /// Provisioned concurrency of a `live` alias, likewise.
    pub provisioned: Option<Pick>,
}

impl<'a> Spec<'a> {
    /// A handler with 30 s, 256 MB, outside the VPC, no environment.
    pub fn new(id: &'a str, handler: &'a str) -> Self {
        Self {
            id,
            handler,
            timeout_secs: 30,
            memory_mb: 256,
            in_vpc: false,
            environment: Vec::new(),
            reserved: None,
            provisioned: None,
        }
    }
}

/// Creates a handler's function.
pub(crate) fn function(
    r: &Region<'_>,
    s: &Scope,
    env: &Shared<'_>,
    spec: Spec<'_>,
) -> Result<Function, SynthError> {
    let mut environment: BTreeMap<String, Json> = spec
        .environment
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    // Keys of shared Redis entries are namespaced per deployment.
    if environment.contains_key("REDIS_URL") {
        environment.insert(
            "KEY_PREFIX".to_owned(),
            json!(format!("{}:", r.config.project)),
        );
    }
    let peak = |p: Option<Pick>| p.map(|p| r.peak(p)).filter(|n| *n > 0);
    let f = Function::new(
        s,
        spec.id,
        FunctionProps {
            memory_mb: spec.memory_mb,
            timeout_secs: spec.timeout_secs,
            environment,
            encryption_key: Some(env.sec.logs_key.clone()),
            log_retention_days: LOG_RETENTION_DAYS,
            vpc: spec.in_vpc.then(|| VpcPlacement {
                vpc: env.net.vpc.clone(),
                subnets: SubnetType::Private,
                security_groups: vec![env.net.app_sg.clone()],
            }),
            reserved_concurrency: peak(spec.reserved),
            provisioned_concurrency: peak(spec.provisioned),
            description: Some(format!("{} ({})", spec.handler, r.stage_id())),
            ..FunctionProps::new(r.asset(spec.handler)?)
        },
    )?;
    if let Some(pick) = spec.reserved.filter(|p| r.peak(*p) > 0) {
        f.resource().set_property(
            "ReservedConcurrentExecutions",
            r.scaled(s, pick, |n| unless_zero(n, |n| json!(n)))?,
        );
    }
    if let (Some(pick), Some(alias)) = (spec.provisioned, f.alias()) {
        alias.set_property(
            "ProvisionedConcurrencyConfig",
            r.scaled(s, pick, |n| {
                unless_zero(n, |n| json!({"ProvisionedConcurrentExecutions": n}))
            })?,
        );
    }
    Ok(f)
}

/// Lets `f` send e-mail from the configured sender's address and domain identities.
pub(crate) fn grant_ses_send(r: &Region<'_>, f: &Function) {
    let sender = &r.config.notifications.email_sender;
    let domain = sender.rsplit_once('@').map_or(sender.as_str(), |(_, d)| d);
    f.role().add_statement(json!({
        "Effect": "Allow",
        "Action": ["ses:SendEmail", "ses:SendRawEmail"],
        "Resource": [
            local_arn("ses", &format!("identity/{sender}")),
            local_arn("ses", &format!("identity/{domain}")),
        ],
    }));
}

/// Provisioned concurrency of the synchronous API handlers in this region.
pub(crate) fn api_provisioned() -> Option<Pick> {
    Some(|c| c.api_provisioned_concurrency)
}

/// The functions of the stack.
pub(crate) struct Backend {
    pub functions: Vec<Handler>,
    pub user_summary: Function,
    pub transfer_processor: Function,
}

/// Builds the stack.
pub(crate) fn build(r: &Region<'_>, env: &Shared<'_>) -> Result<Backend, SynthError> {
    let s = r.stack(
        "backend",
        "transfer processing, notifications, reports and summaries",
    )?;
    let c = r.config;
    let sys = &c.existing_systems;
    let m = env.msg;
    let batch = SqsEventSourceProps::default;

    // transfer-processor: the exactly-once transfer machine.
    let t = &c.transfers;
    let tp = function(
        r,
        &s,
        env,
        Spec {
            timeout_secs: timeouts::TRANSFER_PROCESSOR,
            memory_mb: 512,
            in_vpc: true,
            environment: vec![
                ("TRANSFER_DB_SECRET_ID", json!(env.secrets.database.name)),
                ("CORE_BASE_URL", json!(sys.core.base_url)),
                ("CORE_SECRET_ID", json!(sys.core.secret_name)),
                ("NOTIFICATION_TOPIC_ARN", m.topic.arn().to_json()),
                ("TRANSFER_QUEUE_URL", m.transfers.url().to_json()),
                (
                    "TRANSFER_MAX_ATTEMPTS",
                    json!((u32::from(t.max_retries) + 1).to_string()),
                ),
                (
                    "TRANSFER_BACKOFF_BASE_MS",
                    json!(t.backoff_base_ms.to_string()),
                ),
                (
                    "TRANSFER_BACKOFF_CAP_MS",
                    json!(t.backoff_cap_ms.to_string()),
                ),
                (
                    "TRANSFER_SETTLE_MS",
                    json!(settle_ms(t.settle_window_seconds).to_string()),
                ),
                (
                    "TRANSFER_DEADLINE_MS",
                    json!((u64::from(t.review_deadline_seconds) * 1000).to_string()),
                ),
            ],
            reserved: Some(|c| c.transfer_reserved_concurrency),
            ..Spec::new("TransferProcessor", "transfer-processor")
        },
    )?;
    tp.add_sqs_event_source("Requests", &m.transfers, batch())?;
    m.topic.grant_publish(&tp);
    grant_read(&tp, &env.secrets.database.name, env.sec);
    grant_read(&tp, &sys.core.secret_name, env.sec);

    // notify-email: SES, deduplicated in Redis; failed deliveries to the analysis queue.
    let email = function(
        r,
        &s,
        env,
        Spec {
            timeout_secs: timeouts::NOTIFY,
            in_vpc: true,
            environment: vec![
                ("SES_FROM_ADDRESS", json!(c.notifications.email_sender)),
                ("ANALYSIS_QUEUE_URL", m.analysis.url().to_json()),
                ("REDIS_URL", env.data.redis_url.clone()),
            ],
            ..Spec::new("NotifyEmail", "notify-email")
        },
    )?;
    email.add_sqs_event_source("Queue", &m.email, batch())?;
    m.analysis.grant_send(&email);
    grant_ses_send(r, &email);

    // notify-sms: Twilio over HTTPS through NAT.
    let sms = function(
        r,
        &s,
        env,
        Spec {
            timeout_secs: timeouts::NOTIFY,
            in_vpc: true,
            environment: vec![
                ("TWILIO_BASE_URL", json!(sys.twilio.base_url)),
                ("TWILIO_SECRET_ID", json!(sys.twilio.secret_name)),
                ("ANALYSIS_QUEUE_URL", m.analysis.url().to_json()),
                ("REDIS_URL", env.data.redis_url.clone()),
            ],
            ..Spec::new("NotifySms", "notify-sms")
        },
    )?;
    sms.add_sqs_event_source("Queue", &m.sms, batch())?;
    m.analysis.grant_send(&sms);
    grant_read(&sms, &sys.twilio.secret_name, env.sec);

    // movements-report: ReportRequested -> movements -> e-mail.
    let report = function(
        r,
        &s,
        env,
        Spec {
            timeout_secs: timeouts::REPORT,
            memory_mb: 512,
            in_vpc: true,
            environment: vec![
                ("CORE_BASE_URL", json!(sys.core.base_url)),
                ("CORE_SECRET_ID", json!(sys.core.secret_name)),
                ("REDIS_URL", env.data.redis_url.clone()),
                ("SES_FROM_ADDRESS", json!(c.notifications.email_sender)),
            ],
            ..Spec::new("MovementsReport", "movements-report")
        },
    )?;
    report.add_sqs_event_source("Requests", &m.reports, batch())?;
    grant_read(&report, &sys.core.secret_name, env.sec);
    grant_ses_send(r, &report);

    // user-summary: GET /me/summary (synchronous: provisioned concurrency in the primary).
    let summary = function(
        r,
        &s,
        env,
        Spec {
            timeout_secs: 10,
            in_vpc: true,
            environment: vec![
                ("REDIS_URL", env.data.redis_url.clone()),
                ("CORE_BASE_URL", json!(sys.core.base_url)),
                ("CORE_SECRET_ID", json!(sys.core.secret_name)),
                ("INDEPENDENT_BASE_URL", json!(sys.independent.base_url)),
                ("INDEPENDENT_SECRET_ID", json!(sys.independent.secret_name)),
            ],
            provisioned: api_provisioned(),
            ..Spec::new("UserSummary", "user-summary")
        },
    )?;
    grant_read(&summary, &sys.core.secret_name, env.sec);
    grant_read(&summary, &sys.independent.secret_name, env.sec);

    let _ = Role::Primary;
    Ok(Backend {
        functions: vec![
            ("transfer-processor".to_owned(), tp.clone()),
            ("notify-email".to_owned(), email),
            ("notify-sms".to_owned(), sms),
            ("movements-report".to_owned(), report),
            ("user-summary".to_owned(), summary.clone()),
        ],
        user_summary: summary,
        transfer_processor: tp,
    })
}

/// The runtime's safety floor of the settle window, ms: core timeout (5 s) + send guard
/// (1 s) + the core's movement delay (5 s), the runtime's defaults, which the stacks do not
/// override (`Policy::validate` in `runtime/src/transfer/machine.rs`).
pub const MIN_SETTLE_MS: u64 = 5_000 + 1_000 + 5_000;

/// The settle window the processor gets: the configured one, raised to the runtime's floor
/// (a shorter window would make the processor refuse to start; a longer one is only safer).
pub fn settle_ms(configured_secs: u32) -> u64 {
    (u64::from(configured_secs) * 1000).max(MIN_SETTLE_MS)
}
