//! `partybase seed demo`: the Thanh Sơn example district, modelled on the 2013 article: 46 base organisations
//! with their cells, a few thousand members (306 admitted in 2012, 42 in the first quarter of 2013, each after the
//! candidate steps, with a few candidates overdue and a few withdrawn along the way), the 2012
//! evaluations (32 clean and strong, 6 of them exemplary, 13 completed tasks well, 1 completed tasks), the cells'
//! meetings and the members' dues of 2012, and the thematic resolutions of 2013 with their implementations. Loading it twice changes nothing; a database whose
//! organisation codes collide with the demo's (`TS` and `TS-...`) is refused.

use chrono::{Datelike, Months, NaiveDate};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use crate::auth::Actor;
use crate::domain::identity::{CardNumber, NationalId};
use crate::domain::ids::{MemberId, OrganisationId};
use crate::domain::member::{EventInput, EventType, Gender, PoliticalTheory};
use crate::domain::organisation::{OrganisationKind, Sector};
use crate::domain::rating::{Grade, Year};
use crate::domain::resolution::{
    Achievements, ImplementationStatus, ResolutionField, ResolutionStatus, Target, Targets,
};
use crate::error::ApiError;
use crate::resources::evaluations::service as evaluations;
use crate::resources::evaluations::store::EvaluationValues;
use crate::resources::members::service::{self as members, Admission, NewEvent};
use crate::resources::members::store::MemberValues;
use crate::resources::organisations::service::{self as organisations, Draft};
use crate::resources::organisations::store::{self as organisation_rows, OrganisationRow};
use crate::resources::resolutions::service::{self as resolutions, ImplementationKey};
use crate::resources::resolutions::store::{ImplementationFields, ResolutionFields};
use crate::write::IfMatch;

mod candidates;
mod dice;
mod loads;
mod places_and_names;
mod reform;
mod year;

use dice::Dice;
use places_and_names::*;

/// The code of the demo district; every other organisation the demo creates under it has a code `TS-...`.
pub const DISTRICT_CODE: &str = "TS";
/// The name the demo is recorded under in `seed_loads`.
const DEMO: &str = "thanh-son-2012";

/// What a load did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Loaded { organisations: usize, members: usize },
    AlreadyLoaded,
}

/// Admissions the article reports: 306 in 2012 and 42 in the first quarter of 2013.
const ADMITTED_2012: usize = 306;
const ADMITTED_2013_Q1: usize = 42;

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("a valid date")
}

/// Loads the demo district unless it is there already. Everything goes through the services, as the command line
/// system actor: the rules hold and every record is in the audit trail.
pub async fn load_demo(conn: &mut AsyncPgConnection) -> Result<Outcome, ApiError> {
    let actor = Actor::system("cli", "seed-demo");
    conn.transaction(async |conn| -> Result<_, ApiError> {
        // One loader at a time; the second finds the first's record and stops.
        diesel::sql_query("SELECT pg_advisory_xact_lock(7061727479)")
            .execute(conn)
            .await?;
        if loads::is_loaded(conn, DEMO).await? {
            return Ok(Outcome::AlreadyLoaded);
        }
        let taken = loads::taken_codes(conn, DISTRICT_CODE, 4).await?;
        if !taken.is_empty() {
            return Err(ApiError::conflict(format!(
                "the demo was not loaded: the database already holds organisation codes it uses ({}{}); load it \
                 into a database without {DISTRICT_CODE} and {DISTRICT_CODE}-... codes",
                taken[..taken.len().min(3)].join(", "),
                if taken.len() > 3 { ", ..." } else { "" }
            )));
        }
        let outcome = build(conn, &actor).await?;
        loads::record(conn, DEMO).await?;
        Ok(outcome)
    })
    .await
}

/// The district's organisations, as the seed places them.
struct Place<'a> {
    code: String,
    name: &'a str,
    kind: OrganisationKind,
    sector: Option<Sector>,
    parent: Option<&'a OrganisationRow>,
    established_on: Option<NaiveDate>,
}

async fn add_organisation(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    place: Place<'_>,
) -> Result<OrganisationRow, ApiError> {
    let draft = Draft {
        code: place.code,
        name: place.name.to_owned(),
        kind: place.kind,
        sector: place.sector,
        parent_id: place.parent.map(|p| p.id),
        established_on: place.established_on,
        dissolved_on: None,
        address: Some("huyện Thanh Sơn, tỉnh Phú Thọ".to_owned()),
        note: None,
    };
    Ok(organisations::create(conn, actor, draft).await?.row)
}

