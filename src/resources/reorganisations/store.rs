//! The `reorganisations` table and the set-based statements a reorganisation runs: the checks that look at many
//! organisations at once and the transfer of every member of many organisations in one statement.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Date, Integer, Jsonb, Nullable, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::domain::ids::ReorganisationId;
use crate::domain::organisation::OrganisationKind;
use crate::schema::sql_types::Ltree;
use crate::store::TreePath;

/// A stored reorganisation.
#[derive(Debug, Clone, QueryableByName)]
pub struct ReorganisationRow {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = Text)]
    pub decision_number: String,
    #[diesel(sql_type = Date)]
    pub decided_on: NaiveDate,
    #[diesel(sql_type = Date)]
    pub effective_on: NaiveDate,
    #[diesel(sql_type = Nullable<Text>)]
    pub note: Option<String>,
    #[diesel(sql_type = Jsonb)]
    pub operations: serde_json::Value,
    #[diesel(sql_type = Integer)]
    pub created: i32,
    #[diesel(sql_type = Integer)]
    pub moved: i32,
    #[diesel(sql_type = Integer)]
    pub ended: i32,
    #[diesel(sql_type = Integer)]
    pub members_transferred: i32,
    #[diesel(sql_type = Integer)]
    pub version: i32,
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    pub created_at: DateTime<Utc>,
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    pub updated_at: DateTime<Utc>,
}

/// The dated decision a reorganisation records.
#[derive(Debug, Clone)]
pub struct Header {
    pub decision_number: String,
    pub decided_on: NaiveDate,
    pub effective_on: NaiveDate,
    pub note: Option<String>,
}

/// What a reorganisation did, counted.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counts {
    pub created: i32,
    pub moved: i32,
    pub ended: i32,
    pub members_transferred: i32,
}

/// Starts a reorganisation inside the current transaction: stores its decision (the operations follow in
/// [`finish`]) and dates every change of the transaction: the organisation versions start on `effective_on`,
/// and the versions, audit records and member history entries the transaction writes name the reorganisation.
/// A province's reorganisation rewrites many rows, so its statements may run longer than a request's usual
/// limit.
pub async fn begin(conn: &mut AsyncPgConnection, id: ReorganisationId, header: &Header) -> QueryResult<()> {
    diesel::sql_query("SET LOCAL statement_timeout = '300s'")
        .execute(conn)
        .await?;
    diesel::sql_query(
        "INSERT INTO reorganisations (id, decision_number, decided_on, effective_on, note, operations, created, \
         moved, ended, members_transferred) VALUES ($1, $2, $3, $4, $5, '{}', 0, 0, 0, 0)",
    )
    .bind::<SqlUuid, _>(id.0)
    .bind::<Text, _>(&header.decision_number)
    .bind::<Date, _>(header.decided_on)
    .bind::<Date, _>(header.effective_on)
    .bind::<Nullable<Text>, _>(header.note.as_deref())
    .execute(conn)
    .await?;
    diesel::sql_query(
        "SELECT set_config('partybase.valid_from', $1::text, true), \
         set_config('partybase.reorganisation_id', $2::text, true)",
    )
    .bind::<Date, _>(header.effective_on)
    .bind::<SqlUuid, _>(id.0)
    .execute(conn)
    .await
    .map(|_| ())
}

/// Stores the operations as applied and their counts, and the organisations the reorganisation names.
pub async fn finish(
    conn: &mut AsyncPgConnection,
    id: ReorganisationId,
    operations: &serde_json::Value,
    counts: Counts,
    named: &[Uuid],
) -> QueryResult<ReorganisationRow> {
    diesel::sql_query(
        "INSERT INTO reorganisation_organisations (reorganisation_id, organisation_id) \
         SELECT DISTINCT $1::uuid, n FROM unnest($2::uuid[]) AS n",
    )
    .bind::<SqlUuid, _>(id.0)
    .bind::<Array<SqlUuid>, _>(named)
    .execute(conn)
    .await?;
    diesel::sql_query(
        "UPDATE reorganisations SET operations = $2, created = $3, moved = $4, ended = $5, \
         members_transferred = $6 WHERE id = $1 RETURNING *",
    )
    .bind::<SqlUuid, _>(id.0)
    .bind::<Jsonb, _>(operations)
    .bind::<Integer, _>(counts.created)
    .bind::<Integer, _>(counts.moved)
    .bind::<Integer, _>(counts.ended)
    .bind::<Integer, _>(counts.members_transferred)
    .get_result(conn)
    .await
}

