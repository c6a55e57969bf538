//! Validated string fields shared by the messages and API bodies: each type checks its value
//! when it is deserialized or parsed, and publishes the same rule as a JSON Schema `pattern`,
//! so API Gateway and the handlers refuse the same inputs.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a string is not a valid field value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
#[error("{field}: must be {rule}, got {got:?}")]
pub struct FieldError {
    /// The field type's name in the contracts (`phone`, `email`, ...).
    pub field: &'static str,
    /// What is allowed, in words.
    pub rule: &'static str,
    /// The value received (truncated to 64 characters so a huge input does not flood logs).
    pub got: String,
}

impl FieldError {
    pub(crate) fn new(field: &'static str, rule: &'static str, got: &str) -> Self {
        Self {
            field,
            rule,
            got: got.chars().take(64).collect(),
        }
    }
}

macro_rules! validated_string {
    (
        $(#[$meta:meta])*
        $name:ident, field = $field:literal, rule = $rule:literal, pattern = $pattern:literal,
        min = $min:literal, max = $max:literal, check = $check:expr $(, format = $format:literal)?
    ) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// The JSON Schema `pattern` this type enforces.
            pub const PATTERN: &'static str = $pattern;

            /// The value as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The value, consumed.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl FromStr for $name {
            type Err = FieldError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let len = s.chars().count();
                let check: fn(&str) -> bool = $check;
                if !($min..=$max).contains(&len) || !check(s) {
                    return Err(FieldError::new($field, $rule, s));
                }
                Ok(Self(s.to_owned()))
            }
        }

        impl TryFrom<String> for $name {
            type Error = FieldError;

            fn try_from(s: String) -> Result<Self, Self::Error> {
                s.parse()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }

        impl schemars::JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                #[allow(unused_mut)]
                let mut schema = schemars::json_schema!({
                    "type": "string",
                    "pattern": $pattern,
                    "minLength": $min,
                    "maxLength": $max,
                    "description": $rule,
                });
                $( schema.insert("format".into(), $format.into()); )?
                schema
            }
        }
    };
}

fn is_ascii_alnum_or(s: &str, extra: &[u8]) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || extra.contains(&b))
}

fn first_is_alnum(s: &str) -> bool {
    s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
}

validated_string!(
    /// A core-platform customer id such as `C-100234`.
    CustomerId, field = "customerId", rule = "1-64 letters, digits, '-' or '_', starting with a letter or digit",
    pattern = "^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$", min = 1, max = 64,
    check = |s| first_is_alnum(s) && is_ascii_alnum_or(s, b"_-")
);

validated_string!(
    /// A UAA user id (the JWT `sub`).
    UserId, field = "userId", rule = "1-128 letters, digits, '.', '_', '@' or '-', starting with a letter or digit",
    pattern = "^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$", min = 1, max = 128,
    check = |s| first_is_alnum(s) && is_ascii_alnum_or(s, b"._@-")
);

validated_string!(
    /// A bank account number of the core platform: 6 to 20 digits.
    AccountNumber, field = "account", rule = "6 to 20 digits",
    pattern = "^[0-9]{6,20}$", min = 6, max = 20,
    check = |s| s.bytes().all(|b| b.is_ascii_digit())
);

validated_string!(
    /// A phone number in E.164 form: `+`, a country code not starting with 0, 8 to 15 digits in all.
    E164Phone, field = "phone", rule = "an E.164 number like +593991234567",
    pattern = "^\\+[1-9][0-9]{7,14}$", min = 9, max = 16,
    check = |s| {
        s.strip_prefix('+').is_some_and(|digits| {
            !digits.is_empty() && !digits.starts_with('0') && digits.bytes().all(|b| b.is_ascii_digit())
        })
    }
);

validated_string!(
    /// An e-mail address (RFC 5321 limits: 254 characters, 64 in the local part), ASCII only,
    /// one `@`, a dotted domain. Deliberately stricter than RFC 5322: banking mail must be deliverable.
    Email, field = "email", rule = "an e-mail address like maria@example.com",
    pattern = "^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$",
    min = 3, max = 254, check = valid_email, format = "email"
);

