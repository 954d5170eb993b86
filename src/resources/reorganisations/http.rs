//! `/api/v1/reorganisations`: dated decisions that reshape the organisation tree in one step.

use actix_web::http::header;
use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::operations::{AppliedOperations, CreateOp, Decision, MoveOp, SuccessorOp, Target, TransferOp};
use super::service::{self, Applied, Criteria};
use super::store::Header;
use crate::auth::Actor;
use crate::domain::ids::{OrganisationId, ReorganisationId};
use crate::domain::organisation::{OrganisationKind, Sector};
use crate::error::{ApiError, FieldError};
use crate::extract::{ApiJson, ApiQuery, Preconditions};
use crate::openapi::responses::*;
use crate::pagination::{ListQuery, Page, PageParams};
use crate::state::AppState;
use crate::write::etag;

/// The body limit of a reorganisation: a province's decision names thousands of organisations.
pub const REORGANISATION_BODY_LIMIT: usize = 8 * 1024 * 1024;

/// A new organisation of a reorganisation. Give exactly one of `parent_id` and `parent_ref`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOperation {
    /// A label that later operations of the same reorganisation use to point at this organisation (1 to 64
    /// characters, unique within the reorganisation).
    #[serde(rename = "ref", default)]
    #[schema(example = "xa-thu-cuc-moi", min_length = 1, max_length = 64)]
    pub label: Option<String>,
    /// Unique, 1 to 32 characters, no spaces.
    #[schema(
        example = "PT-XA-THUCUC",
        min_length = 1,
        max_length = 32,
        pattern = r"^[^\s\x00-\x1f\x7f-\x9f]{1,32}$"
    )]
    pub code: String,
    #[schema(
        example = "Đảng bộ xã Thu Cúc",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00]*[^\s\x00][^\x00]*$"
    )]
    pub name: String,
    pub kind: OrganisationKind,
    #[serde(default)]
    pub sector: Option<Sector>,
    /// An existing parent.
    #[serde(default)]
    pub parent_id: Option<Uuid>,
    /// The `ref` of an earlier creation of this reorganisation.
    #[serde(default)]
    #[schema(max_length = 64)]
    pub parent_ref: Option<String>,
    #[serde(default)]
    #[schema(max_length = 500, pattern = r"^[^\x00]*$")]
    pub address: Option<String>,
}

/// An organisation moved with its whole subtree. Give exactly one of `to_parent_id` and `to_parent_ref`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveOperation {
    pub organisation_id: Uuid,
    /// An existing parent.
    #[serde(default)]
    pub to_parent_id: Option<Uuid>,
    /// The `ref` of a creation of this reorganisation.
    #[serde(default)]
    #[schema(max_length = 64)]
    pub to_parent_ref: Option<String>,
    /// Its kind from `effective_on` on (a village `cell` becomes a `base_cell` under a new commune committee);
    /// absent: unchanged.
    #[serde(default)]
    pub kind: Option<OrganisationKind>,
}

/// Every current member of a `cell` or `base_cell` transferred to another. Give exactly one of
/// `to_organisation_id` and `to_ref`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferOperation {
    pub from_organisation_id: Uuid,
    #[serde(default)]
    pub to_organisation_id: Option<Uuid>,
    /// The `ref` of a creation of this reorganisation.
    #[serde(default)]
    #[schema(max_length = 64)]
    pub to_ref: Option<String>,
}

/// An ended organisation and one that carries on its work. Give exactly one of `successor_id` and
/// `successor_ref`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SuccessorOperation {
    /// An organisation ended by this reorganisation (or before it).
    pub organisation_id: Uuid,
    #[serde(default)]
    pub successor_id: Option<Uuid>,
    /// The `ref` of a creation of this reorganisation.
    #[serde(default)]
    #[schema(max_length = 64)]
    pub successor_ref: Option<String>,
}

/// A reorganisation: a dated decision and its operations, applied together.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "decision_number": "1234-QĐ/TU", "decided_on": "2025-06-20", "effective_on": "2025-07-01",
    "create": [{"ref": "thu-cuc", "code": "PT-THUCUC", "name": "Đảng bộ xã Thu Cúc", "kind": "superior_committee",
                "sector": "commune", "parent_id": "0193a5c8-7f3e-7a10-9c4e-3b1f2a6d8e00"}],
    "move": [{"organisation_id": "0193a5c8-7f3e-7a10-9c4e-3b1f2a6d8e11", "to_parent_ref": "thu-cuc",
              "kind": "base_cell"}],
    "end": ["0193a5c8-7f3e-7a10-9c4e-3b1f2a6d8e05"],
    "successors": [{"organisation_id": "0193a5c8-7f3e-7a10-9c4e-3b1f2a6d8e05", "successor_ref": "thu-cuc"}]}))]
