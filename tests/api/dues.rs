//! Party dues: one payment per member and month, corrections on the write path, a member's payments, and the
//! dues report against hand-counted data.

use actix_web::http::Method;
use serde_json::{json, Value};

use crate::common::{spawn_app, TestApp};

const DUES: &str = "/api/v1/dues";

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
        json!({"full_name": name, "birth_date": "1980-01-01", "organisation_id": cell, "admitted_on": admitted_on});
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
    let body = json!({"type": kind, "on": on});
    app.post(&format!("/api/v1/members/{member}/events"), &app.admin, body)
        .await
        .ok(200);
}

async fn pay<S, B>(app: &TestApp<S>, member: &str, period: &str, amount: i64) -> Value
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let body = json!({"member_id": member, "period": period, "amount": amount, "paid_on": format!("{period}-20")});
    app.post(DUES, &app.admin, body).await.ok(201).clone()
}

#[actix_web::test]
async fn one_payment_per_member_and_month_checked_corrected_and_listed() {
    let app = spawn_app().await;
    let district = app.organisation("HU", "superior_committee", None).await;
    let cell = app.organisation("HU-01", "base_cell", Some(&district)).await;
    let an = member(&app, &cell, "Nguyễn Văn An", "2012-03-15").await;

    let reply = app
        .post(
            DUES,
            &app.admin,
            json!({"member_id": an, "period": "2012-05", "amount": 35000, "paid_on": "2012-05-20"}),
        )
        .await;
    let due = reply.ok(201).clone();
    let id = due["id"].as_str().unwrap().to_owned();
    assert_eq!(reply.header("location"), Some(format!("{DUES}/{id}").as_str()));
    assert_eq!(due["organisation_id"], cell.as_str());
    assert_eq!(due["amount"], 35000);
    assert_eq!(due["period"], "2012-05");

    let again = json!({"member_id": an, "period": "2012-05", "amount": 1000, "paid_on": "2012-05-21"});
    app.post(DUES, &app.admin, again).await.problem_on(409, "period");
    let ok = json!({"member_id": an, "period": "2012-06", "amount": 35000, "paid_on": "2012-06-20"});
    let with = |field: &str, value: Value| {
        let mut body = ok.clone();
        body[field] = value;
        body
    };
    let refused = [
        (with("period", json!("2012-02")), "period"),
        (with("period", json!("2012-13")), "period"),
        (with("period", json!("2012-6")), "period"),
        (with("amount", json!(0)), "amount"),
        (with("amount", json!(-5)), "amount"),
        (with("amount", json!(1.5)), "amount"),
        (with("paid_on", json!("2999-01-01")), "paid_on"),
        (with("member_id", json!(uuid::Uuid::now_v7())), "member_id"),
        (with("currency", json!("VND")), "currency"),
    ];
    for (body, field) in refused {
        app.post(DUES, &app.admin, body).await.problem_on(422, field);
    }
    assert_eq!(app.db.count("SELECT count(*) AS n FROM dues").await, 1);
    pay(&app, &an, "2012-03", 35000).await;

    // Corrections go through the write path: If-Match, merge patch, audit.
    let path = format!("{DUES}/{id}");
    let reply = app
        .call(
            Method::PATCH,
            &path,
            Some(&app.admin),
            Some(&json!({"amount": 40000})),
            &[("if-match", "\"1\"")],
        )
        .await;
    assert_eq!(reply.ok(200)["amount"], 40000);
    assert_eq!(reply.header("etag"), Some("\"2\""));
    let stale = app
        .call(
            Method::PATCH,
            &path,
            Some(&app.admin),
            Some(&json!({"amount": 1})),
            &[("if-match", "\"1\"")],
        )
        .await;
    stale.problem(412);
    app.patch(&path, &app.admin, json!({"amount": null}))
        .await
        .problem_on(422, "amount");
    app.patch(&path, &app.admin, json!({"amount": 0}))
        .await
        .problem_on(422, "amount");
    app.patch(&path, &app.admin, json!({"period": "2012-07"}))
        .await
        .problem_on(422, "period");
    let audit = app
        .get(
            &format!("/api/v1/audit-events?resource_type=due&resource_id={id}"),
            &app.admin,
        )
        .await;
    assert_eq!(audit.ok(200)["items"].as_array().unwrap().len(), 2);

    let listed = app.get(&format!("/api/v1/members/{an}/dues"), &app.admin).await;
    let periods: Vec<&str> = listed.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["period"].as_str().unwrap())
        .collect();
    assert_eq!(periods, ["2012-03", "2012-05"]);
    let year = app.get(&format!("{DUES}?year=2012&count=exact"), &app.admin).await;
    assert_eq!(year.ok(200)["total"], 2);
    let month = app.get(&format!("{DUES}?period=2012-03"), &app.admin).await;
    assert_eq!(month.ok(200)["items"].as_array().unwrap().len(), 1);
    app.get(&format!("{DUES}?period=2012-3"), &app.admin).await.problem(400);
    // Both filters: the month, when it lies in the year; none otherwise.
    let both = app.get(&format!("{DUES}?period=2012-03&year=2012"), &app.admin).await;
    assert_eq!(both.ok(200)["items"], month.body["items"]);
    let apart = app.get(&format!("{DUES}?period=2012-03&year=2013"), &app.admin).await;
    assert_eq!(apart.ok(200)["items"], serde_json::json!([]));

    assert_eq!(app.delete(&path, &app.admin).await.status, 204);
    app.get(&path, &app.admin).await.problem(404);
    let feed = app.get("/api/v1/changes?resource_type=due", &app.admin).await;
    let actions: Vec<&str> = feed.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["created", "created", "updated", "deleted"]);
}

