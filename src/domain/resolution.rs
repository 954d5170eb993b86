//! Thematic resolutions and their implementation: vocabulary, targets and the implementation status order.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::text_enum;
use crate::error::FieldError;

text_enum! {
    /// The field of party building a resolution is about.
    #[schema(example = "member_development")]
    ResolutionField {
        PoliticalIdeology => "political_ideology",
        MemberDevelopment => "member_development",
        InspectionSupervision => "inspection_supervision",
        OrganisationBuilding => "organisation_building",
        SocioEconomic => "socio_economic",
        DefenceSecurity => "defence_security",
        MassMobilisation => "mass_mobilisation",
        Other => "other",
    }
}

text_enum! {
    #[schema(example = "in_force")]
    ResolutionStatus {
        InForce => "in_force",
        Expired => "expired",
        Superseded => "superseded",
    }
}

text_enum! {
    /// How far an organisation has carried a resolution out; it only moves forward.
    #[schema(example = "in_progress")]
    ImplementationStatus {
        Planned => "planned",
        InProgress => "in_progress",
        Completed => "completed",
    }
}

/// The largest target or achieved quantity. Bounded so that every stored quantity reads back as the number written
/// (PostgreSQL prints a JSON number in full, and a number near the largest double does not parse back).
pub const MAX_QUANTITY: f64 = 1_000_000_000.0;

/// A measurable target of a resolution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// What is measured; unique within the resolution.
    #[schema(
        example = "new members admitted",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00]*[^\s\x00][^\x00]*$"
    )]
    pub indicator: String,
    /// The number to reach, 0 to 1,000,000,000.
    #[schema(example = 300, minimum = 0, maximum = 1_000_000_000)]
    pub target: f64,
    /// The unit of `target`.
    #[schema(
        example = "members",
        min_length = 1,
        max_length = 50,
        pattern = r"^[^\x00]*[^\s\x00][^\x00]*$"
    )]
    pub unit: String,
}

/// What an organisation achieved on one of the resolution's targets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Achievement {
    /// One of the resolution's target indicators.
    #[schema(
        example = "new members admitted",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00]*[^\s\x00][^\x00]*$"
    )]
    pub indicator: String,
    /// 0 to 1,000,000,000.
    #[schema(example = 12, minimum = 0, maximum = 1_000_000_000)]
    pub achieved: f64,
}

/// Declares a list stored whole as a `jsonb` array: read back, an array that does not parse as the list is an error
/// of the read (never an empty list in its place).
macro_rules! jsonb_list {
    ($(#[$meta:meta])* $name:ident($item:ty)) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
        #[derive(diesel::expression::AsExpression, diesel::deserialize::FromSqlRow)]
        #[diesel(sql_type = diesel::sql_types::Jsonb)]
        #[serde(transparent)]
        pub struct $name(pub Vec<$item>);

        impl diesel::serialize::ToSql<diesel::sql_types::Jsonb, diesel::pg::Pg> for $name {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>,
            ) -> diesel::serialize::Result {
                use std::io::Write;
                out.write_all(&[JSONB_VERSION])?;
                serde_json::to_writer(out, &self.0)?;
                Ok(diesel::serialize::IsNull::No)
            }
        }

        impl diesel::deserialize::FromSql<diesel::sql_types::Jsonb, diesel::pg::Pg> for $name {
            fn from_sql(value: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
                parse_jsonb(value.as_bytes(), stringify!($name)).map($name)
            }
        }
    };
}

/// The version byte that starts PostgreSQL's binary `jsonb`.
const JSONB_VERSION: u8 = 1;

/// Parses a binary `jsonb` value as a list; `what` names the list in the error.
fn parse_jsonb<T: serde::de::DeserializeOwned>(bytes: &[u8], what: &str) -> diesel::deserialize::Result<Vec<T>> {
    match bytes.split_first() {
        Some((&JSONB_VERSION, json)) => {
            serde_json::from_slice(json).map_err(|e| format!("stored {what} do not parse: {e}").into())
        }
        _ => Err(format!("stored {what}: not a version {JSONB_VERSION} jsonb value").into()),
    }
}

jsonb_list!(
    /// A resolution's targets, as stored.
    Targets(Target)
);

jsonb_list!(
    /// What an implementation achieved, as stored.
    Achievements(Achievement)
);

