//! Imports run without a server: real files in a temp dir, a real SQLite store and a real [`Engine`].

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use affinity_core::{Code, ErrorCode, ImportRecord, ImportStatus, InteractionType, ProblemKind, Project, Report};
use affinity_import::Format;
use affinity_store::{SqliteStore, Store};
use sha2::{Digest, Sha256};

use super::*;

const PROJECT: &str = "shop";

/// An engine on a new SQLite store in `dir` with project `shop` and an archived custom type `old`.
fn engine(dir: &Path) -> Engine {
    let store = SqliteStore::open(&dir.join("affinity.db")).expect("store");
    store.create_project(&Project { id: PROJECT.into(), name: "Shop".into(), created_at: 0 }, &[]).expect("project");
    let old = InteractionType {
        id: "old".into(),
        name: "Old".into(),
        parameters: Vec::new(),
        builtin: false,
        archived: true,
    };
    store.insert_interaction_type(PROJECT, &old).expect("type");
    Engine::open(Arc::new(store), "master").expect("engine").0
}

fn options(interaction: Option<&str>, kind: Kind) -> Options {
    Options {
        interaction: interaction.map(str::to_string),
        format: Format::Csv,
        dry_run: false,
        force: false,
        max_failures: 100,
        kind,
    }
}

/// Spools `bytes` as a new upload in `dir`, as the server does.
fn spool(dir: &Path, bytes: &[u8]) -> Upload {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let id = format!("imp_{:016x}", NEXT.fetch_add(1, Ordering::Relaxed));
    std::fs::create_dir_all(folder(dir)).expect("imports folder");
    std::fs::write(upload_file(dir, &id), bytes).expect("upload");
    Upload { id, hash: Sha256::digest(bytes).into(), bytes: bytes.len() as u64 }
}

/// Plans, begins and (when there is a job) runs an import of `bytes`; returns the final record.
fn import(engine: &Engine, dir: &Path, options: Options, bytes: &[u8]) -> ImportRecord {
    let plan = engine.plan_import(PROJECT, options).expect("plan");
    match engine.begin_import(plan, spool(dir, bytes), dir).expect("begin") {
        Begun::Done(record) => record,
        Begun::Run(job) => {
            assert_eq!(job.record().status, ImportStatus::Running);
            job.run()
        }
    }
}

fn report(record: &ImportRecord) -> Report {
    serde_json::from_str(record.report.as_deref().expect("a report")).expect("report JSON")
}

fn counts(r: &Report) -> (u64, u64, u64, u64) {
    (r.processed, r.succeeded, r.skipped, r.failed)
}

/// The failed rows' CSV of an import, as text.
fn failures(dir: &Path, id: &str) -> String {
    std::fs::read_to_string(failures_file(dir, id)).expect("failures file")
}

/// Four purchases (one without a timestamp, one repeating the first), a row without an item and a short row.
const PURCHASES: &[u8] = b"user_id,item_id,timestamp,quantity,price\n\
    u1,i1,2025-08-22T15:12:00Z,1,9.5\n\
    u2,,2025-08-22,1,1\n\
    u3,i3,,2,4\n\
    u1,i1,2025-08-22T15:12:00Z,1,9.5\n\
    u4,i4\n\
    u5,i5,2025-08-23,1,3\n";

#[test]
fn a_job_reports_stores_and_keeps_failed_rows_with_their_text() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine(dir.path());
    let done = import(&engine, dir.path(), options(Some("purchase"), Kind::Interactions), PURCHASES);
    assert_eq!(done.status, ImportStatus::Done);
    assert_eq!((done.rows, done.bytes, done.error.as_deref()), (6, PURCHASES.len() as u64, None));
    let r = report(&done);
    assert_eq!(counts(&r), (6, 3, 1, 2));
    assert_eq!((r.success_rate.as_str(), r.completion_rate.as_str()), ("50.00%", "66.67%"));
    let listed: Vec<(u64, &str)> = r.failed_items.iter().map(|f| (f.row_number, f.error.as_str())).collect();
    assert_eq!(listed, [(2, "Missing required field: item_id"), (5, "Row has 2 fields, header has 5")]);
    assert_eq!(r.failed_items[0].user_id.as_deref(), Some("u2"));
    assert_eq!(
        failures(dir.path(), &done.id),
        "user_id,item_id,timestamp,quantity,price,row_number,error\n\
         u2,,2025-08-22,1,1,2,Missing required field: item_id\n\
         u4,i4,,,,5,\"Row has 2 fields, header has 5\"\n"
    );
    assert_eq!(engine.store.count_import_events(&done.id).expect("count"), 3, "the report's counts are stored");
    assert_eq!(engine.store.import(PROJECT, &done.id).expect("read").as_ref(), Some(&done), "the record is saved");
    assert!(!upload_file(dir.path(), &done.id).exists(), "the upload is removed");
}

