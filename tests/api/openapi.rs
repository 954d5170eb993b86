use actix_web::http::Method;
use serde_json::Value;

use crate::common::spawn_app;

const COMMITTED: &str = include_str!("../../openapi/openapi.json");

#[actix_web::test]
async fn the_served_document_is_the_committed_one() {
    let app = spawn_app().await;
    let reply = app.call(Method::GET, "/openapi.json", None, None, &[]).await;
    let served = reply.ok(200).clone();
    let committed: Value = serde_json::from_str(COMMITTED).expect("openapi/openapi.json is JSON");
    assert!(
        served == committed,
        "openapi/openapi.json is out of date: regenerate it with `cargo run -- openapi > openapi/openapi.json`"
    );
    assert_eq!(served["openapi"], "3.1.0");
}

#[actix_web::test]
async fn every_operation_is_documented_for_client_generators() {
    let doc: Value = serde_json::from_str(COMMITTED).unwrap();
    let mut operation_ids = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let name = format!("{method} {path}");
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{name}: no operationId"));
            operation_ids.push(id.to_owned());
            assert!(op["tags"].as_array().is_some_and(|t| !t.is_empty()), "{name}: no tag");
            assert!(
                op["summary"].as_str().is_some_and(|s| !s.is_empty()),
                "{name}: no summary"
            );
            let responses = op["responses"].as_object().unwrap();
            if path.starts_with("/api/v1") {
                assert_eq!(
                    op["security"],
                    serde_json::json!([{"bearer": []}]),
                    "{name}: no bearer security"
                );
                for status in ["401", "429"] {
                    assert!(responses.contains_key(status), "{name}: {status} undocumented");
                }
                if method != "get" {
                    assert!(responses.contains_key("403"), "{name}: 403 undocumented");
                }
            }
        }
    }
    // Every reference resolves, or generated clients break.
    let text = COMMITTED.to_owned();
    for (start, _) in text.match_indices("\"$ref\": \"#/components/") {
        let reference = &text[start + 9..];
        let reference = &reference[..reference.find('"').unwrap()];
        let mut parts = reference.trim_start_matches("#/components/").split('/');
        let (kind, name) = (parts.next().unwrap(), parts.next().unwrap());
        assert!(doc["components"][kind].get(name).is_some(), "unresolved {reference}");
    }
    let unique: std::collections::BTreeSet<_> = operation_ids.iter().collect();
    assert_eq!(unique.len(), operation_ids.len(), "operation ids are unique");
    assert!(operation_ids.contains(&"list_organisations".to_owned()));
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
}

#[actix_web::test]
async fn swagger_ui_is_served_offline() {
    let app = spawn_app().await;
    let reply = app.call(Method::GET, "/docs", None, None, &[]).await;
    assert_eq!(reply.status, 302);
    assert_eq!(reply.header("location"), Some("/swagger-ui/"));
    let reply = app.call(Method::GET, "/swagger-ui/", None, None, &[]).await;
    assert_eq!(reply.status, 200);
    let page = String::from_utf8(reply.raw).unwrap();
    assert!(page.contains("swagger-ui"));
    assert!(!page.contains("https://"), "no assets from the network");
    let reply = app
        .call(Method::GET, "/swagger-ui/swagger-ui-bundle.js", None, None, &[])
        .await;
    assert_eq!(reply.status, 200);
}
