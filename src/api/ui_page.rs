//! `GET /ui` and `GET /ui/assets/{file}`: the embedded UI's page, once its token is looked
//! up, and its static assets. What they show is [`crate::ui`]'s.

use axum::extract::{Path, Query, State};
use axum::response::Response;

use super::error::AppError;
use super::state::AppState;
use crate::ui::{self, PageView, UiQuery};

#[utoipa::path(
    get,
    path = "/ui",
    tag = "ui",
    params(UiQuery),
    responses(
        (status = 200, description = "the UI page", content_type = "text/html"),
        (status = 401, description = "unknown or expired token: an error page", content_type = "text/html"),
        (status = 500, description = "the session could not be looked up: an error page", content_type = "text/html"),
    )
)]
pub async fn page(State(state): State<AppState>, Query(q): Query<UiQuery>) -> Response {
    let token = q.token.as_deref().filter(|t| !t.is_empty());
    let view = match token {
        None => PageView::InvalidLink,
        Some(token) => match state.collector.store().ui_token(token).await {
            Ok(Some(ui_token)) if ui_token.is_expired() => PageView::ExpiredLink,
            Ok(Some(_)) => PageView::Ready { token },
            Ok(None) => PageView::InvalidLink,
            Err(e) => {
                tracing::error!("session lookup: {e}");
                PageView::Failed
            }
        },
    };
    ui::page(&state.ui, &q, view)
}

#[utoipa::path(
    get,
    path = "/ui/assets/{file}",
    tag = "ui",
    params(("file" = String, Path, description = "ui.js, live.js or ui.css")),
    responses(
        (status = 200, description = "a static asset", content(
            (String = "text/javascript"),
            (String = "text/css"),
        )),
        (status = 404, body = super::error::ErrorBody),
    )
)]
pub async fn asset(
    State(state): State<AppState>,
    Path(file): Path<String>,
) -> Result<Response, AppError> {
    ui::asset(&state.ui, &file).ok_or_else(|| AppError::NotFound(format!("no asset {file:?}")))
}