/// A base committee with two cells and, beside it, another base organisation; two members of the first cell and
/// their payments of 2012.
struct Households {
    base: String,
    cell: String,
    sister: String,
    elsewhere: String,
    m1: String,
}

async fn households<S, B>(app: &TestApp<S>) -> Households
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
    let sister = app.organisation("HU-01-C2", "cell", Some(&base)).await;
    let elsewhere = app.organisation("HU-02", "base_cell", Some(&district)).await;
    // M1: admitted in 2011, pays January to March and July: April, May and June unpaid.
    let m1 = member(app, &cell, "Một", "2011-05-01").await;
    for period in ["2012-01", "2012-02", "2012-03", "2012-07"] {
        pay(app, &m1, period, 20000).await;
    }
    // M2: admitted on 2012-03-15 (expected from March), pays March and May: April and June unpaid.
    let m2 = member(app, &cell, "Hai", "2012-03-15").await;
    for period in ["2012-03", "2012-05"] {
        pay(app, &m2, period, 30000).await;
    }
    Households {
        base,
        cell,
        sister,
        elsewhere,
        m1,
    }
}

#[actix_web::test]
async fn the_dues_report_counts_expected_paid_and_members_behind() {
    let app = spawn_app().await;
    let Households {
        base,
        cell,
        sister,
        elsewhere,
        m1,
    } = households(&app).await;
    // M3: exempt from 2012-04-01, pays January only: February and March unpaid, the rest not expected.
    let m3 = member(&app, &cell, "Ba", "2010-01-01").await;
    event(&app, &m3, "recognised_official", "2011-01-10").await;
    event(&app, &m3, "exempted", "2012-04-01").await;
    pay(&app, &m3, "2012-01", 15000).await;
    // M4, in the sister cell: pays December 2011 and January to June 2012.
    let m4 = member(&app, &sister, "Bốn", "2010-01-01").await;
    event(&app, &m4, "recognised_official", "2011-01-10").await;
    for period in [
        "2011-12", "2012-01", "2012-02", "2012-03", "2012-04", "2012-05", "2012-06",
    ] {
        pay(&app, &m4, period, 10000).await;
    }
    // Outside the base committee: never counted under it.
    member(&app, &elsewhere, "Năm", "2010-01-01").await;

    let path = format!("/api/v1/reports/dues?year=2012&as_of=2012-07-15&organisation_id={base}");
    let reply = app.get(&path, &app.admin).await;
    let body = reply.ok(200);
    let months: Vec<(String, i64, i64, i64)> = body["months"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["period"].as_str().unwrap().to_owned(),
                m["expected"].as_i64().unwrap(),
                m["paid"].as_i64().unwrap(),
                m["amount"].as_i64().unwrap(),
            )
        })
        .collect();
    let expected: Vec<(String, i64, i64, i64)> = [
        ("2012-01", 3, 3, 45000),
        ("2012-02", 3, 2, 30000),
        ("2012-03", 4, 3, 60000),
        ("2012-04", 3, 1, 10000),
        ("2012-05", 3, 2, 40000),
        ("2012-06", 3, 1, 10000),
        ("2012-07", 3, 1, 20000),
    ]
    .into_iter()
    .map(|(p, e, d, a)| (p.to_owned(), e, d, a))
    .collect();
    assert_eq!(months, expected);
    assert_eq!(body["months"][2]["percent"], 75.0);
    assert_eq!(body["months"][3]["percent"], 33.33);

    let organisations = body["organisations"].as_array().unwrap();
    assert_eq!(organisations.len(), 2);
    let sister_row = organisations
        .iter()
        .find(|o| o["organisation_id"] == sister.as_str())
        .unwrap();
    assert_eq!(sister_row["months"].as_array().unwrap().len(), 7);
    assert_eq!(sister_row["months"][6]["paid"], 0);

    let unpaid = body["unpaid_members"].as_array().unwrap();
    assert_eq!(unpaid.len(), 1, "{unpaid:?}");
    assert_eq!(unpaid[0]["member_id"], m1.as_str());
    assert_eq!(unpaid[0]["unpaid_months"], json!(["2012-04", "2012-05", "2012-06"]));
    assert_eq!(unpaid[0]["consecutive"], 3);
    // One organisation a page: the whole base committee's months on each, the organisations and the members
    // behind split between them, in id order.
    let mut ids = [cell.clone(), sister.clone()];
    ids.sort();
    let first = app.get(&format!("{path}&limit=1"), &app.admin).await;
    let page = first.ok(200);
    assert_eq!(page["months"], body["months"]);
    assert_eq!(page["organisations"].as_array().unwrap().len(), 1);
    assert_eq!(page["organisations"][0]["organisation_id"], ids[0].as_str());
    let cursor = page["next_cursor"].as_str().expect("a next page").to_owned();
    let link = first.header("link").expect("a Link header");
    assert!(
        link.contains(&format!("cursor={cursor}")) && link.contains("limit=1"),
        "{link}"
    );
    let last = app.get(&format!("{path}&limit=1&cursor={cursor}"), &app.admin).await;
    let second = last.ok(200);
    assert_eq!(last.header("link"), None);
    assert_eq!(second["next_cursor"], Value::Null);
    assert_eq!(second["months"], body["months"]);
    assert_eq!(second["organisations"][0]["organisation_id"], ids[1].as_str());
    let behind_on = |page: &Value| page["unpaid_members"].as_array().unwrap().len();
    let m1_on_first = ids[0] == cell;
    assert_eq!(behind_on(page), usize::from(m1_on_first));
    assert_eq!(behind_on(second), usize::from(!m1_on_first));
    app.get(&format!("{path}&count=exact"), &app.admin)
        .await
        .problem_on(400, "count");
    app.get(&format!("{path}&cursor=bm90LWEtY3Vyc29y"), &app.admin)
        .await
        .problem_on(400, "cursor");
    app.get(&format!("{path}&limit=0"), &app.admin)
        .await
        .problem_on(400, "limit");
    // The month's end, answered from the kept figures, says the same (nothing happened after the 15th).
    let end = format!("/api/v1/reports/dues?year=2012&as_of=2012-07-31&organisation_id={base}");
    assert_eq!(figures(app.get(&end, &app.admin).await.ok(200)), figures(body));

    // Earlier in the year fewer months count: by 2012-03-10 only January and February have ended.
    let path = format!("/api/v1/reports/dues?year=2012&as_of=2012-03-10&organisation_id={base}");
    let body = app.get(&path, &app.admin).await.ok(200).clone();
    assert_eq!(body["months"].as_array().unwrap().len(), 3);
    assert_eq!(body["unpaid_members"].as_array().unwrap().len(), 0);

    let csv = app
        .call(
            Method::GET,
            &format!("/api/v1/reports/dues?year=2012&as_of=2012-07-15&organisation_id={base}"),
            Some(&app.admin),
            None,
            &[("accept", "text/csv")],
        )
        .await;
    let text = String::from_utf8(csv.raw.clone()).unwrap();
    assert!(text.contains("paid,2012-03,3,75.00\r\n"), "{text}");
    assert!(text.contains("amount,2012-01,45000,\r\n"), "{text}");
    assert!(text.contains("unpaid_members,total,1,\r\n"), "{text}");

    app.get("/api/v1/reports/dues", &app.admin).await.problem(400);
    app.get("/api/v1/reports/dues?year=12", &app.admin).await.problem(400);
}

