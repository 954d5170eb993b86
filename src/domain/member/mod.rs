//! Members: their vocabulary and the lifecycle rules (which event each status allows, and what it changes).

use chrono::{Months, NaiveDate};
use uuid::Uuid;

use super::text_enum;
use crate::error::FieldError;

text_enum! {
    #[schema(example = "female")]
    Gender {
        Male => "male",
        Female => "female",
    }
}

text_enum! {
    /// Where a member stands. `probationary`, `official` and `exempt` are current members; the others have left.
    #[schema(example = "official")]
    MemberStatus {
        Probationary => "probationary",
        Official => "official",
        /// Exempt from party activities (elderly or ill, on request).
        Exempt => "exempt",
        TransferredOut => "transferred_out",
        Expelled => "expelled",
        Removed => "removed",
        Deceased => "deceased",
    }
}

text_enum! {
    /// Level of political theory training.
    #[schema(example = "intermediate")]
    PoliticalTheory {
        None => "none",
        Elementary => "elementary",
        Intermediate => "intermediate",
        Advanced => "advanced",
    }
}

text_enum! {
    /// What happened to a member. `admitted` is the first entry of every history and is recorded by `POST /members`.
    #[schema(example = "recognised_official")]
    EventType {
        Admitted => "admitted",
        /// Probationary to official, 12 months or more after admission. Sets `official_on`.
        RecognisedOfficial => "recognised_official",
        /// Official to exempt.
        Exempted => "exempted",
        /// Exempt back to official.
        ExemptionEnded => "exemption_ended",
        /// To another `base_cell` or `cell` in the system (`to_organisation_id`, `mode`).
        Transferred => "transferred",
        /// Out of the system (`destination`).
        TransferredOut => "transferred_out",
        /// A discipline (`form`); the status stays.
        Disciplined => "disciplined",
        Expelled => "expelled",
        /// Removed from the rolls.
        Removed => "removed",
        Deceased => "deceased",
    }
}

text_enum! {
    #[schema(example = "permanent")]
    TransferMode {
        Permanent => "permanent",
        Temporary => "temporary",
    }
}

text_enum! {
    #[schema(example = "reprimand")]
    DisciplineForm {
        Reprimand => "reprimand",
        Warning => "warning",
        RemovalFromPost => "removal_from_post",
    }
}

impl MemberStatus {
    /// Whether the member still belongs to the party organisation.
    pub fn is_current(self) -> bool {
        matches!(
            self,
            MemberStatus::Probationary | MemberStatus::Official | MemberStatus::Exempt
        )
    }
}

/// The youngest age at admission.
pub const MIN_ADMISSION_AGE_YEARS: u32 = 18;
/// Months of probation before recognition as an official member.
pub const PROBATION_MONTHS: u32 = 12;

/// Checks a member's dates: born before admission by at least 18 years, nothing in the future.
pub fn check_dates(birth_date: NaiveDate, admitted_on: NaiveDate, today: NaiveDate) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if birth_date > today {
        errors.push(FieldError::new("birth_date", "must not be in the future"));
    }
    if birth_date < NaiveDate::from_ymd_opt(1890, 1, 1).expect("a valid date") {
        errors.push(FieldError::new("birth_date", "must be after 1890"));
    }
    if admitted_on > today {
        errors.push(FieldError::new("admitted_on", "must not be in the future"));
    }
    let adult_on = birth_date.checked_add_months(Months::new(12 * MIN_ADMISSION_AGE_YEARS));
    if adult_on.is_none_or(|adult| admitted_on < adult) {
        errors.push(FieldError::new(
            "admitted_on",
            format!("the member must be at least {MIN_ADMISSION_AGE_YEARS} years old at admission"),
        ));
    }
    errors
}

/// A lifecycle event as a client sends it.
#[derive(Debug, Clone)]
pub struct EventInput {
    pub kind: EventType,
    pub on: NaiveDate,
    pub to_organisation_id: Option<Uuid>,
    pub mode: Option<TransferMode>,
    pub destination: Option<String>,
    pub form: Option<DisciplineForm>,
}

/// What the registry knows of a member when an event arrives.
#[derive(Debug, Clone)]
pub struct MemberState {
    pub status: MemberStatus,
    pub admitted_on: NaiveDate,
    pub organisation_id: Uuid,
    /// The date of the latest history entry; an event may not predate it.
    pub last_event_on: NaiveDate,
}

