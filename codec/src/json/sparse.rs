//! SageMaker's common JSON format: `{"data": {"features": {"values": [...]}}}`,
//! dense, or sparse with `keys` (column indices) and `shape` (`[n_features]`).
//! In the sparse form, columns not listed in `keys` are 0, as SageMaker's
//! built-in algorithms read them.

use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer};

use super::ctx::Ctx;
use super::value::{Val, ValueSeed};
use crate::error::DecodeError;

/// `{"features": {...}}`, the value of `data`.
#[derive(Deserialize)]
struct Data {
    features: Features,
}

#[derive(Deserialize)]
struct Features {
    values: Vec<Value>,
    keys: Option<Vec<u64>>,
    shape: Option<Vec<u64>>,
}

/// A feature value read through the same rules as every other JSON value.
struct Value(Val);

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        ValueSeed.deserialize(d).map(Value)
    }
}

/// The value of `data`, decoded into one row.
pub(crate) struct DataSeed<'c, 'a> {
    pub(crate) ctx: &'c mut Ctx<'a>,
}

impl<'de> DeserializeSeed<'de> for DataSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        let ctx = self.ctx;
        let n = ctx.next_row();
        let data = match Data::deserialize(d) {
            Ok(data) => data,
            Err(err) => {
                let expected = "{\"data\": {\"features\": {\"values\": [...]}}}";
                let err = ctx.shape_error(
                    Some(n),
                    expected,
                    format!("a value that does not fit ({err})"),
                );
                return Err(ctx.fail(err));
            }
        };
        let (n, start) = ctx.start_row()?;
        let at = ctx.at(n, false);
        let width = ctx.names.len();
        let f = data.features;
        let fail_shape = |ctx: &mut Ctx<'_>, expected: String, found: String| -> D::Error {
            let err = ctx.shape_error(Some(n), &expected, found);
            ctx.fail(err)
        };
        let columns: Vec<usize> = match (&f.keys, &f.shape) {
            (None, None) => {
                if f.values.len() != width {
                    return Err(ctx.fail(DecodeError::Width {
                        at,
                        expected: width,
                        found: f.values.len(),
                    }));
                }
                (0..width).collect()
            }
            (Some(keys), shape) => {
                if let Some(shape) = shape.as_ref().filter(|s| s.as_slice() != [width as u64]) {
                    return Err(fail_shape(
                        ctx,
                        format!("shape [{width}]"),
                        format!("shape {shape:?}"),
                    ));
                }
                if keys.len() != f.values.len() {
                    let found = format!("{} keys and {} values", keys.len(), f.values.len());
                    return Err(fail_shape(ctx, "as many keys as values".into(), found));
                }
                if let Some(bad) = keys.iter().find(|&&k| k >= width as u64) {
                    return Err(fail_shape(
                        ctx,
                        format!("keys below {width}"),
                        format!("key {bad}"),
                    ));
                }
                ctx.out.values[start..start + width].fill(0.0);
                keys.iter().map(|&k| k as usize).collect()
            }
            (None, Some(_)) => {
                return Err(fail_shape(
                    ctx,
                    "\"keys\" with \"shape\"".into(),
                    "\"shape\" alone".into(),
                ));
            }
        };
        for (col, Value(v)) in columns.into_iter().zip(f.values) {
            match v {
                Val::Num(x) => ctx.out.values[start + col] = x,
                Val::Wrong(found) => {
                    let column = ctx.names[col].clone();
                    return Err(ctx.fail(DecodeError::WrongJsonType { at, column, found }));
                }
            }
        }
        Ok(())
    }
}
