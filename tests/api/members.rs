use actix_http::Request;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::Method;
use serde_json::{json, Value};

use crate::common::{spawn_app, TestApp};

const MEMBERS: &str = "/api/v1/members";

/// A district with a commune committee, two cells under it, and a base cell.
struct Tree {
    district: String,
    commune: String,
    cell_a: String,
    cell_b: String,
    base_cell: String,
}

async fn tree<S, B>(app: &TestApp<S>) -> Tree
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let district = app.organisation("TS", "superior_committee", None).await;
    let commune = app.organisation("TS-TN", "base_committee", Some(&district)).await;
    let cell_a = app.organisation("TS-TN-1", "cell", Some(&commune)).await;
    let cell_b = app.organisation("TS-TN-2", "cell", Some(&commune)).await;
    let base_cell = app.organisation("TS-BV", "base_cell", Some(&district)).await;
    Tree {
        district,
        commune,
        cell_a,
        cell_b,
        base_cell,
    }
}

fn admission(name: &str, organisation: &str) -> Value {
    json!({"full_name": name, "gender": "male", "birth_date": "1985-01-20", "organisation_id": organisation,
           "admitted_on": "2012-05-19"})
}

async fn admit<S, B>(app: &TestApp<S>, body: Value) -> Value
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    app.post(MEMBERS, &app.admin, body).await.ok(201).clone()
}

fn names(body: &Value) -> Vec<String> {
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["full_name"].as_str().unwrap().to_owned())
        .collect()
}

#[actix_web::test]
async fn an_admission_creates_a_probationary_member_with_its_first_history_entry() {
    let app = spawn_app().await;
    let t = tree(&app).await;
    let mut body = admission("Nguyễn Thị Ánh", &t.cell_a);
    body["card_number"] = json!("12345678");
    body["national_id"] = json!("025190001234");
    body["ethnicity"] = json!("Mường");
    body["religion"] = json!("Không");
    let reply = app.post(MEMBERS, &app.admin, body).await;
    let member = reply.ok(201).clone();
    let id = member["id"].as_str().unwrap();
    assert_eq!(reply.header("location"), Some(format!("{MEMBERS}/{id}").as_str()));
    assert_eq!(reply.header("etag"), Some("\"1\""));
    assert_eq!(member["status"], "probationary");
    assert_eq!(member["official_on"], Value::Null);
    assert_eq!(member["political_theory"], "none");
    assert_eq!(member["national_id"], "025190001234");

    let history = app.get(&format!("{MEMBERS}/{id}/events"), &app.admin).await;
    let events = history.ok(200)["items"].as_array().unwrap().clone();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["type"], "admitted");
    assert_eq!(events[0]["on"], "2012-05-19");
    assert_eq!(events[0]["status_after"], "probationary");
    assert_eq!(events[0]["organisation_id"], t.cell_a.as_str());
    assert_eq!(events[0]["actor"], "admin");
    assert_eq!(
        app.db
            .count(&format!(
                "SELECT count(*) AS n FROM audit_events WHERE resource_type = 'member' AND resource_id = '{id}'"
            ))
            .await,
        1
    );
}

