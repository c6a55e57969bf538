//! Conversions between the [`banca_runtime::lambda::Clock`]'s milliseconds and chrono.

use chrono::{DateTime, TimeZone, Utc};

/// The UTC instant `ms` milliseconds after the epoch (the epoch itself if out of range).
pub fn utc(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}
