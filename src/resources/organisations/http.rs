//! `/api/v1/organisations`: the organisation tree.

use actix_web::http::header;
use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse, HttpResponseBuilder};
use chrono::NaiveDate;
use diesel_async::AsyncConnection;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::Actor;
use crate::domain::ids::OrganisationId;
use crate::domain::organisation::{OrganisationKind, Sector};
use crate::domain::today;
use crate::error::ApiError;
use crate::extract::{double_option, ApiJson, ApiQuery, Preconditions};
use crate::openapi::responses::*;
use crate::pagination::{comma_list, ListQuery, Page, PageParams};
use crate::resources::organisations::service::{self, Counted, Criteria, Draft, Patch};
use crate::resources::organisations::view::Organisation;
use crate::state::AppState;

/// A new organisation.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"code": "TS-XA-TINHNHUE", "name": "Đảng bộ xã Tinh Nhuệ", "kind": "base_committee",
    "sector": "commune", "parent_id": "0193a5c8-7f3e-7a10-9c4e-3b1f2a6d8e00", "established_on": "1975-03-01"}))]
pub struct CreateOrganisation {
    /// Unique, 1 to 32 characters, no spaces.
    #[schema(min_length = 1, max_length = 32, pattern = r"^[^\s\x00-\x1f\x7f-\x9f]{1,32}$")]
    pub code: String,
    /// 1 to 200 characters.
    #[schema(min_length = 1, max_length = 200, pattern = r"^[^\x00]*[^\s\x00][^\x00]*$")]
    pub name: String,
    pub kind: OrganisationKind,
    #[serde(default)]
    pub sector: Option<Sector>,
    /// Required for every kind but `superior_committee`, which may be a root.
    #[serde(default)]
    pub parent_id: Option<Uuid>,
    #[serde(default)]
    pub established_on: Option<NaiveDate>,
    #[serde(default)]
    pub dissolved_on: Option<NaiveDate>,
    #[serde(default)]
    #[schema(max_length = 500, pattern = r"^[^\x00]*$")]
    pub address: Option<String>,
    #[serde(default)]
    #[schema(max_length = 4000, pattern = r"^[^\x00]*$")]
    pub note: Option<String>,
}

/// A JSON merge patch of an organisation: absent fields stay, `null` clears a nullable field.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Đảng bộ xã Tinh Nhuệ (mới)", "dissolved_on": null}))]
pub struct UpdateOrganisation {
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = String, min_length = 1, max_length = 32, pattern = r"^[^\s\x00-\x1f\x7f-\x9f]{1,32}$")]
    pub code: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = String, min_length = 1, max_length = 200, pattern = r"^[^\x00]*[^\s\x00][^\x00]*$")]
    pub name: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = OrganisationKind)]
    pub kind: Option<Option<OrganisationKind>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Sector>)]
    pub sector: Option<Option<Sector>>,
    /// Moves the organisation (and its whole subtree) under another parent.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Uuid>)]
    pub parent_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<NaiveDate>)]
    pub established_on: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<NaiveDate>)]
    pub dissolved_on: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 500, pattern = r"^[^\x00]*$")]
    pub address: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 4000, pattern = r"^[^\x00]*$")]
    pub note: Option<Option<String>>,
}

/// Filters of the organisation list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OrganisationQuery {
    /// Only the direct children of this organisation.
    parent_id: Option<Uuid>,
    /// Every descendant of this organisation, at any depth (not the organisation itself).
    under: Option<Uuid>,
    /// Comma list of kinds, for example `base_committee,base_cell`.
    #[param(
        example = "base_committee,base_cell",
        max_length = 94,
        pattern = r"^(superior_committee|base_committee|base_cell|partial_committee|cell)(,(superior_committee|base_committee|base_cell|partial_committee|cell)){0,4}$"
    )]
    kind: Option<String>,
    sector: Option<Sector>,
    /// `true`: not dissolved as of today; `false`: dissolved.
    active: Option<bool>,
    /// Accent- and case-insensitive text in the name or code: `thanh son` finds `Thanh Sơn`.
    #[param(example = "thanh son", max_length = 200, pattern = r"^[^\x00]*$")]
    q: Option<String>,
    /// The tree as it stood at the end of this day: organisations established by then and not yet dissolved, each
    /// under the parent, with the name and kind it had then; `under` and `parent_id` follow that day's tree, and
    /// `active=false` selects none. Without it, today's tree.
    #[param(example = "2024-12-31")]
    as_of: Option<NaiveDate>,
}

