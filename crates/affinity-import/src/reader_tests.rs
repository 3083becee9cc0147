use std::collections::HashSet;
use std::io::Write;

use super::*;
use crate::reader::MAX_ROW_BYTES;
use affinity_core::catalog::builtins;
use affinity_core::event::validate;
use affinity_core::{InteractionType, ParamType, Parameter, Problem, ProblemKind};
use proptest::prelude::*;

const NOW: i64 = 1_763_632_800_000;

fn reader(bytes: &[u8], format: Format, spec: &ColumnSpec) -> Result<FileReader, HeaderError> {
    FileReader::open(Box::new(std::io::Cursor::new(bytes.to_vec())), format, spec, Some("purchase"), NOW)
}

/// A row's number and its (customer, item), or its error.
type Got = (u64, Result<(String, String), String>);

/// Every row.
fn rows(bytes: &[u8], format: Format) -> Vec<Got> {
    let mut r = reader(bytes, format, &ColumnSpec::default()).expect("header");
    let mut out = Vec::new();
    while let Some(row) = r.next_row() {
        let row = row.expect("readable");
        let got = row.event.map_err(|e| e.0).map(|e| {
            let s = |v: Option<Value>| v.and_then(|v| v.as_str().map(String::from)).unwrap_or_default();
            (s(e.customer), s(e.item))
        });
        out.push((row.number, got));
    }
    out
}

fn ok(n: u64, c: &str, i: &str) -> Got {
    (n, Ok((c.to_string(), i.to_string())))
}

#[test]
fn delimiters_line_endings_bom_and_quotes() {
    let want = vec![ok(1, "u1", "i,1"), ok(2, "u2", "say \"hi\"\nthere")];
    let csv = "user_id,item_id\r\nu1,\"i,1\"\r\nu2,\"say \"\"hi\"\"\nthere\"\r\n";
    assert_eq!(rows(csv.as_bytes(), Format::Csv), want);
    let semi = "\u{feff}user_id;item_id\nu1;\"i,1\"\nu2;\"say \"\"hi\"\"\nthere\"\n";
    assert_eq!(rows(semi.as_bytes(), Format::Csv), want);
    let tab = "user_id\titem_id\nu1\t\"i,1\"\n\nu2\t\"say \"\"hi\"\"\nthere\"";
    assert_eq!(rows(tab.as_bytes(), Format::Csv), want, "blank lines are not rows; no final newline is fine");
}

#[test]
fn bad_rows_fail_alone() {
    let mut csv = b"user_id,item_id,price\nu1,i1,1\nu2,i2\n".to_vec();
    csv.extend_from_slice(b"u3,\xff\xfe,2\nu4,i4,3\n");
    let got = rows(&csv, Format::Csv);
    assert_eq!(got[0], ok(1, "u1", "i1"));
    assert_eq!(got[1], (2, Err("Row has 2 fields, header has 3".to_string())));
    assert_eq!(got[2], (3, Err("Invalid UTF-8".to_string())));
    assert_eq!(got[3], ok(4, "u4", "i4"));
}

#[test]
fn a_one_mebibyte_field() {
    let big = "x".repeat(1 << 20);
    let csv = format!("user_id,item_id\nu1,\"{big}\"\nu2,i2\n");
    let got = rows(csv.as_bytes(), Format::Csv);
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].1.as_ref().map(|(_, i)| i.len()), Ok(1 << 20));
}

#[test]
fn a_quote_never_closed_stops_the_file_not_the_memory() {
    let mut csv = b"user_id,item_id\nu1,i1\nu2,\"never closed\n".to_vec();
    let line = b"u3,i3\n".repeat(MAX_ROW_BYTES / 6 + 10);
    csv.extend_from_slice(&line);
    let mut r = reader(&csv, Format::Csv, &ColumnSpec::default()).expect("header");
    assert!(r.next_row().expect("row 1").is_ok());
    let err = r.next_row().expect("row 2").err().expect("too long");
    assert!(err.to_string().contains("never closed"), "{err}");
}

#[test]
fn inch_marks_in_unquoted_fields_are_not_quotes() {
    // `12" screen` does not open a quote: the rows after it are rows, however many.
    let mut csv = b"user_id,item_id,title\nu1,i1,12\" screen\n".to_vec();
    csv.extend_from_slice(&b"u3,i3,x\n".repeat(MAX_ROW_BYTES / 8 + 10));
    let mut r = reader(&csv, Format::Csv, &ColumnSpec::default()).expect("header");
    let mut n = 0;
    while let Some(row) = r.next_row() {
        row.expect("readable");
        n += 1;
    }
    assert_eq!(n, MAX_ROW_BYTES as u64 / 8 + 11);
}

