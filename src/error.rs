//! One error type for the whole API, rendered as RFC 9457 `application/problem+json`.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// One invalid input: which field (or query parameter, or header) and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// The field, as a JSON path (`targets[0].unit`), a query parameter or a header name.
    #[schema(example = "code", max_length = 1000)]
    pub field: String,
    /// What is wrong, in plain English.
    #[schema(example = "must be 1 to 32 characters", max_length = 1000)]
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// An RFC 9457 problem document, the body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem; stable, so clients may branch on it.
    #[schema(example = "urn:partybase:problem:validation", max_length = 200)]
    pub r#type: String,
    /// A short summary of the kind of problem.
    #[schema(example = "Invalid input", max_length = 200)]
    pub title: String,
    /// The HTTP status code.
    #[schema(example = 422, minimum = 100, maximum = 599)]
    pub status: u16,
    /// What went wrong in this request.
    #[schema(example = "the request has 1 invalid field", max_length = 10000)]
    pub detail: String,
    /// The fields at fault, for validation problems.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(max_items = 1000)]
    pub errors: Vec<FieldError>,
}

/// Every way a request can fail.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Malformed syntax: a body that is not JSON, a bad query or path value.
    #[error("{detail}")]
    BadRequest { detail: String, errors: Vec<FieldError> },
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("method {method} is not allowed here")]
    MethodNotAllowed { method: String, allow: Vec<String> },
    /// A duplicate key, a resource still in use or a state that does not allow the change.
    #[error("{detail}")]
    Conflict { detail: String, errors: Vec<FieldError> },
    /// What the request names is no longer kept (a change-feed cursor older than the feed's retention).
    #[error("{0}")]
    Gone(String),
    #[error("the resource has changed since it was read: its ETag no longer matches If-Match")]
    PreconditionFailed,
    #[error("the request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("the request body did not arrive within {0} seconds")]
    RequestTimeout(u64),
    #[error("the request target is longer than {0} bytes")]
    UriTooLong(usize),
    #[error("the request header block is larger than {0} bytes")]
    HeadersTooLarge(usize),
    #[error("{0}")]
    NotAcceptable(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Well-formed input with invalid values.
    #[error("the request has {} invalid field(s)", .0.len())]
    Validation(Vec<FieldError>),
    #[error("too many requests: try again in {0} seconds")]
    TooManyRequests(u64),
    #[error("the database is unavailable; try again shortly")]
    Unavailable,
    /// Anything unexpected. The cause is logged, never sent.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    pub fn bad_request(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        ApiError::BadRequest {
            detail: format!("{field}: {message}"),
            errors: vec![FieldError::new(field, message)],
        }
    }

    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Validation(vec![FieldError::new(field, message)])
    }

    pub fn conflict(detail: impl Into<String>) -> Self {
        ApiError::Conflict {
            detail: detail.into(),
            errors: Vec::new(),
        }
    }

    pub fn conflict_on(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        ApiError::Conflict {
            detail: format!("{field}: {message}"),
            errors: vec![FieldError::new(field, message)],
        }
    }

    pub fn not_found(what: &str) -> Self {
        ApiError::NotFound(format!("no {what} with this id"))
    }

    fn kind(&self) -> (&'static str, &'static str) {
        match self {
            ApiError::BadRequest { .. } => ("bad-request", "Malformed request"),
            ApiError::Unauthorized(_) => ("unauthorized", "Authentication required"),
            ApiError::Forbidden(_) => ("forbidden", "Not allowed"),
            ApiError::NotFound(_) => ("not-found", "Not found"),
            ApiError::MethodNotAllowed { .. } => ("method-not-allowed", "Method not allowed"),
            ApiError::Conflict { .. } => ("conflict", "Conflict"),
            ApiError::Gone(_) => ("gone", "No longer available"),
            ApiError::PreconditionFailed => ("precondition-failed", "Precondition failed"),
            ApiError::PayloadTooLarge(_) => ("payload-too-large", "Request body too large"),
            ApiError::RequestTimeout(_) => ("request-timeout", "Request timeout"),
            ApiError::UriTooLong(_) => ("uri-too-long", "Request target too long"),
            ApiError::HeadersTooLarge(_) => ("headers-too-large", "Request headers too large"),
            ApiError::NotAcceptable(_) => ("not-acceptable", "Not acceptable"),
            ApiError::UnsupportedMediaType(_) => ("unsupported-media-type", "Unsupported media type"),
            ApiError::Validation(_) => ("validation", "Invalid input"),
            ApiError::TooManyRequests(_) => ("rate-limited", "Too many requests"),
            ApiError::Unavailable => ("unavailable", "Service unavailable"),
            ApiError::Internal(_) => ("internal", "Internal error"),
        }
    }

    /// The problem document for this error.
    pub fn problem(&self) -> Problem {
        let (slug, title) = self.kind();
        let errors = match self {
            ApiError::BadRequest { errors, .. } | ApiError::Conflict { errors, .. } => errors.clone(),
            ApiError::Validation(errors) => errors.clone(),
            _ => Vec::new(),
        };
        let detail = match self {
            ApiError::Validation(errors) => errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect::<Vec<_>>()
                .join("; "),
            other => other.to_string(),
        };
        Problem {
            r#type: format!("urn:partybase:problem:{slug}"),
            title: title.to_owned(),
            status: self.status_code().as_u16(),
            detail,
            errors,
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::Gone(_) => StatusCode::GONE,
            ApiError::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::UriTooLong(_) => StatusCode::URI_TOO_LONG,
            ApiError::HeadersTooLarge(_) => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ApiError::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(cause) = self {
            log::error!("internal error: {cause:#}");
        }
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)));
        match self {
            ApiError::MethodNotAllowed { allow, .. } => {
                response.insert_header((header::ALLOW, allow.join(", ")));
            }
            ApiError::TooManyRequests(seconds) => {
                response.insert_header((header::RETRY_AFTER, seconds.to_string()));
            }
            ApiError::Unauthorized(_) => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            ApiError::Unavailable => {
                response.insert_header((header::RETRY_AFTER, "5"));
            }
            ApiError::RequestTimeout(_) => {
                response.insert_header((header::CONNECTION, "close"));
            }
            _ => {}
        }
        response.body(serde_json::to_vec(&self.problem()).unwrap_or_default())
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(error: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind as Kind, Error};
        match error {
            Error::NotFound => ApiError::NotFound("not found".into()),
            Error::DatabaseError(Kind::ClosedConnection, _) => ApiError::Unavailable,
            Error::DatabaseError(Kind::UniqueViolation, info) => {
                ApiError::conflict_on(unique_key_field(info.constraint_name()), "is already taken")
            }
            Error::DatabaseError(Kind::ForeignKeyViolation, info) => {
                log::info!("foreign key refused a write: {:?}", info.constraint_name());
                ApiError::conflict("the change conflicts with records that refer to this resource")
            }
            // The service checks values before writing; a database check that still refuses one is a value the
            // client sent, not a fault of the service. The constraint name tells which rule, never the value.
            Error::DatabaseError(Kind::CheckViolation | Kind::NotNullViolation, info) => ApiError::invalid(
                "body",
                format!(
                    "a value breaks the rule {}",
                    info.constraint_name().unwrap_or("of the schema")
                ),
            ),
            Error::DatabaseError(Kind::SerializationFailure, _) => {
                ApiError::conflict("a concurrent change got there first; retry the request")
            }
            // Writers of the kept counts lock shard rows across several statements; two of them can wait on each
            // other, and PostgreSQL then cancels one (SQLSTATE 40P01, which diesel does not pass on).
            Error::DatabaseError(Kind::Unknown, ref info) if is_deadlock(info.message()) => {
                log::warn!("a transaction was chosen as a deadlock victim and rolled back");
                ApiError::conflict("a concurrent change got there first; retry the request")
            }
            Error::DatabaseError(Kind::Unknown, ref info) if is_connection_error(info.message()) => {
                ApiError::Unavailable
            }
            Error::DatabaseError(Kind::Unknown, ref info) if is_statement_timeout(info.message()) => {
                log::warn!("a statement ran past statement_timeout and was cancelled");
                ApiError::Unavailable
            }
            other => ApiError::Internal(other.into()),
        }
    }
}

