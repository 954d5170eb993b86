//! Keyset pagination shared by every list: `limit`, `cursor`, `count=exact`, `next_cursor` and the `Link` header.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, HttpResponse};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use futures_util::future::{ready, Ready};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiError;
use crate::extract::{check_query_encoding, parse_query, unstorable};

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

/// The page a list request asks for.
#[derive(Debug, Clone)]
pub struct PageRequest {
    /// How many items, 1 to 200.
    pub limit: i64,
    cursor: Option<String>,
    /// Whether the client asked for `total` (`count=exact`).
    pub count_exact: bool,
    /// Path and query of the request without `cursor`, to build the `Link` to the next page.
    base: (String, Vec<(String, String)>),
}

impl PageRequest {
    /// The keyset position after which this page starts, decoded from the opaque cursor. A cursor is client
    /// input like any other: its values are checked as a body's are (no NUL, no date before year 1) before they
    /// reach a query.
    pub fn after<K: DeserializeOwned>(&self) -> Result<Option<K>, ApiError> {
        let Some(cursor) = &self.cursor else {
            return Ok(None);
        };
        let forged = || ApiError::bad_request("cursor", "is not a cursor this list handed out");
        let value: serde_json::Value = URL_SAFE_NO_PAD
            .decode(cursor)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or_else(forged)?;
        if unstorable(&value, String::new()).is_some() {
            return Err(forged());
        }
        serde_json::from_value(value).map(Some).map_err(|_| forged())
    }

    /// How many rows to fetch: one more than the page, to learn whether a next page exists.
    pub fn fetch(&self) -> i64 {
        self.limit + 1
    }

    /// The answer of a list that cannot match anything (its subtree filter names no organisation).
    pub fn empty<T>(&self) -> PageResponse<T> {
        PageResponse {
            page: Page {
                items: Vec::new(),
                next_cursor: None,
                total: self.count_exact.then_some(0),
            },
            next_link: None,
        }
    }

    /// Cuts `fetch()` rows down to the page; when there was more, the cursor of the page's last row and the `Link`
    /// header value to the next page.
    pub fn cut<R, K: Serialize>(&self, rows: &mut Vec<R>, key: impl Fn(&R) -> K) -> (Option<String>, Option<String>) {
        let more = rows.len() as i64 > self.limit;
        rows.truncate(self.limit as usize);
        let next_cursor = if more {
            rows.last()
                .map(|last| URL_SAFE_NO_PAD.encode(serde_json::to_vec(&key(last)).unwrap_or_default()))
        } else {
            None
        };
        let next_link = next_cursor.as_ref().map(|cursor| {
            let (path, pairs) = &self.base;
            let query = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(pairs.iter())
                .append_pair("cursor", cursor)
                .finish();
            format!("<{path}?{query}>; rel=\"next\"")
        });
        (next_cursor, next_link)
    }

    /// Builds the page from `fetch()` rows, with the cursor of the last item kept.
    pub fn finish<R, T, K: Serialize>(
        &self,
        mut rows: Vec<R>,
        key: impl Fn(&R) -> K,
        view: impl Fn(R) -> T,
        total: Option<i64>,
    ) -> PageResponse<T> {
        let (next_cursor, next_link) = self.cut(&mut rows, key);
        PageResponse {
            page: Page {
                items: rows.into_iter().map(view).collect(),
                next_cursor,
                total,
            },
            next_link,
        }
    }
}

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
    /// How many items the whole list has; present only with `count=exact`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
}

/// A page with its `Link` header.
pub struct PageResponse<T> {
    pub page: Page<T>,
    next_link: Option<String>,
}

impl<T: Serialize> PageResponse<T> {
    pub fn respond(self) -> HttpResponse {
        let mut response = HttpResponse::Ok();
        if let Some(link) = self.next_link {
            response.insert_header((header::LINK, link));
        }
        response.json(self.page)
    }
}

/// A list request: the page parameters plus the filters `F` of the resource.
pub struct ListQuery<F> {
    pub page: PageRequest,
    pub filters: F,
}

/// The page parameters every list takes.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Items per page, 1 to 200.
    #[param(minimum = 1, maximum = 200, default = 50)]
    limit: Option<i64>,
    /// The `next_cursor` of the previous page; empty or absent: the first page.
    #[param(max_length = 1024, pattern = r"^[A-Za-z0-9_-]*$")]
    cursor: Option<String>,
    /// `exact` adds `total`, the number of items in the whole list, to the page.
    count: Option<CountMode>,
}

/// The filters of a list that has none: any parameter besides the page parameters is refused.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoFilters {}

/// How to count a list: `exact` adds `total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CountMode {
    Exact,
}

const PAGE_PARAMETERS: [&str; 3] = ["limit", "cursor", "count"];

