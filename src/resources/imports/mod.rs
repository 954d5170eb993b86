//! Bulk imports and exports: whole spreadsheets of members or organisations in (`POST /api/v1/imports/...`,
//! `partybase import ...`), and any filtered list out as CSV in the same columns.
//!
//! An import reads the file row by row and checks every row by the rules of the single-resource routes, through
//! their services; it stores everything in one transaction, or, with any error or on a dry run, nothing.

pub mod command;
pub mod export;
pub mod http;
mod members;
mod organisations;
mod row;
pub mod sheet;
mod store;

use std::io::Read;

use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Actor;
use crate::error::ApiError;
use sheet::Rows;

/// The most errors an answer lists; the rows after them are still checked and counted.
pub const MAX_ERRORS: usize = 1000;

/// What an import brings in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Members,
    Organisations,
}

impl Kind {
    /// The resource type the imports table and the audit trail name.
    fn resource(self) -> &'static str {
        match self {
            Kind::Members => crate::resources::members::service::RESOURCE,
            Kind::Organisations => crate::resources::organisations::service::RESOURCE,
        }
    }
}

/// What is wrong in one row of the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct RowError {
    /// The line of the file (the header is line 1; for a workbook, the sheet's row number). Absent only from
    /// the error of a refusal that is not about the file (an `Idempotency-Key` used before for another body).
    #[schema(example = 7, minimum = 1, maximum = 9007199254740991_i64, required = false)]
    pub row: u64,
    /// The column at fault, or `row` when the row as a whole cannot be read.
    #[schema(example = "organisation_code", max_length = 1000)]
    pub field: String,
    /// What is wrong, in plain English.
    #[schema(example = "no organisation with this code", max_length = 1000)]
    pub message: String,
}

/// The result of an import: how many data rows the file has, how many were imported, and what is wrong.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"rows": 2, "imported": 2, "errors": [],
    "import_id": "0193a5c8-7f3e-7a10-9c4e-3b1f2a6d8e09"}))]
pub struct Outcome {
    /// Data rows read (the header and empty lines not counted).
    #[schema(example = 2, minimum = 0, maximum = 9007199254740991_i64)]
    pub rows: u64,
    /// Rows stored: all of them, or none on a dry run or when any row has an error.
    #[schema(example = 2, minimum = 0, maximum = 9007199254740991_i64)]
    pub imported: u64,
    /// The first 1000 errors, in row order; empty when the file is fine.
    #[schema(max_items = 1000)]
    pub errors: Vec<RowError>,
    /// The import, as the audit records of what it created name it (`import_id`); `null` when nothing was
    /// stored.
    pub import_id: Option<Uuid>,
}

/// The errors found so far: the first [`MAX_ERRORS`] are kept.
#[derive(Debug, Default)]
struct Errors {
    kept: Vec<RowError>,
    found: u64,
}

impl Errors {
    fn push(&mut self, row: u64, field: impl Into<String>, message: impl Into<String>) {
        self.found += 1;
        if self.kept.len() < MAX_ERRORS {
            self.kept.push(RowError {
                row,
                field: field.into(),
                message: message.into(),
            });
        }
    }

    fn is_empty(&self) -> bool {
        self.found == 0
    }

    fn into_sorted(mut self) -> Vec<RowError> {
        self.kept.sort_by_key(|e| e.row);
        self.kept
    }
}

/// Reports how far an import has read: the line number reached.
pub type Progress<'a> = &'a (dyn Fn(u64) + Sync);

/// Why an import's transaction ends without committing.
enum Abandon {
    /// The file was checked; it has errors, or this is a dry run.
    Checked(Outcome),
    Failed(ApiError),
}

impl From<diesel::result::Error> for Abandon {
    fn from(error: diesel::result::Error) -> Self {
        Abandon::Failed(error.into())
    }
}

impl From<ApiError> for Abandon {
    fn from(error: ApiError) -> Self {
        Abandon::Failed(error)
    }
}

/// Imports a file in one transaction: every row is checked, and all are stored, or none (any error, or
/// `dry_run`). Only an error that is not about the file (403, the database gone) is an `Err`.
pub async fn run<R: Read + Send>(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    kind: Kind,
    rows: Rows<R>,
    dry_run: bool,
    progress: Progress<'_>,
) -> Result<Outcome, ApiError> {
    actor.require_writer()?;
    let id = Uuid::now_v7();
    let result = conn
        .transaction(async move |conn| {
            store::begin(conn, id, kind.resource(), actor).await?;
            let (rows, imported, errors) = match kind {
                Kind::Members => members::load(conn, actor, rows, progress).await?,
                Kind::Organisations => organisations::load(conn, actor, rows, progress).await?,
            };
            let checked = |imported| Outcome {
                rows,
                imported,
                errors: Vec::new(),
                import_id: None,
            };
            if !errors.is_empty() {
                return Err(Abandon::Checked(Outcome {
                    errors: errors.into_sorted(),
                    ..checked(0)
                }));
            }
            if dry_run {
                return Err(Abandon::Checked(checked(0)));
            }
            store::finish(conn, id, rows, imported).await?;
            Ok(Outcome {
                import_id: Some(id),
                ..checked(imported)
            })
        })
        .await;
    match result {
        Ok(outcome) | Err(Abandon::Checked(outcome)) => Ok(outcome),
        Err(Abandon::Failed(error)) => Err(error),
    }
}
