//! The Thanh Sơn demo district reproduces the article's figures through the API.

use serde_json::{json, Value};

use crate::common::spawn_app;

#[actix_web::test]
async fn the_demo_reads_back_the_articles_table_and_loads_once() {
    let app = spawn_app().await;
    let mut conn = app.db.connect().await;
    let first = partybase::seed::load_demo(&mut conn).await.unwrap();
    assert!(matches!(first, partybase::seed::Outcome::Loaded { .. }));
    let organisations = app.db.count("SELECT count(*) AS n FROM organisations").await;
    let members = app.db.count("SELECT count(*) AS n FROM members").await;
    let candidates = app.db.count("SELECT count(*) AS n FROM candidates").await;
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
    assert_eq!(
        app.db.count("SELECT count(*) AS n FROM candidates").await,
        candidates,
        "a second load adds no candidate"
    );
    drop(conn);

    // The 2012 and early 2013 admissions came through the candidate steps, linked both ways; a few withdrew, and
    // on the last day of 2012 a few waited past a time limit.
    assert_eq!(
        app.db
            .count(
                "SELECT count(*) AS n FROM members m JOIN candidates c ON c.id = m.candidate_id AND c.member_id = m.id \
                 WHERE m.admitted_on BETWEEN '2012-01-01' AND '2013-03-31'"
            )
            .await,
        306 + 42
    );
    let report = app.get("/api/v1/reports/candidates?as_of=2012-12-31", &app.admin).await;
    let report = report.ok(200);
    let stage = |name: &str| {
        report["stages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["stage"] == name)
            .unwrap()["count"]
            .as_i64()
            .unwrap()
    };
    assert_eq!(stage("admitted"), 306);
    assert!((1..=30).contains(&stage("withdrawn")), "{report}");
    let overdue = report["overdue"].as_array().unwrap().len();
    assert!((1..=20).contains(&overdue), "a few overdue: {report}");

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
    // The admissions happen all over the district, not in one or two base organisations.
    for (period, total, at_least, at_most) in [
        ("from=2012-01-01&to=2012-12-31", 306, 35, 30),
        ("from=2013-01-01&to=2013-03-31", 42, 18, 6),
    ] {
        let report = app
            .get(
                &format!("/api/v1/reports/admissions?{period}&group_by=organisation"),
                &app.admin,
            )
            .await;
        let groups = report.ok(200)["groups"].as_array().unwrap().clone();
        let counts: Vec<i64> = groups.iter().map(|g| g["count"].as_i64().unwrap()).collect();
        assert_eq!(counts.iter().sum::<i64>(), total, "{period}");
        assert!(
            counts.len() >= at_least,
            "{period}: admissions in {} of 46 base organisations",
            counts.len()
        );
        assert!(
            counts.iter().all(|&c| c <= at_most),
            "{period}: at most {at_most} in one base organisation, got {counts:?}"
        );
    }

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

/// The item of a list with this code.
#[track_caller]
fn with_code<'a>(list: &'a Value, code: &str) -> &'a Value {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["code"] == code)
        .unwrap_or_else(|| panic!("no {code} in {list}"))
}

fn ids(list: &Value) -> Vec<&str> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect()
}

