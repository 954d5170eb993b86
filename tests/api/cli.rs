//! The command line, run as a newcomer runs it: the real binary against a real database.

use std::process::{Command, Output};

use crate::common::{free_port, serve, spawn_app, TestDatabase};

/// A database URL for the commands that never connect.
const UNUSED: &str = "postgres://postgres@localhost:5432/unused";

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
    assert_eq!(refused.status.code(), Some(1));
    let message = String::from_utf8(refused.stderr).unwrap();
    assert!(
        message.starts_with("error: invalid value 'root' for '--role <ROLE>'"),
        "{message}"
    );
    let unknown = partybase(&db.url, &["token", "revoke", "nobody"]);
    assert_eq!(unknown.status.code(), Some(1));
    let message = String::from_utf8(unknown.stderr).unwrap();
    assert_eq!(message.trim().lines().count(), 1, "one line, no trace: {message}");
    assert!(message.starts_with("partybase: "), "{message}");
}

/// The variables every command that uses the database reads.
const DATABASE_VARIABLES: &[&str] = &["DATABASE_URL", "PARTYBASE_LOG_FORMAT", "RUST_LOG"];

#[test]
fn every_command_answers_help_with_the_variables_it_reads() {
    let every: Vec<&str> = partybase::config::VARIABLES.iter().map(|(name, _)| *name).collect();
    let commands: &[(&[&str], &[&str])] = &[
        (&[], &every),
        (&["serve"], &every),
        (&["migrate"], DATABASE_VARIABLES),
        (&["openapi"], &[]),
        (&["seed"], DATABASE_VARIABLES),
        (&["seed", "demo"], DATABASE_VARIABLES),
        (&["token"], DATABASE_VARIABLES),
        (&["token", "create"], DATABASE_VARIABLES),
        (&["token", "list"], DATABASE_VARIABLES),
        (&["token", "revoke"], DATABASE_VARIABLES),
        (&["healthcheck"], &["PARTYBASE_BIND"]),
    ];
    for (command, variables) in commands {
        let args: Vec<&str> = command.iter().copied().chain(["--help"]).collect();
        let output = partybase(UNUSED, &args);
        assert_eq!(output.status.code(), Some(0), "{args:?}");
        let help = stdout(&output);
        assert!(help.contains("Usage: partybase"), "{args:?}: {help}");
        assert!(help.contains("Environment:"), "{args:?}: {help}");
        for variable in *variables {
            assert!(help.contains(variable), "{args:?} does not name {variable}: {help}");
        }
        for variable in every.iter().filter(|v| !variables.contains(v)) {
            assert!(
                !help.contains(variable),
                "{args:?} names {variable}, which it does not read"
            );
        }
    }
    let create = stdout(&partybase(UNUSED, &["token", "create", "--help"]));
    for option in ["--name <NAME>", "--role <ROLE>", "--organisation <ID>"] {
        assert!(create.contains(option), "{create}");
    }
    assert!(stdout(&partybase(UNUSED, &["token", "revoke", "--help"])).contains("partybase token revoke <NAME>"));
}

#[test]
fn version_and_usage_errors() {
    let version = partybase(UNUSED, &["--version"]);
    assert_eq!(version.status.code(), Some(0));
    assert_eq!(
        stdout(&version).trim(),
        format!("partybase {}", env!("CARGO_PKG_VERSION"))
    );
    for args in [
        &["frobnicate"][..],
        &["token", "revoke"],
        &["token", "create", "--name", "x"],
        &["seed"],
    ] {
        let output = partybase(UNUSED, args);
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        assert!(output.stdout.is_empty(), "{args:?}");
        let message = String::from_utf8(output.stderr).unwrap();
        assert!(message.contains("Usage: partybase"), "{args:?}: {message}");
    }
    let missing = String::from_utf8(partybase(UNUSED, &["token", "revoke"]).stderr).unwrap();
    assert!(missing.contains("<NAME>"), "{missing}");
}

#[actix_web::test]
async fn healthcheck_exits_0_only_when_the_service_is_ready() {
    let probe = |bind: &str| {
        Command::new(env!("CARGO_BIN_EXE_partybase"))
            .arg("healthcheck")
            .env("PARTYBASE_BIND", bind)
            .output()
            .expect("run partybase healthcheck")
    };
    let db = TestDatabase::new().await;
    let served = serve(&db.url, &[]);
    let ready = probe(&served.address);
    assert_eq!(
        ready.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ready.stderr)
    );
    // Bound to every address, the service is probed on loopback.
    let port = served.address.rsplit(':').next().unwrap();
    assert_eq!(probe(&format!("0.0.0.0:{port}")).status.code(), Some(0));

    db.execute(
        "DELETE FROM __diesel_schema_migrations WHERE version = (SELECT max(version) FROM __diesel_schema_migrations)",
    )
    .await;
    let pending = probe(&served.address);
    assert_eq!(pending.status.code(), Some(1));
    let message = String::from_utf8(pending.stderr).unwrap();
    assert!(message.contains("/readyz answered 503"), "{message}");
    drop(served);

    let nobody = probe(&format!("127.0.0.1:{}", free_port()));
    assert_eq!(nobody.status.code(), Some(1));
    let message = String::from_utf8(nobody.stderr).unwrap();
    assert_eq!(message.trim().lines().count(), 1, "{message}");
    assert!(
        message.starts_with("partybase: no answer from the service at 127.0.0.1:"),
        "{message}"
    );
}

#[actix_web::test]
async fn the_demo_loads_once_and_bad_configuration_stops_with_one_line() {
    let db = TestDatabase::new().await;
    let first = partybase(&db.url, &["seed", "demo"]);
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    assert!(stdout(&first).contains("loaded the Thanh Sơn demo district"));
    let second = partybase(&db.url, &["seed", "demo"]);
    assert_eq!(second.status.code(), Some(0));
    assert!(stdout(&second).contains("already loaded"));
    assert_eq!(
        db.count("SELECT count(*) AS n FROM organisations WHERE code = 'TS'")
            .await,
        1
    );
    // A database that loaded the demo before its load was recorded: the migration that adds the record finds
    // the demo in the audit trail, so the demo is still recognised rather than refused for its own codes.
    db.execute("DROP TABLE seed_loads").await;
    db.execute("DELETE FROM __diesel_schema_migrations WHERE version = '20261205000008'")
        .await;
    let upgraded = partybase(&db.url, &["seed", "demo"]);
    assert!(stdout(&upgraded).contains("already loaded"), "{upgraded:?}");

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
    let output = partybase(UNUSED, &["openapi"]);
    assert!(output.status.success());
    let printed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let committed: serde_json::Value = serde_json::from_str(include_str!("../../openapi/openapi.json")).unwrap();
    assert!(printed == committed, "openapi/openapi.json is out of date");
}

#[actix_web::test]
async fn the_demo_refuses_a_database_whose_codes_collide_with_it() {
    // Someone made their own district with the demo's code, as the README's walkthrough once did.
    let app = spawn_app().await;
    app.organisation("TS", "superior_committee", None).await;
    let db = &app.db;
    let refused = partybase(&db.url, &["seed", "demo"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(refused.stdout.is_empty());
    let message = String::from_utf8(refused.stderr).unwrap();
    assert_eq!(message.trim().lines().count(), 1, "one line: {message}");
    assert!(
        message.starts_with(
            "partybase: the demo was not loaded: the database already holds organisation codes it uses (TS)"
        ),
        "{message}"
    );
    assert_eq!(db.count("SELECT count(*) AS n FROM organisations").await, 1);
    assert_eq!(db.count("SELECT count(*) AS n FROM seed_loads").await, 0);
}
