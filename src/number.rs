//! JSON numbers read into integers. In JSON (and in JSON Schema, which the OpenAPI document uses) `2012.0` is the
//! integer 2012 as much as `2012` is, so an integer field accepts a number with a zero fraction.

use serde::de::Error;
use serde::{Deserialize, Deserializer};

/// Reads a JSON number with no fraction that fits an `i32`.
pub fn whole_i32<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i32, D::Error> {
    let number = serde_json::Number::deserialize(deserializer)?;
    let whole = match (number.as_i64(), number.as_f64()) {
        (Some(n), _) => Some(n),
        (None, Some(f)) if f.fract() == 0.0 && f.abs() < 1e15 => Some(f as i64),
        _ => None,
    };
    match whole {
        Some(n) => i32::try_from(n).map_err(|_| D::Error::custom(format!("{number} is out of range"))),
        None => Err(D::Error::custom(format!(
            "invalid type: {number}, expected a whole number"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct Year {
        #[serde(deserialize_with = "super::whole_i32")]
        year: i32,
    }

    fn read(json: &str) -> Result<i32, String> {
        serde_json::from_str::<Year>(json)
            .map(|y| y.year)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn whole_numbers_are_integers_with_or_without_a_fraction() {
        assert_eq!(read(r#"{"year": 2012}"#), Ok(2012));
        assert_eq!(read(r#"{"year": 2012.0}"#), Ok(2012));
        assert_eq!(read(r#"{"year": -5.0}"#), Ok(-5));
    }

    #[test]
    fn fractions_strings_and_out_of_range_numbers_are_refused() {
        assert!(read(r#"{"year": 2012.5}"#)
            .unwrap_err()
            .contains("expected a whole number"));
        assert!(read(r#"{"year": "2012"}"#).is_err());
        assert!(read(r#"{"year": 3000000000}"#).unwrap_err().contains("out of range"));
        assert!(read(r#"{"year": 1e300}"#).is_err());
    }
}
