//! A reorganisation's operations: as a request gives them (ids or labels of creations of the same decision), and
//! as applied (every label resolved to an id), which is what is stored and shown.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::store::Header;
use crate::domain::ids::OrganisationId;
use crate::domain::organisation::{OrganisationKind, Sector};

/// Where an operation points: an existing organisation, or one created by the same reorganisation (its `ref`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Id(OrganisationId),
    Ref(String),
}

/// A new organisation; `established_on` is the reorganisation's `effective_on`.
#[derive(Debug, Clone)]
pub struct CreateOp {
    pub label: Option<String>,
    pub code: String,
    pub name: String,
    pub kind: OrganisationKind,
    pub sector: Option<Sector>,
    pub parent: Target,
    pub address: Option<String>,
}

/// An organisation moved, with its whole subtree, under another parent; `kind` is its kind from then on.
#[derive(Debug, Clone)]
pub struct MoveOp {
    pub organisation_id: OrganisationId,
    pub to_parent: Target,
    pub kind: Option<OrganisationKind>,
}

/// Every current member of one organisation transferred to another.
#[derive(Debug, Clone)]
pub struct TransferOp {
    pub from: OrganisationId,
    pub to: Target,
}

/// An ended organisation and one that carries on its work.
#[derive(Debug, Clone)]
pub struct SuccessorOp {
    pub organisation_id: OrganisationId,
    pub successor: Target,
}

/// A reorganisation as a request gives it.
#[derive(Debug, Clone)]
pub struct Decision {
    pub header: Header,
    pub create: Vec<CreateOp>,
    pub moves: Vec<MoveOp>,
    pub transfers: Vec<TransferOp>,
    pub end: Vec<OrganisationId>,
    pub successors: Vec<SuccessorOp>,
}

/// A creation as applied.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreatedOrganisation {
    /// The client's label, when it gave one.
    #[serde(rename = "ref")]
    #[schema(max_length = 64)]
    pub label: Option<String>,
    /// The new organisation.
    pub organisation_id: Uuid,
    #[schema(max_length = 32)]
    pub code: String,
    #[schema(max_length = 200)]
    pub name: String,
    pub kind: OrganisationKind,
    pub sector: Option<Sector>,
    pub parent_id: Uuid,
    #[schema(max_length = 500)]
    pub address: Option<String>,
}

/// A move as applied.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MovedOrganisation {
    pub organisation_id: Uuid,
    pub to_parent_id: Uuid,
    /// Its kind from then on.
    pub kind: OrganisationKind,
}

/// A transfer as applied.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MembersTransferred {
    pub from_organisation_id: Uuid,
    pub to_organisation_id: Uuid,
    /// How many members it transferred.
    #[schema(minimum = 0, maximum = 2147483647)]
    pub members: i64,
}

/// A successor link as applied.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SuccessorLink {
    pub organisation_id: Uuid,
    pub successor_id: Uuid,
}

/// The operations as applied, every `ref` resolved to an id.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct AppliedOperations {
    #[schema(max_items = 100000)]
    pub create: Vec<CreatedOrganisation>,
    #[serde(rename = "move")]
    #[schema(max_items = 100000)]
    pub moves: Vec<MovedOrganisation>,
    #[schema(max_items = 100000)]
    pub transfer_members: Vec<MembersTransferred>,
    #[schema(max_items = 100000)]
    pub end: Vec<Uuid>,
    #[schema(max_items = 100000)]
    pub successors: Vec<SuccessorLink>,
}
