//! Rating schemes: the grade vocabulary of the yearly evaluations changed over the years. Every rule that depends
//! on the year is answered here, from the table [`SCHEMES`], not by year tests scattered through the code.

use chrono::{Months, NaiveDate};
use serde::Serialize;
use utoipa::ToSchema;

use super::score::Score;
use super::text_enum;
use crate::error::FieldError;

mod year;

pub use year::Year;

text_enum! {
    /// A grade of some scheme. Which grades a year allows depends on its scheme.
    #[schema(example = "clean_strong")]
    Grade {
        /// Clean and strong (trong sạch vững mạnh).
        CleanStrong => "clean_strong",
        /// Completed tasks well (hoàn thành tốt nhiệm vụ).
        WellCompleted => "well_completed",
        /// Completed tasks (hoàn thành nhiệm vụ).
        Completed => "completed",
        /// Weak (yếu kém).
        Weak => "weak",
        /// Completed tasks excellently (hoàn thành xuất sắc nhiệm vụ).
        Excellent => "excellent",
        /// Completed tasks well (hoàn thành tốt nhiệm vụ), in the schemes from 2018.
        Good => "good",
        /// Did not complete tasks (không hoàn thành nhiệm vụ).
        NotCompleted => "not_completed",
    }
}

/// How a scheme uses the 0-100 score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScoreRule {
    /// No score is recorded.
    None,
    /// A score may be recorded.
    Optional,
    /// A score is required and decides the grade through the bands.
    Required,
}

/// A lower bound of the score for a grade: a score of `min` or more earns `grade` (unless a higher band applies).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct ScoreBand {
    pub grade: Grade,
    #[schema(example = 90, minimum = 0, maximum = 100)]
    pub min: i32,
}

/// One rating scheme and the years it governs.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RatingScheme {
    /// Scheme name, after the document that set it.
    #[schema(example = "hd20_2008", max_length = 32)]
    pub id: &'static str,
    /// First year it governs; `null` for the oldest scheme.
    #[schema(minimum = 1930, maximum = 2200)]
    pub from_year: Option<i32>,
    /// Last year it governs; `null` for the current scheme.
    #[schema(minimum = 1930, maximum = 2200)]
    pub to_year: Option<i32>,
    /// Grades of base organisations, best first.
    #[schema(max_items = 20)]
    pub organisation_grades: &'static [Grade],
    /// Grades of members, best first.
    #[schema(max_items = 20)]
    pub member_grades: &'static [Grade],
    /// Whether a `clean_strong` organisation may be marked exemplary.
    pub exemplary: bool,
    pub score: ScoreRule,
    /// With a required score: the band of each grade, highest first.
    #[schema(max_items = 20)]
    pub score_bands: &'static [ScoreBand],
    /// Whether the excellent-member quota (at most 20% of those graded good, per base organisation) is reported.
    pub member_quota: bool,
    /// From this year on, members admitted less than 6 months before the end of the year are not evaluated.
    #[schema(minimum = 1930, maximum = 2200)]
    pub recent_admission_rule_from: Option<i32>,
}

const OLD_ORGANISATION_GRADES: &[Grade] = &[Grade::CleanStrong, Grade::WellCompleted, Grade::Completed, Grade::Weak];
const FOUR_GRADES: &[Grade] = &[Grade::Excellent, Grade::Good, Grade::Completed, Grade::NotCompleted];

/// Every scheme, oldest first; together they cover every year.
pub const SCHEMES: &[RatingScheme] = &[
    RatingScheme {
        id: "hd20_2008",
        from_year: None,
        to_year: Some(2013),
        organisation_grades: OLD_ORGANISATION_GRADES,
        member_grades: FOUR_GRADES,
        exemplary: true,
        score: ScoreRule::None,
        score_bands: &[],
        member_quota: false,
        recent_admission_rule_from: None,
    },
    RatingScheme {
        id: "hd27_2014",
        from_year: Some(2014),
        to_year: Some(2017),
        organisation_grades: OLD_ORGANISATION_GRADES,
        member_grades: FOUR_GRADES,
        exemplary: true,
        score: ScoreRule::Optional,
        score_bands: &[],
        member_quota: false,
        recent_admission_rule_from: None,
    },
    RatingScheme {
        id: "qd132_2018",
        from_year: Some(2018),
        to_year: Some(2024),
        organisation_grades: FOUR_GRADES,
        member_grades: FOUR_GRADES,
        exemplary: false,
        score: ScoreRule::None,
        score_bands: &[],
        member_quota: true,
        recent_admission_rule_from: Some(2023),
    },
    RatingScheme {
        id: "qd366_2025",
        from_year: Some(2025),
        to_year: None,
        organisation_grades: FOUR_GRADES,
        member_grades: FOUR_GRADES,
        exemplary: false,
        score: ScoreRule::Required,
        score_bands: &[
            ScoreBand {
                grade: Grade::Excellent,
                min: 90,
            },
            ScoreBand {
                grade: Grade::Good,
                min: 70,
            },
            ScoreBand {
                grade: Grade::Completed,
                min: 50,
            },
            ScoreBand {
                grade: Grade::NotCompleted,
                min: 0,
            },
        ],
        member_quota: true,
        recent_admission_rule_from: Some(2023),
    },
];

