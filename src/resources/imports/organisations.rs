//! The organisations import. Each row is created by the organisation service ([`service::create`]), in a
//! savepoint of the import's transaction, so that a refused row leaves the others as they are and the checks of
//! the next rows go on. A `parent_code` names an organisation of an earlier row of the file, or one inside the
//! token's subtree. A file of organisations is small (a district has hundreds), so each row takes the single
//! route's path whole.

use std::collections::HashMap;
use std::io::Read;

use diesel_async::{AsyncConnection, AsyncPgConnection};

use super::row::{Cells, Header};
use super::sheet::Rows;
use super::{Errors, Progress};
use crate::auth::Actor;
use crate::domain::ids::OrganisationId;
use crate::domain::organisation::{OrganisationKind, Sector};
use crate::error::{ApiError, FieldError};
use crate::resources::organisations::service::{self, Draft};
use crate::resources::organisations::store;

/// The columns of an organisations file, in the order an export writes them.
pub const COLUMNS: &[&str] = &[
    "code",
    "name",
    "kind",
    "sector",
    "parent_code",
    "established_on",
    "dissolved_on",
    "address",
    "note",
];

const REQUIRED: &[&str] = &["code", "name", "kind"];

/// How a code given in the file turned out.
enum Given {
    Created(OrganisationId),
    /// Its row (this line) has errors.
    Refused(u64),
}

/// Reads, checks and creates the organisations of a file: the number of data rows, how many were created, and
/// the errors.
pub async fn load<R: Read + Send>(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    mut rows: Rows<R>,
    progress: Progress<'_>,
) -> Result<(u64, u64, Errors), ApiError> {
    let mut errors = Errors::default();
    let Some(header) = Header::read(&mut rows, COLUMNS, REQUIRED, &mut errors) else {
        return Ok((0, 0, errors));
    };
    let (mut count, mut created) = (0, 0);
    let mut given: HashMap<String, Given> = HashMap::new();
    for line in rows {
        let line = match line {
            Ok(line) => line,
            Err(unreadable) => {
                count += 1;
                errors.push(unreadable.number, "row", unreadable.message);
                continue;
            }
        };
        let mut cells = header.row(&line);
        if cells.is_blank() {
            continue;
        }
        count += 1;
        progress(line.number);
        let parsed = parse(&mut cells);
        let code = parsed.as_ref().map(|(draft, _)| draft.code.clone());
        if let Some(Given::Created(_) | Given::Refused(_)) = code.as_ref().and_then(|c| given.get(c)) {
            cells.error("code", "is given in an earlier row as well");
        }
        let parent = match parsed.as_ref().and_then(|(_, parent)| parent.as_deref()) {
            Some(parent) => resolve(conn, actor, &given, &mut cells, parent).await?,
            None => None,
        };
        if let (Some((mut draft, _)), true) = (parsed, cells.errors.is_empty()) {
            draft.parent_id = parent;
            let made = conn
                .transaction(async |conn| service::create(conn, actor, draft).await)
                .await;
            match made {
                Ok(counted) => {
                    created += 1;
                    if let Some(code) = &code {
                        given.insert(code.clone(), Given::Created(counted.row.id));
                    }
                }
                Err(refusal) => cells.errors.extend(row_errors(refusal)?),
            }
        }
        if !cells.errors.is_empty() {
            if let Some(code) = code {
                given.entry(code).or_insert(Given::Refused(line.number));
            }
            for e in cells.errors {
                errors.push(line.number, e.field, e.message);
            }
        }
    }
    Ok((count, created, errors))
}

/// The draft a row describes, with its parent's code; `None` when a required value cannot be read.
fn parse(cells: &mut Cells<'_>) -> Option<(Draft, Option<String>)> {
    let code = cells.required_text("code");
    let name = cells.required_text("name");
    let kind = cells.required_choice("kind", OrganisationKind::ALL);
    let sector = cells.choice("sector", Sector::ALL);
    let parent_code = cells.text("parent_code");
    let established_on = cells.date("established_on");
    let dissolved_on = cells.date("dissolved_on");
    let address = cells.text("address");
    let note = cells.text("note");
    let draft = Draft {
        code: code?,
        name: name?,
        kind: kind?,
        sector,
        parent_id: None,
        established_on,
        dissolved_on,
        address,
        note,
    };
    Some((draft, parent_code))
}

/// The organisation a `parent_code` names: created by an earlier row, or inside the actor's subtree. A code
/// outside it is as unknown as one that does not exist.
async fn resolve(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    given: &HashMap<String, Given>,
    cells: &mut Cells<'_>,
    code: &str,
) -> Result<Option<OrganisationId>, ApiError> {
    match given.get(code) {
        Some(Given::Created(id)) => Ok(Some(*id)),
        Some(Given::Refused(line)) => {
            cells.error(
                "parent_code",
                format!("names the organisation of row {line}, which has errors"),
            );
            Ok(None)
        }
        None => match store::find_visible_by_code(conn, code, actor.scope()).await? {
            Some(parent) => Ok(Some(parent.id)),
            None => {
                cells.error("parent_code", "no organisation with this code");
                Ok(None)
            }
        },
    }
}

/// The errors of a row the service refused, named by the file's columns; an error that is not about the row
/// (the database gone) ends the import.
fn row_errors(refusal: ApiError) -> Result<Vec<FieldError>, ApiError> {
    let column = |field: String| {
        if field == "parent_id" {
            "parent_code".to_owned()
        } else {
            field
        }
    };
    match refusal {
        ApiError::Validation(errors) | ApiError::Conflict { errors, .. } if !errors.is_empty() => Ok(errors
            .into_iter()
            .map(|e| FieldError::new(column(e.field), e.message))
            .collect()),
        ApiError::Conflict { detail, .. } => Ok(vec![FieldError::new("row", detail)]),
        ApiError::Forbidden(why) => Ok(vec![FieldError::new("parent_code", why)]),
        other => Err(other),
    }
}
