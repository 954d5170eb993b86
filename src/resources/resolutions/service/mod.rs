//! The operations on resolutions and their implementations, for the HTTP layer, the command line, the seed and
//! imports alike: every rule, authority check and audit record lives here.
//!
//! Who may do what is decided by tree paths: a resolution is read inside the issuer's subtree and above it (a
//! resolution of a superior committee applies to the organisations below), changed only inside the actor's subtree;
//! an implementation is read and changed by the actor whose subtree holds the implementing organisation.

mod implementations;
mod resolutions;

use std::future::Future;

use diesel::QueryResult;
use diesel_async::AsyncPgConnection;

pub use super::store::Lock;
use super::store::{self, ResolutionRow};
use crate::auth::Actor;
use crate::domain::ids::ResolutionId;
use crate::error::{ApiError, FieldError};
use crate::pagination::PageRequest;
use crate::resources::organisations::service as organisations;
use crate::store::TreePath;
pub use implementations::{
    create_implementation, delete_implementation, find_implementation, implementations, update_implementation,
    ImplementationKey, ImplementationPatch,
};
pub use resolutions::{create, delete, list, update, ResolutionPatch};

/// A resolution the actor may see, with what decides who may see and change it.
#[derive(Debug, Clone)]
pub struct Visible {
    pub row: ResolutionRow,
    /// The issuing organisation's tree path.
    pub issuer: TreePath,
    /// The actor's scope as a tree path; `None` for everything.
    pub scope: Option<TreePath>,
}

/// Reads a resolution the actor may see (404 otherwise), locked for the rest of the transaction with
/// [`Lock::ForUpdate`].
pub async fn visible(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: ResolutionId,
    lock: Lock,
) -> Result<Visible, ApiError> {
    let scope = scope_path(conn, actor).await?;
    match store::find_with(conn, id, lock).await? {
        Some((row, issuer)) if may_read(scope.as_ref(), &issuer) => Ok(Visible { row, issuer, scope }),
        _ => Err(ApiError::not_found(resolutions::RESOURCE)),
    }
}

/// The actor's scope as a path, looked up once.
async fn scope_path(conn: &mut AsyncPgConnection, actor: &Actor) -> Result<Option<TreePath>, ApiError> {
    Ok(organisations::subtree_paths(conn, actor.scope(), None)
        .await?
        .and_then(|(scope, _)| scope))
}

/// Whether a caller confined to `scope` may read a resolution issued at `issuer`: issued inside its subtree, or
/// above it.
fn may_read(scope: Option<&TreePath>, issuer: &TreePath) -> bool {
    scope.is_none_or(|s| issuer.is_within(s) || s.is_within(issuer))
}

/// Whether a caller confined to `scope` may change a resolution issued at `issuer`: issued inside its subtree.
fn may_write(scope: Option<&TreePath>, issuer: &TreePath) -> bool {
    scope.is_none_or(|s| issuer.is_within(s))
}

/// Refuses (403) a change of a resolution issued above the actor's subtree.
fn forbid_unless_writable(scope: Option<&TreePath>, issuer: &TreePath) -> Result<(), ApiError> {
    if may_write(scope, issuer) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "the resolution was issued above this token's organisation: it may only report its implementation".into(),
        ))
    }
}

/// The total of a list, counted only when the page asks for it (`count=exact`).
async fn total(page: &PageRequest, count: impl Future<Output = QueryResult<i64>>) -> Result<Option<i64>, ApiError> {
    Ok(if page.count_exact { Some(count.await?) } else { None })
}

/// Refuses (422) values that break a rule.
fn valid(errors: Vec<FieldError>) -> Result<(), ApiError> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(p: &str) -> TreePath {
        TreePath(p.into())
    }

    #[test]
    fn resolutions_from_above_are_readable_but_not_writable() {
        let district = path("p.d");
        let commune = path("p.d.c");
        assert!(
            may_read(Some(&commune), &district),
            "issued above: applies to the commune"
        );
        assert!(!may_write(Some(&commune), &district));
        assert!(may_read(Some(&district), &commune) && may_write(Some(&district), &commune));
        assert!(
            !may_read(Some(&path("p.e")), &commune),
            "a sibling district sees nothing"
        );
        assert!(may_read(None, &commune) && may_write(None, &commune));
    }
}