#[actix_web::test]
async fn members_behind_count_every_month_of_a_span_that_ended_in_the_year() {
    let app = spawn_app().await;
    let Households { sister, .. } = households(&app).await;
    // Official since 2011 and exempt from May 2012: expected from January to April, and paid for none of them.
    let exempt = member(&app, &sister, "Tám", "2010-01-01").await;
    event(&app, &exempt, "recognised_official", "2011-01-10").await;
    event(&app, &exempt, "exempted", "2012-05-01").await;
    // Admitted on 2012-03-10 and dead on 2012-07-05: expected from March to June, and paid for June only.
    let died = member(&app, &sister, "Chín", "2012-03-10").await;
    pay(&app, &died, "2012-06", 10000).await;
    event(&app, &died, "deceased", "2012-07-05").await;
    // Paid for every month it was expected: not behind.
    let paid = member(&app, &sister, "Mười", "2012-09-01").await;
    for period in ["2012-09", "2012-10"] {
        pay(&app, &paid, period, 10000).await;
    }
    event(&app, &paid, "deceased", "2012-11-02").await;

    let body = app
        .get(
            &format!("/api/v1/reports/dues?year=2012&organisation_id={sister}"),
            &app.admin,
        )
        .await
        .ok(200)
        .clone();
    let behind: Vec<(&str, Value, i64)> = body["unpaid_members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["full_name"].as_str().unwrap(),
                u["unpaid_months"].clone(),
                u["consecutive"].as_i64().unwrap(),
            )
        })
        .collect();
    // In the order of their ids, which are in the order of their admissions.
    assert_eq!(
        behind,
        [
            ("Tám", json!(["2012-01", "2012-02", "2012-03", "2012-04"]), 4),
            ("Chín", json!(["2012-03", "2012-04", "2012-05"]), 3),
        ]
    );
}

