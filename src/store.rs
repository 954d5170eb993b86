//! What every store shares: tree paths, LIKE escaping and the plan of a query.

use diesel::dsl::sql;
use diesel::expression::BoxableExpression;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Bool, Text, Uuid as SqlUuid};
use diesel::QueryResult;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::schema::sql_types::Ltree;

mod fixed_sql;
mod tree_path;

#[cfg(test)]
pub use fixed_sql::may_be_kept_prepared;
pub use fixed_sql::{fixed_sql, FixedSql};
pub use tree_path::TreePath;

/// A query with `EXPLAIN` before it.
#[derive(diesel::query_builder::QueryId)]
struct Explain<Q>(Q);

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for Explain<Q> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("EXPLAIN ");
        self.0.walk_ast(out.reborrow())
    }
}

impl<Q> Query for Explain<Q> {
    type SqlType = Text;
}

/// The plan PostgreSQL chooses for one of the application's own queries, one line of the plan per line: what the
/// index tests assert on.
pub async fn explain<Q>(conn: &mut AsyncPgConnection, query: Q) -> QueryResult<String>
where
    Q: QueryFragment<Pg> + QueryId + Send + 'static,
{
    let lines: Vec<String> = Explain(query).load(conn).await?;
    Ok(lines.join("\n"))
}

/// A filter of a boxed query on table `T`: the organisation in `column` (`"dues.organisation_id"`) lies in the
/// subtree with root path `root`. The path is bound as a value, so the planner sizes the subtree from it (in
/// `sql()`, planned for each value: see [`fixed_sql`]).
pub fn organisation_under<T>(column: &str, root: &TreePath) -> Box<dyn BoxableExpression<T, Pg, SqlType = Bool>> {
    Box::new(
        sql::<Bool>(&format!(
            "{column} IN (SELECT o.id FROM organisations o WHERE o.path <@ "
        ))
        .bind::<Ltree, _>(root.clone())
        .sql(")"),
    )
}

/// A filter of a boxed query on table `T`: the organisation in `column` lies in the subtree of the organisation
/// `scope` (`None`: anywhere).
pub fn organisation_in_scope<T>(
    column: &'static str,
    scope: Option<Uuid>,
) -> Box<dyn BoxableExpression<T, Pg, SqlType = Bool>> {
    match scope {
        Some(root) => Box::new(
            fixed_sql::<Bool>(column)
                .sql(
                    " IN (SELECT o.id FROM organisations o WHERE o.path <@ \
                     (SELECT r.path FROM organisations r WHERE r.id = ",
                )
                .bind::<SqlUuid, _>(root)
                .sql("))"),
        ),
        None => Box::new(fixed_sql::<Bool>("TRUE")),
    }
}

/// The most organisations a subtree may have for a page of it in the order of a registry-wide index (members by
/// name, cells by code) to be read by sorting the subtree's rows.
///
/// PostgreSQL reads such a page either by walking the whole registry's index and keeping the subtree's rows, or by
/// reading the subtree's rows and sorting them. It chooses by its estimate of the subtree, which for a district of
/// the national registry (0.2 % of the organisations, under a histogram of 100 paths) is either about nothing or
/// five times too large, depending on ANALYZE's sample; and it expects the subtree's rows to be spread evenly along
/// the index, which they are not. A district's members walked by name read 46,765 index entries for 50 (190 ms);
/// sorted, 24 ms. A district's cells walked by code read 73,307 organisations for 51 (225 ms); sorted, a few ms. A
/// subtree up to this size (a district: 400-700 organisations) is therefore always read and sorted; a larger one
/// (a province: 5,300) is left to the planner.
pub const SORTED_SUBTREE_ORGANISATIONS: i64 = 2_000;

/// Whether the subtree at `root` has at most [`SORTED_SUBTREE_ORGANISATIONS`] organisations (counted up to one
/// more: 1-6 ms).
pub async fn is_sorted_subtree(conn: &mut AsyncPgConnection, root: &TreePath) -> QueryResult<bool> {
    let counted: i64 = diesel::select(
        sql::<BigInt>("(SELECT count(*) FROM (SELECT 1 FROM organisations WHERE path <@ ")
            .bind::<Ltree, _>(root.clone())
            .sql(" LIMIT ")
            .bind::<BigInt, _>(SORTED_SUBTREE_ORGANISATIONS + 1)
            .sql(") subtree)"),
    )
    .get_result(conn)
    .await?;
    Ok(counted <= SORTED_SUBTREE_ORGANISATIONS)
}

/// Escapes `%`, `_` and `\` so that user text matches literally inside a LIKE pattern.
pub fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

#[cfg(test)]
mod tests {
    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(super::escape_like(r"50%_a\b"), r"50\%\_a\\b");
    }
}
