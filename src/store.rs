//! What every store shares: tree paths, LIKE escaping and the plan of a query.

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::Text;
use diesel::QueryResult;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

mod tree_path;

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
