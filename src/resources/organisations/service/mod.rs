//! The operations on organisations, shared by the HTTP layer, the command line and the seed: every rule of the
//! tree (placement, cycles, who decides) and every audit record of a change lives here.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use diesel::QueryResult;
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use crate::audit::{self, Action};
use crate::auth::Actor;
use crate::domain::ids::OrganisationId;
use crate::domain::member::MemberStatus;
use crate::domain::organisation::{check_placement, path_label, OrgCode, OrganisationKind, Sector};
use crate::domain::today;
use crate::error::{ApiError, FieldError};
use crate::resources::organisations::store::{
    self, through_time, tree::Confinement, NewOrganisation, OrganisationFilter, OrganisationRow, OrganisationValues,
};
use crate::resources::organisations::view::Organisation;
use crate::store::TreePath;
use crate::write::etag_with;
use crate::write::{self, IfMatch};

mod change;

use change::Organisations;

/// The resource type the audit trail and the problems name.
pub const RESOURCE: &str = "organisation";

/// One organisation as it is shown on its own: its row and the member counts of its subtree.
#[derive(Debug)]
pub struct Counted {
    pub row: OrganisationRow,
    pub member_counts: BTreeMap<MemberStatus, i64>,
}

impl Counted {
    async fn of(conn: &mut AsyncPgConnection, row: OrganisationRow) -> QueryResult<Counted> {
        let member_counts = store::tree::member_counts(conn, &row.path).await?;
        Ok(Counted { row, member_counts })
    }

    /// Its ETag, which `If-Match` must name: the counts change without the organisation changing, so they are
    /// part of it.
    pub fn etag(&self) -> String {
        etag_with(self.row.version, &self.member_counts)
    }
}

/// An organisation's values as a request or a command gives them, before they are checked.
#[derive(Debug)]
pub struct Draft {
    pub code: String,
    pub name: String,
    pub kind: OrganisationKind,
    pub sector: Option<Sector>,
    pub parent_id: Option<OrganisationId>,
    pub established_on: Option<NaiveDate>,
    pub dissolved_on: Option<NaiveDate>,
    pub address: Option<String>,
    pub note: Option<String>,
}

impl Draft {
    /// Checks the values that need no database, reporting every error at once.
    pub fn parse(self) -> Result<OrganisationValues, Vec<FieldError>> {
        let mut errors = Vec::new();
        let code = OrgCode::parse(self.code)
            .map_err(|m| errors.push(FieldError::new("code", m)))
            .ok();
        if self.name.trim().is_empty() || self.name.chars().count() > 200 {
            errors.push(FieldError::new("name", "must be 1 to 200 characters, not blank"));
        }
        for (field, value, max) in [("address", &self.address, 500), ("note", &self.note, 4000)] {
            if value.as_deref().is_some_and(|v| v.chars().count() > max) {
                errors.push(FieldError::new(field, format!("must be at most {max} characters")));
            }
        }
        if let (Some(established), Some(dissolved)) = (self.established_on, self.dissolved_on) {
            if dissolved < established {
                errors.push(FieldError::new("dissolved_on", "must not be before established_on"));
            }
        }
        match code {
            Some(code) if errors.is_empty() => Ok(OrganisationValues {
                code,
                name: self.name,
                kind: self.kind,
                sector: self.sector,
                parent_id: self.parent_id,
                established_on: self.established_on,
                dissolved_on: self.dissolved_on,
                address: self.address,
                note: self.note,
            }),
            _ => Err(errors),
        }
    }
}

/// A JSON merge patch of an organisation: `None` keeps a field, `Some(None)` clears it.
#[derive(Debug, Default)]
pub struct Patch {
    pub code: Option<Option<String>>,
    pub name: Option<Option<String>>,
    pub kind: Option<Option<OrganisationKind>>,
    pub sector: Option<Option<Sector>>,
    pub parent_id: Option<Option<OrganisationId>>,
    pub established_on: Option<Option<NaiveDate>>,
    pub dissolved_on: Option<Option<NaiveDate>>,
    pub address: Option<Option<String>>,
    pub note: Option<Option<String>>,
}

/// The filters of an organisation list.
#[derive(Debug, Default)]
pub struct Criteria {
    /// Only the direct children of this organisation.
    pub parent_id: Option<OrganisationId>,
    /// Every descendant of this organisation (not itself).
    pub under: Option<OrganisationId>,
    pub kinds: Option<Vec<OrganisationKind>>,
    pub sector: Option<Sector>,
    /// Not dissolved as of today (`true`), or dissolved (`false`).
    pub active: Option<bool>,
    /// Text in the name or code.
    pub q: Option<String>,
    /// The tree as it stood at the end of this day (`None`: today's tree).
    pub as_of: Option<NaiveDate>,
}

