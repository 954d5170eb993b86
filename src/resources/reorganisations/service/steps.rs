//! The steps of a reorganisation, in order, on the tree the earlier ones left: each records its problems as
//! `operation[index].field` and goes on, so that one answer names every problem.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use uuid::Uuid;

use super::super::operations::{
    AppliedOperations, CreatedOrganisation, Decision, MembersTransferred, MovedOrganisation, SuccessorLink, Target,
};
use super::super::store::{self, Counts};
use super::{Applied, RESOURCE};
use crate::audit::{self, Action};
use crate::auth::Actor;
use crate::domain::ids::{OrganisationId, ReorganisationId};
use crate::domain::today;
use crate::error::{ApiError, FieldError};
use crate::resources::organisations::service::{self as organisations, subtree_paths, Draft, Patch};
use crate::resources::organisations::store as organisation_store;
use crate::resources::organisations::view::Organisation;
use crate::write::IfMatch;

/// Applies the decision inside the caller's transaction; any problem answers 422 (the caller rolls back).
pub(super) async fn run(conn: &mut AsyncPgConnection, actor: &Actor, decision: Decision) -> Result<Applied, ApiError> {
    let id = ReorganisationId::new();
    // Every change of the tree's shape takes this lock first (see the organisations' service).
    organisation_store::tree::lock_tree_shape(conn).await?;
    store::begin(conn, id, &decision.header).await?;
    let scope = subtree_paths(conn, actor.scope(), None).await?.and_then(|(s, _)| s);
    let mut run = Run {
        actor,
        id,
        day: decision.header.effective_on,
        scope,
        errors: Vec::new(),
        applied: AppliedOperations::default(),
        named: Vec::new(),
        labels: HashMap::new(),
        failed_labels: HashSet::new(),
        members_transferred: 0,
    };
    run.later_changes(conn, &decision).await?;
    run.create(conn, &decision).await?;
    run.moves(conn, &decision).await?;
    run.transfers(conn, &decision).await?;
    run.end(conn, &decision).await?;
    run.successors(conn, &decision).await?;
    run.finish(conn).await
}

/// A reorganisation on its way: what it has applied and the problems it found.
struct Run<'a> {
    actor: &'a Actor,
    id: ReorganisationId,
    day: NaiveDate,
    /// Today's path of the actor's subtree.
    scope: Option<crate::store::TreePath>,
    errors: Vec<FieldError>,
    applied: AppliedOperations,
    /// Every organisation the decision names.
    named: Vec<Uuid>,
    /// The organisations created so far, by their client labels.
    labels: HashMap<String, OrganisationId>,
    /// The labels of refused creations.
    failed_labels: HashSet<String>,
    members_transferred: i64,
}

