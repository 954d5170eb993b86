//! The access matrix: every operation against no token, a bad token, a revoked token, a viewer, an editor inside
//! and outside its subtree, and an admin; refused writes change nothing.

use actix_web::http::Method;
use diesel_async::SimpleAsyncConnection;
use serde_json::{json, Value};

use crate::common::{spawn_app, spawn_app_with};

const EVALS: &str = "/api/v1/evaluations";

const ORGS: &str = "/api/v1/organisations";

/// The callers of the matrix, in order.
const CALLERS: [&str; 7] = ["none", "bad", "revoked", "viewer", "editor_in", "editor_out", "admin"];

struct World {
    /// Tokens by caller name (`none` has none).
    tokens: Vec<(&'static str, Option<String>)>,
    /// A district (the scope of the viewer and editor), a commune under it and a commune elsewhere.
    district: String,
    inside: String,
    outside: String,
}

async fn world<S, B>(app: &crate::common::TestApp<S>) -> World
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let province = app.organisation("P", "superior_committee", None).await;
    let district = app.organisation("D", "superior_committee", Some(&province)).await;
    let other = app.organisation("O", "superior_committee", Some(&province)).await;
    let inside = app.organisation("D-X", "base_committee", Some(&district)).await;
    let outside = app.organisation("O-X", "base_committee", Some(&other)).await;
    let viewer = app.token("viewer", "viewer", Some(&district)).await;
    let editor = app.token("editor", "editor", Some(&district)).await;
    let revoked = app.token("revoked", "admin", None).await;
    let revoked_token = app.token_id("revoked").await;
    assert_eq!(
        app.delete(&format!("/api/v1/tokens/{revoked_token}"), &app.admin)
            .await
            .status,
        204
    );
    World {
        tokens: vec![
            ("none", None),
            ("bad", Some("pb_not-a-real-token".into())),
            ("revoked", Some(revoked)),
            ("viewer", Some(viewer)),
            ("editor_in", Some(editor.clone())),
            ("editor_out", Some(editor)),
            ("admin", Some(app.admin.clone())),
        ],
        district,
        inside,
        outside,
    }
}

impl World {
    fn token(&self, caller: &str) -> Option<&str> {
        self.tokens.iter().find(|(c, _)| *c == caller).unwrap().1.as_deref()
    }

    /// The organisation a caller acts on: outside the editor's subtree for `editor_out`, inside otherwise.
    fn target(&self, caller: &str) -> &str {
        if caller == "editor_out" {
            &self.outside
        } else {
            &self.inside
        }
    }
}

fn check(caller: &str, operation: &str, reply: &crate::common::Reply, expected: u16) {
    assert_eq!(
        reply.status.as_u16(),
        expected,
        "{operation} by {caller}: expected {expected}, got {} {}",
        reply.status,
        reply.body
    );
    if expected >= 400 {
        assert_eq!(
            reply.header("content-type"),
            Some("application/problem+json"),
            "{operation} by {caller}"
        );
    }
    if expected == 401 {
        assert_eq!(reply.header("www-authenticate"), Some("Bearer"));
    }
}

fn unauthenticated(caller: &str) -> Option<u16> {
    matches!(caller, "none" | "bad" | "revoked").then_some(401)
}

#[actix_web::test]
async fn reading_organisations() {
    let app = spawn_app().await;
    let w = world(&app).await;
    for caller in CALLERS {
        let token = w.token(caller);
        let target = w.target(caller);
        let expected = unauthenticated(caller).unwrap_or(if caller == "editor_out" { 404 } else { 200 });
        let reply = app
            .call(Method::GET, &format!("{ORGS}/{target}"), token, None, &[])
            .await;
        check(caller, "find", &reply, expected);
        let reply = app
            .call(Method::GET, &format!("{ORGS}/{target}/ancestors"), token, None, &[])
            .await;
        check(caller, "ancestors", &reply, expected);

        let reply = app.call(Method::GET, ORGS, token, None, &[]).await;
        check(caller, "list", &reply, unauthenticated(caller).unwrap_or(200));
        if reply.status == 200 {
            let codes: Vec<&str> = reply.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["code"].as_str().unwrap())
                .collect();
            let expected_codes = match caller {
                "admin" => vec!["P", "D", "O", "D-X", "O-X"],
                _ => vec!["D", "D-X"],
            };
            assert_eq!(codes, expected_codes, "{caller} sees only its subtree");
        }
    }
    // Ancestors are cut at the edge of the caller's subtree.
    let reply = app
        .get(&format!("{ORGS}/{}/ancestors", w.inside), w.token("viewer").unwrap())
        .await;
    let codes: Vec<&str> = reply.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, vec!["D"]);
    // An unscoped viewer sees everything.
    let everywhere = app.token("viewer-all", "viewer", None).await;
    let reply = app.get(&format!("{ORGS}/{}", w.outside), &everywhere).await;
    reply.ok(200);
}

async fn snapshot<S, B>(app: &crate::common::TestApp<S>) -> i64
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    app.db
        .count("SELECT coalesce(sum(version), 0)::bigint * 1000 + count(*) AS n FROM organisations")
        .await
}