#[actix_web::test]
async fn many_payments_at_once_keep_the_rules_of_one() {
    use partybase::domain::ids::MemberId;
    use partybase::resources::dues::service::{record_many, Payment, Period};
    use partybase::resources::dues::store::DueValues;

    let app = spawn_app().await;
    let district = app.organisation("HU", "superior_committee", None).await;
    let cell = app.organisation("HU-01", "base_cell", Some(&district)).await;
    let early = member(&app, &cell, "An", "2000-01-01").await;
    let late = member(&app, &cell, "Bình", "2012-07-01").await;
    let actor = partybase::auth::Actor::system("cli", "test-many");
    let mut conn = app.db.connect().await;
    let payment = |member: &str, period: &str, amount: i64| Payment {
        member_id: MemberId(member.parse().unwrap()),
        period: Period::parse(period).unwrap(),
        values: DueValues {
            amount,
            paid_on: "2012-08-05".parse().unwrap(),
            note: None,
        },
    };

    // A month before the admission and an amount of nothing are refused, named by the payment; nothing stored.
    let refused = record_many(
        &mut conn,
        &actor,
        vec![
            payment(&early, "2012-06", 2000),
            payment(&late, "2012-06", 2000),
            payment(&late, "2012-07", 0),
        ],
    )
    .await;
    let Err(partybase::error::ApiError::Validation(errors)) = refused else {
        panic!("expected a refusal, got {refused:?}");
    };
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["dues[1].period", "dues[2].amount"]);
    assert_eq!(app.db.count("SELECT count(*) AS n FROM dues").await, 0);

    let stored = record_many(
        &mut conn,
        &actor,
        vec![payment(&early, "2012-07", 2000), payment(&late, "2012-07", 24_570)],
    )
    .await
    .unwrap();
    assert_eq!(stored, 2);
    // A second payment for a member and month is a conflict, as one at a time.
    let again = record_many(&mut conn, &actor, vec![payment(&late, "2012-07", 24_570)]).await;
    assert!(
        matches!(again, Err(partybase::error::ApiError::Conflict { .. })),
        "{again:?}"
    );
    drop(conn);
    let paid = app.get(&format!("/api/v1/members/{late}/dues"), &app.admin).await;
    let paid = paid.ok(200);
    assert_eq!(paid["items"][0]["amount"], 24_570, "{paid}");
    assert_eq!(
        app.db
            .count("SELECT count(*) AS n FROM audit_events WHERE resource_type = 'due' AND request_id = 'test-many'")
            .await,
        2
    );
}

/// What the dues report says, without the report date.
fn figures(body: &Value) -> Value {
    json!([body["months"], body["organisations"], body["unpaid_members"]])
}

