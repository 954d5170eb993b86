//! What every writable resource shares: If-Match guards PATCH and DELETE, and every write leaves an audit record.

use actix_web::http::Method;
use serde_json::{json, Value};

use crate::common::spawn_app;

#[actix_web::test]
async fn if_match_guards_every_change_and_every_write_is_audited() {
    let app = spawn_app().await;
    let district = app.organisation("TS", "superior_committee", None).await;
    let commune = app.organisation("TS-A", "base_committee", Some(&district)).await;
    let cell = app.organisation("TS-A-1", "cell", Some(&commune)).await;
    let created = |reply: crate::common::Reply| reply.ok(201)["id"].as_str().unwrap().to_owned();

    let member = created(
        app.post(
            "/api/v1/members",
            &app.admin,
            json!({"full_name": "Hà Thị Mai", "birth_date": "1980-01-01", "organisation_id": cell,
                   "admitted_on": "2005-01-01"}),
        )
        .await,
    );
    let resolution = created(
        app.post(
            "/api/v1/resolutions",
            &app.admin,
            json!({"number": "01-NQ/HU", "title": "Nghị quyết", "issuing_organisation_id": district,
                   "issued_on": "2013-01-10", "field": "other"}),
        )
        .await,
    );
    app.post(
        &format!("/api/v1/resolutions/{resolution}/implementations"),
        &app.admin,
        json!({"organisation_id": commune}),
    )
    .await
    .ok(201);
    let evaluation = created(
        app.post(
            "/api/v1/evaluations",
            &app.admin,
            json!({"organisation_id": commune, "year": 2012, "grade": "clean_strong"}),
        )
        .await,
    );
    let member_evaluation = created(
        app.post(
            "/api/v1/member-evaluations",
            &app.admin,
            json!({"member_id": member, "year": 2012, "grade": "good"}),
        )
        .await,
    );

    let items = [
        ("organisation", format!("/api/v1/organisations/{cell}")),
        ("member", format!("/api/v1/members/{member}")),
        ("resolution", format!("/api/v1/resolutions/{resolution}")),
        (
            "implementation",
            format!("/api/v1/resolutions/{resolution}/implementations/{commune}"),
        ),
        ("evaluation", format!("/api/v1/evaluations/{evaluation}")),
        (
            "member_evaluation",
            format!("/api/v1/member-evaluations/{member_evaluation}"),
        ),
    ];
    let admin = Some(app.admin.as_str());
    for (resource, path) in &items {
        let read = app.get(path, &app.admin).await;
        let before = read.ok(200).clone();
        let tag = read.header("etag").unwrap().to_owned();
        let patch = if *resource == "implementation" {
            json!({"report": "x"})
        } else {
            json!({"note": "x"})
        };
        let patch = if *resource == "resolution" {
            json!({"summary": "x"})
        } else {
            patch
        };
        let stale = app
            .call(Method::PATCH, path, admin, Some(&patch), &[("if-match", "\"99\"")])
            .await;
        stale.problem(412);
        let stale = app
            .call(Method::DELETE, path, admin, None, &[("if-match", "\"99\"")])
            .await;
        stale.problem(412);
        assert_eq!(
            app.get(path, &app.admin).await.ok(200),
            &before,
            "{resource}: a refused write changed it"
        );
        let fresh = app
            .call(Method::PATCH, path, admin, Some(&patch), &[("if-match", &tag)])
            .await;
        assert_eq!(fresh.ok(200)["version"], 2, "{resource}");
    }

    // Deletions, in an order that leaves nothing in use.
    for (_, path) in items.iter().rev() {
        if path.contains("/organisations/") || path.contains("/members/") {
            continue;
        }
        let reply = app
            .call(Method::DELETE, path, admin, None, &[("if-match", "\"2\"")])
            .await;
        assert_eq!(reply.status, 204, "{path}: {}", reply.body);
    }
    let member_path = &items[1].1;
    assert_eq!(app.delete(member_path, &app.admin).await.status, 204);

    for (resource, _) in &items {
        let path = format!("/api/v1/audit-events?resource_type={resource}");
        let events = app.get(&path, &app.admin).await.ok(200)["items"]
            .as_array()
            .unwrap()
            .clone();
        let mut actions: Vec<&str> = events.iter().map(|e| e["action"].as_str().unwrap()).collect();
        actions.sort_unstable();
        let expected: Vec<&str> = match *resource {
            // The organisation's record was only changed, not deleted; three organisations were created.
            "organisation" => vec!["create", "create", "create", "update"],
            _ => vec!["create", "delete", "update"],
        };
        assert_eq!(actions, expected, "{resource}");
        assert!(events.iter().all(|e| e["changes"] != Value::Null));
    }
}

#[actix_web::test]
async fn read_only_routes_refuse_writes_with_405() {
    let app = spawn_app().await;
    for (method, path, allow) in [
        (Method::POST, "/api/v1/audit-events", "GET, HEAD"),
        (Method::DELETE, "/api/v1/audit-events", "GET, HEAD"),
        (Method::POST, "/api/v1/reports/evaluations", "GET, HEAD"),
        (Method::PUT, "/api/v1/rating-schemes", "GET, HEAD"),
        (Method::PATCH, "/api/v1/members", "GET, HEAD, POST"),
    ] {
        let reply = app.call(method.clone(), path, Some(&app.admin), None, &[]).await;
        reply.problem(405);
        assert_eq!(reply.header("allow"), Some(allow), "{method} {path}");
    }
}
