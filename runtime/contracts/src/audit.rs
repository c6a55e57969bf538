//! `AuditEvent` (queue `audit-events`): one user operation, stored once per `eventId` by the
//! audit collector and queryable by user and time.

use serde::{Deserialize, Serialize};

use crate::fields::{MessageId, UserId, V1, message_type};

message_type!(
    /// The `type` of an [`AuditEvent`].
    AuditEventType = AuditEvent
);

/// Who did it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Actor {
    /// The UAA user id; `anonymous` before sign-up completes.
    pub user_id: UserId,
    /// The caller's source IP as API Gateway saw it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 45))]
    pub ip: Option<String>,
    /// The caller's User-Agent, truncated by the producer to 512 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 512))]
    pub user_agent: Option<String>,
}

/// How the operation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// It did what was asked.
    Success,
    /// It failed (invalid input, a downstream error).
    Failure,
    /// It was refused for security reasons (bad OTP, locked out, no face record).
    Denied,
}

impl Outcome {
    /// The value as written in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Denied => "denied",
        }
    }
}

/// Maximum length of `action`.
pub const ACTION_MAX_LEN: usize = 64;
/// Maximum length of `resource`.
pub const RESOURCE_MAX_LEN: usize = 256;

/// One user operation (see `contracts/events.md`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEvent {
    /// Always `AuditEvent`.
    #[serde(rename = "type")]
    pub kind: AuditEventType,
    /// Always 1.
    pub version: V1,
    /// Unique per operation; the collector stores each id once.
    pub event_id: MessageId,
    /// When the operation happened, RFC 3339 UTC.
    pub occurred_at: chrono::DateTime<chrono::Utc>,
    /// Who did it.
    pub actor: Actor,
    /// Dotted lowercase verb such as `transfer.requested`, `otp.validate`, `user.signup`.
    #[schemars(regex(pattern = r"^[a-z][a-z_]*(\.[a-z][a-z_]*)+$"), length(max = 64))]
    pub action: String,
    /// What it acted on, such as `transfer/2f1c0a8e-...`.
    #[schemars(length(min = 1, max = 256))]
    pub resource: String,
    /// How it ended.
    pub outcome: Outcome,
    /// Free-form details; never secrets, codes or tokens.
    #[serde(default)]
    pub details: serde_json::Map<String, serde_json::Value>,
}

/// Why an [`AuditEvent`] is malformed even though it parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuditEventError {
    /// `action` is not a dotted lowercase verb.
    #[error("action: must be dotted lowercase words like \"transfer.requested\", got {0:?}")]
    Action(String),
    /// `resource` is empty or too long.
    #[error("resource: must be 1 to 256 characters, got {0}")]
    Resource(usize),
}

impl AuditEvent {
    /// A new event with `type` and `version` filled in.
    pub fn new(
        event_id: MessageId,
        occurred_at: chrono::DateTime<chrono::Utc>,
        actor: Actor,
        action: &str,
        resource: String,
        outcome: Outcome,
        details: serde_json::Map<String, serde_json::Value>,
    ) -> Self {
        Self {
            kind: AuditEventType::AuditEvent,
            version: V1,
            event_id,
            occurred_at,
            actor,
            action: action.to_owned(),
            resource,
            outcome,
            details,
        }
    }

    /// Checks `action` and `resource`, which serde accepts as any string.
    pub fn validate(&self) -> Result<(), AuditEventError> {
        if !valid_action(&self.action) {
            return Err(AuditEventError::Action(self.action.clone()));
        }
        let n = self.resource.chars().count();
        if n == 0 || n > RESOURCE_MAX_LEN {
            return Err(AuditEventError::Resource(n));
        }
        Ok(())
    }
}

fn valid_action(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    s.len() <= ACTION_MAX_LEN
        && parts.len() >= 2
        && parts.iter().all(|p| {
            p.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
                && p.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"{"type":"AuditEvent","version":1,"eventId":"e-1","occurredAt":"2026-11-28T10:15:00Z",
 "actor":{"userId":"u-77","ip":"190.152.0.10","userAgent":"curl/8"},
 "action":"transfer.requested","resource":"transfer/2f1c0a8e","outcome":"success",
 "details":{}}"#;

    #[test]
    fn parses_and_validates_the_contract_example() {
        let e: AuditEvent = serde_json::from_str(EXAMPLE).unwrap();
        e.validate().unwrap();
        assert_eq!(e.outcome, Outcome::Success);
        assert_eq!(e.occurred_at.to_rfc3339(), "2026-11-28T10:15:00+00:00");
    }

    #[test]
    fn refuses_bad_actions_and_outcomes() {
        let mut e: AuditEvent = serde_json::from_str(EXAMPLE).unwrap();
        for bad in [
            "transfer",
            "Transfer.requested",
            "transfer..x",
            "transfer.req-uested",
            "",
        ] {
            e.action = bad.into();
            assert!(e.validate().is_err(), "{bad}");
        }
        let bad = EXAMPLE.replace("\"success\"", "\"maybe\"");
        assert!(serde_json::from_str::<AuditEvent>(&bad).is_err());
        let bad = EXAMPLE.replace("2026-11-28T10:15:00Z", "yesterday");
        assert!(serde_json::from_str::<AuditEvent>(&bad).is_err());
    }
}
