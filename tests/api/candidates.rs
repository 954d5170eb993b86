//! Admission candidates: the steps in order, each step's rules, the time limits, the admission through the
//! members' own code, and the candidates report.

use actix_web::http::Method;
use serde_json::{json, Value};

use crate::common::{spawn_app, Reply, TestApp};

const CANDIDATES: &str = "/api/v1/candidates";

/// A base committee with two cells, and a base cell elsewhere, with official members in each.
struct Cells {
    cell: String,
    /// Official members of `cell` (three).
    officials: Vec<String>,
    /// An official member of the other cell of the same base committee.
    sister: String,
    /// A probationary member of `cell`.
    probationary: String,
    /// An official member of another base organisation.
    foreign: String,
}

async fn member<S, B>(app: &TestApp<S>, cell: &str, name: &str, official: bool) -> String
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let body =
        json!({"full_name": name, "birth_date": "1970-01-01", "organisation_id": cell, "admitted_on": "2000-01-01"});
    let id = app.post("/api/v1/members", &app.admin, body).await.ok(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    if official {
        let event = json!({"type": "recognised_official", "on": "2001-01-02"});
        app.post(&format!("/api/v1/members/{id}/events"), &app.admin, event)
            .await
            .ok(200);
    }
    id
}

async fn cells<S, B>(app: &TestApp<S>) -> Cells
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let district = app.organisation("HU", "superior_committee", None).await;
    let base = app.organisation("HU-01", "base_committee", Some(&district)).await;
    let cell = app.organisation("HU-01-C1", "cell", Some(&base)).await;
    let sister_cell = app.organisation("HU-01-C2", "cell", Some(&base)).await;
    let other = app.organisation("HU-02", "base_cell", Some(&district)).await;
    let mut officials = Vec::new();
    for name in ["Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường"] {
        officials.push(member(app, &cell, name, true).await);
    }
    Cells {
        sister: member(app, &sister_cell, "Phạm Văn Dũng", true).await,
        probationary: member(app, &cell, "Hoàng Thị Em", false).await,
        foreign: member(app, &other, "Đỗ Văn Giang", true).await,
        cell,
        officials,
    }
}

async fn propose<S, B>(app: &TestApp<S>, cell: &str, name: &str, birth_date: &str) -> String
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let body = json!({"full_name": name, "gender": "male", "birth_date": birth_date, "organisation_id": cell,
                      "proposed_on": "2012-01-09", "national_id": "025190001234", "ethnicity": "Mường",
                      "religion": "Không"});
    app.post(CANDIDATES, &app.admin, body).await.ok(201)["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn step<S, B>(app: &TestApp<S>, id: &str, body: Value) -> Reply
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    step_as(app, &app.admin, id, body).await
}

async fn step_as<S, B>(app: &TestApp<S>, token: &str, id: &str, body: Value) -> Reply
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    app.post(&format!("{CANDIDATES}/{id}/steps"), token, body).await
}

/// Takes a candidate from `proposed` to `sponsored` (course on 2012-01-16, sponsors on 2012-02-01).
async fn to_sponsored<S, B>(app: &TestApp<S>, id: &str, c: &Cells)
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    step(
        app,
        id,
        json!({"type": "course_completed", "on": "2012-01-16", "certificate_number": "CN-001"}),
    )
    .await
    .ok(200);
    let sponsors = json!([{"member_id": c.officials[0]}, {"member_id": c.sister}]);
    step(
        app,
        id,
        json!({"type": "sponsored", "on": "2012-02-01", "sponsors": sponsors}),
    )
    .await
    .ok(200);
}

async fn stored<S, B>(app: &TestApp<S>, id: &str) -> (i64, i64)
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let version = app
        .db
        .count(&format!(
            "SELECT version::bigint AS n FROM candidates WHERE id = '{id}'"
        ))
        .await;
    let steps = app
        .db
        .count(&format!(
            "SELECT count(*) AS n FROM candidate_steps WHERE candidate_id = '{id}'"
        ))
        .await;
    (version, steps)
}

