//! The year's dues, at the rates of 2012 (Regulation 342-QĐ/TW of 2010, which 01-QĐ/TW of 2026 later replaced):
//! 1% of the salary for members paid by the state (the salary scale's coefficient times the base salary, 830,000
//! đồng until April 2012 and 1,050,000 from May) and of the insurable wage for enterprise workers, 0.5% of the
//! pension for pensioners, and for the others, farmers of a mountain district, the lowest flat rate: 2,000 đồng a
//! month of working age, half of it past it. Members pay at the cell's regular meeting, or during the month when
//! it held none, now and then a month late; the months a member is expected to pay are those the dues report
//! counts (admitted by the end of the month, probationary or official then).

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use super::{Habit, Member, YEAR};
use crate::auth::Actor;
use crate::domain::ids::MemberId;
use crate::domain::organisation::Sector;
use crate::error::ApiError;
use crate::resources::dues::service::{self as dues, Payment, Period};
use crate::resources::dues::store::DueValues;
use crate::seed::dice::Dice;

/// What a member pays each month.
#[derive(Debug, Clone, Copy)]
pub(super) enum Rate {
    /// 1% of a state salary: the coefficient of the salary scale, in hundredths, times the base salary.
    Salary { coefficient: i64 },
    /// 1% of an enterprise's insurable wage, in đồng.
    Wage { wage: i64 },
    /// 0.5% of a pension, in đồng.
    Pension { pension: i64 },
    /// A flat amount, in đồng.
    Flat(i64),
}

/// Coefficients of the salary scale for officials, in hundredths.
const COEFFICIENTS: &[i64] = &[234, 267, 300, 333, 366, 399, 432, 465, 498];

impl Rate {
    /// The rate of a member of an organisation of `sector` born on `birth_date`.
    pub(super) fn draw(dice: &mut Dice, sector: Sector, birth_date: NaiveDate) -> Rate {
        let age = YEAR - birth_date.year();
        let state = matches!(
            sector,
            Sector::AdministrativeAgency | Sector::PublicServiceUnit | Sector::ArmedForces
        );
        match sector {
            _ if age >= 60 && (state || dice.below(2) == 0) => Rate::Pension {
                pension: 1_200_000 + 10_000 * dice.below(280) as i64,
            },
            _ if state => Rate::Salary {
                coefficient: *dice.pick(COEFFICIENTS),
            },
            Sector::Enterprise => Rate::Wage {
                wage: 2_500_000 + 50_000 * dice.below(70) as i64,
            },
            // Commune officials and teachers in the communes are paid by the state too.
            _ if age < 60 && dice.below(5) == 0 => Rate::Salary {
                coefficient: *dice.pick(COEFFICIENTS),
            },
            _ if age >= 60 => Rate::Flat(1_000),
            _ => Rate::Flat(2_000),
        }
    }

    /// The amount for `month` of the year, in whole đồng.
    fn amount(self, month: u32) -> i64 {
        let base = if month < 5 { 830_000 } else { 1_050_000 };
        match self {
            Rate::Salary { coefficient } => coefficient * base / 10_000,
            Rate::Wage { wage } => wage / 100,
            Rate::Pension { pension } => pension / 200,
            Rate::Flat(amount) => amount,
        }
    }
}

/// Records the year's payments of `people`; `regular` is each holder's regular meeting day of each month.
pub(super) async fn record(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    dice: &mut Dice,
    people: &[Member],
    regular: &[[Option<NaiveDate>; 12]],
) -> Result<(), ApiError> {
    let year_end = NaiveDate::from_ymd_opt(YEAR, 12, 31).expect("a day");
    let mut expected: HashMap<Uuid, Vec<Period>> = HashMap::new();
    for e in crate::reports::expected_payments(conn, YEAR, year_end).await? {
        if let Some(period) = Period::parse(&e.period) {
            expected.entry(e.member_id).or_default().push(period);
        }
    }
    let mut payments = Vec::new();
    for person in people {
        for period in expected.get(&person.id).into_iter().flatten() {
            let month = period.month;
            let pays = match person.habit {
                _ if person.habit.away_in(month) => false,
                Habit::Lapsing => dice.below(100) < 45,
                _ => dice.below(1000) >= 12,
            };
            if !pays {
                continue;
            }
            let paid_on = match regular[person.holder][month as usize - 1] {
                _ if dice.below(100) < 6 => {
                    let next = NaiveDate::from_ymd_opt(YEAR, month, 1)
                        .and_then(|d| d.checked_add_months(chrono::Months::new(1)));
                    next.expect("a day") + chrono::Duration::days(dice.below(15) as i64)
                }
                Some(on) => on,
                None => NaiveDate::from_ymd_opt(YEAR, month, 5 + dice.below(20) as u32).expect("a day"),
            };
            payments.push(Payment {
                member_id: MemberId(person.id),
                period: *period,
                values: DueValues {
                    amount: person.dues.amount(month),
                    paid_on,
                    note: None,
                },
            });
        }
    }
    dues::record_many(conn, actor, payments).await?;
    Ok(())
}
