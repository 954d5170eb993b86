//! The candidate operations: the proposal, the steps to admission and the reads. Every rule of the road, authority
//! check and audit record of a candidate lives here; the ceremony admits the member through the members' own
//! [`admit`](crate::resources::members::service::admit). Writes run in the caller's transaction.

use chrono::{NaiveDate, Utc};
use diesel_async::AsyncPgConnection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

mod record;

pub use record::{CandidatePatch, CandidateRecord};

use super::store::{self, CandidateFilter, CandidateRow, CandidateValues, StepRow};
use crate::audit::{self, Action};
use crate::auth::Actor;
use crate::domain::candidate::{add_working_days, Stage};
use crate::domain::candidate::{
    age_on, certificate_valid, check_order, two_thirds, StepType, CONSENT_AGE_YEARS, YOUTH_AGE_YEARS,
};
use crate::domain::ids::{CandidateId, MemberId, OrganisationId};
use crate::domain::member::{MemberStatus, PoliticalTheory, MIN_ADMISSION_AGE_YEARS};
use crate::domain::today;
use crate::error::{ApiError, FieldError};
use crate::resources::members::service::{self as members, Admission};
use crate::resources::members::store::{self as member_store, MemberValues};
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
}

/// A step as a client sends it; which fields apply depends on `kind`.
#[derive(Debug, Clone)]
pub struct StepInput {
    pub kind: StepType,
    pub on: NaiveDate,
    pub certificate_number: Option<String>,
    /// Each entry as sent: a member id, the Youth Union flag, or (wrongly) both or neither.
    pub sponsors: Option<Vec<(Option<Uuid>, Option<bool>)>>,
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

/// The fields of a step that its type does not use.
fn fields_that_do_not_apply(input: &StepInput) -> Vec<FieldError> {
    let uses = |field: &str| match input.kind {
        StepType::CourseCompleted => field == "certificate_number",
        StepType::Sponsored => field == "sponsors",
        StepType::CellApproved => field == "votes_for" || field == "votes_total",
        StepType::CommitteeApproved => field == "decision_number",
        StepType::Admitted => false,
        StepType::Withdrawn | StepType::Rejected => field == "reason",
    };
    [
        ("certificate_number", input.certificate_number.is_some()),
        ("sponsors", input.sponsors.is_some()),
        ("votes_for", input.votes_for.is_some()),
        ("votes_total", input.votes_total.is_some()),
        ("decision_number", input.decision_number.is_some()),
        ("reason", input.reason.is_some()),
    ]
    .into_iter()
    .filter(|(field, given)| *given && !uses(field))
    .map(|(field, _)| FieldError::new(field, format!("does not apply to a {} step", input.kind)))
    .collect()
}

fn required<T>(value: Option<T>, field: &str) -> Result<T, ApiError> {
    value.ok_or_else(|| ApiError::invalid(field, "is required for this step"))
}

/// Two sponsors: official members of the candidate's base organisation, or for a candidate of youth age the
/// Youth Union instead of one of them.
async fn check_sponsors(
    conn: &mut AsyncPgConnection,
    candidate: &CandidateRow,
    input: &StepInput,
) -> Result<Vec<Sponsor>, ApiError> {
    let entries = required(input.sponsors.clone(), "sponsors")?;
    if entries.len() != 2 {
        return Err(ApiError::invalid("sponsors", "must name exactly two sponsors"));
    }
    let base = store::base_organisation(conn, candidate.organisation_id).await?;
    let youth = age_on(candidate.values.birth_date, input.on).is_some_and(|age| age <= YOUTH_AGE_YEARS);
    let mut sponsors: Vec<Sponsor> = Vec::new();
    for (i, (member_id, youth_union)) in entries.into_iter().enumerate() {
        let sponsor = match (member_id, youth_union) {
            (Some(member_id), None | Some(false)) => {
                let field = format!("sponsors[{i}].member_id");
                let member = member_store::find_visible(conn, member_id, None).await?;
                let Some(member) = member.filter(|m| m.status == MemberStatus::Official) else {
                    return Err(ApiError::invalid(field, "is not an official member"));
                };
                if member.official_on.is_none_or(|official| official > input.on) {
                    return Err(ApiError::invalid(field, "was not yet an official member on that day"));
                }
                if store::base_organisation(conn, member.organisation_id).await? != base {
                    return Err(ApiError::invalid(
                        field,
                        "is not a member of the candidate's base organisation",
                    ));
                }
                Sponsor {
                    member_id: Some(member_id),
                    youth_union: false,
                }
            }
            (None, Some(true)) => {
                if !youth {
                    return Err(ApiError::invalid(
                        format!("sponsors[{i}].youth_union"),
                        format!("the Youth Union sponsors only candidates of {YOUTH_AGE_YEARS} or younger"),
                    ));
                }
                Sponsor {
                    member_id: None,
                    youth_union: true,
                }
            }
            _ => {
                return Err(ApiError::invalid(
                    format!("sponsors[{i}]"),
                    "must be either {\"member_id\": ...} or {\"youth_union\": true}",
                ))
            }
        };
        if sponsors.contains(&sponsor) {
            let field = match sponsor.youth_union {
                true => format!("sponsors[{i}].youth_union"),
                false => format!("sponsors[{i}].member_id"),
            };
            return Err(ApiError::invalid(field, "names the same sponsor twice"));
        }
        sponsors.push(sponsor);
    }
    Ok(sponsors)
}

/// The cell's vote: the candidate's age and course certificate on the day, and two thirds of the cell's official
/// members in favour.
async fn check_vote(conn: &mut AsyncPgConnection, candidate: &CandidateRow, input: &StepInput) -> Result<(), ApiError> {
    let votes_for = required(input.votes_for, "votes_for")?;
    let votes_total = required(input.votes_total, "votes_total")?;
    let age = age_on(candidate.values.birth_date, input.on).unwrap_or(0);
    if age < MIN_ADMISSION_AGE_YEARS {
        return Err(ApiError::invalid(
            "on",
            format!("the candidate must be {MIN_ADMISSION_AGE_YEARS} on the day of the vote"),
        ));
    }
    if age > CONSENT_AGE_YEARS && input.note.is_none() {
        return Err(ApiError::invalid(
            "note",
            format!("a candidate over {CONSENT_AGE_YEARS} needs the provincial level's consent: record it here"),
        ));
    }
    let course_on = store::step_on(conn, candidate.id, StepType::CourseCompleted).await?;
    if course_on.is_none_or(|course_on| !certificate_valid(course_on, input.on)) {
        return Err(ApiError::invalid(
            "on",
            "the course certificate is no longer valid (5 years)",
        ));
    }
    let members = store::official_members_on(conn, candidate.organisation_id, input.on).await?;
    if members == 0 {
        return Err(ApiError::invalid(
            "votes_total",
            "the cell has no official members on that day",
        ));
    }
    if i64::from(votes_total) > members {
        return Err(ApiError::invalid(
            "votes_total",
            format!("the cell has only {members} official members on that day"),
        ));
    }
    if votes_for > votes_total {
        return Err(ApiError::invalid("votes_for", "must not exceed votes_total"));
    }
    let needed = two_thirds(members);
    if i64::from(votes_for) < needed {
        return Err(ApiError::invalid(
            "votes_for",
            format!("needs at least {needed} of the cell's {members} official members (two thirds)"),
        ));
    }
    Ok(())
}

/// The ceremony: admits the candidate as a member of their cell through the members' own admission, and returns
/// the new member's id. The admission's rules speak of `admitted_on`, which is the step's `on` here.
async fn admit(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    candidate: &CandidateRow,
    on: NaiveDate,
) -> Result<MemberId, ApiError> {
    let v = &candidate.values;
    let admission = Admission {
        organisation_id: candidate.organisation_id,
        values: MemberValues {
            full_name: v.full_name.clone(),
            gender: v.gender,
            birth_date: v.birth_date,
            admitted_on: on,
            card_number: None,
            national_id: v.national_id.clone(),
            ethnicity: v.ethnicity.clone(),
            religion: v.religion.clone(),
            hometown: v.hometown.clone(),
            education_level: None,
            qualification: None,
            political_theory: PoliticalTheory::None,
            note: None,
        },
        candidate_id: Some(candidate.id),
    };
    let member = members::admit(conn, actor, admission).await.map_err(|e| match e {
        ApiError::Validation(errors) => ApiError::Validation(
            errors
                .into_iter()
                .map(|mut e| {
                    if e.field == "admitted_on" {
                        e.field = "on".into();
                    }
                    e
                })
                .collect(),
        ),
        other => other,
    })?;
    Ok(member.id)
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