/// The condition "every organisation the reorganisation names lies in the subtree with path `$n`" for a scoped
/// reader, true for everyone when `$n` is NULL.
fn visible(n: u8) -> String {
    format!(
        "(${n}::ltree IS NULL OR NOT EXISTS (SELECT 1 FROM reorganisation_organisations ro \
           JOIN organisations o ON o.id = ro.organisation_id \
           WHERE ro.reorganisation_id = r.id AND NOT o.path <@ ${n}::ltree))"
    )
}

/// A reorganisation a reader with the scope path `scope` sees: one that names only organisations of its subtree.
pub async fn find(
    conn: &mut AsyncPgConnection,
    id: ReorganisationId,
    scope: Option<&TreePath>,
) -> QueryResult<Option<ReorganisationRow>> {
    diesel::sql_query(format!(
        "SELECT r.* FROM reorganisations r WHERE r.id = $1 AND {}",
        visible(2)
    ))
    .bind::<SqlUuid, _>(id.0)
    .bind::<Nullable<Ltree>, _>(scope.cloned())
    .get_result(conn)
    .await
    .optional()
}

/// The filters of the reorganisation list.
#[derive(Debug, Default)]
pub struct ReorganisationFilter {
    /// The reader's scope path.
    pub scope: Option<TreePath>,
    /// Only those that name an organisation in the subtree with this path (today's).
    pub under: Option<TreePath>,
    pub effective_from: Option<NaiveDate>,
    pub effective_to: Option<NaiveDate>,
}

fn list_sql(select: &str, tail: &str) -> String {
    format!(
        "SELECT {select} FROM reorganisations r WHERE {} \
           AND ($2::ltree IS NULL OR EXISTS (SELECT 1 FROM reorganisation_organisations ro \
                JOIN organisations o ON o.id = ro.organisation_id \
                WHERE ro.reorganisation_id = r.id AND o.path <@ $2::ltree)) \
           AND ($3::date IS NULL OR r.effective_on >= $3::date) \
           AND ($4::date IS NULL OR r.effective_on <= $4::date) {tail}",
        visible(1)
    )
}

/// One page of reorganisations after `after` in id order.
pub async fn list(
    conn: &mut AsyncPgConnection,
    filter: &ReorganisationFilter,
    after: Option<ReorganisationId>,
    fetch: i64,
) -> QueryResult<Vec<ReorganisationRow>> {
    diesel::sql_query(list_sql(
        "r.*",
        "AND ($5::uuid IS NULL OR r.id > $5::uuid) ORDER BY r.id LIMIT $6",
    ))
    .bind::<Nullable<Ltree>, _>(filter.scope.clone())
    .bind::<Nullable<Ltree>, _>(filter.under.clone())
    .bind::<Nullable<Date>, _>(filter.effective_from)
    .bind::<Nullable<Date>, _>(filter.effective_to)
    .bind::<Nullable<SqlUuid>, _>(after.map(|a| a.0))
    .bind::<BigInt, _>(fetch)
    .load(conn)
    .await
}

/// How many reorganisations match the filter.
pub async fn count(conn: &mut AsyncPgConnection, filter: &ReorganisationFilter) -> QueryResult<i64> {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let n: N = diesel::sql_query(list_sql("count(*) AS n", ""))
        .bind::<Nullable<Ltree>, _>(filter.scope.clone())
        .bind::<Nullable<Ltree>, _>(filter.under.clone())
        .bind::<Nullable<Date>, _>(filter.effective_from)
        .bind::<Nullable<Date>, _>(filter.effective_to)
        .get_result(conn)
        .await?;
    Ok(n.n)
}

/// An organisation of a moved subtree whose place or name changed after a day.
#[derive(Debug, QueryableByName)]
pub struct LaterChange {
    /// The index of the move whose subtree holds it.
    #[diesel(sql_type = BigInt)]
    pub index: i64,
    #[diesel(sql_type = Text)]
    pub code: String,
    #[diesel(sql_type = Date)]
    pub since: NaiveDate,
}

