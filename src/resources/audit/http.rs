//! `/api/v1/audit-events`: the audit trail, read-only, for admins.

use actix_web::{get, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::audit::Action;
use crate::auth::Actor;
use crate::error::ApiError;
use crate::openapi::responses::*;
use crate::pagination::{ListQuery, Page, PageParams};
use crate::resources::audit::store::{self, AuditEventRow, AuditFilter};
use crate::state::AppState;

/// One recorded change.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEvent {
    pub id: Uuid,
    /// When the change was committed.
    pub at: DateTime<Utc>,
    /// The name of the token that made the change (`cli` for the command line).
    #[schema(example = "thanh-son-sync", max_length = 64)]
    pub actor: String,
    pub action: Action,
    #[schema(example = "organisation", max_length = 64)]
    pub resource_type: String,
    #[schema(example = "0193a5c8-7f3e-7a10-9c4e-3b1f2a6d8e01", max_length = 200)]
    pub resource_id: String,
    /// The changed fields: `{"before": {...}, "after": {...}}`; `before` is null for a creation, `after` for a
    /// deletion.
    #[schema(value_type = Object, example = json!({"before": {"name": "Chi bộ Khu 1"}, "after": {"name": "Chi bộ Khu 1A"}}))]
    pub changes: serde_json::Value,
    /// The `X-Request-Id` of the request that made the change.
    #[schema(max_length = 64)]
    pub request_id: String,
    /// The reorganisation the change was part of; `null` for other changes.
    pub reorganisation_id: Option<Uuid>,
    /// The import the change was part of (`POST /api/v1/imports/...`, `partybase import`); `null` for other
    /// changes.
    pub import_id: Option<Uuid>,
}

impl From<AuditEventRow> for AuditEvent {
    fn from(row: AuditEventRow) -> Self {
        AuditEvent {
            id: row.id,
            at: row.at,
            actor: row.actor,
            action: row.action,
            resource_type: row.resource_type,
            resource_id: row.resource_id,
            changes: row.changes,
            request_id: row.request_id,
            reorganisation_id: row.reorganisation_id,
            import_id: row.import_id,
        }
    }
}

/// Filters of the audit trail.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// `organisation`, `token`, ...
    #[param(example = "organisation", max_length = 64, pattern = r"^[^\x00]*$")]
    resource_type: Option<String>,
    /// The id of the changed resource.
    #[param(max_length = 200, pattern = r"^[^\x00]*$")]
    resource_id: Option<String>,
    /// Token name.
    #[param(max_length = 64, pattern = r"^[^\x00]*$")]
    actor: Option<String>,
    /// Changes at or after this instant (RFC 3339).
    #[param(example = "2026-01-01T00:00:00Z")]
    from: Option<DateTime<Utc>>,
    /// Changes before this instant (RFC 3339).
    to: Option<DateTime<Utc>>,
    /// The changes one reorganisation made.
    reorganisation_id: Option<Uuid>,
    /// The changes one import made.
    import_id: Option<Uuid>,
}

impl AuditQuery {
    /// Refuses filter values longer than any stored one, as the document says.
    fn check(&self) -> Result<(), ApiError> {
        for (name, value, max) in [
            ("resource_type", &self.resource_type, 64),
            ("resource_id", &self.resource_id, 200),
            ("actor", &self.actor, 64),
        ] {
            if value.as_deref().is_some_and(|v| v.chars().count() > max) {
                return Err(ApiError::bad_request(name, format!("must be at most {max} characters")));
            }
        }
        Ok(())
    }
}

impl From<AuditQuery> for AuditFilter {
    fn from(query: AuditQuery) -> Self {
        AuditFilter {
            resource_type: query.resource_type,
            resource_id: query.resource_id,
            actor: query.actor,
            from: query.from,
            to: query.to,
            reorganisation_id: query.reorganisation_id,
            import_id: query.import_id,
        }
    }
}

/// List audit events
///
/// Lists the recorded changes, newest first: who changed which resource, when, and with which request id. Admin
/// only.
#[utoipa::path(
    tag = "audit",
    params(AuditQuery, PageParams),
    responses(
        (status = 200, description = "A page of audit events", body = Page<AuditEvent>),
        ListErrors,
        (status = 403, response = Forbidden),
    )
)]
#[get("")]
pub async fn list_audit_events(
    state: web::Data<AppState>,
    actor: Actor,
    query: ListQuery<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    actor.require_admin()?;
    let ListQuery { page, filters } = query;
    filters.check()?;
    let filter = AuditFilter::from(filters);
    let before = page.after::<Uuid>()?;
    let mut conn = state.read().await?;
    let rows = store::list(&mut conn, &filter, before, page.fetch()).await?;
    let total = match page.count_exact {
        true => Some(store::count(&mut conn, &filter).await?),
        false => None,
    };
    Ok(page.finish(rows, |e| e.id, AuditEvent::from, total).respond())
}

/// Registers the audit route.
pub fn routes(config: &mut utoipa_actix_web::service_config::ServiceConfig) {
    config.service(list_audit_events);
}
