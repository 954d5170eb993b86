//! `/api/v1/imports`: spreadsheets of members or organisations, checked row by row and imported whole or not at
//! all.

use std::io::Cursor;

use actix_web::http::header;
use actix_web::{post, web, HttpResponse, HttpResponseBuilder};
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::RefOr;
use utoipa::{IntoParams, PartialSchema, ToSchema};

use super::sheet::{self, Unreadable};
use super::{run, Errors, Kind, Outcome, RowError};
use crate::auth::Actor;
use crate::error::{ApiError, PROBLEM_JSON};
use crate::extract::{ApiQuery, Upload, UPLOAD_LIMIT};
use crate::openapi::responses::*;
use crate::state::AppState;

/// The options of an import.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// Check every row as the import would, and store nothing.
    dry_run: Option<bool>,
}

/// The schema of an uploaded file: a string of at most [`UPLOAD_LIMIT`] bytes.
fn file_schema(format: Option<KnownFormat>, description: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(format.map(SchemaFormat::KnownFormat))
        .max_length(Some(UPLOAD_LIMIT))
        .description(Some(description))
        .into()
}

/// The request body of an import as CSV.
pub struct CsvFile;

impl PartialSchema for CsvFile {
    fn schema() -> RefOr<Schema> {
        file_schema(
            None,
            "A CSV file: UTF-8 (a byte order mark allowed), comma-separated, a header row naming the columns.",
        )
    }
}

impl ToSchema for CsvFile {}

/// The request body of an import as an Excel workbook.
pub struct Workbook;

impl PartialSchema for Workbook {
    fn schema() -> RefOr<Schema> {
        file_schema(
            Some(KnownFormat::Binary),
            "An Excel workbook (`.xlsx`); the first sheet is read, its first row naming the columns.",
        )
    }
}

impl ToSchema for Workbook {}

/// An import refused because rows have errors: a problem document with the import's counts, each error naming
/// its row. Nothing was stored.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"type": "urn:partybase:problem:validation", "title": "Invalid input", "status": 422,
    "detail": "1 row error(s); nothing was imported", "rows": 2, "imported": 0,
    "errors": [{"row": 3, "field": "organisation_code", "message": "no organisation with this code"}]}))]
pub struct ImportProblem {
    #[schema(example = "urn:partybase:problem:validation", max_length = 200)]
    pub r#type: String,
    #[schema(example = "Invalid input", max_length = 200)]
    pub title: String,
    #[schema(example = 422, minimum = 422, maximum = 422)]
    pub status: u16,
    #[schema(example = "1 row error(s); nothing was imported", max_length = 10000)]
    pub detail: String,
    /// Data rows read. Absent, with `imported`, when the request was refused before the file was read (an
    /// `Idempotency-Key` used before for another body).
    #[schema(example = 2, minimum = 0, maximum = 9007199254740991_i64, required = false)]
    pub rows: u64,
    /// Always 0: nothing is stored when a row has an error.
    #[schema(example = 0, minimum = 0, maximum = 0, required = false)]
    pub imported: u64,
    /// The first 1000 errors, in row order.
    #[schema(min_items = 1, max_items = 1000)]
    pub errors: Vec<RowError>,
}

/// The answer to an import: 201 when stored, 200 for a clean dry run, 422 (a problem document) with row errors.
fn respond(outcome: Outcome, dry_run: bool) -> HttpResponse {
    let json = |mut response: HttpResponseBuilder, content_type: &str, body: Vec<u8>| {
        response
            .insert_header((header::CONTENT_TYPE, content_type.to_owned()))
            .body(body)
    };
    if outcome.errors.is_empty() {
        let body = serde_json::to_vec(&outcome).unwrap_or_default();
        let response = if dry_run {
            HttpResponse::Ok()
        } else {
            HttpResponse::Created()
        };
        return json(response, "application/json", body);
    }
    let problem = ImportProblem {
        r#type: "urn:partybase:problem:validation".into(),
        title: "Invalid input".into(),
        status: 422,
        detail: format!("{} row error(s); nothing was imported", outcome.errors.len()),
        rows: outcome.rows,
        imported: 0,
        errors: outcome.errors,
    };
    json(
        HttpResponse::UnprocessableEntity(),
        PROBLEM_JSON,
        serde_json::to_vec(&problem).unwrap_or_default(),
    )
}

/// Runs an import of an uploaded file.
async fn import(
    state: &AppState,
    actor: &Actor,
    kind: Kind,
    upload: Upload,
    dry_run: bool,
) -> Result<HttpResponse, ApiError> {
    actor.require_writer()?;
    let outcome = match sheet::open(upload.format, Cursor::new(upload.body)) {
        Ok(rows) => {
            let mut conn = state.write().await?;
            run(&mut conn, actor, kind, rows, dry_run, &|_| {}).await?
        }
        Err(unreadable) => unreadable_file(unreadable),
    };
    Ok(respond(outcome, dry_run))
}

