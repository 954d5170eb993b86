//! Request extractors that turn every malformed input into a problem+json error naming the field: JSON bodies,
//! query strings, and the conditional request headers.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::{ready, LocalBoxFuture, Ready};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

mod conditional;
mod strict;
mod upload;

pub use conditional::{Preconditions, MAX_ENTITY_TAG_LIST};
pub use upload::{SheetFormat, Upload, UPLOAD_LIMIT};

use crate::error::{ApiError, FieldError};
use crate::state::AppState;
use crate::write::etag;
use strict::parse_strict;

/// Largest accepted request body.
pub const BODY_LIMIT: usize = 64 * 1024;
/// Longest wait for a body when no application state says otherwise.
const DEFAULT_BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// Fields every resource has that a client may never set. Naming them in a body gets "is read-only" rather than
/// "unknown field", which tells the client what it did wrong.
const READ_ONLY_FIELDS: &[&str] = &[
    "id",
    "version",
    "created_at",
    "updated_at",
    "active",
    "official_on",
    "status",
];

/// A JSON request body (`application/json` or `application/merge-patch+json`), at most `LIMIT` bytes
/// ([`BODY_LIMIT`] unless a route says more). A body that is not JSON answers 400; JSON that does not fit `T`
/// answers 422 naming the field.
pub struct ApiJson<T, const LIMIT: usize = BODY_LIMIT>(pub T);

impl<T: DeserializeOwned + 'static, const LIMIT: usize> FromRequest for ApiJson<T, LIMIT> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let content_type = check_content_type(req);
        let declared_length = declared_length(req);
        let wait = body_timeout(req);
        let mut payload = payload.take();
        Box::pin(async move {
            content_type?;
            if declared_length.is_some_and(|n| n > LIMIT) {
                return Err(ApiError::PayloadTooLarge(LIMIT));
            }
            let body = read_body(&mut payload, LIMIT, wait).await?;
            parse_body(&body).map(ApiJson)
        })
    }
}

/// The `Content-Length` a request declares, if it declares a readable one.
fn declared_length(req: &HttpRequest) -> Option<usize> {
    req.headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
}

/// Reads a whole request body of at most `limit` bytes (413 past it) within `wait` (408 past it): a body that
/// stops arriving would otherwise hold the connection, and a worker's attention, forever.
pub async fn read_body(payload: &mut Payload, limit: usize, wait: std::time::Duration) -> Result<Vec<u8>, ApiError> {
    let read = async {
        let mut body = Vec::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|e| ApiError::bad_request("body", format!("cannot be read: {e}")))?;
            if body.len() + chunk.len() > limit {
                return Err(ApiError::PayloadTooLarge(limit));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    };
    tokio::time::timeout(wait, read)
        .await
        .map_err(|_| ApiError::RequestTimeout(wait.as_secs()))?
}

/// How long to wait for a request's body: the application's setting, or a default outside an application.
pub fn body_timeout(req: &HttpRequest) -> std::time::Duration {
    req.app_data::<web::Data<AppState>>()
        .map_or(DEFAULT_BODY_TIMEOUT, |state| state.body_timeout)
}

fn check_content_type(req: &HttpRequest) -> Result<(), ApiError> {
    let Some(value) = req.headers().get(header::CONTENT_TYPE) else {
        return Err(ApiError::UnsupportedMediaType(
            "the request has no Content-Type; send application/json".into(),
        ));
    };
    let essence = value
        .to_str()
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if essence == "application/json" || essence == "application/merge-patch+json" {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType(format!(
            "Content-Type {essence:?} is not accepted; send application/json or application/merge-patch+json"
        )))
    }
}

/// Parses a body: syntax errors are 400, shape errors 422 with the path of the field at fault.
pub fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let value = parse_strict(body)?;
    if !value.is_object() {
        return Err(ApiError::invalid("body", "must be a JSON object"));
    }
    if let Some((path, problem)) = unstorable(&value, String::new()) {
        return Err(ApiError::invalid(path, problem));
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        ApiError::Validation(vec![describe(&path, &e.into_inner().to_string())])
    })
}

