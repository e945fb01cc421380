//! Training tables: a CSV file with a header row whose numeric columns are a detector's features.
//!
//! The one reader of the trainer (`trainer train`, `evaluate`, `score`, `report`) and of the
//! SageMaker training job (`isoserve train`), so both take the same columns from the same file.
//!
//! **Which columns are features.** With [`Columns::Named`], exactly those, in that order (a model's
//! feature names, or the job's `columns` hyperparameter). With [`Columns::Features`], the default of
//! both: every column except `timestamp` and the label columns `anomaly` and `label` (a detector
//! must not see the answer) whose value on the first data row is a number or empty (an empty one
//! then fails with its row and column). A `timestamp` column that is not a feature is kept as text.
//!
//! **Syntax** (the `csv` crate): RFC 4180 quoting, LF or CRLF, a UTF-8 byte-order mark ignored,
//! blank lines (also lines of spaces) skipped, whitespace around fields trimmed. Linear in the file; errors name the data
//! row (1-based, the header not counted), its line and the column.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::Read;
use std::rc::Rc;

use thiserror::Error;

/// The column whose text a [`Table`] keeps aside (the time axis of the trainer's report).
pub const TIMESTAMP_COLUMN: &str = "timestamp";
/// Columns never taken as features by [`Columns::Features`]: the time and the labels.
pub const NOT_FEATURES: &[&str] = &[TIMESTAMP_COLUMN, "anomaly", "label"];

/// Which columns a table's features are.
#[derive(Debug, Clone, PartialEq)]
pub enum Columns {
    /// The numeric columns, by the rule in the module documentation.
    Features,
    /// Exactly these, in this order.
    Named(Vec<String>),
}

/// A table's feature columns, row-major.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    /// The file's header, as written (trimmed).
    pub header: Vec<String>,
    /// Names of the feature columns, in the order of `values` within a row.
    pub names: Vec<String>,
    /// `n_rows * names.len()` values.
    pub values: Vec<f64>,
    /// Number of data rows.
    pub n_rows: usize,
    /// Columns of the file that are not features.
    pub skipped: Vec<String>,
    /// The text of the `timestamp` column, when the file has one that is not a feature.
    pub timestamps: Option<Vec<String>>,
    /// The text of the group column per row, when [`read_grouped_table`] was asked for one.
    pub groups: Option<Vec<String>>,
}

/// Why a table cannot be read.
#[derive(Debug, Clone, Error, PartialEq)]
pub enum TableError {
    /// No header row.
    #[error("empty file: expected a header row")]
    Empty,
    /// A named column is not in the header.
    #[error("no column {name:?}; the header has: {available}")]
    MissingColumn {
        /// The column asked for.
        name: String,
        /// The header, comma-separated.
        available: String,
    },
    /// The column the rows are grouped by is also named as a feature.
    #[error("column {0:?} groups the rows and cannot also be a feature")]
    GroupIsFeature(String),
    /// The default rule found no feature column.
    #[error("no numeric feature columns; the header has: {0}")]
    NoFeatures(String),
    /// A row whose field count differs from the header's.
    #[error("row {row} (line {line}): expected {expected} fields like the header, found {found}")]
    Width {
        /// 1-based data row.
        row: u64,
        /// 1-based line of the file.
        line: u64,
        /// Fields in the header.
        expected: usize,
        /// Fields in the row.
        found: usize,
    },
    /// A feature value that is not a number.
    #[error("row {row} (line {line}), column {column:?}: expected a number, found {found:?}")]
    Value {
        /// 1-based data row.
        row: u64,
        /// 1-based line of the file.
        line: u64,
        /// The column's name.
        column: String,
        /// The text found.
        found: String,
    },
    /// Malformed CSV (an unclosed quote, invalid UTF-8) or a read failure.
    #[error("{0}")]
    Syntax(String),
}

/// The header row of the CSV in `input` (trimmed), read as [`read_table`] reads it.
pub fn read_header<R: Read>(input: R) -> Result<Vec<String>, TableError> {
    header(&mut reader(input))
}

/// The csv crate's reader as every table is read: fields trimmed, rows of any width (a row whose
/// width differs from the header's is reported with its row and line, not the crate's message).
fn reader<R: Read>(input: R) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(input)
}

