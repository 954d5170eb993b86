//! The application: routes, middleware, the OpenAPI document and the answers for unknown routes.

use actix_web::body::MessageBody;
use actix_web::dev::{ResourceDef, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::{from_fn, Condition, DefaultHeaders, ErrorHandlerResponse, ErrorHandlers};
use actix_web::{web, App, HttpRequest, HttpResponse, ResponseError};
use utoipa::OpenApi;
use utoipa_actix_web::{scope, AppExt};
use utoipa_swagger_ui::SwaggerUi;

use crate::error::{ApiError, PROBLEM_JSON};
use crate::openapi::ApiDoc;
use crate::request_id::{self, REQUEST_ID_HEADER};
use crate::resources::{
    audit, candidates, changes, dues, evaluations, health, imports, meetings, members, organisations, reorganisations,
    resolutions, tokens, webhooks,
};
use crate::state::AppState;
use crate::{caching, gate, head, idempotency, metrics, observe, reports};

/// Registers every documented route.
fn api_routes(config: &mut utoipa_actix_web::service_config::ServiceConfig) {
    config.configure(health::http::routes).service(
        scope("/api/v1")
            .wrap(from_fn(idempotency::middleware))
            .wrap(from_fn(gate::middleware))
            .service(scope("/organisations").configure(organisations::http::routes))
            .service(scope("/reorganisations").configure(reorganisations::http::routes))
            .service(
                scope("/members")
                    .configure(members::http::routes)
                    .configure(dues::http::member_routes),
            )
            .service(scope("/dues").configure(dues::http::routes))
            .service(scope("/meetings").configure(meetings::http::routes))
            .service(scope("/candidates").configure(candidates::http::routes))
            .service(scope("/resolutions").configure(resolutions::http::routes))
            .service(scope("/imports").configure(imports::http::routes))
            .service(scope("/reports").configure(reports::routes))
            .configure(evaluations::http::routes)
            .service(scope("/changes").configure(changes::http::routes))
            .service(scope("/webhooks").configure(webhooks::http::routes))
            .service(scope("/tokens").configure(tokens::http::routes))
            .service(scope("/audit-events").configure(audit::http::routes)),
    );
}

/// The OpenAPI document, collected from the same registrations that serve requests.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let doc = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(api_routes)
        .split_for_parts()
        .1;
    crate::openapi::finish(doc)
}

/// The documented paths with their methods, to tell an unknown route (404) from a wrong method (405).
struct RouteTable(Vec<(ResourceDef, Vec<&'static str>)>);

impl RouteTable {
    fn new(doc: &utoipa::openapi::OpenApi) -> Self {
        let routes = doc
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let methods = [
                    ("GET", item.get.is_some()),
                    ("HEAD", item.get.is_some()),
                    ("POST", item.post.is_some()),
                    ("PUT", item.put.is_some()),
                    ("PATCH", item.patch.is_some()),
                    ("DELETE", item.delete.is_some()),
                ]
                .into_iter()
                .filter_map(|(m, present)| present.then_some(m))
                .collect();
                (ResourceDef::new(path.as_str()), methods)
            })
            .collect();
        RouteTable(routes)
    }

    fn allowed(&self, path: &str) -> Option<&[&'static str]> {
        self.0
            .iter()
            .find(|(def, _)| def.is_match(path))
            .map(|(_, methods)| methods.as_slice())
    }
}

/// The answer to a request head that the [`crate::screen`] replaced: the status it names, as a problem.
async fn refused(status: web::Path<u16>) -> Result<HttpResponse, ApiError> {
    Err(match status.into_inner() {
        414 => ApiError::UriTooLong(crate::screen::MAX_TARGET),
        431 => ApiError::HeadersTooLarge(crate::screen::MAX_HEAD),
        400 => ApiError::bad_request("request", "the request line or a header is malformed"),
        _ => ApiError::NotFound("no such route".into()),
    })
}

async fn fallback(req: HttpRequest, routes: web::Data<RouteTable>) -> Result<HttpResponse, ApiError> {
    match routes.allowed(req.path()) {
        Some(methods) => Err(ApiError::MethodNotAllowed {
            method: req.method().to_string(),
            allow: methods.iter().map(|m| m.to_string()).collect(),
        }),
        None => Err(ApiError::NotFound(format!("no route {}", req.path()))),
    }
}

