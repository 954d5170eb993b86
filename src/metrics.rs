//! `GET /metrics`: the Prometheus text format, from the `metrics` facade and its Prometheus exporter.
//!
//! Each application state has a recorder of its own (not the process-wide one), so two apps in one process, as in
//! the tests, never count into each other. Requests are counted by method, route template and status, never by
//! raw path: every route that did not match shares one label, so no client can grow the number of series.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusRecorder};

use crate::auth::hash_token;
use crate::error::ApiError;
use crate::state::AppState;

/// The `route` label of a request that matched no route.
pub const UNMATCHED_ROUTE: &str = "unmatched";

const REQUESTS: &str = "http_requests_total";
const DURATION: &str = "http_request_duration_seconds";
const REFUSALS: &str = "rate_limit_refusals_total";
const POOL_MAX: &str = "db_pool_max_connections";
const POOL_OPEN: &str = "db_pool_connections";
const POOL_IN_USE: &str = "db_pool_connections_in_use";
const POOL_WAITING: &str = "db_pool_waiting";
const NUMBERED: &str = "change_feed_numbered_total";
const ATTEMPTS: &str = "webhook_delivery_attempts_total";
const DELIVERIES: &str = "webhook_deliveries";
const DUES_COUNTED: &str = "dues_members_counted_total";
const DUES_WAITING: &str = "dues_notes_waiting";
const ADMISSIONS_WAITING: &str = "admission_notes_waiting";
const ADMISSION_DAYS: &str = "admission_days_out_of_date";

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// Which allowance refused a request: a client address (callers without a known token) or a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    Address,
    Token,
}

impl Limit {
    fn label(self) -> &'static str {
        match self {
            Limit::Address => "address",
            Limit::Token => "token",
        }
    }
}

/// The metrics of one application, and who may read them.
pub struct Metrics {
    recorder: PrometheusRecorder,
    /// SHA-256 of the bearer token `/metrics` requires, when one is set.
    token_hash: Option<Vec<u8>>,
}

