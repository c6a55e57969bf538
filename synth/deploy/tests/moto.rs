//! End to end against moto_server (started by `scripts/services`; `AWS_ENDPOINT_URL` points at
//! it, default http://127.0.0.1:5055): bootstrap both regions, deploy every fixture stack,
//! redeploy with no change set executed, DR bootstrap of the standby region, destroy leaving
//! only the Retain resources.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Instant;

use aws_config::{BehaviorVersion, Region};
use banca_deploy::aws::Aws;
use banca_deploy::commands::{
    AppArgs, BootstrapArgs, DeployArgs, DestroyArgs, WaitArgs, bootstrap_with, deploy_with,
    destroy_with,
};
use banca_deploy::deploy::{DeployMethod, RequireApproval};
use banca_deploy::dr::{DrBootstrapArgs, DrCommand, Regions};
use banca_synth::cli::{ExitStatus, OutputArgs, Printer};
use common::{DR, PRIMARY};

/// One test against moto at a time: both bootstrap the same toolkit stack (on a fresh moto,
/// two concurrent CreateStacks of CDKToolkit would race), and moto's backends are not
/// thread-safe across concurrent stack creations.
static MOTO: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn moto_config() -> aws_config::SdkConfig {
    let endpoint =
        std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| "http://127.0.0.1:5055".into());
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(PRIMARY))
        .credentials_provider(aws_sdk_cloudformation::config::Credentials::new(
            "testing", "testing", None, None, "moto",
        ))
        .load()
        .await
}

fn wait() -> WaitArgs {
    WaitArgs {
        timeout_minutes: 5,
        poll_ms: 50,
    }
}

fn json_printer() -> (Printer, banca_synth::cli::Captured) {
    Printer::capture(&OutputArgs {
        json: true,
        quiet: false,
    })
}

fn records(stdout: &str, kind: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("every stdout line is JSON"))
        .filter(|v| v["type"] == kind)
        .map(|v| v["data"].clone())
        .collect()
}

fn deploy_args(app: &std::path::Path) -> DeployArgs {
    DeployArgs {
        stacks: vec![],
        all: true,
        exclusively: false,
        app: AppArgs {
            app: app.to_owned(),
        },
        require_approval: RequireApproval::Never,
        concurrency: 4,
        outputs_file: Some(app.join("outputs.json")),
        force: false,
        // moto registers outputs and exports only for stacks created directly; the change-set
        // create (the default) is shown on its own below.
        method: DeployMethod::Direct,
        wait: wait(),
    }
}

