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

/// A measurable target of a resolution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// What is measured; unique within the resolution.
    #[schema(example = "new members admitted")]
    pub indicator: String,
    /// The number to reach.
    #[schema(example = 300)]
    pub target: f64,
    /// The unit of `target`.
    #[schema(example = "members")]
    pub unit: String,
}

/// What an organisation achieved on one of the resolution's targets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Achievement {
    /// One of the resolution's target indicators.
    #[schema(example = "new members admitted")]
    pub indicator: String,
    #[schema(example = 12)]
    pub achieved: f64,
}

/// Checks a resolution's targets: each names a non-empty, unique indicator and a unit.
pub fn check_targets(targets: &[Target]) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for (i, t) in targets.iter().enumerate() {
        let indicator = t.indicator.trim();
        if indicator.is_empty() || indicator.chars().count() > 200 {
            errors.push(FieldError::new(
                format!("targets[{i}].indicator"),
                "must be 1 to 200 characters",
            ));
        } else if targets[..i].iter().any(|o| o.indicator.trim() == indicator) {
            errors.push(FieldError::new(format!("targets[{i}].indicator"), "appears twice"));
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
}
