//! The road to the demo's recent admissions: each member admitted in 2012 and early 2013 was first a candidate of
//! their cell, with the course, two sponsors of their base organisation, the cell's vote and the district's
//! decision, admitted at a ceremony through the candidate steps. Most decisions and ceremonies come within the
//! time limits; about one decision in eight and one ceremony in ten come late, so the candidates report
//! shows candidates overdue on days of 2012; a few candidates withdraw after the course.

use chrono::{Months, NaiveDate};
use diesel_async::AsyncPgConnection;

use super::dice::Dice;
use super::places_and_names::{MALE_GIVEN, MALE_MIDDLE, SURNAMES};
use crate::auth::Actor;
use crate::domain::candidate::is_working_day;
use crate::domain::ids::{CandidateId, MemberId, OrganisationId};
use crate::domain::member::Gender;
use crate::error::ApiError;
use crate::resources::candidates::service::{self as candidates, Proposal, SponsorEntry, StepInput};
use crate::resources::candidates::store::{self as candidate_store, CandidateValues};
use crate::resources::members::service::{self as members, MemberPatch};
use crate::resources::members::store::MemberValues;
use crate::write::IfMatch;

/// A recent admission waiting for its road: the cell, its base organisation and the member's values.
pub(super) struct Recent {
    pub cell: OrganisationId,
    pub base: OrganisationId,
    pub values: MemberValues,
}

/// The `days`-th working day before `day`.
fn working_days_before(day: NaiveDate, days: u64) -> NaiveDate {
    let mut day = day;
    let mut left = days;
    while left > 0 {
        day = day.pred_opt().unwrap_or(day);
        if is_working_day(day) {
            left -= 1;
        }
    }
    day
}

fn step(kind: crate::domain::candidate::StepType, on: NaiveDate) -> StepInput {
    StepInput {
        kind,
        on,
        certificate_number: None,
        sponsors: None,
        votes_for: None,
        votes_total: None,
        decision_number: None,
        reason: None,
        note: None,
    }
}