#[actix_web::test]
async fn admissions_are_validated_field_by_field_and_change_nothing() {
    let app = spawn_app().await;
    let t = tree(&app).await;
    let dissolved = app.organisation("TS-OLD", "base_cell", Some(&t.district)).await;
    app.patch(
        &format!("/api/v1/organisations/{dissolved}"),
        &app.admin,
        json!({"dissolved_on": "2020-01-01"}),
    )
    .await
    .ok(200);
    let with = |field: &str, value: Value| {
        let mut body = admission("Trần Văn Bình", &t.cell_a);
        body[field] = value;
        body
    };
    let cases = [
        (with("birth_date", json!("1994-05-20")), "admitted_on"),
        (with("admitted_on", json!("2999-01-01")), "admitted_on"),
        (with("birth_date", json!("2999-01-01")), "birth_date"),
        (with("card_number", json!("1234567")), "card_number"),
        (with("card_number", json!("1234567a")), "card_number"),
        (with("national_id", json!("02519000123")), "national_id"),
        (with("full_name", json!(" ")), "full_name"),
        (with("gender", json!("other")), "gender"),
        (with("political_theory", json!("expert")), "political_theory"),
        (with("organisation_id", json!(t.commune)), "organisation_id"),
        (with("organisation_id", json!(t.district)), "organisation_id"),
        (with("organisation_id", json!(dissolved)), "organisation_id"),
        (with("organisation_id", json!(uuid::Uuid::now_v7())), "organisation_id"),
        (with("status", json!("official")), "status"),
        (with("official_on", json!("2013-01-01")), "official_on"),
    ];
    for (body, field) in cases {
        app.post(MEMBERS, &app.admin, body).await.problem_on(422, field);
    }
    let mut missing = admission("X", &t.cell_a);
    missing.as_object_mut().unwrap().remove("birth_date");
    app.post(MEMBERS, &app.admin, missing)
        .await
        .problem_on(422, "birth_date");
    // Exactly 18 on the day of admission is old enough.
    let adult = with("birth_date", json!("1994-05-19"));
    app.post(MEMBERS, &app.admin, adult).await.ok(201);
    assert_eq!(app.db.count("SELECT count(*) AS n FROM members").await, 1);
    assert_eq!(app.db.count("SELECT count(*) AS n FROM member_events").await, 1);
}

#[actix_web::test]
async fn card_numbers_and_national_ids_are_unique() {
    let app = spawn_app().await;
    let t = tree(&app).await;
    let mut first = admission("Lê Văn Cường", &t.cell_a);
    first["card_number"] = json!("11111111");
    first["national_id"] = json!("111111111111");
    admit(&app, first).await;
    let mut same_card = admission("Lê Văn Dũng", &t.cell_a);
    same_card["card_number"] = json!("11111111");
    app.post(MEMBERS, &app.admin, same_card)
        .await
        .problem_on(409, "card_number");
    let mut same_id = admission("Lê Văn Dũng", &t.cell_a);
    same_id["national_id"] = json!("111111111111");
    app.post(MEMBERS, &app.admin, same_id)
        .await
        .problem_on(409, "national_id");
    assert_eq!(app.db.count("SELECT count(*) AS n FROM members").await, 1);
}

