use actix_web::http::Method;
use serde_json::{json, Value};

use crate::common::spawn_app;

const ORGS: &str = "/api/v1/organisations";

fn ids(body: &Value) -> Vec<String> {
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .collect()
}

#[actix_web::test]
async fn create_read_update_delete() {
    let app = spawn_app().await;
    let reply = app
        .post(
            ORGS,
            &app.admin,
            json!({"code": "TS", "name": "Đảng bộ huyện Thanh Sơn", "kind": "superior_committee",
                   "sector": "other", "established_on": "1947-06-01", "address": "Thanh Sơn, Phú Thọ"}),
        )
        .await;
    let created = reply.ok(201).clone();
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(reply.header("location"), Some(format!("{ORGS}/{id}").as_str()));
    let created_tag = reply.header("etag").unwrap().to_owned();
    assert!(created_tag.starts_with("\"1-"), "{created_tag}");
    assert_eq!(created["version"], 1);
    assert_eq!(created["active"], true);
    assert_eq!(created["parent_id"], Value::Null);
    assert_eq!(created["established_on"], "1947-06-01");
    assert!(created["created_at"].as_str().unwrap().ends_with('Z'));

    let reply = app.get(&format!("{ORGS}/{id}"), &app.admin).await;
    assert_eq!(
        reply.header("etag"),
        Some(created_tag.as_str()),
        "one ETag per representation"
    );
    let read = reply.ok(200).clone();
    assert_eq!(
        read["member_counts"],
        json!({}),
        "one organisation read carries its member counts"
    );
    assert_eq!(read, created, "a creation returns what a read returns");

    let reply = app
        .patch(
            &format!("{ORGS}/{id}"),
            &app.admin,
            json!({"name": "Huyện ủy Thanh Sơn", "address": null}),
        )
        .await;
    let updated = reply.ok(200).clone();
    assert!(reply.header("etag").unwrap().starts_with("\"2-"));
    assert_eq!(updated["version"], 2);
    assert_eq!(updated["name"], "Huyện ủy Thanh Sơn");
    assert_eq!(updated["address"], Value::Null);
    assert_eq!(updated["sector"], "other", "absent fields stay");
    assert_ne!(updated["updated_at"], created["updated_at"]);

    let reply = app.delete(&format!("{ORGS}/{id}"), &app.admin).await;
    assert_eq!(reply.status, 204);
    app.get(&format!("{ORGS}/{id}"), &app.admin).await.problem(404);
    app.delete(&format!("{ORGS}/{id}"), &app.admin).await.problem(404);
    assert_eq!(app.db.count("SELECT count(*) AS n FROM organisations").await, 0);
}

#[actix_web::test]
async fn an_empty_patch_changes_nothing_and_keeps_the_version() {
    let app = spawn_app().await;
    let id = app.organisation("A", "superior_committee", None).await;
    let reply = app.patch(&format!("{ORGS}/{id}"), &app.admin, json!({})).await;
    assert_eq!(reply.ok(200)["version"], 1);
    let reply = app
        .patch(&format!("{ORGS}/{id}"), &app.admin, json!({"code": "A"}))
        .await;
    assert_eq!(reply.ok(200)["version"], 1);
}

#[actix_web::test]
async fn a_patch_may_not_null_a_required_field_or_set_read_only_ones() {
    let app = spawn_app().await;
    let id = app.organisation("A", "superior_committee", None).await;
    let path = format!("{ORGS}/{id}");
    app.patch(&path, &app.admin, json!({"name": null}))
        .await
        .problem_on(422, "name");
    app.patch(&path, &app.admin, json!({"kind": null}))
        .await
        .problem_on(422, "kind");
    app.patch(&path, &app.admin, json!({"id": id}))
        .await
        .problem_on(422, "id");
    app.patch(&path, &app.admin, json!({"updated_at": "2020-01-01T00:00:00Z"}))
        .await
        .problem_on(422, "updated_at");
    app.patch(&path, &app.admin, json!({"code": "has space"}))
        .await
        .problem_on(422, "code");
    let reply = app.get(&path, &app.admin).await;
    assert_eq!(reply.ok(200)["version"], 1);
}