/// The day a read of one organisation looks at.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AsOfQuery {
    /// The tree as it stood at the end of this day (default: today). An organisation that did not exist on that
    /// day answers 404.
    #[param(example = "2024-12-31")]
    as_of: Option<NaiveDate>,
}

/// One dated version of an organisation's place and identity.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"valid_from": "1997-01-01", "valid_to": "2025-07-01",
    "parent_id": "0193a5c8-7f3e-7a10-9c4e-3b1f2a6d8e00", "name": "Chi bộ khu 3", "kind": "cell",
    "reorganisation_id": null}))]
pub struct OrganisationVersion {
    /// The first day of this version; `null` when the organisation's establishment is not recorded.
    pub valid_from: Option<NaiveDate>,
    /// The day the next version (or the organisation's dissolution) took effect; `null` while still valid.
    pub valid_to: Option<NaiveDate>,
    /// The parent in this version; `null` for a root.
    pub parent_id: Option<Uuid>,
    #[schema(max_length = 200)]
    pub name: String,
    pub kind: OrganisationKind,
    /// The reorganisation that made this version; `null` when it came from a plain change of the organisation
    /// (or from its creation).
    pub reorganisation_id: Option<Uuid>,
}

/// An organisation's history.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrganisationHistory {
    /// The versions, oldest first.
    #[schema(max_items = 100000)]
    pub items: Vec<OrganisationVersion>,
}

impl From<CreateOrganisation> for Draft {
    fn from(body: CreateOrganisation) -> Self {
        Draft {
            code: body.code,
            name: body.name,
            kind: body.kind,
            sector: body.sector,
            parent_id: body.parent_id.map(OrganisationId),
            established_on: body.established_on,
            dissolved_on: body.dissolved_on,
            address: body.address,
            note: body.note,
        }
    }
}

impl From<UpdateOrganisation> for Patch {
    fn from(body: UpdateOrganisation) -> Self {
        Patch {
            code: body.code,
            name: body.name,
            kind: body.kind,
            sector: body.sector,
            parent_id: body.parent_id.map(|p| p.map(OrganisationId)),
            established_on: body.established_on,
            dissolved_on: body.dissolved_on,
            address: body.address,
            note: body.note,
        }
    }
}

/// One organisation with its subtree's member counts, and its ETag.
fn respond(mut response: HttpResponseBuilder, counted: Counted) -> HttpResponse {
    response
        .insert_header((header::ETAG, counted.etag()))
        .json(Organisation::counted(counted, today()))
}

/// List organisations
///
/// Lists the organisations inside the token's subtree, in creation order, filtered by parent, subtree, kind,
/// sector, activity or text. With `Accept: text/csv`, every organisation of today's tree the filters select (no
/// page limit; `limit`, `count` and `as_of` do not apply), parents before their children, streamed as a CSV file
/// with a UTF-8 byte order mark, in the columns `POST /api/v1/imports/organisations` reads; the parent of the
/// token's own organisation is outside its subtree and left out (`parent_code` empty).
#[utoipa::path(
    tag = "organisations",
    params(OrganisationQuery, PageParams),
    responses(
        (status = 200, description = "A page of organisations, or every selected organisation as CSV",
            content(
                (Page<Organisation> = "application/json"),
                (String = "text/csv", example = "\u{feff}code,name,kind,sector,parent_code,established_on,dissolved_on,address,note\r\nTS-XA-TT,Đảng bộ xã Tất Thắng,base_committee,commune,TS,1975-03-01,,,\r\n")
            ),
            headers(("Link" = String, description = "`<...>; rel=\"next\"` when there is a next page (JSON)"))),
        ListErrors,
    )
)]
#[get("")]
pub async fn list_organisations(
    state: web::Data<AppState>,
    actor: Actor,
    query: ListQuery<OrganisationQuery>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let ListQuery { page, filters } = query;
    if filters.q.as_deref().is_some_and(|q| q.chars().count() > 200) {
        return Err(ApiError::bad_request("q", "must be at most 200 characters"));
    }
    let criteria = Criteria {
        parent_id: filters.parent_id.map(OrganisationId),
        under: filters.under.map(OrganisationId),
        kinds: filters.kind.as_deref().map(|k| comma_list("kind", k)).transpose()?,
        sector: filters.sector,
        active: filters.active,
        q: filters.q,
        as_of: filters.as_of,
    };
    let after = page.after::<OrganisationId>()?;
    let mut conn = state.read().await?;
    if crate::csv::wants_csv(&req) {
        return Ok(crate::resources::imports::export::organisations_csv(
            conn, actor, criteria,
        ));
    }
    let day = criteria.as_of.unwrap_or_else(today);
    let (rows, total) = service::list(&mut conn, &actor, criteria, after, page.fetch(), page.count_exact).await?;
    let today = day;
    Ok(page
        .finish(rows, |r| r.id, |r| Organisation::from_row(r, today), total)
        .respond())
}

