//! The conditional request headers: `If-Match` for writes, `If-None-Match` for reads.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest};
use futures_util::future::{ready, Ready};

use crate::error::ApiError;
use crate::write::{etag, IfMatch};

/// The conditional request headers of a request: `If-Match` for writes, `If-None-Match` for reads.
pub struct Preconditions {
    if_match: Option<String>,
    if_none_match: Option<String>,
}

fn tags(list: &str) -> impl Iterator<Item = &str> {
    list.split(',').map(str::trim).filter(|t| !t.is_empty())
}

impl Preconditions {
    /// Refuses a write whose `If-Match` does not match the current version (see [`Self::check_if_match_tag`]).
    pub fn check_if_match(&self, version: i32) -> Result<(), ApiError> {
        self.check_if_match_tag(&etag(version))
    }

    /// Refuses a write whose `If-Match` names neither `current` nor `*` (strong comparison: a weak tag or a tag
    /// that merely starts like the current one does not match).
    pub fn check_if_match_tag(&self, current: &str) -> Result<(), ApiError> {
        self.if_match().check(current)
    }

    /// What the request's `If-Match` expects, for the write path.
    pub fn if_match(&self) -> IfMatch {
        IfMatch::header(self.if_match.clone())
    }

    /// Whether a read can answer 304: `If-None-Match` names the current version (weak comparison; `*` matches).
    pub fn not_modified(&self, version: i32) -> bool {
        self.not_modified_since(&etag(version))
    }

    /// The 304 answer to a read of a resource at `version`, when `If-None-Match` names it.
    pub fn not_modified_response(&self, version: i32) -> Option<actix_web::HttpResponse> {
        self.not_modified_tag_response(&etag(version))
    }

    /// The 304 answer to a read whose current ETag is `current`, when `If-None-Match` names it.
    pub fn not_modified_tag_response(&self, current: &str) -> Option<actix_web::HttpResponse> {
        self.not_modified_since(current).then(|| {
            actix_web::HttpResponse::NotModified()
                .insert_header((header::ETAG, current.to_owned()))
                .finish()
        })
    }

    /// Whether a read whose current ETag is `current` can answer 304.
    pub fn not_modified_since(&self, current: &str) -> bool {
        self.if_none_match
            .as_deref()
            .is_some_and(|list| tags(list).any(|t| t == "*" || t.trim_start_matches("W/") == current))
    }
}

/// The longest `If-Match` / `If-None-Match` value accepted, as the OpenAPI document says.
pub const MAX_ENTITY_TAG_LIST: usize = 1024;

impl FromRequest for Preconditions {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let read = |name: header::HeaderName| -> Result<Option<String>, ApiError> {
            match req.headers().get(&name) {
                None => Ok(None),
                Some(v) if v.len() > MAX_ENTITY_TAG_LIST => Err(ApiError::bad_request(
                    name.as_str(),
                    format!("is longer than {MAX_ENTITY_TAG_LIST} characters"),
                )),
                Some(v) => v
                    .to_str()
                    .map(|s| Some(s.to_owned()))
                    .map_err(|_| ApiError::bad_request(name.as_str(), "is not a valid entity-tag list")),
            }
        };
        ready((|| {
            Ok(Preconditions {
                if_match: read(header::IF_MATCH)?,
                if_none_match: read(header::IF_NONE_MATCH)?,
            })
        })())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::write::etag_with;

    #[test]
    fn preconditions_compare_versions() {
        let p = Preconditions {
            if_match: Some("\"3\", \"4\"".into()),
            if_none_match: Some("W/\"4\"".into()),
        };
        assert!(p.check_if_match(4).is_ok());
        assert!(p.check_if_match(5).is_err());
        assert!(p.not_modified(4));
        assert!(!p.not_modified(5));
        let with_counts = etag_with(4, &[("official", 3)]);
        assert!(with_counts.starts_with("\"4-") && with_counts != etag_with(4, &[("official", 4)]));
        let read = Preconditions {
            if_match: Some(with_counts.clone()),
            if_none_match: Some(with_counts.clone()),
        };
        assert!(read.check_if_match_tag(&with_counts).is_ok());
        assert!(
            read.check_if_match(4).is_err(),
            "a tag with figures is not the bare version's"
        );
        assert!(read.not_modified_since(&with_counts));
        assert!(!read.not_modified_since(&etag_with(4, &[("official", 4)])));
        let forged = Preconditions {
            if_match: Some("\"3-deadbeef\", W/\"3\"".into()),
            if_none_match: None,
        };
        assert!(forged.check_if_match(3).is_err(), "only an exact current ETag matches");
        let any = Preconditions {
            if_match: Some("*".into()),
            if_none_match: None,
        };
        assert!(any.check_if_match(9).is_ok());
        let none = Preconditions {
            if_match: None,
            if_none_match: None,
        };
        assert!(none.check_if_match(1).is_ok());
        assert!(!none.not_modified(1));
    }
}
