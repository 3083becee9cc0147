//! The contract every `Store` implementation meets, run against real SQLite files and a real (throwaway)
//! PostgreSQL: each check is a function over `&dyn Store`, run once per backend on a fresh store.

#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

use affinity_core::{ApiKey, Event, ImportRecord, ImportStatus, InteractionType, ParamType, Parameter, Project, Scope};
use affinity_store::{PgStore, SqliteStore, Store, StoreError};

fn project(id: &str) -> Project {
    Project { id: id.into(), name: format!("Shop {id}"), created_at: 1 }
}

fn key(id: &str, project: &str, byte: u8) -> ApiKey {
    ApiKey { id: id.into(), project: project.into(), scope: Scope::Admin, hash: [byte; 32], created_at: 2 }
}

fn event(customer: &str, ts: i64) -> Event {
    Event {
        event: "purchase".into(),
        customer: customer.into(),
        item: Some("sku-1".into()),
        ts,
        quantity: Some(2.0),
        price: Some(9.5),
        params: None,
        client_id: Some(format!("c-{customer}-{ts}")),
        order_id: Some(format!("o-{customer}")),
    }
}

fn import_record(id: &str, project: &str) -> ImportRecord {
    ImportRecord {
        id: id.into(),
        project: project.into(),
        interaction: Some("purchase".into()),
        status: ImportStatus::Running,
        dry_run: false,
        content_hash: Some([7; 32]),
        bytes: 0,
        rows: 0,
        report: None,
        error: None,
        created_at: 10,
        finished_at: None,
    }
}

fn projects_and_keys(s: &dyn Store) {
    s.create_project(&project("a"), &[key("key_1", "a", 1)]).unwrap();
    assert!(matches!(s.create_project(&project("a"), &[]), Err(StoreError::Conflict(_))));
    s.insert_key(&key("key_2", "a", 2)).unwrap();
    assert_eq!(s.projects().unwrap(), vec![project("a")]);
    assert_eq!(s.active_keys().unwrap().len(), 2);
    assert_eq!(s.active_key(&[2; 32]).unwrap(), Some(key("key_2", "a", 2)), "looked up by hash");
    assert_eq!(s.active_key(&[9; 32]).unwrap(), None, "no such hash");
    assert!(s.revoke_key("a", "key_1", 5).unwrap());
    assert_eq!(s.active_key(&[1; 32]).unwrap(), None, "revoked");
    assert!(!s.revoke_key("a", "key_1", 6).unwrap(), "revoking twice");
    assert!(!s.revoke_key("b", "key_2", 6).unwrap(), "another project's key");
    let keys = s.active_keys().unwrap();
    assert_eq!(keys, vec![key("key_2", "a", 2)]);
}

fn interaction_types(s: &dyn Store) {
    s.create_project(&project("a"), &[]).unwrap();
    let mut ty = InteractionType {
        id: "loan".into(),
        name: "Loan".into(),
        parameters: vec![Parameter { id: "amount".into(), kind: ParamType::Number, required: true }],
        builtin: false,
        archived: false,
    };
    s.insert_interaction_type("a", &ty).unwrap();
    assert!(matches!(s.insert_interaction_type("a", &ty), Err(StoreError::Conflict(_))));
    ty.archived = true;
    ty.name = "Loans".into();
    s.update_interaction_type("a", &ty).unwrap();
    assert_eq!(s.interaction_types().unwrap(), vec![("a".to_string(), ty.clone())]);
    ty.id = "nope".into();
    assert!(matches!(s.update_interaction_type("a", &ty), Err(StoreError::NotFound(_))));
}

