//! The members import. Rows are read one at a time and parsed into admissions; every [`BATCH`] rows, the
//! organisation codes new to the import are found (inside the token's subtree, share-locked) and the card numbers
//! and national ids checked against the registry, each admission is checked by the member service
//! ([`check_admission`]) and the batch is stored by it ([`admit_many`]). What the import keeps in memory between
//! batches is the organisations by code; the card numbers and national ids the file has given so far, to find
//! those it gives twice, are kept in a temporary table of the transaction.

use std::collections::HashMap;
use std::io::Read;

use diesel_async::AsyncPgConnection;

use super::row::{Cells, Header};
use super::sheet::Rows;
use super::{store, Errors, Progress};
use crate::auth::Actor;
use crate::domain::identity::{CardNumber, NationalId};
use crate::domain::member::{Gender, MemberStatus, PoliticalTheory};
use crate::domain::today;
use crate::error::ApiError;
use crate::resources::members::service::{admit_many, check_admission, BulkAdmission};
use crate::resources::members::store::{self as members, MemberValues};
use crate::resources::organisations::store::{self as organisations, OrganisationRow};

/// The columns of a members file, in the order an export writes them.
pub const COLUMNS: &[&str] = &[
    "full_name",
    "gender",
    "birth_date",
    "organisation_code",
    "admitted_on",
    "status",
    "official_on",
    "card_number",
    "national_id",
    "ethnicity",
    "religion",
    "hometown",
    "education_level",
    "qualification",
    "political_theory",
    "note",
];

const REQUIRED: &[&str] = &["full_name", "birth_date", "organisation_code", "admitted_on"];

/// Rows checked and stored together.
const BATCH: usize = 1000;

/// One parsed row, waiting for its batch.
struct Pending {
    line: u64,
    code: String,
    admission: BulkAdmission,
}

/// What the import keeps from batch to batch.
struct Import<'a> {
    actor: &'a Actor,
    /// Organisations by code, as found inside the actor's subtree (`None`: no such organisation there).
    organisations: HashMap<String, Option<OrganisationRow>>,
    errors: Errors,
    imported: u64,
}

/// Reads, checks and (while no row has an error) stores the members of a file: the number of data rows, how many
/// were stored, and the errors.
pub async fn load<R: Read + Send>(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    mut rows: Rows<R>,
    progress: Progress<'_>,
) -> Result<(u64, u64, Errors), ApiError> {
    let mut import = Import {
        actor,
        organisations: HashMap::new(),
        errors: Errors::default(),
        imported: 0,
    };
    let Some(header) = Header::read(&mut rows, COLUMNS, REQUIRED, &mut import.errors) else {
        return Ok((0, 0, import.errors));
    };
    store::track_numbers(conn).await?;
    let mut count = 0;
    let mut batch = Vec::with_capacity(BATCH);
    for line in rows {
        let line = match line {
            Ok(line) => line,
            Err(unreadable) => {
                count += 1;
                import.errors.push(unreadable.number, "row", unreadable.message);
                continue;
            }
        };
        let mut cells = header.row(&line);
        if cells.is_blank() {
            continue;
        }
        count += 1;
        let parsed = parse(&mut cells);
        match parsed {
            Some((code, admission)) if cells.errors.is_empty() => batch.push(Pending {
                line: line.number,
                code,
                admission,
            }),
            _ => {
                for e in cells.errors {
                    import.errors.push(line.number, e.field, e.message);
                }
            }
        }
        if batch.len() == BATCH {
            import.flush(conn, &mut batch).await?;
            progress(line.number);
        }
    }
    import.flush(conn, &mut batch).await?;
    Ok((count, import.imported, import.errors))
}

/// The admission a row describes, with its organisation's code; `None` when a value cannot be read.
fn parse(cells: &mut Cells<'_>) -> Option<(String, BulkAdmission)> {
    let full_name = cells.required_text("full_name");
    let gender = cells.choice("gender", Gender::ALL);
    let birth_date = cells.required_date("birth_date");
    let code = cells.required_text("organisation_code");
    let admitted_on = cells.required_date("admitted_on");
    let status = cells.choice("status", MemberStatus::ALL);
    let official_on = cells.date("official_on");
    let card_number = cells.parsed("card_number", |v| CardNumber::parse(v));
    let national_id = cells.parsed("national_id", |v| NationalId::parse(v));
    let ethnicity = cells.text("ethnicity");
    let religion = cells.text("religion");
    let hometown = cells.text("hometown");
    let education_level = cells.text("education_level");
    let qualification = cells.text("qualification");
    let political_theory = cells.choice("political_theory", PoliticalTheory::ALL);
    let note = cells.text("note");
    match (status.unwrap_or(MemberStatus::Probationary), official_on) {
        (MemberStatus::Probationary, None) | (MemberStatus::Official, Some(_)) => {}
        (MemberStatus::Probationary, Some(_)) => cells.error("official_on", "is set only for an official member"),
        (MemberStatus::Official, None) => cells.error("official_on", "is required for an official member"),
        (other, _) => cells.error(
            "status",
            format!("must be probationary or official: a member who is {other} is recorded by lifecycle events"),
        ),
    }
    let values = MemberValues {
        full_name: full_name?,
        gender,
        birth_date: birth_date?,
        admitted_on: admitted_on?,
        card_number,
        national_id,
        ethnicity,
        religion,
        hometown,
        education_level,
        qualification,
        political_theory: political_theory.unwrap_or(PoliticalTheory::None),
        note,
    };
    Some((code?, BulkAdmission { values, official_on }))
}

