//! The yearly evaluations of organisations and members: recording, reading, listing, changing and deleting them
//! under the rating scheme of their year. Every rule and every audit record of the evaluations is here, for HTTP,
//! the CLI, the seed and imports alike. What differs between the two kinds is the [`Evaluations`] trait; the
//! rest is written once over it.

use std::future::Future;

use chrono::NaiveDate;
use diesel::QueryResult;
use diesel_async::AsyncPgConnection;
use serde::{de::DeserializeOwned, Serialize};

use crate::audit::{self, Action};
use crate::auth::Actor;
use crate::domain::ids::OrganisationId;
use crate::domain::rating::{Grade, Rating, Subject, Year};
use crate::domain::score::Score;
use crate::domain::today;
use crate::error::{ApiError, FieldError};
use crate::resources::evaluations::store::{EvaluationFilter, Lock};
use crate::resources::organisations::store as organisation_rows;
use crate::store::TreePath;
use crate::write::{self, IfMatch, Removable};

/// Implements [`Evaluations`] and [`Removable`] for `$kind`, whose rows `store::$queries` holds.
macro_rules! evaluation_kind {
    ($kind:ty, $subject:expr, $queries:ident, $row:ty, $id:ty) => {
        impl $crate::write::Removable for $kind {
            async fn remove(
                conn: &mut diesel_async::AsyncPgConnection,
                row: &$row,
            ) -> Result<(), $crate::error::ApiError> {
                $crate::resources::evaluations::store::$queries::delete(conn, row.id).await?;
                Ok(())
            }
        }

        impl $crate::resources::evaluations::service::Evaluations for $kind {
            const SUBJECT: $crate::domain::rating::Subject = $subject;

            async fn find(
                conn: &mut diesel_async::AsyncPgConnection,
                id: $id,
                lock: $crate::resources::evaluations::store::Lock,
            ) -> diesel::QueryResult<Option<$row>> {
                $crate::resources::evaluations::store::$queries::find(conn, id, lock).await
            }

            async fn list(
                conn: &mut diesel_async::AsyncPgConnection,
                filter: &$crate::resources::evaluations::store::EvaluationFilter,
                within: &[$crate::store::TreePath],
                after: Option<$id>,
                fetch: i64,
            ) -> diesel::QueryResult<Vec<$row>> {
                $crate::resources::evaluations::store::$queries::list(conn, filter, within, after, fetch).await
            }

            async fn count(
                conn: &mut diesel_async::AsyncPgConnection,
                filter: &$crate::resources::evaluations::store::EvaluationFilter,
                within: &[$crate::store::TreePath],
            ) -> diesel::QueryResult<i64> {
                $crate::resources::evaluations::store::$queries::count(conn, filter, within).await
            }

            fn id(row: &$row) -> $id {
                row.id
            }

            fn version(row: &$row) -> i32 {
                row.version
            }

            fn organisation(row: &$row) -> $crate::domain::ids::OrganisationId {
                row.organisation_id
            }
        }
    };
}

/// The steps of the write path that are the same for both kinds, inside their `impl Patchable`: the ETag is the
/// version, the scheme of the row's year checks the values, `store::$queries` stores them, and the audit trail
/// records the row.
macro_rules! same_write_steps {
    ($queries:ident) => {
        async fn etag(
            _: &mut diesel_async::AsyncPgConnection,
            row: &Self::Row,
        ) -> Result<String, $crate::error::ApiError> {
            Ok($crate::write::etag(row.version))
        }

        async fn check(
            _: &mut diesel_async::AsyncPgConnection,
            _: &$crate::auth::Actor,
            row: &Self::Row,
            values: &Self::Values,
        ) -> Result<(), $crate::error::ApiError> {
            $crate::resources::evaluations::service::checked::<Self>(row.year, values)
        }

        async fn store(
            conn: &mut diesel_async::AsyncPgConnection,
            row: &Self::Row,
            values: Self::Values,
        ) -> Result<Self::Row, $crate::error::ApiError> {
            Ok($crate::resources::evaluations::store::$queries::update(conn, row.id, &values).await?)
        }

        fn view(row: &Self::Row) -> Self::Row {
            row.clone()
        }
    };
}

mod members;
mod organisations;

pub use members::{create_for_member, MemberEvaluations};
pub use organisations::{create_for_organisation, OrganisationEvaluations};

/// A merge patch of an evaluation: absent keeps a value, `Some(None)` clears it. `exemplary` is for
/// organisations' evaluations only.
#[derive(Debug, Default)]
pub struct Regrading {
    pub grade: Option<Option<Grade>>,
    pub exemplary: Option<Option<bool>>,
    pub score: Option<Option<Score>>,
    pub decided_on: Option<Option<NaiveDate>>,
    pub note: Option<Option<String>>,
}

/// What the rules look at in an evaluation's values.
pub struct Assessment<'a> {
    pub grade: Grade,
    pub exemplary: bool,
    pub score: Option<Score>,
    pub decided_on: Option<NaiveDate>,
    pub note: Option<&'a str>,
}

/// Values whose grade, score and dates the rules check.
pub trait Assessed {
    fn assessment(&self) -> Assessment<'_>;
}

/// What differs between the evaluations of organisations and those of members: implemented with
/// [`evaluation_kind`] over the store's queries.
pub trait Evaluations: Removable<Patch = Regrading, Id: Serialize + DeserializeOwned, Values: Assessed> {
    /// Whose grades the scheme checks.
    const SUBJECT: Subject;

