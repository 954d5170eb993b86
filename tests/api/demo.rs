//! The Thanh Sơn demo district reproduces the article's figures through the API.

use actix_http::Request;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use serde_json::{json, Value};

use crate::common::{spawn_app, TestApp};

#[actix_web::test]
async fn the_demo_reads_back_the_articles_table_and_loads_once() {
    let app = spawn_app().await;
    let mut conn = app.db.connect().await;
    let first = partybase::seed::load_demo(&mut conn).await.unwrap();
    assert!(matches!(first, partybase::seed::Outcome::Loaded { .. }));
    let organisations = app.db.count("SELECT count(*) AS n FROM organisations").await;
    let members = app.db.count("SELECT count(*) AS n FROM members").await;
    let candidates = app.db.count("SELECT count(*) AS n FROM candidates").await;
    let year_rows = year_of_meetings_and_dues(&app).await;
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
    assert_eq!(
        year_of_meetings_and_dues(&app).await,
        year_rows,
        "a second load adds no meeting, attendance, payment or change"
    );
    drop(conn);
    the_year_2012_reads_back_in_the_meetings_and_dues_reports(&app).await;

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

/// The stored meetings, attendance entries, payments and their change-feed entries.
async fn year_of_meetings_and_dues<S, B>(app: &crate::common::TestApp<S>) -> [i64; 4]
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    [
        app.db.count("SELECT count(*) AS n FROM meetings").await,
        app.db.count("SELECT count(*) AS n FROM meeting_attendance").await,
        app.db.count("SELECT count(*) AS n FROM dues").await,
        app.db
            .count("SELECT count(*) AS n FROM changes WHERE resource_type IN ('meeting', 'due')")
            .await,
    ]
}

/// A member's status on day `day` (an SQL expression over `mb`), by their history.
const STATUS_ON: &str = "(SELECT e.status_after FROM member_events e WHERE e.member_id = mb.id AND e.on <= {day} \
    ORDER BY e.on DESC, e.recorded_at DESC LIMIT 1)";

fn status_on(day: &str) -> String {
    STATUS_ON.replace("{day}", day)
}

/// Every page of a report whose organisations come in pages, following `next_cursor` as a client does.
async fn every_page<S, B>(app: &TestApp<S>, first: &str) -> Vec<Value>
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let mut pages: Vec<Value> = Vec::new();
    let mut next = first.to_owned();
    loop {
        let page = app.get(&next, &app.admin).await.ok(200).clone();
        let cursor = page["next_cursor"].as_str().map(str::to_owned);
        pages.push(page);
        match cursor {
            Some(cursor) => next = format!("{first}&cursor={cursor}"),
            None => return pages,
        }
    }
}

/// The items of a page's list `field`.
fn items_of(page: &Value, field: &str) -> Vec<Value> {
    page[field].as_array().unwrap().clone()
}

fn sum(list: &[Value], f: impl Fn(&Value) -> i64) -> i64 {
    list.iter().map(f).sum()
}

