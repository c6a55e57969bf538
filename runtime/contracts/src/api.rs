//! Request and response bodies of banca's REST API (/signin, /otpGenerate, /otpValidate,
//! /me/summary, /reports). API Gateway validates requests with the JSON Schemas generated from
//! these types; the handlers parse the same types, so both layers refuse the same inputs.

use serde::{Deserialize, Serialize};

use crate::fields::{AccountNumber, CustomerId, Locale, UserId};
use crate::money::Amount;

/// Shortest OTP code accepted anywhere (the seed's 4 digits are too guessable for money).
pub const OTP_MIN_LEN: usize = 6;
/// Longest OTP code a deployment may configure.
pub const OTP_MAX_LEN: usize = 10;

/// The currencies a transfer may be in (Ecuador is dollarised).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub enum Currency {
    /// US dollars.
    #[serde(rename = "USD")]
    Usd,
}

impl Currency {
    /// ISO 4217 code.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Usd => "USD",
        }
    }
}

/// The channel a customer used: the same values as `TransferRequested.channel`.
pub use crate::transfer::Channel as ClientChannel;

/// The transfer a customer is about to confirm with an OTP. The code is bound to a hash of
/// exactly these fields: /otpValidate must present the same draft.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TransferDraft {
    /// The customer's account to debit.
    pub source_account: AccountNumber,
    /// The account to credit.
    pub destination_account: AccountNumber,
    /// The destination holder's name, as shown to the customer.
    #[schemars(length(min = 1, max = 100))]
    pub destination_name: String,
    /// How much (greater than zero).
    pub amount: Amount,
    /// In which currency.
    pub currency: Currency,
    /// The customer's note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 140))]
    pub description: Option<String>,
}

/// Why a [`TransferDraft`] is refused beyond what its types check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DraftError {
    /// Zero amount.
    #[error("amount: must be greater than 0.00, got {0}")]
    ZeroAmount(Amount),
    /// Same account on both sides.
    #[error("destinationAccount: must differ from sourceAccount, got {0}")]
    SameAccount(String),
    /// A text field is empty, too long or has control characters.
    #[error("{field}: must be {min} to {max} printable characters, got {got} characters")]
    Text {
        /// Which field.
        field: &'static str,
        /// Shortest allowed.
        min: usize,
        /// Longest allowed.
        max: usize,
        /// Length received.
        got: usize,
    },
}

fn check_text(field: &'static str, s: &str, min: usize, max: usize) -> Result<(), DraftError> {
    let got = s.chars().count();
    if got < min || got > max || s.chars().any(char::is_control) {
        return Err(DraftError::Text {
            field,
            min,
            max,
            got,
        });
    }
    Ok(())
}

impl TransferDraft {
    /// Checks the rules the JSON Schema cannot state (or that the handler must not trust
    /// API Gateway alone for).
    pub fn validate(&self) -> Result<(), DraftError> {
        if self.amount.decimal().is_zero() {
            return Err(DraftError::ZeroAmount(self.amount));
        }
        if self.source_account == self.destination_account {
            return Err(DraftError::SameAccount(
                self.destination_account.to_string(),
            ));
        }
        check_text("destinationName", &self.destination_name, 1, 100)?;
        if let Some(d) = &self.description {
            check_text("description", d, 0, 140)?;
        }
        Ok(())
    }
}

/// POST /otpGenerate: ask for a code that confirms this transfer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OtpGenerateRequest {
    /// The transfer the code will confirm.
    pub transfer: TransferDraft,
}

/// Answer to POST /otpGenerate. The code itself only travels by SMS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OtpGenerateResponse {
    /// When the code stops working, RFC 3339 UTC.
    pub expires_at: chrono::DateTime<chrono::Utc>,
    /// How many digits the code has.
    pub code_length: u8,
    /// The phone it was sent to, masked (`+59399****567`).
    pub sent_to: String,
}

/// POST /otpValidate: confirm a transfer with the code received by SMS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OtpValidateRequest {
    /// The digits received.
    #[schemars(regex(pattern = r"^[0-9]{6,10}$"))]
    pub code: String,
    /// The same transfer the code was generated for.
    pub transfer: TransferDraft,
    /// Where the customer confirmed.
    pub channel: ClientChannel,
}

/// Answer to a successful POST /otpValidate: the transfer was queued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OtpValidateResponse {
    /// The business key of the queued transfer.
    pub transfer_id: String,
    /// Always `queued`: the outcome arrives as a notification.
    pub status: String,
}

/// POST /signin: the sign-up form, before normalisation.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignupForm {
    /// Full name as on the cédula.
    #[schemars(length(min = 3, max = 100))]
    pub full_name: String,
    /// Ecuadorian cédula: 10 digits, valid province and check digit.
    #[schemars(regex(pattern = r"^[0-9]{10}$"))]
    pub national_id: String,
    /// The customer's id at the bank (printed on the account contract).
    pub customer_id: CustomerId,
    /// E-mail; stored lowercased.
    #[schemars(length(min = 3, max = 254), email)]
    pub email: String,
    /// Mobile phone, local (`099 123 4567`) or international (`+593 99 123 4567`).
    #[schemars(regex(pattern = r"^\+?[0-9 ()-]{9,20}$"))]
    pub phone: String,
    /// Login name: 4-32 lowercase letters, digits, `.`, `_` or `-`.
    #[schemars(regex(pattern = r"^[A-Za-z0-9][A-Za-z0-9._-]{3,31}$"))]
    pub username: String,
    /// At least 12 characters with upper and lower case, a digit and a symbol.
    #[schemars(length(min = 12, max = 128))]
    pub password: String,
}

