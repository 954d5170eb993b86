//! How the organisations under an issuer carry a resolution out: one implementation record each, its status
//! moving only forward and its results naming the resolution's targets.

use chrono::NaiveDate;
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use super::{total, valid, visible, Lock, Visible};
use crate::audit::{self, Action};
use crate::auth::Actor;
use crate::domain::ids::{ImplementationId, OrganisationId, ResolutionId};
use crate::domain::resolution::{check_results, may_move, Achievements, ImplementationStatus};
use crate::domain::today;
use crate::error::{ApiError, FieldError};
use crate::pagination::PageRequest;
use crate::resources::organisations::store as organisations;
use crate::resources::resolutions::store::{self, ImplementationFields, ImplementationRow, ResolutionRow};
use crate::store::TreePath;
use crate::write::etag;
use crate::write::{self, IfMatch, Patchable, Removable};

const RESOURCE: &str = "implementation";

/// Results are checked against the resolution's targets: its row is share-locked while an implementation is
/// written, so that a concurrent change of the targets waits (and cannot drop an indicator being reported on).
const RESOLUTION_STAYS: Lock = Lock::Share;

/// Names an implementation: the resolution and the implementing organisation.
#[derive(Debug, Clone, Copy)]
pub struct ImplementationKey {
    pub resolution_id: ResolutionId,
    pub organisation_id: OrganisationId,
}

/// A merge patch of an implementation: `None` keeps a value, `Some(None)` clears it. `status` only moves forward;
/// `results`, when given, replaces the list.
#[derive(Debug, Default)]
pub struct ImplementationPatch {
    pub status: Option<Option<ImplementationStatus>>,
    pub plan_adopted_on: Option<Option<NaiveDate>>,
    pub reported_on: Option<Option<NaiveDate>>,
    pub report: Option<Option<String>>,
    pub results: Option<Option<Achievements>>,
}

/// A page of a resolution's implementations, in order of organisation id; for a scoped actor, those by
/// organisations in its subtree.
pub async fn implementations(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    resolution_id: ResolutionId,
    page: &PageRequest,
) -> Result<(Vec<ImplementationRow>, Option<i64>), ApiError> {
    let after = page.after::<Uuid>()?;
    let Visible { scope, .. } = visible(conn, actor, resolution_id, Lock::Unlocked).await?;
    let rows = store::implementations(conn, resolution_id, scope.as_ref(), after, page.fetch()).await?;
    let total = total(page, store::implementations_count(conn, resolution_id, scope.as_ref())).await?;
    Ok((rows, total))
}

/// Reads an implementation the actor may see: the resolution visible and the organisation in its subtree.
pub async fn find_implementation(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    key: ImplementationKey,
) -> Result<ImplementationRow, ApiError> {
    let Visible { scope, .. } = visible(conn, actor, key.resolution_id, Lock::Unlocked).await?;
    let found = store::implementation(conn, key.resolution_id, key.organisation_id).await?;
    in_scope(found, scope.as_ref())
}

/// Records how an organisation strictly inside the issuer's subtree carries the resolution out: one record per
/// organisation (409), results naming the resolution's targets (422).
pub async fn create_implementation(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    key: ImplementationKey,
    fields: ImplementationFields,
) -> Result<ImplementationRow, ApiError> {
    actor.require_writer()?;
    let Visible {
        row: resolution,
        issuer,
        ..
    } = visible(conn, actor, key.resolution_id, RESOLUTION_STAYS).await?;
    let organisation = organisations::find_visible(conn, key.organisation_id, actor.scope())
        .await?
        .ok_or_else(|| ApiError::invalid("organisation_id", "no organisation with this id"))?;
    if organisation.path == issuer || !organisation.path.is_within(&issuer) {
        return Err(ApiError::invalid(
            "organisation_id",
            "must lie inside the issuing organisation's subtree",
        ));
    }
    valid(check_fields(&fields, &resolution))?;
    let row = store::insert_implementation_fields(conn, key.resolution_id, key.organisation_id, &fields).await?;
    audit::record(conn, actor, Action::Create, RESOURCE, row.id, None, Some(&row)).await?;
    Ok(row)
}

/// Reports progress by a merge patch: 409 when `status` would move back.
pub async fn update_implementation(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    key: ImplementationKey,
    if_match: &IfMatch,
    patch: ImplementationPatch,
) -> Result<ImplementationRow, ApiError> {
    let id = writable_id(conn, actor, key).await?;
    let changed = write::update::<Implementations>(conn, actor, id, if_match, patch).await?;
    Ok(changed.implementation)
}

/// Deletes an implementation record.
pub async fn delete_implementation(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    key: ImplementationKey,
    if_match: &IfMatch,
) -> Result<(), ApiError> {
    let id = writable_id(conn, actor, key).await?;
    write::delete::<Implementations>(conn, actor, id, if_match).await
}

