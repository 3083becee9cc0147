use std::sync::{Arc, Mutex};

use reqwest::StatusCode;
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn a_restart_serves_the_same_data() {
    let s = Server::start();
    let k = s.project("shop-1").await;
    for i in 0..20 {
        let (status, _) = s
            .event(
                "shop-1",
                &k.ingest,
                json!({"event":"view","item":format!("i{i}"),"customer":"u","date":"2026-01-01"}),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    let (_, before) = s.get("/v1/projects/shop-1/customers/u/interactions?limit=100", &k.admin).await;
    let s = s.restart();
    let (_, after) = s.get("/v1/projects/shop-1/customers/u/interactions?limit=100", &k.admin).await;
    assert_eq!(before, after);
    assert_eq!(after["interactions"].as_array().unwrap().len(), 20);
}

/// Many clients send events; the server is killed with SIGKILL in the middle; after a restart every event that
/// was answered 200 is there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_under_load_loses_no_acknowledged_event() {
    let s = Server::start();
    let k = s.project("shop-1").await;
    let url = s.url.clone();
    let acked: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let (first_acks_tx, mut first_acks) = tokio::sync::mpsc::channel::<()>(1024);
    let mut senders = Vec::new();
    for w in 0..16 {
        let (url, key, acked, tx) = (url.clone(), k.ingest.clone(), acked.clone(), first_acks_tx.clone());
        senders.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            for n in 0.. {
                let customer = format!("c{w}");
                let id = format!("w{w}-{n}");
                let single = json!({"project":"shop-1","data":{"event":"view","item":format!("i{n}"),"customer":customer,"date":"2026-01-01","id":id}});
                let batch = json!({"project":"shop-1","data":(0..20).map(|b| json!({"event":"view","item":format!("b{n}-{b}"),"customer":customer,"date":"2026-01-02","id":format!("{id}-{b}")})).collect::<Vec<_>>()});
                let body = if n % 5 == 0 { batch } else { single };
                let sent = client.post(format!("{url}/feedback")).header("x-api-key", &key).json(&body).send().await;
                let Ok(resp) = sent else { return };
                if resp.status() != StatusCode::OK {
                    return;
                }
                let Ok(answer) = resp.json::<serde_json::Value>().await else { return };
                let mut acked = acked.lock().unwrap();
                if n % 5 == 0 {
                    assert_eq!(answer["succeeded"], 20, "{answer}");
                    acked.extend((0..20).map(|b| (customer.clone(), format!("{id}-{b}"))));
                } else {
                    assert_eq!(answer["status"], "ok", "{answer}");
                    acked.push((customer.clone(), id));
                }
                let _ = tx.try_send(());
            }
        }));
    }
    drop(first_acks_tx);
    // Let the load run until a good number of events were acknowledged, then kill the server mid-flight.
    for _ in 0..1000 {
        first_acks.recv().await.expect("acknowledgements");
    }
    let s = s.kill9_and_restart();
    // A sender ends when the killed server stops answering; a failed assertion inside one fails the test here.
    for t in senders {
        t.await.expect("a sender's assertions failed");
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 1000, "{} acknowledged", acked.len());
    let mut missing = 0;
    for w in 0..16 {
        let customer = format!("c{w}");
        let stored: std::collections::HashSet<String> =
            all_interaction_ids(&s, "shop-1", &k.admin, &customer).await.into_iter().collect();
        missing += acked.iter().filter(|(c, id)| *c == customer && !stored.contains(id)).count();
    }
    assert_eq!(missing, 0, "acknowledged events lost after kill -9 ({} acknowledged)", acked.len());
}
