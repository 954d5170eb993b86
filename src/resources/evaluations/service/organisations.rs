//! The evaluations of organisations (the `evaluation` resource).

use diesel::QueryResult;
use diesel_async::AsyncPgConnection;

use super::{checked, locked, merged, recorded, Assessment, Evaluations, Regrading};
use crate::auth::Actor;
use crate::domain::ids::{EvaluationId, OrganisationId};
use crate::domain::rating::{Subject, Year};
use crate::error::{ApiError, FieldError};
use crate::extract::etag;
use crate::resources::evaluations::store::{self, EvaluationFilter, EvaluationRow, EvaluationValues, Lock};
use crate::resources::organisations::store as organisation_rows;
use crate::store::TreePath;
use crate::write::{self, Patchable, Removable};

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
    let org = organisation_rows::find_visible(conn, id.into(), actor.scope())
        .await?
        .ok_or_else(|| ApiError::invalid("organisation_id", "no organisation with this id"))?;
    if !(org.kind.is_base() || org.kind.holds_members()) {
        return Err(ApiError::invalid(
            "organisation_id",
            format!("base organisations and cells are evaluated, not a {}", org.kind),
        ));
    }
    actor.may_decide_about(id.into())?;
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
        actor.may_decide_about(row.organisation_id.into())?;
        Ok(row)
    }

    async fn etag(_: &mut AsyncPgConnection, row: &EvaluationRow) -> Result<String, ApiError> {
        Ok(etag(row.version))
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

    async fn check(
        _: &mut AsyncPgConnection,
        _: &Actor,
        row: &EvaluationRow,
        values: &EvaluationValues,
    ) -> Result<(), ApiError> {
        checked::<Self>(row.year, values)
    }

    async fn store(
        conn: &mut AsyncPgConnection,
        row: &EvaluationRow,
        values: EvaluationValues,
    ) -> Result<EvaluationRow, ApiError> {
        Ok(store::organisations::update(conn, row.id, &values).await?)
    }

    fn view(row: &EvaluationRow) -> EvaluationRow {
        row.clone()
    }
}

impl Removable for OrganisationEvaluations {
    async fn remove(conn: &mut AsyncPgConnection, row: &EvaluationRow) -> Result<(), ApiError> {
        store::organisations::delete(conn, row.id).await?;
        Ok(())
    }
}

impl Evaluations for OrganisationEvaluations {
    const SUBJECT: Subject = Subject::Organisation;

    async fn find(conn: &mut AsyncPgConnection, id: EvaluationId, lock: Lock) -> QueryResult<Option<EvaluationRow>> {
        store::organisations::find(conn, id, lock).await
    }

    async fn list(
        conn: &mut AsyncPgConnection,
        filter: &EvaluationFilter,
        within: &[TreePath],
        after: Option<EvaluationId>,
        fetch: i64,
    ) -> QueryResult<Vec<EvaluationRow>> {
        store::organisations::list(conn, filter, within, after, fetch).await
    }

    async fn count(conn: &mut AsyncPgConnection, filter: &EvaluationFilter, within: &[TreePath]) -> QueryResult<i64> {
        store::organisations::count(conn, filter, within).await
    }

    fn id(row: &EvaluationRow) -> EvaluationId {
        row.id
    }

    fn version(row: &EvaluationRow) -> i32 {
        row.version
    }

    fn organisation(row: &EvaluationRow) -> OrganisationId {
        row.organisation_id
    }

    fn assessment(values: &EvaluationValues) -> Assessment<'_> {
        Assessment {
            grade: values.grade,
            exemplary: values.exemplary,
            score: values.score,
            decided_on: values.decided_on,
            note: values.note.as_deref(),
        }
    }
}
