#![allow(clippy::unwrap_used)]

use banca_synth::cli::progress::screen;
use banca_synth::cli::{OutputArgs, Printer};

use super::*;

fn events() -> Vec<Event> {
    let res =
        |stack: &str, id: &str, ty: &str, status: &str, reason: Option<&str>| Event::Resource {
            stack: stack.into(),
            region: if stack.ends_with("-dr") {
                "us-west-2"
            } else {
                "us-east-1"
            }
            .into(),
            logical_id: id.into(),
            resource_type: ty.into(),
            status: status.into(),
            reason: reason.map(str::to_owned),
        };
    vec![
        Event::StackStart {
            stack: "banca-data".into(),
            region: "us-east-1".into(),
        },
        Event::StackStart {
            stack: "banca-data-dr".into(),
            region: "us-west-2".into(),
        },
        Event::Asset {
            stack: "banca-data".into(),
            region: "us-east-1".into(),
            destination: "s3://cdk-hnb659fds-assets-123456789012-us-east-1/abc.zip".into(),
            uploaded: true,
        },
        Event::ChangeSet {
            stack: "banca-data".into(),
            region: "us-east-1".into(),
            name: "banca-deploy".into(),
            changes: 2,
        },
        res(
            "banca-data",
            "Transfers",
            "AWS::SQS::Queue",
            "UPDATE_IN_PROGRESS",
            None,
        ),
        res(
            "banca-data-dr",
            "Faces",
            "AWS::DynamoDB::Table",
            "CREATE_IN_PROGRESS",
            Some("Resource creation Initiated"),
        ),
        res(
            "banca-data",
            "Transfers",
            "AWS::SQS::Queue",
            "UPDATE_COMPLETE",
            None,
        ),
        Event::StackDone {
            stack: "banca-data".into(),
            region: "us-east-1".into(),
            outcome: Outcome::Updated,
            elapsed_ms: 12_300,
        },
        res(
            "banca-data-dr",
            "Faces",
            "AWS::DynamoDB::Table",
            "CREATE_FAILED",
            Some("Table already exists: faces"),
        ),
        Event::StackFailed {
            stack: "banca-data-dr".into(),
            region: "us-west-2".into(),
            message:
                "banca-data-dr: deploy failed, stack is ROLLBACK_COMPLETE\n  root cause: Faces ..."
                    .into(),
        },
        Event::StackSkipped {
            stack: "banca-backend-dr".into(),
            region: "us-west-2".into(),
            reason: "banca-data-dr did not deploy".into(),
        },
    ]
}

fn stacks() -> Vec<(String, String)> {
    vec![
        ("banca-data".into(), "us-east-1".into()),
        ("banca-data-dr".into(), "us-west-2".into()),
        ("banca-backend-dr".into(), "us-west-2".into()),
    ]
}

#[test]
fn live_view_on_a_terminal_redraws_one_line_per_stack() {
    let (printer, captured) = Printer::capture_terminal(&OutputArgs::default());
    let progress = Progress::new(&printer, "deploying 3 stack(s)", &stacks());
    // Every frame, as the terminal shows it after it is drawn.
    let mut frames = Vec::new();
    let mut drawn = captured.stderr().len();
    frames.push(screen(&captured.stderr()).join("\n"));
    for e in events() {
        progress.event(e);
        let all = captured.stderr();
        if all.len() > drawn {
            frames.push(screen(&all).join("\n"));
            drawn = all.len();
        }
    }
    progress.finish();
    assert!(
        captured.stdout().is_empty(),
        "progress never goes to stdout"
    );
    assert!(
        captured.stderr().contains("\x1b[2K"),
        "frames clear lines in place"
    );
    insta::assert_snapshot!("live_frames", frames.join("\n---\n"));
    insta::assert_snapshot!("live_final_screen", screen(&captured.stderr()).join("\n"));
}

#[test]
fn stacks_of_one_name_in_two_regions_get_a_line_each() {
    let (printer, captured) = Printer::capture_terminal(&OutputArgs::default());
    let rows = vec![
        ("CDKToolkit".to_owned(), "us-east-1".to_owned()),
        ("CDKToolkit".to_owned(), "us-west-2".to_owned()),
    ];
    let progress = Progress::new(&printer, "bootstrapping", &rows);
    progress.event(Event::StackDone {
        stack: "CDKToolkit".into(),
        region: "us-west-2".into(),
        outcome: Outcome::Bootstrapped,
        elapsed_ms: 900,
    });
    assert_eq!(
        screen(&captured.stderr()),
        vec![
            "bootstrapping [1/2]",
            " · CDKToolkit  us-east-1  waiting",
            " ✔ CDKToolkit  us-west-2  bootstrapped (0.9s)",
        ]
    );
}

#[test]
fn plain_lines_when_not_a_terminal() {
    let (printer, captured) = Printer::capture(&OutputArgs::default());
    let progress = Progress::new(&printer, "deploying", &stacks());
    for e in events() {
        progress.event(e);
    }
    let err = captured.stderr();
    assert!(!err.contains('\x1b'), "no escape codes off a terminal");
    assert!(captured.stdout().is_empty());
    insta::assert_snapshot!("plain_lines", err);
}

#[test]
fn json_lines_with_json() {
    let (printer, captured) = Printer::capture(&OutputArgs {
        json: true,
        quiet: false,
    });
    let progress = Progress::new(&printer, "deploying", &stacks());
    for e in events() {
        progress.event(e);
    }
    assert!(captured.stderr().is_empty(), "{}", captured.stderr());
    let lines: Vec<serde_json::Value> = captured
        .stdout()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), events().len());
    for l in &lines {
        let o = l.as_object().unwrap();
        assert_eq!(o.len(), 2, "{l}");
        assert!(o["type"].is_string() && o["data"].is_object(), "{l}");
    }
    let kinds: Vec<&str> = lines.iter().map(|l| l["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        vec![
            "stack_start",
            "stack_start",
            "asset",
            "change_set",
            "resource",
            "resource",
            "resource",
            "stack_done",
            "resource",
            "stack_failed",
            "stack_skipped"
        ]
    );
    assert_eq!(lines[7]["data"]["outcome"], "updated");
    assert_eq!(lines[7]["data"]["elapsed_ms"], 12_300);
}

#[test]
fn quiet_shows_no_progress() {
    let (printer, captured) = Printer::capture(&OutputArgs {
        json: false,
        quiet: true,
    });
    let progress = Progress::new(&printer, "deploying", &stacks());
    for e in events() {
        progress.event(e);
    }
    assert!(captured.stderr().is_empty());
    assert!(captured.stdout().is_empty());
}
