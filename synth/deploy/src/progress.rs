//! Progress of a multi-stack run, rendered three ways from one event stream:
//!
//! - on a terminal, a live view: one line per stack, redrawn in place;
//! - otherwise (CI, pipes), plain lines on stderr, one per event;
//! - with `--json`, the events themselves as JSON Lines on stdout:
//!   `{"type": "stack_start" | "asset" | "change_set" | "resource" | "stack_done" |
//!   "stack_failed" | "stack_skipped", "data": {...}}`.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use banca_synth::cli::progress::{LiveRegion, elapsed};
use banca_synth::cli::{Printer, Style};
use indexmap::IndexMap;
use serde::Serialize;

/// What happened to a stack when its run ended well.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A new stack was created.
    Created,
    /// A change set was executed on an existing stack.
    Updated,
    /// Nothing to do: the deployed template, parameters and tags are the synthesized ones, or
    /// the change set was empty (and deleted).
    Unchanged,
    /// The stack was deleted.
    Destroyed,
    /// The stack did not exist (nothing to destroy).
    Absent,
    /// The bootstrap stack is in place.
    Bootstrapped,
}

impl Outcome {
    fn word(self) -> &'static str {
        match self {
            Outcome::Created => "created",
            Outcome::Updated => "updated",
            Outcome::Unchanged => "no changes",
            Outcome::Destroyed => "destroyed",
            Outcome::Absent => "not deployed",
            Outcome::Bootstrapped => "bootstrapped",
        }
    }
}

/// One thing that happened during a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Event {
    /// Work on a stack began.
    StackStart {
        /// Stack name.
        stack: String,
        /// Region.
        region: String,
    },
    /// A file asset was published, or found already there.
    Asset {
        /// Stack name.
        stack: String,
        /// Region.
        region: String,
        /// `s3://bucket/key`.
        destination: String,
        /// Whether it was uploaded (false: it existed, skipped by hash).
        uploaded: bool,
    },
    /// A change set was created.
    ChangeSet {
        /// Stack name.
        stack: String,
        /// Region.
        region: String,
        /// Change set name.
        name: String,
        /// How many resource changes it holds.
        changes: usize,
    },
    /// A CloudFormation stack event.
    Resource {
        /// Stack name.
        stack: String,
        /// Region.
        region: String,
        /// Logical id.
        logical_id: String,
        /// Resource type.
        resource_type: String,
        /// `CREATE_IN_PROGRESS`, `CREATE_FAILED`, ...
        status: String,
        /// CloudFormation's reason, when it gives one.
        reason: Option<String>,
    },
    /// A stack's run ended well.
    StackDone {
        /// Stack name.
        stack: String,
        /// Region.
        region: String,
        /// What happened.
        outcome: Outcome,
        /// How long it took, in milliseconds.
        elapsed_ms: u64,
    },
    /// A stack's run failed.
    StackFailed {
        /// Stack name.
        stack: String,
        /// Region.
        region: String,
        /// The error, with its root cause.
        message: String,
    },
    /// A stack was not attempted.
    StackSkipped {
        /// Stack name.
        stack: String,
        /// Region.
        region: String,
        /// Why.
        reason: String,
    },
}

#[derive(Debug, Clone)]
struct Row {
    region: String,
    state: RowState,
    detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum RowState {
    Waiting,
    Running,
    Done,
    Failed,
    Skipped,
}

struct Live {
    region: LiveRegion,
    rows: IndexMap<(String, String), Row>,
    title: String,
}

/// The progress sink of one command run.
pub struct Progress<'p> {
    printer: &'p Printer,
    live: Option<Mutex<Live>>,
}

impl<'p> Progress<'p> {
    /// Progress for `stacks` (name, region), the live view when the printer is live; `title` is
    /// the live view's first line (`deploying 5 stacks`).
    pub fn new(printer: &'p Printer, title: &str, stacks: &[(String, String)]) -> Self {
        let live = printer.is_live().then(|| {
            Mutex::new(Live {
                region: LiveRegion::new(Some(120)),
                rows: stacks
                    .iter()
                    .map(|(name, region)| {
                        (
                            (name.clone(), region.clone()),
                            Row {
                                region: region.clone(),
                                state: RowState::Waiting,
                                detail: "waiting".to_owned(),
                            },
                        )
                    })
                    .collect(),
                title: title.to_owned(),
            })
        });
        let p = Self { printer, live };
        p.redraw();
        p
    }

    /// Progress without a live view (plain lines and JSON Lines only), for work that shows
    /// its own results.
    pub fn without_view(printer: &'p Printer) -> Self {
        Self {
            printer,
            live: None,
        }
    }