fn the_event_log(s: &dyn Store) {
    let (e1, mut e2, e3) = (event("u1", 10), event("u2", 20), event("u1", 30));
    e2.order_id = None;
    let seqs = s.append_events(&[("a", None, &e1), ("a", None, &e2)], 100).unwrap();
    assert_eq!(seqs.len(), 2);
    assert!(seqs[0] < seqs[1]);
    let more = s.append_events(&[("b", None, &e3)], 101).unwrap();
    assert!(more[0] > seqs[1]);
    let all = s.scan_events(0, 10).unwrap();
    assert_eq!(all.iter().map(|l| &l.event).collect::<Vec<_>>(), vec![&e1, &e2, &e3]);
    assert_eq!(all[2].project, "b");
    assert_eq!(s.scan_events(seqs[1], 10).unwrap().len(), 1);
    assert_eq!(s.scan_events(0, 1).unwrap().len(), 1);
    let picked = s.events_by_seq(&[more[0], seqs[0], 999]).unwrap();
    assert_eq!(picked.iter().map(|l| l.seq).collect::<Vec<_>>(), vec![more[0], seqs[0]]);
    // Erasing the newest event must not let its sequence number be reused.
    assert_eq!(s.delete_events("b", "u1", &[more[0], 12345], u64::MAX).unwrap(), 1);
    let next = s.append_events(&[("b", None, &e3)], 102).unwrap();
    assert!(next[0] > more[0], "sequence numbers are never reused");
}

fn large_appends_number_every_event(s: &dyn Store) {
    s.create_project(&project("a"), &[]).unwrap();
    let mut import = import_record("imp_1", "a");
    s.insert_import(&import).unwrap();
    let events: Vec<Event> = (0..1000).map(|i| event(&format!("u{}", i % 7), i)).collect();
    let rows: Vec<(&str, Option<&str>, &Event)> =
        events.iter().enumerate().map(|(i, e)| ("a", (i % 2 == 0).then_some("imp_1"), e)).collect();
    let seqs = s.append_events(&rows[..1], 1).unwrap();
    let more = s.append_events(&rows[1..], 1).unwrap();
    let all: Vec<u64> = seqs.into_iter().chain(more).collect();
    let scanned = s.scan_events(0, 2000).unwrap();
    assert_eq!(scanned.iter().map(|l| l.seq).collect::<Vec<_>>(), all, "returned seqs are the stored ones, in order");
    assert!(scanned.iter().zip(&events).all(|(l, e)| l.event == *e));
    assert_eq!(s.count_import_events("imp_1").unwrap(), 500);
    assert_eq!(s.count_import_events("imp_2").unwrap(), 0);
    import.status = ImportStatus::Done;
    import.rows = 1000;
    s.update_import(&import).unwrap();
    assert_eq!(s.count_import_events("imp_1").unwrap(), 500, "updating the import keeps its count");
}

fn imports(s: &dyn Store) {
    s.create_project(&project("a"), &[]).unwrap();
    let mut first = import_record("imp_1", "a");
    s.insert_import(&first).unwrap();
    assert!(matches!(s.insert_import(&first), Err(StoreError::Conflict(_))));
    let second = ImportRecord { id: "imp_2".into(), created_at: 20, interaction: None, ..first.clone() };
    s.insert_import(&second).unwrap();
    assert_eq!(s.imports_by_content("a", Some("purchase"), &[7; 32]).unwrap(), vec![first.clone()], "any status");
    first.status = ImportStatus::Done;
    first.rows = 5;
    first.report = Some("{}".into());
    first.finished_at = Some(11);
    s.update_import(&first).unwrap();
    assert_eq!(s.import("a", "imp_1").unwrap(), Some(first.clone()));
    assert_eq!(s.imports_by_content("a", Some("purchase"), &[7; 32]).unwrap(), vec![first.clone()]);
    assert_eq!(s.imports_by_content("a", None, &[7; 32]).unwrap(), vec![second.clone()], "by interaction type");
    assert_eq!(s.imports("a").unwrap().iter().map(|i| i.id.as_str()).collect::<Vec<_>>(), ["imp_2", "imp_1"]);
    let interrupted = s.interrupt_running_imports(30).unwrap();
    assert_eq!(interrupted.len(), 1);
    assert_eq!(s.import("a", "imp_2").unwrap().map(|i| i.status), Some(ImportStatus::Interrupted));
    assert_eq!(s.import("b", "imp_1").unwrap(), None);
}

/// A fresh store on a new database of the test process's throwaway PostgreSQL cluster.
fn postgres() -> PgStore {
    PgStore::connect(&affinity_testpg::database()).unwrap()
}