#[test]
fn headers() {
    assert_eq!(reader(b"", Format::Csv, &ColumnSpec::default()).err(), Some(HeaderError::Empty));
    assert!(rows(b"user_id,item_id\n", Format::Csv).is_empty(), "header only");
    let err = reader(b"customer,sku\nu,i\n", Format::Csv, &ColumnSpec::default()).err();
    assert_eq!(
        err,
        Some(HeaderError::MissingColumn { column: "item_id", found: vec!["customer".into(), "sku".into()] })
    );
}

#[test]
fn gzip_is_detected() {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(b"user_id,item_id\nu1,i1\n").unwrap();
    assert_eq!(rows(&gz.finish().unwrap(), Format::Csv), vec![ok(1, "u1", "i1")]);
}

#[test]
fn json_lines() {
    let jsonl = b"{\"user_id\":\"u1\",\"item_id\":\"i1\",\"colour\":\"red\"}\n\n{\"customer\":\"u2\",\"item\":\"i2\"}\nnot json\n[1]\n";
    let got = rows(jsonl, Format::JsonLines);
    assert_eq!(got[..2], [ok(1, "u1", "i1"), ok(2, "u2", "i2")]);
    assert!(got[2].1.as_ref().is_err_and(|e| e.starts_with("Invalid JSON")));
    assert_eq!(got[3].1, Err("Invalid JSON: each line must be an object".to_string()));
    let mut r = reader(jsonl, Format::JsonLines, &ColumnSpec::default()).unwrap();
    while r.next_row().is_some() {}
    assert_eq!(r.ignored_columns(), vec!["colour".to_string()]);
}

#[test]
fn defaults_and_parameters() {
    let spec = ColumnSpec { parameters: ["amount".to_string()].into(), ..Default::default() };
    let csv = b"user_id,item_id,event,amount,timestamp,note\nu1,i1,,12,,x\nu2,i2,view,,2026-01-01,y\n";
    let mut r = reader(csv, Format::Csv, &spec).unwrap();
    assert_eq!(r.ignored_columns(), vec!["note".to_string()]);
    let first = r.next_row().unwrap().unwrap().event.unwrap();
    assert_eq!(first.event, Some(Value::from("purchase")), "the upload's interaction type");
    assert_eq!(first.date, Some(Value::from(NOW)), "the import's start time");
    assert_eq!(first.params, Some(serde_json::json!({"amount":"12"})));
    let second = r.next_row().unwrap().unwrap().event.unwrap();
    assert_eq!((second.event, second.params), (Some(Value::from("view")), None));
}

#[test]
fn messages_name_the_files_columns() {
    let r = reader(b"customer,item_id\n", Format::Csv, &ColumnSpec::default()).unwrap();
    let c = r.columns();
    assert_eq!(c.message(&Problem::missing("item", "item")), "Missing required field: item_id");
    assert_eq!(c.message(&Problem::missing("customer", "customer")), "Missing required field: customer");
    assert_eq!(c.message(&Problem::missing("params.amount", "amount")), "Missing required field: amount");
    let p = Problem::new(ProblemKind::InvalidQuantity, "quantity", "Invalid quantity: 0");
    assert_eq!(c.message(&p), "Invalid quantity: 0");
    assert_eq!(c.column_for("date"), "timestamp");
}

fn catalog() -> Vec<InteractionType> {
    let mut t = builtins();
    t.push(InteractionType {
        id: "loan".into(),
        name: "Loan".into(),
        parameters: vec![Parameter { id: "amount".into(), kind: ParamType::Number, required: true }],
        builtin: false,
        archived: false,
    });
    t
}

/// A dry run over bytes: (processed, succeeded, skipped, failed), deduplicating within the file.
fn tally(bytes: &[u8], format: Format) -> Option<(u64, u64, u64, u64)> {
    let types = catalog();
    let spec = ColumnSpec { parameters: ["amount".to_string()].into(), ..Default::default() };
    let mut r =
        FileReader::open(Box::new(std::io::Cursor::new(bytes.to_vec())), format, &spec, Some("purchase"), NOW).ok()?;
    let (mut succeeded, mut skipped, mut failed) = (0, 0, 0);
    let mut seen = HashSet::new();
    while let Some(row) = r.next_row() {
        let Ok(row) = row else { break };
        match row.event.map_err(|_| ()).and_then(|raw| validate(raw, &types, NOW).map_err(|_| ())) {
            Ok(e) if seen.insert((e.customer.clone(), e.ts, e.fingerprint())) => succeeded += 1,
            Ok(_) => skipped += 1,
            Err(()) => failed += 1,
        }
    }
    Some((r.rows(), succeeded, skipped, failed))
}

