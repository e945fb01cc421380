//! Body-level JSON shapes: an array of rows, a flat single row, a single row
//! object, `{"instances": [...]}`, and a JSON Lines line.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::ctx::Ctx;
use super::row::{row_array, row_object, rows_seq};
use super::value::{ValueVisitor, describe, reject_scalars};

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