/// The demo's 2012 meetings and dues, read back through the reports and counted again by hand over the stored
/// rows.
async fn the_year_2012_reads_back_in_the_meetings_and_dues_reports<S, B>(app: &crate::common::TestApp<S>)
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let count = async |sql: &str| app.db.count(sql).await;
    let in_2012 = "held_on BETWEEN '2012-01-01' AND '2012-12-31'";
    let meetings = count(&format!("SELECT count(*) AS n FROM meetings WHERE {in_2012}")).await;
    let cells = count("SELECT count(*) AS n FROM organisations WHERE kind IN ('cell', 'base_cell')").await;
    assert!(
        meetings >= cells * 12,
        "about 12 to 16 meetings a cell: {meetings} for {cells} cells"
    );
    assert_eq!(
        count("SELECT count(*) AS n FROM meetings").await,
        meetings,
        "all in 2012"
    );

    // Every meeting lists exactly the members expected that day: its cell's members, admitted by then and
    // probationary or official by their history (the exempt left out), each once.
    let expected = format!(
        "SELECT count(*) FROM members mb WHERE mb.organisation_id = m.organisation_id AND mb.admitted_on <= m.held_on \
         AND {} IN ('probationary', 'official')",
        status_on("m.held_on")
    );
    assert_eq!(
        count(&format!(
            "SELECT count(*) AS n FROM meetings m \
             WHERE (SELECT count(*) FROM meeting_attendance a WHERE a.meeting_id = m.id) <> ({expected})"
        ))
        .await,
        0
    );
    assert_eq!(
        count(&format!(
            "SELECT count(*) AS n FROM meeting_attendance a JOIN meetings m ON m.id = a.meeting_id \
             JOIN members mb ON mb.id = a.member_id \
             WHERE mb.organisation_id <> m.organisation_id OR mb.admitted_on > m.held_on \
                OR {} NOT IN ('probationary', 'official')",
            status_on("m.held_on")
        ))
        .await,
        0
    );
    assert!(
        count(&format!(
            "SELECT count(*) AS n FROM meetings m JOIN members mb ON mb.organisation_id = m.organisation_id \
             WHERE {} = 'exempt'",
            status_on("m.held_on")
        ))
        .await
            > 0,
        "some exempt members were left off the attendance"
    );

    let pages = every_page(app, "/api/v1/reports/meetings?year=2012&limit=200").await;
    let cells_listed: Vec<Value> = pages.iter().flat_map(|page| items_of(page, "organisations")).collect();
    let cells_listed = cells_listed.as_slice();
    assert_eq!(cells_listed.len() as i64, cells);
    assert_eq!(sum(cells_listed, |c| c["meetings"].as_i64().unwrap()), meetings);
    let regular = count(&format!(
        "SELECT count(*) AS n FROM meetings WHERE kind = 'regular' AND {in_2012}"
    ))
    .await;
    assert_eq!(sum(cells_listed, |c| c["regular_meetings"].as_i64().unwrap()), regular);
    let thematic = count(&format!(
        "SELECT count(*) AS n FROM meetings WHERE kind = 'thematic' AND {in_2012}"
    ))
    .await;
    let per_quarter = |c: &Value| sum(c["thematic_per_quarter"].as_array().unwrap(), |q| q.as_i64().unwrap());
    assert_eq!(sum(cells_listed, per_quarter), thematic);
    // Months without a regular meeting: a few, in a few cells; most cells met every month.
    let missed = count(
        "SELECT count(*) AS n FROM organisations o CROSS JOIN generate_series(1, 12) AS month \
         WHERE o.kind IN ('cell', 'base_cell') AND NOT EXISTS (SELECT 1 FROM meetings m \
           WHERE m.organisation_id = o.id AND m.kind = 'regular' AND m.held_on >= make_date(2012, month, 1) \
             AND m.held_on < make_date(2012, month, 1) + interval '1 month')",
    )
    .await;
    let without = |c: &Value| c["months_without_regular"].as_array().unwrap().len() as i64;
    assert_eq!(sum(cells_listed, without), missed);
    assert!(missed > 0, "some cell missed a month");
    assert!(
        cells_listed.iter().filter(|c| without(c) == 0).count() as i64 * 2 > cells,
        "most cells met every month"
    );
    // Good quality: more than 85% present and nobody absent without an excuse.
    let good = count(
        "SELECT count(*) AS n FROM meetings m WHERE \
           (SELECT count(*) FILTER (WHERE a.status = 'present') * 100 > count(*) * 85 \
                   AND count(*) FILTER (WHERE a.status = 'absent_unexcused') = 0 \
            FROM meeting_attendance a WHERE a.meeting_id = m.id)",
    )
    .await;
    assert_eq!(
        sum(cells_listed, |c| c["good_quality_meetings"].as_i64().unwrap()),
        good
    );
    assert!(good * 2 > meetings && good < meetings, "{good} good of {meetings}");
    // A handful of members were absent without an excuse in three or more months.
    let absent = count(
        "SELECT count(*) AS n FROM (SELECT a.member_id FROM meeting_attendance a \
           JOIN meetings m ON m.id = a.meeting_id WHERE a.status = 'absent_unexcused' \
           GROUP BY a.member_id HAVING count(DISTINCT extract(month FROM m.held_on)) >= 3) x",
    )
    .await;
    let listed = |c: &Value| c["absent_without_excuse"].as_array().unwrap().len() as i64;
    assert_eq!(sum(cells_listed, listed), absent);
    assert!((1..=60).contains(&absent), "a handful absent without excuse: {absent}");
    // One cell's attendance rate, by hand.
    let cell = &cells_listed[0];
    let (present, expected) = (
        count(&format!(
            "SELECT count(*) AS n FROM meeting_attendance a JOIN meetings m ON m.id = a.meeting_id \
             WHERE m.organisation_id = '{}' AND a.status = 'present'",
            cell["organisation_id"].as_str().unwrap()
        ))
        .await,
        count(&format!(
            "SELECT count(*) AS n FROM meeting_attendance a JOIN meetings m ON m.id = a.meeting_id \
             WHERE m.organisation_id = '{}'",
            cell["organisation_id"].as_str().unwrap()
        ))
        .await,
    );
    let rate = (present as f64 * 10_000.0 / expected as f64).round() / 100.0;
    assert_eq!(cell["attendance_rate"].as_f64().unwrap(), rate);
    assert!(rate > 70.0, "{cell}");

    // Dues: members expected each month (admitted by its end, probationary or official then), who paid, how much.
    let pages = every_page(app, "/api/v1/reports/dues?year=2012&as_of=2013-01-31&limit=20").await;
    assert!(pages.len() > 1);
    let report = &pages[0];
    assert!(
        pages.iter().all(|page| page["months"] == report["months"]),
        "every page has the whole months"
    );
    let months = report["months"].as_array().unwrap();
    assert_eq!(months.len(), 12);
    let paid = count("SELECT count(*) AS n FROM dues WHERE period LIKE '2012-%'").await;
    assert_eq!(count("SELECT count(*) AS n FROM dues").await, paid, "all for 2012");
    assert_eq!(sum(months, |m| m["paid"].as_i64().unwrap()), paid);
    let amount = count("SELECT sum(amount)::bigint AS n FROM dues").await;
    assert_eq!(sum(months, |m| m["amount"].as_i64().unwrap()), amount);
    let expected_in = |month: usize| {
        format!(
            "SELECT count(*) AS n FROM members mb \
             WHERE mb.admitted_on <= (make_date(2012, {month}, 1) + interval '1 month' - interval '1 day')::date \
               AND {} IN ('probationary', 'official')",
            status_on(&format!(
                "(make_date(2012, {month}, 1) + interval '1 month' - interval '1 day')::date"
            ))
        )
    };
    for (i, m) in months.iter().enumerate() {
        assert_eq!(m["period"], format!("2012-{:02}", i + 1));
        assert_eq!(m["expected"].as_i64().unwrap(), count(&expected_in(i + 1)).await, "{m}");
        assert!(m["percent"].as_f64().unwrap() > 90.0, "most pay every month: {m}");
    }
    // Whole đồng at the rates of the time, nobody paying for a month before the admission or while exempt.
    assert!(count("SELECT min(amount)::bigint AS n FROM dues").await >= 1_000);
    assert!(count("SELECT max(amount)::bigint AS n FROM dues").await <= 100_000);
    assert_eq!(
        count(
            "SELECT count(*) AS n FROM dues d JOIN members mb ON mb.id = d.member_id \
             WHERE d.period < to_char(mb.admitted_on, 'YYYY-MM')"
        )
        .await,
        0
    );
    assert_eq!(
        count(&format!(
            "SELECT count(*) AS n FROM dues d JOIN members mb ON mb.id = d.member_id \
             WHERE {} NOT IN ('probationary', 'official')",
            status_on("(to_date(d.period, 'YYYY-MM') + interval '1 month' - interval '1 day')::date")
        ))
        .await,
        0
    );
    // A few members had not paid for three or more months.
    let unpaid = count(&format!(
        "SELECT count(*) AS n FROM (SELECT mb.id FROM members mb CROSS JOIN generate_series(1, 12) AS month \
         WHERE mb.admitted_on <= (make_date(2012, month, 1) + interval '1 month' - interval '1 day')::date \
           AND {} IN ('probationary', 'official') \
           AND NOT EXISTS (SELECT 1 FROM dues d WHERE d.member_id = mb.id \
                             AND d.period = to_char(make_date(2012, month, 1), 'YYYY-MM')) \
         GROUP BY mb.id HAVING count(*) >= 3) x",
        status_on("(make_date(2012, month, 1) + interval '1 month' - interval '1 day')::date")
    ))
    .await;
    let behind: Vec<Value> = pages.iter().flat_map(|page| items_of(page, "unpaid_members")).collect();
    assert_eq!(behind.len() as i64, unpaid);
    assert!((1..=80).contains(&unpaid), "a few behind: {unpaid}");
    assert!(
        behind.iter().any(|m| m["consecutive"].as_i64().unwrap() >= 3),
        "{behind:?}"
    );

    // Every meeting and payment is in the audit trail and the change feed, as the seed's other records are.
    for (resource, stored) in [("meeting", meetings), ("due", paid)] {
        let audited = format!(
            "SELECT count(*) AS n FROM audit_events WHERE request_id = 'seed-demo' AND resource_type = '{resource}' \
             AND action = 'create'"
        );
        assert_eq!(count(&audited).await, stored, "{resource}");
        let fed =
            format!("SELECT count(*) AS n FROM changes WHERE resource_type = '{resource}' AND action = 'created'");
        assert_eq!(count(&fed).await, stored, "{resource}");
    }
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
