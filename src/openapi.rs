//! The OpenAPI document: general information, tags, the bearer scheme and the reusable error responses. The
//! operations themselves are collected from the route registrations in [`crate::app`].

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::{FieldError, Problem};
use crate::pagination::CountMode;
use crate::reports::GroupBy;
use crate::resources::members::http::MemberSort;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "partybase",
        description = "Registry of grassroots party organisations: the organisation tree, members, thematic \
            resolutions and yearly evaluations. Every `/api/v1` operation needs `Authorization: Bearer <token>`. \
            Errors are RFC 9457 `application/problem+json` documents."
    ),
    tags(
        (name = "organisations", description = "The organisation tree, today and as it stood on any past day"),
        (name = "reorganisations", description = "Dated decisions that reshape the tree in one step: organisations created, moved, ended and succeeded, members transferred"),
        (name = "members", description = "Party members, their admission, lifecycle and history"),
        (name = "candidates", description = "Admission candidates on the road from the cell's proposal to the admission ceremony"),
        (name = "meetings", description = "Cell meetings and who attended them"),
        (name = "dues", description = "Party dues: one payment per member and month, in whole đồng"),
        (name = "resolutions", description = "Thematic resolutions and how each organisation implements them"),
        (name = "evaluations", description = "Yearly quality evaluations of base organisations and members, and the rating schemes"),
        (name = "reports", description = "Figures a committee publishes, as JSON or CSV (`Accept: text/csv`). \
            Reports on a year, a period or a past day count the tree as it stood then"),
        (name = "imports", description = "Spreadsheets of members or organisations brought in whole, checked row by row. \
            The way out is the lists themselves: `GET /api/v1/members` and `GET /api/v1/organisations` with \
            `Accept: text/csv` write every selected row in the columns the imports read"),
        (name = "changes", description = "The change feed: every committed change, in commit order, for systems that keep a copy"),
        (name = "webhooks", description = "Changes pushed to other systems as signed HTTP requests (admin only)"),
        (name = "tokens", description = "API tokens (admin only)"),
        (name = "audit", description = "The audit trail of every change (admin only)"),
        (name = "health", description = "Liveness and readiness probes (no token needed)"),
    ),
    components(
        // Schemas that only query parameters name, which the route registrations do not collect.
        schemas(Problem, FieldError, CountMode, GroupBy, MemberSort),
        responses(
            responses::BadRequest,
            responses::Unauthorized,
            responses::Forbidden,
            responses::NotFound,
            responses::Conflict,
            responses::PreconditionFailed,
            responses::Gone,
            responses::PayloadTooLarge,
            responses::UploadTooLarge,
            responses::NotAcceptable,
            responses::UnsupportedMediaType,
            responses::Unprocessable,
            responses::TooManyRequests,
            responses::Unavailable,
            responses::InternalError,
        )
    ),
    modifiers(&BearerScheme)
)]
pub struct ApiDoc;

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("pb_ token")
                    .description(Some(
                        "A token issued by `partybase token create` or `POST /api/v1/tokens`",
                    ))
                    .build(),
            ),
        );
    }
}

/// The reusable error responses that operations refer to, each a problem document.
pub mod responses {
    use utoipa::openapi::content::ContentBuilder;
    use utoipa::openapi::header::HeaderBuilder;
    use utoipa::openapi::response::{Response, ResponseBuilder};
    use utoipa::openapi::{ObjectBuilder, Ref, RefOr, Type};

    use crate::error::PROBLEM_JSON;

    fn problem(description: &str, example: serde_json::Value) -> ResponseBuilder {
        ResponseBuilder::new().description(description).content(
            PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .example(Some(example))
                .build(),
        )
    }

    fn seconds_header(description: &str) -> utoipa::openapi::header::Header {
        HeaderBuilder::new()
            .schema(Some(ObjectBuilder::new().schema_type(Type::Integer)))
            .description(Some(description))
            .build()
    }