impl Import<'_> {
    /// Checks a batch of parsed rows against the file's earlier rows, the registry and the rules, and stores it
    /// while the file has no error.
    async fn flush(&mut self, conn: &mut AsyncPgConnection, batch: &mut Vec<Pending>) -> Result<(), ApiError> {
        if batch.is_empty() {
            return Ok(());
        }
        self.find_organisations(conn, batch).await?;
        let repeated = repeated_numbers(conn, batch).await?;
        let unique = |column: &str, line: u64| !repeated.iter().any(|r| r.0 == line && r.1 == column);
        let cards: Vec<CardNumber> = batch
            .iter()
            .filter(|p| unique("card_number", p.line))
            .filter_map(|p| p.admission.values.card_number.clone())
            .collect();
        let ids: Vec<NationalId> = batch
            .iter()
            .filter(|p| unique("national_id", p.line))
            .filter_map(|p| p.admission.values.national_id.clone())
            .collect();
        let (taken_cards, taken_ids) = members::taken_numbers(conn, &cards, &ids).await?;
        let today = today();
        let mut checked = Vec::with_capacity(batch.len());
        for pending in batch.drain(..) {
            let values = &pending.admission.values;
            let line = pending.line;
            let mut refused = false;
            for (_, column, first) in repeated.iter().filter(|r| r.0 == line) {
                self.errors
                    .push(line, *column, format!("is given in row {first} as well"));
                refused = true;
            }
            if values.card_number.as_ref().is_some_and(|n| taken_cards.contains(n)) {
                self.errors.push(line, "card_number", "is already taken");
                refused = true;
            }
            if values.national_id.as_ref().is_some_and(|n| taken_ids.contains(n)) {
                self.errors.push(line, "national_id", "is already taken");
                refused = true;
            }
            let Some(Some(org)) = self.organisations.get(&pending.code) else {
                self.errors
                    .push(line, "organisation_code", "no organisation with this code");
                continue;
            };
            match check_admission(org, pending.admission, today) {
                Ok(admission) if !refused => checked.push(admission),
                Ok(_) => {}
                Err(errors) => {
                    for e in errors {
                        let field = if e.field == "organisation_id" {
                            "organisation_code".into()
                        } else {
                            e.field
                        };
                        self.errors.push(line, field, e.message);
                    }
                }
            }
        }
        if self.errors.is_empty() {
            self.imported += admit_many(conn, self.actor, checked).await? as u64;
        }
        Ok(())
    }

    /// Finds the organisations of the codes new to the import, inside the actor's subtree, share-locked.
    async fn find_organisations(&mut self, conn: &mut AsyncPgConnection, batch: &[Pending]) -> Result<(), ApiError> {
        let mut new_codes: Vec<String> = batch
            .iter()
            .filter(|p| !self.organisations.contains_key(&p.code))
            .map(|p| p.code.clone())
            .collect();
        new_codes.sort();
        new_codes.dedup();
        if new_codes.is_empty() {
            return Ok(());
        }
        let found = organisations::find_visible_by_codes_locked(conn, &new_codes, self.actor.scope()).await?;
        for code in new_codes {
            self.organisations.insert(code, None);
        }
        for org in found {
            self.organisations.insert(org.code.clone(), Some(org));
        }
        Ok(())
    }
}

/// The card numbers and national ids of a batch that an earlier row of the file gives already: (line, column,
/// the earlier line). The batch's own numbers are recorded for the batches after it.
async fn repeated_numbers(
    conn: &mut AsyncPgConnection,
    batch: &[Pending],
) -> Result<Vec<(u64, &'static str, u64)>, ApiError> {
    let numbers: Vec<(&'static str, String, u64)> = batch
        .iter()
        .flat_map(|p| {
            let v = &p.admission.values;
            [
                v.card_number.as_ref().map(|n| ("card_number", n.to_string(), p.line)),
                v.national_id.as_ref().map(|n| ("national_id", n.to_string(), p.line)),
            ]
        })
        .flatten()
        .collect();
    let mut first: HashMap<(&str, &str), u64> = HashMap::new();
    let earlier = store::given_before(conn, &numbers).await?;
    for (column, number, line) in &earlier {
        if let Some((known, _, _)) = numbers.iter().find(|(c, n, _)| c == column && n == number) {
            first.insert((known, number.as_str()), *line as u64);
        }
    }
    let mut repeated = Vec::new();
    for (column, number, line) in &numbers {
        match first.get(&(*column, number.as_str())) {
            Some(first_line) => repeated.push((*line, *column, *first_line)),
            None => {
                first.insert((column, number.as_str()), *line);
            }
        }
    }
    Ok(repeated)
}