/// The last guard of the error contract: any error response that is not yet a problem document (one made by
/// actix itself or a middleware) is replaced by one with the same status.
fn ensure_problem<B: MessageBody + 'static>(res: ServiceResponse<B>) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == PROBLEM_JSON.as_bytes());
    if is_problem {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let error = match status {
        StatusCode::BAD_REQUEST => ApiError::bad_request("request", "is malformed"),
        StatusCode::NOT_FOUND => ApiError::NotFound("not found".into()),
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge(crate::extract::BODY_LIMIT),
        StatusCode::SERVICE_UNAVAILABLE => ApiError::Unavailable,
        s if s.is_server_error() => ApiError::Internal(anyhow::anyhow!("unexpected {s} response")),
        _ => {
            // Keep the status: render a plain problem for it.
            let body = serde_json::json!({
                "type": "about:blank",
                "title": status.canonical_reason().unwrap_or("Error"),
                "status": status.as_u16(),
                "detail": status.canonical_reason().unwrap_or("Error"),
            });
            let (req, old) = res.into_parts();
            let mut new = HttpResponse::build(status);
            for (name, value) in old.headers().iter().filter(|(n, _)| *n != header::CONTENT_TYPE) {
                new.append_header((name.clone(), value.clone()));
            }
            let new = new.content_type(PROBLEM_JSON).body(body.to_string());
            return Ok(ErrorHandlerResponse::Response(
                ServiceResponse::new(req, new).map_into_right_body(),
            ));
        }
    };
    let (req, old) = res.into_parts();
    let mut new = error.error_response();
    for (name, value) in old.headers().iter().filter(|(n, _)| *n != header::CONTENT_TYPE) {
        new.headers_mut().insert(name.clone(), value.clone());
    }
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, new).map_into_right_body(),
    ))
}

/// The reason a path parameter was refused, without actix's wording around it.
fn path_message(error: &actix_web::error::PathError) -> String {
    let actix_web::error::PathError::Deserialize(e) = error else {
        return "is not valid".into();
    };
    let text = e.to_string();
    if text.contains("UUID") {
        "is not a valid UUID".into()
    } else {
        format!("is not valid: {text}")
    }
}

fn cors(origins: &[String]) -> actix_cors::Cors {
    origins
        .iter()
        .fold(actix_cors::Cors::default(), |cors, origin| cors.allowed_origin(origin))
        .allowed_methods(["GET", "POST", "PATCH", "DELETE"])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::IF_MATCH,
            header::IF_NONE_MATCH,
            header::HeaderName::from_static(REQUEST_ID_HEADER),
        ])
        .expose_headers([
            header::ETAG,
            header::LOCATION,
            header::LINK,
            header::RETRY_AFTER,
            header::HeaderName::from_static(REQUEST_ID_HEADER),
            header::HeaderName::from_static(gate::RATE_LIMIT_POLICY),
            header::HeaderName::from_static(gate::RATE_LIMIT),
        ])
        .max_age(3600)
}

/// The whole application, as `main` serves it and the tests call it.
pub fn app(
    state: web::Data<AppState>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let (app, doc) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(api_routes)
        .split_for_parts();
    let doc = crate::openapi::finish(doc);
    let routes = web::Data::new(RouteTable::new(&doc));
    let origins = state.cors_origins.clone();
    let security_headers = DefaultHeaders::new()
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::CONTENT_SECURITY_POLICY, "frame-ancestors 'none'"))
        .add((header::REFERRER_POLICY, "no-referrer"));
    app.app_data(state)
        .app_data(routes)
        .app_data(web::PathConfig::default().error_handler(|e, _| ApiError::bad_request("id", path_message(&e)).into()))
        .service(SwaggerUi::new("/swagger-ui/{_:.*}").url("/openapi.json", doc))
        .route(
            "/docs",
            web::get().to(|| async {
                HttpResponse::Found()
                    .insert_header((header::LOCATION, HeaderValue::from_static("/swagger-ui/")))
                    .finish()
            }),
        )
        .route("/metrics", web::get().to(metrics::serve))
        .route(
            &format!("{}/{{status}}", crate::screen::REFUSED_PATH),
            web::get().to(refused),
        )
        .default_service(web::to(fallback))
        .wrap(ErrorHandlers::new().default_handler(ensure_problem))
        .wrap(Condition::new(!origins.is_empty(), cors(&origins)))
        .wrap(security_headers)
        .wrap(from_fn(caching::middleware))
        .wrap(from_fn(request_id::middleware))
        .wrap(from_fn(head::middleware))
        .wrap(from_fn(observe::middleware))
}