/// Admits `recent` through the candidate steps, with sponsors drawn from `sponsors` (the earlier members of each
/// base organisation, by base), and returns the new member. A cell without an official member on the day of the
/// vote, or a base organisation without two official sponsors, admits directly, as `POST /members` would.
pub(super) async fn admit(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    dice: &mut Dice,
    serial: usize,
    recent: Recent,
    sponsors: &[(OrganisationId, MemberId)],
) -> Result<MemberId, ApiError> {
    use crate::domain::candidate::StepType;
    let admitted_on = recent.values.admitted_on;
    let late_ceremony = serial % 10 == 7;
    let late_decision = serial % 8 == 3;
    // The vote needs a candidate of 18: a candidate who turns 18 late is voted on, and decided, on that day.
    let adult = recent
        .values
        .birth_date
        .checked_add_months(Months::new(12 * 18))
        .unwrap_or(admitted_on);
    let ceremony_wait = if late_ceremony {
        35 + dice.below(20)
    } else {
        3 + dice.below(25)
    };
    let decided_on = working_days_before(admitted_on, ceremony_wait)
        .max(adult)
        .min(admitted_on);
    let decision_wait = if late_decision {
        65 + dice.below(30)
    } else {
        10 + dice.below(45)
    };
    let voted_on = working_days_before(decided_on, decision_wait)
        .max(adult)
        .min(decided_on);
    let sponsored_on = voted_on - chrono::Duration::days(10 + dice.below(30) as i64);
    let course_on = sponsored_on - chrono::Duration::days(7 + dice.below(60) as i64);
    let proposed_on = course_on - chrono::Duration::days(7 + dice.below(30) as i64);

    let officials = candidate_store::official_members_on(conn, recent.cell, voted_on).await?;
    let mut chosen = Vec::new();
    let pool: Vec<MemberId> = sponsors
        .iter()
        .filter(|(base, _)| *base == recent.base)
        .map(|(_, m)| *m)
        .collect();
    for member in pool.iter().cycle().skip(serial).take(40.min(pool.len())) {
        if !chosen.contains(member) && candidate_store::official_on(conn, *member, sponsored_on).await? {
            chosen.push(*member);
        }
        if chosen.len() == 2 {
            break;
        }
    }
    if officials == 0 || chosen.len() < 2 {
        let admission = members::Admission {
            organisation_id: recent.cell,
            values: recent.values,
            candidate_id: None,
        };
        return Ok(members::admit(conn, actor, admission).await?.id);
    }

    let v = &recent.values;
    let proposal = Proposal {
        organisation_id: recent.cell,
        values: CandidateValues {
            full_name: v.full_name.clone(),
            gender: v.gender,
            birth_date: v.birth_date,
            national_id: v.national_id.clone(),
            ethnicity: v.ethnicity.clone(),
            religion: v.religion.clone(),
            hometown: v.hometown.clone(),
            note: None,
            proposed_on,
        },
    };
    let id = candidates::propose(conn, actor, proposal).await?.id;
    let any = IfMatch::any();
    let steps = [
        StepInput {
            certificate_number: Some(format!("TS-BD-{:04}", serial + 1)),
            ..step(StepType::CourseCompleted, course_on)
        },
        StepInput {
            sponsors: Some(
                chosen
                    .iter()
                    .map(|m| SponsorEntry {
                        member_id: Some(m.0),
                        ..SponsorEntry::default()
                    })
                    .collect(),
            ),
            ..step(StepType::Sponsored, sponsored_on)
        },
        StepInput {
            votes_for: Some(officials as i32),
            votes_total: Some(officials as i32),
            ..step(StepType::CellApproved, voted_on)
        },
        StepInput {
            decision_number: Some(format!("{}-QĐ/HU", 100 + serial)),
            ..step(StepType::CommitteeApproved, decided_on)
        },
        step(StepType::Admitted, admitted_on),
    ];
    let mut member = None;
    for input in steps {
        member = candidates::record_step(conn, actor, id, &any, input).await?.member_id;
    }
    let member = member.ok_or_else(|| ApiError::Internal(anyhow::anyhow!("the ceremony admitted nobody")))?;
    // What the proposal does not say about a candidate is recorded on the member, as a cell would after the ceremony.
    let patch = MemberPatch {
        card_number: Some(v.card_number.clone()),
        education_level: Some(v.education_level.clone()),
        qualification: Some(v.qualification.clone()),
        political_theory: Some(Some(v.political_theory)),
        ..MemberPatch::default()
    };
    members::update(conn, actor, member, &any, patch).await?;
    if serial % 25 == 11 {
        withdrawn(conn, actor, dice, recent.cell, proposed_on, course_on).await?;
    }
    Ok(member)
}

/// A candidate of the same cell who completes the course and then withdraws.
async fn withdrawn(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    dice: &mut Dice,
    cell: OrganisationId,
    proposed_on: NaiveDate,
    course_on: NaiveDate,
) -> Result<CandidateId, ApiError> {
    use crate::domain::candidate::StepType;
    let name = format!(
        "{} {} {}",
        dice.pick(SURNAMES),
        dice.pick(MALE_MIDDLE),
        dice.pick(MALE_GIVEN)
    );
    let birth_date = proposed_on
        .checked_sub_months(Months::new(12 * (20 + dice.below(10) as u32)))
        .unwrap_or(proposed_on);
    let proposal = Proposal {
        organisation_id: cell,
        values: CandidateValues {
            full_name: name,
            gender: Some(Gender::Male),
            birth_date,
            national_id: None,
            ethnicity: Some("Kinh".into()),
            religion: Some("Không".into()),
            hometown: None,
            note: None,
            proposed_on,
        },
    };
    let id = candidates::propose(conn, actor, proposal).await?.id;
    let any = IfMatch::any();
    let course = StepInput {
        certificate_number: Some(format!("TS-BD-R{}", dice.below(10_000))),
        ..step(StepType::CourseCompleted, course_on)
    };
    candidates::record_step(conn, actor, id, &any, course).await?;
    let reason = StepInput {
        reason: Some("Chuyển công tác ra ngoài huyện".into()),
        ..step(StepType::Withdrawn, course_on + chrono::Duration::days(20))
    };
    candidates::record_step(conn, actor, id, &any, reason).await?;
    Ok(id)
}