#[actix_web::test]
async fn the_whole_story_of_a_member_reads_back_in_order() {
    let app = spawn_app().await;
    let t = tree(&app).await;
    let member = admit(&app, admission("Hà Văn Đức", &t.cell_a)).await;
    let id = member["id"].as_str().unwrap().to_owned();
    let event = |body: Value| {
        let app = &app;
        let path = format!("{MEMBERS}/{id}/events");
        async move { app.post(&path, &app.admin, body).await }
    };

    let early = event(json!({"type": "recognised_official", "on": "2013-05-18"})).await;
    early.problem_on(422, "on");
    let official = event(json!({"type": "recognised_official", "on": "2013-05-19"})).await;
    let official = official.ok(200).clone();
    assert_eq!(official["status"], "official");
    assert_eq!(official["official_on"], "2013-05-19");
    assert_eq!(official["version"], 2);

    let moved = event(
        json!({"type": "transferred", "on": "2014-01-10", "to_organisation_id": t.base_cell,
                             "mode": "permanent", "note": "chuyển công tác"}),
    )
    .await;
    assert_eq!(moved.ok(200)["organisation_id"], t.base_cell.as_str());
    assert_eq!(moved.ok(200)["status"], "official");

    let exempt = event(json!({"type": "exempted", "on": "2020-02-01"})).await;
    assert_eq!(exempt.ok(200)["status"], "exempt");
    let back = event(json!({"type": "exemption_ended", "on": "2021-02-01"})).await;
    assert_eq!(back.ok(200)["status"], "official");
    let warned = event(json!({"type": "disciplined", "on": "2022-03-01", "form": "warning"})).await;
    assert_eq!(warned.ok(200)["status"], "official");

    let history = app.get(&format!("{MEMBERS}/{id}/events"), &app.admin).await;
    let events = history.ok(200)["items"].as_array().unwrap().clone();
    let story: Vec<(&str, &str)> = events
        .iter()
        .map(|e| (e["type"].as_str().unwrap(), e["on"].as_str().unwrap()))
        .collect();
    assert_eq!(
        story,
        vec![
            ("admitted", "2012-05-19"),
            ("recognised_official", "2013-05-19"),
            ("transferred", "2014-01-10"),
            ("exempted", "2020-02-01"),
            ("exemption_ended", "2021-02-01"),
            ("disciplined", "2022-03-01"),
        ]
    );
    assert_eq!(events[2]["organisation_id"], t.cell_a.as_str());
    assert_eq!(events[2]["to_organisation_id"], t.base_cell.as_str());
    assert_eq!(events[2]["mode"], "permanent");
    assert_eq!(events[3]["status_before"], "official");
    assert_eq!(events[3]["status_after"], "exempt");
    assert_eq!(events[5]["form"], "warning");

    let out =
        event(json!({"type": "transferred_out", "on": "2023-01-01", "destination": "Đảng bộ tỉnh Yên Bái"})).await;
    assert_eq!(out.ok(200)["status"], "transferred_out");
    let after_end = event(json!({"type": "deceased", "on": "2024-01-01"})).await;
    after_end.problem(409);
    let audit = app
        .db
        .count(&format!(
            "SELECT count(*) AS n FROM audit_events WHERE action = 'event' AND resource_id = '{id}'"
        ))
        .await;
    assert_eq!(audit, 6);
}

#[actix_web::test]
async fn refused_events_explain_why_and_change_nothing() {
    let app = spawn_app().await;
    let t = tree(&app).await;
    let member = admit(&app, admission("Đỗ Thị Hoa", &t.cell_a)).await;
    let id = member["id"].as_str().unwrap().to_owned();
    let path = format!("{MEMBERS}/{id}/events");
    let refused = [
        (json!({"type": "exempted", "on": "2013-01-01"}), 409, "type"),
        (json!({"type": "exemption_ended", "on": "2013-01-01"}), 409, "type"),
        (
            json!({"type": "disciplined", "on": "2013-01-01", "form": "removal_from_post"}),
            409,
            "type",
        ),
        (json!({"type": "disciplined", "on": "2013-01-01"}), 422, "form"),
        (
            json!({"type": "transferred", "on": "2013-01-01", "to_organisation_id": t.cell_a, "mode": "temporary"}),
            422,
            "to_organisation_id",
        ),
        (
            json!({"type": "transferred", "on": "2013-01-01", "to_organisation_id": t.commune, "mode": "temporary"}),
            422,
            "to_organisation_id",
        ),
        (
            json!({"type": "transferred", "on": "2013-01-01", "to_organisation_id": t.cell_b}),
            422,
            "mode",
        ),
        (
            json!({"type": "transferred_out", "on": "2013-01-01"}),
            422,
            "destination",
        ),
        (json!({"type": "deceased", "on": "2999-01-01"}), 422, "on"),
        (json!({"type": "deceased", "on": "2012-05-18"}), 422, "on"),
        (
            json!({"type": "deceased", "on": "2013-01-01", "form": "warning"}),
            422,
            "form",
        ),
        (json!({"type": "admitted", "on": "2013-01-01"}), 422, "type"),
        (json!({"type": "promoted", "on": "2013-01-01"}), 422, "type"),
        (
            json!({"type": "deceased", "on": "2013-01-01", "cause": "x"}),
            422,
            "cause",
        ),
        (json!({"type": "deceased"}), 422, "on"),
    ];
    for (body, status, field) in refused {
        let reply = app.post(&path, &app.admin, body.clone()).await;
        if status == 409 {
            reply.problem(409);
        } else {
            reply.problem_on(status, field);
        }
    }
    let stored = app.get(&format!("{MEMBERS}/{id}"), &app.admin).await;
    assert_eq!(stored.ok(200)["version"], 1);
    assert_eq!(stored.ok(200)["status"], "probationary");
    assert_eq!(app.db.count("SELECT count(*) AS n FROM member_events").await, 1);
    // A reprimand is allowed while probationary; the status stays.
    let ok = app
        .post(
            &path,
            &app.admin,
            json!({"type": "disciplined", "on": "2013-01-01", "form": "reprimand"}),
        )
        .await;
    assert_eq!(ok.ok(200)["status"], "probationary");
    // Removed: the end; nothing follows.
    app.post(&path, &app.admin, json!({"type": "removed", "on": "2013-06-01"}))
        .await
        .ok(200);
    app.post(
        &path,
        &app.admin,
        json!({"type": "recognised_official", "on": "2013-07-01"}),
    )
    .await
    .problem(409);
}

