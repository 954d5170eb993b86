//! Issuing, listing, changing and deleting resolutions.

use chrono::NaiveDate;
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use super::{forbid_unless_writable, may_read, scope_path, total, valid, visible, Lock};
use crate::audit::{self, Action};
use crate::auth::Actor;
use crate::domain::ids::{OrganisationId, ResolutionId};
use crate::domain::resolution::{check_targets, ResolutionField, ResolutionStatus, Targets};
use crate::error::{ApiError, FieldError};
use crate::pagination::PageRequest;
use crate::resources::organisations::store as organisations;
use crate::resources::resolutions::store::{self, ResolutionFields, ResolutionFilter, ResolutionRow};
use crate::write::etag;
use crate::write::{self, IfMatch, Patchable, Removable};

pub(super) const RESOURCE: &str = "resolution";

/// A merge patch of a resolution: `None` keeps a value, `Some(None)` clears it. The issuer never changes;
/// `targets`, when given, replaces the whole list.
#[derive(Debug, Default)]
pub struct ResolutionPatch {
    pub number: Option<Option<String>>,
    pub title: Option<Option<String>>,
    pub issued_on: Option<Option<NaiveDate>>,
    pub field: Option<Option<ResolutionField>>,
    pub summary: Option<Option<String>>,
    pub status: Option<Option<ResolutionStatus>>,
    pub valid_until: Option<Option<NaiveDate>>,
    pub targets: Option<Option<Targets>>,
}

/// A page of the resolutions the actor may see (issued inside its subtree or above it), with the total when the
/// page asks for it.
pub async fn list(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    filter: ResolutionFilter,
    page: &PageRequest,
) -> Result<(Vec<ResolutionRow>, Option<i64>), ApiError> {
    let after = page.after::<Uuid>()?;
    let filter = ResolutionFilter {
        scope: scope_path(conn, actor).await?,
        ..filter
    };
    let rows = store::list(conn, &filter, after, page.fetch()).await?;
    let total = total(page, store::count(conn, &filter)).await?;
    Ok((rows, total))
}

/// Issues a resolution: a committee inside the actor's subtree issues it, under a number of its own (409).
pub async fn create(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    fields: ResolutionFields,
) -> Result<ResolutionRow, ApiError> {
    actor.require_writer()?;
    valid(check_fields(&fields))?;
    check_issuer(conn, actor, fields.issuing_organisation_id).await?;
    let row = store::insert_fields(conn, &fields).await?;
    audit::record(conn, actor, Action::Create, RESOURCE, row.id, None, Some(&row)).await?;
    Ok(row)
}

/// Changes a resolution by a merge patch.
pub async fn update(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: ResolutionId,
    if_match: &IfMatch,
    patch: ResolutionPatch,
) -> Result<ResolutionRow, ApiError> {
    write::update::<Resolutions>(conn, actor, id, if_match, patch).await
}

/// Deletes a resolution that no organisation has started implementing (409 otherwise).
pub async fn delete(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: ResolutionId,
    if_match: &IfMatch,
) -> Result<(), ApiError> {
    write::delete::<Resolutions>(conn, actor, id, if_match).await
}

/// The rules of a resolution's own values.
fn check_fields(v: &ResolutionFields) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if v.number.trim().is_empty() || v.number.chars().count() > 50 {
        errors.push(FieldError::new("number", "must be 1 to 50 characters, not blank"));
    }
    if v.title.trim().is_empty() || v.title.chars().count() > 500 {
        errors.push(FieldError::new("title", "must be 1 to 500 characters, not blank"));
    }
    if v.summary.as_deref().is_some_and(|s| s.chars().count() > 10_000) {
        errors.push(FieldError::new("summary", "must be at most 10000 characters"));
    }
    if v.valid_until.is_some_and(|until| until < v.issued_on) {
        errors.push(FieldError::new("valid_until", "must not be before issued_on"));
    }
    errors.extend(check_targets(&v.targets.0));
    errors
}

