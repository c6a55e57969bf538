//! Property values: every property accepts a literal or an intrinsic function.

use std::collections::BTreeMap;

use serde::{Serialize, Serializer};

use crate::intrinsic::Intrinsic;

/// Free-form JSON, for the properties whose schema says so (policy documents, event patterns).
pub type Json = serde_json::Value;

/// A property value: a literal of the schema's type, or an intrinsic CloudFormation resolves at
/// deploy time. Literals are validated against the schema's rules at synth; intrinsics are
/// checked for the things synth can know (targets exist, attributes exist).
#[derive(Debug, Clone, PartialEq)]
pub enum Value<T> {
    /// A value known at synth time.
    Literal(T),
    /// A value CloudFormation computes at deploy time.
    Expr(Intrinsic),
}

impl<T> Value<T> {
    /// The literal, when this is one.
    pub fn literal(&self) -> Option<&T> {
        match self {
            Value::Literal(t) => Some(t),
            Value::Expr(_) => None,
        }
    }
}

impl<T: Serialize> Serialize for Value<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Literal(t) => t.serialize(s),
            Value::Expr(e) => e.serialize(s),
        }
    }
}

impl<T> From<Intrinsic> for Value<T> {
    fn from(e: Intrinsic) -> Self {
        Value::Expr(e)
    }
}

impl From<&str> for Value<String> {
    fn from(s: &str) -> Self {
        Value::Literal(s.to_owned())
    }
}

impl From<String> for Value<String> {
    fn from(s: String) -> Self {
        Value::Literal(s)
    }
}

impl From<&String> for Value<String> {
    fn from(s: &String) -> Self {
        Value::Literal(s.clone())
    }
}

impl From<bool> for Value<bool> {
    fn from(b: bool) -> Self {
        Value::Literal(b)
    }
}

macro_rules! int_from {
    ($($t:ty),*) => {$(
        impl From<$t> for Value<i64> {
            fn from(n: $t) -> Self {
                Value::Literal(i64::from(n))
            }
        }
    )*};
}
int_from!(i64, i32, u32, u16, u8);

impl From<f64> for Value<f64> {
    fn from(n: f64) -> Self {
        Value::Literal(n)
    }
}

impl From<Json> for Value<Json> {
    fn from(j: Json) -> Self {
        Value::Literal(j)
    }
}

impl<T, U: Into<Value<T>>> From<Vec<U>> for Value<Vec<Value<T>>> {
    fn from(items: Vec<U>) -> Self {
        Value::Literal(items.into_iter().map(Into::into).collect())
    }
}

impl<T, U: Into<Value<T>>, const N: usize> From<[U; N]> for Value<Vec<Value<T>>> {
    fn from(items: [U; N]) -> Self {
        Value::Literal(items.into_iter().map(Into::into).collect())
    }
}

impl<T, K: Into<String>, U: Into<Value<T>>> From<BTreeMap<K, U>>
    for Value<BTreeMap<String, Value<T>>>
{
    fn from(map: BTreeMap<K, U>) -> Self {
        Value::Literal(map.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
    }
}

/// Implemented by generated property structs so `builder.prop(Struct)` works like literals do.
#[doc(hidden)]
#[macro_export]
macro_rules! __literal_from {
    ($($t:ty),* $(,)?) => {$(
        impl From<$t> for $crate::value::Value<$t> {
            fn from(v: $t) -> Self {
                $crate::value::Value::Literal(v)
            }
        }
    )*};
}

impl<T> Value<T> {
    /// The same value with its literal boxed (for recursive property types).
    pub fn boxed(self) -> Value<Box<T>> {
        match self {
            Value::Literal(t) => Value::Literal(Box::new(t)),
            Value::Expr(e) => Value::Expr(e),
        }
    }
}
