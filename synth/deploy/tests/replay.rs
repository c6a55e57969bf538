//! What moto cannot show (update change sets with Modify/Replacement, a failed update rolled
//! back, drift results), against recorded AWS-shaped responses: the SDK's own clients with
//! aws-smithy-mocks answering each operation with the shapes of the CloudFormation, SSM, S3,
//! RDS, Auto Scaling and Route 53 API references.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_cloudformation::Client as Cfn;
use aws_sdk_cloudformation::operation::create_change_set::CreateChangeSetOutput;
use aws_sdk_cloudformation::operation::delete_change_set::DeleteChangeSetOutput;
use aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput;
use aws_sdk_cloudformation::operation::describe_stack_drift_detection_status::DescribeStackDriftDetectionStatusOutput;
use aws_sdk_cloudformation::operation::describe_stack_events::DescribeStackEventsOutput;
use aws_sdk_cloudformation::operation::describe_stack_resource_drifts::DescribeStackResourceDriftsOutput;
use aws_sdk_cloudformation::operation::describe_stack_resources::DescribeStackResourcesOutput;
use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksOutput;
use aws_sdk_cloudformation::operation::detect_stack_drift::DetectStackDriftOutput;
use aws_sdk_cloudformation::operation::execute_change_set::ExecuteChangeSetOutput;
use aws_sdk_cloudformation::operation::get_template::GetTemplateOutput;
use aws_sdk_cloudformation::types::{
    Change, ChangeAction, ChangeSetStatus, DifferenceType, PropertyDifference, Replacement,
    RequiresRecreation, ResourceAttribute, ResourceChange, ResourceChangeDetail, ResourceStatus,
    ResourceTargetDefinition, Stack, StackDriftDetectionStatus, StackDriftStatus, StackEvent,
    StackResource, StackResourceDrift, StackResourceDriftStatus, StackStatus,
};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use aws_smithy_types::DateTime;
use banca_deploy::aws::Aws;
use banca_deploy::commands::{
    AppArgs, DeployArgs, DiffArgs, DriftArgs, WaitArgs, deploy_with, diff_with, drift_with,
};
use banca_deploy::deploy::RequireApproval;
use banca_synth::cli::{Captured, ExitStatus, OutputArgs, Printer};

const STACK_ID: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/r-data/6a1b2c3d-0000-4000-8000-000000000001";

fn base() -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .build()
}

fn wait() -> WaitArgs {
    WaitArgs {
        timeout_minutes: 1,
        poll_ms: 1,
    }
}

fn printer(json: bool) -> (Printer, Captured) {
    Printer::capture(&OutputArgs { json, quiet: false })
}

/// The fixture app, written once per test under its own directory.
fn app(tag: &str) -> std::path::PathBuf {
    let dir = common::temp_dir(&format!("replay-{tag}"));
    common::write_app(&dir, "r");
    dir
}

fn template_of(dir: &std::path::Path, stack: &str) -> serde_json::Value {
    serde_json::from_str(
        &std::fs::read_to_string(dir.join(format!("{stack}.template.json"))).unwrap(),
    )
    .unwrap()
}

fn stack(status: StackStatus) -> Stack {
    Stack::builder()
        .stack_name("r-data")
        .stack_id(STACK_ID)
        .creation_time(DateTime::from_secs(1_764_300_000))
        .stack_status(status)
        .enable_termination_protection(false)
        .tags(
            aws_sdk_cloudformation::types::Tag::builder()
                .key("project")
                .value("banca-test")
                .build(),
        )
        .build()
}

fn event(
    id: &str,
    logical: &str,
    ty: &str,
    status: ResourceStatus,
    reason: Option<&str>,
) -> StackEvent {
    StackEvent::builder()
        .stack_id(STACK_ID)
        .stack_name("r-data")
        .event_id(id)
        .logical_resource_id(logical)
        .resource_type(ty)
        .resource_status(status)
        .set_resource_status_reason(reason.map(str::to_owned))
        .timestamp(DateTime::from_secs(1_764_300_100))
        .build()
}

#[tokio::test]
async fn diff_predicts_replacement_for_a_create_only_change_and_flags_iam_broadening() {
    let dir = app("diff");
    // Deployed: the queue had another name (QueueName is createOnly), and the handler's policy
    // allowed only ReceiveMessage (the synthesized one adds DeleteMessage).
    let mut data = template_of(&dir, "r-data");
    data["Resources"]["Transfers"]["Properties"]["QueueName"] = "r-transfers-old".into();
    let mut backend = template_of(&dir, "r-backend");
    backend["Resources"]["HandlerPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]["Action"] =
        serde_json::json!(["sqs:ReceiveMessage"]);
    let (data, backend) = (data.to_string(), backend.to_string());
    let get_data = mock!(Cfn::get_template)
        .match_requests(|r| r.stack_name() == Some("r-data"))
        .then_output(move || {
            GetTemplateOutput::builder()
                .template_body(data.clone())
                .build()
        });
    let get_backend = mock!(Cfn::get_template)
        .match_requests(|r| r.stack_name() == Some("r-backend"))
        .then_output(move || {
            GetTemplateOutput::builder()
                .template_body(backend.clone())
                .build()
        });
    let cfn = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&get_data, &get_backend]
    );
    let aws = Aws::from_config(base()).with_cloudformation(cfn);
    let args = DiffArgs {
        stacks: vec!["r-data".into(), "r-backend".into()],
        app: AppArgs { app: dir.clone() },
        fail: true,
        change_set: false,
        wait: wait(),
    };
    let (p, out) = printer(false);
    let status = diff_with(&args, &p, &aws).await;
    assert_eq!(
        status,
        ExitStatus::Failure,
        "--fail exits 1 on differences\n{}",
        out.stderr()
    );
    let text = out.stdout();
    assert!(
        text.contains("[~] AWS::SQS::Queue Transfers replace"),
        "{text}"
    );
    assert!(
        text.contains(r#"[~] Properties.QueueName (replaces): "r-transfers-old" -> "r-transfers""#),
        "{text}"
    );
    assert!(text.contains("IAM statement changes"), "{text}");
    assert!(text.contains("broadening"), "{text}");
    assert!(
        text.contains("sqs:DeleteMessage, sqs:ReceiveMessage"),
        "{text}"
    );
    assert!(
        text.contains("warning: this change broadens access"),
        "{text}"
    );

    // The same as JSON Lines.
    let (p, out) = printer(true);
    let status = diff_with(
        &DiffArgs {
            fail: false,
            ..args
        },
        &p,
        &aws,
    )
    .await;
    assert_eq!(
        status,
        ExitStatus::Success,
        "without --fail, differences exit 0"
    );
    let records: Vec<serde_json::Value> = out
        .stdout()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0]["type"], "diff");
    assert_eq!(
        records[0]["data"]["diff"]["resources"][0]["replacement"],
        "always"
    );
    assert_eq!(records[1]["data"]["broadening"], true);
}

