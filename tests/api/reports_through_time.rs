//! Reports on a year, a period or a past day count the tree as it stood then: a district's 2012 figures stay the
//! same after the 2025 reorganisation ended it, moved its cells under a new commune and made them base cells.

use std::time::{Duration, Instant};

use actix_http::Request;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::Method;
use serde_json::{json, Value};

use crate::common::{request, serve, spawn_app, TestApp, TestDatabase};
use crate::reports::{csv_lines, evaluate};

/// Admits a member and returns its id.
async fn admit<S, B>(app: &TestApp<S>, name: &str, org: &str, admitted_on: &str, level: &str) -> String
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let body = json!({"full_name": name, "birth_date": "1985-04-02", "organisation_id": org,
                      "admitted_on": admitted_on, "political_theory": level});
    app.post("/api/v1/members", &app.admin, body).await.ok(201)["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn grade_member<S, B>(app: &TestApp<S>, member: &str, year: i32, grade: &str)
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let body = json!({"member_id": member, "year": year, "grade": grade});
    app.post("/api/v1/member-evaluations", &app.admin, body).await.ok(201);
}

/// Every report a district publishes about 2012 (and the quota of 2024, the last year before the reform), as JSON
/// and one as CSV: what must not change when the tree changes later.
async fn district_reports<S, B>(app: &TestApp<S>, org: &str) -> Vec<Value>
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let mut reports = Vec::new();
    for query in [
        format!("evaluations?year=2012&organisation_id={org}"),
        format!("member-evaluations?year=2012&organisation_id={org}"),
        format!("member-evaluations?year=2024&organisation_id={org}"),
        format!("admissions?from=2012-01-01&to=2012-12-31&group_by=organisation&organisation_id={org}"),
        format!("admissions?from=2012-01-01&to=2012-12-31&group_by=month&organisation_id={org}"),
        format!("political-theory?as_of=2012-12-31&organisation_id={org}"),
    ] {
        let reply = app.get(&format!("/api/v1/reports/{query}"), &app.admin).await;
        reports.push(reply.ok(200).clone());
    }
    let csv = app
        .call(
            Method::GET,
            &format!("/api/v1/reports/member-evaluations?year=2024&organisation_id={org}"),
            Some(&app.admin),
            None,
            &[("accept", "text/csv")],
        )
        .await;
    assert_eq!(csv.status, 200);
    reports.push(json!(csv_lines(&csv.raw)));
    reports
}

fn count_of(report: &Value, grade: &str) -> i64 {
    report["grades"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["grade"] == grade)
        .unwrap()["count"]
        .as_i64()
        .unwrap()
}