#[actix_web::test]
async fn events_honour_if_match() {
    let app = spawn_app().await;
    let t = tree(&app).await;
    let member = admit(&app, admission("Vũ Văn Giang", &t.cell_a)).await;
    let path = format!("{MEMBERS}/{}/events", member["id"].as_str().unwrap());
    let body = json!({"type": "recognised_official", "on": "2013-06-01"});
    let stale = app
        .call(
            Method::POST,
            &path,
            Some(&app.admin),
            Some(&body),
            &[("if-match", "\"5\"")],
        )
        .await;
    stale.problem(412);
    let fresh = app
        .call(
            Method::POST,
            &path,
            Some(&app.admin),
            Some(&body),
            &[("if-match", "\"1\"")],
        )
        .await;
    fresh.ok(200);
    assert_eq!(fresh.header("etag"), Some("\"2\""));
}

#[actix_web::test]
async fn a_patch_cannot_set_status_official_on_or_organisation() {
    let app = spawn_app().await;
    let t = tree(&app).await;
    let member = admit(&app, admission("Phạm Văn Hải", &t.cell_a)).await;
    let path = format!("{MEMBERS}/{}", member["id"].as_str().unwrap());
    app.patch(&path, &app.admin, json!({"status": "official"}))
        .await
        .problem_on(422, "status");
    app.patch(&path, &app.admin, json!({"official_on": "2013-06-01"}))
        .await
        .problem_on(422, "official_on");
    app.patch(&path, &app.admin, json!({"organisation_id": t.cell_b}))
        .await
        .problem_on(422, "organisation_id");
    app.patch(&path, &app.admin, json!({"birth_date": null}))
        .await
        .problem_on(422, "birth_date");
    app.patch(&path, &app.admin, json!({"birth_date": "2000-01-01"}))
        .await
        .problem_on(422, "admitted_on");

    let reply = app
        .patch(
            &path,
            &app.admin,
            json!({"political_theory": "intermediate", "card_number": "87654321", "gender": null}),
        )
        .await;
    let updated = reply.ok(200);
    assert_eq!(updated["political_theory"], "intermediate");
    assert_eq!(updated["card_number"], "87654321");
    assert_eq!(updated["gender"], Value::Null);
    assert_eq!(updated["version"], 2);
}

#[actix_web::test]
async fn correcting_the_admission_date_moves_the_admission_entry() {
    let app = spawn_app().await;
    let t = tree(&app).await;
    let member = admit(&app, admission("Phạm Thị Lan", &t.cell_a)).await;
    let id = member["id"].as_str().unwrap().to_owned();
    app.post(
        &format!("{MEMBERS}/{id}/events"),
        &app.admin,
        json!({"type": "recognised_official", "on": "2013-05-20"}),
    )
    .await
    .ok(200);
    // Recognition would then come less than 12 months after admission.
    app.patch(
        &format!("{MEMBERS}/{id}"),
        &app.admin,
        json!({"admitted_on": "2012-06-01"}),
    )
    .await
    .problem_on(422, "admitted_on");
    let reply = app
        .patch(
            &format!("{MEMBERS}/{id}"),
            &app.admin,
            json!({"admitted_on": "2012-05-01"}),
        )
        .await;
    assert_eq!(reply.ok(200)["admitted_on"], "2012-05-01");
    let history = app.get(&format!("{MEMBERS}/{id}/events"), &app.admin).await;
    assert_eq!(history.ok(200)["items"][0]["on"], "2012-05-01");
}

