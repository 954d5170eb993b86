//! The rules of webhook subscriptions: admins only, a target the delivery rule permits, a secret shown once.

use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use crate::audit::{self, Action};
use crate::auth::Actor;
use crate::domain::ids::OrganisationId;
use crate::error::{ApiError, FieldError};
use crate::resources::changes::http::ResourceType;
use crate::resources::organisations::store as organisations;
use crate::resources::webhooks::deliver::new_secret;
use crate::resources::webhooks::store::{self, DeliveryRow, NewWebhook, WebhookAudit, WebhookRow, WebhookValues};
use crate::resources::webhooks::target::{self, Allowed};
use crate::write::{self, etag, IfMatch, Patchable, Removable};

pub const RESOURCE: &str = "webhook";
/// The longest description.
pub const MAX_DESCRIPTION: usize = 500;

/// A subscription to make.
pub struct Subscription {
    pub url: String,
    pub resource_types: Vec<ResourceType>,
    pub organisation_id: Option<Uuid>,
    pub description: Option<String>,
}

/// The resource types as stored: each once, in the order of [`ResourceType::ALL`].
fn types(mut list: Vec<ResourceType>) -> Vec<String> {
    list.sort();
    list.dedup();
    list.into_iter().map(|t| t.as_str().to_owned()).collect()
}

async fn check_url(errors: &mut Vec<FieldError>, url: &str, allowed: &Allowed) {
    if url.chars().count() > 2000 {
        errors.push(FieldError::new("url", "is longer than 2000 characters"));
    } else if let Err(why) = target::check(url, allowed).await {
        errors.push(FieldError::new("url", why));
    }
}

fn refuse(errors: Vec<FieldError>) -> Result<(), ApiError> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(errors))
    }
}

/// Makes a subscription; returns it with its secret, which is never shown again.
pub async fn create(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    allowed: &Allowed,
    new: Subscription,
) -> Result<WebhookRow, ApiError> {
    actor.require_admin()?;
    let mut errors = Vec::new();
    check_url(&mut errors, &new.url, allowed).await;
    if new
        .description
        .as_ref()
        .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION)
    {
        errors.push(FieldError::new(
            "description",
            format!("is longer than {MAX_DESCRIPTION} characters"),
        ));
    }
    if let Some(id) = new.organisation_id {
        if organisations::find_visible(conn, OrganisationId(id), None)
            .await?
            .is_none()
        {
            errors.push(FieldError::new("organisation_id", "no organisation with this id"));
        }
    }
    refuse(errors)?;
    let secret = new_secret()?;
    let row = store::insert(
        conn,
        &NewWebhook {
            id: Uuid::now_v7(),
            url: &new.url,
            resource_types: &types(new.resource_types),
            organisation_id: new.organisation_id,
            description: new.description.as_deref(),
            secret: &secret,
        },
    )
    .await?;
    audit::record(conn, actor, Action::Create, RESOURCE, row.id, None, Some(&row.audit())).await?;
    Ok(row)
}

/// One subscription (admins only; 404 when there is none).
pub async fn find(conn: &mut AsyncPgConnection, actor: &Actor, id: Uuid) -> Result<WebhookRow, ApiError> {
    actor.require_admin()?;
    store::find(conn, id, false)
        .await?
        .ok_or_else(|| ApiError::not_found(RESOURCE))
}

/// A merge patch of a subscription: `url`, `resource_types`, `active`; none may be null.
#[derive(Debug, Default)]
pub struct WebhookPatch {
    pub url: Option<Option<String>>,
    pub resource_types: Option<Option<Vec<ResourceType>>>,
    pub active: Option<Option<bool>>,
}

/// How a subscription takes the one write path. The target rule needs the operator's list, which the check step
/// cannot take as an argument: the URL is checked before the write path runs (see [`update`]).
struct Webhooks;

