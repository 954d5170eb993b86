//! `Idempotency-Key` on every POST: replays, mismatches, a repeat while the first still runs, a crash before the
//! commit, expiry.

use std::time::Duration;

use actix_web::http::Method;
use diesel_async::SimpleAsyncConnection;
use serde_json::{json, Value};

use crate::common::{request, serve, spawn_app};

const ORGS: &str = "/api/v1/organisations";
const MEMBERS: &str = "/api/v1/members";

fn organisation(code: &str) -> Value {
    json!({"code": code, "name": format!("Chi bộ {code}"), "kind": "superior_committee"})
}

#[actix_web::test]
async fn a_repeat_replays_the_kept_answer_and_changes_nothing() {
    let app = spawn_app().await;
    let key = [("Idempotency-Key", "create-ts-1")];
    let first = app
        .call(Method::POST, ORGS, Some(&app.admin), Some(&organisation("TS")), &key)
        .await;
    first.ok(201);
    assert_eq!(first.header("idempotent-replayed"), None);
    let again = app
        .call(Method::POST, ORGS, Some(&app.admin), Some(&organisation("TS")), &key)
        .await;
    assert_eq!(again.status, 201);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.raw, first.raw, "the same body, byte for byte");
    for header in ["location", "etag", "content-type"] {
        assert_eq!(again.header(header), first.header(header), "{header}");
    }
    assert_eq!(app.db.count("SELECT count(*) AS n FROM organisations").await, 1);
    assert_eq!(
        app.db
            .count("SELECT count(*) AS n FROM audit_events WHERE resource_type = 'organisation'")
            .await,
        1
    );
    assert_eq!(app.db.count("SELECT count(*) AS n FROM idempotency_keys").await, 1);

    // A refusal is an answer too: it is kept and replayed, and a later success needs a new key.
    let bad_key = [("Idempotency-Key", "create-bad")];
    let refused = app
        .call(
            Method::POST,
            ORGS,
            Some(&app.admin),
            Some(&json!({"code": "X"})),
            &bad_key,
        )
        .await;
    refused.problem(422);
    let replayed = app
        .call(
            Method::POST,
            ORGS,
            Some(&app.admin),
            Some(&json!({"code": "X"})),
            &bad_key,
        )
        .await;
    replayed.problem(422);
    assert_eq!(replayed.header("idempotent-replayed"), Some("true"));
}

#[actix_web::test]
async fn the_same_key_for_another_request_is_refused() {
    let app = spawn_app().await;
    let key = [("Idempotency-Key", "k-1")];
    app.call(Method::POST, ORGS, Some(&app.admin), Some(&organisation("A")), &key)
        .await
        .ok(201);
    // Another body, another path, another query: 422 naming the header, nothing stored.
    let other_body = app
        .call(Method::POST, ORGS, Some(&app.admin), Some(&organisation("B")), &key)
        .await;
    other_body.problem_on(422, "Idempotency-Key");
    let other_path = app
        .call(
            Method::POST,
            "/api/v1/tokens",
            Some(&app.admin),
            Some(&json!({"name": "t", "role": "viewer"})),
            &key,
        )
        .await;
    other_path.problem_on(422, "Idempotency-Key");
    assert_eq!(app.db.count("SELECT count(*) AS n FROM organisations").await, 1);
    assert_eq!(app.db.count("SELECT count(*) AS n FROM api_tokens").await, 1);

    // Keys are per token: another token's same key is its own.
    let other = app.token("other-admin", "admin", None).await;
    app.call(Method::POST, ORGS, Some(&other), Some(&organisation("B")), &key)
        .await
        .ok(201);
    assert_eq!(app.db.count("SELECT count(*) AS n FROM organisations").await, 2);

    for bad in ["", &"k".repeat(256), "khóa"] {
        let reply = app
            .call(
                Method::POST,
                ORGS,
                Some(&app.admin),
                Some(&organisation("C")),
                &[("Idempotency-Key", bad)],
            )
            .await;
        reply.problem_on(400, "Idempotency-Key");
    }
    assert_eq!(app.db.count("SELECT count(*) AS n FROM organisations").await, 2);
}

