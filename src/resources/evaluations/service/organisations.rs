//! The evaluations of organisations (the `evaluation` resource).

use diesel_async::AsyncPgConnection;

use super::{checked, locked, merged, recorded, Assessed, Assessment, Regrading};
use crate::auth::Actor;
use crate::domain::ids::{EvaluationId, OrganisationId};
use crate::domain::rating::{Subject, Year};
use crate::error::{ApiError, FieldError};
use crate::resources::evaluations::store::{self, EvaluationRow, EvaluationValues};
use crate::resources::organisations::store as organisation_rows;
use crate::write::{self, Patchable};

/// The evaluations of organisations: an organisation's own token cannot grade it, the committee above decides.
pub struct OrganisationEvaluations;

/// Records the evaluation of an organisation for a year: a base organisation or a cell that existed that year,
/// which the actor may decide about, graded in the year's scheme; one per organisation and year (409).
pub async fn create_for_organisation(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    organisation_id: OrganisationId,
    year: Year,
    values: EvaluationValues,
) -> Result<EvaluationRow, ApiError> {
    actor.require_writer()?;
    checked::<OrganisationEvaluations>(year, &values)?;
    evaluated_organisation(conn, actor, organisation_id, year).await?;
    let row = store::insert(conn, organisation_id, year.get(), &values).await?;
    recorded::<OrganisationEvaluations>(conn, actor, row).await
}

/// The organisation to evaluate: visible, of a kind that is evaluated, one the actor decides about, and in
/// existence that year.
async fn evaluated_organisation(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: OrganisationId,
    year: Year,
) -> Result<(), ApiError> {
    let org = organisation_rows::find_visible(conn, id, actor.scope())
        .await?
        .ok_or_else(|| ApiError::invalid("organisation_id", "no organisation with this id"))?;
    if !(org.kind.is_base() || org.kind.holds_members()) {
        return Err(ApiError::invalid(
            "organisation_id",
            format!("base organisations and cells are evaluated, not a {}", org.kind),
        ));
    }
    actor.may_decide_about(id)?;
    if org.established_on.is_some_and(|e| e > year.last_day())
        || org.dissolved_on.is_some_and(|d| d <= year.first_day())
    {
        return Err(ApiError::invalid(
            "organisation_id",
            format!("the organisation did not exist in {year}"),
        ));
    }
    Ok(())
}

impl Patchable for OrganisationEvaluations {
    type Row = EvaluationRow;
    type Values = EvaluationValues;
    type Patch = Regrading;
    type View = EvaluationRow;
    type Id = EvaluationId;
    const RESOURCE: &'static str = "evaluation";

    /// An organisation's own token cannot grade it: the committee above decides (403).
    async fn lock(conn: &mut AsyncPgConnection, actor: &Actor, id: EvaluationId) -> Result<EvaluationRow, ApiError> {
        let row = locked::<Self>(conn, actor, id).await?;
        actor.may_decide_about(row.organisation_id)?;
        Ok(row)
    }

    fn values(row: &EvaluationRow) -> EvaluationValues {
        EvaluationValues {
            grade: row.grade,
            exemplary: row.exemplary,
            score: row.score,
            decided_on: row.decided_on,
            note: row.note.clone(),
        }
    }

    fn merge(current: &EvaluationValues, patch: Regrading) -> Result<EvaluationValues, Vec<FieldError>> {
        let mut errors = Vec::new();
        let values = EvaluationValues {
            grade: write::required(&mut errors, "grade", patch.grade, &current.grade),
            exemplary: write::required(&mut errors, "exemplary", patch.exemplary, &current.exemplary),
            score: write::optional(patch.score, &current.score),
            decided_on: write::optional(patch.decided_on, &current.decided_on),
            note: write::optional(patch.note, &current.note),
        };
        merged(values, errors)
    }

    same_write_steps!(organisations);
}

evaluation_kind!(
    OrganisationEvaluations,
    Subject::Organisation,
    organisations,
    EvaluationRow,
    EvaluationId
);

impl Assessed for EvaluationValues {
    fn assessment(&self) -> Assessment<'_> {
        Assessment {
            grade: self.grade,
            exemplary: self.exemplary,
            score: self.score,
            decided_on: self.decided_on,
            note: self.note.as_deref(),
        }
    }
}