/// The organisations in the subtrees of `roots` whose current version started after `day`: a change dated
/// `day` cannot go before a later one.
pub async fn later_changes(
    conn: &mut AsyncPgConnection,
    roots: &[Uuid],
    day: NaiveDate,
) -> QueryResult<Vec<LaterChange>> {
    diesel::sql_query(
        "SELECT r.i - 1 AS index, o.code, lower(v.valid_during) AS since \
         FROM unnest($1::uuid[]) WITH ORDINALITY AS r(id, i) \
         JOIN organisations root ON root.id = r.id \
         JOIN organisations o ON o.path <@ root.path \
         JOIN organisation_versions v ON v.organisation_id = o.id AND upper_inf(v.valid_during) \
         WHERE lower(v.valid_during) > $2 ORDER BY r.i, o.code",
    )
    .bind::<Array<SqlUuid>, _>(roots)
    .bind::<Date, _>(day)
    .load(conn)
    .await
}

/// What a transfer's two organisations are, as a reader with the scope path `scope` sees them.
#[derive(Debug, QueryableByName)]
pub struct TransferEnds {
    #[diesel(sql_type = Nullable<Text>)]
    pub from_kind: Option<OrganisationKind>,
    #[diesel(sql_type = Nullable<Text>)]
    pub to_kind: Option<OrganisationKind>,
    #[diesel(sql_type = Bool)]
    pub to_active: bool,
    /// Current members of the source with a history entry after the transfer's day.
    #[diesel(sql_type = BigInt)]
    pub later_entries: i64,
}

/// The organisations of each transfer `from[i] -> to[i]`, in order, and the members a transfer dated `day` would
/// put before their own history.
pub async fn transfer_ends(
    conn: &mut AsyncPgConnection,
    from: &[Uuid],
    to: &[Uuid],
    day: NaiveDate,
    scope: Option<&TreePath>,
) -> QueryResult<Vec<TransferEnds>> {
    diesel::sql_query(
        "SELECT f.kind AS from_kind, t.kind AS to_kind, \
                coalesce(t.dissolved_on IS NULL OR t.dissolved_on > $3, false) AS to_active, \
                (SELECT count(DISTINCT m.id) FROM members m \
                   JOIN member_events e ON e.member_id = m.id AND e.\"on\" > $3 \
                  WHERE m.organisation_id = x.f AND m.status IN ('probationary', 'official', 'exempt')) \
                  AS later_entries \
         FROM unnest($1::uuid[], $2::uuid[]) WITH ORDINALITY AS x(f, t, i) \
         LEFT JOIN organisations f ON f.id = x.f AND ($4::ltree IS NULL OR f.path <@ $4::ltree) \
         LEFT JOIN organisations t ON t.id = x.t AND ($4::ltree IS NULL OR t.path <@ $4::ltree) \
         ORDER BY x.i",
    )
    .bind::<Array<SqlUuid>, _>(from)
    .bind::<Array<SqlUuid>, _>(to)
    .bind::<Date, _>(day)
    .bind::<Nullable<Ltree>, _>(scope.cloned())
    .load(conn)
    .await
}

/// The members one transfer moved.
#[derive(Debug, QueryableByName)]
pub struct Transferred {
    #[diesel(sql_type = SqlUuid)]
    pub organisation_id: Uuid,
    #[diesel(sql_type = BigInt)]
    pub members: i64,
}

