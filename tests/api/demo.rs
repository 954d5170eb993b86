//! The Thanh Sơn demo district reproduces the article's figures through the API.

use serde_json::json;

use crate::common::spawn_app;

#[actix_web::test]
async fn the_demo_reads_back_the_articles_table_and_loads_once() {
    let app = spawn_app().await;
    let mut conn = app.db.connect().await;
    let first = partybase::seed::load_demo(&mut conn).await.unwrap();
    assert!(matches!(first, partybase::seed::Outcome::Loaded { .. }));
    let organisations = app.db.count("SELECT count(*) AS n FROM organisations").await;
    let members = app.db.count("SELECT count(*) AS n FROM members").await;
    assert!(
        (2000..10_000).contains(&members),
        "a few thousand members, got {members}"
    );
    let second = partybase::seed::load_demo(&mut conn).await.unwrap();
    assert_eq!(second, partybase::seed::Outcome::AlreadyLoaded);
    assert_eq!(
        app.db.count("SELECT count(*) AS n FROM organisations").await,
        organisations
    );
    assert_eq!(app.db.count("SELECT count(*) AS n FROM members").await, members);
    drop(conn);

    let report = app.get("/api/v1/reports/evaluations?year=2012", &app.admin).await;
    let report = report.ok(200);
    assert_eq!(report["base_organisations"], 46);
    assert_eq!(report["evaluated"], 46);
    assert_eq!(
        report["grades"],
        json!([{"grade": "clean_strong", "count": 32, "percent": 69.57},
               {"grade": "well_completed", "count": 13, "percent": 28.26},
               {"grade": "completed", "count": 1, "percent": 2.17},
               {"grade": "weak", "count": 0, "percent": 0.0}])
    );
    assert_eq!(report["exemplary"], 6);

    let admissions = app
        .get("/api/v1/reports/admissions?from=2012-01-01&to=2012-12-31", &app.admin)
        .await;
    assert_eq!(admissions.ok(200)["total"], 306);
    let quarter = app
        .get("/api/v1/reports/admissions?from=2013-01-01&to=2013-03-31", &app.admin)
        .await;
    assert_eq!(quarter.ok(200)["total"], 42);

    // The district's own report gives the same figures, and its resolutions have coverage to show.
    let district = app.get("/api/v1/organisations?q=huyen%20thanh%20son", &app.admin).await;
    let district = district.ok(200)["items"][0]["id"].as_str().unwrap().to_owned();
    let scoped = app
        .get(
            &format!("/api/v1/reports/evaluations?year=2012&organisation_id={district}"),
            &app.admin,
        )
        .await;
    assert_eq!(scoped.ok(200)["base_organisations"], 46);
    let resolutions = app.get("/api/v1/resolutions?year=2013", &app.admin).await;
    let resolutions = resolutions.ok(200)["items"].as_array().unwrap().clone();
    assert_eq!(resolutions.len(), 2);
    let coverage = app
        .get(
            &format!("/api/v1/reports/resolutions/{}", resolutions[1]["id"].as_str().unwrap()),
            &app.admin,
        )
        .await;
    let coverage = coverage.ok(200);
    assert_eq!(coverage["organisations"], 46);
    assert_eq!(coverage["not_started"], 16);
    assert_eq!(
        coverage["planned"].as_i64().unwrap()
            + coverage["in_progress"].as_i64().unwrap()
            + coverage["completed"].as_i64().unwrap(),
        30
    );
    // Every record the demo created is in the audit trail, members with their sensitive fields included, and
    // every lifecycle event after the admission too: the demo goes through the same operations as the API.
    assert_eq!(
        app.db
            .count(
                "SELECT count(*) AS n FROM audit_events \
                 WHERE request_id = 'seed-demo' AND resource_type = 'member' AND action = 'create'"
            )
            .await,
        members
    );
    assert_eq!(
        app.db
            .count(
                "SELECT count(*) AS n FROM audit_events \
                 WHERE request_id = 'seed-demo' AND resource_type = 'member' AND action = 'event'"
            )
            .await,
        app.db
            .count("SELECT count(*) AS n FROM member_events WHERE type <> 'admitted'")
            .await
    );
    // (The 2025 reform's moves and ends are audited too, as updates naming the reorganisation.)
    assert_eq!(
        app.db.count("SELECT count(*) AS n FROM audit_events WHERE request_id = 'seed-demo' AND resource_type = 'organisation' AND action = 'create'").await,
        organisations
    );
    assert_eq!(
        app.db.count("SELECT count(*) AS n FROM audit_events WHERE request_id = 'seed-demo' AND resource_type = 'organisation' AND action <> 'create' AND reorganisation_id IS NULL").await,
        0
    );
    assert_eq!(
        app.db
            .count(
                "SELECT count(*) AS n FROM audit_events a JOIN members m ON m.id::text = a.resource_id \
            WHERE a.changes -> 'after' ->> 'national_id' = m.national_id"
            )
            .await,
        members
    );
    // A base cell has fewer than 30 members and a base committee 30 or more, as the party statute sizes them (the
    // commune committees the 2025 reform ended are left empty).
    assert_eq!(
        app.db.count("SELECT count(*) AS n FROM organisations b WHERE b.dissolved_on IS NULL AND b.kind IN ('base_cell', 'base_committee') \
            AND ((b.kind = 'base_cell') <> ((SELECT count(*) FROM members m JOIN organisations o ON o.id = m.organisation_id \
            WHERE o.path <@ b.path) < 30))").await,
        0
    );
    // Every member's history starts with the admission.
    assert_eq!(
        app.db
            .count(
                "SELECT count(*) AS n FROM members m WHERE NOT EXISTS \
            (SELECT 1 FROM member_events e WHERE e.member_id = m.id AND e.type = 'admitted' AND e.on = m.admitted_on)"
            )
            .await,
        0
    );
}