    macro_rules! problem_responses {
        ($($name:ident, $status:literal, $slug:literal, $title:literal, $detail:literal, $errors:expr, $description:literal;)+) => {$(
            #[doc = $description]
            pub struct $name;

            impl<'r> utoipa::ToResponse<'r> for $name {
                fn response() -> (&'r str, RefOr<Response>) {
                    let mut example = serde_json::json!({
                        "type": concat!("urn:partybase:problem:", $slug),
                        "title": $title,
                        "status": $status,
                        "detail": $detail,
                    });
                    let errors: Option<serde_json::Value> = $errors;
                    if let Some(errors) = errors {
                        example["errors"] = errors;
                    }
                    let mut response = problem($description, example);
                    response = match $status {
                        429 => response.header("Retry-After", seconds_header("Seconds to wait before retrying")),
                        503 => response.header("Retry-After", seconds_header("Seconds to wait before retrying")),
                        401 => response.header("WWW-Authenticate", HeaderBuilder::new()
                            .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                            .description(Some("Always `Bearer`"))
                            .build()),
                        _ => response,
                    };
                    (stringify!($name), response.build().into())
                }
            }
        )+};
    }

    macro_rules! response_sets {
        ($($(#[$doc:meta])* $set:ident: $($status:literal => $name:ident),+;)+) => {$(
            $(#[$doc])*
            pub struct $set;

            impl utoipa::IntoResponses for $set {
                fn responses() -> std::collections::BTreeMap<String, RefOr<Response>> {
                    [$(($status.to_string(), RefOr::Ref(Ref::from_response_name(stringify!($name))))),+]
                        .into_iter()
                        .collect()
                }
            }
        )+};
    }

    response_sets! {
        /// The errors any list can answer.
        ListErrors: "400" => BadRequest, "401" => Unauthorized, "429" => TooManyRequests, "503" => Unavailable;
        /// The errors a read of one resource can answer.
        ReadErrors: "400" => BadRequest, "401" => Unauthorized, "404" => NotFound, "429" => TooManyRequests,
            "503" => Unavailable;
        /// The errors a creation can answer.
        CreateErrors: "400" => BadRequest, "401" => Unauthorized, "403" => Forbidden, "409" => Conflict,
            "413" => PayloadTooLarge, "415" => UnsupportedMediaType, "422" => Unprocessable,
            "429" => TooManyRequests, "503" => Unavailable;
        /// The errors a change of one resource can answer (409 where a change can conflict is listed apart).
        UpdateErrors: "400" => BadRequest, "401" => Unauthorized, "403" => Forbidden, "404" => NotFound,
            "412" => PreconditionFailed, "413" => PayloadTooLarge, "415" => UnsupportedMediaType,
            "422" => Unprocessable, "429" => TooManyRequests, "503" => Unavailable;
        /// The errors a deletion can answer (409 where the resource can be in use is listed apart).
        DeleteErrors: "400" => BadRequest, "401" => Unauthorized, "403" => Forbidden, "404" => NotFound,
            "412" => PreconditionFailed, "429" => TooManyRequests, "503" => Unavailable;
        /// The errors an import can answer besides its own 422.
        ImportErrors: "400" => BadRequest, "401" => Unauthorized, "403" => Forbidden, "413" => UploadTooLarge,
            "415" => UnsupportedMediaType, "429" => TooManyRequests, "503" => Unavailable;
        /// The errors a report can answer.
        ReportErrors: "400" => BadRequest, "401" => Unauthorized, "404" => NotFound, "406" => NotAcceptable,
            "429" => TooManyRequests, "503" => Unavailable;
    }

    problem_responses! {
        BadRequest, 400, "bad-request", "Malformed request", "limit: must be 1 to 200",
            Some(serde_json::json!([{"field": "limit", "message": "must be 1 to 200"}])),
            "Malformed request: a body that is not JSON, or a bad query, path or header value";
        Unauthorized, 401, "unauthorized", "Authentication required", "a bearer token is required", None,
            "No token, or a token that is unknown or revoked";
        Forbidden, 403, "forbidden", "Not allowed", "a viewer token cannot change anything", None,
            "The token's role may not do this";
        NotFound, 404, "not-found", "Not found", "no organisation with this id", None,
            "No such resource, or it lies outside the token's subtree";
        Conflict, 409, "conflict", "Conflict", "code: is already taken",
            Some(serde_json::json!([{"field": "code", "message": "is already taken"}])),
            "A duplicate key, a resource still in use, or a state that does not allow the change";
        PreconditionFailed, 412, "precondition-failed", "Precondition failed",
            "the resource has changed since it was read: its ETag no longer matches If-Match", None,
            "If-Match does not match the current ETag";
        Gone, 410, "gone", "No longer available",
            "the feed no longer keeps the changes after this cursor (kept from position 5001): re-read the collections, then follow the feed from a fresh cursor",
            None, "The cursor is older than the change feed keeps: re-read the collections and start from a fresh cursor";
        PayloadTooLarge, 413, "payload-too-large", "Request body too large",
            "the request body is larger than 65536 bytes", None, "The body is larger than 64 KiB";
        UploadTooLarge, 413, "payload-too-large", "Request body too large",
            "the request body is larger than 33554432 bytes", None, "The file is larger than 32 MiB";
        NotAcceptable, 406, "not-acceptable", "Not acceptable",
            "reports are available as application/json or text/csv", None,
            "The Accept header allows neither application/json nor text/csv";
        UnsupportedMediaType, 415, "unsupported-media-type", "Unsupported media type",
            "the request has no Content-Type; send application/json", None,
            "The body is not application/json or application/merge-patch+json";
        Unprocessable, 422, "validation", "Invalid input", "parent_id: no organisation with this id",
            Some(serde_json::json!([{"field": "parent_id", "message": "no organisation with this id"}])),
            "Well-formed input with invalid values; `errors` names each field";
        TooManyRequests, 429, "rate-limited", "Too many requests", "too many requests: try again in 12 seconds",
            None, "Rate limit reached for this token (or address, without a token)";
        InternalError, 500, "internal", "Internal error", "internal error", None,
            "An unexpected error; the body never carries internal details";
        Unavailable, 503, "unavailable", "Service unavailable", "the database is unavailable; try again shortly",
            None, "The database is unreachable";
    }
}

/// The finishing touches that the derive macros cannot express, applied to the whole collected document (the
/// route registrations included):
/// - each `Page_*` list schema refers to its item schema instead of carrying a copy of it;
/// - every `/api/v1` response declares the `RateLimit-Policy` and `RateLimit` headers (reusable components), and
///   every 429 and 503 its `Retry-After`;
/// - strings whose format fixes their length (`uuid`, `date`, `date-time`) say so with `maxLength`, and so do the
///   cursor and the headers;
/// - header parameters are strings, never `null`;
/// - the 500 problem response is documented on every /api/v1 operation;
/// - a merge patch may also be sent as `application/json`.
pub fn finish(doc: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    let mut value = serde_json::to_value(&doc).expect("the OpenAPI document serialises");
    finish_value(&mut value);
    serde_json::from_value(value).expect("the finished OpenAPI document is still an OpenAPI document")
}

/// The most items a page holds (`limit` at most 200).
const PAGE_MAX_ITEMS: usize = crate::pagination::MAX_LIMIT as usize;

fn finish_value(doc: &mut serde_json::Value) {
    use serde_json::{json, Value};

    let headers = json!({
        "RateLimit-Policy": {
            "description": "The rate limit policy that applies to the caller (IETF httpapi RateLimit draft): \
                `q` requests per `w` seconds, for example `\"default\";q=600;w=60`. Sent on every /api/v1 response.",
            "schema": {"type": "string", "maxLength": 200, "pattern": "^\"[a-z0-9_-]+\";q=[0-9]+;w=[0-9]+$"},
            "example": "\"default\";q=600;w=60"
        },
        "RateLimit": {
            "description": "What remains of the caller's quota (IETF httpapi RateLimit draft): `r` requests left, \
                `t` seconds until the window resets, for example `\"default\";r=598;t=42`. Sent on every /api/v1 \
                response.",
            "schema": {"type": "string", "maxLength": 200, "pattern": "^\"[a-z0-9_-]+\";r=[0-9]+;t=[0-9]+$"},
            "example": "\"default\";r=598;t=42"
        },
        "Retry-After": {
            "description": "Seconds to wait before retrying",
            "schema": {"type": "integer", "format": "int32", "minimum": 0, "maximum": 86400},
            "example": 12
        }
    });
    let header_ref = |name: &str| json!({"$ref": format!("#/components/headers/{name}")});
    let add_headers = |response: &mut Value, status: &str| {
        let Some(response) = response.as_object_mut() else {
            return;
        };
        if response.contains_key("$ref") {
            return;
        }
        let headers = response
            .entry("headers")
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("headers is an object");
        headers.insert("RateLimit-Policy".into(), header_ref("RateLimit-Policy"));
        headers.insert("RateLimit".into(), header_ref("RateLimit"));
        if status == "429" || status == "503" {
            headers.insert("Retry-After".into(), header_ref("Retry-After"));
        }
    };

    let components = doc["components"].as_object_mut().expect("the document has components");
    components.insert("headers".into(), headers);
    // The reusable responses are the errors of /api/v1 operations.
    if let Some(responses) = components.get_mut("responses").and_then(Value::as_object_mut) {
        for response in responses.values_mut() {
            let status = response["content"]["application/problem+json"]["example"]["status"].to_string();
            add_headers(response, &status);
            bound_headers(response);
        }
    }
    if let Some(schemas) = components.get_mut("schemas").and_then(Value::as_object_mut) {
        for (name, schema) in schemas.iter_mut() {
            if let Some(item) = name.strip_prefix("Page_") {
                let properties = &mut schema["properties"];
                properties["items"] = json!({
                    "type": "array",
                    "description": "The items of this page, at most `limit`.",
                    "items": {"$ref": format!("#/components/schemas/{item}")},
                    "maxItems": PAGE_MAX_ITEMS,
                });
                properties["next_cursor"]["maxLength"] = json!(CURSOR_MAX_LENGTH);
                properties["next_cursor"]["pattern"] = json!(CURSOR_PATTERN);
                properties["total"]["minimum"] = json!(0);
                properties["total"]["maximum"] = json!(i32::MAX);
            }
        }
        // A map's values cannot carry attributes in the derive.
        if let Some(counts) = schemas
            .get_mut("Organisation")
            .and_then(|o| o.pointer_mut("/properties/member_counts/additionalProperties"))
        {
            counts["minimum"] = json!(0);
            counts["maximum"] = json!(i32::MAX);
        }
    }

    let shared_responses = doc["components"]["responses"].clone();
    if let Some(paths) = doc["paths"].as_object_mut() {
        for (path, item) in paths.iter_mut() {
            if !path.starts_with("/api/v1/") {
                // Outside /api/v1 (the probes) there is no rate limit: a shared error response is copied there
                // without the RateLimit headers.
                for operation in item.as_object_mut().into_iter().flat_map(|i| i.values_mut()) {
                    for response in operation
                        .get_mut("responses")
                        .and_then(Value::as_object_mut)
                        .into_iter()
                        .flat_map(|r| r.values_mut())
                    {
                        let Some(name) = response["$ref"].as_str().and_then(|r| r.rsplit('/').next()) else {
                            continue;
                        };
                        let mut copy = shared_responses[name].clone();
                        if let Some(headers) = copy.get_mut("headers").and_then(Value::as_object_mut) {
                            headers.remove("RateLimit-Policy");
                            headers.remove("RateLimit");
                        }
                        *response = copy;
                    }
                }
                continue;
            }
            for (method, operation) in item.as_object_mut().into_iter().flat_map(|i| i.iter_mut()) {
                // Every /api/v1 operation needs the bearer token (the gate in front of /api/v1 asks for it).
                if let Some(operation) = operation.as_object_mut() {
                    operation.entry("security").or_insert_with(|| json!([{"bearer": []}]));
                }
                if let Some(responses) = operation.get_mut("responses").and_then(Value::as_object_mut) {
                    responses
                        .entry("500")
                        .or_insert_with(|| json!({"$ref": "#/components/responses/InternalError"}));
                    for (status, response) in responses.iter_mut() {
                        add_headers(response, status);
                        bound_headers(response);
                    }
                }
                // A merge patch is also accepted as plain application/json (api.md 1).
                if let Some(content) = operation
                    .pointer_mut("/requestBody/content")
                    .and_then(Value::as_object_mut)
                {
                    if let Some(patch) = content.get("application/merge-patch+json").cloned() {
                        content.entry("application/json").or_insert(patch);
                    }
                }
                for parameter in operation
                    .get_mut("parameters")
                    .and_then(Value::as_array_mut)
                    .into_iter()
                    .flatten()
                {
                    if parameter["in"] == "header" {
                        // A header is a string or absent, never `null`.
                        parameter["schema"] = json!({"type": "string", "maxLength": header_max_length(
                            parameter["name"].as_str().unwrap_or_default())});
                    }
                }
                if method == "post" {
                    idempotent(operation);
                }
            }
        }
    }
    bound_formats(doc);
}

/// Declares what `Idempotency-Key` adds to a `POST` (api.md 1; see [`crate::idempotency`]): the header, the
/// `Idempotent-Replayed` header of a replay, and the 409 and 422 it can answer.
fn idempotent(operation: &mut serde_json::Value) {
    use serde_json::{json, Value};
    let key = json!({
        "name": "Idempotency-Key",
        "in": "header",
        "required": false,
        "description": "Makes a retry safe: the first request with a key is processed and its answer kept for 24 \
            hours for this token; repeating the same method, path, query and body with the key replays that answer \
            (with `Idempotent-Replayed: true`) and changes nothing. The same key with another request answers 422; \
            a repeat while the first is still being processed answers 409. 1 to 255 printable ASCII characters.",
        "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x20-\\x7E]{1,255}$"},
        "example": "5b0d8f52-admit-hoa"
    });
    if let Some(operation) = operation.as_object_mut() {
        let parameters = operation.entry("parameters").or_insert_with(|| json!([]));
        if let Some(parameters) = parameters.as_array_mut() {
            parameters.push(key);
        }
    }
    let Some(responses) = operation.get_mut("responses").and_then(Value::as_object_mut) else {
        return;
    };
    for (status, response) in responses.iter_mut() {
        if status.starts_with('2') && response.get("$ref").is_none() {
            let headers = response
                .as_object_mut()
                .map(|r| r.entry("headers").or_insert_with(|| json!({})));
            if let Some(headers) = headers.and_then(Value::as_object_mut) {
                headers.insert(
                    "Idempotent-Replayed".into(),
                    json!({"description": "`true` when this is the kept answer to an earlier request with the same \
                        Idempotency-Key", "schema": {"type": "string", "enum": ["true"], "maxLength": 4}}),
                );
            }
        }
    }
    responses
        .entry("409")
        .or_insert_with(|| json!({"$ref": "#/components/responses/Conflict"}));
    responses
        .entry("422")
        .or_insert_with(|| json!({"$ref": "#/components/responses/Unprocessable"}));
}

/// The longest cursor a list accepts: a cursor it handed out is far shorter.
pub const CURSOR_MAX_LENGTH: usize = 1024;
/// A cursor is base64url without padding.
pub const CURSOR_PATTERN: &str = "^[A-Za-z0-9_-]+$";

/// The longest value of a header the document names.
fn header_max_length(name: &str) -> usize {
    match name {
        "ETag" => 64,
        "Location" => 200,
        "Link" => 4096,
        // Entity-tag lists in conditional requests.
        _ => crate::extract::MAX_ENTITY_TAG_LIST,
    }
}

/// Bounds the headers a response declares inline.
fn bound_headers(response: &mut serde_json::Value) {
    let Some(headers) = response.get_mut("headers").and_then(serde_json::Value::as_object_mut) else {
        return;
    };
    for (name, header) in headers.iter_mut() {
        if let Some(schema) = header.get_mut("schema").and_then(serde_json::Value::as_object_mut) {
            if schema.get("type").is_some_and(|t| t == "string") {
                schema.entry("maxLength").or_insert(header_max_length(name).into());
            }
        }
    }
}

/// Gives every string whose format fixes its length a `maxLength`, wherever it is.
fn bound_formats(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let is_string = match map.get("type") {
                Some(Value::String(t)) => t == "string",
                Some(Value::Array(types)) => types.iter().any(|t| t == "string"),
                _ => false,
            };
            let max = match map.get("format").and_then(Value::as_str) {
                Some("uuid") => Some(36),
                Some("date") => Some(10),
                Some("date-time") => Some(40),
                _ => None,
            };
            if let (true, Some(max)) = (is_string, max) {
                map.entry("maxLength").or_insert(max.into());
            }
            map.values_mut().for_each(bound_formats);
        }
        Value::Array(items) => items.iter_mut().for_each(bound_formats),
        _ => {}
    }
}