#[actix_web::test]
async fn field_values_are_checked() {
    let app = spawn_app().await;
    let cases = [
        (json!({"code": "", "name": "X", "kind": "superior_committee"}), "code"),
        (
            json!({"code": "A".repeat(33), "name": "X", "kind": "superior_committee"}),
            "code",
        ),
        (
            json!({"code": "A", "name": "   ", "kind": "superior_committee"}),
            "name",
        ),
        (
            json!({"code": "A", "name": "N".repeat(201), "kind": "superior_committee"}),
            "name",
        ),
        (
            json!({"code": "A", "name": "X", "kind": "superior_committee", "sector": "farm"}),
            "sector",
        ),
        (
            json!({"code": "A", "name": "X", "kind": "superior_committee",
                "established_on": "2010-01-01", "dissolved_on": "2009-12-31"}),
            "dissolved_on",
        ),
    ];
    for (body, field) in cases {
        app.post(ORGS, &app.admin, body).await.problem_on(422, field);
    }
    // The longest allowed values pass.
    let reply = app
        .post(
            ORGS,
            &app.admin,
            json!({"code": "A".repeat(32), "name": "Ơ".repeat(200), "kind": "superior_committee"}),
        )
        .await;
    reply.ok(201);
    assert_eq!(app.db.count("SELECT count(*) AS n FROM organisations").await, 1);
}

#[actix_web::test]
async fn a_duplicate_code_is_409_naming_code() {
    let app = spawn_app().await;
    app.organisation("TS", "superior_committee", None).await;
    let reply = app
        .post(
            ORGS,
            &app.admin,
            json!({"code": "TS", "name": "Other", "kind": "superior_committee"}),
        )
        .await;
    reply.problem_on(409, "code");
    let other = app.organisation("TS2", "superior_committee", None).await;
    app.patch(&format!("{ORGS}/{other}"), &app.admin, json!({"code": "TS"}))
        .await
        .problem_on(409, "code");
}

#[actix_web::test]
async fn kinds_must_fit_under_their_parent() {
    let app = spawn_app().await;
    let district = app.organisation("D", "superior_committee", None).await;
    let commune = app.organisation("XA", "base_committee", Some(&district)).await;
    let partial = app.organisation("BP", "partial_committee", Some(&commune)).await;
    app.organisation("CB1", "cell", Some(&partial)).await;
    app.organisation("CB2", "cell", Some(&commune)).await;
    let base_cell = app.organisation("CBCS", "base_cell", Some(&district)).await;

    let refused = [
        ("base_committee", None),
        ("cell", None),
        ("cell", Some(&district)),
        ("cell", Some(&base_cell)),
        ("base_cell", Some(&commune)),
        ("partial_committee", Some(&district)),
        ("superior_committee", Some(&commune)),
    ];
    for (kind, parent) in refused {
        let body = json!({"code": format!("X-{kind}"), "name": "X", "kind": kind, "parent_id": parent});
        let reply = app.post(ORGS, &app.admin, body).await;
        let problem = reply.problem_on(422, "parent_id");
        assert!(problem["detail"].as_str().unwrap().contains(kind), "{problem}");
    }
    let unknown = uuid::Uuid::now_v7().to_string();
    app.post(
        ORGS,
        &app.admin,
        json!({"code": "Y", "name": "Y", "kind": "base_cell", "parent_id": unknown}),
    )
    .await
    .problem_on(422, "parent_id");
    assert_eq!(app.db.count("SELECT count(*) AS n FROM organisations").await, 6);
}

#[actix_web::test]
async fn changing_a_kind_must_keep_the_children_fitting() {
    let app = spawn_app().await;
    let district = app.organisation("D", "superior_committee", None).await;
    let commune = app.organisation("XA", "base_committee", Some(&district)).await;
    app.organisation("CB", "cell", Some(&commune)).await;
    let reply = app
        .patch(&format!("{ORGS}/{commune}"), &app.admin, json!({"kind": "base_cell"}))
        .await;
    reply.problem_on(422, "kind");
    let lone = app.organisation("XB", "base_committee", Some(&district)).await;
    let reply = app
        .patch(&format!("{ORGS}/{lone}"), &app.admin, json!({"kind": "base_cell"}))
        .await;
    assert_eq!(reply.ok(200)["kind"], "base_cell");
}

