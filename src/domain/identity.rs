//! A member's identity numbers, parsed once: a [`CardNumber`] or a [`NationalId`] that exists has the right form,
//! so nothing downstream checks it again. Each is a string in JSON and `text` in PostgreSQL.

/// Declares a number made of exactly `$digits` ASCII digits.
macro_rules! digits_type {
    ($(#[$meta:meta])* $name:ident, $digits:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[derive(diesel::expression::AsExpression, diesel::deserialize::FromSqlRow)]
        #[diesel(sql_type = diesel::sql_types::Text)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// How many digits it has.
            pub const DIGITS: usize = $digits;

            /// Accepts exactly the right number of ASCII digits.
            pub fn parse(text: impl Into<String>) -> Result<Self, String> {
                let text = text.into();
                if text.len() == $digits && text.bytes().all(|b| b.is_ascii_digit()) {
                    Ok($name(text))
                } else {
                    Err(format!("must be exactly {} digits", $digits))
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(text: String) -> Result<Self, String> {
                Self::parse(text)
            }
        }

        impl From<$name> for String {
            fn from(number: $name) -> String {
                number.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>,
            ) -> diesel::serialize::Result {
                <str as diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg>>::to_sql(&self.0, out)
            }
        }

        impl diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            fn from_sql(bytes: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
                let text = <String as diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::pg::Pg>>::from_sql(bytes)?;
                Self::parse(text).map_err(|why| format!("stored {}: {why}", stringify!($name)).into())
            }
        }
    };
}

digits_type!(
    /// A party card number: 8 digits.
    CardNumber,
    8
);
digits_type!(
    /// A national id number: 12 digits.
    NationalId,
    12
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_have_exactly_their_digits() {
        assert_eq!(CardNumber::parse("12345678").unwrap().as_str(), "12345678");
        assert_eq!(NationalId::parse("025190001234").unwrap().to_string(), "025190001234");
        for bad in ["1234567", "123456789", "1234567a", "１２３４５６７８", ""] {
            assert_eq!(
                CardNumber::parse(bad),
                Err("must be exactly 8 digits".to_owned()),
                "{bad}"
            );
        }
        assert!(NationalId::parse("02519000123").is_err());
    }

    #[test]
    fn numbers_are_strings_in_json_and_parsed_on_the_way_in() {
        let card: CardNumber = serde_json::from_str("\"12345678\"").unwrap();
        assert_eq!(serde_json::to_string(&card).unwrap(), "\"12345678\"");
        let refused = serde_json::from_str::<NationalId>("\"0251\"").unwrap_err();
        assert!(refused.to_string().contains("must be exactly 12 digits"));
    }
}
