//! `GET /api/v1/changes`: the change feed, with long polling.

use std::time::{Duration, Instant};

use actix_web::{get, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::Actor;
use crate::domain::text_enum;
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::openapi::responses::*;
use crate::pagination::{comma_list, DEFAULT_LIMIT, MAX_LIMIT};
use crate::resources::changes::store::{self, EntryRow, FeedRequest};
use crate::state::AppState;

/// The longest `wait`, in seconds.
pub const MAX_WAIT: u64 = 30;

text_enum! {
    /// The kind of resource a change is about.
    #[schema(example = "member")]
    ResourceType {
        Organisation => "organisation",
        Member => "member",
        Resolution => "resolution",
        /// A base organisation's implementation of a resolution.
        Implementation => "implementation",
        Evaluation => "evaluation",
        MemberEvaluation => "member_evaluation",
        Reorganisation => "reorganisation",
        /// An admission candidate (a step changes its version).
        Candidate => "candidate",
        /// A party dues payment.
        Due => "due",
        /// A cell meeting with its attendance.
        Meeting => "meeting",
    }
}

text_enum! {
    /// What happened to the resource.
    #[schema(example = "updated")]
    ChangeAction {
        Created => "created",
        Updated => "updated",
        Deleted => "deleted",
        /// A member's lifecycle event (official, transfer, removal, ...).
        Event => "event",
        /// Changed by a reorganisation (moved, renamed, ended, members transferred).
        Reorganised => "reorganised",
    }
}

/// One committed change: which resource, what happened, its version afterwards. No field values: read the
/// resource for them, with your own token's visibility.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"cursor": "1042", "at": "2026-12-05T08:15:02.118Z", "resource_type": "member",
    "resource_id": "0193a5c8-7f3e-7a10-9c4e-3b1f2a6d8e01", "action": "created", "version": 1,
    "organisation_id": "0193a5c8-7f3e-7a10-9c4e-3b1f2a6d8e00"}))]
pub struct Change {
    /// The position of this change in the feed: `after=<cursor>` continues after it. Also the `webhook-id` of its
    /// deliveries.
    #[schema(max_length = 19, pattern = r"^[0-9]{1,19}$")]
    pub cursor: String,
    /// When the change was made (its transaction's time).
    pub at: DateTime<Utc>,
    pub resource_type: ResourceType,
    pub resource_id: Uuid,
    pub action: ChangeAction,
    /// The resource's version after the change (before it, for a deletion).
    #[schema(minimum = 1, maximum = 2147483647)]
    pub version: i32,
    /// The organisation the resource belongs to (the organisation itself for an organisation, the issuer for a
    /// resolution); null for a reorganisation.
    pub organisation_id: Option<Uuid>,
}

impl TryFrom<EntryRow> for Change {
    type Error = ApiError;
    fn try_from(row: EntryRow) -> Result<Self, ApiError> {
        let unknown = |what: &str, value: &str| ApiError::Internal(anyhow::anyhow!("feed entry with {what} {value:?}"));
        Ok(Change {
            cursor: row.position.to_string(),
            at: row.at,
            resource_type: row
                .resource_type
                .parse()
                .map_err(|_| unknown("type", &row.resource_type))?,
            resource_id: row.resource_id,
            action: row.action.parse().map_err(|_| unknown("action", &row.action))?,
            version: row.version,
            organisation_id: row.organisation_id,
        })
    }
}

/// A page of the feed.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangePage {
    /// The changes after `after`, oldest first; may be empty.
    #[schema(max_items = 200)]
    pub items: Vec<Change>,
    /// Pass as `after` to continue. Always present: an empty page still says where to wait from.
    #[schema(example = "1042", max_length = 19, pattern = r"^[0-9]{1,19}$")]
    pub next_cursor: String,
}