pub struct NewReorganisation {
    /// The decision's number, 1 to 64 characters.
    #[schema(
        example = "1234-QĐ/TU",
        min_length = 1,
        max_length = 64,
        pattern = r"^[^\x00]*[^\s\x00][^\x00]*$"
    )]
    pub decision_number: String,
    /// Not after `effective_on`.
    pub decided_on: NaiveDate,
    /// The day every change takes effect; not in the future, and not before a later change of an organisation it
    /// moves (or of its subtree).
    pub effective_on: NaiveDate,
    #[serde(default)]
    #[schema(max_length = 4000, pattern = r"^[^\x00]*$")]
    pub note: Option<String>,
    /// New organisations, established on `effective_on`, created in order.
    #[serde(default)]
    #[schema(max_items = 100000)]
    pub create: Vec<CreateOperation>,
    /// Organisations moved under another parent, each with its whole subtree, in order.
    #[serde(default, rename = "move")]
    #[schema(max_items = 100000)]
    pub moves: Vec<MoveOperation>,
    /// Members transferred en masse, each with a `transferred` history entry dated `effective_on`.
    #[serde(default)]
    #[schema(max_items = 100000)]
    pub transfer_members: Vec<TransferOperation>,
    /// Organisations ended (`dissolved_on` = `effective_on`); each must be left with no active child, no
    /// current member and no candidate on the way to admission once the other operations are applied (a
    /// transfer of its members takes its candidates along).
    #[serde(default)]
    #[schema(max_items = 100000)]
    pub end: Vec<Uuid>,
    /// Links from ended organisations to those that carry on their work.
    #[serde(default)]
    #[schema(max_items = 100000)]
    pub successors: Vec<SuccessorOperation>,
}

/// What a reorganisation did, counted.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReorganisationSummary {
    #[schema(minimum = 0, maximum = 2147483647)]
    pub created: i32,
    #[schema(minimum = 0, maximum = 2147483647)]
    pub moved: i32,
    #[schema(minimum = 0, maximum = 2147483647)]
    pub ended: i32,
    #[schema(minimum = 0, maximum = 2147483647)]
    pub members_transferred: i32,
}

/// A reorganisation as applied.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a5c8-7f3e-7a10-9c4e-3b1f2a6d8eaa", "decision_number": "1234-QĐ/TU", "decided_on": "2025-06-20",
    "effective_on": "2025-07-01", "note": null,
    "operations": {
        "create": [{"ref": "thu-cuc", "organisation_id": "0193a5c8-7f3e-7a10-9c4e-3b1f2a6d8e20",
                    "code": "PT-THUCUC", "name": "Đảng bộ xã Thu Cúc", "kind": "superior_committee",
                    "sector": "commune", "parent_id": "0193a5c8-7f3e-7a10-9c4e-3b1f2a6d8e00", "address": null}],
        "move": [{"organisation_id": "0193a5c8-7f3e-7a10-9c4e-3b1f2a6d8e11",
                  "to_parent_id": "0193a5c8-7f3e-7a10-9c4e-3b1f2a6d8e20", "kind": "base_cell"}],
        "transfer_members": [],
        "end": ["0193a5c8-7f3e-7a10-9c4e-3b1f2a6d8e05"],
        "successors": [{"organisation_id": "0193a5c8-7f3e-7a10-9c4e-3b1f2a6d8e05",
                        "successor_id": "0193a5c8-7f3e-7a10-9c4e-3b1f2a6d8e20"}]},
    "summary": {"created": 1, "moved": 1, "ended": 1, "members_transferred": 0},
    "version": 1, "created_at": "2025-06-28T02:15:00Z", "updated_at": "2025-06-28T02:15:00Z"}))]
