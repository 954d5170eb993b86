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

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use uuid::Uuid;

use super::operations::{
    AppliedOperations, CreatedOrganisation, Decision, MembersTransferred, MovedOrganisation, SuccessorLink, Target,
};
use super::store::{self, Counts, ReorganisationFilter, ReorganisationRow};
use crate::audit::{self, Action};
use crate::auth::Actor;
use crate::domain::ids::{OrganisationId, ReorganisationId};
use crate::domain::today;
use crate::error::{ApiError, FieldError};
use crate::resources::organisations::service::{self as organisations, subtree_paths, Draft, Patch};
use crate::resources::organisations::store as organisation_store;
use crate::resources::organisations::view::Organisation;
use crate::write::IfMatch;

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
            let applied = run(conn, actor, decision).await.map_err(Stop::Refused)?;
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

/// The problems of an operation the organisations' write path refused, named `at.field`: its field errors with
/// their fields renamed by `rename`, anything else (not found, forbidden, conflict) on `field`. An error that is
/// not about the operation (the database is unavailable) stops the reorganisation.
fn problems(err: ApiError, at: &str, field: &str, rename: &[(&str, &str)]) -> Result<Vec<FieldError>, ApiError> {
    let named = |f: &str| {
        let f = rename.iter().find(|(from, _)| *from == f).map_or(f, |(_, to)| *to);
        format!("{at}.{f}")
    };
    match err {
        ApiError::Validation(errors) => Ok(errors
            .into_iter()
            .map(|e| FieldError::new(named(&e.field), e.message))
            .collect()),
        ApiError::Conflict { detail, errors } if errors.is_empty() => Ok(vec![FieldError::new(named(field), detail)]),
        ApiError::Conflict { errors, .. } => Ok(errors
            .into_iter()
            .map(|e| FieldError::new(named(&e.field), e.message))
            .collect()),
        ApiError::NotFound(m) | ApiError::Forbidden(m) => Ok(vec![FieldError::new(named(field), m)]),
        other => Err(other),
    }
}

/// The field a target was given in, by kind.
fn target_field(target: &Target, id_field: &'static str, ref_field: &'static str) -> &'static str {
    match target {
        Target::Id(_) => id_field,
        Target::Ref(_) => ref_field,
    }
}

