//! A spreadsheet uploaded as the request body: CSV or an Excel workbook, at most [`UPLOAD_LIMIT`] bytes.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;

use super::{body_timeout, declared_length, read_body};
use crate::error::ApiError;

/// Largest accepted spreadsheet: 32 MiB.
pub const UPLOAD_LIMIT: usize = 32 * 1024 * 1024;

/// The media type of an Excel workbook.
pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// What kind of spreadsheet a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SheetFormat {
    /// UTF-8 CSV with a header row.
    Csv,
    /// An Excel workbook; its first sheet is read.
    Xlsx,
}

impl SheetFormat {
    /// The format a `Content-Type` names: `text/csv` (UTF-8, the default charset) or the xlsx type.
    fn of_content_type(value: &str) -> Result<SheetFormat, ApiError> {
        let mut parts = value.split(';').map(str::trim);
        let essence = parts.next().unwrap_or_default().to_ascii_lowercase();
        match essence.as_str() {
            crate::csv::TEXT_CSV => {
                let charset = parts
                    .filter_map(|p| p.split_once('='))
                    .find(|(name, _)| name.trim().eq_ignore_ascii_case("charset"))
                    .map(|(_, value)| value.trim().trim_matches('"').to_ascii_lowercase());
                match charset.as_deref() {
                    None | Some("utf-8") | Some("utf8") => Ok(SheetFormat::Csv),
                    Some(other) => Err(ApiError::UnsupportedMediaType(format!(
                        "CSV must be UTF-8, not {other}; save it as \"CSV UTF-8\""
                    ))),
                }
            }
            XLSX => Ok(SheetFormat::Xlsx),
            _ => Err(ApiError::UnsupportedMediaType(format!(
                "Content-Type {essence:?} is not accepted; send text/csv or {XLSX}"
            ))),
        }
    }

    /// The format of a file by its name: `.xlsx` is a workbook, anything else CSV.
    pub fn of_path(path: &std::path::Path) -> SheetFormat {
        match path.extension().and_then(|e| e.to_str()) {
            Some(ext) if ext.eq_ignore_ascii_case("xlsx") => SheetFormat::Xlsx,
            _ => SheetFormat::Csv,
        }
    }
}

/// The uploaded file, whole (the limit keeps it bounded).
#[derive(Debug)]
pub struct Upload {
    pub format: SheetFormat,
    pub body: Vec<u8>,
}

impl FromRequest for Upload {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let format = match req.headers().get(header::CONTENT_TYPE) {
            None => Err(ApiError::UnsupportedMediaType(format!(
                "the request has no Content-Type; send text/csv or {XLSX}"
            ))),
            Some(value) => SheetFormat::of_content_type(value.to_str().unwrap_or_default()),
        };
        let declared_length = declared_length(req);
        let wait = body_timeout(req);
        let mut payload = payload.take();
        Box::pin(async move {
            let format = format?;
            if declared_length.is_some_and(|n| n > UPLOAD_LIMIT) {
                return Err(ApiError::PayloadTooLarge(UPLOAD_LIMIT));
            }
            let body = read_body(&mut payload, UPLOAD_LIMIT, wait).await?;
            Ok(Upload { format, body })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_in_utf8_and_workbooks_are_accepted() {
        let format = |v: &str| SheetFormat::of_content_type(v).ok();
        assert_eq!(format("text/csv"), Some(SheetFormat::Csv));
        assert_eq!(format("Text/CSV; charset=UTF-8"), Some(SheetFormat::Csv));
        assert_eq!(format(XLSX), Some(SheetFormat::Xlsx));
        for refused in ["text/csv; charset=windows-1258", "application/json", "text/plain", ""] {
            assert!(format(refused).is_none(), "{refused}");
        }
    }
}