#[test]
fn the_same_rows_again_are_all_skipped_as_duplicates() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine(dir.path());
    let first = import(&engine, dir.path(), options(Some("purchase"), Kind::Interactions), PURCHASES);
    assert_eq!(counts(&report(&first)), (6, 3, 1, 2));

    // The same bytes read again row by row: the row without a timestamp gets the first upload's time, so every
    // valid row is a duplicate.
    let forced = import(
        &engine,
        dir.path(),
        Options { force: true, ..options(Some("purchase"), Kind::Interactions) },
        PURCHASES,
    );
    assert_eq!((forced.status, counts(&report(&forced))), (ImportStatus::Done, (6, 0, 4, 2)));
    assert_eq!(engine.store.count_import_events(&forced.id).expect("count"), 0);
    assert_eq!(failures(dir.path(), &forced.id), failures(dir.path(), &first.id));

    // Without `force`, the byte-identical file is recognised: nothing runs, the same failures are kept.
    let plan = engine.plan_import(PROJECT, options(Some("purchase"), Kind::Interactions)).expect("plan");
    let upload = spool(dir.path(), PURCHASES);
    let Begun::Done(again) = engine.begin_import(plan, upload, dir.path()).expect("begin") else {
        panic!("a byte-identical file must not run again");
    };
    assert_eq!((again.status, again.rows, counts(&report(&again))), (ImportStatus::Done, 6, (6, 0, 4, 2)));
    let listed = |r: &Report| r.failed_items.iter().map(|f| (f.row_number, f.error.clone())).collect::<Vec<_>>();
    assert_eq!(listed(&report(&again)), listed(&report(&first)));
    assert_eq!(failures(dir.path(), &again.id), failures(dir.path(), &first.id));
    assert!(!upload_file(dir.path(), &again.id).exists());
    assert_eq!(engine.store.imports(PROJECT).expect("history").len(), 3);
    assert_eq!(engine.views.project(PROJECT).read().expect("view").stats().events, 3);
}

#[test]
fn a_dry_run_reports_duplicates_and_stores_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine(dir.path());
    let dry = Options { dry_run: true, ..options(Some("purchase"), Kind::Interactions) };
    let done = import(&engine, dir.path(), dry.clone(), PURCHASES);
    assert_eq!((done.dry_run, counts(&report(&done))), (true, (6, 3, 1, 2)));
    assert_eq!(engine.store.count_import_events(&done.id).expect("count"), 0);
    // A dry run never makes a later upload of the same bytes look imported.
    let again = import(&engine, dir.path(), dry, PURCHASES);
    assert_eq!(counts(&report(&again)), (6, 3, 1, 2));
}

#[test]
fn unknown_and_archived_types_are_refused_on_the_interaction_field() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine(dir.path());
    let refused = |interaction| match engine.plan_import(PROJECT, options(Some(interaction), Kind::Interactions)) {
        Err(e) => e,
        Ok(_) => panic!("{interaction} must be refused"),
    };
    let unknown = refused("teleport");
    assert!(unknown.concerns_interaction());
    assert_eq!(unknown.error_code(), Code::Problem(ProblemKind::UnknownEvent));
    assert_eq!(
        (unknown.error_field().as_deref(), unknown.to_string().as_str()),
        (Some("interaction"), "Unknown event: teleport")
    );
    let archived = refused("old");
    assert_eq!(archived.error_code(), Code::Problem(ProblemKind::ArchivedEvent));
    assert_eq!(archived.error_field().as_deref(), Some("interaction"));
    assert_eq!(archived.to_string(), "Interaction type old is archived and accepts no new events");
    let Err(missing) = engine.plan_import("nope", options(None, Kind::Items)) else { panic!("no such project") };
    assert_eq!((missing.error_code(), missing.concerns_interaction()), (Code::NotFound, false));
}

