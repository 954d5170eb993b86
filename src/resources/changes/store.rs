//! The `changes` table and how its entries get their place in the feed.
//!
//! **Why the feed cannot skip a change.** A trigger on every resource table adds an entry in the transaction of
//! the change, without a position. Positions are given afterwards by [`number`], one numbering at a time: each
//! numbering locks the single `change_feed` row, then (in a new statement, so with a snapshot taken after the lock)
//! gives the next positions, in insertion order, to every entry it can see, which is every entry whose transaction
//! has committed. The lock is held until the numbering commits. So:
//! - an entry is numbered only once it is committed, and only once (the numberings run one after the other, and each
//!   sees the positions the previous one gave);
//! - positions increase in the order entries become visible: a transaction that commits late gets later positions,
//!   however early it started; no position is ever given below one already handed out;
//! - all positions of one numbering become visible together, when it commits, and after every earlier numbering.
//!
//! A reader that has seen position `p` therefore never later finds a new entry below `p`. Readers follow positions
//! only; the feed never relies on a sequence value or a timestamp taken when the change was made. Two changes to
//! one row are numbered in their commit order too: the second writer waits for the first's row lock, so its entry is
//! inserted after the first one committed.
//!
//! The feed reader numbers what is waiting before it reads, and so does the background task whenever it is woken
//! (see [`crate::background`]), which also offers each newly numbered entry to the matching webhooks, in the
//! numbering's transaction: every entry reaches every subscription exactly once.

use chrono::{DateTime, Utc};
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::error::ApiError;

/// The most entries one numbering gives positions to.
const NUMBERING_BATCH: i64 = 10_000;
/// The most positions one page of the feed looks through: a token whose subtree changes rarely gets short (even
/// empty) pages with a cursor further on, rather than a scan of the whole feed.
pub const PAGE_WINDOW: i64 = 10_000;

/// One entry of the feed.
#[derive(Debug, Clone, diesel::QueryableByName)]
pub struct EntryRow {
    #[diesel(sql_type = BigInt)]
    pub position: i64,
    #[diesel(sql_type = Timestamptz)]
    pub at: DateTime<Utc>,
    #[diesel(sql_type = Text)]
    pub resource_type: String,
    #[diesel(sql_type = SqlUuid)]
    pub resource_id: Uuid,
    #[diesel(sql_type = Text)]
    pub action: String,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pub version: i32,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub organisation_id: Option<Uuid>,
}