/// Every check of the contract, once on each backend.
macro_rules! on_both_backends {
    ($($check:ident),* $(,)?) => {
        mod sqlite_backend {
            $( #[test] fn $check() { let (_dir, s) = super::sqlite(); super::$check(&s); } )*
        }
        mod postgres_backend {
            $( #[test] fn $check() { super::$check(&super::postgres()); } )*
        }
    };
}

on_both_backends!(
    projects_and_keys,
    interaction_types,
    the_event_log,
    large_appends_number_every_event,
    imports,
    items_settings_and_models,
    audiences,
    events_across_months,
    experiences_and_exposures,
    aliases_and_recommendation_events,
);

/// Issue 15: one customer per anonymous id (the first alias holds), recommendation events and request counts that
/// add up across calls, and erasure of a customer taking their aliases, their anonymous ids' events and their
/// recommendation events.
fn aliases_and_recommendation_events(s: &dyn Store) {
    use affinity_store::{Alias, RecommendationEvent, RequestCount};
    s.create_project(&project("a"), &[]).unwrap();
    let alias = |anon: &str, c: &str, at| Alias { anonymous_id: anon.into(), customer: c.into(), created_at: at };
    assert_eq!(s.insert_alias("a", &alias("a-1", "u", 1)).unwrap(), alias("a-1", "u", 1));
    assert_eq!(s.insert_alias("a", &alias("a-1", "w", 2)).unwrap(), alias("a-1", "u", 1), "the first alias holds");
    s.insert_alias("a", &alias("a-2", "u", 3)).unwrap();
    s.insert_alias("a", &alias("a-3", "w", 4)).unwrap();
    assert_eq!(s.aliases("a").unwrap().len(), 3);
    assert_eq!(s.alias("a", "a-3").unwrap(), Some(alias("a-3", "w", 4)));
    assert_eq!(s.alias("a", "a-9").unwrap(), None);

    let rec = |who: &str, kind: &str, at| RecommendationEvent {
        recommendation: "rec_1.ease.home".into(),
        kind: kind.into(),
        item: Some("i".into()),
        customer: Some(who.into()),
        placement: Some("home".into()),
        model: Some("ease".into()),
        at,
    };
    s.add_recommendation_events("a", &[rec("a-1", "impression", 10), rec("a-1", "click", 11), rec("w", "click", 12)])
        .unwrap();
    assert_eq!(s.recommendation_events("a", 11).unwrap(), vec![rec("a-1", "click", 11), rec("w", "click", 12)]);
    let count =
        |day, placement: &str, n| RequestCount { day, placement: placement.into(), model: "ease".into(), requests: n };
    s.add_recommendation_requests("a", &[count(100, "home", 2), count(101, "", 1)]).unwrap();
    s.add_recommendation_requests("a", &[count(100, "home", 3)]).unwrap();
    assert_eq!(s.recommendation_requests("a", 100).unwrap(), vec![count(100, "home", 5), count(101, "", 1)]);

    let seqs = s.append_events(&[("a", None, &event("a-1", 5)), ("a", None, &event("w", 6))], 1).unwrap();
    assert_eq!(s.delete_events("a", "u", &seqs[..1], u64::MAX).unwrap(), 1);
    let left: Vec<String> = s.aliases("a").unwrap().into_iter().map(|a| a.anonymous_id).collect();
    assert_eq!(left, ["a-3"], "the customer's aliases are gone, another's stay");
    assert_eq!(
        s.recommendation_events("a", 0).unwrap(),
        vec![rec("w", "click", 12)],
        "and their anonymous id's clicks"
    );
    assert_eq!(s.scan_events(0, 10).unwrap().len(), 1);
}

fn experiences_and_exposures(s: &dyn Store) {
    use affinity_core::Experience;
    use affinity_store::Exposure;
    s.create_project(&project("a"), &[]).unwrap();
    let e: Experience = serde_json::from_value(serde_json::json!({"id":"banner","name":"Banner","priority":3,
        "rule":{"context":"page","op":"eq","value":"home"},"variants":[{"id":"a","weight":1,"payload":{"text":"Hi"}}],
        "created_at":1,"updated_at":1}))
    .unwrap();
    s.insert_experience("a", &e).unwrap();
    assert!(matches!(s.insert_experience("a", &e), Err(StoreError::Conflict(_))));
    let mut changed = e.clone();
    changed.priority = 9;
    changed.updated_at = 2;
    s.update_experience("a", &changed).unwrap();
    assert_eq!(s.experiences("a").unwrap(), vec![changed.clone()]);
    let mut ghost = e.clone();
    ghost.id = "ghost".into();
    assert!(matches!(s.update_experience("a", &ghost), Err(StoreError::NotFound(_))));
    let x = |c: &str, v: &str, at| Exposure { experience: "banner".into(), variant: v.into(), customer: c.into(), at };
    s.add_exposures("a", &[x("u", "a", 5), x("w", "a", 3)]).unwrap();
    s.add_exposures("b", &[x("u", "a", 4)]).unwrap();
    assert_eq!(s.exposures("a", "banner").unwrap(), vec![x("w", "a", 3), x("u", "a", 5)], "oldest first, per project");
    // Erasing a customer erases their exposures too.
    s.delete_events("a", "w", &[], u64::MAX).unwrap();
    assert_eq!(s.exposures("a", "banner").unwrap(), vec![x("u", "a", 5)]);
    assert!(s.delete_experience("a", "banner").unwrap());
    assert!(!s.delete_experience("a", "banner").unwrap());
    assert!(s.experiences("a").unwrap().is_empty());
    assert!(s.exposures("a", "banner").unwrap().is_empty(), "a deleted experience takes its exposures along");
    assert_eq!(s.exposures("b", "banner").unwrap().len(), 1, "another project's stay");
}

/// Events spread over years land in their month's partition (PostgreSQL) and come back in sequence order.
fn events_across_months(s: &dyn Store) {
    let day = 86_400_000;
    let times = [1_795_428_000_000, 0, 1_795_428_000_000 - 400 * day, 1_795_428_000_000 + 20 * day, 5];
    let events: Vec<Event> = times.iter().map(|&t| event("u", t)).collect();
    let rows: Vec<(&str, Option<&str>, &Event)> = events.iter().map(|e| ("a", None, e)).collect();
    let first = s.append_events(&rows[..2], 1).unwrap();
    let rest = s.append_events(&rows[2..], 1).unwrap();
    let scanned = s.scan_events(0, 10).unwrap();
    assert_eq!(scanned.iter().map(|l| l.event.ts).collect::<Vec<_>>(), times);
    assert_eq!(scanned.iter().map(|l| l.seq).collect::<Vec<_>>(), [first.clone(), rest.clone()].concat());
    assert_eq!(s.delete_events("a", "u", &[first[1], rest[2]], u64::MAX).unwrap(), 2);
    assert_eq!(s.scan_events(0, 10).unwrap().len(), 3);
}

/// PostgreSQL keeps everything across reconnections, and a second store on the same database (another node)
/// sees the first one's writes and continues its sequence.
#[test]
fn postgres_second_connection_sees_the_same_data() {
    let url = affinity_testpg::database();
    let a = PgStore::connect(&url).unwrap();
    a.create_project(&project("a"), &[key("key_1", "a", 1)]).unwrap();
    let first = a.append_events(&[("a", None, &event("u", 1))], 1).unwrap();
    let b = PgStore::connect(&url).unwrap();
    assert_eq!(b.schema_version().unwrap(), 7, "every migration applied once");
    assert_eq!(b.projects().unwrap(), vec![project("a")]);
    assert_eq!(b.scan_events(0, 10).unwrap().len(), 1);
    let second = b.append_events(&[("a", None, &event("w", 2))], 2).unwrap();
    assert!(second[0] > first[0]);
    assert_eq!(a.scan_events(first[0], 10).unwrap()[0].event.customer, "w");
}

fn sqlite() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("affinity.db")).unwrap();
    (dir, store)
}

