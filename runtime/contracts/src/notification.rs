//! `NotificationRequested` (SNS topic `notifications`) and `NotificationFailed` (queue
//! `notify-analysis`): what the backend asks the notification system to tell a customer,
//! and what the delivery handlers report when a provider refused it.

use serde::{Deserialize, Serialize};

use crate::fields::{CustomerId, E164Phone, Email, Locale, MessageId, V1, message_type};

message_type!(
    /// The `type` of a [`NotificationRequested`].
    NotificationRequestedType = NotificationRequested
);
message_type!(
    /// The `type` of a [`NotificationFailed`].
    NotificationFailedType = NotificationFailed
);

/// A delivery channel. The SNS subscriptions route on these values in the message body.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// E-mail through SES (queue notify-email).
    Email,
    /// SMS through Twilio (queue notify-sms).
    Sms,
}

impl Channel {
    /// The value as written in messages and filter policies.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Sms => "sms",
        }
    }
}

/// The templates in `templates/`; each exists for every channel and locale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TemplateName {
    /// A transfer was executed (data: amount, currency, destinationName).
    TransferSucceeded,
    /// A transfer failed (data: amount, currency, destinationName, reason).
    TransferFailed,
    /// A one-time password (data: code, ttlMinutes).
    OtpCode,
    /// The onboarding photo was rejected (data: reason).
    OnboardingPhotoRejected,
    /// Onboarding finished (data: none required).
    OnboardingCompleted,
    /// A movements report is attached (data: accountId, from, to, count).
    MovementsReport,
}

impl TemplateName {
    /// Every template, for checks that each one renders in every locale and channel.
    pub const ALL: [TemplateName; 6] = [
        Self::TransferSucceeded,
        Self::TransferFailed,
        Self::OtpCode,
        Self::OnboardingPhotoRejected,
        Self::OnboardingCompleted,
        Self::MovementsReport,
    ];

    /// The file stem in `templates/` (`transfer_succeeded`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TransferSucceeded => "transfer_succeeded",
            Self::TransferFailed => "transfer_failed",
            Self::OtpCode => "otp_code",
            Self::OnboardingPhotoRejected => "onboarding_photo_rejected",
            Self::OnboardingCompleted => "onboarding_completed",
            Self::MovementsReport => "movements_report",
        }
    }
}

/// Where to deliver: the address for each requested channel.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Recipient {
    /// Required when `channels` contains `email`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Email>,
    /// Required when `channels` contains `sms`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<E164Phone>,
}

/// Ask the notification system to tell a customer something (see `contracts/events.md`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotificationRequested {
    /// Always `NotificationRequested`.
    #[serde(rename = "type")]
    pub kind: NotificationRequestedType,
    /// Always 1.
    pub version: V1,
    /// Unique per message.
    pub notification_id: MessageId,
    /// Same key = same notification: consumers may suppress a repeat within a window.
    #[schemars(length(min = 1, max = 200))]
    pub dedup_key: String,
    /// Whose notification this is.
    pub customer_id: CustomerId,
    /// One or both channels; the SNS filter policies route on this array.
    #[schemars(length(min = 1, max = 2))]
    pub channels: Vec<Channel>,
    /// Which template to render.
    pub template: TemplateName,
    /// Which language to render it in.
    pub locale: Locale,
    /// The addresses for the requested channels.
    pub to: Recipient,
    /// The template's variables.
    #[serde(default)]
    pub data: serde_json::Map<String, serde_json::Value>,
}

/// Why a [`NotificationRequested`] is inconsistent even though it parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NotificationError {
    /// `channels` was empty or repeated a channel.
    #[error("channels: must list email and/or sms once each, got {0:?}")]
    Channels(Vec<Channel>),
    /// A requested channel has no address.
    #[error("to.{0}: required because channels contains \"{1}\"")]
    MissingAddress(&'static str, &'static str),
    /// The dedup key is empty or too long.
    #[error("dedupKey: must be 1 to 200 characters, got {0}")]
    DedupKey(usize),
}

impl NotificationRequested {
    /// A new message with `type` and `version` filled in.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        notification_id: MessageId,
        dedup_key: String,
        customer_id: CustomerId,
        channels: Vec<Channel>,
        template: TemplateName,
        locale: Locale,
        to: Recipient,
        data: serde_json::Map<String, serde_json::Value>,
    ) -> Self {
        Self {
            kind: NotificationRequestedType::NotificationRequested,
            version: V1,
            notification_id,
            dedup_key,
            customer_id,
            channels,
            template,
            locale,
            to,
            data,
        }
    }

    /// Checks what the types cannot: channels are distinct and non-empty, every requested
    /// channel has an address, the dedup key fits.
    pub fn validate(&self) -> Result<(), NotificationError> {
        let n = self.dedup_key.chars().count();
        if n == 0 || n > 200 {
            return Err(NotificationError::DedupKey(n));
        }
        let mut sorted = self.channels.clone();
        sorted.sort();
        sorted.dedup();
        if self.channels.is_empty() || sorted.len() != self.channels.len() {
            return Err(NotificationError::Channels(self.channels.clone()));
        }
        if self.channels.contains(&Channel::Email) && self.to.email.is_none() {
            return Err(NotificationError::MissingAddress("email", "email"));
        }
        if self.channels.contains(&Channel::Sms) && self.to.phone.is_none() {
            return Err(NotificationError::MissingAddress("phone", "sms"));
        }
        Ok(())
    }
}