#[tokio::test]
async fn diff_with_a_change_set_reports_cloudformations_own_replacement_answer() {
    let dir = app("diff-cs");
    let mut data = template_of(&dir, "r-data");
    data["Resources"]["Transfers"]["Properties"]["QueueName"] = "r-transfers-old".into();
    let data = data.to_string();
    let get = mock!(Cfn::get_template).then_output(move || {
        GetTemplateOutput::builder()
            .template_body(data.clone())
            .build()
    });
    let create = mock!(Cfn::create_change_set)
        .match_requests(|r| r.change_set_name() == Some("banca-diff"))
        .then_output(|| {
            CreateChangeSetOutput::builder()
                .id("arn:cs/banca-diff")
                .stack_id(STACK_ID)
                .build()
        });
    let describe = mock!(Cfn::describe_change_set)
        .sequence()
        .output(|| {
            DescribeChangeSetOutput::builder()
                .status(ChangeSetStatus::CreatePending)
                .build()
        })
        .output(|| {
            DescribeChangeSetOutput::builder()
                .status(ChangeSetStatus::CreateComplete)
                .changes(
                    Change::builder()
                        .resource_change(
                            ResourceChange::builder()
                                .action(ChangeAction::Modify)
                                .logical_resource_id("Transfers")
                                .resource_type("AWS::SQS::Queue")
                                .replacement(Replacement::True)
                                .scope(ResourceAttribute::Properties)
                                .details(
                                    ResourceChangeDetail::builder()
                                        .target(
                                            ResourceTargetDefinition::builder()
                                                .attribute(ResourceAttribute::Properties)
                                                .name("QueueName")
                                                .requires_recreation(RequiresRecreation::Always)
                                                .build(),
                                        )
                                        .build(),
                                )
                                .build(),
                        )
                        .build(),
                )
                .build()
        })
        .build();
    let delete =
        mock!(Cfn::delete_change_set).then_output(|| DeleteChangeSetOutput::builder().build());
    let cfn = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&get, &create, &describe, &delete]
    );
    let aws = Aws::from_config(base()).with_cloudformation(cfn);
    let (p, out) = printer(false);
    let status = diff_with(
        &DiffArgs {
            stacks: vec!["r-data".into()],
            app: AppArgs { app: dir },
            fail: true,
            change_set: true,
            wait: wait(),
        },
        &p,
        &aws,
    )
    .await;
    assert_eq!(status, ExitStatus::Failure, "{}", out.stderr());
    let text = out.stdout();
    assert!(text.contains("CloudFormation change set says:"), "{text}");
    assert!(
        text.contains("Modify AWS::SQS::Queue Transfers replace [QueueName (replaces)]"),
        "{text}"
    );
    assert_eq!(delete.num_calls(), 1, "the read-only change set is deleted");
}

fn deploy_args(dir: &std::path::Path, json: bool) -> (DeployArgs, Printer, Captured) {
    let (p, out) = printer(json);
    (
        DeployArgs {
            stacks: vec!["r-data".into()],
            all: false,
            exclusively: true,
            app: AppArgs {
                app: dir.to_owned(),
            },
            require_approval: RequireApproval::Never,
            concurrency: 2,
            outputs_file: None,
            force: false,
            method: banca_deploy::deploy::DeployMethod::ChangeSet,
            wait: wait(),
        },
        p,
        out,
    )
}

fn bootstrapped() -> aws_sdk_ssm::Client {
    let version = mock!(aws_sdk_ssm::Client::get_parameter)
        .match_requests(|r| r.name() == Some("/cdk-bootstrap/hnb659fds/version"))
        .then_output(|| {
            aws_sdk_ssm::operation::get_parameter::GetParameterOutput::builder()
                .parameter(
                    aws_sdk_ssm::types::Parameter::builder()
                        .name("/cdk-bootstrap/hnb659fds/version")
                        .value("28")
                        .build(),
                )
                .build()
        });
    mock_client!(aws_sdk_ssm, RuleMode::MatchAny, [&version])
}

/// STS answering AssumeRole for the bootstrap's deploy and file-publishing roles (the ARNs
/// the cloud assembly names, placeholders substituted).
fn bootstrap_roles() -> (
    aws_sdk_sts::Client,
    aws_smithy_mocks::Rule,
    aws_smithy_mocks::Rule,
) {
    use aws_sdk_sts::operation::assume_role::AssumeRoleOutput;
    let session = || {
        AssumeRoleOutput::builder()
            .credentials(
                aws_sdk_sts::types::Credentials::builder()
                    .access_key_id("ASIAEXAMPLE")
                    .secret_access_key("secret")
                    .session_token("token")
                    .expiration(DateTime::from_secs(4_102_444_800))
                    .build()
                    .unwrap(),
            )
            .build()
    };
    let deploy = mock!(aws_sdk_sts::Client::assume_role)
        .match_requests(|r| {
            r.role_arn()
                == Some("arn:aws:iam::123456789012:role/cdk-hnb659fds-deploy-role-123456789012-us-east-1")
        })
        .then_output(session);
    let publishing = mock!(aws_sdk_sts::Client::assume_role)
        .match_requests(|r| {
            r.role_arn()
                == Some("arn:aws:iam::123456789012:role/cdk-hnb659fds-file-publishing-role-123456789012-us-east-1")
        })
        .then_output(session);
    let sts = mock_client!(aws_sdk_sts, RuleMode::MatchAny, [&deploy, &publishing]);
    (sts, deploy, publishing)
}

fn assets_present() -> aws_sdk_s3::Client {
    let head = mock!(aws_sdk_s3::Client::head_object)
        .then_output(|| aws_sdk_s3::operation::head_object::HeadObjectOutput::builder().build());
    mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&head])
}

