//! Drift: what changed in the account behind the code's back (CloudFormation drift detection,
//! per property expected/actual), and **template drift** (the deployed template is not the one
//! the code synthesizes: someone deployed by hand, or the code changed and was never deployed).

use aws_sdk_cloudformation::types::{StackDriftDetectionStatus, StackResourceDriftStatus};
use serde::Serialize;

use crate::assembly::Stack;
use crate::aws::Aws;
use crate::cfn::{self, Waiting};
use crate::diff::{StackDiff, diff_templates};
use crate::error::Error;

/// One property that differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PropertyDrift {
    /// `/Properties/VisibilityTimeout`-style path, as CloudFormation gives it.
    pub path: String,
    /// The value the template says.
    pub expected: Option<String>,
    /// The value in the account.
    pub actual: Option<String>,
    /// `ADD`, `REMOVE` or `NOT_EQUAL`.
    pub difference: String,
}

/// A drifted resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResourceDrift {
    /// Logical id.
    pub logical_id: String,
    /// Type.
    pub resource_type: String,
    /// Physical id.
    pub physical_id: String,
    /// `MODIFIED` or `DELETED`.
    pub status: String,
    /// The differing properties (MODIFIED only).
    pub properties: Vec<PropertyDrift>,
}

/// The drift of one stack.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DriftReport {
    /// Stack name.
    pub stack: String,
    /// Region.
    pub region: String,
    /// Whether the stack exists.
    pub deployed: bool,
    /// `IN_SYNC`, `DRIFTED`, `UNKNOWN` (CloudFormation's stack drift status).
    pub stack_drift_status: String,
    /// A note when detection was partial (some resource types cannot be checked).
    pub detection_note: Option<String>,
    /// Drifted resources.
    pub resources: Vec<ResourceDrift>,
    /// The deployed template against the synthesized one (`None`: not deployed).
    pub template: Option<StackDiff>,
}

impl DriftReport {
    /// Whether anything differs from the code.
    pub fn has_drift(&self) -> bool {
        !self.deployed
            || !self.resources.is_empty()
            || self.template.as_ref().is_some_and(|t| !t.is_empty())
    }
}

/// The most pages of resource drifts read (100 a page).
const MAX_DRIFT_PAGES: usize = 50;

/// Detects the drift of one stack.
pub async fn drift_stack(aws: &Aws, stack: &Stack, waiting: Waiting) -> Result<DriftReport, Error> {
    let region = stack.environment.region.clone();
    let name = stack.stack_name.clone();
    let cfn = aws.cloudformation(&region);
    let Some(_) = cfn::describe(&cfn, &name, &region).await? else {
        return Ok(DriftReport {
            stack: name,
            region,
            deployed: false,
            stack_drift_status: "NOT_DEPLOYED".into(),
            detection_note: None,
            resources: Vec::new(),
            template: None,
        });
    };
    let template = cfn::deployed_template(&cfn, &name, &region)
        .await?
        .map(|(_, t)| diff_templates(Some(&t), &stack.template));
    let detection = cfn
        .detect_stack_drift()
        .stack_name(&name)
        .send()
        .await
        .map_err(|e| Error::aws("DetectStackDrift", &name, &region, &e))?;
    let id = detection
        .stack_drift_detection_id()
        .unwrap_or_default()
        .to_owned();
    let mut note = None;
    let mut stack_status = "UNKNOWN".to_owned();
    let mut done = false;
    for _ in 0..waiting.max_polls() {
        let s = cfn
            .describe_stack_drift_detection_status()
            .stack_drift_detection_id(&id)
            .send()
            .await
            .map_err(|e| Error::aws("DescribeStackDriftDetectionStatus", &name, &region, &e))?;
        if let Some(d) = s.stack_drift_status() {
            stack_status = d.as_str().to_owned();
        }
        match s.detection_status() {
            Some(StackDriftDetectionStatus::DetectionComplete) => {
                done = true;
                break;
            }
            Some(StackDriftDetectionStatus::DetectionFailed) => {
                // Partial: the resources that could be checked still have results.
                note = Some(format!(
                    "detection was partial: {}",
                    s.detection_status_reason().unwrap_or("no reason given")
                ));
                done = true;
                break;
            }
            _ => tokio::time::sleep(waiting.poll).await,
        }
    }
    if !done {
        return Err(Error::Timeout {
            stack: name,
            status: "DETECTION_IN_PROGRESS".into(),
            waited_secs: waiting.timeout.as_secs(),
        });
    }
    let mut resources = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_DRIFT_PAGES {
        let out = cfn
            .describe_stack_resource_drifts()
            .stack_name(&name)
            .stack_resource_drift_status_filters(StackResourceDriftStatus::Modified)
            .stack_resource_drift_status_filters(StackResourceDriftStatus::Deleted)
            .set_next_token(token.clone())
            .send()
            .await
            .map_err(|e| Error::aws("DescribeStackResourceDrifts", &name, &region, &e))?;
        for d in out.stack_resource_drifts() {
            resources.push(ResourceDrift {
                logical_id: d.logical_resource_id().unwrap_or_default().to_owned(),
                resource_type: d.resource_type().unwrap_or_default().to_owned(),
                physical_id: d.physical_resource_id().unwrap_or_default().to_owned(),
                status: d
                    .stack_resource_drift_status()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
                properties: d
                    .property_differences()
                    .iter()
                    .map(|p| PropertyDrift {
                        path: p.property_path().unwrap_or_default().to_owned(),
                        expected: p.expected_value().map(str::to_owned),
                        actual: p.actual_value().map(str::to_owned),
                        difference: p
                            .difference_type()
                            .map(|t| t.as_str().to_owned())
                            .unwrap_or_default(),
                    })
                    .collect(),
            });
        }
        token = out.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    Ok(DriftReport {
        stack: name,
        region,
        deployed: true,
        stack_drift_status: stack_status,
        detection_note: note,
        resources,
        template,
    })
}

impl DriftReport {
    /// The report as text.
    pub fn render(&self, style: &dyn Fn(&str, banca_synth::cli::Style) -> String) -> String {
        use banca_synth::cli::Style;
        let mut out = String::new();
        let head = format!("{} ({})", self.stack, self.region);
        if !self.deployed {
            out.push_str(&format!("{head}: {}\n", style("not deployed", Style::Red)));
            return out;
        }
        if !self.has_drift() {
            out.push_str(&format!("{head}: {}\n", style("in sync", Style::Green)));
            return out;
        }
        out.push_str(&format!("{head}: {}\n", style("drifted", Style::Red)));
        if let Some(n) = &self.detection_note {
            out.push_str(&format!("  note: {n}\n"));
        }
        for r in &self.resources {
            out.push_str(&format!(
                "  [{}] {} {} ({})\n",
                r.status, r.resource_type, r.logical_id, r.physical_id
            ));
            for p in &r.properties {
                out.push_str(&format!(
                    "      {} {}: expected {}, actual {}\n",
                    p.difference,
                    p.path,
                    p.expected.as_deref().unwrap_or("(unset)"),
                    p.actual.as_deref().unwrap_or("(unset)")
                ));
            }
        }
        if let Some(t) = self.template.as_ref().filter(|t| !t.is_empty()) {
            out.push_str("  template drift (deployed template != synthesized):\n");
            let st = |s: &str, x| style(s, x);
            for line in t.render(&crate::diff::RenderOptions { style: &st }).lines() {
                out.push_str("    ");
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    }
}