#[actix_web::test]
async fn search_ignores_accents_and_case_and_finds_card_numbers() {
    let app = spawn_app().await;
    let t = tree(&app).await;
    for (name, card) in [
        ("Nguyễn Văn An", "10000001"),
        ("Nguyễn Văn Anh", "10000002"),
        ("Đinh Công Đức", "10000003"),
        ("Trần Thị Ngân", "10000004"),
    ] {
        let mut body = admission(name, &t.cell_a);
        body["card_number"] = json!(card);
        admit(&app, body).await;
    }
    let search = |q: &str| {
        let app = &app;
        let path = format!("{MEMBERS}?q={q}&sort=name");
        async move { names(app.get(&path, &app.admin).await.ok(200)) }
    };
    assert_eq!(
        search("nguyen%20van%20an").await,
        vec!["Nguyễn Văn An", "Nguyễn Văn Anh"]
    );
    assert_eq!(search("NGUY%E1%BB%84N%20V%C4%82N%20ANH").await, vec!["Nguyễn Văn Anh"]);
    assert_eq!(search("dinh%20cong%20duc").await, vec!["Đinh Công Đức"]);
    assert_eq!(search("10000004").await, vec!["Trần Thị Ngân"]);
    assert_eq!(
        search("1000000").await,
        Vec::<String>::new(),
        "card numbers match exactly"
    );
    assert_eq!(search("_").await, Vec::<String>::new());
}

#[actix_web::test]
async fn a_search_within_a_subtree_or_a_scope_finds_only_the_namesakes_there() {
    let app = spawn_app().await;
    let t = tree(&app).await;
    for (name, card, organisation) in [
        ("Nguyễn Văn An", "20000001", &t.cell_a),
        ("Nguyễn Văn Anh", "20000002", &t.cell_b),
        ("Nguyễn Văn An", "20000003", &t.base_cell),
        ("Trần Văn An", "20000004", &t.cell_a),
    ] {
        let mut body = admission(name, organisation);
        body["card_number"] = json!(card);
        admit(&app, body).await;
    }
    let commune_viewer = app.token("commune-viewer", "viewer", Some(&t.commune)).await;
    let search = |token: &str, query: String| {
        let (app, token) = (&app, token.to_owned());
        async move {
            let path = format!("{MEMBERS}?{query}&sort=name&count=exact");
            let body = app.get(&path, &token).await.ok(200).clone();
            let cards: Vec<String> = body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["card_number"].as_str().unwrap().to_owned())
                .collect();
            assert_eq!(body["total"], cards.len(), "{query}");
            cards
        }
    };
    assert_eq!(
        search(&app.admin, format!("q=nguyen%20van%20an&under={}", t.commune)).await,
        ["20000001", "20000002"]
    );
    assert_eq!(
        search(&app.admin, format!("q=nguyen%20van%20an&under={}", t.district)).await,
        ["20000001", "20000003", "20000002"]
    );
    assert_eq!(
        search(&app.admin, format!("q=van%20an&under={}", t.cell_a)).await,
        ["20000001", "20000004"]
    );
    assert_eq!(
        search(&app.admin, format!("q=20000003&under={}", t.commune)).await,
        Vec::<String>::new()
    );
    assert_eq!(
        search(&app.admin, format!("q=20000003&under={}", t.base_cell)).await,
        ["20000003"]
    );
    // A scoped token searches its subtree, alone or with a subtree inside it; other filters still apply.
    assert_eq!(
        search(&commune_viewer, "q=nguyen".to_owned()).await,
        ["20000001", "20000002"]
    );
    assert_eq!(
        search(&commune_viewer, format!("q=nguyen&under={}", t.cell_b)).await,
        ["20000002"]
    );
    assert_eq!(
        search(&commune_viewer, format!("q=nguyen&organisation_id={}", t.cell_a)).await,
        ["20000001"]
    );
    assert_eq!(
        search(&commune_viewer, format!("q=nguyen&under={}", t.district)).await,
        ["20000001", "20000002"]
    );
    assert_eq!(
        search(&commune_viewer, "q=20000003".to_owned()).await,
        Vec::<String>::new()
    );
}

