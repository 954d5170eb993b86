//! The test harness: a fresh database per test, cloned from a migrated template, and the app called in-process.

mod database;
mod served;

use actix_http::Request;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::{test, web};
use diesel::sql_types::BigInt;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use partybase::auth::Actor;
use partybase::config::Config;
use partybase::state::AppState;
use serde_json::{json, Value};

pub use database::TestDatabase;
pub use served::{free_port, request, serve, serve_logged, Wire};

/// An app on its own database, with an admin token.
pub struct TestApp<S> {
    service: S,
    pub db: TestDatabase,
    /// The secret of an admin token named `admin`.
    pub admin: String,
}

/// What a test looks at in a response.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub raw: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts that this is a problem document with `status`, and returns it.
    #[track_caller]
    pub fn problem(&self, status: u16) -> &Value {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body: {}", self.body);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{}",
            self.body
        );
        assert_eq!(self.body["status"], status);
        assert!(self.body["type"].as_str().is_some_and(|t| !t.is_empty()));
        assert!(self.body["title"].is_string() && self.body["detail"].is_string());
        &self.body
    }

    /// Asserts a problem naming `field` among its errors.
    #[track_caller]
    pub fn problem_on(&self, status: u16, field: &str) -> &Value {
        let body = self.problem(status);
        let fields: Vec<&str> = body["errors"]
            .as_array()
            .map(|errors| errors.iter().filter_map(|e| e["field"].as_str()).collect())
            .unwrap_or_default();
        assert!(fields.contains(&field), "expected an error on {field}, got {body}");
        body
    }

    #[track_caller]
    pub fn ok(&self, status: u16) -> &Value {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body: {}", self.body);
        &self.body
    }
}

/// Builds a configuration for tests; `PARTYBASE_*` values can be overridden per test.
pub fn config(database_url: &str, overrides: &[(&str, &str)]) -> Config {
    let url = database_url.to_owned();
    let overrides: Vec<(String, String)> = overrides.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    Config::from_lookup(move |name| {
        if name == "DATABASE_URL" {
            return Some(url.clone());
        }
        overrides.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    })
    .expect("test configuration")
}

/// A new app on a new database, with default settings.
pub async fn spawn_app(
) -> TestApp<impl Service<Request, Response = ServiceResponse<impl MessageBody>, Error = actix_web::Error>> {
    spawn_app_with(&[]).await
}

/// A new app on a new database, with some settings overridden.
pub async fn spawn_app_with(
    overrides: &[(&str, &str)],
) -> TestApp<impl Service<Request, Response = ServiceResponse<impl MessageBody>, Error = actix_web::Error>> {
    let db = TestDatabase::new().await;
    let config = config(&db.url, overrides);
    let state = web::Data::new(AppState::new(&config).expect("state"));
    let service = test::init_service(partybase::app(state)).await;
    let admin = db.issue_token("admin", "admin", None).await;
    TestApp { service, db, admin }
}

impl<S, B> TestApp<S>
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    /// Sends a request and reads the whole reply.
    pub async fn send(&self, request: test::TestRequest) -> Reply {
        let response = test::call_service(&self.service, request.to_request()).await;
        let status = response.status();
        let headers = response.headers().clone();
        let raw = test::read_body(response).await.to_vec();
        let body = serde_json::from_slice(&raw).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
            raw,
        }
    }

    /// A request with an optional bearer token, an optional JSON body and extra headers.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut request = test::TestRequest::default().method(method).uri(path);
        if let Some(token) = token {
            request = request.insert_header(("authorization", format!("Bearer {token}")));
        }
        if let Some(body) = body {
            request = request
                .insert_header(("content-type", "application/json"))
                .set_payload(body.to_string());
        }
        for (name, value) in headers {
            request = request.insert_header((
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            ));
        }
        self.send(request).await
    }

    /// A POST of a raw body (a file) with its content type.
    pub async fn upload(&self, path: &str, token: &str, content_type: &str, body: Vec<u8>) -> Reply {
        let request = test::TestRequest::post()
            .uri(path)
            .insert_header(("authorization", format!("Bearer {token}")))
            .insert_header(("content-type", content_type.to_owned()))
            .set_payload(body);
        self.send(request).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.call(Method::GET, path, Some(token), None, &[]).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(token), Some(&body), &[]).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Reply {
        self.call(Method::PATCH, path, Some(token), Some(&body), &[]).await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Reply {
        self.call(Method::DELETE, path, Some(token), None, &[]).await
    }

    /// Creates an organisation as admin and returns its id.
    pub async fn organisation(&self, code: &str, kind: &str, parent: Option<&str>) -> String {
        let reply = self
            .post(
                "/api/v1/organisations",
                &self.admin,
                json!({"code": code, "name": format!("Tổ chức {code}"), "kind": kind, "parent_id": parent}),
            )
            .await;
        reply.ok(201)["id"].as_str().unwrap().to_owned()
    }

    /// Issues a token over HTTP as admin and returns its secret.
    pub async fn token(&self, name: &str, role: &str, organisation: Option<&str>) -> String {
        let reply = self
            .post(
                "/api/v1/tokens",
                &self.admin,
                json!({"name": name, "role": role, "organisation_id": organisation}),
            )
            .await;
        reply.ok(201)["secret"].as_str().unwrap().to_owned()
    }

    /// The id of the token with this name, from the admin's token list.
    pub async fn token_id(&self, name: &str) -> String {
        let reply = self.get("/api/v1/tokens?limit=200", &self.admin).await;
        let items = reply.ok(200)["items"].as_array().unwrap();
        let token = items.iter().find(|t| t["name"] == name).expect("a token of this name");
        token["id"].as_str().unwrap().to_owned()
    }
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

impl TestDatabase {
    /// Runs a `SELECT count(*) AS n ...` against the test database: for asserting what is stored.
    pub async fn count(&self, sql: &str) -> i64 {
        let mut conn = self.connect().await;
        diesel::sql_query(sql)
            .get_result::<Count>(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .n
    }

    /// Runs a statement against the test database.
    pub async fn execute(&self, sql: &str) {
        let mut conn = self.connect().await;
        diesel::sql_query(sql)
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    pub async fn connect(&self) -> AsyncPgConnection {
        <AsyncPgConnection as AsyncConnection>::establish(&self.url)
            .await
            .expect("connect to the test database")
    }

    /// Issues a token straight through the library, as `partybase token create` does.
    pub async fn issue_token(&self, name: &str, role: &str, organisation: Option<uuid::Uuid>) -> String {
        let mut conn = self.connect().await;
        let role = role.parse().expect("role");
        let name = name.to_owned();
        let (_, secret) = conn
            .transaction(async move |conn| -> Result<_, partybase::error::ApiError> {
                partybase::resources::tokens::service::issue(
                    conn,
                    &Actor::system("test", "test"),
                    &name,
                    role,
                    organisation,
                )
                .await
            })
            .await
            .expect("issue a token");
        secret
    }
}