/// The scheme in force for a year.
pub fn scheme_for(year: i32) -> &'static RatingScheme {
    SCHEMES
        .iter()
        .find(|s| s.from_year.is_none_or(|f| year >= f) && s.to_year.is_none_or(|t| year <= t))
        .expect("the schemes cover every year")
}

/// Whose evaluation is being checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    Organisation,
    Member,
}

/// An evaluation as entered.
#[derive(Debug, Clone, Copy)]
pub struct Rating {
    pub year: i32,
    pub grade: Grade,
    pub exemplary: bool,
    pub score: Option<Score>,
}

impl RatingScheme {
    pub fn grades(&self, subject: Subject) -> &'static [Grade] {
        match subject {
            Subject::Organisation => self.organisation_grades,
            Subject::Member => self.member_grades,
        }
    }

    /// The grade a score earns under the bands, when the scheme has bands.
    pub fn band_grade(&self, score: Score) -> Option<Grade> {
        self.score_bands
            .iter()
            .find(|b| i32::from(score.tenths()) >= b.min * 10)
            .map(|b| b.grade)
    }

    /// Checks a rating against this scheme, naming the field at fault.
    pub fn check(&self, subject: Subject, rating: &Rating) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let grades = self.grades(subject);
        if !grades.contains(&rating.grade) {
            let allowed: Vec<&str> = grades.iter().map(|g| g.as_str()).collect();
            errors.push(FieldError::new(
                "grade",
                format!(
                    "{} is not a grade of {} ({}): use {}",
                    rating.grade,
                    self.id,
                    rating.year,
                    allowed.join(", ")
                ),
            ));
        }
        if rating.exemplary {
            if !self.exemplary {
                errors.push(FieldError::new(
                    "exemplary",
                    format!("{} has no exemplary mark", self.id),
                ));
            } else if rating.grade != Grade::CleanStrong {
                errors.push(FieldError::new(
                    "exemplary",
                    "only a clean_strong organisation can be exemplary",
                ));
            }
        }
        match (self.score, rating.score) {
            (ScoreRule::None, Some(_)) => {
                errors.push(FieldError::new("score", format!("{} records no score", self.id)));
            }
            (ScoreRule::Required, None) => {
                errors.push(FieldError::new("score", format!("{} requires a score", self.id)));
            }
            (ScoreRule::Required, Some(score)) => {
                if let Some(earned) = self.band_grade(score).filter(|g| *g != rating.grade) {
                    errors.push(FieldError::new(
                        "grade",
                        format!(
                            "a score of {score} earns {earned} under {}, not {}",
                            self.id, rating.grade
                        ),
                    ));
                }
            }
            _ => {}
        }
        errors
    }

    /// Whether a member admitted on `admitted_on` is evaluated for `year`: from the rule's first year, not when
    /// admitted less than 6 months before the end of the year.
    pub fn evaluates_member_admitted(&self, year: i32, admitted_on: NaiveDate) -> bool {
        if self.recent_admission_rule_from.is_none_or(|from| year < from) {
            return true;
        }
        let year_end = NaiveDate::from_ymd_opt(year, 12, 31).expect("a valid date");
        admitted_on
            .checked_add_months(Months::new(6))
            .is_some_and(|six_months_later| six_months_later <= year_end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rating(year: i32, grade: Grade, exemplary: bool, score: Option<i16>) -> Rating {
        Rating {
            year,
            grade,
            exemplary,
            score: score.map(|points| Score::points(points).expect("a score")),
        }
    }

    fn fields(subject: Subject, r: Rating) -> Vec<String> {
        scheme_for(r.year)
            .check(subject, &r)
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn every_year_has_exactly_one_scheme() {
        assert_eq!(scheme_for(1990).id, "hd20_2008");
        assert_eq!(scheme_for(2013).id, "hd20_2008");
        assert_eq!(scheme_for(2014).id, "hd27_2014");
        assert_eq!(scheme_for(2017).id, "hd27_2014");
        assert_eq!(scheme_for(2018).id, "qd132_2018");
        assert_eq!(scheme_for(2024).id, "qd132_2018");
        assert_eq!(scheme_for(2025).id, "qd366_2025");
        assert_eq!(scheme_for(2100).id, "qd366_2025");
        for year in 1930..2200 {
            let covering = SCHEMES
                .iter()
                .filter(|s| s.from_year.is_none_or(|f| year >= f) && s.to_year.is_none_or(|t| year <= t))
                .count();
            assert_eq!(covering, 1, "{year}");
        }
    }

    #[test]
    fn each_scheme_takes_its_own_grades_only() {
        use Grade::*;
        for (year, allowed, refused) in [
            (
                2012,
                [CleanStrong, WellCompleted, Completed, Weak],
                [Excellent, Good, NotCompleted],
            ),
            (
                2016,
                [CleanStrong, WellCompleted, Completed, Weak],
                [Excellent, Good, NotCompleted],
            ),
        ] {
            for g in allowed {
                assert!(
                    fields(Subject::Organisation, rating(year, g, false, None)).is_empty(),
                    "{year} {g}"
                );
            }
            for g in refused {
                assert_eq!(
                    fields(Subject::Organisation, rating(year, g, false, None)),
                    vec!["grade"],
                    "{year} {g}"
                );
            }
        }
        for g in [Excellent, Good, Completed, NotCompleted] {
            assert!(
                fields(Subject::Organisation, rating(2019, g, false, None)).is_empty(),
                "{g}"
            );
            assert!(fields(Subject::Member, rating(2012, g, false, None)).is_empty(), "{g}");
        }
        for g in [CleanStrong, WellCompleted, Weak] {
            assert_eq!(
                fields(Subject::Organisation, rating(2019, g, false, None)),
                vec!["grade"]
            );
            assert_eq!(fields(Subject::Member, rating(2012, g, false, None)), vec!["grade"]);
        }
    }

    #[test]
    fn exemplary_goes_with_clean_strong_where_the_scheme_has_it() {
        assert!(fields(Subject::Organisation, rating(2012, Grade::CleanStrong, true, None)).is_empty());
        assert!(fields(Subject::Organisation, rating(2015, Grade::CleanStrong, true, None)).is_empty());
        assert_eq!(
            fields(Subject::Organisation, rating(2012, Grade::WellCompleted, true, None)),
            vec!["exemplary"]
        );
        assert_eq!(
            fields(Subject::Organisation, rating(2019, Grade::Excellent, true, None)),
            vec!["exemplary"]
        );
    }

    #[test]
    fn scores_follow_the_scheme() {
        assert_eq!(
            fields(Subject::Organisation, rating(2012, Grade::CleanStrong, false, Some(80))),
            vec!["score"]
        );
        assert!(fields(Subject::Organisation, rating(2015, Grade::CleanStrong, false, Some(80))).is_empty());
        assert!(fields(Subject::Organisation, rating(2015, Grade::CleanStrong, false, None)).is_empty());
        assert_eq!(
            fields(Subject::Member, rating(2020, Grade::Good, false, Some(75))),
            vec!["score"]
        );
        assert_eq!(
            fields(Subject::Organisation, rating(2025, Grade::Good, false, None)),
            vec!["score"]
        );
    }

    #[test]
    fn the_2025_bands_decide_the_grade() {
        let cases = [
            (100, Grade::Excellent),
            (90, Grade::Excellent),
            (89, Grade::Good),
            (70, Grade::Good),
            (69, Grade::Completed),
            (50, Grade::Completed),
            (49, Grade::NotCompleted),
            (0, Grade::NotCompleted),
        ];
        for (score, grade) in cases {
            assert_eq!(
                scheme_for(2025).band_grade(Score::points(score).unwrap()),
                Some(grade),
                "{score}"
            );
            assert!(fields(Subject::Organisation, rating(2025, grade, false, Some(score))).is_empty());
            assert!(fields(Subject::Member, rating(2026, grade, false, Some(score))).is_empty());
        }
        assert_eq!(
            fields(Subject::Organisation, rating(2025, Grade::Excellent, false, Some(89))),
            vec!["grade"]
        );
        assert_eq!(
            fields(Subject::Member, rating(2025, Grade::Completed, false, Some(70))),
            vec!["grade"]
        );
    }

    #[test]
    fn recent_admissions_are_not_evaluated_from_2023() {
        let day = |s: &str| s.parse::<NaiveDate>().unwrap();
        let s = scheme_for(2023);
        assert!(s.evaluates_member_admitted(2023, day("2023-06-30")));
        assert!(!s.evaluates_member_admitted(2023, day("2023-07-01")));
        assert!(scheme_for(2022).evaluates_member_admitted(2022, day("2022-11-01")));
        assert!(!scheme_for(2025).evaluates_member_admitted(2025, day("2025-10-01")));
        assert!(scheme_for(2012).evaluates_member_admitted(2012, day("2012-12-01")));
    }
}
