use actix_http::Request;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::Method;
use serde_json::{json, Value};

use crate::common::{spawn_app, TestApp};

pub(crate) async fn evaluate<S, B>(app: &TestApp<S>, org: &str, year: i32, grade: &str, exemplary: bool)
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let body = json!({"organisation_id": org, "year": year, "grade": grade, "exemplary": exemplary});
    app.post("/api/v1/evaluations", &app.admin, body).await.ok(201);
}

fn grade(report: &Value, name: &str) -> (i64, f64) {
    let g = report["grades"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["grade"] == name)
        .unwrap();
    (g["count"].as_i64().unwrap(), g["percent"].as_f64().unwrap())
}

pub(crate) fn csv_lines(raw: &[u8]) -> Vec<String> {
    let text = String::from_utf8(raw.to_vec()).unwrap();
    assert!(text.starts_with('\u{feff}'), "a byte order mark for spreadsheets");
    text.trim_start_matches('\u{feff}')
        .split("\r\n")
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

#[actix_web::test]
async fn the_evaluation_report_counts_base_organisations_over_a_multi_level_tree() {
    let app = spawn_app().await;
    let province = app.organisation("PT", "superior_committee", None).await;
    let district = app.organisation("TS", "superior_committee", Some(&province)).await;
    let other = app.organisation("YL", "superior_committee", Some(&province)).await;
    let mut base = Vec::new();
    for i in 0..3 {
        base.push(
            app.organisation(&format!("TS-{i}"), "base_committee", Some(&district))
                .await,
        );
    }
    let cell = app.organisation("TS-0-1", "cell", Some(&base[0])).await;
    let dissolved = app.organisation("TS-OLD", "base_cell", Some(&district)).await;
    app.patch(
        &format!("/api/v1/organisations/{dissolved}"),
        &app.admin,
        json!({"dissolved_on": "2012-01-01"}),
    )
    .await
    .ok(200);
    let elsewhere = app.organisation("YL-0", "base_cell", Some(&other)).await;
    evaluate(&app, &base[0], 2012, "clean_strong", true).await;
    evaluate(&app, &base[1], 2012, "clean_strong", false).await;
    evaluate(&app, &elsewhere, 2012, "weak", false).await;
    // A cell's evaluation does not count among base organisations.
    evaluate(&app, &cell, 2012, "weak", false).await;

    let reply = app
        .get(
            &format!("/api/v1/reports/evaluations?year=2012&organisation_id={district}"),
            &app.admin,
        )
        .await;
    let report = reply.ok(200).clone();
    assert_eq!(report["scheme"], "hd20_2008");
    assert_eq!(report["organisation_id"], district.as_str());
    assert_eq!(
        report["base_organisations"], 3,
        "the one dissolved on 2012-01-01 did not exist in 2012"
    );
    assert_eq!(report["evaluated"], 2);
    assert_eq!(grade(&report, "clean_strong"), (2, 100.0));
    assert_eq!(grade(&report, "weak"), (0, 0.0));
    let names: Vec<&str> = report["grades"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["grade"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        vec!["clean_strong", "well_completed", "completed", "weak"],
        "every grade of the scheme"
    );
    assert_eq!(report["exemplary"], 1);

    let whole = app
        .get(
            &format!("/api/v1/reports/evaluations?year=2012&organisation_id={province}"),
            &app.admin,
        )
        .await;
    assert_eq!(whole.ok(200)["base_organisations"], 4);
    assert_eq!(grade(whole.ok(200), "weak"), (1, 33.33));
    assert_eq!(grade(whole.ok(200), "clean_strong"), (2, 66.67));

    // A year nobody was evaluated: no division by zero.
    let unevaluated = app.get("/api/v1/reports/evaluations?year=2019", &app.admin).await;
    assert_eq!(unevaluated.ok(200)["base_organisations"], 4);
    assert_eq!(unevaluated.ok(200)["evaluated"], 0);
    assert_eq!(unevaluated.ok(200)["scheme"], "qd132_2018");
    assert_eq!(grade(unevaluated.ok(200), "excellent"), (0, 0.0));
    // A scope with no base organisation at all.
    let bare = app.organisation("EMPTY", "superior_committee", None).await;
    let path = format!("/api/v1/reports/evaluations?year=2012&organisation_id={bare}");
    let empty = app.get(&path, &app.admin).await;
    assert_eq!(empty.ok(200)["base_organisations"], 0);
    assert_eq!(empty.ok(200)["evaluated"], 0);
    assert_eq!(empty.ok(200)["exemplary"], 0);
    let csv = app
        .call(Method::GET, &path, Some(&app.admin), None, &[("accept", "text/csv")])
        .await;
    assert_eq!(csv_lines(&csv.raw)[2], "evaluated,,0,0.00");

    let csv = app
        .call(
            Method::GET,
            &format!("/api/v1/reports/evaluations?year=2012&organisation_id={district}"),
            Some(&app.admin),
            None,
            &[("accept", "text/csv")],
        )
        .await;
    assert_eq!(csv.status, 200);
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    assert_eq!(
        csv_lines(&csv.raw),
        vec![
            "measure,key,count,percent",
            "base_organisations,,3,",
            "evaluated,,2,66.67",
            "grade,clean_strong,2,100.00",
            "grade,well_completed,0,0.00",
            "grade,completed,0,0.00",
            "grade,weak,0,0.00",
            "exemplary,,1,50.00",
        ]
    );
    app.get("/api/v1/reports/evaluations", &app.admin)
        .await
        .problem_on(400, "year");
    app.get("/api/v1/reports/evaluations?year=twenty", &app.admin)
        .await
        .problem_on(400, "year");
    app.get(
        &format!(
            "/api/v1/reports/evaluations?year=2012&organisation_id={}",
            uuid::Uuid::now_v7()
        ),
        &app.admin,
    )
    .await
    .problem(404);
}

#[actix_web::test]
async fn reports_stay_inside_the_tokens_subtree() {
    let app = spawn_app().await;
    let district = app.organisation("TS", "superior_committee", None).await;
    let other = app.organisation("YL", "superior_committee", None).await;
    let mine = app.organisation("TS-0", "base_cell", Some(&district)).await;
    let theirs = app.organisation("YL-0", "base_cell", Some(&other)).await;
    evaluate(&app, &mine, 2012, "clean_strong", false).await;
    evaluate(&app, &theirs, 2012, "weak", false).await;
    let viewer = app.token("ts", "viewer", Some(&district)).await;
    let reply = app.get("/api/v1/reports/evaluations?year=2012", &viewer).await;
    assert_eq!(reply.ok(200)["base_organisations"], 1);
    assert_eq!(reply.ok(200)["organisation_id"], district.as_str());
    assert_eq!(grade(reply.ok(200), "weak"), (0, 0.0));
    app.get(
        &format!("/api/v1/reports/evaluations?year=2012&organisation_id={other}"),
        &viewer,
    )
    .await
    .problem(404);
    app.get(
        &format!("/api/v1/reports/political-theory?organisation_id={other}"),
        &viewer,
    )
    .await
    .problem(404);
    let admin = app.get("/api/v1/reports/evaluations?year=2012", &app.admin).await;
    assert_eq!(admin.ok(200)["base_organisations"], 2);
    assert_eq!(admin.ok(200)["organisation_id"], Value::Null);
}

#[actix_web::test]
async fn member_evaluation_report_flags_the_quota_from_2018() {
    let app = spawn_app().await;
    let district = app.organisation("TS", "superior_committee", None).await;
    let commune = app.organisation("TS-A", "base_committee", Some(&district)).await;
    let cell_1 = app.organisation("TS-A-1", "cell", Some(&commune)).await;
    let cell_2 = app.organisation("TS-A-2", "cell", Some(&commune)).await;
    let school = app.organisation("TS-B", "base_cell", Some(&district)).await;
    let mut grades = Vec::new();
    // The commune: 2 excellent against 6 good across its two cells: 2 > 20% of 6.
    for (cell, grade) in [(&cell_1, "excellent"), (&cell_2, "excellent")] {
        grades.push((cell.clone(), grade));
    }
    for i in 0..6 {
        grades.push((if i % 2 == 0 { cell_1.clone() } else { cell_2.clone() }, "good"));
    }
    // The school: 1 excellent against 5 good: exactly 20%, no breach.
    grades.push((school.clone(), "excellent"));
    for _ in 0..5 {
        grades.push((school.clone(), "good"));
    }
    grades.push((school.clone(), "not_completed"));
    for (i, (org, grade)) in grades.iter().enumerate() {
        let body = json!({"full_name": format!("Hà Văn {i}"), "birth_date": "1980-01-01", "organisation_id": org,
                          "admitted_on": "2005-01-01"});
        let member = app.post("/api/v1/members", &app.admin, body).await.ok(201)["id"]
            .as_str()
            .unwrap()
            .to_owned();
        for year in [2016, 2019] {
            let body = json!({"member_id": member, "year": year, "grade": grade});
            app.post("/api/v1/member-evaluations", &app.admin, body).await.ok(201);
        }
    }
    let reply = app
        .get("/api/v1/reports/member-evaluations?year=2019", &app.admin)
        .await;
    let report = reply.ok(200).clone();
    assert_eq!(report["evaluated"], 15);
    assert_eq!(grade(&report, "excellent"), (3, 20.0));
    assert_eq!(grade(&report, "good"), (11, 73.33));
    assert_eq!(grade(&report, "not_completed"), (1, 6.67));
    let breaches = report["quota_breaches"].as_array().unwrap();
    assert_eq!(breaches.len(), 1);
    assert_eq!(breaches[0]["organisation_id"], commune.as_str());
    assert_eq!(breaches[0]["excellent"], 2);
    assert_eq!(breaches[0]["good"], 6);
    // Before 2018 there was no quota to breach.
    let old = app
        .get("/api/v1/reports/member-evaluations?year=2016", &app.admin)
        .await;
    assert_eq!(old.ok(200)["quota_breaches"], json!([]));
    assert_eq!(old.ok(200)["scheme"], "hd27_2014");
    let scoped = app
        .get(
            &format!("/api/v1/reports/member-evaluations?year=2019&organisation_id={school}"),
            &app.admin,
        )
        .await;
    assert_eq!(scoped.ok(200)["evaluated"], 7);
    assert_eq!(scoped.ok(200)["quota_breaches"], json!([]));
    let csv = app
        .call(
            Method::GET,
            "/api/v1/reports/member-evaluations?year=2019",
            Some(&app.admin),
            None,
            &[("accept", "text/csv")],
        )
        .await;
    let lines = csv_lines(&csv.raw);
    assert_eq!(lines[1], "evaluated,,15,");
    assert_eq!(lines.last().unwrap(), "quota_breach,TS-A,2,33.33");
}

#[actix_web::test]
async fn admissions_are_counted_where_they_happened_and_grouped() {
    let app = spawn_app().await;
    let district = app.organisation("TS", "superior_committee", None).await;
    let commune = app.organisation("TS-A", "base_committee", Some(&district)).await;
    let cell = app.organisation("TS-A-1", "cell", Some(&commune)).await;
    let school = app.organisation("TS-B", "base_cell", Some(&district)).await;
    let dates = [
        ("2012-01-15", &cell),
        ("2012-03-31", &cell),
        ("2012-04-01", &school),
        ("2012-12-31", &cell),
        ("2013-01-01", &school),
    ];
    let mut first = None;
    for (i, (date, org)) in dates.iter().enumerate() {
        let body = json!({"full_name": format!("Quách Thị {i}"), "birth_date": "1990-01-01", "organisation_id": org,
                          "admitted_on": date});
        let id = app.post("/api/v1/members", &app.admin, body).await.ok(201)["id"]
            .as_str()
            .unwrap()
            .to_owned();
        first.get_or_insert(id);
    }
    // A later transfer does not move the admission.
    app.post(
        &format!("/api/v1/members/{}/events", first.unwrap()),
        &app.admin,
        json!({"type": "transferred", "on": "2013-05-01", "to_organisation_id": school, "mode": "permanent"}),
    )
    .await
    .ok(200);
    let get = |query: &str| {
        let app = &app;
        let path = format!("/api/v1/reports/admissions?{query}");
        async move { app.get(&path, &app.admin).await.ok(200).clone() }
    };
    let year = get("from=2012-01-01&to=2012-12-31").await;
    assert_eq!(year["total"], 4);
    assert_eq!(year["groups"], json!([]));
    let quarters = get("from=2012-01-01&to=2013-12-31&group_by=quarter").await;
    assert_eq!(quarters["total"], 5);
    assert_eq!(
        quarters["groups"],
        json!([{"key": "2012-Q1", "count": 2}, {"key": "2012-Q2", "count": 1}, {"key": "2012-Q4", "count": 1},
               {"key": "2013-Q1", "count": 1}])
    );
    let months = get("from=2012-03-01&to=2012-04-30&group_by=month").await;
    assert_eq!(
        months["groups"],
        json!([{"key": "2012-03", "count": 1}, {"key": "2012-04", "count": 1}])
    );
    let years = get("from=2012-01-01&to=2013-12-31&group_by=year").await;
    assert_eq!(
        years["groups"],
        json!([{"key": "2012", "count": 4}, {"key": "2013", "count": 1}])
    );
    let by_org = get("from=2012-01-01&to=2012-12-31&group_by=organisation").await;
    let groups = by_org["groups"].as_array().unwrap();
    let commune_group = groups.iter().find(|g| g["key"] == commune.as_str()).unwrap();
    assert_eq!(
        commune_group["count"], 3,
        "admissions into the commune's cell count for the commune"
    );
    assert_eq!(commune_group["name"], "Tổ chức TS-A");
    let school_only = get(&format!("from=2012-01-01&to=2012-12-31&organisation_id={school}")).await;
    assert_eq!(school_only["total"], 1);
    // Both dates are well formed: their order is a rule of the report (422), not a malformed query (400).
    app.get("/api/v1/reports/admissions?from=2013-01-01&to=2012-01-01", &app.admin)
        .await
        .problem_on(422, "to");
    app.get("/api/v1/reports/admissions?from=2013-01-01", &app.admin)
        .await
        .problem_on(400, "to");
    app.get(
        "/api/v1/reports/admissions?from=2012-01-01&to=2012-12-31&group_by=week",
        &app.admin,
    )
    .await
    .problem_on(400, "group_by");
}

#[actix_web::test]
async fn political_theory_counts_current_members() {
    let app = spawn_app().await;
    let district = app.organisation("TS", "superior_committee", None).await;
    let school = app.organisation("TS-B", "base_cell", Some(&district)).await;
    let levels = [
        "none",
        "elementary",
        "elementary",
        "intermediate",
        "advanced",
        "advanced",
        "intermediate",
    ];
    let mut ids = Vec::new();
    for (i, level) in levels.iter().enumerate() {
        let body = json!({"full_name": format!("Xa Văn {i}"), "birth_date": "1970-01-01", "organisation_id": school,
                          "admitted_on": "2000-01-01", "political_theory": level});
        ids.push(
            app.post("/api/v1/members", &app.admin, body).await.ok(201)["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    // Official and exempt members count as current, alongside the probationary ones.
    for (member, events) in [
        (&ids[0], &["recognised_official"][..]),
        (&ids[4], &["recognised_official", "exempted"][..]),
    ] {
        for (i, event) in events.iter().enumerate() {
            app.post(
                &format!("/api/v1/members/{member}/events"),
                &app.admin,
                json!({"type": event, "on": format!("200{}-06-01", i + 1)}),
            )
            .await
            .ok(200);
        }
    }
    assert_eq!(
        app.db
            .count("SELECT count(*) AS n FROM members WHERE status IN ('official', 'exempt')")
            .await,
        2
    );
    // A member who has left is not counted.
    app.post(
        &format!("/api/v1/members/{}/events", ids[6]),
        &app.admin,
        json!({"type": "deceased", "on": "2020-01-01"}),
    )
    .await
    .ok(200);
    let reply = app.get("/api/v1/reports/political-theory", &app.admin).await;
    let report = reply.ok(200);
    assert_eq!(report["members"], 6);
    assert_eq!(
        report["levels"],
        json!([{"level": "none", "count": 1, "percent": 16.67}, {"level": "elementary", "count": 2, "percent": 33.33},
               {"level": "intermediate", "count": 1, "percent": 16.67}, {"level": "advanced", "count": 2, "percent": 33.33}])
    );
    assert_eq!(report["intermediate_or_higher"], json!({"count": 3, "percent": 50.0}));
    let csv = app
        .call(
            Method::GET,
            "/api/v1/reports/political-theory",
            Some(&app.admin),
            None,
            &[("accept", "text/csv")],
        )
        .await;
    assert_eq!(csv_lines(&csv.raw).last().unwrap(), "intermediate_or_higher,,3,50.00");
}
