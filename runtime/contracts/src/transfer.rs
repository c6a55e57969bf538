//! `TransferRequested`: the message on the `transfer-requests` queue, produced by otp-validate
//! and consumed by the transfer-processor (see `shared/contracts/events.md`).
//!
//! Parse with [`TransferRequested::from_json`]: it checks `type`, `version` and every field's
//! shape, so a value of this type is a valid request (the processor still checks it against the
//! stored row's payload hash).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::money::Amount;

/// The longest `transferId` accepted; the core reference derived from it must fit in 64 bytes.
pub const TRANSFER_ID_MAX_LEN: usize = 48;
/// The longest description the core platform accepts (`TransferOrder.description`).
pub const DESCRIPTION_MAX_LEN: usize = 140;

/// The `type` discriminator: always `"TransferRequested"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum TransferRequestedType {
    /// The only value.
    TransferRequested,
}

/// The message `version`: only `1` exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct VersionOne;

impl TryFrom<u32> for VersionOne {
    type Error = String;
    fn try_from(v: u32) -> Result<Self, Self::Error> {
        if v == 1 {
            Ok(VersionOne)
        } else {
            Err(format!("unsupported version {v}, expected 1"))
        }
    }
}

impl From<VersionOne> for u32 {
    fn from(_: VersionOne) -> u32 {
        1
    }
}

impl JsonSchema for VersionOne {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "VersionOne".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": "integer", "const": 1})
    }
}

/// Where the customer asked for the transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// The mobile app.
    Mobile,
    /// The web SPA.
    Web,
}

/// A customer's request to move money, after OTP validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TransferRequested {
    /// Always `"TransferRequested"`.
    #[serde(rename = "type")]
    pub kind: TransferRequestedType,
    /// Always `1`.
    pub version: VersionOne,
    /// The business key: the same `transferId` is executed at most once.
    #[schemars(length(min = 1, max = 48), regex(pattern = r"^[A-Za-z0-9-]+$"))]
    pub transfer_id: String,
    /// The customer who asked.
    #[schemars(length(min = 1, max = 64))]
    pub customer_id: String,
    /// The account debited.
    #[schemars(regex(pattern = r"^[0-9]{6,20}$"))]
    pub source_account: String,
    /// The account credited.
    #[schemars(regex(pattern = r"^[0-9]{6,20}$"))]
    pub destination_account: String,
    /// The beneficiary's name as shown to the customer.
    #[schemars(length(min = 1, max = 140))]
    pub destination_name: String,
    /// How much; strictly positive.
    pub amount: Amount,
    /// ISO 4217 code, e.g. `USD` (Ecuador's currency).
    #[schemars(regex(pattern = r"^[A-Z]{3}$"))]
    pub currency: String,
    /// Free text copied to the core order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 140))]
    pub description: Option<String>,
    /// When the customer asked (RFC 3339 UTC).
    #[schemars(extend("format" = "date-time"))]
    pub requested_at: String,
    /// Where the customer asked.
    pub channel: Channel,
}

/// Why a body is not a valid `TransferRequested`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransferRequestedError {
    /// Not JSON, or not the message's shape (wrong `type`/`version`, missing or unknown field).
    #[error("transfer request does not parse: {0}")]
    Shape(String),
    /// A field has the right type but a value that is not allowed.
    #[error("transfer request field {field}: {problem}")]
    Field {
        /// The camelCase field name.
        field: &'static str,
        /// What is wrong and what is allowed.
        problem: String,
    },
}

impl TransferRequested {
    /// Parses and validates a message body.
    pub fn from_json(body: &str) -> Result<Self, TransferRequestedError> {
        let msg: Self =
            serde_json::from_str(body).map_err(|e| TransferRequestedError::Shape(e.to_string()))?;
        msg.validate()?;
        Ok(msg)
    }

