//! The change feed: every committed change, once, in commit order, for systems that keep a copy.

pub mod http;
pub mod store;
