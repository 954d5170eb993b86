//! The counts kept beside the rows for national-scale reads (member counts by status and political theory level,
//! member evaluations by grade) follow every kind of write, on many connections at once.

use futures_util::future::join_all;
use serde_json::{json, Value};

use crate::common::{spawn_app, TestApp, TestDatabase};

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
