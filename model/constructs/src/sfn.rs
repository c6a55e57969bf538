//! Step Functions: a typed builder for the Amazon States Language, validated at build time,
//! and a state machine with logging ALL and tracing.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use indexmap::IndexMap;
use serde_json::{Map, Value as Json, json};

use crate::error::SynthError;
use crate::iam::{Grant, Grantable, Role, RoleProps, actions, grant, statement};
use crate::kms::Key;
use crate::logs::{LogGroup, LogGroupProps};
use crate::tree::{ResourceRef, Scope, Token};

/// A retry rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Retry {
    /// Error names (`States.TaskFailed`, `States.ALL`, ...).
    pub errors: Vec<String>,
    /// Seconds before the first retry.
    pub interval_secs: u32,
    /// Attempts, 0..=99 (a limit on everything).
    pub max_attempts: u32,
    /// Multiplier of the interval.
    pub backoff_rate: f64,
}

/// A catch rule: on `errors`, go to `next` with the error at `result_path`.
#[derive(Debug, Clone, PartialEq)]
pub struct Catch {
    /// Error names.
    pub errors: Vec<String>,
    /// The state to go to.
    pub next: String,
    /// Where the error goes in the input.
    pub result_path: Option<String>,
}

/// A Choice rule: a comparison of `variable` and where to go when it holds.
#[derive(Debug, Clone, PartialEq)]
pub struct ChoiceRule {
    /// A JSONPath into the input.
    pub variable: String,
    /// The comparison operator (`BooleanEquals`, `StringEquals`, `NumericGreaterThan`, ...).
    pub operator: String,
    /// The value compared with.
    pub value: Json,
    /// The state to go to.
    pub next: String,
}

/// A state of the machine.
#[derive(Debug, Clone, PartialEq)]
pub enum State {
    /// Call a service: `resource` is an integration ARN (`arn:aws:states:::aws-sdk:rekognition:detectFaces`).
    Task {
        /// The integration.
        resource: Json,
        /// Parameters (`"Key.$": "$.path"` for values from the input).
        parameters: Option<Json>,
        /// Where the result goes.
        result_path: Option<String>,
        /// Result selector.
        result_selector: Option<Json>,
        /// Seconds before the task times out.
        timeout_secs: Option<u32>,
        /// Retries.
        retry: Vec<Retry>,
        /// Catches.
        catch: Vec<Catch>,
        /// The next state; `None` ends the execution.
        next: Option<String>,
    },
    /// Branch on the input.
    Choice {
        /// Rules, in order.
        choices: Vec<ChoiceRule>,
        /// Where to go when no rule holds.
        default: Option<String>,
    },
    /// Pass the input on (optionally with a result).
    Pass {
        /// A fixed result.
        result: Option<Json>,
        /// Where it goes.
        result_path: Option<String>,
        /// The next state; `None` ends.
        next: Option<String>,
    },
    /// Wait.
    Wait {
        /// Seconds.
        seconds: u32,
        /// The next state.
        next: String,
    },
    /// End successfully.
    Succeed,
    /// End with an error.
    Fail {
        /// Error name.
        error: String,
        /// Human-readable cause.
        cause: String,
    },
}

/// A state machine definition under construction.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Definition {
    comment: String,
    start_at: String,
    states: IndexMap<String, State>,
}

/// Whether `p` is a JSONPath Step Functions accepts: `$`, then `.name` or `[n]`/`['name']`
/// segments (or `$$.` for the context object).
pub fn valid_json_path(p: &str) -> bool {
    let rest = if let Some(r) = p.strip_prefix("$$") {
        r
    } else if let Some(r) = p.strip_prefix('$') {
        r
    } else {
        return false;
    };
    let b = rest.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'.' => {
                let start = i + 1;
                let mut j = start;
                while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_' || b[j] == b'-')
                {
                    j += 1;
                }
                if j == start {
                    return false;
                }
                i = j;
            }
            b'[' => {
                let Some(close) = rest[i..].find(']') else {
                    return false;
                };
                let inner = &rest[i + 1..i + close];
                let ok = !inner.is_empty()
                    && (inner.bytes().all(|c| c.is_ascii_digit())
                        || inner == "*"
                        || (inner.len() >= 2 && inner.starts_with('\'') && inner.ends_with('\'')));
                if !ok {
                    return false;
                }
                i += close + 1;
            }
            _ => return false,
        }
    }
    true
}