#[actix_web::test]
async fn sort_by_name_is_vietnamese_and_pages_through() {
    let app = spawn_app().await;
    let t = tree(&app).await;
    let shuffled = [
        "Lê Văn Đức",
        "Trần Thị Ánh",
        "Nguyễn Văn Bình",
        "Phạm Văn Dũng",
        "Hoàng Thị Ẩn",
        "Trần Văn An",
        "Nguyễn Thị Anh",
        "Nguyễn Văn An",
    ];
    for name in shuffled {
        admit(&app, admission(name, &t.cell_a)).await;
    }
    let expected = [
        "Nguyễn Văn An",
        "Trần Văn An",
        "Nguyễn Thị Anh",
        "Trần Thị Ánh",
        "Hoàng Thị Ẩn",
        "Nguyễn Văn Bình",
        "Phạm Văn Dũng",
        "Lê Văn Đức",
    ];
    let page_through = |query: String, token: String| {
        let app = &app;
        async move {
            let mut seen = Vec::new();
            let mut path = format!("{MEMBERS}?sort=name&limit=3{query}");
            let mut pages = 0;
            loop {
                let reply = app.get(&path, &token).await;
                seen.extend(names(reply.ok(200)));
                pages += 1;
                match reply.header("link") {
                    Some(link) => path = link.trim_start_matches('<').split('>').next().unwrap().to_owned(),
                    None => break,
                }
            }
            assert_eq!(pages, 3, "{query}");
            seen
        }
    };
    assert_eq!(page_through(String::new(), app.admin.clone()).await, expected);
    // A small subtree's page is sorted from its members rather than read along the name index: the same order.
    let under = format!("&under={}", t.district);
    assert_eq!(page_through(under, app.admin.clone()).await, expected);
    let commune_viewer = app.token("commune-viewer", "viewer", Some(&t.commune)).await;
    assert_eq!(page_through(String::new(), commune_viewer).await, expected);
    // A cursor of one order cannot be used with another.
    let first = app.get(&format!("{MEMBERS}?sort=name&limit=3"), &app.admin).await;
    let cursor = first.body["next_cursor"].as_str().unwrap().to_owned();
    app.get(&format!("{MEMBERS}?sort=admitted_on&cursor={cursor}"), &app.admin)
        .await
        .problem_on(400, "cursor");
}

