//! members: the HTTP layer (`http`) and the stored rows and queries (`store`).

pub mod http;
pub mod store;
