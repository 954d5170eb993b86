//! What the readiness probe reads: the migrations applied to the database.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::embedded_versions;

diesel::table! {
    __diesel_schema_migrations (version) {
        version -> VarChar,
    }
}

/// Whether the database can serve this build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    /// Every migration this build embeds is applied.
    Ready,
    /// Some migration this build embeds is not applied yet.
    MigrationsPending,
}

/// Compares the applied migrations with the embedded ones.
pub async fn readiness(conn: &mut AsyncPgConnection) -> QueryResult<Readiness> {
    let applied: Vec<String> = __diesel_schema_migrations::table
        .select(__diesel_schema_migrations::version)
        .load(conn)
        .await?;
    Ok(match embedded_versions().iter().all(|v| applied.contains(v)) {
        true => Readiness::Ready,
        false => Readiness::MigrationsPending,
    })
}