#[actix_web::test]
async fn member_filters_combine() {
    let app = spawn_app().await;
    let t = tree(&app).await;
    let mut a = admission("Bùi Văn Một", &t.cell_a);
    a["political_theory"] = json!("intermediate");
    a["admitted_on"] = json!("2012-02-01");
    let a = admit(&app, a).await;
    let mut b = admission("Bùi Văn Hai", &t.cell_b);
    b["admitted_on"] = json!("2013-02-01");
    admit(&app, b).await;
    let mut c = admission("Bùi Văn Ba", &t.base_cell);
    c["admitted_on"] = json!("2013-03-01");
    admit(&app, c).await;
    app.post(
        &format!("{MEMBERS}/{}/events", a["id"].as_str().unwrap()),
        &app.admin,
        json!({"type": "recognised_official", "on": "2013-02-01"}),
    )
    .await
    .ok(200);

    let list = |query: String| {
        let app = &app;
        async move { names(app.get(&format!("{MEMBERS}?{query}"), &app.admin).await.ok(200)) }
    };
    assert_eq!(
        list(format!("under={}", t.commune)).await,
        vec!["Bùi Văn Một", "Bùi Văn Hai"]
    );
    assert_eq!(list(format!("under={}", t.district)).await.len(), 3);
    assert_eq!(list(format!("organisation_id={}", t.cell_b)).await, vec!["Bùi Văn Hai"]);
    assert_eq!(list("status=official".into()).await, vec!["Bùi Văn Một"]);
    assert_eq!(
        list("status=probationary,exempt".into()).await,
        vec!["Bùi Văn Hai", "Bùi Văn Ba"]
    );
    app.post(
        &format!("{MEMBERS}/{}/events", a["id"].as_str().unwrap()),
        &app.admin,
        json!({"type": "exempted", "on": "2014-02-01"}),
    )
    .await
    .ok(200);
    assert_eq!(list("status=exempt".into()).await, vec!["Bùi Văn Một"]);
    assert_eq!(
        list("status=official,exempt".into()).await,
        vec!["Bùi Văn Một"],
        "every value of the list counts"
    );
    assert_eq!(list("status=exempt,probationary".into()).await.len(), 3);
    assert_eq!(list("political_theory=intermediate".into()).await, vec!["Bùi Văn Một"]);
    assert_eq!(
        list("admitted_from=2013-01-01&admitted_to=2013-02-28".into()).await,
        vec!["Bùi Văn Hai"]
    );
    assert_eq!(
        list(format!(
            "admitted_from=2013-01-01&under={}&sort=admitted_on",
            t.district
        ))
        .await,
        vec!["Bùi Văn Hai", "Bùi Văn Ba"]
    );
    app.get(&format!("{MEMBERS}?status=active"), &app.admin)
        .await
        .problem_on(400, "status");
    app.get(&format!("{MEMBERS}?sort=age"), &app.admin)
        .await
        .problem_on(400, "sort");
    app.get(&format!("{MEMBERS}?admitted_from=2013"), &app.admin)
        .await
        .problem_on(400, "admitted_from");
}

#[actix_web::test]
async fn sensitive_fields_are_absent_for_viewers() {
    let app = spawn_app().await;
    let t = tree(&app).await;
    let mut body = admission("Lò Văn Khánh", &t.cell_a);
    body["national_id"] = json!("025190009999");
    body["ethnicity"] = json!("Mường");
    body["religion"] = json!("Phật giáo");
    let member = admit(&app, body).await;
    let path = format!("{MEMBERS}/{}", member["id"].as_str().unwrap());
    let viewer = app.token("viewer", "viewer", Some(&t.district)).await;
    let editor = app.token("editor", "editor", Some(&t.district)).await;
    for reply in [
        app.get(&path, &viewer).await,
        app.get(&format!("{MEMBERS}?under={}", t.district), &viewer).await,
    ] {
        let text = String::from_utf8(reply.raw.clone()).unwrap();
        for secret in [
            "national_id",
            "ethnicity",
            "religion",
            "025190009999",
            "Mường",
            "Phật giáo",
        ] {
            assert!(!text.contains(secret), "{secret} shown to a viewer: {text}");
        }
    }
    let seen = app.get(&path, &editor).await;
    assert_eq!(seen.ok(200)["national_id"], "025190009999");
    assert_eq!(seen.ok(200)["religion"], "Phật giáo");
    let cleared = app.patch(&path, &editor, json!({"religion": null})).await;
    assert_eq!(cleared.ok(200)["religion"], Value::Null);
}

