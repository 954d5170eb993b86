//! One folder per resource: its HTTP layer (routes, OpenAPI annotations, request and response types), its
//! operations (the rules and the audit trail, shared by HTTP, the CLI and the seed) and its stored rows.

pub mod audit;
pub mod candidates;
pub mod changes;
pub mod dues;
pub mod evaluations;
pub mod health;
pub mod imports;
pub mod meetings;
pub mod members;
pub mod organisations;
pub mod reorganisations;
pub mod resolutions;
pub mod tokens;
pub mod webhooks;
