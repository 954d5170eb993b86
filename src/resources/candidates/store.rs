//! The `candidates` table and each candidate's steps, `candidate_steps`.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::Uuid as SqlUuid;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use uuid::Uuid;

use crate::domain::candidate::{Stage, StepType};
use crate::domain::identity::NationalId;
use crate::domain::ids::{CandidateId, MemberId, OrganisationId};
use crate::domain::member::Gender;
use crate::schema::{candidate_steps, candidates};
use crate::store::{organisation_in_scope, organisation_under, TreePath};

/// A stored candidate; serialised whole (sensitive fields included) for the audit trail.
#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = candidates, check_for_backend(Pg))]
pub struct CandidateRow {
    pub id: CandidateId,
    pub organisation_id: OrganisationId,
    #[diesel(embed)]
    #[serde(flatten)]
    pub values: CandidateValues,
    pub stage: Stage,
    pub stage_on: NaiveDate,
    pub due_by: Option<NaiveDate>,
    pub member_id: Option<MemberId>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What the proposal says about a candidate.
#[derive(Debug, Clone, PartialEq, Eq, Insertable, AsChangeset, Queryable, Selectable, Serialize)]
#[diesel(table_name = candidates, treat_none_as_default_value = false, treat_none_as_null = true, check_for_backend(Pg))]
pub struct CandidateValues {
    pub full_name: String,
    pub gender: Option<Gender>,
    pub birth_date: NaiveDate,
    pub national_id: Option<NationalId>,
    pub ethnicity: Option<String>,
    pub religion: Option<String>,
    pub hometown: Option<String>,
    pub note: Option<String>,
    pub proposed_on: NaiveDate,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = candidates, treat_none_as_default_value = false)]
struct NewCandidate {
    id: CandidateId,
    organisation_id: OrganisationId,
    stage: Stage,
    stage_on: NaiveDate,
    #[diesel(embed)]
    values: CandidateValues,
}

/// One step of a candidate; the fields that do not apply to its type are `None`.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = candidate_steps, treat_none_as_default_value = false, check_for_backend(Pg))]
pub struct StepRow {
    pub id: Uuid,
    pub candidate_id: CandidateId,
    #[diesel(column_name = type_)]
    pub kind: StepType,
    pub on: NaiveDate,
    pub certificate_number: Option<String>,
    pub sponsors: Option<serde_json::Value>,
    pub votes_for: Option<i32>,
    pub votes_total: Option<i32>,
    pub decision_number: Option<String>,
    pub member_id: Option<MemberId>,
    pub reason: Option<String>,
    pub note: Option<String>,
    pub due_by: Option<NaiveDate>,
    pub actor: String,
    pub recorded_at: DateTime<Utc>,
}

/// The filters of the candidate list; the subtrees by path.
#[derive(Debug, Default)]
pub struct CandidateFilter {
    pub scope: Option<TreePath>,
    pub under: Option<TreePath>,
    pub organisation_id: Option<OrganisationId>,
    pub stages: Option<Vec<Stage>>,
}

/// One page of candidates in creation order, after `after`.
pub async fn list(
    conn: &mut AsyncPgConnection,
    filter: &CandidateFilter,
    after: Option<CandidateId>,
    fetch: i64,
) -> QueryResult<Vec<CandidateRow>> {
    let mut query = filtered(filter).select(CandidateRow::as_select());
    if let Some(after) = after {
        query = query.filter(candidates::id.gt(after));
    }
    query.order(candidates::id).limit(fetch).load(conn).await
}

/// How many candidates the whole list has.
pub async fn count(conn: &mut AsyncPgConnection, filter: &CandidateFilter) -> QueryResult<i64> {
    filtered(filter).count().get_result(conn).await
}

