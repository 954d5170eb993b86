//! The candidate record on the one write path: what a merge patch may change, how it is checked and stored, and
//! when a candidate may be deleted.

use chrono::NaiveDate;
use diesel_async::AsyncPgConnection;

use super::{check_values, RESOURCE};
use crate::auth::Actor;
use crate::domain::candidate::Stage;
use crate::domain::identity::NationalId;
use crate::domain::ids::CandidateId;
use crate::domain::member::Gender;
use crate::domain::today;
use crate::error::{ApiError, FieldError};
use crate::resources::candidates::store::{self, CandidateRow, CandidateValues};
use crate::write::{self, etag, Patchable, Removable};

/// A merge patch of a candidate: an absent field (`None`) stays, `Some(None)` clears it.
#[derive(Debug, Default)]
pub struct CandidatePatch {
    pub full_name: Option<Option<String>>,
    pub gender: Option<Option<Gender>>,
    pub birth_date: Option<Option<NaiveDate>>,
    pub national_id: Option<Option<NationalId>>,
    pub ethnicity: Option<Option<String>>,
    pub religion: Option<Option<String>>,
    pub hometown: Option<Option<String>>,
    pub note: Option<Option<String>>,
    pub proposed_on: Option<Option<NaiveDate>>,
}

/// The candidate record, as the one write path changes and deletes it.
pub struct CandidateRecord;

/// Refuses changes to an admitted candidate: the member's record is the one to change, and the admission stays
/// as it was decided.
fn not_admitted(row: &CandidateRow) -> Result<(), ApiError> {
    match row.stage {
        Stage::Admitted => Err(ApiError::conflict(
            "the candidate was admitted: change the member's record instead",
        )),
        _ => Ok(()),
    }
}

impl Patchable for CandidateRecord {
    type Row = CandidateRow;
    type Values = CandidateValues;
    type Patch = CandidatePatch;
    type View = CandidateRow;
    type Id = CandidateId;
    const RESOURCE: &'static str = RESOURCE;

    async fn lock(conn: &mut AsyncPgConnection, actor: &Actor, id: CandidateId) -> Result<CandidateRow, ApiError> {
        actor.require_writer()?;
        store::find(conn, id, actor.scope(), true)
            .await?
            .ok_or_else(|| ApiError::not_found(RESOURCE))
    }

    async fn etag(_: &mut AsyncPgConnection, row: &CandidateRow) -> Result<String, ApiError> {
        Ok(etag(row.version))
    }

    fn values(row: &CandidateRow) -> CandidateValues {
        row.values.clone()
    }

    fn merge(current: &CandidateValues, p: CandidatePatch) -> Result<CandidateValues, Vec<FieldError>> {
        let mut errors = Vec::new();
        let merged = CandidateValues {
            full_name: write::required(&mut errors, "full_name", p.full_name, &current.full_name),
            gender: write::optional(p.gender, &current.gender),
            birth_date: write::required(&mut errors, "birth_date", p.birth_date, &current.birth_date),
            national_id: write::optional(p.national_id, &current.national_id),
            ethnicity: write::optional(p.ethnicity, &current.ethnicity),
            religion: write::optional(p.religion, &current.religion),
            hometown: write::optional(p.hometown, &current.hometown),
            note: write::optional(p.note, &current.note),
            proposed_on: write::required(&mut errors, "proposed_on", p.proposed_on, &current.proposed_on),
        };
        match errors.is_empty() {
            true => Ok(merged),
            false => Err(errors),
        }
    }

    async fn check(
        _: &mut AsyncPgConnection,
        _: &Actor,
        row: &CandidateRow,
        values: &CandidateValues,
    ) -> Result<(), ApiError> {
        not_admitted(row)?;
        check_values(values, today())?;
        if row.stage != Stage::Proposed && values.proposed_on > row.stage_on {
            return Err(ApiError::invalid(
                "proposed_on",
                "must not be after the candidate's steps",
            ));
        }
        Ok(())
    }

    async fn store(
        conn: &mut AsyncPgConnection,
        row: &CandidateRow,
        values: CandidateValues,
    ) -> Result<CandidateRow, ApiError> {
        let stage_on = match row.stage {
            Stage::Proposed => values.proposed_on,
            _ => row.stage_on,
        };
        Ok(store::update(conn, row.id, &values, stage_on).await?)
    }

    fn view(row: &CandidateRow) -> CandidateRow {
        row.clone()
    }
}

impl Removable for CandidateRecord {
    fn may_remove(_: &Actor, row: &CandidateRow) -> Result<(), ApiError> {
        not_admitted(row)
    }

    async fn remove(conn: &mut AsyncPgConnection, row: &CandidateRow) -> Result<(), ApiError> {
        store::delete(conn, row.id).await?;
        Ok(())
    }
}