validated_string!(
    /// A message or request id chosen by the producer (UUIDs in practice).
    MessageId, field = "id", rule = "1-64 letters, digits or '-'",
    pattern = "^[A-Za-z0-9][A-Za-z0-9-]{0,63}$", min = 1, max = 64,
    check = |s| first_is_alnum(s) && is_ascii_alnum_or(s, b"-")
);

impl MessageId {
    /// The id spelled as a hyphenated UUID (`8-4-4-4-12` lowercase hex), always valid.
    pub fn from_uuid_bytes(bytes: [u8; 16]) -> Self {
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        Self(format!(
            "{}-{}-{}-{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        ))
    }
}

fn valid_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".!#$%&'*+/=?^_`{|}~-".contains(&b));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    local_ok && domain_ok
}

/// A locale the bank writes to its customers in.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
pub enum Locale {
    /// Spanish (Ecuador), the default.
    #[default]
    #[serde(rename = "es-EC")]
    EsEc,
    /// English.
    #[serde(rename = "en")]
    En,
}

impl Locale {
    /// The tag as written in messages and template file names (`es-EC`, `en`).
    pub fn tag(self) -> &'static str {
        match self {
            Self::EsEc => "es-EC",
            Self::En => "en",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_is_e164() {
        assert!("+593991234567".parse::<E164Phone>().is_ok());
        for bad in [
            "0991234567",
            "+0593991234567",
            "+5939912x4567",
            "+1234567",
            "593991234567",
            "+",
        ] {
            assert!(bad.parse::<E164Phone>().is_err(), "{bad}");
        }
    }

    #[test]
    fn uuid_ids_are_valid_message_ids() {
        let id = MessageId::from_uuid_bytes([0xab; 16]);
        assert_eq!(id.as_str(), "abababab-abab-abab-abab-abababababab");
        assert!(id.as_str().parse::<MessageId>().is_ok());
    }

    #[test]
    fn email_is_checked() {
        assert!("maria.lopez+bank@example.com.ec".parse::<Email>().is_ok());
        for bad in [
            "maria",
            "maria@",
            "@example.com",
            "maria@example",
            "a b@example.com",
            "maria@-x.com",
            "maria@exa_mple.com",
        ] {
            assert!(bad.parse::<Email>().is_err(), "{bad}");
        }
    }

    #[test]
    fn error_names_field_rule_and_value() {
        let e = "12ab".parse::<AccountNumber>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "account: must be 6 to 20 digits, got \"12ab\""
        );
    }

    #[test]
    fn schema_carries_the_pattern() {
        let s = schemars::schema_for!(E164Phone);
        assert_eq!(s.get("pattern").unwrap(), E164Phone::PATTERN);
        let s = serde_json::to_string(&schemars::schema_for!(Locale)).unwrap();
        assert!(s.contains("\"es-EC\"") && s.contains("\"en\""), "{s}");
    }
}

/// The `version` field of a message whose only version so far is 1: serializes as `1`,
/// refuses any other number, and documents itself as `const: 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct V1;

impl Serialize for V1 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(1)
    }
}

impl<'de> Deserialize<'de> for V1 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = u64::deserialize(d)?;
        if v == 1 {
            Ok(V1)
        } else {
            Err(serde::de::Error::custom(format!(
                "version: must be 1, got {v}\nhint: this consumer only understands version 1"
            )))
        }
    }
}

impl schemars::JsonSchema for V1 {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "V1".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "integer", "const": 1 })
    }
}

/// Declares the one-variant enum used as a message's `type` field, so a message of another
/// type fails to parse instead of being half-understood.
macro_rules! message_type {
    ($(#[$meta:meta])* $name:ident = $tag:ident) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, Default,
            serde::Serialize, serde::Deserialize, schemars::JsonSchema,
        )]
        pub enum $name {
            /// The only value.
            #[default]
            $tag,
        }
    };
}
pub(crate) use message_type;
