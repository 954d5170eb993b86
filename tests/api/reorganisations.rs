use actix_http::Request;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::Method;
use serde_json::{json, Value};

use crate::common::{spawn_app, TestApp};

const REORGS: &str = "/api/v1/reorganisations";
const ORGS: &str = "/api/v1/organisations";

/// A province with a district under it; two commune base committees with village cells, and an agency's base
/// cell, under the district. Members sit in cells `k1` and `k3` and in the agency.
struct Tree {
    province: String,
    district: String,
    c1: String,
    c2: String,
    k1: String,
    k2: String,
    k3: String,
    agency: String,
}

async fn tree<S, B>(app: &TestApp<S>) -> Tree
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let province = app.organisation("PT", "superior_committee", None).await;
    let district = app.organisation("TS", "superior_committee", Some(&province)).await;
    let c1 = app.organisation("TS-C1", "base_committee", Some(&district)).await;
    let c2 = app.organisation("TS-C2", "base_committee", Some(&district)).await;
    let k1 = app.organisation("TS-C1-K1", "cell", Some(&c1)).await;
    let k2 = app.organisation("TS-C1-K2", "cell", Some(&c1)).await;
    let k3 = app.organisation("TS-C2-K3", "cell", Some(&c2)).await;
    let agency = app.organisation("TS-AG", "base_cell", Some(&district)).await;
    for (org, n) in [(&k1, 2), (&k3, 3), (&agency, 1)] {
        for i in 0..n {
            admit(app, org, &format!("Đảng viên {i}")).await;
        }
    }
    Tree {
        province,
        district,
        c1,
        c2,
        k1,
        k2,
        k3,
        agency,
    }
}

