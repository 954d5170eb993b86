//! evaluations: the HTTP layer (`http`), the operations and their rules (`service`) and the stored rows and
//! queries (`store`).

pub mod http;
pub mod service;
pub mod store;
