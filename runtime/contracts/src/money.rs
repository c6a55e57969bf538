//! Money on the wire: a decimal string with exactly two places ("125.50"), never a float.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A non-negative amount with exactly two decimal places, as the contracts carry it.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Amount(Decimal);

/// Why a string is not an [`Amount`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AmountError {
    /// Not of the form `digits.dd`.
    #[error("amount must be a decimal string with 2 places like \"125.50\", got {0:?}")]
    Format(String),
}

impl Amount {
    /// The amount as a decimal.
    pub fn decimal(self) -> Decimal {
        self.0
    }

    /// An amount from a decimal with at most two places; `None` when negative or finer.
    pub fn from_decimal(value: Decimal) -> Option<Self> {
        if value.is_sign_negative() || value.normalize().scale() > 2 {
            return None;
        }
        let mut v = value;
        v.rescale(2);
        Some(Self(v))
    }
}

impl FromStr for Amount {
    type Err = AmountError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || AmountError::Format(s.to_owned());
        let (int, frac) = s.split_once('.').ok_or_else(bad)?;
        let well_formed = !int.is_empty()
            && int.len() <= 15
            && int.bytes().all(|b| b.is_ascii_digit())
            && frac.len() == 2
            && frac.bytes().all(|b| b.is_ascii_digit());
        if !well_formed {
            return Err(bad());
        }
        Decimal::from_str(s).map(Self).map_err(|_| bad())
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.2}", self.0)
    }
}

impl fmt::Debug for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Amount({self})")
    }
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for Amount {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Amount".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[0-9]{1,15}\\.[0-9]{2}$",
            "description": "money as a decimal string with 2 places"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_two_places_only() {
        assert_eq!("125.50".parse::<Amount>().unwrap().to_string(), "125.50");
        for bad in [
            "125.5", "125", "-1.00", "1e3.00", "12.500", ".50", "1,00", "",
        ] {
            assert!(bad.parse::<Amount>().is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn round_trips_as_a_string() {
        let a: Amount = serde_json::from_str("\"0.01\"").unwrap();
        assert_eq!(serde_json::to_string(&a).unwrap(), "\"0.01\"");
        assert!(
            serde_json::from_str::<Amount>("0.01").is_err(),
            "a JSON number is not money"
        );
    }
}