/// What an accepted event changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub status: MemberStatus,
    /// Set by `recognised_official`.
    pub official_on: Option<NaiveDate>,
    /// Set by `transferred`.
    pub organisation_id: Option<Uuid>,
}

/// Why an event is refused: the member's state does not allow it (409), or its values are wrong (422).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    State(String),
    Invalid(Vec<FieldError>),
}

fn invalid(field: &str, message: impl Into<String>) -> Refusal {
    Refusal::Invalid(vec![FieldError::new(field, message)])
}

/// Checks which arguments the event type takes: the ones it needs present, the others absent.
fn check_arguments(e: &EventInput) -> Result<(), Refusal> {
    let needs: &[&str] = match e.kind {
        EventType::Transferred => &["to_organisation_id", "mode"],
        EventType::TransferredOut => &["destination"],
        EventType::Disciplined => &["form"],
        _ => &[],
    };
    let given = [
        ("to_organisation_id", e.to_organisation_id.is_some()),
        ("mode", e.mode.is_some()),
        (
            "destination",
            e.destination.as_deref().is_some_and(|d| !d.trim().is_empty()),
        ),
        ("form", e.form.is_some()),
    ];
    let mut errors = Vec::new();
    for (field, present) in given {
        match (needs.contains(&field), present) {
            (true, false) => errors.push(FieldError::new(field, format!("is required for {}", e.kind))),
            (false, true) => errors.push(FieldError::new(field, format!("does not apply to {}", e.kind))),
            _ => {}
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Refusal::Invalid(errors))
    }
}

/// Decides whether `event` may happen to a member in `state`, and what it changes.
pub fn apply_event(state: &MemberState, e: &EventInput, today: NaiveDate) -> Result<Transition, Refusal> {
    use EventType as E;
    use MemberStatus as S;
    if e.kind == E::Admitted {
        return Err(invalid("type", "an admission is recorded by creating the member"));
    }
    if !state.status.is_current() {
        return Err(Refusal::State(format!(
            "the member is {}: membership has ended and no event can follow",
            state.status
        )));
    }
    check_arguments(e)?;
    if e.on > today {
        return Err(invalid("on", "must not be in the future"));
    }
    if e.on < state.last_event_on {
        return Err(invalid(
            "on",
            format!(
                "must not be before the member's latest history entry ({})",
                state.last_event_on
            ),
        ));
    }
    let stay = |status| Transition {
        status,
        official_on: None,
        organisation_id: None,
    };
    let from = |allowed: &[MemberStatus], to: MemberStatus| {
        if allowed.contains(&state.status) {
            Ok(stay(to))
        } else {
            Err(Refusal::State(format!(
                "{} needs a member who is {}, not {}",
                e.kind,
                allowed.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" or "),
                state.status
            )))
        }
    };
    match e.kind {
        E::Admitted => unreachable!("refused above"),
        E::RecognisedOfficial => {
            let mut transition = from(&[S::Probationary], S::Official)?;
            let earliest = state
                .admitted_on
                .checked_add_months(Months::new(PROBATION_MONTHS))
                .unwrap_or(NaiveDate::MAX);
            if e.on < earliest {
                return Err(invalid(
                    "on",
                    format!(
                        "recognition comes {PROBATION_MONTHS} months after admission, on {earliest} at the earliest"
                    ),
                ));
            }
            transition.official_on = Some(e.on);
            Ok(transition)
        }
        E::Exempted => from(&[S::Official], S::Exempt),
        E::ExemptionEnded => from(&[S::Exempt], S::Official),
        E::Transferred => {
            if e.to_organisation_id == Some(state.organisation_id) {
                return Err(invalid("to_organisation_id", "is the member's organisation already"));
            }
            Ok(Transition {
                organisation_id: e.to_organisation_id,
                ..stay(state.status)
            })
        }
        E::TransferredOut => Ok(stay(S::TransferredOut)),
        E::Disciplined => {
            if state.status == S::Probationary && e.form == Some(DisciplineForm::RemovalFromPost) {
                return Err(Refusal::State(
                    "a probationary member may only be disciplined with reprimand or warning".into(),
                ));
            }
            Ok(stay(state.status))
        }
        E::Expelled => Ok(stay(S::Expelled)),
        E::Removed => Ok(stay(S::Removed)),
        E::Deceased => Ok(stay(S::Deceased)),
    }
}

#[cfg(test)]
mod tests;
