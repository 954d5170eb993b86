//! An organisation as the API shows it and the audit trail records it.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::member::MemberStatus;
use crate::domain::organisation::{OrganisationKind, Sector};
use crate::resources::organisations::service::Counted;
use crate::resources::organisations::store::OrganisationRow;

/// A party organisation: a node of the organisation tree.
#[derive(Debug, Serialize, ToSchema)]
pub struct Organisation {
    #[schema(example = "0193a5c8-7f3e-7a10-9c4e-3b1f2a6d8e01")]
    pub id: Uuid,
    /// Unique short code.
    #[schema(
        example = "TS-XA-TINHNHUE",
        min_length = 1,
        max_length = 32,
        pattern = r"^[^\s\x00-\x1f\x7f-\x9f]{1,32}$"
    )]
    pub code: String,
    /// Full name.
    #[schema(
        example = "Đảng bộ xã Tinh Nhuệ",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00]*[^\s\x00][^\x00]*$"
    )]
    pub name: String,
    pub kind: OrganisationKind,
    pub sector: Option<Sector>,
    /// The organisation directly above; `null` for a root.
    pub parent_id: Option<Uuid>,
    #[schema(example = "1975-03-01")]
    pub established_on: Option<NaiveDate>,
    /// The day it ceased to exist; it is inactive from that day on.
    pub dissolved_on: Option<NaiveDate>,
    /// Not dissolved as of today (Vietnam time), or as of the `as_of` day of a read of the past. Read-only.
    pub active: bool,
    #[schema(
        example = "Xã Tinh Nhuệ, huyện Thanh Sơn, Phú Thọ",
        max_length = 500,
        pattern = r"^[^\x00]*$"
    )]
    pub address: Option<String>,
    #[schema(max_length = 4000, pattern = r"^[^\x00]*$")]
    pub note: Option<String>,
    /// The ended organisations whose work this one carries on, linked by reorganisations. Read-only.
    #[schema(max_items = 10000)]
    pub predecessor_ids: Vec<Uuid>,
    /// The organisations that carry on this one's work since it ended, linked by reorganisations. Read-only.
    #[schema(max_items = 10000)]
    pub successor_ids: Vec<Uuid>,
    /// Members of this organisation and every organisation below it, by status; present wherever one
    /// organisation is returned (read, create, change), absent in lists. Statuses with no member are absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = json!({"probationary": 12, "official": 230, "exempt": 4}))]
    pub member_counts: Option<BTreeMap<MemberStatus, i64>>,
    /// 1 on creation, +1 on every change; the ETag is this number in quotes.
    #[schema(example = 1, minimum = 1, maximum = 2147483647)]
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Organisation {
    /// An organisation as lists show it and the audit trail records it: without member counts.
    pub fn from_row(row: OrganisationRow, today: NaiveDate) -> Self {
        Organisation {
            active: row.dissolved_on.is_none_or(|d| d > today),
            id: row.id.0,
            code: row.code,
            name: row.name,
            kind: row.kind,
            sector: row.sector,
            parent_id: row.parent_id.map(|p| p.0),
            established_on: row.established_on,
            dissolved_on: row.dissolved_on,
            address: row.address,
            note: row.note,
            predecessor_ids: row.predecessor_ids,
            successor_ids: row.successor_ids,
            member_counts: None,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }

    /// One organisation as it is shown on its own, with its subtree's member counts.
    pub fn counted(counted: Counted, today: NaiveDate) -> Self {
        Organisation {
            member_counts: Some(counted.member_counts),
            ..Organisation::from_row(counted.row, today)
        }
    }
}