impl Definition {
    /// A definition that starts at `start_at`.
    pub fn new(comment: &str, start_at: &str) -> Self {
        Self {
            comment: comment.to_owned(),
            start_at: start_at.to_owned(),
            states: IndexMap::new(),
        }
    }

    /// Adds a state.
    pub fn state(mut self, name: &str, state: State) -> Self {
        self.states.insert(name.to_owned(), state);
        self
    }

    /// Every problem: missing targets, unreachable states, malformed JSONPaths, limits.
    pub fn validate(&self) -> Vec<String> {
        let mut errs = Vec::new();
        if self.states.is_empty() {
            errs.push("the definition has no states".to_owned());
            return errs;
        }
        if !self.states.contains_key(&self.start_at) {
            errs.push(format!(
                "StartAt {:?} is not a state; states are {:?}",
                self.start_at,
                self.states.keys().collect::<Vec<_>>()
            ));
        }
        let check_path = |state: &str, field: &str, p: &str, errs: &mut Vec<String>| {
            if !valid_json_path(p) {
                errs.push(format!("state {state:?}: {field} {p:?} is not a JSONPath (must start with $ and use .name or [n] segments)"));
            }
        };
        for (name, s) in &self.states {
            if name.is_empty() || name.len() > 80 {
                errs.push(format!("state name {name:?} must be 1..=80 characters"));
            }
            for t in targets(s) {
                if !self.states.contains_key(t) {
                    errs.push(format!(
                        "state {name:?}: Next/Default target {t:?} does not exist"
                    ));
                }
            }
            match s {
                State::Task {
                    parameters,
                    result_path,
                    retry,
                    ..
                } => {
                    if let Some(p) = result_path {
                        check_path(name, "ResultPath", p, &mut errs);
                    }
                    if let Some(p) = parameters {
                        for (k, v) in dollar_params(p) {
                            if !valid_json_path(&v) && !v.starts_with("States.") {
                                errs.push(format!("state {name:?}: parameter {k:?} = {v:?} is not a JSONPath or intrinsic"));
                            }
                        }
                    }
                    for r in retry {
                        if r.max_attempts > 99 {
                            errs.push(format!(
                                "state {name:?}: MaxAttempts {} exceeds 99",
                                r.max_attempts
                            ));
                        }
                        if r.backoff_rate < 1.0 {
                            errs.push(format!(
                                "state {name:?}: BackoffRate {} must be >= 1.0",
                                r.backoff_rate
                            ));
                        }
                    }
                }
                State::Choice { choices, .. } => {
                    if choices.is_empty() {
                        errs.push(format!("state {name:?}: a Choice needs at least one rule"));
                    }
                    for c in choices {
                        check_path(name, "Variable", &c.variable, &mut errs);
                    }
                }
                State::Pass {
                    result_path: Some(p),
                    ..
                } => check_path(name, "ResultPath", p, &mut errs),
                _ => {}
            }
        }
        // Reachability from StartAt.
        let mut seen = BTreeSet::new();
        let mut queue = VecDeque::from([self.start_at.as_str()]);
        while let Some(n) = queue.pop_front() {
            if !seen.insert(n) {
                continue;
            }
            if let Some(s) = self.states.get(n) {
                queue.extend(targets(s));
            }
        }
        for name in self.states.keys() {
            if !seen.contains(name.as_str()) {
                errs.push(format!(
                    "state {name:?} is unreachable from StartAt {:?}",
                    self.start_at
                ));
            }
        }
        let terminal = self.states.values().any(|s| {
            matches!(
                s,
                State::Succeed
                    | State::Fail { .. }
                    | State::Task { next: None, .. }
                    | State::Pass { next: None, .. }
            )
        });
        if !terminal {
            errs.push(
                "no state ends the execution (Succeed, Fail, or a Task/Pass without Next)"
                    .to_owned(),
            );
        }
        errs
    }

