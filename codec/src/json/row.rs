//! The serde visitors behind the JSON decoders.
//!
//! Visitors cannot return our error type through serde, so a visitor that
//! finds a problem stores the precise [`DecodeError`] in [`Ctx`] and returns a
//! placeholder serde error; the caller then prefers the stored error.

use std::collections::HashMap;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::body::{InstancesSeed, reject_scalars};
use super::json_error;
use super::sparse::DataSeed;
use crate::error::{DecodeError, Location, excerpt};
use crate::rows::RowsBuilder;

/// Above this many features, key lookup goes through a hash map.
const LINEAR_LOOKUP_MAX: usize = 16;

/// Shared decoding state.
pub(crate) struct Ctx<'a> {
    pub(crate) names: &'a [String],
    index: Option<HashMap<&'a str, usize>>,
    pub(crate) out: RowsBuilder,
    seen: Vec<bool>,
    /// The JSON Lines line being decoded; `None` for a JSON body.
    pub(crate) line: Option<usize>,
    error: Option<DecodeError>,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(names: &'a [String], out: RowsBuilder, line: Option<usize>) -> Ctx<'a> {
        let index = (names.len() > LINEAR_LOOKUP_MAX).then(|| {
            names
                .iter()
                .enumerate()
                .map(|(i, n)| (n.as_str(), i))
                .collect()
        });
        Ctx {
            names,
            index,
            out,
            seen: vec![false; names.len()],
            line,
            error: None,
        }
    }

    pub(crate) fn into_builder(self) -> RowsBuilder {
        self.out
    }

    fn column(&self, key: &str) -> Option<usize> {
        match &self.index {
            Some(index) => index.get(key).copied(),
            None => self.names.iter().position(|n| n == key),
        }
    }

    /// Stores `err` and returns the placeholder serde error to propagate.
    pub(crate) fn fail<E: de::Error>(&mut self, err: DecodeError) -> E {
        self.error = Some(err);
        E::custom("decode error")
    }

    /// The error to report for a failed deserialization.
    pub(crate) fn take_error(&mut self, err: serde_json::Error) -> DecodeError {
        self.error
            .take()
            .unwrap_or_else(|| json_error(&err, self.line))
    }

    /// Where row number `n` is, as a record (object) or as a row (array).
    pub(crate) fn at(&self, n: usize, record: bool) -> Location {
        match (self.line, record) {
            (Some(line), _) => Location::Line(line),
            (None, true) => Location::Record(n),
            (None, false) => Location::Row(n),
        }
    }

    /// The number the next row will get.
    pub(crate) fn next_row(&self) -> usize {
        self.out.n_rows() + 1
    }

    pub(crate) fn shape_error(
        &self,
        n: Option<usize>,
        expected: &str,
        found: String,
    ) -> DecodeError {
        let context = n.map_or_else(String::new, |n| format!("{}: ", self.at(n, false)));
        DecodeError::Shape {
            context,
            expected: expected.to_owned(),
            found,
        }
    }

    /// Starts a row and returns its number and the offset of its first value.
    pub(crate) fn start_row<E: de::Error>(&mut self) -> Result<(usize, usize), E> {
        let n = match self.out.start_row() {
            Ok(n) => n,
            Err(err) => return Err(self.fail(err)),
        };
        let start = self.out.values.len();
        self.out.push_nan_row();
        Ok((n, start))
    }
}

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