#[derive(diesel::QueryableByName)]
struct Kept {
    #[diesel(sql_type = diesel::sql_types::Text)]
    figures: String,
}

/// Every kept dues figure, shards added up, as one text, once a dues report has brought them up to date (the tests
/// run no background work: only the report does).
async fn kept_figures<S, B>(app: &TestApp<S>) -> String
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    use diesel_async::RunQueryDsl;
    app.get("/api/v1/reports/dues?year=2012", &app.admin).await.ok(200);
    assert_eq!(app.db.count("SELECT count(*) AS n FROM dues_stale").await, 0);
    let mut conn = app.db.connect().await;
    diesel::sql_query(
        "SELECT concat_ws(' | ', \
           (SELECT string_agg(format('%s %s %s %s %s %s', member_id, organisation_id, open_from, closed, paid, \
                                     full_name), ', ' \
                              ORDER BY member_id) FROM dues_members), \
           (SELECT string_agg(format('%s %s %s', organisation_id, month, n), ', ' ORDER BY organisation_id, month) \
              FROM (SELECT organisation_id, month, sum(members) AS n FROM dues_spans GROUP BY 1, 2 \
                    HAVING sum(members) <> 0) s), \
           (SELECT string_agg(format('%s %s', organisation_id, n), ', ' ORDER BY organisation_id) \
              FROM (SELECT organisation_id, sum(members) AS n FROM dues_open GROUP BY 1 HAVING sum(members) <> 0) o), \
           (SELECT string_agg(format('%s %s %s %s', organisation_id, year, p, a), ', ' ORDER BY organisation_id, year) \
              FROM (SELECT organisation_id, year, array_agg(p ORDER BY k) AS p, array_agg(a ORDER BY k) AS a \
                      FROM (SELECT organisation_id, year, k, sum(p) AS p, sum(a) AS a \
                              FROM dues_counts, unnest(paid, amount) WITH ORDINALITY u(p, a, k) GROUP BY 1, 2, 3) k \
                     GROUP BY 1, 2) c \
             WHERE EXISTS (SELECT 1 FROM unnest(p || a) v WHERE v <> 0))) AS figures",
    )
    .get_result::<Kept>(&mut conn)
    .await
    .unwrap()
    .figures
}

/// Per organisation and month: the members expected to pay, those of them who paid, and the amounts.
type Figures = Vec<(String, String, i64, i64, i64)>;

/// A dues report's organisations and months.
fn by_organisation(body: &Value) -> Figures {
    let mut figures = Vec::new();
    for organisation in body["organisations"].as_array().unwrap() {
        for month in organisation["months"].as_array().unwrap() {
            figures.push((
                organisation["organisation_id"].as_str().unwrap().to_owned(),
                month["period"].as_str().unwrap().to_owned(),
                month["expected"].as_i64().unwrap(),
                month["paid"].as_i64().unwrap(),
                month["amount"].as_i64().unwrap(),
            ));
        }
    }
    figures.sort();
    figures
}

/// A dues report's months with anybody expected.
fn months_of(body: &Value) -> Vec<(String, i64, i64, i64)> {
    body["months"]
        .as_array()
        .unwrap()
        .iter()
        .map(|month| {
            (
                month["period"].as_str().unwrap().to_owned(),
                month["expected"].as_i64().unwrap(),
                month["paid"].as_i64().unwrap(),
                month["amount"].as_i64().unwrap(),
            )
        })
        .filter(|(_, expected, ..)| *expected > 0)
        .collect()
}

/// The months with anybody expected of figures by organisation, added up.
fn summed(figures: &Figures) -> Vec<(String, i64, i64, i64)> {
    let mut months = std::collections::BTreeMap::<String, (i64, i64, i64)>::new();
    for (_, period, expected, paid, amount) in figures {
        let month = months.entry(period.clone()).or_default();
        *month = (month.0 + expected, month.1 + paid, month.2 + amount);
    }
    months
        .into_iter()
        .map(|(period, (expected, paid, amount))| (period, expected, paid, amount))
        .filter(|(_, expected, ..)| *expected > 0)
        .collect()
}

#[derive(diesel::QueryableByName)]
struct Counted {
    #[diesel(sql_type = diesel::sql_types::Text)]
    organisation: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    period: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    expected: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    paid: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    amount: i64,
}