/// Applies the decision inside the caller's transaction; any problem answers 422 (the caller rolls back).
async fn run(conn: &mut AsyncPgConnection, actor: &Actor, decision: Decision) -> Result<Applied, ApiError> {
    let id = ReorganisationId::new();
    let day = decision.header.effective_on;
    // Every change of the tree's shape takes this lock first (see the organisations' service).
    organisation_store::tree::lock_tree_shape(conn).await?;
    store::begin(conn, id, &decision.header).await?;
    let scope = subtree_paths(conn, actor.scope(), None).await?.and_then(|(s, _)| s);
    let mut errors: Vec<FieldError> = Vec::new();
    let mut applied = AppliedOperations::default();
    let mut named: Vec<Uuid> = Vec::new();
    let mut labels: HashMap<String, OrganisationId> = HashMap::new();
    let mut failed_labels: HashSet<String> = HashSet::new();

    let roots: Vec<Uuid> = decision.moves.iter().map(|m| m.organisation_id.0).collect();
    for later in store::later_changes(conn, &roots, day).await? {
        errors.push(FieldError::new(
            format!("move[{}].organisation_id", later.index),
            format!(
                "{} in its subtree changed on {}, after effective_on: a reorganisation cannot be dated before a \
                 later change",
                later.code, later.since
            ),
        ));
    }

    let resolve = |target: &Target, labels: &HashMap<String, OrganisationId>, failed: &HashSet<String>| match target {
        Target::Id(id) => Ok(*id),
        Target::Ref(r) => labels.get(r).copied().ok_or_else(|| match failed.contains(r) {
            true => format!("names the creation {r:?}, which was refused"),
            false => format!("names no creation {r:?}"),
        }),
    };

    for (i, op) in decision.create.iter().enumerate() {
        let at = format!("create[{i}]");
        let parent_field = target_field(&op.parent, "parent_id", "parent_ref");
        let parent = match resolve(&op.parent, &labels, &failed_labels) {
            Ok(parent) => parent,
            Err(m) => {
                errors.push(FieldError::new(format!("{at}.{parent_field}"), m));
                failed_labels.extend(op.label.iter().cloned());
                continue;
            }
        };
        let draft = Draft {
            code: op.code.clone(),
            name: op.name.clone(),
            kind: op.kind,
            sector: op.sector,
            parent_id: Some(parent),
            established_on: Some(day),
            dissolved_on: None,
            address: op.address.clone(),
            note: None,
        };
        let created = conn
            .transaction(async |conn| {
                require_active(conn, parent, day, "parent_id").await?;
                organisations::create(conn, actor, draft).await
            })
            .await;
        match created {
            Ok(counted) => {
                let row = counted.row;
                if let Some(label) = &op.label {
                    labels.insert(label.clone(), row.id);
                }
                named.extend([row.id.0, parent.0]);
                applied.create.push(CreatedOrganisation {
                    label: op.label.clone(),
                    organisation_id: row.id.0,
                    code: row.code,
                    name: row.name,
                    kind: row.kind,
                    sector: row.sector,
                    parent_id: parent.0,
                    address: row.address,
                });
            }
            Err(e) => {
                errors.extend(problems(e, &at, "code", &[("parent_id", parent_field)])?);
                failed_labels.extend(op.label.iter().cloned());
            }
        }
    }

    for (i, op) in decision.moves.iter().enumerate() {
        let at = format!("move[{i}]");
        let parent_field = target_field(&op.to_parent, "to_parent_id", "to_parent_ref");
        let to = match resolve(&op.to_parent, &labels, &failed_labels) {
            Ok(to) => to,
            Err(m) => {
                errors.push(FieldError::new(format!("{at}.{parent_field}"), m));
                continue;
            }
        };
        let patch = Patch {
            parent_id: Some(Some(to)),
            kind: op.kind.map(Some),
            ..Patch::default()
        };
        let moved = conn
            .transaction(async |conn| {
                require_active(conn, to, day, "parent_id").await?;
                let current = organisation_store::find_visible(conn, op.organisation_id, actor.scope())
                    .await?
                    .ok_or_else(|| ApiError::NotFound("no organisation with this id in the token's subtree".into()))?;
                if current.parent_id == Some(to) && op.kind.is_none_or(|k| k == current.kind) {
                    return Err(ApiError::invalid(
                        "parent_id",
                        "the organisation is under this parent already",
                    ));
                }
                organisations::update(conn, actor, op.organisation_id, &IfMatch::any(), patch).await
            })
            .await;
        match moved {
            Ok(counted) => {
                named.extend([op.organisation_id.0, to.0]);
                applied.moves.push(MovedOrganisation {
                    organisation_id: op.organisation_id.0,
                    to_parent_id: to.0,
                    kind: counted.row.kind,
                });
            }
            Err(e) => errors.extend(problems(e, &at, "organisation_id", &[("parent_id", parent_field)])?),
        }
    }

    let mut members_transferred = 0;
    if !decision.transfers.is_empty() {
        let mut from = Vec::new();
        let mut to = Vec::new();
        let mut usable = true;
        for (i, op) in decision.transfers.iter().enumerate() {
            match resolve(&op.to, &labels, &failed_labels) {
                Ok(target) => {
                    from.push(op.from.0);
                    to.push(target.0);
                }
                Err(m) => {
                    errors.push(FieldError::new(format!("transfer_members[{i}].to_ref"), m));
                    usable = false;
                }
            }
        }
        if usable {
            let ends = store::transfer_ends(conn, &from, &to, day, scope.as_ref()).await?;
            for (i, (op, e)) in decision.transfers.iter().zip(&ends).enumerate() {
                let at = format!("transfer_members[{i}]");
                let to_field = format!("{at}.{}", target_field(&op.to, "to_organisation_id", "to_ref"));
                match e.from_kind {
                    None => errors.push(FieldError::new(
                        format!("{at}.from_organisation_id"),
                        "no organisation with this id in the token's subtree",
                    )),
                    Some(kind) if !kind.holds_members() => errors.push(FieldError::new(
                        format!("{at}.from_organisation_id"),
                        "members belong to a base_cell or a cell; this organisation holds none",
                    )),
                    Some(_) => {}
                }
                match e.to_kind {
                    None => errors.push(FieldError::new(
                        to_field.clone(),
                        "no organisation with this id in the token's subtree",
                    )),
                    Some(kind) if !kind.holds_members() => errors.push(FieldError::new(
                        to_field.clone(),
                        "members belong to a base_cell or a cell",
                    )),
                    Some(_) if !e.to_active => {
                        errors.push(FieldError::new(to_field.clone(), format!("was dissolved by {day}")))
                    }
                    Some(_) => {}
                }
                if from[i] == to[i] {
                    errors.push(FieldError::new(to_field, "is the organisation the members are in"));
                }
                if e.later_entries > 0 {
                    errors.push(FieldError::new(
                        format!("{at}.from_organisation_id"),
                        format!(
                            "{} member(s) have history entries after effective_on; a transfer cannot be dated \
                             before them",
                            e.later_entries
                        ),
                    ));
                }
            }
        }
        if errors.is_empty() {
            let note = format!("reorganisation {}", decision.header.decision_number);
            let moved =
                store::transfer_members(conn, &from, &to, day, &note, &actor.identity.name, &actor.request_id).await?;
            let by_source: HashMap<Uuid, i64> = moved.into_iter().map(|t| (t.organisation_id, t.members)).collect();
            for (f, t) in from.iter().zip(&to) {
                let members = by_source.get(f).copied().unwrap_or(0);
                members_transferred += members;
                named.extend([*f, *t]);
                applied.transfer_members.push(MembersTransferred {
                    from_organisation_id: *f,
                    to_organisation_id: *t,
                    members,
                });
            }
        }
    }

    for (i, id) in decision.end.iter().enumerate() {
        let at = format!("end[{i}]");
        let patch = Patch {
            dissolved_on: Some(Some(day)),
            ..Patch::default()
        };
        let ended = conn
            .transaction(async |conn| {
                require_active(conn, *id, day, "organisation_id").await?;
                organisations::update(conn, actor, *id, &IfMatch::any(), patch).await
            })
            .await;
        match ended {
            Ok(_) => {
                named.push(id.0);
                applied.end.push(id.0);
            }
            Err(e) => errors.extend(
                problems(e, &at, "organisation_id", &[])?
                    .into_iter()
                    .map(|p| FieldError::new(at.clone(), p.message)),
            ),
        }
    }
    let ended: Vec<Uuid> = decision.end.iter().map(|e| e.0).collect();
    for left in store::leftovers(conn, &ended, day).await? {
        let mut what = Vec::new();
        if left.child_count > 0 {
            what.push(format!(
                "{} active child organisation(s) ({}{})",
                left.child_count,
                left.children.join(", "),
                if left.child_count > left.children.len() as i64 {
                    ", ..."
                } else {
                    ""
                }
            ));
        }
        if left.members > 0 {
            what.push(format!("{} current member(s)", left.members));
        }
        errors.push(FieldError::new(
            format!("end[{}]", left.index),
            format!(
                "an ended organisation must be left empty; it still has {}",
                what.join(" and ")
            ),
        ));
    }

    for (i, op) in decision.successors.iter().enumerate() {
        let at = format!("successors[{i}]");
        let successor_field = target_field(&op.successor, "successor_id", "successor_ref");
        let successor = match resolve(&op.successor, &labels, &failed_labels) {
            Ok(s) => s,
            Err(m) => {
                errors.push(FieldError::new(format!("{at}.{successor_field}"), m));
                continue;
            }
        };
        let linked = conn
            .transaction(async |conn| link(conn, actor, id, op.organisation_id, successor, day).await)
            .await;
        match linked {
            Ok(()) => {
                named.extend([op.organisation_id.0, successor.0]);
                applied.successors.push(SuccessorLink {
                    organisation_id: op.organisation_id.0,
                    successor_id: successor.0,
                });
            }
            Err(e) => errors.extend(problems(
                e,
                &at,
                "organisation_id",
                &[("successor_id", successor_field)],
            )?),
        }
    }

    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let counts = Counts {
        created: applied.create.len() as i32,
        moved: applied.moves.len() as i32,
        ended: applied.end.len() as i32,
        members_transferred: i32::try_from(members_transferred).unwrap_or(i32::MAX),
    };
    let operations = serde_json::to_value(&applied).map_err(|e| ApiError::Internal(e.into()))?;
    let row = store::finish(conn, id, &operations, counts, &named).await?;
    let view = Applied::of(row);
    audit::record(
        conn,
        actor,
        Action::Create,
        RESOURCE,
        id,
        None,
        Some(&view.row.operations),
    )
    .await?;
    Ok(view)
}

