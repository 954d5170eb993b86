//! The `resolutions` and `resolution_implementations` tables: rows, the forms they are written with, and queries.

mod implementations;
mod resolutions;

use diesel::QueryResult;

pub use implementations::{
    delete_implementation, implementation, implementation_count, implementations, implementations_count,
    insert_implementation, insert_implementation_fields, lock_implementation, reported_indicators,
    update_implementation, ImplementationFields, ImplementationRow, ImplementationValues,
};
pub use resolutions::{
    count, delete, find, find_with, insert, insert_fields, list, organisation_usage, update, ResolutionFields,
    ResolutionFilter, ResolutionRow, ResolutionValues,
};

/// Whether a read locks the row it reads for the rest of the transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    /// A plain read.
    Unlocked,
    /// `FOR NO KEY UPDATE` on the row itself (not on the rows joined to it).
    ForUpdate,
}

/// A JSON list written by hand, as its items.
fn parse_json<T: serde::de::DeserializeOwned>(value: &serde_json::Value) -> QueryResult<Vec<T>> {
    serde_json::from_value(value.clone()).map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))
}
