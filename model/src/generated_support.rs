//! What the generated L1 code (`l1/`) builds on: one import for it, and the string-enum macro.

pub use std::collections::BTreeMap;

pub use serde::Serialize;

pub use crate::intrinsic::Intrinsic;
pub use crate::resource::{BuildError, Handle, Resource, ResourceInfo};
pub use crate::validate::{Check, Rules, Validator};
pub use crate::value::{Json, Value};

/// A value outside the ones a schema enum lists, given to `try_parse`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not one of {allowed}")]
pub struct UnknownVariant {
    /// The value received.
    pub value: String,
    /// The values allowed, comma-separated.
    pub allowed: String,
}

/// Defines a schema string enum: known values as variants, `Unknown(String)` for values newer
/// than the vendored schema, `as_str`, `try_parse`, and conversions from `&str`.
#[doc(hidden)]
#[macro_export]
macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident = $value:literal,)* }) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vm])* $variant,)*
            /// A value newer than the vendored schema, passed through as written.
            Unknown(String),
        }
        impl $name {
            /// Every value the schema lists.
            pub const VALUES: &'static [&'static str] = &[$($value),*];
            /// The value as CloudFormation spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $value,)*
                    Self::Unknown(s) => s,
                }
            }
            /// The variant of a listed value; an error naming the allowed values otherwise.
            pub fn try_parse(s: &str) -> Result<Self, $crate::generated_support::UnknownVariant> {
                match s {
                    $($value => Ok(Self::$variant),)*
                    _ => Err($crate::generated_support::UnknownVariant {
                        value: s.to_owned(),
                        allowed: Self::VALUES.join(", "),
                    }),
                }
            }
        }
        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self::try_parse(s).unwrap_or_else(|_| Self::Unknown(s.to_owned()))
            }
        }
        impl From<&str> for $crate::value::Value<$name> {
            fn from(s: &str) -> Self {
                $crate::value::Value::Literal($name::from(s))
            }
        }
        impl From<$name> for $crate::value::Value<$name> {
            fn from(v: $name) -> Self {
                $crate::value::Value::Literal(v)
            }
        }
        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl $crate::generated_support::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl $crate::validate::Check for $name {
            fn check(&self, _: &mut $crate::validate::Validator, _: &$crate::validate::Rules) {}
        }
    };
}
