//! The row reader.

use std::collections::BTreeSet;
use std::io::{self, BufRead, BufReader, Read};

use affinity_core::raw::RawEvent;
use csv::ByteRecord;
use serde_json::{Map, Value};

use crate::columns::{Column, ColumnSpec, Columns, Field, HeaderError};

/// Buffer size for reading files, in bytes.
const BUFFER: usize = 256 * 1024;
/// Longest row (or header), in bytes: a longer one stops the file (memory stays bounded even when a quote is
/// never closed and the rest of the file would become one field).
pub const MAX_ROW_BYTES: usize = 16 << 20;

/// Passes bytes through, failing once more than [`MAX_ROW_BYTES`] go by without the end of a row: a newline
/// outside a quoted field (CSV, RFC 4180: a quote opens a field only at its start, `""` inside is a quote), or
/// any newline (JSON Lines).
struct RowGuard<R> {
    inner: R,
    csv: bool,
    state: Quote,
    since_row: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Quote {
    /// Outside quotes; `true` at the start of a field.
    Out(bool),
    In,
    /// A quote inside a quoted field: the end of the field, or the first half of `""`.
    Seen,
}

impl<R> RowGuard<R> {
    fn new(inner: R, csv: bool) -> Self {
        RowGuard { inner, csv, state: Quote::Out(true), since_row: 0 }
    }

    /// Advances over one byte; `true` when it ends a row.
    fn step(&mut self, b: u8) -> bool {
        if !self.csv {
            return b == b'\n';
        }
        let outside = |b: u8| (Quote::Out(starts_field_after(b)), b == b'\n');
        let (next, ends) = match (self.state, b) {
            (Quote::Out(true), b'"') => (Quote::In, false),
            (Quote::Out(_), b) => outside(b),
            (Quote::In, b'"') => (Quote::Seen, false),
            (Quote::In, _) => (Quote::In, false),
            (Quote::Seen, b'"') => (Quote::In, false),
            (Quote::Seen, b) => outside(b),
        };
        self.state = next;
        ends
    }
}

impl<R> RowGuard<R> {
    /// Advances over `bytes`. Without a quote in them (the usual case) only the last newline and the last byte
    /// matter, found with `memchr` instead of stepping through every byte.
    fn advance(&mut self, bytes: &[u8]) {
        let plain = !self.csv || (matches!(self.state, Quote::Out(_)) && memchr::memchr(b'"', bytes).is_none());
        if !plain {
            return self.step_each(bytes);
        }
        match memchr::memrchr(b'\n', bytes) {
            Some(at) => self.since_row = bytes.len() - at - 1,
            None => self.since_row += bytes.len(),
        }
        if let (true, Some(&last)) = (self.csv, bytes.last()) {
            self.state = Quote::Out(starts_field_after(last));
        }
    }

    /// Advances over `bytes` one at a time.
    fn step_each(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if self.step(b) {
                self.since_row = 0;
            } else {
                self.since_row += 1;
            }
        }
    }
}

/// Whether a field starts after byte `b` outside quotes: after a newline or a separator (`,` `;` or tab).
fn starts_field_after(b: u8) -> bool {
    matches!(b, b'\n' | b',' | b';' | b'\t')
}

impl<R: Read> Read for RowGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.advance(&buf[..n]);
        if self.since_row > MAX_ROW_BYTES {
            return Err(io::Error::other(format!(
                "a row longer than {} MiB (a quote that is never closed?)",
                MAX_ROW_BYTES >> 20
            )));
        }
        Ok(n)
    }
}

/// Most distinct unknown JSON Lines keys listed as ignored.
const MAX_IGNORED: usize = 100;

/// The file's format (compression is detected, not declared).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    JsonLines,
}

