//! The shape of the organisation tree: what lies above and below an organisation, the confinement of a list to
//! subtrees, the move of a subtree, and the lock that serialises changes of the shape.

use std::collections::BTreeMap;

use diesel::prelude::*;
use diesel::sql_types::{Bool, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::{path_of, scoped, OrganisationRow};
use crate::domain::ids::OrganisationId;
use crate::domain::member::MemberStatus;
use crate::domain::organisation::OrganisationKind;
use crate::schema::organisations;
use crate::store::{fixed_sql, TreePath};

/// Where a list is confined to: the caller's scope and an `under` filter, each looked up once so that the list
/// query can bind their paths.
#[derive(Debug)]
pub enum Confinement {
    /// The paths of the scope and of `under`, where given.
    Within {
        scope: Option<TreePath>,
        under: Option<TreePath>,
    },
    /// The organisation the caller is scoped to no longer exists.
    ScopeGone,
    /// `under` names no organisation: the list is empty.
    UnderMissing,
}

/// Looks up the paths a list is confined to.
pub async fn confinement(
    conn: &mut AsyncPgConnection,
    scope: Option<Uuid>,
    under: Option<Uuid>,
) -> QueryResult<Confinement> {
    let scope = match scope {
        None => None,
        Some(id) => match path_of(conn, OrganisationId(id)).await? {
            Some(path) => Some(path),
            None => return Ok(Confinement::ScopeGone),
        },
    };
    let under = match under {
        None => None,
        Some(id) => match path_of(conn, OrganisationId(id)).await? {
            Some(path) => Some(path),
            None => return Ok(Confinement::UnderMissing),
        },
    };
    Ok(Confinement::Within { scope, under })
}

/// Whether the subtree at `path` is the whole registry today: `path` is an organisation at the top of the tree and
/// no other organisation is without a parent (found on the (parent_id, id) index). Every path then begins with its
/// label, and a read confined to it may read everything instead, which at the scale of a country is much cheaper
/// than finding each organisation under it.
pub async fn spans_the_registry(conn: &mut AsyncPgConnection, path: &TreePath) -> QueryResult<bool> {
    #[derive(QueryableByName)]
    struct Sole {
        #[diesel(sql_type = Bool)]
        sole: bool,
    }
    if !path.is_top() {
        return Ok(false);
    }
    let found: Sole = diesel::sql_query(
        "SELECT NOT EXISTS (SELECT 1 FROM organisations WHERE parent_id IS NULL AND path <> $1) AS sole",
    )
    .bind::<crate::schema::sql_types::Ltree, _>(path)
    .get_result(conn)
    .await?;
    Ok(found.sole)
}

/// The ancestors of an organisation inside `scope`, root first, parent last.
pub async fn ancestors(
    conn: &mut AsyncPgConnection,
    id: OrganisationId,
    scope: Option<Uuid>,
) -> QueryResult<Vec<OrganisationRow>> {
    scoped(scope)
        .filter(
            fixed_sql::<Bool>("organisations.path @> (SELECT o.path FROM organisations o WHERE o.id = ")
                .bind::<SqlUuid, _>(id)
                .sql(") AND organisations.id <> ")
                .bind::<SqlUuid, _>(id),
        )
        .select(OrganisationRow::as_select())
        .order(fixed_sql::<diesel::sql_types::Integer>("nlevel(organisations.path)"))
        .load(conn)
        .await
}

/// The distinct kinds of the direct children of an organisation.
pub async fn child_kinds(conn: &mut AsyncPgConnection, id: OrganisationId) -> QueryResult<Vec<OrganisationKind>> {
    organisations::table
        .filter(organisations::parent_id.eq(id))
        .select(organisations::kind)
        .distinct()
        .load(conn)
        .await
}

/// How many direct children an organisation has.
pub async fn child_count(conn: &mut AsyncPgConnection, id: OrganisationId) -> QueryResult<i64> {
    organisations::table
        .filter(organisations::parent_id.eq(id))
        .count()
        .get_result(conn)
        .await
}

/// Moves the subtree whose root had path `old` to `new`: every descendant's path is rewritten in one statement.
pub async fn move_subtree(conn: &mut AsyncPgConnection, old: &TreePath, new: &TreePath) -> QueryResult<usize> {
    diesel::sql_query(
        "UPDATE organisations SET path = CASE WHEN path = text2ltree($1) THEN text2ltree($2) \
         ELSE text2ltree($2) || subpath(path, nlevel(text2ltree($1))) END \
         WHERE path <@ text2ltree($1)",
    )
    .bind::<Text, _>(&old.0)
    .bind::<Text, _>(&new.0)
    .execute(conn)
    .await
}

/// Serialises changes to the shape of the tree (creations, moves, kind changes), so that two concurrent moves
/// cannot together make a cycle and no child is placed under a path that a move is rewriting.
pub async fn lock_tree_shape(conn: &mut AsyncPgConnection) -> QueryResult<()> {
    // An arbitrary constant that names this lock among the transaction-level advisory locks.
    const TREE_SHAPE_LOCK: i64 = 0x7061_7274_7974;
    diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
        .bind::<diesel::sql_types::BigInt, _>(TREE_SHAPE_LOCK)
        .execute(conn)
        .await
        .map(|_| ())
}

#[derive(QueryableByName)]
struct StatusCount {
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    members: i64,
}

/// Members of the organisation with path `path` and its whole subtree, by status, from the trigger-kept counts;
/// statuses with no member are left out (this is counted twice on every write of an organisation).
///
/// Below the top of the tree, the subtree's organisations are listed first and their counts read by key, in a
/// statement kept prepared. Joined the other way, PostgreSQL overestimated a district's subtree and read every count
/// of the country to hash-join them (a district 77-120 ms on the national registry, by key 10-20 ms; a province
/// 92-122 ms, by key 62-72 ms). This statement binds a path yet is kept, an exception to the rule of
/// [`crate::store::fixed_sql`]: the counts are read by key whatever the subtree, and only the list of its
/// organisations, on the path index either way, is planned without the value. A root (a path of one label: the
/// whole country, or another root an admin made) reads every count, and the join is quicker there (440-530 ms
/// against 950); it is planned for its path.
pub async fn member_counts(conn: &mut AsyncPgConnection, path: &TreePath) -> QueryResult<BTreeMap<MemberStatus, i64>> {
    use crate::schema::organisation_member_counts as c;
    use crate::schema::sql_types::Ltree;
    let rows: Vec<(String, Option<i64>)> = if path.0.contains('.') {
        c::table
            .filter(
                fixed_sql::<Bool>(
                    "organisation_member_counts.organisation_id = \
                     ANY (ARRAY(SELECT o.id FROM organisations o WHERE o.path <@ ",
                )
                .bind::<Ltree, _>(path.clone())
                .sql("))"),
            )
            .group_by(c::status)
            .select((c::status, diesel::dsl::sum(c::members)))
            .load(conn)
            .await?
    } else {
        diesel::sql_query(
            "SELECT c.status, sum(c.members)::bigint AS members \
             FROM organisation_member_counts c JOIN organisations o ON o.id = c.organisation_id \
             WHERE o.path <@ $1 GROUP BY c.status",
        )
        .bind::<Ltree, _>(path)
        .load::<StatusCount>(conn)
        .await?
        .into_iter()
        .map(|row| (row.status, Some(row.members)))
        .collect()
    };
    Ok(rows
        .into_iter()
        .filter_map(|(status, members)| Some((status.parse::<MemberStatus>().ok()?, members?)))
        .filter(|(_, members)| *members > 0)
        .collect())
}

/// How many member records (current or past) name this organisation directly.
pub async fn member_records(conn: &mut AsyncPgConnection, id: OrganisationId) -> QueryResult<i64> {
    crate::schema::members::table
        .filter(crate::schema::members::organisation_id.eq(id))
        .count()
        .get_result(conn)
        .await
}