/// Checks a resolution's targets: each names a non-empty, unique indicator and a unit.
pub fn check_targets(targets: &[Target]) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for (i, t) in targets.iter().enumerate() {
        let indicator = t.indicator.trim();
        if indicator.is_empty() || t.indicator.chars().count() > 200 {
            errors.push(FieldError::new(
                format!("targets[{i}].indicator"),
                "must be 1 to 200 characters",
            ));
        } else if targets[..i].iter().any(|o| o.indicator.trim() == indicator) {
            errors.push(FieldError::new(format!("targets[{i}].indicator"), "appears twice"));
        }
        if !(0.0..=MAX_QUANTITY).contains(&t.target) {
            errors.push(FieldError::new(
                format!("targets[{i}].target"),
                "must be 0 to 1000000000",
            ));
        }
        if t.unit.trim().is_empty() || t.unit.chars().count() > 50 {
            errors.push(FieldError::new(
                format!("targets[{i}].unit"),
                "must be 1 to 50 characters",
            ));
        }
    }
    if targets.len() > 100 {
        errors.push(FieldError::new("targets", "at most 100 targets"));
    }
    errors
}

/// Checks an implementation's results: each indicator is one of the targets, once.
pub fn check_results(results: &[Achievement], targets: &[Target]) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for (i, r) in results.iter().enumerate() {
        if !(0.0..=MAX_QUANTITY).contains(&r.achieved) {
            errors.push(FieldError::new(
                format!("results[{i}].achieved"),
                "must be 0 to 1000000000",
            ));
        }
        if !targets.iter().any(|t| t.indicator == r.indicator) {
            errors.push(FieldError::new(
                format!("results[{i}].indicator"),
                "is not one of the resolution's target indicators",
            ));
        } else if results[..i].iter().any(|o| o.indicator == r.indicator) {
            errors.push(FieldError::new(format!("results[{i}].indicator"), "appears twice"));
        }
    }
    errors
}

/// Whether an implementation may move from `from` to `to`: forward or staying, never back.
pub fn may_move(from: ImplementationStatus, to: ImplementationStatus) -> bool {
    to >= from
}

#[cfg(test)]
mod tests {
    use super::ImplementationStatus::*;
    use super::*;

    fn target(indicator: &str, unit: &str) -> Target {
        Target {
            indicator: indicator.into(),
            target: 10.0,
            unit: unit.into(),
        }
    }

    #[test]
    fn implementations_only_move_forward() {
        assert!(may_move(Planned, InProgress) && may_move(InProgress, Completed) && may_move(Planned, Completed));
        assert!(may_move(InProgress, InProgress));
        assert!(!may_move(Completed, InProgress) && !may_move(InProgress, Planned) && !may_move(Completed, Planned));
    }

    #[test]
    fn targets_need_an_indicator_and_a_unit_once_each() {
        assert!(check_targets(&[target("a", "members"), target("b", "%")]).is_empty());
        let errors = check_targets(&[target(" ", "x"), target("a", ""), target("a", "y")]);
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            vec!["targets[0].indicator", "targets[1].unit", "targets[2].indicator"]
        );
    }

    #[test]
    fn results_name_the_targets() {
        let targets = [target("a", "x")];
        let ok = Achievement {
            indicator: "a".into(),
            achieved: 3.0,
        };
        let unknown = Achievement {
            indicator: "z".into(),
            achieved: 1.0,
        };
        assert!(check_results(std::slice::from_ref(&ok), &targets).is_empty());
        assert_eq!(
            check_results(&[ok.clone(), unknown], &targets)[0].field,
            "results[1].indicator"
        );
        assert_eq!(check_results(&[ok.clone(), ok], &targets)[0].message, "appears twice");
    }

    #[test]
    fn stored_lists_that_do_not_parse_are_errors_not_empty_lists() {
        let stored = b"\x01[{\"indicator\": \"a\", \"target\": 10, \"unit\": \"x\"}]";
        assert_eq!(
            parse_jsonb::<Target>(stored, "targets").unwrap(),
            vec![target("a", "x")]
        );
        assert!(parse_jsonb::<Target>(b"\x01[{\"indicator\": \"a\"}]", "targets").is_err());
        assert!(parse_jsonb::<Target>(b"\x01{}", "targets").is_err());
        assert!(parse_jsonb::<Achievement>(b"[]", "results").is_err(), "no version byte");
    }

    #[test]
    fn quantities_are_bounded_so_that_they_read_back() {
        let mut huge = target("a", "x");
        huge.target = -f64::MAX;
        let mut negative = target("b", "x");
        negative.target = -1.0;
        let fields: Vec<String> = check_targets(&[huge, negative]).into_iter().map(|e| e.field).collect();
        assert_eq!(fields, vec!["targets[0].target", "targets[1].target"]);
        let mut edge = target("c", "x");
        edge.target = MAX_QUANTITY;
        assert!(check_targets(&[edge.clone()]).is_empty());
        let result = Achievement {
            indicator: "c".into(),
            achieved: f64::MAX,
        };
        assert_eq!(check_results(&[result], &[edge])[0].field, "results[0].achieved");
    }
}