#[actix_web::test]
async fn a_districts_2012_reports_answer_the_same_after_the_2025_reorganisation_ended_it() {
    let app = spawn_app().await;
    let province = app.organisation("PT", "superior_committee", None).await;
    let district = app.organisation("TS", "superior_committee", Some(&province)).await;
    let commune_a = app.organisation("TS-A", "base_committee", Some(&district)).await;
    let commune_b = app.organisation("TS-B", "base_committee", Some(&district)).await;
    let cell_a1 = app.organisation("TS-A-1", "cell", Some(&commune_a)).await;
    let cell_a2 = app.organisation("TS-A-2", "cell", Some(&commune_a)).await;
    let cell_b1 = app.organisation("TS-B-1", "cell", Some(&commune_b)).await;
    let school = app.organisation("TS-THPT", "base_cell", Some(&district)).await;

    // Eight members admitted in the first half of 2012: five in commune A's cells, two in B's, one at the school.
    let mut members = Vec::new();
    for (i, (org, day, level)) in [
        (&cell_a1, "2012-02-01", "elementary"),
        (&cell_a1, "2012-02-20", "none"),
        (&cell_a1, "2012-03-05", "intermediate"),
        (&cell_a2, "2012-04-10", "elementary"),
        (&cell_a2, "2012-05-02", "advanced"),
        (&cell_b1, "2012-03-15", "none"),
        (&cell_b1, "2012-06-01", "intermediate"),
        (&school, "2012-04-20", "elementary"),
    ]
    .into_iter()
    .enumerate()
    {
        members.push(admit(&app, &format!("Đinh Văn {i}"), org, day, level).await);
    }
    // 2012: the three base organisations graded; a village cell's evaluation is not a base organisation's.
    evaluate(&app, &commune_a, 2012, "clean_strong", true).await;
    evaluate(&app, &commune_b, 2012, "well_completed", false).await;
    evaluate(&app, &school, 2012, "completed", false).await;
    evaluate(&app, &cell_a1, 2012, "weak", false).await;
    for (member, grade_2012, grade_2024) in [
        (0, "excellent", "excellent"),
        (1, "good", "excellent"),
        (2, "good", "good"),
        (3, "good", "good"),
        (4, "completed", "good"),
        (5, "good", "good"),
        (6, "not_completed", "good"),
        (7, "excellent", "good"),
    ] {
        grade_member(&app, &members[member], 2012, grade_2012).await;
        grade_member(&app, &members[member], 2024, grade_2024).await;
    }

    let before = district_reports(&app, &district).await;
    let [evaluations, members_2012, members_2024, by_organisation, by_month, theory, _] = &before[..] else {
        unreachable!()
    };
    assert_eq!(evaluations["base_organisations"], 3);
    assert_eq!(evaluations["evaluated"], 3);
    assert_eq!(evaluations["exemplary"], 1);
    assert_eq!(
        count_of(evaluations, "weak"),
        0,
        "the cell is not a base organisation in 2012"
    );
    assert_eq!(members_2012["evaluated"], 8);
    assert_eq!(count_of(members_2012, "good"), 4);
    assert_eq!(members_2012["quota_breaches"], json!([]));
    // 2024: commune A has 2 excellent against 3 good (over 20%), commune B and the school none.
    let breaches = members_2024["quota_breaches"].as_array().unwrap();
    assert_eq!(breaches.len(), 1);
    assert_eq!(breaches[0]["organisation_id"], commune_a.as_str());
    assert_eq!(
        (breaches[0]["excellent"].as_i64(), breaches[0]["good"].as_i64()),
        (Some(2), Some(3))
    );
    assert_eq!(by_organisation["total"], 8);
    let groups: Vec<(String, i64)> = by_organisation["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["key"].as_str().unwrap().to_owned(), g["count"].as_i64().unwrap()))
        .collect();
    let mut expected = vec![(commune_a.clone(), 5), (commune_b.clone(), 2), (school.clone(), 1)];
    expected.sort();
    assert_eq!(groups, expected);
    assert_eq!(by_month["groups"].as_array().unwrap().len(), 5);
    assert_eq!(theory["members"], 8);
    assert_eq!(theory["as_of"], "2012-12-31");

    // 1 July 2025: the district and its communes end; one new commune under the province takes the old communes'
    // cells as base cells; the school moves under the province.
    let reform = json!({
        "decision_number": "1234-QĐ/TU", "decided_on": "2025-06-20", "effective_on": "2025-07-01",
        "create": [{"ref": "new", "code": "PT-XA-MOI", "name": "Đảng bộ xã Mới", "kind": "superior_committee",
                    "sector": "commune", "parent_id": province}],
        "move": [{"organisation_id": cell_a1, "to_parent_ref": "new", "kind": "base_cell"},
                 {"organisation_id": cell_a2, "to_parent_ref": "new", "kind": "base_cell"},
                 {"organisation_id": cell_b1, "to_parent_ref": "new", "kind": "base_cell"},
                 {"organisation_id": school, "to_parent_id": province}],
        "end": [commune_a, commune_b, district],
        "successors": [{"organisation_id": commune_a, "successor_ref": "new"},
                       {"organisation_id": commune_b, "successor_ref": "new"},
                       {"organisation_id": district, "successor_ref": "new"}]
    });
    let reorganisation = app.post("/api/v1/reorganisations", &app.admin, reform).await;
    let new_commune = reorganisation.ok(201)["operations"]["create"][0]["organisation_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let after = district_reports(&app, &district).await;
    for (i, (before, after)) in before.iter().zip(&after).enumerate() {
        assert_eq!(
            before, after,
            "report {i} under the district changed after the reorganisation"
        );
    }
    // The province's 2012 figures do not gain the cells that are base cells today.
    let province_2012 = app
        .get(
            &format!("/api/v1/reports/evaluations?year=2012&organisation_id={province}"),
            &app.admin,
        )
        .await;
    assert_eq!(province_2012.ok(200)["base_organisations"], 3);
    assert_eq!(count_of(province_2012.ok(200), "weak"), 0);

    // Today the district holds no one, and the new commune holds the members of the old communes' cells.
    let today_district = app
        .get(
            &format!("/api/v1/reports/political-theory?organisation_id={district}"),
            &app.admin,
        )
        .await;
    assert_eq!(today_district.ok(200)["members"], 0);
    let today_commune = app
        .get(
            &format!("/api/v1/reports/political-theory?organisation_id={new_commune}"),
            &app.admin,
        )
        .await;
    assert_eq!(today_commune.ok(200)["members"], 7);
    // The new commune did not exist in 2012: its reports about then count nothing, and say whose they are.
    for query in [
        format!("political-theory?as_of=2012-12-31&organisation_id={new_commune}"),
        format!("evaluations?year=2012&organisation_id={new_commune}"),
        format!("member-evaluations?year=2024&organisation_id={new_commune}"),
        format!("admissions?from=2012-01-01&to=2012-12-31&organisation_id={new_commune}"),
    ] {
        let reply = app.get(&format!("/api/v1/reports/{query}"), &app.admin).await;
        let report = reply.ok(200);
        assert_eq!(report["organisation_id"], new_commune.as_str(), "{query}");
        for count in ["members", "base_organisations", "evaluated", "total"] {
            if let Some(n) = report.get(count) {
                assert_eq!(n, 0, "{query}: {count}");
            }
        }
    }
    // As of a day after the reform, the history places the same members under the new commune.
    let later = app
        .get(
            &format!("/api/v1/reports/political-theory?as_of=2025-07-01&organisation_id={new_commune}"),
            &app.admin,
        )
        .await;
    assert_eq!(later.ok(200)["members"], 7);
    let later_district = app
        .get(
            &format!("/api/v1/reports/political-theory?as_of=2025-07-01&organisation_id={district}"),
            &app.admin,
        )
        .await;
    assert_eq!(later_district.ok(200)["members"], 0);
}

#[actix_web::test]
async fn admissions_over_a_period_follow_an_organisation_that_moved_during_it() {
    let app = spawn_app().await;
    let province = app.organisation("PT", "superior_committee", None).await;
    let district = app.organisation("TS", "superior_committee", Some(&province)).await;
    let commune = app.organisation("TS-A", "base_committee", Some(&district)).await;
    let cell = app.organisation("TS-A-1", "cell", Some(&commune)).await;
    admit(&app, "Lò Văn Xuân", &cell, "2025-03-01", "none").await;
    admit(&app, "Lò Thị Hạ", &cell, "2025-08-01", "none").await;
    let reform = json!({
        "decision_number": "99-QĐ/TU", "decided_on": "2025-06-20", "effective_on": "2025-07-01",
        "create": [{"ref": "new", "code": "PT-XA-MOI", "name": "Đảng bộ xã Mới", "kind": "superior_committee",
                    "sector": "commune", "parent_id": province}],
        "move": [{"organisation_id": cell, "to_parent_ref": "new", "kind": "base_cell"}],
        "end": [commune, district]
    });
    let reply = app.post("/api/v1/reorganisations", &app.admin, reform).await;
    let new_commune = reply.ok(201)["operations"]["create"][0]["organisation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let total = |org: String| {
        let app = &app;
        async move {
            let path = format!("/api/v1/reports/admissions?from=2025-01-01&to=2025-12-31&organisation_id={org}");
            app.get(&path, &app.admin).await.ok(200)["total"].as_i64().unwrap()
        }
    };
    assert_eq!(
        total(district.clone()).await,
        1,
        "March, before the cell left the district"
    );
    assert_eq!(
        total(new_commune.clone()).await,
        1,
        "August, after the cell joined the new commune"
    );
    assert_eq!(
        total(cell.clone()).await,
        2,
        "the cell itself, on both sides of its move"
    );
    assert_eq!(total(province.clone()).await, 2);
    // The whole registry counts each admission once, in whichever version of the cell it fell.
    let reply = app
        .get(
            "/api/v1/reports/admissions?from=2025-01-01&to=2025-12-31&group_by=quarter",
            &app.admin,
        )
        .await;
    let everywhere = reply.ok(200);
    assert_eq!(everywhere["total"], 2);
    assert_eq!(
        everywhere["groups"],
        json!([{"key": "2025-Q1", "count": 1}, {"key": "2025-Q3", "count": 1}])
    );
    // Grouped by base organisation: the old commune before the move, the cell (a base cell since) after it, within
    // the province and in the whole registry.
    let mut expected = vec![
        (commune.clone(), "Tổ chức TS-A".to_owned(), 1),
        (cell.clone(), "Tổ chức TS-A-1".to_owned(), 1),
    ];
    expected.sort();
    let period = "from=2025-01-01&to=2025-12-31&group_by=organisation";
    assert_eq!(
        base_groups(&app, &format!("{period}&organisation_id={province}")).await,
        expected
    );
    assert_eq!(kept_base_groups(&app, period, "2025-12-31").await, expected);
}

/// The admissions report grouped by base organisation, as sorted (key, name, count) triples.
async fn base_groups<S, B>(app: &TestApp<S>, query: &str) -> Vec<(String, String, i64)>
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let reply = app
        .get(&format!("/api/v1/reports/admissions?{query}"), &app.admin)
        .await;
    let mut groups: Vec<(String, String, i64)> = reply.ok(200)["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["key"].as_str().unwrap().to_owned(),
                g["name"].as_str().unwrap().to_owned(),
                g["count"].as_i64().unwrap(),
            )
        })
        .collect();
    groups.sort();
    groups
}

