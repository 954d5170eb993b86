use serde_json::{json, Value};

use crate::common::spawn_app;

#[actix_web::test]
async fn an_admin_issues_a_token_that_works_and_is_stored_only_as_a_hash() {
    let app = spawn_app().await;
    let district = app.organisation("D", "superior_committee", None).await;
    let reply = app
        .post(
            "/api/v1/tokens",
            &app.admin,
            json!({"name": "sync", "role": "editor", "organisation_id": district}),
        )
        .await;
    let issued = reply.ok(201).clone();
    let secret = issued["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("pb_") && secret.len() >= 3 + 22, "{secret}");
    assert_eq!(issued["role"], "editor");
    assert_eq!(issued["organisation_id"], district.as_str());
    assert_eq!(issued["revoked_at"], Value::Null);
    assert_eq!(
        reply.header("location"),
        Some(format!("/api/v1/tokens/{}", issued["id"].as_str().unwrap()).as_str())
    );

    app.get("/api/v1/organisations", &secret).await.ok(200);
    let location = reply.header("location").unwrap().to_owned();
    let read = app.get(&location, &app.admin).await;
    assert_eq!(read.ok(200)["name"], "sync");
    assert!(read.ok(200).get("secret").is_none());
    app.get(&location, &secret).await.problem(403);

    let stored = app
        .db
        .count(&format!(
            "SELECT count(*) AS n FROM api_tokens WHERE name = 'sync' AND secret_hash = sha256('{secret}'::bytea) \
             AND position('{secret}'::bytea IN secret_hash) = 0"
        ))
        .await;
    assert_eq!(stored, 1);

    let listed = app.get("/api/v1/tokens", &app.admin).await;
    let text = String::from_utf8(listed.raw.clone()).unwrap();
    assert!(!text.contains(&secret), "the list never shows secrets");
    assert!(listed.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t.get("secret").is_none()));
}

#[actix_web::test]
async fn token_requests_are_validated() {
    let app = spawn_app().await;
    let district = app.organisation("D", "superior_committee", None).await;
    let cases = [
        (
            json!({"name": "a", "role": "admin", "organisation_id": district}),
            "organisation_id",
        ),
        (json!({"name": "b", "role": "editor"}), "organisation_id"),
        (
            json!({"name": "c", "role": "viewer", "organisation_id": uuid::Uuid::now_v7()}),
            "organisation_id",
        ),
        (json!({"name": "has space", "role": "viewer"}), "name"),
        (json!({"name": "", "role": "viewer"}), "name"),
        (json!({"name": "d", "role": "root"}), "role"),
        (json!({"name": "e", "role": "viewer", "secret": "pb_mine"}), "secret"),
    ];
    for (body, field) in cases {
        app.post("/api/v1/tokens", &app.admin, body)
            .await
            .problem_on(422, field);
    }
    app.post("/api/v1/tokens", &app.admin, json!({"name": "admin", "role": "viewer"}))
        .await
        .problem_on(409, "name");
    assert_eq!(app.db.count("SELECT count(*) AS n FROM api_tokens").await, 1);
}

#[actix_web::test]
async fn revoking_twice_is_harmless_and_unknown_ids_are_404() {
    let app = spawn_app().await;
    app.token("t", "viewer", None).await;
    let id = app.token_id("t").await;
    assert_eq!(
        app.delete(&format!("/api/v1/tokens/{id}"), &app.admin).await.status,
        204
    );
    assert_eq!(
        app.delete(&format!("/api/v1/tokens/{id}"), &app.admin).await.status,
        204
    );
    let revocations = app
        .db
        .count(&format!(
            "SELECT count(*) AS n FROM audit_events WHERE action = 'revoke' AND resource_id = '{id}'"
        ))
        .await;
    assert_eq!(revocations, 1);
    let unknown = uuid::Uuid::now_v7();
    app.delete(&format!("/api/v1/tokens/{unknown}"), &app.admin)
        .await
        .problem(404);
}
