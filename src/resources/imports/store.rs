//! The `imports` table: one row per import that stored something, which its audit records name.

use diesel::prelude::*;
use diesel::sql_types::Uuid as SqlUuid;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::auth::Actor;
use crate::schema::imports;

/// Records the import at the start of its transaction, and has every audit record the transaction writes name it.
pub async fn begin(conn: &mut AsyncPgConnection, id: Uuid, resource_type: &str, actor: &Actor) -> QueryResult<()> {
    diesel::insert_into(imports::table)
        .values((
            imports::id.eq(id),
            imports::resource_type.eq(resource_type),
            imports::actor.eq(&actor.identity.name),
            imports::request_id.eq(&actor.request_id),
        ))
        .execute(conn)
        .await?;
    diesel::sql_query("SELECT set_config('partybase.import_id', $1::text, true)")
        .bind::<SqlUuid, _>(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Records what the import brought in.
pub async fn finish(conn: &mut AsyncPgConnection, id: Uuid, rows: u64, imported: u64) -> QueryResult<()> {
    let count = |n: u64| i32::try_from(n).unwrap_or(i32::MAX);
    diesel::update(imports::table.find(id))
        .set((imports::rows.eq(count(rows)), imports::imported.eq(count(imported))))
        .execute(conn)
        .await
        .map(|_| ())
}
