//! `transfer-processor`: the transfer processor as a Lambda function (default, when
//! `AWS_LAMBDA_RUNTIME_API` is set) or as a long-running SQS poller (`poll`), plus the overdue
//! sweeper (`sweep`). Configuration: see `banca_runtime::transfer::config`.
//!
//! ```text
//! transfer-processor                       # Lambda (provided.al2023 bootstrap)
//! transfer-processor poll [--max-messages N] [--stop-after-empty N]
//! transfer-processor sweep [--limit N]     # JSON lines on stdout, one per overdue transfer
//! ```
//! Exit status: 0 ok, 2 error.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use banca_runtime::lambda::{
    SecretCache, SecretsManagerSource, SystemClock, init_logging, load_sdk_config,
};
use banca_runtime::transfer::batch::{PollerOptions, process_batch, records_of, run_poller};
use banca_runtime::transfer::config::{Config, build_processor};
use banca_runtime::transfer::processor::Processor;
use lambda_runtime::{LambdaEvent, service_fn};
use tokio::sync::OnceCell;

/// Time kept back from Lambda's deadline to answer with the partial batch response.
const DEADLINE_MARGIN: Duration = Duration::from_millis(1_500);

fn owner_prefix() -> String {
    let host = std::env::var("AWS_LAMBDA_LOG_STREAM_NAME").unwrap_or_else(|_| "local".to_owned());
    format!(
        "{}-{}",
        std::process::id(),
        host.chars().rev().take(12).collect::<String>()
    )
}

async fn processor(config: &Config) -> Result<Processor, String> {
    let sdk = load_sdk_config().await;
    let secrets = SecretCache::new(
        Arc::new(SecretsManagerSource::new(&sdk)),
        Arc::new(SystemClock),
        SecretCache::DEFAULT_TTL,
    );
    build_processor(config, &sdk, &secrets, &owner_prefix())
        .await
        .map_err(|e| error_chain(&e))
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

async fn lambda(config: Config) -> Result<(), lambda_runtime::Error> {
    // Cheap init: nothing is fetched or connected before the first event.
    let cell: Arc<OnceCell<Arc<Processor>>> = Arc::new(OnceCell::new());
    let config = Arc::new(config);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let cell = cell.clone();
        let config = config.clone();
        async move {
            let p = cell
                .get_or_try_init(|| async { processor(&config).await.map(Arc::new) })
                .await?
                .clone();
            let now_ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or(0);
            let budget = Duration::from_millis(event.context.deadline.saturating_sub(now_ms))
                .saturating_sub(DEADLINE_MARGIN);
            let result = process_batch(&p, records_of(event.payload), Some(budget)).await;
            let response: SqsBatchResponse = result.response().into_response()?;
            Ok::<_, lambda_runtime::Error>(response)
        }
    }))
    .await
}

fn flag(args: &[String], name: &str) -> Result<Option<u64>, String> {
    match args.iter().position(|a| a == name) {
        None => Ok(None),
        Some(i) => args
            .get(i + 1)
            .and_then(|v| v.parse().ok())
            .map(Some)
            .ok_or_else(|| format!("{name}: must be followed by a number")),
    }
}

async fn poll(config: Config, args: &[String]) -> Result<(), String> {
    let queue_url = config
        .queue_url
        .clone()
        .ok_or("TRANSFER_QUEUE_URL: required for poll; hint: the transfer-requests queue URL")?;
    let p = Arc::new(processor(&config).await?);
    let sdk = load_sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let opts = PollerOptions {
        queue_url,
        // Long polling; TRANSFER_POLL_WAIT_S shortens it for tests and the local sandbox.
        wait_time_s: std::env::var("TRANSFER_POLL_WAIT_S")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(20),
        batch_size: 10,
        stop_after_empty_receives: flag(args, "--stop-after-empty")?.map(|n| n as u32),
        max_messages: flag(args, "--max-messages")?,
        max_visibility_s: 900,
    };
    let stats = run_poller(p, &sqs, &opts)
        .await
        .map_err(|e| error_chain(&e))?;
    tracing::info!(?stats, "poller stopped");
    Ok(())
}

async fn sweep(config: Config, args: &[String]) -> Result<(), String> {
    let p = processor(&config).await?;
    let limit = flag(args, "--limit")?.unwrap_or(100) as u32;
    let results = p.sweep(limit).await.map_err(|e| error_chain(&e))?;
    for (id, outcome) in results {
        println!(
            "{}",
            serde_json::json!({"type": "sweep", "data": {"transferId": id, "outcome": format!("{outcome:?}")}})
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    if let Err(e) = init_logging() {
        eprintln!("transfer-processor: {e}");
        return ExitCode::from(2);
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("transfer-processor: {}", error_chain(&e));
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("transfer-processor: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let result = runtime.block_on(async {
        match args.first().map(String::as_str) {
            None => lambda(config).await.map_err(|e| e.to_string()),
            Some("poll") => poll(config, &args[1..]).await,
            Some("sweep") => sweep(config, &args[1..]).await,
            Some(other) => Err(format!(
                "unknown command {other:?}; hint: poll, sweep, or none for Lambda"
            )),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("transfer-processor: {e}");
            ExitCode::from(2)
        }
    }
}