async fn build(conn: &mut AsyncPgConnection, actor: &Actor) -> Result<Outcome, ApiError> {
    let mut dice = Dice(0x5448_414e_4853_4f4e);
    let province = match organisation_rows::find_by_code(conn, "PT").await? {
        Some(p) => p,
        None => {
            let place = Place {
                code: "PT".into(),
                name: "Đảng bộ tỉnh Phú Thọ",
                kind: OrganisationKind::SuperiorCommittee,
                sector: None,
                parent: None,
                established_on: Some(day(1930, 3, 1)),
            };
            add_organisation(conn, actor, place).await?
        }
    };
    let place = Place {
        code: DISTRICT_CODE.into(),
        name: "Đảng bộ huyện Thanh Sơn",
        kind: OrganisationKind::SuperiorCommittee,
        sector: None,
        parent: Some(&province),
        established_on: Some(day(1947, 6, 1)),
    };
    let district = add_organisation(conn, actor, place).await?;
    let mut created = 2;
    let mut base = Vec::new();
    let mut holders = Vec::new();
    for (code, name, sector) in COMMUNES {
        let place = Place {
            code: format!("TS-{code}"),
            name,
            kind: OrganisationKind::BaseCommittee,
            sector: Some(*sector),
            parent: Some(&district),
            established_on: Some(day(1950 + dice.below(30) as i32, 1 + dice.below(12) as u32, 1)),
        };
        let commune = add_organisation(conn, actor, place).await?;
        let cells = 6 + dice.below(8) as usize;
        for i in 0..cells {
            let name = format!("Chi bộ khu {}", HAMLETS[(i * 7 + commune.code.len()) % HAMLETS.len()]);
            let name = if i >= HAMLETS.len() {
                format!("{name} {i}")
            } else {
                name
            };
            let place = Place {
                code: format!("TS-{code}-{:02}", i + 1),
                name: &name,
                kind: OrganisationKind::Cell,
                sector: Some(*sector),
                parent: Some(&commune),
                established_on: None,
            };
            holders.push(add_organisation(conn, actor, place).await?);
        }
        created += 1 + cells;
        base.push(commune);
    }
    for (code, name, kind, sector, cells) in UNITS {
        let place = Place {
            code: format!("TS-{code}"),
            name,
            kind: *kind,
            sector: Some(*sector),
            parent: Some(&district),
            established_on: Some(day(1960 + dice.below(40) as i32, 1 + dice.below(12) as u32, 1)),
        };
        let unit = add_organisation(conn, actor, place).await?;
        created += 1;
        if cells.is_empty() {
            holders.push(unit.clone());
        }
        for (i, cell_name) in cells.iter().enumerate() {
            let place = Place {
                code: format!("TS-{code}-{:02}", i + 1),
                name: cell_name,
                kind: OrganisationKind::Cell,
                sector: Some(*sector),
                parent: Some(&unit),
                established_on: None,
            };
            holders.push(add_organisation(conn, actor, place).await?);
            created += 1;
        }
        base.push(unit);
    }
    let members = add_members(conn, actor, &mut dice, &holders).await?;
    add_evaluations(conn, actor, &mut dice, &base).await?;
    add_resolutions(conn, actor, &mut dice, &district, &base).await?;
    year::record(conn, actor, &holders).await?;
    created += reform::record(conn, actor, &province, &district).await?;
    Ok(Outcome::Loaded {
        organisations: created,
        members,
    })
}

/// Records a lifecycle event of a member, as the command line does: whatever the member's current version.
async fn record(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    member: MemberId,
    kind: EventType,
    on: NaiveDate,
) -> Result<(), ApiError> {
    let event = EventInput {
        kind,
        on,
        to_organisation_id: None,
        mode: None,
        destination: None,
        form: None,
    };
    let new = NewEvent { event, note: None };
    members::record_event(conn, actor, member, &IfMatch::any(), new).await?;
    Ok(())
}

