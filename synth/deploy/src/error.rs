//! What can go wrong, in the user's terms, with the value and a `hint:` when there is a fix.

use std::path::PathBuf;

use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// An error of a deploy-engine operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file of the assembly could not be read.
    #[error("cannot read {}: {reason}\nhint: run `banca synth` first (or pass --app DIR)", path.display())]
    AssemblyRead {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A file of the assembly is not in the expected format.
    #[error("{}: {reason}", path.display())]
    AssemblyFormat {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A stack pattern matched no stack.
    #[error(
        "no stack matches {pattern:?}; the assembly has: {available}\nhint: name stacks by artifact id, stack name or a `*` pattern"
    )]
    NoSuchStack {
        /// The pattern given.
        pattern: String,
        /// The stacks there are.
        available: String,
    },
    /// Stacks depend on each other in a cycle.
    #[error(
        "stacks depend on each other in a cycle: {cycle}\nhint: move the shared resource to a stack both depend on"
    )]
    DependencyCycle {
        /// The stacks in the cycle.
        cycle: String,
    },
    /// An AWS call failed.
    #[error("{operation} for {target} in {region} failed: {message}{}", hint.as_deref().map(|h| format!("\nhint: {h}")).unwrap_or_default())]
    Aws {
        /// The API call.
        operation: &'static str,
        /// What it was about (a stack, bucket, resource).
        target: String,
        /// The region.
        region: String,
        /// AWS's message (error code and text).
        message: String,
        /// The fix, when one is known.
        hint: Option<String>,
    },
    /// The target environment is not bootstrapped (or too old).
    #[error(
        "{env} is not bootstrapped for banca/CDK deploys: {reason}\nhint: run `banca bootstrap --region {region}`"
    )]
    NotBootstrapped {
        /// The environment.
        env: String,
        /// The region (for the hint).
        region: String,
        /// What was found.
        reason: String,
    },
    /// A stack deploy ended in failure; CloudFormation rolled it back.
    #[error(
        "{stack}: deploy failed, stack is {status}\n  root cause: {root_cause}\nhint: fix the resource above and deploy again; the stack was rolled back to its last good state"
    )]
    DeployFailed {
        /// The stack.
        stack: String,
        /// The final status (`ROLLBACK_COMPLETE`, `UPDATE_ROLLBACK_COMPLETE`, ...).
        status: String,
        /// The first failed resource and its reason.
        root_cause: String,
    },
    /// A stack operation did not finish in time.
    #[error(
        "{stack}: still {status} after {waited_secs}s\nhint: watch it in the CloudFormation console; raise --timeout-minutes if it is just slow"
    )]
    Timeout {
        /// The stack.
        stack: String,
        /// The last status seen.
        status: String,
        /// How long banca waited.
        waited_secs: u64,
    },
    /// A stack is in a state nothing can be done from.
    #[error("{stack}: cannot {action} while the stack is {status}\nhint: {hint}")]
    StackState {
        /// The stack.
        stack: String,
        /// What banca wanted to do.
        action: &'static str,
        /// Its status.
        status: String,
        /// What to do.
        hint: String,
    },
    /// A change needs approval and none was given.
    #[error(
        "{stack}: {what} needs approval (--require-approval {level}) and nobody can answer here\nhint: review it with `banca diff {stack}`, then run with --require-approval never"
    )]
    ApprovalRequired {
        /// The stack.
        stack: String,
        /// What needs approval.
        what: String,
        /// The approval level in force.
        level: String,
    },
    /// The user said no.
    #[error("{action} cancelled")]
    Cancelled {
        /// What was cancelled.
        action: String,
    },
    /// A stack that another one depends on failed or was skipped.
    #[error("{stack}: skipped because {dependency} did not deploy")]
    DependencyFailed {
        /// The stack.
        stack: String,
        /// The dependency.
        dependency: String,
    },
    /// A local file could not be read or written.
    #[error("{}: {reason}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Something the DR runbook needs is missing.
    #[error("dr: {0}")]
    Dr(String),
}

impl Error {
    /// An AWS call error, with the SDK's error text (code and message) and a hint for the
    /// usual causes.
    pub(crate) fn aws<E>(
        operation: &'static str,
        target: impl Into<String>,
        region: &str,
        err: &E,
    ) -> Self
    where
        E: std::error::Error + ProvideErrorMetadata + 'static,
    {
        let message = aws_message(err);
        let hint = if message.contains("ExpiredToken")
            || message.contains("InvalidClientTokenId")
            || message.contains("credentials")
        {
            Some("check your AWS credentials (aws sts get-caller-identity) and AWS_PROFILE".into())
        } else if message.contains("AccessDenied") {
            Some("the caller lacks the permission named above; deploy with an admin or the bootstrap deploy role".into())
        } else if message.contains("dispatch failure") || message.contains("connect") {
            Some("check the network, AWS_REGION and AWS_ENDPOINT_URL".into())
        } else {
            None
        };
        Error::Aws {
            operation,
            target: target.into(),
            region: region.to_owned(),
            message,
            hint,
        }
    }
}

/// The innermost useful text of an SDK error: the service's code and message when it has them.
pub(crate) fn aws_message<E: std::error::Error + ProvideErrorMetadata + 'static>(
    err: &E,
) -> String {
    if let Some(code) = err.code() {
        return match err.message() {
            Some(m) => format!("{code}: {m}"),
            None => code.to_owned(),
        };
    }
    let mut parts = vec![err.to_string()];
    let mut source = err.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    // "service error" alone says nothing: keep what follows it.
    parts.retain(|p| p != "service error" && !p.is_empty());
    parts.join(": ")
}