/// DescribeChangeSet: ready, with one in-place Modify of the Transfers queue.
fn transfers_modified() -> DescribeChangeSetOutput {
    DescribeChangeSetOutput::builder()
        .status(ChangeSetStatus::CreateComplete)
        .changes(
            Change::builder()
                .resource_change(
                    ResourceChange::builder()
                        .action(ChangeAction::Modify)
                        .logical_resource_id("Transfers")
                        .resource_type("AWS::SQS::Queue")
                        .replacement(Replacement::False)
                        .build(),
                )
                .build(),
        )
        .build()
}

#[tokio::test]
async fn a_failed_update_prints_the_root_cause_and_exits_2() {
    let dir = app("fail");
    let mut deployed = template_of(&dir, "r-data");
    deployed["Resources"]["Transfers"]["Properties"]["VisibilityTimeout"] = 30.into();
    let deployed = deployed.to_string();
    let describe = mock!(Cfn::describe_stacks)
        .sequence()
        .output(|| {
            DescribeStacksOutput::builder()
                .stacks(stack(StackStatus::UpdateComplete))
                .build()
        })
        .output(|| {
            DescribeStacksOutput::builder()
                .stacks(stack(StackStatus::UpdateRollbackInProgress))
                .build()
        })
        .output(|| {
            DescribeStacksOutput::builder()
                .stacks(stack(StackStatus::UpdateRollbackComplete))
                .build()
        })
        .repeatedly()
        .build();
    let get = mock!(Cfn::get_template).then_output(move || {
        GetTemplateOutput::builder()
            .template_body(deployed.clone())
            .build()
    });
    let delete_cs =
        mock!(Cfn::delete_change_set).then_output(|| DeleteChangeSetOutput::builder().build());
    let create = mock!(Cfn::create_change_set).then_output(|| {
        CreateChangeSetOutput::builder()
            .id("arn:cs/banca-deploy")
            .stack_id(STACK_ID)
            .build()
    });
    let describe_cs = mock!(Cfn::describe_change_set).then_output(transfers_modified);
    let old = || {
        event(
            "e0",
            "r-data",
            "AWS::CloudFormation::Stack",
            ResourceStatus::UpdateComplete,
            None,
        )
    };
    // Newest first, as DescribeStackEvents returns them: the update failed on the queue, the
    // DLQ's update was cancelled as a consequence, and the stack rolled back.
    let failure = move || {
        DescribeStackEventsOutput::builder()
            .stack_events(event("e6", "r-data", "AWS::CloudFormation::Stack", ResourceStatus::UpdateRollbackComplete, None))
            .stack_events(event("e5", "Transfers", "AWS::SQS::Queue", ResourceStatus::UpdateComplete, None))
            .stack_events(event("e4", "r-data", "AWS::CloudFormation::Stack", ResourceStatus::UpdateRollbackInProgress, Some("The following resource(s) failed to update: [Transfers].")))
            .stack_events(event("e3", "TransfersDlq", "AWS::SQS::Queue", ResourceStatus::UpdateFailed, Some("Resource update cancelled")))
            .stack_events(event("e2", "Transfers", "AWS::SQS::Queue", ResourceStatus::UpdateFailed, Some("Invalid value for the parameter VisibilityTimeout. (Service: Sqs, Status Code: 400, Request ID: 5c2f)")))
            .stack_events(event("e1", "r-data", "AWS::CloudFormation::Stack", ResourceStatus::UpdateInProgress, Some("User Initiated")))
            .stack_events(old())
            .build()
    };
    let events = mock!(Cfn::describe_stack_events)
        .sequence()
        .output(move || {
            DescribeStackEventsOutput::builder()
                .stack_events(old())
                .build()
        })
        .output(failure)
        .repeatedly()
        .build();
    let execute =
        mock!(Cfn::execute_change_set).then_output(|| ExecuteChangeSetOutput::builder().build());
    let cfn = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [
            &describe,
            &get,
            &delete_cs,
            &create,
            &describe_cs,
            &events,
            &execute
        ]
    );
    let aws = Aws::from_config(base())
        .with_cloudformation(cfn)
        .with_ssm(bootstrapped())
        .with_sts(bootstrap_roles().0)
        .with_s3(assets_present());
    let (args, p, out) = deploy_args(&dir, false);
    let status = deploy_with(&args, &p, &aws).await;
    assert_eq!(status, ExitStatus::Error, "a rolled-back deploy exits 2");
    assert_eq!(execute.num_calls(), 1);
    let err = out.stderr();
    assert!(
        err.contains("error: r-data: deploy failed, stack is UPDATE_ROLLBACK_COMPLETE\n  root cause: Transfers (AWS::SQS::Queue) UPDATE_FAILED: Invalid value for the parameter VisibilityTimeout."),
        "{err}"
    );
    assert!(err.contains("hint: fix the resource above"), "{err}");
    // The plain progress lines carried every event, the cancelled DLQ among them.
    assert!(
        err.contains(
            "r-data | UPDATE_FAILED | AWS::SQS::Queue | TransfersDlq | Resource update cancelled"
        ),
        "{err}"
    );
    assert!(
        out.stdout().is_empty(),
        "nothing deployed, no data: {}",
        out.stdout()
    );
}