impl Run<'_> {
    /// The organisation a target names, or why it names none.
    fn resolve(&self, target: &Target) -> Result<OrganisationId, String> {
        match target {
            Target::Id(id) => Ok(*id),
            Target::Ref(r) => self
                .labels
                .get(r)
                .copied()
                .ok_or_else(|| match self.failed_labels.contains(r) {
                    true => format!("names the creation {r:?}, which was refused"),
                    false => format!("names no creation {r:?}"),
                }),
        }
    }

    /// A move cannot be dated before a later change in the subtree it moves.
    async fn later_changes(&mut self, conn: &mut AsyncPgConnection, decision: &Decision) -> Result<(), ApiError> {
        let day = self.day;
        let roots: Vec<Uuid> = decision.moves.iter().map(|m| m.organisation_id.0).collect();
        for later in store::later_changes(conn, &roots, day).await? {
            self.errors.push(FieldError::new(
                format!("move[{}].organisation_id", later.index),
                format!(
                    "{} in its subtree changed on {}, after effective_on: a reorganisation cannot be dated before a \
                     later change",
                    later.code, later.since
                ),
            ));
        }
        Ok(())
    }

    /// New organisations, established on the effective day, each under its parent.
    async fn create(&mut self, conn: &mut AsyncPgConnection, decision: &Decision) -> Result<(), ApiError> {
        let (actor, day) = (self.actor, self.day);
        for (i, op) in decision.create.iter().enumerate() {
            let at = format!("create[{i}]");
            let parent_field = target_field(&op.parent, "parent_id", "parent_ref");
            let parent = match self.resolve(&op.parent) {
                Ok(parent) => parent,
                Err(m) => {
                    self.errors.push(FieldError::new(format!("{at}.{parent_field}"), m));
                    self.failed_labels.extend(op.label.iter().cloned());
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
                        self.labels.insert(label.clone(), row.id);
                    }
                    self.named.extend([row.id.0, parent.0]);
                    self.applied.create.push(CreatedOrganisation {
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
                    self.errors
                        .extend(problems(e, &at, "code", &[("parent_id", parent_field)])?);
                    self.failed_labels.extend(op.label.iter().cloned());
                }
            }
        }
        Ok(())
    }

    /// Organisations moved with their subtrees, through the organisations' write path.
    async fn moves(&mut self, conn: &mut AsyncPgConnection, decision: &Decision) -> Result<(), ApiError> {
        let (actor, day) = (self.actor, self.day);
        for (i, op) in decision.moves.iter().enumerate() {
            let at = format!("move[{i}]");
            let parent_field = target_field(&op.to_parent, "to_parent_id", "to_parent_ref");
            let to = match self.resolve(&op.to_parent) {
                Ok(to) => to,
                Err(m) => {
                    self.errors.push(FieldError::new(format!("{at}.{parent_field}"), m));
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
                        .ok_or_else(|| {
                            ApiError::NotFound("no organisation with this id in the token's subtree".into())
                        })?;
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
                    self.named.extend([op.organisation_id.0, to.0]);
                    self.applied.moves.push(MovedOrganisation {
                        organisation_id: op.organisation_id.0,
                        to_parent_id: to.0,
                        kind: counted.row.kind,
                    });
                }
                Err(e) => self
                    .errors
                    .extend(problems(e, &at, "organisation_id", &[("parent_id", parent_field)])?),
            }
        }
        Ok(())
    }

    /// Every member of the sources transferred in one statement, once every transfer checks out.
    async fn transfers(&mut self, conn: &mut AsyncPgConnection, decision: &Decision) -> Result<(), ApiError> {
        let (actor, day) = (self.actor, self.day);
        if !decision.transfers.is_empty() {
            let mut from = Vec::new();
            let mut to = Vec::new();
            let mut usable = true;
            for (i, op) in decision.transfers.iter().enumerate() {
                match self.resolve(&op.to) {
                    Ok(target) => {
                        from.push(op.from.0);
                        to.push(target.0);
                    }
                    Err(m) => {
                        self.errors
                            .push(FieldError::new(format!("transfer_members[{i}].to_ref"), m));
                        usable = false;
                    }
                }
            }
            if usable {
                let ends = store::transfer_ends(conn, &from, &to, day, self.scope.as_ref()).await?;
                for (i, (op, e)) in decision.transfers.iter().zip(&ends).enumerate() {
                    let at = format!("transfer_members[{i}]");
                    let to_field = format!("{at}.{}", target_field(&op.to, "to_organisation_id", "to_ref"));
                    match e.from_kind {
                        None => self.errors.push(FieldError::new(
                            format!("{at}.from_organisation_id"),
                            "no organisation with this id in the token's subtree",
                        )),
                        Some(kind) if !kind.holds_members() => self.errors.push(FieldError::new(
                            format!("{at}.from_organisation_id"),
                            "members belong to a base_cell or a cell; this organisation holds none",
                        )),
                        Some(_) => {}
                    }
                    match e.to_kind {
                        None => self.errors.push(FieldError::new(
                            to_field.clone(),
                            "no organisation with this id in the token's subtree",
                        )),
                        Some(kind) if !kind.holds_members() => self.errors.push(FieldError::new(
                            to_field.clone(),
                            "members belong to a base_cell or a cell",
                        )),
                        Some(_) if !e.to_active => self
                            .errors
                            .push(FieldError::new(to_field.clone(), format!("was dissolved by {day}"))),
                        Some(_) => {}
                    }
                    if from[i] == to[i] {
                        self.errors
                            .push(FieldError::new(to_field, "is the organisation the members are in"));
                    }
                    if e.later_entries > 0 {
                        self.errors.push(FieldError::new(
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
            if self.errors.is_empty() {
                let note = format!("reorganisation {}", decision.header.decision_number);
                let moved =
                    store::transfer_members(conn, &from, &to, day, &note, &actor.identity.name, &actor.request_id)
                        .await?;
                let by_source: HashMap<Uuid, i64> = moved.into_iter().map(|t| (t.organisation_id, t.members)).collect();
                for (f, t) in from.iter().zip(&to) {
                    let members = by_source.get(f).copied().unwrap_or(0);
                    self.members_transferred += members;
                    self.named.extend([*f, *t]);
                    self.applied.transfer_members.push(MembersTransferred {
                        from_organisation_id: *f,
                        to_organisation_id: *t,
                        members,
                    });
                }
            }
        }
        Ok(())
    }

    /// Organisations ended on the effective day, each left with no active child and no current member.
    async fn end(&mut self, conn: &mut AsyncPgConnection, decision: &Decision) -> Result<(), ApiError> {
        let (actor, day) = (self.actor, self.day);
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
                    self.named.push(id.0);
                    self.applied.end.push(id.0);
                }
                Err(e) => self.errors.extend(
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
            self.errors.push(FieldError::new(
                format!("end[{}]", left.index),
                format!(
                    "an ended organisation must be left empty; it still has {}",
                    what.join(" and ")
                ),
            ));
        }
        Ok(())
    }

    /// Ended organisations linked to those that carry on their work.
    async fn successors(&mut self, conn: &mut AsyncPgConnection, decision: &Decision) -> Result<(), ApiError> {
        let (actor, day, id) = (self.actor, self.day, self.id);
        for (i, op) in decision.successors.iter().enumerate() {
            let at = format!("successors[{i}]");
            let successor_field = target_field(&op.successor, "successor_id", "successor_ref");
            let successor = match self.resolve(&op.successor) {
                Ok(s) => s,
                Err(m) => {
                    self.errors.push(FieldError::new(format!("{at}.{successor_field}"), m));
                    continue;
                }
            };
            let linked = conn
                .transaction(async |conn| link(conn, actor, id, op.organisation_id, successor, day).await)
                .await;
            match linked {
                Ok(()) => {
                    self.named.extend([op.organisation_id.0, successor.0]);
                    self.applied.successors.push(SuccessorLink {
                        organisation_id: op.organisation_id.0,
                        successor_id: successor.0,
                    });
                }
                Err(e) => self.errors.extend(problems(
                    e,
                    &at,
                    "organisation_id",
                    &[("successor_id", successor_field)],
                )?),
            }
        }
        Ok(())
    }

    /// Stores the operations as applied, or answers every problem found.
    async fn finish(self, conn: &mut AsyncPgConnection) -> Result<Applied, ApiError> {
        let (actor, id) = (self.actor, self.id);
        if !self.errors.is_empty() {
            return Err(ApiError::Validation(self.errors));
        }
        let counts = Counts {
            created: self.applied.create.len() as i32,
            moved: self.applied.moves.len() as i32,
            ended: self.applied.end.len() as i32,
            members_transferred: i32::try_from(self.members_transferred).unwrap_or(i32::MAX),
        };
        let operations = serde_json::to_value(&self.applied).map_err(|e| ApiError::Internal(e.into()))?;
        let row = store::finish(conn, id, &operations, counts, &self.named).await?;
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
