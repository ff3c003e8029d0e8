//! Pages that never load as a page should: an endless redirect, a redirect loop between
//! two paths, a page that reloads itself without end, and a plain 404. For gleaner's tests
//! of named navigation errors (a closed port needs no route: a test binds one and closes it).

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{Redirect, Response};
use axum::routing::get;

use crate::render::html_response;

/// The routes, under `/broken/`.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route(
            "/broken/endless",
            get(|| async { Redirect::to("/broken/endless/1") }),
        )
        .route("/broken/endless/{n}", get(endless))
        .route(
            "/broken/loop/a",
            get(|| async { Redirect::to("/broken/loop/b") }),
        )
        .route(
            "/broken/loop/b",
            get(|| async { Redirect::to("/broken/loop/a") }),
        )
        .route("/broken/reload", get(reload))
        .route("/broken/missing", get(missing))
}

/// `/broken/endless/n` redirects to `n + 1`: never the same URL twice.
async fn endless(Path(n): Path<u64>) -> Redirect {
    Redirect::to(&format!("/broken/endless/{}", n.saturating_add(1)))
}

/// Reloads itself as soon as it has loaded, for ever.
async fn reload() -> Response {
    html_response(
        StatusCode::OK,
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Reload</title></head>\n\
         <body><h1>Reloading</h1>\n<script>location.reload();</script></body></html>"
            .to_string(),
    )
}

/// A real page with a 404 status: a navigation that worked, to a page that is not there.
async fn missing() -> Response {
    html_response(
        StatusCode::NOT_FOUND,
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Not found</title></head>\n\
         <body><h1 id=\"missing\">Page not found</h1></body></html>"
            .to_string(),
    )
}
