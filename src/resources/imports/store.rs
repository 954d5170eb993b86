//! The `imports` table: one row per import that stored something, which its audit records name.

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Text, Uuid as SqlUuid};
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

/// Starts the record of the card numbers and national ids a members file gives, for the rest of the transaction.
pub async fn track_numbers(conn: &mut AsyncPgConnection) -> QueryResult<()> {
    diesel::sql_query(
        "CREATE TEMPORARY TABLE import_numbers (kind text NOT NULL, number text NOT NULL, line bigint NOT NULL, \
         PRIMARY KEY (kind, number)) ON COMMIT DROP",
    )
    .execute(conn)
    .await
    .map(|_| ())
}

#[derive(QueryableByName)]
struct Given {
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Text)]
    number: String,
    #[diesel(sql_type = BigInt)]
    line: i64,
}

/// Records the numbers of a batch (kind, number, line) and returns those that earlier batches gave already, with
/// the line that gave each first.
pub async fn given_before(
    conn: &mut AsyncPgConnection,
    numbers: &[(&str, String, u64)],
) -> QueryResult<Vec<(String, String, i64)>> {
    if numbers.is_empty() {
        return Ok(Vec::new());
    }
    let kinds: Vec<&str> = numbers.iter().map(|n| n.0).collect();
    let values: Vec<&str> = numbers.iter().map(|n| n.1.as_str()).collect();
    let lines: Vec<i64> = numbers.iter().map(|n| i64::try_from(n.2).unwrap_or(i64::MAX)).collect();
    // Every part of the statement sees the table as it was before it: `earlier` does not see this batch.
    let given: Vec<Given> = diesel::sql_query(
        "WITH batch AS (SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[]) AS b (kind, number, line)), \
         earlier AS (SELECT n.kind, n.number, n.line FROM import_numbers n JOIN batch b USING (kind, number)), \
         added AS (INSERT INTO import_numbers (kind, number, line) \
             SELECT DISTINCT ON (kind, number) kind, number, line FROM batch ORDER BY kind, number, line \
             ON CONFLICT DO NOTHING) \
         SELECT DISTINCT kind, number, line FROM earlier",
    )
    .bind::<Array<Text>, _>(kinds)
    .bind::<Array<Text>, _>(values)
    .bind::<Array<BigInt>, _>(lines)
    .load(conn)
    .await?;
    Ok(given.into_iter().map(|g| (g.kind, g.number, g.line)).collect())
}