/// The shared lock writers of admissions and of the tree hold until they commit (migration `admission_bases_kept`).
const ADMISSION_WRITERS_LOCK: i64 = 7065766175;

/// The served service's gauges of what the admissions kept by base organisation have yet to count in.
fn admission_metrics(address: &str) -> String {
    let scraped = request(address, "GET", "/metrics", &[], None);
    String::from_utf8(scraped.body)
        .unwrap()
        .lines()
        .filter(|line| line.starts_with("admission_notes_waiting ") || line.starts_with("admission_days_out_of_date "))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether the admissions kept by day and base organisation are up to date through `day`.
async fn admissions_kept_through(db: &TestDatabase, day: &str) -> bool {
    db.count(&format!(
        "SELECT count(*) AS n FROM admission_bases_kept WHERE until > '{day}'"
    ))
    .await
        == 1
}

/// The whole registry's admissions by base organisation over `period` (a query ending on `to`), from the kept
/// figures, checked against the same report counted without them (the figures marked out of date while another
/// connection holds the lock a recount needs, as a writer does) and against a recount of every day.
async fn kept_base_groups<S, B>(app: &TestApp<S>, period: &str, to: &str) -> Vec<(String, String, i64)>
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let kept = base_groups(app, period).await;
    assert!(admissions_kept_through(&app.db, to).await);
    app.db
        .execute("UPDATE admission_bases_kept SET until = '-infinity'")
        .await;
    let mut writer = app.db.connect().await;
    let lock = diesel::sql_query(format!("SELECT pg_advisory_lock_shared({ADMISSION_WRITERS_LOCK})"));
    diesel_async::RunQueryDsl::execute(lock, &mut writer).await.unwrap();
    assert_eq!(
        base_groups(app, period).await,
        kept,
        "{period}: the kept figures differ from the counted ones"
    );
    assert!(
        !admissions_kept_through(&app.db, to).await,
        "a recount waited for a writer"
    );
    let unlock = diesel::sql_query(format!("SELECT pg_advisory_unlock_shared({ADMISSION_WRITERS_LOCK})"));
    diesel_async::RunQueryDsl::execute(unlock, &mut writer).await.unwrap();
    assert_eq!(
        base_groups(app, period).await,
        kept,
        "{period}: the kept figures differ from a recount"
    );
    assert!(admissions_kept_through(&app.db, to).await);
    kept
}

