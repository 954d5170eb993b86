//! SQL written out in the code, with values bound into it, in a form diesel keeps prepared.
//!
//! diesel's `sql()` takes text that may be built at run time, so diesel never keeps a statement that holds it
//! prepared: each use is parsed and planned again, in a round trip of its own. Every read with a scoped token
//! carries such a condition (its subtree, looked up by the scope's id), and so does every read of an organisation
//! (its successions): `GET /members/{id}` with a province's token answered 4,000 requests a second against 15,000
//! with an admin token. The text here is `&'static str`: a statement made of these pieces has one text per place
//! in the code, a bounded number, which is what diesel asks of a fragment before it keeps a statement by its text.
//!
//! A statement kept prepared may be given one generic plan, for any values, after its fifth run. The conditions
//! whose best plan depends on the value bound (a tree path bound as a value, so that a cell's subtree and the
//! country's get different plans; a search text) therefore stay `sql()`, planned for each value. The one exception,
//! a subtree's member counts below the top of the tree, says why where it is written.

use std::marker::PhantomData;

use diesel::expression::{is_aggregate, AppearsOnTable, AsExpression, Expression, SelectableExpression};
use diesel::expression::{TypedExpressionType, ValidGrouping};
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::SqlType;
use diesel::QueryResult;

/// Fixed SQL text of type `ST`, after `inner` (the pieces before it).
#[derive(Debug, Clone)]
pub struct FixedSql<ST, T = Start> {
    inner: T,
    sql: &'static str,
    _type: PhantomData<ST>,
}

/// Nothing: what the first piece follows.
#[derive(Debug, Clone, Copy)]
pub struct Start;

/// A value bound after `query` (as `$n`).
#[derive(Debug, Clone)]
pub struct Bound<Q, V> {
    query: Q,
    value: V,
}

/// The SQL text `sql`, of type `ST`.
pub fn fixed_sql<ST: TypedExpressionType>(sql: &'static str) -> FixedSql<ST> {
    FixedSql {
        inner: Start,
        sql,
        _type: PhantomData,
    }
}

impl<ST: TypedExpressionType, T> FixedSql<ST, T> {
    /// This text, then `value` bound as a parameter of type `BindST`.
    pub fn bind<BindST, U>(self, value: U) -> Bound<Self, U::Expression>
    where
        BindST: SqlType + TypedExpressionType,
        U: AsExpression<BindST>,
    {
        Bound {
            query: self,
            value: value.as_expression(),
        }
    }

    /// This text, then more text.
    pub fn sql(self, sql: &'static str) -> FixedSql<ST, Self> {
        FixedSql {
            inner: self,
            sql,
            _type: PhantomData,
        }
    }
}

impl<Q: Expression, V> Bound<Q, V> {
    /// The bound value, then more text.
    pub fn sql(self, sql: &'static str) -> FixedSql<Q::SqlType, Self> {
        FixedSql {
            inner: self,
            sql,
            _type: PhantomData,
        }
    }
}

impl QueryFragment<Pg> for Start {
    fn walk_ast<'b>(&'b self, _out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        Ok(())
    }
}

impl<ST, T: QueryFragment<Pg>> QueryFragment<Pg> for FixedSql<ST, T> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.inner.walk_ast(out.reborrow())?;
        out.push_sql(self.sql);
        Ok(())
    }
}

impl<Q: QueryFragment<Pg>, V: QueryFragment<Pg>> QueryFragment<Pg> for Bound<Q, V> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.query.walk_ast(out.reborrow())?;
        self.value.walk_ast(out.reborrow())
    }
}

// The text is not part of the type, so no piece has a query id of its type: diesel keys the statement by its text.
impl QueryId for Start {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<ST, T> QueryId for FixedSql<ST, T> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q, V> QueryId for Bound<Q, V> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<ST: TypedExpressionType, T> Expression for FixedSql<ST, T> {
    type SqlType = ST;
}

impl<Q: Expression, V> Expression for Bound<Q, V> {
    type SqlType = Q::SqlType;
}

impl<QS, ST: TypedExpressionType, T> AppearsOnTable<QS> for FixedSql<ST, T> {}

impl<QS, ST: TypedExpressionType, T> SelectableExpression<QS> for FixedSql<ST, T> {}

impl<QS, Q: Expression, V> AppearsOnTable<QS> for Bound<Q, V> {}

impl<QS, Q: Expression, V> SelectableExpression<QS> for Bound<Q, V> {}

impl<GB, ST, T> ValidGrouping<GB> for FixedSql<ST, T> {
    type IsAggregate = is_aggregate::Never;
}

impl<GB, Q, V> ValidGrouping<GB> for Bound<Q, V> {
    type IsAggregate = is_aggregate::Never;
}

/// Whether diesel may keep `query` prepared on a connection.
#[cfg(test)]
pub fn may_be_kept_prepared<Q: QueryFragment<Pg>>(query: &Q) -> bool {
    query.is_safe_to_cache_prepared(&Pg).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use diesel::pg::Pg;
    use diesel::sql_types::{Bool, Integer};

    use super::{fixed_sql, may_be_kept_prepared};

    #[test]
    fn fixed_text_with_binds_reads_as_written_and_may_be_kept_prepared() {
        let condition = fixed_sql::<Bool>("a = ")
            .bind::<Integer, _>(1)
            .sql(" AND b = ")
            .bind::<Integer, _>(2)
            .sql("");
        assert_eq!(
            diesel::debug_query::<Pg, _>(&condition).to_string(),
            "a = $1 AND b = $2 -- binds: [1, 2]"
        );
        assert!(may_be_kept_prepared(&condition));
        assert!(!may_be_kept_prepared(&diesel::dsl::sql::<Bool>("a = 1")));
    }
}
