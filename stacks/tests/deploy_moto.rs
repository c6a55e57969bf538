//! The whole bank app through the deploy engine against moto_server (started by
//! `scripts/services`; `AWS_ENDPOINT_URL`, default http://127.0.0.1:5055): bootstrap of both
//! regions, first deploy of all 24 stacks (the primary with the DR stacks it reads, then
//! `dr bootstrap` for the rest of the standby region, then the global edge), a redeploy that
//! makes no change set, `dr status`, the `dr failover` plan and a real run of it from step 2
//! (the DR stacks' capacity switches raised by CloudFormation updates, the health check
//! inverted; moto cannot finish a promotion), a deploy that keeps the raised capacity, destroy
//! leaving exactly the Retain resources.
//!
//! moto cannot take every resource the bank uses: each template is deployed as its
//! moto-compatible variant (see `moto_variant`), rewritten in the assembly directory once the
//! stacks it reads outputs from are deployed. The real templates are judged by cfn-lint in
//! tests/synth.rs, never by moto.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod moto_variant;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region};
use banca_deploy::assembly::Assembly;
use banca_deploy::aws::Aws;
use banca_deploy::commands::{AppArgs, BootstrapArgs, DeployArgs, DestroyArgs, WaitArgs};
use banca_deploy::deploy::{DeployMethod, RequireApproval};
use banca_deploy::dr::{DrBootstrapArgs, DrCommand, DrFailoverArgs, DrStatusArgs, Regions};
use banca_stacks::config::Config;
use banca_stacks::pipeline::{self, Handlers};
use banca_synth::assembly::AssemblyOptions;
use banca_synth::cli::{Captured, ExitStatus, OutputArgs, Printer};
use moto_variant::{Certificates, Outputs, Pending};
use serde_json::Value;

const EXAMPLE: &str = include_str!("../../banca.yaml");
/// moto's default account (moto keys its state by account; the project name keeps runs apart).
const ACCOUNT: &str = "123456789012";
const PRIMARY: &str = "us-east-1";
const DR: &str = "us-west-2";

fn endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| "http://127.0.0.1:5055".into())
}

async fn moto() -> Aws {
    let conf = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint())
        .region(Region::new(PRIMARY))
        .credentials_provider(aws_sdk_cloudformation::config::Credentials::new(
            "testing", "testing", None, None, "moto",
        ))
        .load()
        .await;
    Aws::from_config(conf)
}

fn wait() -> WaitArgs {
    WaitArgs {
        timeout_minutes: 10,
        poll_ms: 50,
    }
}

fn json_printer() -> (Printer, Captured) {
    Printer::capture(&OutputArgs {
        json: true,
        quiet: false,
    })
}

fn records(out: &Captured, kind: &str) -> Vec<Value> {
    out.stdout()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("every stdout line is JSON"))
        .filter(|v| v["type"] == kind)
        .map(|v| v["data"].clone())
        .collect()
}

fn app(dir: &Path) -> AppArgs {
    AppArgs {
        app: dir.to_owned(),
    }
}

/// A project name no earlier run against the same moto used (stack and resource names derive
/// from it), as short as "banca" so every derived name stays within its service's limit.
fn project() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("e{:04x}", (nanos ^ u128::from(std::process::id())) % 0xffff)
}

