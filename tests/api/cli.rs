//! The command line, run as a newcomer runs it: the real binary against a real database.

use std::process::{Command, Output};

use crate::common::TestDatabase;

fn partybase(database_url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_partybase"))
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run partybase")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

#[actix_web::test]
async fn a_newcomer_migrates_issues_lists_and_revokes_a_token() {
    let db = TestDatabase::new().await;
    // Start from a missing database: every database command creates it.
    db.drop_now().await;
    let migrate = partybase(&db.url, &["migrate"]);
    assert!(migrate.status.success(), "{}", String::from_utf8_lossy(&migrate.stderr));
    assert_eq!(db.count("SELECT count(*) AS n FROM organisations").await, 0);

    let created = partybase(
        &db.url,
        &["token", "create", "--name", "first-admin", "--role", "admin"],
    );
    assert!(created.status.success());
    let out = stdout(&created);
    let secret = out.lines().last().unwrap().to_owned();
    assert!(
        secret.starts_with("pb_") && secret.len() == 46,
        "the secret is the last line: {out}"
    );
    let stored = db
        .count(&format!(
            "SELECT count(*) AS n FROM api_tokens WHERE name = 'first-admin' AND secret_hash = sha256('{secret}'::bytea)"
        ))
        .await;
    assert_eq!(stored, 1, "only the hash is stored");

    let listed = stdout(&partybase(&db.url, &["token", "list"]));
    assert!(listed.contains("first-admin") && listed.contains("admin"));
    assert!(!listed.contains(&secret), "the list never shows a secret");

    let revoked = partybase(&db.url, &["token", "revoke", "first-admin"]);
    assert!(revoked.status.success());
    assert_eq!(
        db.count("SELECT count(*) AS n FROM api_tokens WHERE name = 'first-admin' AND revoked_at IS NOT NULL")
            .await,
        1
    );
    assert_eq!(
        db.count("SELECT count(*) AS n FROM audit_events WHERE resource_type = 'token' AND actor = 'cli'")
            .await,
        2
    );

    let refused = partybase(&db.url, &["token", "create", "--name", "x", "--role", "root"]);
    assert!(!refused.status.success());
    let message = String::from_utf8(refused.stderr).unwrap();
    assert_eq!(message.trim().lines().count(), 1, "one line, no trace: {message}");
    assert!(message.contains("--role"));
    let unknown = partybase(&db.url, &["token", "revoke", "nobody"]);
    assert!(!unknown.status.success());
}

#[actix_web::test]
async fn the_demo_loads_once_and_bad_configuration_stops_with_one_line() {
    let db = TestDatabase::new().await;
    let first = partybase(&db.url, &["seed", "demo"]);
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    assert!(stdout(&first).contains("loaded the Thanh Sơn demo district"));
    let second = partybase(&db.url, &["seed", "demo"]);
    assert!(stdout(&second).contains("already loaded"));
    assert_eq!(
        db.count("SELECT count(*) AS n FROM organisations WHERE code = 'TS'")
            .await,
        1
    );

    let bad = Command::new(env!("CARGO_BIN_EXE_partybase"))
        .arg("serve")
        .env("DATABASE_URL", &db.url)
        .env("PARTYBASE_BIND", "everywhere")
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let message = String::from_utf8(bad.stderr).unwrap();
    assert_eq!(
        message.trim(),
        "partybase: PARTYBASE_BIND: must be an address and port such as 127.0.0.1:8080 (got \"everywhere\")"
    );
}

#[actix_web::test]
async fn openapi_prints_the_committed_document() {
    let output = partybase("postgres://postgres@localhost:5432/unused", &["openapi"]);
    assert!(output.status.success());
    let printed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let committed: serde_json::Value = serde_json::from_str(include_str!("../../openapi/openapi.json")).unwrap();
    assert!(printed == committed, "openapi/openapi.json is out of date");
}
