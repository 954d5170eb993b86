//! The one path every change and deletion of a stored resource takes, written once: lock the row, check
//! `If-Match`, merge the patch, skip when nothing changed, check the new values, store, audit. A resource says how
//! each step goes for it by implementing [`Patchable`] (and [`Removable`]); it cannot skip a step.

use std::future::Future;

use diesel_async::AsyncPgConnection;
use serde::Serialize;

use crate::audit::{self, Action};
use crate::auth::Actor;
use crate::error::{ApiError, FieldError};

/// The ETag of a resource at a version.
pub fn etag(version: i32) -> String {
    format!("\"{version}\"")
}

/// The ETag of a representation that adds figures kept outside the resource (an organisation's member counts):
/// the version, then a digest of the figures' JSON. SHA-256, so that the tag of a representation stays the same
/// across builds and instances.
pub fn etag_with(version: i32, figures: &impl serde::Serialize) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(serde_json::to_vec(figures).unwrap_or_default());
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("\"{version}-{hex}\"")
}

/// What a write expects the resource to be at: the `If-Match` list of a request, or anything.
#[derive(Debug, Clone, Default)]
pub struct IfMatch(Option<String>);

impl IfMatch {
    /// An `If-Match` header's value.
    pub fn header(value: Option<String>) -> Self {
        IfMatch(value)
    }

    /// No expectation: the CLI, the seed and imports change whatever is current.
    pub fn any() -> Self {
        IfMatch(None)
    }

    /// Refuses (412) unless the list names `current` or `*` exactly (strong comparison).
    pub fn check(&self, current: &str) -> Result<(), ApiError> {
        match &self.0 {
            None => Ok(()),
            Some(list) if list.split(',').map(str::trim).any(|t| t == "*" || t == current) => Ok(()),
            Some(_) => Err(ApiError::PreconditionFailed),
        }
    }
}

/// A resource that a merge patch changes.
pub trait Patchable {
    /// The row as stored.
    type Row: Send + Sync;
    /// The values a patch may change; equal values mean nothing changed.
    type Values: PartialEq + Send + Sync;
    /// The merge patch, as parsed from the request.
    type Patch: Send;
    /// The resource as the audit trail records it.
    type View: Serialize + Send + Sync;
    /// The resource's id.
    type Id: Copy + Send + Sync + std::fmt::Display;
    /// The resource type the audit trail names.
    const RESOURCE: &'static str;

    /// The row the actor may change, locked for the rest of the transaction: 404 when the actor cannot see it,
    /// 403 when it may not change it.
    fn lock(
        conn: &mut AsyncPgConnection,
        actor: &Actor,
        id: Self::Id,
    ) -> impl Future<Output = Result<Self::Row, ApiError>> + Send;

    /// The ETag the row is shown with, which `If-Match` must name.
    fn etag(conn: &mut AsyncPgConnection, row: &Self::Row) -> impl Future<Output = Result<String, ApiError>> + Send;

    /// The changeable values as stored.
    fn values(row: &Self::Row) -> Self::Values;

    /// The values after the patch; a field the patch may not clear, set to `null`, is an error against it.
    fn merge(current: &Self::Values, patch: Self::Patch) -> Result<Self::Values, Vec<FieldError>>;

    /// Checks changed values against the rules, including the actor's authority over what changes.
    fn check(
        conn: &mut AsyncPgConnection,
        actor: &Actor,
        row: &Self::Row,
        values: &Self::Values,
    ) -> impl Future<Output = Result<(), ApiError>> + Send;

    /// Stores the values, and whatever follows from them (a moved subtree), returning the stored row.
    fn store(
        conn: &mut AsyncPgConnection,
        row: &Self::Row,
        values: Self::Values,
    ) -> impl Future<Output = Result<Self::Row, ApiError>> + Send;

    /// The row as the audit trail records it.
    fn view(row: &Self::Row) -> Self::View;
}