    /// Checks every field's value (the shape is checked by deserialization).
    pub fn validate(&self) -> Result<(), TransferRequestedError> {
        let bad =
            |field: &'static str, problem: String| TransferRequestedError::Field { field, problem };
        let id = &self.transfer_id;
        if id.is_empty()
            || id.len() > TRANSFER_ID_MAX_LEN
            || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(bad(
                "transferId",
                format!("must be 1-{TRANSFER_ID_MAX_LEN} letters, digits or '-', got {id:?}"),
            ));
        }
        if self.customer_id.trim().is_empty() || self.customer_id.len() > 64 {
            return Err(bad(
                "customerId",
                format!("must be 1-64 characters, got {:?}", self.customer_id),
            ));
        }
        for (field, account) in [
            ("sourceAccount", &self.source_account),
            ("destinationAccount", &self.destination_account),
        ] {
            if !(6..=20).contains(&account.len()) || !account.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad(field, format!("must be 6-20 digits, got {account:?}")));
            }
        }
        if self.source_account == self.destination_account {
            return Err(bad(
                "destinationAccount",
                format!(
                    "must differ from sourceAccount, got {:?}",
                    self.destination_account
                ),
            ));
        }
        if self.destination_name.trim().is_empty() || self.destination_name.chars().count() > 140 {
            return Err(bad(
                "destinationName",
                "must be 1-140 characters".to_owned(),
            ));
        }
        if self.amount.decimal().is_zero() {
            return Err(bad(
                "amount",
                "must be greater than 0.00, got \"0.00\"".to_owned(),
            ));
        }
        if self.currency.len() != 3 || !self.currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(bad(
                "currency",
                format!("must be an ISO 4217 code like USD, got {:?}", self.currency),
            ));
        }
        if let Some(d) = &self.description
            && d.chars().count() > DESCRIPTION_MAX_LEN
        {
            return Err(bad(
                "description",
                format!(
                    "must be at most {DESCRIPTION_MAX_LEN} characters, got {}",
                    d.chars().count()
                ),
            ));
        }
        if !is_rfc3339_utc(&self.requested_at) {
            return Err(bad(
                "requestedAt",
                format!(
                    "must be an RFC 3339 UTC timestamp like 2026-11-28T10:15:00Z, got {:?}",
                    self.requested_at
                ),
            ));
        }
        Ok(())
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.fff]Z` with plausible field ranges.
fn is_rfc3339_utc(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 20 || b[b.len() - 1] != b'Z' {
        return false;
    }
    let digits = |r: std::ops::Range<usize>| b[r.clone()].iter().all(u8::is_ascii_digit);
    let num = |r: std::ops::Range<usize>| {
        std::str::from_utf8(&b[r])
            .ok()
            .and_then(|t| t.parse::<u32>().ok())
            .unwrap_or(99)
    };
    let frame = digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19);
    if !frame {
        return false;
    }
    let frac = &b[19..b.len() - 1];
    let frac_ok = frac.is_empty()
        || (frac.len() >= 2 && frac[0] == b'.' && frac[1..].iter().all(u8::is_ascii_digit));
    frac_ok
        && (1..=12).contains(&num(5..7))
        && (1..=31).contains(&num(8..10))
        && num(11..13) <= 23
        && num(14..16) <= 59
        && num(17..19) <= 60
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"{"type":"TransferRequested","version":1,
 "transferId":"2f1c0a8e-5a4b-4c55-9a39-0d3c1e2b7f10",
 "customerId":"C-100234","sourceAccount":"2200118877","destinationAccount":"2200991122",
 "destinationName":"Maria Lopez","amount":"125.50","currency":"USD",
 "description":"rent","requestedAt":"2026-11-28T10:15:00Z","channel":"mobile"}"#;

    #[test]
    fn parses_the_documented_example_and_round_trips() {
        let m = TransferRequested::from_json(EXAMPLE).unwrap();
        assert_eq!(m.transfer_id, "2f1c0a8e-5a4b-4c55-9a39-0d3c1e2b7f10");
        assert_eq!(m.amount.to_string(), "125.50");
        assert_eq!(m.channel, Channel::Mobile);
        let back: serde_json::Value = serde_json::to_value(&m).unwrap();
        let orig: serde_json::Value = serde_json::from_str(EXAMPLE).unwrap();
        assert_eq!(back, orig);
    }

    fn with(field: &str, value: serde_json::Value) -> String {
        let mut v: serde_json::Value = serde_json::from_str(EXAMPLE).unwrap();
        if value.is_null() {
            v.as_object_mut().unwrap().remove(field);
        } else {
            v[field] = value;
        }
        v.to_string()
    }

    #[test]
    fn rejects_wrong_type_version_and_shape() {
        use serde_json::json;
        let cases = [
            with("type", json!("TransferRequestd")),
            with("version", json!(2)),
            with("version", json!("1")),
            with("amount", json!(125.5)),
            with("amount", json!("125.5")),
            with("transferId", serde_json::Value::Null),
            with("extra", json!(1)),
            with("channel", json!("fax")),
            "not json".to_owned(),
            "[]".to_owned(),
        ];
        for body in cases {
            assert!(
                matches!(
                    TransferRequested::from_json(&body),
                    Err(TransferRequestedError::Shape(_))
                ),
                "{body}"
            );
        }
    }

    #[test]
    fn rejects_bad_values_naming_the_field() {
        use serde_json::json;
        let cases = [
            (with("transferId", json!("")), "transferId"),
            (with("transferId", json!("a b")), "transferId"),
            (with("transferId", json!("x".repeat(49))), "transferId"),
            (with("sourceAccount", json!("22-00")), "sourceAccount"),
            (
                with("destinationAccount", json!("2200118877")),
                "destinationAccount",
            ),
            (with("amount", json!("0.00")), "amount"),
            (with("currency", json!("usd")), "currency"),
            (with("description", json!("x".repeat(141))), "description"),
            (
                with("requestedAt", json!("2026-11-28 10:15:00")),
                "requestedAt",
            ),
            (
                with("requestedAt", json!("2026-13-28T10:15:00Z")),
                "requestedAt",
            ),
            (with("destinationName", json!(" ")), "destinationName"),
        ];
        for (body, field) in cases {
            match TransferRequested::from_json(&body) {
                Err(TransferRequestedError::Field { field: f, .. }) => {
                    assert_eq!(f, field, "{body}")
                }
                other => panic!("{field}: expected a field error, got {other:?}"),
            }
        }
        assert!(
            TransferRequested::from_json(&with("requestedAt", json!("2026-11-28T10:15:00.123Z")))
                .is_ok()
        );
        assert!(
            TransferRequested::from_json(&with("description", serde_json::Value::Null)).is_ok()
        );
    }

    #[test]
    fn schema_pins_type_and_version() {
        let schema = serde_json::to_value(schemars::schema_for!(TransferRequested)).unwrap();
        let text = schema.to_string();
        assert!(text.contains("\"const\":1"), "{text}");
        assert!(text.contains("TransferRequested"));
        let required = schema["required"].as_array().unwrap();
        for f in ["type", "version", "transferId", "amount", "requestedAt"] {
            assert!(required.iter().any(|r| r == f), "{f} must be required");
        }
        assert!(!required.iter().any(|r| r == "description"));
    }
}
