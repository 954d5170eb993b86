//! `GET /metrics`: what a Prometheus server scrapes, and who may scrape it.

use actix_web::http::Method;

use crate::common::spawn_app_with;

/// The sample lines of one metric, without comments.
fn samples<'a>(text: &'a str, metric: &str) -> Vec<&'a str> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter(|line| line.starts_with(&format!("{metric}{{")) || line.starts_with(&format!("{metric} ")))
        .collect()
}

#[actix_web::test]
async fn requests_are_counted_by_route_template_never_by_path() {
    let app = spawn_app_with(&[]).await;
    let first = app.organisation("YL", "superior_committee", None).await;
    let second = app.organisation("CL", "superior_committee", None).await;
    for id in [&first, &second] {
        app.get(&format!("/api/v1/organisations/{id}"), &app.admin)
            .await
            .ok(200);
    }
    app.get(&format!("/nowhere/{first}"), &app.admin).await.problem(404);
    app.get(&format!("/also/nowhere/{second}?q=x"), &app.admin)
        .await
        .problem(404);

    let reply = app.call(Method::GET, "/metrics", None, None, &[]).await;
    assert_eq!(reply.status, 200);
    assert!(reply
        .header("content-type")
        .is_some_and(|v| v.starts_with("text/plain; version=0.0.4")));
    let text = String::from_utf8(reply.raw.clone()).unwrap();
    assert!(!text.contains(&first) && !text.contains(&second), "no raw path: {text}");

    // Two ids on one route make one series.
    let requests = samples(&text, "http_requests_total");
    let by_id: Vec<_> = requests
        .iter()
        .filter(|l| l.contains(r#"route="/api/v1/organisations/{id}""#))
        .collect();
    assert_eq!(by_id.len(), 1, "{requests:?}");
    assert!(by_id[0].contains(r#"method="GET""#) && by_id[0].contains(r#"status="200""#));
    assert!(by_id[0].ends_with(" 2"), "{}", by_id[0]);
    // Every route that matched nothing shares one label.
    let unmatched: Vec<_> = requests.iter().filter(|l| l.contains(r#"route="unmatched""#)).collect();
    assert_eq!(unmatched.len(), 1, "{requests:?}");
    assert!(unmatched[0].contains(r#"status="404""#) && unmatched[0].ends_with(" 2"));
    let created: Vec<_> = requests
        .iter()
        .filter(|l| l.contains(r#"method="POST""#) && l.contains(r#"route="/api/v1/organisations""#))
        .collect();
    assert!(created.len() == 1 && created[0].ends_with(" 2"), "{requests:?}");

    // The latency histogram, by route template.
    assert!(text.contains("# TYPE http_request_duration_seconds histogram"));
    let buckets = samples(&text, "http_request_duration_seconds_bucket");
    assert!(buckets
        .iter()
        .any(|l| l.contains(r#"route="/api/v1/organisations/{id}""#)
            && l.contains(r#"le="+Inf""#)
            && l.ends_with(" 2")));
    assert!(
        buckets.iter().all(|l| !l.contains("method=")),
        "the histogram is by route only"
    );

    // The pool and the refusals.
    assert_eq!(
        samples(&text, "db_pool_max_connections"),
        ["db_pool_max_connections 20"]
    );
    for gauge in ["db_pool_connections", "db_pool_connections_in_use", "db_pool_waiting"] {
        assert_eq!(samples(&text, gauge).len(), 1, "{gauge}: {text}");
    }
    assert_eq!(
        samples(&text, "db_pool_connections_in_use"),
        ["db_pool_connections_in_use 0"]
    );
    assert!(text.contains(r#"rate_limit_refusals_total{limit="token"} 0"#), "{text}");
}

#[actix_web::test]
async fn rate_limit_refusals_are_counted_by_the_allowance_that_refused() {
    let app = spawn_app_with(&[("PARTYBASE_RATE_LIMIT", "1")]).await;
    app.get("/api/v1/organisations", &app.admin).await.ok(200);
    app.get("/api/v1/organisations", &app.admin).await.problem(429);
    app.get("/api/v1/organisations", &app.admin).await.problem(429);
    let text = app.call(Method::GET, "/metrics", None, None, &[]).await.raw;
    let text = String::from_utf8(text).unwrap();
    assert!(text.contains(r#"rate_limit_refusals_total{limit="token"} 2"#), "{text}");
    assert!(
        text.contains(r#"rate_limit_refusals_total{limit="address"} 0"#),
        "{text}"
    );
    assert!(text.contains(r#"http_requests_total{method="GET",route="/api/v1/organisations",status="429"} 2"#));
}

#[actix_web::test]
async fn a_metrics_token_when_set_is_required() {
    let app = spawn_app_with(&[("PARTYBASE_METRICS_TOKEN", "scrape-secret")]).await;
    for headers in [
        vec![],
        vec![("authorization", "Bearer wrong")],
        // An API token is not the metrics token.
        vec![("authorization", "Basic c2NyYXBlLXNlY3JldA==")],
    ] {
        let reply = app.call(Method::GET, "/metrics", None, None, &headers).await;
        reply.problem(401);
        assert_eq!(reply.header("www-authenticate"), Some("Bearer"));
        assert_eq!(reply.header("cache-control"), Some("no-store"));
    }
    app.call(Method::GET, "/metrics", Some(&app.admin), None, &[])
        .await
        .problem(401);
    let reply = app
        .call(Method::GET, "/metrics", Some("scrape-secret"), None, &[])
        .await;
    assert_eq!(reply.status, 200);
    assert!(String::from_utf8_lossy(&reply.raw).contains("http_requests_total"));
}

#[actix_web::test]
async fn the_dues_notes_a_report_counts_are_counted() {
    let app = spawn_app_with(&[]).await;
    let scrape = || async {
        let text = String::from_utf8(app.call(Method::GET, "/metrics", None, None, &[]).await.raw).unwrap();
        (
            samples(&text, "dues_members_counted_total").join("\n"),
            samples(&text, "dues_notes_waiting").join("\n"),
        )
    };
    let district = app.organisation("YL", "superior_committee", None).await;
    let cell = app.organisation("YL-01", "base_cell", Some(&district)).await;
    for name in ["Một", "Hai"] {
        let member = serde_json::json!({"full_name": name, "birth_date": "1980-01-01", "organisation_id": cell,
                                        "admitted_on": "2012-01-01"});
        app.post("/api/v1/members", &app.admin, member).await.ok(201);
    }
    // The admissions are noted; nothing counted yet (the tests run no background work, which sets the gauge).
    assert_eq!(
        scrape().await,
        ("dues_members_counted_total 0".into(), "dues_notes_waiting 0".into())
    );
    app.get("/api/v1/reports/dues?year=2012", &app.admin).await.ok(200);
    assert_eq!(scrape().await.0, "dues_members_counted_total 2");
    app.get("/api/v1/reports/dues?year=2012", &app.admin).await.ok(200);
    assert_eq!(scrape().await.0, "dues_members_counted_total 2");
}
