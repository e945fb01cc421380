//! Row shapes: an array of values, a record keyed by feature name, and the
//! `features` / `data` / `instances` wrappers.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::body::{InstancesSeed, reject_scalars};
use super::ctx::Ctx;
use super::sparse::DataSeed;
use super::value::{Val, ValueSeed, ValueVisitor, describe};
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
