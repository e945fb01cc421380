//! A strict reader of the npy header: the preamble (magic, version, header length) and the Python
//! dict literal that follows it.
//!
//! NumPy reads the header with `ast.literal_eval`; a general Python-literal grammar is the wrong
//! tool for a server, because a backtracking parser of nested brackets takes time exponential in
//! the nesting depth (a 150-byte header could hold a worker for minutes). This reader accepts
//! exactly what the format allows — a flat dict with the keys `descr` (a string), `fortran_order`
//! (`True` or `False`) and `shape` (a tuple of non-negative integers), in any order, single or
//! double quotes, optional trailing commas, spaces anywhere a Python tokenizer allows them — in
//! one forward pass with no recursion and no backtracking, so its cost is linear in the header's
//! length, which is itself capped at [`MAX_HEADER_BYTES`].

/// The largest header accepted, NumPy's own default `max_header_size` for untrusted files.
pub(crate) const MAX_HEADER_BYTES: usize = 10_000;

/// Axes a shape may have before it is refused outright (the decoder wants 1 or 2; the bound keeps
/// the error message short).
const MAX_AXES: usize = 32;

/// The three fields of an npy header, and where the array's data starts in the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Header {
    /// The dtype string, as written (`<f8`, `|u1`, ...).
    pub(crate) descr: String,
    /// Whether the data is stored column after column.
    pub(crate) fortran_order: bool,
    /// The array's shape.
    pub(crate) shape: Vec<u64>,
    /// Offset of the first data byte in the body.
    pub(crate) data_offset: usize,
}

/// Reads the preamble and the header dict at the start of `body`; the error says what was
/// expected and at which byte of the header.
pub(crate) fn read_header(body: &[u8]) -> Result<Header, String> {
    const MAGIC: &[u8] = b"\x93NUMPY";
    if body.len() < MAGIC.len() || &body[..MAGIC.len()] != MAGIC {
        return Err("the body does not start with the npy magic bytes \\x93NUMPY".into());
    }
    let (major, minor) = match body.get(6..8) {
        Some(v) => (v[0], v[1]),
        None => return Err("the body ends inside the npy preamble".into()),
    };
    let (len_bytes, utf8) = match major {
        1 => (2, false),
        2 => (4, false),
        3 => (4, true),
        _ => return Err(format!("unsupported npy format version {major}.{minor}")),
    };
    let start = 8 + len_bytes;
    let Some(raw_len) = body.get(8..start) else {
        return Err("the body ends inside the npy preamble".into());
    };
    let header_len = raw_len
        .iter()
        .rev()
        .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
    if header_len > MAX_HEADER_BYTES {
        return Err(format!(
            "the header is {header_len} bytes; at most {MAX_HEADER_BYTES} are accepted"
        ));
    }
    let Some(text) = body.get(start..start + header_len) else {
        return Err(format!(
            "the header announces {header_len} bytes but the body ends after {}",
            body.len() - start
        ));
    };
    if !utf8 && !text.is_ascii() {
        return Err("the header of a version 1 or 2 file must be ASCII".into());
    }
    let fields = Parser { text, at: 0 }.dict()?;
    Ok(Header {
        descr: fields.descr,
        fortran_order: fields.fortran_order,
        shape: fields.shape,
        data_offset: start + header_len,
    })
}

struct Fields {
    descr: String,
    fortran_order: bool,
    shape: Vec<u64>,
}

