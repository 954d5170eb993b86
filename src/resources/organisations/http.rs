//! `/api/v1/organisations`: the organisation tree.

use std::collections::BTreeMap;

use actix_web::http::header;
use actix_web::{delete, get, patch, post, web, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::audit::{self, Action};
use crate::auth::Actor;
use crate::domain::member::MemberStatus;
use crate::domain::organisation::{check_placement, path_label, OrganisationKind, Sector};
use crate::domain::today;
use crate::error::{ApiError, FieldError};
use crate::extract::{double_option, etag_with, ApiJson, Preconditions};
use crate::openapi::responses::*;
use crate::pagination::{comma_list, ListQuery, Page, PageParams};
use crate::resources::organisations::store::{self as model, NewOrganisation, OrganisationChanges, OrganisationRow};
use crate::state::AppState;
use crate::store::TreePath;
use crate::write;

const RESOURCE: &str = "organisation";

/// A party organisation: a node of the organisation tree.
#[derive(Debug, Serialize, ToSchema)]
pub struct Organisation {
    #[schema(example = "0193a5c8-7f3e-7a10-9c4e-3b1f2a6d8e01")]
    pub id: Uuid,
    /// Unique short code.
    #[schema(
        example = "TS-XA-TINHNHUE",
        min_length = 1,
        max_length = 32,
        pattern = r"^[^\s\x00-\x1f\x7f-\x9f]{1,32}$"
    )]
    pub code: String,
    /// Full name.
    #[schema(
        example = "Đảng bộ xã Tinh Nhuệ",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00]*[^\s\x00][^\x00]*$"
    )]
    pub name: String,
    pub kind: OrganisationKind,
    pub sector: Option<Sector>,
    /// The organisation directly above; `null` for a root.
    pub parent_id: Option<Uuid>,
    #[schema(example = "1975-03-01")]
    pub established_on: Option<NaiveDate>,
    /// The day it ceased to exist; it is inactive from that day on.
    pub dissolved_on: Option<NaiveDate>,
    /// Not dissolved as of today (Vietnam time). Read-only.
    pub active: bool,
    #[schema(
        example = "Xã Tinh Nhuệ, huyện Thanh Sơn, Phú Thọ",
        max_length = 500,
        pattern = r"^[^\x00]*$"
    )]
    pub address: Option<String>,
    #[schema(max_length = 4000, pattern = r"^[^\x00]*$")]
    pub note: Option<String>,
    /// Members of this organisation and every organisation below it, by status; present wherever one
    /// organisation is returned (read, create, change), absent in lists. Statuses with no member are absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = json!({"probationary": 12, "official": 230, "exempt": 4}))]
    pub member_counts: Option<BTreeMap<MemberStatus, i64>>,
    /// 1 on creation, +1 on every change; the ETag is this number in quotes.
    #[schema(example = 1, minimum = 1, maximum = 2147483647)]
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Organisation {
    pub fn from_row(row: OrganisationRow, today: NaiveDate) -> Self {
        Organisation {
            active: row.dissolved_on.is_none_or(|d| d > today),
            id: row.id,
            code: row.code,
            name: row.name,
            kind: row.kind,
            sector: row.sector,
            parent_id: row.parent_id,
            established_on: row.established_on,
            dissolved_on: row.dissolved_on,
            address: row.address,
            note: row.note,
            member_counts: None,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

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
}

/// List organisations
///
/// Lists the organisations inside the token's subtree, in creation order, filtered by parent, subtree, kind,
/// sector, activity or text.
#[utoipa::path(
    tag = "organisations",
    params(OrganisationQuery, PageParams),
    responses(
        (status = 200, description = "A page of organisations", body = Page<Organisation>,
            headers(("Link" = String, description = "`<...>; rel=\"next\"` when there is a next page"))),
        ListErrors,
    ),
    security(("bearer" = []))
)]
#[get("")]
pub async fn list_organisations(
    state: web::Data<AppState>,
    actor: Actor,
    query: ListQuery<OrganisationQuery>,
) -> Result<HttpResponse, ApiError> {
    let ListQuery { page, filters } = query;
    if filters.q.as_deref().is_some_and(|q| q.chars().count() > 200) {
        return Err(ApiError::bad_request("q", "must be at most 200 characters"));
    }
    let today = today();
    let kinds = filters.kind.as_deref().map(|k| comma_list("kind", k)).transpose()?;
    let after = page.after::<Uuid>()?;
    let mut conn = state.read().await?;
    let Some((scope, under)) = model::subtree_paths(&mut conn, actor.scope(), filters.under).await? else {
        return Ok(page.empty::<Organisation>().respond());
    };
    let filter = model::OrganisationFilter {
        parent_id: filters.parent_id,
        under,
        kinds,
        sector: filters.sector,
        active: filters.active,
        q: filters.q,
        scope,
        today,
    };
    let rows = model::list(&mut conn, &filter, after, page.fetch()).await?;
    let total = if page.count_exact {
        Some(model::count(&mut conn, &filter).await?)
    } else {
        None
    };
    Ok(page
        .finish(rows, |r| r.id, |r| Organisation::from_row(r, today), total)
        .respond())
}