#[actix_web::test]
async fn a_repeat_while_the_first_runs_is_409_and_never_a_second_creation() {
    let app = spawn_app().await;
    let province = app.organisation("P", "superior_committee", None).await;
    let cell = app.organisation("P-C", "base_cell", Some(&province)).await;
    let admission = json!({"full_name": "Lê Thị Hoa", "birth_date": "1990-03-03", "organisation_id": cell,
                           "admitted_on": "2024-05-19"});
    let key = [("Idempotency-Key", "admit-hoa")];

    // Another session holds the cell's row, so the first admission waits inside its transaction.
    let mut blocker = app.db.connect().await;
    blocker
        .batch_execute(&format!(
            "BEGIN; SELECT 1 FROM organisations WHERE id = '{cell}' FOR UPDATE"
        ))
        .await
        .unwrap();
    let first = app.call(Method::POST, MEMBERS, Some(&app.admin), Some(&admission), &key);
    let repeat = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let reply = app
            .call(Method::POST, MEMBERS, Some(&app.admin), Some(&admission), &key)
            .await;
        blocker.batch_execute("COMMIT").await.unwrap();
        reply
    };
    let (first, repeat) = tokio::join!(first, repeat);
    repeat.problem(409);
    first.ok(201);
    let replay = app
        .call(Method::POST, MEMBERS, Some(&app.admin), Some(&admission), &key)
        .await;
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(replay.body["id"], first.body["id"]);
    assert_eq!(app.db.count("SELECT count(*) AS n FROM members").await, 1);
    assert_eq!(app.db.count("SELECT count(*) AS n FROM member_events").await, 1);
}

#[actix_web::test]
async fn a_crash_before_the_commit_leaves_neither_the_change_nor_the_key() {
    let app = spawn_app().await;
    let province = app.organisation("P", "superior_committee", None).await;
    let cell = app.organisation("P-C", "base_cell", Some(&province)).await;
    let body = json!({"full_name": "Trần Văn Bình", "birth_date": "1985-04-04", "organisation_id": cell,
                      "admitted_on": "2024-05-19"})
    .to_string();
    let auth = format!("Bearer {}", app.admin);
    let headers = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/json"),
        ("Idempotency-Key", "admit-binh"),
    ];

    let served = serve(&app.db.url, &[]);
    let mut blocker = app.db.connect().await;
    blocker
        .batch_execute(&format!(
            "BEGIN; SELECT 1 FROM organisations WHERE id = '{cell}' FOR UPDATE"
        ))
        .await
        .unwrap();
    let address = served.address.clone();
    let (owned_headers, owned_body) = (
        headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect::<Vec<_>>(),
        body.clone(),
    );
    let waiting = std::thread::spawn(move || {
        let headers: Vec<(&str, &str)> = owned_headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        request(&address, "POST", MEMBERS, &headers, Some(&owned_body))
    });
    // The request is inside its transaction, waiting for the cell: the process dies there.
    tokio::time::sleep(Duration::from_millis(800)).await;
    drop(served);
    let _ = waiting.join();
    blocker.batch_execute("COMMIT").await.unwrap();
    assert_eq!(app.db.count("SELECT count(*) AS n FROM members").await, 0);
    assert_eq!(app.db.count("SELECT count(*) AS n FROM idempotency_keys").await, 0);

    // The client's retry after the crash runs for the first time, once.
    let restarted = serve(&app.db.url, &[]);
    let retried = request(&restarted.address, "POST", MEMBERS, &headers, Some(&body));
    assert_eq!(retried.status, 201, "{}", String::from_utf8_lossy(&retried.body));
    assert_eq!(retried.header("idempotent-replayed"), None);
    let again = request(&restarted.address, "POST", MEMBERS, &headers, Some(&body));
    assert_eq!(again.status, 201);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.body, retried.body);
    assert_eq!(app.db.count("SELECT count(*) AS n FROM members").await, 1);
}

#[actix_web::test]
async fn expired_keys_are_deleted_and_then_run_afresh() {
    let app = spawn_app().await;
    let key = [("Idempotency-Key", "old")];
    app.call(Method::POST, ORGS, Some(&app.admin), Some(&organisation("A")), &key)
        .await
        .ok(201);
    let kept_for = app
        .db
        .count("SELECT extract(epoch FROM expires_at - created_at)::bigint AS n FROM idempotency_keys")
        .await;
    assert_eq!(kept_for, 24 * 3600);
    app.db
        .execute("UPDATE idempotency_keys SET expires_at = now() - interval '1 second'")
        .await;
    // An expired key no longer answers, even before the clean-up has run.
    app.call(Method::POST, ORGS, Some(&app.admin), Some(&organisation("B")), &key)
        .await
        .ok(201);
    app.db
        .execute("UPDATE idempotency_keys SET expires_at = now() - interval '1 second'")
        .await;
    app.call(
        Method::POST,
        ORGS,
        Some(&app.admin),
        Some(&organisation("C")),
        &[("Idempotency-Key", "fresh")],
    )
    .await
    .ok(201);
    let mut conn = app.db.connect().await;
    let deleted = partybase::idempotency::delete_expired(&mut conn).await.unwrap();
    assert_eq!(deleted, 1);
    // The unexpired key stays.
    assert_eq!(
        app.db
            .count("SELECT count(*) AS n FROM idempotency_keys WHERE key = 'fresh'")
            .await,
        1
    );
    assert_eq!(app.db.count("SELECT count(*) AS n FROM idempotency_keys").await, 1);
}
