//! The OpenAPI document: general information, tags, the bearer scheme and the reusable error responses. The
//! operations themselves are collected from the route registrations in [`crate::app`].

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::{FieldError, Problem};
use crate::models::member::MemberSort;
use crate::pagination::CountMode;
use crate::routes::reports::GroupBy;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "partybase",
        description = "Registry of grassroots party organisations: the organisation tree, members, thematic \
            resolutions and yearly evaluations. Every `/api/v1` operation needs `Authorization: Bearer <token>`. \
            Errors are RFC 9457 `application/problem+json` documents."
    ),
    tags(
        (name = "organisations", description = "The organisation tree"),
        (name = "members", description = "Party members, their admission, lifecycle and history"),
        (name = "resolutions", description = "Thematic resolutions and how each organisation implements them"),
        (name = "evaluations", description = "Yearly quality evaluations of base organisations and members, and the rating schemes"),
        (name = "reports", description = "Figures a committee publishes, as JSON or CSV (`Accept: text/csv`)"),
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
            responses::PayloadTooLarge,
            responses::NotAcceptable,
            responses::UnsupportedMediaType,
            responses::Unprocessable,
            responses::TooManyRequests,
            responses::Unavailable,
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
        PayloadTooLarge, 413, "payload-too-large", "Request body too large",
            "the request body is larger than 65536 bytes", None, "The body is larger than 64 KiB";
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
        Unavailable, 503, "unavailable", "Service unavailable", "the database is unavailable; try again shortly",
            None, "The database is unreachable";
    }
}
