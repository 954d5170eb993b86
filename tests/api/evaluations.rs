use actix_http::Request;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use serde_json::{json, Value};

use crate::common::{spawn_app, TestApp};

const EVALS: &str = "/api/v1/evaluations";
const MEMBER_EVALS: &str = "/api/v1/member-evaluations";

struct Tree {
    district: String,
    commune: String,
    cell: String,
    base_cell: String,
}

async fn tree<S, B>(app: &TestApp<S>) -> Tree
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let district = app.organisation("TS", "superior_committee", None).await;
    let commune = app.organisation("TS-A", "base_committee", Some(&district)).await;
    let cell = app.organisation("TS-A-1", "cell", Some(&commune)).await;
    let base_cell = app.organisation("TS-B", "base_cell", Some(&district)).await;
    Tree {
        district,
        commune,
        cell,
        base_cell,
    }
}

async fn admit<S, B>(app: &TestApp<S>, organisation: &str, admitted_on: &str) -> String
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let body = json!({"full_name": "Đinh Văn Khánh", "birth_date": "1980-02-02", "organisation_id": organisation,
                      "admitted_on": admitted_on});
    app.post("/api/v1/members", &app.admin, body).await.ok(201)["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn evaluation(org: &str, year: i32, grade: &str) -> Value {
    json!({"organisation_id": org, "year": year, "grade": grade, "decided_on": format!("{year}-12-20")})
}

#[actix_web::test]
async fn rating_schemes_are_listed_for_forms() {
    let app = spawn_app().await;
    let reply = app.get("/api/v1/rating-schemes", &app.admin).await;
    let schemes = reply.ok(200)["items"].as_array().unwrap().clone();
    let ids: Vec<&str> = schemes.iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec!["hd20_2008", "hd27_2014", "qd132_2018", "qd366_2025"]);
    assert_eq!(
        schemes[0]["organisation_grades"],
        json!(["clean_strong", "well_completed", "completed", "weak"])
    );
    assert_eq!(schemes[0]["to_year"], 2013);
    assert_eq!(schemes[1]["score"], "optional");
    assert_eq!(schemes[3]["score"], "required");
    assert_eq!(schemes[3]["score_bands"][0], json!({"grade": "excellent", "min": 90}));
    assert_eq!(schemes[2]["exemplary"], false);
}

#[actix_web::test]
async fn an_evaluation_is_recorded_in_its_years_vocabulary() {
    let app = spawn_app().await;
    let t = tree(&app).await;
    let mut body = evaluation(&t.commune, 2012, "clean_strong");
    body["exemplary"] = json!(true);
    let reply = app.post(EVALS, &app.admin, body).await;
    let created = reply.ok(201).clone();
    assert_eq!(created["exemplary"], true);
    assert_eq!(created["score"], Value::Null);
    let id = created["id"].as_str().unwrap();
    assert_eq!(reply.header("location"), Some(format!("{EVALS}/{id}").as_str()));
    assert_eq!(app.get(&format!("{EVALS}/{id}"), &app.admin).await.ok(200), &created);

    // 2019: the four grades of qd132_2018; 2025: a score that matches the band.
    app.post(EVALS, &app.admin, evaluation(&t.commune, 2019, "good"))
        .await
        .ok(201);
    let mut scored = evaluation(&t.commune, 2025, "excellent");
    scored["score"] = json!(92);
    app.post(EVALS, &app.admin, scored).await.ok(201);
    let mut optional = evaluation(&t.commune, 2015, "well_completed");
    optional["score"] = json!(78);
    app.post(EVALS, &app.admin, optional).await.ok(201);
    // Cells may be evaluated too.
    app.post(EVALS, &app.admin, evaluation(&t.cell, 2012, "clean_strong"))
        .await
        .ok(201);

    let reply = app
        .patch(&format!("{EVALS}/{id}"), &app.admin, json!({"grade": "well_completed"}))
        .await;
    reply.problem_on(422, "exemplary");
    let reply = app
        .patch(
            &format!("{EVALS}/{id}"),
            &app.admin,
            json!({"grade": "well_completed", "exemplary": false}),
        )
        .await;
    assert_eq!(reply.ok(200)["grade"], "well_completed");
    assert_eq!(reply.ok(200)["version"], 2);

    let listed = app
        .get(&format!("{EVALS}?organisation_id={}&year=2019", t.commune), &app.admin)
        .await;
    assert_eq!(listed.ok(200)["items"].as_array().unwrap().len(), 1);
    let graded = app
        .get(&format!("{EVALS}?under={}&grade=clean_strong", t.district), &app.admin)
        .await;
    assert_eq!(
        graded.ok(200)["items"].as_array().unwrap().len(),
        1,
        "only the cell's 2012 stays clean_strong"
    );
    assert_eq!(app.delete(&format!("{EVALS}/{id}"), &app.admin).await.status, 204);
}

