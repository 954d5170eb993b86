//! Cell meetings: the HTTP layer (`http`), the operations with their rules and audit records (`service`), and the
//! stored rows and queries (`store`).

pub mod http;
pub mod service;
pub mod store;
