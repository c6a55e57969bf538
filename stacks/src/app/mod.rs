//! The bank's stacks: every stack of the primary region, the same stacks at standby capacity
//! in the disaster-recovery region, and the global edge.
//!
//! [`build`] turns a [`Config`] and the handlers' code assets into a construct [`App`] with
//! three stages: `primary` and `dr` (the regions of `config.regions`) and `global` (us-east-1,
//! where CloudFront's certificate and web ACL must live). Stack names are
//! `<project>-<stage>-<stack>`.
//!
//! | stack | primary | dr |
//! |---|---|---|
//! | security | multi-region keys, trail, Config rule, health events, SSM parameters, Session Manager logs + Athena, IAM groups | replica keys, regional keys, Config rule, health events, SSM parameters, Session Manager logs + Athena |
//! | secrets | partner, OTP, Redis and database secrets, replicated to dr | (replicas) |
//! | network | VPC, NAT per AZ, endpoints, flow logs, HA VPN | same, one NAT |
//! | storage | photo bucket replicating to dr | photo bucket (replica target) |
//! | data | MySQL, Redis, global tables (replicas in dr) | MySQL read replica, Redis |
//! | messaging, backend, otp, onboarding, audit, identity, monitoring | full capacity | standby capacity |
//! | global-edge | CloudFront, WAF, SPA bucket, certificate, Route 53 failover | - |
//!
//! Two stacks exist beyond ARCHITECTURE.md's list, because CloudFormation cannot deploy the
//! list as written: `secrets` (secrets replicate with the dr replica keys, which are made from
//! the primary keys: keys and secrets in one stack would be a cycle primary -> dr -> primary)
//! and `storage` (the primary photo bucket replicates into the dr bucket, while the dr read
//! replica needs the primary database: buckets and databases in one stack per region would be
//! a cycle too).
//!
//! Invariant: no I/O; the same config and assets give the same app.

// Every construct call returns the constructs' `SynthError` (large, and `build`'s error by
// contract); boxing it at each stack builder would only move the cost, not remove it.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;

use banca_constructs::{App, Environment, LambdaAsset, Scope, StackProps, StageId, SynthError};
use banca_model::template::Parameter;
use serde_json::{Value as Json, json};

use crate::config::{Capacity, Config};

mod audit;
mod backend;
mod data;
mod global;
mod identity;
mod messaging;
mod monitoring;
mod network;
mod onboarding;
mod otp;
pub(crate) mod schemas;
mod secrets;
mod security;
mod storage;

pub use schemas::request_schema;

/// Every Lambda handler the app deploys: (Cargo package, binary).
pub const HANDLERS: &[(&str, &str)] = &[
    ("banca-runtime", "transfer-processor"),
    ("banca-handlers", "notify-email"),
    ("banca-handlers", "notify-sms"),
    ("banca-handlers", "otp-generate"),
    ("banca-handlers", "otp-validate"),
    ("banca-handlers", "authorizer"),
    ("banca-handlers", "signup"),
    ("banca-handlers", "onboarding-trigger"),
    ("banca-handlers", "audit-collector"),
    ("banca-handlers", "user-summary"),
    ("banca-handlers", "movements-report"),
];

/// The stage of the serving region.
pub const PRIMARY: &str = "primary";
/// The stage of the warm-standby region.
pub const DR: &str = "dr";
/// The stage of the edge (CloudFront and its certificate and web ACL live in us-east-1).
pub const GLOBAL: &str = "global";
/// The region of the global stage: CloudFront only takes certificates and web ACLs from it.
pub const GLOBAL_REGION: &str = "us-east-1";

/// Whether a region serves or stands by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// Serves traffic.
    Primary,
    /// Warm standby: same stacks, standby capacity, replicas of the primary's data.
    Dr,
}

/// What every stack builder of one region needs.
pub(crate) struct Region<'a> {
    pub config: &'a Config,
    pub assets: &'a BTreeMap<String, LambdaAsset>,
    pub app: &'a App,
    pub stage: StageId,
    pub role: Role,
    pub region: String,
    pub capacity: &'a Capacity,
}

