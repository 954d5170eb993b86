//! The member reads: the list, one member, a member's history.

use actix_web::{get, web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{respond, Member, MemberEvent};
use crate::auth::Actor;
use crate::domain::ids::{MemberId, OrganisationId};
use crate::domain::member::PoliticalTheory;
use crate::error::ApiError;
use crate::extract::Preconditions;
use crate::openapi::responses::*;
use crate::pagination::{comma_list, ListQuery, Page, PageParams, PageRequest};
use crate::resources::members::service::{self, ListRequest, Total};
use crate::resources::members::store::{MemberCursor, MemberFilter, MemberOrder};
use crate::state::AppState;

/// The order of a member list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MemberSort {
    /// Creation order.
    #[default]
    Created,
    /// Vietnamese order: given name (the last word) first, then the rest, with Vietnamese collation.
    Name,
    /// Admission date, oldest first.
    AdmittedOn,
}

impl From<MemberSort> for MemberOrder {
    fn from(sort: MemberSort) -> Self {
        match sort {
            MemberSort::Created => MemberOrder::Created,
            MemberSort::Name => MemberOrder::Name,
            MemberSort::AdmittedOn => MemberOrder::AdmittedOn,
        }
    }
}

/// Filters of the member list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MemberQuery {
    /// Members of this organisation only.
    organisation_id: Option<Uuid>,
    /// Members of this organisation and of every organisation below it.
    under: Option<Uuid>,
    /// Comma list of statuses, for example `probationary,official,exempt`.
    #[param(
        example = "probationary,official,exempt",
        max_length = 111,
        pattern = r"^(probationary|official|exempt|transferred_out|expelled|removed|deceased)(,(probationary|official|exempt|transferred_out|expelled|removed|deceased)){0,6}$"
    )]
    status: Option<String>,
    political_theory: Option<PoliticalTheory>,
    /// Admitted on or after this day.
    admitted_from: Option<NaiveDate>,
    /// Admitted on or before this day.
    admitted_to: Option<NaiveDate>,
    /// Part of the name, accent- and case-insensitive (`nguyen van an` finds `Nguyễn Văn An`), or an exact card
    /// number.
    #[param(example = "nguyen van an", max_length = 200, pattern = r"^[^\x00]*$")]
    q: Option<String>,
    /// `name`: Vietnamese order (given name, then the rest); `admitted_on`; default: creation order.
    sort: Option<MemberSort>,
}

impl MemberQuery {
    /// The page of the list this query and `page` ask for; 400 on a parameter that does not parse.
    fn parse(self, page: &PageRequest) -> Result<ListRequest, ApiError> {
        if self.q.as_deref().is_some_and(|q| q.chars().count() > 200) {
            return Err(ApiError::bad_request("q", "must be at most 200 characters"));
        }
        let order = MemberOrder::from(self.sort.unwrap_or_default());
        let after = page.after::<MemberCursor>()?;
        if after.as_ref().is_some_and(|cursor| !cursor.fits(order)) {
            return Err(ApiError::bad_request("cursor", "belongs to a list in another order"));
        }
        let statuses = self.status.as_deref().map(|s| comma_list("status", s)).transpose()?;
        Ok(ListRequest {
            under: self.under.map(OrganisationId),
            filter: MemberFilter {
                organisation_id: self.organisation_id.map(OrganisationId),
                statuses,
                political_theory: self.political_theory,
                admitted_from: self.admitted_from,
                admitted_to: self.admitted_to,
                q: self.q,
            },
            order,
            after,
            fetch: page.fetch(),
            total: if page.count_exact { Total::Count } else { Total::Skip },
        })
    }
}

/// List members
///
/// Lists the members inside the token's subtree, filtered by organisation, subtree, status, political theory level,
/// admission dates or text, in the order `sort` asks for. With `Accept: text/csv`, every member the filters select
/// (no page limit; `limit` and `count` do not apply), streamed as a CSV file with a UTF-8 byte order mark, in the
/// columns `POST /api/v1/imports/members` reads; `national_id`, `ethnicity` and `religion` only for admin and
/// editor tokens.
#[utoipa::path(
    tag = "members",
    params(MemberQuery, PageParams),
    responses(
        (status = 200, description = "A page of members, or every selected member as CSV",
            content(
                (Page<Member> = "application/json"),
                (String = "text/csv", example = "\u{feff}full_name,gender,birth_date,organisation_code,admitted_on,status,official_on,card_number,national_id,ethnicity,religion,hometown,education_level,qualification,political_theory,note\r\nNguyễn Thị Ánh,female,1990-04-12,TS-XA-TT-CB1,2012-05-19,official,2013-05-20,12345678,025190001234,Mường,,,,,elementary,\r\n")
            ),
            headers(("Link" = String, description = "`<...>; rel=\"next\"` when there is a next page (JSON)"))),
        ListErrors,
    )
)]
#[get("")]
pub async fn list_members(
    state: web::Data<AppState>,
    actor: Actor,
    query: ListQuery<MemberQuery>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let ListQuery { page, filters } = query;
    let request = filters.parse(&page)?;
    let mut conn = state.read().await?;
    if crate::csv::wants_csv(&req) {
        return Ok(crate::resources::imports::export::members_csv(conn, actor, request));
    }
    let list = service::list(&mut conn, &actor, &request).await?;
    let cursor = |row: &_| MemberCursor::of(request.order, row);
    Ok(page
        .finish(list.rows, cursor, |row| Member::for_actor(row, &actor), list.total)
        .respond())
}

/// Read a member
///
/// Reads one member. The sensitive fields (`national_id`, `ethnicity`, `religion`) are absent for a viewer token.
/// `If-None-Match` with the current ETag answers 304.
#[utoipa::path(
    tag = "members",
    params(("id" = Uuid, Path, description = "Member id"),
        ("If-None-Match" = Option<String>, Header, description = "An ETag; 304 when it is still current")),
    responses(
        (status = 200, description = "The member", body = Member,
            headers(("ETag" = String, description = "The current version, quoted"))),
        (status = 304, description = "Not modified since the ETag given in If-None-Match"),
        ReadErrors,
    )
)]
#[get("/{id}")]
pub async fn find_member(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<MemberId>,
    preconditions: Preconditions,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.read().await?;
    let row = service::find(&mut conn, &actor, id.into_inner()).await?;
    if let Some(not_modified) = preconditions.not_modified_response(row.version) {
        return Ok(not_modified);
    }
    Ok(respond(HttpResponse::Ok(), row, &actor))
}

/// List a member's history
///
/// A member's whole history, oldest first, starting with the admission. The history is returned whole:
/// `next_cursor` is always null.
#[utoipa::path(
    tag = "members",
    params(("id" = Uuid, Path, description = "Member id")),
    responses(
        (status = 200, description = "The history", body = Page<MemberEvent>),
        ReadErrors,
    )
)]
#[get("/{id}/events")]
pub async fn list_member_events(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<MemberId>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = state.read().await?;
    let history = service::history(&mut conn, &actor, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(Page {
        items: history.into_iter().map(MemberEvent::from).collect(),
        next_cursor: None,
        total: None,
    }))
}
