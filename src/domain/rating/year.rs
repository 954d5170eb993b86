//! The year an evaluation is about, parsed once with its bounds.

use std::fmt;

use chrono::{Datelike, NaiveDate};
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{self, Output, ToSql};
use diesel::sql_types::Integer;

use super::{scheme_for, RatingScheme};
use crate::error::FieldError;

/// A year of evaluations: from 1930, the party's founding, to 2200, as the database allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, AsExpression, FromSqlRow)]
#[diesel(sql_type = Integer)]
#[serde(transparent)]
pub struct Year(i32);

impl Year {
    /// The first year evaluated.
    pub const FIRST: i32 = 1930;
    /// The last year the database holds.
    pub const LAST: i32 = 2200;

    /// A year within the bounds: what a list may filter on.
    pub fn new(year: i32) -> Option<Self> {
        (Self::FIRST..=Self::LAST).contains(&year).then_some(Year(year))
    }

    /// The year of an evaluation recorded on `today`: from 1930 to the current year, since a year is evaluated
    /// once it has begun at the earliest.
    pub fn evaluated(year: i32, today: NaiveDate) -> Result<Self, FieldError> {
        Year::new(year)
            .filter(|y| y.0 <= today.year())
            .ok_or_else(|| FieldError::new("year", format!("must be {} to {}", Self::FIRST, today.year())))
    }

    pub fn get(self) -> i32 {
        self.0
    }

    /// 1 January.
    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.0, 1, 1).expect("a year within the bounds")
    }

    /// 31 December.
    pub fn last_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.0, 12, 31).expect("a year within the bounds")
    }

    /// The rating scheme in force that year.
    pub fn scheme(self) -> &'static RatingScheme {
        scheme_for(self.0)
    }
}

impl fmt::Display for Year {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl ToSql<Integer, Pg> for Year {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        <i32 as ToSql<Integer, Pg>>::to_sql(&self.0, out)
    }
}

impl FromSql<Integer, Pg> for Year {
    fn from_sql(bytes: PgValue<'_>) -> deserialize::Result<Self> {
        let year = <i32 as FromSql<Integer, Pg>>::from_sql(bytes)?;
        Year::new(year).ok_or_else(|| format!("year {year} is out of bounds").into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_year_is_evaluated_from_1930_to_the_current_year() {
        let today = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        assert_eq!(Year::evaluated(1930, today).map(Year::get), Ok(1930));
        assert_eq!(Year::evaluated(2026, today).map(Year::get), Ok(2026));
        for refused in [1929, 2027, 2999] {
            let error = Year::evaluated(refused, today).unwrap_err();
            assert_eq!(
                (error.field.as_str(), error.message.as_str()),
                ("year", "must be 1930 to 2026")
            );
        }
        assert_eq!(Year::new(2200).map(Year::get), Some(2200));
        assert_eq!(Year::new(2201), None);
        assert_eq!(Year::new(2012).unwrap().scheme().id, "hd20_2008");
        assert_eq!(Year::new(2012).unwrap().last_day().to_string(), "2012-12-31");
    }
}
