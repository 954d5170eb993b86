//! Cell meetings: attendance must list exactly the members expected that day, and the meetings report against
//! hand-counted data.

use actix_web::http::Method;
use serde_json::{json, Value};

use crate::common::{spawn_app, Reply, TestApp};

const MEETINGS: &str = "/api/v1/meetings";

async fn member<S, B>(app: &TestApp<S>, cell: &str, name: &str, admitted_on: &str) -> String
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let body =
        json!({"full_name": name, "birth_date": "1970-01-01", "organisation_id": cell, "admitted_on": admitted_on});
    app.post("/api/v1/members", &app.admin, body).await.ok(201)["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn event<S, B>(app: &TestApp<S>, member: &str, kind: &str, on: &str)
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    app.post(
        &format!("/api/v1/members/{member}/events"),
        &app.admin,
        json!({"type": kind, "on": on}),
    )
    .await
    .ok(200);
}

async fn meet<S, B>(app: &TestApp<S>, org: &str, held_on: &str, kind: &str, attendance: &[(&str, &str)]) -> Reply
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let attendance: Vec<Value> = attendance
        .iter()
        .map(|(member, status)| json!({"member_id": member, "status": status}))
        .collect();
    let body = json!({"organisation_id": org, "held_on": held_on, "kind": kind, "attendance": attendance});
    app.post(MEETINGS, &app.admin, body).await
}

/// A base committee with two cells: a, b, c official in the first, d exempt from 2012-06-01, e admitted on
/// 2012-07-01; f in the second.
struct Cells {
    base: String,
    c1: String,
    c2: String,
    a: String,
    b: String,
    c: String,
    d: String,
    e: String,
    f: String,
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
    let c1 = app.organisation("HU-01-C1", "cell", Some(&base)).await;
    let c2 = app.organisation("HU-01-C2", "cell", Some(&base)).await;
    let a = member(app, &c1, "An", "2000-01-01").await;
    let b = member(app, &c1, "Bình", "2000-01-01").await;
    let c = member(app, &c1, "Cường", "2000-01-01").await;
    let d = member(app, &c1, "Dũng", "2000-01-01").await;
    event(app, &d, "recognised_official", "2001-01-02").await;
    event(app, &d, "exempted", "2012-06-01").await;
    let e = member(app, &c1, "Em", "2012-07-01").await;
    let f = member(app, &c2, "Phúc", "2000-01-01").await;
    Cells {
        base,
        c1,
        c2,
        a,
        b,
        c,
        d,
        e,
        f,
    }
}