impl Region<'_> {
    /// A new stack of this region.
    pub fn stack(&self, id: &str, description: &str) -> Result<Scope, SynthError> {
        self.app.stack(
            self.stage,
            id,
            StackProps {
                description: Some(format!(
                    "{} {} ({}): {description}",
                    self.config.project,
                    self.stage_id(),
                    self.region
                )),
                ..StackProps::default()
            },
        )
    }

    /// `primary` or `dr`.
    pub fn stage_id(&self) -> &'static str {
        match self.role {
            Role::Primary => PRIMARY,
            Role::Dr => DR,
        }
    }

    /// The code asset of `handler`.
    pub fn asset(&self, handler: &str) -> Result<LambdaAsset, SynthError> {
        self.assets
            .get(handler)
            .cloned()
            .ok_or_else(|| SynthError::InvalidProps {
                path: format!("{}/{}", self.config.project, self.stage_id()),
                field: "assets",
                message: format!(
                    "no code asset for handler {handler:?}; got assets for {:?}\nhint: bundle every handler of app::HANDLERS",
                    self.assets.keys().collect::<Vec<_>>()
                ),
            })
    }

    /// A capacity figure (`pick` of a [`Capacity`]) as the template value `value` makes of it.
    /// The primary states its own. A DR stack states both through its capacity switch: the
    /// stack parameter [`CAPACITY_PARAMETER`] (`standby` by default; `banca dr failover` sets
    /// it to `active`) picks the standby or the primary figure, so a failover raises capacity
    /// with a CloudFormation update and leaves nothing drifted.
    pub fn scaled(
        &self,
        s: &Scope,
        pick: Pick,
        value: impl Fn(u32) -> Json,
    ) -> Result<Json, SynthError> {
        let own = pick(self.capacity);
        match self.role {
            Role::Primary => Ok(value(own)),
            Role::Dr => {
                let active = pick(&self.config.capacity.primary);
                if active == own {
                    return Ok(value(own));
                }
                self.capacity_switch(s)?;
                Ok(json!({"Fn::If": [ACTIVE_CAPACITY_CONDITION, value(active), value(own)]}))
            }
        }
    }

    /// The largest figure this region's stacks can run at (the primary's own; in the DR
    /// region, the larger of standby and active).
    pub fn peak(&self, pick: Pick) -> u32 {
        match self.role {
            Role::Primary => pick(self.capacity),
            Role::Dr => pick(self.capacity).max(pick(&self.config.capacity.primary)),
        }
    }

    fn capacity_switch(&self, s: &Scope) -> Result<(), SynthError> {
        s.add_parameter(
            CAPACITY_PARAMETER,
            Parameter::new("String")
                .description(
                    "standby: warm-standby capacity; active: the primary's capacity (set by `banca dr failover`)",
                )
                .default_value(STANDBY)
                .allowed_values([STANDBY, ACTIVE]),
        )?;
        s.add_condition(
            ACTIVE_CAPACITY_CONDITION,
            json!({"Fn::Equals": [{"Ref": CAPACITY_PARAMETER}, ACTIVE]}),
        )
    }

    /// A name unique per project and stage, e.g. `banca-primary-photos`.
    pub fn name(&self, what: &str) -> String {
        format!("{}-{}-{what}", self.config.project, self.stage_id())
    }
}

/// The stack parameter of a DR stack's capacity switch (see [`Region::scaled`]).
pub const CAPACITY_PARAMETER: &str = "Capacity";
/// The condition that holds when the switch is `active`.
pub const ACTIVE_CAPACITY_CONDITION: &str = "ActiveCapacity";
/// The switch's default: warm-standby capacity.
pub const STANDBY: &str = "standby";
/// The switch after a failover: the primary's capacity.
pub const ACTIVE: &str = "active";

/// `value(n)`, or `AWS::NoValue` when `n` is 0 (a figure where zero means "none").
pub(crate) fn unless_zero(n: u32, value: impl Fn(u32) -> Json) -> Json {
    if n == 0 {
        json!({"Ref": "AWS::NoValue"})
    } else {
        value(n)
    }
}

/// Picks one figure of a [`Capacity`].
pub(crate) type Pick = fn(&Capacity) -> u32;

/// A name shared by both regions (global tables and replicated secrets keep one name).
pub(crate) fn global_name(config: &Config, what: &str) -> String {
    format!("{}-{what}", config.project)
}