fn filtered(f: &CandidateFilter) -> candidates::BoxedQuery<'static, Pg> {
    let mut query = candidates::table.into_boxed();
    if let Some(scope) = &f.scope {
        query = query.filter(organisation_under("candidates.organisation_id", scope));
    }
    if let Some(under) = &f.under {
        query = query.filter(organisation_under("candidates.organisation_id", under));
    }
    if let Some(org) = f.organisation_id {
        query = query.filter(candidates::organisation_id.eq(org));
    }
    if let Some(stages) = &f.stages {
        query = query.filter(candidates::stage.eq_any(stages.clone()));
    }
    query
}

/// Reads a candidate whose cell lies inside `scope` (`None`: anywhere), locked for the rest of the transaction
/// when `lock`.
pub async fn find(
    conn: &mut AsyncPgConnection,
    id: CandidateId,
    scope: Option<Uuid>,
    lock: bool,
) -> QueryResult<Option<CandidateRow>> {
    let query = candidates::table
        .filter(candidates::id.eq(id))
        .filter(organisation_in_scope("candidates.organisation_id", scope))
        .select(CandidateRow::as_select());
    match lock {
        false => query.first(conn).await,
        true => query.for_no_key_update().first(conn).await,
    }
    .optional()
}

/// Stores a new candidate, `proposed`.
pub async fn insert(
    conn: &mut AsyncPgConnection,
    organisation_id: OrganisationId,
    values: &CandidateValues,
) -> QueryResult<CandidateRow> {
    diesel::insert_into(candidates::table)
        .values(NewCandidate {
            id: CandidateId::new(),
            organisation_id,
            stage: Stage::Proposed,
            stage_on: values.proposed_on,
            values: values.clone(),
        })
        .returning(CandidateRow::as_returning())
        .get_result(conn)
        .await
}

/// Writes where a step took the candidate, bumps the version, returns the stored row.
pub async fn advance(conn: &mut AsyncPgConnection, step: &StepRow) -> QueryResult<CandidateRow> {
    diesel::update(candidates::table.find(step.candidate_id))
        .set((
            candidates::stage.eq(step.kind.stage()),
            candidates::stage_on.eq(step.on),
            candidates::due_by.eq(step.due_by),
            candidates::member_id.eq(step.member_id),
            candidates::version.eq(candidates::version + 1),
            candidates::updated_at.eq(diesel::dsl::now),
        ))
        .returning(CandidateRow::as_returning())
        .get_result(conn)
        .await
}

/// Writes edited values (and the day of the proposal as the stage's day while there is no step), bumps the
/// version, returns the stored row.
pub async fn update(
    conn: &mut AsyncPgConnection,
    id: CandidateId,
    values: &CandidateValues,
    stage_on: NaiveDate,
) -> QueryResult<CandidateRow> {
    diesel::update(candidates::table.find(id))
        .set((
            values,
            candidates::stage_on.eq(stage_on),
            candidates::version.eq(candidates::version + 1),
            candidates::updated_at.eq(diesel::dsl::now),
        ))
        .returning(CandidateRow::as_returning())
        .get_result(conn)
        .await
}

/// The candidates of an organisation still on their way to admission (not admitted, withdrawn or rejected): how
/// many, and the first ten ids.
pub async fn on_their_way(
    conn: &mut AsyncPgConnection,
    organisation: OrganisationId,
) -> QueryResult<(i64, Vec<CandidateId>)> {
    let waiting = candidates::table
        .filter(candidates::organisation_id.eq(organisation))
        .filter(candidates::stage.ne_all(["admitted", "withdrawn", "rejected"]));
    let count = waiting.clone().count().get_result(conn).await?;
    let first = waiting
        .select(candidates::id)
        .order(candidates::id)
        .limit(10)
        .load(conn)
        .await?;
    Ok((count, first))
}

/// How many candidates, on their way or not, an organisation proposed; their records keep it.
pub async fn organisation_usage(conn: &mut AsyncPgConnection, organisation: OrganisationId) -> QueryResult<i64> {
    candidates::table
        .filter(candidates::organisation_id.eq(organisation))
        .count()
        .get_result(conn)
        .await
}