async fn stack_exists(aws: &Aws, region: &str, name: &str) -> bool {
    banca_deploy::cfn::describe(&aws.cloudformation(region), name, region)
        .await
        .unwrap()
        .is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_bootstrap_deploy_redeploy_dr_bootstrap_destroy() {
    let _one_at_a_time = MOTO.lock().await;
    let conf = moto_config().await;
    let aws = Aws::from_config(conf.clone());
    let p = common::prefix("e");
    let app = common::temp_dir(&p);
    common::write_app(&app, &p);

    // Bootstrap both regions (idempotent: moto keeps state between runs).
    let (printer, out) = json_printer();
    let status = bootstrap_with(
        &BootstrapArgs {
            regions: vec![PRIMARY.into(), DR.into()],
            account: None,
            qualifier: "hnb659fds".into(),
            execution_policies: vec![],
            app: AppArgs { app: app.clone() },
            wait: wait(),
        },
        &printer,
        &aws,
    )
    .await;
    assert_eq!(status, ExitStatus::Success, "{}", out.stderr());
    let boots = records(&out.stdout(), "bootstrap");
    assert_eq!(boots.len(), 2, "{}", out.stdout());
    for region in [PRIMARY, DR] {
        let v = aws
            .ssm(region)
            .get_parameter()
            .name("/cdk-bootstrap/hnb659fds/version")
            .send()
            .await
            .unwrap();
        assert_eq!(v.parameter().unwrap().value(), Some("28"));
        aws.s3(region)
            .head_bucket()
            .bucket(format!("cdk-hnb659fds-assets-123456789012-{region}"))
            .send()
            .await
            .expect("asset bucket exists");
    }

    // First deploy of every stack, both regions.
    let (printer, out) = json_printer();
    let t = Instant::now();
    let status = deploy_with(&deploy_args(&app), &printer, &aws).await;
    let first = t.elapsed();
    assert_eq!(
        status,
        ExitStatus::Success,
        "{}\n{}",
        out.stderr(),
        out.stdout()
    );
    let results = records(&out.stdout(), "stack_result");
    assert_eq!(results.len(), 4);
    assert!(
        results.iter().all(|r| r["outcome"] == "created"),
        "{results:?}"
    );
    // Created with --method direct (see deploy_args): no change set executed.
    assert!(
        results.iter().all(|r| r["executed_change_set"] == false),
        "{results:?}"
    );
    // Dependency order: global before data before backend and data-dr.
    let starts: Vec<String> = records(&out.stdout(), "stack_start")
        .iter()
        .map(|r| r["stack"].as_str().unwrap().to_owned())
        .collect();
    let pos = |s: &str| {
        starts
            .iter()
            .position(|x| x == &format!("{p}-{s}"))
            .unwrap()
    };
    assert!(pos("global") < pos("data"));
    assert!(pos("data") < pos("backend"));
    assert!(pos("data") < pos("data-dr"));
    // The zip asset is in the bootstrap bucket (uploaded, or skipped by content hash when an
    // earlier run against the same moto put it there).
    let assets = records(&out.stdout(), "asset");
    let zip = assets
        .iter()
        .find(|a| a["destination"].as_str().unwrap().ends_with(".zip"))
        .expect("the Lambda zip is published");
    let key = zip["destination"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap();
    aws.s3(PRIMARY)
        .head_object()
        .bucket("cdk-hnb659fds-assets-123456789012-us-east-1")
        .key(key)
        .send()
        .await
        .expect("the zip is in the asset bucket");
    let outputs: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(app.join("outputs.json")).unwrap()).unwrap();
    assert!(
        outputs[format!("{p}-data")]["TransfersArn"]
            .as_str()
            .unwrap()
            .contains(&format!("{p}-transfers")),
        "{outputs}"
    );

    // Redeploy: nothing changed, so no change set is executed (nor created).
    let (printer, out) = json_printer();
    let t = Instant::now();
    let status = deploy_with(&deploy_args(&app), &printer, &aws).await;
    let second = t.elapsed();
    assert_eq!(status, ExitStatus::Success, "{}", out.stderr());
    let results = records(&out.stdout(), "stack_result");
    assert_eq!(results.len(), 4);
    assert!(
        results.iter().all(|r| r["outcome"] == "unchanged"),
        "{results:?}"
    );
    assert_eq!(
        results
            .iter()
            .filter(|r| r["executed_change_set"] == true)
            .count(),
        0
    );
    assert!(records(&out.stdout(), "change_set").is_empty());
    eprintln!("timing: first deploy of 4 stacks {first:?}, no-op redeploy {second:?}");

    // DR bootstrap of a second app: the DR region's standby stack and what it needs, nothing else.
    let p2 = common::prefix("d");
    let app2 = common::temp_dir(&p2);
    common::write_app(&app2, &p2);
    let (printer, out) = json_printer();
    let t = Instant::now();
    let status = banca_deploy::dr::run_with(
        &DrCommand::Bootstrap(DrBootstrapArgs {
            regions: Regions {
                primary_region: PRIMARY.into(),
                dr_region: DR.into(),
            },
            app: AppArgs { app: app2.clone() },
            require_approval: RequireApproval::Never,
            concurrency: 4,
            qualifier: "hnb659fds".into(),
            method: DeployMethod::Direct,
            wait: wait(),
        }),
        &printer,
        &aws,
    )
    .await;
    eprintln!("timing: dr bootstrap {:?}", t.elapsed());
    assert_eq!(status, ExitStatus::Success, "{}", out.stderr());
    assert!(stack_exists(&aws, DR, &format!("{p2}-data-dr")).await);
    assert!(stack_exists(&aws, PRIMARY, &format!("{p2}-data")).await);
    assert!(stack_exists(&aws, PRIMARY, &format!("{p2}-global")).await);
    assert!(!stack_exists(&aws, PRIMARY, &format!("{p2}-backend")).await);

    // Destroy both apps: only the Retain resources stay.
    for dir in [&app, &app2] {
        let (printer, out) = json_printer();
        let status = destroy_with(
            &DestroyArgs {
                stacks: vec![],
                all: true,
                force: true,
                app: AppArgs { app: dir.clone() },
                concurrency: 4,
                wait: wait(),
            },
            &printer,
            &aws,
        )
        .await;
        assert_eq!(status, ExitStatus::Success, "{}", out.stderr());
    }
    for (prefix, region) in [(&p, PRIMARY), (&p, DR), (&p2, DR)] {
        for s in ["global", "data", "backend", "data-dr"] {
            assert!(!stack_exists(&aws, region, &format!("{prefix}-{s}")).await);
        }
        let sqs = aws_sdk_sqs::Client::from_conf(
            aws_sdk_sqs::config::Builder::from(&conf)
                .region(Region::new(region))
                .build(),
        );
        sqs.get_queue_url()
            .queue_name(format!("{prefix}-transfers"))
            .send()
            .await
            .expect("the Retain queue is kept");
        assert!(
            sqs.get_queue_url()
                .queue_name(format!("{prefix}-transfers-dlq"))
                .send()
                .await
                .is_err(),
            "the DLQ (Delete policy) is gone"
        );
        let ddb = aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(&conf)
                .region(Region::new(region))
                .build(),
        );
        ddb.describe_table()
            .table_name(format!("{prefix}-faces"))
            .send()
            .await
            .expect("the Retain table is kept");
    }
    let lambda_gone = !stack_exists(&aws, PRIMARY, &format!("{p}-backend")).await;
    assert!(lambda_gone);
}