/// A delivery a provider refused, for people to analyse (queue `notify-analysis`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotificationFailed {
    /// Always `NotificationFailed`.
    #[serde(rename = "type")]
    pub kind: NotificationFailedType,
    /// Always 1.
    pub version: V1,
    /// The notification that failed.
    pub notification_id: MessageId,
    /// Its dedup key.
    pub dedup_key: String,
    /// Whose notification it was.
    pub customer_id: CustomerId,
    /// The channel that failed.
    pub channel: Channel,
    /// Which provider refused (`ses`, `twilio`).
    pub provider: String,
    /// The provider's error code when it gave one (Twilio `21211`, SES error name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The HTTP status when the provider answered over HTTP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// What went wrong, in words (never the message body, never a secret).
    pub reason: String,
    /// When the handler gave up, RFC 3339 UTC.
    pub failed_at: chrono::DateTime<chrono::Utc>,
}

impl NotificationFailed {
    /// A failure report for `original` on `channel`.
    pub fn for_request(
        original: &NotificationRequested,
        channel: Channel,
        provider: &str,
        code: Option<String>,
        http_status: Option<u16>,
        reason: String,
        failed_at: chrono::DateTime<chrono::Utc>,
    ) -> Self {
        Self {
            kind: NotificationFailedType::NotificationFailed,
            version: V1,
            notification_id: original.notification_id.clone(),
            dedup_key: original.dedup_key.clone(),
            customer_id: original.customer_id.clone(),
            channel,
            provider: provider.to_owned(),
            code,
            http_status,
            reason,
            failed_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"{"type":"NotificationRequested","version":1,
 "notificationId":"8b0e4c1a","dedupKey":"transfer:2f1c0a8e:SUCCESS",
 "customerId":"C-100234","channels":["email","sms"],
 "template":"transfer_succeeded","locale":"es-EC",
 "to":{"email":"maria@example.com","phone":"+593991234567"},
 "data":{"amount":"125.50","currency":"USD","destinationName":"Maria Lopez"}}"#;

    #[test]
    fn parses_the_contract_example() {
        let n: NotificationRequested = serde_json::from_str(EXAMPLE).unwrap();
        assert_eq!(n.channels, vec![Channel::Email, Channel::Sms]);
        assert_eq!(n.template, TemplateName::TransferSucceeded);
        n.validate().unwrap();
        let back = serde_json::to_value(&n).unwrap();
        assert_eq!(
            back,
            serde_json::from_str::<serde_json::Value>(EXAMPLE).unwrap()
        );
    }

    #[test]
    fn refuses_wrong_type_version_and_template() {
        for (from, to) in [
            (
                "\"type\":\"NotificationRequested\"",
                "\"type\":\"TransferRequested\"",
            ),
            ("\"version\":1", "\"version\":2"),
            ("transfer_succeeded", "free_text"),
            ("\"es-EC\"", "\"fr\""),
            ("+593991234567", "0991234567"),
        ] {
            let bad = EXAMPLE.replace(from, to);
            assert!(
                serde_json::from_str::<NotificationRequested>(&bad).is_err(),
                "{to}"
            );
        }
    }

    #[test]
    fn validate_catches_missing_address_and_repeated_channel() {
        let mut n: NotificationRequested = serde_json::from_str(EXAMPLE).unwrap();
        n.to.phone = None;
        assert_eq!(
            n.validate().unwrap_err().to_string(),
            "to.phone: required because channels contains \"sms\""
        );
        n.channels = vec![Channel::Email, Channel::Email];
        assert!(matches!(n.validate(), Err(NotificationError::Channels(_))));
        n.channels = vec![];
        assert!(matches!(n.validate(), Err(NotificationError::Channels(_))));
    }

    #[test]
    fn schema_enumerates_channels_and_templates() {
        let s = serde_json::to_value(schemars::schema_for!(NotificationRequested)).unwrap();
        let text = s.to_string();
        for t in TemplateName::ALL {
            assert!(text.contains(t.as_str()), "{}", t.as_str());
        }
        assert!(text.contains("\"sms\""));
        assert_eq!(s["properties"]["channels"]["minItems"], 1);
    }
}
