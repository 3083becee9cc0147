//! Reading interaction files row by row: CSV (delimiter `,` `;` or tab detected from the header; RFC 4180 quoting;
//! UTF-8 with or without BOM; CRLF or LF) and JSON Lines, either one optionally gzip-compressed (detected by its
//! magic bytes). Each data row becomes a [`RawEvent`](affinity_core::raw::RawEvent) for the same validator that
//! `POST /feedback` uses, or a row error in the seed's words ("Row has 3 fields, header has 5", "Invalid UTF-8").
//!
//! Memory is bounded by the longest row, not the file: rows are read one at a time into reused buffers.

mod columns;
pub mod items;
mod reader;

pub use columns::{ColumnSpec, Columns, HeaderError};
pub use reader::{FileReader, Format, Original, Row, RowError, open_csv};
