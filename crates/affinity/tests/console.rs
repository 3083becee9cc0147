//! The browser console, driven in a real headless Chromium through WebDriver (Debian's `chromium` and
//! `chromium-driver`, which `.ci/run` installs): sign in, create a custom interaction (and see a server error beside
//! its field), upload a CSV with bad rows and read the report and the failed row numbers, download the failed rows,
//! build an audience and see its size, look at a customer's recommendations. Screenshots of every page, at 1280×800
//! and at a phone's width, are saved under `target/console-screenshots/`.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

#[allow(dead_code)]
#[path = "integration/common.rs"]
mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use reqwest::StatusCode;
use serde_json::json;

use common::*;

/// chromedriver and the browser session it drives; both end when this is dropped.
struct Browser {
    driver: Child,
    client: Client,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    /// Kills chromedriver and every Chromium process of this test's profile (found by its directory on their
    /// command lines), so that no browser outlives the test, even a failed one. Positive pids only: procps-ng
    /// 4.0.2's `kill` mistreats negative ones (process groups).
    fn drop(&mut self) {
        let marker = self._profile.path().to_string_lossy().into_owned();
        let pids: Vec<String> = std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let pid: u32 = e.file_name().to_str()?.parse().ok()?;
                let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
                String::from_utf8_lossy(&cmdline).contains(&marker).then(|| pid.to_string())
            })
            .collect();
        if !pids.is_empty() && marker.len() > 8 {
            let _ = Command::new("kill").arg("-KILL").args(&pids).status();
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn program(name: &str, fallbacks: &[&str]) -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).map(|p| p.join(name)).find(|p| p.exists()));
    on_path.or_else(|| fallbacks.iter().map(PathBuf::from).find(|p| p.exists())).unwrap_or_else(|| {
        panic!("{name} is not installed: the console tests need Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)")
    })
}