#[actix_web::test]
async fn the_demo_records_thanh_sons_2025_reform_and_keeps_the_old_tree_readable() {
    let app = spawn_app().await;
    let mut conn = app.db.connect().await;
    partybase::seed::load_demo(&mut conn).await.unwrap();
    drop(conn);
    let get = async |path: String| app.get(&path, &app.admin).await.ok(200).clone();

    let province = get("/api/v1/organisations?q=tinh%20phu%20tho".into()).await;
    let province = with_code(&province, "PT")["id"].as_str().unwrap().to_owned();
    let district = get(format!("/api/v1/organisations?parent_id={province}&as_of=2024-12-31")).await;
    assert_eq!(district["items"].as_array().unwrap().len(), 1, "{district}");
    let district = with_code(&district, "TS")["id"].as_str().unwrap().to_owned();

    // On the last day of 2024 the district had its 46 base organisations, and the village cells were cells.
    let before = get(format!(
        "/api/v1/organisations?under={district}&as_of=2024-12-31&kind=base_committee,base_cell&count=exact&limit=1"
    ))
    .await;
    assert_eq!(before["total"], 46);
    let committees = get(format!(
        "/api/v1/organisations?under={district}&as_of=2024-12-31&kind=base_committee&limit=200"
    ))
    .await;
    let communes = committees["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["sector"] == "commune" || c["sector"] == "township")
        .count();
    assert_eq!(communes, 24);

    // Today the district and its communes have ended, each pointing to its successor, and nothing is left below.
    let now = get(format!("/api/v1/organisations/{district}")).await;
    assert_eq!(now["active"], false);
    assert_eq!(now["dissolved_on"], "2025-07-01");
    assert_eq!(now["successor_ids"], json!([province]));
    let left = get(format!(
        "/api/v1/organisations?under={district}&active=true&count=exact&limit=1"
    ))
    .await;
    assert_eq!(left["total"], 0);

    // Eight new commune committees sit directly under the province, each the successor of two to four old
    // communes; the agencies' base organisations moved under the province too.
    let new = get(format!(
        "/api/v1/organisations?parent_id={province}&kind=superior_committee&active=true&limit=200"
    ))
    .await;
    let mut grouping: Vec<(&str, &str, usize)> = new["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            assert_eq!(c["sector"], "commune");
            assert_eq!(c["established_on"], "2025-07-01");
            let predecessors = c["predecessor_ids"].as_array().unwrap().len();
            (c["code"].as_str().unwrap(), c["name"].as_str().unwrap(), predecessors)
        })
        .collect();
    grouping.sort();
    assert_eq!(
        grouping,
        [
            ("PT-XA-CUDONG", "Đảng bộ xã Cự Đồng", 2),
            ("PT-XA-HUONGCAN", "Đảng bộ xã Hương Cần", 3),
            ("PT-XA-KHACUU", "Đảng bộ xã Khả Cửu", 3),
            ("PT-XA-TANLAP", "Đảng bộ xã Tân Lập", 2),
            ("PT-XA-THANHSON", "Đảng bộ xã Thanh Sơn", 4),
            ("PT-XA-VANMIEU", "Đảng bộ xã Văn Miếu", 3),
            ("PT-XA-VOMIEU", "Đảng bộ xã Võ Miếu", 3),
            ("PT-XA-YENSON", "Đảng bộ xã Yên Sơn", 4),
        ]
    );
    let agencies = get(format!(
        "/api/v1/organisations?parent_id={province}&kind=base_committee,base_cell&active=true&count=exact&limit=1"
    ))
    .await;
    assert_eq!(agencies["total"], 22);
    let before_province = get(format!("/api/v1/organisations?parent_id={province}&as_of=2024-12-31")).await;
    assert_eq!(ids(&before_province), [district.as_str()]);

    // Tinh Nhuệ's commune ended into Yên Sơn's, its cells became Yên Sơn's base cells, and its 2012 evaluation
    // stayed with it.
    let tinh_nhue = with_code(&committees, "TS-TN");
    let tinh_nhue_id = tinh_nhue["id"].as_str().unwrap();
    let yen_son = with_code(&new, "PT-XA-YENSON")["id"].as_str().unwrap().to_owned();
    let ended = get(format!("/api/v1/organisations/{tinh_nhue_id}")).await;
    assert_eq!(
        (&ended["active"], &ended["successor_ids"]),
        (&json!(false), &json!([yen_son]))
    );
    let cells = get(format!(
        "/api/v1/organisations?parent_id={tinh_nhue_id}&as_of=2024-12-31&limit=200"
    ))
    .await;
    let cells = ids(&cells);
    assert!(cells.len() >= 6, "{cells:?}");
    let in_yen_son = get(format!("/api/v1/organisations?parent_id={yen_son}&limit=200")).await;
    assert!(in_yen_son["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["kind"] == "base_cell"));
    assert!(cells.iter().all(|c| ids(&in_yen_son).contains(c)));
    let evaluations = get(format!("/api/v1/evaluations?organisation_id={tinh_nhue_id}&year=2012")).await;
    assert_eq!(evaluations["items"].as_array().unwrap().len(), 1);

    // The reform is one reorganisation, listed with its summary.
    let reorganisations = get("/api/v1/reorganisations".into()).await;
    let items = reorganisations["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    let reform = &items[0];
    assert_eq!(reform["decision_number"], "1468-QĐ/TU");
    assert_eq!(
        (&reform["decided_on"], &reform["effective_on"]),
        (&json!("2025-06-27"), &json!("2025-07-01"))
    );
    // Moved: 239 village cells and the 22 agencies' base organisations; ended: 24 communes and the district.
    assert_eq!(
        reform["summary"],
        json!({"created": 8, "moved": 261, "ended": 25, "members_transferred": 0})
    );
    let reform_id = reform["id"].as_str().unwrap();

    // A cell's history: a cell under Tinh Nhuệ's commune until the reform, a base cell under Yên Sơn's since.
    let cell = cells[0];
    let history = get(format!("/api/v1/organisations/{cell}/history")).await;
    let versions = history["items"].as_array().unwrap();
    assert_eq!(versions.len(), 2, "{history}");
    assert_eq!(
        (
            &versions[0]["parent_id"],
            &versions[0]["kind"],
            &versions[0]["valid_to"],
            &versions[0]["reorganisation_id"]
        ),
        (&json!(tinh_nhue_id), &json!("cell"), &json!("2025-07-01"), &Value::Null)
    );
    assert_eq!(
        (
            &versions[1]["parent_id"],
            &versions[1]["kind"],
            &versions[1]["valid_from"],
            &versions[1]["valid_to"]
        ),
        (&json!(yen_son), &json!("base_cell"), &json!("2025-07-01"), &Value::Null)
    );
    assert_eq!(versions[1]["reorganisation_id"], reform_id);
    let then = get(format!("/api/v1/organisations/{cell}/ancestors?as_of=2024-12-31")).await;
    assert_eq!(ids(&then), [province.as_str(), district.as_str(), tinh_nhue_id]);
    let today = get(format!("/api/v1/organisations/{cell}/ancestors")).await;
    assert_eq!(ids(&today), [province.as_str(), yen_son.as_str()]);

    // The cell's members moved with it: none of them was transferred, and the new commune counts them.
    assert_eq!(
        app.db
            .count("SELECT count(*) AS n FROM member_events WHERE type = 'transferred'")
            .await,
        0
    );
    let members = get(format!("/api/v1/members?organisation_id={cell}&count=exact&limit=1")).await;
    assert!(members["total"].as_i64().unwrap() >= 15, "{members}");
}
