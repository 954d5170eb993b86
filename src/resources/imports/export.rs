//! Lists as CSV files: every member or organisation a list's filters select, in the columns the imports read, so
//! that an export imports back unchanged. The body is streamed: rows are read in keyset batches of [`BATCH`] and
//! each batch is sent as it is rendered, so an export of any size holds one batch in memory.

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::HttpResponse;
use bytes::Bytes;
use futures_util::stream;

use super::{members, organisations};
use crate::auth::Actor;
use crate::csv;
use crate::db::DbConn;
use crate::domain::ids::OrganisationId;
use crate::error::ApiError;
use crate::resources::members::service::{self as member_service, ListRequest, Total};
use crate::resources::members::store::{MemberCursor, MemberRow};
use crate::resources::organisations::service::{self as organisation_service, Criteria};
use crate::resources::organisations::store::{self as organisation_store, OrganisationRow};
use crate::store::TreePath;

/// Rows read and sent at a time.
const BATCH: i64 = 1000;

/// The member columns only admins and editors see.
const SENSITIVE: &[&str] = &["national_id", "ethnicity", "religion"];

/// A streamed CSV download named `filename`.
fn download<S>(filename: &str, body: S) -> HttpResponse
where
    S: futures_util::Stream<Item = Result<Bytes, ApiError>> + 'static,
{
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/csv; charset=utf-8"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ))
        .streaming(body)
}

/// An export that renders its rows a batch at a time.
trait Batches: Sized + 'static {
    /// Whether the last batch has been rendered (or failed).
    fn finished(&self) -> bool;
    fn finish(&mut self);
    /// The next batch as CSV lines.
    async fn next_batch(&mut self) -> Result<Bytes, ApiError>;
}

/// The body of an export: `first` (the header), then each batch as it is rendered, until one comes back short;
/// a batch that fails ends the body with its error.
fn batches<E: Batches>(first: Bytes, export: E) -> impl futures_util::Stream<Item = Result<Bytes, ApiError>> {
    let rest = stream::unfold(export, |mut export| async move {
        if export.finished() {
            return None;
        }
        let chunk = export.next_batch().await;
        if chunk.is_err() {
            export.finish();
        }
        Some((chunk, export))
    });
    futures_util::StreamExt::chain(stream::once(async { Ok(first) }), rest)
}

/// The byte order mark and the header line.
fn head(columns: &[&str]) -> String {
    format!("{}{}", csv::BOM, csv::line(columns))
}

fn date(day: Option<chrono::NaiveDate>) -> String {
    day.map(|d| d.to_string()).unwrap_or_default()
}

fn text(value: &Option<String>) -> String {
    value.clone().unwrap_or_default()
}

/// The codes of the organisations a batch names that the actor sees, added to `codes`.
async fn learn_codes(
    conn: &mut DbConn,
    actor: &Actor,
    codes: &mut HashMap<OrganisationId, String>,
    ids: impl Iterator<Item = OrganisationId>,
) -> Result<(), ApiError> {
    let mut missing: Vec<OrganisationId> = ids.filter(|id| !codes.contains_key(id)).collect();
    missing.sort();
    missing.dedup();
    if !missing.is_empty() {
        codes.extend(organisation_store::codes_of(conn, &missing, actor.scope()).await?);
    }
    Ok(())
}

/// Where a member export stands.
struct MemberExport {
    conn: DbConn,
    actor: Actor,
    request: ListRequest,
    codes: HashMap<OrganisationId, String>,
    columns: Vec<&'static str>,
    finished: bool,
}

/// Every member the list request selects, as CSV; the sensitive columns only for those who may see them.
pub fn members_csv(conn: DbConn, actor: Actor, mut request: ListRequest) -> HttpResponse {
    request.fetch = BATCH;
    request.total = Total::Skip;
    let sensitive = actor.sees_sensitive_fields();
    let columns: Vec<&'static str> = members::COLUMNS
        .iter()
        .copied()
        .filter(|c| sensitive || !SENSITIVE.contains(c))
        .collect();
    let first = Bytes::from(head(&columns));
    let export = MemberExport {
        conn,
        actor,
        request,
        codes: HashMap::new(),
        columns,
        finished: false,
    };
    download("members.csv", batches(first, export))
}

