//! The `banca` binary: exit codes, stdout for data, stderr for people.

// Test helpers panic on the unexpected, like the tests themselves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

const EXAMPLE: &str = include_str!("../../banca.yaml");

fn banca(args: &[&str], config: &str) -> (i32, String, String) {
    let dir = std::env::temp_dir().join(format!(
        "banca-cli-{}-{}",
        std::process::id(),
        args.join("-")
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("banca.yaml");
    std::fs::write(&cfg, config).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_banca"))
        .args(args)
        .arg("--config")
        .arg(&cfg)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_bad_config_exits_2_naming_the_field() {
    let (code, stdout, stderr) = banca(
        &["list"],
        &EXAMPLE.replacen("  length: 6", "  length: 4", 1),
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stdout.is_empty(), "nothing on stdout: {stdout}");
    assert!(
        stderr.contains("otp.length: must be 6 to 10 digits, got 4"),
        "{stderr}"
    );
}

#[test]
fn schema_prints_the_json_schema_on_stdout() {
    let (code, stdout, _) = banca(&["schema"], EXAMPLE);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(v["properties"]["otp"].is_object());
}

#[test]
fn list_check_and_diagram_work_without_building_handlers() {
    let (code, stdout, stderr) = banca(&["list"], EXAMPLE);
    assert_eq!(code, 0, "{stderr}");
    let rows: Vec<&str> = stdout.lines().collect();
    assert!(rows.len() >= 20, "both regions and global: {rows:?}");
    assert!(
        rows.iter().all(|r| r.split('\t').count() == 4),
        "name, region, resources, dependencies: {rows:?}"
    );

    let (code, _, stderr) = banca(&["check"], EXAMPLE);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("compliance: 0 findings"), "{stderr}");

    let (code, stdout, _) = banca(&["diagram", "--format", "mermaid"], EXAMPLE);
    assert_eq!(code, 0);
    assert!(
        stdout.starts_with("---\ntitle: banca deployment view") && stdout.contains("flowchart LR"),
        "{stdout}"
    );
    let (code, stdout, _) = banca(
        &["diagram", "--format", "dot", "--view", "containers"],
        EXAMPLE,
    );
    assert_eq!(code, 0);
    assert!(
        stdout.starts_with("digraph banca {") && stdout.contains("transfer-processor"),
        "{stdout}"
    );
}

#[test]
fn json_lines_use_the_type_data_envelope() {
    let (code, stdout, _) = banca(&["list", "--json"], EXAMPLE);
    assert_eq!(code, 0);
    for line in stdout.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["type"], "stack");
        assert!(v["data"]["name"].is_string());
    }
}
