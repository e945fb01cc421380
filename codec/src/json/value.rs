//! A single feature value: a JSON number, or `null` for a missing value.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::error::excerpt;

/// A single JSON value where a feature value is expected.
pub(crate) enum Val {
    /// A number, or NaN for `null`.
    Num(f64),
    /// Anything else, described for the error message.
    Wrong(String),
}

/// Reads one feature value without allocating on the success path.
pub(crate) struct ValueSeed;

impl<'de> DeserializeSeed<'de> for ValueSeed {
    type Value = Val;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Val, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

pub(crate) struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Val;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number or null")
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Val, E> {
        Ok(Val::Num(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Val, E> {
        Ok(Val::Num(v as f64))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Val, E> {
        Ok(Val::Num(v as f64))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Val, E> {
        Ok(Val::Num(f64::NAN))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Val, E> {
        Ok(Val::Wrong("a boolean".into()))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Val, E> {
        Ok(Val::Wrong(format!("string \"{}\"", excerpt(v.as_bytes()))))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Val, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Val::Wrong("an array".into()))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Val, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Val::Wrong("an object".into()))
    }
}

/// Describes a value that is not a row, for shape errors.
pub(crate) fn describe(v: &Val) -> String {
    match v {
        Val::Num(x) if x.is_nan() => "null".into(),
        Val::Num(_) => "a number".into(),
        Val::Wrong(w) => w.clone(),
    }
}

/// Implements the scalar `visit_*` methods of a visitor that only accepts
/// containers, by calling its `reject(found)`.
macro_rules! reject_scalars {
    () => {
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Err(self.reject("a number".into()))
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Err(self.reject("a number".into()))
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Err(self.reject("a number".into()))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Err(self.reject("null".into()))
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            let found = describe(&ValueVisitor.visit_bool::<E>(v)?);
            Err(self.reject(found))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            let found = describe(&ValueVisitor.visit_str::<E>(v)?);
            Err(self.reject(found))
        }
    };
}
pub(crate) use reject_scalars;