/// The feed's query.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ChangesQuery {
    /// The `next_cursor` (or an entry's `cursor`) to continue after; absent or empty: the oldest kept change.
    #[param(example = "1042", max_length = 19, pattern = r"^[0-9]{0,19}$")]
    after: Option<String>,
    /// Comma list of resource types, for example `organisation,member`.
    #[param(
        example = "organisation,member",
        max_length = 200,
        pattern = r"^(organisation|member|resolution|implementation|evaluation|member_evaluation|reorganisation|candidate|due|meeting)(,(organisation|member|resolution|implementation|evaluation|member_evaluation|reorganisation|candidate|due|meeting)){0,9}$"
    )]
    resource_type: Option<String>,
    /// Items per page, 1 to 200.
    #[param(minimum = 1, maximum = 200, default = 50)]
    limit: Option<i64>,
    /// Seconds to hold the request open when there is no change yet (long polling), 0 to 30.
    #[param(minimum = 0, maximum = 30, default = 0)]
    wait: Option<u64>,
}

impl ChangesQuery {
    fn request(&self, actor: &Actor) -> Result<FeedRequest, ApiError> {
        let after = match self.after.as_deref().filter(|a| !a.is_empty()) {
            None => None,
            Some(text) => Some(
                text.parse::<i64>()
                    .ok()
                    .filter(|p| *p >= 0 && text.len() <= 19 && text.bytes().all(|b| b.is_ascii_digit()))
                    .ok_or_else(|| ApiError::bad_request("after", "is not a cursor this feed handed out"))?,
            ),
        };
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::bad_request("limit", format!("must be 1 to {MAX_LIMIT}")));
        }
        let resource_types = self
            .resource_type
            .as_deref()
            .map(|list| comma_list::<ResourceType>("resource_type", list))
            .transpose()?
            .map(|types| types.into_iter().map(|t| t.as_str().to_owned()).collect());
        Ok(FeedRequest {
            after,
            resource_types,
            scope: actor.scope(),
            limit,
        })
    }
}

/// Follow the change feed
///
/// Every committed change, in commit order, each exactly once, for systems that keep a copy: start without
/// `after`, then keep passing `next_cursor`. A change appears only once its transaction has committed, and never
/// before one that committed earlier, so a consumer that follows `next_cursor` misses nothing even when concurrent
/// transactions commit in another order than they started. Two changes of one resource appear in their order
/// (`version` increases). With `wait`, an empty answer is held open until a change arrives or `wait` seconds pass.
/// A scoped token sees the changes to resources inside its subtree (a member or organisation moved out of it
/// included). Entries are kept for a configured time (90 days by default): an older cursor answers 410, and the
/// client must re-read the collections and follow the feed from a fresh cursor.
#[utoipa::path(
    tag = "changes",
    params(ChangesQuery),
    responses(
        (status = 200, description = "A page of the feed", body = ChangePage),
        ListErrors,
        (status = 410, response = Gone),
    )
)]
#[get("")]
pub async fn list_changes(
    state: web::Data<AppState>,
    actor: Actor,
    query: ApiQuery<ChangesQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.0;
    let request = query.request(&actor)?;
    let wait = query.wait.unwrap_or(0);
    if wait > MAX_WAIT {
        return Err(ApiError::bad_request("wait", format!("must be 0 to {MAX_WAIT}")));
    }
    let deadline = Instant::now() + Duration::from_secs(wait);
    // Subscribe before reading: a change that commits between the read and the wait still wakes this request.
    let mut signal = state.changes.subscribe();
    loop {
        store::number_all(&mut *state.pooled_write().await?).await?;
        let page = store::page(&mut *state.read().await?, &request).await?;
        let left = deadline.saturating_duration_since(Instant::now());
        if !page.entries.is_empty() || left.is_zero() {
            let items = page
                .entries
                .into_iter()
                .map(Change::try_from)
                .collect::<Result<_, _>>()?;
            return Ok(HttpResponse::Ok().json(ChangePage {
                items,
                next_cursor: page.next.to_string(),
            }));
        }
        // No connection is held while waiting. A change wakes the request; at the deadline the next read answers.
        if let Ok(Err(_)) = tokio::time::timeout(left, signal.changed()).await {
            // Nothing can signal any more (the service is stopping): wait out the time asked for.
            tokio::time::sleep(left).await;
        }
    }
}

/// Registers the feed's routes.
pub fn routes(config: &mut utoipa_actix_web::service_config::ServiceConfig) {
    config.service(list_changes);
}
