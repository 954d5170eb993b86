//! organisations: the HTTP layer (`http`), the operations and their rules (`service`), the stored rows and
//! queries (`store`), and the organisation as shown and recorded (`view`).

pub mod http;
pub mod service;
pub mod store;
pub mod view;
