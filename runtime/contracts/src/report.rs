//! `ReportRequested` (queue `report-requests`): e-mail the movements of an account for a
//! date range.

use serde::{Deserialize, Serialize};

use crate::fields::{AccountNumber, CustomerId, Locale, MessageId, V1, message_type};

message_type!(
    /// The `type` of a [`ReportRequested`].
    ReportRequestedType = ReportRequested
);

/// Default longest range a report may cover, in days (inclusive of both ends).
pub const DEFAULT_MAX_SPAN_DAYS: i64 = 366;

/// Ask for a movements report (see `contracts/events.md`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReportRequested {
    /// Always `ReportRequested`.
    #[serde(rename = "type")]
    pub kind: ReportRequestedType,
    /// Always 1.
    pub version: V1,
    /// Unique per request.
    pub request_id: MessageId,
    /// Whose report; the e-mail goes to this customer's address on file.
    pub customer_id: CustomerId,
    /// The account whose movements are listed.
    pub account_id: AccountNumber,
    /// First day, inclusive (`YYYY-MM-DD`).
    pub from: chrono::NaiveDate,
    /// Last day, inclusive (`YYYY-MM-DD`).
    pub to: chrono::NaiveDate,
    /// Language of the e-mail and report.
    #[serde(default)]
    pub locale: Locale,
}

/// Why a date range is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RangeError {
    /// `from` is after `to`.
    #[error("from: must not be after to, got from {from} and to {to}")]
    Reversed {
        /// The start received.
        from: chrono::NaiveDate,
        /// The end received.
        to: chrono::NaiveDate,
    },
    /// The range is longer than allowed.
    #[error(
        "to: the range may cover at most {max_days} days, got {days} ({from} to {to})\nhint: split the request into smaller ranges"
    )]
    TooLong {
        /// The start received.
        from: chrono::NaiveDate,
        /// The end received.
        to: chrono::NaiveDate,
        /// Days covered, both ends included.
        days: i64,
        /// The configured maximum.
        max_days: i64,
    },
}

/// A date range that passed [`validate_range`]: `from <= to`, at most the configured span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateRange {
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
}

impl DateRange {
    /// First day, inclusive.
    pub fn from(&self) -> chrono::NaiveDate {
        self.from
    }
    /// Last day, inclusive.
    pub fn to(&self) -> chrono::NaiveDate {
        self.to
    }
    /// Days covered, both ends included.
    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }
}

/// Checks a report range: `from <= to` and at most `max_days` days, both ends included.
pub fn validate_range(
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
    max_days: i64,
) -> Result<DateRange, RangeError> {
    if from > to {
        return Err(RangeError::Reversed { from, to });
    }
    let days = (to - from).num_days() + 1;
    if days > max_days {
        return Err(RangeError::TooLong {
            from,
            to,
            days,
            max_days,
        });
    }
    Ok(DateRange { from, to })
}

impl ReportRequested {
    /// A new request with `type` and `version` filled in.
    pub fn new(
        request_id: MessageId,
        customer_id: CustomerId,
        account_id: AccountNumber,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
        locale: Locale,
    ) -> Self {
        Self {
            kind: ReportRequestedType::ReportRequested,
            version: V1,
            request_id,
            customer_id,
            account_id,
            from,
            to,
            locale,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn parses_the_contract_example() {
        let r: ReportRequested = serde_json::from_str(
            r#"{"type":"ReportRequested","version":1,"requestId":"r-1","customerId":"C-100234",
 "accountId":"2200118877","from":"2026-10-01","to":"2026-10-31","locale":"es-EC"}"#,
        )
        .unwrap();
        assert_eq!(validate_range(r.from, r.to, 31).unwrap().days(), 31);
    }

    #[test]
    fn range_rules() {
        assert!(validate_range(d("2026-10-01"), d("2026-10-01"), 1).is_ok());
        assert_eq!(
            validate_range(d("2026-10-02"), d("2026-10-01"), 31)
                .unwrap_err()
                .to_string(),
            "from: must not be after to, got from 2026-10-02 and to 2026-10-01"
        );
        assert!(matches!(
            validate_range(d("2026-10-01"), d("2026-11-01"), 31),
            Err(RangeError::TooLong { days: 32, .. })
        ));
    }
}