async fn admit<S, B>(app: &TestApp<S>, organisation: &str, name: &str) -> String
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let body = json!({"full_name": name, "gender": "female", "birth_date": "1980-02-03",
                      "organisation_id": organisation, "admitted_on": "2012-05-19"});
    app.post("/api/v1/members", &app.admin, body).await.ok(201)["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The 2025 reform of the tree: a new commune committee takes over both communes' cells, the members of k3 go
/// to k1, the agency moves under the province, the communes and the district end.
fn reform(t: &Tree) -> Value {
    json!({
        "decision_number": "1234-QĐ/TU", "decided_on": "2025-06-20", "effective_on": "2025-07-01",
        "note": "Sáp nhập xã",
        "create": [{"ref": "new", "code": "PT-XM", "name": "Đảng bộ xã Mới", "kind": "superior_committee",
                    "sector": "commune", "parent_id": t.province}],
        "move": [
            {"organisation_id": t.k1, "to_parent_ref": "new", "kind": "base_cell"},
            {"organisation_id": t.k2, "to_parent_ref": "new", "kind": "base_cell"},
            {"organisation_id": t.agency, "to_parent_id": t.province}
        ],
        "transfer_members": [{"from_organisation_id": t.k3, "to_organisation_id": t.k1}],
        "end": [t.k3, t.c1, t.c2, t.district],
        "successors": [
            {"organisation_id": t.c1, "successor_ref": "new"},
            {"organisation_id": t.c2, "successor_ref": "new"},
            {"organisation_id": t.district, "successor_id": t.province}
        ]
    })
}

fn ids(body: &Value) -> Vec<String> {
    let mut ids: Vec<String> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

/// The fields a problem names.
fn fields(problem: &Value) -> Vec<&str> {
    problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect()
}

fn sorted(mut ids: Vec<&String>) -> Vec<String> {
    ids.sort();
    ids.into_iter().cloned().collect()
}

/// What a refused reorganisation must leave as it was.
async fn snapshot<S>(app: &TestApp<S>) -> Vec<i64> {
    let mut counts = Vec::new();
    for table in [
        "reorganisations",
        "reorganisation_organisations",
        "organisation_versions",
        "organisation_successions",
        "audit_events",
        "member_events",
    ] {
        counts.push(app.db.count(&format!("SELECT count(*) AS n FROM {table}")).await);
    }
    counts.push(
        app.db
            .count("SELECT count(*) AS n FROM organisations WHERE dissolved_on IS NOT NULL OR version > 1")
            .await,
    );
    counts.push(
        app.db
            .count("SELECT count(*) AS n FROM members WHERE version > 1")
            .await,
    );
    counts
}

#[actix_web::test]
async fn a_reform_is_applied_whole_and_the_past_tree_stays_readable() {
    let app = spawn_app().await;
    let t = tree(&app).await;
    let reply = app.post(REORGS, &app.admin, reform(&t)).await;
    let applied = reply.ok(201).clone();
    let id = applied["id"].as_str().unwrap().to_owned();
    assert_eq!(reply.header("location"), Some(format!("{REORGS}/{id}").as_str()));
    assert_eq!(reply.header("etag"), Some("\"1\""));
    assert_eq!(
        applied["summary"],
        json!({"created": 1, "moved": 3, "ended": 4, "members_transferred": 3})
    );
    let new = applied["operations"]["create"][0]["organisation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(applied["operations"]["create"][0]["ref"], "new");
    assert_eq!(
        applied["operations"]["move"][0],
        json!({"organisation_id": t.k1, "to_parent_id": new, "kind": "base_cell"})
    );
    assert_eq!(
        applied["operations"]["transfer_members"],
        json!([{"from_organisation_id": t.k3, "to_organisation_id": t.k1, "members": 3}])
    );
    assert_eq!(
        applied["operations"]["successors"][0],
        json!({"organisation_id": t.c1, "successor_id": new})
    );

    let read = app.get(&format!("{REORGS}/{id}"), &app.admin).await;
    assert_eq!(read.ok(200), &applied, "a read returns what the creation returned");
    let list = app.get(&format!("{REORGS}?under={}", t.district), &app.admin).await;
    assert_eq!(ids(list.ok(200)), vec![id.clone()]);
    let none = app.get(&format!("{REORGS}?effective_to=2025-06-30"), &app.admin).await;
    assert_eq!(none.ok(200)["items"], json!([]));

    // Today's tree.
    let k1 = app.get(&format!("{ORGS}/{}", t.k1), &app.admin).await.ok(200).clone();
    assert_eq!(
        (k1["parent_id"].as_str(), k1["kind"].as_str()),
        (Some(new.as_str()), Some("base_cell"))
    );
    assert_eq!(
        k1["member_counts"],
        json!({"probationary": 5}),
        "k3's members came to k1"
    );
    let district = app
        .get(&format!("{ORGS}/{}", t.district), &app.admin)
        .await
        .ok(200)
        .clone();
    assert_eq!(
        (district["active"].clone(), district["dissolved_on"].clone()),
        (json!(false), json!("2025-07-01"))
    );
    assert_eq!(district["successor_ids"], json!([t.province]));
    assert_eq!(
        district["member_counts"],
        json!({}),
        "nobody is left under the district"
    );
    let created = app.get(&format!("{ORGS}/{new}"), &app.admin).await.ok(200).clone();
    assert_eq!(created["established_on"], "2025-07-01");
    assert_eq!(created["predecessor_ids"], json!(sorted(vec![&t.c1, &t.c2])));
    let agency = app
        .get(&format!("{ORGS}/{}", t.agency), &app.admin)
        .await
        .ok(200)
        .clone();
    assert_eq!(agency["parent_id"].as_str(), Some(t.province.as_str()));

    // The tree as it stood at the end of 2024.
    let before = app
        .get(
            &format!("{ORGS}?under={}&as_of=2024-12-31&limit=200", t.district),
            &app.admin,
        )
        .await;
    assert_eq!(
        ids(before.ok(200)),
        sorted(vec![&t.c1, &t.c2, &t.k1, &t.k2, &t.k3, &t.agency])
    );
    let old_k1 = app.get(&format!("{ORGS}/{}?as_of=2024-12-31", t.k1), &app.admin).await;
    let old_k1 = old_k1.ok(200);
    assert_eq!(
        (old_k1["parent_id"].as_str(), old_k1["kind"].as_str()),
        (Some(t.c1.as_str()), Some("cell"))
    );
    assert_eq!(old_k1["active"], true);
    let ancestors = app
        .get(&format!("{ORGS}/{}/ancestors?as_of=2024-12-31", t.k1), &app.admin)
        .await;
    let chain: Vec<&str> = ancestors.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["code"].as_str().unwrap())
        .collect();
    assert_eq!(chain, ["PT", "TS", "TS-C1"]);
    let now = app.get(&format!("{ORGS}/{}/ancestors", t.k1), &app.admin).await;
    assert_eq!(
        now.ok(200)["items"].as_array().unwrap().len(),
        2,
        "province and new commune today"
    );
    let children = app
        .get(&format!("{ORGS}?parent_id={}&as_of=2024-12-31", t.c1), &app.admin)
        .await;
    assert_eq!(ids(children.ok(200)), sorted(vec![&t.k1, &t.k2]));
    let today = app
        .get(
            &format!("{ORGS}?under={}&active=true&count=exact", t.district),
            &app.admin,
        )
        .await;
    assert_eq!(today.ok(200)["total"], 0, "nothing active is left under the district");
    let gone = app.get(&format!("{ORGS}/{new}?as_of=2024-12-31"), &app.admin).await;
    gone.problem(404);
    let day_of = app
        .get(&format!("{ORGS}/{}?as_of=2025-07-01", t.district), &app.admin)
        .await;
    day_of.problem(404);

    // The dated versions of k1.
    let history = app.get(&format!("{ORGS}/{}/history", t.k1), &app.admin).await;
    assert_eq!(
        history.ok(200)["items"],
        json!([
            {"valid_from": null, "valid_to": "2025-07-01", "parent_id": t.c1, "name": "Tổ chức TS-C1-K1",
             "kind": "cell", "reorganisation_id": null},
            {"valid_from": "2025-07-01", "valid_to": null, "parent_id": new, "name": "Tổ chức TS-C1-K1",
             "kind": "base_cell", "reorganisation_id": id}
        ])
    );

    // The transferred members' history names the reorganisation.
    let member = app
        .db
        .count(&format!(
            "SELECT count(*) AS n FROM member_events WHERE type = 'transferred' AND \"on\" = '2025-07-01' \
             AND organisation_id = '{}' AND to_organisation_id = '{}' AND reorganisation_id = '{id}'",
            t.k3, t.k1
        ))
        .await;
    assert_eq!(member, 3);
    let audit = app
        .get(
            &format!("/api/v1/audit-events?reorganisation_id={id}&limit=200"),
            &app.admin,
        )
        .await;
    let audit = audit.ok(200)["items"].as_array().unwrap().clone();
    let count = |kind: &str| audit.iter().filter(|e| e["resource_type"] == kind).count();
    // 1 created, 3 moved, 4 ended and 6 sides of 3 successor links; 3 members; the reorganisation itself.
    assert_eq!(
        (count("organisation"), count("member"), count("reorganisation")),
        (14, 3, 1)
    );
    assert!(audit.iter().all(|e| e["request_id"] == audit[0]["request_id"]));
}

#[actix_web::test]
async fn a_dry_run_answers_the_same_and_stores_nothing() {
    let app = spawn_app().await;
    let t = tree(&app).await;
    let before = snapshot(&app).await;
    let reply = app
        .post(&format!("{REORGS}?dry_run=true"), &app.admin, reform(&t))
        .await;
    let body = reply.ok(200);
    assert_eq!(
        body["summary"],
        json!({"created": 1, "moved": 3, "ended": 4, "members_transferred": 3})
    );
    assert_eq!(reply.header("location"), None);
    assert_eq!(snapshot(&app).await, before, "a dry run stores nothing");
    app.get(&format!("{REORGS}/{}", body["id"].as_str().unwrap()), &app.admin)
        .await
        .problem(404);
}

#[actix_web::test]
async fn every_problem_is_named_and_nothing_changes() {
    let app = spawn_app().await;
    let t = tree(&app).await;
    let before = snapshot(&app).await;
    // The district ends while c2 keeps its cell k3 and its members stay; a cell under a cell; a commune moved
    // into its own cell; a code taken; a base_cell as a transfer source's target under a cell kind.
    let body = json!({
        "decision_number": "9-QĐ/TU", "decided_on": "2025-06-20", "effective_on": "2025-07-01",
        "create": [
            {"ref": "a", "code": "PT-A", "name": "Xã A", "kind": "superior_committee", "parent_id": t.province},
            {"ref": "b", "code": "TS-C1", "name": "Trùng mã", "kind": "superior_committee", "parent_id": t.province}
        ],
        "move": [
            {"organisation_id": t.k1, "to_parent_id": t.k2},
            {"organisation_id": t.c1, "to_parent_id": t.k2},
            {"organisation_id": t.k2, "to_parent_ref": "a", "kind": "partial_committee"},
            {"organisation_id": t.agency, "to_parent_ref": "b"}
        ],
        "transfer_members": [{"from_organisation_id": t.k3, "to_organisation_id": t.c2}],
        "end": [t.c2, t.district],
        "successors": [{"organisation_id": t.k1, "successor_ref": "a"}]
    });
    let reply = app.post(REORGS, &app.admin, body.clone()).await;
    let problem = reply.problem(422).clone();
    let fields = fields(&problem);
    for field in [
        "create[1].code",
        "move[0].to_parent_id",
        "move[1].to_parent_id",
        "move[2].to_parent_ref",
        "move[3].to_parent_ref",
        "transfer_members[0].to_organisation_id",
        "end[0]",
        "end[1]",
        "successors[0].organisation_id",
    ] {
        assert!(fields.contains(&field), "expected a problem on {field}: {problem}");
    }
    assert_eq!(snapshot(&app).await, before, "a refused reorganisation changes nothing");
    let dry = app.post(&format!("{REORGS}?dry_run=true"), &app.admin, body).await;
    assert_eq!(
        dry.problem(422)["errors"],
        problem["errors"],
        "a dry run lists the same problems"
    );
    assert_eq!(snapshot(&app).await, before);
}

#[actix_web::test]
async fn requests_that_cannot_apply_are_refused_before_any_work() {
    let app = spawn_app().await;
    let t = tree(&app).await;
    let before = snapshot(&app).await;
    let base = |extra: Value| {
        let mut body = json!({"decision_number": "1-QĐ", "decided_on": "2025-06-20", "effective_on": "2025-07-01"});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        body
    };
    for (body, field) in [
        (base(json!({})), "create"),
        (
            base(json!({"effective_on": "2999-01-01", "end": [t.k2]})),
            "effective_on",
        ),
        (base(json!({"decided_on": "2025-07-02", "end": [t.k2]})), "decided_on"),
        (
            base(json!({"move": [{"organisation_id": t.k1, "to_parent_id": t.c2, "to_parent_ref": "x"}]})),
            "move[0].to_parent_id",
        ),
        (
            base(
                json!({"create": [{"code": "X", "name": "X", "kind": "base_cell", "parent_ref": "later"},
                                   {"ref": "later", "code": "Y", "name": "Y", "kind": "superior_committee",
                                    "parent_id": t.province}]}),
            ),
            "create[0].parent_ref",
        ),
        (base(json!({"end": [t.k2, t.k2]})), "end[1]"),
        (base(json!({"mvoe": []})), "mvoe"),
        (
            base(json!({"transfer_members": [{"from_organisation_id": t.k1, "to_ref": "nowhere"}]})),
            "transfer_members[0].to_ref",
        ),
    ] {
        app.post(REORGS, &app.admin, body).await.problem_on(422, field);
    }
    assert_eq!(snapshot(&app).await, before);
}

#[actix_web::test]
async fn a_reorganisation_dated_before_a_later_change_is_refused() {
    let app = spawn_app().await;
    let t = tree(&app).await;
    // A plain change today starts a version today; a reorganisation cannot be slipped in before it.
    let renamed = app
        .patch(
            &format!("{ORGS}/{}", t.k2),
            &app.admin,
            json!({"name": "Chi bộ đổi tên"}),
        )
        .await;
    renamed.ok(200);
    let history = app.get(&format!("{ORGS}/{}/history", t.k2), &app.admin).await;
    let items = history.ok(200)["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 2, "a plain rename starts a version: {items:?}");
    assert_eq!(items[1]["reorganisation_id"], Value::Null);
    assert_eq!(items[0]["valid_to"], items[1]["valid_from"]);
    let body = json!({"decision_number": "2-QĐ", "decided_on": "2025-06-20", "effective_on": "2025-07-01",
                      "move": [{"organisation_id": t.c1, "to_parent_id": t.province}]});
    app.post(REORGS, &app.admin, body)
        .await
        .problem_on(422, "move[0].organisation_id");
}

#[actix_web::test]
async fn the_token_scope_bounds_what_a_reorganisation_may_touch() {
    let app = spawn_app().await;
    let t = tree(&app).await;
    let district_editor = app.token("district-editor", "editor", Some(&t.district)).await;
    let viewer = app.token("viewer", "viewer", None).await;
    let before = snapshot(&app).await;
    app.post(REORGS, &viewer, reform(&t)).await.problem(403);
    // The district's own token may not create under the province, move out of its subtree or end itself.
    let reply = app.post(REORGS, &district_editor, reform(&t)).await;
    let problem = reply.problem(422);
    let fields = fields(problem);
    for field in ["create[0].parent_id", "move[2].to_parent_id", "end[3]"] {
        assert!(fields.contains(&field), "expected a problem on {field}: {problem}");
    }
    assert_eq!(snapshot(&app).await, before);
    // Inside its subtree it decides: k2 moves under c2.
    let inside = json!({"decision_number": "5-QĐ/HU", "decided_on": "2025-06-20", "effective_on": "2025-07-01",
                        "move": [{"organisation_id": t.k2, "to_parent_id": t.c2}]});
    let id = app.post(REORGS, &district_editor, inside).await.ok(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.get(&format!("{REORGS}/{id}"), &district_editor).await.ok(200);
    let seen = app.get(REORGS, &district_editor).await;
    assert_eq!(ids(seen.ok(200)), vec![id]);
    // A reorganisation that names organisations outside a reader's subtree is not shown to it.
    let province_wide = app.post(REORGS, &app.admin, reform(&t)).await.ok(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.get(&format!("{REORGS}/{province_wide}"), &district_editor)
        .await
        .problem(404);
    let cell_viewer = app.token("cell-viewer", "viewer", Some(&t.k1)).await;
    assert_eq!(app.get(REORGS, &cell_viewer).await.ok(200)["items"], json!([]));
}

#[actix_web::test]
async fn a_reorganisation_is_never_changed_or_deleted() {
    let app = spawn_app().await;
    let t = tree(&app).await;
    let id = app.post(REORGS, &app.admin, reform(&t)).await.ok(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("{REORGS}/{id}");
    let reply = app
        .call(Method::PATCH, &path, Some(&app.admin), Some(&json!({"note": "x"})), &[])
        .await;
    reply.problem(405);
    app.call(Method::DELETE, &path, Some(&app.admin), None, &[])
        .await
        .problem(405);
    app.call(Method::PUT, REORGS, Some(&app.admin), Some(&json!({})), &[])
        .await
        .problem(405);
    // The organisations it names keep their records: none of them can be deleted.
    app.delete(&format!("{ORGS}/{}", t.k2), &app.admin).await.problem(409);
}

#[actix_web::test]
async fn the_body_may_be_large_but_not_beyond_eight_mebibytes() {
    let app = spawn_app().await;
    let t = tree(&app).await;
    // Half a mebibyte of operations (beyond the 64 KiB of other routes) is read and checked.
    let many: Vec<Value> = (0..12_000).map(|_| json!(t.k2)).collect();
    let body = json!({"decision_number": "7-QĐ", "decided_on": "2025-06-20", "effective_on": "2025-07-01",
                      "end": many});
    assert!(body.to_string().len() > 64 * 1024);
    app.post(REORGS, &app.admin, body).await.problem_on(422, "end[1]");
    let huge = json!({"decision_number": "8-QĐ", "decided_on": "2025-06-20", "effective_on": "2025-07-01",
                      "note": "x".repeat(9 * 1024 * 1024)});
    app.post(REORGS, &app.admin, huge).await.problem(413);
}