/// Members for every cell and base cell: the article's admissions of 2012 and early 2013, and older members,
/// each admitted, recognised as official after probation and, for some of the oldest, exempted.
async fn add_members(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    dice: &mut Dice,
    holders: &[OrganisationRow],
) -> Result<usize, ApiError> {
    // A base cell has fewer than 30 members; a cell 15 to 25, so that every base committee has 30 or more.
    let sizes: Vec<usize> = holders
        .iter()
        .map(|org| {
            if org.kind == OrganisationKind::BaseCell {
                10 + dice.below(19) as usize
            } else {
                15 + dice.below(11) as usize
            }
        })
        .collect();
    // The recent admissions are drawn from the whole district, as a real district's happen all over it: each
    // organisation admits about in proportion to its size, and a small base cell may admit nobody in a year.
    let recent = dice.sample(sizes.iter().sum(), ADMITTED_2012 + ADMITTED_2013_Q1);
    let mut serial = 0usize;
    // The recent admissions go through the candidate steps once the older members, their sponsors, are there.
    let mut deferred: Vec<(usize, candidates::Recent, Option<NaiveDate>)> = Vec::new();
    let mut sponsors: Vec<(OrganisationId, MemberId)> = Vec::new();
    let today = crate::domain::today();
    for (i, (org, size)) in holders.iter().zip(sizes).enumerate() {
        for _ in 0..size {
            let admitted_on = match recent.iter().position(|&s| s == serial) {
                Some(rank) if rank < ADMITTED_2012 => dice.day_between(day(2012, 1, 1), day(2012, 12, 31)),
                Some(_) => dice.day_between(day(2013, 1, 1), day(2013, 3, 31)),
                None => dice.day_between(day(1965, 1, 1), day(2011, 12, 31)),
            };
            serial += 1;
            let male = dice.below(100) < 58;
            let age_at_admission = 18 + dice.below(22) as u32;
            let birth_date = admitted_on
                .checked_sub_months(Months::new(12 * age_at_admission + dice.below(11) as u32))
                .expect("a valid birth date");
            let name = if male {
                format!(
                    "{} {} {}",
                    dice.pick(SURNAMES),
                    dice.pick(MALE_MIDDLE),
                    dice.pick(MALE_GIVEN)
                )
            } else {
                format!(
                    "{} {} {}",
                    dice.pick(SURNAMES),
                    dice.pick(FEMALE_MIDDLE),
                    dice.pick(FEMALE_GIVEN)
                )
            };
            let century = if birth_date.year() >= 2000 { 2 } else { 0 };
            let national_id = format!(
                "025{}{:02}{:06}",
                century + u32::from(!male),
                birth_date.year() % 100,
                serial
            );
            let official_on = admitted_on.checked_add_months(Months::new(12)).filter(|d| *d <= today);
            // Some long-standing members are exempt from activities in their old age.
            let exempt = admitted_on.year() < 1980 && dice.below(4) == 0;
            let theory = match dice.below(100) {
                0..=39 => PoliticalTheory::None,
                40..=74 => PoliticalTheory::Elementary,
                75..=96 => PoliticalTheory::Intermediate,
                _ => PoliticalTheory::Advanced,
            };
            // An exemption follows the recognition (an event may not predate the member's latest one).
            let exempted_on = match (official_on, exempt) {
                (Some(official), true) => {
                    let drawn = day(2010 + dice.below(12) as i32, 1 + dice.below(12) as u32, 1);
                    Some(drawn.max(official))
                }
                _ => None,
            };
            let muong = dice.below(100) < 45;
            let values = MemberValues {
                full_name: name,
                gender: Some(if male { Gender::Male } else { Gender::Female }),
                birth_date,
                admitted_on,
                card_number: Some(parsed(CardNumber::parse(format!("15{:06}", serial + i)))),
                national_id: Some(parsed(NationalId::parse(national_id))),
                ethnicity: Some(if muong { "Mường" } else { "Kinh" }.to_owned()),
                religion: Some("Không".to_owned()),
                hometown: Some(format!(
                    "{}, Thanh Sơn, Phú Thọ",
                    org.name.trim_start_matches("Chi bộ ")
                )),
                education_level: Some(dice.pick(EDUCATION).to_string()),
                qualification: (dice.below(3) == 0).then(|| dice.pick(QUALIFICATIONS).to_string()),
                political_theory: theory,
                note: None,
            };
            let base = match org.kind {
                OrganisationKind::BaseCell => org.id,
                _ => org.parent_id.unwrap_or(org.id),
            };
            if values.admitted_on.year() >= 2012 {
                let recent = candidates::Recent {
                    cell: org.id,
                    base,
                    values,
                };
                deferred.push((serial, recent, official_on));
                continue;
            }
            let admission = Admission {
                organisation_id: org.id,
                values,
                candidate_id: None,
            };
            let member = members::admit(conn, actor, admission).await?.id;
            sponsors.push((base, member));
            if let Some(on) = official_on {
                record(conn, actor, member, EventType::RecognisedOfficial, on).await?;
            }
            if let Some(on) = exempted_on {
                record(conn, actor, member, EventType::Exempted, on).await?;
            }
        }
    }
    let mut road = Dice(0x4341_4e44_4944_4154);
    for (serial, recent, official_on) in deferred {
        let member = candidates::admit(conn, actor, &mut road, serial, recent, &sponsors).await?;
        if let Some(on) = official_on {
            record(conn, actor, member, EventType::RecognisedOfficial, on).await?;
        }
    }
    Ok(serial)
}