async fn browser(downloads: &Path) -> Browser {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut driver = Command::new(program("chromedriver", &["/usr/bin/chromedriver"]))
        .arg(format!("--port={port}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting chromedriver");
    let mut lines = BufReader::new(driver.stdout.take().unwrap()).lines();
    loop {
        let line = lines.next().expect("chromedriver exited").expect("reading chromedriver");
        if line.contains("started successfully") {
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    let profile = tempfile::tempdir().unwrap();
    let chromium = program("chromium", &["/usr/bin/chromium", "/usr/bin/chromium-browser"]);
    let caps = json!({"goog:chromeOptions": {
        "binary": chromium,
        "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
                 "--no-first-run", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                 "--window-size=1280,800", format!("--user-data-dir={}", profile.path().display())],
        "prefs": {"download.default_directory": downloads, "download.prompt_for_download": false}
    }});
    let serde_json::Value::Object(caps) = caps else { unreachable!() };
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a WebDriver session in headless Chromium");
    Browser { driver, client, _profile: profile }
}

/// Waits (at most 10 s) until `check` holds on the page's text of `css`, and returns that text.
async fn text_when(c: &Client, css: &str, check: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(el) = c.find(Locator::Css(css)).await
            && let Ok(text) = el.text().await
            && check(&text)
        {
            return text;
        }
        assert!(Instant::now() < deadline, "{css}: never showed the expected text");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn screenshot(c: &Client, name: &str) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/console-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let png = c.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

async fn fill(c: &Client, css: &str, text: &str) {
    let el = c.wait().for_element(Locator::Css(css)).await.unwrap();
    el.clear().await.unwrap();
    el.send_keys(text).await.unwrap();
}

async fn click(c: &Client, css: &str) {
    c.wait().for_element(Locator::Css(css)).await.unwrap().click().await.unwrap();
}

async fn click_text(c: &Client, text: &str) {
    let xpath = format!("//button[normalize-space(.)='{text}'] | //a[normalize-space(.)='{text}']");
    c.wait().for_element(Locator::XPath(&xpath)).await.unwrap().click().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merchant_uses_every_page_of_the_console() {
    let s = Server::start();
    let k = s.project("shop-1").await;
    let mut data = Vec::new();
    for c in 0..6 {
        for item in ["rice", "curry", "naan"].iter().take(2 + c % 2) {
            data.push(
                json!({"event":"purchase","customer":format!("u{c}"),"item":item,"date":"2026-11-20","price":4.5}),
            );
        }
        data.push(json!({"event":"view","customer":format!("u{c}"),"item":"tea","date":"2026-11-21"}));
    }
    let (status, _) = s.post("/feedback", &k.ingest, json!({"project":"shop-1","data":data})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = s.post("/v1/projects/shop-1/models/train?wait=true", &k.admin, json!({})).await;
    assert_eq!(status, StatusCode::OK);

    let downloads = tempfile::tempdir().unwrap();
    let b = browser(downloads.path()).await;
    let c = &b.client;
    c.goto(&format!("{}/", s.url)).await.unwrap();

    // Sign in: a wrong key is refused, the admin key gets in.
    fill(c, "input[name=project]", "shop-1").await;
    fill(c, "input[name=key]", &k.ingest).await;
    click_text(c, "Sign in").await;
    text_when(c, ".signin-error", |t| t.contains("not an admin key")).await;
    screenshot(c, "sign-in").await;
    fill(c, "input[name=key]", &k.admin).await;
    click_text(c, "Sign in").await;
    text_when(c, "h1", |t| t == "Interactions").await;

    // Interactions: a server error shows beside the field it concerns, then the type is created.
    fill(c, "input[name=name]", "Loan application").await;
    fill(c, "input[name=id]", "view").await;
    click_text(c, "Add parameter").await;
    fill(c, "input[name=param-id]", "amount").await;
    c.find(Locator::Css(".param select")).await.unwrap().select_by_value("number").await.unwrap();
    click_text(c, "Create interaction").await;
    let id_error = text_when(c, "input[name=id] ~ .error", |t| !t.is_empty()).await;
    assert!(id_error.contains("view"), "{id_error}");
    fill(c, "input[name=id]", "loan_application").await;
    click_text(c, "Create interaction").await;
    text_when(c, "table", |t| t.contains("loan_application") && t.contains("amount: number")).await;
    screenshot(c, "interactions").await;

    // Uploads: a CSV with two bad rows; the report's tiles and failed row numbers, then the failed rows file.
    click(c, "a[href='#/uploads']").await;
    text_when(c, "h1", |t| t == "Uploads").await;
    c.wait()
        .for_element(Locator::Css("select[aria-label='interaction type']"))
        .await
        .unwrap()
        .select_by_value("view")
        .await
        .unwrap();
    let csv = downloads.path().join("views.csv");
    std::fs::write(
        &csv,
        "customer,item,date\nu1,tea,2026-11-22\n,tea,2026-11-22\nu2,coffee,someday\nu3,tea,2026-11-22\n",
    )
    .unwrap();
    c.find(Locator::Css("input[type=file]")).await.unwrap().send_keys(csv.to_str().unwrap()).await.unwrap();
    click_text(c, "Upload").await;
    text_when(c, ".tile.failed b", |t| t == "2").await;
    assert_eq!(text_when(c, ".tile.succeeded b", |t| !t.is_empty()).await, "2");
    let failures = text_when(c, "table.failures", |t| !t.is_empty()).await;
    // Row numbers count data rows from 1: the second and third rows failed.
    let numbers: Vec<&str> = failures.lines().skip(1).filter_map(|l| l.split_whitespace().next()).collect();
    assert_eq!(numbers, ["2", "3"], "{failures}");
    assert!(failures.contains("Timestamp format invalid"), "{failures}");
    click_text(c, "Download failed rows").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let file = loop {
        let found = std::fs::read_dir(downloads.path())
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.ends_with("-failures.csv")));
        if let Some(f) = found {
            break f;
        }
        assert!(Instant::now() < deadline, "the failed rows were not downloaded");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let downloaded = std::fs::read_to_string(file).unwrap();
    assert!(downloaded.contains("someday") && downloaded.lines().count() == 3, "{downloaded}");
    screenshot(c, "uploads").await;

    // Audiences: the builder's first rule (viewed anything) shows its live size; changed to "purchased at least 3
    // times in the last 30 days", the size follows; saved, it lists with its size.
    click(c, "a[href='#/audiences']").await;
    text_when(c, "h1", |t| t == "Audiences").await;
    text_when(c, "b.size", |t| t == "6").await; // u0 to u5 viewed tea
    c.wait()
        .for_element(Locator::Css("select[aria-label=interaction]"))
        .await
        .unwrap()
        .select_by_value("purchase")
        .await
        .unwrap();
    c.find(Locator::Css("select[aria-label=window]")).await.unwrap().select_by_value("last").await.unwrap();
    fill(c, "input[aria-label='how many']", "30").await;
    fill(c, "input[aria-label='compared to']", "3").await;
    text_when(c, "b.size", |t| t == "3").await; // u1, u3 and u5 bought three items
    fill(c, "input[name=audience-id]", "loyal").await;
    fill(c, "input[name=audience-name]", "Three purchases in 30 days").await;
    click_text(c, "Save audience").await;
    text_when(c, "table.audiences", |t| t.contains("loyal") && t.contains('3')).await;
    text_when(c, "b.size", |t| !t.is_empty()).await;
    let (_, saved) = s.get("/v1/projects/shop-1/audiences/loyal", &k.admin).await;
    let leaf = json!({"interaction":"purchase","window":{"last":{"n":30,"unit":"day"}},"measure":{"agg":"count"},
                      "cmp":{"op":"gte","value":3}});
    assert_eq!(saved["rule"], json!({"all":[leaf]}), "the rule as built");
    screenshot(c, "audiences").await;

    // Recommendations for a customer, with their reasons and recent interactions.
    click(c, "a[href='#/recommendations']").await;
    fill(c, "input[name=customer]", "u0").await;
    click_text(c, "Show").await;
    // u0 bought rice and curry; u1, u3 and u5 also bought naan.
    text_when(c, "table.recommendations", |t| t.contains("naan")).await;
    text_when(c, "table.history", |t| t.contains("purchase")).await;
    screenshot(c, "recommendations").await;

    // Experiences: one for mobile visitors, built with a context condition; listed; decided for a mobile request.
    click(c, "a[href='#/experiences']").await;
    text_when(c, "h1", |t| t == "Experiences").await;
    fill(c, "input[name=experience-id]", "mobile_banner").await;
    fill(c, "input[name=experience-name]", "Mobile banner").await;
    click_text(c, "Add context condition").await;
    click(c, ".builder .leaf button.danger").await; // the builder's first, default leaf: the context one remains
    click_text(c, "Save experience").await;
    text_when(c, "table.experiences", |t| t.contains("mobile_banner")).await;
    let decide = |device: &str| json!({"customer":"u0","context":{"device":device}});
    let (_, d) = s.post("/v1/projects/shop-1/experiences/decide", &k.ingest, decide("mobile")).await;
    assert_eq!(d["experiences"][0]["id"], "mobile_banner", "{d}");
    let (_, d) = s.post("/v1/projects/shop-1/experiences/decide", &k.ingest, decide("desktop")).await;
    assert_eq!(d["experiences"], json!([]), "{d}");
    click_text(c, "Report mobile_banner").await;
    text_when(c, "table.report", |t| t.contains("Exposed")).await;
    screenshot(c, "experiences").await;

    // Activity and keys render; at a phone's width nothing overflows sideways.
    click(c, "a[href='#/activity']").await;
    text_when(c, ".live", |t| t.chars().all(|ch| ch.is_ascii_digit()) && !t.is_empty()).await;
    assert!(c.find(Locator::Css("svg.chart rect")).await.is_ok(), "a bar per day and type");
    screenshot(c, "activity").await;
    click(c, "a[href='#/keys']").await;
    text_when(c, "table", |t| t.contains("admin") && t.contains("ingest")).await;
    screenshot(c, "keys").await;
    c.set_window_size(390, 844).await.unwrap();
    for page in ["interactions", "uploads", "audiences", "recommendations", "earnings", "experiences"] {
        click(c, &format!("a[href='#/{page}']")).await;
        text_when(c, "h1", |t| !t.is_empty() && t != "Loading…").await;
        let overflow =
            c.execute("return document.documentElement.scrollWidth - window.innerWidth", vec![]).await.unwrap();
        assert!(overflow.as_i64().unwrap_or(0) <= 0, "{page} overflows at 390 px by {overflow}");
        screenshot(c, &format!("{page}-phone")).await;
    }
    b.client.clone().close().await.unwrap();
}

/// A shop's page on another origin: a static server on its own port answering every request with `html`.
fn storefront(html: String) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let mut head = [0u8; 4096];
            let _ = std::io::Read::read(&mut stream, &mut head);
            let answer = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{html}",
                html.len()
            );
            let _ = std::io::Write::write_all(&mut stream, answer.as_bytes());
        }
    });
    origin
}

