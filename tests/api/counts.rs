//! The counts kept beside the rows for national-scale reads (member counts by status and political theory level,
//! member evaluations by grade) follow every kind of write, on many connections at once.

use futures_util::future::join_all;
use serde_json::{json, Value};

use crate::common::{spawn_app, spawn_app_with, TestApp, TestDatabase};

const MEMBERS: &str = "/api/v1/members";
const MEMBER_EVALS: &str = "/api/v1/member-evaluations";

async fn admit<S, B>(app: &TestApp<S>, cell: &str, name: &str, theory: &str) -> String
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let body = json!({"full_name": name, "birth_date": "1980-01-01", "organisation_id": cell,
                      "admitted_on": "2005-01-01", "political_theory": theory});
    app.post(MEMBERS, &app.admin, body).await.ok(201)["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The current members by political theory level, counted from the members themselves.
async fn theory_truth(db: &TestDatabase) -> Value {
    let mut levels = Vec::new();
    for level in ["none", "elementary", "intermediate", "advanced"] {
        let n = db
            .count(&format!(
                "SELECT count(*) AS n FROM members WHERE political_theory = '{level}' \
                 AND status IN ('probationary', 'official', 'exempt')"
            ))
            .await;
        levels.push((level, n));
    }
    json!(levels)
}

fn theory_levels(report: &Value) -> Value {
    json!(report["levels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["level"].as_str().unwrap().to_owned(), l["count"].as_i64().unwrap()))
        .collect::<Vec<_>>())
}

/// An organisation's member counts by status, from the members themselves.
async fn status_truth(db: &TestDatabase, organisation: &str) -> Value {
    let mut counts = serde_json::Map::new();
    for status in ["probationary", "official", "exempt", "transferred_out", "deceased"] {
        let n = db
            .count(&format!(
                "SELECT count(*) AS n FROM members m JOIN organisations o ON o.id = m.organisation_id \
                 WHERE m.status = '{status}' AND o.path <@ (SELECT path FROM organisations WHERE id = '{organisation}')"
            ))
            .await;
        if n > 0 {
            counts.insert(status.to_owned(), json!(n));
        }
    }
    Value::Object(counts)
}

#[actix_web::test]
async fn the_kept_counts_follow_every_change_of_members_and_evaluations() {
    let app = spawn_app().await;
    let district = app.organisation("TS", "superior_committee", None).await;
    let commune = app.organisation("TS-A", "base_committee", Some(&district)).await;
    let cell_1 = app.organisation("TS-A-1", "cell", Some(&commune)).await;
    let cell_2 = app.organisation("TS-A-2", "cell", Some(&commune)).await;
    // A cell two levels below its base organisation: its evaluations count for the commune too.
    let hamlets = app.organisation("TS-A-P", "partial_committee", Some(&commune)).await;
    let cell_3 = app.organisation("TS-A-P-1", "cell", Some(&hamlets)).await;
    let school = app.organisation("TS-B", "base_cell", Some(&district)).await;

    let mut members = Vec::new();
    for (i, (cell, theory)) in [
        (&cell_1, "none"),
        (&cell_1, "elementary"),
        (&cell_1, "intermediate"),
        (&cell_2, "advanced"),
        (&cell_3, "elementary"),
        (&cell_3, "none"),
        (&school, "intermediate"),
        (&school, "none"),
    ]
    .into_iter()
    .enumerate()
    {
        members.push(admit(&app, cell, &format!("Hà Văn {i}"), theory).await);
    }
    // The 2019 grades, one per member in the order above.
    let mut evaluations = Vec::new();
    for (member, grade) in members.iter().zip([
        "excellent",
        "good",
        "good",
        "good",
        "good",
        "completed",
        "excellent",
        "good",
    ]) {
        let body = json!({"member_id": member, "year": 2019, "grade": grade});
        evaluations.push(
            app.post(MEMBER_EVALS, &app.admin, body).await.ok(201)["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }

    // Every kind of write: a level raised, a transfer, a status change, a death, a grade changed, an
    // evaluation deleted.
    app.patch(
        &format!("{MEMBERS}/{}", members[0]),
        &app.admin,
        json!({"political_theory": "advanced"}),
    )
    .await
    .ok(200);
    app.post(
        &format!("{MEMBERS}/{}/events", members[1]),
        &app.admin,
        json!({"type": "transferred", "on": "2020-01-10", "to_organisation_id": cell_3, "mode": "permanent"}),
    )
    .await
    .ok(200);
    app.post(
        &format!("{MEMBERS}/{}/events", members[2]),
        &app.admin,
        json!({"type": "recognised_official", "on": "2006-01-10"}),
    )
    .await
    .ok(200);
    app.post(
        &format!("{MEMBERS}/{}/events", members[7]),
        &app.admin,
        json!({"type": "deceased", "on": "2021-03-01"}),
    )
    .await
    .ok(200);
    // cell_3's "completed" becomes "excellent": the commune now has 2 excellent against 4 good, past 20%.
    app.patch(
        &format!("{MEMBER_EVALS}/{}", evaluations[5]),
        &app.admin,
        json!({"grade": "excellent"}),
    )
    .await
    .ok(200);
    assert_eq!(
        app.delete(&format!("{MEMBER_EVALS}/{}", evaluations[3]), &app.admin)
            .await
            .status,
        204
    );

    // Political theory, everywhere and under the commune, against the members themselves.
    let report = app.get("/api/v1/reports/political-theory", &app.admin).await;
    assert_eq!(theory_levels(report.ok(200)), theory_truth(&app.db).await);
    assert_eq!(report.ok(200)["members"], 7, "the dead member is no longer counted");
    let commune_report = app
        .get(
            &format!("/api/v1/reports/political-theory?organisation_id={commune}"),
            &app.admin,
        )
        .await;
    assert_eq!(
        theory_levels(commune_report.ok(200)),
        json!([["none", 1], ["elementary", 2], ["intermediate", 1], ["advanced", 2]])
    );

    // Member counts by status in each organisation's read.
    for organisation in [&district, &commune, &cell_1, &cell_3, &school] {
        let read = app
            .get(&format!("/api/v1/organisations/{organisation}"), &app.admin)
            .await;
        assert_eq!(
            read.ok(200)["member_counts"],
            status_truth(&app.db, organisation).await,
            "{organisation}"
        );
    }

    // Member evaluations: 7 left (one deleted), 3 excellent, 4 good; the commune's quota is breached through the
    // cell two levels down, the school's by its own members.
    let report = app
        .get("/api/v1/reports/member-evaluations?year=2019", &app.admin)
        .await;
    let report = report.ok(200);
    assert_eq!(report["evaluated"], 7);
    let grades: Vec<(String, i64)> = report["grades"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["grade"].as_str().unwrap().to_owned(), g["count"].as_i64().unwrap()))
        .collect();
    assert_eq!(
        grades,
        [("excellent", 3), ("good", 4), ("completed", 0), ("not_completed", 0)]
            .map(|(g, n)| (g.to_owned(), n))
            .to_vec()
    );
    assert_eq!(
        report["quota_breaches"],
        json!([{"organisation_id": commune, "code": "TS-A", "name": "Tổ chức TS-A", "excellent": 2, "good": 3},
               {"organisation_id": school, "code": "TS-B", "name": "Tổ chức TS-B", "excellent": 1, "good": 1}])
    );
    let school_report = app
        .get(
            &format!("/api/v1/reports/member-evaluations?year=2019&organisation_id={school}"),
            &app.admin,
        )
        .await;
    assert_eq!(school_report.ok(200)["evaluated"], 2);
    assert_eq!(
        school_report.ok(200)["quota_breaches"],
        json!([{"organisation_id": school, "code": "TS-B", "name": "Tổ chức TS-B", "excellent": 1, "good": 1}])
    );
}

#[actix_web::test]
async fn admissions_and_transfers_on_many_connections_at_once_keep_exact_counts() {
    let app = spawn_app().await;
    let district = app.organisation("TS", "superior_committee", None).await;
    let commune = app.organisation("TS-A", "base_committee", Some(&district)).await;
    let cell_1 = app.organisation("TS-A-1", "cell", Some(&commune)).await;
    let cell_2 = app.organisation("TS-A-2", "cell", Some(&commune)).await;
    let names: Vec<String> = (0..30).map(|i| format!("Lò Văn {i}")).collect();
    let admissions = names.iter().enumerate().map(|(i, name)| {
        let theory = ["none", "elementary", "intermediate"][i % 3];
        admit(&app, &cell_1, name, theory)
    });
    let members = join_all(admissions).await;
    let paths: Vec<String> = members
        .iter()
        .take(12)
        .map(|m| format!("{MEMBERS}/{m}/events"))
        .collect();
    let transfers = paths.iter().map(|path| {
        app.post(
            path,
            &app.admin,
            json!({"type": "transferred", "on": "2020-01-10", "to_organisation_id": cell_2, "mode": "permanent"}),
        )
    });
    for reply in join_all(transfers).await {
        reply.ok(200);
    }
    for (cell, n) in [(&cell_1, 18), (&cell_2, 12), (&commune, 30)] {
        let read = app.get(&format!("/api/v1/organisations/{cell}"), &app.admin).await;
        assert_eq!(read.ok(200)["member_counts"], json!({"probationary": n}), "{cell}");
    }
    let report = app
        .get(
            &format!("/api/v1/reports/political-theory?organisation_id={cell_2}"),
            &app.admin,
        )
        .await;
    assert_eq!(
        theory_levels(report.ok(200)),
        json!([["none", 4], ["elementary", 4], ["intermediate", 4], ["advanced", 0]])
    );
}

/// The report's quota breaches as `(code, name, excellent, good)`.
fn breaches(report: &Value) -> Vec<(String, String, i64, i64)> {
    report["quota_breaches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["code"].as_str().unwrap().to_owned(),
                b["name"].as_str().unwrap().to_owned(),
                b["excellent"].as_i64().unwrap(),
                b["good"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn breach(code: &str, excellent: i64, good: i64) -> (String, String, i64, i64) {
    (code.to_owned(), format!("Tổ chức {code}"), excellent, good)
}

/// Whether the quota figures of `year` are kept up to date (no recount pending).
async fn quota_figures_kept(db: &TestDatabase, year: i32) -> bool {
    db.count(&format!(
        "SELECT count(*) AS n FROM member_evaluation_base_years WHERE year = {year}"
    ))
    .await
        == 1
}

/// The quota breaches of `year` everywhere from the kept figures, checked against the same report counted without
/// them (while another connection holds the lock a recount needs, as a writer does) and against a recount of the
/// year; the same three for the subtree of `root`, whose report finds its base organisations first.
async fn kept_breaches<S, B>(app: &TestApp<S>, year: i32, root: &str) -> Vec<(String, String, i64, i64)>
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let paths = [
        format!("/api/v1/reports/member-evaluations?year={year}"),
        format!("/api/v1/reports/member-evaluations?year={year}&organisation_id={root}"),
    ];
    let mut kept = Vec::new();
    for path in &paths {
        kept.push(breaches(app.get(path, &app.admin).await.ok(200)));
    }
    assert!(quota_figures_kept(&app.db, year).await);
    app.db
        .execute(&format!("DELETE FROM member_evaluation_base_years WHERE year = {year}"))
        .await;
    let mut writer = app.db.connect().await;
    let lock = diesel::sql_query("SELECT pg_advisory_lock_shared(7065766173)");
    diesel_async::RunQueryDsl::execute(lock, &mut writer).await.unwrap();
    for (path, kept) in paths.iter().zip(&kept) {
        let counted = breaches(app.get(path, &app.admin).await.ok(200));
        assert_eq!(kept, &counted, "{path}: the kept figures differ from the counted ones");
    }
    assert!(
        !quota_figures_kept(&app.db, year).await,
        "a recount waited for a writer"
    );
    let unlock = diesel::sql_query("SELECT pg_advisory_unlock_shared(7065766173)");
    diesel_async::RunQueryDsl::execute(unlock, &mut writer).await.unwrap();
    for (path, kept) in paths.iter().zip(&kept) {
        let recounted = breaches(app.get(path, &app.admin).await.ok(200));
        assert_eq!(kept, &recounted, "{path}: the kept figures differ from a recount");
    }
    assert!(quota_figures_kept(&app.db, year).await);
    kept.swap_remove(0)
}

#[actix_web::test]
async fn the_kept_quota_figures_follow_evaluations_and_the_tree_of_each_year_end() {
    let app = spawn_app().await;
    let district = app.organisation("QB", "superior_committee", None).await;
    let commune_a = app.organisation("QB-A", "base_committee", Some(&district)).await;
    let cell_a1 = app.organisation("QB-A-1", "cell", Some(&commune_a)).await;
    let cell_a2 = app.organisation("QB-A-2", "cell", Some(&commune_a)).await;
    let commune_b = app.organisation("QB-B", "base_committee", Some(&district)).await;
    let cell_b1 = app.organisation("QB-B-1", "cell", Some(&commune_b)).await;
    let school = app.organisation("QB-S", "base_cell", Some(&district)).await;
    let this_year = app
        .db
        .count("SELECT extract(year FROM now() AT TIME ZONE 'UTC' + interval '7 hours')::bigint AS n")
        .await as i32;

    let mut members = Vec::new();
    for (i, cell) in [&cell_a1, &cell_a1, &cell_a1, &cell_a2, &cell_b1, &cell_b1, &school]
        .into_iter()
        .enumerate()
    {
        members.push(admit(&app, cell, &format!("Lê Văn {i}"), "none").await);
    }
    let mut evaluations = Vec::new();
    for (member, grade) in members
        .iter()
        .zip(["excellent", "good", "good", "good", "good", "good", "excellent"])
    {
        let body = json!({"member_id": member, "year": 2024, "grade": grade});
        let reply = app.post(MEMBER_EVALS, &app.admin, body).await;
        evaluations.push(reply.ok(201)["id"].as_str().unwrap().to_owned());
    }
    assert!(
        !quota_figures_kept(&app.db, 2024).await,
        "no year is kept before its first report"
    );
    assert_eq!(
        kept_breaches(&app, 2024, &district).await,
        vec![breach("QB-A", 1, 3), breach("QB-S", 1, 0)]
    );

    // Evaluations written while the year is kept are added to its figures: a grade raised, one deleted.
    app.patch(
        &format!("{MEMBER_EVALS}/{}", evaluations[4]),
        &app.admin,
        json!({"grade": "excellent"}),
    )
    .await
    .ok(200);
    let deleted = app
        .delete(&format!("{MEMBER_EVALS}/{}", evaluations[6]), &app.admin)
        .await;
    assert_eq!(deleted.status, 204);
    assert!(
        quota_figures_kept(&app.db, 2024).await,
        "evaluations leave the year kept"
    );
    assert_eq!(
        kept_breaches(&app, 2024, &district).await,
        vec![breach("QB-A", 1, 3), breach("QB-B", 1, 1)]
    );

    // A reorganisation from 1 July 2024 moves cell A1 under commune B: the 2024 figures follow it.
    let reform = json!({
        "decision_number": "7-QĐ/HU", "decided_on": "2024-06-20", "effective_on": "2024-07-01",
        "move": [{"organisation_id": cell_a1, "to_parent_id": commune_b}]
    });
    app.post("/api/v1/reorganisations", &app.admin, reform).await.ok(201);
    assert!(
        !quota_figures_kept(&app.db, 2024).await,
        "the move reached the end of 2024"
    );
    assert_eq!(kept_breaches(&app, 2024, &district).await, vec![breach("QB-B", 2, 3)]);

    // This year's figures, then a move today: it reaches this year's end and not 2024's.
    // (From 2025 a score decides the grade.)
    for (member, grade, score) in [(&members[3], "excellent", 95), (&members[5], "good", 80)] {
        let body = json!({"member_id": member, "year": this_year, "grade": grade, "score": score});
        app.post(MEMBER_EVALS, &app.admin, body).await.ok(201);
    }
    assert_eq!(
        kept_breaches(&app, this_year, &district).await,
        vec![breach("QB-A", 1, 0)]
    );
    app.patch(
        &format!("/api/v1/organisations/{cell_a2}"),
        &app.admin,
        json!({"parent_id": commune_b}),
    )
    .await
    .ok(200);
    assert!(!quota_figures_kept(&app.db, this_year).await);
    assert!(quota_figures_kept(&app.db, 2024).await);
    assert_eq!(
        kept_breaches(&app, this_year, &district).await,
        vec![breach("QB-B", 1, 1)]
    );

    // A cell's new name changes nothing kept. A base organisation's new name today reaches this year's end, where
    // the report names it so, and not 2024's; a new code reaches every year.
    app.patch(
        &format!("/api/v1/organisations/{cell_b1}"),
        &app.admin,
        json!({"name": "Chi bộ thôn 1"}),
    )
    .await
    .ok(200);
    assert!(quota_figures_kept(&app.db, 2024).await);
    assert!(quota_figures_kept(&app.db, this_year).await);
    app.patch(
        &format!("/api/v1/organisations/{commune_b}"),
        &app.admin,
        json!({"name": "Đảng bộ xã B"}),
    )
    .await
    .ok(200);
    assert!(quota_figures_kept(&app.db, 2024).await);
    assert!(!quota_figures_kept(&app.db, this_year).await);
    assert_eq!(
        kept_breaches(&app, this_year, &district).await,
        vec![("QB-B".to_owned(), "Đảng bộ xã B".to_owned(), 1, 1)]
    );
    assert_eq!(kept_breaches(&app, 2024, &district).await, vec![breach("QB-B", 2, 3)]);
    app.patch(
        &format!("/api/v1/organisations/{commune_b}"),
        &app.admin,
        json!({"code": "QB-X"}),
    )
    .await
    .ok(200);
    assert!(!quota_figures_kept(&app.db, 2024).await);
    assert!(!quota_figures_kept(&app.db, this_year).await);
    assert_eq!(
        kept_breaches(&app, 2024, &district).await,
        vec![("QB-X".to_owned(), "Tổ chức QB-B".to_owned(), 2, 3)]
    );

    // Today, cell B1 becomes a base cell under the district (a move with a new kind, on the day its version
    // started, so written in place), then gets a new name the same day: each reaches this year's end alone.
    let today = (chrono::Utc::now() + chrono::Duration::hours(7))
        .date_naive()
        .to_string();
    let reform = json!({
        "decision_number": "8-QĐ/HU", "decided_on": today, "effective_on": today,
        "move": [{"organisation_id": cell_b1, "to_parent_id": district, "kind": "base_cell"}]
    });
    app.post("/api/v1/reorganisations", &app.admin, reform).await.ok(201);
    assert!(quota_figures_kept(&app.db, 2024).await);
    assert!(!quota_figures_kept(&app.db, this_year).await);
    let moved = vec![("QB-X".to_owned(), "Đảng bộ xã B".to_owned(), 1, 0)];
    assert_eq!(kept_breaches(&app, this_year, &district).await, moved);
    app.patch(
        &format!("/api/v1/organisations/{cell_b1}"),
        &app.admin,
        json!({"name": "Chi bộ cơ sở thôn 1"}),
    )
    .await
    .ok(200);
    assert!(!quota_figures_kept(&app.db, this_year).await);
    assert_eq!(kept_breaches(&app, this_year, &district).await, moved);
}

#[actix_web::test]
async fn evaluations_on_many_connections_while_the_year_is_recounted_keep_exact_quota_figures() {
    let app = spawn_app().await;
    let district = app.organisation("QC", "superior_committee", None).await;
    let commune = app.organisation("QC-A", "base_committee", Some(&district)).await;
    let cell_1 = app.organisation("QC-A-1", "cell", Some(&commune)).await;
    let cell_2 = app.organisation("QC-A-2", "cell", Some(&commune)).await;
    let school = app.organisation("QC-S", "base_cell", Some(&district)).await;
    let places: Vec<&String> = (0..40)
        .map(|i| match (i % 3, i % 2) {
            (2, _) => &school,
            (_, 0) => &cell_1,
            _ => &cell_2,
        })
        .collect();
    let names: Vec<String> = (0..40).map(|i| format!("Vi Văn {i}")).collect();
    let members = join_all(
        places
            .iter()
            .zip(&names)
            .map(|(cell, name)| admit(&app, cell, name, "none")),
    )
    .await;
    let grade = |i: usize| if i.is_multiple_of(4) { "excellent" } else { "good" };
    let report = "/api/v1/reports/member-evaluations?year=2024";
    app.get(report, &app.admin).await.ok(200);

    // Forty evaluations, while six reports each find the year out of date and try to count it again.
    let writes = members.iter().enumerate().map(|(i, member)| {
        app.post(
            MEMBER_EVALS,
            &app.admin,
            json!({"member_id": member, "year": 2024, "grade": grade(i)}),
        )
    });
    let recounts = (0..6).map(|_| async {
        app.db
            .execute("DELETE FROM member_evaluation_base_years WHERE year = 2024")
            .await;
        app.get(report, &app.admin).await
    });
    let (written, read) = futures_util::join!(join_all(writes), join_all(recounts));
    for reply in written {
        reply.ok(201);
    }
    for reply in read {
        reply.ok(200);
    }

    let mut expected = Vec::new();
    for (code, base) in [("QC-A", false), ("QC-S", true)] {
        let graded: Vec<usize> = (0..40).filter(|&i| (places[i] == &school) == base).collect();
        let excellent = graded.iter().filter(|&&i| grade(i) == "excellent").count() as i64;
        let good = graded.len() as i64 - excellent;
        expected.push(breach(code, excellent, good));
    }
    assert_eq!(expected, vec![breach("QC-A", 7, 20), breach("QC-S", 3, 10)]);
    // When the last recount went through (no writer held the lock then), the report reads figures that writes
    // waiting for it, or running beside the recounts before, added to.
    assert_eq!(breaches(app.get(report, &app.admin).await.ok(200)), expected);
    assert_eq!(kept_breaches(&app, 2024, &district).await, expected);
}

#[actix_web::test]
async fn a_recount_past_the_statement_timeout_gives_way_to_the_counted_report() {
    let app = spawn_app_with(&[("PARTYBASE_STATEMENT_TIMEOUT_MS", "500")]).await;
    let district = app.organisation("QD", "superior_committee", None).await;
    let commune = app.organisation("QD-A", "base_committee", Some(&district)).await;
    let cell = app.organisation("QD-A-1", "cell", Some(&commune)).await;
    for (i, grade) in ["excellent", "good"].into_iter().enumerate() {
        let member = admit(&app, &cell, &format!("Mai Văn {i}"), "none").await;
        let body = json!({"member_id": member, "year": 2024, "grade": grade});
        app.post(MEMBER_EVALS, &app.admin, body).await.ok(201);
    }
    let report = "/api/v1/reports/member-evaluations?year=2024";
    assert_eq!(
        breaches(app.get(report, &app.admin).await.ok(200)),
        vec![breach("QD-A", 1, 1)]
    );

    // The year out of date, and its kept rows locked by another transaction: the recount waits for them until the
    // statement timeout cancels it, and the report counts without them.
    app.db
        .execute("DELETE FROM member_evaluation_base_years WHERE year = 2024")
        .await;
    let mut other = app.db.connect().await;
    for statement in [
        "BEGIN",
        "SELECT 1 FROM member_evaluation_bases WHERE year = 2024 FOR UPDATE",
    ] {
        diesel_async::RunQueryDsl::execute(diesel::sql_query(statement), &mut other)
            .await
            .unwrap();
    }
    let reply = app.get(report, &app.admin).await;
    assert_eq!(breaches(reply.ok(200)), vec![breach("QD-A", 1, 1)]);
    assert!(!quota_figures_kept(&app.db, 2024).await);
    diesel_async::RunQueryDsl::execute(diesel::sql_query("ROLLBACK"), &mut other)
        .await
        .unwrap();
    assert_eq!(
        breaches(app.get(report, &app.admin).await.ok(200)),
        vec![breach("QD-A", 1, 1)]
    );
    assert!(quota_figures_kept(&app.db, 2024).await);
}