pub struct Reorganisation {
    pub id: Uuid,
    #[schema(example = "1234-QĐ/TU", max_length = 64)]
    pub decision_number: String,
    pub decided_on: NaiveDate,
    pub effective_on: NaiveDate,
    #[schema(max_length = 4000)]
    pub note: Option<String>,
    /// The operations as applied, every `ref` resolved to an id.
    pub operations: AppliedOperations,
    pub summary: ReorganisationSummary,
    /// Always 1: a reorganisation is never changed.
    #[schema(minimum = 1, maximum = 2147483647)]
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Applied> for Reorganisation {
    fn from(a: Applied) -> Self {
        let r = a.row;
        Reorganisation {
            id: r.id,
            decision_number: r.decision_number,
            decided_on: r.decided_on,
            effective_on: r.effective_on,
            note: r.note,
            operations: a.operations,
            summary: ReorganisationSummary {
                created: r.created,
                moved: r.moved,
                ended: r.ended,
                members_transferred: r.members_transferred,
            },
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// Exactly one of an id and a label, else a problem naming both fields.
fn target(
    errors: &mut Vec<FieldError>,
    at: &str,
    id: Option<Uuid>,
    label: Option<String>,
    (id_field, ref_field): (&str, &str),
) -> Target {
    match (id, label) {
        (Some(id), None) => Target::Id(OrganisationId(id)),
        (None, Some(label)) => Target::Ref(label),
        _ => {
            errors.push(FieldError::new(
                format!("{at}.{id_field}"),
                format!("give exactly one of {id_field} and {ref_field}"),
            ));
            Target::Ref(String::new())
        }
    }
}

impl TryFrom<NewReorganisation> for Decision {
    type Error = ApiError;

    fn try_from(body: NewReorganisation) -> Result<Self, ApiError> {
        let mut errors = Vec::new();
        let create = body
            .create
            .into_iter()
            .enumerate()
            .map(|(i, c)| CreateOp {
                parent: target(
                    &mut errors,
                    &format!("create[{i}]"),
                    c.parent_id,
                    c.parent_ref,
                    ("parent_id", "parent_ref"),
                ),
                label: c.label,
                code: c.code,
                name: c.name,
                kind: c.kind,
                sector: c.sector,
                address: c.address,
            })
            .collect();
        let moves = body
            .moves
            .into_iter()
            .enumerate()
            .map(|(i, m)| MoveOp {
                organisation_id: OrganisationId(m.organisation_id),
                to_parent: target(
                    &mut errors,
                    &format!("move[{i}]"),
                    m.to_parent_id,
                    m.to_parent_ref,
                    ("to_parent_id", "to_parent_ref"),
                ),
                kind: m.kind,
            })
            .collect();
        let transfers = body
            .transfer_members
            .into_iter()
            .enumerate()
            .map(|(i, t)| TransferOp {
                from: OrganisationId(t.from_organisation_id),
                to: target(
                    &mut errors,
                    &format!("transfer_members[{i}]"),
                    t.to_organisation_id,
                    t.to_ref,
                    ("to_organisation_id", "to_ref"),
                ),
            })
            .collect();
        let successors = body
            .successors
            .into_iter()
            .enumerate()
            .map(|(i, s)| SuccessorOp {
                organisation_id: OrganisationId(s.organisation_id),
                successor: target(
                    &mut errors,
                    &format!("successors[{i}]"),
                    s.successor_id,
                    s.successor_ref,
                    ("successor_id", "successor_ref"),
                ),
            })
            .collect();
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        Ok(Decision {
            header: Header {
                decision_number: body.decision_number,
                decided_on: body.decided_on,
                effective_on: body.effective_on,
                note: body.note,
            },
            create,
            moves,
            transfers,
            end: body.end.into_iter().map(OrganisationId).collect(),
            successors,
        })
    }
}

/// Whether a reorganisation is only checked.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DryRunQuery {
    /// `true`: check everything, answer 200 with the reorganisation as it would be, store nothing.
    dry_run: Option<bool>,
}

/// Filters of the reorganisation list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReorganisationQuery {
    /// Only reorganisations that name an organisation of this subtree (the organisation included).
    under: Option<Uuid>,
    /// Only those effective on or after this day.
    effective_from: Option<NaiveDate>,
    /// Only those effective on or before this day.
    effective_to: Option<NaiveDate>,
}

fn respond_with(mut response: actix_web::HttpResponseBuilder, view: Reorganisation) -> HttpResponse {
    response.insert_header((header::ETAG, etag(view.version))).json(view)
}

/// Apply a reorganisation
///
/// Applies a superior committee's dated decision in one transaction: `create`, then `move`, then
/// `transfer_members`, then `end`, then `successors`, each on the tree the earlier ones left. Every rule of a single
/// change holds for each operation (kinds under parents, no cycles, unique codes, the token's scope, the committee
/// above decides); each ended organisation must be left with no active child, no current member and no candidate
/// on the way to admission (`transfer_members` takes a cell's candidates along with its members); `effective_on`
/// may not be in the future nor before a later change of what it moves, and members with history entries after it
/// cannot be transferred. Any problem answers 422 listing every one as `operation[index].field`, and nothing is
/// stored. With `dry_run=true` the reorganisation is checked the same way and answered with 200, nothing stored.
/// Body limit: 8 MiB. Organisation versions, audit records and member history entries name the reorganisation.
#[utoipa::path(
    tag = "reorganisations",
    params(DryRunQuery),
    request_body(content = NewReorganisation, content_type = "application/json"),
    responses(
        (status = 201, description = "Applied", body = Reorganisation,
            headers(("Location" = String, description = "URL of the reorganisation"),
                ("ETag" = String, description = "Its version, quoted"))),
        (status = 200, description = "Dry run: the reorganisation as it would be; nothing was stored",
            body = Reorganisation),
        CreateErrors,
    )
)]
#[post("")]
pub async fn create_reorganisation(
    state: web::Data<AppState>,
    actor: Actor,
    query: ApiQuery<DryRunQuery>,
    body: ApiJson<NewReorganisation, REORGANISATION_BODY_LIMIT>,
) -> Result<HttpResponse, ApiError> {
    let decision = Decision::try_from(body.0)?;
    let dry_run = query.0.dry_run.unwrap_or(false);
    let mut conn = state.write().await?;
    let applied = service::apply(&mut conn, &actor, decision, dry_run).await?;
    let view = Reorganisation::from(applied);
    if dry_run {
        return Ok(HttpResponse::Ok().json(view));
    }
    let mut response = HttpResponse::Created();
    response.insert_header((header::LOCATION, format!("/api/v1/reorganisations/{}", view.id)));
    Ok(respond_with(response, view))
}

