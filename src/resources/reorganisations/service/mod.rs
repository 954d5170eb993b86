//! Applying a reorganisation: a superior committee's dated decision, checked whole and applied whole in one
//! transaction, or not at all.
//!
//! The operations run in a fixed order (create, move, transfer_members, end, successors) on the tree as the
//! earlier ones left it. Creations, moves and ends go through the organisations' own write path, each inside a
//! savepoint, so that every rule of the tree (kinds under parents, cycles, the token's scope, who decides, unique
//! codes) is the one a single change obeys, and a refused operation is recorded as a problem while the others
//! are still checked. Member transfers are one set-based statement for all of them. The transaction dates every
//! change on `effective_on` and names the reorganisation (see [`store::begin`]). Problems roll everything back
//! and answer 422 naming `operation[index].field`; a dry run rolls back a clean result too.

use std::collections::HashSet;

use chrono::NaiveDate;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use uuid::Uuid;

use super::operations::{AppliedOperations, Decision, Target};
use super::store::{self, ReorganisationFilter, ReorganisationRow};
use crate::auth::Actor;
use crate::domain::ids::{OrganisationId, ReorganisationId};
use crate::domain::today;
use crate::error::{ApiError, FieldError};
use crate::resources::organisations::service::subtree_paths;

mod steps;

/// The resource type the audit trail and the problems name.
pub const RESOURCE: &str = "reorganisation";

/// A reorganisation applied (or, in a dry run, as it would be).
#[derive(Debug)]
pub struct Applied {
    pub row: ReorganisationRow,
    pub operations: AppliedOperations,
}

impl Applied {
    fn of(row: ReorganisationRow) -> Self {
        let operations = serde_json::from_value(row.operations.clone()).unwrap_or_default();
        Applied { row, operations }
    }
}

/// How a reorganisation's transaction stops short of a commit.
enum Stop {
    Refused(ApiError),
    DryRun(Box<Applied>),
}

impl From<diesel::result::Error> for Stop {
    fn from(e: diesel::result::Error) -> Self {
        Stop::Refused(e.into())
    }
}

/// Checks and applies a reorganisation in one transaction (opened here); with `dry_run`, checks it the same way
/// and rolls it back.
pub async fn apply(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    decision: Decision,
    dry_run: bool,
) -> Result<Applied, ApiError> {
    actor.require_writer()?;
    check_decision(&decision, today())?;
    let outcome = conn
        .transaction(async |conn| {
            let applied = steps::run(conn, actor, decision).await.map_err(Stop::Refused)?;
            match dry_run {
                true => Err(Stop::DryRun(Box::new(applied))),
                false => Ok(applied),
            }
        })
        .await;
    match outcome {
        Ok(applied) => Ok(applied),
        Err(Stop::DryRun(applied)) => Ok(*applied),
        Err(Stop::Refused(e)) => Err(e),
    }
}