/// Read an organisation
///
/// Reads one organisation with the member counts of its subtree. `If-None-Match` with the current ETag answers 304.
/// With `as_of`, the organisation as it stood at the end of that day (its parent, name and kind then), without
/// member counts and without an ETag: a view of the past is not a version a write can name.
#[utoipa::path(
    tag = "organisations",
    params(("id" = Uuid, Path, description = "Organisation id"), AsOfQuery,
        ("If-None-Match" = Option<String>, Header, description = "An ETag; 304 when it is still current")),
    responses(
        (status = 200, description = "The organisation with its member counts", body = Organisation,
            headers(("ETag" = String, description = "The version and a digest of the member counts, quoted \
                (absent with `as_of`)"))),
        (status = 304, description = "Not modified since the ETag given in If-None-Match"),
        ReadErrors,
    )
)]
#[get("/{id}")]
pub async fn find_organisation(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    query: ApiQuery<AsOfQuery>,
    preconditions: Preconditions,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.read().await?;
    if let Some(day) = query.0.as_of {
        let row = service::find_on(&mut conn, &actor, OrganisationId(*id), day).await?;
        return Ok(HttpResponse::Ok().json(Organisation::from_row(row, day)));
    }
    let counted = service::find(&mut conn, &actor, OrganisationId(*id)).await?;
    if let Some(not_modified) = preconditions.not_modified_tag_response(&counted.etag()) {
        return Ok(not_modified);
    }
    Ok(respond(HttpResponse::Ok(), counted))
}

/// List an organisation's ancestors
///
/// Lists the ancestors of an organisation inside the token's subtree: the root first, the parent last. With
/// `as_of`, the ancestors it had at the end of that day, as they stood then.
#[utoipa::path(
    tag = "organisations",
    params(("id" = Uuid, Path, description = "Organisation id"), AsOfQuery),
    responses(
        (status = 200, description = "The ancestors, root first; `next_cursor` is always null", body = Page<Organisation>),
        ReadErrors,
    )
)]
#[get("/{id}/ancestors")]
pub async fn list_organisation_ancestors(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    query: ApiQuery<AsOfQuery>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.read().await?;
    let today = query.0.as_of.unwrap_or_else(today);
    let items = service::ancestors(&mut conn, &actor, OrganisationId(*id), query.0.as_of)
        .await?
        .into_iter()
        .map(|r| Organisation::from_row(r, today))
        .collect();
    Ok(HttpResponse::Ok().json(Page {
        items,
        next_cursor: None,
        total: None,
    }))
}

/// Read an organisation's history
///
/// Lists the dated versions of an organisation's place and identity (its parent, name and kind), oldest first:
/// each plain change and each reorganisation that changed one of them starts a version.
#[utoipa::path(
    tag = "organisations",
    params(("id" = Uuid, Path, description = "Organisation id")),
    responses(
        (status = 200, description = "The versions, oldest first", body = OrganisationHistory),
        ReadErrors,
    )
)]
#[get("/{id}/history")]
pub async fn list_organisation_history(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.read().await?;
    let items = service::history(&mut conn, &actor, OrganisationId(*id))
        .await?
        .into_iter()
        .map(|v| OrganisationVersion {
            valid_from: v.valid_from,
            valid_to: v.valid_to,
            parent_id: v.parent_id.map(Uuid::from),
            name: v.name,
            kind: v.kind,
            reorganisation_id: v.reorganisation_id,
        })
        .collect();
    Ok(HttpResponse::Ok().json(OrganisationHistory { items }))
}