/// List reorganisations
///
/// Lists the reorganisations in creation order. A token scoped to an organisation sees those that name only
/// organisations of its subtree.
#[utoipa::path(
    tag = "reorganisations",
    params(ReorganisationQuery, PageParams),
    responses(
        (status = 200, description = "A page of reorganisations", body = Page<Reorganisation>,
            headers(("Link" = String, description = "`<...>; rel=\"next\"` when there is a next page"))),
        ListErrors,
    )
)]
#[get("")]
pub async fn list_reorganisations(
    state: web::Data<AppState>,
    actor: Actor,
    query: ListQuery<ReorganisationQuery>,
) -> Result<HttpResponse, ApiError> {
    let ListQuery { page, filters } = query;
    let after = page.after::<ReorganisationId>()?;
    let mut conn = state.read().await?;
    let criteria = Criteria {
        under: filters.under.map(OrganisationId),
        effective_from: filters.effective_from,
        effective_to: filters.effective_to,
    };
    let (rows, total) = service::list(&mut conn, &actor, criteria, after, page.fetch(), page.count_exact).await?;
    Ok(page
        .finish(rows, |a| ReorganisationId(a.row.id), Reorganisation::from, total)
        .respond())
}

/// Read a reorganisation
///
/// Reads one reorganisation with its operations as applied. A reorganisation is never changed or deleted
/// (405): it is undone by another.
#[utoipa::path(
    tag = "reorganisations",
    params(("id" = Uuid, Path, description = "Reorganisation id"),
        ("If-None-Match" = Option<String>, Header, description = "An ETag; 304 when it is still current")),
    responses(
        (status = 200, description = "The reorganisation", body = Reorganisation,
            headers(("ETag" = String, description = "Its version, quoted"))),
        (status = 304, description = "Not modified since the ETag given in If-None-Match"),
        ReadErrors,
    )
)]
#[get("/{id}")]
pub async fn find_reorganisation(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
    preconditions: Preconditions,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.read().await?;
    let applied = service::find(&mut conn, &actor, ReorganisationId(*id)).await?;
    if let Some(not_modified) = preconditions.not_modified_response(applied.row.version) {
        return Ok(not_modified);
    }
    Ok(respond_with(HttpResponse::Ok(), Reorganisation::from(applied)))
}

/// Registers the reorganisation routes.
pub fn routes(config: &mut utoipa_actix_web::service_config::ServiceConfig) {
    config
        .service(list_reorganisations)
        .service(create_reorganisation)
        .service(find_reorganisation);
}