/// A cursor over the header text. Every method moves forward only.
struct Parser<'a> {
    text: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn dict(mut self) -> Result<Fields, String> {
        let (mut descr, mut fortran_order, mut shape) = (None, None, None);
        self.skip_space();
        self.expect(b'{', "'{' opening the header dict")?;
        loop {
            self.skip_space();
            if self.eat(b'}') {
                break;
            }
            let key_at = self.at;
            let key = self.string("a quoted key or '}'")?;
            self.skip_space();
            self.expect(b':', "':' after the key")?;
            self.skip_space();
            let duplicate = match key.as_str() {
                "descr" => descr
                    .replace(self.string("a quoted dtype string")?)
                    .is_some(),
                "fortran_order" => fortran_order.replace(self.boolean()?).is_some(),
                "shape" => shape.replace(self.tuple()?).is_some(),
                _ => {
                    return Err(format!(
                        "unexpected key {} at byte {key_at} of the header; expected 'descr', \
                         'fortran_order' and 'shape'",
                        quoted(&key)
                    ));
                }
            };
            if duplicate {
                return Err(format!("the key '{key}' appears twice in the header"));
            }
            self.skip_space();
            if self.eat(b',') {
                continue;
            }
            self.expect(b'}', "',' or '}' after a value")?;
            break;
        }
        // Padding: spaces (and the final newline) up to the end of the header.
        self.skip_space();
        if self.at != self.text.len() {
            return Err(self.unexpected("only spaces and a newline after the header dict"));
        }
        let missing = |name: &str| format!("the header has no '{name}' key");
        Ok(Fields {
            descr: descr.ok_or_else(|| missing("descr"))?,
            fortran_order: fortran_order.ok_or_else(|| missing("fortran_order"))?,
            shape: shape.ok_or_else(|| missing("shape"))?,
        })
    }

    /// A Python string literal without escapes or prefixes, in single or double quotes.
    fn string(&mut self, what: &str) -> Result<String, String> {
        let quote = match self.peek() {
            Some(q @ (b'\'' | b'"')) => q,
            _ => return Err(self.unexpected(what)),
        };
        let open = self.at;
        self.at += 1;
        let start = self.at;
        while let Some(c) = self.peek() {
            match c {
                c if c == quote => {
                    let s = String::from_utf8_lossy(&self.text[start..self.at]).into_owned();
                    self.at += 1;
                    return Ok(s);
                }
                b'\\' => return Err(self.unexpected("a string without escapes")),
                b'\n' | b'\r' => break,
                _ => self.at += 1,
            }
        }
        Err(format!(
            "the string opened at byte {open} of the header is not closed on its line"
        ))
    }

    fn boolean(&mut self) -> Result<bool, String> {
        for (word, value) in [(&b"True"[..], true), (&b"False"[..], false)] {
            if self.text[self.at..].starts_with(word) {
                self.at += word.len();
                return Ok(value);
            }
        }
        Err(self.unexpected("True or False for 'fortran_order'"))
    }

    /// `(`, integers separated by commas (a trailing one allowed, required after a single
    /// integer as Python writes `(3,)`), `)`.
    fn tuple(&mut self) -> Result<Vec<u64>, String> {
        self.expect(b'(', "'(' opening the shape tuple")?;
        let mut shape = Vec::new();
        let mut trailing_comma = false;
        loop {
            self.skip_space();
            if self.eat(b')') {
                break;
            }
            if shape.len() == MAX_AXES {
                return Err(format!("the shape has more than {MAX_AXES} axes"));
            }
            shape.push(self.integer()?);
            self.skip_space();
            trailing_comma = self.eat(b',');
            if !trailing_comma {
                self.expect(b')', "',' or ')' in the shape tuple")?;
                break;
            }
        }
        if shape.len() == 1 && !trailing_comma {
            // `(3)` is the integer 3 in Python, not a tuple.
            return Err("the shape (n) is not a tuple; a 1-D shape is written (n,)".into());
        }
        Ok(shape)
    }

    /// A non-negative decimal integer that fits in 64 bits; NumPy on Python 2 wrote a trailing
    /// `L`, which is accepted.
    fn integer(&mut self) -> Result<u64, String> {
        let start = self.at;
        let mut value: u64 = 0;
        while let Some(d @ b'0'..=b'9') = self.peek() {
            value = value
                .checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(d - b'0')))
                .ok_or_else(|| {
                    format!("the dimension at byte {start} of the header is too large")
                })?;
            self.at += 1;
        }
        if self.at == start {
            return Err(self.unexpected("a non-negative integer in the shape tuple"));
        }
        self.eat(b'L');
        Ok(value)
    }

    fn skip_space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        let hit = self.peek() == Some(c);
        self.at += usize::from(hit);
        hit
    }

    fn expect(&mut self, c: u8, what: &str) -> Result<(), String> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.unexpected(what))
        }
    }

    fn unexpected(&self, what: &str) -> String {
        match self.peek() {
            None => format!("the header ends where {what} was expected"),
            Some(c) => format!(
                "expected {what} at byte {} of the header, found {}",
                self.at,
                shown(c)
            ),
        }
    }
}

/// A header byte as an error shows it: printable ASCII in quotes, anything else in hex.
fn shown(c: u8) -> String {
    if c.is_ascii_graphic() {
        format!("'{}'", char::from(c))
    } else {
        format!("byte 0x{c:02x}")
    }
}