fn header<R: Read>(reader: &mut csv::Reader<R>) -> Result<Vec<String>, TableError> {
    let header: Vec<String> = reader
        .headers()
        .map_err(syntax)?
        .iter()
        .map(str::to_owned)
        .collect();
    if header.iter().all(String::is_empty) {
        return Err(TableError::Empty);
    }
    Ok(header)
}

/// Reads the feature columns of the CSV in `input`; `progress` hears the bytes read so far every
/// 8,192 rows (for a progress bar).
pub fn read_table<R: Read>(
    input: R,
    columns: &Columns,
    progress: impl FnMut(u64),
) -> Result<Table, TableError> {
    read_grouped_table(input, columns, None, progress)
}

/// [`read_table`], also keeping the text of the column `group` of every row (an entity such as a
/// device id, which one model per entity is fitted on) in [`Table::groups`]. The group column is
/// never a feature: [`Columns::Features`] leaves it out and [`Columns::Named`] may not name it.
pub fn read_grouped_table<R: Read>(
    input: R,
    columns: &Columns,
    group: Option<&str>,
    mut progress: impl FnMut(u64),
) -> Result<Table, TableError> {
    let scan = Rc::new(RefCell::new(Scan::default()));
    let mut reader = reader(Scanned {
        inner: input,
        scan: scan.clone(),
    });
    let header = header(&mut reader)?;
    let mut records = reader.records();
    let first = records.next().transpose().map_err(syntax)?;
    let group_index = match group {
        None => None,
        Some(name) => Some(header.iter().position(|h| h == name).ok_or_else(|| {
            TableError::MissingColumn {
                name: name.to_owned(),
                available: header.join(", "),
            }
        })?),
    };
    // A second column of the group's name would be read as a feature of that name: ambiguous.
    if let Some(name) = group.filter(|g| header.iter().filter(|h| h == g).count() > 1) {
        return Err(TableError::GroupIsFeature(name.to_owned()));
    }
    let indices = select(&header, columns, first.as_ref(), group_index)?;
    let names: Vec<String> = indices.iter().map(|&j| header[j].clone()).collect();
    let skipped = (0..header.len())
        .filter(|j| !indices.contains(j))
        .map(|j| header[j].clone())
        .collect();
    let time_index = header
        .iter()
        .position(|h| h == TIMESTAMP_COLUMN)
        .filter(|j| !indices.contains(j));
    let mut timestamps = time_index.map(|_| Vec::new());
    let mut groups = group_index.map(|_| Vec::new());
    let mut values = Vec::new();
    let mut row = 0u64;
    let mut last_line = 1;
    for record in first.into_iter().map(Ok).chain(records) {
        let record = record.map_err(syntax)?;
        // A line of spaces is blank too (the csv crate skips only empty lines).
        if record.len() == 1 && record[0].is_empty() && header.len() > 1 {
            continue;
        }
        row += 1;
        // The csv crate's line numbers do not count the blank lines it skips: count them here.
        let line = scan
            .borrow_mut()
            .line_at(record.position().map_or(0, |p| p.byte()));
        last_line = line;
        if record.len() != header.len() {
            return Err(TableError::Width {
                row,
                line,
                expected: header.len(),
                found: record.len(),
            });
        }
        for &j in &indices {
            let text = &record[j];
            values.push(text.parse::<f64>().map_err(|_| TableError::Value {
                row,
                line,
                column: header[j].clone(),
                found: text.to_owned(),
            })?);
        }
        if let (Some(j), Some(times)) = (time_index, timestamps.as_mut()) {
            times.push(record[j].to_owned());
        }
        if let (Some(j), Some(groups)) = (group_index, groups.as_mut()) {
            groups.push(record[j].to_owned());
        }
        if row.is_multiple_of(8192) {
            progress(record.position().map_or(0, |p| p.byte()));
        }
    }
    // The csv crate ends a quoted field that is never closed at the end of the input; an odd number
    // of quote characters is that case (a closed field and an escaped quote each add two).
    if scan.borrow().quotes % 2 == 1 {
        return Err(TableError::Syntax(format!(
            "line {last_line}: a quoted field is not closed before the end of the file"
        )));
    }
    Ok(Table {
        header,
        names,
        values,
        n_rows: row as usize,
        skipped,
        timestamps,
        groups,
    })
}