impl Batches for MemberExport {
    fn finished(&self) -> bool {
        self.finished
    }

    fn finish(&mut self) {
        self.finished = true;
    }

    async fn next_batch(&mut self) -> Result<Bytes, ApiError> {
        let list = member_service::list(&mut self.conn, &self.actor, &self.request).await?;
        let rows = list.rows;
        self.finished = (rows.len() as i64) < BATCH;
        if let Some(last) = rows.last() {
            self.request.after = Some(MemberCursor::of(self.request.order, last));
        }
        learn_codes(
            &mut self.conn,
            &self.actor,
            &mut self.codes,
            rows.iter().map(|r| r.organisation_id),
        )
        .await?;
        let mut out = String::new();
        for row in &rows {
            let cells = self.cells(row);
            let shown: Vec<&str> = members::COLUMNS
                .iter()
                .zip(&cells)
                .filter(|(c, _)| self.columns.contains(c))
                .map(|(_, v)| v.as_str())
                .collect();
            out.push_str(&csv::line(&shown));
        }
        Ok(Bytes::from(out))
    }
}

impl MemberExport {
    /// A member's cells, in the order of [`members::COLUMNS`].
    fn cells(&self, row: &MemberRow) -> Vec<String> {
        let v = &row.values;
        vec![
            v.full_name.clone(),
            v.gender.map(|g| g.to_string()).unwrap_or_default(),
            v.birth_date.to_string(),
            self.codes.get(&row.organisation_id).cloned().unwrap_or_default(),
            v.admitted_on.to_string(),
            row.status.to_string(),
            date(row.official_on),
            v.card_number.as_ref().map(|n| n.to_string()).unwrap_or_default(),
            v.national_id.as_ref().map(|n| n.to_string()).unwrap_or_default(),
            text(&v.ethnicity),
            text(&v.religion),
            text(&v.hometown),
            text(&v.education_level),
            text(&v.qualification),
            v.political_theory.to_string(),
            text(&v.note),
        ]
    }
}

/// Where an organisation export stands.
struct OrganisationExport {
    conn: DbConn,
    actor: Actor,
    criteria: Criteria,
    after: Option<TreePath>,
    codes: HashMap<OrganisationId, String>,
    finished: bool,
}

/// Every organisation of today's tree the criteria select, parents before their children, as CSV. The parent
/// of the token's own organisation lies outside its subtree: its `parent_code` is left empty.
pub fn organisations_csv(conn: DbConn, actor: Actor, criteria: Criteria) -> HttpResponse {
    let first = Bytes::from(head(organisations::COLUMNS));
    let export = OrganisationExport {
        conn,
        actor,
        criteria,
        after: None,
        codes: HashMap::new(),
        finished: false,
    };
    download("organisations.csv", batches(first, export))
}

impl Batches for OrganisationExport {
    fn finished(&self) -> bool {
        self.finished
    }

    fn finish(&mut self) {
        self.finished = true;
    }

    async fn next_batch(&mut self) -> Result<Bytes, ApiError> {
        let rows = organisation_service::list_in_tree_order(
            &mut self.conn,
            &self.actor,
            &self.criteria,
            self.after.clone(),
            BATCH,
        )
        .await?;
        self.finished = (rows.len() as i64) < BATCH;
        self.after = rows.last().map(|r| r.path.clone());
        let parents = rows.iter().filter_map(|r| r.parent_id);
        learn_codes(&mut self.conn, &self.actor, &mut self.codes, parents).await?;
        let out: String = rows.iter().map(|row| csv::line(&self.cells(row))).collect();
        Ok(Bytes::from(out))
    }
}

impl OrganisationExport {
    /// An organisation's cells, in the order of [`organisations::COLUMNS`].
    fn cells(&self, row: &OrganisationRow) -> Vec<String> {
        vec![
            row.code.clone(),
            row.name.clone(),
            row.kind.to_string(),
            row.sector.map(|s| s.to_string()).unwrap_or_default(),
            row.parent_id
                .and_then(|p| self.codes.get(&p).cloned())
                .unwrap_or_default(),
            date(row.established_on),
            date(row.dissolved_on),
            text(&row.address),
            text(&row.note),
        ]
    }
}
