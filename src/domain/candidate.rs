//! The road to admission (Party Statute art. 4, Regulation 24-QĐ/TW 2021 and 294-QĐ/TW 2025): the stages of a
//! candidate, the order of the steps, the age rules and the time limits in working days.
//!
//! Working days are Monday to Friday, as `domain.md` says. Public holidays are not skipped: Vietnam's holidays
//! follow the lunar calendar (Tết, the Hùng Kings' day) and the government moves days off around them by a
//! decision each year, so no fixed list would be right. Counting them as working days makes a limit end a few
//! days earlier around a holiday, never later: a candidate is flagged overdue rather early than too late.

use chrono::{Datelike, Months, NaiveDate, Weekday};

use crate::domain::text_enum;

text_enum! {
    /// Where a candidate stands on the road to admission.
    #[schema(example = "sponsored")]
    Stage {
        /// Proposed by the cell; nothing done yet.
        Proposed => "proposed",
        /// Has the certificate of the course on the Party.
        CourseCompleted => "course_completed",
        /// Has two sponsors.
        Sponsored => "sponsored",
        /// The cell voted for the admission.
        CellApproved => "cell_approved",
        /// The committee above decided the admission.
        CommitteeApproved => "committee_approved",
        /// Admitted at the ceremony: a member now.
        Admitted => "admitted",
        /// Withdrew.
        Withdrawn => "withdrawn",
        /// Refused at some step.
        Rejected => "rejected",
    }
}

text_enum! {
    /// A step on the road to admission.
    #[schema(example = "course_completed")]
    StepType {
        CourseCompleted => "course_completed",
        Sponsored => "sponsored",
        CellApproved => "cell_approved",
        CommitteeApproved => "committee_approved",
        /// The ceremony: creates the member.
        Admitted => "admitted",
        Withdrawn => "withdrawn",
        Rejected => "rejected",
    }
}

/// Working days from the cell's vote to the committee's decision.
pub const DECISION_WORKING_DAYS: u32 = 60;
/// Working days from the committee's decision to the ceremony.
pub const CEREMONY_WORKING_DAYS: u32 = 30;
/// Years the certificate of the course on the Party stays valid.
pub const CERTIFICATE_YEARS: u32 = 5;
/// The age from which a candidate needs the provincial level's consent (recorded in the step's `note`).
pub const CONSENT_AGE_YEARS: u32 = 60;
/// The last age of the Youth Union, which may sponsor a candidate of youth age instead of one member.
pub const YOUTH_AGE_YEARS: u32 = 30;
/// Months a sponsoring member must have known the candidate by the day of the sponsorship.
pub const SPONSOR_ACQUAINTANCE_MONTHS: u32 = 12;

impl Stage {
    /// Whether the road has ended (no step follows).
    pub fn is_final(self) -> bool {
        matches!(self, Stage::Admitted | Stage::Withdrawn | Stage::Rejected)
    }
}

impl StepType {
    /// The stage a candidate reaches by this step.
    pub fn stage(self) -> Stage {
        match self {
            StepType::CourseCompleted => Stage::CourseCompleted,
            StepType::Sponsored => Stage::Sponsored,
            StepType::CellApproved => Stage::CellApproved,
            StepType::CommitteeApproved => Stage::CommitteeApproved,
            StepType::Admitted => Stage::Admitted,
            StepType::Withdrawn => Stage::Withdrawn,
            StepType::Rejected => Stage::Rejected,
        }
    }

    /// The stage a candidate must be at for this step; `None` for the steps that end the road at any stage.
    fn after(self) -> Option<Stage> {
        match self {
            StepType::CourseCompleted => Some(Stage::Proposed),
            StepType::Sponsored => Some(Stage::CourseCompleted),
            StepType::CellApproved => Some(Stage::Sponsored),
            StepType::CommitteeApproved => Some(Stage::CellApproved),
            StepType::Admitted => Some(Stage::CommitteeApproved),
            StepType::Withdrawn | StepType::Rejected => None,
        }
    }

    /// The time limit in working days that this step starts for the next one.
    pub fn limit(self) -> Option<u32> {
        match self {
            StepType::CellApproved => Some(DECISION_WORKING_DAYS),
            StepType::CommitteeApproved => Some(CEREMONY_WORKING_DAYS),
            _ => None,
        }
    }
}

/// Whether `step` may follow a candidate at `stage`: `Err` with the reason otherwise (a conflict, 409).
pub fn check_order(stage: Stage, step: StepType) -> Result<(), String> {
    if stage.is_final() {
        return Err(format!("the candidate is {stage}: no step follows"));
    }
    match step.after() {
        Some(expected) if expected != stage => Err(format!("{step} follows {expected}, and the candidate is {stage}")),
        _ => Ok(()),
    }
}

/// Whether a day is a working day (Monday to Friday).
pub fn is_working_day(day: NaiveDate) -> bool {
    !matches!(day.weekday(), Weekday::Sat | Weekday::Sun)
}

/// The `days`-th working day after `from` (`from` itself not counted): the last day a limit of `days` working days
/// that starts on `from` allows.
pub fn add_working_days(from: NaiveDate, days: u32) -> NaiveDate {
    let mut day = from;
    let mut left = days;
    while left > 0 {
        day = day.succ_opt().unwrap_or(day);
        if is_working_day(day) {
            left -= 1;
        }
        if day == NaiveDate::MAX {
            break;
        }
    }
    day
}