#[actix_web::test]
async fn moving_an_organisation_moves_its_subtree_and_refuses_cycles() {
    let app = spawn_app().await;
    let province = app.organisation("P", "superior_committee", None).await;
    let old_district = app.organisation("D1", "superior_committee", Some(&province)).await;
    let new_district = app.organisation("D2", "superior_committee", Some(&province)).await;
    let commune = app.organisation("XA", "base_committee", Some(&old_district)).await;
    let cell = app.organisation("CB", "cell", Some(&commune)).await;

    // A cycle: the province under its own descendant, or an organisation under itself.
    app.patch(&format!("{ORGS}/{province}"), &app.admin, json!({"parent_id": commune}))
        .await
        .problem_on(422, "parent_id");
    app.patch(
        &format!("{ORGS}/{old_district}"),
        &app.admin,
        json!({"parent_id": old_district}),
    )
    .await
    .problem_on(422, "parent_id");

    let reply = app
        .patch(
            &format!("{ORGS}/{commune}"),
            &app.admin,
            json!({"parent_id": new_district}),
        )
        .await;
    assert_eq!(reply.ok(200)["parent_id"], new_district.as_str());

    let under_new = app.get(&format!("{ORGS}?under={new_district}"), &app.admin).await;
    assert_eq!(ids(under_new.ok(200)), vec![commune.clone(), cell.clone()]);
    let under_old = app.get(&format!("{ORGS}?under={old_district}"), &app.admin).await;
    assert!(ids(under_old.ok(200)).is_empty());
    let ancestors = app.get(&format!("{ORGS}/{cell}/ancestors"), &app.admin).await;
    assert_eq!(
        ids(ancestors.ok(200)),
        vec![province.clone(), new_district.clone(), commune.clone()]
    );

    // A superior committee may become a root.
    let reply = app
        .patch(
            &format!("{ORGS}/{old_district}"),
            &app.admin,
            json!({"parent_id": null}),
        )
        .await;
    assert_eq!(reply.ok(200)["parent_id"], Value::Null);
    let ancestors = app.get(&format!("{ORGS}/{old_district}/ancestors"), &app.admin).await;
    assert!(ids(ancestors.ok(200)).is_empty());
    // A base committee may not.
    app.patch(&format!("{ORGS}/{commune}"), &app.admin, json!({"parent_id": null}))
        .await
        .problem_on(422, "parent_id");
}

#[actix_web::test]
async fn deleting_an_organisation_with_children_is_409() {
    let app = spawn_app().await;
    let district = app.organisation("D", "superior_committee", None).await;
    let cell = app.organisation("CBCS", "base_cell", Some(&district)).await;
    let reply = app.delete(&format!("{ORGS}/{district}"), &app.admin).await;
    reply.problem(409);
    assert_eq!(app.db.count("SELECT count(*) AS n FROM organisations").await, 2);
    assert_eq!(app.delete(&format!("{ORGS}/{cell}"), &app.admin).await.status, 204);
    assert_eq!(app.delete(&format!("{ORGS}/{district}"), &app.admin).await.status, 204);
}

#[actix_web::test]
async fn deleting_an_organisation_a_token_is_scoped_to_is_409() {
    let app = spawn_app().await;
    let district = app.organisation("D", "superior_committee", None).await;
    app.token("district-viewer", "viewer", Some(&district)).await;
    app.delete(&format!("{ORGS}/{district}"), &app.admin).await.problem(409);
}

