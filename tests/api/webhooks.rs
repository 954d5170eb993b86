//! Webhooks against a real receiver on a local port: signatures, retries, the delivery log, the target rule, and
//! two service instances delivering each change once.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::common::{request, serve, spawn_app, spawn_app_with, Wire};

const HOOKS: &str = "/api/v1/webhooks";

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

/// A local HTTP server that answers each request with the next status of its script (200 once the script is
/// used up) and keeps what it received.
struct Receiver {
    url: String,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    fn start(script: Vec<u16>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hooks/partybase", listener.local_addr().unwrap());
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&received);
        std::thread::spawn(move || {
            let mut script = script.into_iter();
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut headers = HashMap::new();
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                loop {
                    line.clear();
                    reader.read_line(&mut line).unwrap();
                    let trimmed = line.trim_end();
                    if trimmed.is_empty() {
                        break;
                    }
                    if let Some((name, value)) = trimmed.split_once(':') {
                        headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
                    }
                }
                let length: usize = headers.get("content-length").and_then(|l| l.parse().ok()).unwrap_or(0);
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                log.lock().unwrap().push(Received { headers, body });
                let status = script.next().unwrap_or(200);
                let answer = format!("HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                let _ = stream.write_all(answer.as_bytes());
            }
        });
        Receiver { url, received }
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Waits until at least `n` requests arrived.
    fn wait_for(&self, n: usize, within: Duration) -> Vec<Received> {
        let deadline = Instant::now() + within;
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "only {} of {n} deliveries arrived",
                got.len()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Checks the Standard Webhooks signature as a receiver would.
fn verify(secret: &str, received: &Received) {
    let key = STANDARD.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
    let id = &received.headers["webhook-id"];
    let timestamp = &received.headers["webhook-timestamp"];
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(&received.body);
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    assert_eq!(received.headers["webhook-signature"], expected);
    let sent_at: i64 = timestamp.parse().unwrap();
    assert!((chrono::Utc::now().timestamp() - sent_at).abs() < 60);
}

fn call(address: &str, token: &str, method: &str, target: &str, body: Option<&Value>) -> (Wire, Value) {
    let auth = format!("Bearer {token}");
    let text = body.map(Value::to_string);
    let mut headers = vec![("Authorization", auth.as_str())];
    if text.is_some() {
        headers.push(("Content-Type", "application/json"));
    }
    let wire = request(address, method, target, &headers, text.as_deref());
    let value = serde_json::from_slice(&wire.body).unwrap_or(Value::Null);
    (wire, value)
}

#[actix_web::test]
async fn a_failing_receiver_gets_a_signed_retry_and_the_log_says_so() {
    let app = spawn_app().await;
    let receiver = Receiver::start(vec![503]);
    let served = serve(&app.db.url, &[("PARTYBASE_WEBHOOK_ALLOWED_HOSTS", "127.0.0.1")]);
    let (created, hook) = call(
        &served.address,
        &app.admin,
        "POST",
        HOOKS,
        Some(&json!({"url": receiver.url, "resource_types": ["organisation"], "description": "kho dữ liệu"})),
    );
    assert_eq!(created.status, 201, "{hook}");
    let secret = hook["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_") && STANDARD.decode(&secret[6..]).unwrap().len() == 32);
    let id = hook["id"].as_str().unwrap().to_owned();
    assert_eq!(created.header("location"), Some(format!("{HOOKS}/{id}").as_str()));
    // The secret is shown once.
    let (_, read) = call(&served.address, &app.admin, "GET", &format!("{HOOKS}/{id}"), None);
    assert!(read.get("secret").is_none(), "{read}");
    assert_eq!(read["resource_types"], json!(["organisation"]));

    let organisation = app.organisation("WH", "superior_committee", None).await;
    let got = receiver.wait_for(2, Duration::from_secs(20));
    assert_eq!(got.len(), 2);
    for delivery in &got {
        verify(&secret, delivery);
        assert_eq!(delivery.headers["content-type"], "application/json");
    }
    assert_eq!(
        got[0].headers["webhook-id"], got[1].headers["webhook-id"],
        "the id is stable across retries"
    );
    let entry: Value = serde_json::from_slice(&got[1].body).unwrap();
    assert_eq!(entry["resource_type"], "organisation");
    assert_eq!(entry["resource_id"], organisation.as_str());
    assert_eq!(entry["action"], "created");
    assert_eq!(entry["cursor"], got[1].headers["webhook-id"].as_str());

    // The log: one delivery, two attempts, succeeded (the record follows the answer closely).
    let deadline = Instant::now() + Duration::from_secs(5);
    let delivery = loop {
        let (_, log) = call(
            &served.address,
            &app.admin,
            "GET",
            &format!("{HOOKS}/{id}/deliveries"),
            None,
        );
        let delivery = log["items"][0].clone();
        if delivery["status"] == "succeeded" || Instant::now() > deadline {
            break delivery;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(delivery["status"], "succeeded", "{delivery}");
    assert_eq!(delivery["attempts"], 2);
    assert_eq!(delivery["last_status_code"], 200);
    assert_eq!(delivery["cursor"], entry["cursor"]);

    // The counters of this instance, and the backlog gauges (refreshed every second or so).
    let expected = [
        "webhook_delivery_attempts_total{outcome=\"succeeded\"} 1",
        "webhook_delivery_attempts_total{outcome=\"retry\"} 1",
        "webhook_delivery_attempts_total{outcome=\"failed\"} 0",
        "webhook_deliveries{status=\"pending\"} 0",
        "webhook_deliveries{status=\"failed\"} 0",
    ];
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let metrics = request(&served.address, "GET", "/metrics", &[], None);
        let metrics = String::from_utf8_lossy(&metrics.body).into_owned();
        let missing: Vec<&str> = expected
            .iter()
            .copied()
            .filter(|e| !metrics.lines().any(|l| l == *e))
            .collect();
        if missing.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "{missing:?} not in\n{metrics}");
        std::thread::sleep(Duration::from_millis(200));
    }

    // Retry by hand: delivered again, same id.
    let delivery_id = delivery["id"].as_str().unwrap();
    let (retried, _) = call(
        &served.address,
        &app.admin,
        "POST",
        &format!("{HOOKS}/{id}/deliveries/{delivery_id}/retry"),
        None,
    );
    assert_eq!(retried.status, 202);
    let got = receiver.wait_for(3, Duration::from_secs(10));
    assert_eq!(got[2].headers["webhook-id"], got[0].headers["webhook-id"]);
    verify(&secret, &got[2]);
}

#[actix_web::test]
async fn internal_targets_are_refused_unless_listed() {
    let app = spawn_app().await;
    for url in [
        "http://127.0.0.1:9/hook",
        "http://localhost:9/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://0.0.0.0/hook",
        "ftp://example.org/hook",
        "not a url",
    ] {
        let reply = app.post(HOOKS, &app.admin, json!({"url": url})).await;
        reply.problem_on(422, "url");
    }
    assert_eq!(app.db.count("SELECT count(*) AS n FROM webhooks").await, 0);

    let listed = spawn_app_with(&[("PARTYBASE_WEBHOOK_ALLOWED_HOSTS", "localhost")]).await;
    let reply = listed
        .post(HOOKS, &listed.admin, json!({"url": "http://localhost:9/hook"}))
        .await;
    reply.ok(201);
    // Only what is listed: the address it resolves to is not listed by name.
    listed
        .post(HOOKS, &listed.admin, json!({"url": "http://127.0.0.1:9/hook"}))
        .await
        .problem_on(422, "url");
}

#[actix_web::test]
async fn subscriptions_are_for_admins_and_change_with_etags() {
    let app = spawn_app().await;
    let province = app.organisation("P", "superior_committee", None).await;
    let editor = app.token("editor", "editor", Some(&province)).await;
    app.post(HOOKS, &editor, json!({"url": "https://example.org/hook"}))
        .await
        .problem(403);
    app.get(HOOKS, &editor).await.problem(403);
    let created = app
        .post(
            HOOKS,
            &app.admin,
            json!({"url": "http://203.0.113.9/hook", "organisation_id": province, "resource_types": ["member", "member"]}),
        )
        .await;
    let id = created.ok(201)["id"].as_str().unwrap().to_owned();
    assert_eq!(created.body["resource_types"], json!(["member"]));
    assert_eq!(created.header("etag"), Some("\"1\""));
    let path = format!("{HOOKS}/{id}");
    app.get(&path, &editor).await.problem(403);
    app.patch(&path, &editor, json!({"active": false})).await.problem(403);
    let paused = app
        .call(
            actix_web::http::Method::PATCH,
            &path,
            Some(&app.admin),
            Some(&json!({"active": false})),
            &[("If-Match", "\"1\"")],
        )
        .await;
    assert_eq!(paused.ok(200)["active"], false);
    assert_eq!(paused.header("etag"), Some("\"2\""));
    app.patch(&path, &app.admin, json!({"url": null}))
        .await
        .problem_on(422, "url");
    app.patch(&path, &app.admin, json!({"url": "http://127.0.0.1/x"}))
        .await
        .problem_on(422, "url");
    let listed = app.get(HOOKS, &app.admin).await;
    assert_eq!(listed.ok(200)["items"].as_array().unwrap().len(), 1);
    assert!(listed.body["items"][0].get("secret").is_none());
    assert_eq!(
        app.db
            .count("SELECT count(*) AS n FROM audit_events WHERE resource_type = 'webhook'")
            .await,
        2
    );
    app.delete(&path, &editor).await.problem(403);
    assert_eq!(app.delete(&path, &app.admin).await.status, 204);
    app.get(&path, &app.admin).await.problem(404);
}

#[actix_web::test]
async fn two_instances_deliver_each_change_once() {
    let app = spawn_app().await;
    let receiver = Receiver::start(Vec::new());
    let allowed = [("PARTYBASE_WEBHOOK_ALLOWED_HOSTS", "127.0.0.1")];
    let one = serve(&app.db.url, &allowed);
    let two = serve(&app.db.url, &allowed);
    let (created, _) = call(
        &one.address,
        &app.admin,
        "POST",
        HOOKS,
        Some(&json!({"url": receiver.url})),
    );
    assert_eq!(created.status, 201);
    let changes = 30;
    for i in 0..changes {
        let instance = if i % 2 == 0 { &one } else { &two };
        let (made, body) = call(
            &instance.address,
            &app.admin,
            "POST",
            "/api/v1/organisations",
            Some(&json!({"code": format!("T{i}"), "name": format!("Đảng bộ {i}"), "kind": "superior_committee"})),
        );
        assert_eq!(made.status, 201, "{body}");
    }
    receiver.wait_for(changes, Duration::from_secs(30));
    // Give a second delivery time to show up, if there were one.
    std::thread::sleep(Duration::from_secs(3));
    let got = receiver.received();
    let mut ids: Vec<String> = got.iter().map(|r| r.headers["webhook-id"].clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), changes, "every change delivered");
    assert_eq!(got.len(), changes, "none twice");
    assert_eq!(
        app.db
            .count("SELECT count(*) AS n FROM webhook_deliveries WHERE status = 'succeeded' AND attempts = 1")
            .await,
        changes as i64
    );
}

