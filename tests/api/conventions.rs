//! The conventions every resource shares (bodies, errors, lists, ETags, media types), checked on organisations.

use actix_web::http::Method;
use actix_web::test::TestRequest;
use serde_json::json;

use crate::common::{request, serve, spawn_app, TestDatabase};

const ORGS: &str = "/api/v1/organisations";

#[actix_web::test]
async fn a_body_that_is_not_json_is_400_and_changes_nothing() {
    let app = spawn_app().await;
    let request = TestRequest::post()
        .uri(ORGS)
        .insert_header(("authorization", format!("Bearer {}", app.admin)))
        .insert_header(("content-type", "application/json"))
        .set_payload("{\"code\": \"A\",");
    app.send(request).await.problem_on(400, "body");
    assert_eq!(app.db.count("SELECT count(*) AS n FROM organisations").await, 0);
}

#[actix_web::test]
async fn json_that_does_not_fit_is_422_naming_the_field() {
    let app = spawn_app().await;
    let cases = [
        (
            json!({"name": "X", "kind": "superior_committee"}),
            "code",
            "is required",
        ),
        (
            json!({"code": "A", "name": "X", "kind": "district"}),
            "kind",
            "unknown variant",
        ),
        (
            json!({"code": 7, "name": "X", "kind": "superior_committee"}),
            "code",
            "invalid type",
        ),
        (
            json!({"code": "A", "name": "X", "kind": "superior_committee", "colour": "red"}),
            "colour",
            "not a field",
        ),
        (
            json!({"code": "A", "name": "X", "kind": "superior_committee", "version": 3}),
            "version",
            "read-only",
        ),
        (
            json!({"code": "A", "name": "X", "kind": "superior_committee", "active": false}),
            "active",
            "read-only",
        ),
        (
            json!({"code": "A", "name": "X", "kind": "superior_committee", "established_on": "2013-02-30"}),
            "established_on",
            "input is out of range",
        ),
    ];
    for (body, field, message) in cases {
        let reply = app.post(ORGS, &app.admin, body.clone()).await;
        let problem = reply.problem_on(422, field);
        assert!(
            problem["errors"][0]["message"].as_str().unwrap().contains(message),
            "{body}: {problem}"
        );
    }
    let reply = app.post(ORGS, &app.admin, json!([1, 2])).await;
    reply.problem_on(422, "body");
    assert_eq!(app.db.count("SELECT count(*) AS n FROM organisations").await, 0);
}

#[actix_web::test]
async fn a_missing_or_foreign_content_type_is_415() {
    let app = spawn_app().await;
    let auth = ("authorization", format!("Bearer {}", app.admin));
    let body = json!({"code": "A", "name": "X", "kind": "superior_committee"}).to_string();
    let plain = TestRequest::post()
        .uri(ORGS)
        .insert_header(auth.clone())
        .insert_header(("content-type", "text/plain"))
        .set_payload(body.clone());
    app.send(plain).await.problem(415);
    let none = TestRequest::post()
        .uri(ORGS)
        .insert_header(auth.clone())
        .set_payload(body.clone());
    app.send(none).await.problem(415);
    let merge = TestRequest::post()
        .uri(ORGS)
        .insert_header(auth)
        .insert_header(("content-type", "application/merge-patch+json"))
        .set_payload(body);
    app.send(merge).await.ok(201);
}

#[actix_web::test]
async fn a_body_over_64_kib_is_413() {
    let app = spawn_app().await;
    let note = "x".repeat(70 * 1024);
    let reply = app
        .post(
            ORGS,
            &app.admin,
            json!({"code": "A", "name": "X", "kind": "superior_committee", "note": note}),
        )
        .await;
    reply.problem(413);
    assert_eq!(app.db.count("SELECT count(*) AS n FROM organisations").await, 0);
}

#[actix_web::test]
async fn unknown_routes_are_404_and_wrong_methods_405_as_problems() {
    let app = spawn_app().await;
    let reply = app.get("/api/v1/nothing-here", &app.admin).await;
    reply.problem(404);
    let reply = app.call(Method::PUT, ORGS, Some(&app.admin), None, &[]).await;
    reply.problem(405);
    assert_eq!(reply.header("allow"), Some("GET, HEAD, POST"));
    let id = app.organisation("A", "superior_committee", None).await;
    let reply = app
        .call(Method::POST, &format!("{ORGS}/{id}"), Some(&app.admin), None, &[])
        .await;
    reply.problem(405);
    assert_eq!(reply.header("allow"), Some("GET, HEAD, PATCH, DELETE"));
}

