//! Several `affinity serve` nodes on one PostgreSQL database (only in the PostgreSQL suite): what one node is told
//! shows on the others within 2 seconds, trainings never overlap, and a node killed with `kill -9` costs nothing
//! acknowledged while the others keep serving.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::*;

const TWO_SECONDS: Duration = Duration::from_secs(2);

/// The recommended item ids of a recommendations answer.
fn ids(v: &Value) -> Vec<String> {
    v["items"].as_array().map_or_else(Vec::new, |a| a.iter().map(|i| str_of(&i["item"])).collect())
}

/// The item ids of a customer's read-back on `s`.
async fn history(s: &Server, k: &Keys, customer: &str) -> Vec<String> {
    let (_, body) = s.get(&format!("/v1/projects/shop-1/customers/{customer}/interactions?limit=100"), &k.admin).await;
    body["interactions"].as_array().map_or_else(Vec::new, |a| a.iter().map(|i| str_of(&i["item"])).collect())
}

#[tokio::test]
async fn what_one_node_is_told_the_other_serves_within_two_seconds() {
    let a = Server::start();
    let b = a.another_node();
    // A project and its keys, created through A, authenticate on B.
    let k = a.project("shop-1").await;
    within(TWO_SECONDS, "B knows the new project's keys", || async {
        (b.get("/v1/projects/shop-1/interactions", &k.admin).await.0 == StatusCode::OK).then_some(())
    })
    .await;
    // A custom type created on A takes events on B.
    let (status, _) = a
        .post(
            "/v1/projects/shop-1/interactions",
            &k.admin,
            json!({"id":"loan_application","name":"Loan application","parameters":[{"id":"amount","type":"number"}]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    within(TWO_SECONDS, "B accepts the new type", || async {
        let loan = json!({"event":"loan_application","customer":"l-1","date":"2026-11-01","params":{"amount":9000}});
        (b.event("shop-1", &k.ingest, loan).await.0 == StatusCode::OK).then_some(())
    })
    .await;
    // An audience saved on A, over events sent to B.
    let (status, body) = a
        .post(
            "/v1/projects/shop-1/audiences",
            &k.admin,
            json!({"id":"big_loans","name":"Big loans","rule":{"interaction":"loan_application",
                   "where":[{"param":"amount","op":"gte","value":5000}]}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    within(TWO_SECONDS, "B evaluates A's audience over B's event", || async {
        let (_, m) = b.get("/v1/projects/shop-1/audiences/big_loans/members/l-1", &k.ingest).await;
        (m["member"] == true).then_some(())
    })
    .await;

    // Events through A show in B's read-back, and B's through A.
    let (status, _) =
        a.event("shop-1", &k.ingest, json!({"event":"view","customer":"u","item":"i1","date":"2026-11-01"})).await;
    assert_eq!(status, StatusCode::OK);
    let (_, took) = within(TWO_SECONDS, "A's event in B's read-back", || async {
        (history(&b, &k, "u").await == ["i1"]).then_some(())
    })
    .await;
    eprintln!("an event through A was in B's read-back after {took:?}");
    b.event("shop-1", &k.ingest, json!({"event":"view","customer":"u","item":"i2","date":"2026-11-02"})).await;
    within(TWO_SECONDS, "B's event in A's read-back", || async {
        (history(&a, &k, "u").await == ["i2", "i1"]).then_some(())
    })
    .await;

    // A model trained on A serves on B, with B's live history.
    let mut data = Vec::new();
    for c in 0..6 {
        for item in ["rice", "curry", "naan"] {
            data.push(json!({"event":"purchase","customer":format!("p-{c}"),"item":item,"date":"2026-11-03"}));
        }
    }
    let (status, _) = a.post("/feedback", &k.ingest, json!({"project":"shop-1","data":data})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, trained) = a.post("/v1/projects/shop-1/models/train?wait=true", &k.admin, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{trained}");
    let at = trained["models"]["personalized"]["trained_at"].clone();
    within(TWO_SECONDS, "B serves A's model", || async {
        let (_, models) = b.get("/v1/projects/shop-1/models", &k.admin).await;
        (models["models"]["personalized"]["trained_at"] == at).then_some(())
    })
    .await;
    b.event("shop-1", &k.ingest, json!({"event":"purchase","customer":"new","item":"rice","date":"2026-11-04"})).await;
    within(TWO_SECONDS, "B recommends from A's model", || async {
        let (_, recs) = b.get("/v1/projects/shop-1/recommendations/users/new?n=2", &k.ingest).await;
        let items = ids(&recs);
        (items.contains(&"curry".to_string()) && items.contains(&"naan".to_string())).then_some(())
    })
    .await;

    // Catalog and settings written on A apply on B.
    let (status, _) = a.put("/v1/projects/shop-1/items", &k.admin, json!([{"id":"naan","available":false}])).await;
    assert_eq!(status, StatusCode::OK);
    within(TWO_SECONDS, "B stops recommending the item A made unavailable", || async {
        let (_, recs) = b.get("/v1/projects/shop-1/recommendations/users/new?n=2", &k.ingest).await;
        (!ids(&recs).contains(&"naan".to_string())).then_some(())
    })
    .await;

    // An import run by A is visible from B.
    let csv = b"customer,item,date\nu,i3,2026-11-05\nu,i4,2026-11-06\n,i5,2026-11-07\n".to_vec();
    let (status, done) = a.upload("shop-1", &k.admin, "wait=true&interaction=view", &[], csv).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    let (status, seen) = b.get(&format!("/v1/projects/shop-1/imports/{}", str_of(&done["id"])), &k.admin).await;
    assert_eq!((status, &seen["status"], &seen["report"]["succeeded"]), (StatusCode::OK, &json!("done"), &json!(2)));
    // Its failed rows download from B too, the same bytes as from A.
    let path = format!("/v1/projects/shop-1/imports/{}/failures", str_of(&done["id"]));
    let (status, from_b) = b.get_bytes(&path, &k.admin).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(from_b, a.get_bytes(&path, &k.admin).await.1);
    assert!(String::from_utf8_lossy(&from_b).contains(",i5,"), "{}", String::from_utf8_lossy(&from_b));

    // An erasure through B empties A's read-back.
    within(TWO_SECONDS, "A has the imported events", || async {
        (history(&a, &k, "u").await.len() == 4).then_some(())
    })
    .await;
    let (status, _) = b.delete("/v1/projects/shop-1/customers/u", &k.admin).await;
    assert_eq!(status, StatusCode::OK);
    within(TWO_SECONDS, "A forgets the erased customer", || async {
        history(&a, &k, "u").await.is_empty().then_some(())
    })
    .await;
    // The customer comes back after the erasure: that event stays, on both nodes, though each node also sees the
    // erasure through the change feed after it.
    let (status, _) =
        b.event("shop-1", &k.ingest, json!({"event":"view","customer":"u","item":"i9","date":"2026-11-07"})).await;
    assert_eq!(status, StatusCode::OK);
    within(TWO_SECONDS, "A has the new event", || async { (history(&a, &k, "u").await == ["i9"]).then_some(()) }).await;
    // Each node then applies the erasure from the change feed: a later change seen, then an event written through
    // the node (queued after the erasure in its writer) shows that it has. Nothing newer was lost.
    for (n, (writer, reader)) in [(&b, &a), (&a, &b)].into_iter().enumerate() {
        let id = format!("after_erase_{n}");
        let body = json!({"id": id, "name": "After", "rule": {"interaction": "view"}});
        assert_eq!(writer.post("/v1/projects/shop-1/audiences", &k.admin, body).await.0, StatusCode::CREATED);
        within(TWO_SECONDS, "the later change reaches the other node", || async {
            (reader.get(&format!("/v1/projects/shop-1/audiences/{id}"), &k.admin).await.0 == StatusCode::OK)
                .then_some(())
        })
        .await;
        let marker = json!({"event":"view","customer":format!("marker-{n}"),"item":"m","date":"2026-11-08"});
        assert_eq!(reader.event("shop-1", &k.ingest, marker).await.0, StatusCode::OK);
        assert_eq!(history(reader, &k, "u").await, ["i9"], "the erasure seen again keeps the newer event");
    }
}

/// Both nodes asked to train at once: both answer, one after the other (the trainings' intervals do not
/// overlap), and both end up serving the same, last, model.
#[tokio::test]
async fn trainings_take_turns_across_nodes() {
    let a = Server::start();
    let b = a.another_node();
    let k = a.project("shop-1").await;
    let mut data = Vec::new();
    for c in 0..200 {
        for i in 0..10 {
            data.push(json!({"event":"view","customer":format!("c{c}"),"item":format!("i{}", (c * 7 + i * 3) % 97),
                             "date":"2026-11-01"}));
        }
    }
    let (status, _) = a.post("/feedback", &k.ingest, json!({"project":"shop-1","data":data})).await;
    assert_eq!(status, StatusCode::OK);
    within(TWO_SECONDS, "B has the events", || async {
        let (_, stats) = b.get("/v1/projects/shop-1/stats", &k.admin).await;
        (stats["events"] == 2000).then_some(())
    })
    .await;
    let path = "/v1/projects/shop-1/models/train?wait=true";
    let ((sa, ta), (sb, tb)) = tokio::join!(a.post(path, &k.admin, json!({})), b.post(path, &k.admin, json!({})));
    assert_eq!((sa, sb), (StatusCode::OK, StatusCode::OK), "{ta} {tb}");
    let span = |t: &Value| {
        let m = &t["models"]["personalized"];
        let start = affinity_core::date::parse_text(m["trained_at"].as_str().unwrap_or_default()).expect("a date");
        (start, start + t["models"]["total_fit_ms"].as_i64().unwrap_or(0))
    };
    let (x, y) = (span(&ta), span(&tb));
    assert!(x.1 <= y.0 || y.1 <= x.0, "trainings overlapped: {x:?} and {y:?}");
    let last = if x.0 > y.0 {
        ta["models"]["personalized"]["trained_at"].clone()
    } else {
        tb["models"]["personalized"]["trained_at"].clone()
    };
    for node in [&a, &b] {
        within(TWO_SECONDS, "both nodes serve the last model", || async {
            let (_, models) = node.get("/v1/projects/shop-1/models", &k.admin).await;
            (models["models"]["personalized"]["trained_at"] == last).then_some(())
        })
        .await;
    }
}

/// Clients send to two nodes; one is killed with SIGKILL mid-flight. The other keeps answering, and every event
/// either node acknowledged is stored and readable on the survivor.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_with_kill_9_loses_nothing_and_the_other_keeps_serving() {
    let mut a = Server::start();
    let b = a.another_node();
    let k = a.project("shop-1").await;
    within(TWO_SECONDS, "B knows the keys", || async {
        (b.get("/v1/projects/shop-1/interactions", &k.admin).await.0 == StatusCode::OK).then_some(())
    })
    .await;
    let acked: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let b_failures = Arc::new(Mutex::new(0usize));
    let (first_acks_tx, mut first_acks) = tokio::sync::mpsc::channel::<()>(1024);
    let mut senders = Vec::new();
    for w in 0..8 {
        let url = if w % 2 == 0 { a.url.clone() } else { b.url.clone() };
        let on_b = w % 2 == 1;
        let (key, acked, tx, b_failures) = (k.ingest.clone(), acked.clone(), first_acks_tx.clone(), b_failures.clone());
        senders.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            for n in 0..400 {
                let customer = format!("c{w}");
                let id = format!("w{w}-{n}");
                let body = json!({"project":"shop-1","data":{"event":"view","item":format!("i{n}"),"customer":customer,
                                  "date":"2026-01-01","id":id}});
                let sent = client.post(format!("{url}/feedback")).header("x-api-key", &key).json(&body).send().await;
                let ok = matches!(&sent, Ok(r) if r.status() == StatusCode::OK);
                if !ok {
                    if on_b {
                        *b_failures.lock().unwrap_or_else(|p| p.into_inner()) += 1;
                    }
                    if !on_b {
                        return; // A is gone
                    }
                    continue;
                }
                acked.lock().unwrap_or_else(|p| p.into_inner()).push((customer, id));
                let _ = tx.try_send(());
            }
        }));
    }
    drop(first_acks_tx);
    for _ in 0..300 {
        first_acks.recv().await.expect("acknowledgements");
    }
    a.kill9();
    for t in senders {
        t.await.expect("sender");
    }
    assert_eq!(*b_failures.lock().unwrap_or_else(|p| p.into_inner()), 0, "B failed requests while A died");
    let acked = acked.lock().unwrap_or_else(|p| p.into_inner()).clone();
    assert!(acked.len() >= 300 + 4 * 400 - 400, "B's clients all finished: {} acknowledged", acked.len());
    let (missing, _) = within(TWO_SECONDS, "every acknowledged event on the survivor", || async {
        let mut missing = 0;
        for w in 0..8 {
            let customer = format!("c{w}");
            let stored: std::collections::HashSet<String> =
                all_interaction_ids(&b, "shop-1", &k.admin, &customer).await.into_iter().collect();
            missing += acked.iter().filter(|(c, id)| *c == customer && !stored.contains(id)).count();
        }
        (missing == 0).then_some(missing)
    })
    .await;
    assert_eq!(missing, 0);
}

/// The same event sent to both nodes at the same instant is stored once: by client id, and by identical content.
#[tokio::test]
async fn duplicates_sent_to_two_nodes_at_once_are_stored_once() {
    let a = Server::start();
    let b = a.another_node();
    let k = a.project("shop-1").await;
    within(TWO_SECONDS, "B knows the keys", || async {
        (b.get("/v1/projects/shop-1/interactions", &k.admin).await.0 == StatusCode::OK).then_some(())
    })
    .await;
    let mut outcomes = std::collections::BTreeMap::<String, usize>::new();
    for n in 0..40 {
        let event = if n % 2 == 0 {
            json!({"event":"view","customer":"u","item":format!("i{n}"),"date":"2026-11-01","id":format!("e{n}")})
        } else {
            json!({"event":"view","customer":"u","item":format!("i{n}"),"date":"2026-11-01"})
        };
        let (x, y) = tokio::join!(a.event("shop-1", &k.ingest, event.clone()), b.event("shop-1", &k.ingest, event));
        for (status, body) in [x, y] {
            assert_eq!(status, StatusCode::OK, "{body}");
            *outcomes.entry(str_of(&body["status"])).or_default() += 1;
        }
    }
    let stored = within(TWO_SECONDS, "both nodes count 40 events", || async {
        let (_, sa) = a.get("/v1/projects/shop-1/stats", &k.admin).await;
        let (_, sb) = b.get("/v1/projects/shop-1/stats", &k.admin).await;
        (sa["events"] == sb["events"] && sa["events"].as_u64().unwrap_or(0) >= 40).then(|| sa["events"].clone())
    })
    .await
    .0;
    assert_eq!(stored, json!(40), "each event once: {outcomes:?}");
    assert_eq!(outcomes.get("ok"), Some(&40), "{outcomes:?}");
    assert_eq!(outcomes.get("skipped"), Some(&40), "{outcomes:?}");
}

/// A project created through A takes its first event through B at once (B reads the unknown key through to the
/// store instead of waiting for its change follower), and so does a key added through A; wrong keys stay 401.
#[tokio::test]
async fn keys_created_on_one_node_work_on_the_other_at_once() {
    let a = Server::start();
    let b = a.another_node();
    let k = a.project("shop-1").await;
    let view = json!({"event":"view","customer":"u","item":"i1","date":"2026-11-01"});
    let (status, body) = b.event("shop-1", &k.ingest, view).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = b.get("/v1/projects/shop-1/interactions", &k.admin).await;
    assert_eq!(status, StatusCode::OK);

    let (status, created) = a.post("/v1/projects/shop-1/keys", &k.admin, json!({"scope":"ingest"})).await;
    assert_eq!(status, StatusCode::CREATED);
    let view = json!({"event":"view","customer":"u","item":"i2","date":"2026-11-02"});
    assert_eq!(b.event("shop-1", &str_of(&created["key"]), view.clone()).await.0, StatusCode::OK);
    let got = b.event("shop-1", "afy_not_a_key", view).await;
    assert_error(&got, StatusCode::UNAUTHORIZED, "unauthorized", None);
}

async fn identify(s: &Server, key: &str, anonymous: &str, customer: &str) -> (StatusCode, Value) {
    s.post("/v1/projects/shop-1/identify", key, json!({"anonymous_id":anonymous,"customer":customer})).await
}

/// Issue 15, §3: an alias made on one node is followed by the other (its change feed), in both directions; the
/// other node then reads the anonymous id's events as the customer's and refuses a conflicting identify at once
/// (the store decides).
#[tokio::test]
async fn each_node_sees_an_alias_made_on_the_other() {
    let a = Server::start();
    let b = a.another_node();
    let k = a.project("shop-1").await;
    for (node, anonymous, item) in [(&a, "a-1", "i1"), (&b, "a-2", "i2")] {
        let view = json!({"event":"view","customer":anonymous,"item":item,"date":days_ago(1)});
        assert_eq!(node.event("shop-1", &k.ingest, view).await.0, StatusCode::OK);
    }
    assert_eq!(identify(&a, &k.ingest, "a-1", "u-1").await.0, StatusCode::OK);
    assert_eq!(identify(&b, &k.ingest, "a-2", "u-2").await.0, StatusCode::OK);
    within(TWO_SECONDS, "B reads A's alias", || async { (history(&b, &k, "u-1").await == ["i1"]).then_some(()) }).await;
    within(TWO_SECONDS, "A reads B's alias", || async { (history(&a, &k, "u-2").await == ["i2"]).then_some(()) }).await;
    let taken = identify(&b, &k.ingest, "a-1", "u-9").await;
    assert_error(&taken, StatusCode::CONFLICT, "identity_conflict", Some("anonymous_id"));
    // A later event of the anonymous id, sent to the other node, is the customer's there and here.
    let view = json!({"event":"view","customer":"a-1","item":"i3","date":days_ago(0)});
    assert_eq!(b.event("shop-1", &k.ingest, view).await.0, StatusCode::OK);
    assert_eq!(history(&b, &k, "u-1").await, ["i3", "i1"]);
    within(TWO_SECONDS, "A has B's event under the customer", || async {
        (history(&a, &k, "u-1").await == ["i3", "i1"]).then_some(())
    })
    .await;

    // Erasing a customer on one node a moment after the other made their alias: the anonymous id's events go too,
    // on both nodes.
    let view = json!({"event":"view","customer":"a-3","item":"i4","date":days_ago(0)});
    assert_eq!(a.event("shop-1", &k.ingest, view).await.0, StatusCode::OK);
    assert_eq!(identify(&b, &k.ingest, "a-3", "u-3").await.0, StatusCode::OK);
    let (status, erased) = a.delete("/v1/projects/shop-1/customers/u-3", &k.admin).await;
    assert_eq!((status, erased["deleted"].as_u64()), (StatusCode::OK, Some(1)), "{erased}");
    for (name, node) in [("A", &a), ("B", &b)] {
        within(TWO_SECONDS, &format!("{name} shows nothing of a-3"), || async {
            history(node, &k, "a-3").await.is_empty().then_some(())
        })
        .await;
    }
}