impl Format {
    /// The format an upload declares: JSON Lines when its content type names it (`application/x-ndjson`,
    /// `…jsonl`, `…json-lines`) or its file name ends in `.jsonl` or `.ndjson` (before an optional `.gz`); CSV
    /// otherwise.
    pub fn of_upload(content_type: Option<&str>, filename: Option<&str>) -> Format {
        let ct = content_type.unwrap_or("").to_ascii_lowercase();
        let name = filename.unwrap_or("").to_ascii_lowercase();
        let name = name.strip_suffix(".gz").unwrap_or(&name);
        let json = ["ndjson", "jsonl", "json-lines"].iter().any(|t| ct.contains(t));
        if json || name.ends_with(".jsonl") || name.ends_with(".ndjson") { Format::JsonLines } else { Format::Csv }
    }
}

/// One data row: its 1-based number, the event it holds (or why it cannot be read), and its original text.
pub struct Row<'a> {
    pub number: u64,
    pub event: Result<RawEvent, RowError>,
    pub original: Original<'a>,
}

/// Why one row cannot be read as an event or an item; its `Display` is the seed-style row error that the report
/// and the failures download show ("Row has 3 fields, header has 5", "Invalid UTF-8").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RowError(pub String);

/// A row as it was in the file, for the failures download.
pub enum Original<'a> {
    Fields(&'a ByteRecord),
    Line(&'a [u8]),
}

enum Kind {
    Csv { reader: CsvReader, record: ByteRecord },
    Lines { reader: Box<dyn BufRead + Send>, line: Vec<u8>, spec: ColumnSpec, ignored: BTreeSet<String> },
}

/// Reads a file row by row.
pub struct FileReader {
    kind: Kind,
    columns: Columns,
    default_event: Option<Value>,
    default_date: Value,
    rows: u64,
}

/// Opens `read`, decompressing it when it starts with the gzip magic bytes.
fn decompressed(read: Box<dyn Read + Send>) -> io::Result<Box<dyn BufRead + Send>> {
    let mut buf = BufReader::with_capacity(BUFFER, read);
    let head = buf.fill_buf()?;
    if head.starts_with(&[0x1f, 0x8b]) {
        return Ok(Box::new(BufReader::with_capacity(BUFFER, flate2::bufread::MultiGzDecoder::new(buf))));
    }
    Ok(Box::new(buf))
}

/// The delimiter among `,` `;` and tab that occurs most in the first line (outside quotes); `,` on a tie.
fn detect_delimiter(head: &[u8]) -> u8 {
    let mut counts = [0usize; 3];
    let mut quoted = false;
    for &b in head {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => break,
            b',' if !quoted => counts[0] += 1,
            b';' if !quoted => counts[1] += 1,
            b'\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    let best = (0..3).max_by_key(|&i| (counts[i], std::cmp::Reverse(i))).unwrap_or(0);
    [b',', b';', b'\t'][best]
}

fn text(v: &[u8]) -> Option<&str> {
    std::str::from_utf8(v).ok()
}

/// Opens `read` as text: decompressed if gzip, with a guard on row length (CSV quoting understood when `csv`), the
/// UTF-8 BOM skipped.
fn open_text(read: Box<dyn Read + Send>, csv: bool) -> Result<Box<dyn BufRead + Send>, HeaderError> {
    let unreadable = |e: io::Error| HeaderError::Unreadable(e.to_string());
    let guarded = RowGuard::new(decompressed(read).map_err(unreadable)?, csv);
    let mut input: Box<dyn BufRead + Send> = Box::new(BufReader::with_capacity(BUFFER, guarded));
    let head = input.fill_buf().map_err(unreadable)?;
    if head.starts_with(b"\xEF\xBB\xBF") {
        input.consume(3);
    }
    Ok(input)
}

/// A CSV reader over a decompressed, BOM-stripped, row-guarded file.
pub type CsvReader = csv::Reader<Box<dyn BufRead + Send>>;

/// A CSV reader over `read` (gzip detected, BOM skipped, delimiter detected among `,` `;` and tab, rows of any
/// width) and the header's column names, trimmed. Used for interaction files and item catalogs alike.
///
/// Errors: an empty file, a header that is not UTF-8, or a read error.
pub fn open_csv(read: Box<dyn Read + Send>) -> Result<(CsvReader, Vec<String>), HeaderError> {
    let mut input = open_text(read, true)?;
    let delimiter = detect_delimiter(input.fill_buf().map_err(|e| HeaderError::Unreadable(e.to_string()))?);
    let mut reader =
        csv::ReaderBuilder::new().delimiter(delimiter).has_headers(false).flexible(true).from_reader(input);
    let mut header = ByteRecord::new();
    if !reader.read_byte_record(&mut header).map_err(|e| HeaderError::Unreadable(e.to_string()))? {
        return Err(HeaderError::Empty);
    }
    let names = header
        .iter()
        .map(|f| text(f).map(|s| s.trim().to_string()).ok_or(HeaderError::InvalidUtf8))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((reader, names))
}

impl FileReader {
    /// Opens a file: detects compression, reads and checks the CSV header (JSON Lines has none).
    ///
    /// `default_event` is the upload's interaction type, used when a row names none; `default_date` (epoch ms)
    /// is used for rows without a timestamp.
    pub fn open(
        read: Box<dyn Read + Send>,
        format: Format,
        spec: &ColumnSpec,
        default_event: Option<&str>,
        default_date: i64,
    ) -> Result<FileReader, HeaderError> {
        let (kind, columns) = match format {
            Format::Csv => {
                let (reader, names) = open_csv(read)?;
                let columns = Columns::new(names, spec)?;
                (Kind::Csv { reader, record: ByteRecord::new() }, columns)
            }
            Format::JsonLines => {
                let input = open_text(read, false)?;
                let columns = Columns { names: Vec::new(), kinds: Vec::new(), ignored: Vec::new() };
                let kind =
                    Kind::Lines { reader: input, line: Vec::new(), spec: spec.clone(), ignored: BTreeSet::new() };
                (kind, columns)
            }
        };
        Ok(FileReader {
            kind,
            columns,
            default_event: default_event.map(Value::from),
            default_date: Value::from(default_date),
            rows: 0,
        })
    }

    /// Columns that mean nothing (CSV: from the header; JSON Lines: keys seen so far).
    pub fn ignored_columns(&self) -> Vec<String> {
        match &self.kind {
            Kind::Lines { ignored, .. } => ignored.iter().cloned().collect(),
            Kind::Csv { .. } => self.columns.ignored.clone(),
        }
    }

    /// The header of the failures file: the original columns (JSON Lines: `line`), then `row_number`, `error`.
    pub fn failure_header(&self) -> Vec<String> {
        let mut h = match &self.kind {
            Kind::Csv { .. } => self.columns.names.clone(),
            Kind::Lines { .. } => vec!["line".to_string()],
        };
        h.extend(["row_number".to_string(), "error".to_string()]);
        h
    }

    /// Data rows read so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// The columns of the file (for error messages: [`Columns::message`]).
    pub fn columns(&self) -> &Columns {
        &self.columns
    }

    /// The next data row; `None` at the end of the file. Blank lines are not rows.
    ///
    /// Errors: the file cannot be read any further (an I/O or decompression error); rows already returned stand.
    pub fn next_row(&mut self) -> Option<io::Result<Row<'_>>> {
        match &mut self.kind {
            Kind::Csv { reader, record } => {
                loop {
                    match reader.read_byte_record(record) {
                        Ok(false) => return None,
                        Ok(true) if record.len() == 1 && record[0].iter().all(u8::is_ascii_whitespace) => continue,
                        Ok(true) => break,
                        Err(e) => return Some(Err(io::Error::other(e))),
                    }
                }
                self.rows += 1;
                let event = csv_event(&self.columns, record, &self.default_event, &self.default_date);
                Some(Ok(Row { number: self.rows, event: event.map_err(RowError), original: Original::Fields(record) }))
            }
            Kind::Lines { reader, line, spec, ignored } => {
                loop {
                    line.clear();
                    match reader.read_until(b'\n', line) {
                        Ok(0) => return None,
                        Ok(_) if line.iter().all(u8::is_ascii_whitespace) => continue,
                        Ok(_) => break,
                        Err(e) => return Some(Err(e)),
                    }
                }
                while line.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                    line.pop();
                }
                self.rows += 1;
                let event = json_event(line, spec, ignored, &self.default_event, &self.default_date);
                Some(Ok(Row { number: self.rows, event: event.map_err(RowError), original: Original::Line(line) }))
            }
        }
    }
}

