//! The organisation tree: codes, kinds, sectors and which kind may sit under which.

use diesel::expression::AsExpression;
use diesel::pg::Pg;
use diesel::serialize::{Output, ToSql};
use diesel::sql_types::Text;

use super::text_enum;

/// An organisation's unique short code: 1 to 32 characters, no spaces or control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, AsExpression)]
#[diesel(sql_type = Text)]
#[serde(transparent)]
pub struct OrgCode(String);

impl OrgCode {
    /// The longest code, in characters.
    pub const MAX_LENGTH: usize = 32;

    /// Parses a code; the error says what a code must be.
    pub fn parse(code: String) -> Result<OrgCode, &'static str> {
        if code.trim().is_empty() || code.chars().count() > Self::MAX_LENGTH {
            Err("must be 1 to 32 characters, not blank")
        } else if code.chars().any(|c| c.is_whitespace() || c.is_control()) {
            Err("must not contain spaces or control characters")
        } else {
            Ok(OrgCode(code))
        }
    }

    /// A code read back from the database, where only parsed codes are written.
    pub fn stored(code: String) -> OrgCode {
        OrgCode(code)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<OrgCode> for String {
    fn from(code: OrgCode) -> String {
        code.0
    }
}

impl ToSql<Text, Pg> for OrgCode {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> diesel::serialize::Result {
        <str as ToSql<Text, Pg>>::to_sql(&self.0, out)
    }
}

text_enum! {
    /// The kind of a party organisation.
    #[schema(example = "base_committee")]
    OrganisationKind {
        /// A committee above the grassroots: district, province, or a commune-level superior committee.
        SuperiorCommittee => "superior_committee",
        /// A base party committee (usually 30 or more members), with cells below it.
        BaseCommittee => "base_committee",
        /// A base cell: a grassroots organisation without cells below it.
        BaseCell => "base_cell",
        /// A partial committee inside a base committee.
        PartialCommittee => "partial_committee",
        /// A cell under a base or partial committee.
        Cell => "cell",
    }
}

text_enum! {
    /// Where an organisation sits.
    #[schema(example = "commune")]
    Sector {
        Commune => "commune",
        Ward => "ward",
        Township => "township",
        AdministrativeAgency => "administrative_agency",
        PublicServiceUnit => "public_service_unit",
        Enterprise => "enterprise",
        ArmedForces => "armed_forces",
        Other => "other",
    }
}

impl OrganisationKind {
    /// The kinds an organisation of this kind may sit under; empty when it may only be a root.
    pub fn allowed_parents(self) -> &'static [OrganisationKind] {
        use OrganisationKind::*;
        match self {
            SuperiorCommittee => &[SuperiorCommittee],
            BaseCommittee | BaseCell => &[SuperiorCommittee],
            PartialCommittee => &[BaseCommittee],
            Cell => &[BaseCommittee, PartialCommittee],
        }
    }

    /// Whether this kind may be a root of the tree.
    pub fn may_be_root(self) -> bool {
        self == OrganisationKind::SuperiorCommittee
    }

    /// Whether organisations of this kind are committees, which issue resolutions.
    pub fn is_committee(self) -> bool {
        matches!(
            self,
            OrganisationKind::SuperiorCommittee | OrganisationKind::BaseCommittee | OrganisationKind::PartialCommittee
        )
    }

    /// Whether it is a base (grassroots) organisation, the unit of the yearly evaluations and their reports.
    pub fn is_base(self) -> bool {
        matches!(self, OrganisationKind::BaseCommittee | OrganisationKind::BaseCell)
    }

    /// Whether members are registered directly in organisations of this kind.
    pub fn holds_members(self) -> bool {
        matches!(self, OrganisationKind::BaseCell | OrganisationKind::Cell)
    }
}

/// Checks that an organisation of kind `child` may sit under `parent` (`None` for a root). The error says what fits.
pub fn check_placement(child: OrganisationKind, parent: Option<OrganisationKind>) -> Result<(), String> {
    let allowed = child.allowed_parents();
    match parent {
        None if child.may_be_root() => Ok(()),
        None => Err(format!("a {child} needs a parent ({})", names(allowed))),
        Some(p) if allowed.contains(&p) => Ok(()),
        Some(p) => Err(format!(
            "a {child} cannot sit under a {p}; it fits under {}",
            names(allowed)
        )),
    }
}

fn names(kinds: &[OrganisationKind]) -> String {
    kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(" or ")
}

/// The ltree label of an organisation id: its hex digits without dashes.
pub fn path_label(id: uuid::Uuid) -> String {
    id.simple().to_string()
}

#[cfg(test)]
mod tests {
    use super::OrganisationKind::*;
    use super::*;

    #[test]
    fn only_superior_committees_are_roots() {
        assert!(check_placement(SuperiorCommittee, None).is_ok());
        for kind in [BaseCommittee, BaseCell, PartialCommittee, Cell] {
            assert!(check_placement(kind, None).is_err(), "{kind}");
        }
    }

    #[test]
    fn each_kind_fits_only_under_its_parents() {
        let fits = [
            (SuperiorCommittee, SuperiorCommittee),
            (BaseCommittee, SuperiorCommittee),
            (BaseCell, SuperiorCommittee),
            (PartialCommittee, BaseCommittee),
            (Cell, BaseCommittee),
            (Cell, PartialCommittee),
        ];
        for child in OrganisationKind::ALL {
            for parent in OrganisationKind::ALL {
                let expected = fits.contains(&(*child, *parent));
                assert_eq!(
                    check_placement(*child, Some(*parent)).is_ok(),
                    expected,
                    "{child} under {parent}"
                );
            }
        }
    }

    #[test]
    fn a_refusal_says_what_fits() {
        assert_eq!(
            check_placement(Cell, Some(BaseCell)).unwrap_err(),
            "a cell cannot sit under a base_cell; it fits under base_committee or partial_committee"
        );
    }

    #[test]
    fn kinds_round_trip_through_text() {
        for kind in OrganisationKind::ALL {
            assert_eq!(kind.as_str().parse::<OrganisationKind>(), Ok(*kind));
        }
        assert!("district".parse::<OrganisationKind>().is_err());
        assert_eq!(
            format!("{:<6}|", Cell),
            "cell  |",
            "names take a width, as in the command-line tables"
        );
        assert!(BaseCell.holds_members() && Cell.holds_members());
        assert!(SuperiorCommittee.is_committee() && BaseCommittee.is_committee() && PartialCommittee.is_committee());
        assert!(!BaseCell.is_committee() && !Cell.is_committee());
        assert!(BaseCommittee.is_base() && BaseCell.is_base() && !Cell.is_base() && !SuperiorCommittee.is_base());
        assert!(!BaseCommittee.holds_members() && !PartialCommittee.holds_members());
    }

    #[test]
    fn codes_are_short_words_without_spaces() {
        assert_eq!(OrgCode::parse("TS-XA-1".into()).unwrap().as_str(), "TS-XA-1");
        assert!(OrgCode::parse("x".repeat(32)).is_ok());
        for bad in ["", "  ", "TS XA", "TS\tXA", "TS\u{7}", &"x".repeat(33)] {
            assert!(OrgCode::parse(bad.to_owned()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn labels_are_valid_ltree_labels() {
        let label = path_label(uuid::Uuid::now_v7());
        assert_eq!(label.len(), 32);
        assert!(label.chars().all(|c| c.is_ascii_alphanumeric()));
    }
}
