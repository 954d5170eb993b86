//! The dues operations: recording a payment, correcting or deleting it, and the reads. Every rule, authority check
//! and audit record of a payment lives here. Writes run in the caller's transaction.

use chrono::{Datelike, NaiveDate};
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use super::store::{self, DueFilter, DueRow, DueValues};
use crate::audit::{self, Action};
use crate::auth::Actor;
use crate::domain::ids::{DueId, MemberId, OrganisationId};
use crate::domain::today;
use crate::error::{ApiError, FieldError};
use crate::resources::members::service as members;
use crate::resources::members::store as member_store;
use crate::write::{self, etag, IfMatch, Patchable, Removable};

/// The resource type the audit trail names.
pub const RESOURCE: &str = "due";

/// The largest amount a payment may record, in đồng.
pub const MAX_AMOUNT: i64 = 1_000_000_000_000;

/// A month of dues: a year and a month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Period {
    pub year: i32,
    pub month: u32,
}

impl Period {
    /// Parses `YYYY-MM` (years 1930 to 2999).
    pub fn parse(text: &str) -> Option<Period> {
        let (year, month) = text.split_once('-')?;
        if year.len() != 4 || month.len() != 2 || !(year.bytes().chain(month.bytes())).all(|b| b.is_ascii_digit()) {
            return None;
        }
        let (year, month) = (year.parse().ok()?, month.parse().ok()?);
        ((1930..=2999).contains(&year) && (1..=12).contains(&month)).then_some(Period { year, month })
    }

    /// The month a day falls in.
    pub fn of(day: NaiveDate) -> Period {
        Period {
            year: day.year(),
            month: day.month(),
        }
    }
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// A payment as a client records it.
#[derive(Debug, Clone)]
pub struct Payment {
    pub member_id: MemberId,
    pub period: Period,
    pub values: DueValues,
}

/// A merge patch of a payment: `None` keeps a value, `Some(None)` clears it.
#[derive(Debug, Default)]
pub struct DuePatch {
    pub amount: Option<Option<i64>>,
    pub paid_on: Option<Option<NaiveDate>>,
    pub note: Option<Option<String>>,
}

/// What a page of the payment list asks for.
#[derive(Debug)]
pub struct ListRequest {
    pub under: Option<OrganisationId>,
    pub organisation_id: Option<OrganisationId>,
    pub member_id: Option<MemberId>,
    pub period_prefix: Option<String>,
    pub after: Option<DueId>,
    pub fetch: i64,
    pub count: bool,
}

/// A page of the payments collected inside the actor's subtree, and the length of the whole list when counted.
pub async fn list(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    request: ListRequest,
) -> Result<(Vec<DueRow>, Option<i64>), ApiError> {
    let under = request.under.map(Uuid::from);
    let Some((scope, under)) =
        crate::resources::organisations::service::subtree_paths(conn, actor.scope(), under).await?
    else {
        return Ok((Vec::new(), request.count.then_some(0)));
    };
    let filter = DueFilter {
        scope,
        under,
        organisation_id: request.organisation_id,
        member_id: request.member_id,
        period_prefix: request.period_prefix,
    };
    let rows = store::list(conn, &filter, request.after, request.fetch).await?;
    let total = match request.count {
        true => Some(store::count(conn, &filter).await?),
        false => None,
    };
    Ok((rows, total))
}

/// A payment collected inside the actor's subtree.
pub async fn find(conn: &mut AsyncPgConnection, actor: &Actor, id: DueId) -> Result<DueRow, ApiError> {
    store::find(conn, id, actor.scope(), false)
        .await?
        .ok_or_else(|| ApiError::not_found(RESOURCE))
}

/// The payments of a member inside the actor's subtree, oldest period first.
pub async fn of_member(conn: &mut AsyncPgConnection, actor: &Actor, id: MemberId) -> Result<Vec<DueRow>, ApiError> {
    members::find(conn, actor, id).await?;
    Ok(store::of_member(conn, id).await?)
}

/// Records a payment: one per member and month (409), not for a month before the admission (422).
pub async fn record(conn: &mut AsyncPgConnection, actor: &Actor, payment: Payment) -> Result<DueRow, ApiError> {
    actor.require_writer()?;
    let Payment {
        member_id,
        period,
        values,
    } = payment;
    let mut errors = check_values(&values, today());
    let member = member_store::find_visible(conn, member_id.0, actor.scope()).await?;
    match &member {
        None => errors.push(FieldError::new("member_id", "no member with this id")),
        Some(m) if period < Period::of(m.values.admitted_on) => errors.push(FieldError::new(
            "period",
            format!("is before the member's admission on {}", m.values.admitted_on),
        )),
        Some(_) => {}
    }
    refuse(errors)?;
    let organisation_id = member
        .map(|m| m.organisation_id)
        .ok_or_else(|| ApiError::not_found("member"))?;
    let row = store::insert(conn, member_id, organisation_id, period.to_string(), &values).await?;
    audit::record(conn, actor, Action::Create, RESOURCE, row.id, None, Some(&row)).await?;
    Ok(row)
}

/// Records many payments at once (the demo's year of dues), each by the rules of [`record`], with multi-row
/// inserts and one audit record each. Any problem refuses them all, each error named `dues[i].field`; a second
/// payment for a member and month, in the list or stored already, is 409. Returns how many were stored.
pub async fn record_many(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    payments: Vec<Payment>,
) -> Result<usize, ApiError> {
    actor.require_writer()?;
    let today = today();
    let mut ids: Vec<Uuid> = payments.iter().map(|p| p.member_id.0).collect();
    ids.sort_unstable();
    ids.dedup();
    let placed = member_store::placements(conn, &ids, actor.scope()).await?;
    let mut errors = Vec::new();
    let mut new = Vec::with_capacity(payments.len());
    for (i, payment) in payments.into_iter().enumerate() {
        let mut problems = check_values(&payment.values, today);
        match placed.get(&payment.member_id.0) {
            None => problems.push(FieldError::new("member_id", "no member with this id")),
            Some((_, admitted_on)) if payment.period < Period::of(*admitted_on) => problems.push(FieldError::new(
                "period",
                format!("is before the member's admission on {admitted_on}"),
            )),
            Some((organisation_id, _)) => new.push(store::NewDue {
                id: DueId::new(),
                member_id: payment.member_id,
                organisation_id: OrganisationId(*organisation_id),
                period: payment.period.to_string(),
                values: payment.values,
            }),
        }
        errors.extend(
            problems
                .into_iter()
                .map(|e| FieldError::new(format!("dues[{i}].{}", e.field), e.message)),
        );
    }
    refuse(errors)?;
    let rows = store::insert_many(conn, &new).await?;
    for batch in rows.chunks(5000) {
        let created: Vec<(String, &DueRow)> = batch.iter().map(|row| (row.id.to_string(), row)).collect();
        audit::record_created(conn, actor, RESOURCE, &created).await?;
    }
    Ok(rows.len())
}

/// Corrects a payment by a merge patch.
pub async fn update(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: DueId,
    if_match: &IfMatch,
    patch: DuePatch,
) -> Result<DueRow, ApiError> {
    write::update::<Dues>(conn, actor, id, if_match, patch).await
}

/// Deletes a payment recorded by mistake.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: DueId,
    if_match: &IfMatch,
) -> Result<(), ApiError> {
    write::delete::<Dues>(conn, actor, id, if_match).await
}