#[actix_web::test]
async fn grades_and_scores_outside_the_scheme_are_refused_naming_the_field() {
    let app = spawn_app().await;
    let t = tree(&app).await;
    let with = |year: i32, grade: &str, extra: Value| {
        let mut body = evaluation(&t.commune, year, grade);
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    let cases = [
        (with(2012, "excellent", json!({})), "grade"),
        (with(2019, "clean_strong", json!({})), "grade"),
        (with(2026, "well_completed", json!({"score": 80})), "grade"),
        (with(2012, "well_completed", json!({"exemplary": true})), "exemplary"),
        (with(2019, "excellent", json!({"exemplary": true})), "exemplary"),
        (with(2012, "clean_strong", json!({"score": 90})), "score"),
        (with(2025, "good", json!({})), "score"),
        (with(2025, "excellent", json!({"score": 89})), "grade"),
        (with(2025, "good", json!({"score": 101})), "score"),
        (with(2025, "not_completed", json!({"score": 50})), "grade"),
        (with(2012, "top", json!({})), "grade"),
        (
            with(2012, "clean_strong", json!({"decided_on": "2011-12-31"})),
            "decided_on",
        ),
        (with(2999, "good", json!({"score": 80})), "year"),
    ];
    for (body, field) in cases {
        app.post(EVALS, &app.admin, body.clone()).await.problem_on(422, field);
    }
    // Only base organisations and cells; only while they existed.
    app.post(EVALS, &app.admin, evaluation(&t.district, 2012, "clean_strong"))
        .await
        .problem_on(422, "organisation_id");
    app.patch(
        &format!("/api/v1/organisations/{}", t.base_cell),
        &app.admin,
        json!({"established_on": "2015-03-01"}),
    )
    .await
    .ok(200);
    app.post(EVALS, &app.admin, evaluation(&t.base_cell, 2014, "clean_strong"))
        .await
        .problem_on(422, "organisation_id");
    app.post(EVALS, &app.admin, evaluation(&t.base_cell, 2015, "clean_strong"))
        .await
        .ok(201);
    assert_eq!(app.db.count("SELECT count(*) AS n FROM evaluations").await, 1);
}

#[actix_web::test]
async fn one_evaluation_per_subject_and_year() {
    let app = spawn_app().await;
    let t = tree(&app).await;
    app.post(EVALS, &app.admin, evaluation(&t.commune, 2012, "clean_strong"))
        .await
        .ok(201);
    app.post(EVALS, &app.admin, evaluation(&t.commune, 2012, "weak"))
        .await
        .problem_on(409, "year");
    let member = admit(&app, &t.cell, "2010-01-01").await;
    let body = json!({"member_id": member, "year": 2019, "grade": "good"});
    app.post(MEMBER_EVALS, &app.admin, body.clone()).await.ok(201);
    app.post(MEMBER_EVALS, &app.admin, body).await.problem_on(409, "year");
    // An organisation with evaluations is in use.
    app.delete(&format!("/api/v1/organisations/{}", t.commune), &app.admin)
        .await
        .problem(409);
}

#[actix_web::test]
async fn member_evaluations_follow_the_scheme_and_the_membership() {
    let app = spawn_app().await;
    let t = tree(&app).await;
    let veteran = admit(&app, &t.cell, "2010-01-01").await;
    let recent = admit(&app, &t.base_cell, "2023-08-01").await;
    let body = |member: &str, year: i32, grade: &str, score: Value| json!({"member_id": member, "year": year, "grade": grade, "score": score});
    let reply = app
        .post(MEMBER_EVALS, &app.admin, body(&veteran, 2012, "excellent", Value::Null))
        .await;
    let created = reply.ok(201).clone();
    assert_eq!(
        created["organisation_id"],
        t.cell.as_str(),
        "the member's organisation is kept with the evaluation"
    );
    app.post(MEMBER_EVALS, &app.admin, body(&veteran, 2025, "good", json!(75)))
        .await
        .ok(201);

    app.post(
        MEMBER_EVALS,
        &app.admin,
        body(&veteran, 2013, "clean_strong", Value::Null),
    )
    .await
    .problem_on(422, "grade");
    app.post(MEMBER_EVALS, &app.admin, body(&veteran, 2026, "good", json!(95)))
        .await
        .problem_on(422, "grade");
    app.post(MEMBER_EVALS, &app.admin, body(&veteran, 2026, "good", Value::Null))
        .await
        .problem_on(422, "score");
    app.post(MEMBER_EVALS, &app.admin, body(&veteran, 2009, "good", Value::Null))
        .await
        .problem_on(422, "member_id");
    // Admitted less than 6 months before the end of 2023: not evaluated that year, but in 2024.
    app.post(MEMBER_EVALS, &app.admin, body(&recent, 2023, "good", Value::Null))
        .await
        .problem_on(422, "member_id");
    app.post(MEMBER_EVALS, &app.admin, body(&recent, 2024, "good", Value::Null))
        .await
        .ok(201);
    // Membership that ended before the year.
    app.post(
        &format!("/api/v1/members/{veteran}/events"),
        &app.admin,
        json!({"type": "deceased", "on": "2026-01-01"}),
    )
    .await
    .ok(200);
    app.post(MEMBER_EVALS, &app.admin, body(&veteran, 2026, "good", json!(80)))
        .await
        .problem_on(422, "member_id");

    let id = created["id"].as_str().unwrap();
    let changed = app
        .patch(&format!("{MEMBER_EVALS}/{id}"), &app.admin, json!({"grade": "good"}))
        .await;
    assert_eq!(changed.ok(200)["grade"], "good");
    app.patch(&format!("{MEMBER_EVALS}/{id}"), &app.admin, json!({"score": 50}))
        .await
        .problem_on(422, "score");
    let listed = app
        .get(&format!("{MEMBER_EVALS}?member_id={veteran}"), &app.admin)
        .await;
    assert_eq!(listed.ok(200)["items"].as_array().unwrap().len(), 2);
    assert_eq!(
        app.delete(&format!("{MEMBER_EVALS}/{id}"), &app.admin).await.status,
        204
    );
    assert_eq!(app.db.count("SELECT count(*) AS n FROM member_evaluations").await, 2);
}

#[actix_web::test]
async fn evaluations_are_confined_to_the_tokens_subtree() {
    let app = spawn_app().await;
    let t = tree(&app).await;
    let other = app.organisation("YL", "superior_committee", None).await;
    let far = app.organisation("YL-A", "base_cell", Some(&other)).await;
    let mine = app
        .post(EVALS, &app.admin, evaluation(&t.commune, 2012, "clean_strong"))
        .await
        .ok(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let theirs = app
        .post(EVALS, &app.admin, evaluation(&far, 2012, "weak"))
        .await
        .ok(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let editor = app.token("ts-editor", "editor", Some(&t.district)).await;
    let viewer = app.token("ts-viewer", "viewer", Some(&t.district)).await;
    app.get(&format!("{EVALS}/{mine}"), &viewer).await.ok(200);
    app.get(&format!("{EVALS}/{theirs}"), &viewer).await.problem(404);
    assert_eq!(
        app.get(EVALS, &viewer).await.ok(200)["items"].as_array().unwrap().len(),
        1
    );
    app.patch(&format!("{EVALS}/{mine}"), &viewer, json!({"note": "x"}))
        .await
        .problem(403);
    app.patch(&format!("{EVALS}/{mine}"), &editor, json!({"note": "x"}))
        .await
        .ok(200);
    app.patch(&format!("{EVALS}/{theirs}"), &editor, json!({"note": "x"}))
        .await
        .problem(404);
    app.post(EVALS, &editor, evaluation(&far, 2013, "weak"))
        .await
        .problem_on(422, "organisation_id");
    app.delete(&format!("{EVALS}/{theirs}"), &editor).await.problem(404);
    assert_eq!(
        app.db
            .count("SELECT count(*) AS n FROM audit_events WHERE resource_type = 'evaluation'")
            .await,
        3
    );
}

#[actix_web::test]
async fn a_member_evaluation_counts_where_the_member_was_that_year() {
    let app = spawn_app().await;
    let t = tree(&app).await;
    let member = admit(&app, &t.cell, "2010-01-01").await;
    app.post(
        &format!("/api/v1/members/{member}/events"),
        &app.admin,
        json!({"type": "transferred", "on": "2020-03-01", "to_organisation_id": t.base_cell, "mode": "permanent"}),
    )
    .await
    .ok(200);
    let before = app
        .post(
            MEMBER_EVALS,
            &app.admin,
            json!({"member_id": member, "year": 2019, "grade": "good"}),
        )
        .await;
    assert_eq!(
        before.ok(201)["organisation_id"],
        t.cell.as_str(),
        "in 2019 the member was in the cell"
    );
    let after = app
        .post(
            MEMBER_EVALS,
            &app.admin,
            json!({"member_id": member, "year": 2020, "grade": "good"}),
        )
        .await;
    assert_eq!(after.ok(201)["organisation_id"], t.base_cell.as_str());
    // The base cell's own editor sees the member now, but 2018 counts in the cell, outside its subtree.
    let receiving = app.token("base-cell", "editor", Some(&t.base_cell)).await;
    app.post(
        MEMBER_EVALS,
        &receiving,
        json!({"member_id": member, "year": 2018, "grade": "good"}),
    )
    .await
    .problem_on(422, "member_id");
    assert_eq!(
        app.db
            .count("SELECT count(*) AS n FROM member_evaluations WHERE year = 2018")
            .await,
        0
    );
    // A member with evaluations is not deleted with them silently.
    app.delete(&format!("/api/v1/members/{member}"), &app.admin)
        .await
        .problem(409);
}

#[actix_web::test]
async fn an_organisation_is_graded_from_above_not_by_its_own_token() {
    let app = spawn_app().await;
    let t = tree(&app).await;
    let own = app.token("commune", "editor", Some(&t.commune)).await;
    app.post(EVALS, &own, evaluation(&t.commune, 2012, "clean_strong"))
        .await
        .problem(403);
    // Its cells it may grade; the district grades the commune.
    app.post(EVALS, &own, evaluation(&t.cell, 2012, "clean_strong"))
        .await
        .ok(201);
    let district = app.token("district", "editor", Some(&t.district)).await;
    app.post(EVALS, &district, evaluation(&t.commune, 2012, "clean_strong"))
        .await
        .ok(201);
}
