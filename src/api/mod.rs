//! The HTTP API (axum): backends authenticate with an API key; viewers reach a live
//! collect through the WebSocket path it returns. The API knows collects, the store and
//! connectors, never CDP.
//!
//! - [`error`]: [`AppError`], JSON errors that hide internals.
//! - [`contract`]: the statuses every route of a kind answers, in the OpenAPI document.
//! - [`deployment`]: the served document made exact for the connectors and settings loaded.
//! - [`auth`]: API keys.
//! - [`connectors`], [`credentials`], [`collects`], [`schedules`]: the routes.
//! - [`ws`] and [`messages`]: the live collect's WebSocket and its typed messages.
//! - [`webhooks`]: the webhook deliveries and their replay.
//! - [`ui_page`]: the embedded UI's page and assets; [`ui_routes`]: the API that page
//!   calls with its session token.
//! - [`metrics`]: `GET /metrics` for Prometheus.

pub mod auth;
pub mod collects;
pub mod connectors;
pub mod contract;
pub mod credentials;
pub mod deployment;
pub mod error;
pub mod messages;
pub mod metrics;
pub mod schedules;
mod state;
pub mod ui_page;
pub mod ui_routes;
pub mod ui_tokens;
pub mod webhooks;
pub mod ws;

use std::future::Future;
use std::sync::Arc;

use axum::extract::State;
use axum::{Json, Router, middleware};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use utoipa::openapi::OpenApi;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi as _, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use state::{AppState, ScheduleSettings};

use error::AppError;

#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "gleaner", description = "Collects a person's documents and data from websites, in real Chromium."),
    modifiers(&BearerAuth),
    components(schemas(error::ErrorBody))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        // The UI's session token: `Authorization: Session <token>`.
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(utoipa::openapi::security::ApiKey::Header(
                utoipa::openapi::security::ApiKeyValue::new("Authorization"),
            )),
        );
    }
}

/// The routes and their OpenAPI document, built from the same registrations so that a
/// route cannot exist without its documentation.
pub fn router_and_openapi(state: AppState) -> (Router, OpenApi) {
    let (router, openapi) = registrations(state.api_keys.clone())
        .fallback(not_found)
        .with_state(state)
        .split_for_parts();
    (router, openapi)
}

/// The OpenAPI document alone, as the service serves it at `/openapi.json`.
pub fn openapi() -> OpenApi {
    registrations(auth::ApiKeys::default()).into_openapi()
}

/// Every route, its documentation completed with the statuses its kind answers (see
/// [`contract`]).
fn registrations(api_keys: auth::ApiKeys) -> OpenApiRouter<AppState> {
    let mut protected = OpenApiRouter::new()
        .routes(routes!(connectors::list_connectors))
        .routes(routes!(credentials::create_credential))
        .routes(routes!(
            credentials::get_credential,
            credentials::update_credential,
            credentials::delete_credential
        ))
        .routes(routes!(credentials::list_credentials))
        .routes(routes!(collects::start_collect))
        .routes(routes!(collects::give_code))
        .routes(routes!(collects::get_collect))
        .routes(routes!(collects::collect_documents))
        .routes(routes!(collects::collect_trace))
        .routes(routes!(collects::download_document))
        .routes(routes!(ui_tokens::create_ui_token))
        .routes(routes!(webhooks::list_deliveries))
        .routes(routes!(webhooks::replay_delivery))
        .routes(routes!(metrics::metrics))
        .routes(routes!(
            schedules::put_schedule,
            schedules::get_schedule,
            schedules::delete_schedule
        ));
    // The layer below answers 401 on each of these routes.
    contract::answers_everywhere(
        protected.get_openapi_mut(),
        401,
        contract::UNAUTHORIZED_API_KEY,
    );
    let protected = protected.route_layer(middleware::from_fn_with_state(
        api_keys,
        auth::require_api_key,
    ));
    // Each of these takes `UiTokenAuth`, which answers 401.
    let mut session = OpenApiRouter::new()
        .routes(routes!(ui_routes::context))
        .routes(routes!(ui_routes::credential))
        .routes(routes!(ui_routes::add_account))
        .routes(routes!(ui_routes::correct_account))
        .routes(routes!(ui_routes::start_collect));
    contract::answers_everywhere(
        session.get_openapi_mut(),
        401,
        contract::UNAUTHORIZED_SESSION,
    );
    let open = OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(openapi_json))
        .routes(routes!(ws::live_ws))
        .routes(routes!(ui_page::page))
        .routes(routes!(ui_page::asset));
    let mut all = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(protected)
        .merge(session)
        .merge(open);
    contract::json_bodies_answer_400_and_422(all.get_openapi_mut());
    contract::link_responses(all.get_openapi_mut());
    all
}

/// The whole application, ready to serve.
pub fn app(state: AppState) -> Router {
    let deployment = deployment::Deployment::new(
        state.collector.catalog(),
        &state.ui.allowed_origins,
        state.schedules.min_interval.as_secs(),
    );
    let (router, openapi) = router_and_openapi(state);
    let served = serde_json::to_value(&openapi)
        .map(|doc| deployment::describe(doc, &deployment))
        .unwrap_or_default();
    router
        .layer(axum::Extension(ServedDocument(Arc::new(served))))
        .method_not_allowed_fallback(method_not_allowed)
}

/// Serves until `shutdown` resolves, then lets requests in flight finish.
pub async fn run(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

async fn not_found() -> AppError {
    AppError::NotFound("no such route (see /openapi.json)".into())
}

async fn method_not_allowed() -> axum::response::Response {
    use axum::response::IntoResponse;
    let body = serde_json::json!({
        "error": { "code": "method_not_allowed", "message": "this route does not take this method (see /openapi.json)" }
    });
    (axum::http::StatusCode::METHOD_NOT_ALLOWED, Json(body)).into_response()
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Health {
    pub status: String,
    pub connectors: usize,
}

#[utoipa::path(get, path = "/healthz", tag = "service", responses((status = 200, body = Health)))]
async fn healthz(State(state): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        connectors: state.collector.catalog().len(),
    })
}

/// `/openapi.json`: the document of the routes, made exact for this deployment.
#[derive(Clone)]
struct ServedDocument(Arc<serde_json::Value>);

#[utoipa::path(get, path = "/openapi.json", tag = "service", responses((status = 200, description = "this document", body = Object)))]
async fn openapi_json(
    axum::Extension(ServedDocument(doc)): axum::Extension<ServedDocument>,
) -> Json<serde_json::Value> {
    Json(doc.as_ref().clone())
}
