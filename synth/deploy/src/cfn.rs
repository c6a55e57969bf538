//! The CloudFormation calls the commands share: describe a stack, read its deployed template,
//! wait for it while streaming its events, and find the root cause of a failure.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::error::ProvideErrorMetadata;
use aws_sdk_cloudformation::types::TemplateStage;
use banca_model::template::Template;

use crate::error::Error;
use crate::progress::{Event, Progress};

/// How often and how long to poll.
#[derive(Debug, Clone, Copy)]
pub struct Waiting {
    /// Between two polls.
    pub poll: Duration,
    /// The longest wait for one operation.
    pub timeout: Duration,
}

impl Default for Waiting {
    fn default() -> Self {
        Self {
            poll: Duration::from_secs(5),
            timeout: Duration::from_secs(60 * 60),
        }
    }
}

impl Waiting {
    /// How many polls fit in the timeout (at least one).
    pub fn max_polls(&self) -> u64 {
        let poll = self.poll.as_millis().max(1);
        u64::try_from(self.timeout.as_millis() / poll)
            .unwrap_or(u64::MAX)
            .max(1)
    }
}

/// What DescribeStacks says about a deployed stack.
#[derive(Debug, Clone, Default)]
pub struct Deployed {
    /// The stack id (an ARN).
    pub id: String,
    /// The status, e.g. `UPDATE_COMPLETE`.
    pub status: String,
    /// The status reason.
    pub reason: Option<String>,
    /// Parameter values.
    pub parameters: BTreeMap<String, String>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// Outputs.
    pub outputs: BTreeMap<String, String>,
    /// Termination protection.
    pub termination_protection: bool,
}

/// Whether an error says the stack does not exist.
fn is_missing<E: ProvideErrorMetadata>(e: &E) -> bool {
    e.code() == Some("ValidationError") && e.message().is_some_and(|m| m.contains("does not exist"))
}

/// The stack, or `None` when there is none (or only a deleted one).
pub async fn describe(cfn: &Client, name: &str, region: &str) -> Result<Option<Deployed>, Error> {
    let out = match cfn.describe_stacks().stack_name(name).send().await {
        Ok(o) => o,
        Err(e) if e.as_service_error().is_some_and(is_missing) => return Ok(None),
        Err(e) => return Err(Error::aws("DescribeStacks", name, region, &e)),
    };
    let Some(s) = out.stacks().first() else {
        return Ok(None);
    };
    let status = s
        .stack_status()
        .map(|x| x.as_str().to_owned())
        .unwrap_or_default();
    if status == "DELETE_COMPLETE" {
        return Ok(None);
    }
    Ok(Some(Deployed {
        id: s.stack_id().unwrap_or(name).to_owned(),
        status,
        reason: s.stack_status_reason().map(str::to_owned),
        parameters: s
            .parameters()
            .iter()
            .filter_map(|p| {
                Some((
                    p.parameter_key()?.to_owned(),
                    p.parameter_value().unwrap_or_default().to_owned(),
                ))
            })
            .collect(),
        tags: s
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned())))
            .collect(),
        outputs: s
            .outputs()
            .iter()
            .filter_map(|o| {
                Some((
                    o.output_key()?.to_owned(),
                    o.output_value().unwrap_or_default().to_owned(),
                ))
            })
            .collect(),
        termination_protection: s.enable_termination_protection().unwrap_or(false),
    }))
}

/// The deployed template (as submitted, before transforms), body and parsed.
pub async fn deployed_template(
    cfn: &Client,
    name: &str,
    region: &str,
) -> Result<Option<(String, Template)>, Error> {
    let out = match cfn
        .get_template()
        .stack_name(name)
        .template_stage(TemplateStage::Original)
        .send()
        .await
    {
        Ok(o) => o,
        Err(e) if e.as_service_error().is_some_and(is_missing) => return Ok(None),
        Err(e) => return Err(Error::aws("GetTemplate", name, region, &e)),
    };
    let body = out.template_body().unwrap_or_default().to_owned();
    let template = Template::parse(&body).map_err(|e| Error::Aws {
        operation: "GetTemplate",
        target: name.to_owned(),
        region: region.to_owned(),
        message: format!("the deployed template cannot be read: {e}"),
        hint: None,
    })?;
    Ok(Some((body, template)))
}