#[actix_web::test]
async fn kept_admissions_by_base_organisation_follow_corrections_deletions_and_a_move_dated_back() {
    let app = spawn_app().await;
    let district = app.organisation("TS", "superior_committee", None).await;
    let commune = app.organisation("TS-A", "base_committee", Some(&district)).await;
    let cell = app.organisation("TS-A-1", "cell", Some(&commune)).await;
    let school = app.organisation("TS-B", "base_cell", Some(&district)).await;
    let other = app.organisation("TS-C", "base_committee", Some(&district)).await;
    admit(&app, "Vì Văn Một", &cell, "2024-03-01", "none").await;
    let corrected = admit(&app, "Vì Văn Hai", &cell, "2024-04-01", "none").await;
    admit(&app, "Vì Văn Ba", &cell, "2024-10-01", "none").await;
    let deleted = admit(&app, "Vì Thị Bốn", &school, "2024-05-01", "none").await;
    let year = "from=2024-01-01&to=2024-12-31&group_by=organisation";
    let groups = |entries: &[(&String, &str, i64)]| {
        let mut groups: Vec<(String, String, i64)> = entries
            .iter()
            .map(|(id, name, count)| ((*id).clone(), (*name).to_owned(), *count))
            .collect();
        groups.sort();
        groups
    };
    assert_eq!(
        kept_base_groups(&app, year, "2024-12-31").await,
        groups(&[(&commune, "Tổ chức TS-A", 3), (&school, "Tổ chức TS-B", 1)])
    );
    // A corrected admission date moves the admission to another day (here another year); a deleted member takes
    // its admission with it.
    app.patch(
        &format!("/api/v1/members/{corrected}"),
        &app.admin,
        json!({"admitted_on": "2023-12-01"}),
    )
    .await
    .ok(200);
    app.delete(&format!("/api/v1/members/{deleted}"), &app.admin)
        .await
        .ok(204);
    assert_eq!(
        kept_base_groups(&app, year, "2024-12-31").await,
        groups(&[(&commune, "Tổ chức TS-A", 2)])
    );
    assert_eq!(
        kept_base_groups(
            &app,
            "from=2023-01-01&to=2023-12-31&group_by=organisation",
            "2023-12-31"
        )
        .await,
        groups(&[(&commune, "Tổ chức TS-A", 1)])
    );
    // A move dated back to the summer places the October admission under the other commune; the days before it
    // stay kept, the days since are counted again. (The check of 2023 left the days from 2024 to be counted again.)
    base_groups(&app, year).await;
    assert!(admissions_kept_through(&app.db, "2024-12-31").await);
    let reform = json!({
        "decision_number": "7-QĐ/HU", "decided_on": "2024-06-20", "effective_on": "2024-07-01",
        "move": [{"organisation_id": cell, "to_parent_id": other}]
    });
    app.post("/api/v1/reorganisations", &app.admin, reform).await.ok(201);
    assert!(admissions_kept_through(&app.db, "2024-06-30").await);
    assert!(!admissions_kept_through(&app.db, "2024-07-01").await);
    assert_eq!(
        base_groups(&app, year).await,
        groups(&[(&commune, "Tổ chức TS-A", 1), (&other, "Tổ chức TS-C", 1)])
    );
    assert!(admissions_kept_through(&app.db, "2024-12-31").await);
    assert_eq!(
        kept_base_groups(&app, year, "2024-12-31").await,
        groups(&[(&commune, "Tổ chức TS-A", 1), (&other, "Tổ chức TS-C", 1)])
    );
    // An admission written since, dated after the move, is placed by the tree of its day.
    admit(&app, "Vì Văn Năm", &cell, "2024-11-01", "none").await;
    assert_eq!(
        kept_base_groups(&app, year, "2024-12-31").await,
        groups(&[(&commune, "Tổ chức TS-A", 1), (&other, "Tổ chức TS-C", 2)])
    );
}