#[actix_web::test]
async fn a_candidate_goes_from_proposal_to_member_step_by_step() {
    let app = spawn_app().await;
    let c = cells(&app).await;
    let id = propose(&app, &c.cell, "Hà Văn Dũng", "1990-04-12").await;
    let reply = app.get(&format!("{CANDIDATES}/{id}"), &app.admin).await;
    let candidate = reply.ok(200);
    assert_eq!(candidate["stage"], "proposed");
    assert_eq!(candidate["stage_on"], "2012-01-09");
    assert_eq!(candidate["overdue"], false);
    assert_eq!(candidate["member_id"], Value::Null);
    assert_eq!(reply.header("etag"), Some("\"1\""));

    to_sponsored(&app, &id, &c).await;
    // The cell votes on Friday 2012-03-02: the decision is due 60 working days later, on Friday 2012-05-25.
    let reply = step(
        &app,
        &id,
        json!({"type": "cell_approved", "on": "2012-03-02", "votes_for": 2, "votes_total": 3}),
    )
    .await;
    let candidate = reply.ok(200);
    assert_eq!(candidate["stage"], "cell_approved");
    assert_eq!(candidate["due_by"], "2012-05-25");
    assert_eq!(candidate["overdue"], true, "that day has long passed");
    assert_eq!(reply.header("etag"), Some("\"4\""));

    // The decision on Wednesday 2012-05-23: the ceremony is due 30 working days later, on Wednesday 2012-07-04.
    let reply = step(
        &app,
        &id,
        json!({"type": "committee_approved", "on": "2012-05-23", "decision_number": "125-QĐ/HU"}),
    )
    .await;
    assert_eq!(reply.ok(200)["due_by"], "2012-07-04");

    let reply = step(&app, &id, json!({"type": "admitted", "on": "2012-06-19"})).await;
    let candidate = reply.ok(200);
    assert_eq!(candidate["stage"], "admitted");
    assert_eq!(candidate["due_by"], Value::Null);
    assert_eq!(candidate["overdue"], false);
    let member_id = candidate["member_id"].as_str().expect("the new member").to_owned();

    // The member was admitted exactly as POST /members admits: probationary, a history entry, audit, counts.
    let member = app.get(&format!("/api/v1/members/{member_id}"), &app.admin).await;
    let member = member.ok(200);
    assert_eq!(member["status"], "probationary");
    assert_eq!(member["admitted_on"], "2012-06-19");
    assert_eq!(member["organisation_id"], c.cell.as_str());
    assert_eq!(member["full_name"], "Hà Văn Dũng");
    assert_eq!(member["national_id"], "025190001234");
    assert_eq!(member["candidate_id"], id.as_str());
    let history = app
        .get(&format!("/api/v1/members/{member_id}/events"), &app.admin)
        .await;
    let history = history.ok(200)["items"].as_array().unwrap().clone();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0]["type"], "admitted");
    assert_eq!(history[0]["on"], "2012-06-19");
    let audit = app
        .get(
            &format!("/api/v1/audit-events?resource_type=member&resource_id={member_id}"),
            &app.admin,
        )
        .await;
    assert_eq!(audit.ok(200)["items"][0]["action"], "create");
    let cell = app.get(&format!("/api/v1/organisations/{}", c.cell), &app.admin).await;
    assert_eq!(cell.ok(200)["member_counts"]["probationary"], 2, "{}", cell.body);

    let steps = app.get(&format!("{CANDIDATES}/{id}/steps"), &app.admin).await;
    let steps = steps.ok(200)["items"].as_array().unwrap().clone();
    let kinds: Vec<&str> = steps.iter().map(|s| s["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "course_completed",
            "sponsored",
            "cell_approved",
            "committee_approved",
            "admitted"
        ]
    );
    assert_eq!(steps[0]["certificate_number"], "CN-001");
    assert_eq!(steps[1]["sponsors"][1]["member_id"], c.sister.as_str());
    assert_eq!(steps[2]["votes_for"], 2);
    assert_eq!(steps[3]["decision_number"], "125-QĐ/HU");
    assert_eq!(steps[4]["member_id"], member_id.as_str());
    let audit = app
        .get(
            &format!("/api/v1/audit-events?resource_type=candidate&resource_id={id}"),
            &app.admin,
        )
        .await;
    assert_eq!(audit.ok(200)["items"].as_array().unwrap().len(), 6);

    // Nothing follows the admission.
    let reply = step(
        &app,
        &id,
        json!({"type": "withdrawn", "on": "2012-06-20", "reason": "late"}),
    )
    .await;
    reply.problem(409);
}

#[actix_web::test]
async fn a_step_out_of_order_is_a_conflict_and_changes_nothing() {
    let app = spawn_app().await;
    let c = cells(&app).await;
    let id = propose(&app, &c.cell, "Hà Văn Dũng", "1990-04-12").await;
    let sponsors = json!([{"member_id": c.officials[0]}, {"member_id": c.officials[1]}]);
    let reply = step(
        &app,
        &id,
        json!({"type": "sponsored", "on": "2012-02-01", "sponsors": sponsors}),
    )
    .await;
    reply.problem(409);
    let reply = step(&app, &id, json!({"type": "admitted", "on": "2012-02-01"})).await;
    reply.problem(409);
    assert_eq!(stored(&app, &id).await, (1, 0));
    assert_eq!(app.db.count("SELECT count(*) AS n FROM members").await, 6);

    // A withdrawal may come at any stage, and ends the road.
    let reply = step(&app, &id, json!({"type": "withdrawn", "on": "2012-01-10"})).await;
    reply.problem_on(422, "reason");
    let reply = step(
        &app,
        &id,
        json!({"type": "withdrawn", "on": "2012-01-10", "reason": "moved away"}),
    )
    .await;
    assert_eq!(reply.ok(200)["stage"], "withdrawn");
    let reply = step(
        &app,
        &id,
        json!({"type": "course_completed", "on": "2012-01-16", "certificate_number": "X"}),
    )
    .await;
    reply.problem(409);
    assert_eq!(stored(&app, &id).await, (2, 1));
}