/// The outcome for a file that cannot be opened at all.
fn unreadable_file(Unreadable { number, message }: Unreadable) -> Outcome {
    let mut errors = Errors::default();
    errors.push(number, "file", message);
    Outcome {
        rows: 0,
        imported: 0,
        errors: errors.into_sorted(),
        import_id: None,
    }
}

/// Import members
///
/// Admits every member of a spreadsheet: CSV (`text/csv`, UTF-8) or an Excel workbook (first sheet), at most
/// 32 MiB, with a header row naming the columns: `full_name`, `gender`, `birth_date`, `organisation_code`,
/// `admitted_on`, `status`, `official_on`, `card_number`, `national_id`, `ethnicity`, `religion`, `hometown`,
/// `education_level`, `qualification`, `political_theory`, `note` (`full_name`, `birth_date`, `organisation_code`
/// and `admitted_on` required; `GET /api/v1/members` with `Accept: text/csv` writes exactly these). Each row is an admission, checked by the
/// rules of `POST /api/v1/members`, into the organisation with that `code` inside the token's subtree; a row with
/// `status` `official` and `official_on` is an official member recognised elsewhere (12 months after admission at
/// the earliest). Card numbers and national ids are unique in the file and in the registry. Dates are
/// `YYYY-MM-DD` or `DD/MM/YYYY`; an empty cell is no value. All rows are stored in one transaction, each member
/// with its history and an audit record naming the import (`import_id`), or none: any row error answers 422 with
/// every error by line number (the header is line 1). `dry_run=true` checks and stores nothing (200).
#[utoipa::path(
    tag = "imports",
    params(ImportQuery),
    request_body(description = "The spreadsheet", content(
        (CsvFile = "text/csv", example = json!("full_name,gender,birth_date,organisation_code,admitted_on\r\nNguyễn Thị Ánh,female,1990-04-12,TS-XA-TT-CB1,2012-05-19\r\n")),
        (Workbook = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    )),
    responses(
        (status = 201, description = "Every row imported", body = Outcome),
        (status = 200, description = "Dry run: every row is fine; nothing was stored", body = Outcome),
        (status = 422, description = "Rows with errors; nothing was stored", body = ImportProblem,
            content_type = "application/problem+json"),
        ImportErrors,
    )
)]
#[post("/members")]
pub async fn import_members(
    state: web::Data<AppState>,
    actor: Actor,
    query: ApiQuery<ImportQuery>,
    upload: Upload,
) -> Result<HttpResponse, ApiError> {
    let dry_run = query.0.dry_run.unwrap_or(false);
    import(&state, &actor, Kind::Members, upload, dry_run).await
}

/// Import organisations
///
/// Creates every organisation of a spreadsheet (CSV or an Excel workbook, as for members) with the columns
/// `code`, `name`, `kind`, `sector`, `parent_code`, `established_on`, `dissolved_on`, `address`, `note` (`code`,
/// `name` and `kind` required; `GET /api/v1/organisations` with `Accept: text/csv` writes exactly these). Each row
/// is created by the rules of `POST /api/v1/organisations`; `parent_code` names an organisation of an earlier row
/// or one inside the token's subtree (empty: a root, which only an admin creates). All rows are stored in one
/// transaction, or none: any row error answers 422 with every error by line number. `dry_run=true` checks and
/// stores nothing (200).
#[utoipa::path(
    tag = "imports",
    params(ImportQuery),
    request_body(description = "The spreadsheet", content(
        (CsvFile = "text/csv", example = json!("code,name,kind,parent_code\r\nTS-XA-TT,Đảng bộ xã Tất Thắng,base_committee,TS\r\n")),
        (Workbook = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    )),
    responses(
        (status = 201, description = "Every row imported", body = Outcome),
        (status = 200, description = "Dry run: every row is fine; nothing was stored", body = Outcome),
        (status = 422, description = "Rows with errors; nothing was stored", body = ImportProblem,
            content_type = "application/problem+json"),
        ImportErrors,
    )
)]
#[post("/organisations")]
pub async fn import_organisations(
    state: web::Data<AppState>,
    actor: Actor,
    query: ApiQuery<ImportQuery>,
    upload: Upload,
) -> Result<HttpResponse, ApiError> {
    let dry_run = query.0.dry_run.unwrap_or(false);
    import(&state, &actor, Kind::Organisations, upload, dry_run).await
}

/// Registers the import routes.
pub fn routes(config: &mut utoipa_actix_web::service_config::ServiceConfig) {
    config.service(import_members).service(import_organisations);
}