impl Metrics {
    pub fn new(token: Option<&str>) -> Self {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(DURATION.into()), BUCKETS)
            .expect("the bucket list is not empty")
            .build_recorder();
        metrics::with_local_recorder(&recorder, || {
            describe_counter!(REQUESTS, "HTTP requests answered, by method, route template and status");
            describe_histogram!(
                DURATION,
                Unit::Seconds,
                "Time to answer an HTTP request, by route template"
            );
            describe_counter!(
                REFUSALS,
                "Requests refused by a rate limit, by the allowance that refused them"
            );
            describe_gauge!(POOL_MAX, "Most connections the database pool may hold");
            describe_gauge!(POOL_OPEN, "Database connections open in the pool");
            describe_gauge!(POOL_IN_USE, "Database connections lent to a request");
            describe_gauge!(POOL_WAITING, "Requests waiting for a database connection");
            describe_counter!(
                NUMBERED,
                "Changes this instance's background work numbered into the feed"
            );
            describe_counter!(
                ATTEMPTS,
                "Webhook delivery attempts this instance made, by outcome (succeeded, retry, failed)"
            );
            describe_gauge!(
                DELIVERIES,
                "Webhook deliveries in the database by status: pending (waiting for an attempt) and failed (given up)"
            );
            describe_counter!(
                DUES_COUNTED,
                "Notes of changed members this instance counted into the kept dues figures"
            );
            describe_gauge!(
                DUES_WAITING,
                "Notes of changed members waiting to be counted into the kept dues figures, after this instance's last background pass"
            );
            describe_gauge!(
                ADMISSIONS_WAITING,
                "Notes of admissions waiting to be counted into the admissions kept by base organisation, after this instance's last background pass"
            );
            describe_gauge!(
                ADMISSION_DAYS,
                "Days through today whose admissions by base organisation a change of the tree left to count again, after this instance's last background pass"
            );
            counter!(NUMBERED).absolute(0);
            counter!(DUES_COUNTED).absolute(0);
            gauge!(DUES_WAITING).set(0.0);
            gauge!(ADMISSIONS_WAITING).set(0.0);
            gauge!(ADMISSION_DAYS).set(0.0);
            for outcome in ["succeeded", "retry", "failed"] {
                counter!(ATTEMPTS, "outcome" => outcome).absolute(0);
            }
            // Both refusal series exist from the start, so a rate over them has a zero to start from.
            for limit in [Limit::Address, Limit::Token] {
                counter!(REFUSALS, "limit" => limit.label()).absolute(0);
            }
        });
        Metrics {
            recorder,
            token_hash: token.map(hash_token),
        }
    }

    /// Counts one answered request. `route` is the matched route template, or [`UNMATCHED_ROUTE`].
    pub fn request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        metrics::with_local_recorder(&self.recorder, || {
            counter!(REQUESTS, "method" => method.to_owned(), "route" => route.to_owned(), "status" => status.to_string())
                .increment(1);
            histogram!(DURATION, "route" => route.to_owned()).record(seconds);
        });
    }

    /// Counts one request refused by a rate limit.
    pub fn refused(&self, limit: Limit) {
        metrics::with_local_recorder(&self.recorder, || {
            counter!(REFUSALS, "limit" => limit.label()).increment(1)
        });
    }

    /// Counts changes the background work numbered into the feed.
    pub fn numbered(&self, count: u64) {
        metrics::with_local_recorder(&self.recorder, || counter!(NUMBERED).increment(count));
    }

    /// Counts one webhook delivery attempt: `succeeded`, `retry` (failed, tried again later) or `failed` (given up).
    pub fn delivery_attempt(&self, outcome: &'static str) {
        metrics::with_local_recorder(&self.recorder, || counter!(ATTEMPTS, "outcome" => outcome).increment(1));
    }

    /// Sets the delivery backlog gauges.
    pub fn deliveries(&self, pending: i64, failed: i64) {
        metrics::with_local_recorder(&self.recorder, || {
            gauge!(DELIVERIES, "status" => "pending").set(pending as f64);
            gauge!(DELIVERIES, "status" => "failed").set(failed as f64);
        });
    }

    /// Counts notes of changed members counted into the kept dues figures.
    pub fn dues_counted(&self, notes: usize) {
        metrics::with_local_recorder(&self.recorder, || counter!(DUES_COUNTED).increment(notes as u64));
    }

    /// Sets the gauge of notes waiting to be counted into the kept dues figures.
    pub fn dues_waiting(&self, notes: i64) {
        metrics::with_local_recorder(&self.recorder, || gauge!(DUES_WAITING).set(notes as f64));
    }

    /// Sets the gauges of what the admissions kept by base organisation have yet to count in.
    pub fn admissions_waiting(&self, notes: i64, days: i64) {
        metrics::with_local_recorder(&self.recorder, || {
            gauge!(ADMISSIONS_WAITING).set(notes as f64);
            gauge!(ADMISSION_DAYS).set(days as f64);
        });
    }

    /// Folds the histogram samples recorded since the last call into their buckets. Rendering does it too; the
    /// server also calls it every few seconds, so an instance nobody scrapes does not pile samples up.
    pub fn run_upkeep(&self) {
        self.recorder.handle().run_upkeep();
    }

    /// The text exposition, with the pool gauges as they are now.
    pub fn render(&self, pool: deadpool::Status) -> String {
        metrics::with_local_recorder(&self.recorder, || {
            gauge!(POOL_MAX).set(pool.max_size as f64);
            gauge!(POOL_OPEN).set(pool.size as f64);
            gauge!(POOL_IN_USE).set(pool.size.saturating_sub(pool.available) as f64);
            gauge!(POOL_WAITING).set(pool.waiting as f64);
        });
        self.recorder.handle().render()
    }

    /// Whether the request may read the metrics: always when no token is set, else with that bearer token.
    fn admits(&self, req: &HttpRequest) -> bool {
        let Some(expected) = &self.token_hash else {
            return true;
        };
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| hash_token(token.trim()));
        given.as_ref() == Some(expected)
    }
}

/// `GET /metrics`.
pub async fn serve(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    if !state.metrics.admits(&req) {
        return Err(ApiError::Unauthorized(
            "the metrics need the bearer token set in PARTYBASE_METRICS_TOKEN".into(),
        ));
    }
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render(state.pool_status())))
}