/// Deletes a candidate and, by cascade, its steps.
pub async fn delete(conn: &mut AsyncPgConnection, id: CandidateId) -> QueryResult<usize> {
    diesel::delete(candidates::table.find(id)).execute(conn).await
}

/// Stores a step.
pub async fn insert_step(conn: &mut AsyncPgConnection, step: &StepRow) -> QueryResult<()> {
    diesel::insert_into(candidate_steps::table)
        .values(step)
        .execute(conn)
        .await
        .map(|_| ())
}

/// A candidate's steps, oldest first.
pub async fn steps(conn: &mut AsyncPgConnection, id: CandidateId) -> QueryResult<Vec<StepRow>> {
    candidate_steps::table
        .filter(candidate_steps::candidate_id.eq(id))
        .order((candidate_steps::on, candidate_steps::recorded_at, candidate_steps::id))
        .select(StepRow::as_select())
        .load(conn)
        .await
}

/// The day of a candidate's step of this type, if it has one.
pub async fn step_on(conn: &mut AsyncPgConnection, id: CandidateId, kind: StepType) -> QueryResult<Option<NaiveDate>> {
    candidate_steps::table
        .filter(candidate_steps::candidate_id.eq(id))
        .filter(candidate_steps::type_.eq(kind))
        .select(candidate_steps::on)
        .first(conn)
        .await
        .optional()
}

/// The base organisation (`base_committee` or `base_cell`) that an organisation lies in, or is.
pub async fn base_organisation(conn: &mut AsyncPgConnection, id: OrganisationId) -> QueryResult<Option<Uuid>> {
    #[derive(QueryableByName)]
    struct Base {
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
    }
    diesel::sql_query(
        "SELECT b.id FROM organisations o JOIN organisations b ON o.path <@ b.path \
         WHERE o.id = $1 AND b.kind IN ('base_committee', 'base_cell') ORDER BY nlevel(b.path) DESC LIMIT 1",
    )
    .bind::<SqlUuid, _>(id)
    .get_result::<Base>(conn)
    .await
    .optional()
    .map(|b| b.map(|b| b.id))
}

/// The status a member's history gives them at the end of `day` (`None` before the admission).
const STATUS_ON: &str = "(SELECT e.status_after FROM member_events e WHERE e.member_id = mb.id AND e.\"on\" <= $2 \
                         ORDER BY e.\"on\" DESC, e.recorded_at DESC LIMIT 1)";

#[derive(QueryableByName)]
struct Counted {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// The official members of a cell on `day`, by their history: members of it now who were official that day
/// (exempt members, relieved of party activities, do not vote; members recognised or exempted since count as
/// they were).
pub async fn official_members_on(
    conn: &mut AsyncPgConnection,
    cell: OrganisationId,
    day: NaiveDate,
) -> QueryResult<i64> {
    diesel::sql_query(format!(
        "SELECT count(*) AS n FROM members mb WHERE mb.organisation_id = $1 AND {STATUS_ON} = 'official'"
    ))
    .bind::<SqlUuid, _>(cell)
    .bind::<diesel::sql_types::Date, _>(day)
    .get_result::<Counted>(conn)
    .await
    .map(|c| c.n)
}

/// Whether a member was an official member at the end of `day`, by their history.
pub async fn official_on(conn: &mut AsyncPgConnection, member: MemberId, day: NaiveDate) -> QueryResult<bool> {
    diesel::sql_query(format!(
        "SELECT count(*) AS n FROM members mb WHERE mb.id = $1 AND {STATUS_ON} = 'official'"
    ))
    .bind::<SqlUuid, _>(member)
    .bind::<diesel::sql_types::Date, _>(day)
    .get_result::<Counted>(conn)
    .await
    .map(|c| c.n > 0)
}