#[test]
fn sqlite_commits_are_durable() {
    let (_d, s) = sqlite();
    assert_eq!(s.durability().unwrap(), ("wal".to_string(), 2), "WAL with synchronous=FULL: every commit fsyncs");
}

#[test]
fn sqlite_reopens_with_the_same_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("affinity.db");
    {
        let s = SqliteStore::open(&path).unwrap();
        s.create_project(&project("a"), &[]).unwrap();
        s.append_events(&[("a", None, &event("u", 1))], 1).unwrap();
    }
    let s = SqliteStore::open(&path).unwrap();
    assert_eq!(s.projects().unwrap().len(), 1);
    assert_eq!(s.scan_events(0, 10).unwrap().len(), 1);
}

/// A database written by the schema of version 3 (import ids on event rows) keeps its import counts when opened.
#[test]
fn sqlite_migration_4_moves_import_counts_to_the_imports() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("affinity.db");
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        for sql in [
            include_str!("../migrations/sqlite/0001_init.sql"),
            include_str!("../migrations/sqlite/0002_imports.sql"),
            include_str!("../migrations/sqlite/0003_event_imports.sql"),
        ] {
            c.execute_batch(sql).unwrap();
        }
        c.execute_batch(
            "PRAGMA user_version = 3;
             INSERT INTO projects VALUES ('a', 'Shop a', 1);
             INSERT INTO imports (id, project, status, dry_run, created_at) VALUES ('imp_1', 'a', 'running', 0, 1);
             INSERT INTO imports (id, project, status, dry_run, created_at) VALUES ('imp_2', 'a', 'done', 0, 2);
             INSERT INTO events (project, event, customer, ts, received_at, import_id)
               VALUES ('a', 'view', 'u', 1, 1, 'imp_1'), ('a', 'view', 'w', 1, 1, 'imp_1'), ('a', 'view', 'x', 1, 1, NULL);",
        )
        .unwrap();
    }
    let s = SqliteStore::open(&path).unwrap();
    assert_eq!(s.count_import_events("imp_1").unwrap(), 2);
    assert_eq!(s.count_import_events("imp_2").unwrap(), 0);
    assert_eq!(s.scan_events(0, 10).unwrap().len(), 3, "events are kept");
    s.append_events(&[("a", Some("imp_2"), &event("y", 5))], 6).unwrap();
    assert_eq!(s.count_import_events("imp_2").unwrap(), 1);
}