#[actix_web::test]
async fn a_bad_path_or_query_value_is_400_naming_it() {
    let app = spawn_app().await;
    app.get(&format!("{ORGS}/not-a-uuid"), &app.admin)
        .await
        .problem_on(400, "id");
    app.get(&format!("{ORGS}?limit=0"), &app.admin)
        .await
        .problem_on(400, "limit");
    app.get(&format!("{ORGS}?limit=201"), &app.admin)
        .await
        .problem_on(400, "limit");
    app.get(&format!("{ORGS}?limit=ten"), &app.admin)
        .await
        .problem_on(400, "limit");
    app.get(&format!("{ORGS}?count=approximate"), &app.admin)
        .await
        .problem_on(400, "count");
    app.get(&format!("{ORGS}?cursor=forged"), &app.admin)
        .await
        .problem_on(400, "cursor");
    app.get(&format!("{ORGS}?active=maybe"), &app.admin)
        .await
        .problem_on(400, "active");
    app.get(&format!("{ORGS}?kind=cell,district"), &app.admin)
        .await
        .problem_on(400, "kind");
    app.get(&format!("{ORGS}?parent=x"), &app.admin)
        .await
        .problem_on(400, "parent");
    app.get(&format!("{ORGS}?under=123"), &app.admin)
        .await
        .problem_on(400, "under");
}

#[actix_web::test]
async fn the_request_id_is_echoed_or_made_up() {
    let app = spawn_app().await;
    let reply = app
        .call(Method::GET, "/healthz", None, None, &[("x-request-id", "abc-123")])
        .await;
    assert_eq!(reply.header("x-request-id"), Some("abc-123"));
    let reply = app.call(Method::GET, "/healthz", None, None, &[]).await;
    let made_up = reply.header("x-request-id").unwrap();
    assert!(uuid::Uuid::parse_str(made_up).is_ok());
    let reply = app
        .call(Method::GET, "/healthz", None, None, &[("x-request-id", "has space")])
        .await;
    assert_ne!(reply.header("x-request-id"), Some("has space"));
}

#[actix_web::test]
async fn security_headers_are_on_every_response() {
    let app = spawn_app().await;
    for reply in [
        app.call(Method::GET, "/healthz", None, None, &[]).await,
        app.get(ORGS, &app.admin).await,
        app.get("/nowhere", &app.admin).await,
    ] {
        assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(reply.header("x-frame-options"), Some("DENY"));
        assert_eq!(reply.header("content-security-policy"), Some("frame-ancestors 'none'"));
        assert_eq!(reply.header("referrer-policy"), Some("no-referrer"));
    }
    assert_eq!(
        app.get(ORGS, &app.admin).await.header("cache-control"),
        Some("no-store")
    );
    assert_eq!(app.get(ORGS, "bad").await.header("cache-control"), Some("no-store"));
    // CORS is off unless origins are configured.
    let reply = app
        .call(
            Method::GET,
            ORGS,
            Some(&app.admin),
            None,
            &[("origin", "https://evil.example")],
        )
        .await;
    assert!(reply.header("access-control-allow-origin").is_none());
}

#[actix_web::test]
async fn cors_answers_only_the_configured_origins() {
    let app = crate::common::spawn_app_with(&[("PARTYBASE_CORS_ORIGINS", "https://app.example")]).await;
    let preflight = |origin: &'static str| {
        TestRequest::default()
            .method(Method::OPTIONS)
            .uri(ORGS)
            .insert_header(("origin", origin))
            .insert_header(("access-control-request-method", "GET"))
    };
    let reply = app.send(preflight("https://app.example")).await;
    assert_eq!(reply.header("access-control-allow-origin"), Some("https://app.example"));
    let reply = app.send(preflight("https://evil.example")).await;
    assert!(reply.header("access-control-allow-origin").is_none());
}

#[actix_web::test]
async fn lists_page_by_keyset_with_next_cursor_link_and_total() {
    let app = spawn_app().await;
    let root = app.organisation("ROOT", "superior_committee", None).await;
    let mut created = Vec::new();
    for i in 0..5 {
        created.push(app.organisation(&format!("C{i}"), "base_cell", Some(&root)).await);
    }
    let mut seen = Vec::new();
    let mut path = format!("{ORGS}?parent_id={root}&limit=2&count=exact");
    let mut pages = 0;
    loop {
        let reply = app.get(&path, &app.admin).await;
        let body = reply.ok(200).clone();
        pages += 1;
        assert_eq!(body["total"], 5);
        seen.extend(
            body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["id"].as_str().unwrap().to_owned()),
        );
        match body["next_cursor"].as_str() {
            Some(cursor) => {
                let link = reply.header("link").expect("a Link header with a next page");
                assert!(link.ends_with("rel=\"next\""));
                assert!(link.contains(cursor) && link.contains("limit=2") && link.contains(&root));
                path = link.trim_start_matches('<').split('>').next().unwrap().to_owned();
            }
            None => {
                assert!(reply.header("link").is_none());
                break;
            }
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, created);
    let reply = app.get(&format!("{ORGS}?parent_id={root}"), &app.admin).await;
    assert!(reply.ok(200).get("total").is_none());
}

