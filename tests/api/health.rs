use std::time::Duration;

use actix_web::http::Method;
use actix_web::{test, web};
use partybase::state::AppState;

use crate::common::{config, spawn_app, TestDatabase};

#[actix_web::test]
async fn healthz_and_readyz_answer_without_a_token() {
    let app = spawn_app().await;
    let reply = app.call(Method::GET, "/healthz", None, None, &[]).await;
    assert_eq!(reply.ok(200)["status"], "ok");
    let reply = app.call(Method::GET, "/readyz", None, None, &[]).await;
    assert_eq!(reply.ok(200)["status"], "ready");
}

#[actix_web::test]
async fn readyz_is_503_while_migrations_are_pending() {
    let app = spawn_app().await;
    app.db
        .execute("DELETE FROM __diesel_schema_migrations WHERE version = (SELECT max(version) FROM __diesel_schema_migrations)")
        .await;
    let reply = app.call(Method::GET, "/readyz", None, None, &[]).await;
    reply.problem(503);
    assert!(reply.header("retry-after").is_some());
}

/// The host and port of the PostgreSQL server behind a database URL (the tests' come from `TEST_DATABASE_URL`).
fn server_of(database_url: &str) -> (String, u16) {
    let url = url::Url::parse(database_url).expect("a database URL");
    (
        url.host_str().unwrap_or("localhost").to_owned(),
        url.port().unwrap_or(5432),
    )
}

/// A TCP relay in front of PostgreSQL that the test can cut and restore, to play a database outage.
struct Relay {
    port: u16,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Relay {
    async fn start(port: u16, upstream: (String, u16)) -> Relay {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind relay");
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            let mut connections = Vec::new();
            let _guard = AbortOnDrop(&mut connections);
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                let upstream = upstream.clone();
                let handle = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                _guard.0.push(handle);
            }
        });
        Relay { port, task: Some(task) }
    }

    fn cut(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Aborts every relayed connection when the relay stops.
struct AbortOnDrop<'a>(&'a mut Vec<tokio::task::JoinHandle<()>>);

impl Drop for AbortOnDrop<'_> {
    fn drop(&mut self) {
        for handle in self.0.iter() {
            handle.abort();
        }
    }
}

#[actix_web::test]
async fn a_database_outage_gives_503_quickly_and_the_service_recovers_alone() {
    let db = TestDatabase::new().await;
    let mut relay = Relay::start(0, server_of(&db.url)).await;
    let mut url = url::Url::parse(&db.url).unwrap();
    url.set_port(Some(relay.port)).unwrap();
    let config = config(url.as_str(), &[("PARTYBASE_DB_TIMEOUT_SECS", "1")]);
    let state = web::Data::new(AppState::new(&config).unwrap());
    let service = test::init_service(partybase::app(state)).await;
    let ready = || test::TestRequest::get().uri("/readyz").to_request();

    assert_eq!(test::call_service(&service, ready()).await.status(), 200);

    relay.cut();
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Bounded by the pool timeouts, never hung: the generous outer limit only catches a hang.
    let response = tokio::time::timeout(Duration::from_secs(30), test::call_service(&service, ready()))
        .await
        .expect("the request hung while the database was down");
    assert_eq!(response.status(), 503);
    assert_eq!(
        response.headers().get("content-type").unwrap(),
        "application/problem+json"
    );

    // An API route answers 503 too: checking the token needs the database.
    let api = test::TestRequest::get()
        .uri("/api/v1/organisations")
        .insert_header(("authorization", "Bearer pb_some-token"))
        .to_request();
    let response = tokio::time::timeout(Duration::from_secs(30), test::call_service(&service, api))
        .await
        .expect("the request hung while the database was down");
    assert_eq!(response.status(), 503);
    assert!(response.headers().get("retry-after").is_some());

    let port = relay.port;
    let _relay = Relay::start(port, server_of(&db.url)).await;
    let mut status = 0;
    for _ in 0..20 {
        status = test::call_service(&service, ready()).await.status().as_u16();
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(status, 200, "the service did not recover after the database came back");
}