/// A stack event, as kept for the root cause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackEvent {
    /// Logical id.
    pub logical_id: String,
    /// Resource type.
    pub resource_type: String,
    /// Status.
    pub status: String,
    /// Reason.
    pub reason: Option<String>,
}

/// Follows a stack's events while it works towards a terminal state.
pub struct EventTail {
    region: String,
    seen: BTreeSet<String>,
    /// Events seen so far, oldest first.
    pub events: Vec<StackEvent>,
}

/// The most pages of events read per poll (100 events a page).
const MAX_EVENT_PAGES: usize = 10;

impl EventTail {
    /// A tail that ignores the events already there (from earlier operations).
    pub async fn start(cfn: &Client, stack_id: &str, region: &str) -> Self {
        let mut tail = Self {
            region: region.to_owned(),
            seen: BTreeSet::new(),
            events: Vec::new(),
        };
        // Older events only mark what to skip; failing to read them costs nothing but noise.
        if let Ok(out) = cfn
            .describe_stack_events()
            .stack_name(stack_id)
            .send()
            .await
        {
            for e in out.stack_events() {
                if let Some(id) = e.event_id() {
                    tail.seen.insert(id.to_owned());
                }
            }
        }
        tail
    }

    /// A tail that reports every event (a stack created just now).
    pub fn fresh(region: &str) -> Self {
        Self {
            region: region.to_owned(),
            seen: BTreeSet::new(),
            events: Vec::new(),
        }
    }

    /// Reads new events, reports them oldest first.
    pub async fn poll(
        &mut self,
        cfn: &Client,
        stack_id: &str,
        stack_name: &str,
        progress: &Progress<'_>,
    ) {
        let mut fresh = Vec::new();
        let mut token: Option<String> = None;
        'pages: for _ in 0..MAX_EVENT_PAGES {
            let Ok(out) = cfn
                .describe_stack_events()
                .stack_name(stack_id)
                .set_next_token(token.clone())
                .send()
                .await
            else {
                break;
            };
            for e in out.stack_events() {
                let id = e.event_id().unwrap_or_default().to_owned();
                if self.seen.contains(&id) {
                    break 'pages;
                }
                fresh.push(e.clone());
            }
            token = out.next_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
        // Newest first from the API: report in the order things happened.
        for e in fresh.into_iter().rev() {
            if let Some(id) = e.event_id() {
                self.seen.insert(id.to_owned());
            }
            let ev = StackEvent {
                logical_id: e.logical_resource_id().unwrap_or_default().to_owned(),
                resource_type: e.resource_type().unwrap_or_default().to_owned(),
                status: e
                    .resource_status()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
                reason: e.resource_status_reason().map(str::to_owned),
            };
            progress.event(Event::Resource {
                stack: stack_name.to_owned(),
                region: self.region.clone(),
                logical_id: ev.logical_id.clone(),
                resource_type: ev.resource_type.clone(),
                status: ev.status.clone(),
                reason: ev.reason.clone(),
            });
            self.events.push(ev);
        }
    }

    /// The first failure that is not a consequence of another (cancellations), as
    /// `Logical (Type) STATUS: reason`.
    pub fn root_cause(&self, stack_name: &str) -> Option<String> {
        let failed = |e: &&StackEvent| e.status.ends_with("_FAILED") && e.logical_id != stack_name;
        let consequence = |e: &&StackEvent| {
            e.reason.as_deref().is_some_and(|r| {
                r.contains("Resource creation cancelled")
                    || r.contains("Resource update cancelled")
                    || r.contains("cancelled")
            })
        };
        let first = self
            .events
            .iter()
            .filter(failed)
            .find(|e| !consequence(e))
            .or_else(|| self.events.iter().find(failed))?;
        Some(format!(
            "{} ({}) {}: {}",
            first.logical_id,
            first.resource_type,
            first.status,
            first.reason.as_deref().unwrap_or("no reason given")
        ))
    }
}