#[actix_web::test]
async fn writing_organisations() {
    let app = spawn_app().await;
    let w = world(&app).await;
    for (i, caller) in CALLERS.into_iter().enumerate() {
        let token = w.token(caller);
        let target = w.target(caller).to_owned();
        let writer_outcome = |allowed: u16| {
            unauthenticated(caller).unwrap_or(match caller {
                "viewer" => 403,
                "editor_out" => 404,
                _ => allowed,
            })
        };

        // Create: under the target.
        let before = snapshot(&app).await;
        let body = json!({"code": format!("NEW-{i}"), "name": "Chi bộ mới", "kind": "cell", "parent_id": target});
        let reply = app.call(Method::POST, ORGS, token, Some(&body), &[]).await;
        let expected = match caller {
            // The parent is not visible to an editor outside its subtree: it does not exist for it.
            "editor_out" => unauthenticated(caller).unwrap_or(422),
            _ => writer_outcome(201),
        };
        check(caller, "create", &reply, expected);
        if expected != 201 {
            assert_eq!(
                snapshot(&app).await,
                before,
                "refused create by {caller} changed something"
            );
        }

        // Update.
        let before = snapshot(&app).await;
        let body = json!({"note": format!("touched by {caller}")});
        let reply = app
            .call(Method::PATCH, &format!("{ORGS}/{target}"), token, Some(&body), &[])
            .await;
        let expected = writer_outcome(200);
        check(caller, "update", &reply, expected);
        if expected != 200 {
            assert_eq!(
                snapshot(&app).await,
                before,
                "refused update by {caller} changed something"
            );
        }

        // Delete: a fresh leaf made by the admin for each caller.
        let leaf = app.organisation(&format!("LEAF-{i}"), "cell", Some(&target)).await;
        let before = snapshot(&app).await;
        let reply = app
            .call(Method::DELETE, &format!("{ORGS}/{leaf}"), token, None, &[])
            .await;
        let expected = writer_outcome(204);
        check(caller, "delete", &reply, expected);
        if expected != 204 {
            assert_eq!(
                snapshot(&app).await,
                before,
                "refused delete by {caller} changed something"
            );
        }
    }
}

#[actix_web::test]
async fn editors_cannot_make_roots_or_move_things_out_of_their_subtree() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let editor = w.token("editor_in").unwrap();
    let root = json!({"code": "ROOT2", "name": "X", "kind": "superior_committee"});
    app.post(ORGS, editor, root).await.problem(403);
    let move_out = json!({"parent_id": w.outside});
    let inside_cell = app.organisation("D-X-1", "cell", Some(&w.inside)).await;
    app.patch(&format!("{ORGS}/{inside_cell}"), editor, move_out)
        .await
        .problem_on(422, "parent_id");
    // Renaming the scope's own organisation is fine; its parent stays as it is.
    let reply = app
        .patch(&format!("{ORGS}/{}", w.district), editor, json!({"name": "Huyện ủy D"}))
        .await;
    reply.ok(200);
    assert_eq!(
        app.db
            .count("SELECT count(*) AS n FROM organisations WHERE code = 'ROOT2'")
            .await,
        0
    );
}

#[actix_web::test]
async fn tokens_and_audit_are_for_admins_only() {
    let app = spawn_app().await;
    let w = world(&app).await;
    for caller in CALLERS {
        let token = w.token(caller);
        let expected = |ok: u16| unauthenticated(caller).unwrap_or(if caller == "admin" { ok } else { 403 });
        let reply = app.call(Method::GET, "/api/v1/tokens", token, None, &[]).await;
        check(caller, "list tokens", &reply, expected(200));
        let reply = app.call(Method::GET, "/api/v1/audit-events", token, None, &[]).await;
        check(caller, "list audit events", &reply, expected(200));

        let before = app.db.count("SELECT count(*) AS n FROM api_tokens").await;
        let body = json!({"name": format!("made-by-{caller}"), "role": "viewer"});
        let reply = app.call(Method::POST, "/api/v1/tokens", token, Some(&body), &[]).await;
        check(caller, "create token", &reply, expected(201));
        if caller != "admin" {
            assert_eq!(app.db.count("SELECT count(*) AS n FROM api_tokens").await, before);
        }

        app.token(&format!("victim-{caller}"), "viewer", None).await;
        let victim_id = app.token_id(&format!("victim-{caller}")).await;
        let reply = app
            .call(Method::GET, &format!("/api/v1/tokens/{victim_id}"), token, None, &[])
            .await;
        check(caller, "find token", &reply, expected(200));
        let reply = app
            .call(Method::DELETE, &format!("/api/v1/tokens/{victim_id}"), token, None, &[])
            .await;
        check(caller, "revoke token", &reply, expected(204));
        let revoked = app
            .db
            .count(&format!(
                "SELECT count(*) AS n FROM api_tokens WHERE id = '{victim_id}' AND revoked_at IS NOT NULL"
            ))
            .await;
        assert_eq!(revoked, i64::from(caller == "admin"), "revoke by {caller}");
    }
}

#[actix_web::test]
async fn a_revoked_token_is_refused_at_once_on_the_revoking_instance() {
    let app = spawn_app().await;
    let token = app.token("short-lived", "viewer", None).await;
    app.get(ORGS, &token).await.ok(200);
    let id = app.token_id("short-lived").await;
    assert_eq!(
        app.delete(&format!("/api/v1/tokens/{id}"), &app.admin).await.status,
        204
    );
    app.get(ORGS, &token).await.problem(401);
}

#[actix_web::test]
async fn the_authorization_header_must_be_a_bearer_token() {
    let app = spawn_app().await;
    for value in ["Basic YWRtaW46YWRtaW4=", "Bearer", "Bearer ", &app.admin] {
        let reply = app
            .call(Method::GET, ORGS, None, None, &[("authorization", value)])
            .await;
        reply.problem(401);
    }
    let lower = format!("bearer {}", app.admin);
    app.call(Method::GET, ORGS, None, None, &[("authorization", &lower)])
        .await
        .ok(200);
}