fn items_settings_and_models(s: &dyn Store) {
    use affinity_store::ModelRecord;
    s.create_project(&project("a"), &[]).unwrap();
    let item = |id: &str, available| affinity_core::Item {
        id: id.into(),
        title: Some(format!("Item {id}")),
        categories: vec!["grocery".into(), "rice".into()],
        price: Some(3.5),
        available,
        properties: [("brand".to_string(), serde_json::json!("Acme")), ("kg".to_string(), serde_json::json!(1))]
            .into_iter()
            .collect(),
    };
    s.put_items("a", &[item("b", true), item("a", true), item("c", false)], 1).unwrap();
    s.put_items("a", &[item("a", false)], 2).unwrap();
    assert_eq!(s.item("a", "a").unwrap(), Some(item("a", false)), "replaced");
    assert_eq!(s.item("b", "a").unwrap(), None, "another project");
    let ids = |after| s.items("a", after, 2).unwrap().into_iter().map(|i| i.id).collect::<Vec<_>>();
    assert_eq!(ids(None), ["a", "b"]);
    assert_eq!(ids(Some("b")), ["c"]);
    assert!(s.delete_item("a", "b").unwrap());
    assert!(!s.delete_item("a", "b").unwrap());
    assert_eq!(ids(None), ["a", "c"]);

    assert_eq!(s.settings("a").unwrap(), None);
    let mut settings =
        affinity_core::Settings { half_life_days: affinity_core::Tunable::Pinned(Some(30.0)), ..Default::default() };
    s.put_settings("a", &settings, 3).unwrap();
    settings.weights.insert("view".into(), 0.5);
    s.put_settings("a", &settings, 4).unwrap();
    assert_eq!(s.settings("a").unwrap(), Some(settings));

    let model = |kind: &str, at| ModelRecord { kind: kind.into(), trained_at: at, meta: "{}".into(), data: vec![1, 2] };
    s.save_model("a", &model("ease", 5)).unwrap();
    s.save_model("a", &model("popular", 5)).unwrap();
    s.save_model("a", &model("ease", 6)).unwrap();
    assert_eq!(s.models("a").unwrap(), vec![model("ease", 6), model("popular", 5)]);
    assert!(s.models("b").unwrap().is_empty());
}