    fn find(
        conn: &mut AsyncPgConnection,
        id: Self::Id,
        lock: Lock,
    ) -> impl Future<Output = QueryResult<Option<Self::Row>>> + Send;

    /// A page of the evaluations `filter` selects inside the subtrees `within`.
    fn list(
        conn: &mut AsyncPgConnection,
        filter: &EvaluationFilter,
        within: &[TreePath],
        after: Option<Self::Id>,
        fetch: i64,
    ) -> impl Future<Output = QueryResult<Vec<Self::Row>>> + Send;

    fn count(
        conn: &mut AsyncPgConnection,
        filter: &EvaluationFilter,
        within: &[TreePath],
    ) -> impl Future<Output = QueryResult<i64>> + Send;

    fn id(row: &Self::Row) -> Self::Id;

    fn version(row: &Self::Row) -> i32;

    /// The organisation the evaluation is recorded for, which decides who sees it.
    fn organisation(row: &Self::Row) -> OrganisationId;
}

/// A page of the evaluations the actor sees (those recorded for organisations of its subtree), `filter`ed and
/// `under` an organisation, with their number when `count` asks for it; `None` when `under` names no organisation.
pub async fn list<E: Evaluations>(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    (filter, under): (&EvaluationFilter, Option<OrganisationId>),
    after: Option<E::Id>,
    fetch: i64,
    count: bool,
) -> Result<Option<(Vec<E::Row>, Option<i64>)>, ApiError> {
    let Some((scope, under)) =
        crate::resources::organisations::service::subtree_paths(conn, actor.scope(), under.map(Into::into)).await?
    else {
        return Ok(None);
    };
    let within: Vec<_> = scope.into_iter().chain(under).collect();
    let rows = E::list(conn, filter, &within, after, fetch).await?;
    let total = if count {
        Some(E::count(conn, filter, &within).await?)
    } else {
        None
    };
    Ok(Some((rows, total)))
}

/// An evaluation the actor sees; 404 otherwise.
pub async fn find<E: Evaluations>(conn: &mut AsyncPgConnection, actor: &Actor, id: E::Id) -> Result<E::Row, ApiError> {
    visible::<E>(conn, actor, id, Lock::None).await
}

/// Changes an evaluation by a merge patch under the rules of its creation (see [`write::update`]).
pub async fn update<E: Evaluations>(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: E::Id,
    if_match: &IfMatch,
    patch: Regrading,
) -> Result<E::Row, ApiError> {
    write::update::<E>(conn, actor, id, if_match, patch).await
}

/// Deletes an evaluation (see [`write::delete`]).
pub async fn delete<E: Evaluations>(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: E::Id,
    if_match: &IfMatch,
) -> Result<(), ApiError> {
    write::delete::<E>(conn, actor, id, if_match).await
}

/// Checks an evaluation's values against the year's scheme and the calendar, naming every field at fault.
fn checked<E: Evaluations>(year: Year, values: &E::Values) -> Result<(), ApiError> {
    let today = today();
    Year::evaluated(year.get(), today).map_err(|e| ApiError::Validation(vec![e]))?;
    let a = values.assessment();
    let rating = Rating {
        year: year.get(),
        grade: a.grade,
        exemplary: a.exemplary,
        score: a.score,
    };
    let mut errors = year.scheme().check(E::SUBJECT, &rating);
    if let Some(d) = a.decided_on {
        if d > today {
            errors.push(FieldError::new("decided_on", "must not be in the future"));
        } else if d < year.first_day() {
            errors.push(FieldError::new("decided_on", "must not be before the year evaluated"));
        }
    }
    if a.note.is_some_and(|n| n.chars().count() > 4000) {
        errors.push(FieldError::new("note", "must be at most 4000 characters"));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(errors))
    }
}

/// Audits the creation of an evaluation.
async fn recorded<E: Evaluations>(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    row: E::Row,
) -> Result<E::Row, ApiError> {
    audit::record(
        conn,
        actor,
        Action::Create,
        E::RESOURCE,
        E::id(&row),
        None,
        Some(&E::view(&row)),
    )
    .await?;
    Ok(row)
}

/// An evaluation recorded for an organisation inside the actor's subtree; 404 otherwise.
async fn visible<E: Evaluations>(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: E::Id,
    lock: Lock,
) -> Result<E::Row, ApiError> {
    let row = E::find(conn, id, lock)
        .await?
        .ok_or_else(|| ApiError::not_found(E::RESOURCE))?;
    organisation_rows::find_visible(conn, E::organisation(&row), actor.scope())
        .await?
        .ok_or_else(|| ApiError::not_found(E::RESOURCE))?;
    Ok(row)
}

/// The evaluation the actor may change or delete, locked: 403 for a viewer, 404 when the actor does not see it.
async fn locked<E: Evaluations>(conn: &mut AsyncPgConnection, actor: &Actor, id: E::Id) -> Result<E::Row, ApiError> {
    actor.require_writer()?;
    visible::<E>(conn, actor, id, Lock::ForUpdate).await
}

/// Merged values, unless the patch cleared a value that may not be cleared.
fn merged<V>(values: V, errors: Vec<FieldError>) -> Result<V, Vec<FieldError>> {
    if errors.is_empty() {
        Ok(values)
    } else {
        Err(errors)
    }
}
