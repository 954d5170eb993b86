use actix_http::Request;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::Method;
use serde_json::{json, Value};

use crate::common::{spawn_app, TestApp};

const RES: &str = "/api/v1/resolutions";

/// A province over a district; under the district four communes (one dissolved), a base cell, and a partial
/// committee with a cell under one commune; a second district with a commune of its own.
struct Tree {
    province: String,
    district: String,
    communes: Vec<String>,
    dissolved: String,
    base_cell: String,
    cell: String,
    elsewhere: String,
}

async fn tree<S, B>(app: &TestApp<S>) -> Tree
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let province = app.organisation("PT", "superior_committee", None).await;
    let district = app.organisation("TS", "superior_committee", Some(&province)).await;
    let mut communes = Vec::new();
    for code in ["TS-A", "TS-B", "TS-C"] {
        communes.push(app.organisation(code, "base_committee", Some(&district)).await);
    }
    let dissolved = app.organisation("TS-D", "base_committee", Some(&district)).await;
    app.patch(
        &format!("/api/v1/organisations/{dissolved}"),
        &app.admin,
        json!({"dissolved_on": "2020-01-01"}),
    )
    .await
    .ok(200);
    let base_cell = app.organisation("TS-E", "base_cell", Some(&district)).await;
    let partial = app
        .organisation("TS-A-P", "partial_committee", Some(&communes[0]))
        .await;
    let cell = app.organisation("TS-A-P-1", "cell", Some(&partial)).await;
    let other = app.organisation("YL", "superior_committee", Some(&province)).await;
    let elsewhere = app.organisation("YL-A", "base_committee", Some(&other)).await;
    Tree {
        province,
        district,
        communes,
        dissolved,
        base_cell,
        cell,
        elsewhere,
    }
}

fn resolution(number: &str, issuer: &str) -> Value {
    json!({"number": number, "title": "Nghị quyết chuyên đề về công tác phát triển đảng viên",
           "issuing_organisation_id": issuer, "issued_on": "2013-01-15", "field": "member_development",
           "valid_until": "2013-12-31",
           "targets": [{"indicator": "new members admitted", "target": 300, "unit": "members"},
                       {"indicator": "cells rated clean and strong", "target": 70, "unit": "%"}]})
}

