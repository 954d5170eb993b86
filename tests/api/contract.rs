//! What schemathesis found where the server and the OpenAPI document disagreed: each case is a request the document
//! allows that the server must accept, or one it forbids that the server must refuse.

use actix_web::http::Method;
use serde_json::json;

use crate::common::spawn_app;

#[actix_web::test]
async fn a_whole_number_written_with_a_fraction_is_an_integer() {
    let app = spawn_app().await;
    let district = app.organisation("TS", "superior_committee", None).await;
    let base = app.organisation("TS-A", "base_committee", Some(&district)).await;
    let body = json!({"organisation_id": base, "year": 2012.0, "grade": "clean_strong"});
    let created = app.post("/api/v1/evaluations", &app.admin, body).await;
    assert_eq!(created.ok(201)["year"], 2012);
    let half = json!({"organisation_id": base, "year": 2013.5, "grade": "clean_strong"});
    app.post("/api/v1/evaluations", &app.admin, half)
        .await
        .problem_on(422, "year");
}

#[actix_web::test]
async fn list_year_filters_have_the_documented_range() {
    let app = spawn_app().await;
    for path in ["/api/v1/evaluations", "/api/v1/member-evaluations"] {
        app.get(&format!("{path}?year=1930"), &app.admin).await.ok(200);
        app.get(&format!("{path}?year=2200"), &app.admin).await.ok(200);
        app.get(&format!("{path}?year=1929"), &app.admin)
            .await
            .problem_on(400, "year");
        app.get(&format!("{path}?year=2201"), &app.admin)
            .await
            .problem_on(400, "year");
    }
}

#[actix_web::test]
async fn audit_filters_are_no_longer_than_documented() {
    let app = spawn_app().await;
    let at_most = "a".repeat(64);
    app.get(&format!("/api/v1/audit-events?actor={at_most}"), &app.admin)
        .await
        .ok(200);
    for (name, max) in [("resource_type", 64), ("resource_id", 200), ("actor", 64)] {
        let long = "a".repeat(max + 1);
        app.get(&format!("/api/v1/audit-events?{name}={long}"), &app.admin)
            .await
            .problem_on(400, name);
    }
}

#[actix_web::test]
async fn an_overlong_entity_tag_list_is_refused() {
    let app = spawn_app().await;
    let district = app.organisation("TS", "superior_committee", None).await;
    let path = format!("/api/v1/organisations/{district}");
    let long = format!("\"{}\"", "x".repeat(1100));
    for header in ["If-None-Match", "If-Match"] {
        let reply = app
            .call(Method::GET, &path, Some(&app.admin), None, &[(header, long.as_str())])
            .await;
        reply.problem_on(400, &header.to_ascii_lowercase());
    }
    let reply = app
        .call(
            Method::GET,
            &path,
            Some(&app.admin),
            None,
            &[("If-None-Match", "\"0\"")],
        )
        .await;
    reply.ok(200);
}

#[actix_web::test]
async fn resolution_quantities_are_bounded_so_that_they_read_back() {
    let app = spawn_app().await;
    let district = app.organisation("TS", "superior_committee", None).await;
    let resolution = |target: f64| {
        json!({"number": format!("N-{target}"), "title": "Phát triển đảng viên", "issuing_organisation_id": district,
            "issued_on": "2013-01-15", "field": "member_development",
            "targets": [{"indicator": "new members admitted", "target": target, "unit": "members"}]})
    };
    // -f64::MAX was stored, and then could not be read back: 500 on every read of the resolution.
    app.post("/api/v1/resolutions", &app.admin, resolution(-f64::MAX))
        .await
        .problem_on(422, "targets[0].target");
    app.post("/api/v1/resolutions", &app.admin, resolution(1e9))
        .await
        .ok(201);
}
