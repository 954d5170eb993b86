use actix_web::http::Method;
use serde_json::{json, Value};

use crate::common::spawn_app;

const ORGS: &str = "/api/v1/organisations";

#[actix_web::test]
async fn every_write_is_recorded_with_actor_changes_and_request_id() {
    let app = spawn_app().await;
    let editor_scope = app.organisation("D", "superior_committee", None).await;
    let editor = app.token("district-editor", "editor", Some(&editor_scope)).await;

    let body = json!({"code": "X", "name": "Chi bộ X", "kind": "base_cell", "parent_id": editor_scope});
    let reply = app
        .call(
            Method::POST,
            ORGS,
            Some(&editor),
            Some(&body),
            &[("x-request-id", "req-create")],
        )
        .await;
    let id = reply.ok(201)["id"].as_str().unwrap().to_owned();
    let patch = json!({"name": "Chi bộ X mới"});
    app.call(
        Method::PATCH,
        &format!("{ORGS}/{id}"),
        Some(&editor),
        Some(&patch),
        &[("x-request-id", "req-update")],
    )
    .await
    .ok(200);
    app.call(
        Method::DELETE,
        &format!("{ORGS}/{id}"),
        Some(&editor),
        None,
        &[("x-request-id", "req-delete")],
    )
    .await;

    let reply = app
        .get(
            &format!("/api/v1/audit-events?resource_type=organisation&resource_id={id}"),
            &app.admin,
        )
        .await;
    let events = reply.ok(200)["items"].as_array().unwrap().clone();
    let summary: Vec<(&str, &str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["actor"].as_str().unwrap(),
                e["request_id"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("delete", "district-editor", "req-delete"),
            ("update", "district-editor", "req-update"),
            ("create", "district-editor", "req-create"),
        ],
        "newest first"
    );
    assert_eq!(
        events[1]["changes"],
        json!({"before": {"name": "Chi bộ X"}, "after": {"name": "Chi bộ X mới"}})
    );
    assert_eq!(events[2]["changes"]["before"], Value::Null);
    assert_eq!(events[2]["changes"]["after"]["code"], "X");
    assert_eq!(events[0]["changes"]["after"], Value::Null);
    assert_eq!(events[0]["changes"]["before"]["name"], "Chi bộ X mới");
    assert!(events
        .iter()
        .all(|e| e["at"].as_str().is_some_and(|at| at.ends_with('Z'))));
}

#[actix_web::test]
async fn token_changes_are_recorded() {
    let app = spawn_app().await;
    app.token("t", "viewer", None).await;
    let id = app.token_id("t").await;
    app.delete(&format!("/api/v1/tokens/{id}"), &app.admin).await;
    let reply = app
        .get("/api/v1/audit-events?resource_type=token&actor=admin", &app.admin)
        .await;
    let events = reply.ok(200)["items"].as_array().unwrap().clone();
    let actions: Vec<&str> = events.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, vec!["revoke", "create"]);
    assert_eq!(events[0]["changes"]["before"]["revoked_at"], Value::Null);
    assert!(events[0]["changes"]["after"]["revoked_at"].is_string());
    let text = String::from_utf8(reply.raw.clone()).unwrap();
    assert!(!text.contains("pb_"), "no secret in the audit trail");
}

#[actix_web::test]
async fn a_refused_write_leaves_no_audit_record() {
    let app = spawn_app().await;
    let before = app.db.count("SELECT count(*) AS n FROM audit_events").await;
    app.post(ORGS, &app.admin, json!({"code": "X", "name": "X", "kind": "cell"}))
        .await
        .problem(422);
    app.organisation("A", "superior_committee", None).await;
    app.post(
        ORGS,
        &app.admin,
        json!({"code": "A", "name": "X", "kind": "superior_committee"}),
    )
    .await
    .problem(409);
    assert_eq!(app.db.count("SELECT count(*) AS n FROM audit_events").await, before + 1);
}

#[actix_web::test]
async fn audit_filters_by_time_and_the_trail_is_append_only() {
    let app = spawn_app().await;
    app.organisation("A", "superior_committee", None).await;
    let future = app
        .get("/api/v1/audit-events?from=2999-01-01T00:00:00Z", &app.admin)
        .await;
    assert!(future.ok(200)["items"].as_array().unwrap().is_empty());
    let past = app
        .get("/api/v1/audit-events?to=2000-01-01T00:00:00Z", &app.admin)
        .await;
    assert!(past.ok(200)["items"].as_array().unwrap().is_empty());
    let all = app
        .get("/api/v1/audit-events?from=2000-01-01T00:00:00Z&count=exact", &app.admin)
        .await;
    assert_eq!(all.ok(200)["total"], 2, "the admin token and the organisation");
    app.get("/api/v1/audit-events?from=yesterday", &app.admin)
        .await
        .problem_on(400, "from");
    app.get("/api/v1/audit-events?resource=x", &app.admin)
        .await
        .problem_on(400, "resource");

    let mut conn = app.db.connect().await;
    use diesel_async::RunQueryDsl;
    let refused = diesel::sql_query("UPDATE audit_events SET actor = 'someone else'")
        .execute(&mut conn)
        .await;
    assert!(refused.is_err());
    let refused = diesel::sql_query("DELETE FROM audit_events").execute(&mut conn).await;
    assert!(refused.is_err());
}