async fn issue<S, B>(app: &TestApp<S>, body: Value) -> String
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    app.post(RES, &app.admin, body).await.ok(201)["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[actix_web::test]
async fn a_resolution_is_issued_read_changed_and_deleted() {
    let app = spawn_app().await;
    let t = tree(&app).await;
    let reply = app.post(RES, &app.admin, resolution("05-NQ/HU", &t.district)).await;
    let created = reply.ok(201).clone();
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(reply.header("location"), Some(format!("{RES}/{id}").as_str()));
    assert_eq!(created["status"], "in_force");
    assert_eq!(created["targets"][0]["target"], 300.0);
    assert_eq!(created["targets"][1]["unit"], "%");

    let read = app.get(&format!("{RES}/{id}"), &app.admin).await;
    assert_eq!(read.ok(200), &created);
    assert_eq!(read.header("etag"), Some("\"1\""));

    let changed = app
        .patch(
            &format!("{RES}/{id}"),
            &app.admin,
            json!({"status": "expired", "targets": []}),
        )
        .await;
    assert_eq!(changed.ok(200)["status"], "expired");
    assert_eq!(changed.ok(200)["targets"], json!([]));
    assert_eq!(changed.ok(200)["version"], 2);
    app.patch(
        &format!("{RES}/{id}"),
        &app.admin,
        json!({"issuing_organisation_id": t.province}),
    )
    .await
    .problem_on(422, "issuing_organisation_id");

    assert_eq!(app.delete(&format!("{RES}/{id}"), &app.admin).await.status, 204);
    app.get(&format!("{RES}/{id}"), &app.admin).await.problem(404);
}

#[actix_web::test]
async fn resolutions_are_validated() {
    let app = spawn_app().await;
    let t = tree(&app).await;
    let with = |field: &str, value: Value| {
        let mut body = resolution("01-NQ/HU", &t.district);
        body[field] = value;
        body
    };
    let cases = [
        (
            with("issuing_organisation_id", json!(t.base_cell)),
            "issuing_organisation_id",
        ),
        (
            with("issuing_organisation_id", json!(uuid::Uuid::now_v7())),
            "issuing_organisation_id",
        ),
        (with("valid_until", json!("2012-12-31")), "valid_until"),
        (with("number", json!("")), "number"),
        (with("field", json!("sports")), "field"),
        (with("status", json!("draft")), "status"),
        (
            with("targets", json!([{"indicator": "", "target": 1, "unit": "x"}])),
            "targets[0].indicator",
        ),
        (
            with("targets", json!([{"indicator": "a", "target": "many", "unit": "x"}])),
            "targets[0].target",
        ),
        (
            with("targets", json!([{"indicator": "a", "target": 1}])),
            "targets[0].unit",
        ),
        (
            with("targets", json!([{"indicator": "a", "target": 1, "unit": ""}])),
            "targets[0].unit",
        ),
        (
            with(
                "targets",
                json!([{"indicator": "a", "target": 1, "unit": "x", "owner": "me"}]),
            ),
            "targets[0].owner",
        ),
        (
            with(
                "targets",
                json!([{"indicator": "a", "target": 1, "unit": "x"}, {"indicator": "a", "target": 2, "unit": "y"}]),
            ),
            "targets[1].indicator",
        ),
    ];
    for (body, field) in cases {
        app.post(RES, &app.admin, body).await.problem_on(422, field);
    }
    // Partial and base committees issue resolutions too; an empty target list is fine.
    let mut body = resolution("02-NQ/ĐU", &t.communes[0]);
    body["targets"] = json!([]);
    app.post(RES, &app.admin, body).await.ok(201);
    assert_eq!(app.db.count("SELECT count(*) AS n FROM resolutions").await, 1);
}

#[actix_web::test]
async fn a_number_is_unique_per_issuer() {
    let app = spawn_app().await;
    let t = tree(&app).await;
    issue(&app, resolution("05-NQ/HU", &t.district)).await;
    app.post(RES, &app.admin, resolution("05-NQ/HU", &t.district))
        .await
        .problem_on(409, "number");
    // The same number from another committee is another resolution.
    app.post(RES, &app.admin, resolution("05-NQ/HU", &t.province))
        .await
        .ok(201);
}

#[actix_web::test]
async fn implementations_follow_the_rules() {
    let app = spawn_app().await;
    let t = tree(&app).await;
    let id = issue(&app, resolution("05-NQ/HU", &t.district)).await;
    let path = format!("{RES}/{id}/implementations");

    let reply = app
        .post(
            &path,
            &app.admin,
            json!({"organisation_id": t.communes[0], "plan_adopted_on": "2013-02-01"}),
        )
        .await;
    let created = reply.ok(201).clone();
    assert_eq!(created["status"], "planned");
    let item = format!("{path}/{}", t.communes[0]);
    assert_eq!(reply.header("location"), Some(item.as_str()));

    // One per organisation; only inside the issuer's subtree (not the issuer itself).
    app.post(&path, &app.admin, json!({"organisation_id": t.communes[0]}))
        .await
        .problem_on(409, "organisation_id");
    app.post(&path, &app.admin, json!({"organisation_id": t.elsewhere}))
        .await
        .problem_on(422, "organisation_id");
    app.post(&path, &app.admin, json!({"organisation_id": t.district}))
        .await
        .problem_on(422, "organisation_id");
    app.post(&path, &app.admin, json!({"organisation_id": t.province}))
        .await
        .problem_on(422, "organisation_id");
    // Results name the resolution's targets.
    let unknown = json!({"organisation_id": t.communes[1], "results": [{"indicator": "roads built", "achieved": 3}]});
    app.post(&path, &app.admin, unknown)
        .await
        .problem_on(422, "results[0].indicator");
    let early = json!({"organisation_id": t.communes[1], "plan_adopted_on": "2012-12-31"});
    app.post(&path, &app.admin, early)
        .await
        .problem_on(422, "plan_adopted_on");

    let progress = app
        .patch(
            &item,
            &app.admin,
            json!({"status": "in_progress", "reported_on": "2013-06-30",
            "results": [{"indicator": "new members admitted", "achieved": 7}]}),
        )
        .await;
    assert_eq!(progress.ok(200)["status"], "in_progress");
    assert_eq!(progress.ok(200)["results"][0]["achieved"], 7.0);
    app.patch(&item, &app.admin, json!({"status": "planned"}))
        .await
        .problem(409);
    app.patch(&item, &app.admin, json!({"status": "completed"}))
        .await
        .ok(200);
    app.patch(&item, &app.admin, json!({"status": "in_progress"}))
        .await
        .problem(409);
    app.patch(&item, &app.admin, json!({"organisation_id": t.communes[1]}))
        .await
        .problem_on(422, "organisation_id");
    let stored = app.get(&item, &app.admin).await;
    assert_eq!(stored.ok(200)["status"], "completed");
    assert_eq!(stored.ok(200)["version"], 3);

    let list = app.get(&format!("{path}?count=exact"), &app.admin).await;
    assert_eq!(list.ok(200)["items"].as_array().unwrap().len(), 1);
    assert_eq!(list.ok(200)["total"], 1);

    // In use: neither the resolution nor the implementing organisation can be deleted.
    app.delete(&format!("{RES}/{id}"), &app.admin).await.problem(409);
    app.delete(&format!("/api/v1/organisations/{}", t.communes[0]), &app.admin)
        .await
        .problem(409);
    assert_eq!(app.delete(&item, &app.admin).await.status, 204);
    app.get(&item, &app.admin).await.problem(404);
    assert_eq!(app.delete(&format!("{RES}/{id}"), &app.admin).await.status, 204);
    // An issuer of resolutions cannot be deleted either.
    issue(&app, resolution("06-NQ/HU", &t.elsewhere)).await;
    app.delete(&format!("/api/v1/organisations/{}", t.elsewhere), &app.admin)
        .await
        .problem(409);
}

#[actix_web::test]
async fn the_coverage_report_shows_who_has_not_started_as_json_and_csv() {
    let app = spawn_app().await;
    let t = tree(&app).await;
    // Coverage counts the tree of the resolution's last day in force (2013-12-31): a commune dissolved before it
    // is not counted.
    app.patch(
        &format!("/api/v1/organisations/{}", t.dissolved),
        &app.admin,
        json!({"dissolved_on": "2013-06-01"}),
    )
    .await
    .ok(200);
    let id = issue(&app, resolution("05-NQ/HU", &t.district)).await;
    let path = format!("{RES}/{id}/implementations");
    app.post(
        &path,
        &app.admin,
        json!({"organisation_id": t.communes[0], "status": "completed"}),
    )
    .await
    .ok(201);
    app.post(
        &path,
        &app.admin,
        json!({"organisation_id": t.communes[1], "status": "in_progress"}),
    )
    .await
    .ok(201);
    app.post(&path, &app.admin, json!({"organisation_id": t.base_cell}))
        .await
        .ok(201);
    // A cell's own record does not count: coverage is over base organisations.
    app.post(&path, &app.admin, json!({"organisation_id": t.cell}))
        .await
        .ok(201);

    let report = app.get(&format!("/api/v1/reports/resolutions/{id}"), &app.admin).await;
    let body = report.ok(200);
    assert_eq!(
        body["organisations"], 4,
        "three active communes and the base cell; not the dissolved one"
    );
    assert_eq!(body["planned"], 1);
    assert_eq!(body["in_progress"], 1);
    assert_eq!(body["completed"], 1);
    assert_eq!(body["not_started"], 1);
    assert_eq!(body["number"], "05-NQ/HU");

    let csv = app
        .call(
            Method::GET,
            &format!("/api/v1/reports/resolutions/{id}"),
            Some(&app.admin),
            None,
            &[("accept", "text/csv")],
        )
        .await;
    assert_eq!(csv.status, 200);
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    assert!(csv.header("content-disposition").unwrap().starts_with("attachment"));
    let text = String::from_utf8(csv.raw.clone()).unwrap();
    let lines: Vec<&str> = text
        .trim_start_matches('\u{feff}')
        .split("\r\n")
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(
        lines[0],
        "organisation_id,code,name,kind,status,plan_adopted_on,reported_on"
    );
    let statuses: Vec<(&str, &str)> = lines[1..]
        .iter()
        .map(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            (cells[1], cells[4])
        })
        .collect();
    assert_eq!(
        statuses,
        vec![
            ("TS-A", "completed"),
            ("TS-B", "in_progress"),
            ("TS-C", "not_started"),
            ("TS-E", "planned")
        ]
    );
    assert!(!text.contains(&t.dissolved));
    let refused = app
        .call(
            Method::GET,
            &format!("/api/v1/reports/resolutions/{id}"),
            Some(&app.admin),
            None,
            &[("accept", "application/xml")],
        )
        .await;
    refused.problem(406);
}

