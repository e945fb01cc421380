//! Row shapes: an array of values, a record keyed by feature name, and the
//! `features` / `data` / `instances` wrappers.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::ctx::Ctx;
use super::sparse::DataSeed;
use super::value::{Val, ValueSeed, ValueVisitor, describe, reject_scalars};
use crate::error::DecodeError;

/// Reads an array of values as row `n` (already started at `start`).
pub(crate) fn row_array<'de, A: SeqAccess<'de>>(
    ctx: &mut Ctx<'_>,
    mut seq: A,
    n: usize,
    start: usize,
) -> Result<(), A::Error> {
    let width = ctx.names.len();
    let at = ctx.at(n, false);
    let mut count = 0;
    while let Some(v) = seq.next_element_seed(ValueSeed)? {
        if count < width {
            match v {
                Val::Num(x) => ctx.out.values[start + count] = x,
                Val::Wrong(found) => {
                    let column = ctx.names[count].clone();
                    return Err(ctx.fail(DecodeError::WrongJsonType { at, column, found }));
                }
            }
        }
        count += 1;
    }
    if count != width {
        return Err(ctx.fail(DecodeError::Width {
            at,
            expected: width,
            found: count,
        }));
    }
    Ok(())
}

/// How an object key is understood. Feature names win over wrapper keys.
enum Key {
    Feature(usize),
    Instances,
    Features,
    Data,
    Other,
}

struct KeySeed<'c, 'a> {
    ctx: &'c Ctx<'a>,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_, '_> {
    type Value = Key;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Key, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_, '_> {
    type Value = Key;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
        Ok(match (self.ctx.column(v), v) {
            (Some(col), _) => Key::Feature(col),
            (None, "instances") => Key::Instances,
            (None, "features") => Key::Features,
            (None, "data") => Key::Data,
            (None, _) => Key::Other,
        })
    }
}

/// What an object turned out to be, decided by its first recognised key.
enum ObjectKind {
    Undecided,
    Record { n: usize, start: usize },
    Wrapper,
}

/// An object: a record keyed by feature name, a `features`/`data` wrapper,
/// or (at the top of a body, `top`) `{"instances": [...]}`.
pub(crate) fn row_object<'de, A: MapAccess<'de>>(
    ctx: &mut Ctx<'_>,
    mut map: A,
    top: bool,
) -> Result<(), A::Error> {
    let mut kind = ObjectKind::Undecided;
    while let Some(key) = map.next_key_seed(KeySeed { ctx })? {
        match (key, &kind) {
            (Key::Feature(col), ObjectKind::Undecided) => {
                let (n, start) = ctx.start_row()?;
                ctx.seen.fill(false);
                kind = ObjectKind::Record { n, start };
                record_value(ctx, &mut map, col, n, start)?;
            }
            (Key::Feature(col), &ObjectKind::Record { n, start }) => {
                record_value(ctx, &mut map, col, n, start)?
            }
            (Key::Instances, ObjectKind::Undecided) if top => {
                map.next_value_seed(InstancesSeed { ctx })?;
                kind = ObjectKind::Wrapper;
            }
            (Key::Features, ObjectKind::Undecided) => {
                map.next_value_seed(FeaturesSeed { ctx })?;
                kind = ObjectKind::Wrapper;
            }
            (Key::Data, ObjectKind::Undecided) => {
                map.next_value_seed(DataSeed { ctx })?;
                kind = ObjectKind::Wrapper;
            }
            _ => {
                map.next_value::<IgnoredAny>()?;
            }
        }
    }
    let (n, missing) = match kind {
        ObjectKind::Wrapper => return Ok(()),
        ObjectKind::Undecided => {
            let (n, _) = ctx.start_row()?;
            (n, (!ctx.names.is_empty()).then_some(0))
        }
        ObjectKind::Record { n, .. } => (n, ctx.seen.iter().position(|s| !s)),
    };
    match missing {
        None => Ok(()),
        Some(col) => {
            let (at, key) = (ctx.at(n, true), ctx.names[col].clone());
            Err(ctx.fail(DecodeError::MissingKey { at, key }))
        }
    }
}

fn record_value<'de, A: MapAccess<'de>>(
    ctx: &mut Ctx<'_>,
    map: &mut A,
    col: usize,
    n: usize,
    start: usize,
) -> Result<(), A::Error> {
    match map.next_value_seed(ValueSeed)? {
        Val::Num(x) => {
            ctx.out.values[start + col] = x;
            ctx.seen[col] = true;
            Ok(())
        }
        Val::Wrong(found) => {
            let (at, column) = (ctx.at(n, true), ctx.names[col].clone());
            Err(ctx.fail(DecodeError::WrongJsonType { at, column, found }))
        }
    }
}

/// The value of `features`: an array of values forming one row.
pub(crate) struct FeaturesSeed<'c, 'a> {
    pub(crate) ctx: &'c mut Ctx<'a>,
}

impl FeaturesSeed<'_, '_> {
    fn reject<E: de::Error>(self, found: String) -> E {
        let n = self.ctx.next_row();
        let err = self
            .ctx
            .shape_error(Some(n), "\"features\" to be an array", found);
        self.ctx.fail(err)
    }
}

impl<'de> DeserializeSeed<'de> for FeaturesSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for FeaturesSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of feature values")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        let (n, start) = self.ctx.start_row()?;
        row_array(self.ctx, seq, n, start)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        let found = describe(&ValueVisitor.visit_map(map)?);
        Err(self.reject(found))
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
