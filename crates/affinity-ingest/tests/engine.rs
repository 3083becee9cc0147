//! The engine without a server: a real SQLite file, the real pipeline threads and the real catalog. Appends are
//! durable and deduplicated, erasure is final, a reopened engine sees everything, and every catalog edit checks
//! the references it could break.

use std::sync::Arc;

use affinity_core::{Audience, Code, ErrorCode, Event, Experience, InteractionType, ParamType, Parameter, Project};
use affinity_ingest::{CatalogError, Engine, Outcome};
use affinity_store::{SqliteStore, Store};
use serde_json::json;

fn event(kind: &str, customer: &str, item: &str, ts: i64) -> Event {
    Event::new(kind, customer, item, ts)
}

async fn open(dir: &std::path::Path) -> Engine {
    let path = dir.join("affinity.db");
    tokio::task::spawn_blocking(move || {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).expect("open the store"));
        Engine::open(store, "master").expect("open the engine").0
    })
    .await
    .expect("opening")
}

async fn with_project(engine: &Engine) {
    let project = Project { id: "shop".into(), name: "Shop".into(), created_at: 0 };
    engine.create_project(project, vec![]).await.expect("create the project");
}

fn code(result: Result<impl std::fmt::Debug, CatalogError>) -> Code {
    result.expect_err("an error").error_code()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appends_are_deduplicated_durable_and_erasable() {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = open(dir.path()).await;
    with_project(&engine).await;
    let first = vec![event("view", "ann", "shoe", 1_000), event("view", "ann", "hat", 2_000)];
    let outcomes = engine.append("shop".into(), first.clone()).await.expect("append");
    assert!(matches!(outcomes[..], [Outcome::Stored(a), Outcome::Stored(b)] if a < b), "{outcomes:?}");
    // The same events again, and a copy inside one batch: duplicates, not stored twice.
    let again = vec![first[0].clone(), event("view", "bob", "shoe", 1_000), event("view", "bob", "shoe", 1_000)];
    let outcomes = engine.append("shop".into(), again).await.expect("append");
    assert!(matches!(outcomes[..], [Outcome::Duplicate, Outcome::Stored(_), Outcome::Duplicate]), "{outcomes:?}");
    // A client id is idempotent whatever the content.
    let mut with_id = event("view", "cid", "sock", 5_000);
    with_id.client_id = Some("e-1".into());
    let mut same_id = event("view", "cid", "other", 6_000);
    same_id.client_id = Some("e-1".into());
    let outcomes = engine.append("shop".into(), vec![with_id, same_id]).await.expect("append");
    assert!(matches!(outcomes[..], [Outcome::Stored(_), Outcome::Duplicate]), "{outcomes:?}");
    assert_eq!(engine.views.project("shop").read().expect("view").applied(), 4);

    assert_eq!(engine.erase("shop".into(), "ann".into()).await.expect("erase"), 2);
    drop(engine);
    // Reopened from the file: what was stored and not erased, nothing else.
    let engine = open(dir.path()).await;
    let view = engine.views.project("shop");
    let v = view.read().expect("view");
    assert_eq!((v.applied(), v.history("ann").len(), v.history("bob").len()), (2, 0, 1));
    assert!(engine.project("shop").is_ok(), "the catalog is read back");
}

fn audience(id: &str, rule: serde_json::Value) -> Audience {
    Audience { id: id.into(), name: id.into(), rule, created_at: 0, updated_at: 0 }
}

fn experience(id: &str, rule: serde_json::Value) -> Experience {
    serde_json::from_value(json!({"id": id, "name": id, "rule": rule, "variants": [{"id": "a", "weight": 1}]}))
        .expect("an experience")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_edits_check_every_reference() {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = open(dir.path()).await;
    with_project(&engine).await;
    let entry = engine.project("shop").expect("project");
    let store = &engine.store;
    let quote = InteractionType {
        id: "quote".into(),
        name: "Quote".into(),
        parameters: vec![Parameter { id: "amount".into(), kind: ParamType::Number, required: false }],
        builtin: false,
        archived: false,
    };
    entry.create_type(store, quote.clone()).await.expect("create the type");
    assert_eq!(code(entry.create_type(store, quote.clone()).await), Code::InteractionExists);

    let big = json!({"interaction": "quote", "where": [{"param": "amount", "op": "gte", "value": 100}]});
    entry.create_audience(store, audience("big", big)).await.expect("create");
    assert_eq!(
        code(entry.create_audience(store, audience("big", json!({"interaction": "view"}))).await),
        Code::AudienceExists
    );
    assert_eq!(
        code(entry.create_audience(store, audience("loop", json!({"audience": "loop"}))).await),
        Code::InvalidRule
    );
    entry.create_audience(store, audience("not_big", json!({"not": {"audience": "big"}}))).await.expect("create");
    entry.create_experience(store, experience("banner", json!({"audience": "not_big"}))).await.expect("create");
    let missing = entry.create_experience(store, experience("ghost", json!({"audience": "nobody"}))).await;
    assert_eq!(code(missing), Code::InvalidRule);

    // Referred to by an audience, then by an experience: neither can go.
    assert_eq!(code(entry.delete_audience(store, "big").await), Code::AudienceInUse);
    assert_eq!(code(entry.delete_audience(store, "not_big").await), Code::AudienceInUse);
    // The parameter a saved rule uses cannot be removed, even without events.
    let without = |old: &InteractionType| Ok(InteractionType { parameters: vec![], ..old.clone() });
    assert_eq!(code(entry.update_type(store, "quote", without, || false).await), Code::InteractionInUse);
    assert_eq!(code(entry.update_type(store, "view", without, || false).await), Code::BuiltinInteraction);

    // Undone in order, everything goes; the parameter then may be removed.
    entry.delete_experience(store, "banner").await.expect("delete");
    entry.delete_audience(store, "not_big").await.expect("delete");
    entry.delete_audience(store, "big").await.expect("delete");
    let changed = entry.update_type(store, "quote", without, || false).await.expect("update");
    assert!(changed.parameters.is_empty());
    assert_eq!(code(entry.delete_experience(store, "banner").await), Code::NotFound);
    let snapshot = entry.snapshot();
    assert!(snapshot.audiences.is_empty() && snapshot.experiences.is_empty() && snapshot.ranked.is_empty());

    // Experiences are kept in decision order: highest priority first, ties by id.
    for (id, priority) in [("b", 1), ("c", 5), ("a", 1), ("d", 5)] {
        let mut e = experience(id, json!({"interaction": "view"}));
        e.priority = priority;
        entry.create_experience(store, e).await.expect("create");
    }
    let ranked: Vec<String> = entry.snapshot().ranked.iter().map(|s| s.experience.id.clone()).collect();
    assert_eq!(ranked, ["c", "d", "a", "b"]);
    assert!(engine.project("nope").is_err_and(|e| e.error_code() == Code::NotFound));
}
