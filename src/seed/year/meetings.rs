//! The year's meetings: each cell's regular meeting early in the month (a weak cell misses some months), a
//! thematic meeting in most quarters (sometimes the same day), and who came to each.

use std::collections::HashMap;

use chrono::NaiveDate;
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use super::{Habit, Member, YEAR};
use crate::auth::Actor;
use crate::domain::ids::MemberId;
use crate::domain::meeting::{AttendanceStatus, MeetingKind};
use crate::error::ApiError;
use crate::resources::meetings::service::{self as meetings, NewMeeting};
use crate::resources::organisations::store::OrganisationRow;
use crate::seed::dice::Dice;

/// The subjects of the thematic meetings of 2012: the first quarter's is the Central Committee's resolution of
/// January 2012 that every cell studied.
const THEMES: &[&str] = &[
    "Học tập, quán triệt Nghị quyết Trung ương 4 (khóa XI) một số vấn đề cấp bách về xây dựng Đảng hiện nay",
    "Học tập và làm theo tấm gương đạo đức Hồ Chí Minh",
    "Xây dựng nông thôn mới ở khu dân cư",
    "Công tác phát triển đảng viên",
    "Phòng, chống tham nhũng, lãng phí",
    "Phát triển kinh tế đồi rừng",
];

fn day(month: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(YEAR, month, d).expect("a day of the year")
}

/// Records the year's meetings of `holders` with the attendance of `people`; returns each holder's regular
/// meeting day of each month (`None`: no meeting that month).
pub(super) async fn record(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    dice: &mut Dice,
    holders: &[OrganisationRow],
    people: &[Member],
) -> Result<Vec<[Option<NaiveDate>; 12]>, ApiError> {
    let mut schedule: Vec<(usize, NaiveDate, MeetingKind, String)> = Vec::new();
    let mut regular = vec![[None; 12]; holders.len()];
    let mut weak = vec![false; holders.len()];
    for (h, days) in regular.iter_mut().enumerate() {
        weak[h] = dice.below(7) == 0;
        let usual = 3 + dice.below(8) as u32;
        for (m, held) in days.iter_mut().enumerate() {
            let month = m as u32 + 1;
            let missed = if weak[h] {
                dice.below(100) < 18
            } else {
                dice.below(100) < 1
            };
            if !missed {
                let on = day(month, usual + dice.below(3) as u32);
                *held = Some(on);
                let topic = format!("Sinh hoạt chi bộ thường kỳ tháng {month}/{YEAR}");
                schedule.push((h, on, MeetingKind::Regular, topic));
            }
        }
        for quarter in 0..4u32 {
            if dice.below(100) >= if weak[h] { 55 } else { 92 } {
                continue;
            }
            let month = 3 * quarter + 1 + dice.below(3) as u32;
            let on = match days[month as usize - 1] {
                Some(on) if dice.below(2) == 0 => on,
                _ => day(month, 12 + dice.below(14) as u32),
            };
            let theme = match quarter {
                0 => THEMES[0],
                _ => THEMES[1 + dice.below(THEMES.len() as u64 - 1) as usize],
            };
            schedule.push((h, on, MeetingKind::Thematic, theme.to_owned()));
        }
    }
    let keys: Vec<_> = schedule.iter().map(|(h, on, _, _)| (holders[*h].id, *on)).collect();
    let expected = meetings::expected_many(conn, &keys).await?;
    let rank: HashMap<Uuid, usize> = people.iter().enumerate().map(|(i, p)| (p.id, i)).collect();
    let mut recorded = Vec::with_capacity(schedule.len());
    for ((h, on, kind, topic), mut members) in schedule.into_iter().zip(expected) {
        members.sort_by_key(|m| (rank.get(&m.0).copied().unwrap_or(usize::MAX), m.0));
        let attendance = members
            .into_iter()
            .map(|m| {
                let habit = rank.get(&m.0).map_or(Habit::Steady, |&i| people[i].habit);
                (m, attend(dice, habit, weak[h], on))
            })
            .collect::<Vec<(MemberId, AttendanceStatus)>>();
        recorded.push(NewMeeting {
            organisation_id: holders[h].id,
            held_on: on,
            kind,
            topic: Some(topic),
            attendance,
        });
    }
    meetings::record_many(conn, actor, recorded).await?;
    Ok(regular)
}

/// Whether a member with `habit` came to a meeting on `on`, in a weak cell or not.
fn attend(dice: &mut Dice, habit: Habit, weak: bool, on: NaiveDate) -> AttendanceStatus {
    use chrono::Datelike;
    let roll = dice.below(1000);
    // Below `present`: present; below `excused`: absent with an excuse; the rest absent without one.
    let (present, excused) = match habit {
        _ if habit.away_in(on.month()) => (0, 1000),
        Habit::Lapsing => (420, 530),
        _ if weak => (860, 975),
        _ => (950, 995),
    };
    match roll {
        r if r < present => AttendanceStatus::Present,
        r if r < excused => AttendanceStatus::AbsentExcused,
        _ => AttendanceStatus::AbsentUnexcused,
    }
}