/// The paths a list is confined to, the caller's scope and an `under` filter: `Ok(None)` when `under` names no
/// organisation (the list is empty), 403 when the caller's own organisation no longer exists.
pub async fn subtree_paths(
    conn: &mut AsyncPgConnection,
    scope: Option<Uuid>,
    under: Option<Uuid>,
) -> Result<Option<(Option<TreePath>, Option<TreePath>)>, ApiError> {
    match store::tree::confinement(conn, scope, under).await? {
        Confinement::Within { scope, under } => Ok(Some((scope, under))),
        Confinement::UnderMissing => Ok(None),
        Confinement::ScopeGone => Err(ApiError::Forbidden("the token's organisation no longer exists".into())),
    }
}

/// `path`, or `None` when its subtree is the whole registry today ([`store::tree::spans_the_registry`]): for a read
/// that counts or lists what lies under a path inclusively, where the two mean the same and everything is cheaper.
pub async fn unless_everything(
    conn: &mut AsyncPgConnection,
    path: Option<TreePath>,
) -> Result<Option<TreePath>, ApiError> {
    Ok(match path {
        Some(path) if store::tree::spans_the_registry(conn, &path).await? => None,
        path => path,
    })
}

/// One page of the organisations the actor sees, after `after` in id order, and their number when `count`.
pub async fn list(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    criteria: Criteria,
    after: Option<OrganisationId>,
    fetch: i64,
    count: bool,
) -> Result<(Vec<OrganisationRow>, Option<i64>), ApiError> {
    let Some((scope, under)) = subtree_paths(conn, actor.scope(), criteria.under.map(Uuid::from)).await? else {
        return Ok((Vec::new(), count.then_some(0)));
    };
    // With `as_of`, `under` names the subtree of its place on that day; before it existed there is none.
    let under = match (criteria.as_of, criteria.under) {
        (Some(day), Some(root)) => match through_time::path_on(conn, root, day).await? {
            Some(path) => Some(path),
            None => return Ok((Vec::new(), count.then_some(0))),
        },
        _ => under,
    };
    let filter = OrganisationFilter {
        parent_id: criteria.parent_id,
        under,
        kinds: criteria.kinds,
        sector: criteria.sector,
        active: criteria.active,
        q: criteria.q,
        scope,
        today: criteria.as_of.unwrap_or_else(today),
    };
    let (rows, total) = match criteria.as_of {
        Some(day) => (
            through_time::list_on(conn, &filter, day, after, fetch).await?,
            match count {
                true => Some(through_time::count_on(conn, &filter, day).await?),
                false => None,
            },
        ),
        None => (
            store::list(conn, &filter, after, fetch).await?,
            match count {
                true => Some(store::count(conn, &filter).await?),
                false => None,
            },
        ),
    };
    Ok((rows, total))
}

/// One batch of an export: the organisations of today's tree that the actor sees and `criteria` selects (its
/// `as_of` aside), parents before their children, after the one with path `after`.
pub async fn list_in_tree_order(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    criteria: &Criteria,
    after: Option<TreePath>,
    fetch: i64,
) -> Result<Vec<OrganisationRow>, ApiError> {
    let Some((scope, under)) = subtree_paths(conn, actor.scope(), criteria.under.map(Uuid::from)).await? else {
        return Ok(Vec::new());
    };
    let filter = OrganisationFilter {
        parent_id: criteria.parent_id,
        under,
        kinds: criteria.kinds.clone(),
        sector: criteria.sector,
        active: criteria.active,
        q: criteria.q.clone(),
        scope,
        today: today(),
    };
    Ok(store::list_in_tree_order(conn, &filter, after, fetch).await?)
}

/// An organisation the actor sees, with its subtree's member counts.
pub async fn find(conn: &mut AsyncPgConnection, actor: &Actor, id: OrganisationId) -> Result<Counted, ApiError> {
    let row = visible(conn, actor, id).await?;
    Ok(Counted::of(conn, row).await?)
}

/// An organisation the actor sees (by today's tree) as it stood at the end of `day`: 404 when it did not exist
/// then.
pub async fn find_on(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: OrganisationId,
    day: NaiveDate,
) -> Result<OrganisationRow, ApiError> {
    let scope = scope_path(conn, actor).await?;
    through_time::find_on(conn, id, day, scope.as_ref())
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no organisation with this id existed on {day}")))
}

/// The ancestors of an organisation the actor sees, inside its scope: the root first, the parent last; with
/// `as_of`, as they stood at the end of that day.
pub async fn ancestors(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: OrganisationId,
    as_of: Option<NaiveDate>,
) -> Result<Vec<OrganisationRow>, ApiError> {
    match as_of {
        None => {
            visible(conn, actor, id).await?;
            Ok(store::tree::ancestors(conn, id, actor.scope()).await?)
        }
        Some(day) => {
            let row = find_on(conn, actor, id, day).await?;
            let scope = scope_path(conn, actor).await?;
            Ok(through_time::ancestors_on(conn, &row.path, day, scope.as_ref()).await?)
        }
    }
}

