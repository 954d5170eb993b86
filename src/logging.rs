//! The log: `env_logger`, filtered by `RUST_LOG` (default `info`), written as text or as one JSON object per line.
//!
//! Records may carry key-values (the access log's `request_id`, `method`, `route`, `status`, `duration_ms` and
//! `actor`): the text format appends them as `key=value`, the JSON format makes them fields of the object.

use std::io::Write;

use log::kv::{Key, Value, VisitSource, VisitValue};
use serde_json::{Map, Value as Json};

use crate::config::LogFormat;

/// Starts the log. Later calls change nothing, so every command may call it.
///
/// `tokio_postgres` is held at `info` whatever `RUST_LOG` says: at `debug` it logs every statement with its
/// parameters, which would put national ids and token hashes in the log.
pub fn init(format: LogFormat) {
    let mut builder = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"));
    builder.filter_module("tokio_postgres", log::LevelFilter::Info);
    if format == LogFormat::Json {
        builder.format(|buf, record| {
            let line = json_line(record, chrono::Utc::now());
            writeln!(buf, "{line}")
        });
    }
    let _ = builder.try_init();
}

/// One record as a JSON object: `ts`, `level`, `msg`, `target` and the record's key-values.
fn json_line(record: &log::Record<'_>, now: chrono::DateTime<chrono::Utc>) -> Json {
    let mut fields = Map::new();
    fields.insert(
        "ts".into(),
        now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true).into(),
    );
    fields.insert("level".into(), record.level().as_str().to_ascii_lowercase().into());
    fields.insert("msg".into(), record.args().to_string().into());
    fields.insert("target".into(), record.target().into());
    let _ = record.key_values().visit(&mut Fields(&mut fields));
    Json::Object(fields)
}

/// Copies key-values into a JSON object: numbers as numbers, `None` as `null`, anything else as its text.
struct Fields<'a>(&'a mut Map<String, Json>);

impl<'kvs> VisitSource<'kvs> for Fields<'_> {
    fn visit_pair(&mut self, key: Key<'kvs>, value: Value<'kvs>) -> Result<(), log::kv::Error> {
        let mut field = Field(Json::Null);
        value.visit(&mut field)?;
        self.0.insert(key.as_str().to_owned(), field.0);
        Ok(())
    }
}

struct Field(Json);

impl<'v> VisitValue<'v> for Field {
    fn visit_any(&mut self, value: Value<'_>) -> Result<(), log::kv::Error> {
        self.0 = value.to_string().into();
        Ok(())
    }

    fn visit_null(&mut self) -> Result<(), log::kv::Error> {
        self.0 = Json::Null;
        Ok(())
    }

    fn visit_u64(&mut self, value: u64) -> Result<(), log::kv::Error> {
        self.0 = value.into();
        Ok(())
    }

    fn visit_i64(&mut self, value: i64) -> Result<(), log::kv::Error> {
        self.0 = value.into();
        Ok(())
    }

    fn visit_f64(&mut self, value: f64) -> Result<(), log::kv::Error> {
        self.0 = value.into();
        Ok(())
    }

    fn visit_bool(&mut self, value: bool) -> Result<(), log::kv::Error> {
        self.0 = value.into();
        Ok(())
    }

    fn visit_str(&mut self, value: &str) -> Result<(), log::kv::Error> {
        self.0 = value.into();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use log::kv::ToValue;

    use super::*;

    #[test]
    fn a_record_becomes_one_json_object_with_its_key_values() {
        let kvs: &[(&str, Value<'_>)] = &[
            ("request_id", Value::from("r-1")),
            ("status", Value::from(404u16)),
            ("duration_ms", Value::from(1.5f64)),
            ("actor", None::<&str>.to_value()),
        ];
        let record = log::Record::builder()
            .level(log::Level::Info)
            .target("partybase::access")
            .args(format_args!("GET /x 404"))
            .key_values(&kvs)
            .build();
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-05T10:00:00Z")
            .unwrap()
            .to_utc();
        let line = json_line(&record, now);
        assert_eq!(
            line,
            serde_json::json!({"ts": "2026-12-05T10:00:00.000Z", "level": "info", "msg": "GET /x 404",
                               "target": "partybase::access", "request_id": "r-1", "status": 404,
                               "duration_ms": 1.5, "actor": null})
        );
        assert!(!line.to_string().contains('\n'));
    }
}
