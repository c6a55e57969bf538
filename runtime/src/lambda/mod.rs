//! Shared plumbing for every banca Lambda handler (transfer-processor, notify-*, audit, ...).
//!
//! What is here, and why each piece exists:
//!
//! | item | purpose |
//! |---|---|
//! | [`init_logging`] | JSON structured logs (one object per line, on **stderr**) through `tracing`; Lambda ships both streams to CloudWatch, and stdout stays free for data. The level comes from `AWS_LAMBDA_LOG_LEVEL` or `RUST_LOG` (default `info`). Never log a [`Sensitive`] value's content: its `Debug`/`Display` print `** redacted **`. |
//! | [`load_sdk_config`] | the AWS `SdkConfig` from the standard chain (env, profile, container/IMDS credentials) and `AWS_ENDPOINT_URL`/`AWS_ENDPOINT_URL_<SERVICE>`, so one binary talks to AWS or to moto. |
//! | [`SecretCache`] | Secrets Manager values cached for a TTL (cheap warm invocations, rotation picked up after the TTL), handed out as [`Sensitive<String>`] or parsed JSON. The source is the [`SecretSource`] port; [`SecretsManagerSource`] is the real adapter. |
//! | [`BatchResponse`] | the SQS partial batch response: collects the failed `messageId`s and refuses to emit an empty or missing identifier (Lambda would otherwise treat the whole batch as failed, or worse, silently drop a message). |
//! | [`Backoff`] | exponential backoff with full jitter, `sleep = random(0, min(cap, base * 2^attempt))`, driven by an [`Rng`] so tests and simulations are reproducible. |
//! | [`Clock`] | wall time in Unix milliseconds plus an async `sleep`; [`SystemClock`] uses tokio (so `tokio::time::pause` works in tests) and [`ManualClock`] is a virtual clock for deterministic simulation. |
//!
//! Invariants: nothing here prints a secret; nothing here retries without a bound; no item
//! identifier in a batch response is empty.
//!
//! ```
//! use banca_runtime::lambda::{Backoff, BatchResponse, SeededRng};
//! use std::time::Duration;
//!
//! let mut failures = BatchResponse::default();
//! failures.fail(Some("b7e1-message-id"));
//! assert_eq!(failures.failed_ids(), ["b7e1-message-id"]);
//!
//! let backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
//! let rng = SeededRng::new(7);
//! assert!(backoff.delay(3, &rng) <= Duration::from_millis(800));
//! ```

mod backoff;
mod batch;
mod clock;
mod logging;
mod secrets;
mod sensitive;

pub use backoff::{Backoff, Rng, SeededRng, SystemRng};
pub use batch::{BatchResponse, MissingMessageId};
pub use clock::{Clock, ManualClock, SystemClock};
pub use logging::{LoggingError, init_logging};
pub use secrets::{SecretCache, SecretError, SecretSource, SecretsManagerSource};
pub use sensitive::Sensitive;

/// Loads the AWS SDK configuration from the standard chain: region, credentials and endpoint
/// overrides (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_SQS`, ...) all come from the environment, so
/// the same binary talks to AWS in a Lambda and to moto on a laptop or in CI.
pub async fn load_sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await
}