/// The default way to create a stack: a CREATE change set, executed and waited for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_a_new_stack_is_created_through_a_change_set() {
    let _one_at_a_time = MOTO.lock().await;
    let aws = Aws::from_config(moto_config().await);
    let p = common::prefix("c");
    let app = common::temp_dir(&p);
    common::write_app(&app, &p);
    let (printer, out) = json_printer();
    let status = bootstrap_with(
        &BootstrapArgs {
            regions: vec![PRIMARY.into()],
            account: None,
            qualifier: "hnb659fds".into(),
            execution_policies: vec![],
            app: AppArgs { app: app.clone() },
            wait: wait(),
        },
        &printer,
        &aws,
    )
    .await;
    assert_eq!(status, ExitStatus::Success, "{}", out.stderr());
    let (printer, out) = json_printer();
    let args = DeployArgs {
        stacks: vec![format!("{p}-global")],
        exclusively: true,
        all: false,
        method: DeployMethod::ChangeSet,
        ..deploy_args(&app)
    };
    let status = deploy_with(&args, &printer, &aws).await;
    assert_eq!(status, ExitStatus::Success, "{}", out.stderr());
    let results = records(&out.stdout(), "stack_result");
    assert_eq!(results.len(), 1, "{}", out.stdout());
    assert_eq!(results[0]["outcome"], "created");
    assert_eq!(results[0]["executed_change_set"], true);
    let change_sets = records(&out.stdout(), "change_set");
    assert_eq!(change_sets.len(), 1, "{}", out.stdout());
    assert_eq!(change_sets[0]["changes"], 1, "the one parameter, as an Add");
    let cfn = aws.cloudformation(PRIMARY);
    let d = banca_deploy::cfn::describe(&cfn, &format!("{p}-global"), PRIMARY)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.status, "CREATE_COMPLETE");
    // Nothing left behind to block the next deploy.
    let sets = cfn
        .list_change_sets()
        .stack_name(format!("{p}-global"))
        .send()
        .await
        .unwrap();
    assert!(
        sets.summaries()
            .iter()
            .all(|s| s.execution_status().map(|e| e.as_str()) != Some("AVAILABLE")),
        "{sets:?}"
    );
    let (printer, out) = json_printer();
    let status = destroy_with(
        &DestroyArgs {
            stacks: vec![format!("{p}-global")],
            all: false,
            force: true,
            app: AppArgs { app: app.clone() },
            concurrency: 1,
            wait: wait(),
        },
        &printer,
        &aws,
    )
    .await;
    assert_eq!(status, ExitStatus::Success, "{}", out.stderr());
}
