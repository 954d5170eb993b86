//! `/api/v1/tokens`: API tokens, for admins.

use actix_web::http::header;
use actix_web::{delete, get, post, web, HttpResponse};
use diesel_async::AsyncConnection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::{Actor, Role};
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::openapi::responses::*;
use crate::pagination::{ListQuery, NoFilters, Page, PageParams};
use crate::resources::tokens::service::{self as tokens, Token};
use crate::resources::tokens::store::{self as model, TokenKey};
use crate::state::AppState;

/// A token to issue.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "thanh-son-sync", "role": "editor",
    "organisation_id": "0193a5c8-7f3e-7a10-9c4e-3b1f2a6d8e00"}))]
pub struct CreateToken {
    /// Unique: 1 to 64 letters, digits or `- _ . : @`.
    #[schema(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9_.:@-]{1,64}$")]
    pub name: String,
    pub role: Role,
    /// Required for `editor`, optional for `viewer`, not allowed for `admin`.
    #[serde(default)]
    pub organisation_id: Option<Uuid>,
}

/// A newly issued token with its secret, which is never shown again.
#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedToken {
    #[serde(flatten)]
    pub token: Token,
    /// Send it as `Authorization: Bearer <secret>`. Only its hash is stored.
    #[schema(example = "pb_3q2-7w9yXc0h1J8R2bq5m6nZ4tKf0aLkV3s9eP1uQ7o", max_length = 200)]
    pub secret: String,
}

/// List tokens
///
/// Lists the API tokens, revoked ones included, never their secrets. Admin only.
#[utoipa::path(
    tag = "tokens",
    params(PageParams),
    responses(
        (status = 200, description = "A page of tokens", body = Page<Token>),
        ListErrors,
        (status = 403, response = Forbidden),
    )
)]
#[get("")]
pub async fn list_tokens(
    state: web::Data<AppState>,
    actor: Actor,
    query: ListQuery<NoFilters>,
) -> Result<HttpResponse, ApiError> {
    actor.require_admin()?;
    let page = query.page;
    let after = page.after::<Uuid>()?;
    let mut conn = state.read().await?;
    let rows = model::list(&mut conn, after, page.fetch()).await?;
    let total = if page.count_exact {
        Some(model::count(&mut conn).await?)
    } else {
        None
    };
    Ok(page.finish(rows, |r| r.id, Token::from, total).respond())
}

/// Issue a token
///
/// Issues a token. The response carries its secret, the only time it is shown; only its hash is stored. Admin only.
/// The name is unique (409).
#[utoipa::path(
    tag = "tokens",
    request_body(content = CreateToken, content_type = "application/json"),
    responses(
        (status = 201, description = "Issued", body = IssuedToken,
            headers(("Location" = String, description = "URL of the token"))),
        CreateErrors,
    )
)]
#[post("")]
pub async fn create_token(
    state: web::Data<AppState>,
    actor: Actor,
    body: ApiJson<CreateToken>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0;
    let mut conn = state.write().await?;
    let (token, secret) = conn
        .transaction(async move |conn| tokens::issue(conn, &actor, &body.name, body.role, body.organisation_id).await)
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/tokens/{}", token.id)))
        .json(IssuedToken { token, secret }))
}

/// Read a token
///
/// Reads one token, never its secret. Admin only.
#[utoipa::path(
    tag = "tokens",
    params(("id" = Uuid, Path, description = "Token id")),
    responses(
        (status = 200, description = "The token", body = Token),
        ReadErrors,
        (status = 403, response = Forbidden),
    )
)]
#[get("/{id}")]
pub async fn find_token(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    actor.require_admin()?;
    let mut conn = state.read().await?;
    let token = model::find(&mut conn, *id)
        .await?
        .ok_or_else(|| ApiError::not_found(tokens::RESOURCE))?;
    Ok(HttpResponse::Ok().json(Token::from(token)))
}

/// Revoke a token
///
/// Revokes a token: it is refused from then on (at once on this instance, within seconds on the others). The record
/// stays, marked revoked, for the audit trail. Admin only.
#[utoipa::path(
    tag = "tokens",
    params(("id" = Uuid, Path, description = "Token id")),
    responses(
        (status = 204, description = "Revoked"),
        ReadErrors,
        (status = 403, response = Forbidden),
    )
)]
#[delete("/{id}")]
pub async fn revoke_token(
    state: web::Data<AppState>,
    actor: Actor,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = *id;
    let mut conn = state.write().await?;
    let revoked = conn
        .transaction(async move |conn| tokens::revoke(conn, &actor, TokenKey::Id(id)).await)
        .await?;
    state.gate.forget(&revoked.name);
    Ok(HttpResponse::NoContent().finish())
}

/// Registers the token routes.
pub fn routes(config: &mut utoipa_actix_web::service_config::ServiceConfig) {
    config
        .service(list_tokens)
        .service(create_token)
        .service(find_token)
        .service(revoke_token);
}