#[actix_web::test]
async fn the_running_service_counts_admissions_again_after_a_move_dated_back() {
    let app = spawn_app().await;
    let district = app.organisation("TS", "superior_committee", None).await;
    let commune = app.organisation("TS-A", "base_committee", Some(&district)).await;
    let cell = app.organisation("TS-A-1", "cell", Some(&commune)).await;
    let other = app.organisation("TS-C", "base_committee", Some(&district)).await;
    admit(&app, "Lò Văn Thu", &cell, "2024-10-01", "none").await;
    let reform = json!({
        "decision_number": "8-QĐ/HU", "decided_on": "2024-06-20", "effective_on": "2024-07-01",
        "move": [{"organisation_id": cell, "to_parent_id": other}]
    });
    app.post("/api/v1/reorganisations", &app.admin, reform).await.ok(201);
    // The application under test runs no background work; the served binary does, and counts the days since the
    // move again through today without a report asking. While a writer of the tree holds the lock it shares, the
    // counting waits, and the metrics say what is left: the admission's note and every day since the move.
    assert!(!admissions_kept_through(&app.db, "2024-07-01").await);
    let mut writer = app.db.connect().await;
    let lock = diesel::sql_query(format!("SELECT pg_advisory_lock_shared({ADMISSION_WRITERS_LOCK})"));
    diesel_async::RunQueryDsl::execute(lock, &mut writer).await.unwrap();
    let served = serve(&app.db.url, &[]);
    let today = partybase::domain::today();
    let since_the_move = (today - chrono::NaiveDate::from_ymd_opt(2024, 7, 1).unwrap()).num_days() + 1;
    let left = |notes: i64, days: i64| format!("admission_notes_waiting {notes}\nadmission_days_out_of_date {days}");
    let wait_for_metrics = |expected: String| {
        let began = Instant::now();
        let mut seen = admission_metrics(&served.address);
        while seen != expected {
            assert!(began.elapsed() < Duration::from_secs(20), "the metrics said {seen:?}");
            std::thread::sleep(Duration::from_millis(100));
            seen = admission_metrics(&served.address);
        }
    };
    wait_for_metrics(left(1, since_the_move));
    assert!(!admissions_kept_through(&app.db, "2024-07-01").await);
    // Everything out of date (as a rebuild leaves it until it is done): the days from the first admission.
    app.db
        .execute("UPDATE admission_bases_kept SET until = '-infinity'")
        .await;
    let since_the_admission = (today - chrono::NaiveDate::from_ymd_opt(2024, 10, 1).unwrap()).num_days() + 1;
    wait_for_metrics(left(1, since_the_admission));
    let unlock = diesel::sql_query(format!("SELECT pg_advisory_unlock_shared({ADMISSION_WRITERS_LOCK})"));
    diesel_async::RunQueryDsl::execute(unlock, &mut writer).await.unwrap();
    let today = today.to_string();
    let began = Instant::now();
    while !admissions_kept_through(&app.db, &today).await {
        assert!(
            began.elapsed() < Duration::from_secs(20),
            "the days since the move were not counted again"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    wait_for_metrics(left(0, 0));
    // Everything kept, as a rebuild leaves it, and an admission waiting behind the lock.
    let lock = diesel::sql_query(format!("SELECT pg_advisory_lock_shared({ADMISSION_WRITERS_LOCK})"));
    diesel_async::RunQueryDsl::execute(lock, &mut writer).await.unwrap();
    app.db
        .execute("UPDATE admission_bases_kept SET until = 'infinity'")
        .await;
    admit(&app, "Lò Thị Mai", &cell, &today, "none").await;
    wait_for_metrics(left(1, 0));
    let unlock = diesel::sql_query(format!("SELECT pg_advisory_unlock_shared({ADMISSION_WRITERS_LOCK})"));
    diesel_async::RunQueryDsl::execute(unlock, &mut writer).await.unwrap();
    wait_for_metrics(left(0, 0));
    let placed = |org: &String| {
        format!(
            "SELECT coalesce(sum(admitted), 0)::bigint AS n FROM admission_bases \
             WHERE organisation_id = '{org}' AND \"on\" = '2024-10-01'"
        )
    };
    assert_eq!(app.db.count(&placed(&other)).await, 1);
    assert_eq!(app.db.count(&placed(&commune)).await, 0);
}

#[actix_web::test]
async fn admissions_by_base_organisation_are_counted_once_when_it_changes_during_the_period() {
    let app = spawn_app().await;
    let district = app.organisation("TS", "superior_committee", None).await;
    let commune = app.organisation("TS-A", "base_committee", Some(&district)).await;
    let cell = app.organisation("TS-A-1", "cell", Some(&commune)).await;
    let school = app.organisation("TS-B", "base_cell", Some(&district)).await;
    admit(&app, "Lò Văn Xuân", &cell, "2025-03-01", "none").await;
    admit(&app, "Lò Văn Hạ", &cell, "2025-05-01", "none").await;
    admit(&app, "Lò Thị Thu", &school, "2025-04-01", "none").await;
    // A new name today gives the commune a second version; the cell's own version does not change. Each admission
    // counts once, for the version of the commune that covers its day, and the name is the one of the last day.
    app.patch(
        &format!("/api/v1/organisations/{commune}"),
        &app.admin,
        json!({"name": "Đảng bộ xã Tân Sơn"}),
    )
    .await
    .ok(200);
    let today = partybase::domain::today().to_string();
    admit(&app, "Lò Thị Đông", &cell, &today, "none").await;
    let mut expected = vec![
        (commune.clone(), "Đảng bộ xã Tân Sơn".to_owned(), 3),
        (school.clone(), "Tổ chức TS-B".to_owned(), 1),
    ];
    expected.sort();
    let period = format!("from=2025-01-01&to={today}&group_by=organisation");
    assert_eq!(
        kept_base_groups(&app, &period, &today).await,
        expected,
        "the whole registry"
    );
    assert_eq!(
        base_groups(&app, &format!("{period}&organisation_id={district}")).await,
        expected,
        "the district"
    );
    // Before today the commune had its first name.
    let spring = base_groups(&app, "from=2025-01-01&to=2025-06-30&group_by=organisation").await;
    let mut expected = vec![
        (commune.clone(), "Tổ chức TS-A".to_owned(), 2),
        (school.clone(), "Tổ chức TS-B".to_owned(), 1),
    ];
    expected.sort();
    assert_eq!(spring, expected);
}

#[actix_web::test]
async fn political_theory_as_of_a_day_counts_members_where_their_history_places_them() {
    let app = spawn_app().await;
    let district = app.organisation("TS", "superior_committee", None).await;
    let commune = app.organisation("TS-A", "base_committee", Some(&district)).await;
    let cell_1 = app.organisation("TS-A-1", "cell", Some(&commune)).await;
    let cell_2 = app.organisation("TS-A-2", "cell", Some(&commune)).await;
    let elsewhere = app.organisation("YL", "superior_committee", None).await;
    let far_cell = app.organisation("YL-1", "base_cell", Some(&elsewhere)).await;
    let moving = admit(&app, "Hà Văn Chuyển", &cell_1, "2012-03-01", "advanced").await;
    admit(&app, "Hà Văn Ở", &cell_1, "2012-03-01", "elementary").await;
    let leaving = admit(&app, "Hà Văn Đi", &cell_1, "2012-03-01", "none").await;
    let dying = admit(&app, "Hà Văn Mất", &cell_2, "2012-03-01", "intermediate").await;
    admit(&app, "Hà Văn Mới", &cell_2, "2013-02-01", "none").await;
    admit(&app, "Hà Văn Xa", &far_cell, "2012-03-01", "none").await;
    let arriving = admit(&app, "Hà Thị Đến", &far_cell, "2013-02-01", "intermediate").await;
    // 2013: one member transferred to the other cell, one out of the district, one deceased, and one admitted
    // elsewhere that year transferred into the first cell.
    for (member, body) in [
        (
            &moving,
            json!({"type": "transferred", "on": "2013-05-01", "to_organisation_id": cell_2, "mode": "permanent"}),
        ),
        (
            &leaving,
            json!({"type": "transferred", "on": "2013-06-01", "to_organisation_id": far_cell, "mode": "permanent"}),
        ),
        (&dying, json!({"type": "deceased", "on": "2013-07-01"})),
        (
            &arriving,
            json!({"type": "transferred", "on": "2013-09-01", "to_organisation_id": cell_1, "mode": "permanent"}),
        ),
    ] {
        app.post(&format!("/api/v1/members/{member}/events"), &app.admin, body)
            .await
            .ok(200);
    }
    let members = |query: String| {
        let app = &app;
        async move {
            let reply = app
                .get(&format!("/api/v1/reports/political-theory?{query}"), &app.admin)
                .await;
            let report = reply.ok(200).clone();
            let levels: Vec<i64> = report["levels"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["count"].as_i64().unwrap())
                .collect();
            (report["members"].as_i64().unwrap(), levels)
        }
    };
    // At the end of 2012 the cell held three of them, the transferred one included, and its levels count there; so
    // it did at the end of their admission day.
    assert_eq!(
        members(format!("as_of=2012-12-31&organisation_id={cell_1}")).await,
        (3, vec![1, 1, 0, 1])
    );
    assert_eq!(
        members(format!("as_of=2012-03-01&organisation_id={cell_1}")).await,
        (3, vec![1, 1, 0, 1])
    );
    assert_eq!(
        members(format!("as_of=2012-12-31&organisation_id={cell_2}")).await,
        (1, vec![0, 0, 1, 0])
    );
    assert_eq!(
        members(format!("as_of=2012-12-31&organisation_id={district}")).await.0,
        4
    );
    // The one who left in 2013 is counted there today, not at the end of 2012.
    assert_eq!(
        members(format!("as_of=2012-12-31&organisation_id={elsewhere}")).await,
        (1, vec![1, 0, 0, 0])
    );
    // At the end of 2013: the transferred member counts in the other cell, the deceased nowhere, the one who left
    // in the other district, and the two admitted in 2013 appear, one of them in the first cell.
    assert_eq!(
        members(format!("as_of=2013-12-31&organisation_id={cell_1}")).await,
        (2, vec![0, 1, 1, 0])
    );
    assert_eq!(
        members(format!("as_of=2013-12-31&organisation_id={cell_2}")).await,
        (2, vec![1, 0, 0, 1])
    );
    assert_eq!(
        members(format!("as_of=2013-12-31&organisation_id={elsewhere}")).await.0,
        2
    );
    // The whole registry, and today's figures from the members as they are, with the day they are for.
    assert_eq!(members("as_of=2012-12-31".to_owned()).await.0, 5);
    assert_eq!(members("as_of=2013-12-31".to_owned()).await.0, 6);
    assert_eq!(members("as_of=2012-03-01".to_owned()).await.0, 5);
    assert_eq!(members("as_of=2012-02-29".to_owned()).await.0, 0);
    let today = app.get("/api/v1/reports/political-theory", &app.admin).await;
    assert_eq!(today.ok(200)["members"], 6);
    assert!(today.ok(200)["as_of"].as_str().is_some_and(|d| d.len() == 10));
    let csv = app
        .call(
            Method::GET,
            &format!("/api/v1/reports/political-theory?as_of=2012-12-31&organisation_id={cell_1}"),
            Some(&app.admin),
            None,
            &[("accept", "text/csv")],
        )
        .await;
    assert_eq!(csv_lines(&csv.raw)[1], "members,,3,");
    app.get("/api/v1/reports/political-theory?as_of=2012-13-01", &app.admin)
        .await
        .problem_on(400, "as_of");
}

/// The levels of the whole registry's report as of `day`, from `none` to `advanced`, and its member count.
async fn registry_levels<S, B>(app: &TestApp<S>, day: &str) -> (i64, Vec<i64>)
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let path = format!("/api/v1/reports/political-theory?as_of={day}");
    let report = app.get(&path, &app.admin).await.ok(200).clone();
    let levels = report["levels"].as_array().unwrap().iter();
    let counts = levels.map(|l| l["count"].as_i64().unwrap()).collect();
    (report["members"].as_i64().unwrap(), counts)
}

#[actix_web::test]
async fn the_whole_registry_as_of_a_day_is_its_members_as_they_stood_then() {
    let app = spawn_app().await;
    let district = app.organisation("TS", "superior_committee", None).await;
    let cell = app.organisation("TS-1", "base_cell", Some(&district)).await;
    let levels = ["none", "elementary", "intermediate", "advanced"];
    let mut admitted = Vec::new();
    for i in 0..8 {
        admitted.push(admit(&app, &format!("Hà Văn {i}"), &cell, "2012-03-01", levels[i % 4]).await);
    }
    // 2013: one expelled (none), three admitted (intermediate); 2014: one deceased (elementary), one admitted
    // (advanced). The admissions span 2012-03-01 to 2014-03-01: a day before 2013-05-31 (five eighths of the span)
    // is counted up from the admissions, less the memberships ended by then; a later one down from today's counts,
    // less the members admitted since, plus the memberships ended since.
    for (member, body) in [
        (&admitted[0], json!({"type": "expelled", "on": "2013-05-01"})),
        (&admitted[1], json!({"type": "deceased", "on": "2014-02-01"})),
    ] {
        app.post(&format!("/api/v1/members/{member}/events"), &app.admin, body)
            .await
            .ok(200);
    }
    for i in 0..3 {
        admit(&app, &format!("Hà Thị {i}"), &cell, "2013-09-01", "intermediate").await;
    }
    admit(&app, "Hà Văn Mới", &cell, "2014-03-01", "advanced").await;
    assert_eq!(registry_levels(&app, "2012-12-31").await, (8, vec![2, 2, 2, 2]));
    assert_eq!(registry_levels(&app, "2013-05-15").await, (7, vec![1, 2, 2, 2]));
    assert_eq!(registry_levels(&app, "2013-06-30").await, (7, vec![1, 2, 2, 2]));
    assert_eq!(registry_levels(&app, "2013-12-31").await, (10, vec![1, 2, 5, 2]));
    assert_eq!(registry_levels(&app, "2014-02-01").await, (9, vec![1, 1, 5, 2]));
    assert_eq!(registry_levels(&app, "2026-01-01").await, (10, vec![1, 1, 5, 3]));
    let today = app.get("/api/v1/reports/political-theory", &app.admin).await;
    assert_eq!(today.ok(200)["members"], 10);
}

/// Two organisations at the top of the tree, each with a base cell: their ids, the two at the top first.
async fn two_at_the_top<S, B>(app: &TestApp<S>) -> [String; 4]
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let central = app.organisation("TW", "superior_committee", None).await;
    let province = app.organisation("KH", "superior_committee", None).await;
    let central_cell = app.organisation("TW-1", "base_cell", Some(&central)).await;
    let province_cell = app.organisation("KH-1", "base_cell", Some(&province)).await;
    [central, province, central_cell, province_cell]
}

