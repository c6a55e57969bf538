//! Handler configuration from the environment. In AWS the values come from SSM parameters that
//! the stacks resolve into the function's environment (no config on servers); locally and in
//! tests they are plain variables.

use std::str::FromStr;

/// A configuration value is missing or malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A required variable is unset.
    #[error("{0}: required environment variable is not set")]
    Missing(&'static str),
    /// A variable does not parse, or is out of range.
    #[error("{name}: {problem}, got {got:?}")]
    Invalid {
        /// The variable.
        name: &'static str,
        /// What is allowed.
        problem: String,
        /// The value found.
        got: String,
    },
}

/// A required variable.
pub fn required(name: &'static str) -> Result<String, ConfigError> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => Ok(v),
        _ => Err(ConfigError::Missing(name)),
    }
}

/// An optional variable parsed as `T`, or `default` when unset.
pub fn parsed<T: FromStr>(name: &'static str, default: T) -> Result<T, ConfigError> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v.trim().parse().map_err(|_| ConfigError::Invalid {
            name,
            problem: format!("must parse as {}", std::any::type_name::<T>()),
            got: v,
        }),
        _ => Ok(default),
    }
}

/// An optional integer variable that must lie in `min..=max`.
pub fn bounded(name: &'static str, default: u64, min: u64, max: u64) -> Result<u64, ConfigError> {
    let v = parsed(name, default)?;
    if v < min || v > max {
        return Err(ConfigError::Invalid {
            name,
            problem: format!("must be between {min} and {max}"),
            got: v.to_string(),
        });
    }
    Ok(v)
}

/// An optional variable, `None` when unset or blank.
pub fn optional(name: &'static str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}