/// PostgreSQL's words when `statement_timeout` cancels a statement (SQLSTATE 57014, which diesel does not pass
/// on). The server's messages are in English unless `lc_messages` says otherwise; see the README.
fn is_statement_timeout(message: &str) -> bool {
    message.contains("statement timeout")
}

/// Whether `statement_timeout` cancelled the statement that failed with `error`.
pub fn ran_past_statement_timeout(error: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind as Kind, Error};
    matches!(error, Error::DatabaseError(Kind::Unknown, info) if is_statement_timeout(info.message()))
}

/// PostgreSQL's words for a transaction cancelled to break a deadlock.
fn is_deadlock(message: &str) -> bool {
    message.contains("deadlock detected")
}

fn is_connection_error(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    ["connection", "terminating", "shutting down", "the database system is"]
        .iter()
        .any(|m| message.contains(m))
}

/// The field a violated unique key is about, from the constraint's name (PostgreSQL's message text is translated
/// under another `lc_messages`; the name is not): for a key within a parent, the field the client chose (`number`
/// of `(issuing_organisation_id, number)`). The value itself is never passed on.
fn unique_key_field(constraint: Option<&str>) -> &'static str {
    match constraint.unwrap_or_default() {
        "organisations_code_key" => "code",
        "api_tokens_name_key" => "name",
        "members_card_number_key" => "card_number",
        "members_national_id_key" => "national_id",
        "resolutions_issuing_organisation_id_number_key" => "number",
        "resolution_implementations_resolution_id_organisation_id_key" => "organisation_id",
        "evaluations_organisation_id_year_key" | "member_evaluations_member_id_year_key" => "year",
        "dues_member_id_period_key" => "period",
        _ => "id",
    }
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for ApiError {
    fn from(error: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        log::warn!("no database connection: {error}");
        ApiError::Unavailable
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_violations_name_their_field_by_constraint() {
        assert_eq!(unique_key_field(Some("organisations_code_key")), "code");
        assert_eq!(
            unique_key_field(Some("resolutions_issuing_organisation_id_number_key")),
            "number"
        );
        assert_eq!(unique_key_field(Some("members_pkey")), "id");
        assert_eq!(unique_key_field(None), "id");
    }

    #[test]
    fn a_validation_problem_lists_its_fields() {
        let problem = ApiError::Validation(vec![
            FieldError::new("code", "is required"),
            FieldError::new("kind", "unknown value"),
        ])
        .problem();
        assert_eq!(problem.status, 422);
        assert_eq!(problem.r#type, "urn:partybase:problem:validation");
        assert_eq!(problem.detail, "code: is required; kind: unknown value");
        assert_eq!(problem.errors.len(), 2);
    }

    #[test]
    fn database_refusals_map_to_client_errors() {
        use diesel::result::{DatabaseErrorKind as Kind, Error};
        let refusal = |kind| ApiError::from(Error::DatabaseError(kind, Box::new("refused".to_string())));
        assert_eq!(
            refusal(Kind::CheckViolation).status_code(),
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(refusal(Kind::UniqueViolation).status_code(), StatusCode::CONFLICT);
        assert_eq!(refusal(Kind::ForeignKeyViolation).status_code(), StatusCode::CONFLICT);
        assert_eq!(
            refusal(Kind::ClosedConnection).status_code(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(ApiError::from(Error::NotFound).status_code(), StatusCode::NOT_FOUND);
        let deadlock = Error::DatabaseError(Kind::Unknown, Box::new("deadlock detected".to_string()));
        assert_eq!(ApiError::from(deadlock).status_code(), StatusCode::CONFLICT);
    }

    #[test]
    fn internal_causes_are_not_sent() {
        let problem = ApiError::Internal(anyhow::anyhow!("SELECT secret FROM t")).problem();
        assert_eq!(problem.detail, "internal error");
    }
}