#[actix_web::test]
async fn etags_answer_304_and_412() {
    let app = spawn_app().await;
    let id = app.organisation("A", "superior_committee", None).await;
    let path = format!("{ORGS}/{id}");
    let admin = Some(app.admin.as_str());

    let tag = app.get(&path, &app.admin).await.header("etag").unwrap().to_owned();
    assert!(tag.starts_with("\"1-"), "the version, then the member counts: {tag}");
    let reply = app
        .call(Method::GET, &path, admin, None, &[("if-none-match", &tag)])
        .await;
    assert_eq!(reply.status, 304);
    assert!(reply.raw.is_empty());
    assert_eq!(reply.header("etag"), Some(tag.as_str()));
    let reply = app
        .call(Method::GET, &path, admin, None, &[("if-none-match", "\"7\"")])
        .await;
    reply.ok(200);

    let stale = app
        .call(
            Method::PATCH,
            &path,
            admin,
            Some(&json!({"name": "B"})),
            &[("if-match", "\"2\"")],
        )
        .await;
    stale.problem(412);
    // The ETag of a read governs a write; only that exact ETag matches.
    let forged = app
        .call(
            Method::PATCH,
            &path,
            admin,
            Some(&json!({"name": "B"})),
            &[("if-match", "\"1-deadbeef\"")],
        )
        .await;
    forged.problem(412);
    let bare = app
        .call(
            Method::PATCH,
            &path,
            admin,
            Some(&json!({"name": "B"})),
            &[("if-match", "\"1\"")],
        )
        .await;
    bare.problem(412);
    let fresh = app
        .call(
            Method::PATCH,
            &path,
            admin,
            Some(&json!({"name": "B"})),
            &[("if-match", &tag)],
        )
        .await;
    assert_eq!(fresh.ok(200)["name"], "B");
    let changed_tag = fresh.header("etag").unwrap().to_owned();
    assert!(changed_tag.starts_with("\"2-"), "{changed_tag}");
    // The ETag a PATCH returns is the one a read returns: it answers 304.
    let reply = app
        .call(Method::GET, &path, admin, None, &[("if-none-match", &changed_tag)])
        .await;
    assert_eq!(reply.status, 304);
    // The old ETag no longer matches: a lost update is refused.
    let lost = app
        .call(
            Method::PATCH,
            &path,
            admin,
            Some(&json!({"name": "C"})),
            &[("if-match", &tag)],
        )
        .await;
    lost.problem(412);
    let delete = app
        .call(Method::DELETE, &path, admin, None, &[("if-match", &tag)])
        .await;
    delete.problem(412);
    let reply = app.get(&path, &app.admin).await;
    assert_eq!(reply.ok(200)["name"], "B");
    let delete = app
        .call(Method::DELETE, &path, admin, None, &[("if-match", &changed_tag)])
        .await;
    assert_eq!(delete.status, 204);
}

