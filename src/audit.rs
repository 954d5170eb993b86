//! The audit trail: every change is recorded, in the transaction that makes it, with who made it and what it
//! changed. Values are stored in the database only; nothing of them goes to the process log.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::auth::Actor;
use crate::domain::text_enum;
use crate::schema::audit_events;

text_enum! {
    /// What kind of change an audit event records.
    #[schema(example = "update")]
    Action {
        Create => "create",
        Update => "update",
        Delete => "delete",
        /// A lifecycle event of a member.
        Event => "event",
        /// A token was revoked.
        Revoke => "revoke",
    }
}

/// Fields that change with every write and say nothing about what changed.
const BOOKKEEPING: &[&str] = &["version", "updated_at", "created_at"];

/// The fields that differ between `before` and `after`, as `{"before": {...}, "after": {...}}`; a side that does
/// not exist (before a creation, after a deletion) is `null`.
pub fn changes(before: Option<Value>, after: Option<Value>) -> Value {
    let object = |v: &Option<Value>| v.as_ref().and_then(Value::as_object).cloned();
    let (old, new) = (object(&before), object(&after));
    let keep = |key: &String| !BOOKKEEPING.contains(&key.as_str());
    match (old, new) {
        (Some(old), Some(new)) => {
            let mut b = Map::new();
            let mut a = Map::new();
            for (key, value) in new.iter().filter(|(k, _)| keep(k)) {
                let previous = old.get(key).cloned().unwrap_or(Value::Null);
                if &previous != value {
                    b.insert(key.clone(), previous);
                    a.insert(key.clone(), value.clone());
                }
            }
            serde_json::json!({"before": b, "after": a})
        }
        (old, new) => {
            let strip = |m: Option<Map<String, Value>>| {
                m.map(|m| Value::Object(m.into_iter().filter(|(k, _)| keep(k)).collect()))
                    .unwrap_or(Value::Null)
            };
            serde_json::json!({"before": strip(old), "after": strip(new)})
        }
    }
}

#[derive(Insertable)]
#[diesel(table_name = audit_events, treat_none_as_default_value = false)]
struct NewAuditEvent<'a> {
    id: Uuid,
    actor: &'a str,
    action: Action,
    resource_type: &'a str,
    resource_id: String,
    changes: Value,
    request_id: &'a str,
}

/// Records one change; call it inside the transaction of the change. The actor's name and request id say who
/// made it and in which request (or command line run).
///
/// It takes the connection shared: polled together with another statement on the same connection (`try_join!`),
/// both go to PostgreSQL in one round trip (diesel-async pipelines them).
pub async fn record<T: Serialize>(
    conn: &AsyncPgConnection,
    actor: &Actor,
    action: Action,
    resource_type: &str,
    resource_id: impl std::fmt::Display,
    before: Option<&T>,
    after: Option<&T>,
) -> QueryResult<()> {
    let to_value = |v: Option<&T>| v.and_then(|v| serde_json::to_value(v).ok());
    diesel::insert_into(audit_events::table)
        .values(NewAuditEvent {
            id: Uuid::now_v7(),
            actor: &actor.identity.name,
            action,
            resource_type,
            resource_id: resource_id.to_string(),
            changes: changes(to_value(before), to_value(after)),
            request_id: &actor.request_id,
        })
        .execute(&mut &*conn)
        .await
        .map(|_| ())
}

/// Records the creation of many resources with one statement, as [`record`] records one.
pub async fn record_created<T: Serialize>(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    resource_type: &str,
    created: &[(String, &T)],
) -> QueryResult<()> {
    if created.is_empty() {
        return Ok(());
    }
    let events: Vec<NewAuditEvent> = created
        .iter()
        .map(|(id, after)| NewAuditEvent {
            id: Uuid::now_v7(),
            actor: &actor.identity.name,
            action: Action::Create,
            resource_type,
            resource_id: id.clone(),
            changes: changes(None, serde_json::to_value(after).ok()),
            request_id: &actor.request_id,
        })
        .collect();
    diesel::insert_into(audit_events::table)
        .values(&events)
        .execute(conn)
        .await
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_update_keeps_only_the_changed_fields() {
        let before = json!({"name": "A", "code": "X", "version": 1});
        let after = json!({"name": "B", "code": "X", "version": 2});
        assert_eq!(
            changes(Some(before), Some(after)),
            json!({"before": {"name": "A"}, "after": {"name": "B"}})
        );
    }

    #[test]
    fn a_creation_has_no_before_and_a_deletion_no_after() {
        let value = json!({"name": "A", "updated_at": "2026-01-01T00:00:00Z"});
        assert_eq!(
            changes(None, Some(value.clone())),
            json!({"before": null, "after": {"name": "A"}})
        );
        assert_eq!(
            changes(Some(value), None),
            json!({"before": {"name": "A"}, "after": null})
        );
    }
}
