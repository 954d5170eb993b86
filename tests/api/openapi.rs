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

/// Every schema object in `value`, with its JSON path.
fn schemas<'a>(value: &'a Value, path: String, out: &mut Vec<(String, &'a Value)>) {
    match value {
        Value::Object(map) => {
            if map.contains_key("type") {
                out.push((path.clone(), value));
            }
            for (key, child) in map {
                schemas(child, format!("{path}/{key}"), out);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                schemas(child, format!("{path}/{i}"), out);
            }
        }
        _ => {}
    }
}

fn has_type(schema: &Value, name: &str) -> bool {
    match &schema["type"] {
        Value::String(t) => t == name,
        Value::Array(types) => types.iter().any(|t| t == name),
        _ => false,
    }
}

#[actix_web::test]
async fn list_pages_refer_to_their_item_schema() {
    let doc: Value = serde_json::from_str(COMMITTED).unwrap();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let pages: Vec<_> = schemas.keys().filter(|name| name.starts_with("Page_")).collect();
    assert!(pages.len() >= 9, "{pages:?}");
    for name in pages {
        let item = name.trim_start_matches("Page_");
        assert_eq!(
            schemas[name]["properties"]["items"]["items"],
            serde_json::json!({"$ref": format!("#/components/schemas/{item}")}),
            "{name} copies its item schema"
        );
        assert_eq!(schemas[name]["properties"]["items"]["maxItems"], 200, "{name}");
    }
}

#[actix_web::test]
async fn update_schemas_never_make_a_required_field_nullable() {
    let doc: Value = serde_json::from_str(COMMITTED).unwrap();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let nullable = |schema: &Value| {
        has_type(schema, "null")
            || schema["oneOf"]
                .as_array()
                .is_some_and(|variants| variants.iter().any(|v| v["type"] == "null"))
    };
    let mut checked = 0;
    for (name, update) in schemas.iter().filter(|(name, _)| name.starts_with("Update")) {
        let create = &schemas[&name.replace("Update", "Create")];
        for field in create["required"].as_array().into_iter().flatten() {
            let field = field.as_str().unwrap();
            let Some(property) = update["properties"].get(field) else {
                continue;
            };
            assert!(
                !nullable(property),
                "{name}.{field} is required on creation but nullable in a patch"
            );
            checked += 1;
        }
    }
    assert!(checked >= 12, "only {checked} fields checked");
    // The fields the issue named, and that null still clears an optional field.
    for (schema, field) in [
        ("UpdateOrganisation", "code"),
        ("UpdateOrganisation", "kind"),
        ("UpdateMember", "full_name"),
        ("UpdateResolution", "number"),
        ("UpdateResolution", "title"),
        ("UpdateEvaluation", "exemplary"),
    ] {
        assert!(!nullable(&schemas[schema]["properties"][field]), "{schema}.{field}");
    }
    assert!(nullable(&schemas["UpdateOrganisation"]["properties"]["note"]));
}

#[actix_web::test]
async fn reports_declare_csv_as_a_response_media_type_not_an_accept_parameter() {
    let doc: Value = serde_json::from_str(COMMITTED).unwrap();
    let mut reports = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for parameter in op["parameters"].as_array().into_iter().flatten() {
                assert_ne!(
                    parameter["name"].as_str().map(str::to_ascii_lowercase).as_deref(),
                    Some("accept"),
                    "{method} {path} declares Accept as a parameter"
                );
            }
            if path.starts_with("/api/v1/reports/") {
                reports += 1;
                let content = &op["responses"]["200"]["content"];
                assert!(content.get("text/csv").is_some(), "{path}: no text/csv");
                assert!(content.get("application/json").is_some(), "{path}: no application/json");
            }
        }
    }
    assert_eq!(reports, 8);
}

#[actix_web::test]
async fn operations_have_a_short_summary_and_a_description() {
    let doc: Value = serde_json::from_str(COMMITTED).unwrap();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let summary = op["summary"].as_str().unwrap_or_default();
            assert!(
                !summary.is_empty() && summary.chars().count() <= 80,
                "{method} {path}: summary of {} characters",
                summary.chars().count()
            );
            assert!(
                !summary.contains(['`', '*', '[', '\n']),
                "{method} {path}: markdown in the summary"
            );
            assert!(
                op["description"].as_str().is_some_and(|d| d.len() > summary.len()),
                "{method} {path}: no description"
            );
        }
    }
}

#[actix_web::test]
async fn strings_and_arrays_are_bounded() {
    let doc: Value = serde_json::from_str(COMMITTED).unwrap();
    let mut found = Vec::new();
    schemas(&doc, String::new(), &mut found);
    for (path, schema) in found {
        // A CSV report is a whole document, and report rows follow the data: see .spectral.yaml.
        if path.contains("text~1csv") || path.contains("text/csv") {
            continue;
        }
        if has_type(schema, "string") && schema.get("enum").is_none() {
            assert!(schema.get("maxLength").is_some(), "{path}: a string without maxLength");
        }
        if has_type(schema, "array") && !path.ends_with("/groups") && !path.ends_with("/quota_breaches") {
            assert!(schema.get("maxItems").is_some(), "{path}: an array without maxItems");
        }
    }
}

#[actix_web::test]
async fn every_api_response_declares_the_rate_limit_headers() {
    let doc: Value = serde_json::from_str(COMMITTED).unwrap();
    for name in ["RateLimit-Policy", "RateLimit", "Retry-After"] {
        assert!(
            doc["components"]["headers"].get(name).is_some(),
            "no {name} header component"
        );
    }
    let resolve = |response: &Value| -> Value {
        match response["$ref"].as_str() {
            Some(reference) => doc["components"]["responses"][reference.rsplit('/').next().unwrap()].clone(),
            None => response.clone(),
        }
    };
    for (path, item) in doc["paths"].as_object().unwrap() {
        if !path.starts_with("/api/v1/") {
            // The probes are not rate limited.
            assert!(
                !item.to_string().contains("RateLimit"),
                "{path} declares RateLimit headers"
            );
            continue;
        }
        for (method, op) in item.as_object().unwrap() {
            for (status, response) in op["responses"].as_object().unwrap() {
                let response = resolve(response);
                for header in ["RateLimit-Policy", "RateLimit"] {
                    assert!(
                        response["headers"].get(header).is_some(),
                        "{method} {path} {status}: no {header}"
                    );
                }
                if status == "429" {
                    assert!(
                        response["headers"].get("Retry-After").is_some(),
                        "{method} {path}: 429 without Retry-After"
                    );
                }
            }
        }
    }
}