#[actix_web::test]
async fn the_rate_limit_answers_429_with_retry_after() {
    let app = crate::common::spawn_app_with(&[("PARTYBASE_RATE_LIMIT", "3")]).await;
    // The admin token is not cached yet: its first request is counted against the address too.
    for remaining in [2, 1, 0] {
        let reply = app.get(ORGS, &app.admin).await;
        reply.ok(200);
        assert_eq!(reply.header("ratelimit-policy"), Some("\"default\";q=3;w=60"));
        let state = reply.header("ratelimit").unwrap();
        assert!(state.starts_with(&format!("\"default\";r={remaining};t=")), "{state}");
    }
    let reply = app.get(ORGS, &app.admin).await;
    reply.problem(429);
    let wait: u64 = reply.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait));
    assert!(reply.header("ratelimit").unwrap().starts_with("\"default\";r=0;t="));
    // Another token has its own allowance; its first request counts against the address.
    let other = app.db.issue_token("other", "viewer", None).await;
    app.get(ORGS, &other).await.ok(200);
    // Requests without a valid token are counted per address, before any database work: two requests of the
    // address's three are spent, so one unknown token gets one answer and is then refused.
    let refused = app.get(ORGS, "pb_wrong").await;
    refused.problem(401);
    assert_eq!(refused.header("ratelimit"), Some("\"default\";r=0;t=60"));
    app.get(ORGS, "pb_wrong").await.problem(429);
    app.get(ORGS, "").await.problem(429);
    // The token's own allowance is not the address's.
    app.get(ORGS, &other).await.ok(200);
}

#[actix_web::test]
async fn unknown_tokens_cost_no_database_work_once_seen_or_past_the_limit() {
    let app = spawn_app_with(&[("PARTYBASE_RATE_LIMIT", "3"), ("PARTYBASE_STATEMENT_TIMEOUT_MS", "300")]).await;
    app.get(ORGS, "pb_made_up").await.problem(401);
    // Another session holds the token table: a lookup would now wait and be cancelled (503).
    let mut holder = app.db.connect().await;
    holder
        .batch_execute("BEGIN; LOCK TABLE api_tokens IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    app.get(ORGS, "pb_made_up").await.problem(401);
    app.get(ORGS, "pb_made_up").await.problem(401);
    // The address has spent its allowance: a new made-up token is refused before any lookup.
    app.get(ORGS, "pb_other_made_up").await.problem(429);
    holder.batch_execute("ROLLBACK").await.unwrap();
}

/// A member inside the viewer's and editor's subtree and one outside it, in cells made for the purpose.
async fn members_world<S, B>(app: &crate::common::TestApp<S>, w: &World) -> (String, String)
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let cell_in = app.organisation("D-X-C", "cell", Some(&w.inside)).await;
    let cell_out = app.organisation("O-X-C", "cell", Some(&w.outside)).await;
    let mut ids = Vec::new();
    for (name, cell) in [("Nguyễn Văn Trong", &cell_in), ("Nguyễn Văn Ngoài", &cell_out)] {
        let body = json!({"full_name": name, "birth_date": "1980-01-01", "organisation_id": cell,
                          "admitted_on": "2010-01-01", "national_id": "001080000001"});
        let body = if cell == &cell_out {
            let mut b = body;
            b["national_id"] = json!("001080000002");
            b
        } else {
            body
        };
        let reply = app.post("/api/v1/members", &app.admin, body).await;
        ids.push(reply.ok(201)["id"].as_str().unwrap().to_owned());
    }
    (ids[0].clone(), ids[1].clone())
}

async fn member_snapshot<S, B>(app: &crate::common::TestApp<S>) -> i64
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    app.db
        .count(
            "SELECT (SELECT coalesce(sum(version), 0) FROM members)::bigint * 1000 \
             + (SELECT count(*) FROM members) * 100 + (SELECT count(*) FROM member_events) AS n",
        )
        .await
}

#[actix_web::test]
async fn reading_members() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let (inside, outside) = members_world(&app, &w).await;
    for caller in CALLERS {
        let token = w.token(caller);
        let target = if caller == "editor_out" { &outside } else { &inside };
        let expected = unauthenticated(caller).unwrap_or(if caller == "editor_out" { 404 } else { 200 });
        let reply = app
            .call(Method::GET, &format!("/api/v1/members/{target}"), token, None, &[])
            .await;
        check(caller, "find member", &reply, expected);
        if reply.status == 200 {
            assert_eq!(reply.body.get("national_id").is_some(), caller != "viewer", "{caller}");
        }
        let reply = app
            .call(
                Method::GET,
                &format!("/api/v1/members/{target}/events"),
                token,
                None,
                &[],
            )
            .await;
        check(caller, "member events", &reply, expected);
        let reply = app.call(Method::GET, "/api/v1/members", token, None, &[]).await;
        check(caller, "list members", &reply, unauthenticated(caller).unwrap_or(200));
        if reply.status == 200 {
            let count = reply.body["items"].as_array().unwrap().len();
            assert_eq!(
                count,
                if caller == "admin" { 2 } else { 1 },
                "{caller} sees only its subtree"
            );
        }
    }
}