fn check_values(v: &DueValues, today: NaiveDate) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if !(1..=MAX_AMOUNT).contains(&v.amount) {
        errors.push(FieldError::new("amount", format!("must be 1 to {MAX_AMOUNT} đồng")));
    }
    if v.paid_on > today {
        errors.push(FieldError::new("paid_on", "must not be in the future"));
    }
    if v.note.as_deref().is_some_and(|n| n.chars().count() > 4000) {
        errors.push(FieldError::new("note", "must be at most 4000 characters"));
    }
    errors
}

fn refuse(errors: Vec<FieldError>) -> Result<(), ApiError> {
    match errors.is_empty() {
        true => Ok(()),
        false => Err(ApiError::Validation(errors)),
    }
}

/// Payments on the one write path.
struct Dues;

impl Patchable for Dues {
    type Row = DueRow;
    type Values = DueValues;
    type Patch = DuePatch;
    type View = DueRow;
    type Id = DueId;
    const RESOURCE: &'static str = RESOURCE;

    async fn lock(conn: &mut AsyncPgConnection, actor: &Actor, id: DueId) -> Result<DueRow, ApiError> {
        let row = store::find(conn, id, actor.scope(), true)
            .await?
            .ok_or_else(|| ApiError::not_found(RESOURCE))?;
        actor.require_writer()?;
        Ok(row)
    }

    async fn etag(_: &mut AsyncPgConnection, row: &DueRow) -> Result<String, ApiError> {
        Ok(etag(row.version))
    }

    fn values(row: &DueRow) -> DueValues {
        row.values.clone()
    }

    fn merge(current: &DueValues, p: DuePatch) -> Result<DueValues, Vec<FieldError>> {
        let mut errors = Vec::new();
        let merged = DueValues {
            amount: write::required(&mut errors, "amount", p.amount, &current.amount),
            paid_on: write::required(&mut errors, "paid_on", p.paid_on, &current.paid_on),
            note: write::optional(p.note, &current.note),
        };
        match errors.is_empty() {
            true => Ok(merged),
            false => Err(errors),
        }
    }

    async fn check(_: &mut AsyncPgConnection, _: &Actor, _: &DueRow, values: &DueValues) -> Result<(), ApiError> {
        refuse(check_values(values, today()))
    }

    async fn store(conn: &mut AsyncPgConnection, row: &DueRow, values: DueValues) -> Result<DueRow, ApiError> {
        Ok(store::update(conn, row.id, &values).await?)
    }

    fn view(row: &DueRow) -> DueRow {
        row.clone()
    }
}

impl Removable for Dues {
    async fn remove(conn: &mut AsyncPgConnection, row: &DueRow) -> Result<(), ApiError> {
        store::delete(conn, row.id).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_year_and_month() {
        assert_eq!(Period::parse("2012-05"), Some(Period { year: 2012, month: 5 }));
        assert_eq!(Period::parse("2012-05").unwrap().to_string(), "2012-05");
        for bad in [
            "2012-5",
            "2012-13",
            "2012-00",
            "12-05",
            "2012-05-01",
            "+012-05",
            "1800-01",
            "２０１２-05",
        ] {
            assert_eq!(Period::parse(bad), None, "{bad}");
        }
        let day = NaiveDate::from_ymd_opt(2012, 5, 31).unwrap();
        assert_eq!(Period::of(day), Period { year: 2012, month: 5 });
        assert!(Period::parse("2012-04") < Period::parse("2012-05"));
        assert!(Period::parse("2011-12") < Period::parse("2012-01"));
    }
}