#[derive(diesel::QueryableByName)]
struct Feed {
    #[diesel(sql_type = BigInt)]
    last_position: i64,
    #[diesel(sql_type = BigInt)]
    pruned_through: i64,
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

/// What the feed's watcher sees: the last position given, and whether committed entries wait for one.
#[derive(diesel::QueryableByName)]
pub struct Outlook {
    #[diesel(sql_type = BigInt)]
    pub last_position: i64,
    #[diesel(sql_type = Bool)]
    pub waiting: bool,
}

/// One look at the feed, cheap enough to repeat a few times a second: the waiting entries are found through the
/// partial index `changes_unnumbered`, which holds only them.
pub async fn outlook(conn: &mut AsyncPgConnection) -> Result<Outlook, ApiError> {
    Ok(diesel::sql_query(
        "SELECT last_position, EXISTS (SELECT 1 FROM changes WHERE position IS NULL) AS waiting FROM change_feed",
    )
    .get_result(conn)
    .await?)
}

/// Gives positions to committed entries that have none yet, and offers them to the matching webhooks; returns how
/// many it numbered (at most a batch: call again while it returns a full batch). Runs in its own transaction.
pub async fn number(conn: &mut AsyncPgConnection) -> Result<i64, ApiError> {
    conn.transaction(async |conn| {
        let last = diesel::sql_query("SELECT last_position, pruned_through FROM change_feed FOR UPDATE")
            .get_result::<Feed>(conn)
            .await?
            .last_position;
        // A new statement: its snapshot is taken after the lock, so it sees every earlier numbering's positions.
        let numbered = diesel::sql_query(
            "WITH todo AS (\
                SELECT id, row_number() OVER (ORDER BY id) AS n FROM (\
                    SELECT id FROM changes WHERE position IS NULL ORDER BY id LIMIT $2) waiting\
             ), numbered AS (\
                UPDATE changes c SET position = $1 + todo.n FROM todo WHERE c.id = todo.id \
                RETURNING c.position, c.resource_type, c.organisation_id, c.former_organisation_id\
             ), offered AS (\
                INSERT INTO webhook_deliveries (webhook_id, position) \
                SELECT w.id, n.position FROM numbered n JOIN webhooks w \
                  ON (cardinality(w.resource_types) = 0 OR n.resource_type = ANY (w.resource_types)) \
                 AND (w.organisation_id IS NULL OR EXISTS (\
                     SELECT 1 FROM organisations root JOIN organisations o ON o.path <@ root.path \
                     WHERE root.id = w.organisation_id \
                       AND o.id IN (n.organisation_id, n.former_organisation_id))) \
                RETURNING 1\
             ) SELECT count(*) AS count FROM numbered",
        )
        .bind::<BigInt, _>(last)
        .bind::<BigInt, _>(NUMBERING_BATCH)
        .get_result::<Count>(conn)
        .await?
        .count;
        if numbered > 0 {
            diesel::sql_query("UPDATE change_feed SET last_position = last_position + $1")
                .bind::<BigInt, _>(numbered)
                .execute(conn)
                .await?;
        }
        Ok(numbered)
    })
    .await
}

/// Numbers everything committed so far (several batches when a large import is waiting).
pub async fn number_all(conn: &mut AsyncPgConnection) -> Result<i64, ApiError> {
    let mut total = 0;
    loop {
        let numbered = number(conn).await?;
        total += numbered;
        if numbered < NUMBERING_BATCH {
            return Ok(total);
        }
    }
}

/// What a page of the feed asks for.
pub struct FeedRequest {
    /// The position already seen; `None` starts at the oldest kept entry.
    pub after: Option<i64>,
    pub resource_types: Option<Vec<String>>,
    /// The organisation whose subtree the reader sees; `None` for everything.
    pub scope: Option<Uuid>,
    pub limit: i64,
}

/// A page of the feed and the position to continue after.
pub struct FeedPage {
    pub entries: Vec<EntryRow>,
    pub next: i64,
}

/// Reads a page. The numbering state is read first, so every position up to `last_position` is visible to the page
/// query that follows: `next` never passes an entry the page could not see. 410 when `after` lies before what is
/// kept.
pub async fn page(conn: &mut AsyncPgConnection, request: &FeedRequest) -> Result<FeedPage, ApiError> {
    let feed = diesel::sql_query("SELECT last_position, pruned_through FROM change_feed")
        .get_result::<Feed>(conn)
        .await?;
    let after = match request.after {
        Some(after) if after < feed.pruned_through => {
            return Err(ApiError::Gone(format!(
                "the feed no longer keeps the changes after this cursor (kept from position {}): re-read the \
                 collections, then follow the feed from a fresh cursor",
                feed.pruned_through + 1
            )))
        }
        Some(after) => after,
        None => feed.pruned_through,
    };
    let entries = diesel::sql_query(
        "SELECT c.position, c.at, c.resource_type, c.resource_id, c.action, c.version, c.organisation_id \
         FROM changes c \
         WHERE c.position > $1 AND c.position <= $1 + $2 \
           AND ($3::text[] IS NULL OR c.resource_type = ANY ($3)) \
           AND ($4::uuid IS NULL OR EXISTS (\
               SELECT 1 FROM organisations root JOIN organisations o ON o.path <@ root.path \
               WHERE root.id = $4 AND o.id IN (c.organisation_id, c.former_organisation_id))) \
         ORDER BY c.position LIMIT $5",
    )
    .bind::<BigInt, _>(after)
    .bind::<BigInt, _>(PAGE_WINDOW)
    .bind::<Nullable<Array<Text>>, _>(request.resource_types.clone())
    .bind::<Nullable<SqlUuid>, _>(request.scope)
    .bind::<BigInt, _>(request.limit)
    .load::<EntryRow>(conn)
    .await?;
    let next = match entries.last() {
        Some(last) if entries.len() as i64 == request.limit => last.position,
        _ => (after + PAGE_WINDOW).min(feed.last_position).max(after),
    };
    Ok(FeedPage { entries, next })
}

/// One entry by position, for a webhook delivery.
pub async fn entry(conn: &mut AsyncPgConnection, position: i64) -> Result<Option<EntryRow>, ApiError> {
    let found = diesel::sql_query(
        "SELECT position, at, resource_type, resource_id, action, version, organisation_id \
         FROM changes WHERE position = $1",
    )
    .bind::<BigInt, _>(position)
    .load::<EntryRow>(conn)
    .await?;
    Ok(found.into_iter().next())
}

#[derive(diesel::QueryableByName)]
struct Pruned {
    #[diesel(sql_type = BigInt)]
    count: i64,
    #[diesel(sql_type = BigInt)]
    through: i64,
}

/// Removes numbered entries older than `keep`, a batch at a time, and remembers the last position removed, so
/// that a cursor before it is answered 410. Returns how many went.
pub async fn prune(conn: &mut AsyncPgConnection, keep: std::time::Duration) -> Result<i64, ApiError> {
    let seconds = i64::try_from(keep.as_secs()).unwrap_or(i64::MAX);
    conn.transaction(async |conn| {
        let pruned = diesel::sql_query(
            "WITH gone AS (\
                DELETE FROM changes WHERE position IN (\
                    SELECT position FROM changes WHERE position IS NOT NULL \
                      AND at < now() - make_interval(secs => $1) ORDER BY position LIMIT 10000) \
                RETURNING position) \
             SELECT count(*) AS count, coalesce(max(position), 0) AS through FROM gone",
        )
        .bind::<BigInt, _>(seconds)
        .get_result::<Pruned>(conn)
        .await?;
        if pruned.count > 0 {
            diesel::sql_query("UPDATE change_feed SET pruned_through = greatest(pruned_through, $1)")
                .bind::<BigInt, _>(pruned.through)
                .execute(conn)
                .await?;
        }
        Ok(pruned.count)
    })
    .await
}