/// Issue 15, §5: a storefront page on another origin loads `/tracker.js`, tracks as an anonymous visitor,
/// identifies, renders a widget from `recommend` (its impression), has an item of it clicked, and is left (the
/// beacon flush). The server then holds the visitor's events under the customer, and the widget's impression and
/// click; after a purchase of the clicked item the report, and the console's page, show the attributed revenue.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storefront_on_another_origin_tracks_identifies_and_earns_with_tracker_js() {
    let s = Server::start();
    let k = s.project("shop-1").await;
    let (status, created) = s.post("/v1/projects/shop-1/keys", &k.admin, json!({"scope":"public"})).await;
    assert_eq!(status, StatusCode::CREATED);
    let pk = created["key"].as_str().unwrap().to_string();
    let data: Vec<_> = ["rice", "curry", "naan"]
        .iter()
        .map(|item| json!({"event":"purchase","customer":"u1","item":item,"date":"2026-11-20"}))
        .collect();
    assert_eq!(s.post("/feedback", &k.ingest, json!({"project":"shop-1","data":data})).await.0, StatusCode::OK);

    let page = format!(
        r#"<!doctype html><html><body><div id="widget"></div>
<script src="{url}/tracker.js"></script>
<script>
affinity.init({{url: "{url}", project: "shop-1", key: "{pk}"}});
affinity.track("view", {{item: "naan"}});
affinity.track("cart", {{item: "naan", quantity: 2, price: 3.5}});
affinity.recommend({{for: "popular", n: 3, placement: "home_top"}}).then(function (items) {{
  var widget = document.getElementById("widget");
  items.forEach(function (i) {{
    var b = document.createElement("button");
    b.className = "rec";
    b.textContent = i.item;
    b.onclick = function () {{ affinity.click(i.recommendation_id, i.item); }};
    widget.appendChild(b);
  }});
}});
</script></body></html>"#,
        url = s.url
    );
    let shop = storefront(page);
    let (status, body) = s.put("/v1/projects/shop-1/settings", &k.admin, json!({"allowed_origins":[shop]})).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let downloads = tempfile::tempdir().unwrap();
    let b = browser(downloads.path()).await;
    let c = &b.client;
    c.goto(&format!("{shop}/product")).await.unwrap();
    let widget = text_when(c, "#widget", |t| !t.is_empty()).await;
    assert_eq!(
        c.find_all(Locator::Css("#widget .rec")).await.unwrap().len(),
        3,
        "popular items through CORS: {widget}"
    );
    let anonymous = c.execute("return affinity.anonymousId()", vec![]).await.unwrap();
    let anonymous = anonymous.as_str().unwrap().to_string();
    assert!(anonymous.starts_with("a-"), "{anonymous}");
    let cookie = c.execute("return document.cookie", vec![]).await.unwrap();
    assert!(cookie.as_str().unwrap().contains(&anonymous), "the anonymous id lives in a first-party cookie");
    // The visitor logs in.
    let identified = c
        .execute_async(
            "var done = arguments[arguments.length - 1];
             affinity.identify('u-42').then(function (r) { done(r.customer); }, function (e) { done(String(e)); });",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(identified, "u-42");
    // An item of the widget is clicked; a last event, then the page is left at once: only the beacon can carry it.
    let first = c.find(Locator::Css("#widget .rec")).await.unwrap();
    let clicked = first.text().await.unwrap();
    first.click().await.unwrap();
    c.execute("affinity.track('like', {item: 'rice'})", vec![]).await.unwrap();
    c.goto("about:blank").await.unwrap();

    // The visitor's events are the customer's: those before login were sent under the anonymous id.
    let path = "/v1/projects/shop-1/customers/u-42/interactions";
    let (events, _) = within(Duration::from_secs(10), "the beacon's events", || {
        let admin = &k.admin;
        let s = &s;
        async move {
            let (_, page) = s.get(path, admin).await;
            let kinds: Vec<(String, String)> = page["interactions"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| (e["event"].as_str().unwrap_or("").into(), e["anonymous_id"].as_str().unwrap_or("").into()))
                .collect();
            (kinds.len() == 3).then_some(kinds)
        }
    })
    .await;
    let mut kinds = events;
    kinds.sort();
    let under = |kind: &str, sent_as: &str| (kind.to_string(), sent_as.to_string());
    let expected = [under("cart", &anonymous), under("like", ""), under("view", &anonymous)];
    assert_eq!(
        kinds, expected,
        "every tracked event once under the customer: the anonymous id's, and the last as u-42"
    );

    // The widget's impression and click, then a purchase of the clicked item, attributed.
    async fn report(s: &Server, admin: &str) -> serde_json::Value {
        s.get("/v1/projects/shop-1/recommendations/report?days=7", admin).await.1
    }
    within(Duration::from_secs(10), "the impression and the click", || async {
        let r = report(&s, &k.admin).await;
        (r["totals"]["impressions"] == 1 && r["totals"]["clicks"] == 1).then_some(())
    })
    .await;
    let bought = json!({"event":"purchase","customer":"u-42","item":clicked,"price":12.5,"quantity":2,
                        "date":affinity_core::date::now_ms()});
    assert_eq!(s.event("shop-1", &k.ingest, bought).await.0, StatusCode::OK);
    let r = report(&s, &k.admin).await;
    let home = &r["placements"][0];
    assert_eq!((home["placement"].as_str(), home["requests"].as_u64()), (Some("home_top"), Some(1)), "{r}");
    assert_eq!((home["attributed_purchases"].as_u64(), home["revenue"].as_f64()), (Some(1), Some(25.0)), "{r}");

    // The console shows it, with a chart.
    c.goto(&format!("{}/", s.url)).await.unwrap();
    fill(c, "input[name=project]", "shop-1").await;
    fill(c, "input[name=key]", &k.admin).await;
    click_text(c, "Sign in").await;
    text_when(c, "h1", |t| t == "Interactions").await;
    click(c, "a[href='#/earnings']").await;
    text_when(c, ".tiles", |t| t.contains("25") && t.contains("attributed revenue")).await;
    assert!(c.find(Locator::Css("svg.chart rect")).await.is_ok(), "a bar of attributed revenue");
    text_when(c, "table.report", |t| t.contains("home_top") && t.contains("100.0 %")).await;
    screenshot(c, "earnings").await;
    b.client.clone().close().await.unwrap();
}