/// Full years of age on `on`; `None` when born after it.
pub fn age_on(birth_date: NaiveDate, on: NaiveDate) -> Option<u32> {
    if birth_date > on {
        return None;
    }
    let mut years = (on.year() - birth_date.year()) as u32;
    if birth_date
        .checked_add_months(Months::new(12 * years))
        .is_none_or(|d| d > on)
    {
        years = years.saturating_sub(1);
    }
    Some(years)
}

/// Whether a certificate of the course dated `course_on` is still valid on `on`.
pub fn certificate_valid(course_on: NaiveDate, on: NaiveDate) -> bool {
    course_on
        .checked_add_months(Months::new(12 * CERTIFICATE_YEARS))
        .is_none_or(|expires| on < expires)
}

/// Whether a sponsor who has known the candidate since `since` has known them for
/// [`SPONSOR_ACQUAINTANCE_MONTHS`] months on `on`.
pub fn known_long_enough(since: NaiveDate, on: NaiveDate) -> bool {
    since
        .checked_add_months(Months::new(SPONSOR_ACQUAINTANCE_MONTHS))
        .is_some_and(|enough| enough <= on)
}

/// Two thirds of `members`, rounded up: the least number of votes for.
pub fn two_thirds(members: i64) -> i64 {
    (2 * members + 2) / 3
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn working_days_skip_weekends() {
        // 2026-12-04 is a Friday: the next working day is Monday the 7th.
        assert_eq!(add_working_days(d(2026, 12, 4), 1), d(2026, 12, 7));
        assert_eq!(add_working_days(d(2026, 12, 4), 5), d(2026, 12, 11));
        // From a Saturday or a Sunday the first working day is the Monday.
        assert_eq!(add_working_days(d(2026, 12, 5), 1), d(2026, 12, 7));
        assert_eq!(add_working_days(d(2026, 12, 6), 1), d(2026, 12, 7));
        // Monday + 4 is the Friday of the same week.
        assert_eq!(add_working_days(d(2026, 12, 7), 4), d(2026, 12, 11));
        assert_eq!(add_working_days(d(2026, 12, 7), 0), d(2026, 12, 7));
    }

    #[test]
    fn the_limits_count_sixty_and_thirty_working_days() {
        // A vote on Friday 2012-03-02: 60 working days are 12 weeks, ending on Friday 2012-05-25.
        assert_eq!(add_working_days(d(2012, 3, 2), DECISION_WORKING_DAYS), d(2012, 5, 25));
        // A decision on Wednesday 2012-05-23: 30 working days are 6 weeks, ending on Wednesday 2012-07-04.
        assert_eq!(add_working_days(d(2012, 5, 23), CEREMONY_WORKING_DAYS), d(2012, 7, 4));
        // Public holidays are not skipped: the limit from 2013-01-31 runs through Tết (10-15 February 2013).
        assert_eq!(add_working_days(d(2013, 1, 31), 10), d(2013, 2, 14));
        assert!(is_working_day(d(2026, 12, 4)));
        assert!(!is_working_day(d(2026, 12, 5)));
        assert!(!is_working_day(d(2026, 12, 6)));
    }

    #[test]
    fn a_sponsor_has_known_the_candidate_for_twelve_months() {
        assert!(known_long_enough(d(2011, 2, 1), d(2012, 2, 1)));
        assert!(!known_long_enough(d(2011, 2, 2), d(2012, 2, 1)));
        // From the last day of a month, twelve months end on the last day of the same month a year later.
        assert!(known_long_enough(d(2011, 2, 28), d(2012, 2, 28)));
        assert!(!known_long_enough(d(2012, 3, 1), d(2012, 2, 1)));
    }

    #[test]
    fn steps_follow_in_order() {
        assert!(check_order(Stage::Proposed, StepType::CourseCompleted).is_ok());
        assert!(check_order(Stage::CourseCompleted, StepType::Sponsored).is_ok());
        assert!(check_order(Stage::Sponsored, StepType::CellApproved).is_ok());
        assert!(check_order(Stage::CellApproved, StepType::CommitteeApproved).is_ok());
        assert!(check_order(Stage::CommitteeApproved, StepType::Admitted).is_ok());
        assert!(check_order(Stage::Proposed, StepType::Sponsored).is_err());
        assert!(check_order(Stage::Sponsored, StepType::Admitted).is_err());
        assert!(check_order(Stage::CellApproved, StepType::CellApproved).is_err());
        for stage in [Stage::Proposed, Stage::Sponsored, Stage::CommitteeApproved] {
            assert!(check_order(stage, StepType::Withdrawn).is_ok());
            assert!(check_order(stage, StepType::Rejected).is_ok());
        }
        for stage in [Stage::Admitted, Stage::Withdrawn, Stage::Rejected] {
            assert!(check_order(stage, StepType::Withdrawn).is_err());
            assert!(check_order(stage, StepType::CourseCompleted).is_err());
        }
    }

    #[test]
    fn ages_certificates_and_two_thirds() {
        assert_eq!(age_on(d(1994, 3, 2), d(2012, 3, 1)), Some(17));
        assert_eq!(age_on(d(1994, 3, 2), d(2012, 3, 2)), Some(18));
        assert_eq!(age_on(d(1992, 2, 29), d(2010, 2, 27)), Some(17));
        assert_eq!(age_on(d(2000, 1, 1), d(1999, 1, 1)), None);
        assert!(certificate_valid(d(2007, 3, 2), d(2012, 3, 1)));
        assert!(!certificate_valid(d(2007, 3, 2), d(2012, 3, 2)));
        assert_eq!(two_thirds(3), 2);
        assert_eq!(two_thirds(9), 6);
        assert_eq!(two_thirds(10), 7);
        assert_eq!(two_thirds(0), 0);
    }
}