#[actix_web::test]
async fn writing_members() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let (inside, outside) = members_world(&app, &w).await;
    let cell_in = app.organisation("D-X-C2", "cell", Some(&w.inside)).await;
    let cell_out = app.organisation("O-X-C2", "cell", Some(&w.outside)).await;
    for (i, caller) in CALLERS.into_iter().enumerate() {
        let token = w.token(caller);
        let (member, cell) = if caller == "editor_out" {
            (&outside, &cell_out)
        } else {
            (&inside, &cell_in)
        };
        let writer = |allowed: u16| {
            unauthenticated(caller).unwrap_or(match caller {
                "viewer" => 403,
                "editor_out" => 404,
                _ => allowed,
            })
        };

        let before = member_snapshot(&app).await;
        let body = json!({"full_name": format!("Người mới {i}"), "birth_date": "1990-01-01",
                          "organisation_id": cell, "admitted_on": "2015-01-01"});
        let reply = app.call(Method::POST, "/api/v1/members", token, Some(&body), &[]).await;
        let expected = if caller == "editor_out" { 422 } else { writer(201) };
        check(caller, "admit", &reply, expected);
        if expected != 201 {
            assert_eq!(
                member_snapshot(&app).await,
                before,
                "refused admission by {caller} changed something"
            );
        }

        let before = member_snapshot(&app).await;
        let body = json!({"note": format!("by {caller}")});
        let reply = app
            .call(
                Method::PATCH,
                &format!("/api/v1/members/{member}"),
                token,
                Some(&body),
                &[],
            )
            .await;
        check(caller, "update member", &reply, writer(200));
        if writer(200) != 200 {
            assert_eq!(
                member_snapshot(&app).await,
                before,
                "refused update by {caller} changed something"
            );
        }

        let before = member_snapshot(&app).await;
        let body = json!({"type": "disciplined", "on": "2012-01-01", "form": "reprimand"});
        let reply = app
            .call(
                Method::POST,
                &format!("/api/v1/members/{member}/events"),
                token,
                Some(&body),
                &[],
            )
            .await;
        check(caller, "member event", &reply, writer(200));
        if writer(200) != 200 {
            assert_eq!(
                member_snapshot(&app).await,
                before,
                "refused event by {caller} changed something"
            );
        }

        let doomed = app
            .post(
                "/api/v1/members",
                &app.admin,
                json!({"full_name": format!("Nhập nhầm {i}"), "birth_date": "1990-01-01",
                       "organisation_id": cell, "admitted_on": "2015-01-01"}),
            )
            .await
            .ok(201)["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let before = member_snapshot(&app).await;
        let reply = app
            .call(Method::DELETE, &format!("/api/v1/members/{doomed}"), token, None, &[])
            .await;
        check(caller, "delete member", &reply, writer(204));
        if writer(204) != 204 {
            assert_eq!(
                member_snapshot(&app).await,
                before,
                "refused delete by {caller} changed something"
            );
        }
    }
    // An editor cannot transfer a member out of its subtree: the receiving cell is not visible to it.
    let editor = w.token("editor_in").unwrap();
    let body = json!({"type": "transferred", "on": "2013-01-01", "to_organisation_id": cell_out, "mode": "permanent"});
    app.post(&format!("/api/v1/members/{inside}/events"), editor, body)
        .await
        .problem_on(422, "to_organisation_id");
}

#[actix_web::test]
async fn resolutions_and_their_implementations() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let other = app
        .get(&format!("{ORGS}/{}/ancestors", w.outside), &app.admin)
        .await
        .ok(200)["items"][1]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut n = 0;
    let mut issue = |issuer: String| {
        n += 1;
        json!({"number": format!("{n}-NQ"), "title": "Nghị quyết", "issuing_organisation_id": issuer,
               "issued_on": "2013-01-15", "field": "other",
               "targets": [{"indicator": "x", "target": 1, "unit": "u"}]})
    };
    for caller in CALLERS {
        let token = w.token(caller);
        let (issuer, implementer) = if caller == "editor_out" {
            (other.clone(), w.outside.clone())
        } else {
            (w.district.clone(), w.inside.clone())
        };
        let hidden = |ok: u16| unauthenticated(caller).unwrap_or(if caller == "editor_out" { 404 } else { ok });
        let writer = |ok: u16| {
            unauthenticated(caller).unwrap_or(match caller {
                "viewer" => 403,
                "editor_out" => 404,
                _ => ok,
            })
        };
        let res = app
            .post("/api/v1/resolutions", &app.admin, issue(issuer.clone()))
            .await
            .ok(201)["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let item = format!("/api/v1/resolutions/{res}");
        let implementations = format!("{item}/implementations");

        for path in [
            item.clone(),
            implementations.clone(),
            format!("/api/v1/reports/resolutions/{res}"),
        ] {
            let reply = app.call(Method::GET, &path, token, None, &[]).await;
            check(caller, &format!("GET {path}"), &reply, hidden(200));
        }
        let reply = app.call(Method::GET, "/api/v1/resolutions", token, None, &[]).await;
        check(
            caller,
            "list resolutions",
            &reply,
            unauthenticated(caller).unwrap_or(200),
        );

        let before = app
            .db
            .count("SELECT count(*) + coalesce(sum(version), 0) AS n FROM resolutions")
            .await;
        let reply = app
            .call(
                Method::POST,
                "/api/v1/resolutions",
                token,
                Some(&issue(issuer.clone())),
                &[],
            )
            .await;
        let expected = if caller == "editor_out" { 422 } else { writer(201) };
        check(
            caller,
            "issue resolution",
            &reply,
            unauthenticated(caller).unwrap_or(expected),
        );
        let reply = app
            .call(Method::PATCH, &item, token, Some(&json!({"summary": caller})), &[])
            .await;
        check(caller, "update resolution", &reply, writer(200));
        if !matches!(caller, "editor_in" | "admin") {
            let after = app
                .db
                .count("SELECT count(*) + coalesce(sum(version), 0) AS n FROM resolutions")
                .await;
            assert_eq!(after, before, "refused resolution writes by {caller} changed something");
        }

        let body = json!({"organisation_id": implementer});
        let reply = app.call(Method::POST, &implementations, token, Some(&body), &[]).await;
        check(caller, "create implementation", &reply, writer(201));
        if reply.status != 201 {
            app.post(&implementations, &app.admin, body).await.ok(201);
        }
        let one = format!("{implementations}/{implementer}");
        let reply = app.call(Method::GET, &one, token, None, &[]).await;
        check(caller, "find implementation", &reply, hidden(200));
        let reply = app
            .call(Method::PATCH, &one, token, Some(&json!({"status": "in_progress"})), &[])
            .await;
        check(caller, "update implementation", &reply, writer(200));
        let reply = app.call(Method::DELETE, &one, token, None, &[]).await;
        check(caller, "delete implementation", &reply, writer(204));
        if reply.status != 204 {
            assert_eq!(
                app.db
                    .count(&format!(
                        "SELECT count(*) AS n FROM resolution_implementations WHERE resolution_id = '{res}'"
                    ))
                    .await,
                1,
                "refused delete by {caller}"
            );
            app.delete(&one, &app.admin).await;
        }
        let reply = app.call(Method::DELETE, &item, token, None, &[]).await;
        check(caller, "delete resolution", &reply, writer(204));
    }
}