/// The figures the history gives as of `day`: the members expected to pay by the rule the kept figures follow (the
/// service's own reading of the history, used by the demo), with their payments.
async fn from_history(app: &TestApp<impl Sized>, year: i32, day: chrono::NaiveDate) -> Figures {
    use diesel::sql_types::{Array, Text, Uuid};
    use diesel_async::RunQueryDsl;
    let mut conn = app.db.connect().await;
    let expected = partybase::reports::expected_payments(&mut conn, year, day)
        .await
        .unwrap();
    let counted: Vec<Counted> = diesel::sql_query(
        "SELECT m.organisation_id::text AS organisation, x.period, count(*) AS expected, count(d.id) AS paid, \
                coalesce(sum(d.amount), 0)::bigint AS amount \
         FROM unnest($1, $2) AS x(member_id, period) \
         JOIN members m ON m.id = x.member_id \
         LEFT JOIN dues d ON d.member_id = x.member_id AND d.period = x.period \
         GROUP BY 1, 2",
    )
    .bind::<Array<Uuid>, _>(expected.iter().map(|e| e.member_id).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(expected.iter().map(|e| e.period.clone()).collect::<Vec<_>>())
    .load(&mut conn)
    .await
    .unwrap();
    let mut figures: Figures = counted
        .into_iter()
        .map(|c| (c.organisation, c.period, c.expected, c.paid, c.amount))
        .collect();
    figures.sort();
    figures
}

#[actix_web::test]
async fn the_kept_dues_figures_follow_every_change_and_answer_as_the_history_does() {
    let app = spawn_app().await;
    let Households {
        base,
        cell,
        sister,
        elsewhere,
        m1,
    } = households(&app).await;
    // A dues report brings the kept figures up to date before it reads them: asked for between the changes below,
    // each change is counted on top of figures already kept, as with the service's background work.
    let catch_up = || app.get("/api/v1/reports/dues?year=2012", &app.admin);
    catch_up().await.ok(200);
    // Exempt from April to August 20th: April to July are not expected, and June's payment does not count.
    let m3 = member(&app, &cell, "Ba", "2010-01-01").await;
    event(&app, &m3, "recognised_official", "2011-01-10").await;
    event(&app, &m3, "exempted", "2012-04-01").await;
    event(&app, &m3, "exemption_ended", "2012-08-20").await;
    for period in ["2012-01", "2012-06", "2012-09"] {
        pay(&app, &m3, period, 15000).await;
    }
    catch_up().await.ok(200);
    // Moved out of the base committee in June, with its payments: counted where it is now.
    let m4 = member(&app, &sister, "Bốn", "2010-01-01").await;
    event(&app, &m4, "recognised_official", "2011-01-10").await;
    catch_up().await.ok(200);
    for period in ["2012-01", "2012-02", "2012-03", "2012-04", "2012-05"] {
        pay(&app, &m4, period, 10000).await;
    }
    let moved =
        json!({"type": "transferred", "on": "2012-06-10", "to_organisation_id": elsewhere, "mode": "permanent"});
    app.post(&format!("/api/v1/members/{m4}/events"), &app.admin, moved)
        .await
        .ok(200);
    catch_up().await.ok(200);
    // Died in May: expected to April.
    let m5 = member(&app, &sister, "Năm", "2010-01-01").await;
    pay(&app, &m5, "2012-01", 5000).await;
    event(&app, &m5, "deceased", "2012-05-05").await;
    // Admission redated from February to April.
    let m6 = member(&app, &sister, "Sáu", "2012-02-01").await;
    app.patch(
        &format!("/api/v1/members/{m6}"),
        &app.admin,
        json!({"admitted_on": "2012-04-02"}),
    )
    .await
    .ok(200);
    catch_up().await.ok(200);
    // Entered by mistake: its payment and then itself deleted.
    let m7 = member(&app, &cell, "Bảy", "2012-01-05").await;
    let mistaken = pay(&app, &m7, "2012-02", 5000).await;
    catch_up().await.ok(200);
    let path = format!("{DUES}/{}", mistaken["id"].as_str().unwrap());
    assert_eq!(app.delete(&path, &app.admin).await.status, 204);
    assert_eq!(
        app.delete(&format!("/api/v1/members/{m7}"), &app.admin).await.status,
        204
    );
    catch_up().await.ok(200);
    // A corrected amount.
    let july = app.get(&format!("/api/v1/members/{m1}/dues"), &app.admin).await.ok(200)["items"][3]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.call(
        Method::PATCH,
        &format!("{DUES}/{july}"),
        Some(&app.admin),
        Some(&json!({"amount": 25000})),
        &[("if-match", "\"1\"")],
    )
    .await
    .ok(200);

    // Renamed: the members behind are listed by the name their kept row holds, which is caught up on like the rest.
    app.patch(
        &format!("/api/v1/members/{m3}"),
        &app.admin,
        json!({"full_name": "Ba Thị"}),
    )
    .await
    .ok(200);

    // Exempted and deceased on the same day after the 10th of October: official on the 10th, so expected in
    // October as of then, though not at the month's end.
    let m8 = member(&app, &elsewhere, "Tám", "2010-01-01").await;
    event(&app, &m8, "recognised_official", "2011-01-10").await;
    pay(&app, &m8, "2012-10", 8000).await;
    event(&app, &m8, "exempted", "2012-10-20").await;
    event(&app, &m8, "deceased", "2012-10-20").await;

    // The kept figures (and names) are what counting everything again gives.
    let kept = kept_figures(&app).await;
    app.db.execute("SELECT dues_rebuild()").await;
    assert_eq!(kept_figures(&app).await, kept);

    // The report on any date, under the base committee and everywhere, is what the history gives. The dates inside
    // a month come before an entry of its history: m2's admission on March 15th, m6's redated one on April 2nd,
    // m5's death on May 5th, m4's transfer on June 10th, the end of m3's exemption on August 20th, m8's two entries
    // on October 20th.
    for day in [
        "2012-03-10",
        "2012-03-15",
        "2012-04-01",
        "2012-05-03",
        "2012-06-05",
        "2012-06-30",
        "2012-08-15",
        "2012-09-30",
        "2012-10-10",
        "2012-12-15",
        "2011-12-31",
        "2013-02-15",
    ] {
        let on: chrono::NaiveDate = day.parse().unwrap();
        let history = from_history(&app, 2012, on).await;
        let everywhere = app
            .get(&format!("/api/v1/reports/dues?year=2012&as_of={day}"), &app.admin)
            .await
            .ok(200)
            .clone();
        assert_eq!(by_organisation(&everywhere), history, "{day}");
        // The months of the whole registry are read by another statement than the organisations' (a partial
        // month's correction takes another form for it).
        assert_eq!(months_of(&everywhere), summed(&history), "{day}, the months");
        let under_base = app
            .get(
                &format!("/api/v1/reports/dues?year=2012&as_of={day}&organisation_id={base}"),
                &app.admin,
            )
            .await
            .ok(200)
            .clone();
        let in_base: Vec<_> = history
            .iter()
            .filter(|(organisation, ..)| [&cell, &sister].contains(&organisation))
            .cloned()
            .collect();
        assert_eq!(by_organisation(&under_base), in_base, "{day} under the base committee");
    }

    // By the end of September under the base committee (August the last month ended): m1 and m2 four months
    // behind; m3 owed nothing in its exemption but is behind before and after it; m4 is counted elsewhere now; m5
    // behind until its death; m6 owes from its redated admission.
    let body = app
        .get(
            &format!("/api/v1/reports/dues?year=2012&as_of=2012-09-30&organisation_id={base}"),
            &app.admin,
        )
        .await
        .ok(200)
        .clone();
    let mut behind: Vec<(&str, Value)> = body["unpaid_members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["full_name"].as_str().unwrap(), u["unpaid_months"].clone()))
        .collect();
    behind.sort_by_key(|(name, _)| name.to_string());
    assert_eq!(
        behind,
        [
            ("Ba Thị", json!(["2012-02", "2012-03", "2012-08"])),
            ("Hai", json!(["2012-04", "2012-06", "2012-07", "2012-08"])),
            ("Một", json!(["2012-04", "2012-05", "2012-06", "2012-08"])),
            ("Năm", json!(["2012-02", "2012-03", "2012-04"])),
            ("Sáu", json!(["2012-04", "2012-05", "2012-06", "2012-07", "2012-08"])),
        ]
    );
    let july = &body["months"][6];
    assert_eq!(
        (
            july["period"].as_str(),
            july["expected"].as_i64(),
            july["paid"].as_i64(),
            july["amount"].as_i64()
        ),
        (Some("2012-07"), Some(3), Some(1), Some(25000)),
        "m1, m2 and m6 expected; m1 paid, its amount corrected"
    );
}

#[actix_web::test]
async fn payments_and_history_changes_at_once_keep_the_figures_whole() {
    use futures_util::future::{join, join_all};

    let app = spawn_app().await;
    let Households { cell, .. } = households(&app).await;
    let names: Vec<String> = (0..4).map(|i| format!("Lò Văn {i}")).collect();
    let members = join_all(names.iter().map(|name| member(&app, &cell, name, "2010-01-01"))).await;
    join_all(
        members
            .iter()
            .map(|m| event(&app, m, "recognised_official", "2011-01-10")),
    )
    .await;
    // At once: each member pays the twelve months of 2012 while its exemption from May to September is recorded.
    let payments = members
        .iter()
        .flat_map(|m| (1..=12).map(move |month| (m, format!("2012-{month:02}"))))
        .collect::<Vec<_>>();
    let paying = join_all(payments.iter().map(|(m, period)| pay(&app, m, period, 10000)));
    let exempting = join_all(members.iter().map(|m| async {
        event(&app, m, "exempted", "2012-05-03").await;
        event(&app, m, "exemption_ended", "2012-09-07").await;
    }));
    join(paying, exempting).await;

    let kept = kept_figures(&app).await;
    app.db.execute("SELECT dues_rebuild()").await;
    assert_eq!(kept_figures(&app).await, kept);
    // May to August are not expected: eight months paid for of the eight expected, for each of the four.
    let body = app
        .get(
            &format!("/api/v1/reports/dues?year=2012&as_of=2012-12-31&organisation_id={cell}"),
            &app.admin,
        )
        .await
        .ok(200)
        .clone();
    let may = &body["months"][4];
    assert_eq!(
        (may["period"].as_str(), may["expected"].as_i64()),
        (Some("2012-05"), Some(2)),
        "m1 and m2 only"
    );
    let december = &body["months"][11];
    assert_eq!(
        (december["expected"].as_i64(), december["paid"].as_i64()),
        (Some(6), Some(4))
    );
}

#[actix_web::test]
async fn writes_only_note_their_members_and_the_report_counts_them_before_it_reads_the_kept_figures() {
    let app = spawn_app().await;
    let Households { cell, .. } = households(&app).await;
    let m3 = member(&app, &cell, "Ba", "2012-01-10").await;
    let report = |day: &str| format!("/api/v1/reports/dues?year=2012&as_of={day}&organisation_id={cell}");

    // The admissions and payments are noted, not yet counted.
    let noted = "SELECT count(DISTINCT member_id) AS n FROM dues_stale";
    assert_eq!(app.db.count(noted).await, 3);
    assert_eq!(app.db.count("SELECT count(*) AS n FROM dues_members").await, 0);
    let body = app.get(&report("2012-12-31"), &app.admin).await.ok(200).clone();
    let march = &body["months"][2];
    assert_eq!(
        (
            march["expected"].as_i64(),
            march["paid"].as_i64(),
            march["amount"].as_i64()
        ),
        (Some(3), Some(2), Some(50000)),
        "{body}"
    );
    assert_eq!(app.db.count(noted).await, 0);
    assert_eq!(app.db.count("SELECT count(*) AS n FROM dues_members").await, 3);

    // A deletion is noted too, and what the member contributed is taken away.
    app.call(
        actix_web::http::Method::DELETE,
        &format!("/api/v1/members/{m3}"),
        Some(&app.admin),
        None,
        &[],
    )
    .await
    .ok(204);
    assert_eq!(app.db.count(noted).await, 1);
    let body = app.get(&report("2012-12-31"), &app.admin).await.ok(200).clone();
    assert_eq!(body["months"][2]["expected"].as_i64(), Some(2), "{body}");
    assert_eq!(app.db.count("SELECT count(*) AS n FROM dues_members").await, 2);

    // Every date is read from the kept figures (the history only corrects a month taken inside it): a kept figure
    // changed behind the service's back shows on a month's end, inside a month and today.
    app.db
        .execute(&format!(
            "UPDATE dues_open SET members = members + 100 WHERE organisation_id = '{cell}'"
        ))
        .await;
    let expected = |body: &Value| body["months"][5]["expected"].as_i64();
    let end = app.get(&report("2012-06-30"), &app.admin).await.ok(200).clone();
    let middle = app.get(&report("2012-06-15"), &app.admin).await.ok(200).clone();
    assert_eq!((expected(&end), expected(&middle)), (Some(102), Some(102)));
    let today = app
        .get(
            &format!("/api/v1/reports/dues?year=2012&organisation_id={cell}"),
            &app.admin,
        )
        .await
        .ok(200)
        .clone();
    assert_eq!(expected(&today), Some(102));
}