/// `arn:<partition>:<service>:<this region>:<this account>:<resource>` as a template value.
pub(crate) fn local_arn(service: &str, resource: &str) -> Json {
    json!({"Fn::Sub": format!("arn:${{AWS::Partition}}:{service}:${{AWS::Region}}:${{AWS::AccountId}}:{resource}")})
}

/// Builds every stack of the bank: both regions and the global edge.
///
/// `assets` holds one code asset per name in [`HANDLERS`]. Fails on a missing asset or any
/// construct error; compliance runs later, at [`App::synth`].
pub fn build(config: &Config, assets: &BTreeMap<String, LambdaAsset>) -> Result<App, SynthError> {
    let app = App::new(config.project.clone());
    let root = app.root();
    for (k, v) in &config.tags {
        root.add_tag(k, v);
    }
    root.add_tag("banca:project", &config.project);
    let primary_stage = app.stage(
        PRIMARY,
        Environment::new(config.account.clone(), config.regions.primary.clone()),
    )?;
    let dr_stage = app.stage(
        DR,
        Environment::new(config.account.clone(), config.regions.dr.clone()),
    )?;
    let global_stage = app.stage(
        GLOBAL,
        Environment::new(config.account.clone(), GLOBAL_REGION),
    )?;
    let primary = Region {
        config,
        assets,
        app: &app,
        stage: primary_stage,
        role: Role::Primary,
        region: config.regions.primary.clone(),
        capacity: &config.capacity.primary,
    };
    let dr = Region {
        config,
        assets,
        app: &app,
        stage: dr_stage,
        role: Role::Dr,
        region: config.regions.dr.clone(),
        capacity: &config.capacity.standby,
    };

    // Order follows the references: replicas need their primaries, and the primary's
    // replicated resources need the dr keys and bucket they replicate into.
    let p_sec = security::build(&primary, None)?;
    let d_sec = security::build(&dr, Some(&p_sec))?;
    let secrets = secrets::build(&primary, &p_sec, &d_sec)?;
    let p_net = network::build(&primary, &p_sec)?;
    let d_net = network::build(&dr, &d_sec)?;
    let d_store = storage::build(&dr, &d_sec, None)?;
    let p_store = storage::build(&primary, &p_sec, Some(&d_store))?;
    let p_data = data::build(&primary, &p_sec, &p_net, &secrets, Some(&d_sec), None)?;
    let d_data = data::build(&dr, &d_sec, &d_net, &secrets, None, Some(&p_data))?;

    let mut apis = Vec::new();
    for (r, sec, net, store, dat) in [
        (&primary, &p_sec, &p_net, &p_store, &p_data),
        (&dr, &d_sec, &d_net, &d_store, &d_data),
    ] {
        let msg = messaging::build(r, sec)?;
        let env = Shared {
            sec,
            net,
            data: dat,
            msg: &msg,
            secrets: &secrets,
        };
        let back = backend::build(r, &env)?;
        let otp = otp::build(r, &env)?;
        let onb = onboarding::build(r, &env, store)?;
        let aud = audit::build(r, &env)?;
        let idn = identity::build(r, &env, &back, &otp, &onb)?;
        let mut functions = Vec::new();
        functions.extend(back.functions.iter().cloned());
        functions.extend(otp.functions.iter().cloned());
        functions.extend(onb.functions.iter().cloned());
        functions.extend(aud.functions.iter().cloned());
        functions.extend(idn.functions.iter().cloned());
        monitoring::build(r, &env, &functions, &back, &idn, &onb)?;
        apis.push(idn);
    }
    let [p_api, d_api] =
        <[identity::Identity; 2]>::try_from(apis).map_err(|_| SynthError::InvalidProps {
            path: config.project.clone(),
            field: "regions",
            message: "expected exactly two regional APIs".to_owned(),
        })?;
    global::build(&app, global_stage, config, &p_api, &d_api)?;
    Ok(app)
}

/// Constructs of one region that the application stacks share.
pub(crate) struct Shared<'a> {
    pub sec: &'a security::Security,
    pub net: &'a network::Network,
    pub data: &'a data::Data,
    pub msg: &'a messaging::Messaging,
    pub secrets: &'a secrets::Secrets,
}

/// A deployed handler: its binary name and function.
pub(crate) type Handler = (String, banca_constructs::lambda::Function);