fn csv_event(
    columns: &Columns,
    record: &ByteRecord,
    default_event: &Option<Value>,
    default_date: &Value,
) -> Result<RawEvent, String> {
    if record.len() != columns.kinds.len() {
        return Err(format!("Row has {} fields, header has {}", record.len(), columns.kinds.len()));
    }
    let mut raw = RawEvent::default();
    let mut params = Map::new();
    for (kind, bytes) in columns.kinds.iter().zip(record.iter()) {
        if matches!(kind, Column::Ignored) {
            continue;
        }
        let value = text(bytes).ok_or_else(|| "Invalid UTF-8".to_string())?.trim();
        if value.is_empty() {
            continue;
        }
        let value = match kind {
            // Numbers need no string: the validator reads a JSON number the same way as its text.
            Column::Field(Field::Date | Field::Quantity | Field::Price) => number(value),
            _ => Value::String(value.to_string()),
        };
        match kind {
            Column::Field(f) => *slot(&mut raw, *f) = Some(value),
            Column::Parameter(p) => {
                params.insert(p.clone(), value);
            }
            Column::Ignored => {}
        }
    }
    finish(raw, params, default_event, default_date)
}

/// An integer or finite decimal as a JSON number, anything else as a string.
fn number(text: &str) -> Value {
    if let Ok(i) = text.parse::<i64>() {
        return Value::from(i);
    }
    match text.parse::<f64>() {
        Ok(f) if f.is_finite() && text.bytes().all(|b| b.is_ascii_digit() || b == b'.' || b == b'-') => Value::from(f),
        _ => Value::String(text.to_string()),
    }
}

