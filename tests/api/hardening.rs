//! What outside testing found on the input paths and in the authority rules, each as a client meets it.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use actix_web::http::Method;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use diesel_async::{AsyncConnection, SimpleAsyncConnection};
use serde_json::{json, Value};

use crate::common::{serve, spawn_app, spawn_app_with, TestDatabase};

const ORGS: &str = "/api/v1/organisations";
const EVALS: &str = "/api/v1/evaluations";

#[actix_web::test]
async fn a_cursor_is_checked_like_any_other_input() {
    let app = spawn_app().await;
    let crafted = URL_SAFE_NO_PAD.encode(format!(r#"{{"Name":["\u0000","{}"]}}"#, uuid::Uuid::now_v7()));
    for path in [
        format!("/api/v1/members?sort=name&cursor={crafted}"),
        format!("{ORGS}?cursor={crafted}"),
        format!("{EVALS}?cursor={}", URL_SAFE_NO_PAD.encode("[\"-4713-01-01\", 1]")),
    ] {
        app.get(&path, &app.admin).await.problem_on(400, "cursor");
    }
    // An empty cursor is the first page.
    app.get(&format!("{ORGS}?cursor="), &app.admin).await.ok(200);
}

#[actix_web::test]
async fn a_key_given_twice_is_refused_and_nothing_is_created() {
    let app = spawn_app().await;
    let body = r#"{"code": "A", "code": "B", "name": "x", "kind": "superior_committee"}"#;
    let request = actix_web::test::TestRequest::post()
        .uri(ORGS)
        .insert_header(("authorization", format!("Bearer {}", app.admin)))
        .insert_header(("content-type", "application/json"))
        .set_payload(body);
    app.send(request).await.problem_on(422, "code");
    assert_eq!(app.db.count("SELECT count(*) AS n FROM organisations").await, 0);
}

#[actix_web::test]
async fn a_query_that_is_not_utf8_is_refused() {
    let app = spawn_app().await;
    app.get(&format!("{ORGS}?q=%FF%FE"), &app.admin)
        .await
        .problem_on(400, "q");
    app.get("/api/v1/reports/evaluations?year=%FF", &app.admin)
        .await
        .problem_on(400, "year");
    app.get(&format!("{ORGS}?q=Thanh%20S%C6%A1n"), &app.admin).await.ok(200);
}

#[actix_web::test]
async fn scores_take_one_decimal() {
    let app = spawn_app().await;
    let district = app.organisation("TS", "superior_committee", None).await;
    let commune = app.organisation("TS-A", "base_committee", Some(&district)).await;
    let cell = app.organisation("TS-B", "base_cell", Some(&district)).await;
    // From 2025 a score is required and must fall in the grade's band (completed: 50 to 69.9).
    let whole = app
        .post(
            EVALS,
            &app.admin,
            json!({"organisation_id": commune, "year": 2025, "grade": "completed", "score": 50.0}),
        )
        .await;
    assert_eq!(whole.ok(201)["score"], 50.0);
    let half = app
        .post(
            EVALS,
            &app.admin,
            json!({"organisation_id": cell, "year": 2025, "grade": "not_completed", "score": 49.5}),
        )
        .await;
    let path = format!("{EVALS}/{}", half.ok(201)["id"].as_str().unwrap());
    assert_eq!(app.get(&path, &app.admin).await.ok(200)["score"], 49.5);
    assert_eq!(
        app.db
            .count("SELECT count(*) AS n FROM evaluations WHERE score = 49.5")
            .await,
        1
    );
    app.patch(&path, &app.admin, json!({"score": 49.25}))
        .await
        .problem_on(422, "score");
    app.patch(&path, &app.admin, json!({"score": 100.5}))
        .await
        .problem_on(422, "score");
    app.patch(&path, &app.admin, json!({"score": 69.9, "grade": "completed"}))
        .await
        .ok(200);
    assert_eq!(app.get(&path, &app.admin).await.ok(200)["score"], 69.9);
}

#[actix_web::test]
async fn a_statement_past_the_timeout_answers_503() {
    let app = spawn_app_with(&[("PARTYBASE_STATEMENT_TIMEOUT_MS", "300")]).await;
    // Another session holds the organisations table, so the list waits until PostgreSQL cancels it.
    let mut holder = diesel_async::AsyncPgConnection::establish(&app.db.url).await.unwrap();
    holder
        .batch_execute("BEGIN; LOCK TABLE organisations IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let started = Instant::now();
    let reply = app.get(ORGS, &app.admin).await;
    reply.problem(503);
    assert!(reply.header("retry-after").is_some());
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    holder.batch_execute("ROLLBACK").await.unwrap();
    app.get(ORGS, &app.admin).await.ok(200);
}

#[actix_web::test]
async fn a_token_that_cannot_be_looked_up_answers_503_with_the_rate_limit() {
    let app = spawn_app_with(&[("PARTYBASE_STATEMENT_TIMEOUT_MS", "300")]).await;
    let mut holder = diesel_async::AsyncPgConnection::establish(&app.db.url).await.unwrap();
    holder
        .batch_execute("BEGIN; LOCK TABLE api_tokens IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let reply = app.get(ORGS, &app.admin).await;
    reply.problem(503);
    assert_eq!(reply.header("ratelimit-policy"), Some("\"default\";q=600;w=60"));
    assert!(reply
        .header("ratelimit")
        .is_some_and(|v| v.starts_with("\"default\";r=599;")));
    holder.batch_execute("ROLLBACK").await.unwrap();
}

#[actix_web::test]
async fn a_target_that_results_report_on_stays() {
    let app = spawn_app().await;
    let district = app.organisation("TS", "superior_committee", None).await;
    let commune = app.organisation("TS-A", "base_committee", Some(&district)).await;
    let resolution = app
        .post(
            "/api/v1/resolutions",
            &app.admin,
            json!({"number": "05-NQ/HU", "title": "Phát triển đảng viên", "issuing_organisation_id": district,
                   "issued_on": "2013-01-10", "field": "member_development",
                   "targets": [{"indicator": "admitted", "target": 300, "unit": "members"},
                               {"indicator": "trained", "target": 50, "unit": "members"}]}),
        )
        .await;
    let path = format!("/api/v1/resolutions/{}", resolution.ok(201)["id"].as_str().unwrap());
    app.post(
        &format!("{path}/implementations"),
        &app.admin,
        json!({"organisation_id": commune, "status": "in_progress",
               "results": [{"indicator": "admitted", "achieved": 7}]}),
    )
    .await
    .ok(201);
    let refused = app
        .patch(
            &path,
            &app.admin,
            json!({"targets": [{"indicator": "trained", "target": 50, "unit": "members"}]}),
        )
        .await;
    refused.problem_on(409, "targets");
    assert_eq!(
        app.get(&path, &app.admin).await.ok(200)["targets"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // A target nothing reports on may go.
    let kept = app
        .patch(
            &path,
            &app.admin,
            json!({"targets": [{"indicator": "admitted", "target": 320, "unit": "members"}]}),
        )
        .await;
    assert_eq!(kept.ok(200)["targets"][0]["target"], 320.0);
    app.patch(
        &format!("{path}/implementations/{commune}"),
        &app.admin,
        json!({"results": [{"indicator": "admitted", "achieved": 9}]}),
    )
    .await
    .ok(200);
}

#[actix_web::test]
async fn a_body_that_stops_arriving_gets_408() {
    let db = TestDatabase::new().await;
    let served = serve(&db.url, &[("PARTYBASE_BODY_TIMEOUT_SECS", "1")]);
    let token = db.issue_token("admin", "admin", None).await;
    let mut stream = TcpStream::connect(&served.address).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let head = format!(
        "POST {ORGS} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{"
    );
    stream.write_all(head.as_bytes()).unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("application/problem+json"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
}

#[actix_web::test]
async fn every_api_response_states_the_rate_limit() {
    let app = spawn_app().await;
    for (method, path, token) in [
        (Method::GET, ORGS, Some(app.admin.as_str())),
        (Method::GET, ORGS, None),
        (Method::POST, ORGS, Some(app.admin.as_str())),
        (
            Method::GET,
            "/api/v1/organisations/not-a-uuid",
            Some(app.admin.as_str()),
        ),
    ] {
        let reply = app.call(method.clone(), path, token, None, &[]).await;
        assert_eq!(
            reply.header("ratelimit-policy"),
            Some("\"default\";q=600;w=60"),
            "{method} {path}"
        );
        assert!(reply
            .header("ratelimit")
            .is_some_and(|v| v.starts_with("\"default\";r=")));
    }
}

/// Sends raw bytes on a new connection and reads until the server closes it.
fn exchange(address: &str, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream.write_all(request).unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

#[actix_web::test]
async fn heads_the_http_parser_refuses_get_problem_documents() {
    let db = TestDatabase::new().await;
    let served = serve(&db.url, &[]);
    let long = format!("GET {ORGS}?q={} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(100_000));
    let many: String = (0..100).map(|i| format!("X-Filler-{i}: 1\r\n")).collect();
    for (request, status) in [
        (long.into_bytes(), "414"),
        (
            b"GET /api/v1/organisations/caf\xff HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            "400",
        ),
        (b"GET /api/v1/\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(), "400"),
        (format!("GET /healthz HTTP/1.1\r\n{many}\r\n").into_bytes(), "431"),
    ] {
        let answer = exchange(&served.address, &request);
        assert!(answer.starts_with(&format!("HTTP/1.1 {status}")), "{answer}");
        assert!(answer.contains("content-type: application/problem+json"), "{answer}");
        let body: Value = serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap()).unwrap();
        assert_eq!(body["status"].to_string(), status);
    }
}

#[actix_web::test]
async fn kept_alive_connections_pass_bodies_and_pipelined_requests_unchanged() {
    let db = TestDatabase::new().await;
    let served = serve(&db.url, &[]);
    let token = db.issue_token("admin", "admin", None).await;
    let body = r#"{"code": "TS", "name": "Thanh Sơn", "kind": "superior_committee"}"#;
    let chunked = r#"{"code": "YL", "name": "Yên Lập", "kind": "superior_committee"}"#;
    let request = format!(
        "POST {ORGS} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}\
         POST {ORGS} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\n\r\n{:x}\r\n{chunked}\r\n0\r\n\r\n\
         GET {ORGS}?q=Y%C3%AAn HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n\
         GET {ORGS}?q=Thanh HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n",
        body.len(),
        chunked.len()
    );
    let answer = exchange(&served.address, request.as_bytes());
    let statuses: Vec<&str> = answer
        .match_indices("HTTP/1.1 ")
        .map(|(i, _)| &answer[i + 9..i + 12])
        .collect();
    assert_eq!(statuses, ["201", "201", "200", "200"], "{answer}");
    assert!(answer.contains("\"code\":\"YL\""), "{answer}");
    assert_eq!(db.count("SELECT count(*) AS n FROM organisations").await, 2);
}