/// One dated version of an organisation's place and identity.
#[derive(Debug, Clone, PartialEq)]
pub struct Version {
    pub valid_from: Option<NaiveDate>,
    pub valid_to: Option<NaiveDate>,
    pub parent_id: Option<OrganisationId>,
    pub name: String,
    pub kind: OrganisationKind,
    pub reorganisation_id: Option<Uuid>,
}

/// The dated versions of an organisation's parent, name and kind, oldest first. The stored versions also change
/// when an ancestor moves (the path changes); those that differ only in the path are shown as one. The first
/// starts on the day the organisation was established (unknown: `None`), the last ends on the day it was dissolved
/// (still in the tree: `None`).
pub async fn history(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: OrganisationId,
) -> Result<Vec<Version>, ApiError> {
    let row = visible(conn, actor, id).await?;
    let mut shown: Vec<Version> = Vec::new();
    for v in through_time::versions(conn, id).await? {
        let version = Version {
            valid_from: v.from.or(row.established_on),
            valid_to: v.to.or(row.dissolved_on),
            parent_id: v.parent_id.map(OrganisationId),
            name: v.name,
            kind: v.kind,
            reorganisation_id: v.reorganisation_id,
        };
        match shown.last_mut() {
            Some(last)
                if (&last.parent_id, &last.name, last.kind) == (&version.parent_id, &version.name, version.kind) =>
            {
                last.valid_to = version.valid_to;
            }
            _ => shown.push(version),
        }
    }
    Ok(shown)
}

/// Today's path of the caller's subtree (`None`: unscoped); 403 when its organisation no longer exists.
async fn scope_path(conn: &mut AsyncPgConnection, actor: &Actor) -> Result<Option<TreePath>, ApiError> {
    Ok(subtree_paths(conn, actor.scope(), None)
        .await?
        .and_then(|(scope, _)| scope))
}

async fn visible(conn: &mut AsyncPgConnection, actor: &Actor, id: OrganisationId) -> Result<OrganisationRow, ApiError> {
    store::find_visible(conn, id, actor.scope())
        .await?
        .ok_or_else(|| ApiError::not_found(RESOURCE))
}

/// Creates an organisation under a parent inside the actor's scope (only an unscoped actor makes roots).
pub async fn create(conn: &mut AsyncPgConnection, actor: &Actor, draft: Draft) -> Result<Counted, ApiError> {
    actor.require_writer()?;
    let values = draft.parse().map_err(ApiError::Validation)?;
    // A child must not read its parent's path while a move is rewriting it.
    store::tree::lock_tree_shape(conn).await?;
    let parent = placement(conn, actor, true, values.kind, values.parent_id).await?;
    let id = OrganisationId::new();
    let new = NewOrganisation {
        id,
        path: placed(parent.as_ref().map(|p| &p.path), id),
        values,
    };
    let row = store::insert(conn, &new).await?;
    let view = Organisation::from_row(row.clone(), today());
    audit::record(conn, actor, Action::Create, RESOURCE, id, None, Some(&view)).await?;
    Ok(Counted::of(conn, row).await?)
}

/// Changes an organisation by a merge patch; a new parent moves its whole subtree.
pub async fn update(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: OrganisationId,
    if_match: &IfMatch,
    patch: Patch,
) -> Result<Counted, ApiError> {
    actor.require_writer()?;
    if patch.kind.is_some() || patch.parent_id.is_some() {
        // Every change of the tree's shape takes this lock before any row lock, so that none waits on another.
        store::tree::lock_tree_shape(conn).await?;
    }
    let row = write::update::<Organisations>(conn, actor, id, if_match, patch).await?;
    Ok(Counted::of(conn, row).await?)
}

/// Deletes an organisation that nothing refers to any more; the committee above decides.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: OrganisationId,
    if_match: &IfMatch,
) -> Result<(), ApiError> {
    write::delete::<Organisations>(conn, actor, id, if_match).await
}

/// The path of an organisation with this id under `parent` (`None`: a root).
fn placed(parent: Option<&TreePath>, id: OrganisationId) -> TreePath {
    let label = path_label(id.0);
    match parent {
        Some(path) => path.child(&label),
        None => TreePath(label),
    }
}

/// Loads the parent a write names and checks that the kind fits under it. A parent the write chooses (`chosen`)
/// must lie in the actor's scope; a parent the organisation already has is taken as it is.
async fn placement(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    chosen: bool,
    kind: OrganisationKind,
    parent_id: Option<OrganisationId>,
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
            store::find_visible(conn, id, scope)
                .await?
                .ok_or_else(|| ApiError::invalid("parent_id", "no organisation with this id"))?,
        ),
    };
    check_placement(kind, parent.as_ref().map(|p| p.kind)).map_err(|m| ApiError::invalid("parent_id", m))?;
    Ok(parent)
}