impl std::fmt::Debug for SignupForm {
    // The password must never reach a log line, even through `{:?}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignupForm")
            .field("full_name", &self.full_name)
            .field("customer_id", &self.customer_id)
            .field("email", &self.email)
            .field("phone", &self.phone)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// Answer to a successful POST /signin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignupResponse {
    /// The new UAA user id.
    pub user_id: UserId,
    /// The normalised login name.
    pub username: String,
    /// What the app must do next: always `upload_photo` (onboarding needs a face).
    pub next_step: String,
    /// The S3 key prefix the photo must be uploaded under.
    pub upload_prefix: String,
}

/// How fresh a part of the summary is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PartStatus {
    /// Read from the source system just now.
    Fresh,
    /// Served from the cache (within its TTL).
    Cached,
    /// The source failed; this is the last cached copy, possibly older than the TTL.
    Stale,
    /// The source failed and nothing was cached.
    Unavailable,
    /// Not requested.
    Skipped,
}

/// Basic customer information (core platform).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomerBasic {
    /// The customer's id.
    pub customer_id: String,
    /// Full name.
    pub full_name: String,
    /// E-mail on file.
    pub email: String,
    /// Phone on file (E.164).
    pub phone: String,
    /// Commercial segment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<String>,
}

/// Complete customer information (independent system).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomerComplete {
    /// Basic fields.
    #[serde(flatten)]
    pub basic: CustomerBasic,
    /// Cédula.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub national_id: Option<String>,
    /// Date of birth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_date: Option<chrono::NaiveDate>,
    /// Postal address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Occupation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occupation: Option<String>,
    /// Declared monthly income.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monthly_income: Option<Amount>,
}

/// One of the last transfers (core platform's light endpoint).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TransferLite {
    /// When it was executed.
    pub date: chrono::DateTime<chrono::Utc>,
    /// How much.
    pub amount: Amount,
    /// To whom.
    pub destination_name: String,
}

/// Answer to GET /me/summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserSummary {
    /// Whose summary.
    pub customer_id: CustomerId,
    /// Basic information, when available.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic: Option<CustomerBasic>,
    /// Where `basic` came from.
    pub basic_status: PartStatus,
    /// The last 4 transfers, newest first, when available.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_transfers: Option<Vec<TransferLite>>,
    /// Where `latestTransfers` came from.
    pub transfers_status: PartStatus,
    /// Complete information, only when asked for with `?include=complete`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complete: Option<CustomerComplete>,
    /// Where `complete` came from.
    pub complete_status: PartStatus,
}

/// POST /reports: e-mail me the movements of an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReportRequest {
    /// Which account.
    pub account_id: AccountNumber,
    /// First day, inclusive.
    pub from: chrono::NaiveDate,
    /// Last day, inclusive.
    pub to: chrono::NaiveDate,
    /// Language of the report.
    #[serde(default)]
    pub locale: Locale,
}

/// The body of every 4xx/5xx answer of banca's API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiError {
    /// Stable machine-readable code (`invalid_request`, `otp_invalid`, `username_taken`...).
    pub error: String,
    /// What went wrong, in the user's terms.
    pub message: String,
    /// How to fix it, when there is something to do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft() -> TransferDraft {
        serde_json::from_value(serde_json::json!({
            "sourceAccount": "2200118877", "destinationAccount": "2200991122",
            "destinationName": "Maria Lopez", "amount": "125.50", "currency": "USD"
        }))
        .unwrap()
    }

    #[test]
    fn draft_rules() {
        draft().validate().unwrap();
        let mut d = draft();
        d.destination_account = d.source_account.clone();
        assert!(matches!(d.validate(), Err(DraftError::SameAccount(_))));
        let mut d = draft();
        d.amount = "0.00".parse().unwrap();
        assert!(matches!(d.validate(), Err(DraftError::ZeroAmount(_))));
        let mut d = draft();
        d.destination_name = "a\u{0007}b".into();
        assert!(matches!(d.validate(), Err(DraftError::Text { .. })));
    }

    #[test]
    fn unknown_fields_and_other_currencies_are_refused() {
        let mut v = serde_json::to_value(draft()).unwrap();
        v["currency"] = "EUR".into();
        assert!(serde_json::from_value::<TransferDraft>(v.clone()).is_err());
        v["currency"] = "USD".into();
        v["extra"] = 1.into();
        assert!(serde_json::from_value::<TransferDraft>(v).is_err());
    }

    #[test]
    fn signup_debug_hides_the_password() {
        let f = SignupForm {
            full_name: "Maria Lopez".into(),
            national_id: "1710034065".into(),
            customer_id: "C-1".parse().unwrap(),
            email: "m@example.com".into(),
            phone: "0991234567".into(),
            username: "maria".into(),
            password: "S3cret!Passw0rd".into(),
        };
        assert!(!format!("{f:?}").contains("S3cret"));
    }

    #[test]
    fn schemas_carry_validation() {
        let s = serde_json::to_value(schemars::schema_for!(OtpValidateRequest)).unwrap();
        assert_eq!(s["properties"]["code"]["pattern"], "^[0-9]{6,10}$");
        assert_eq!(s["additionalProperties"], false);
        let s = serde_json::to_value(schemars::schema_for!(SignupForm)).unwrap();
        assert_eq!(s["properties"]["password"]["minLength"], 12);
        assert_eq!(s["properties"]["email"]["format"], "email");
    }
}