/// The checks that need no database: dates, lengths, labels, and that each label names an earlier creation.
fn check_decision(d: &Decision, today: NaiveDate) -> Result<(), ApiError> {
    let mut errors = Vec::new();
    let h = &d.header;
    if h.decision_number.trim().is_empty() || h.decision_number.chars().count() > 64 {
        errors.push(FieldError::new(
            "decision_number",
            "must be 1 to 64 characters, not blank",
        ));
    }
    if h.note.as_deref().is_some_and(|n| n.chars().count() > 4000) {
        errors.push(FieldError::new("note", "must be at most 4000 characters"));
    }
    if h.effective_on > today {
        errors.push(FieldError::new(
            "effective_on",
            "must not be in the future: a reorganisation is recorded once it has taken effect",
        ));
    }
    if h.decided_on > h.effective_on {
        errors.push(FieldError::new("decided_on", "must not be after effective_on"));
    }
    if d.create.is_empty()
        && d.moves.is_empty()
        && d.transfers.is_empty()
        && d.end.is_empty()
        && d.successors.is_empty()
    {
        errors.push(FieldError::new(
            "create",
            "a reorganisation needs at least one operation",
        ));
    }
    let mut labels = HashSet::new();
    for (i, op) in d.create.iter().enumerate() {
        if let Target::Ref(r) = &op.parent {
            if !labels.contains(r.as_str()) {
                errors.push(FieldError::new(
                    format!("create[{i}].parent_ref"),
                    "names no earlier creation of this reorganisation",
                ));
            }
        }
        if let Some(label) = &op.label {
            if label.is_empty() || label.chars().count() > 64 {
                errors.push(FieldError::new(
                    format!("create[{i}].ref"),
                    "must be 1 to 64 characters",
                ));
            } else if !labels.insert(label.as_str()) {
                errors.push(FieldError::new(
                    format!("create[{i}].ref"),
                    "is used by an earlier creation",
                ));
            }
        }
    }
    let mut check_ref = |target: &Target, field: String| {
        if let Target::Ref(r) = target {
            if !labels.contains(r.as_str()) {
                errors.push(FieldError::new(field, "names no creation of this reorganisation"));
            }
        }
    };
    for (i, op) in d.moves.iter().enumerate() {
        check_ref(&op.to_parent, format!("move[{i}].to_parent_ref"));
    }
    for (i, op) in d.transfers.iter().enumerate() {
        check_ref(&op.to, format!("transfer_members[{i}].to_ref"));
    }
    for (i, op) in d.successors.iter().enumerate() {
        check_ref(&op.successor, format!("successors[{i}].successor_ref"));
    }
    twice(
        &mut errors,
        "move",
        "organisation_id",
        d.moves.iter().map(|m| m.organisation_id),
    );
    twice(
        &mut errors,
        "transfer_members",
        "from_organisation_id",
        d.transfers.iter().map(|t| t.from),
    );
    twice(&mut errors, "end", "", d.end.iter().copied());
    match errors.is_empty() {
        true => Ok(()),
        false => Err(ApiError::Validation(errors)),
    }
}

/// A problem for each operation of a list that names the same organisation as an earlier one.
fn twice(errors: &mut Vec<FieldError>, list: &str, field: &str, ids: impl Iterator<Item = OrganisationId>) {
    let mut seen = HashSet::new();
    for (i, id) in ids.enumerate() {
        if !seen.insert(id) {
            let at = match field {
                "" => format!("{list}[{i}]"),
                _ => format!("{list}[{i}].{field}"),
            };
            errors.push(FieldError::new(
                at,
                "names the same organisation as an earlier operation",
            ));
        }
    }
}

/// The filters of a reorganisation list.
#[derive(Debug, Default)]
pub struct Criteria {
    /// Only those that name an organisation of this subtree.
    pub under: Option<OrganisationId>,
    pub effective_from: Option<NaiveDate>,
    pub effective_to: Option<NaiveDate>,
}

/// One page of the reorganisations the actor sees, and their number when `count`.
pub async fn list(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    criteria: Criteria,
    after: Option<ReorganisationId>,
    fetch: i64,
    count: bool,
) -> Result<(Vec<Applied>, Option<i64>), ApiError> {
    let Some((scope, under)) = subtree_paths(conn, actor.scope(), criteria.under.map(Uuid::from)).await? else {
        return Ok((Vec::new(), count.then_some(0)));
    };
    let filter = ReorganisationFilter {
        scope,
        under,
        effective_from: criteria.effective_from,
        effective_to: criteria.effective_to,
    };
    let rows = store::list(conn, &filter, after, fetch).await?;
    let total = match count {
        true => Some(store::count(conn, &filter).await?),
        false => None,
    };
    Ok((rows.into_iter().map(Applied::of).collect(), total))
}

/// A reorganisation the actor sees: one that names only organisations of its subtree.
pub async fn find(conn: &mut AsyncPgConnection, actor: &Actor, id: ReorganisationId) -> Result<Applied, ApiError> {
    let scope = subtree_paths(conn, actor.scope(), None).await?.and_then(|(s, _)| s);
    store::find(conn, id, scope.as_ref())
        .await?
        .map(Applied::of)
        .ok_or_else(|| ApiError::not_found(RESOURCE))
}