impl Patchable for Webhooks {
    type Row = WebhookRow;
    type Values = WebhookValues;
    type Patch = WebhookPatch;
    type View = WebhookAudit;
    type Id = Uuid;
    const RESOURCE: &'static str = RESOURCE;

    async fn lock(conn: &mut AsyncPgConnection, actor: &Actor, id: Uuid) -> Result<WebhookRow, ApiError> {
        actor.require_admin()?;
        store::find(conn, id, true)
            .await?
            .ok_or_else(|| ApiError::not_found(RESOURCE))
    }

    async fn etag(_: &mut AsyncPgConnection, row: &WebhookRow) -> Result<String, ApiError> {
        Ok(etag(row.version))
    }

    fn values(row: &WebhookRow) -> WebhookValues {
        WebhookValues {
            url: row.url.clone(),
            resource_types: row.resource_types.clone(),
            active: row.active,
        }
    }

    fn merge(current: &WebhookValues, patch: WebhookPatch) -> Result<WebhookValues, Vec<FieldError>> {
        let mut errors = Vec::new();
        let merged = WebhookValues {
            url: write::required(&mut errors, "url", patch.url, &current.url),
            resource_types: match patch.resource_types {
                None => current.resource_types.clone(),
                Some(Some(list)) => types(list),
                Some(None) => {
                    errors.push(FieldError::new(
                        "resource_types",
                        "may not be null; [] means every type",
                    ));
                    current.resource_types.clone()
                }
            },
            active: write::required(&mut errors, "active", patch.active, &current.active),
        };
        if errors.is_empty() {
            Ok(merged)
        } else {
            Err(errors)
        }
    }

    async fn check(_: &mut AsyncPgConnection, _: &Actor, _: &WebhookRow, _: &WebhookValues) -> Result<(), ApiError> {
        Ok(())
    }

    async fn store(
        conn: &mut AsyncPgConnection,
        row: &WebhookRow,
        values: WebhookValues,
    ) -> Result<WebhookRow, ApiError> {
        store::update(conn, row.id, &values).await
    }

    fn view(row: &WebhookRow) -> WebhookAudit {
        row.audit()
    }
}

impl Removable for Webhooks {
    async fn remove(conn: &mut AsyncPgConnection, row: &WebhookRow) -> Result<(), ApiError> {
        store::delete(conn, row.id).await
    }
}

/// Changes a subscription by a merge patch.
pub async fn update(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    allowed: &Allowed,
    id: Uuid,
    if_match: &IfMatch,
    patch: WebhookPatch,
) -> Result<WebhookRow, ApiError> {
    actor.require_admin()?;
    if let Some(Some(url)) = &patch.url {
        let mut errors = Vec::new();
        check_url(&mut errors, url, allowed).await;
        refuse(errors)?;
    }
    write::update::<Webhooks>(conn, actor, id, if_match, patch).await
}

/// Deletes a subscription and its delivery log.
pub async fn delete(conn: &mut AsyncPgConnection, actor: &Actor, id: Uuid, if_match: &IfMatch) -> Result<(), ApiError> {
    write::delete::<Webhooks>(conn, actor, id, if_match).await
}

/// A page of a subscription's deliveries, newest first.
pub async fn deliveries(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    before: Option<Uuid>,
    limit: i64,
) -> Result<Vec<DeliveryRow>, ApiError> {
    find(conn, actor, id).await?;
    store::deliveries(conn, id, before, limit).await
}

/// Makes a delivery due now, whatever became of it; recorded in the audit trail.
pub async fn retry(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    delivery_id: Uuid,
) -> Result<DeliveryRow, ApiError> {
    find(conn, actor, id).await?;
    let delivery = store::retry(conn, id, delivery_id)
        .await?
        .ok_or_else(|| ApiError::NotFound("no delivery with this id for this webhook".into()))?;
    let note = serde_json::json!({"delivery_id": delivery_id, "retried": true});
    audit::record(conn, actor, Action::Update, RESOURCE, id, None, Some(&note)).await?;
    Ok(delivery)
}