#[actix_web::test]
async fn evaluations_reports_and_rating_schemes() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let (inside_member, outside_member) = members_world(&app, &w).await;
    for (i, caller) in CALLERS.into_iter().enumerate() {
        let token = w.token(caller);
        let target = w.target(caller).to_owned();
        let member = if caller == "editor_out" {
            &outside_member
        } else {
            &inside_member
        };
        let hidden = |ok: u16| unauthenticated(caller).unwrap_or(if caller == "editor_out" { 404 } else { ok });
        let writer = |ok: u16| {
            unauthenticated(caller).unwrap_or(match caller {
                "viewer" => 403,
                "editor_out" => 404,
                _ => ok,
            })
        };
        let year = 2011 + i as i32;
        let evaluation = app
            .post(
                "/api/v1/evaluations",
                &app.admin,
                json!({"organisation_id": target, "year": year, "grade": "clean_strong"}),
            )
            .await
            .ok(201)["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let member_evaluation = app
            .post(
                "/api/v1/member-evaluations",
                &app.admin,
                json!({"member_id": member, "year": year, "grade": "good"}),
            )
            .await
            .ok(201)["id"]
            .as_str()
            .unwrap()
            .to_owned();

        for path in [
            format!("/api/v1/evaluations/{evaluation}"),
            format!("/api/v1/member-evaluations/{member_evaluation}"),
        ] {
            check(
                caller,
                &format!("GET {path}"),
                &app.call(Method::GET, &path, token, None, &[]).await,
                hidden(200),
            );
        }
        let everyone = unauthenticated(caller).unwrap_or(200);
        for path in [
            "/api/v1/evaluations".to_owned(),
            "/api/v1/member-evaluations".to_owned(),
            "/api/v1/rating-schemes".to_owned(),
            "/api/v1/reports/evaluations?year=2012".to_owned(),
            "/api/v1/reports/member-evaluations?year=2012".to_owned(),
            "/api/v1/reports/admissions?from=2012-01-01&to=2012-12-31".to_owned(),
            "/api/v1/reports/political-theory".to_owned(),
        ] {
            check(
                caller,
                &format!("GET {path}"),
                &app.call(Method::GET, &path, token, None, &[]).await,
                everyone,
            );
        }
        for path in [
            format!("/api/v1/reports/evaluations?year=2012&organisation_id={target}"),
            format!("/api/v1/reports/political-theory?organisation_id={target}"),
        ] {
            check(
                caller,
                &format!("GET {path}"),
                &app.call(Method::GET, &path, token, None, &[]).await,
                hidden(200),
            );
        }
        let listed = app.call(Method::GET, "/api/v1/evaluations", token, None, &[]).await;
        if listed.status == 200 {
            let organisations: Vec<&str> = listed.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["organisation_id"].as_str().unwrap())
                .collect();
            // This round's evaluation, inside the scope, is listed; the one outside only for the admin.
            assert!(organisations.contains(&w.inside.as_str()), "{caller}");
            if caller == "admin" {
                assert!(organisations.contains(&w.outside.as_str()));
            } else {
                assert!(
                    organisations.iter().all(|o| *o == w.inside),
                    "{caller} sees only its subtree"
                );
            }
        }

        let before = app
            .db
            .count(
                "SELECT (SELECT count(*) + coalesce(sum(version), 0) FROM evaluations) \
                    + (SELECT count(*) + coalesce(sum(version), 0) FROM member_evaluations) AS n",
            )
            .await;
        let body = json!({"organisation_id": target, "year": year + 7, "grade": "good"});
        let reply = app
            .call(Method::POST, "/api/v1/evaluations", token, Some(&body), &[])
            .await;
        let create = if caller == "editor_out" {
            unauthenticated(caller).unwrap_or(422)
        } else {
            writer(201)
        };
        check(caller, "create evaluation", &reply, create);
        let body = json!({"member_id": member, "year": year + 7, "grade": "good"});
        let reply = app
            .call(Method::POST, "/api/v1/member-evaluations", token, Some(&body), &[])
            .await;
        check(caller, "create member evaluation", &reply, create);
        for path in [
            format!("/api/v1/evaluations/{evaluation}"),
            format!("/api/v1/member-evaluations/{member_evaluation}"),
        ] {
            let reply = app
                .call(Method::PATCH, &path, token, Some(&json!({"note": caller})), &[])
                .await;
            check(caller, &format!("PATCH {path}"), &reply, writer(200));
            let reply = app.call(Method::DELETE, &path, token, None, &[]).await;
            check(caller, &format!("DELETE {path}"), &reply, writer(204));
        }
        if !matches!(caller, "editor_in" | "admin") {
            let after = app
                .db
                .count(
                    "SELECT (SELECT count(*) + coalesce(sum(version), 0) FROM evaluations) \
                        + (SELECT count(*) + coalesce(sum(version), 0) FROM member_evaluations) AS n",
                )
                .await;
            assert_eq!(after, before, "refused evaluation writes by {caller} changed something");
        }
    }
}

// The committee above decides about an organisation: the organisation's own token is the extra caller here.

#[actix_web::test]
async fn an_organisations_own_token_cannot_regrade_or_remove_its_evaluation() {
    let app = spawn_app().await;
    let district = app.organisation("TS", "superior_committee", None).await;
    let commune = app.organisation("TS-A", "base_committee", Some(&district)).await;
    let graded = app
        .post(
            EVALS,
            &app.admin,
            json!({"organisation_id": commune, "year": 2024, "grade": "completed"}),
        )
        .await;
    let path = format!("{EVALS}/{}", graded.ok(201)["id"].as_str().unwrap());
    let own = app.token("commune", "editor", Some(&commune)).await;

    app.patch(&path, &own, json!({"grade": "excellent"})).await.problem(403);
    app.delete(&path, &own).await.problem(403);
    let stored = app.get(&path, &app.admin).await;
    assert_eq!(stored.ok(200)["grade"], "completed");
    assert_eq!(stored.body["version"], 1);

    // The committee above still decides.
    let above = app.token("district", "editor", Some(&district)).await;
    app.patch(&path, &above, json!({"grade": "excellent"})).await.ok(200);
    assert_eq!(app.delete(&path, &above).await.status, 204);
}