#[tokio::test]
async fn an_empty_change_set_is_deleted_not_executed() {
    let dir = app("empty");
    // The deployed template differs in formatting-irrelevant ways only to CloudFormation (a
    // Description), so banca makes a change set, which CloudFormation finds empty.
    let mut deployed = template_of(&dir, "r-data");
    deployed["Description"] = "old description".into();
    let deployed = deployed.to_string();
    let describe = mock!(Cfn::describe_stacks).then_output(|| {
        DescribeStacksOutput::builder()
            .stacks(stack(StackStatus::UpdateComplete))
            .build()
    });
    let get = mock!(Cfn::get_template).then_output(move || {
        GetTemplateOutput::builder()
            .template_body(deployed.clone())
            .build()
    });
    let delete_cs =
        mock!(Cfn::delete_change_set).then_output(|| DeleteChangeSetOutput::builder().build());
    let create = mock!(Cfn::create_change_set).then_output(|| {
        CreateChangeSetOutput::builder()
            .id("arn:cs/banca-deploy")
            .stack_id(STACK_ID)
            .build()
    });
    let describe_cs = mock!(Cfn::describe_change_set).then_output(|| {
        DescribeChangeSetOutput::builder()
            .status(ChangeSetStatus::Failed)
            .status_reason("The submitted information didn't contain changes. Submit different information to create a change set.")
            .build()
    });
    let execute =
        mock!(Cfn::execute_change_set).then_output(|| ExecuteChangeSetOutput::builder().build());
    let cfn = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&describe, &get, &delete_cs, &create, &describe_cs, &execute]
    );
    let aws = Aws::from_config(base())
        .with_cloudformation(cfn)
        .with_ssm(bootstrapped())
        .with_sts(bootstrap_roles().0)
        .with_s3(assets_present());
    let (args, p, out) = deploy_args(&dir, true);
    let status = deploy_with(&args, &p, &aws).await;
    assert_eq!(status, ExitStatus::Success, "{}", out.stderr());
    assert_eq!(
        execute.num_calls(),
        0,
        "an empty change set is never executed"
    );
    assert_eq!(
        delete_cs.num_calls(),
        2,
        "the leftover and the empty change set are deleted"
    );
    let result: serde_json::Value = out
        .stdout()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["type"] == "stack_result")
        .unwrap();
    assert_eq!(result["data"]["outcome"], "unchanged");
    assert_eq!(result["data"]["executed_change_set"], false);
}

fn drift_mocks(dir: &std::path::Path, drifted: bool) -> Aws {
    let deployed = std::fs::read_to_string(dir.join("r-data.template.json")).unwrap();
    let describe = mock!(Cfn::describe_stacks).then_output(|| {
        DescribeStacksOutput::builder()
            .stacks(stack(StackStatus::UpdateComplete))
            .build()
    });
    let get = mock!(Cfn::get_template).then_output(move || {
        GetTemplateOutput::builder()
            .template_body(deployed.clone())
            .build()
    });
    let detect = mock!(Cfn::detect_stack_drift).then_output(|| {
        DetectStackDriftOutput::builder()
            .stack_drift_detection_id("d-1")
            .build()
    });
    let status = mock!(Cfn::describe_stack_drift_detection_status)
        .sequence()
        .output(|| {
            DescribeStackDriftDetectionStatusOutput::builder()
                .stack_id(STACK_ID)
                .stack_drift_detection_id("d-1")
                .detection_status(StackDriftDetectionStatus::DetectionInProgress)
                .timestamp(DateTime::from_secs(1_764_300_200))
                .build()
        })
        .output(move || {
            DescribeStackDriftDetectionStatusOutput::builder()
                .stack_id(STACK_ID)
                .stack_drift_detection_id("d-1")
                .stack_drift_status(if drifted {
                    StackDriftStatus::Drifted
                } else {
                    StackDriftStatus::InSync
                })
                .detection_status(StackDriftDetectionStatus::DetectionComplete)
                .drifted_stack_resource_count(i32::from(drifted))
                .timestamp(DateTime::from_secs(1_764_300_210))
                .build()
        })
        .repeatedly()
        .build();
    let drifts = mock!(Cfn::describe_stack_resource_drifts).then_output(move || {
        let mut out = DescribeStackResourceDriftsOutput::builder();
        if drifted {
            out = out.stack_resource_drifts(
                StackResourceDrift::builder()
                    .stack_id(STACK_ID)
                    .logical_resource_id("Transfers")
                    .physical_resource_id(
                        "https://sqs.us-east-1.amazonaws.com/123456789012/r-transfers",
                    )
                    .resource_type("AWS::SQS::Queue")
                    .stack_resource_drift_status(StackResourceDriftStatus::Modified)
                    .property_differences(
                        PropertyDifference::builder()
                            .property_path("/VisibilityTimeout")
                            .expected_value("180")
                            .actual_value("60")
                            .difference_type(DifferenceType::NotEqual)
                            .build(),
                    )
                    .timestamp(DateTime::from_secs(1_764_300_205))
                    .build(),
            );
        }
        out.build()
    });
    let cfn = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&describe, &get, &detect, &status, &drifts]
    );
    // Drift is checked as the deploy role, like the deploy.
    Aws::from_config(base())
        .with_cloudformation(cfn)
        .with_sts(bootstrap_roles().0)
}

fn drift_args(dir: &std::path::Path, fail: bool) -> DriftArgs {
    DriftArgs {
        stacks: vec!["r-data".into()],
        app: AppArgs {
            app: dir.to_owned(),
        },
        fail,
        concurrency: 2,
        wait: wait(),
    }
}

#[tokio::test]
async fn drift_reports_a_modified_property_and_exits_1_with_fail() {
    let dir = app("drift");
    let aws = drift_mocks(&dir, true);
    let (p, out) = printer(false);
    assert_eq!(
        drift_with(&drift_args(&dir, true), &p, &aws).await,
        ExitStatus::Failure
    );
    let text = out.stdout();
    assert!(text.contains("r-data (us-east-1): drifted"), "{text}");
    assert!(
        text.contains("[MODIFIED] AWS::SQS::Queue Transfers (https://sqs.us-east-1.amazonaws.com/123456789012/r-transfers)"),
        "{text}"
    );
    assert!(
        text.contains("NOT_EQUAL /VisibilityTimeout: expected 180, actual 60"),
        "{text}"
    );

    // Without --fail the same report exits 0; with --json it is one `drift` record.
    let aws = drift_mocks(&dir, true);
    let (p, out) = printer(true);
    assert_eq!(
        drift_with(&drift_args(&dir, false), &p, &aws).await,
        ExitStatus::Success
    );
    let rec: serde_json::Value =
        serde_json::from_str(out.stdout().lines().next().unwrap()).unwrap();
    assert_eq!(rec["type"], "drift");
    assert_eq!(rec["data"]["drifted"], true);
    assert_eq!(
        rec["data"]["report"]["resources"][0]["properties"][0]["actual"],
        "60"
    );

    // In sync: exit 0 even with --fail.
    let aws = drift_mocks(&dir, false);
    let (p, out) = printer(false);
    assert_eq!(
        drift_with(&drift_args(&dir, true), &p, &aws).await,
        ExitStatus::Success
    );
    assert!(
        out.stdout().contains("r-data (us-east-1): in sync"),
        "{}",
        out.stdout()
    );
}