#[actix_web::test]
async fn a_base_organisation_editor_reports_its_own_implementation_but_cannot_edit_the_resolution() {
    let app = spawn_app().await;
    let t = tree(&app).await;
    let id = issue(&app, resolution("05-NQ/HU", &t.district)).await;
    let editor = app.token("commune-a", "editor", Some(&t.communes[0])).await;
    let viewer = app.token("commune-b-viewer", "viewer", Some(&t.communes[1])).await;

    // The district's resolution applies to the commune: it can read it...
    app.get(&format!("{RES}/{id}"), &editor).await.ok(200);
    let listed = app.get(RES, &editor).await;
    assert_eq!(listed.ok(200)["items"].as_array().unwrap().len(), 1);
    // ...but not change or delete it, nor issue one for the district.
    app.patch(&format!("{RES}/{id}"), &editor, json!({"title": "x"}))
        .await
        .problem(403);
    app.delete(&format!("{RES}/{id}"), &editor).await.problem(403);
    app.post(RES, &editor, resolution("07-NQ/HU", &t.district))
        .await
        .problem(403);
    // It reports its own implementation, not another commune's.
    let path = format!("{RES}/{id}/implementations");
    app.post(
        &path,
        &editor,
        json!({"organisation_id": t.communes[0], "status": "in_progress"}),
    )
    .await
    .ok(201);
    app.post(&path, &editor, json!({"organisation_id": t.communes[1]}))
        .await
        .problem_on(422, "organisation_id");
    app.post(&path, &app.admin, json!({"organisation_id": t.communes[1]}))
        .await
        .ok(201);
    app.patch(
        &format!("{path}/{}", t.communes[1]),
        &editor,
        json!({"status": "completed"}),
    )
    .await
    .problem(404);
    let own = app.get(&path, &editor).await;
    assert_eq!(
        own.ok(200)["items"].as_array().unwrap().len(),
        1,
        "only its own implementation is listed"
    );
    // The coverage report counts inside its subtree only.
    let report = app.get(&format!("/api/v1/reports/resolutions/{id}"), &editor).await;
    assert_eq!(report.ok(200)["organisations"], 1);
    assert_eq!(report.ok(200)["in_progress"], 1);
    // A viewer reads but writes nothing.
    app.get(&format!("{RES}/{id}"), &viewer).await.ok(200);
    app.post(&path, &viewer, json!({"organisation_id": t.communes[1]}))
        .await
        .problem(403);
    // Another district's token does not see the resolution at all.
    let stranger = app.token("yl", "viewer", Some(&t.elsewhere)).await;
    app.get(&format!("{RES}/{id}"), &stranger).await.problem(404);
    app.get(&format!("/api/v1/reports/resolutions/{id}"), &stranger)
        .await
        .problem(404);
    assert!(app.get(RES, &stranger).await.ok(200)["items"]
        .as_array()
        .unwrap()
        .is_empty());
    // Every change is audited.
    assert_eq!(
        app.db
            .count("SELECT count(*) AS n FROM audit_events WHERE resource_type = 'implementation'")
            .await,
        2
    );
}

