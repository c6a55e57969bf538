//! Cold start of the `transfer-processor` binary: time from exec to its first Runtime API poll
//! (`GET /2018-06-01/runtime/invocation/next`), against a local fake Runtime API; 20 runs,
//! the median reported. No network I/O happens at init (secrets, database and clients are
//! set up on the first event), so this is process start + runtime + config parsing.
//!
//! `cargo bench -p banca-runtime --bench cold_start` (builds the binary with the bench profile,
//! i.e. release). Prints one Markdown table row per statistic.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

#[path = "../tests/common/fake_runtime.rs"]
mod fake_runtime;

use std::time::{Duration, Instant};

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let runs: usize = std::env::var("BANCA_COLD_START_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let exe = env!("CARGO_BIN_EXE_transfer-processor");
    let size = std::fs::metadata(exe).map(|m| m.len()).unwrap_or(0);
    let mut samples: Vec<Duration> = rt.block_on(async {
        let mut out = Vec::new();
        for _ in 0..runs {
            let fake = fake_runtime::FakeRuntime::start().await;
            let start = Instant::now();
            let mut child = tokio::process::Command::new(exe)
                .env("AWS_LAMBDA_RUNTIME_API", fake.addr.to_string())
                .env("AWS_LAMBDA_FUNCTION_NAME", "transfer-processor")
                .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
                .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
                .env("TRANSFER_DB_URL", "mysql://user:pass@127.0.0.1:3306/none")
                .env("CORE_BASE_URL", "http://127.0.0.1:9")
                .env("CORE_CLIENT_ID", "banca")
                .env("CORE_CLIENT_SECRET", "x")
                .env(
                    "NOTIFICATION_TOPIC_ARN",
                    "arn:aws:sns:us-east-1:000000000000:n",
                )
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .kill_on_drop(true)
                .spawn()
                .unwrap();
            let mut polled = None;
            for _ in 0..10_000 {
                if let Some(t) = fake.state.lock().unwrap().first_poll {
                    polled = Some(t);
                    break;
                }
                tokio::time::sleep(Duration::from_micros(200)).await;
            }
            let t = polled.expect("the binary polled the Runtime API within 2 s");
            out.push(t.duration_since(start));
            child.kill().await.unwrap();
        }
        out
    });
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "| cold start, exec -> first Runtime API poll ({runs} runs, binary {:.1} MiB) | ms |",
        size as f64 / 1048576.0
    );
    println!("|---|---|");
    println!("| min | {:.1} |", ms(samples[0]));
    println!("| median | {:.1} |", ms(samples[samples.len() / 2]));
    println!("| max | {:.1} |", ms(samples[samples.len() - 1]));
}