/// A resource that can be deleted.
pub trait Removable: Patchable {
    /// Refuses (403) an actor that may change the row but not delete it; by default whoever may change it may.
    fn may_remove(_actor: &Actor, _row: &Self::Row) -> Result<(), ApiError> {
        Ok(())
    }

    /// Refuses (409) while something still depends on the row; deletes it otherwise.
    fn remove(conn: &mut AsyncPgConnection, row: &Self::Row) -> impl Future<Output = Result<(), ApiError>> + Send;
}

/// Changes one resource by a merge patch, in the caller's transaction: the stored row afterwards, unchanged (same
/// version, no audit record) when the patch changes nothing.
pub async fn update<P: Patchable>(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: P::Id,
    if_match: &IfMatch,
    patch: P::Patch,
) -> Result<P::Row, ApiError> {
    let row = P::lock(conn, actor, id).await?;
    if_match.check(&P::etag(conn, &row).await?)?;
    let current = P::values(&row);
    let values = P::merge(&current, patch).map_err(ApiError::Validation)?;
    if values == current {
        return Ok(row);
    }
    P::check(conn, actor, &row, &values).await?;
    let before = P::view(&row);
    let stored = P::store(conn, &row, values).await?;
    audit::record(
        conn,
        actor,
        Action::Update,
        P::RESOURCE,
        id,
        Some(&before),
        Some(&P::view(&stored)),
    )
    .await?;
    Ok(stored)
}

/// Deletes one resource, in the caller's transaction.
pub async fn delete<P: Removable>(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: P::Id,
    if_match: &IfMatch,
) -> Result<(), ApiError> {
    let row = P::lock(conn, actor, id).await?;
    P::may_remove(actor, &row)?;
    if_match.check(&P::etag(conn, &row).await?)?;
    let before = P::view(&row);
    P::remove(conn, &row).await?;
    audit::record(conn, actor, Action::Delete, P::RESOURCE, id, Some(&before), None).await?;
    Ok(())
}

/// Applies a merge-patch value to a field that may not be null: absent keeps `current`, `null` is recorded as an
/// error against `field`.
pub fn required<T: Clone>(errors: &mut Vec<FieldError>, field: &str, value: Option<Option<T>>, current: &T) -> T {
    match value {
        None => current.clone(),
        Some(Some(v)) => v,
        Some(None) => {
            errors.push(FieldError::new(field, "may not be null"));
            current.clone()
        }
    }
}

/// Applies a merge-patch value to a field that may be cleared: absent keeps `current`, `null` clears it.
pub fn optional<T: Clone>(value: Option<Option<T>>, current: &Option<T>) -> Option<T> {
    value.unwrap_or_else(|| current.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_names_the_current_etag_exactly() {
        assert!(IfMatch::any().check("\"3\"").is_ok());
        assert!(IfMatch::header(Some("\"2\", \"3\"".into())).check("\"3\"").is_ok());
        assert!(IfMatch::header(Some("*".into())).check("\"3\"").is_ok());
        for stale in ["\"2\"", "W/\"3\"", "\"3-deadbeef\"", ""] {
            assert!(
                matches!(
                    IfMatch::header(Some(stale.into())).check("\"3\""),
                    Err(ApiError::PreconditionFailed)
                ),
                "{stale}"
            );
        }
    }

    #[test]
    fn merge_values_keep_clear_or_refuse_null() {
        let mut errors = Vec::new();
        assert_eq!(required(&mut errors, "name", None, &"a".to_owned()), "a");
        assert_eq!(
            required(&mut errors, "name", Some(Some("b".to_owned())), &"a".to_owned()),
            "b"
        );
        assert!(errors.is_empty());
        assert_eq!(required(&mut errors, "name", Some(None), &"a".to_owned()), "a");
        assert_eq!(errors, vec![FieldError::new("name", "may not be null")]);
        assert_eq!(optional(Some(None), &Some(1)), None);
        assert_eq!(optional(None, &Some(1)), Some(1));
    }
}