#[test]
fn tallies_add_up_on_a_known_file() {
    let csv = b"user_id,item_id,quantity,event,amount\nu,i,1,,\nu,i,1,,\nu,i,0,,\nu,,1,,\nu,i,1,loan,abc\nu,,,loan,5\n";
    assert_eq!(tally(csv, Format::Csv), Some((6, 2, 1, 3)));
}

fn arb_cell() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("u1".to_string()),
        Just("i1".to_string()),
        Just("loan".to_string()),
        Just("view".to_string()),
        Just("2026-01-01".to_string()),
        Just("-5".to_string()),
        Just("\"q,\"\"x\"\"\"".to_string()),
        "[a-z0-9 ,;\\t\"\\n\\r]{0,12}",
    ]
}

// These check that the reader never panics on any CSV or bytes; that every row lands in exactly one count is
// checked for real, through the server and the store, by the integration test
// `imports::property_counts_add_up_and_match_the_store`.
proptest! {
    #[test]
    fn the_row_guard_skipping_plain_chunks_agrees_with_stepping_every_byte(
        text in prop::collection::vec(prop_oneof![Just(b'a'), Just(b','), Just(b';'), Just(b'"'), Just(b'\n'),
            Just(b'\t'), Just(b'\r')], 0..200),
        cuts in prop::collection::vec(0usize..200, 0..6),
        csv in any::<bool>(),
    ) {
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(text.len())).collect();
        cuts.sort_unstable();
        let (mut fast, mut slow) = (RowGuard::new((), csv), RowGuard::new((), csv));
        let mut at = 0;
        for end in cuts.into_iter().chain([text.len()]) {
            fast.advance(&text[at..end]);
            slow.step_each(&text[at..end]);
            at = end;
            prop_assert_eq!(fast.since_row, slow.since_row);
            prop_assert!(fast.state == slow.state || !csv);
        }
    }

    #[test]
    fn csv_never_panics_and_counts_add_up(
        header in prop::collection::vec(prop_oneof![Just("user_id"), Just("item_id"), Just("quantity"), Just("price"),
            Just("event"), Just("amount"), Just("timestamp"), Just("x")], 0..6),
        rows in prop::collection::vec(prop::collection::vec(arb_cell(), 0..7), 0..12),
        sep in prop_oneof![Just(","), Just(";"), Just("\t")],
        crlf in any::<bool>(),
    ) {
        let eol = if crlf { "\r\n" } else { "\n" };
        let mut text = header.join(sep) + eol;
        for r in &rows {
            text += &(r.join(sep) + eol);
        }
        if let Some((processed, s, k, f)) = tally(text.as_bytes(), Format::Csv) {
            prop_assert_eq!(processed, s + k + f);
        }
    }

    #[test]
    fn any_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300), jsonl in any::<bool>()) {
        let format = if jsonl { Format::JsonLines } else { Format::Csv };
        if let Some((processed, s, k, f)) = tally(&bytes, format) {
            prop_assert_eq!(processed, s + k + f);
        }
    }
}

#[test]
fn an_upload_declares_json_lines_by_content_type_or_name() {
    assert_eq!(Format::of_upload(Some("application/x-ndjson"), None), Format::JsonLines);
    assert_eq!(Format::of_upload(Some("text/csv"), Some("events.JSONL.gz")), Format::JsonLines);
    assert_eq!(Format::of_upload(None, Some("events.ndjson")), Format::JsonLines);
    assert_eq!(Format::of_upload(Some("text/csv"), Some("events.csv.gz")), Format::Csv);
    assert_eq!(Format::of_upload(None, None), Format::Csv);
}

#[test]
fn an_order_id_column_names_each_lines_order() {
    let orders = |bytes: &[u8], format| {
        let mut r = reader(bytes, format, &ColumnSpec::default()).expect("header");
        let mut out = Vec::new();
        while let Some(row) = r.next_row() {
            let e = row.expect("readable").event.expect("an event");
            out.push(e.order_id.and_then(|v| v.as_str().map(String::from)));
        }
        out
    };
    let csv = b"user_id,item_id,order_id\nu,milk,o-1\nu,bread,o-1\nu,rice,\n";
    assert_eq!(orders(csv, Format::Csv), [Some("o-1".into()), Some("o-1".into()), None]);
    let lines = b"{\"customer\":\"u\",\"item\":\"milk\",\"order_id\":\"o-2\"}\n";
    assert_eq!(orders(lines, Format::JsonLines), [Some("o-2".to_string())]);
}
