//! Thanh Sơn's 2025 reform, as the demo records it: one reorganisation of the Phú Thọ provincial committee,
//! effective 1 July 2025 and applied through the reorganisations service (the code behind
//! `POST /api/v1/reorganisations`). The district's commune base committees are grouped into new commune
//! committees directly under the province ([`NEW_COMMUNES`]: the demo's own grouping of neighbours, not the real
//! resolution's), their village cells move under the new committees as base cells, the agencies' and
//! enterprises' base organisations move under the province, and the district and the old communes end, each
//! linked to its successor. Members sit in cells and base cells, which move whole, so no member is transferred
//! and the ended committees are left empty.

use std::collections::HashMap;

use chrono::NaiveDate;
use diesel_async::AsyncPgConnection;

use crate::auth::Actor;
use crate::domain::organisation::{OrganisationKind, Sector};
use crate::error::ApiError;
use crate::resources::organisations::store::{self as organisation_rows, OrganisationFilter, OrganisationRow};
use crate::resources::reorganisations::operations::{CreateOp, Decision, MoveOp, SuccessorOp, Target};
use crate::resources::reorganisations::service as reorganisations;
use crate::resources::reorganisations::store::Header;

/// The new commune committees: code, name, and the old communes each takes over (codes of
/// [`COMMUNES`](super::places_and_names::COMMUNES)), two to four neighbours.
const NEW_COMMUNES: &[(&str, &str, &[&str])] = &[
    ("PT-XA-THANHSON", "Đảng bộ xã Thanh Sơn", &["TT", "SH", "GL", "TK"]),
    ("PT-XA-VOMIEU", "Đảng bộ xã Võ Miếu", &["VMI", "DQ", "TL"]),
    ("PT-XA-VANMIEU", "Đảng bộ xã Văn Miếu", &["VM", "CT", "TTH"]),
    ("PT-XA-CUDONG", "Đảng bộ xã Cự Đồng", &["CD", "TSO"]),
    ("PT-XA-HUONGCAN", "Đảng bộ xã Hương Cần", &["HC", "TM", "YLU"]),
    ("PT-XA-TANLAP", "Đảng bộ xã Tân Lập", &["TLA", "YLA"]),
    ("PT-XA-KHACUU", "Đảng bộ xã Khả Cửu", &["KC", "DC", "TC"]),
    ("PT-XA-YENSON", "Đảng bộ xã Yên Sơn", &["YS", "LN", "TN", "STH"]),
];

/// The province's decision.
const DECISION_NUMBER: &str = "1468-QĐ/TU";

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("a valid date")
}

/// Records the reform of `district` (the demo's, as loaded) under `province`; returns how many organisations it
/// created.
pub(super) async fn record(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    province: &OrganisationRow,
    district: &OrganisationRow,
) -> Result<usize, ApiError> {
    let filter = OrganisationFilter {
        under: Some(district.path.clone()),
        today: crate::domain::today(),
        ..OrganisationFilter::default()
    };
    let mut below = organisation_rows::list(conn, &filter, None, i64::MAX).await?;
    below.sort_by(|a, b| a.code.cmp(&b.code));
    let by_code: HashMap<&str, &OrganisationRow> = below.iter().map(|o| (o.code.as_str(), o)).collect();
    let mut decision = Decision {
        header: Header {
            decision_number: DECISION_NUMBER.to_owned(),
            decided_on: day(2025, 6, 27),
            effective_on: day(2025, 7, 1),
            note: Some(
                "Kết thúc hoạt động của Đảng bộ huyện Thanh Sơn và các đảng bộ xã, thị trấn trực thuộc; thành lập \
                 các đảng bộ xã mới trực thuộc Đảng bộ tỉnh Phú Thọ."
                    .to_owned(),
            ),
        },
        create: Vec::new(),
        moves: Vec::new(),
        transfers: Vec::new(),
        end: Vec::new(),
        successors: Vec::new(),
    };
    let mut grouped = Vec::new();
    for (code, name, old_communes) in NEW_COMMUNES {
        let new = Target::Ref((*code).to_owned());
        decision.create.push(CreateOp {
            label: Some((*code).to_owned()),
            code: (*code).to_owned(),
            name: (*name).to_owned(),
            kind: OrganisationKind::SuperiorCommittee,
            sector: Some(Sector::Commune),
            parent: Target::Id(province.id),
            address: Some(format!("{}, tỉnh Phú Thọ", name.trim_start_matches("Đảng bộ "))),
        });
        for old in *old_communes {
            let commune = by_code[format!("TS-{old}").as_str()];
            grouped.push(commune.id);
            for cell in below.iter().filter(|o| o.parent_id == Some(commune.id)) {
                decision.moves.push(MoveOp {
                    organisation_id: cell.id,
                    to_parent: new.clone(),
                    kind: Some(OrganisationKind::BaseCell),
                });
            }
            decision.end.push(commune.id);
            decision.successors.push(SuccessorOp {
                organisation_id: commune.id,
                successor: new.clone(),
            });
        }
    }
    for unit in below
        .iter()
        .filter(|o| o.parent_id == Some(district.id) && !grouped.contains(&o.id))
    {
        decision.moves.push(MoveOp {
            organisation_id: unit.id,
            to_parent: Target::Id(province.id),
            kind: None,
        });
    }
    decision.end.push(district.id);
    decision.successors.push(SuccessorOp {
        organisation_id: district.id,
        successor: Target::Id(province.id),
    });
    let applied = reorganisations::apply(conn, actor, decision, false).await?;
    Ok(applied.operations.create.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::places_and_names::COMMUNES;

    #[test]
    fn the_demo_reform_gives_every_old_commune_to_one_new_commune_of_two_to_four() {
        let mut taken: Vec<&str> = NEW_COMMUNES
            .iter()
            .flat_map(|(_, _, old)| old.iter().copied())
            .collect();
        taken.sort_unstable();
        let mut communes: Vec<&str> = COMMUNES.iter().map(|(code, _, _)| *code).collect();
        communes.sort_unstable();
        assert_eq!(taken, communes);
        assert!(NEW_COMMUNES.iter().all(|(_, _, old)| (2..=4).contains(&old.len())));
    }
}