#[actix_web::test]
async fn organisations_count_their_members_and_keep_them() {
    let app = spawn_app().await;
    let t = tree(&app).await;
    let a = admit(&app, admission("Cao Văn Lâm", &t.cell_a)).await;
    admit(&app, admission("Cao Văn Minh", &t.cell_a)).await;
    admit(&app, admission("Cao Văn Nam", &t.cell_b)).await;
    app.post(
        &format!("{MEMBERS}/{}/events", a["id"].as_str().unwrap()),
        &app.admin,
        json!({"type": "recognised_official", "on": "2013-06-01"}),
    )
    .await
    .ok(200);

    let commune = app
        .get(&format!("/api/v1/organisations/{}", t.commune), &app.admin)
        .await;
    assert_eq!(
        commune.ok(200)["member_counts"],
        json!({"probationary": 2, "official": 1})
    );
    // A new member in a cell changes the commune's counts, and so its ETag: no stale 304.
    let tag = commune.header("etag").unwrap().to_owned();
    admit(&app, admission("Cao Văn Phong", &t.cell_a)).await;
    let path = format!("/api/v1/organisations/{}", t.commune);
    let again = app
        .call(Method::GET, &path, Some(&app.admin), None, &[("if-none-match", &tag)])
        .await;
    assert_eq!(
        again.ok(200)["member_counts"],
        json!({"probationary": 3, "official": 1})
    );
    let cell = app
        .get(&format!("/api/v1/organisations/{}", t.cell_b), &app.admin)
        .await;
    assert_eq!(cell.ok(200)["member_counts"], json!({"probationary": 1}));
    let empty = app
        .get(&format!("/api/v1/organisations/{}", t.base_cell), &app.admin)
        .await;
    assert_eq!(empty.ok(200)["member_counts"], json!({}));

    app.delete(&format!("/api/v1/organisations/{}", t.cell_b), &app.admin)
        .await
        .problem(409);
    app.patch(
        &format!("/api/v1/organisations/{}", t.cell_b),
        &app.admin,
        json!({"kind": "partial_committee"}),
    )
    .await
    .problem_on(422, "kind");
    assert_eq!(app.db.count("SELECT count(*) AS n FROM organisations").await, 5);
}

#[actix_web::test]
async fn deleting_a_member_removes_the_record_and_its_history() {
    let app = spawn_app().await;
    let t = tree(&app).await;
    let member = admit(&app, admission("Mai Văn Phúc", &t.cell_a)).await;
    let path = format!("{MEMBERS}/{}", member["id"].as_str().unwrap());
    assert_eq!(app.delete(&path, &app.admin).await.status, 204);
    app.get(&path, &app.admin).await.problem(404);
    assert_eq!(app.db.count("SELECT count(*) AS n FROM member_events").await, 0);
    let counts = app
        .get(&format!("/api/v1/organisations/{}", t.cell_a), &app.admin)
        .await;
    assert_eq!(counts.ok(200)["member_counts"], json!({}));
}

#[actix_web::test]
async fn an_event_waits_for_a_concurrent_change_and_then_sees_it() {
    use diesel_async::RunQueryDsl;
    let app = spawn_app().await;
    let t = tree(&app).await;
    let member = admit(&app, admission("Triệu Văn Sinh", &t.cell_a)).await;
    let id = member["id"].as_str().unwrap().to_owned();
    // Another writer recognises the member and has not committed yet.
    let mut other = app.db.connect().await;
    diesel::sql_query("BEGIN").execute(&mut other).await.unwrap();
    diesel::sql_query(format!(
        "UPDATE members SET status = 'official', official_on = '2013-06-01', version = version + 1 WHERE id = '{id}'"
    ))
    .execute(&mut other)
    .await
    .unwrap();
    let path = format!("{MEMBERS}/{id}/events");
    let recognise = json!({"type": "recognised_official", "on": "2013-06-01"});
    // The request must wait for that writer, then see an official member and refuse: without the row lock it
    // would read the old probationary row and record a second recognition.
    let (reply, _) = futures_util::join!(app.post(&path, &app.admin, recognise), async {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        diesel::sql_query("COMMIT").execute(&mut other).await.unwrap();
    });
    reply.problem(409);
    assert_eq!(app.db.count("SELECT count(*) AS n FROM member_events").await, 1);
}