#[actix_web::test]
async fn a_paused_subscription_keeps_its_changes_until_it_resumes() {
    let app = spawn_app().await;
    let receiver = Receiver::start(Vec::new());
    let served = serve(&app.db.url, &[("PARTYBASE_WEBHOOK_ALLOWED_HOSTS", "127.0.0.1")]);
    let (_, hook) = call(
        &served.address,
        &app.admin,
        "POST",
        HOOKS,
        Some(&json!({"url": receiver.url})),
    );
    let id = hook["id"].as_str().unwrap().to_owned();
    let (paused, _) = call(
        &served.address,
        &app.admin,
        "PATCH",
        &format!("{HOOKS}/{id}"),
        Some(&json!({"active": false})),
    );
    assert_eq!(paused.status, 200);
    let organisation = app.organisation("PAUSE", "superior_committee", None).await;
    std::thread::sleep(Duration::from_secs(3));
    assert!(receiver.received().is_empty(), "nothing is sent while paused");
    let (_, log) = call(
        &served.address,
        &app.admin,
        "GET",
        &format!("{HOOKS}/{id}/deliveries"),
        None,
    );
    assert_eq!(log["items"][0]["status"], "pending");
    assert_eq!(log["items"][0]["attempts"], 0);

    call(
        &served.address,
        &app.admin,
        "PATCH",
        &format!("{HOOKS}/{id}"),
        Some(&json!({"active": true})),
    );
    let got = receiver.wait_for(1, Duration::from_secs(10));
    let entry: Value = serde_json::from_slice(&got[0].body).unwrap();
    assert_eq!(entry["resource_id"], organisation.as_str());
}

