//! The member record on the one write path: what a merge patch may change, how it is checked and stored, and
//! when a member may be deleted.

use chrono::{Months, NaiveDate};
use diesel_async::AsyncPgConnection;

use super::{check_values, lock_visible, RESOURCE};
use crate::auth::Actor;
use crate::domain::identity::{CardNumber, NationalId};
use crate::domain::ids::MemberId;
use crate::domain::member::{Gender, PoliticalTheory, PROBATION_MONTHS};
use crate::domain::today;
use crate::error::{ApiError, FieldError};
use crate::resources::evaluations::store::member_usage;
use crate::resources::members::store::{self, history, MemberRow, MemberValues};
use crate::write::etag;
use crate::write::{self, Patchable, Removable};

/// A merge patch of a member: an absent field (`None`) stays, `Some(None)` clears it.
#[derive(Debug, Default)]
pub struct MemberPatch {
    pub full_name: Option<Option<String>>,
    pub gender: Option<Option<Gender>>,
    pub birth_date: Option<Option<NaiveDate>>,
    pub admitted_on: Option<Option<NaiveDate>>,
    pub card_number: Option<Option<CardNumber>>,
    pub national_id: Option<Option<NationalId>>,
    pub ethnicity: Option<Option<String>>,
    pub religion: Option<Option<String>>,
    pub hometown: Option<Option<String>>,
    pub education_level: Option<Option<String>>,
    pub qualification: Option<Option<String>>,
    pub political_theory: Option<Option<PoliticalTheory>>,
    pub note: Option<Option<String>>,
}

/// The member record, as the one write path changes and deletes it.
pub struct MemberRecord;

impl Patchable for MemberRecord {
    type Row = MemberRow;
    type Values = MemberValues;
    type Patch = MemberPatch;
    type View = MemberRow;
    type Id = MemberId;
    const RESOURCE: &'static str = RESOURCE;

    async fn lock(conn: &mut AsyncPgConnection, actor: &Actor, id: MemberId) -> Result<MemberRow, ApiError> {
        actor.require_writer()?;
        lock_visible(conn, actor, id).await
    }

    async fn etag(_: &mut AsyncPgConnection, row: &MemberRow) -> Result<String, ApiError> {
        Ok(etag(row.version))
    }

    fn values(row: &MemberRow) -> MemberValues {
        row.values.clone()
    }

    fn merge(current: &MemberValues, p: MemberPatch) -> Result<MemberValues, Vec<FieldError>> {
        let mut errors = Vec::new();
        let values = MemberValues {
            full_name: write::required(&mut errors, "full_name", p.full_name, &current.full_name),
            gender: write::optional(p.gender, &current.gender),
            birth_date: write::required(&mut errors, "birth_date", p.birth_date, &current.birth_date),
            admitted_on: write::required(&mut errors, "admitted_on", p.admitted_on, &current.admitted_on),
            card_number: write::optional(p.card_number, &current.card_number),
            national_id: write::optional(p.national_id, &current.national_id),
            ethnicity: write::optional(p.ethnicity, &current.ethnicity),
            religion: write::optional(p.religion, &current.religion),
            hometown: write::optional(p.hometown, &current.hometown),
            education_level: write::optional(p.education_level, &current.education_level),
            qualification: write::optional(p.qualification, &current.qualification),
            political_theory: write::required(
                &mut errors,
                "political_theory",
                p.political_theory,
                &current.political_theory,
            ),
            note: write::optional(p.note, &current.note),
        };
        if errors.is_empty() {
            Ok(values)
        } else {
            Err(errors)
        }
    }

    async fn check(
        conn: &mut AsyncPgConnection,
        _: &Actor,
        row: &MemberRow,
        values: &MemberValues,
    ) -> Result<(), ApiError> {
        check_values(values, today())?;
        if values.admitted_on != row.values.admitted_on {
            check_new_admission_date(conn, row, values.admitted_on).await?;
        }
        Ok(())
    }

    async fn store(conn: &mut AsyncPgConnection, row: &MemberRow, values: MemberValues) -> Result<MemberRow, ApiError> {
        let id = row.id;
        if values.admitted_on != row.values.admitted_on {
            history::redate_admission(conn, id, values.admitted_on).await?;
        }
        Ok(store::update(conn, id, &values).await?)
    }

    fn view(row: &MemberRow) -> MemberRow {
        row.clone()
    }
}

impl Removable for MemberRecord {
    async fn remove(conn: &mut AsyncPgConnection, row: &MemberRow) -> Result<(), ApiError> {
        let evaluations = member_usage(conn, row.id).await?;
        if evaluations > 0 {
            return Err(ApiError::conflict(format!(
                "the member has {evaluations} evaluation record(s); delete them first"
            )));
        }
        store::delete(conn, row.id).await?;
        Ok(())
    }
}

/// A corrected admission date must keep the history in order and the probation rule of a recognition.
async fn check_new_admission_date(
    conn: &mut AsyncPgConnection,
    row: &MemberRow,
    admitted_on: NaiveDate,
) -> Result<(), ApiError> {
    if let Some(first) = history::first_event_after_admission(conn, row.id).await? {
        if admitted_on > first {
            return Err(ApiError::invalid(
                "admitted_on",
                format!("must not be after the member's next history entry ({first})"),
            ));
        }
    }
    if let Some(official_on) = row.official_on {
        let earliest = admitted_on.checked_add_months(Months::new(PROBATION_MONTHS));
        if earliest.is_none_or(|e| official_on < e) {
            return Err(ApiError::invalid(
                "admitted_on",
                "the member was recognised official less than 12 months after this date",
            ));
        }
    }
    Ok(())
}