#[actix_web::test]
async fn an_organisations_own_token_changes_its_description_but_not_its_place() {
    let app = spawn_app().await;
    let district = app.organisation("TS", "superior_committee", None).await;
    let other = app.organisation("TS-B", "base_committee", Some(&district)).await;
    let commune = app.organisation("TS-A", "base_committee", Some(&district)).await;
    let cell = app.organisation("TS-A-1", "cell", Some(&commune)).await;
    let own = app.token("commune", "editor", Some(&commune)).await;
    let path = format!("{ORGS}/{commune}");

    for change in [
        json!({"kind": "base_cell"}),
        json!({"parent_id": other}),
        json!({"dissolved_on": "2025-07-01"}),
        json!({"established_on": "2025-01-01"}),
        json!({"code": "TS-OWN"}),
        json!({"sector": "commune"}),
    ] {
        app.patch(&path, &own, change.clone()).await.problem(403);
    }
    app.delete(&path, &own).await.problem(403);
    let stored = app.get(&path, &app.admin).await;
    assert_eq!(stored.ok(200)["version"], 1);
    assert_eq!(stored.body["kind"], "base_committee");
    assert_eq!(stored.body["dissolved_on"], Value::Null);

    let renamed = app
        .patch(
            &path,
            &own,
            json!({"name": "Đảng bộ xã Tinh Nhuệ", "address": "Tinh Nhuệ", "note": "x"}),
        )
        .await;
    assert_eq!(renamed.ok(200)["name"], "Đảng bộ xã Tinh Nhuệ");
    // What lies below it, it decides about.
    let below = format!("{ORGS}/{cell}");
    app.patch(&below, &own, json!({"dissolved_on": "2025-07-01"}))
        .await
        .ok(200);
}

#[actix_web::test]
async fn the_tree_through_time_and_reorganisations() {
    const REORGS: &str = "/api/v1/reorganisations";
    let app = spawn_app().await;
    let w = world(&app).await;
    let stored = "SELECT (SELECT count(*) FROM reorganisations) * 1000000 \
                  + (SELECT coalesce(sum(version), 0) FROM organisations) AS n";
    for (i, caller) in CALLERS.into_iter().enumerate() {
        let token = w.token(caller);
        let target = w.target(caller).to_owned();
        let read = unauthenticated(caller).unwrap_or(if caller == "editor_out" { 404 } else { 200 });
        for path in [
            format!("{ORGS}/{target}?as_of=2024-12-31"),
            format!("{ORGS}/{target}/ancestors?as_of=2024-12-31"),
            format!("{ORGS}/{target}/history"),
        ] {
            let reply = app.call(Method::GET, &path, token, None, &[]).await;
            check(caller, &path, &reply, read);
        }
        let reply = app
            .call(Method::GET, &format!("{ORGS}?as_of=2024-12-31"), token, None, &[])
            .await;
        check(caller, "list as of", &reply, unauthenticated(caller).unwrap_or(200));
        let reply = app.call(Method::GET, REORGS, token, None, &[]).await;
        check(
            caller,
            "list reorganisations",
            &reply,
            unauthenticated(caller).unwrap_or(200),
        );

        // A reorganisation that creates a cell under the target: the editor decides inside its subtree only.
        let before = app.db.count(stored).await;
        let body = json!({"decision_number": format!("{i}-QĐ"), "decided_on": "2025-06-20",
                          "effective_on": "2025-07-01",
                          "create": [{"code": format!("R-{i}"), "name": "Chi bộ mới", "kind": "cell",
                                      "parent_id": target}]});
        let reply = app.call(Method::POST, REORGS, token, Some(&body), &[]).await;
        let expected = unauthenticated(caller).unwrap_or(match caller {
            "viewer" => 403,
            "editor_out" => 422,
            _ => 201,
        });
        check(caller, "create reorganisation", &reply, expected);
        if expected != 201 {
            assert_eq!(
                app.db.count(stored).await,
                before,
                "refused reorganisation by {caller} changed something"
            );
            continue;
        }
        let id = reply.body["id"].as_str().unwrap().to_owned();
        // It named only organisations of the district, which every scoped caller's subtree holds.
        for reader in CALLERS {
            let reply = app
                .call(Method::GET, &format!("{REORGS}/{id}"), w.token(reader), None, &[])
                .await;
            check(
                reader,
                "find reorganisation",
                &reply,
                unauthenticated(reader).unwrap_or(200),
            );
        }
    }
}