#[actix_web::test]
async fn nul_characters_are_refused_not_passed_to_the_database() {
    let app = spawn_app().await;
    let body = json!({"code": "A", "name": "Chi bộ\u{0}", "kind": "superior_committee"});
    app.post(ORGS, &app.admin, body).await.problem_on(422, "name");
    app.get(&format!("{ORGS}?q=%00"), &app.admin).await.problem_on(400, "q");
    app.get("/api/v1/members?q=a%00b", &app.admin)
        .await
        .problem_on(400, "q");
    assert_eq!(app.db.count("SELECT count(*) AS n FROM organisations").await, 0);
}

#[actix_web::test]
async fn dates_before_year_one_are_refused_not_passed_to_the_database() {
    let app = spawn_app().await;
    let body = json!({"code": "A", "name": "X", "kind": "superior_committee", "established_on": "-5000-01-01"});
    app.post(ORGS, &app.admin, body).await.problem_on(422, "established_on");
    app.get("/api/v1/members?admitted_from=-5000-01-01", &app.admin)
        .await
        .problem_on(400, "admitted_from");
    app.get("/api/v1/audit-events?from=-5000-01-01T00:00:00Z", &app.admin)
        .await
        .problem_on(400, "from");
    app.get("/api/v1/reports/admissions?from=-5000-01-01&to=2012-01-01", &app.admin)
        .await
        .problem_on(400, "from");
    // Far-future dates are stored as they are.
    let body = json!({"code": "B", "name": "X", "kind": "superior_committee", "dissolved_on": "9999-12-31"});
    app.post(ORGS, &app.admin, body).await.ok(201);
}

#[actix_web::test]
async fn head_is_answered_wherever_get_is_with_no_body() {
    let db = TestDatabase::new().await;
    let served = serve(&db.url, &[]);
    let token = db.issue_token("admin", "admin", None).await;
    let bearer = format!("Bearer {token}");
    let auth = [("Authorization", bearer.as_str())];
    for (path, headers) in [
        ("/healthz", &[][..]),
        ("/readyz", &[][..]),
        ("/docs", &[][..]),
        ("/openapi.json", &[][..]),
        (ORGS, &auth[..]),
        ("/api/v1/reports/evaluations?year=2012", &auth[..]),
    ] {
        let get = request(&served.address, "GET", path, headers, None);
        let head = request(&served.address, "HEAD", path, headers, None);
        assert_eq!(head.status, get.status, "HEAD {path}");
        assert!(head.status < 400, "HEAD {path}: {}", head.status);
        assert!(head.body.is_empty(), "HEAD {path} sent a body");
        assert_eq!(
            head.header("content-length"),
            Some(get.body.len().to_string().as_str()),
            "HEAD {path} states the GET answer's length"
        );
        assert_eq!(head.header("content-type"), get.header("content-type"), "HEAD {path}");
        assert_eq!(head.header("cache-control"), get.header("cache-control"), "HEAD {path}");
    }
}

#[actix_web::test]
async fn documentation_may_be_cached_and_nothing_else() {
    let app = spawn_app().await;
    for path in ["/openapi.json", "/docs", "/swagger-ui/"] {
        let reply = app.call(Method::GET, path, None, None, &[]).await;
        assert!(reply.status.is_success() || reply.status.is_redirection(), "{path}");
        assert_eq!(reply.header("cache-control"), Some("public, max-age=300"), "{path}");
    }
    let organisation = app.organisation("YL", "superior_committee", None).await;
    for (method, path, token) in [
        (Method::GET, "/healthz", None),
        (Method::GET, "/readyz", None),
        (Method::GET, "/metrics", None),
        (Method::GET, ORGS, Some(app.admin.as_str())),
        (
            Method::GET,
            &format!("{ORGS}/{organisation}") as &str,
            Some(app.admin.as_str()),
        ),
        (
            Method::GET,
            "/api/v1/reports/evaluations?year=2012",
            Some(app.admin.as_str()),
        ),
        // Errors: no token, unknown route, wrong method, a missing document under /swagger-ui.
        (Method::GET, ORGS, None),
        (Method::GET, "/nowhere", None),
        (Method::PUT, ORGS, Some(app.admin.as_str())),
        (Method::GET, "/swagger-ui/no-such-file.js", None),
    ] {
        let reply = app.call(method.clone(), path, token, None, &[]).await;
        assert_eq!(
            reply.header("cache-control"),
            Some("no-store"),
            "{method} {path}: {}",
            reply.status
        );
    }
}