fn slot(raw: &mut RawEvent, f: Field) -> &mut Option<Value> {
    match f {
        Field::Customer => &mut raw.customer,
        Field::Item => &mut raw.item,
        Field::Date => &mut raw.date,
        Field::Quantity => &mut raw.quantity,
        Field::Price => &mut raw.price,
        Field::EventId => &mut raw.id,
        Field::Event => &mut raw.event,
        Field::OrderId => &mut raw.order_id,
    }
}

fn finish(
    mut raw: RawEvent,
    params: Map<String, Value>,
    default_event: &Option<Value>,
    default_date: &Value,
) -> Result<RawEvent, String> {
    if raw.event.is_none() {
        raw.event.clone_from(default_event);
    }
    if raw.date.is_none() {
        raw.date = Some(default_date.clone());
    }
    if !params.is_empty() {
        raw.params = Some(Value::Object(params));
    }
    Ok(raw)
}

fn json_event(
    line: &[u8],
    spec: &ColumnSpec,
    ignored: &mut BTreeSet<String>,
    default_event: &Option<Value>,
    default_date: &Value,
) -> Result<RawEvent, String> {
    let text = std::str::from_utf8(line).map_err(|_| "Invalid UTF-8".to_string())?;
    let object: Map<String, Value> = match serde_json::from_str(text) {
        Ok(Value::Object(m)) => m,
        Ok(_) => return Err("Invalid JSON: each line must be an object".to_string()),
        Err(e) => return Err(format!("Invalid JSON: {e}")),
    };
    let mut raw = RawEvent::default();
    let mut params = Map::new();
    for (key, value) in object {
        if value.is_null() || value.as_str().is_some_and(|s| s.trim().is_empty()) {
            continue;
        }
        if let Some(f) = Field::parse(&key) {
            *slot(&mut raw, f) = Some(value);
        } else if key == "params" {
            match value {
                Value::Object(m) => params.extend(m),
                _ => return Err("Invalid params: must be an object".to_string()),
            }
        } else if spec.parameters.contains(&key) {
            params.insert(key, value);
        } else if ignored.len() < MAX_IGNORED {
            ignored.insert(key);
        }
    }
    finish(raw, params, default_event, default_date)
}

#[cfg(test)]
#[path = "reader_tests.rs"]
mod tests;
