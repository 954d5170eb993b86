//! Reports as CSV for spreadsheets: content negotiation on `Accept`, and RFC 4180 output.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, HttpResponse};
use futures_util::future::{ready, Ready};

use crate::error::ApiError;

pub const TEXT_CSV: &str = "text/csv";

/// The representation a report is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Json,
    Csv,
}

/// Picks JSON or CSV from an `Accept` header value, by quality then order; `None` when it accepts neither.
pub fn negotiate(accept: Option<&str>) -> Option<ReportFormat> {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return Some(ReportFormat::Json);
    };
    let mut ranges: Vec<(f32, usize, ReportFormat)> = Vec::new();
    for (position, range) in accept.split(',').enumerate() {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or_default().to_ascii_lowercase();
        let quality = parts
            .filter_map(|p| p.strip_prefix("q="))
            .filter_map(|q| q.parse::<f32>().ok())
            .next()
            .unwrap_or(1.0);
        let format = match media.as_str() {
            TEXT_CSV | "text/*" => ReportFormat::Csv,
            "application/json" | "application/*" | "*/*" => ReportFormat::Json,
            _ => continue,
        };
        if quality > 0.0 {
            ranges.push((quality, position, format));
        }
    }
    ranges.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    ranges.first().map(|r| r.2)
}

impl FromRequest for ReportFormat {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let accept = req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok());
        ready(
            negotiate(accept)
                .ok_or_else(|| ApiError::NotAcceptable("reports are available as application/json or text/csv".into())),
        )
    }
}

/// One CSV field: quoted when needed, and kept from being read as a formula by a spreadsheet.
fn field(value: &str) -> String {
    let guarded = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if guarded.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

/// The UTF-8 byte order mark a CSV document starts with, so that spreadsheets read Vietnamese text correctly.
pub const BOM: &str = "\u{feff}";

/// One CSV line, CRLF-terminated.
pub fn line<S: AsRef<str>>(cells: &[S]) -> String {
    cells.iter().map(|c| field(c.as_ref())).collect::<Vec<_>>().join(",") + "\r\n"
}

/// A CSV document: the byte order mark, a header line, then the rows, with CRLF line ends.
pub fn render(columns: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> String {
    let mut out = String::from(BOM);
    out.push_str(&line(columns));
    for row in rows {
        out.push_str(&line(&row));
    }
    out
}

/// Whether an `Accept` header asks for CSV rather than JSON (a list answers JSON to anything else).
pub fn wants_csv(req: &HttpRequest) -> bool {
    let accept = req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok());
    negotiate(accept) == Some(ReportFormat::Csv)
}

/// A CSV report response, offered as a download named `filename`.
pub fn respond(filename: &str, body: String) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/csv; charset=utf-8"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ))
        .body(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_picks_the_best_format() {
        assert_eq!(negotiate(None), Some(ReportFormat::Json));
        assert_eq!(negotiate(Some("text/csv")), Some(ReportFormat::Csv));
        assert_eq!(negotiate(Some("application/json")), Some(ReportFormat::Json));
        assert_eq!(negotiate(Some("*/*")), Some(ReportFormat::Json));
        assert_eq!(
            negotiate(Some("application/json;q=0.5, text/csv")),
            Some(ReportFormat::Csv)
        );
        assert_eq!(
            negotiate(Some("text/csv;q=0, application/json")),
            Some(ReportFormat::Json)
        );
        assert_eq!(negotiate(Some("application/xml")), None);
    }

    #[test]
    fn fields_are_quoted_and_guarded() {
        assert_eq!(field("Chi bộ Khu 1"), "Chi bộ Khu 1");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("=1+1"), "'=1+1");
        let csv = render(&["code", "name"], vec![vec!["X".into(), "Đảng bộ, xã".into()]]);
        assert_eq!(csv, "\u{feff}code,name\r\nX,\"Đảng bộ, xã\"\r\n");
    }
}