#[tokio::test]
async fn template_drift_counts_as_drift() {
    let dir = app("tdrift");
    let aws = drift_mocks(&dir, false);
    // The code changed after the last deploy: synthesized != deployed.
    let path = dir.join("r-data.template.json");
    let mut t = template_of(&dir, "r-data");
    t["Resources"]["Transfers"]["Properties"]["VisibilityTimeout"] = 300.into();
    std::fs::write(&path, t.to_string()).unwrap();
    let (p, out) = printer(false);
    assert_eq!(
        drift_with(&drift_args(&dir, true), &p, &aws).await,
        ExitStatus::Failure
    );
    let text = out.stdout();
    assert!(text.contains("template drift"), "{text}");
    assert!(
        text.contains("Properties.VisibilityTimeout: 180 -> 300"),
        "{text}"
    );
}

#[tokio::test]
async fn aws_errors_exit_2_with_the_service_message() {
    let dir = app("err");
    let denied = mock!(Cfn::get_template).then_error(|| {
        aws_sdk_cloudformation::operation::get_template::GetTemplateError::generic(
            aws_smithy_types::error::ErrorMetadata::builder()
                .code("AccessDenied")
                .message("User: arn:aws:iam::123456789012:user/ci is not authorized to perform: cloudformation:GetTemplate")
                .build(),
        )
    });
    let cfn = mock_client!(aws_sdk_cloudformation, [&denied]);
    let aws = Aws::from_config(base()).with_cloudformation(cfn);
    let (p, out) = printer(false);
    let status = diff_with(
        &DiffArgs {
            stacks: vec!["r-data".into()],
            app: AppArgs { app: dir },
            fail: false,
            change_set: false,
            wait: wait(),
        },
        &p,
        &aws,
    )
    .await;
    assert_eq!(status, ExitStatus::Error);
    let err = out.stderr();
    assert!(err.contains("error: GetTemplate for r-data in us-east-1 failed: AccessDenied: User: arn:aws:iam::123456789012:user/ci is not authorized"), "{err}");
    assert!(
        err.contains("hint: the caller lacks the permission"),
        "{err}"
    );
}

#[tokio::test]
async fn missing_assembly_and_unknown_stacks_are_clear_errors() {
    let aws = Aws::from_config(base());
    let (p, out) = printer(false);
    let status = diff_with(
        &DiffArgs {
            stacks: vec![],
            app: AppArgs {
                app: "/nonexistent/cdk.out".into(),
            },
            fail: false,
            change_set: false,
            wait: wait(),
        },
        &p,
        &aws,
    )
    .await;
    assert_eq!(status, ExitStatus::Error);
    assert!(
        out.stderr()
            .contains("cannot read /nonexistent/cdk.out/manifest.json"),
        "{}",
        out.stderr()
    );
    assert!(
        out.stderr().contains("hint: run `banca synth` first"),
        "{}",
        out.stderr()
    );

    let dir = app("unknown");
    let (p, out) = printer(false);
    let status = diff_with(
        &DiffArgs {
            stacks: vec!["nope".into()],
            app: AppArgs { app: dir },
            fail: false,
            change_set: false,
            wait: wait(),
        },
        &p,
        &aws,
    )
    .await;
    assert_eq!(status, ExitStatus::Error);
    assert!(
        out.stderr().contains(
            "no stack matches \"nope\"; the assembly has: r-global, r-data, r-backend, r-data-dr"
        ),
        "{}",
        out.stderr()
    );
}

/// A two-stack DR app: the DR data stack (an RDS cross-region read replica and the UAA Auto
/// Scaling group at standby capacity) and the global stack (Route 53 failover records).
fn dr_app(tag: &str) -> std::path::PathBuf {
    use serde_json::json;
    let dir = common::temp_dir(&format!("replay-dr-{tag}"));
    let data = json!({"Resources": {
        "Replica": {"Type": "AWS::RDS::DBInstance", "Properties": {
            "SourceDBInstanceIdentifier": "arn:aws:rds:us-east-1:123456789012:db:banca-mysql",
            "DBInstanceClass": "db.r6g.large"}},
        "Uaa": {"Type": "AWS::AutoScaling::AutoScalingGroup", "Properties": {
            "MinSize": "1", "MaxSize": "4", "DesiredCapacity": "1"}}
    }});
    let global = json!({"Resources": {
        "PrimaryHealth": {"Type": "AWS::Route53::HealthCheck", "Properties": {
            "HealthCheckConfig": {"Type": "HTTPS", "FullyQualifiedDomainName": "api-use1.banca.example.ec", "ResourcePath": "/health"}}},
        "ApiPrimary": {"Type": "AWS::Route53::RecordSet", "Properties": {
            "Name": "api.banca.example.ec.", "Type": "CNAME", "TTL": "60", "HostedZoneId": "Z1",
            "Failover": "PRIMARY", "SetIdentifier": "primary", "HealthCheckId": {"Ref": "PrimaryHealth"},
            "ResourceRecords": ["api-use1.banca.example.ec"]}},
        "ApiSecondary": {"Type": "AWS::Route53::RecordSet", "Properties": {
            "Name": "api.banca.example.ec.", "Type": "CNAME", "TTL": "60", "HostedZoneId": "Z1",
            "Failover": "SECONDARY", "SetIdentifier": "dr",
            "ResourceRecords": ["api-usw2.banca.example.ec"]}}
    }});
    std::fs::write(dir.join("x-data-dr.template.json"), data.to_string()).unwrap();
    std::fs::write(dir.join("x-global.template.json"), global.to_string()).unwrap();
    let manifest = json!({"version": "48.0.0", "artifacts": {
        "x-global": {"type": "aws:cloudformation:stack", "environment": "aws://123456789012/us-east-1",
            "properties": {"templateFile": "x-global.template.json"}},
        "x-data-dr": {"type": "aws:cloudformation:stack", "environment": "aws://123456789012/us-west-2",
            "properties": {"templateFile": "x-data-dr.template.json"}, "dependencies": ["x-global"]}
    }});
    std::fs::write(dir.join("manifest.json"), manifest.to_string()).unwrap();
    dir
}