#[actix_web::test]
async fn each_step_checks_its_rules_and_a_refusal_changes_nothing() {
    let app = spawn_app().await;
    let c = cells(&app).await;
    let id = propose(&app, &c.cell, "Hà Văn Dũng", "1990-04-12").await;
    let refused = [
        (
            json!({"type": "course_completed", "on": "2012-01-16"}),
            "certificate_number",
        ),
        (
            json!({"type": "course_completed", "on": "2012-01-16", "certificate_number": "  "}),
            "certificate_number",
        ),
        (
            json!({"type": "course_completed", "on": "2012-01-08", "certificate_number": "A"}),
            "on",
        ),
        (
            json!({"type": "course_completed", "on": "2999-01-08", "certificate_number": "A"}),
            "on",
        ),
        (
            json!({"type": "course_completed", "on": "2012-01-16", "certificate_number": "A", "votes_for": 1}),
            "votes_for",
        ),
        (
            json!({"type": "course_completed", "on": "2012-01-16", "certificate_number": "A", "colour": 1}),
            "colour",
        ),
    ];
    for (body, field) in refused {
        step(&app, &id, body).await.problem_on(422, field);
    }
    assert_eq!(stored(&app, &id).await, (1, 0));
    step(
        &app,
        &id,
        json!({"type": "course_completed", "on": "2012-01-16", "certificate_number": "CN-1"}),
    )
    .await
    .ok(200);

    let sponsored = |sponsors: Value| json!({"type": "sponsored", "on": "2012-02-01", "sponsors": sponsors});
    let refused = [
        (sponsored(json!([{"member_id": c.officials[0]}])), "sponsors"),
        (
            sponsored(json!([{"member_id": c.officials[0]}, {"member_id": c.foreign}])),
            "sponsors[1].member_id",
        ),
        (
            sponsored(json!([{"member_id": c.probationary}, {"member_id": c.officials[0]}])),
            "sponsors[0].member_id",
        ),
        (
            sponsored(json!([{"member_id": c.officials[0]}, {"member_id": c.officials[0]}])),
            "sponsors[1].member_id",
        ),
        (
            sponsored(json!([{"youth_union": true}, {"youth_union": true}])),
            "sponsors[1].youth_union",
        ),
        (sponsored(json!([{"member_id": c.officials[0]}, {}])), "sponsors[1]"),
        (
            sponsored(json!([{"member_id": c.officials[0]}, {"member_id": uuid::Uuid::now_v7()}])),
            "sponsors[1].member_id",
        ),
        // A sponsor who says they have known the candidate for only eleven months (and a day) by the step.
        (
            sponsored(
                json!([{"member_id": c.officials[0], "known_since": "2011-02-02"}, {"member_id": c.officials[1]}]),
            ),
            "sponsors[0].known_since",
        ),
        (
            sponsored(json!([{"youth_union": true, "known_since": "2010-01-01"}, {"member_id": c.officials[1]}])),
            "sponsors[0].known_since",
        ),
        (
            sponsored(json!([{"member_id": c.officials[0], "known_since": "2010-01-01"},
                             {"member_id": c.officials[0], "known_since": "2009-01-01"}])),
            "sponsors[1].member_id",
        ),
        (
            sponsored(
                json!([{"member_id": c.officials[0], "known_since": "yesterday"}, {"member_id": c.officials[1]}]),
            ),
            "sponsors[0].known_since",
        ),
    ];
    for (body, field) in refused {
        step(&app, &id, body).await.problem_on(422, field);
    }
    assert_eq!(stored(&app, &id).await, (2, 1));
    // The Youth Union may sponsor a 21-year-old instead of one member, who has known the candidate for twelve months
    // to the day.
    step(
        &app,
        &id,
        sponsored(json!([{"youth_union": true}, {"member_id": c.officials[2], "known_since": "2011-02-01"}])),
    )
    .await
    .ok(200);
    let steps = app.get(&format!("{CANDIDATES}/{id}/steps"), &app.admin).await;
    let steps = steps.ok(200);
    assert_eq!(
        steps["items"][1]["sponsors"],
        json!([{"member_id": null, "youth_union": true, "known_since": null},
               {"member_id": c.officials[2], "youth_union": false, "known_since": "2011-02-01"}]),
        "{steps}"
    );

    let vote = |votes_for: u32, votes_total: u32| json!({"type": "cell_approved", "on": "2012-03-02", "votes_for": votes_for, "votes_total": votes_total});
    // Three official members on that day (the probationary member does not count): two thirds is two.
    step(&app, &id, vote(1, 3)).await.problem_on(422, "votes_for");
    step(&app, &id, vote(3, 2)).await.problem_on(422, "votes_for");
    step(&app, &id, vote(4, 4)).await.problem_on(422, "votes_total");
    step(
        &app,
        &id,
        json!({"type": "cell_approved", "on": "2012-03-02", "votes_for": 2}),
    )
    .await
    .problem_on(422, "votes_total");
    assert_eq!(stored(&app, &id).await, (3, 2));
    step(&app, &id, vote(2, 2)).await.ok(200);
}

