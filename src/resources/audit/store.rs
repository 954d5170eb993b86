//! The `audit_events` table as read back: the recorded changes, newest first.

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::audit::Action;
use crate::schema::audit_events;

/// A recorded change.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = audit_events, check_for_backend(Pg))]
pub struct AuditEventRow {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: Action,
    pub resource_type: String,
    pub resource_id: String,
    pub changes: serde_json::Value,
    pub request_id: String,
    pub reorganisation_id: Option<Uuid>,
    pub import_id: Option<Uuid>,
}

/// The filters of the audit trail; each given one must hold.
#[derive(Debug, Default)]
pub struct AuditFilter {
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    pub actor: Option<String>,
    /// At or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Before this instant.
    pub to: Option<DateTime<Utc>>,
    pub reorganisation_id: Option<Uuid>,
    pub import_id: Option<Uuid>,
}

fn filtered(filter: &AuditFilter) -> audit_events::BoxedQuery<'static, Pg> {
    let mut query = audit_events::table.into_boxed();
    if let Some(t) = &filter.resource_type {
        query = query.filter(audit_events::resource_type.eq(t.clone()));
    }
    if let Some(id) = &filter.resource_id {
        query = query.filter(audit_events::resource_id.eq(id.clone()));
    }
    if let Some(actor) = &filter.actor {
        query = query.filter(audit_events::actor.eq(actor.clone()));
    }
    if let Some(from) = filter.from {
        query = query.filter(audit_events::at.ge(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(audit_events::at.lt(to));
    }
    if let Some(reorganisation) = filter.reorganisation_id {
        query = query.filter(audit_events::reorganisation_id.eq(reorganisation));
    }
    if let Some(import) = filter.import_id {
        query = query.filter(audit_events::import_id.eq(import));
    }
    query
}

/// One page of events before `before` (older than it), newest first.
pub async fn list(
    conn: &mut AsyncPgConnection,
    filter: &AuditFilter,
    before: Option<Uuid>,
    fetch: i64,
) -> QueryResult<Vec<AuditEventRow>> {
    let mut query = filtered(filter).select(AuditEventRow::as_select());
    if let Some(before) = before {
        query = query.filter(audit_events::id.lt(before));
    }
    query.order(audit_events::id.desc()).limit(fetch).load(conn).await
}

/// How many events match the filter.
pub async fn count(conn: &mut AsyncPgConnection, filter: &AuditFilter) -> QueryResult<i64> {
    filtered(filter).count().get_result(conn).await
}