/// A report on an organisation at the top of the tree counts another organisation at the top only on the days it
/// stood under it: the whole registry is its subtree only for periods when nothing else was at the top.
#[actix_web::test]
async fn a_top_organisation_counts_another_top_organisation_only_after_it_moved_under_it() {
    let app = spawn_app().await;
    let [central, province, central_base, province_base] = two_at_the_top(&app).await;
    admit(&app, "Lò Văn Xuân", &central_base, "2025-03-01", "none").await;
    admit(&app, "Lò Thị Hạ", &province_base, "2025-03-01", "elementary").await;
    admit(&app, "Lò Văn Thu", &province_base, "2025-08-01", "elementary").await;
    let reform = json!({
        "decision_number": "100-QĐ/TW", "decided_on": "2025-06-20", "effective_on": "2025-07-01",
        "move": [{"organisation_id": province, "to_parent_id": central}]
    });
    app.post("/api/v1/reorganisations", &app.admin, reform).await.ok(201);
    let report = |query: String| {
        let app = &app;
        async move {
            app.get(&format!("/api/v1/reports/{query}"), &app.admin)
                .await
                .ok(200)
                .clone()
        }
    };
    let admissions = |org: &str, from: &str, to: &str| {
        report(format!(
            "admissions?from={from}&to={to}&group_by=quarter&organisation_id={org}"
        ))
    };
    let year = admissions(&central, "2025-01-01", "2025-12-31").await;
    assert_eq!(year["total"], 2, "{year}");
    assert_eq!(
        year["groups"],
        json!([{"key": "2025-Q1", "count": 1}, {"key": "2025-Q3", "count": 1}]),
        "the province's March admission was not under the centre"
    );
    assert_eq!(admissions(&central, "2025-01-01", "2025-06-30").await["total"], 1);
    assert_eq!(admissions(&central, "2025-07-01", "2025-12-31").await["total"], 1);
    assert_eq!(admissions(&province, "2025-01-01", "2025-12-31").await["total"], 2);
    let everywhere = report("admissions?from=2025-01-01&to=2025-12-31".to_owned()).await;
    assert_eq!(everywhere["total"], 3);
    // A day's figures: the province's members joined the centre's on the day of the move.
    let members_on = |day: &str| report(format!("political-theory?as_of={day}&organisation_id={central}"));
    assert_eq!(members_on("2025-06-30").await["members"], 1);
    assert_eq!(members_on("2025-12-31").await["members"], 3);
    // A year's: the base organisations as the tree stood on its last day.
    let bases_in = |year: i32| report(format!("evaluations?year={year}&organisation_id={central}"));
    assert_eq!(bases_in(2024).await["base_organisations"], 1);
    assert_eq!(bases_in(2025).await["base_organisations"], 2);
}