#[actix_web::test]
async fn list_filters_combine() {
    let app = spawn_app().await;
    let district = app.organisation("TS", "superior_committee", None).await;
    let other = app.organisation("YL", "superior_committee", None).await;
    let make = |code: &'static str, name: &'static str, kind: &'static str, sector: &'static str, parent: String| json!({"code": code, "name": name, "kind": kind, "sector": sector, "parent_id": parent});
    let id = |reply: crate::common::Reply| reply.ok(201)["id"].as_str().unwrap().to_owned();
    let tinh_nhue = id(app
        .post(
            ORGS,
            &app.admin,
            make(
                "TS-TN",
                "Đảng bộ xã Tinh Nhuệ",
                "base_committee",
                "commune",
                district.clone(),
            ),
        )
        .await);
    let thuc_luyen = id(app
        .post(
            ORGS,
            &app.admin,
            make(
                "TS-TL",
                "Đảng bộ xã Thục Luyện",
                "base_committee",
                "commune",
                district.clone(),
            ),
        )
        .await);
    let hospital = id(app
        .post(
            ORGS,
            &app.admin,
            make(
                "TS-BV",
                "Chi bộ Bệnh viện Đa khoa Thanh Sơn",
                "base_cell",
                "public_service_unit",
                district.clone(),
            ),
        )
        .await);
    let cell = id(app
        .post(
            ORGS,
            &app.admin,
            make("TS-TN-K1", "Chi bộ khu Đồng Mới", "cell", "commune", tinh_nhue.clone()),
        )
        .await);
    let elsewhere = id(app
        .post(
            ORGS,
            &app.admin,
            make(
                "YL-TS",
                "Chi bộ Thanh Sơn (Yên Lập)",
                "base_cell",
                "commune",
                other.clone(),
            ),
        )
        .await);
    app.patch(
        &format!("{ORGS}/{thuc_luyen}"),
        &app.admin,
        json!({"dissolved_on": "2025-06-30"}),
    )
    .await
    .ok(200);

    let list = |query: String| {
        let app = &app;
        async move { ids(app.get(&format!("{ORGS}?{query}"), &app.admin).await.ok(200)) }
    };
    assert_eq!(
        list(format!("parent_id={district}")).await,
        vec![tinh_nhue.clone(), thuc_luyen.clone(), hospital.clone()]
    );
    assert_eq!(
        list(format!("under={district}")).await,
        vec![tinh_nhue.clone(), thuc_luyen.clone(), hospital.clone(), cell.clone()]
    );
    assert_eq!(
        list(format!("under={district}&kind=base_cell,cell")).await,
        vec![hospital.clone(), cell.clone()]
    );
    assert_eq!(list("sector=public_service_unit".into()).await, vec![hospital.clone()]);
    assert_eq!(
        list(format!("under={district}&active=false")).await,
        vec![thuc_luyen.clone()]
    );
    assert_eq!(
        list(format!("under={district}&active=true&kind=base_committee")).await,
        vec![tinh_nhue.clone()]
    );
    // Accent- and case-insensitive, on name or code.
    assert_eq!(
        list("q=thanh%20son".into()).await,
        vec![hospital.clone(), elsewhere.clone()]
    );
    assert_eq!(
        list(format!("q=THANH%20SON&under={district}")).await,
        vec![hospital.clone()]
    );
    assert_eq!(list("q=tinh%20nhue".into()).await, vec![tinh_nhue.clone()]);
    assert_eq!(
        list("q=%C4%91ong%20moi".into()).await,
        vec![cell.clone()],
        "đ folds to d"
    );
    assert_eq!(list("q=ts-tl".into()).await, vec![thuc_luyen.clone()]);
    assert_eq!(
        list("q=100%25".into()).await,
        Vec::<String>::new(),
        "% is literal, not a wildcard"
    );
    assert_eq!(
        list(format!("under={}", uuid::Uuid::now_v7())).await,
        Vec::<String>::new()
    );

    let dissolved = app.get(&format!("{ORGS}/{thuc_luyen}"), &app.admin).await;
    assert_eq!(dissolved.ok(200)["active"], false);
}

#[actix_web::test]
async fn the_subtree_filter_uses_the_tree_index() {
    use partybase::resources::organisations::store as model;
    let app = spawn_app().await;
    let root = app.organisation("R", "superior_committee", None).await;
    let big = app.organisation("B", "superior_committee", None).await;
    app.organisation("R-1", "base_cell", Some(&root)).await;
    // A tree where the asked-for subtree is a small part: 5,000 base cells under another root.
    app.db
        .execute(&format!(
            "INSERT INTO organisations (id, code, name, kind, parent_id, path) \
             SELECT gen_random_uuid(), 'B-' || i, 'Chi bộ ' || i, 'base_cell', '{big}', \
                    (SELECT path FROM organisations WHERE code = 'B') || ('n' || i) \
             FROM generate_series(1, 5000) AS i"
        ))
        .await;
    app.db.execute("ANALYZE organisations").await;
    let mut conn = app.db.connect().await;
    let root_path = model::path_of(&mut conn, root.parse().unwrap()).await.unwrap().unwrap();
    // The list's own query, as `GET /organisations?under=R` runs it.
    let filter = model::OrganisationFilter {
        parent_id: None,
        under: Some(root_path),
        kinds: None,
        sector: None,
        active: None,
        q: None,
        scope: None,
        today: partybase::domain::today(),
    };
    let plan = model::explain_list(&mut conn, &filter).await.unwrap();
    assert!(plan.contains("organisations_path_idx"), "{plan}");
}
