//! What tells a database that holds the demo from one that does not: the `seed_loads` row the demo writes in the
//! transaction that loads it, and the codes it would take.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::schema::{organisations, seed_loads};

/// Whether the data set `name` was loaded.
pub(super) async fn is_loaded(conn: &mut AsyncPgConnection, name: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(seed_loads::table.find(name)))
        .get_result(conn)
        .await
}

/// Records that the data set `name` is loaded.
pub(super) async fn record(conn: &mut AsyncPgConnection, name: &str) -> QueryResult<()> {
    diesel::insert_into(seed_loads::table)
        .values(seed_loads::name.eq(name))
        .execute(conn)
        .await?;
    Ok(())
}

/// Up to `limit` organisation codes already taken that are `prefix` or start with `prefix-`, in code order.
pub(super) async fn taken_codes(conn: &mut AsyncPgConnection, prefix: &str, limit: i64) -> QueryResult<Vec<String>> {
    organisations::table
        .filter(
            organisations::code
                .eq(prefix)
                .or(organisations::code.like(format!("{prefix}-%"))),
        )
        .select(organisations::code)
        .order(organisations::code)
        .limit(limit)
        .load(conn)
        .await
}
