// @generated automatically by Diesel CLI.

pub mod sql_types {
    #[derive(diesel::query_builder::QueryId, Clone, diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "ltree"))]
    pub struct Ltree;
}

diesel::table! {
    admission_bases (on, organisation_id) {
        on -> Date,
        organisation_id -> Uuid,
        admitted -> Int4,
    }
}

diesel::table! {
    admission_bases_kept (only_row) {
        only_row -> Bool,
        until -> Date,
    }
}

diesel::table! {
    admission_notes (id) {
        id -> Int8,
        on -> Date,
        organisation_id -> Uuid,
        delta -> Int2,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> Uuid,
        name -> Text,
        role -> Text,
        organisation_id -> Nullable<Uuid>,
        secret_hash -> Bytea,
        created_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Uuid,
        at -> Timestamptz,
        actor -> Text,
        action -> Text,
        resource_type -> Text,
        resource_id -> Text,
        changes -> Jsonb,
        request_id -> Text,
        reorganisation_id -> Nullable<Uuid>,
        import_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    candidate_steps (id) {
        id -> Uuid,
        candidate_id -> Uuid,
        #[sql_name = "type"]
        type_ -> Text,
        on -> Date,
        certificate_number -> Nullable<Text>,
        sponsors -> Nullable<Jsonb>,
        votes_for -> Nullable<Int4>,
        votes_total -> Nullable<Int4>,
        decision_number -> Nullable<Text>,
        member_id -> Nullable<Uuid>,
        reason -> Nullable<Text>,
        note -> Nullable<Text>,
        due_by -> Nullable<Date>,
        actor -> Text,
        recorded_at -> Timestamptz,
    }
}

diesel::table! {
    candidates (id) {
        id -> Uuid,
        organisation_id -> Uuid,
        full_name -> Text,
        gender -> Nullable<Text>,
        birth_date -> Date,
        national_id -> Nullable<Text>,
        ethnicity -> Nullable<Text>,
        religion -> Nullable<Text>,
        hometown -> Nullable<Text>,
        note -> Nullable<Text>,
        proposed_on -> Date,
        stage -> Text,
        stage_on -> Date,
        due_by -> Nullable<Date>,
        member_id -> Nullable<Uuid>,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    change_feed (singleton) {
        singleton -> Bool,
        last_position -> Int8,
        pruned_through -> Int8,
    }
}

diesel::table! {
    changes (id) {
        id -> Int8,
        position -> Nullable<Int8>,
        at -> Timestamptz,
        resource_type -> Text,
        resource_id -> Uuid,
        action -> Text,
        version -> Int4,
        organisation_id -> Nullable<Uuid>,
        former_organisation_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    dues (id) {
        id -> Uuid,
        member_id -> Uuid,
        organisation_id -> Uuid,
        period -> Text,
        amount -> Int8,
        paid_on -> Date,
        note -> Nullable<Text>,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    dues_counts (year, organisation_id, shard) {
        organisation_id -> Uuid,
        year -> Int4,
        shard -> Int2,
        paid -> Array<Nullable<Int8>>,
        amount -> Array<Nullable<Int8>>,
    }
}

diesel::table! {
    dues_members (member_id) {
        member_id -> Uuid,
        organisation_id -> Uuid,
        open_from -> Nullable<Int4>,
        closed -> Nullable<Int4multirange>,
        paid -> Nullable<Array<Nullable<Int4>>>,
        amounts -> Nullable<Array<Nullable<Int8>>>,
        full_name -> Text,
    }
}

diesel::table! {
    dues_open (organisation_id, shard) {
        organisation_id -> Uuid,
        shard -> Int2,
        members -> Int4,
    }
}

diesel::table! {
    dues_spans (organisation_id, month, shard) {
        organisation_id -> Uuid,
        month -> Int4,
        shard -> Int2,
        members -> Int4,
    }
}

diesel::table! {
    dues_stale (id) {
        id -> Int8,
        member_id -> Uuid,
    }
}

diesel::table! {
    evaluations (id) {
        id -> Uuid,
        organisation_id -> Uuid,
        year -> Int4,
        grade -> Text,
        exemplary -> Bool,
        score -> Nullable<Numeric>,
        decided_on -> Nullable<Date>,
        note -> Nullable<Text>,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    idempotency_keys (token_name, key) {
        token_name -> Text,
        key -> Text,
        request_hash -> Bytea,
        status -> Int2,
        headers -> Jsonb,
        body -> Bytea,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
    }
}

diesel::table! {
    imports (id) {
        id -> Uuid,
        resource_type -> Text,
        actor -> Text,
        request_id -> Text,
        rows -> Int4,
        imported -> Int4,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    meeting_absences (organisation_id, year, member_id) {
        organisation_id -> Uuid,
        year -> Int4,
        member_id -> Uuid,
        months -> Array<Nullable<Int4>>,
        absent_months -> Int4,
    }
}

diesel::table! {
    meeting_attendance (meeting_id, member_id) {
        meeting_id -> Uuid,
        member_id -> Uuid,
        status -> Text,
    }
}

diesel::table! {
    meeting_years (organisation_id, year) {
        organisation_id -> Uuid,
        year -> Int4,
        meetings -> Int4,
        regular -> Array<Nullable<Int4>>,
        thematic -> Array<Nullable<Int4>>,
        expected -> Int4,
        present -> Int4,
        good_quality -> Int4,
    }
}

diesel::table! {
    meetings (id) {
        id -> Uuid,
        organisation_id -> Uuid,
        held_on -> Date,
        kind -> Text,
        topic -> Nullable<Text>,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        expected -> Int4,
        present -> Int4,
        unexcused -> Int4,
    }
}

diesel::table! {
    member_evaluation_base_years (year) {
        year -> Int4,
    }
}

diesel::table! {
    member_evaluation_bases (year, organisation_id, shard) {
        organisation_id -> Uuid,
        year -> Int4,
        shard -> Int2,
        code -> Text,
        name -> Text,
        excellent -> Int4,
        good -> Int4,
    }
}

diesel::table! {
    member_evaluation_counts (organisation_id, year, shard) {
        organisation_id -> Uuid,
        year -> Int4,
        shard -> Int2,
        excellent -> Int4,
        good -> Int4,
        completed -> Int4,
        not_completed -> Int4,
    }
}

diesel::table! {
    member_evaluations (id) {
        id -> Uuid,
        member_id -> Uuid,
        organisation_id -> Uuid,
        year -> Int4,
        grade -> Text,
        score -> Nullable<Numeric>,
        decided_on -> Nullable<Date>,
        note -> Nullable<Text>,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    member_events (id) {
        id -> Uuid,
        member_id -> Uuid,
        #[sql_name = "type"]
        type_ -> Text,
        on -> Date,
        status_before -> Nullable<Text>,
        status_after -> Text,
        organisation_id -> Uuid,
        to_organisation_id -> Nullable<Uuid>,
        mode -> Nullable<Text>,
        destination -> Nullable<Text>,
        form -> Nullable<Text>,
        note -> Nullable<Text>,
        actor -> Text,
        recorded_at -> Timestamptz,
        reorganisation_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    members (id) {
        id -> Uuid,
        full_name -> Text,
        gender -> Nullable<Text>,
        birth_date -> Date,
        organisation_id -> Uuid,
        admitted_on -> Date,
        official_on -> Nullable<Date>,
        status -> Text,
        card_number -> Nullable<Text>,
        national_id -> Nullable<Text>,
        ethnicity -> Nullable<Text>,
        religion -> Nullable<Text>,
        hometown -> Nullable<Text>,
        education_level -> Nullable<Text>,
        qualification -> Nullable<Text>,
        political_theory -> Text,
        note -> Nullable<Text>,
        name_search -> Nullable<Text>,
        sort_name -> Nullable<Text>,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        candidate_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    organisation_member_counts (organisation_id, status, shard) {
        organisation_id -> Uuid,
        status -> Text,
        members -> Int4,
        shard -> Int2,
        theory_none -> Int4,
        theory_elementary -> Int4,
        theory_intermediate -> Int4,
        theory_advanced -> Int4,
    }
}

diesel::table! {
    organisation_successions (organisation_id, successor_id) {
        organisation_id -> Uuid,
        successor_id -> Uuid,
        reorganisation_id -> Uuid,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Ltree;

    organisation_versions (organisation_id, valid_during) {
        organisation_id -> Uuid,
        valid_during -> Daterange,
        parent_id -> Nullable<Uuid>,
        name -> Text,
        kind -> Text,
        path -> Ltree,
        reorganisation_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Ltree;

    organisations (id) {
        id -> Uuid,
        code -> Text,
        name -> Text,
        kind -> Text,
        sector -> Nullable<Text>,
        parent_id -> Nullable<Uuid>,
        path -> Ltree,
        established_on -> Nullable<Date>,
        dissolved_on -> Nullable<Date>,
        address -> Nullable<Text>,
        note -> Nullable<Text>,
        search -> Nullable<Text>,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    reorganisation_organisations (reorganisation_id, organisation_id) {
        reorganisation_id -> Uuid,
        organisation_id -> Uuid,
    }
}

diesel::table! {
    reorganisations (id) {
        id -> Uuid,
        decision_number -> Text,
        decided_on -> Date,
        effective_on -> Date,
        note -> Nullable<Text>,
        operations -> Jsonb,
        created -> Int4,
        moved -> Int4,
        ended -> Int4,
        members_transferred -> Int4,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    resolution_implementations (id) {
        id -> Uuid,
        resolution_id -> Uuid,
        organisation_id -> Uuid,
        status -> Text,
        plan_adopted_on -> Nullable<Date>,
        reported_on -> Nullable<Date>,
        report -> Nullable<Text>,
        results -> Jsonb,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    resolutions (id) {
        id -> Uuid,
        number -> Text,
        title -> Text,
        issuing_organisation_id -> Uuid,
        issued_on -> Date,
        field -> Text,
        summary -> Nullable<Text>,
        status -> Text,
        valid_until -> Nullable<Date>,
        targets -> Jsonb,
        search -> Nullable<Text>,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    seed_loads (name) {
        name -> Text,
        loaded_at -> Timestamptz,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Uuid,
        webhook_id -> Uuid,
        position -> Int8,
        status -> Text,
        attempts -> Int4,
        last_status_code -> Nullable<Int4>,
        last_error -> Nullable<Text>,
        last_attempt_at -> Nullable<Timestamptz>,
        next_attempt_at -> Timestamptz,
        leased_until -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    webhooks (id) {
        id -> Uuid,
        url -> Text,
        resource_types -> Array<Nullable<Text>>,
        organisation_id -> Nullable<Uuid>,
        description -> Nullable<Text>,
        active -> Bool,
        secret -> Text,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(api_tokens -> organisations (organisation_id));
diesel::joinable!(audit_events -> imports (import_id));
diesel::joinable!(audit_events -> reorganisations (reorganisation_id));
diesel::joinable!(candidate_steps -> candidates (candidate_id));
diesel::joinable!(candidate_steps -> members (member_id));
diesel::joinable!(candidates -> organisations (organisation_id));
diesel::joinable!(dues -> members (member_id));
diesel::joinable!(dues -> organisations (organisation_id));
diesel::joinable!(dues_counts -> organisations (organisation_id));
diesel::joinable!(dues_open -> organisations (organisation_id));
diesel::joinable!(dues_spans -> organisations (organisation_id));
diesel::joinable!(evaluations -> organisations (organisation_id));
diesel::joinable!(meeting_absences -> organisations (organisation_id));
diesel::joinable!(meeting_attendance -> meetings (meeting_id));
diesel::joinable!(meeting_attendance -> members (member_id));
diesel::joinable!(meeting_years -> organisations (organisation_id));
diesel::joinable!(meetings -> organisations (organisation_id));
diesel::joinable!(member_evaluation_counts -> organisations (organisation_id));
diesel::joinable!(member_evaluations -> members (member_id));
diesel::joinable!(member_evaluations -> organisations (organisation_id));
diesel::joinable!(member_events -> members (member_id));
diesel::joinable!(member_events -> reorganisations (reorganisation_id));
diesel::joinable!(members -> organisations (organisation_id));
diesel::joinable!(organisation_member_counts -> organisations (organisation_id));
diesel::joinable!(organisation_successions -> reorganisations (reorganisation_id));
diesel::joinable!(organisation_versions -> organisations (organisation_id));
diesel::joinable!(organisation_versions -> reorganisations (reorganisation_id));
diesel::joinable!(reorganisation_organisations -> organisations (organisation_id));
diesel::joinable!(reorganisation_organisations -> reorganisations (reorganisation_id));
diesel::joinable!(resolution_implementations -> organisations (organisation_id));
diesel::joinable!(resolution_implementations -> resolutions (resolution_id));
diesel::joinable!(resolutions -> organisations (issuing_organisation_id));
diesel::joinable!(webhook_deliveries -> webhooks (webhook_id));
diesel::joinable!(webhooks -> organisations (organisation_id));

diesel::allow_tables_to_appear_in_same_query!(
    admission_bases,
    admission_bases_kept,
    admission_notes,
    api_tokens,
    audit_events,
    candidate_steps,
    candidates,
    change_feed,
    changes,
    dues,
    dues_counts,
    dues_members,
    dues_open,
    dues_spans,
    dues_stale,
    evaluations,
    idempotency_keys,
    imports,
    meeting_absences,
    meeting_attendance,
    meeting_years,
    meetings,
    member_evaluation_base_years,
    member_evaluation_bases,
    member_evaluation_counts,
    member_evaluations,
    member_events,
    members,
    organisation_member_counts,
    organisation_successions,
    organisation_versions,
    organisations,
    reorganisation_organisations,
    reorganisations,
    resolution_implementations,
    resolutions,
    seed_loads,
    webhook_deliveries,
    webhooks,
);
