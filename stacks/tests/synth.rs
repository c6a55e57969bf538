//! `banca synth` end to end: real handler bundles, every template judged by cfn-lint 1.51.0,
//! the assembly read by the AWS CDK CLI, and byte-identical output across runs.

// Test helpers panic on the unexpected, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use banca_stacks::config::Config;
use banca_stacks::pipeline::{self, Handlers, SynthResult};
use banca_synth::assembly::AssemblyOptions;

const EXAMPLE: &str = include_str!("../../banca.yaml");

fn root() -> PathBuf {
    pipeline::default_workspace_root()
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("banca-synth-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn synth_into(dir: &Path, yaml: bool) -> SynthResult {
    let config = Config::parse(EXAMPLE).unwrap();
    let handlers = Handlers::Bundle {
        workspace_root: root(),
        target_dir: pipeline::default_target_dir(&root()),
    };
    let opts = AssemblyOptions {
        yaml,
        ..AssemblyOptions::default()
    };
    // A debug build of the whole app needs more stack than a test thread has.
    let dir = dir.to_owned();
    std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(move || pipeline::synth(&config, &handlers, &dir, &opts))
        .unwrap()
        .join()
        .unwrap()
        .unwrap_or_else(|e| panic!("synth failed:\n{e}"))
}

/// One synth shared by the tests of this file (bundling is the slow part, and cached).
fn assembly() -> &'static (PathBuf, SynthResult) {
    static ONCE: OnceLock<(PathBuf, SynthResult)> = OnceLock::new();
    ONCE.get_or_init(|| {
        let dir = tmp("shared");
        let r = synth_into(&dir, true);
        (dir, r)
    })
}

#[test]
fn every_template_of_both_regions_and_global_passes_cfn_lint() {
    let (dir, r) = assembly();
    let regions: BTreeSet<&str> = r.stacks.iter().map(|s| s.region.as_str()).collect();
    assert!(
        regions.contains("us-east-1") && regions.contains("us-west-2"),
        "{regions:?}"
    );
    assert!(
        r.stacks.iter().any(|s| s.name.contains("global")),
        "a global stack exists"
    );
    let templates: Vec<PathBuf> = r.assembly.templates.clone();
    assert_eq!(templates.len(), r.stacks.len());
    // One cfn-lint process over every template (JSON and YAML): far faster than one each.
    let yaml: Vec<PathBuf> = templates
        .iter()
        .map(|t| t.with_extension("").with_extension("yaml"))
        .collect();
    let out = Command::new("cfn-lint")
        .arg("--")
        .args(&templates)
        .args(yaml.iter().filter(|p| p.exists()))
        .output()
        .expect("cfn-lint runs (scripts/services installs it)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && text.trim().is_empty(),
        "cfn-lint findings in {}:\n{text}",
        dir.display()
    );
}

#[test]
fn the_aws_cdk_cli_lists_exactly_our_stacks() {
    let (dir, r) = assembly();
    let cdk = std::env::var("BANCA_CDK_CLI")
        .unwrap_or_else(|_| "/var/tmp/banca-npm/node_modules/.bin/cdk".into());
    let out = Command::new(&cdk)
        .args(["ls", "--no-notices", "--app"])
        .arg(dir)
        .env("CDK_DISABLE_VERSION_CHECK", "1")
        .env("CDK_DISABLE_CLI_TELEMETRY", "true")
        .output()
        .unwrap_or_else(|e| panic!("{cdk} runs (scripts/services installs it): {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "cdk ls failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed: BTreeSet<String> = stdout
        .lines()
        .map(|l| l.trim().split(' ').next().unwrap_or("").to_owned())
        .filter(|l| !l.is_empty())
        .collect();
    let ours: BTreeSet<String> = r.stacks.iter().map(|s| s.name.clone()).collect();
    // cdk ls prints display names (construct paths) or stack names; either names each stack once.
    assert_eq!(
        listed.len(),
        ours.len(),
        "cdk listed {listed:?}, we have {ours:?}"
    );
}

#[test]
fn two_synths_are_byte_identical_templates_and_zips() {
    let (first, _) = assembly();
    let second = tmp("second");
    synth_into(&second, true);
    let files = |d: &Path| -> Vec<(String, Vec<u8>)> {
        let mut v: Vec<_> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| {
                let p = e.unwrap().path();
                (
                    p.file_name().unwrap().to_string_lossy().into_owned(),
                    std::fs::read(&p).unwrap(),
                )
            })
            .collect();
        v.sort();
        v
    };
    let (a, b) = (files(first), files(&second));
    assert_eq!(
        a.iter().map(|x| &x.0).collect::<Vec<_>>(),
        b.iter().map(|x| &x.0).collect::<Vec<_>>()
    );
    for ((name, x), (_, y)) in a.iter().zip(&b) {
        assert!(x == y, "{name} differs between two synths");
    }
    assert!(
        a.iter()
            .any(|(n, _)| n.starts_with("asset.") && n.ends_with(".zip")),
        "handler zips are in the assembly"
    );
    std::fs::remove_dir_all(&second).unwrap();
}

#[test]
fn handler_zips_hold_one_executable_bootstrap() {
    let (dir, r) = assembly();
    let bundle = r.bundle.as_ref().unwrap();
    assert_eq!(bundle.handlers.len(), banca_stacks::app::HANDLERS.len());
    for h in &bundle.handlers {
        let zip = dir.join(format!("asset.{}.zip", h.sha256));
        let out = Command::new("python3")
            .args(["-c", "import sys,zipfile; z=zipfile.ZipFile(sys.argv[1]); print([(i.filename, oct(i.external_attr>>16)) for i in z.infolist()], z.testzip())"])
            .arg(&zip)
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "[('bootstrap', '0o100755')] None",
            "{}",
            h.name
        );
    }
}
