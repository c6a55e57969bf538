//! `banca-sim` as another process would run it: prints its base URL, serves, stops on kill.

#![allow(clippy::unwrap_used)] // tests may unwrap: a panic is the failure report

use std::io::BufRead as _;
use std::process::{Command, Stdio};

#[tokio::test]
async fn the_binary_serves_on_the_printed_url() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_banca-sim"))
        .args(["--listen", "127.0.0.1:0", "--seed", "7", "--open-accounts"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line.trim().to_owned();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    let health: serde_json::Value = reqwest::get(format!("{base}/__admin/health"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["ok"], true);
    child.kill().unwrap();
    child.wait().unwrap();

    let bad = Command::new(env!("CARGO_BIN_EXE_banca-sim"))
        .arg("--bogus")
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}