#[actix_web::test]
async fn the_vote_checks_the_age_and_the_course_certificate() {
    let app = spawn_app().await;
    let c = cells(&app).await;
    let vote = json!({"type": "cell_approved", "on": "2012-03-02", "votes_for": 3, "votes_total": 3});

    // 17 on the day of the vote.
    let young = propose(&app, &c.cell, "Trẻ Tuổi", "1994-03-03").await;
    to_sponsored(&app, &young, &c).await;
    step(&app, &young, vote.clone()).await.problem_on(422, "on");

    // Over 60: only with the provincial level's consent, recorded in the note.
    let old = propose(&app, &c.cell, "Cao Tuổi", "1950-01-01").await;
    to_sponsored(&app, &old, &c).await;
    step(&app, &old, vote.clone()).await.problem_on(422, "note");
    let mut consented = vote.clone();
    consented["note"] = json!("Tỉnh ủy đồng ý, công văn 12-CV/TU");
    step(&app, &old, consented).await.ok(200);

    // A certificate of 2007-01-16 is no longer valid in 2012-03.
    let late = propose(&app, &c.cell, "Chứng Chỉ Cũ", "1980-01-01").await;
    app.db
        .execute(&format!(
            "UPDATE candidates SET proposed_on = '2006-12-01', stage_on = '2006-12-01' WHERE id = '{late}'"
        ))
        .await;
    step(
        &app,
        &late,
        json!({"type": "course_completed", "on": "2007-01-16", "certificate_number": "CN-2007"}),
    )
    .await
    .ok(200);
    let sponsors = json!([{"member_id": c.officials[0]}, {"member_id": c.sister}]);
    step(
        &app,
        &late,
        json!({"type": "sponsored", "on": "2012-02-01", "sponsors": sponsors}),
    )
    .await
    .ok(200);
    step(&app, &late, vote).await.problem_on(422, "on");
    assert_eq!(stored(&app, &late).await, (3, 2));
}

