//! The evaluations of members (the `member_evaluation` resource).

use diesel_async::AsyncPgConnection;

use super::{checked, locked, merged, recorded, Assessed, Assessment, Regrading};
use crate::auth::Actor;
use crate::domain::ids::{MemberEvaluationId, MemberId, OrganisationId};
use crate::domain::rating::{Subject, Year};
use crate::error::{ApiError, FieldError};
use crate::resources::evaluations::store::{self, MemberEvaluationRow, MemberEvaluationValues};
use crate::resources::members::store as member_rows;
use crate::resources::organisations::store as organisation_rows;
use crate::write::{self, Patchable};

/// The evaluations of members, each recorded for the organisation the member was in at the end of the year.
pub struct MemberEvaluations;

/// Records the evaluation of a member for a year: a member the actor sees who belonged to the party that year
/// (from 2023, admitted at least 6 months before its end), graded in the year's scheme; one per member and year
/// (409). It counts for the organisation the member was in at the end of the year.
pub async fn create_for_member(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    member_id: MemberId,
    year: Year,
    values: MemberEvaluationValues,
) -> Result<MemberEvaluationRow, ApiError> {
    actor.require_writer()?;
    checked::<MemberEvaluations>(year, &values)?;
    let organisation_id = counted_organisation(conn, actor, member_id, year).await?;
    let row = store::insert_member(conn, member_id, organisation_id, year, &values).await?;
    recorded::<MemberEvaluations>(conn, actor, row).await
}

/// The organisation a member's evaluation counts for: the member's at the end of the year (or when the membership
/// ended that year), whatever transfers came later. Refuses members the actor does not see, who were not in the
/// party that year, or whom the year's scheme does not evaluate yet.
async fn counted_organisation(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: MemberId,
    year: Year,
) -> Result<OrganisationId, ApiError> {
    let member = member_rows::find_visible(conn, id.into(), actor.scope())
        .await?
        .ok_or_else(|| ApiError::invalid("member_id", "no member with this id"))?;
    let ended = member_rows::ended_on(conn, member.id).await?;
    if member.values.admitted_on > year.last_day() || ended.is_some_and(|e| e <= year.first_day()) {
        return Err(ApiError::invalid(
            "member_id",
            format!("was not a party member in {year}"),
        ));
    }
    let scheme = year.scheme();
    if !scheme.evaluates_member_admitted(year.get(), member.values.admitted_on) {
        return Err(ApiError::invalid(
            "member_id",
            format!(
                "admitted less than 6 months before the end of {year}: not evaluated that year under {}",
                scheme.id
            ),
        ));
    }
    let counted_on = ended.filter(|e| *e <= year.last_day()).unwrap_or(year.last_day());
    let organisation_id = member_rows::organisation_on(conn, member.id, counted_on)
        .await?
        .unwrap_or(member.organisation_id);
    // The evaluation is recorded where it counts, which must lie in the actor's subtree too: an organisation the
    // member has since left outside it is recorded by a committee that holds that organisation.
    if organisation_rows::find_visible(conn, organisation_id, actor.scope())
        .await?
        .is_none()
    {
        return Err(ApiError::invalid(
            "member_id",
            format!("was in an organisation outside this token's subtree in {year}"),
        ));
    }
    Ok(organisation_id)
}

impl Patchable for MemberEvaluations {
    type Row = MemberEvaluationRow;
    type Values = MemberEvaluationValues;
    type Patch = Regrading;
    type View = MemberEvaluationRow;
    type Id = MemberEvaluationId;
    const RESOURCE: &'static str = "member_evaluation";

    async fn lock(
        conn: &mut AsyncPgConnection,
        actor: &Actor,
        id: MemberEvaluationId,
    ) -> Result<MemberEvaluationRow, ApiError> {
        locked::<Self>(conn, actor, id).await
    }

    fn values(row: &MemberEvaluationRow) -> MemberEvaluationValues {
        MemberEvaluationValues {
            grade: row.grade,
            score: row.score,
            decided_on: row.decided_on,
            note: row.note.clone(),
        }
    }

    /// `exemplary` is not a field of members' evaluations: the HTTP layer never sets it.
    fn merge(current: &MemberEvaluationValues, patch: Regrading) -> Result<MemberEvaluationValues, Vec<FieldError>> {
        let mut errors = Vec::new();
        let values = MemberEvaluationValues {
            grade: write::required(&mut errors, "grade", patch.grade, &current.grade),
            score: write::optional(patch.score, &current.score),
            decided_on: write::optional(patch.decided_on, &current.decided_on),
            note: write::optional(patch.note, &current.note),
        };
        merged(values, errors)
    }

    same_write_steps!(members);
}

evaluation_kind!(
    MemberEvaluations,
    Subject::Member,
    members,
    MemberEvaluationRow,
    MemberEvaluationId
);

impl Assessed for MemberEvaluationValues {
    fn assessment(&self) -> Assessment<'_> {
        Assessment {
            grade: self.grade,
            exemplary: false,
            score: self.score,
            decided_on: self.decided_on,
            note: self.note.as_deref(),
        }
    }
}