/// Whether a status is final.
pub fn is_terminal(status: &str) -> bool {
    !status.ends_with("_IN_PROGRESS")
}

/// Polls the stack until its status is final, streaming events; returns the final status.
pub async fn wait_for_stack(
    cfn: &Client,
    stack_id: &str,
    stack_name: &str,
    region: &str,
    waiting: Waiting,
    tail: &mut EventTail,
    progress: &Progress<'_>,
) -> Result<String, Error> {
    let mut last = String::new();
    for _ in 0..waiting.max_polls() {
        tail.poll(cfn, stack_id, stack_name, progress).await;
        let status = match describe(cfn, stack_id, region).await? {
            Some(d) => d.status,
            None => "DELETE_COMPLETE".to_owned(),
        };
        if is_terminal(&status) {
            // Catch the events written with the final status.
            tail.poll(cfn, stack_id, stack_name, progress).await;
            return Ok(status);
        }
        last = status;
        tokio::time::sleep(waiting.poll).await;
    }
    Err(Error::Timeout {
        stack: stack_name.to_owned(),
        status: last,
        waited_secs: waiting.timeout.as_secs(),
    })
}

/// The physical ids of a stack's resources, by logical id.
pub async fn physical_ids(
    cfn: &Client,
    stack: &str,
    region: &str,
) -> Result<BTreeMap<String, (String, String)>, Error> {
    let out = cfn
        .describe_stack_resources()
        .stack_name(stack)
        .send()
        .await
        .map_err(|e| Error::aws("DescribeStackResources", stack, region, &e))?;
    Ok(out
        .stack_resources()
        .iter()
        .filter_map(|r| {
            Some((
                r.logical_resource_id()?.to_owned(),
                (
                    r.resource_type().unwrap_or_default().to_owned(),
                    r.physical_resource_id().unwrap_or_default().to_owned(),
                ),
            ))
        })
        .collect())
}

/// Deletes the stack `stack_id` and waits for the end; its final status
/// (`DELETE_COMPLETE`, or `DELETE_FAILED` with the reasons in `tail`).
pub async fn delete_stack(
    cfn: &Client,
    stack_id: &str,
    stack_name: &str,
    region: &str,
    waiting: Waiting,
    tail: &mut EventTail,
    progress: &Progress<'_>,
) -> Result<String, Error> {
    cfn.delete_stack()
        .stack_name(stack_id)
        .client_request_token(request_token("delete", stack_name))
        .send()
        .await
        .map_err(|e| Error::aws("DeleteStack", stack_name, region, &e))?;
    wait_for_stack(cfn, stack_id, stack_name, region, waiting, tail, progress).await
}

/// A token for one mutating CloudFormation request (CreateStack, ExecuteChangeSet,
/// UpdateStack, DeleteStack): when the SDK retries the request after a timeout or a 5xx, the
/// retry carries the same token and CloudFormation recognises it instead of answering
/// `AlreadyExists` to a stack the first attempt created. Unique per call; at most 128
/// characters of `[a-zA-Z0-9-]`.
pub fn request_token(action: &str, stack: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let stack: String = stack
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(80)
        .collect();
    static CALLS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("banca-{action}-{stack}-{nanos:x}-{n:x}")
}

#[cfg(test)]
mod request_token_tests {
    use super::request_token;

    #[test]
    fn tokens_match_cloudformations_pattern_and_differ_per_call() {
        let name = "banca-primary-data.with_odd/chars".repeat(5);
        let a = request_token("create", &name);
        let b = request_token("create", &name);
        assert_ne!(a, b);
        for t in [&a, &b] {
            // ClientRequestToken: [a-zA-Z][-a-zA-Z0-9]*, at most 128.
            assert!(t.len() <= 128, "{t}");
            assert!(t.starts_with(|c: char| c.is_ascii_alphabetic()), "{t}");
            assert!(
                t.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
                "{t}"
            );
        }
    }
}