/// Why a text value cannot be stored: PostgreSQL text holds no NUL character, and its dates end in 4713 BC (dates
/// before year 1 are refused outright).
fn unstorable_text(text: &str) -> Option<&'static str> {
    if text.contains('\0') {
        Some("must not contain the NUL character")
    } else if text.starts_with('-')
        && (text.parse::<chrono::NaiveDate>().is_ok() || text.parse::<chrono::DateTime<chrono::Utc>>().is_ok())
    {
        Some("dates before year 1 are not accepted")
    } else {
        None
    }
}

/// The path of the first string (or key) that cannot be stored, and why.
pub fn unstorable(value: &serde_json::Value, path: String) -> Option<(String, &'static str)> {
    use serde_json::Value;
    let join = |key: &str| {
        if path.is_empty() {
            key.to_owned()
        } else {
            format!("{path}.{key}")
        }
    };
    match value {
        Value::String(s) => unstorable_text(s).map(|why| (if path.is_empty() { "body".into() } else { path }, why)),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| unstorable(v, format!("{path}[{i}]"))),
        Value::Object(map) => map.iter().find_map(|(k, v)| match unstorable_text(k) {
            Some(why) => Some((join(&k.replace('\0', "")), why)),
            None => unstorable(v, join(k)),
        }),
        _ => None,
    }
}

/// Turns a serde message into a field error, moving the field named in the message into the path.
fn describe(path: &str, message: &str) -> FieldError {
    let join = |name: &str| match path {
        "." | "" => name.to_owned(),
        parent => format!("{parent}.{name}"),
    };
    let named = |prefix: &str| {
        message
            .strip_prefix(prefix)
            .and_then(|rest| rest.split('`').next())
            .map(str::to_owned)
    };
    if let Some(name) = named("unknown field `") {
        let text = if READ_ONLY_FIELDS.contains(&name.as_str()) {
            "is read-only"
        } else {
            "is not a field of this resource"
        };
        // The path already ends at the unknown key.
        let field = if path.ends_with(name.as_str()) {
            path.to_owned()
        } else {
            join(&name)
        };
        return FieldError::new(field, text);
    }
    if let Some(name) = named("missing field `") {
        return FieldError::new(join(&name), "is required");
    }
    let field = match path {
        "." | "" => "body".to_owned(),
        p => p.to_owned(),
    };
    FieldError::new(field, message)
}

/// A query string deserialised into `T`; a bad or unknown parameter answers 400 naming it.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned> FromRequest for ApiQuery<T> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(parse_query(req.query_string()).map(ApiQuery))
    }
}

/// Refuses a query string whose percent-encoded bytes are not UTF-8 (`q=%FF`), naming the parameter: decoding
/// it loosely would search for, or store, something the client never sent.
pub fn check_query_encoding(query: &str) -> Result<(), ApiError> {
    for pair in query.split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let decodes = |part: &str| percent_encoding::percent_decode_str(part).decode_utf8().is_ok();
        if !decodes(name) || !decodes(value) {
            let shown = String::from_utf8_lossy(&percent_encoding::percent_decode_str(name).collect::<Vec<u8>>())
                .replace('\0', "");
            return Err(ApiError::bad_request(&shown, "is not valid UTF-8 once percent-decoded"));
        }
    }
    Ok(())
}

/// Parses `query` into `T`, naming the parameter at fault.
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    check_query_encoding(query)?;
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        if let Some(why) = unstorable_text(&name).or_else(|| unstorable_text(&value)) {
            return Err(ApiError::bad_request(&name.replace('\0', ""), why));
        }
    }
    let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let path = e.path().to_string();
        let message = e.into_inner().to_string();
        let error = describe(&path, &message);
        let (field, message) = match error.message.as_str() {
            "is not a field of this resource" | "is read-only" => (error.field, "is not a known parameter".into()),
            _ => (error.field, error.message),
        };
        ApiError::bad_request(&field, message)
    })
}

/// A response carrying a resource and its ETag.
pub fn with_etag<T: serde::Serialize>(
    mut response: actix_web::HttpResponseBuilder,
    version: i32,
    body: T,
) -> actix_web::HttpResponse {
    response.insert_header((header::ETAG, etag(version))).json(body)
}

