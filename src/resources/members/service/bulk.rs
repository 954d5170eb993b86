//! Admissions of many members at once, for imports. Each admission is checked by the rules of [`super::admit`],
//! through the same functions; an official member recorded elsewhere is checked as a `recognised_official` event
//! would be. Checked admissions are then stored with multi-row inserts, each member with its history entries and
//! its audit record, so that a file of 100,000 members costs a few hundred statements rather than 400,000.

use chrono::NaiveDate;
use diesel_async::AsyncPgConnection;

use super::{history_entry, placement_refusal, value_errors, RESOURCE};
use crate::audit;
use crate::auth::Actor;
use crate::domain::ids::{MemberId, OrganisationId};
use crate::domain::member::{apply_event, EventInput, EventType, MemberState, MemberStatus, Refusal};
use crate::error::{ApiError, FieldError};
use crate::resources::members::store::{self, history, MemberValues, NewMember};
use crate::resources::organisations::store::OrganisationRow;

/// An admission as a file gives it: the values and, for a member already official elsewhere, the day of
/// recognition.
#[derive(Debug, Clone)]
pub struct BulkAdmission {
    pub values: MemberValues,
    pub official_on: Option<NaiveDate>,
}

/// An admission that passed [`check_admission`]; nothing else makes one.
#[derive(Debug)]
pub struct CheckedAdmission {
    organisation_id: OrganisationId,
    values: MemberValues,
    official_on: Option<NaiveDate>,
}

/// Checks an admission into `org`, which the caller found inside the actor's subtree and share-locked (as
/// `admit` does): the values, the placement, and the recognition of an official member. Errors name the fields
/// of a single admission (`organisation_id` for the placement, `official_on` for the recognition).
pub fn check_admission(
    org: &OrganisationRow,
    admission: BulkAdmission,
    today: NaiveDate,
) -> Result<CheckedAdmission, Vec<FieldError>> {
    let BulkAdmission { values, official_on } = admission;
    let mut errors = value_errors(&values, today);
    if let Some(why) = placement_refusal(org.kind, org.dissolved_on, today) {
        errors.push(FieldError::new("organisation_id", why));
    }
    if let (Some(on), true) = (official_on, errors.is_empty()) {
        let admitted = MemberState {
            status: MemberStatus::Probationary,
            admitted_on: values.admitted_on,
            organisation_id: org.id.0,
            last_event_on: values.admitted_on,
        };
        let recognition = EventInput {
            kind: EventType::RecognisedOfficial,
            on,
            to_organisation_id: None,
            mode: None,
            destination: None,
            form: None,
        };
        match apply_event(&admitted, &recognition, today) {
            Ok(_) => {}
            Err(Refusal::Invalid(refused)) => {
                errors.extend(refused.into_iter().map(|e| FieldError::new("official_on", e.message)))
            }
            Err(Refusal::State(why)) => errors.push(FieldError::new("official_on", why)),
        }
    }
    if errors.is_empty() {
        Ok(CheckedAdmission {
            organisation_id: org.id,
            values,
            official_on,
        })
    } else {
        Err(errors)
    }
}

/// Stores checked admissions: each member `probationary` with its admission entry, or `official` with its
/// admission and recognition entries, and an audit record of its creation. Returns how many were stored.
pub async fn admit_many(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    admissions: Vec<CheckedAdmission>,
) -> Result<usize, ApiError> {
    actor.require_writer()?;
    let new: Vec<NewMember> = admissions
        .into_iter()
        .map(|a| NewMember {
            id: MemberId::new(),
            organisation_id: a.organisation_id,
            status: match a.official_on {
                Some(_) => MemberStatus::Official,
                None => MemberStatus::Probationary,
            },
            official_on: a.official_on,
            candidate_id: None,
            values: a.values,
        })
        .collect();
    let rows = store::insert_many(conn, &new).await?;
    let mut entries = Vec::with_capacity(rows.len());
    for row in &rows {
        entries.push(history_entry(
            actor,
            row,
            EventType::Admitted,
            row.values.admitted_on,
            None,
            MemberStatus::Probationary,
        ));
        if let Some(on) = row.official_on {
            entries.push(history_entry(
                actor,
                row,
                EventType::RecognisedOfficial,
                on,
                Some(MemberStatus::Probationary),
                MemberStatus::Official,
            ));
        }
    }
    history::insert_events(conn, &entries).await?;
    let created: Vec<(String, _)> = rows.iter().map(|row| (row.id.to_string(), row)).collect();
    audit::record_created(conn, actor, RESOURCE, &created).await?;
    Ok(rows.len())
}