    /// The ASL JSON (tokens inside stay tokens, substituted by the state machine).
    pub fn to_json(&self) -> Json {
        let mut states = Map::new();
        for (name, s) in &self.states {
            states.insert(name.clone(), state_json(s));
        }
        json!({"Comment": self.comment, "StartAt": self.start_at, "States": states})
    }
}

fn dollar_params(v: &Json) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Json::Object(m) = v {
        for (k, x) in m {
            if k.ends_with(".$") {
                if let Some(s) = x.as_str() {
                    out.push((k.clone(), s.to_owned()));
                }
            } else {
                out.extend(dollar_params(x));
            }
        }
    }
    out
}

fn targets(s: &State) -> Vec<&str> {
    match s {
        State::Task { next, catch, .. } => next
            .iter()
            .map(String::as_str)
            .chain(catch.iter().map(|c| c.next.as_str()))
            .collect(),
        State::Choice { choices, default } => choices
            .iter()
            .map(|c| c.next.as_str())
            .chain(default.iter().map(String::as_str))
            .collect(),
        State::Pass { next, .. } => next.iter().map(String::as_str).collect(),
        State::Wait { next, .. } => vec![next.as_str()],
        State::Succeed | State::Fail { .. } => Vec::new(),
    }
}

fn next_or_end(o: &mut Map<String, Json>, next: &Option<String>) {
    match next {
        Some(n) => o.insert("Next".into(), json!(n)),
        None => o.insert("End".into(), json!(true)),
    };
}

fn state_json(s: &State) -> Json {
    let mut o = Map::new();
    match s {
        State::Task {
            resource,
            parameters,
            result_path,
            result_selector,
            timeout_secs,
            retry,
            catch,
            next,
        } => {
            o.insert("Type".into(), json!("Task"));
            o.insert("Resource".into(), resource.clone());
            if let Some(p) = parameters {
                o.insert("Parameters".into(), p.clone());
            }
            if let Some(p) = result_selector {
                o.insert("ResultSelector".into(), p.clone());
            }
            if let Some(p) = result_path {
                o.insert("ResultPath".into(), json!(p));
            }
            if let Some(t) = timeout_secs {
                o.insert("TimeoutSeconds".into(), json!(t));
            }
            if !retry.is_empty() {
                o.insert(
                    "Retry".into(),
                    retry
                        .iter()
                        .map(|r| {
                            json!({
                                "ErrorEquals": r.errors, "IntervalSeconds": r.interval_secs,
                                "MaxAttempts": r.max_attempts, "BackoffRate": r.backoff_rate,
                            })
                        })
                        .collect(),
                );
            }
            if !catch.is_empty() {
                o.insert(
                    "Catch".into(),
                    catch
                        .iter()
                        .map(|c| {
                            let mut x = json!({"ErrorEquals": c.errors, "Next": c.next});
                            if let Some(p) = &c.result_path {
                                x["ResultPath"] = json!(p);
                            }
                            x
                        })
                        .collect(),
                );
            }
            next_or_end(&mut o, next);
        }
        State::Choice { choices, default } => {
            o.insert("Type".into(), json!("Choice"));
            o.insert(
                "Choices".into(),
                choices
                    .iter()
                    .map(|c| {
                        let mut x = json!({"Variable": c.variable, "Next": c.next});
                        x[&c.operator] = c.value.clone();
                        x
                    })
                    .collect(),
            );
            if let Some(d) = default {
                o.insert("Default".into(), json!(d));
            }
        }
        State::Pass {
            result,
            result_path,
            next,
        } => {
            o.insert("Type".into(), json!("Pass"));
            if let Some(r) = result {
                o.insert("Result".into(), r.clone());
            }
            if let Some(p) = result_path {
                o.insert("ResultPath".into(), json!(p));
            }
            next_or_end(&mut o, next);
        }
        State::Wait { seconds, next } => {
            o.insert("Type".into(), json!("Wait"));
            o.insert("Seconds".into(), json!(seconds));
            o.insert("Next".into(), json!(next));
        }
        State::Succeed => {
            o.insert("Type".into(), json!("Succeed"));
        }
        State::Fail { error, cause } => {
            o.insert("Type".into(), json!("Fail"));
            o.insert("Error".into(), json!(error));
            o.insert("Cause".into(), json!(cause));
        }
    }
    Json::Object(o)
}

