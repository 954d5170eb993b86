//! Request extractors that turn every malformed input into a problem+json error naming the field: JSON bodies,
//! query strings, and the conditional request headers.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::{ready, LocalBoxFuture, Ready};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, FieldError};
use crate::state::AppState;
use crate::write::{etag, IfMatch};

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

/// A JSON request body (`application/json` or `application/merge-patch+json`), at most [`BODY_LIMIT`] bytes.
/// A body that is not JSON answers 400; JSON that does not fit `T` answers 422 naming the field.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for ApiJson<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let content_type = check_content_type(req);
        let declared_length = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let wait = req
            .app_data::<web::Data<AppState>>()
            .map_or(DEFAULT_BODY_TIMEOUT, |state| state.body_timeout);
        let mut payload = payload.take();
        Box::pin(async move {
            content_type?;
            if declared_length.is_some_and(|n| n > BODY_LIMIT) {
                return Err(ApiError::PayloadTooLarge(BODY_LIMIT));
            }
            let read = async {
                let mut body = Vec::new();
                while let Some(chunk) = payload.next().await {
                    let chunk = chunk.map_err(|e| ApiError::bad_request("body", format!("cannot be read: {e}")))?;
                    if body.len() + chunk.len() > BODY_LIMIT {
                        return Err(ApiError::PayloadTooLarge(BODY_LIMIT));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(body)
            };
            // A body that stops arriving would otherwise hold the connection (and a worker's attention) forever.
            let body = tokio::time::timeout(wait, read)
                .await
                .map_err(|_| ApiError::RequestTimeout(wait.as_secs()))??;
            parse_body(&body).map(ApiJson)
        })
    }
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

/// Parses JSON text into a value, refusing an object that names a key twice: RFC 8259 leaves such an object's
/// meaning open, and taking the last value silently would hide a client's mistake.
fn parse_strict(body: &[u8]) -> Result<serde_json::Value, ApiError> {
    let not_json = |e: serde_json::Error| ApiError::BadRequest {
        detail: format!("the body is not valid JSON: {e}"),
        errors: vec![FieldError::new("body", "is not valid JSON")],
    };
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    match serde_path_to_error::deserialize::<_, StrictValue>(&mut deserializer) {
        Ok(StrictValue(value)) => deserializer.end().map(|()| value).map_err(not_json),
        Err(e) => {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if inner.classify() == serde_json::error::Category::Data {
                let message = inner.to_string();
                let key = message
                    .strip_prefix(DUPLICATE_KEY)
                    .and_then(|rest| rest.split('`').next())
                    .unwrap_or_default();
                let field = match path.as_str() {
                    "." | "" => key.to_owned(),
                    parent => format!("{parent}.{key}"),
                };
                return Err(ApiError::invalid(field, "is given more than once"));
            }
            Err(not_json(inner))
        }
    }
}

const DUPLICATE_KEY: &str = "duplicate key `";

/// A JSON value whose objects have no key twice.
struct StrictValue(serde_json::Value);

impl<'de> serde::Deserialize<'de> for StrictValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

struct StrictVisitor;

impl<'de> serde::de::Visitor<'de> for StrictVisitor {
    type Value = serde_json::Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, serde_json::Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(StrictValue(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(serde_json::Value::Array(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut object = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(serde::de::Error::custom(format!("{DUPLICATE_KEY}{key}`")));
            }
            let StrictValue(value) = map.next_value()?;
            object.insert(key, value);
        }
        Ok(serde_json::Value::Object(object))
    }
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

/// The conditional request headers of a request: `If-Match` for writes, `If-None-Match` for reads.
pub struct Preconditions {
    if_match: Option<String>,
    if_none_match: Option<String>,
}

fn tags(list: &str) -> impl Iterator<Item = &str> {
    list.split(',').map(str::trim).filter(|t| !t.is_empty())
}

impl Preconditions {
    /// Refuses a write whose `If-Match` does not match the current version (see [`Self::check_if_match_tag`]).
    pub fn check_if_match(&self, version: i32) -> Result<(), ApiError> {
        self.check_if_match_tag(&etag(version))
    }

    /// Refuses a write whose `If-Match` names neither `current` nor `*` (strong comparison: a weak tag or a tag
    /// that merely starts like the current one does not match).
    pub fn check_if_match_tag(&self, current: &str) -> Result<(), ApiError> {
        self.if_match().check(current)
    }

    /// What the request's `If-Match` expects, for the write path.
    pub fn if_match(&self) -> IfMatch {
        IfMatch::header(self.if_match.clone())
    }

    /// Whether a read can answer 304: `If-None-Match` names the current version (weak comparison; `*` matches).
    pub fn not_modified(&self, version: i32) -> bool {
        self.not_modified_since(&etag(version))
    }

    /// The 304 answer to a read of a resource at `version`, when `If-None-Match` names it.
    pub fn not_modified_response(&self, version: i32) -> Option<actix_web::HttpResponse> {
        self.not_modified_tag_response(&etag(version))
    }

    /// The 304 answer to a read whose current ETag is `current`, when `If-None-Match` names it.
    pub fn not_modified_tag_response(&self, current: &str) -> Option<actix_web::HttpResponse> {
        self.not_modified_since(current).then(|| {
            actix_web::HttpResponse::NotModified()
                .insert_header((header::ETAG, current.to_owned()))
                .finish()
        })
    }

    /// Whether a read whose current ETag is `current` can answer 304.
    pub fn not_modified_since(&self, current: &str) -> bool {
        self.if_none_match
            .as_deref()
            .is_some_and(|list| tags(list).any(|t| t == "*" || t.trim_start_matches("W/") == current))
    }
}

/// The longest `If-Match` / `If-None-Match` value accepted, as the OpenAPI document says.
pub const MAX_ENTITY_TAG_LIST: usize = 1024;

impl FromRequest for Preconditions {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let read = |name: header::HeaderName| -> Result<Option<String>, ApiError> {
            match req.headers().get(&name) {
                None => Ok(None),
                Some(v) if v.len() > MAX_ENTITY_TAG_LIST => Err(ApiError::bad_request(
                    name.as_str(),
                    format!("is longer than {MAX_ENTITY_TAG_LIST} characters"),
                )),
                Some(v) => v
                    .to_str()
                    .map(|s| Some(s.to_owned()))
                    .map_err(|_| ApiError::bad_request(name.as_str(), "is not a valid entity-tag list")),
            }
        };
        ready((|| {
            Ok(Preconditions {
                if_match: read(header::IF_MATCH)?,
                if_none_match: read(header::IF_NONE_MATCH)?,
            })
        })())
    }
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
    use crate::write::etag_with;
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

    #[test]
    fn preconditions_compare_versions() {
        let p = Preconditions {
            if_match: Some("\"3\", \"4\"".into()),
            if_none_match: Some("W/\"4\"".into()),
        };
        assert!(p.check_if_match(4).is_ok());
        assert!(p.check_if_match(5).is_err());
        assert!(p.not_modified(4));
        assert!(!p.not_modified(5));
        let with_counts = etag_with(4, &[("official", 3)]);
        assert!(with_counts.starts_with("\"4-") && with_counts != etag_with(4, &[("official", 4)]));
        let read = Preconditions {
            if_match: Some(with_counts.clone()),
            if_none_match: Some(with_counts.clone()),
        };
        assert!(read.check_if_match_tag(&with_counts).is_ok());
        assert!(
            read.check_if_match(4).is_err(),
            "a tag with figures is not the bare version's"
        );
        assert!(read.not_modified_since(&with_counts));
        assert!(!read.not_modified_since(&etag_with(4, &[("official", 4)])));
        let forged = Preconditions {
            if_match: Some("\"3-deadbeef\", W/\"3\"".into()),
            if_none_match: None,
        };
        assert!(forged.check_if_match(3).is_err(), "only an exact current ETag matches");
        let any = Preconditions {
            if_match: Some("*".into()),
            if_none_match: None,
        };
        assert!(any.check_if_match(9).is_ok());
        let none = Preconditions {
            if_match: None,
            if_none_match: None,
        };
        assert!(none.check_if_match(1).is_ok());
        assert!(!none.not_modified(1));
    }
}