#[actix_web::test]
async fn the_change_feed_and_webhooks() {
    let app = spawn_app_with(&[("PARTYBASE_WEBHOOK_ALLOWED_HOSTS", "127.0.0.1")]).await;
    let w = world(&app).await;
    let hook = app
        .post(
            "/api/v1/webhooks",
            &app.admin,
            json!({"url": "http://127.0.0.1:9/hook"}),
        )
        .await;
    let hook = hook.ok(201)["id"].as_str().unwrap().to_owned();
    app.organisation("D-X-C", "cell", Some(&w.inside)).await;
    // The numbering offers the new cell to the subscription: a delivery exists to retry.
    app.get("/api/v1/changes", &app.admin).await.ok(200);
    let delivery = app
        .get(&format!("/api/v1/webhooks/{hook}/deliveries"), &app.admin)
        .await;
    let delivery = delivery.ok(200)["items"][0]["id"].as_str().unwrap().to_owned();
    let stored = "SELECT count(*) + coalesce(sum(version), 0) AS n FROM webhooks";

    for caller in CALLERS {
        let token = w.token(caller);
        // Everyone with a token follows the feed; scoped tokens see their subtree only.
        let reply = app
            .call(Method::GET, "/api/v1/changes?limit=200", token, None, &[])
            .await;
        check(caller, "follow changes", &reply, unauthenticated(caller).unwrap_or(200));
        if reply.status == 200 && caller != "admin" {
            let ids: Vec<&str> = reply.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|e| e["organisation_id"].as_str())
                .collect();
            assert!(!ids.contains(&w.outside.as_str()), "{caller} saw outside its subtree");
            assert!(ids.contains(&w.inside.as_str()), "{caller} sees its subtree");
        }

        // Webhooks are for admins only; refused calls change nothing.
        let expected = unauthenticated(caller).unwrap_or(if caller == "admin" { 200 } else { 403 });
        let before = app.db.count(stored).await;
        let operations: [(Method, String, Option<Value>, u16); 7] = [
            (Method::GET, "/api/v1/webhooks".into(), None, 200),
            (Method::GET, format!("/api/v1/webhooks/{hook}"), None, 200),
            (Method::GET, format!("/api/v1/webhooks/{hook}/deliveries"), None, 200),
            (
                Method::PATCH,
                format!("/api/v1/webhooks/{hook}"),
                Some(json!({"active": caller != "admin"})),
                200,
            ),
            (
                Method::POST,
                format!("/api/v1/webhooks/{hook}/deliveries/{delivery}/retry"),
                None,
                202,
            ),
            (
                Method::POST,
                "/api/v1/webhooks".into(),
                Some(json!({"url": "http://127.0.0.1:9/other"})),
                201,
            ),
            (Method::DELETE, format!("/api/v1/webhooks/{hook}-missing"), None, 400),
        ];
        for (method, path, body, admin_status) in operations {
            let reply = app.call(method.clone(), &path, token, body.as_ref(), &[]).await;
            let want = if expected == 200 { admin_status } else { expected };
            // A malformed id is refused as such whoever asks.
            let want = if admin_status == 400 && want != 401 { 400 } else { want };
            check(caller, &format!("{method} {path}"), &reply, want);
        }
        if caller != "admin" {
            assert_eq!(app.db.count(stored).await, before, "{caller} changed a webhook");
        }
    }
    let other = app.get("/api/v1/webhooks", &app.admin).await;
    let other = other.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["id"] != hook.as_str())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.delete(&format!("/api/v1/webhooks/{other}"), &w.tokens[3].1.clone().unwrap())
            .await
            .status,
        403
    );
    assert_eq!(
        app.delete(&format!("/api/v1/webhooks/{other}"), &app.admin)
            .await
            .status,
        204
    );
}

async fn candidate_snapshot<S, B>(app: &crate::common::TestApp<S>) -> i64
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    app.db
        .count(
            "SELECT (SELECT coalesce(sum(version), 0) FROM candidates)::bigint * 1000 \
             + (SELECT count(*) FROM candidates) * 100 + (SELECT count(*) FROM candidate_steps) AS n",
        )
        .await
}

#[actix_web::test]
async fn candidates_their_steps_and_report() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let cell_in = app.organisation("D-X-C", "cell", Some(&w.inside)).await;
    let cell_out = app.organisation("O-X-C", "cell", Some(&w.outside)).await;
    for (i, caller) in CALLERS.into_iter().enumerate() {
        let token = w.token(caller);
        let cell = if caller == "editor_out" { &cell_out } else { &cell_in };
        let body = json!({"full_name": format!("Ứng viên {i}"), "birth_date": "1990-01-01",
                          "organisation_id": cell, "proposed_on": "2012-01-09", "national_id": "001090000001"});
        let candidate = app.post("/api/v1/candidates", &app.admin, body.clone()).await.ok(201)["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let reader = unauthenticated(caller).unwrap_or(if caller == "editor_out" { 404 } else { 200 });
        let writer = |allowed: u16| {
            unauthenticated(caller).unwrap_or(match caller {
                "viewer" => 403,
                "editor_out" => 404,
                _ => allowed,
            })
        };

        let reply = app
            .call(
                Method::GET,
                &format!("/api/v1/candidates/{candidate}"),
                token,
                None,
                &[],
            )
            .await;
        check(caller, "find candidate", &reply, reader);
        if reply.status == 200 {
            assert_eq!(reply.body.get("national_id").is_some(), caller != "viewer", "{caller}");
        }
        let steps = format!("/api/v1/candidates/{candidate}/steps");
        let reply = app.call(Method::GET, &steps, token, None, &[]).await;
        check(caller, "candidate steps", &reply, reader);
        let reply = app.call(Method::GET, "/api/v1/candidates", token, None, &[]).await;
        check(
            caller,
            "list candidates",
            &reply,
            unauthenticated(caller).unwrap_or(200),
        );
        if reply.status == 200 {
            let items = reply.body["items"].as_array().unwrap();
            let outside = items
                .iter()
                .filter(|c| c["organisation_id"] == cell_out.as_str())
                .count();
            assert_eq!(outside > 0, caller == "admin", "{caller} sees only its subtree");
        }
        let reply = app
            .call(Method::GET, "/api/v1/reports/candidates", token, None, &[])
            .await;
        check(
            caller,
            "candidates report",
            &reply,
            unauthenticated(caller).unwrap_or(200),
        );

        let before = candidate_snapshot(&app).await;
        let reply = app
            .call(Method::POST, "/api/v1/candidates", token, Some(&body), &[])
            .await;
        let expected = if caller == "editor_out" { 422 } else { writer(201) };
        check(caller, "propose candidate", &reply, expected);
        if expected != 201 {
            assert_eq!(
                candidate_snapshot(&app).await,
                before,
                "refused proposal by {caller} changed something"
            );
        }

        let before = candidate_snapshot(&app).await;
        let step = json!({"type": "course_completed", "on": "2012-01-16", "certificate_number": "CN-1"});
        let reply = app.call(Method::POST, &steps, token, Some(&step), &[]).await;
        check(caller, "candidate step", &reply, writer(200));
        if writer(200) != 200 {
            assert_eq!(
                candidate_snapshot(&app).await,
                before,
                "refused step by {caller} changed something"
            );
        }
    }
}