/// The integration ARN of an AWS SDK call, e.g. `aws_sdk("rekognition", "detectFaces")`.
pub fn aws_sdk(service: &str, action: &str) -> Json {
    json!(format!("arn:aws:states:::aws-sdk:{service}:{action}"))
}

/// Props of [`StateMachine`].
#[derive(Debug, Clone)]
pub struct StateMachineProps {
    /// The definition. Required.
    pub definition: Definition,
    /// The key for the log group. Required.
    pub log_key: Key,
    /// Log retention in days. Default: 365.
    pub log_retention_days: u32,
    /// Values substituted into the definition (`${Name}`): token values of the resources the
    /// tasks call. Default: none.
    pub substitutions: BTreeMap<String, Json>,
}

/// A standard state machine: logs ALL events (without execution data, which holds personal
/// data) to an encrypted log group, and traces with X-Ray.
#[derive(Debug, Clone)]
pub struct StateMachine {
    resource: ResourceRef,
    role: Role,
}

impl Grantable for StateMachine {
    fn grant_role(&self) -> &Role {
        &self.role
    }
}

/// Log-delivery actions Step Functions needs on `*` (they have no resource-level permissions).
pub const LOG_DELIVERY_ACTIONS: &[&str] = &[
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
];

impl StateMachine {
    /// A state machine `id` under `scope`; an invalid definition is an error naming every problem.
    pub fn new(scope: &Scope, id: &str, props: StateMachineProps) -> Result<Self, SynthError> {
        let me = scope.child(id)?;
        let errs = props.definition.validate();
        if !errs.is_empty() {
            return Err(SynthError::StateMachine {
                path: me.path().to_owned(),
                message: errs.join("; "),
            });
        }
        let group = LogGroup::new(
            &me,
            "LogGroup",
            LogGroupProps {
                retention_days: props.log_retention_days,
                log_group_name: Some(format!("/aws/vendedlogs/states/{}-{id}", me.stack_name()?)),
                ..LogGroupProps::new(props.log_key.clone())
            },
        )?;
        let role = Role::new(
            &me,
            "Role",
            RoleProps {
                assumed_by: "states.amazonaws.com".to_owned(),
                description: Some(format!("execution role of {}", me.path())),
            },
        )?;
        role.add_statement(statement(LOG_DELIVERY_ACTIONS, vec![json!("*")]));
        role.add_statement(statement(actions::XRAY_WRITE, vec![json!("*")]));
        let mut p = json!({
            "StateMachineType": "STANDARD",
            "Definition": props.definition.to_json(),
            "RoleArn": role.arn(),
            "LoggingConfiguration": {
                "Level": "ALL",
                "IncludeExecutionData": false,
                "Destinations": [{"CloudWatchLogsLogGroup": {"LogGroupArn": group.arn()}}],
            },
            "TracingConfiguration": {"Enabled": true},
        });
        if !props.substitutions.is_empty() {
            p["DefinitionSubstitutions"] = json!(props.substitutions);
        }
        let resource = me.add_resource("Resource", "AWS::StepFunctions::StateMachine", p)?;
        Ok(Self { resource, role })
    }

    /// The machine's resource.
    pub fn resource(&self) -> &ResourceRef {
        &self.resource
    }

    /// The machine's ARN (its Ref).
    pub fn arn(&self) -> Token {
        self.resource.reference()
    }

    /// The execution role (grant it what the tasks call).
    pub fn role(&self) -> &Role {
        &self.role
    }

    /// Grants starting executions.
    pub fn grant_start_execution(&self, grantee: &dyn Grantable) -> Grant {
        grant(
            grantee,
            actions::STATES_START,
            vec![self.arn().to_json()],
            None,
        )
    }
}
