// @generated automatically by Diesel CLI.

pub mod sql_types {
    #[derive(diesel::query_builder::QueryId, Clone, diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "ltree"))]
    pub struct Ltree;
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
        search -> Text,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
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
    }
}

diesel::joinable!(api_tokens -> organisations (organisation_id));

diesel::allow_tables_to_appear_in_same_query!(api_tokens, audit_events, organisations,);