/// Refuses an organisation that no longer existed on `day` (or does not exist at all).
async fn require_active(
    conn: &mut AsyncPgConnection,
    id: OrganisationId,
    day: NaiveDate,
    field: &str,
) -> Result<(), ApiError> {
    match organisation_store::find_visible(conn, id, None).await? {
        None => Err(ApiError::invalid(field, "no organisation with this id")),
        Some(row) if row.dissolved_on.is_some_and(|d| d <= day) => Err(ApiError::invalid(
            field,
            format!("the organisation was dissolved on {}", row.dissolved_on.unwrap_or(day)),
        )),
        Some(_) => Ok(()),
    }
}

/// Links an organisation ended by `day` to its successor; both change (a new version each, audited).
async fn link(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    reorganisation: ReorganisationId,
    ended: OrganisationId,
    successor: OrganisationId,
    day: NaiveDate,
) -> Result<(), ApiError> {
    let scope = actor.scope();
    let ended_row = organisation_store::find_visible(conn, ended, scope)
        .await?
        .ok_or_else(|| ApiError::invalid("organisation_id", "no organisation with this id in the token's subtree"))?;
    if ended_row.dissolved_on.is_none_or(|d| d > day) {
        return Err(ApiError::invalid(
            "organisation_id",
            format!("has not ended by {day}: end it in the same reorganisation"),
        ));
    }
    actor.may_decide_about(ended)?;
    let successor_row = organisation_store::find_visible(conn, successor, scope)
        .await?
        .ok_or_else(|| ApiError::invalid("successor_id", "no organisation with this id in the token's subtree"))?;
    if successor_row.dissolved_on.is_some_and(|d| d <= day) {
        return Err(ApiError::invalid("successor_id", format!("had ended by {day}")));
    }
    if ended == successor {
        return Err(ApiError::invalid(
            "successor_id",
            "an organisation cannot succeed itself",
        ));
    }
    if !store::link_successor(conn, ended.0, successor.0, reorganisation).await? {
        return Err(ApiError::invalid(
            "successor_id",
            "is linked as this organisation's successor already",
        ));
    }
    for before in [ended_row, successor_row] {
        let after = organisation_store::touch(conn, before.id).await?;
        let today = today();
        audit::record(
            conn,
            actor,
            Action::Update,
            organisations::RESOURCE,
            before.id,
            Some(&Organisation::from_row(before, today)),
            Some(&Organisation::from_row(after, today)),
        )
        .await?;
    }
    Ok(())
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