/// What [`Scanned`] saw of the bytes that passed through it.
#[derive(Default)]
struct Scan {
    /// Quote characters.
    quotes: u64,
    /// Bytes read.
    offset: u64,
    /// Where the line being read started, and its first byte.
    line_start: u64,
    first_byte: Option<u8>,
    /// The line feeds read but not yet passed by a record (the reader's read-ahead): each one's
    /// offset, where its line started, and whether the line was blank (nothing, or a lone `\r`).
    newlines: VecDeque<(u64, u64, bool)>,
    /// Line feeds already passed.
    passed: u64,
}

impl Scan {
    /// The 1-based line of the record the csv crate placed at `offset` (offsets only grow from
    /// call to call). The crate places a record at the line feed of a preceding CRLF, or at the
    /// first of the blank lines it skipped: those are passed over.
    fn line_at(&mut self, mut offset: u64) -> u64 {
        while self.newlines.front().is_some_and(|&(n, _, _)| n < offset) {
            self.newlines.pop_front();
            self.passed += 1;
        }
        while let Some(&(n, start, blank)) = self.newlines.front() {
            if n != offset && !(blank && start == offset) {
                break;
            }
            self.newlines.pop_front();
            self.passed += 1;
            offset = n + 1;
        }
        self.passed + 1
    }

    fn note(&mut self, chunk: &[u8]) {
        self.quotes += memchr::memchr_iter(b'"', chunk).count() as u64;
        for i in memchr::memchr_iter(b'\n', chunk) {
            let at = self.offset + i as u64;
            if self.line_start < at && self.first_byte.is_none() {
                self.first_byte = Some(chunk[(self.line_start - self.offset) as usize]);
            }
            let len = at - self.line_start;
            let blank = len == 0 || (len == 1 && self.first_byte == Some(b'\r'));
            self.newlines.push_back((at, self.line_start, blank));
            self.line_start = at + 1;
            self.first_byte = None;
        }
        let end = self.offset + chunk.len() as u64;
        if self.first_byte.is_none() && self.line_start < end {
            self.first_byte = Some(chunk[(self.line_start - self.offset) as usize]);
        }
        self.offset = end;
    }
}

/// The input, with its quotes and line feeds noted in a shared [`Scan`].
struct Scanned<R> {
    inner: R,
    scan: Rc<RefCell<Scan>>,
}

impl<R: Read> Read for Scanned<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.scan.borrow_mut().note(&buf[..n]);
        Ok(n)
    }
}

fn syntax(e: csv::Error) -> TableError {
    let message = match (e.kind(), e.position()) {
        (csv::ErrorKind::Io(io), _) => io.to_string(),
        (_, Some(p)) => format!("line {}: {e}", p.line()),
        (_, None) => e.to_string(),
    };
    TableError::Syntax(message)
}

fn select(
    header: &[String],
    columns: &Columns,
    first: Option<&csv::StringRecord>,
    group: Option<usize>,
) -> Result<Vec<usize>, TableError> {
    let indices: Vec<usize> = match columns {
        Columns::Named(names) => names
            .iter()
            .map(|n| {
                header
                    .iter()
                    .position(|h| h == n)
                    .ok_or_else(|| TableError::MissingColumn {
                        name: n.clone(),
                        available: header.join(", "),
                    })
            })
            .collect::<Result<_, _>>()?,
        Columns::Features => (0..header.len())
            .filter(|&j| !NOT_FEATURES.contains(&header[j].as_str()) && Some(j) != group)
            .filter(|&j| {
                first.is_none_or(|r| {
                    r.get(j)
                        .is_some_and(|v| v.is_empty() || v.parse::<f64>().is_ok())
                })
            })
            .collect(),
    };
    if let Some(g) = group.filter(|g| indices.contains(g)) {
        return Err(TableError::GroupIsFeature(header[g].clone()));
    }
    if indices.is_empty() {
        return Err(TableError::NoFeatures(header.join(", ")));
    }
    Ok(indices)
}

#[cfg(test)]
mod tests;