/// A number the seed makes in the right form by construction.
fn parsed<T>(number: Result<T, String>) -> T {
    number.expect("the seed makes well-formed numbers")
}

/// The 2012 evaluations of the article: 32 clean and strong (6 exemplary), 13 well completed, 1 completed.
async fn add_evaluations(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    dice: &mut Dice,
    base: &[OrganisationRow],
) -> Result<(), ApiError> {
    let year = Year::evaluated(2012, crate::domain::today()).map_err(|e| ApiError::Validation(vec![e]))?;
    let mut order: Vec<usize> = (0..base.len()).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, dice.below(i as u64 + 1) as usize);
    }
    for (rank, index) in order.into_iter().enumerate() {
        let (grade, exemplary) = match rank {
            0..=5 => (Grade::CleanStrong, true),
            6..=31 => (Grade::CleanStrong, false),
            32..=44 => (Grade::WellCompleted, false),
            _ => (Grade::Completed, false),
        };
        let values = EvaluationValues {
            grade,
            exemplary,
            score: None,
            decided_on: Some(day(2012, 12, 25)),
            note: None,
        };
        evaluations::create_for_organisation(conn, actor, base[index].id, year, values).await?;
    }
    Ok(())
}

fn target(indicator: &str, target: f64, unit: &str) -> Target {
    Target {
        indicator: indicator.to_owned(),
        target,
        unit: unit.to_owned(),
    }
}

/// The thematic resolutions of 2013, with the base organisations' implementations so far.
async fn add_resolutions(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    dice: &mut Dice,
    district: &OrganisationRow,
    base: &[OrganisationRow],
) -> Result<(), ApiError> {
    let plans = [
        (
            "01-NQ/HU",
            "Nghị quyết chuyên đề về nâng cao chất lượng công tác chính trị tư tưởng năm 2013",
            ResolutionField::PoliticalIdeology,
            day(2013, 1, 10),
            vec![target("cán bộ, đảng viên học tập nghị quyết", 95.0, "%")],
            40,
        ),
        (
            "02-NQ/HU",
            "Nghị quyết chuyên đề về công tác phát triển đảng viên năm 2013",
            ResolutionField::MemberDevelopment,
            day(2013, 1, 15),
            vec![
                target("đảng viên mới được kết nạp", 300.0, "đảng viên"),
                target("khu dân cư có chi bộ", 100.0, "%"),
            ],
            30,
        ),
    ];
    for (number, title, field, issued_on, targets, started) in plans {
        let fields = ResolutionFields {
            number: number.to_owned(),
            title: title.to_owned(),
            issuing_organisation_id: district.id,
            issued_on,
            field,
            summary: None,
            status: ResolutionStatus::Expired,
            valid_until: Some(day(2013, 12, 31)),
            targets: Targets(targets),
        };
        let resolution = resolutions::create(conn, actor, fields).await?.id;
        for org in base.iter().take(started) {
            let status = match dice.below(3) {
                0 => ImplementationStatus::Planned,
                1 => ImplementationStatus::InProgress,
                _ => ImplementationStatus::Completed,
            };
            let adopted = issued_on + chrono::Duration::days(10 + dice.below(30) as i64);
            let fields = ImplementationFields {
                status,
                plan_adopted_on: Some(adopted),
                reported_on: (status != ImplementationStatus::Planned).then(|| day(2013, 6, 30)),
                report: None,
                results: Achievements::default(),
            };
            let key = ImplementationKey {
                resolution_id: resolution,
                organisation_id: org.id,
            };
            resolutions::create_implementation(conn, actor, key, fields).await?;
        }
    }
    Ok(())
}
