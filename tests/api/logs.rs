//! The log an operator collects: the real binary with `PARTYBASE_LOG_FORMAT=json`, even at `RUST_LOG=debug`.

use serde_json::{json, Value};

use crate::common::{request, serve_logged, TestDatabase};

#[actix_web::test]
async fn json_logs_are_one_object_a_line_and_never_hold_a_secret() {
    let db = TestDatabase::new().await;
    let secret = db.issue_token("log-admin", "admin", None).await;
    let served = serve_logged(&db.url, &[("PARTYBASE_LOG_FORMAT", "json"), ("RUST_LOG", "debug")]);
    let bearer = format!("Bearer {secret}");
    let auth = [("Authorization", bearer.as_str()), ("Content-Type", "application/json")];
    let address = served.address.clone();
    let post = |path: &str, body: Value| {
        let answer = request(&address, "POST", path, &auth, Some(&body.to_string()));
        assert_eq!(answer.status, 201, "{}", String::from_utf8_lossy(&answer.body));
        serde_json::from_slice::<Value>(&answer.body).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let district = post(
        "/api/v1/organisations",
        json!({"code": "YL", "name": "Đảng bộ huyện Yên Lập", "kind": "superior_committee"}),
    );
    let cell = post(
        "/api/v1/organisations",
        json!({"code": "YL-HU", "name": "Chi bộ Cơ quan Huyện ủy", "kind": "base_cell", "parent_id": district}),
    );
    let national_id = "001187654321";
    post(
        "/api/v1/members",
        json!({"full_name": "Hà Thị Mận", "birth_date": "1987-03-02", "organisation_id": cell,
               "admitted_on": "2012-06-01", "national_id": national_id, "ethnicity": "Mường"}),
    );
    let search = "xuanthuyhidden";
    let found = request(&address, "GET", &format!("/api/v1/members?q={search}"), &auth, None);
    assert_eq!(found.status, 200);
    // A made-up token is refused; it stays out of the log too.
    let forged = "pb_forgedforgedforgedforgedforgedforgedforge";
    let refused = request(
        &address,
        "GET",
        "/api/v1/organisations",
        &[("Authorization", &format!("Bearer {forged}"))],
        None,
    );
    assert_eq!(refused.status, 401);
    assert_eq!(request(&address, "GET", "/healthz", &[], None).status, 200);

    let log = served.stop_and_read_log();
    for needle in [secret.as_str(), forged, national_id, search, "Mận", "Mường"] {
        assert!(!log.contains(needle), "the log holds {needle:?}:\n{log}");
    }
    let lines: Vec<Value> = log
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON object ({e}): {line}")))
        .collect();
    for line in &lines {
        for field in ["ts", "level", "msg"] {
            assert!(line[field].is_string(), "{field} missing: {line}");
        }
    }
    let access: Vec<&Value> = lines.iter().filter(|l| l["target"] == "partybase::access").collect();
    let admitted = access
        .iter()
        .find(|l| l["route"] == "/api/v1/members" && l["method"] == "POST")
        .expect("the admission's access record");
    assert_eq!(admitted["status"], 201);
    assert_eq!(admitted["actor"], "log-admin");
    assert_eq!(admitted["level"], "info");
    assert!(admitted["request_id"].as_str().is_some_and(|id| !id.is_empty()));
    assert!(admitted["duration_ms"].as_f64().is_some_and(|ms| ms >= 0.0));
    let forged_line = access
        .iter()
        .find(|l| l["status"] == 401)
        .expect("the refusal's access record");
    assert_eq!(forged_line["actor"], Value::Null);
    let probe = access
        .iter()
        .find(|l| l["route"] == "/healthz")
        .expect("the probe's record");
    assert_eq!(probe["level"], "debug");
    assert_eq!(access.len(), 6, "one record a request: {access:?}");
}