#[actix_web::test]
async fn a_receiver_that_never_answers_holds_up_no_request() {
    let app = spawn_app().await;
    // Accepts connections and reads nothing, answers nothing.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let held = Arc::new(Mutex::new(Vec::new()));
    let keep = Arc::clone(&held);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            keep.lock().unwrap().push(stream);
        }
    });
    let served = serve(&app.db.url, &[("PARTYBASE_WEBHOOK_ALLOWED_HOSTS", "127.0.0.1")]);
    let (_, hook) = call(&served.address, &app.admin, "POST", HOOKS, Some(&json!({"url": url})));
    let id = hook["id"].as_str().unwrap().to_owned();
    let (made, _) = call(
        &served.address,
        &app.admin,
        "POST",
        "/api/v1/organisations",
        Some(&json!({"code": "SLOW", "name": "Đảng bộ chậm", "kind": "superior_committee"})),
    );
    assert_eq!(made.status, 201);
    let deadline = Instant::now() + Duration::from_secs(10);
    while held.lock().unwrap().is_empty() {
        assert!(Instant::now() < deadline, "the delivery never connected");
        std::thread::sleep(Duration::from_millis(50));
    }
    // While the delivery waits for its answer, the API answers reads and writes, and the attempt is still open.
    for i in 0..20 {
        let (made, body) = call(
            &served.address,
            &app.admin,
            "POST",
            "/api/v1/organisations",
            Some(&json!({"code": format!("FAST{i}"), "name": "Đảng bộ", "kind": "superior_committee"})),
        );
        assert_eq!(made.status, 201, "{body}");
    }
    let (_, log) = call(
        &served.address,
        &app.admin,
        "GET",
        &format!("{HOOKS}/{id}/deliveries?limit=200"),
        None,
    );
    let first = log["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        first["attempts"], 0,
        "the first attempt is still waiting for the receiver: {first}"
    );
    assert_eq!(first["status"], "pending");
}
