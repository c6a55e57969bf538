//! Suppression of repeated notifications (same `dedupKey`, same channel) within a window.
//!
//! SNS standard topics deliver at least once and the transfer processor may notify twice, so a
//! customer could get the same SMS twice. Where it is cheap to know (one Redis round trip), the
//! consumer skips a key it already delivered. The mark is written only *after* a successful
//! delivery: marking first would turn a failed send into a lost notification. Two consumers
//! racing on the same key may both send; that duplicate is harmless by contract. Redis being
//! down never blocks delivery.

use banca_contracts::notification::Channel;
use redis::AsyncCommands;

/// Default suppression window.
pub const DEFAULT_WINDOW_SECS: u64 = 24 * 3600;

/// The dedup marks in Redis.
#[derive(Clone)]
pub struct Dedup {
    conn: Option<redis::aio::ConnectionManager>,
    prefix: String,
    window_secs: u64,
}

impl std::fmt::Debug for Dedup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dedup")
            .field("enabled", &self.conn.is_some())
            .field("prefix", &self.prefix)
            .field("window_secs", &self.window_secs)
            .finish()
    }
}

impl Dedup {
    /// Marks in Redis under `prefix`, kept `window_secs`.
    pub fn new(conn: redis::aio::ConnectionManager, prefix: &str, window_secs: u64) -> Self {
        Self {
            conn: Some(conn),
            prefix: prefix.to_owned(),
            window_secs,
        }
    }

    /// No suppression at all (no Redis configured).
    pub fn disabled() -> Self {
        Self {
            conn: None,
            prefix: String::new(),
            window_secs: 0,
        }
    }

    fn key(&self, channel: Channel, dedup_key: &str) -> String {
        format!(
            "{}notify:sent:{}:{}",
            self.prefix,
            channel.as_str(),
            dedup_key
        )
    }

    /// Whether this key was already delivered on this channel within the window.
    /// An unreachable Redis answers "no": better a duplicate than a lost notification.
    pub async fn already_sent(&self, channel: Channel, dedup_key: &str) -> bool {
        let Some(conn) = &self.conn else {
            return false;
        };
        let mut conn = conn.clone();
        match conn.exists::<_, bool>(self.key(channel, dedup_key)).await {
            Ok(found) => found,
            Err(e) => {
                tracing::warn!(error = %e, "dedup lookup failed; delivering anyway");
                false
            }
        }
    }

    /// Records a successful delivery.
    pub async fn mark_sent(&self, channel: Channel, dedup_key: &str) {
        let Some(conn) = &self.conn else {
            return;
        };
        let mut conn = conn.clone();
        if let Err(e) = conn
            .set_ex::<_, _, ()>(self.key(channel, dedup_key), 1u8, self.window_secs)
            .await
        {
            tracing::warn!(error = %e, "dedup mark failed; a redelivery may repeat this notification");
        }
    }
}
