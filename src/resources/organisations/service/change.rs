//! How the one write path changes and removes an organisation: the rules of a change of kind or place, and
//! what a deletion must wait for.

use diesel_async::AsyncPgConnection;

use super::{placed, placement, Draft, Patch, RESOURCE};
use crate::auth::Actor;
use crate::domain::ids::OrganisationId;
use crate::domain::organisation::{check_placement, OrgCode};
use crate::domain::today;
use crate::error::{ApiError, FieldError};
use crate::resources::organisations::store::{self, OrganisationRow, OrganisationValues, RowLock};
use crate::resources::organisations::view::Organisation;
use crate::resources::{candidates, evaluations, reorganisations, resolutions};
use crate::write::etag_with;
use crate::write::{self, Patchable, Removable};

/// The write path's view of organisations.
pub(super) struct Organisations;

impl Patchable for Organisations {
    type Row = OrganisationRow;
    type Values = OrganisationValues;
    type Patch = Patch;
    type View = Organisation;
    type Id = OrganisationId;
    const RESOURCE: &'static str = RESOURCE;

    async fn lock(
        conn: &mut AsyncPgConnection,
        actor: &Actor,
        id: OrganisationId,
    ) -> Result<OrganisationRow, ApiError> {
        actor.require_writer()?;
        store::find_visible_locked(conn, id, actor.scope(), RowLock::Update)
            .await?
            .ok_or_else(|| ApiError::not_found(RESOURCE))
    }

    async fn etag(conn: &mut AsyncPgConnection, row: &OrganisationRow) -> Result<String, ApiError> {
        let counts = store::tree::member_counts(conn, &row.path).await?;
        Ok(etag_with(row.version, &counts))
    }

    fn values(row: &OrganisationRow) -> OrganisationValues {
        OrganisationValues {
            code: OrgCode::stored(row.code.clone()),
            name: row.name.clone(),
            kind: row.kind,
            sector: row.sector,
            parent_id: row.parent_id,
            established_on: row.established_on,
            dissolved_on: row.dissolved_on,
            address: row.address.clone(),
            note: row.note.clone(),
        }
    }

    fn merge(current: &OrganisationValues, patch: Patch) -> Result<OrganisationValues, Vec<FieldError>> {
        let mut errors = Vec::new();
        let code = write::required(&mut errors, "code", patch.code, &current.code.as_str().to_owned());
        let name = write::required(&mut errors, "name", patch.name, &current.name);
        let kind = write::required(&mut errors, "kind", patch.kind, &current.kind);
        if !errors.is_empty() {
            return Err(errors);
        }
        Draft {
            code,
            name,
            kind,
            sector: write::optional(patch.sector, &current.sector),
            parent_id: write::optional(patch.parent_id, &current.parent_id),
            established_on: write::optional(patch.established_on, &current.established_on),
            dissolved_on: write::optional(patch.dissolved_on, &current.dissolved_on),
            address: write::optional(patch.address, &current.address),
            note: write::optional(patch.note, &current.note),
        }
        .parse()
    }

    /// The committee above decides the kind, the place and the dissolution; a new kind or place must fit the
    /// tree: under a parent that admits it, above the children and members it has, and not inside itself.
    async fn check(
        conn: &mut AsyncPgConnection,
        actor: &Actor,
        row: &OrganisationRow,
        values: &OrganisationValues,
    ) -> Result<(), ApiError> {
        let moved = values.parent_id != row.parent_id;
        let rekinded = values.kind != row.kind;
        // Its own token may change what describes it (name, address, note); everything else (its code, kind,
        // sector, place, and the lifetime that decides which years' reports and grades it is in) is decided by
        // the committee above.
        let descriptive_only = OrganisationValues {
            name: row.name.clone(),
            address: row.address.clone(),
            note: row.note.clone(),
            ..values.clone()
        } == Self::values(row);
        if !descriptive_only {
            actor.may_decide_about(row.id)?;
        }
        if values.dissolved_on.is_some() && values.dissolved_on != row.dissolved_on {
            stranded_candidates(conn, row.id).await?;
        }
        if !(moved || rekinded) {
            return Ok(());
        }
        let parent = placement(conn, actor, moved, values.kind, values.parent_id).await?;
        let id = row.id;
        if rekinded {
            if !values.kind.holds_members() && store::tree::member_records(conn, id).await? > 0 {
                return Err(ApiError::invalid(
                    "kind",
                    "the organisation has members, and members belong to a base_cell or a cell",
                ));
            }
            for child in store::tree::child_kinds(conn, id).await? {
                check_placement(child, Some(values.kind))
                    .map_err(|m| ApiError::invalid("kind", format!("a child does not fit: {m}")))?;
            }
        }
        if moved && parent.is_some_and(|p| p.path.is_within(&row.path)) {
            return Err(ApiError::invalid(
                "parent_id",
                "the new parent lies inside this organisation's subtree: that would make a cycle",
            ));
        }
        Ok(())
    }