/// A client's string in an error, quoted and cut to a readable length.
pub(crate) fn quoted(s: &str) -> String {
    const MAX: usize = 40;
    match s.char_indices().nth(MAX) {
        Some((cut, _)) => format!("'{}...'", &s[..cut]),
        None => format!("'{s}'"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(header: &str) -> Vec<u8> {
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        out.extend_from_slice(header.as_bytes());
        out
    }

    fn parse(header: &str) -> Result<Header, String> {
        read_header(&file(header))
    }

    #[test]
    fn numpy_written_headers_parse() {
        let h = parse("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }    \n").unwrap();
        assert_eq!(
            h,
            Header {
                descr: "<f8".into(),
                fortran_order: false,
                shape: vec![2, 3],
                data_offset: 10 + 64,
            }
        );
        let h = parse("{\"shape\":(7,),\"fortran_order\":True,\"descr\":\"|u1\"}\n").unwrap();
        assert_eq!(
            (h.descr.as_str(), h.fortran_order, h.shape),
            ("|u1", true, vec![7])
        );
        assert_eq!(
            parse("{'descr': '<f4', 'fortran_order': False, 'shape': (3L, 2L)}")
                .unwrap()
                .shape,
            vec![3, 2]
        );
        assert_eq!(
            parse("{'descr': '<f4', 'fortran_order': False, 'shape': ()}")
                .unwrap()
                .shape,
            Vec::<u64>::new()
        );
    }

    #[test]
    fn version_2_and_3_have_a_four_byte_length() {
        let header = "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 1), }\n";
        for version in [2u8, 3] {
            let mut body = vec![0x93, b'N', b'U', b'M', b'P', b'Y', version, 0];
            body.extend_from_slice(&(header.len() as u32).to_le_bytes());
            body.extend_from_slice(header.as_bytes());
            assert_eq!(read_header(&body).unwrap().data_offset, 12 + header.len());
        }
    }

    #[test]
    fn every_deviation_is_named() {
        let cases = [
            (
                "{'descr': '<f8', 'fortran_order': False}",
                "the header has no 'shape' key",
            ),
            (
                "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'extra': 1}",
                "unexpected key 'extra' at byte 56 of the header; expected 'descr', 'fortran_order' and 'shape'",
            ),
            (
                "{'descr': '<f8', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}",
                "the key 'descr' appears twice in the header",
            ),
            (
                "{'descr': '<f8', 'fortran_order': false, 'shape': (1,)}",
                "expected True or False for 'fortran_order' at byte 34 of the header, found 'f'",
            ),
            (
                "{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (1,)}",
                "expected a quoted dtype string at byte 10 of the header, found '['",
            ),
            (
                "{'descr': '<f8', 'fortran_order': False, 'shape': (3)}",
                "the shape (n) is not a tuple; a 1-D shape is written (n,)",
            ),
            (
                "{'descr': '<f8', 'fortran_order': False, 'shape': (-1,)}",
                "expected a non-negative integer in the shape tuple at byte 51 of the header, found '-'",
            ),
            (
                "{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999,)}",
                "the dimension at byte 51 of the header is too large",
            ),
            (
                "{'descr': '<f8', 'fortran_order': False, 'shape': (1,)} x",
                "expected only spaces and a newline after the header dict at byte 56 of the header, found 'x'",
            ),
            (
                "{'descr': '<f8",
                "the string opened at byte 10 of the header is not closed on its line",
            ),
            (
                "{'descr': '<\\x'}",
                "expected a string without escapes at byte 12 of the header, found '\\'",
            ),
            (
                "",
                "the header ends where '{' opening the header dict was expected",
            ),
        ];
        for (header, expected) in cases {
            assert_eq!(parse(header).unwrap_err(), expected, "{header}");
        }
    }

    #[test]
    fn preamble_errors() {
        assert!(read_header(b"PK\x03\x04").unwrap_err().contains("magic"));
        assert_eq!(
            read_header(b"\x93NUMPY\x01").unwrap_err(),
            "the body ends inside the npy preamble"
        );
        assert_eq!(
            read_header(b"\x93NUMPY\x04\x00\x00\x00").unwrap_err(),
            "unsupported npy format version 4.0"
        );
        let mut body = b"\x93NUMPY\x02\x00".to_vec();
        body.extend_from_slice(&1_000_000u32.to_le_bytes());
        assert_eq!(
            read_header(&body).unwrap_err(),
            "the header is 1000000 bytes; at most 10000 are accepted"
        );
        let mut body = b"\x93NUMPY\x01\x00".to_vec();
        body.extend_from_slice(&100u16.to_le_bytes());
        body.extend_from_slice(b"{}");
        assert_eq!(
            read_header(&body).unwrap_err(),
            "the header announces 100 bytes but the body ends after 2"
        );
    }

    #[test]
    fn nested_brackets_are_refused_at_the_first_one() {
        // The body that took the old parser minutes: a dict with deeply nested brackets.
        for depth in [10, 1_000, 9_000] {
            let header = format!(
                "{{'descr': '<f4', 'fortran_order': False, {}",
                "[".repeat(depth)
            );
            let err = parse(&header).unwrap_err();
            assert_eq!(
                err,
                "expected a quoted key or '}' at byte 41 of the header, found '['"
            );
        }
    }
}