/// One query parameter.
type Pair = (String, String);

fn encode(pairs: &[Pair]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs.iter())
        .finish()
}

impl<F: DeserializeOwned> ListQuery<F> {
    /// Parses a request's path and query string.
    pub fn parse(path: &str, query: &str) -> Result<Self, ApiError> {
        check_query_encoding(query)?;
        let (page_pairs, rest): (Vec<Pair>, Vec<Pair>) = form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .partition(|(n, _)| PAGE_PARAMETERS.contains(&n.as_str()));
        let params: PageParams = parse_query(&encode(&page_pairs))?;
        let limit = params.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::bad_request("limit", format!("must be 1 to {MAX_LIMIT}")));
        }
        let count_exact = params.count == Some(CountMode::Exact);
        let filters = parse_query(&encode(&rest))?;
        let mut base = rest;
        base.extend(page_pairs.into_iter().filter(|(n, _)| n != "cursor"));
        Ok(ListQuery {
            page: PageRequest {
                limit,
                // An empty cursor is the first page, as no cursor is.
                cursor: params.cursor.filter(|c| !c.is_empty()),
                count_exact,
                base: (path.to_owned(), base),
            },
            filters,
        })
    }
}

impl<F: DeserializeOwned> FromRequest for ListQuery<F> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Self::parse(req.path(), req.query_string()))
    }
}

/// Splits a comma list query value (`kind=base_cell,cell`) into parsed values, naming the parameter on error.
pub fn comma_list<T: std::str::FromStr>(parameter: &str, value: &str) -> Result<Vec<T>, ApiError> {
    value
        .split(',')
        .map(|part| {
            part.trim()
                .parse::<T>()
                .map_err(|_| ApiError::bad_request(parameter, format!("unknown value {:?}", part.trim())))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Filters {
        kind: Option<String>,
    }

    #[test]
    fn limits_outside_the_range_are_refused() {
        for bad in ["limit=0", "limit=201", "limit=x", "limit=5&limit=6", "count=yes"] {
            let err = ListQuery::<Filters>::parse("/x", bad).err().unwrap().problem();
            assert_eq!(err.status, 400, "{bad}");
        }
        let ok = ListQuery::<Filters>::parse("/x", "limit=200&count=exact&kind=cell").unwrap();
        assert_eq!(ok.page.limit, 200);
        assert!(ok.page.count_exact);
        assert_eq!(ok.filters.kind.as_deref(), Some("cell"));
    }

    #[test]
    fn a_full_page_links_to_the_next() {
        let query = ListQuery::<Filters>::parse("/x", "kind=cell&limit=2").unwrap();
        let page = query.page.finish(vec![1, 2, 3], |n| *n, |n| n * 10, None);
        assert_eq!(page.page.items, vec![10, 20]);
        let cursor = page.page.next_cursor.clone().unwrap();
        assert_eq!(
            page.next_link.unwrap(),
            format!("</x?kind=cell&limit=2&cursor={cursor}>; rel=\"next\"")
        );
        let next = ListQuery::<Filters>::parse("/x", &format!("cursor={cursor}")).unwrap();
        assert_eq!(next.page.after::<i32>().unwrap(), Some(2));
    }

    #[test]
    fn the_last_page_has_no_cursor() {
        let query = ListQuery::<Filters>::parse("/x", "").unwrap();
        let page = query.page.finish(vec![1, 2], |n| *n, |n| n, Some(2));
        assert!(page.page.next_cursor.is_none());
        assert!(page.next_link.is_none());
    }

    #[test]
    fn a_forged_cursor_is_refused() {
        let query = ListQuery::<Filters>::parse("/x", "cursor=%%%").unwrap();
        assert_eq!(query.page.after::<i32>().unwrap_err().problem().status, 400);
        let nul = URL_SAFE_NO_PAD.encode(r#"{"Name":["\u0000","0193a5c8-7f3e-7a10-9c4e-3b1f2a6d8e01"]}"#);
        let query = ListQuery::<Filters>::parse("/x", &format!("cursor={nul}")).unwrap();
        let refused = query.page.after::<serde_json::Value>().unwrap_err().problem();
        assert_eq!((refused.status, refused.errors[0].field.as_str()), (400, "cursor"));
        let ancient = URL_SAFE_NO_PAD.encode(r#"["-4713-01-01", 3]"#);
        let query = ListQuery::<Filters>::parse("/x", &format!("cursor={ancient}")).unwrap();
        assert_eq!(
            query.page.after::<serde_json::Value>().unwrap_err().problem().status,
            400
        );
    }

    #[test]
    fn an_empty_cursor_is_the_first_page() {
        let query = ListQuery::<Filters>::parse("/x", "cursor=").unwrap();
        assert_eq!(query.page.after::<i32>().unwrap(), None);
    }
}
