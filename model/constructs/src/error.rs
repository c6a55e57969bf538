//! Why a construct could not be built or an app could not be synthesized.

use crate::aspects::Finding;

/// A problem in the construct tree, found while building it or at synth.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SynthError {
    /// Two constructs, stages or stacks with one path.
    #[error("{path}: defined twice\nhint: construct ids must be unique within their parent")]
    DuplicateId {
        /// The path.
        path: String,
    },
    /// An id with characters the tree does not allow.
    #[error("{kind} id {id:?} is not allowed; use {allowed}")]
    InvalidId {
        /// stage, stack or construct.
        kind: &'static str,
        /// The id.
        id: String,
        /// What is allowed.
        allowed: &'static str,
    },
    /// A stage index from another app.
    #[error("stage #{index} does not exist in this app")]
    UnknownStage {
        /// The index.
        index: usize,
    },
    /// A resource was added to the app root or a stage.
    #[error(
        "{path}: resources must be added inside a stack\nhint: use the scope App::stack returns"
    )]
    NotInStack {
        /// The scope's path.
        path: String,
    },
    /// A property value the construct does not allow.
    #[error("{path}: {field}: {message}")]
    InvalidProps {
        /// The construct path.
        path: String,
        /// The props field.
        field: &'static str,
        /// What is wrong: the value received and what is allowed, with a hint when useful.
        message: String,
    },
    /// A typed value could not be turned into JSON.
    #[error("{path}: cannot serialize the resource: {message}")]
    Serialize {
        /// The construct path.
        path: String,
        /// Why.
        message: String,
    },
    /// A reference between stacks that CloudFormation cannot express.
    #[error(
        "{path}: references {target} in stack {producer}, but the consuming stack is {consumer}\nhint: cross-account references are not supported; pass the value as configuration"
    )]
    CrossAccountReference {
        /// The consuming resource's path.
        path: String,
        /// The referenced resource's logical id.
        target: String,
        /// The producing stack and its account, `name (account 111111111111)`.
        producer: String,
        /// The consuming stack and its account.
        consumer: String,
    },
    /// A token that names a resource which does not exist.
    #[error("{path}: references {target}, which is not a resource of stack {stack}")]
    DanglingToken {
        /// Where the token is.
        path: String,
        /// The logical id.
        target: String,
        /// The stack it should be in.
        stack: String,
    },
    /// Stacks that reference each other in a cycle.
    #[error(
        "stacks reference each other in a cycle: {cycle}\nhint: move one of the resources so references point one way"
    )]
    DependencyCycle {
        /// `a -> b -> a`.
        cycle: String,
    },
    /// A suppression whose reason is too short to tell a reviewer why.
    #[error(
        "{path}: suppression of {rule} needs a reason of at least {min} characters, got {reason:?}"
    )]
    SuppressionReason {
        /// The scope of the suppression.
        path: String,
        /// The rule.
        rule: String,
        /// The reason given.
        reason: String,
        /// The minimum.
        min: usize,
    },
    /// Unsuppressed compliance findings.
    #[error("{}", render_findings(.0))]
    Compliance(Vec<Finding>),
    /// An invalid state machine definition.
    #[error("{path}: invalid state machine: {message}")]
    StateMachine {
        /// The construct path.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// An invalid OpenAPI body.
    #[error("{path}: invalid OpenAPI body: {message}")]
    OpenApi {
        /// The construct path.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A queue that would redeliver messages while its consumer still runs.
    #[error(
        "{queue}: visibility timeout {visibility_timeout_secs}s is shorter than the timeout {function_timeout_secs}s of its consumer {function}\nhint: set visibility_timeout to at least 6 times the function timeout (AWS's advice for SQS event sources)"
    )]
    VisibilityTimeout {
        /// The queue's path.
        queue: String,
        /// Its visibility timeout.
        visibility_timeout_secs: u32,
        /// The function's path.
        function: String,
        /// The function's timeout.
        function_timeout_secs: u32,
    },
    /// CloudFormation would reject a synthesized template.
    #[error("stack {stack}: {message}")]
    Template {
        /// The stack name.
        stack: String,
        /// The template errors, one per line.
        message: String,
    },
    /// Several problems.
    #[error("{}", render_many(.0))]
    Many(Vec<SynthError>),
}

fn render_findings(findings: &[Finding]) -> String {
    let mut out = format!("{} compliance finding(s):", findings.len());
    for f in findings {
        out.push_str(&format!("\n  {f}"));
    }
    out.push_str("\nhint: fix the resource, or call .suppress(rule, reason) with a reason of at least 10 characters");
    out
}

fn render_many(errors: &[SynthError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}
