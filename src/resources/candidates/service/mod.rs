//! The candidate operations: the proposal, the steps to admission and the reads. Every rule of the road, authority
//! check and audit record of a candidate lives here; the ceremony admits the member through the members' own
//! [`admit`](crate::resources::members::service::admit). Writes run in the caller's transaction.

use chrono::{NaiveDate, Utc};
use diesel_async::AsyncPgConnection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

mod record;
mod rules;

pub use record::{CandidatePatch, CandidateRecord};

use rules::{admit, check_sponsors, check_vote, fields_that_do_not_apply, required};

use super::store::{self, CandidateFilter, CandidateRow, CandidateValues, StepRow};
use crate::audit::{self, Action};
use crate::auth::Actor;
use crate::domain::candidate::{add_working_days, check_order, Stage, StepType};
use crate::domain::ids::{CandidateId, OrganisationId};
use crate::domain::today;
use crate::error::{ApiError, FieldError};
use crate::resources::members::service as members;
use crate::write::{self, etag, IfMatch};

/// The resource type the audit trail names.
pub const RESOURCE: &str = "candidate";

/// A proposal: the cell that proposes the candidate and what it says about them.
#[derive(Debug, Clone)]
pub struct Proposal {
    pub organisation_id: OrganisationId,
    pub values: CandidateValues,
}

/// A sponsor as a step records it: an official member, or the Youth Union.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Sponsor {
    /// The sponsoring member; `null` for the Youth Union.
    pub member_id: Option<Uuid>,
    pub youth_union: bool,
    /// Since when the sponsoring member has known the candidate, when the step said; `null` otherwise.
    #[serde(default)]
    #[schema(example = "2010-09-01")]
    pub known_since: Option<NaiveDate>,
}

/// A sponsor entry as a client sends it: a member id, the Youth Union flag, or (wrongly) both or neither; and
/// since when a sponsoring member has known the candidate.
#[derive(Debug, Clone, Default)]
pub struct SponsorEntry {
    pub member_id: Option<Uuid>,
    pub youth_union: Option<bool>,
    pub known_since: Option<NaiveDate>,
}

/// A step as a client sends it; which fields apply depends on `kind`.
#[derive(Debug, Clone)]
pub struct StepInput {
    pub kind: StepType,
    pub on: NaiveDate,
    pub certificate_number: Option<String>,
    pub sponsors: Option<Vec<SponsorEntry>>,
    pub votes_for: Option<i32>,
    pub votes_total: Option<i32>,
    pub decision_number: Option<String>,
    pub reason: Option<String>,
    pub note: Option<String>,
}

/// What a page of the candidate list asks for.
#[derive(Debug)]
pub struct ListRequest {
    pub under: Option<OrganisationId>,
    pub organisation_id: Option<OrganisationId>,
    pub stages: Option<Vec<Stage>>,
    pub after: Option<CandidateId>,
    pub fetch: i64,
    pub count: bool,
}

/// A page of the candidates inside the actor's subtree, and the length of the whole list when counted.
pub async fn list(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    request: ListRequest,
) -> Result<(Vec<CandidateRow>, Option<i64>), ApiError> {
    let under = request.under.map(Uuid::from);
    let Some((scope, under)) =
        crate::resources::organisations::service::subtree_paths(conn, actor.scope(), under).await?
    else {
        return Ok((Vec::new(), request.count.then_some(0)));
    };
    let filter = CandidateFilter {
        scope,
        under,
        organisation_id: request.organisation_id,
        stages: request.stages,
    };
    let rows = store::list(conn, &filter, request.after, request.fetch).await?;
    let total = match request.count {
        true => Some(store::count(conn, &filter).await?),
        false => None,
    };
    Ok((rows, total))
}

/// A candidate inside the actor's subtree.
pub async fn find(conn: &mut AsyncPgConnection, actor: &Actor, id: CandidateId) -> Result<CandidateRow, ApiError> {
    store::find(conn, id, actor.scope(), false)
        .await?
        .ok_or_else(|| ApiError::not_found(RESOURCE))
}

/// A candidate's steps, oldest first.
pub async fn steps(conn: &mut AsyncPgConnection, actor: &Actor, id: CandidateId) -> Result<Vec<StepRow>, ApiError> {
    find(conn, actor, id).await?;
    Ok(store::steps(conn, id).await?)
}

/// Records a proposal: the candidate starts `proposed`.
pub async fn propose(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    proposal: Proposal,
) -> Result<CandidateRow, ApiError> {
    actor.require_writer()?;
    let today = today();
    let Proposal {
        organisation_id,
        values,
    } = proposal;
    check_values(&values, today)?;
    members::place(conn, actor, "organisation_id", organisation_id, today).await?;
    let row = store::insert(conn, organisation_id, &values).await?;
    audit::record(conn, actor, Action::Create, RESOURCE, row.id, None, Some(&row)).await?;
    Ok(row)
}

/// Changes what the proposal says about a candidate, by a merge patch; 409 once admitted (the member's record is
/// then the one to change).
pub async fn update(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: CandidateId,
    if_match: &IfMatch,
    patch: CandidatePatch,
) -> Result<CandidateRow, ApiError> {
    write::update::<CandidateRecord>(conn, actor, id, if_match, patch).await
}

