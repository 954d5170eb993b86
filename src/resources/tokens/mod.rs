//! API tokens: the HTTP layer, issuing and revoking (`service`, shared with the CLI) and the stored rows.

pub mod http;
pub mod service;
pub mod store;
