//! The `resolutions` and `resolution_implementations` tables: rows, the forms they are written with, and queries.

mod implementations;
mod resolutions;

pub use implementations::{
    delete_implementation, implementation, implementation_count, implementations, implementations_count,
    insert_implementation_fields, lock_implementation, reported_indicators, update_implementation,
    ImplementationFields, ImplementationRow,
};
pub use resolutions::{
    count, delete, find, find_with, insert_fields, list, organisation_usage, update, ResolutionFields,
    ResolutionFilter, ResolutionRow,
};

/// Whether a read locks the row it reads for the rest of the transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    /// A plain read.
    Unlocked,
    /// `FOR NO KEY UPDATE` on the row itself (not on the rows joined to it).
    ForUpdate,
    /// `FOR SHARE` on the row itself: it cannot change (its targets stay as read) until the transaction ends.
    Share,
}