#[actix_web::test]
async fn attendance_lists_exactly_the_members_expected_that_day() {
    let app = spawn_app().await;
    let w = cells(&app).await;
    let p = "present";
    // In May d is not yet exempt and e not yet admitted.
    let reply = meet(&app, &w.c1, "2012-05-05", "regular", &[(&w.a, p), (&w.b, p), (&w.c, p)]).await;
    let problem = reply.problem_on(422, "attendance");
    assert!(
        problem.to_string().contains(&w.d),
        "names the missing member: {problem}"
    );
    meet(
        &app,
        &w.c1,
        "2012-05-05",
        "regular",
        &[(&w.a, p), (&w.b, p), (&w.c, p), (&w.d, p), (&w.f, p)],
    )
    .await
    .problem_on(422, "attendance[4].member_id");
    meet(
        &app,
        &w.c1,
        "2012-05-05",
        "regular",
        &[(&w.a, p), (&w.b, p), (&w.c, p), (&w.d, p), (&w.e, p)],
    )
    .await
    .problem_on(422, "attendance[4].member_id");
    meet(
        &app,
        &w.c1,
        "2012-05-05",
        "regular",
        &[(&w.a, p), (&w.b, p), (&w.c, p), (&w.d, p), (&w.a, p)],
    )
    .await
    .problem_on(422, "attendance[4].member_id");
    meet(
        &app,
        &w.c1,
        "2999-05-05",
        "regular",
        &[(&w.a, p), (&w.b, p), (&w.c, p), (&w.d, p)],
    )
    .await
    .problem_on(422, "held_on");
    let district = app.organisation("TU", "superior_committee", None).await;
    meet(&app, &district, "2012-05-05", "regular", &[])
        .await
        .problem_on(422, "organisation_id");
    let bad_status = json!({"organisation_id": w.c1, "held_on": "2012-05-05", "kind": "regular",
                            "attendance": [{"member_id": w.a, "status": "late"}]});
    app.post(MEETINGS, &app.admin, bad_status).await.problem(422);
    assert_eq!(app.db.count("SELECT count(*) AS n FROM meetings").await, 0);
    assert_eq!(app.db.count("SELECT count(*) AS n FROM meeting_attendance").await, 0);

    let reply = meet(
        &app,
        &w.c1,
        "2012-05-05",
        "regular",
        &[(&w.a, p), (&w.b, "absent_excused"), (&w.c, p), (&w.d, p)],
    )
    .await;
    let meeting = reply.ok(201).clone();
    let id = meeting["id"].as_str().unwrap();
    assert_eq!(reply.header("location"), Some(format!("{MEETINGS}/{id}").as_str()));
    assert_eq!(meeting["attendance"].as_array().unwrap().len(), 4);
    // In July d is exempt (not expected) and e is a member.
    meet(
        &app,
        &w.c1,
        "2012-07-05",
        "regular",
        &[(&w.a, p), (&w.b, p), (&w.c, p), (&w.d, p), (&w.e, p)],
    )
    .await
    .problem_on(422, "attendance[3].member_id");
    meet(
        &app,
        &w.c1,
        "2012-07-05",
        "regular",
        &[(&w.a, p), (&w.b, p), (&w.c, p), (&w.e, p)],
    )
    .await
    .ok(201);
    // A base committee's meeting expects the members of its cells.
    let all = [(&w.a, p), (&w.b, p), (&w.c, p), (&w.e, p), (&w.f, p)];
    let all: Vec<(&str, &str)> = all.iter().map(|(m, s)| (m.as_str(), *s)).collect();
    meet(&app, &w.base, "2012-07-10", "thematic", &all).await.ok(201);

    let found = app.get(&format!("{MEETINGS}/{id}"), &app.admin).await;
    assert_eq!(found.ok(200)["attendance"], meeting["attendance"]);
    let list = app
        .get(
            &format!("{MEETINGS}?organisation_id={}&from=2012-06-01&count=exact", w.c1),
            &app.admin,
        )
        .await;
    assert_eq!(list.ok(200)["total"], 1);
    let list = app
        .get(&format!("{MEETINGS}?under={}&kind=thematic", w.base), &app.admin)
        .await;
    assert_eq!(list.ok(200)["items"][0]["attendance"].as_array().unwrap().len(), 5);
    let feed = app.get("/api/v1/changes?resource_type=meeting", &app.admin).await;
    assert_eq!(feed.ok(200)["items"].as_array().unwrap().len(), 3);
    let audit = app
        .get(
            &format!("/api/v1/audit-events?resource_type=meeting&resource_id={id}"),
            &app.admin,
        )
        .await;
    assert_eq!(audit.ok(200)["items"][0]["action"], "create");
}