#[actix_web::test]
async fn dues_and_their_report() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let (inside, outside) = members_world(&app, &w).await;
    let snapshot = || {
        app.db
            .count("SELECT coalesce(sum(version), 0)::bigint * 100 + count(*) AS n FROM dues")
    };
    for (i, caller) in CALLERS.into_iter().enumerate() {
        let token = w.token(caller);
        let member = if caller == "editor_out" { &outside } else { &inside };
        let month = format!("2012-{:02}", i + 1);
        let body = json!({"member_id": member, "period": month, "amount": 20000, "paid_on": "2012-12-01"});
        let due = app.post("/api/v1/dues", &app.admin, body).await.ok(201)["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let reader = unauthenticated(caller).unwrap_or(if caller == "editor_out" { 404 } else { 200 });
        let writer = |allowed: u16| {
            unauthenticated(caller).unwrap_or(match caller {
                "viewer" => 403,
                "editor_out" => 404,
                _ => allowed,
            })
        };
        let path = format!("/api/v1/dues/{due}");
        let reply = app.call(Method::GET, &path, token, None, &[]).await;
        check(caller, "find due", &reply, reader);
        let dues_of = format!("/api/v1/members/{member}/dues");
        let reply = app.call(Method::GET, &dues_of, token, None, &[]).await;
        check(caller, "member dues", &reply, reader);
        let reply = app.call(Method::GET, "/api/v1/dues", token, None, &[]).await;
        check(caller, "list dues", &reply, unauthenticated(caller).unwrap_or(200));
        if reply.status == 200 {
            let items = reply.body["items"].as_array().unwrap();
            let foreign = items.iter().filter(|d| d["member_id"] == outside.as_str()).count();
            assert_eq!(foreign > 0, caller == "admin", "{caller} sees only its subtree");
        }
        let reply = app
            .call(Method::GET, "/api/v1/reports/dues?year=2012", token, None, &[])
            .await;
        check(caller, "dues report", &reply, unauthenticated(caller).unwrap_or(200));

        let before = snapshot().await;
        let body = json!({"member_id": member, "period": "2013-01", "amount": 20000, "paid_on": "2013-01-20"});
        let reply = app.call(Method::POST, "/api/v1/dues", token, Some(&body), &[]).await;
        let expected = if caller == "editor_out" { 422 } else { writer(201) };
        check(caller, "record due", &reply, expected);
        if expected == 201 {
            let id = reply.body["id"].as_str().unwrap();
            assert_eq!(app.delete(&format!("/api/v1/dues/{id}"), &app.admin).await.status, 204);
        } else {
            assert_eq!(
                snapshot().await,
                before,
                "refused payment by {caller} changed something"
            );
        }

        let before = snapshot().await;
        let reply = app
            .call(Method::PATCH, &path, token, Some(&json!({"note": "by hand"})), &[])
            .await;
        check(caller, "update due", &reply, writer(200));
        if writer(200) != 200 {
            assert_eq!(snapshot().await, before, "refused update by {caller} changed something");
        }
        let before = snapshot().await;
        let reply = app.call(Method::DELETE, &path, token, None, &[]).await;
        check(caller, "delete due", &reply, writer(204));
        if writer(204) != 204 {
            assert_eq!(snapshot().await, before, "refused delete by {caller} changed something");
        }
    }
}

#[actix_web::test]
async fn meetings_and_their_report() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let (inside, outside) = members_world(&app, &w).await;
    let cells: Vec<String> = app.get("/api/v1/organisations?kind=cell", &app.admin).await.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .collect();
    let cell_of = |member: &str| {
        if member == inside {
            cells[0].clone()
        } else {
            cells[1].clone()
        }
    };
    let snapshot = || {
        app.db
            .count("SELECT (SELECT count(*) FROM meetings) * 1000 + (SELECT count(*) FROM meeting_attendance) AS n")
    };
    for caller in CALLERS {
        let token = w.token(caller);
        let member = if caller == "editor_out" { &outside } else { &inside };
        let body = json!({"organisation_id": cell_of(member), "held_on": "2012-05-05", "kind": "regular",
                          "attendance": [{"member_id": member, "status": "present"}]});
        let meeting = app.post("/api/v1/meetings", &app.admin, body.clone()).await.ok(201)["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let reader = unauthenticated(caller).unwrap_or(if caller == "editor_out" { 404 } else { 200 });
        let reply = app
            .call(Method::GET, &format!("/api/v1/meetings/{meeting}"), token, None, &[])
            .await;
        check(caller, "find meeting", &reply, reader);
        let reply = app.call(Method::GET, "/api/v1/meetings", token, None, &[]).await;
        check(caller, "list meetings", &reply, unauthenticated(caller).unwrap_or(200));
        if reply.status == 200 {
            let items = reply.body["items"].as_array().unwrap();
            let foreign = items
                .iter()
                .filter(|m| m["organisation_id"] == cells[1].as_str())
                .count();
            assert_eq!(foreign > 0, caller == "admin", "{caller} sees only its subtree");
        }
        let reply = app
            .call(Method::GET, "/api/v1/reports/meetings?year=2012", token, None, &[])
            .await;
        check(
            caller,
            "meetings report",
            &reply,
            unauthenticated(caller).unwrap_or(200),
        );

        let before = snapshot().await;
        let reply = app
            .call(Method::POST, "/api/v1/meetings", token, Some(&body), &[])
            .await;
        let expected = unauthenticated(caller).unwrap_or(match caller {
            "viewer" => 403,
            "editor_out" => 422,
            _ => 201,
        });
        check(caller, "record meeting", &reply, expected);
        if expected != 201 {
            assert_eq!(
                snapshot().await,
                before,
                "refused meeting by {caller} changed something"
            );
        }
    }
}