/// GetHealthCheck of the PRIMARY record's health check, inverted or not.
fn health_check(
    inverted: bool,
) -> aws_sdk_route53::operation::get_health_check::GetHealthCheckOutput {
    use aws_sdk_route53::types::{HealthCheck, HealthCheckConfig, HealthCheckType};
    aws_sdk_route53::operation::get_health_check::GetHealthCheckOutput::builder()
        .health_check(
            HealthCheck::builder()
                .id("hc-0001")
                .caller_reference("banca")
                .health_check_version(if inverted { 2 } else { 1 })
                .health_check_config(
                    HealthCheckConfig::builder()
                        .r#type(HealthCheckType::Https)
                        .inverted(inverted)
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .build()
}

fn resource(logical: &str, ty: &str, physical: &str) -> StackResource {
    StackResource::builder()
        .logical_resource_id(logical)
        .resource_type(ty)
        .physical_resource_id(physical)
        .resource_status(ResourceStatus::CreateComplete)
        .timestamp(DateTime::from_secs(1_764_300_000))
        .build()
}

#[tokio::test]
async fn dr_failover_plans_then_promotes_raises_capacity_and_fails_dns_over() {
    use aws_sdk_autoscaling::operation::describe_auto_scaling_groups::DescribeAutoScalingGroupsOutput;
    use aws_sdk_autoscaling::operation::update_auto_scaling_group::UpdateAutoScalingGroupOutput;
    use aws_sdk_rds::operation::describe_db_instances::DescribeDbInstancesOutput;
    use aws_sdk_rds::operation::promote_read_replica::PromoteReadReplicaOutput;
    use aws_sdk_rds::types::DbInstance;
    use aws_sdk_route53::operation::update_health_check::UpdateHealthCheckOutput;
    use banca_deploy::dr::{DrCommand, DrFailoverArgs, DrStatusArgs, Regions, run_with};

    let dir = dr_app("failover");
    let resources_dr = mock!(Cfn::describe_stack_resources)
        .match_requests(|r| r.stack_name() == Some("x-data-dr"))
        .then_output(|| {
            DescribeStackResourcesOutput::builder()
                .stack_resources(resource(
                    "Replica",
                    "AWS::RDS::DBInstance",
                    "banca-mysql-dr",
                ))
                .stack_resources(resource(
                    "Uaa",
                    "AWS::AutoScaling::AutoScalingGroup",
                    "uaa-asg-dr",
                ))
                .build()
        });
    let resources_global = mock!(Cfn::describe_stack_resources)
        .match_requests(|r| r.stack_name() == Some("x-global"))
        .then_output(|| {
            DescribeStackResourcesOutput::builder()
                .stack_resources(resource(
                    "PrimaryHealth",
                    "AWS::Route53::HealthCheck",
                    "hc-0001",
                ))
                .build()
        });
    let stacks = mock!(Cfn::describe_stacks).then_output(|| {
        DescribeStacksOutput::builder()
            .stacks(stack(StackStatus::CreateComplete))
            .build()
    });
    let cfn = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&resources_dr, &resources_global, &stacks]
    );
    let promote = mock!(aws_sdk_rds::Client::promote_read_replica)
        .match_requests(|r| r.db_instance_identifier() == Some("banca-mysql-dr"))
        .then_output(|| PromoteReadReplicaOutput::builder().build());
    let db = mock!(aws_sdk_rds::Client::describe_db_instances)
        .sequence()
        .output(|| {
            DescribeDbInstancesOutput::builder()
                .db_instances(
                    DbInstance::builder()
                        .db_instance_identifier("banca-mysql-dr")
                        .db_instance_status("modifying")
                        .read_replica_source_db_instance_identifier(
                            "arn:aws:rds:us-east-1:123456789012:db:banca-mysql",
                        )
                        .build(),
                )
                .build()
        })
        .output(|| {
            DescribeDbInstancesOutput::builder()
                .db_instances(
                    DbInstance::builder()
                        .db_instance_identifier("banca-mysql-dr")
                        .db_instance_status("available")
                        .build(),
                )
                .build()
        })
        .repeatedly()
        .build();
    let rds = mock_client!(aws_sdk_rds, RuleMode::MatchAny, [&promote, &db]);
    let groups =
        mock!(aws_sdk_autoscaling::Client::describe_auto_scaling_groups).then_output(|| {
            DescribeAutoScalingGroupsOutput::builder()
                .auto_scaling_groups(
                    aws_sdk_autoscaling::types::AutoScalingGroup::builder()
                        .auto_scaling_group_name("uaa-asg-dr")
                        .min_size(1)
                        .max_size(4)
                        .desired_capacity(1)
                        .build(),
                )
                .build()
        });
    let raise = mock!(aws_sdk_autoscaling::Client::update_auto_scaling_group)
        .match_requests(|r| {
            r.auto_scaling_group_name() == Some("uaa-asg-dr")
                && r.min_size() == Some(4)
                && r.desired_capacity() == Some(4)
        })
        .then_output(|| UpdateAutoScalingGroupOutput::builder().build());
    let asg = mock_client!(aws_sdk_autoscaling, RuleMode::MatchAny, [&groups, &raise]);
    let invert = mock!(aws_sdk_route53::Client::update_health_check)
        .match_requests(|r| r.health_check_id() == Some("hc-0001") && r.inverted() == Some(true))
        .then_output(|| UpdateHealthCheckOutput::builder().build());
    let get_hc =
        mock!(aws_sdk_route53::Client::get_health_check).then_output(|| health_check(true));
    let r53 = mock_client!(aws_sdk_route53, RuleMode::MatchAny, [&invert, &get_hc]);
    let aws = Aws::from_config(base())
        .with_cloudformation(cfn)
        .with_rds(rds)
        .with_autoscaling(asg)
        .with_route53(r53);
    let regions = Regions {
        primary_region: "us-east-1".into(),
        dr_region: "us-west-2".into(),
    };
    let failover = |dry_run: bool, yes: bool| {
        DrCommand::Failover(DrFailoverArgs {
            regions: regions.clone(),
            app: AppArgs { app: dir.clone() },
            dry_run,
            from_step: 1,
            concurrency: 4,
            yes,
            wait: wait(),
        })
    };

    // Dry run: the plan, in runbook order, and no call at all.
    let (p, out) = printer(false);
    assert_eq!(
        run_with(&failover(true, false), &p, &aws).await,
        ExitStatus::Success
    );
    assert_eq!(
        out.stdout(),
        "failover plan, us-east-1 -> us-west-2:\n  \
         1. promote RDS read replica x-data-dr/Replica\n  \
         2. raise Auto Scaling group x-data-dr/Uaa to full capacity\n  \
         3. fail Route 53 over: invert health check x-global/PrimaryHealth of PRIMARY record api.banca.example.ec.\n"
    );
    assert_eq!(
        promote.num_calls() + raise.num_calls() + invert.num_calls(),
        0
    );

    // Not confirmed and nobody to ask: refused, with the flag that skips the question.
    let (p, out) = printer(false);
    assert_eq!(
        run_with(&failover(false, false), &p, &aws).await,
        ExitStatus::Error
    );
    assert!(
        out.stderr()
            .contains("hint: review the plan with --dry-run, then pass --yes"),
        "{}",
        out.stderr()
    );
    assert_eq!(promote.num_calls(), 0);

    // The real run, as JSON Lines: every step done, with its timing.
    let (p, out) = printer(true);
    assert_eq!(
        run_with(&failover(false, true), &p, &aws).await,
        ExitStatus::Success,
        "{}",
        out.stderr()
    );
    assert_eq!(
        (promote.num_calls(), raise.num_calls(), invert.num_calls()),
        (1, 1, 1)
    );
    assert!(
        db.num_calls() >= 2,
        "waits until the replica is a standalone writer"
    );
    let steps: Vec<serde_json::Value> = out
        .stdout()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["type"] == "dr_step")
        .collect();
    assert_eq!(steps.len(), 3);
    assert!(
        steps
            .iter()
            .all(|s| s["data"]["ok"] == true && s["data"]["elapsed_ms"].is_u64())
    );
    assert_eq!(steps[0]["data"]["step"]["kind"], "promote_replica");
    assert_eq!(
        steps[1]["data"]["detail"],
        "uaa-asg-dr: min 1 -> 4, desired 1 -> 4"
    );

    // Status after the failover: the DR region is active.
    let (p, out) = printer(false);
    let status = run_with(
        &DrCommand::Status(DrStatusArgs {
            regions: regions.clone(),
            app: AppArgs { app: dir.clone() },
        }),
        &p,
        &aws,
    )
    .await;
    assert_eq!(status, ExitStatus::Success, "{}", out.stderr());
    let text = out.stdout();
    assert!(
        text.contains(
            "replica x-data-dr/Replica: banca-mysql-dr: available, promoted (standalone writer)"
        ),
        "{text}"
    );
    assert!(
        text.contains("route api.banca.example.ec.: hc-0001: inverted (failed over: DR answers)"),
        "{text}"
    );
    assert!(text.ends_with("active region: us-west-2\n"), "{text}");
}