#[test]
fn a_header_without_a_mandatory_column_is_refused_before_any_row() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine(dir.path());
    let cases: [(Option<&str>, Kind, &[u8], &str); 3] = [
        (Some("view"), Kind::Interactions, b"customer,sku,price\nu,i,1\n", "item_id"),
        (None, Kind::Interactions, b"user_id,item_id\nu,i\n", "event"),
        (None, Kind::Items, b"title,price\nShoe,1\n", "id"),
    ];
    for (interaction, kind, bytes, column) in cases {
        let plan = engine.plan_import(PROJECT, options(interaction, kind)).expect("plan");
        let upload = spool(dir.path(), bytes);
        let spooled = upload_file(dir.path(), &upload.id);
        let Err(e) = engine.begin_import(plan, upload, dir.path()) else { panic!("{column} is missing") };
        assert_eq!((e.error_code(), e.error_field().as_deref()), (Code::MissingColumn, Some(column)));
        assert!(e.to_string().starts_with(&format!("Missing required column: {column} (columns found: ")), "{e}");
        assert!(!spooled.exists(), "a refused upload is removed");
    }
    assert!(engine.store.imports(PROJECT).expect("history").is_empty(), "refused files leave no record");
    // An item file must have a header; an interaction file may be empty (it reports no rows).
    let plan = engine.plan_import(PROJECT, options(None, Kind::Items)).expect("plan");
    let Err(e) = engine.begin_import(plan, spool(dir.path(), b""), dir.path()) else { panic!("empty item file") };
    assert_eq!(e.error_code(), Code::InvalidFile);
    let empty = import(&engine, dir.path(), options(Some("view"), Kind::Interactions), b"");
    assert_eq!((empty.status, counts(&report(&empty))), (ImportStatus::Done, (0, 0, 0, 0)));
}

#[test]
fn an_item_file_is_upserted_into_the_store_and_the_views() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine(dir.path());
    let csv = b"id,title,price,colour\ni1,Shoe,10,red\n,Nameless,1,blue\ni2,Hat,dear,green\ni3,Cap,5,\n";
    let done = import(&engine, dir.path(), options(Some("view"), Kind::Items), csv);
    assert_eq!(
        (done.status, done.rows, done.interaction.as_deref(), done.content_hash),
        (ImportStatus::Done, 4, None, None)
    );
    let r = report(&done);
    assert_eq!(counts(&r), (4, 2, 0, 2));
    assert_eq!(r.failed_items.iter().map(|f| f.row_number).collect::<Vec<_>>(), [2, 3]);
    assert_eq!(r.failed_items[1].item_id.as_deref(), Some("i2"));
    let text = failures(dir.path(), &done.id);
    assert!(text.starts_with("id,title,price,colour,row_number,error\n,Nameless,1,blue,2,"), "{text}");
    let shoe = engine.store.item(PROJECT, "i1").expect("read").expect("stored");
    assert_eq!((shoe.title.as_deref(), shoe.price), (Some("Shoe"), Some(10.0)));
    assert!(engine.store.item(PROJECT, "i2").expect("read").is_none());
    assert_eq!(engine.views.project(PROJECT).read().expect("view").catalog_len(), 2);
    assert!(!upload_file(dir.path(), &done.id).exists());
}

#[test]
fn recovery_marks_an_unfinished_import_interrupted_and_removes_its_upload() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine(dir.path());
    let plan = engine.plan_import(PROJECT, options(Some("purchase"), Kind::Interactions)).expect("plan");
    let Begun::Run(job) = engine.begin_import(plan, spool(dir.path(), PURCHASES), dir.path()).expect("begin") else {
        panic!("a new file runs");
    };
    let id = job.record().id.clone();
    assert!(upload_file(dir.path(), &id).exists());
    drop(job); // the process stopped before the job ran
    recover(&*engine.store, dir.path()).expect("recover");
    let record = engine.store.import(PROJECT, &id).expect("read").expect("record");
    assert_eq!((record.status, counts(&report(&record))), (ImportStatus::Interrupted, (0, 0, 0, 0)));
    assert!(!upload_file(dir.path(), &id).exists());
}

#[test]
fn a_stopped_job_is_saved_failed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine(dir.path());
    let plan = engine.plan_import(PROJECT, options(None, Kind::Items)).expect("plan");
    let Begun::Run(job) = engine.begin_import(plan, spool(dir.path(), b"id\ni1\n"), dir.path()).expect("begin") else {
        panic!("an item file runs");
    };
    assert_eq!((job.kind(), job.progress().bytes.load(Ordering::Relaxed)), (Kind::Items, 6));
    let failed = stopped(&*engine.store, job.record().clone(), job.kind(), &"boom");
    assert_eq!(failed.error.as_deref(), Some("the import stopped on an internal error: boom"));
    let saved = engine.store.import(PROJECT, &failed.id).expect("read").expect("record");
    assert_eq!((saved.status, saved.finished_at.is_some()), (ImportStatus::Failed, true));
}
