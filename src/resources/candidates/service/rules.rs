//! The rules of each step on the road to admission: which fields a step uses, the sponsors, the cell's vote and
//! the ceremony, which admits the member through the members' own admission.

use chrono::NaiveDate;
use diesel_async::AsyncPgConnection;

use super::{Sponsor, StepInput};
use crate::auth::Actor;
use crate::domain::candidate::{
    age_on, certificate_valid, known_long_enough, two_thirds, StepType, CONSENT_AGE_YEARS, SPONSOR_ACQUAINTANCE_MONTHS,
    YOUTH_AGE_YEARS,
};
use crate::domain::ids::MemberId;
use crate::domain::member::{PoliticalTheory, MIN_ADMISSION_AGE_YEARS};
use crate::error::{ApiError, FieldError};
use crate::resources::candidates::store::{self, CandidateRow};
use crate::resources::members::service::{self as members, Admission};
use crate::resources::members::store::{self as member_store, MemberValues};

/// The fields of a step that its type does not use.
pub(super) fn fields_that_do_not_apply(input: &StepInput) -> Vec<FieldError> {
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

pub(super) fn required<T>(value: Option<T>, field: &str) -> Result<T, ApiError> {
    value.ok_or_else(|| ApiError::invalid(field, "is required for this step"))
}

/// Two sponsors: official members of the candidate's base organisation, or for a candidate of youth age the
/// Youth Union instead of one of them. A member who says since when they have known the candidate must have known
/// them for twelve months by the day of the step.
pub(super) async fn check_sponsors(
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
    for (i, entry) in entries.into_iter().enumerate() {
        let sponsor = match (entry.member_id, entry.youth_union) {
            (Some(member_id), None | Some(false)) => {
                if let Some(since) = entry.known_since.filter(|since| !known_long_enough(*since, input.on)) {
                    return Err(ApiError::invalid(
                        format!("sponsors[{i}].known_since"),
                        format!(
                            "a sponsor must have known the candidate for {SPONSOR_ACQUAINTANCE_MONTHS} months by the \
                             day of the step; {since} is too recent"
                        ),
                    ));
                }
                let field = format!("sponsors[{i}].member_id");
                let Some(member) = member_store::find_visible(conn, member_id, None).await? else {
                    return Err(ApiError::invalid(field, "no member with this id"));
                };
                if !store::official_on(conn, member.id, input.on).await? {
                    return Err(ApiError::invalid(field, "was not an official member on that day"));
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
                    known_since: entry.known_since,
                }
            }
            (None, Some(true)) => {
                if entry.known_since.is_some() {
                    return Err(ApiError::invalid(
                        format!("sponsors[{i}].known_since"),
                        "applies to a sponsoring member, not to the Youth Union",
                    ));
                }
                if !youth {
                    return Err(ApiError::invalid(
                        format!("sponsors[{i}].youth_union"),
                        format!("the Youth Union sponsors only candidates of {YOUTH_AGE_YEARS} or younger"),
                    ));
                }
                Sponsor {
                    member_id: None,
                    youth_union: true,
                    known_since: None,
                }
            }
            _ => {
                return Err(ApiError::invalid(
                    format!("sponsors[{i}]"),
                    "must be either {\"member_id\": ...} or {\"youth_union\": true}",
                ))
            }
        };
        if sponsors
            .iter()
            .any(|s| (s.member_id, s.youth_union) == (sponsor.member_id, sponsor.youth_union))
        {
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
pub(super) async fn check_vote(
    conn: &mut AsyncPgConnection,
    candidate: &CandidateRow,
    input: &StepInput,
) -> Result<(), ApiError> {
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
pub(super) async fn admit(
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