#[tokio::test]
async fn a_broadening_change_needs_approval_and_ci_cannot_give_it() {
    let dir = app("approval");
    // Deployed: the handler policy allowed only ReceiveMessage; the code adds DeleteMessage.
    let mut deployed = template_of(&dir, "r-backend");
    deployed["Resources"]["HandlerPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]["Action"] =
        serde_json::json!(["sqs:ReceiveMessage"]);
    let deployed = deployed.to_string();
    let describe = mock!(Cfn::describe_stacks).then_output(|| {
        DescribeStacksOutput::builder()
            .stacks(stack(StackStatus::UpdateComplete))
            .build()
    });
    let get = mock!(Cfn::get_template).then_output(move || {
        GetTemplateOutput::builder()
            .template_body(deployed.clone())
            .build()
    });
    let create = mock!(Cfn::create_change_set).then_output(|| {
        CreateChangeSetOutput::builder()
            .id("arn:cs/x")
            .stack_id(STACK_ID)
            .build()
    });
    let cfn = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&describe, &get, &create]
    );
    let aws = Aws::from_config(base())
        .with_cloudformation(cfn)
        .with_ssm(bootstrapped())
        .with_sts(bootstrap_roles().0)
        .with_s3(assets_present());
    let (mut args, p, out) = deploy_args(&dir, false);
    args.stacks = vec!["r-backend".into()];
    args.require_approval = RequireApproval::Broadening;
    let status = deploy_with(&args, &p, &aws).await;
    assert_eq!(status, ExitStatus::Error);
    let err = out.stderr();
    assert!(
        err.contains("r-backend: a change that broadens IAM or security-group access needs approval (--require-approval broadening) and nobody can answer here"),
        "{err}"
    );
    assert!(
        err.contains("hint: review it with `banca diff r-backend`"),
        "{err}"
    );
    assert!(
        err.contains("sqs:DeleteMessage, sqs:ReceiveMessage"),
        "the diff is shown: {err}"
    );
    assert_eq!(create.num_calls(), 0, "nothing is changed without approval");

    // A person who says no cancels; nothing changes either.
    let (p, out) = printer(false);
    let p = p.with_answers([false]);
    assert_eq!(deploy_with(&args, &p, &aws).await, ExitStatus::Error);
    assert!(
        out.stderr().contains("deploy of r-backend cancelled"),
        "{}",
        out.stderr()
    );
    assert_eq!(create.num_calls(), 0);
}

