//! Reorganisations: the HTTP layer, the checks and the application of a decision (`service`), and the stored
//! rows with the set-based statements (`store`).

pub mod http;
pub mod operations;
pub mod service;
pub mod store;