#[actix_web::test]
async fn candidates_are_scoped_and_hide_sensitive_fields_from_viewers() {
    let app = spawn_app().await;
    let c = cells(&app).await;
    let id = propose(&app, &c.cell, "Hà Văn Dũng", "1990-04-12").await;
    let viewer = app.token("viewer", "viewer", None).await;
    let reply = app.get(&format!("{CANDIDATES}/{id}"), &viewer).await;
    let body = reply.ok(200);
    for field in ["national_id", "ethnicity", "religion"] {
        assert!(body.get(field).is_none(), "{field} shown to a viewer");
    }
    let reply = app.get(&format!("{CANDIDATES}/{id}"), &app.admin).await;
    assert_eq!(reply.ok(200)["religion"], "Không");

    // The cell's own token may record the cell's steps, but not the decision of the committee above.
    let cell_token = app.token("cell", "editor", Some(&c.cell)).await;
    let course = json!({"type": "course_completed", "on": "2012-01-16", "certificate_number": "CN-1"});
    step_as(&app, &cell_token, &id, course).await.ok(200);
    let sponsors = json!([{"member_id": c.officials[0]}, {"member_id": c.sister}]);
    let sponsored = json!({"type": "sponsored", "on": "2012-02-01", "sponsors": sponsors});
    step_as(&app, &cell_token, &id, sponsored).await.ok(200);
    let vote = json!({"type": "cell_approved", "on": "2012-03-02", "votes_for": 3, "votes_total": 3});
    step_as(&app, &cell_token, &id, vote).await.ok(200);
    let decision = json!({"type": "committee_approved", "on": "2012-03-20", "decision_number": "1-QĐ"});
    step_as(&app, &cell_token, &id, decision).await.problem(403);
    assert_eq!(stored(&app, &id).await, (4, 3));

    // Filters: by stage, by subtree, by organisation.
    let other = propose(&app, &c.cell, "Lò Văn Nam", "1991-01-01").await;
    let list = app.get(&format!("{CANDIDATES}?stage=cell_approved"), &app.admin).await;
    let items = list.ok(200)["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], id.as_str());
    let list = app
        .get(
            &format!("{CANDIDATES}?organisation_id={}&count=exact", c.cell),
            &app.admin,
        )
        .await;
    assert_eq!(list.ok(200)["total"], 2);
    let list = app
        .get(&format!("{CANDIDATES}?stage=proposed,admitted"), &app.admin)
        .await;
    assert_eq!(list.ok(200)["items"][0]["id"], other.as_str());
    app.get(&format!("{CANDIDATES}?stage=elected"), &app.admin)
        .await
        .problem(400);
}

#[actix_web::test]
async fn a_proposal_checks_its_values() {
    let app = spawn_app().await;
    let c = cells(&app).await;
    let base = json!({"full_name": "Hà Văn Dũng", "birth_date": "1990-04-12", "organisation_id": c.cell});
    let with = |field: &str, value: Value| {
        let mut body = base.clone();
        body[field] = value;
        body
    };
    let committee = app.organisation("HU-03", "superior_committee", None).await;
    let refused = [
        (with("full_name", json!(" ")), "full_name"),
        (with("birth_date", json!("2999-01-01")), "birth_date"),
        (with("proposed_on", json!("2999-01-01")), "proposed_on"),
        (with("proposed_on", json!("1980-01-01")), "proposed_on"),
        (with("organisation_id", json!(committee)), "organisation_id"),
        (with("organisation_id", json!(uuid::Uuid::now_v7())), "organisation_id"),
        (with("national_id", json!("123")), "national_id"),
        (with("stage", json!("admitted")), "stage"),
    ];
    for (body, field) in refused {
        app.post(CANDIDATES, &app.admin, body).await.problem_on(422, field);
    }
    assert_eq!(app.db.count("SELECT count(*) AS n FROM candidates").await, 0);
    let reply = app.post(CANDIDATES, &app.admin, base).await;
    let body = reply.ok(201);
    let id = body["id"].as_str().unwrap();
    assert_eq!(reply.header("location"), Some(format!("{CANDIDATES}/{id}").as_str()));
    assert_eq!(body["stage"], "proposed");
}

#[actix_web::test]
async fn candidates_appear_in_the_change_feed() {
    let app = spawn_app().await;
    let c = cells(&app).await;
    let id = propose(&app, &c.cell, "Hà Văn Dũng", "1990-04-12").await;
    step(
        &app,
        &id,
        json!({"type": "course_completed", "on": "2012-01-16", "certificate_number": "CN-1"}),
    )
    .await
    .ok(200);
    let feed = app.get("/api/v1/changes?resource_type=candidate", &app.admin).await;
    let items = feed.ok(200)["items"].as_array().unwrap().clone();
    let seen: Vec<(&str, &str, i64)> = items
        .iter()
        .map(|i| {
            (
                i["resource_id"].as_str().unwrap(),
                i["action"].as_str().unwrap(),
                i["version"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(seen, [(id.as_str(), "created", 1), (id.as_str(), "updated", 2)]);
    assert_eq!(items[0]["organisation_id"], c.cell.as_str());
}

#[actix_web::test]
async fn the_candidates_report_counts_stages_and_overdue_candidates_on_a_day() {
    let app = spawn_app().await;
    let c = cells(&app).await;
    // A: voted on Friday 2012-03-02 (decision due 2012-05-25), never decided.
    let a = propose(&app, &c.cell, "Ứng Viên A", "1990-01-01").await;
    to_sponsored(&app, &a, &c).await;
    step(
        &app,
        &a,
        json!({"type": "cell_approved", "on": "2012-03-02", "votes_for": 3, "votes_total": 3}),
    )
    .await
    .ok(200);
    // B: decided on 2012-03-20 (ceremony due 2012-05-01), admitted on 2012-06-05: overdue from 2 May to 4 June.
    let b = propose(&app, &c.cell, "Ứng Viên B", "1990-01-01").await;
    to_sponsored(&app, &b, &c).await;
    step(
        &app,
        &b,
        json!({"type": "cell_approved", "on": "2012-03-02", "votes_for": 3, "votes_total": 3}),
    )
    .await
    .ok(200);
    step(
        &app,
        &b,
        json!({"type": "committee_approved", "on": "2012-03-20", "decision_number": "9-QĐ/HU"}),
    )
    .await
    .ok(200);
    step(&app, &b, json!({"type": "admitted", "on": "2012-06-05"}))
        .await
        .ok(200);
    // C: proposed, then withdrawn on 2012-02-10.
    let w = propose(&app, &c.cell, "Ứng Viên C", "1990-01-01").await;
    step(
        &app,
        &w,
        json!({"type": "withdrawn", "on": "2012-02-10", "reason": "chuyển công tác"}),
    )
    .await
    .ok(200);
    // D: in another base organisation, proposed on 2012-01-09.
    let province = app.organisation("TU", "superior_committee", None).await;
    let other = app.organisation("TU-09", "base_cell", Some(&province)).await;
    propose(&app, &other, "Ứng Viên D", "1990-01-01").await;

    let stages = |body: &Value| -> Vec<(String, i64)> {
        body["stages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["count"] != 0)
            .map(|s| (s["stage"].as_str().unwrap().to_owned(), s["count"].as_i64().unwrap()))
            .collect()
    };
    let on_first_of_may = app.get("/api/v1/reports/candidates?as_of=2012-05-01", &app.admin).await;
    let body = on_first_of_may.ok(200);
    assert_eq!(body["candidates"], 4);
    assert_eq!(body["stages"].as_array().unwrap().len(), 8, "every stage appears");
    assert_eq!(
        stages(body),
        [
            ("proposed".to_owned(), 1),
            ("cell_approved".into(), 1),
            ("committee_approved".into(), 1),
            ("withdrawn".into(), 1)
        ]
    );
    assert_eq!(
        body["overdue"].as_array().unwrap().len(),
        0,
        "B's last allowed day is 1 May"
    );

    let body = app
        .get("/api/v1/reports/candidates?as_of=2012-05-28", &app.admin)
        .await
        .ok(200)
        .clone();
    let overdue: Vec<&str> = body["overdue"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["full_name"].as_str().unwrap())
        .collect();
    assert_eq!(overdue, ["Ứng Viên B", "Ứng Viên A"], "B due 1 May, A due 25 May");
    assert_eq!(body["overdue"][1]["due_by"], "2012-05-25");

    let path = format!("/api/v1/reports/candidates?as_of=2012-06-05&organisation_id={}", c.cell);
    let body = app.get(&path, &app.admin).await.ok(200).clone();
    assert_eq!(body["candidates"], 3);
    assert_eq!(
        stages(&body),
        [
            ("cell_approved".to_owned(), 1),
            ("admitted".into(), 1),
            ("withdrawn".into(), 1)
        ]
    );
    assert_eq!(body["overdue"].as_array().unwrap().len(), 1);

    let before = app
        .get("/api/v1/reports/candidates?as_of=2011-12-31", &app.admin)
        .await
        .ok(200)
        .clone();
    assert_eq!(before["candidates"], 0);

    let csv = app
        .call(
            Method::GET,
            "/api/v1/reports/candidates?as_of=2012-05-28",
            Some(&app.admin),
            None,
            &[("accept", "text/csv")],
        )
        .await;
    assert_eq!(csv.status, 200);
    let text = String::from_utf8(csv.raw.clone()).unwrap();
    assert!(text.contains("candidates,total,4,\r\n"), "{text}");
    assert!(text.contains("stage,cell_approved,1,\r\n"), "{text}");
    assert!(text.contains("overdue,total,2,\r\n"), "{text}");
}

#[actix_web::test]
async fn a_candidate_is_corrected_or_deleted_until_admitted() {
    let app = spawn_app().await;
    let c = cells(&app).await;
    let id = propose(&app, &c.cell, "Hà Văn Dũng", "1990-04-12").await;
    let path = format!("{CANDIDATES}/{id}");
    step(
        &app,
        &id,
        json!({"type": "course_completed", "on": "2012-01-16", "certificate_number": "CN-1"}),
    )
    .await
    .ok(200);
    let reply = app
        .call(
            Method::PATCH,
            &path,
            Some(&app.admin),
            Some(&json!({"hometown": "Ngọc Lập", "religion": null})),
            &[("if-match", "\"2\"")],
        )
        .await;
    let body = reply.ok(200);
    assert_eq!(body["hometown"], "Ngọc Lập");
    assert_eq!(body["religion"], Value::Null);
    assert_eq!(body["stage"], "course_completed");
    assert_eq!(reply.header("etag"), Some("\"3\""));
    for (patch, field) in [
        (json!({"stage": "admitted"}), "stage"),
        (json!({"full_name": null}), "full_name"),
        (json!({"proposed_on": "2012-02-01"}), "proposed_on"),
        (json!({"birth_date": "2999-01-01"}), "birth_date"),
    ] {
        app.patch(&path, &app.admin, patch).await.problem_on(422, field);
    }
    assert_eq!(stored(&app, &id).await, (3, 1));

    // Once admitted, the member's record is the one to change, and the candidate stays.
    let admitted = propose(&app, &c.cell, "Lò Văn Nam", "1991-01-01").await;
    to_sponsored(&app, &admitted, &c).await;
    let vote = json!({"type": "cell_approved", "on": "2012-03-02", "votes_for": 3, "votes_total": 3});
    step(&app, &admitted, vote).await.ok(200);
    let decision = json!({"type": "committee_approved", "on": "2012-04-02", "decision_number": "2-QĐ/HU"});
    step(&app, &admitted, decision).await.ok(200);
    step(&app, &admitted, json!({"type": "admitted", "on": "2012-05-02"}))
        .await
        .ok(200);
    let admitted_path = format!("{CANDIDATES}/{admitted}");
    app.patch(&admitted_path, &app.admin, json!({"note": "x"}))
        .await
        .problem(409);
    app.delete(&admitted_path, &app.admin).await.problem(409);
    assert_eq!(stored(&app, &admitted).await, (6, 5));

    assert_eq!(app.delete(&path, &app.admin).await.status, 204);
    app.get(&path, &app.admin).await.problem(404);
    let steps = format!("SELECT count(*) AS n FROM candidate_steps WHERE candidate_id = '{id}'");
    assert_eq!(app.db.count(&steps).await, 0, "its steps went with it");
}

#[actix_web::test]
async fn candidates_on_their_way_follow_their_cell_in_a_reorganisation() {
    let app = spawn_app().await;
    let c = cells(&app).await;
    let base = app
        .get(&format!("/api/v1/organisations/{}", c.cell), &app.admin)
        .await
        .ok(200)["parent_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let receiving = app.organisation("HU-01-C9", "cell", Some(&base)).await;
    let waiting = propose(&app, &c.cell, "Đang Chờ", "1990-01-01").await;
    let withdrawn = propose(&app, &c.cell, "Đã Rút", "1990-01-01").await;
    step(
        &app,
        &withdrawn,
        json!({"type": "withdrawn", "on": "2012-02-01", "reason": "thôi"}),
    )
    .await
    .ok(200);
    let body = json!({"decision_number": "7-QĐ/HU", "decided_on": "2025-06-20", "effective_on": "2025-07-01",
                      "transfer_members": [{"from_organisation_id": c.cell, "to_organisation_id": receiving}],
                      "end": [c.cell]});
    app.post("/api/v1/reorganisations", &app.admin, body).await.ok(201);

    let moved = app.get(&format!("{CANDIDATES}/{waiting}"), &app.admin).await;
    let moved = moved.ok(200);
    assert_eq!(moved["organisation_id"], receiving.as_str());
    assert_eq!(moved["version"], 2);
    let stayed = app.get(&format!("{CANDIDATES}/{withdrawn}"), &app.admin).await;
    assert_eq!(
        stayed.ok(200)["organisation_id"],
        c.cell.as_str(),
        "a finished road keeps its history"
    );
    let feed = app.get("/api/v1/changes?resource_type=candidate", &app.admin).await;
    let last = feed.ok(200)["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["resource_id"].as_str(), last["action"].as_str()),
        (Some(waiting.as_str()), Some("reorganised"))
    );
    let audit = app
        .get(
            &format!("/api/v1/audit-events?resource_type=candidate&resource_id={waiting}"),
            &app.admin,
        )
        .await;
    assert_eq!(
        audit.ok(200)["items"][0]["changes"]["after"]["organisation_id"],
        receiving.as_str()
    );
}

#[actix_web::test]
async fn extreme_inputs_to_the_new_routes_are_answered_not_crashed() {
    let app = spawn_app().await;
    let c = cells(&app).await;
    let id = propose(&app, &c.cell, "Hà Văn Dũng", "1990-04-12").await;
    for path in [
        "/api/v1/reports/candidates?as_of=0001-01-01",
        "/api/v1/reports/candidates?as_of=262142-12-31",
        "/api/v1/reports/dues?year=2012&as_of=262142-12-31",
        "/api/v1/reports/dues?year=2999&as_of=0001-01-01",
        "/api/v1/reports/meetings?year=1930",
        "/api/v1/meetings?from=0001-01-01&to=262142-12-31",
        "/api/v1/dues?year=2999",
        "/api/v1/candidates?stage=proposed&limit=200",
    ] {
        let reply = app.get(path, &app.admin).await;
        assert!(reply.status.as_u16() < 500, "{path}: {} {}", reply.status, reply.body);
    }
    for path in [
        "/api/v1/reports/dues?year=99999999999",
        "/api/v1/dues?period=%00",
        "/api/v1/candidates?stage=",
        "/api/v1/reports/candidates?as_of=2012-02-30",
    ] {
        app.get(path, &app.admin).await.problem(400);
    }
    let huge =
        json!({"type": "cell_approved", "on": "2012-03-02", "votes_for": 4294967295u64, "votes_total": 4294967295u64});
    let reply = step(&app, &id, huge).await;
    assert!(reply.status.as_u16() < 500, "{}", reply.body);
    let far = json!({"type": "course_completed", "on": "262142-12-31", "certificate_number": "X"});
    step(&app, &id, far).await.problem_on(422, "on");
    let old = json!({"type": "course_completed", "on": "0001-01-01", "certificate_number": "X"});
    step(&app, &id, old).await.problem_on(422, "on");
}

#[actix_web::test]
async fn sponsors_and_votes_are_counted_as_members_stood_on_the_day() {
    let app = spawn_app().await;
    let c = cells(&app).await;
    let id = propose(&app, &c.cell, "Hà Văn Dũng", "1990-04-12").await;
    // An official member sponsors on 2012-02-01 and is exempted from activities on 2012-02-15.
    to_sponsored(&app, &id, &c).await;
    let exempt = format!("/api/v1/members/{}/events", c.officials[0]);
    app.post(&exempt, &app.admin, json!({"type": "exempted", "on": "2012-02-15"}))
        .await
        .ok(200);
    // The sponsorship stands; on 2012-03-02 the cell has two official members, not three.
    let vote = |votes_for: u32, votes_total: u32| json!({"type": "cell_approved", "on": "2012-03-02", "votes_for": votes_for, "votes_total": votes_total});
    step(&app, &id, vote(3, 3)).await.problem_on(422, "votes_total");
    step(&app, &id, vote(2, 2)).await.ok(200);

    // An exempt member cannot sponsor after the exemption.
    let other = propose(&app, &c.cell, "Lò Văn Nam", "1991-01-01").await;
    step(
        &app,
        &other,
        json!({"type": "course_completed", "on": "2012-01-16", "certificate_number": "CN-9"}),
    )
    .await
    .ok(200);
    let sponsors = json!([{"member_id": c.officials[0]}, {"member_id": c.sister}]);
    step(
        &app,
        &other,
        json!({"type": "sponsored", "on": "2012-03-01", "sponsors": sponsors}),
    )
    .await
    .problem_on(422, "sponsors[0].member_id");
}

#[actix_web::test]
async fn a_cell_is_not_ended_under_its_candidates_on_their_way() {
    let app = spawn_app().await;
    let c = cells(&app).await;
    let base = app
        .get(&format!("/api/v1/organisations/{}", c.cell), &app.admin)
        .await
        .ok(200)["parent_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let cell = app.organisation("HU-01-C8", "cell", Some(&base)).await;
    let waiting = propose(&app, &cell, "Đang Chờ", "1990-01-01").await;
    let organisation = format!("/api/v1/organisations/{cell}");

    // Dissolving the cell would leave the candidate with no cell to be admitted into: 409 naming them.
    let dissolve = json!({"dissolved_on": "2025-07-01"});
    let reply = app.patch(&organisation, &app.admin, dissolve.clone()).await;
    let problem = reply.problem_on(409, "dissolved_on");
    assert!(problem["detail"].as_str().unwrap().contains(&waiting), "{problem}");
    // A reorganisation that ends it without transferring its members (and with them its candidates) is refused
    // the same way, and stores nothing.
    let body = json!({"decision_number": "8-QĐ/HU", "decided_on": "2025-06-20", "effective_on": "2025-07-01",
                      "end": [cell]});
    let reply = app.post("/api/v1/reorganisations", &app.admin, body).await;
    let problem = reply.problem_on(422, "end[0]");
    assert!(problem.to_string().contains(&waiting), "{problem}");
    let stored = app.get(&organisation, &app.admin).await;
    let stored = stored.ok(200);
    assert_eq!((&stored["active"], &stored["version"]), (&json!(true), &json!(1)));
    assert_eq!(
        app.db.count("SELECT count(*) AS n FROM reorganisations").await,
        0,
        "nothing stored"
    );
    let candidate = app.get(&format!("{CANDIDATES}/{waiting}"), &app.admin).await;
    assert_eq!(candidate.ok(200)["version"], 1);

    // Once the candidate has withdrawn, the cell ends; the finished road keeps its history in it, so the cell's
    // record stays (409 on deletion).
    step(
        &app,
        &waiting,
        json!({"type": "withdrawn", "on": "2012-02-01", "reason": "chuyển công tác"}),
    )
    .await
    .ok(200);
    let ended = app.patch(&organisation, &app.admin, dissolve).await;
    assert_eq!(ended.ok(200)["dissolved_on"], "2025-07-01");
    let candidate = app.get(&format!("{CANDIDATES}/{waiting}"), &app.admin).await;
    assert_eq!(candidate.ok(200)["organisation_id"], cell.as_str());
    let reply = app.delete(&organisation, &app.admin).await;
    assert!(reply.problem(409)["detail"].as_str().unwrap().contains("candidate"));
}