/// A parameter the template declares but the assembly does not set (a DR stack's capacity
/// switch raised by `banca dr failover`) keeps its deployed value through an update, and
/// termination protection follows the assembly on the update path as on the create path.
#[tokio::test]
async fn an_update_keeps_parameters_set_outside_the_assembly_and_syncs_termination_protection() {
    use aws_sdk_cloudformation::operation::update_termination_protection::UpdateTerminationProtectionOutput;
    let dir = app("keep");
    let mut synthesized = template_of(&dir, "r-data");
    synthesized["Parameters"] = serde_json::json!({"Capacity": {
        "Type": "String", "Default": "standby", "AllowedValues": ["standby", "active"]}});
    std::fs::write(dir.join("r-data.template.json"), synthesized.to_string()).unwrap();
    let manifest_path = dir.join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest_path).unwrap()).unwrap();
    manifest["artifacts"]["r-data"]["properties"]["terminationProtection"] = true.into();
    std::fs::write(&manifest_path, manifest.to_string()).unwrap();
    // Deployed: an older queue setting, the switch raised, protection off.
    let mut deployed = synthesized.clone();
    deployed["Resources"]["Transfers"]["Properties"]["VisibilityTimeout"] = 30.into();
    let deployed = deployed.to_string();
    let with_switch = |status: StackStatus| {
        let mut s = stack(status);
        s.parameters = Some(vec![
            aws_sdk_cloudformation::types::Parameter::builder()
                .parameter_key("Capacity")
                .parameter_value("active")
                .build(),
        ]);
        s
    };
    let describe = mock!(Cfn::describe_stacks)
        .sequence()
        .output(move || {
            DescribeStacksOutput::builder()
                .stacks(with_switch(StackStatus::UpdateComplete))
                .build()
        })
        .output(move || {
            DescribeStacksOutput::builder()
                .stacks(with_switch(StackStatus::UpdateInProgress))
                .build()
        })
        .output(move || {
            DescribeStacksOutput::builder()
                .stacks(with_switch(StackStatus::UpdateComplete))
                .build()
        })
        .repeatedly()
        .build();
    let get = mock!(Cfn::get_template).then_output(move || {
        GetTemplateOutput::builder()
            .template_body(deployed.clone())
            .build()
    });
    let delete_cs =
        mock!(Cfn::delete_change_set).then_output(|| DeleteChangeSetOutput::builder().build());
    let create = mock!(Cfn::create_change_set)
        .match_requests(|r| {
            r.parameters().len() == 1
                && r.parameters()[0].parameter_key() == Some("Capacity")
                && r.parameters()[0].use_previous_value() == Some(true)
                && r.parameters()[0].parameter_value().is_none()
        })
        .then_output(|| {
            CreateChangeSetOutput::builder()
                .id("arn:cs/banca-deploy")
                .stack_id(STACK_ID)
                .build()
        });
    let describe_cs = mock!(Cfn::describe_change_set).then_output(transfers_modified);
    let events = mock!(Cfn::describe_stack_events)
        .then_output(|| DescribeStackEventsOutput::builder().build());
    let execute =
        mock!(Cfn::execute_change_set).then_output(|| ExecuteChangeSetOutput::builder().build());
    let protect = mock!(Cfn::update_termination_protection)
        .match_requests(|r| {
            r.stack_name() == Some("r-data") && r.enable_termination_protection() == Some(true)
        })
        .then_output(|| UpdateTerminationProtectionOutput::builder().build());
    let cfn = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [
            &describe,
            &get,
            &delete_cs,
            &create,
            &describe_cs,
            &events,
            &execute,
            &protect
        ]
    );
    let (sts, deploy_role, publishing_role) = bootstrap_roles();
    let aws = Aws::from_config(base())
        .with_cloudformation(cfn)
        .with_ssm(bootstrapped())
        .with_sts(sts)
        .with_s3(assets_present());
    let (args, p, out) = deploy_args(&dir, true);
    let status = deploy_with(&args, &p, &aws).await;
    assert_eq!(status, ExitStatus::Success, "{}", out.stderr());
    assert_eq!(
        (deploy_role.num_calls(), publishing_role.num_calls()),
        (1, 1),
        "deployed as the bootstrap's deploy role, its template asset published as the file-publishing role"
    );
    assert!(
        !out.stderr().contains("could not assume"),
        "{}",
        out.stderr()
    );
    assert_eq!(create.num_calls(), 1, "Capacity went as UsePreviousValue");
    assert_eq!(execute.num_calls(), 1);
    assert_eq!(
        protect.num_calls(),
        1,
        "protection switched on after the update"
    );
}

/// `dr status` before a failover: the replica's replication health as RDS reports it in the
/// status infos, a broken replication flagged, the primary active.
#[tokio::test]
async fn dr_status_reports_replication_health_from_rds_status_infos() {
    use aws_sdk_rds::operation::describe_db_instances::DescribeDbInstancesOutput;
    use aws_sdk_rds::types::{DbInstance, DbInstanceStatusInfo};
    use banca_deploy::dr::{DrCommand, DrStatusArgs, Regions, run_with};

    let dir = dr_app("status");
    let resources = mock!(Cfn::describe_stack_resources).then_output(|| {
        DescribeStackResourcesOutput::builder()
            .stack_resources(resource(
                "Replica",
                "AWS::RDS::DBInstance",
                "banca-mysql-dr",
            ))
            .stack_resources(resource(
                "PrimaryHealth",
                "AWS::Route53::HealthCheck",
                "hc-0001",
            ))
            .build()
    });
    let stacks = mock!(Cfn::describe_stacks).then_output(|| {
        DescribeStacksOutput::builder()
            .stacks(stack(StackStatus::CreateComplete))
            .build()
    });
    let cfn = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&resources, &stacks]
    );
    // As DescribeDBInstances reports a cross-region replica whose replication broke.
    let db = mock!(aws_sdk_rds::Client::describe_db_instances).then_output(|| {
        DescribeDbInstancesOutput::builder()
            .db_instances(
                DbInstance::builder()
                    .db_instance_identifier("banca-mysql-dr")
                    .db_instance_status("available")
                    .read_replica_source_db_instance_identifier(
                        "arn:aws:rds:us-east-1:123456789012:db:banca-mysql",
                    )
                    .status_infos(
                        DbInstanceStatusInfo::builder()
                            .status_type("read replication")
                            .normal(false)
                            .status("error")
                            .message("Replication has stopped: binlog position not found")
                            .build(),
                    )
                    .build(),
            )
            .build()
    });
    let rds = mock_client!(aws_sdk_rds, RuleMode::MatchAny, [&db]);
    let get_hc =
        mock!(aws_sdk_route53::Client::get_health_check).then_output(|| health_check(false));
    let r53 = mock_client!(aws_sdk_route53, RuleMode::MatchAny, [&get_hc]);
    let aws = Aws::from_config(base())
        .with_cloudformation(cfn)
        .with_rds(rds)
        .with_route53(r53);
    let (p, out) = printer(false);
    let status = run_with(
        &DrCommand::Status(DrStatusArgs {
            regions: Regions {
                primary_region: "us-east-1".into(),
                dr_region: "us-west-2".into(),
            },
            app: AppArgs { app: dir.clone() },
        }),
        &p,
        &aws,
    )
    .await;
    assert_eq!(status, ExitStatus::Success, "{}", out.stderr());
    let text = out.stdout();
    assert!(
        text.contains(
            "replica x-data-dr/Replica: banca-mysql-dr: available, replicating from arn:aws:rds:us-east-1:123456789012:db:banca-mysql; replication error (NOT normal): Replication has stopped: binlog position not found"
        ),
        "{text}"
    );
    assert!(
        text.contains("hc-0001: normal (PRIMARY answers while healthy)"),
        "{text}"
    );
    assert!(text.ends_with("active region: us-east-1\n"), "{text}");
}