/// A report or list on today's tree counts an organisation at the top of it alone while another stands beside it,
/// and everything once the other has moved under it.
#[actix_web::test]
async fn a_top_organisation_counts_only_its_own_subtree_while_another_stands_beside_it() {
    let app = spawn_app().await;
    let [central, beside, central_cell, beside_cell] = two_at_the_top(&app).await;
    admit(&app, "Lò Văn Xuân", &central_cell, "2020-03-01", "advanced").await;
    admit(&app, "Lò Thị Hạ", &beside_cell, "2020-03-01", "none").await;
    let token = app.token("centre", "viewer", Some(&central)).await;
    let members = |query: String, token: String| {
        let app = &app;
        async move {
            let reply = app
                .get(&format!("/api/v1/reports/political-theory{query}"), &token)
                .await;
            reply.ok(200)["members"].as_i64().unwrap()
        }
    };
    let of = |org: &str| format!("?organisation_id={org}");
    assert_eq!(members(of(&central), app.admin.clone()).await, 1);
    assert_eq!(members(of(&beside), app.admin.clone()).await, 1);
    assert_eq!(members(String::new(), app.admin.clone()).await, 2);
    assert_eq!(
        members(String::new(), token.clone()).await,
        1,
        "a token's own subtree by default"
    );
    let listed = |query: String, token: String| {
        let app = &app;
        async move {
            let reply = app.get(&format!("/api/v1/members?count=exact{query}"), &token).await;
            reply.ok(200)["total"].as_i64().unwrap()
        }
    };
    let under = |org: &str| format!("&under={org}");
    assert_eq!(listed(under(&central), app.admin.clone()).await, 1);
    assert_eq!(listed(String::new(), token.clone()).await, 1);
    let reform = json!({
        "decision_number": "101-QĐ/TW", "decided_on": "2025-06-20", "effective_on": "2025-07-01",
        "move": [{"organisation_id": beside, "to_parent_id": central}]
    });
    app.post("/api/v1/reorganisations", &app.admin, reform).await.ok(201);
    assert_eq!(members(of(&central), app.admin.clone()).await, 2);
    assert_eq!(members(String::new(), token.clone()).await, 2);
    assert_eq!(members(of(&beside), app.admin.clone()).await, 1);
    assert_eq!(listed(under(&central), app.admin.clone()).await, 2);
    assert_eq!(listed(String::new(), token).await, 2);
    assert_eq!(listed(under(&beside), app.admin.clone()).await, 1);
}