/// Read an organisation
///
/// Reads one organisation with the member counts of its subtree. `If-None-Match` with the current ETag answers 304.
#[utoipa::path(
    tag = "organisations",
    params(("id" = Uuid, Path, description = "Organisation id"),
        ("If-None-Match" = Option<String>, Header, description = "An ETag; 304 when it is still current")),
    responses(
        (status = 200, description = "The organisation with its member counts", body = Organisation,
            headers(("ETag" = String, description = "The version and a digest of the member counts, quoted; \
                If-Match on a write compares the version part"))),
        (status = 304, description = "Not modified since the ETag given in If-None-Match"),
        ReadErrors,
    ),
    security(("bearer" = []))
)]
#[get("/{id}")]
pub async fn find_organisation(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    preconditions: Preconditions,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.read().await?;
    let row = model::find_visible(&mut conn, *id, actor.scope())
        .await?
        .ok_or_else(|| ApiError::not_found(RESOURCE))?;
    let (organisation, tag) = shown(&mut conn, row, today()).await?;
    if let Some(not_modified) = preconditions.not_modified_tag_response(&tag) {
        return Ok(not_modified);
    }
    Ok(HttpResponse::Ok().insert_header((header::ETAG, tag)).json(organisation))
}

/// The member counts of an organisation's subtree, by status; statuses with no member are left out.
async fn member_counts(conn: &mut AsyncPgConnection, id: Uuid) -> Result<BTreeMap<MemberStatus, i64>, ApiError> {
    Ok(model::member_counts(conn, id)
        .await?
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .filter_map(|(status, n)| status.parse::<MemberStatus>().ok().map(|s| (s, n)))
        .collect())
}

/// The ETag of one organisation as it is shown: the counts change without the organisation changing, so they
/// are part of it. Every response carrying one organisation (create, read, change) has this tag.
async fn current_tag(conn: &mut AsyncPgConnection, row: &OrganisationRow) -> Result<String, ApiError> {
    Ok(etag_with(row.version, &member_counts(conn, row.id).await?))
}

/// One organisation as it is shown, with its subtree's member counts, and its ETag.
async fn shown(
    conn: &mut AsyncPgConnection,
    row: OrganisationRow,
    today: NaiveDate,
) -> Result<(Organisation, String), ApiError> {
    let counts = member_counts(conn, row.id).await?;
    let tag = etag_with(row.version, &counts);
    let mut organisation = Organisation::from_row(row, today);
    organisation.member_counts = Some(counts);
    Ok((organisation, tag))
}

