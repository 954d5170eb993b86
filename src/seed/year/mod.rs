//! The demo's year of cell life, 2012 (the year of its evaluations and of most of its admissions): every cell and
//! base cell holds its monthly regular meeting and a thematic meeting most quarters, with each member's
//! attendance, and its members pay their monthly dues. The year is drawn with its own dice so that the rest of
//! the demo stays as it was, and stored through the meetings' and dues' services for many records at once (the
//! same rules as one at a time, a few statements for the whole year), each record in the audit trail and the
//! change feed.
//!
//! Most members are steady. A few drift away from the party's life (absent without an excuse from about half the
//! meetings and paying about half the months): the meetings report lists them as absent without an excuse in
//! three or more months and the dues report as behind. A few more work away from home for three to five months
//! (excused from the meetings, no dues meanwhile). About one cell in seven is weak: it misses some months'
//! meetings, holds fewer thematic meetings, and more of its members stay away.

mod dues;
mod meetings;

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::dice::Dice;
use crate::auth::Actor;
use crate::domain::organisation::Sector;
use crate::error::ApiError;
use crate::resources::organisations::store::OrganisationRow;
use crate::schema::members;

/// The demo's year of meetings and dues.
pub(super) const YEAR: i32 = 2012;

/// How a member takes part in the cell's life during the year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Habit {
    Steady,
    /// Drifting away: often absent without an excuse, often not paying.
    Lapsing,
    /// Working away from home for `months` months from month `from`: excused, and paying nothing meanwhile.
    Away {
        from: u32,
        months: u32,
    },
}

impl Habit {
    fn away_in(self, month: u32) -> bool {
        matches!(self, Habit::Away { from, months } if (from..from + months).contains(&month))
    }
}

/// A member of one of the demo's cells, as the year needs them.
struct Member {
    id: Uuid,
    holder: usize,
    habit: Habit,
    dues: dues::Rate,
}

/// Records the year for the members of `holders` (the demo's cells and base cells, as loaded).
pub(super) async fn record(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    holders: &[OrganisationRow],
) -> Result<(), ApiError> {
    let mut dice = Dice(0x4d45_4554_494e_4753);
    let ids: Vec<Uuid> = holders.iter().map(|h| h.id.0).collect();
    // In the order of their card numbers, which the seed gives, so that every load draws the same habits.
    let rows: Vec<(Uuid, Uuid, chrono::NaiveDate)> = members::table
        .filter(members::organisation_id.eq_any(&ids))
        .order(members::card_number)
        .select((members::id, members::organisation_id, members::birth_date))
        .load(conn)
        .await?;
    let mut people = Vec::with_capacity(rows.len());
    for (id, organisation, birth_date) in rows {
        let holder = ids.iter().position(|h| *h == organisation).unwrap_or_default();
        let habit = match dice.below(1000) {
            0..=2 => Habit::Lapsing,
            3..=7 => Habit::Away {
                from: 1 + dice.below(10) as u32,
                months: 3 + dice.below(3) as u32,
            },
            _ => Habit::Steady,
        };
        let sector = holders[holder].sector.unwrap_or(Sector::Other);
        let dues = dues::Rate::draw(&mut dice, sector, birth_date);
        people.push(Member {
            id,
            holder,
            habit,
            dues,
        });
    }
    let held = meetings::record(conn, actor, &mut dice, holders, &people).await?;
    dues::record(conn, actor, &mut dice, &people, &held).await?;
    Ok(())
}
