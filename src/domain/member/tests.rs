//! The lifecycle rules, event by event.

use super::*;

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn state(status: MemberStatus) -> MemberState {
    MemberState {
        status,
        admitted_on: day("2020-03-15"),
        organisation_id: Uuid::from_u128(1),
        last_event_on: day("2020-03-15"),
    }
}

fn event(kind: EventType, on: &str) -> EventInput {
    EventInput {
        kind,
        on: day(on),
        to_organisation_id: None,
        mode: None,
        destination: None,
        form: None,
    }
}

const TODAY: &str = "2026-11-27";

fn outcome(status: MemberStatus, e: &EventInput) -> Result<Transition, Refusal> {
    apply_event(&state(status), e, day(TODAY))
}

#[test]
fn admission_needs_an_adult_and_no_future_dates() {
    let today = day(TODAY);
    assert!(check_dates(day("2000-03-15"), day("2018-03-15"), today).is_empty());
    let young = check_dates(day("2000-03-16"), day("2018-03-15"), today);
    assert_eq!(young[0].field, "admitted_on");
    let future = check_dates(day("2000-01-01"), day("2027-01-01"), today);
    assert!(future.iter().any(|e| e.message.contains("future")));
    assert!(check_dates(day("2030-01-01"), day("2050-01-01"), today)
        .iter()
        .any(|e| e.field == "birth_date"));
}

#[test]
fn recognition_only_from_probationary_after_twelve_months() {
    let early = outcome(
        MemberStatus::Probationary,
        &event(EventType::RecognisedOfficial, "2021-03-14"),
    );
    assert!(matches!(early, Err(Refusal::Invalid(ref e)) if e[0].field == "on"));
    let due = outcome(
        MemberStatus::Probationary,
        &event(EventType::RecognisedOfficial, "2021-03-15"),
    )
    .unwrap();
    assert_eq!(due.status, MemberStatus::Official);
    assert_eq!(due.official_on, Some(day("2021-03-15")));
    for status in [MemberStatus::Official, MemberStatus::Exempt] {
        let refused = outcome(status, &event(EventType::RecognisedOfficial, "2022-01-01"));
        assert!(matches!(refused, Err(Refusal::State(_))), "{status}");
    }
}

#[test]
fn exemption_goes_from_official_and_back() {
    let e = outcome(MemberStatus::Official, &event(EventType::Exempted, "2022-01-01")).unwrap();
    assert_eq!(e.status, MemberStatus::Exempt);
    assert!(matches!(
        outcome(MemberStatus::Probationary, &event(EventType::Exempted, "2022-01-01")),
        Err(Refusal::State(_))
    ));
    let back = outcome(MemberStatus::Exempt, &event(EventType::ExemptionEnded, "2022-01-01")).unwrap();
    assert_eq!(back.status, MemberStatus::Official);
    assert!(matches!(
        outcome(MemberStatus::Official, &event(EventType::ExemptionEnded, "2022-01-01")),
        Err(Refusal::State(_))
    ));
}

#[test]
fn a_transfer_needs_a_new_organisation_and_a_mode() {
    let mut e = event(EventType::Transferred, "2022-01-01");
    let missing = outcome(MemberStatus::Official, &e);
    assert!(matches!(missing, Err(Refusal::Invalid(ref errors)) if errors.len() == 2));
    e.to_organisation_id = Some(Uuid::from_u128(2));
    e.mode = Some(TransferMode::Temporary);
    let moved = outcome(MemberStatus::Exempt, &e).unwrap();
    assert_eq!(moved.organisation_id, Some(Uuid::from_u128(2)));
    assert_eq!(moved.status, MemberStatus::Exempt);
    e.to_organisation_id = Some(Uuid::from_u128(1));
    assert!(matches!(outcome(MemberStatus::Official, &e), Err(Refusal::Invalid(_))));
}

#[test]
fn arguments_of_other_event_types_are_refused() {
    let mut e = event(EventType::Deceased, "2022-01-01");
    e.form = Some(DisciplineForm::Warning);
    assert!(matches!(
        outcome(MemberStatus::Official, &e),
        Err(Refusal::Invalid(ref errors)) if errors[0].field == "form"
    ));
    let mut out = event(EventType::TransferredOut, "2022-01-01");
    out.destination = Some("  ".into());
    assert!(matches!(
        outcome(MemberStatus::Official, &out),
        Err(Refusal::Invalid(_))
    ));
    out.destination = Some("Đảng bộ tỉnh Yên Bái".into());
    assert_eq!(
        outcome(MemberStatus::Official, &out).unwrap().status,
        MemberStatus::TransferredOut
    );
}

#[test]
fn a_probationary_member_is_only_reprimanded_or_warned() {
    let mut e = event(EventType::Disciplined, "2022-01-01");
    for form in [DisciplineForm::Reprimand, DisciplineForm::Warning] {
        e.form = Some(form);
        assert_eq!(
            outcome(MemberStatus::Probationary, &e).unwrap().status,
            MemberStatus::Probationary
        );
    }
    e.form = Some(DisciplineForm::RemovalFromPost);
    assert!(matches!(
        outcome(MemberStatus::Probationary, &e),
        Err(Refusal::State(_))
    ));
    assert_eq!(
        outcome(MemberStatus::Official, &e).unwrap().status,
        MemberStatus::Official
    );
}

#[test]
fn ending_events_end_membership_for_good() {
    for (kind, status) in [
        (EventType::Expelled, MemberStatus::Expelled),
        (EventType::Removed, MemberStatus::Removed),
        (EventType::Deceased, MemberStatus::Deceased),
    ] {
        assert_eq!(
            outcome(MemberStatus::Probationary, &event(kind, "2022-01-01"))
                .unwrap()
                .status,
            status
        );
        assert!(!status.is_current());
        for next in [EventType::Deceased, EventType::RecognisedOfficial, EventType::Removed] {
            assert!(matches!(
                outcome(status, &event(next, "2023-01-01")),
                Err(Refusal::State(_))
            ));
        }
        // Whatever the arguments: the state refuses first.
        let mut odd = event(EventType::Deceased, "1900-01-01");
        odd.form = Some(DisciplineForm::Warning);
        assert!(matches!(outcome(status, &odd), Err(Refusal::State(_))));
    }
}

#[test]
fn events_keep_the_history_in_order_and_never_in_the_future() {
    let mut s = state(MemberStatus::Official);
    s.last_event_on = day("2023-05-01");
    let before = apply_event(&s, &event(EventType::Exempted, "2023-04-30"), day(TODAY));
    assert!(matches!(before, Err(Refusal::Invalid(ref e)) if e[0].field == "on"));
    let future = outcome(MemberStatus::Official, &event(EventType::Exempted, "2026-11-28"));
    assert!(matches!(future, Err(Refusal::Invalid(ref e)) if e[0].field == "on"));
    let admitted = outcome(MemberStatus::Official, &event(EventType::Admitted, "2022-01-01"));
    assert!(matches!(admitted, Err(Refusal::Invalid(ref e)) if e[0].field == "type"));
}