/// List an organisation's ancestors
///
/// Lists the ancestors of an organisation inside the token's subtree: the root first, the parent last.
#[utoipa::path(
    tag = "organisations",
    params(("id" = Uuid, Path, description = "Organisation id")),
    responses(
        (status = 200, description = "The ancestors, root first; `next_cursor` is always null", body = Page<Organisation>),
        ReadErrors,
    ),
    security(("bearer" = []))
)]
#[get("/{id}/ancestors")]
pub async fn list_organisation_ancestors(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.read().await?;
    model::find_visible(&mut conn, *id, actor.scope())
        .await?
        .ok_or_else(|| ApiError::not_found(RESOURCE))?;
    let today = today();
    let items = model::ancestors(&mut conn, *id, actor.scope())
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

fn check_text(errors: &mut Vec<FieldError>, field: &str, value: &str, max: usize) {
    let length = value.chars().count();
    if value.trim().is_empty() || length > max {
        errors.push(FieldError::new(
            field,
            format!("must be 1 to {max} characters, not blank"),
        ));
    } else if field == "code" && value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        errors.push(FieldError::new(field, "must not contain spaces or control characters"));
    }
}

fn check_optional_text(errors: &mut Vec<FieldError>, field: &str, value: Option<&str>, max: usize) {
    if value.is_some_and(|v| v.chars().count() > max) {
        errors.push(FieldError::new(field, format!("must be at most {max} characters")));
    }
}

/// Checks the values of an organisation that do not need the database.
fn check_values(o: &OrganisationChanges) -> Vec<FieldError> {
    let mut errors = Vec::new();
    check_text(&mut errors, "code", &o.code, 32);
    check_text(&mut errors, "name", &o.name, 200);
    check_optional_text(&mut errors, "address", o.address.as_deref(), 500);
    check_optional_text(&mut errors, "note", o.note.as_deref(), 4000);
    if let (Some(established), Some(dissolved)) = (o.established_on, o.dissolved_on) {
        if dissolved < established {
            errors.push(FieldError::new("dissolved_on", "must not be before established_on"));
        }
    }
    errors
}

/// Loads the parent a write names and checks that the kind fits under it. A parent the write chooses (`chosen`)
/// must lie in the actor's scope; a parent the organisation already has is taken as it is.
async fn placement(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    chosen: bool,
    kind: OrganisationKind,
    parent_id: Option<Uuid>,
) -> Result<Option<OrganisationRow>, ApiError> {
    let scope = if chosen { actor.scope() } else { None };
    let parent = match parent_id {
        None => {
            if chosen {
                actor.require_unscoped("only an admin may create or move a root organisation")?;
            }
            None
        }
        Some(id) => Some(
            model::find_visible(conn, id, scope)
                .await?
                .ok_or_else(|| ApiError::invalid("parent_id", "no organisation with this id"))?,
        ),
    };
    check_placement(kind, parent.as_ref().map(|p| p.kind)).map_err(|m| ApiError::invalid("parent_id", m))?;
    Ok(parent)
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
    ),
    security(("bearer" = []))
)]
#[post("")]
pub async fn create_organisation(
    state: web::Data<AppState>,
    actor: Actor,
    body: ApiJson<CreateOrganisation>,
) -> Result<HttpResponse, ApiError> {
    actor.require_writer()?;
    let body = body.0;
    let values = OrganisationChanges {
        code: body.code,
        name: body.name,
        kind: body.kind,
        sector: body.sector,
        parent_id: body.parent_id,
        established_on: body.established_on,
        dissolved_on: body.dissolved_on,
        address: body.address,
        note: body.note,
    };
    let errors = check_values(&values);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let mut conn = state.write().await?;
    let today = today();
    let created = conn
        .transaction(async move |conn| -> Result<_, ApiError> {
            // A child must not read its parent's path while a move is rewriting it.
            model::lock_tree_shape(conn).await?;
            let parent = placement(conn, &actor, true, values.kind, values.parent_id).await?;
            let id = Uuid::now_v7();
            let label = path_label(id);
            let path = match &parent {
                Some(p) => p.path.child(&label),
                None => TreePath(label),
            };
            let row = model::insert(
                conn,
                &NewOrganisation {
                    id,
                    code: values.code,
                    name: values.name,
                    kind: values.kind,
                    sector: values.sector,
                    parent_id: values.parent_id,
                    path,
                    established_on: values.established_on,
                    dissolved_on: values.dissolved_on,
                    address: values.address,
                    note: values.note,
                },
            )
            .await?;
            let view = Organisation::from_row(row.clone(), today);
            audit::record(conn, &actor, Action::Create, RESOURCE, view.id, None, Some(&view)).await?;
            shown(conn, row, today).await
        })
        .await?;
    let (created, tag) = created;
    let location = format!("/api/v1/organisations/{}", created.id);
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, location))
        .insert_header((header::ETAG, tag))
        .json(created))
}

