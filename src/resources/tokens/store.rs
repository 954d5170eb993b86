//! The `api_tokens` table.

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::auth::{Identity, Role};
use crate::schema::api_tokens;

/// A stored token, without its hash.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_tokens, check_for_backend(Pg))]
pub struct TokenRow {
    pub id: Uuid,
    pub name: String,
    pub role: Role,
    pub organisation_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Insertable)]
#[diesel(table_name = api_tokens, treat_none_as_default_value = false)]
pub struct NewToken<'a> {
    pub id: Uuid,
    pub name: &'a str,
    pub role: Role,
    pub organisation_id: Option<Uuid>,
    pub secret_hash: &'a [u8],
}

/// The identity of an unrevoked token with this hash.
pub async fn find_active(conn: &mut AsyncPgConnection, hash: &[u8]) -> QueryResult<Option<Identity>> {
    api_tokens::table
        .filter(api_tokens::secret_hash.eq(hash))
        .filter(api_tokens::revoked_at.is_null())
        .select((api_tokens::name, api_tokens::role, api_tokens::organisation_id))
        .first::<(String, Role, Option<Uuid>)>(conn)
        .await
        .optional()
        .map(|found| {
            found.map(|(name, role, organisation_id)| Identity {
                name,
                role,
                organisation_id,
            })
        })
}

pub async fn insert(conn: &mut AsyncPgConnection, new: &NewToken<'_>) -> QueryResult<TokenRow> {
    diesel::insert_into(api_tokens::table)
        .values(new)
        .returning(TokenRow::as_returning())
        .get_result(conn)
        .await
}

/// A page of tokens in creation order, after `after`.
pub async fn list(conn: &mut AsyncPgConnection, after: Option<Uuid>, fetch: i64) -> QueryResult<Vec<TokenRow>> {
    let mut query = api_tokens::table.select(TokenRow::as_select()).into_boxed();
    if let Some(after) = after {
        query = query.filter(api_tokens::id.gt(after));
    }
    query.order(api_tokens::id).limit(fetch).load(conn).await
}

pub async fn count(conn: &mut AsyncPgConnection) -> QueryResult<i64> {
    api_tokens::table.count().get_result(conn).await
}

/// Reads a token by id.
pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<TokenRow>> {
    api_tokens::table
        .find(id)
        .select(TokenRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Reads a token by id or by name, locked for the rest of the transaction.
pub async fn find_for_update(conn: &mut AsyncPgConnection, key: TokenKey<'_>) -> QueryResult<Option<TokenRow>> {
    let query = api_tokens::table.select(TokenRow::as_select());
    match key {
        TokenKey::Id(id) => {
            query
                .filter(api_tokens::id.eq(id))
                .for_no_key_update()
                .first(conn)
                .await
        }
        TokenKey::Name(name) => {
            query
                .filter(api_tokens::name.eq(name))
                .for_no_key_update()
                .first(conn)
                .await
        }
    }
    .optional()
}

/// How a token is named: by the HTTP API (id) or on the command line (name).
#[derive(Debug, Clone, Copy)]
pub enum TokenKey<'a> {
    Id(Uuid),
    Name(&'a str),
}

/// Marks a token revoked now and returns it.
pub async fn revoke(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<TokenRow> {
    diesel::update(api_tokens::table.find(id))
        .set(api_tokens::revoked_at.eq(diesel::dsl::now))
        .returning(TokenRow::as_returning())
        .get_result(conn)
        .await
}