/// The id of an implementation the actor may change, which the write path locks and audits it by.
async fn writable_id(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    key: ImplementationKey,
) -> Result<ImplementationId, ApiError> {
    actor.require_writer()?;
    Ok(find_implementation(conn, actor, key).await?.id)
}

/// The implementation when its organisation lies inside `scope` (404 otherwise).
fn in_scope(
    found: Option<(ImplementationRow, TreePath)>,
    scope: Option<&TreePath>,
) -> Result<ImplementationRow, ApiError> {
    match found {
        Some((row, path)) if scope.is_none_or(|s| path.is_within(s)) => Ok(row),
        _ => Err(no_implementation()),
    }
}

fn no_implementation() -> ApiError {
    ApiError::NotFound("this organisation has no implementation of the resolution".into())
}

/// The rules of an implementation's values against its resolution.
fn check_fields(v: &ImplementationFields, resolution: &ResolutionRow) -> Vec<FieldError> {
    let today = today();
    let mut errors = Vec::new();
    for (field, date) in [("plan_adopted_on", v.plan_adopted_on), ("reported_on", v.reported_on)] {
        match date {
            Some(d) if d > today => errors.push(FieldError::new(field, "must not be in the future")),
            Some(d) if d < resolution.fields.issued_on => {
                errors.push(FieldError::new(field, "must not be before the resolution was issued"))
            }
            _ => {}
        }
    }
    if v.report.as_deref().is_some_and(|r| r.chars().count() > 20_000) {
        errors.push(FieldError::new("report", "must be at most 20000 characters"));
    }
    errors.extend(check_results(&v.results.0, &resolution.fields.targets.0));
    errors
}

/// An implementation with the resolution it carries out, which its rules speak of.
struct Implementing {
    resolution: ResolutionRow,
    implementation: ImplementationRow,
}

/// How an implementation takes the one write path.
struct Implementations;

impl Patchable for Implementations {
    type Row = Implementing;
    type Values = ImplementationFields;
    type Patch = ImplementationPatch;
    type View = ImplementationRow;
    type Id = ImplementationId;
    const RESOURCE: &'static str = RESOURCE;

    async fn lock(conn: &mut AsyncPgConnection, actor: &Actor, id: ImplementationId) -> Result<Implementing, ApiError> {
        actor.require_writer()?;
        let found = store::lock_implementation(conn, id).await?;
        let Some((locked, _)) = &found else {
            return Err(no_implementation());
        };
        let Visible {
            row: resolution, scope, ..
        } = visible(conn, actor, locked.resolution_id, RESOLUTION_STAYS).await?;
        let implementation = in_scope(found, scope.as_ref())?;
        Ok(Implementing {
            resolution,
            implementation,
        })
    }

    async fn etag(_: &mut AsyncPgConnection, row: &Implementing) -> Result<String, ApiError> {
        Ok(etag(row.implementation.version))
    }

    fn values(row: &Implementing) -> ImplementationFields {
        row.implementation.fields()
    }

    fn merge(current: &ImplementationFields, p: ImplementationPatch) -> Result<ImplementationFields, Vec<FieldError>> {
        let mut errors = Vec::new();
        let merged = ImplementationFields {
            status: write::required(&mut errors, "status", p.status, &current.status),
            plan_adopted_on: write::optional(p.plan_adopted_on, &current.plan_adopted_on),
            reported_on: write::optional(p.reported_on, &current.reported_on),
            report: write::optional(p.report, &current.report),
            // `null` clears the list.
            results: p
                .results
                .map_or_else(|| current.results.clone(), Option::unwrap_or_default),
        };
        if errors.is_empty() {
            Ok(merged)
        } else {
            Err(errors)
        }
    }

    async fn check(
        _: &mut AsyncPgConnection,
        _: &Actor,
        row: &Implementing,
        values: &ImplementationFields,
    ) -> Result<(), ApiError> {
        let current = row.implementation.status;
        if !may_move(current, values.status) {
            return Err(ApiError::conflict(format!(
                "an implementation moves forward only (planned, in_progress, completed): it is {current} already"
            )));
        }
        valid(check_fields(values, &row.resolution))
    }

    async fn store(
        conn: &mut AsyncPgConnection,
        row: &Implementing,
        values: ImplementationFields,
    ) -> Result<Implementing, ApiError> {
        Ok(Implementing {
            resolution: row.resolution.clone(),
            implementation: store::update_implementation(conn, row.implementation.id, &values).await?,
        })
    }

    fn view(row: &Implementing) -> ImplementationRow {
        row.implementation.clone()
    }
}

impl Removable for Implementations {
    async fn remove(conn: &mut AsyncPgConnection, row: &Implementing) -> Result<(), ApiError> {
        store::delete_implementation(conn, row.implementation.id).await?;
        Ok(())
    }
}