/// Create an organisation
///
/// Creates an organisation. Its parent must exist inside the token's subtree and the parent's kind must admit the
/// child's kind (422); every kind but `superior_committee` needs a parent. `code` is unique (409).
#[utoipa::path(
    tag = "organisations",
    request_body(content = CreateOrganisation, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = Organisation,
            headers(("Location" = String, description = "URL of the new organisation"),
                ("ETag" = String, description = "Its version, quoted"))),
        CreateErrors,
    )
)]
#[post("")]
pub async fn create_organisation(
    state: web::Data<AppState>,
    actor: Actor,
    body: ApiJson<CreateOrganisation>,
) -> Result<HttpResponse, ApiError> {
    let draft = Draft::from(body.0);
    let mut conn = state.write().await?;
    let created = conn
        .transaction(async move |conn| service::create(conn, &actor, draft).await)
        .await?;
    let location = format!("/api/v1/organisations/{}", created.row.id);
    let mut response = HttpResponse::Created();
    response.insert_header((header::LOCATION, location));
    Ok(respond(response, created))
}

/// Change an organisation
///
/// Changes an organisation (JSON merge patch). Changing `parent_id` moves its whole subtree; a move that would make
/// a cycle, or a parent whose kind does not admit the child, answers 422. A token scoped to the organisation itself
/// may change only its descriptive fields (`name`, `address`, `note`): its `code`, `kind`, `sector`, `parent_id`,
/// `established_on` and `dissolved_on` are decided by the committee above (403). Setting `dissolved_on` while
/// candidates on their way to admission still belong to the organisation answers 409 naming them: a
/// reorganisation that transfers the members takes them along, or their withdrawal is recorded first.
#[utoipa::path(
    tag = "organisations",
    params(("id" = Uuid, Path, description = "Organisation id"),
        ("If-Match" = Option<String>, Header, description = "The ETag read last; 412 when the organisation has changed since")),
    request_body(content = UpdateOrganisation, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The changed organisation", body = Organisation,
            headers(("ETag" = String, description = "The new version, quoted"))),
        UpdateErrors,
        (status = 409, response = Conflict),
    )
)]
#[patch("/{id}")]
pub async fn update_organisation(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    preconditions: Preconditions,
    body: ApiJson<UpdateOrganisation>,
) -> Result<HttpResponse, ApiError> {
    let (id, patch, if_match) = (OrganisationId(*id), Patch::from(body.0), preconditions.if_match());
    let mut conn = state.write().await?;
    let updated = conn
        .transaction(async move |conn| service::update(conn, &actor, id, &if_match, patch).await)
        .await?;
    Ok(respond(HttpResponse::Ok(), updated))
}

/// Delete an organisation
///
/// Deletes an organisation that nothing refers to any more: 409 while it has children, members, candidates,
/// evaluations, resolutions or implementations.
#[utoipa::path(
    tag = "organisations",
    params(("id" = Uuid, Path, description = "Organisation id"),
        ("If-Match" = Option<String>, Header, description = "The ETag read last; 412 when the organisation has changed since")),
    responses(
        (status = 204, description = "Deleted"),
        DeleteErrors,
        (status = 409, response = Conflict),
    )
)]
#[delete("/{id}")]
pub async fn delete_organisation(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    preconditions: Preconditions,
) -> Result<HttpResponse, ApiError> {
    let (id, if_match) = (OrganisationId(*id), preconditions.if_match());
    let mut conn = state.write().await?;
    conn.transaction(async move |conn| service::delete(conn, &actor, id, &if_match).await)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Registers the organisation routes.
pub fn routes(config: &mut utoipa_actix_web::service_config::ServiceConfig) {
    config
        .service(list_organisations)
        .service(create_organisation)
        .service(list_organisation_ancestors)
        .service(list_organisation_history)
        .service(find_organisation)
        .service(update_organisation)
        .service(delete_organisation);
}