/// Transfers every current member of `from[i]` to `to[i]` on `day`, in one statement however many members:
/// each gets a new version, a `transferred` history entry and an audit record; the member counts follow by
/// their trigger. The candidates still on their way to admission go with them (a new version and an audit record
/// each), so that their ceremony admits them into the organisation that carries on. Returns how many members left
/// each source.
pub async fn transfer_members(
    conn: &mut AsyncPgConnection,
    from: &[Uuid],
    to: &[Uuid],
    day: NaiveDate,
    note: &str,
    actor: &str,
    request_id: &str,
) -> QueryResult<Vec<Transferred>> {
    diesel::sql_query(
        "WITH x AS (SELECT f, t FROM unnest($1::uuid[], $2::uuid[]) AS x(f, t)), \
         moved AS ( \
           UPDATE members m SET organisation_id = x.t, version = m.version + 1, updated_at = now() \
           FROM x WHERE m.organisation_id = x.f AND m.status IN ('probationary', 'official', 'exempt') \
           RETURNING m.id, x.f, x.t, m.status, m.version, m.updated_at), \
         history AS ( \
           INSERT INTO member_events (id, member_id, type, \"on\", status_before, status_after, organisation_id, \
                                      to_organisation_id, mode, note, actor) \
           SELECT pb_uuid_v7(), id, 'transferred', $3, status, status, f, t, 'permanent', $4, $5 FROM moved), \
         audit AS ( \
           INSERT INTO audit_events (id, actor, action, resource_type, resource_id, changes, request_id) \
           SELECT pb_uuid_v7(), $5, 'event', 'member', id::text, \
                  jsonb_build_object( \
                    'before', jsonb_build_object('organisation_id', f, 'version', version - 1), \
                    'after', jsonb_build_object('organisation_id', t, 'version', version, 'updated_at', updated_at)), \
                  $6 \
           FROM moved), \
         candidates_moved AS ( \
           UPDATE candidates c SET organisation_id = x.t, version = c.version + 1, updated_at = now() \
           FROM x WHERE c.organisation_id = x.f AND c.stage NOT IN ('admitted', 'withdrawn', 'rejected') \
           RETURNING c.id, x.f, x.t, c.version, c.updated_at), \
         candidates_audit AS ( \
           INSERT INTO audit_events (id, actor, action, resource_type, resource_id, changes, request_id) \
           SELECT pb_uuid_v7(), $5, 'update', 'candidate', id::text, \
                  jsonb_build_object( \
                    'before', jsonb_build_object('organisation_id', f, 'version', version - 1), \
                    'after', jsonb_build_object('organisation_id', t, 'version', version, 'updated_at', updated_at)), \
                  $6 \
           FROM candidates_moved) \
         SELECT f AS organisation_id, count(*) AS members FROM moved GROUP BY f",
    )
    .bind::<Array<SqlUuid>, _>(from)
    .bind::<Array<SqlUuid>, _>(to)
    .bind::<Date, _>(day)
    .bind::<Text, _>(note)
    .bind::<Text, _>(actor)
    .bind::<Text, _>(request_id)
    .load(conn)
    .await
}

/// What an ended organisation still holds.
#[derive(Debug, QueryableByName)]
pub struct Leftover {
    #[diesel(sql_type = BigInt)]
    pub index: i64,
    /// Children active after the day (first ten codes).
    #[diesel(sql_type = Array<Text>)]
    pub children: Vec<String>,
    #[diesel(sql_type = BigInt)]
    pub child_count: i64,
    #[diesel(sql_type = BigInt)]
    pub members: i64,
}

/// The ended organisations `ended[i]` that still have an active child after `day` or a current member.
pub async fn leftovers(conn: &mut AsyncPgConnection, ended: &[Uuid], day: NaiveDate) -> QueryResult<Vec<Leftover>> {
    diesel::sql_query(
        "SELECT * FROM ( \
           SELECT e.i - 1 AS index, \
             ARRAY(SELECT c.code FROM organisations c WHERE c.parent_id = e.id \
                     AND (c.dissolved_on IS NULL OR c.dissolved_on > $2) ORDER BY c.code LIMIT 10) AS children, \
             (SELECT count(*) FROM organisations c WHERE c.parent_id = e.id \
                AND (c.dissolved_on IS NULL OR c.dissolved_on > $2)) AS child_count, \
             (SELECT count(*) FROM members m WHERE m.organisation_id = e.id \
                AND m.status IN ('probationary', 'official', 'exempt')) AS members \
           FROM unnest($1::uuid[]) WITH ORDINALITY AS e(id, i)) l \
         WHERE child_count > 0 OR members > 0 ORDER BY index",
    )
    .bind::<Array<SqlUuid>, _>(ended)
    .bind::<Date, _>(day)
    .load(conn)
    .await
}

/// Links an ended organisation to one that carries on its work; false when the link existed already.
pub async fn link_successor(
    conn: &mut AsyncPgConnection,
    organisation: Uuid,
    successor: Uuid,
    reorganisation: ReorganisationId,
) -> QueryResult<bool> {
    let n = diesel::sql_query(
        "INSERT INTO organisation_successions (organisation_id, successor_id, reorganisation_id) \
         VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind::<SqlUuid, _>(organisation)
    .bind::<SqlUuid, _>(successor)
    .bind::<SqlUuid, _>(reorganisation.0)
    .execute(conn)
    .await?;
    Ok(n == 1)
}

/// How many reorganisations name an organisation; their records keep it.
pub async fn organisation_usage(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<i64> {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let n: N = diesel::sql_query("SELECT count(*) AS n FROM reorganisation_organisations WHERE organisation_id = $1")
        .bind::<SqlUuid, _>(id)
        .get_result(conn)
        .await?;
    Ok(n.n)
}
