//! JSON text read into a value with every object's keys checked for repeats.

use crate::error::{ApiError, FieldError};

/// Parses JSON text into a value, refusing an object that names a key twice: RFC 8259 leaves such an object's
/// meaning open, and taking the last value silently would hide a client's mistake.
pub(super) fn parse_strict(body: &[u8]) -> Result<serde_json::Value, ApiError> {
    let not_json = |e: serde_json::Error| ApiError::BadRequest {
        detail: format!("the body is not valid JSON: {e}"),
        errors: vec![FieldError::new("body", "is not valid JSON")],
    };
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    match serde_path_to_error::deserialize::<_, StrictValue>(&mut deserializer) {
        Ok(StrictValue(value)) => deserializer.end().map(|()| value).map_err(not_json),
        Err(e) => {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if inner.classify() == serde_json::error::Category::Data {
                let message = inner.to_string();
                let key = message
                    .strip_prefix(DUPLICATE_KEY)
                    .and_then(|rest| rest.split('`').next())
                    .unwrap_or_default();
                let field = match path.as_str() {
                    "." | "" => key.to_owned(),
                    parent => format!("{parent}.{key}"),
                };
                return Err(ApiError::invalid(field, "is given more than once"));
            }
            Err(not_json(inner))
        }
    }
}

const DUPLICATE_KEY: &str = "duplicate key `";

/// A JSON value whose objects have no key twice.
struct StrictValue(serde_json::Value);

impl<'de> serde::Deserialize<'de> for StrictValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

struct StrictVisitor;

impl<'de> serde::de::Visitor<'de> for StrictVisitor {
    type Value = serde_json::Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, serde_json::Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(StrictValue(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(serde_json::Value::Array(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut object = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(serde::de::Error::custom(format!("{DUPLICATE_KEY}{key}`")));
            }
            let StrictValue(value) = map.next_value()?;
            object.insert(key, value);
        }
        Ok(serde_json::Value::Object(object))
    }
}