fn audiences(s: &dyn Store) {
    s.create_project(&project("a"), &[]).unwrap();
    let audience = |id: &str, at| affinity_core::Audience {
        id: id.into(),
        name: format!("Audience {id}"),
        rule: serde_json::json!({"interaction":"view"}),
        created_at: at,
        updated_at: at,
    };
    s.insert_audience("a", &audience("vip", 1)).unwrap();
    assert!(matches!(s.insert_audience("a", &audience("vip", 2)), Err(StoreError::Conflict(_))));
    s.insert_audience("a", &audience("all", 3)).unwrap();
    let mut changed = audience("vip", 1);
    changed.rule = serde_json::json!({"not":{"interaction":"view"}});
    changed.updated_at = 9;
    s.update_audience("a", &changed).unwrap();
    assert!(matches!(s.update_audience("a", &audience("none", 1)), Err(StoreError::NotFound(_))));
    assert_eq!(s.audiences("a").unwrap(), vec![audience("all", 3), changed]);
    assert!(s.delete_audience("a", "all").unwrap());
    assert!(!s.delete_audience("a", "all").unwrap());
    assert_eq!(s.audiences("a").unwrap().len(), 1);
    assert!(s.audiences("b").unwrap().is_empty());
}

/// Writes of one node reach the others through the change feed, in order; a training lock is held by one node
/// at a time and freed when its holder lets go.
#[test]
fn postgres_change_feed_and_training_lock() {
    use affinity_store::ChangeKind;
    let url = affinity_testpg::database();
    let a = PgStore::connect(&url).unwrap();
    let b = PgStore::connect(&url).unwrap();
    assert!(a.shared());
    assert_eq!(b.last_change().unwrap(), 0);
    a.create_project(&project("a"), &[key("key_1", "a", 1)]).unwrap();
    a.put_settings("a", &affinity_core::Settings::default(), 1).unwrap();
    let seqs = a.append_events(&[("a", None, &event("u", 1))], 1).unwrap();
    a.delete_events("a", "u", &seqs, seqs[0]).unwrap();
    a.revoke_key("a", "key_1", 2).unwrap();
    let seen = b.changes_after(0, 100).unwrap();
    let kinds: Vec<(ChangeKind, Option<&str>)> = seen.iter().map(|c| (c.kind, c.key.as_deref())).collect();
    assert_eq!(
        kinds,
        [
            (ChangeKind::Project, None),
            (ChangeKind::Settings, None),
            (ChangeKind::Erase, Some(format!(r#"{{"aliases":[],"customer":"u","upto":{}}}"#, seqs[0]).as_str())),
            (ChangeKind::Keys, None)
        ]
    );
    assert!(seen.windows(2).all(|w| w[0].seq < w[1].seq));
    assert_eq!(b.changes_after(seen[1].seq, 100).unwrap().len(), 2);
    assert_eq!(b.last_change().unwrap(), seen[3].seq);

    let held = a.training_lock("a", false).unwrap().expect("free at first");
    assert!(b.training_lock("a", false).unwrap().is_none(), "held by the other node");
    assert!(b.training_lock("other", false).unwrap().is_some(), "locks are per project");
    drop(held);
    assert!(b.training_lock("a", true).unwrap().is_some(), "free once the holder lets go");
}

#[test]
fn sqlite_is_not_shared_and_never_blocks_training() {
    let (_d, s) = sqlite();
    assert!(!s.shared());
    assert!(s.changes_after(0, 10).unwrap().is_empty());
    let first = s.training_lock("a", false).unwrap();
    assert!(first.is_some() && s.training_lock("a", false).unwrap().is_some());
}
