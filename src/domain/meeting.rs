//! Cell meetings (Guidance 12-HD/BTCTW 2018, 42-HD/BTCTW 2025): their kinds and attendance. A meeting is of good
//! quality when more than 85% of the expected members are present and nobody is absent without an excuse (counted
//! into the kept figures by `meeting_years_add`, migration 000022).

use crate::domain::text_enum;

text_enum! {
    /// The kind of a meeting.
    #[schema(example = "regular")]
    MeetingKind {
        /// The monthly meeting every cell holds.
        Regular => "regular",
        /// A meeting on one subject, at least once a quarter.
        Thematic => "thematic",
        Extraordinary => "extraordinary",
    }
}

text_enum! {
    /// Whether an expected member attended.
    #[schema(example = "present")]
    AttendanceStatus {
        Present => "present",
        AbsentExcused => "absent_excused",
        AbsentUnexcused => "absent_unexcused",
    }
}
