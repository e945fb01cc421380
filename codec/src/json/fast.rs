//! A single-pass reader for the JSON bodies nearly every client sends: an array of records keyed
//! by feature name, or an array of arrays of numbers, optionally inside `{"instances": ...}`.
//!
//! serde_json spends most of a large request checking key strings for UTF-8 and parsing numbers
//! through its general visitor. This reader compares key bytes with the feature names directly
//! and parses each number once. It accepts only what it fully understands and returns `None` on
//! anything else: another shape, an unknown, repeated or escaped key, a string where a number
//! belongs, a syntax error, the row limit. The caller then decodes the body again on the serde
//! path, which gives the same rows for everything this reader accepts (tested against it) and
//! the precise error for everything it does not.

use crate::limits::Limits;
use crate::rows::RowsBuilder;

/// Rows of `body` (an `application/json` body), or `None` to take the serde path.
pub(crate) fn decode(body: &[u8], names: &[String], limits: &Limits) -> Option<RowsBuilder> {
    let mut r = Reader::new(body, names, limits)?;
    match r.peek()? {
        b'[' => r.rows()?,
        b'{' => {
            // `instances` is a wrapper only when no feature has that name.
            if names.iter().any(|n| n == "instances") {
                return None;
            }
            r.i += 1;
            r.expect_key(b"instances")?;
            r.rows()?;
            r.eat(b'}')?;
        }
        _ => return None,
    }
    r.end()?;
    Some(r.out)
}

/// Rows of an `application/jsonlines` body (one record or array per line), or `None`.
pub(crate) fn decode_lines(body: &[u8], names: &[String], limits: &Limits) -> Option<RowsBuilder> {
    let mut r = Reader::new(body, names, limits)?;
    // Each line is read on its own, as the serde path does, so a row cannot span lines.
    for line in body.split(|&c| c == b'\n') {
        r.b = line;
        r.i = 0;
        if r.peek().is_some() {
            r.row()?;
            r.end()?;
        }
    }
    Some(r.out)
}

struct Reader<'b, 'n> {
    b: &'b [u8],
    i: usize,
    names: &'n [String],
    out: RowsBuilder,
    /// The column after the last key found: records usually list their keys in model order.
    hint: usize,
    seen: Vec<bool>,
}

impl<'b, 'n> Reader<'b, 'n> {
    fn new(b: &'b [u8], names: &'n [String], limits: &Limits) -> Option<Self> {
        // A name that would need escaping in JSON never matches a raw key here.
        let plain =
            |n: &String| !n.is_empty() && n.bytes().all(|c| c >= 0x20 && c != b'"' && c != b'\\');
        if names.is_empty() || !names.iter().all(plain) {
            return None;
        }
        let mut out = RowsBuilder::new(names.len(), *limits);
        out.reserve_for_body(b.len());
        Some(Reader {
            b,
            i: 0,
            names,
            out,
            hint: 0,
            seen: vec![false; names.len()],
        })
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    /// The next byte after whitespace, not consumed.
    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.b.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.i += 1)
    }

    fn end(&mut self) -> Option<()> {
        (self.peek().is_none()).then_some(())
    }

    /// `[row, row, ...]` with at least one row.
    fn rows(&mut self) -> Option<()> {
        self.eat(b'[')?;
        loop {
            self.row()?;
            match self.peek()? {
                b',' => self.i += 1,
                b']' => break,
                _ => return None,
            }
        }
        self.i += 1;
        Some(())
    }

    fn row(&mut self) -> Option<()> {
        match self.peek()? {
            b'[' => self.array(),
            b'{' => self.record(),
            _ => None,
        }
    }

    /// `[v, v, ...]` with exactly one value per feature.
    fn array(&mut self) -> Option<()> {
        self.i += 1;
        self.out.start_row().ok()?;
        let width = self.names.len();
        for j in 0..width {
            let v = self.value()?;
            self.out.values.push(v);
            let sep = if j + 1 < width { b',' } else { b']' };
            self.eat(sep)?;
        }
        Some(())
    }

    /// `{"name": v, ...}` naming every feature exactly once, and nothing else.
    fn record(&mut self) -> Option<()> {
        self.i += 1;
        self.out.start_row().ok()?;
        let start = self.out.values.len();
        self.out.push_nan_row();
        self.seen.fill(false);
        for j in 0..self.names.len() {
            let col = self.key()?;
            if std::mem::replace(&mut self.seen[col], true) {
                return None;
            }
            self.out.values[start + col] = self.value()?;
            let sep = if j + 1 < self.names.len() { b',' } else { b'}' };
            self.eat(sep)?;
        }
        Some(())
    }

    /// A key and its colon: the column of the feature it names.
    fn key(&mut self) -> Option<usize> {
        self.eat(b'"')?;
        let rest = &self.b[self.i..];
        // The expected name is checked in place, without looking for the closing quote first.
        let hinted = self.names[self.hint].as_bytes();
        let (col, len) = if rest.starts_with(hinted) && rest.get(hinted.len()) == Some(&b'"') {
            (self.hint, hinted.len())
        } else {
            let len = memchr::memchr(b'"', rest)?;
            let key = &rest[..len];
            (
                self.names.iter().position(|name| name.as_bytes() == key)?,
                len,
            )
        };
        self.i += len + 1;
        self.hint = (col + 1) % self.names.len();
        self.eat(b':')?;
        Some(col)
    }

    fn expect_key(&mut self, want: &[u8]) -> Option<()> {
        self.eat(b'"')?;
        let rest = self.b[self.i..].strip_prefix(want)?.strip_prefix(b"\"")?;
        self.i = self.b.len() - rest.len();
        self.eat(b':')
    }

    /// A JSON number (finite) or `null` (NaN).
    fn value(&mut self) -> Option<f64> {
        self.skip_ws();
        let rest = &self.b[self.i..];
        if rest.starts_with(b"null") {
            self.i += 4;
            return Some(f64::NAN);
        }
        // fast-float reads a superset of JSON's number grammar and rounds correctly, as
        // serde_json does with `float_roundtrip`; what it takes beyond JSON is refused here.
        let (v, len): (f64, usize) = fast_float2::parse_partial(rest).ok()?;
        (v.is_finite() && is_json_number(&rest[..len])).then(|| {
            self.i += len;
            v
        })
    }
}

/// Whether `s`, a number fast-float read, also follows JSON's grammar
/// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`. fast-float already demands digits after an
/// exponent mark, so what remains is the sign, the leading digit and the digits after a point.
fn is_json_number(s: &[u8]) -> bool {
    let int = s.strip_prefix(b"-").unwrap_or(s);
    let leading = match int {
        [b'0', next, ..] => !next.is_ascii_digit(),
        [first, ..] => first.is_ascii_digit(),
        [] => false,
    };
    leading
        && int
            .iter()
            .position(|&c| c == b'.')
            .is_none_or(|dot| int.get(dot + 1).is_some_and(u8::is_ascii_digit))
}

#[cfg(test)]
mod tests;