/// Applies a merge patch to the stored values; `null` on a required field is an error.
fn apply_patch(row: &OrganisationRow, patch: UpdateOrganisation) -> Result<OrganisationChanges, ApiError> {
    let mut errors = Vec::new();
    let code = write::required(&mut errors, "code", patch.code, &row.code);
    let name = write::required(&mut errors, "name", patch.name, &row.name);
    let kind = write::required(&mut errors, "kind", patch.kind, &row.kind);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    Ok(OrganisationChanges {
        code,
        name,
        kind,
        sector: patch.sector.unwrap_or(row.sector),
        parent_id: patch.parent_id.unwrap_or(row.parent_id),
        established_on: patch.established_on.unwrap_or(row.established_on),
        dissolved_on: patch.dissolved_on.unwrap_or(row.dissolved_on),
        address: patch.address.unwrap_or(row.address.clone()),
        note: patch.note.unwrap_or(row.note.clone()),
    })
}

fn unchanged(row: &OrganisationRow, c: &OrganisationChanges) -> bool {
    row.code == c.code
        && row.name == c.name
        && row.kind == c.kind
        && row.sector == c.sector
        && row.parent_id == c.parent_id
        && row.established_on == c.established_on
        && row.dissolved_on == c.dissolved_on
        && row.address == c.address
        && row.note == c.note
}

/// Change an organisation
///
/// Changes an organisation (JSON merge patch). Changing `parent_id` moves its whole subtree; a move that would make
/// a cycle, or a parent whose kind does not admit the child, answers 422. A token scoped to the organisation itself
/// may change only its descriptive fields (`name`, `address`, `note`): its `kind`, `parent_id` and `dissolved_on`
/// are decided by the committee above (403).
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
    ),
    security(("bearer" = []))
)]
#[patch("/{id}")]
pub async fn update_organisation(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    preconditions: Preconditions,
    body: ApiJson<UpdateOrganisation>,
) -> Result<HttpResponse, ApiError> {
    actor.require_writer()?;
    let id = *id;
    let patch = body.0;
    let reshapes = patch.parent_id.is_some() || patch.kind.is_some();
    let mut conn = state.write().await?;
    let today = today();
    let updated = conn
        .transaction(async move |conn| -> Result<_, ApiError> {
            if reshapes {
                model::lock_tree_shape(conn).await?;
            }
            let row = model::find_visible_for_update(conn, id, actor.scope())
                .await?
                .ok_or_else(|| ApiError::not_found(RESOURCE))?;
            preconditions.check_if_match_tag(&current_tag(conn, &row).await?)?;
            let changes = apply_patch(&row, patch)?;
            let errors = check_values(&changes);
            if !errors.is_empty() {
                return Err(ApiError::Validation(errors));
            }
            if unchanged(&row, &changes) {
                return shown(conn, row, today).await;
            }
            if changes.kind != row.kind
                || changes.parent_id != row.parent_id
                || changes.dissolved_on != row.dissolved_on
            {
                actor.may_decide_about(id)?;
            }
            let before = Organisation::from_row(row.clone(), today);
            if changes.kind != row.kind || changes.parent_id != row.parent_id {
                let moved = changes.parent_id != row.parent_id;
                let parent = placement(conn, &actor, moved, changes.kind, changes.parent_id).await?;
                if changes.kind != row.kind {
                    if !changes.kind.holds_members() && model::member_records(conn, id).await? > 0 {
                        return Err(ApiError::invalid(
                            "kind",
                            "the organisation has members, and members belong to a base_cell or a cell",
                        ));
                    }
                    for child in model::child_kinds(conn, id).await? {
                        check_placement(child, Some(changes.kind))
                            .map_err(|m| ApiError::invalid("kind", format!("a child does not fit: {m}")))?;
                    }
                }
                if moved {
                    let new_path = match &parent {
                        Some(p) if p.path.is_within(&row.path) => {
                            return Err(ApiError::invalid(
                                "parent_id",
                                "the new parent lies inside this organisation's subtree: that would make a cycle",
                            ));
                        }
                        Some(p) => p.path.child(&path_label(id)),
                        None => TreePath(path_label(id)),
                    };
                    model::move_subtree(conn, &row.path, &new_path).await?;
                }
            }
            let row = model::update(conn, id, &changes).await?;
            let after = Organisation::from_row(row.clone(), today);
            audit::record(conn, &actor, Action::Update, RESOURCE, id, Some(&before), Some(&after)).await?;
            shown(conn, row, today).await
        })
        .await?;
    let (updated, tag) = updated;
    Ok(HttpResponse::Ok().insert_header((header::ETAG, tag)).json(updated))
}

