//! The evaluation score: points from 0.0 to 100.0 in steps of a tenth, since committees award halves in
//! practice. Kept as whole tenths, so no rounding ever changes a stored score; stored as `numeric(4,1)`.

use std::fmt;

use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::data_types::PgNumeric;
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::Numeric;

/// A score, 0.0 to 100.0 with at most one decimal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, AsExpression, FromSqlRow)]
#[diesel(sql_type = Numeric)]
pub struct Score(i16);

/// The highest score, in tenths.
const MAX_TENTHS: i16 = 1000;

impl Score {
    /// The score of a whole number of points (0 to 100).
    pub fn points(points: i16) -> Option<Self> {
        Self::from_tenths(points.checked_mul(10)?)
    }

    pub fn from_tenths(tenths: i16) -> Option<Self> {
        (0..=MAX_TENTHS).contains(&tenths).then_some(Score(tenths))
    }

    /// A JSON number, refused unless it is 0 to 100 with at most one decimal (`50`, `50.0` and `49.5` are
    /// scores; `49.25` and `101` are not).
    pub fn parse(value: f64) -> Option<Self> {
        let tenths = value * 10.0;
        let whole = tenths.round();
        if !value.is_finite() || (tenths - whole).abs() > 1e-6 || !(0.0..=f64::from(MAX_TENTHS)).contains(&whole) {
            return None;
        }
        Some(Score(whole as i16))
    }

    pub fn tenths(self) -> i16 {
        self.0
    }

    pub fn as_f64(self) -> f64 {
        f64::from(self.0) / 10.0
    }
}

impl fmt::Display for Score {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.0 / 10, self.0 % 10)
    }
}

impl serde::Serialize for Score {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(self.as_f64())
    }
}

impl<'de> serde::Deserialize<'de> for Score {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = f64::deserialize(deserializer)?;
        Score::parse(value)
            .ok_or_else(|| serde::de::Error::custom("must be a number from 0 to 100 with at most one decimal"))
    }
}

impl utoipa::PartialSchema for Score {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::Number)
            .minimum(Some(0))
            .maximum(Some(100))
            .multiple_of(Some(0.1))
            .description(Some("Points from 0 to 100 with at most one decimal (`49.5`)."))
            .examples([serde_json::json!(49.5)])
            .build()
            .into()
    }
}

impl utoipa::ToSchema for Score {}

impl ToSql<Numeric, Pg> for Score {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        // numeric's digits are base 10,000: the whole points (at most 100) are one digit, the tenth a second.
        let (points, tenth) = (self.0 / 10, self.0 % 10);
        let (weight, digits) = match (points, tenth) {
            (0, 0) => (0, vec![]),
            (0, t) => (-1, vec![t * 1000]),
            (p, 0) => (0, vec![p]),
            (p, t) => (0, vec![p, t * 1000]),
        };
        let numeric = PgNumeric::Positive {
            weight,
            scale: 1,
            digits,
        };
        ToSql::<Numeric, Pg>::to_sql(&numeric, &mut out.reborrow())
    }
}

impl FromSql<Numeric, Pg> for Score {
    fn from_sql(bytes: PgValue<'_>) -> deserialize::Result<Self> {
        let (weight, digits) = match PgNumeric::from_sql(bytes)? {
            PgNumeric::Positive { weight, digits, .. } => (weight, digits),
            PgNumeric::Negative { .. } | PgNumeric::NaN => return Err("a score is never negative or NaN".into()),
        };
        let value: f64 = digits
            .iter()
            .enumerate()
            .map(|(i, d)| f64::from(*d) * 10_000f64.powi(i32::from(weight) - i as i32))
            .sum();
        Score::parse(value).ok_or_else(|| format!("{value} is not a score").into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_have_at_most_one_decimal() {
        assert_eq!(Score::parse(50.0), Some(Score(500)));
        assert_eq!(Score::parse(49.5), Some(Score(495)));
        assert_eq!(Score::parse(0.1 * 3.0), Some(Score(3)));
        assert_eq!(Score::parse(100.0), Some(Score(1000)));
        assert_eq!(Score::parse(0.0), Some(Score(0)));
        for bad in [49.25, 100.1, -0.5, f64::NAN, f64::INFINITY, 1e300] {
            assert_eq!(Score::parse(bad), None, "{bad}");
        }
        assert_eq!(Score::points(90), Some(Score(900)));
        assert_eq!(Score::points(101), None);
        assert_eq!(Score(495).to_string(), "49.5");
        assert_eq!(Score(5).to_string(), "0.5");
    }

    #[test]
    fn json_numbers_of_either_kind_are_accepted() {
        assert_eq!(serde_json::from_str::<Score>("50").unwrap(), Score(500));
        assert_eq!(serde_json::from_str::<Score>("50.0").unwrap(), Score(500));
        assert_eq!(serde_json::from_str::<Score>("49.5").unwrap(), Score(495));
        assert!(serde_json::from_str::<Score>("49.55").is_err());
        assert!(serde_json::from_str::<Score>("\"50\"").is_err());
        assert_eq!(serde_json::to_string(&Score(495)).unwrap(), "49.5");
        assert_eq!(serde_json::to_string(&Score(500)).unwrap(), "50.0");
    }
}