/// Checks that the issuer exists, is a committee and lies in the actor's subtree.
async fn check_issuer(conn: &mut AsyncPgConnection, actor: &Actor, id: OrganisationId) -> Result<(), ApiError> {
    let scope = scope_path(conn, actor).await?;
    let issuer = organisations::find_visible(conn, id, None).await?;
    let Some(issuer) = issuer.filter(|o| may_read(scope.as_ref(), &o.path)) else {
        return Err(ApiError::invalid(
            "issuing_organisation_id",
            "no organisation with this id",
        ));
    };
    forbid_unless_writable(scope.as_ref(), &issuer.path)?;
    if !issuer.kind.is_committee() {
        return Err(ApiError::invalid(
            "issuing_organisation_id",
            format!("resolutions are issued by committees, not by a {}", issuer.kind),
        ));
    }
    Ok(())
}

/// Refuses (409) targets that drop an indicator the implementations still report results on.
async fn check_reported_kept(
    conn: &mut AsyncPgConnection,
    id: ResolutionId,
    targets: &Targets,
) -> Result<(), ApiError> {
    let reported = store::reported_indicators(conn, id).await?;
    let dropped: Vec<&str> = reported
        .iter()
        .map(String::as_str)
        .filter(|reported| !targets.0.iter().any(|t| t.indicator == *reported))
        .collect();
    if dropped.is_empty() {
        return Ok(());
    }
    Err(ApiError::conflict_on(
        "targets",
        format!(
            "implementations report results on {}; keep those indicators among the targets",
            dropped.join(", ")
        ),
    ))
}

/// How a resolution takes the one write path.
struct Resolutions;

impl Patchable for Resolutions {
    type Row = ResolutionRow;
    type Values = ResolutionFields;
    type Patch = ResolutionPatch;
    type View = ResolutionRow;
    type Id = ResolutionId;
    const RESOURCE: &'static str = RESOURCE;

    async fn lock(conn: &mut AsyncPgConnection, actor: &Actor, id: ResolutionId) -> Result<ResolutionRow, ApiError> {
        actor.require_writer()?;
        let found = visible(conn, actor, id, Lock::ForUpdate).await?;
        forbid_unless_writable(found.scope.as_ref(), &found.issuer)?;
        Ok(found.row)
    }

    async fn etag(_: &mut AsyncPgConnection, row: &ResolutionRow) -> Result<String, ApiError> {
        Ok(etag(row.version))
    }

    fn values(row: &ResolutionRow) -> ResolutionFields {
        row.fields.clone()
    }

    fn merge(current: &ResolutionFields, p: ResolutionPatch) -> Result<ResolutionFields, Vec<FieldError>> {
        let mut errors = Vec::new();
        let merged = ResolutionFields {
            number: write::required(&mut errors, "number", p.number, &current.number),
            title: write::required(&mut errors, "title", p.title, &current.title),
            issuing_organisation_id: current.issuing_organisation_id,
            issued_on: write::required(&mut errors, "issued_on", p.issued_on, &current.issued_on),
            field: write::required(&mut errors, "field", p.field, &current.field),
            summary: write::optional(p.summary, &current.summary),
            status: write::required(&mut errors, "status", p.status, &current.status),
            valid_until: write::optional(p.valid_until, &current.valid_until),
            // `null` clears the list.
            targets: p
                .targets
                .map_or_else(|| current.targets.clone(), Option::unwrap_or_default),
        };
        if errors.is_empty() {
            Ok(merged)
        } else {
            Err(errors)
        }
    }

    async fn check(
        conn: &mut AsyncPgConnection,
        _: &Actor,
        row: &ResolutionRow,
        values: &ResolutionFields,
    ) -> Result<(), ApiError> {
        valid(check_fields(values))?;
        // Results are reported against the targets: a target that results still report on stays.
        check_reported_kept(conn, row.id, &values.targets).await
    }

    async fn store(
        conn: &mut AsyncPgConnection,
        row: &ResolutionRow,
        values: ResolutionFields,
    ) -> Result<ResolutionRow, ApiError> {
        Ok(store::update(conn, row.id, &values).await?)
    }

    fn view(row: &ResolutionRow) -> ResolutionRow {
        row.clone()
    }
}

impl Removable for Resolutions {
    async fn remove(conn: &mut AsyncPgConnection, row: &ResolutionRow) -> Result<(), ApiError> {
        let implementations = store::implementation_count(conn, row.id).await?;
        if implementations > 0 {
            return Err(ApiError::conflict(format!(
                "the resolution has {implementations} implementation record(s); delete them first"
            )));
        }
        store::delete(conn, row.id).await?;
        Ok(())
    }
}