/// Deserialises a field that distinguishes "absent" (`None`) from `null` (`Some(None)`), for merge-patch bodies.
pub fn double_option<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: serde::Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    serde::Deserialize::deserialize(deserializer).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        code: String,
        count: Option<u32>,
        inner: Option<Inner>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        unit: String,
    }

    fn field_of(body: &str) -> (u16, String, String) {
        let problem = parse_body::<Body>(body.as_bytes()).unwrap_err().problem();
        let first = problem.errors.first().expect("a field error");
        (problem.status, first.field.clone(), first.message.clone())
    }

    #[test]
    fn nul_characters_are_refused_where_they_are() {
        assert_eq!(
            field_of(r#"{"code": "a\u0000b"}"#),
            (422, "code".into(), "must not contain the NUL character".into())
        );
        assert_eq!(
            field_of(r#"{"code": "a", "inner": {"unit": "\u0000"}}"#).1,
            "inner.unit"
        );
        let problem = parse_query::<Query>("limit=%00").err().unwrap().problem();
        assert_eq!((problem.status, problem.errors[0].field.as_str()), (400, "limit"));
        assert_eq!(
            field_of(r#"{"code": "-5000-01-01"}"#).2,
            "dates before year 1 are not accepted"
        );
        let problem = parse_query::<Query>("limit=-5000-01-01T00:00:00Z")
            .err()
            .unwrap()
            .problem();
        assert_eq!(problem.errors[0].message, "dates before year 1 are not accepted");
        assert!(unstorable_text("-3 points").is_none() && unstorable_text("0001-01-01").is_none());
    }

    #[test]
    fn syntax_errors_are_400() {
        assert_eq!(field_of("{\"code\": ").0, 400);
        assert_eq!(field_of("").0, 400);
        assert_eq!(field_of("{\"code\": \"a\"} {}").0, 400);
    }

    #[test]
    fn a_key_given_twice_is_refused_naming_it() {
        assert_eq!(
            field_of(r#"{"code": "A", "code": "B"}"#),
            (422, "code".into(), "is given more than once".into())
        );
        assert_eq!(
            field_of(r#"{"code": "A", "inner": {"unit": "x", "unit": "y"}}"#).1,
            "inner.unit"
        );
        assert_eq!(field_of(r#"{"code": "A", "count": 1.5e0}"#).1, "count");
    }

    #[test]
    fn shape_errors_are_422_naming_the_field() {
        assert_eq!(field_of("{}"), (422, "code".into(), "is required".into()));
        assert_eq!(
            field_of(r#"{"code": "a", "colour": 1}"#),
            (422, "colour".into(), "is not a field of this resource".into())
        );
        assert_eq!(
            field_of(r#"{"code": "a", "version": 1}"#),
            (422, "version".into(), "is read-only".into())
        );
        assert_eq!(field_of(r#"{"code": 5}"#).1, "code");
        assert_eq!(field_of(r#"{"code": "a", "count": -1}"#).1, "count");
        assert_eq!(field_of(r#"{"code": "a", "inner": {}}"#).1, "inner.unit");
        assert_eq!(field_of("[1]").1, "body");
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Query {
        limit: Option<u32>,
        active: Option<bool>,
    }

    #[test]
    fn query_errors_are_400_naming_the_parameter() {
        let problem = parse_query::<Query>("limit=x").err().unwrap().problem();
        assert_eq!((problem.status, problem.errors[0].field.as_str()), (400, "limit"));
        let problem = parse_query::<Query>("actve=true").err().unwrap().problem();
        assert_eq!(problem.errors[0].field, "actve");
        let problem = parse_query::<Query>("limit=5&active=%FF%FE").err().unwrap().problem();
        assert_eq!((problem.status, problem.errors[0].field.as_str()), (400, "active"));
        assert!(check_query_encoding("q=Thanh%20S%C6%A1n&x").is_ok());
        assert!(parse_query::<Query>("limit=5&active=true").is_ok());
    }
}
