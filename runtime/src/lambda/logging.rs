use tracing_subscriber::EnvFilter;

/// The logger could not be installed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoggingError {
    /// The level filter from the environment does not parse.
    #[error("log level filter {filter:?} is invalid; hint: use error, warn, info, debug or trace")]
    Filter {
        /// The filter text that was rejected.
        filter: String,
    },
}

/// Installs the JSON structured logger: one JSON object per event on stderr, with the current
/// span's fields (e.g. `transferId`) flattened in.
///
/// The level comes from `AWS_LAMBDA_LOG_LEVEL` (set by Lambda's advanced logging controls), else
/// `RUST_LOG`, else `info`. Calling it twice is harmless: the second call keeps the first
/// logger, so tests and binaries can both call it.
pub fn init_logging() -> Result<(), LoggingError> {
    let filter = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .map(|l| l.to_ascii_lowercase().replace("fatal", "error"))
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".to_owned());
    let env_filter = EnvFilter::try_new(&filter).map_err(|_| LoggingError::Filter {
        filter: filter.clone(),
    })?;
    // `try_init` fails only when a global subscriber already exists, which is fine.
    let _ = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_ansi(false)
        .with_writer(std::io::stderr)
        .with_env_filter(env_filter)
        .try_init();
    Ok(())
}