#[actix_web::test]
async fn the_meetings_report_counts_a_year_per_cell() {
    let app = spawn_app().await;
    let w = cells(&app).await;
    let (p, x, u) = ("present", "absent_excused", "absent_unexcused");
    for month in [1, 2, 4, 5, 6, 7, 8, 9, 11, 12] {
        let day = format!("2012-{month:02}-05");
        let b = if [1, 2, 4].contains(&month) { u } else { p };
        let c = if month == 5 { x } else { p };
        let attendance: Vec<(&str, &str)> = match month {
            1..=5 => vec![(&w.a, p), (&w.b, b), (&w.c, c), (&w.d, p)],
            6 => vec![(&w.a, p), (&w.b, b), (&w.c, c)],
            _ => vec![(&w.a, p), (&w.b, b), (&w.c, c), (&w.e, p)],
        }
        .into_iter()
        .map(|(m, s)| (m.as_str(), s))
        .collect();
        meet(&app, &w.c1, &day, "regular", &attendance).await.ok(201);
    }
    let early: Vec<(&str, &str)> = [&w.a, &w.b, &w.c, &w.d].iter().map(|m| (m.as_str(), p)).collect();
    let late: Vec<(&str, &str)> = [&w.a, &w.b, &w.c, &w.e].iter().map(|m| (m.as_str(), p)).collect();
    meet(&app, &w.c1, "2012-02-15", "thematic", &early).await.ok(201);
    meet(&app, &w.c1, "2012-08-20", "thematic", &late).await.ok(201);
    meet(&app, &w.c1, "2012-09-20", "thematic", &late).await.ok(201);
    // Another year does not count.
    let old: Vec<(&str, &str)> = [&w.a, &w.b, &w.c, &w.d].iter().map(|m| (m.as_str(), u)).collect();
    meet(&app, &w.c1, "2011-12-05", "regular", &old).await.ok(201);

    let reply = app
        .get(
            &format!("/api/v1/reports/meetings?year=2012&organisation_id={}", w.base),
            &app.admin,
        )
        .await;
    let body = reply.ok(200);
    let cells = body["organisations"].as_array().unwrap();
    let codes: Vec<&str> = cells.iter().map(|c| c["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["HU-01-C1", "HU-01-C2"]);
    let c1 = &cells[0];
    assert_eq!(c1["meetings"], 13);
    assert_eq!(c1["regular_meetings"], 10);
    assert_eq!(c1["months_without_regular"], json!([3, 10]));
    assert_eq!(c1["thematic_per_quarter"], json!([1, 0, 2, 0]));
    // 51 expected, 3 unexcused and 1 excused absences: 47 / 51 = 92.156...
    assert_eq!(c1["attendance_rate"], 92.16);
    // Not good: January, February, April (an unexcused absence), May (3 of 4 present).
    assert_eq!(c1["good_quality_meetings"], 9);
    let absent = c1["absent_without_excuse"].as_array().unwrap();
    assert_eq!(absent.len(), 1);
    assert_eq!(absent[0]["member_id"], w.b.as_str());
    assert_eq!(absent[0]["months"], 3);
    let c2 = &cells[1];
    assert_eq!(c2["organisation_id"], w.c2.as_str());
    assert_eq!(c2["meetings"], 0);
    assert_eq!(c2["months_without_regular"].as_array().unwrap().len(), 12);
    assert_eq!(c2["attendance_rate"], 0.0);

    let csv = app
        .call(
            Method::GET,
            &format!("/api/v1/reports/meetings?year=2012&organisation_id={}", w.base),
            Some(&app.admin),
            None,
            &[("accept", "text/csv")],
        )
        .await;
    let text = String::from_utf8(csv.raw.clone()).unwrap();
    assert!(
        text.contains(&format!(
            "{},HU-01-C1,Tổ chức HU-01-C1,13,10,2,1,0,2,0,92.16,9,1\r\n",
            w.c1
        )),
        "{text}"
    );
    app.get("/api/v1/reports/meetings?year=abc", &app.admin)
        .await
        .problem(400);
}

#[actix_web::test]
async fn the_meetings_report_comes_in_pages_of_organisations_with_their_absentees() {
    let app = spawn_app().await;
    let w = cells(&app).await;
    for month in 1..=3 {
        let day = format!("2012-{month:02}-10");
        meet(&app, &w.c2, &day, "regular", &[(w.f.as_str(), "absent_unexcused")])
            .await
            .ok(201);
    }
    let report = format!("/api/v1/reports/meetings?year=2012&organisation_id={}", w.base);
    let first = app.get(&format!("{report}&limit=1&count=exact"), &app.admin).await;
    let body = first.ok(200);
    assert_eq!(body["total"], 2);
    assert_eq!(body["organisations"].as_array().unwrap().len(), 1);
    assert_eq!(body["organisations"][0]["code"], "HU-01-C1");
    assert_eq!(body["organisations"][0]["absent_without_excuse"], json!([]));
    let cursor = body["next_cursor"].as_str().expect("a next page").to_owned();
    let link = first.header("link").expect("a Link header").to_owned();
    assert!(link.ends_with("; rel=\"next\""), "{link}");
    assert!(link.contains(&format!("cursor={cursor}")), "{link}");
    assert!(link.contains("limit=1") && link.contains(&w.base), "{link}");

    let second = app.get(&format!("{report}&limit=1&cursor={cursor}"), &app.admin).await;
    let body = second.ok(200);
    assert_eq!(second.header("link"), None);
    assert_eq!(body["next_cursor"], Value::Null);
    assert!(body.get("total").is_none(), "{body}");
    let cells = body["organisations"].as_array().unwrap();
    assert_eq!(cells.len(), 1);
    assert_eq!(cells[0]["organisation_id"], w.c2.as_str());
    assert_eq!(cells[0]["meetings"], 3);
    let absent = cells[0]["absent_without_excuse"].as_array().unwrap();
    assert_eq!(absent.len(), 1);
    assert_eq!(absent[0]["member_id"], w.f.as_str());
    assert_eq!(absent[0]["months"], 3);

    // Without `limit`, a page of 50: both at once.
    let whole = app.get(&report, &app.admin).await;
    assert_eq!(whole.ok(200)["organisations"].as_array().unwrap().len(), 2);
    assert_eq!(whole.body["next_cursor"], Value::Null);
    // CSV has every organisation whatever the page parameters.
    let csv = app
        .call(
            Method::GET,
            &format!("{report}&limit=1&cursor={cursor}"),
            Some(&app.admin),
            None,
            &[("accept", "text/csv")],
        )
        .await;
    assert_eq!(csv.status.as_u16(), 200);
    let text = String::from_utf8(csv.raw.clone()).unwrap();
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(text.contains(&format!("{},HU-01-C2,", w.c2)), "{text}");

    app.get(&format!("{report}&limit=0"), &app.admin)
        .await
        .problem_on(400, "limit");
    app.get(&format!("{report}&limit=201"), &app.admin)
        .await
        .problem_on(400, "limit");
    app.get(&format!("{report}&cursor=bm90LWEtY3Vyc29y"), &app.admin)
        .await
        .problem_on(400, "cursor");
}

#[actix_web::test]
async fn a_corrected_or_deleted_meeting_leaves_the_report_as_if_recorded_so() {
    let app = spawn_app().await;
    let w = cells(&app).await;
    let (p, u) = ("present", "absent_unexcused");
    let mut ids = Vec::new();
    for month in 1..=4 {
        let b = if month == 3 { p } else { u };
        let attendance = [
            (w.a.as_str(), p),
            (w.b.as_str(), b),
            (w.c.as_str(), p),
            (w.d.as_str(), p),
        ];
        let reply = meet(&app, &w.c1, &format!("2012-{month:02}-05"), "regular", &attendance).await;
        ids.push(reply.ok(201)["id"].as_str().unwrap().to_owned());
    }
    let report = format!("/api/v1/reports/meetings?year=2012&organisation_id={}", w.c1);
    let cell = |body: &Value| body["organisations"][0].clone();

    let before = cell(app.get(&report, &app.admin).await.ok(200));
    assert_eq!(before["regular_meetings"], 4);
    assert_eq!(before["months_without_regular"], json!([5, 6, 7, 8, 9, 10, 11, 12]));
    assert_eq!(before["absent_without_excuse"][0]["member_id"], w.b.as_str());
    assert_eq!(before["absent_without_excuse"][0]["months"], 3);

    // March's meeting was thematic.
    app.patch(
        &format!("{MEETINGS}/{}", ids[2]),
        &app.admin,
        json!({"kind": "thematic"}),
    )
    .await
    .ok(200);
    let corrected = cell(app.get(&report, &app.admin).await.ok(200));
    assert_eq!(corrected["meetings"], 4);
    assert_eq!(corrected["regular_meetings"], 3);
    assert_eq!(
        corrected["months_without_regular"],
        json!([3, 5, 6, 7, 8, 9, 10, 11, 12])
    );
    assert_eq!(corrected["thematic_per_quarter"], json!([1, 0, 0, 0]));
    assert_eq!(corrected["absent_without_excuse"], before["absent_without_excuse"]);

    // April's was recorded by mistake: with it go Bình's third month and its attendance.
    app.delete(&format!("{MEETINGS}/{}", ids[3]), &app.admin).await.ok(204);
    app.get(&format!("{MEETINGS}/{}", ids[3]), &app.admin)
        .await
        .problem(404);
    let deleted = cell(app.get(&report, &app.admin).await.ok(200));
    assert_eq!(deleted["meetings"], 3);
    assert_eq!(deleted["regular_meetings"], 2);
    assert_eq!(
        deleted["months_without_regular"],
        json!([3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
    );
    // 12 expected, 10 present (Bình absent in January and February).
    assert_eq!(deleted["attendance_rate"], 83.33);
    assert_eq!(deleted["good_quality_meetings"], 1);
    assert_eq!(deleted["absent_without_excuse"], json!([]));

    // Recorded again, it counts again.
    let attendance = [
        (w.a.as_str(), p),
        (w.b.as_str(), u),
        (w.c.as_str(), p),
        (w.d.as_str(), p),
    ];
    meet(&app, &w.c1, "2012-04-05", "regular", &attendance).await.ok(201);
    let again = cell(app.get(&report, &app.admin).await.ok(200));
    assert_eq!(again["regular_meetings"], 3);
    assert_eq!(again["absent_without_excuse"][0]["months"], 3);
}

#[actix_web::test]
async fn an_attendance_entry_moved_by_hand_counts_where_it_went() {
    let app = spawn_app().await;
    let w = cells(&app).await;
    let (p, u) = ("present", "absent_unexcused");
    let here = [
        (w.a.as_str(), p),
        (w.b.as_str(), u),
        (w.c.as_str(), p),
        (w.d.as_str(), p),
    ];
    let from = meet(&app, &w.c1, "2012-03-05", "regular", &here).await;
    let to = meet(&app, &w.c2, "2012-03-05", "regular", &[(w.f.as_str(), p)]).await;
    let (from, to) = (from.ok(201)["id"].as_str().unwrap(), to.ok(201)["id"].as_str().unwrap());
    // No route moves an entry; a database administrator's correction does.
    app.db
        .execute(&format!(
            "UPDATE meeting_attendance SET meeting_id = '{to}' WHERE meeting_id = '{from}' AND member_id = '{}'",
            w.b
        ))
        .await;
    let report = app
        .get(
            &format!("/api/v1/reports/meetings?year=2012&organisation_id={}", w.base),
            &app.admin,
        )
        .await;
    let cells = report.ok(200)["organisations"].as_array().unwrap().clone();
    assert_eq!(cells[0]["organisation_id"], w.c1.as_str());
    assert_eq!(cells[0]["attendance_rate"], 100.0);
    assert_eq!(cells[0]["good_quality_meetings"], 1);
    assert_eq!(cells[1]["attendance_rate"], 50.0);
    assert_eq!(cells[1]["good_quality_meetings"], 0);
}

#[actix_web::test]
async fn a_large_attendance_list_is_read_whole_and_judged_by_the_rules() {
    let app = spawn_app().await;
    let t = cells(&app).await;
    // 2,000 entries (the most the document allows) are over 64 KiB: the body is read, and the foreign members
    // are refused by name, not by size.
    let attendance: Vec<serde_json::Value> = (0..2000)
        .map(|_| serde_json::json!({"member_id": uuid::Uuid::new_v4(), "status": "absent_unexcused"}))
        .collect();
    let body = serde_json::json!({"organisation_id": t.c1, "held_on": "2012-05-05", "kind": "regular",
                                  "attendance": attendance});
    assert!(body.to_string().len() > 64 * 1024);
    let reply = app.post(MEETINGS, &app.admin, body.clone()).await;
    reply.problem_on(422, "attendance[0].member_id");
    let reply = app
        .call(
            actix_web::http::Method::POST,
            MEETINGS,
            Some(&app.admin),
            Some(&body),
            &[("Idempotency-Key", "large-meeting")],
        )
        .await;
    reply.problem(422);
    assert_eq!(app.db.count("SELECT count(*) AS n FROM meetings").await, 0);
}

#[actix_web::test]
async fn many_meetings_at_once_keep_the_rules_of_one() {
    use partybase::domain::ids::{MemberId, OrganisationId};
    use partybase::domain::meeting::{AttendanceStatus, MeetingKind};
    use partybase::resources::meetings::service::{expected_many, record_many, NewMeeting};

    let app = spawn_app().await;
    let w = cells(&app).await;
    let org = |id: &str| OrganisationId(id.parse().unwrap());
    let member = |id: &str| MemberId(id.parse().unwrap());
    let day = |s: &str| s.parse::<chrono::NaiveDate>().unwrap();
    let actor = partybase::auth::Actor::system("cli", "test-many");
    let mut conn = app.db.connect().await;

    // The members expected, as one meeting at a time expects them: d is exempt from June, e admitted in July,
    // and a meeting of the base committee expects its cells' members.
    let keys = [
        (org(&w.c1), day("2012-05-05")),
        (org(&w.c1), day("2012-07-05")),
        (org(&w.base), day("2012-07-05")),
    ];
    let mut expected = expected_many(&mut conn, &keys).await.unwrap();
    let mut want = vec![
        vec![member(&w.a), member(&w.b), member(&w.c), member(&w.d)],
        vec![member(&w.a), member(&w.b), member(&w.c), member(&w.e)],
        vec![member(&w.a), member(&w.b), member(&w.c), member(&w.e), member(&w.f)],
    ];
    for list in expected.iter_mut().chain(want.iter_mut()) {
        list.sort();
    }
    assert_eq!(expected, want);

    let meeting = |on: &str, members: &[&String]| NewMeeting {
        organisation_id: org(&w.c1),
        held_on: day(on),
        kind: MeetingKind::Regular,
        topic: None,
        attendance: members.iter().map(|m| (member(m), AttendanceStatus::Present)).collect(),
    };
    // July's meeting lists the exempt d instead of e: refused, named by the meeting, and nothing stored.
    let refused = record_many(
        &mut conn,
        &actor,
        vec![
            meeting("2012-05-05", &[&w.a, &w.b, &w.c, &w.d]),
            meeting("2012-07-05", &[&w.a, &w.b, &w.c, &w.d]),
        ],
    )
    .await;
    let Err(partybase::error::ApiError::Validation(errors)) = refused else {
        panic!("expected a refusal, got {refused:?}");
    };
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        ["meetings[1].attendance[3].member_id", "meetings[1].attendance"]
    );
    assert_eq!(app.db.count("SELECT count(*) AS n FROM meetings").await, 0);

    let stored = record_many(
        &mut conn,
        &actor,
        vec![
            meeting("2012-05-05", &[&w.a, &w.b, &w.c, &w.d]),
            meeting("2012-07-05", &[&w.a, &w.b, &w.c, &w.e]),
        ],
    )
    .await
    .unwrap();
    assert_eq!(stored, 2);
    drop(conn);
    assert_eq!(app.db.count("SELECT count(*) AS n FROM meeting_attendance").await, 8);
    let audited =
        "SELECT count(*) AS n FROM audit_events WHERE resource_type = 'meeting' AND request_id = 'test-many' \
                   AND jsonb_array_length(changes -> 'after' -> 'attendance') = 4";
    assert_eq!(app.db.count(audited).await, 2);
    let listed = app
        .get(&format!("{MEETINGS}?organisation_id={}", w.c1), &app.admin)
        .await;
    assert_eq!(listed.ok(200)["items"].as_array().unwrap().len(), 2);
}