#[actix_web::test]
async fn resolution_filters_combine() {
    let app = spawn_app().await;
    let t = tree(&app).await;
    let a = issue(&app, resolution("01-NQ/HU", &t.district)).await;
    let mut b = resolution("02-NQ/HU", &t.district);
    b["field"] = json!("political_ideology");
    b["issued_on"] = json!("2014-03-01");
    b["valid_until"] = json!(null);
    b["title"] = json!("Nghị quyết về công tác chính trị tư tưởng");
    let b = issue(&app, b).await;
    let c = issue(&app, resolution("03-NQ/TU", &t.province)).await;
    let list = |query: &str| {
        let app = &app;
        let path = format!("{RES}?{query}");
        async move {
            app.get(&path, &app.admin).await.ok(200)["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        list(&format!("issuing_organisation_id={}", t.district)).await,
        vec![a.clone(), b.clone()]
    );
    assert_eq!(list("field=political_ideology").await, vec![b.clone()]);
    assert_eq!(list("year=2013").await, vec![a.clone(), c.clone()]);
    assert_eq!(list("q=chinh%20tri%20tu%20tuong").await, vec![b.clone()]);
    assert_eq!(list("q=nq%2Ftu").await, vec![c.clone()]);
    assert_eq!(list("status=expired").await, Vec::<String>::new());
    app.patch(&format!("{RES}/{c}"), &app.admin, json!({"status": "expired"}))
        .await
        .ok(200);
    assert_eq!(list("status=expired").await, vec![c.clone()]);
    // Renumbering onto a number the issuer already uses is a conflict.
    app.patch(&format!("{RES}/{b}"), &app.admin, json!({"number": "01-NQ/HU"}))
        .await
        .problem_on(409, "number");
    app.get(&format!("{RES}?year=13"), &app.admin)
        .await
        .problem_on(400, "year");
    app.get(&format!("{RES}?field=x"), &app.admin)
        .await
        .problem_on(400, "field");
}