/// Issues a certificate in moto's ACM (no SDK crate for ACM here; boto3 comes with moto).
fn issue_certificate(region: &str, domain: &str) -> String {
    let script = "import boto3, sys\n\
        acm = boto3.client('acm', region_name=sys.argv[1], endpoint_url=sys.argv[3],\n\
            aws_access_key_id='testing', aws_secret_access_key='testing')\n\
        print(acm.request_certificate(DomainName=sys.argv[2])['CertificateArn'])";
    let out = Command::new("python3")
        .args(["-c", script, region, domain, &endpoint()])
        .output()
        .expect("python3 runs (scripts/services installs it with moto)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

struct Original {
    name: String,
    region: String,
    file: PathBuf,
    template: Value,
}

/// The assembly on disk and what moto holds of it.
struct World {
    aws: Aws,
    dir: PathBuf,
    originals: Vec<Original>,
    certificates: Certificates,
    outputs: Outputs,
}

impl World {
    /// Writes the moto variant of every template that can be written now; the stacks that
    /// still wait for another stack's outputs, with what they wait for.
    fn rewrite(&self) -> BTreeMap<String, Pending> {
        let mut pending = BTreeMap::new();
        for o in &self.originals {
            match moto_variant::variant(&o.template, &o.region, &self.outputs, &self.certificates) {
                Ok(v) => {
                    std::fs::write(&o.file, serde_json::to_string_pretty(&v).unwrap()).unwrap()
                }
                Err(p) => {
                    pending.insert(o.name.clone(), p);
                }
            }
        }
        pending
    }

    async fn refresh_outputs(&mut self) {
        for o in &self.originals {
            let cfn = self.aws.cloudformation(&o.region);
            if let Some(d) = banca_deploy::cfn::describe(&cfn, &o.name, &o.region)
                .await
                .unwrap()
            {
                self.outputs
                    .insert((o.region.clone(), o.name.clone()), d.outputs);
            }
        }
    }

    async fn status(&self, name: &str, region: &str) -> Option<String> {
        banca_deploy::cfn::describe(&self.aws.cloudformation(region), name, region)
            .await
            .unwrap()
            .map(|d| d.status)
    }

    fn deploy_args(&self, stacks: Vec<String>) -> DeployArgs {
        DeployArgs {
            all: stacks.is_empty(),
            exclusively: !stacks.is_empty(),
            stacks,
            app: app(&self.dir),
            require_approval: RequireApproval::Never,
            // One stack at a time: moto's backends are not thread-safe (two stacks creating
            // IAM roles at once: "dictionary changed size during iteration", a 500, the SDK's
            // retry of CreateStack then meets AlreadyExists). The engine's parallelism is
            // shown by the fixture run in synth/deploy/tests/moto.rs and the plan's tests.
            concurrency: 1,
            outputs_file: Some(self.dir.join("outputs.json")),
            force: false,
            // moto registers outputs and exports only for stacks created directly.
            method: DeployMethod::Direct,
            wait: wait(),
        }
    }

    async fn deploy(&self, stacks: Vec<String>) -> (Captured, Duration) {
        let (printer, out) = json_printer();
        let t = Instant::now();
        let status =
            banca_deploy::commands::deploy_with(&self.deploy_args(stacks), &printer, &self.aws)
                .await;
        let took = t.elapsed();
        assert_eq!(
            status,
            ExitStatus::Success,
            "{}\n{}",
            out.stderr(),
            out.stdout()
        );
        // Deployed as the bootstrap's deploy role, assets published as its publishing role.
        assert!(
            !(out.stderr() + &out.stdout()).contains("could not assume"),
            "{}",
            out.stderr()
        );
        (out, took)
    }

    async fn dr(&self, cmd: DrCommand) -> (Captured, Duration, ExitStatus) {
        let (printer, out) = json_printer();
        let t = Instant::now();
        let status = banca_deploy::dr::run_with(&cmd, &printer, &self.aws).await;
        (out, t.elapsed(), status)
    }
}

fn regions() -> Regions {
    Regions {
        primary_region: PRIMARY.into(),
        dr_region: DR.into(),
    }
}

fn synth(config: Config, dir: &Path) {
    let root = pipeline::default_workspace_root();
    let handlers = Handlers::Bundle {
        target_dir: pipeline::default_target_dir(&root),
        workspace_root: root,
    };
    let dir = dir.to_owned();
    // A debug build of the whole app needs more stack than a test thread has.
    std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(move || pipeline::synth(&config, &handlers, &dir, &AssemblyOptions::default()))
        .unwrap()
        .join()
        .unwrap()
        .unwrap_or_else(|e| panic!("synth failed:\n{e}"));
}

fn outcomes(out: &Captured) -> BTreeMap<String, (String, bool)> {
    records(out, "stack_result")
        .iter()
        .map(|r| {
            (
                r["stack"].as_str().unwrap().to_owned(),
                (
                    r["outcome"].as_str().unwrap().to_owned(),
                    r["executed_change_set"].as_bool().unwrap(),
                ),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bank_app_deploys_fails_over_and_is_destroyed_on_moto() {
    let aws = moto().await;
    let project = project();
    let mut config = Config::parse(EXAMPLE).unwrap();
    config.project.clone_from(&project);
    config.account = ACCOUNT.into();
    // The hosted zone exists before the app (the bank's domain), as in the real account.
    let zone = aws
        .route53()
        .create_hosted_zone()
        .name(format!("{}.", config.domain.name))
        .caller_reference(&project)
        .send()
        .await
        .unwrap();
    config.domain.hosted_zone_id = zone
        .hosted_zone()
        .unwrap()
        .id()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();

    let dir = std::env::temp_dir().join(format!("banca-deploy-moto-{project}"));
    let _ = std::fs::remove_dir_all(&dir);
    synth(config, &dir);
    // moto has no UpdateTerminationProtection, so a protected stack could never be destroyed
    // here: the moto assembly drops the flag. The real one keeps it on the stateful stacks.
    let manifest_path = dir.join("manifest.json");
    let mut manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest_path).unwrap()).unwrap();
    let mut protected = BTreeSet::new();
    for (id, artifact) in manifest["artifacts"].as_object_mut().unwrap() {
        let flag = &mut artifact["properties"]["terminationProtection"];
        if flag == &Value::Bool(true) {
            protected.insert(id.trim_start_matches(&format!("{project}-")).to_owned());
            *flag = Value::Bool(false);
        }
    }
    for stateful in ["primary-data", "dr-data", "primary-security", "dr-security"] {
        assert!(protected.contains(stateful), "{stateful}: {protected:?}");
    }
    std::fs::write(&manifest_path, manifest.to_string()).unwrap();
    let assembly = Assembly::read(&dir).unwrap();
    assert_eq!(assembly.stacks.len(), 24, "primary 12 + dr 11 + global 1");
    let originals: Vec<Original> = assembly
        .stacks
        .iter()
        .map(|s| Original {
            name: s.stack_name.clone(),
            region: s.environment.region.clone(),
            file: s.template_file.clone(),
            template: serde_json::from_str(&s.template_body).unwrap(),
        })
        .collect();
    let mut certificates = Certificates::new();
    for o in &originals {
        for (_, domain) in moto_variant::certificates(&o.template) {
            certificates
                .entry((o.region.clone(), domain.clone()))
                .or_insert_with(|| issue_certificate(&o.region, &domain));
        }
    }
    let mut world = World {
        aws: aws.clone(),
        dir: dir.clone(),
        originals,
        certificates,
        outputs: Outputs::new(),
    };
    let named = |role: &str| -> BTreeSet<String> {
        world
            .originals
            .iter()
            .filter(|o| o.name.starts_with(&format!("{project}-{role}-")))
            .map(|o| o.name.clone())
            .collect()
    };
    let (primary_stacks, dr_stacks) = (named("primary"), named("dr"));
    assert_eq!((primary_stacks.len(), dr_stacks.len()), (12, 11));
    let by_name: BTreeMap<&str, &banca_deploy::assembly::Stack> = assembly
        .stacks
        .iter()
        .map(|s| (s.stack_name.as_str(), s))
        .collect();
    let by_id: BTreeMap<&str, &str> = assembly
        .stacks
        .iter()
        .map(|s| (s.id.as_str(), s.stack_name.as_str()))
        .collect();

    // 1. Bootstrap both regions.
    let (printer, out) = json_printer();
    let t = Instant::now();
    let status = banca_deploy::commands::bootstrap_with(
        &BootstrapArgs {
            regions: vec![PRIMARY.into(), DR.into()],
            account: None,
            qualifier: "hnb659fds".into(),
            execution_policies: vec![],
            app: app(&dir),
            wait: wait(),
        },
        &printer,
        &aws,
    )
    .await;
    let bootstrap_time = t.elapsed();
    assert_eq!(status, ExitStatus::Success, "{}", out.stderr());
    assert_eq!(records(&out, "bootstrap").len(), 2);

    // 2. The primary region's stacks, with the DR stacks they need (the replica keys and the
    // replication bucket they reference across regions, and what those need), in waves: a
    // stack goes once the stacks whose outputs it reads are deployed (see moto_variant).
    let mut first: BTreeSet<String> = primary_stacks.clone();
    loop {
        let more: Vec<String> = first
            .iter()
            .flat_map(|n| by_name[n.as_str()].depends_on.iter())
            .map(|d| by_id[d.as_str()].to_owned())
            .filter(|d| !first.contains(d))
            .collect();
        if more.is_empty() {
            break;
        }
        first.extend(more);
    }
    let early_dr: BTreeSet<&String> = first.intersection(&dr_stacks).collect();
    assert!(
        !early_dr.is_empty() && early_dr.len() < dr_stacks.len(),
        "the primary reads some DR stacks (replica keys, replication bucket): {early_dr:?}"
    );
    assert!(!first.iter().any(|s| s.contains("-global-")));
    let mut deployed: BTreeSet<String> = BTreeSet::new();
    let mut first_time = Duration::ZERO;
    let mut waves = 0;
    while deployed.len() < first.len() {
        world.refresh_outputs().await;
        let pending = world.rewrite();
        let mut wave: BTreeSet<String> = first
            .iter()
            .filter(|s| !deployed.contains(*s) && !pending.contains_key(*s))
            .cloned()
            .collect();
        // Only what has every dependency deployed or in this wave.
        loop {
            let blocked: Vec<String> = wave
                .iter()
                .filter(|s| {
                    by_name[s.as_str()].depends_on.iter().any(|d| {
                        let d = by_id[d.as_str()];
                        !deployed.contains(d) && !wave.contains(d)
                    })
                })
                .cloned()
                .collect();
            if blocked.is_empty() {
                break;
            }
            for b in blocked {
                wave.remove(&b);
            }
        }
        assert!(
            !wave.is_empty(),
            "no progress: {}",
            pending
                .iter()
                .map(|(s, p)| format!("{s} {p}"))
                .collect::<Vec<_>>()
                .join("; ")
        );
        let (out, took) = world.deploy(wave.iter().cloned().collect()).await;
        let results = outcomes(&out);
        assert_eq!(results.len(), wave.len(), "{results:?}");
        assert!(results.values().all(|(o, _)| o == "created"), "{results:?}");
        first_time += took;
        waves += 1;
        deployed.extend(wave);
    }
    for s in &first {
        let region = by_name[s.as_str()].environment.region.as_str();
        assert_eq!(
            world.status(s, region).await.as_deref(),
            Some("CREATE_COMPLETE"),
            "{s}"
        );
    }

    // 3. `dr bootstrap`: the DR region (bootstrapped already: left alone) and its remaining
    // standby stacks in dependency order; what they need is deployed and left unchanged.
    world.refresh_outputs().await;
    let pending = world.rewrite();
    assert!(
        dr_stacks.iter().all(|s| !pending.contains_key(s)),
        "every DR stack can be written now: {pending:?}"
    );
    let (out, dr_bootstrap_time, status) = world
        .dr(DrCommand::Bootstrap(DrBootstrapArgs {
            regions: regions(),
            app: app(&dir),
            require_approval: RequireApproval::Never,
            // One stack at a time: moto's backends are not thread-safe (two stacks creating
            // IAM roles at once: "dictionary changed size during iteration", a 500, the SDK's
            // retry of CreateStack then meets AlreadyExists). The engine's parallelism is
            // shown by the fixture run in synth/deploy/tests/moto.rs and the plan's tests.
            concurrency: 1,
            qualifier: "hnb659fds".into(),
            method: DeployMethod::Direct,
            wait: wait(),
        }))
        .await;
    assert_eq!(
        status,
        ExitStatus::Success,
        "{}\n{}",
        out.stderr(),
        out.stdout()
    );
    assert!(
        records(&out, "stack_done")
            .iter()
            .any(|d| d["stack"] == "CDKToolkit"
                && d["region"] == DR
                && d["outcome"] == "unchanged"),
        "the DR region was bootstrapped already: {}",
        out.stdout()
    );
    let results = outcomes(&out);
    for s in &dr_stacks {
        let expected = if early_dr.contains(s) {
            "unchanged"
        } else {
            "created"
        };
        assert_eq!(
            results.get(s).map(|r| r.0.as_str()),
            Some(expected),
            "{s}: {results:?}"
        );
        assert_eq!(
            world.status(s, DR).await.as_deref(),
            Some("CREATE_COMPLETE")
        );
    }
    assert!(
        results
            .iter()
            .filter(|(s, _)| !dr_stacks.contains(*s))
            .all(|(_, (o, cs))| o == "unchanged" && !cs),
        "the primary prerequisites are left alone: {results:?}"
    );

    // 4. `deploy --all`: the global edge (it reads the DR API's address) is created; the other
    // 23 stacks are unchanged.
    world.refresh_outputs().await;
    let pending = world.rewrite();
    assert!(pending.is_empty(), "{pending:?}");
    let (out, last_wave_time) = world.deploy(vec![]).await;
    let results = outcomes(&out);
    assert_eq!(results.len(), 24);
    for (s, (o, _)) in &results {
        let expected = if s.contains("-global-") {
            "created"
        } else {
            "unchanged"
        };
        assert_eq!(o, expected, "{s}");
    }
    let full_deploy = first_time + dr_bootstrap_time + last_wave_time;

    // 5. Redeploy everything: 24 stacks unchanged, no change set created or executed.
    let (out, noop_time) = world.deploy(vec![]).await;
    let results = outcomes(&out);
    assert_eq!(results.len(), 24);
    assert!(
        results.values().all(|(o, cs)| o == "unchanged" && !cs),
        "{results:?}"
    );
    assert!(records(&out, "change_set").is_empty());
    let outputs: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("outputs.json")).unwrap()).unwrap();
    assert_eq!(outputs.as_object().unwrap().len(), 24, "{outputs}");

    // 6. `dr status` before failover: everything deployed, standby capacity, the primary
    // active. (The replica is a stand-in on moto; its status line is shown in replay.rs.)
    let status_cmd = || {
        DrCommand::Status(DrStatusArgs {
            regions: regions(),
            app: app(&dir),
        })
    };
    let (out, _, status) = world.dr(status_cmd()).await;
    assert_eq!(status, ExitStatus::Success, "{}", out.stderr());
    let stacks = records(&out, "dr_stack");
    assert_eq!(stacks.len(), 24);
    assert!(
        stacks.iter().all(|s| s["status"] == "CREATE_COMPLETE"),
        "{stacks:?}"
    );
    assert_eq!(records(&out, "dr_active")[0]["region"], PRIMARY);
    let capacity = records(&out, "dr_capacity");
    assert_eq!(
        capacity.len(),
        4,
        "identity, backend, otp, onboarding have a switch: {capacity:?}"
    );
    assert!(
        capacity.iter().all(|c| c["capacity"] == "standby"),
        "{capacity:?}"
    );

    // 7. The failover runbook: the plan (`--dry-run`), then the run, each step timed. The
    // replica's promotion is shown by the recorded-response test in replay.rs (on moto the
    // cross-region replica is a stand-in, so the plan has no promotion here).
    let failover = |dry_run: bool| {
        DrCommand::Failover(DrFailoverArgs {
            regions: regions(),
            app: app(&dir),
            dry_run,
            from_step: 1,
            concurrency: 1,
            yes: true,
            wait: wait(),
        })
    };
    let (out, _, status) = world.dr(failover(true)).await;
    assert_eq!(status, ExitStatus::Success, "{}", out.stderr());
    let plan: Vec<String> = records(&out, "dr_plan_step")
        .iter()
        .map(|s| s["step"]["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        plan,
        [
            "activate_capacity",
            "activate_capacity",
            "activate_capacity",
            "activate_capacity",
            "invert_health_check"
        ],
        "the UAA group scales with its stack's switch, not by API"
    );
    let (out, failover_time, status) = world.dr(failover(false)).await;
    assert_eq!(
        status,
        ExitStatus::Success,
        "{}\n{}",
        out.stderr(),
        out.stdout()
    );
    let steps = records(&out, "dr_step");
    assert_eq!(steps.len(), 5, "{steps:?}");
    assert!(
        steps
            .iter()
            .all(|s| s["ok"] == true && s["elapsed_ms"].is_u64()),
        "{steps:?}"
    );
    assert!(
        steps[..4].iter().all(|s| s["detail"]
            .as_str()
            .unwrap()
            .contains("Capacity standby -> active")),
        "{steps:?}"
    );
    let (out, _, status) = world.dr(status_cmd()).await;
    assert_eq!(status, ExitStatus::Success, "{}", out.stderr());
    assert_eq!(records(&out, "dr_active")[0]["region"], DR);
    assert!(
        records(&out, "dr_capacity")
            .iter()
            .all(|c| c["capacity"] == "active"),
        "{}",
        out.stdout()
    );
    // A routine deploy after the failover keeps the DR region at full capacity.
    let (out, _) = world.deploy(vec![]).await;
    assert!(
        outcomes(&out)
            .values()
            .all(|(o, cs)| o == "unchanged" && !cs),
        "{}",
        out.stdout()
    );
    for s in &dr_stacks {
        let d = banca_deploy::cfn::describe(&aws.cloudformation(DR), s, DR)
            .await
            .unwrap()
            .unwrap();
        if let Some(c) = d.parameters.get("Capacity") {
            assert_eq!(c, "active", "{s}");
        }
    }

    // 8. Destroy: every stack goes and exactly the Retain resources stay.
    let mut ssm_resources = Vec::new();
    for o in &world.originals {
        let cfn = aws.cloudformation(&o.region);
        let variant: Value =
            serde_json::from_str(&std::fs::read_to_string(&o.file).unwrap()).unwrap();
        let ids = banca_deploy::cfn::physical_ids(&cfn, &o.name, &o.region)
            .await
            .unwrap();
        for (logical, r) in variant["Resources"].as_object().unwrap() {
            if r["Type"] == "AWS::SSM::Parameter" {
                let retained = matches!(
                    r["DeletionPolicy"].as_str(),
                    Some("Retain" | "RetainExceptOnCreate")
                );
                let physical = ids[logical].1.clone();
                ssm_resources.push((o.region.clone(), physical, retained));
            }
        }
    }
    assert!(
        ssm_resources.iter().any(|r| r.2),
        "some stand-ins are Retain"
    );
    let (printer, out) = json_printer();
    let t = Instant::now();
    let status = banca_deploy::commands::destroy_with(
        &DestroyArgs {
            stacks: vec![],
            all: true,
            force: true,
            app: app(&dir),
            // One stack at a time: moto's backends are not thread-safe (two stacks creating
            // IAM roles at once: "dictionary changed size during iteration", a 500, the SDK's
            // retry of CreateStack then meets AlreadyExists). The engine's parallelism is
            // shown by the fixture run in synth/deploy/tests/moto.rs and the plan's tests.
            concurrency: 1,
            wait: wait(),
        },
        &printer,
        &aws,
    )
    .await;
    let destroy_time = t.elapsed();
    assert_eq!(
        status,
        ExitStatus::Success,
        "{}\n{}",
        out.stderr(),
        out.stdout()
    );
    for o in &world.originals {
        assert_eq!(world.status(&o.name, &o.region).await, None, "{}", o.name);
    }
    let reported: usize = records(&out, "destroy")
        .iter()
        .map(|d| d["retained"].as_array().unwrap().len())
        .sum();
    let declared: usize = world
        .originals
        .iter()
        .map(|o| {
            o.template["Resources"]
                .as_object()
                .unwrap()
                .values()
                .filter(|r| {
                    matches!(
                        r["DeletionPolicy"].as_str(),
                        Some("Retain" | "RetainExceptOnCreate")
                    )
                })
                .count()
        })
        .sum();
    assert_eq!(reported, declared, "destroy reports every Retain resource");
    // Every Retain resource is still there; every real SSM parameter without Retain is gone.
    // (Stand-ins without Retain are moto's to clean up: its DeleteStack skips a few of them
    // while reporting the stack deleted.)
    let mut kept = 0;
    for (region, name, retained) in &ssm_resources {
        let exists = aws
            .ssm(region)
            .get_parameter()
            .name(name)
            .send()
            .await
            .is_ok();
        if *retained {
            assert!(exists, "{name} in {region} is Retain");
            kept += 1;
        } else if !name.starts_with("/moto-stand-in/") {
            assert!(!exists, "{name} in {region} is not Retain");
        }
    }
    assert!(kept > 0);
    eprintln!(
        "timing (24 stacks, moto): bootstrap {bootstrap_time:?}; first deploy {full_deploy:?} \
         (primary + the DR stacks it reads in {waves} waves {first_time:?}, dr bootstrap {dr_bootstrap_time:?}, global edge {last_wave_time:?}); \
         no-op redeploy {noop_time:?}; failover {failover_time:?}; destroy {destroy_time:?}"
    );
}
