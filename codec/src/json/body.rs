//! Body-level JSON shapes: an array of rows, a flat single row, a single row
//! object, `{"instances": [...]}`, and a JSON Lines line.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::ctx::Ctx;
use super::row::{row_array, row_object};
use super::value::{Val, ValueVisitor, describe};
use crate::error::DecodeError;

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

/// A whole JSON body.
pub(crate) struct BodySeed<'c, 'a> {
    pub(crate) ctx: &'c mut Ctx<'a>,
}

impl<'de> DeserializeSeed<'de> for BodySeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(ContainerVisitor {
            ctx: self.ctx,
            top: true,
        })
    }
}

/// One JSON Lines line: a single row.
pub(crate) struct LineSeed<'c, 'a> {
    pub(crate) ctx: &'c mut Ctx<'a>,
}

impl<'de> DeserializeSeed<'de> for LineSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(ContainerVisitor {
            ctx: self.ctx,
            top: false,
        })
    }
}

/// `top`: a JSON body (array of rows, flat row, `instances`, or one row
/// object); otherwise a single row (a JSON Lines line).
struct ContainerVisitor<'c, 'a> {
    ctx: &'c mut Ctx<'a>,
    top: bool,
}

impl ContainerVisitor<'_, '_> {
    fn reject<E: de::Error>(self, found: String) -> E {
        let n = self.ctx.line.map(|_| self.ctx.next_row());
        let err = self.ctx.shape_error(n, "a JSON array or object", found);
        self.ctx.fail(err)
    }
}

impl<'de> Visitor<'de> for ContainerVisitor<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON array or object")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        if self.top {
            return rows_seq(self.ctx, seq);
        }
        let (n, start) = self.ctx.start_row()?;
        row_array(self.ctx, seq, n, start)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        row_object(self.ctx, map, self.top)
    }
    reject_scalars!();
}

/// An array at the top of a body (or `instances`): either rows, or a single
/// flat row of numbers, decided by its first element.
pub(crate) fn rows_seq<'de, A: SeqAccess<'de>>(
    ctx: &mut Ctx<'_>,
    mut seq: A,
) -> Result<(), A::Error> {
    // `Some((row number, offset, values so far))` once the first element
    // showed a flat row of numbers.
    let mut flat: Option<(usize, usize, usize)> = None;
    let mut first = true;
    while let Some(elem) = seq.next_element_seed(ElemSeed {
        ctx,
        flat: flat.is_some(),
    })? {
        match (elem, &mut flat) {
            (Elem::Row, _) => {}
            (Elem::Value(v), None) if first => {
                let (n, start) = ctx.start_row()?;
                store_flat(ctx, v, n, start, 0)?;
                flat = Some((n, start, 1));
            }
            (Elem::Value(v), Some((n, start, count))) => {
                store_flat(ctx, v, *n, *start, *count)?;
                *count += 1;
            }
            (Elem::Value(v), None) => {
                let err =
                    ctx.shape_error(Some(ctx.next_row()), "an array or an object", describe(&v));
                return Err(ctx.fail(err));
            }
        }
        first = false;
    }
    match flat {
        Some((n, _, count)) if count != ctx.names.len() => {
            let (at, expected) = (ctx.at(n, false), ctx.names.len());
            Err(ctx.fail(DecodeError::Width {
                at,
                expected,
                found: count,
            }))
        }
        _ => Ok(()),
    }
}

fn store_flat<E: de::Error>(
    ctx: &mut Ctx<'_>,
    v: Val,
    n: usize,
    start: usize,
    count: usize,
) -> Result<(), E> {
    if count >= ctx.names.len() {
        return Ok(()); // counted by the caller; the width error comes at the end
    }
    match v {
        Val::Num(x) => {
            ctx.out.values[start + count] = x;
            Ok(())
        }
        Val::Wrong(found) => {
            let (at, column) = (ctx.at(n, false), ctx.names[count].clone());
            Err(ctx.fail(DecodeError::WrongJsonType { at, column, found }))
        }
    }
}

enum Elem {
    /// The element was a row and has been stored.
    Row,
    /// The element was a scalar (or, in a flat row, a nested container).
    Value(Val),
}

/// One element of a top-level array. In a flat row (`flat`), a nested
/// container is a wrong value rather than a row.
struct ElemSeed<'c, 'a> {
    ctx: &'c mut Ctx<'a>,
    flat: bool,
}

impl<'de> DeserializeSeed<'de> for ElemSeed<'_, '_> {
    type Value = Elem;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Elem, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ElemSeed<'_, '_> {
    type Value = Elem;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a row")
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Elem, E> {
        ValueVisitor.visit_f64(v).map(Elem::Value)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Elem, E> {
        ValueVisitor.visit_i64(v).map(Elem::Value)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Elem, E> {
        ValueVisitor.visit_u64(v).map(Elem::Value)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Elem, E> {
        ValueVisitor.visit_unit().map(Elem::Value)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Elem, E> {
        ValueVisitor.visit_bool(v).map(Elem::Value)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Elem, E> {
        ValueVisitor.visit_str(v).map(Elem::Value)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Elem, A::Error> {
        if self.flat {
            return ValueVisitor.visit_seq(seq).map(Elem::Value);
        }
        let (n, start) = self.ctx.start_row()?;
        row_array(self.ctx, seq, n, start).map(|()| Elem::Row)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Elem, A::Error> {
        if self.flat {
            return ValueVisitor.visit_map(map).map(Elem::Value);
        }
        row_object(self.ctx, map, false).map(|()| Elem::Row)
    }
}

/// The value of `instances`: an array handled like a top-level array.
pub(crate) struct InstancesSeed<'c, 'a> {
    pub(crate) ctx: &'c mut Ctx<'a>,
}

impl InstancesSeed<'_, '_> {
    fn reject<E: de::Error>(self, found: String) -> E {
        let err = DecodeError::Shape {
            context: "\"instances\": ".into(),
            expected: "an array".into(),
            found,
        };
        self.ctx.fail(err)
    }
}

impl<'de> DeserializeSeed<'de> for InstancesSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for InstancesSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of instances")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        rows_seq(self.ctx, seq)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        let found = describe(&ValueVisitor.visit_map(map)?);
        Err(self.reject(found))
    }
    reject_scalars!();
}