/// Delete an organisation
///
/// Deletes an organisation that nothing refers to any more: 409 while it has children, members, evaluations,
/// resolutions or implementations.
#[utoipa::path(
    tag = "organisations",
    params(("id" = Uuid, Path, description = "Organisation id"),
        ("If-Match" = Option<String>, Header, description = "The ETag read last; 412 when the organisation has changed since")),
    responses(
        (status = 204, description = "Deleted"),
        DeleteErrors,
        (status = 409, response = Conflict),
    ),
    security(("bearer" = []))
)]
#[delete("/{id}")]
pub async fn delete_organisation(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    preconditions: Preconditions,
) -> Result<HttpResponse, ApiError> {
    actor.require_writer()?;
    let id = *id;
    let mut conn = state.write().await?;
    let today = today();
    conn.transaction(async move |conn| -> Result<_, ApiError> {
        let row = model::find_visible_for_update(conn, id, actor.scope())
            .await?
            .ok_or_else(|| ApiError::not_found(RESOURCE))?;
        actor.may_decide_about(id)?;
        preconditions.check_if_match_tag(&current_tag(conn, &row).await?)?;
        let children = model::child_count(conn, id).await?;
        if children > 0 {
            return Err(ApiError::conflict(format!(
                "the organisation still has {children} child organisation(s); move or delete them first"
            )));
        }
        let members = model::member_records(conn, id).await?;
        if members > 0 {
            return Err(ApiError::conflict(format!(
                "the organisation has {members} member record(s); transfer them or delete the records first"
            )));
        }
        let evaluations = crate::resources::evaluations::store::organisation_usage(conn, id).await?;
        if evaluations > 0 {
            return Err(ApiError::conflict(format!(
                "the organisation has {evaluations} evaluation record(s)"
            )));
        }
        let (issued, implemented) = crate::resources::resolutions::store::organisation_usage(conn, id).await?;
        if issued + implemented > 0 {
            return Err(ApiError::conflict(format!(
                "the organisation has issued {issued} resolution(s) and recorded {implemented} implementation(s)"
            )));
        }
        let before = Organisation::from_row(row, today);
        model::delete(conn, id).await?;
        audit::record(conn, &actor, Action::Delete, RESOURCE, id, Some(&before), None).await?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Registers the organisation routes.
pub fn routes(config: &mut utoipa_actix_web::service_config::ServiceConfig) {
    config
        .service(list_organisations)
        .service(create_organisation)
        .service(list_organisation_ancestors)
        .service(find_organisation)
        .service(update_organisation)
        .service(delete_organisation);
}