    async fn store(
        conn: &mut AsyncPgConnection,
        row: &OrganisationRow,
        values: OrganisationValues,
    ) -> Result<OrganisationRow, ApiError> {
        let id = row.id;
        if values.parent_id != row.parent_id {
            let parent = match values.parent_id {
                None => None,
                Some(parent) => Some(
                    store::path_of(conn, parent)
                        .await?
                        .ok_or_else(|| ApiError::invalid("parent_id", "no organisation with this id"))?,
                ),
            };
            store::tree::move_subtree(conn, &row.path, &placed(parent.as_ref(), id)).await?;
        }
        Ok(store::update(conn, id, &values).await?)
    }

    fn view(row: &OrganisationRow) -> Organisation {
        Organisation::from_row(row.clone(), today())
    }
}

/// Refuses to end an organisation that candidates on their way to admission still belong to: their ceremony
/// would admit them into an organisation that no longer exists. A reorganisation that transfers the members
/// takes them along; otherwise their withdrawal (or rejection) is recorded first.
async fn stranded_candidates(conn: &mut AsyncPgConnection, id: OrganisationId) -> Result<(), ApiError> {
    let (count, first) = candidates::store::on_their_way(conn, id).await?;
    if count == 0 {
        return Ok(());
    }
    let ids: Vec<String> = first.iter().map(ToString::to_string).collect();
    Err(ApiError::conflict_on(
        "dissolved_on",
        format!(
            "{count} candidate(s) on their way to admission still belong to the organisation ({}{}): transfer its \
             members by a reorganisation (the candidates go with them) or record their withdrawal first",
            ids.join(", "),
            if count > first.len() as i64 { ", ..." } else { "" }
        ),
    ))
}

impl Removable for Organisations {
    /// The committee above an organisation decides whether it goes.
    fn may_remove(actor: &Actor, row: &OrganisationRow) -> Result<(), ApiError> {
        actor.may_decide_about(row.id)
    }

    /// Refuses while children, members, candidates, evaluations, resolutions or implementations refer to the
    /// organisation.
    async fn remove(conn: &mut AsyncPgConnection, row: &OrganisationRow) -> Result<(), ApiError> {
        let id = row.id;
        let children = store::tree::child_count(conn, id).await?;
        if children > 0 {
            return Err(ApiError::conflict(format!(
                "the organisation still has {children} child organisation(s); move or delete them first"
            )));
        }
        let members = store::tree::member_records(conn, id).await?;
        if members > 0 {
            return Err(ApiError::conflict(format!(
                "the organisation has {members} member record(s); transfer them or delete the records first"
            )));
        }
        let candidates = candidates::store::organisation_usage(conn, id).await?;
        if candidates > 0 {
            return Err(ApiError::conflict(format!(
                "the organisation has {candidates} candidate record(s)"
            )));
        }
        let evaluations = evaluations::store::organisation_usage(conn, row.id).await?;
        if evaluations > 0 {
            return Err(ApiError::conflict(format!(
                "the organisation has {evaluations} evaluation record(s)"
            )));
        }
        let (issued, implemented) = resolutions::store::organisation_usage(conn, row.id).await?;
        if issued + implemented > 0 {
            return Err(ApiError::conflict(format!(
                "the organisation has issued {issued} resolution(s) and recorded {implemented} implementation(s)"
            )));
        }
        let reorganisations = reorganisations::store::organisation_usage(conn, id.0).await?;
        if reorganisations > 0 {
            return Err(ApiError::conflict(format!(
                "the organisation is named by {reorganisations} reorganisation(s), whose records keep it"
            )));
        }
        store::delete(conn, id).await?;
        Ok(())
    }
}