/// Deletes a candidate entered by mistake, with its steps; 409 once admitted.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: CandidateId,
    if_match: &IfMatch,
) -> Result<(), ApiError> {
    write::delete::<CandidateRecord>(conn, actor, id, if_match).await
}

/// Records a step and returns the candidate after it. A refused step changes nothing: 409 when it does not follow
/// the candidate's stage, 422 (naming the field) when a rule of the step is broken.
pub async fn record_step(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: CandidateId,
    if_match: &IfMatch,
    input: StepInput,
) -> Result<CandidateRow, ApiError> {
    actor.require_writer()?;
    let mut errors = Vec::new();
    for (field, value, max) in [
        ("certificate_number", &input.certificate_number, 50),
        ("decision_number", &input.decision_number, 50),
        ("reason", &input.reason, 2000),
        ("note", &input.note, 4000),
    ] {
        if value
            .as_deref()
            .is_some_and(|v| v.trim().is_empty() || v.chars().count() > max)
        {
            errors.push(FieldError::new(
                field,
                format!("must be 1 to {max} characters, not blank"),
            ));
        }
    }
    refuse(errors)?;
    let candidate = store::find(conn, id, actor.scope(), true)
        .await?
        .ok_or_else(|| ApiError::not_found(RESOURCE))?;
    if_match.check(&etag(candidate.version))?;
    check_order(candidate.stage, input.kind).map_err(ApiError::conflict)?;
    let today = today();
    let mut errors = fields_that_do_not_apply(&input);
    if input.on > today {
        errors.push(FieldError::new("on", "must not be in the future"));
    } else if input.on < candidate.stage_on {
        errors.push(FieldError::new(
            "on",
            format!(
                "must not be before the candidate's latest step, on {}",
                candidate.stage_on
            ),
        ));
    }
    refuse(errors)?;
    let mut step = StepRow {
        id: Uuid::now_v7(),
        candidate_id: id,
        kind: input.kind,
        on: input.on,
        certificate_number: None,
        sponsors: None,
        votes_for: None,
        votes_total: None,
        decision_number: None,
        member_id: None,
        reason: None,
        note: input.note.clone(),
        due_by: input.kind.limit().map(|days| add_working_days(input.on, days)),
        actor: actor.identity.name.clone(),
        recorded_at: Utc::now(),
    };
    match input.kind {
        StepType::CourseCompleted => {
            step.certificate_number = Some(required(input.certificate_number, "certificate_number")?);
        }
        StepType::Sponsored => {
            let sponsors = check_sponsors(conn, &candidate, &input).await?;
            step.sponsors = Some(serde_json::to_value(sponsors).map_err(|e| ApiError::Internal(e.into()))?);
        }
        StepType::CellApproved => {
            check_vote(conn, &candidate, &input).await?;
            step.votes_for = input.votes_for;
            step.votes_total = input.votes_total;
        }
        StepType::CommitteeApproved => {
            actor.may_decide_about(candidate.organisation_id)?;
            step.decision_number = Some(required(input.decision_number, "decision_number")?);
        }
        StepType::Admitted => step.member_id = Some(admit(conn, actor, &candidate, input.on).await?),
        StepType::Withdrawn | StepType::Rejected => step.reason = Some(required(input.reason, "reason")?),
    }
    store::insert_step(conn, &step).await?;
    let updated = store::advance(conn, &step).await?;
    audit::record(
        conn,
        actor,
        Action::Event,
        RESOURCE,
        id,
        Some(&candidate),
        Some(&updated),
    )
    .await?;
    Ok(updated)
}

/// Checks the values of a proposal that need no database.
fn check_values(v: &CandidateValues, today: NaiveDate) -> Result<(), ApiError> {
    let mut errors = Vec::new();
    if v.full_name.trim().is_empty() || v.full_name.chars().count() > 200 {
        errors.push(FieldError::new("full_name", "must be 1 to 200 characters, not blank"));
    }
    for (field, value, max) in [
        ("ethnicity", &v.ethnicity, 200),
        ("religion", &v.religion, 200),
        ("hometown", &v.hometown, 200),
        ("note", &v.note, 4000),
    ] {
        if value.as_deref().is_some_and(|v| v.chars().count() > max) {
            errors.push(FieldError::new(field, format!("must be at most {max} characters")));
        }
    }
    let earliest = NaiveDate::from_ymd_opt(1890, 1, 1).expect("a valid date");
    if v.birth_date > today || v.birth_date < earliest {
        errors.push(FieldError::new(
            "birth_date",
            "must be after 1890 and not in the future",
        ));
    }
    if v.proposed_on > today {
        errors.push(FieldError::new("proposed_on", "must not be in the future"));
    } else if v.proposed_on < v.birth_date {
        errors.push(FieldError::new("proposed_on", "must not be before birth_date"));
    }
    refuse(errors)
}

/// 422 with `errors`, unless there are none.
fn refuse(errors: Vec<FieldError>) -> Result<(), ApiError> {
    match errors.is_empty() {
        true => Ok(()),
        false => Err(ApiError::Validation(errors)),
    }
}
