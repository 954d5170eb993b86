//! Typed ids: an organisation's id can never be passed where a member's is expected. Each is a UUID in JSON
//! and in PostgreSQL.

/// Declares an id type over a UUID.
macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        #[derive(diesel::expression::AsExpression, diesel::deserialize::FromSqlRow)]
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        #[serde(transparent)]
        pub struct $name(pub uuid::Uuid);

        impl $name {
            /// A new id, time-ordered (UUIDv7).
            pub fn new() -> Self {
                $name(uuid::Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, uuid::Error> {
                s.parse().map($name)
            }
        }

        impl From<uuid::Uuid> for $name {
            fn from(id: uuid::Uuid) -> Self {
                $name(id)
            }
        }

        impl From<$name> for uuid::Uuid {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl diesel::serialize::ToSql<diesel::sql_types::Uuid, diesel::pg::Pg> for $name {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>,
            ) -> diesel::serialize::Result {
                <uuid::Uuid as diesel::serialize::ToSql<diesel::sql_types::Uuid, diesel::pg::Pg>>::to_sql(&self.0, out)
            }
        }

        impl diesel::deserialize::FromSql<diesel::sql_types::Uuid, diesel::pg::Pg> for $name {
            fn from_sql(bytes: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
                <uuid::Uuid as diesel::deserialize::FromSql<diesel::sql_types::Uuid, diesel::pg::Pg>>::from_sql(bytes)
                    .map($name)
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                        utoipa::openapi::KnownFormat::Uuid,
                    )))
                    .build()
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

id_type!(
    /// The id of an organisation.
    OrganisationId
);
id_type!(
    /// The id of a member.
    MemberId
);
id_type!(
    /// The id of a resolution.
    ResolutionId
);
id_type!(
    /// The id of a resolution's implementation by one organisation.
    ImplementationId
);
id_type!(
    /// The id of an organisation's yearly evaluation.
    EvaluationId
);
id_type!(
    /// The id of a member's yearly evaluation.
    MemberEvaluationId
);
id_type!(
    /// The id of an API token.
    TokenId
);
id_type!(
    /// The id of a reorganisation.
    ReorganisationId
);
id_type!(
    /// The id of an admission candidate.
    CandidateId
);
id_type!(
    /// The id of a party dues payment.
    DueId
);
id_type!(
    /// The id of a cell meeting.
    MeetingId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_uuids_in_json_and_text() {
        let id: OrganisationId = "0193a5c8-7f3e-7a10-9c4e-3b1f2a6d8e01".parse().unwrap();
        assert_eq!(id.to_string(), "0193a5c8-7f3e-7a10-9c4e-3b1f2a6d8e01");
        assert_eq!(
            serde_json::to_string(&id).unwrap(),
            "\"0193a5c8-7f3e-7a10-9c4e-3b1f2a6d8e01\""
        );
        assert_eq!(
            serde_json::from_str::<OrganisationId>("\"0193a5c8-7f3e-7a10-9c4e-3b1f2a6d8e01\"").unwrap(),
            id
        );
        assert!(MemberId::new() < MemberId::new(), "time-ordered");
    }
}
