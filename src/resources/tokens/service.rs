//! Issuing and revoking API tokens, shared by the HTTP routes and the command line.

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::audit::{self, Action};
use crate::auth::{generate_token, hash_token, Actor, Role};
use crate::domain::ids::OrganisationId;
use crate::error::{ApiError, FieldError};
use crate::resources::organisations::store as organisations;
use crate::resources::tokens::store::{self as model, NewToken, TokenKey, TokenRow};

pub const RESOURCE: &str = "token";

/// An API token as listed: never its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct Token {
    pub id: Uuid,
    /// Unique name; recorded as the actor of every change made with the token.
    #[schema(
        example = "thanh-son-sync",
        min_length = 1,
        max_length = 64,
        pattern = r"^[A-Za-z0-9_.:@-]{1,64}$"
    )]
    pub name: String,
    pub role: Role,
    /// The organisation whose subtree the token is confined to; `null` for everything.
    pub organisation_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    /// When it was revoked; a revoked token is refused.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<TokenRow> for Token {
    fn from(row: TokenRow) -> Self {
        Token {
            id: row.id,
            name: row.name,
            role: row.role,
            organisation_id: row.organisation_id,
            created_at: row.created_at,
            revoked_at: row.revoked_at,
        }
    }
}

/// Checks the name, role and organisation of a new token and stores it; returns it with its secret, which is
/// shown this once. Only an admin issues tokens.
pub async fn issue(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    name: &str,
    role: Role,
    organisation_id: Option<Uuid>,
) -> Result<(Token, String), ApiError> {
    actor.require_admin()?;
    let mut errors = Vec::new();
    let name_ok = (1..=64).contains(&name.chars().count())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.:@".contains(c));
    if !name_ok {
        errors.push(FieldError::new("name", "must be 1 to 64 letters, digits or - _ . : @"));
    }
    match (role, organisation_id) {
        (Role::Admin, Some(_)) => errors.push(FieldError::new(
            "organisation_id",
            "an admin token reaches everything and takes no organisation",
        )),
        (Role::Editor, None) => errors.push(FieldError::new(
            "organisation_id",
            "an editor token needs the organisation whose subtree it may change",
        )),
        _ => {}
    }
    if let Some(id) = organisation_id {
        if organisations::find_visible(conn, OrganisationId(id), None)
            .await?
            .is_none()
        {
            errors.push(FieldError::new("organisation_id", "no organisation with this id"));
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let secret = generate_token();
    let row = model::insert(
        conn,
        &NewToken {
            id: Uuid::now_v7(),
            name,
            role,
            organisation_id,
            secret_hash: &hash_token(&secret),
        },
    )
    .await?;
    let token = Token::from(row);
    audit::record(conn, actor, Action::Create, RESOURCE, token.id, None, Some(&token)).await?;
    Ok((token, secret))
}

/// Revokes a token; revoking a revoked token changes nothing. Only an admin revokes tokens.
pub async fn revoke(conn: &mut AsyncPgConnection, actor: &Actor, key: TokenKey<'_>) -> Result<Token, ApiError> {
    actor.require_admin()?;
    let row = model::find_for_update(conn, key)
        .await?
        .ok_or_else(|| ApiError::not_found(RESOURCE))?;
    if row.revoked_at.is_some() {
        return Ok(row.into());
    }
    let before = Token::from(row.clone());
    let after = Token::from(model::revoke(conn, row.id).await?);
    audit::record(
        conn,
        actor,
        Action::Revoke,
        RESOURCE,
        after.id,
        Some(&before),
        Some(&after),
    )
    .await?;
    Ok(after)
}