    /// The printer underneath.
    pub fn printer(&self) -> &'p Printer {
        self.printer
    }

    /// Reports an event.
    pub fn event(&self, e: Event) {
        if self.printer.is_json() {
            if let Ok(serde_json::Value::Object(mut m)) = serde_json::to_value(&e) {
                let kind = m
                    .remove("type")
                    .and_then(|k| k.as_str().map(str::to_owned))
                    .unwrap_or_default();
                let data = m.remove("data").unwrap_or_default();
                self.printer.record(&kind, &data);
            }
            return;
        }
        if let Some(live) = &self.live {
            {
                let mut l = live.lock().unwrap_or_else(PoisonError::into_inner);
                apply(&mut l.rows, &e);
            }
            self.redraw();
            return;
        }
        if self.printer.wants_progress_lines() {
            self.printer.note(self.plain_line(&e));
        }
    }

    fn plain_line(&self, e: &Event) -> String {
        let p = self.printer;
        match e {
            Event::StackStart { stack, region } => format!("{stack} | {region} | start"),
            Event::Asset {
                stack,
                destination,
                uploaded,
                ..
            } => format!(
                "{stack} | asset {destination} {}",
                if *uploaded {
                    "uploaded"
                } else {
                    "exists, skipped"
                }
            ),
            Event::ChangeSet {
                stack,
                name,
                changes,
                ..
            } => format!("{stack} | change set {name} with {changes} change(s)"),
            Event::Resource {
                stack,
                logical_id,
                resource_type,
                status,
                reason,
                ..
            } => {
                let status = p.style(status, status_style(status));
                match reason.as_deref().filter(|r| !r.is_empty()) {
                    Some(r) => format!("{stack} | {status} | {resource_type} | {logical_id} | {r}"),
                    None => format!("{stack} | {status} | {resource_type} | {logical_id}"),
                }
            }
            Event::StackDone {
                stack,
                region,
                outcome,
                elapsed_ms,
            } => format!(
                "{stack} | {region} | {} in {}",
                p.style(outcome.word(), Style::Green),
                elapsed(Duration::from_millis(*elapsed_ms))
            ),
            Event::StackFailed {
                stack,
                region,
                message,
            } => {
                let first = message.lines().next().unwrap_or_default();
                format!(
                    "{stack} | {region} | {} {first}",
                    p.style("failed:", Style::Red)
                )
            }
            Event::StackSkipped { stack, reason, .. } => {
                format!("{stack} | {} {reason}", p.style("skipped:", Style::Dim))
            }
        }
    }

    fn redraw(&self) {
        let Some(live) = &self.live else { return };
        let mut l = live.lock().unwrap_or_else(PoisonError::into_inner);
        let lines = frame_lines(&l.title, &l.rows);
        let frame = l.region.frame(&lines);
        self.printer.stderr_raw(&frame);
    }

    /// Ends the live view, leaving its last frame on screen.
    pub fn finish(&self) {
        if let Some(live) = &self.live {
            live.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .region
                .keep();
        }
    }
}

fn status_style(status: &str) -> Style {
    if status.ends_with("_FAILED") || status.contains("ROLLBACK") {
        Style::Red
    } else if status.ends_with("_COMPLETE") {
        Style::Green
    } else {
        Style::Yellow
    }
}

fn event_key(e: &Event) -> (String, String) {
    match e {
        Event::StackStart { stack, region }
        | Event::Asset { stack, region, .. }
        | Event::ChangeSet { stack, region, .. }
        | Event::Resource { stack, region, .. }
        | Event::StackDone { stack, region, .. }
        | Event::StackFailed { stack, region, .. }
        | Event::StackSkipped { stack, region, .. } => (stack.clone(), region.clone()),
    }
}

fn apply(rows: &mut IndexMap<(String, String), Row>, e: &Event) {
    let (state, detail) = match e {
        Event::StackStart { .. } => (RowState::Running, "starting".to_owned()),
        Event::Asset { destination, .. } => {
            (RowState::Running, format!("publishing {destination}"))
        }
        Event::ChangeSet { changes, .. } => (
            RowState::Running,
            format!("executing change set ({changes} changes)"),
        ),
        Event::Resource {
            logical_id, status, ..
        } => (RowState::Running, format!("{status} {logical_id}")),
        Event::StackDone {
            outcome,
            elapsed_ms,
            ..
        } => (
            RowState::Done,
            format!(
                "{} ({})",
                outcome.word(),
                elapsed(Duration::from_millis(*elapsed_ms))
            ),
        ),
        Event::StackFailed { message, .. } => (
            RowState::Failed,
            format!("failed: {}", message.lines().next().unwrap_or_default()),
        ),
        Event::StackSkipped { reason, .. } => (RowState::Skipped, format!("skipped: {reason}")),
    };
    let key = event_key(e);
    let row = rows.entry(key.clone()).or_insert_with(|| Row {
        region: key.1.clone(),
        state: RowState::Waiting,
        detail: String::new(),
    });
    // A late stack event never turns a finished row back into a running one.
    if matches!(
        row.state,
        RowState::Done | RowState::Failed | RowState::Skipped
    ) && state == RowState::Running
    {
        return;
    }
    row.state = state;
    row.detail = detail;
}

fn frame_lines(title: &str, rows: &IndexMap<(String, String), Row>) -> Vec<String> {
    let name_w = rows.keys().map(|k| k.0.chars().count()).max().unwrap_or(0);
    let region_w = rows.values().map(|r| r.region.len()).max().unwrap_or(0);
    let done = rows
        .values()
        .filter(|r| {
            matches!(
                r.state,
                RowState::Done | RowState::Failed | RowState::Skipped
            )
        })
        .count();
    let mut lines = vec![format!("{title} [{done}/{}]", rows.len())];
    for ((name, _), r) in rows {
        let mark = match r.state {
            RowState::Waiting => "·",
            RowState::Running => "›",
            RowState::Done => "✔",
            RowState::Failed => "✘",
            RowState::Skipped => "-",
        };
        lines.push(format!(
            " {mark} {name:<name_w$}  {:<region_w$}  {}",
            r.region, r.detail
        ));
    }
    lines
}

#[cfg(test)]
mod tests;
