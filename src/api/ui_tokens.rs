//! `POST /session`: a backend asks for a short-lived token scoped to one of its users, and
//! the URL of the UI to embed (iframe) or to send the person to.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::credentials::check_id;
use super::error::{ApiJson, AppError, ErrorBody, capped};
use super::state::AppState;
use crate::store::NewUiToken;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateUiToken {
    /// The backend's id for the person; the token reaches only this user's data. 1 to 200
    /// characters, not only spaces, without control characters.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub user_id: String,
    /// Open the UI on this connector's form.
    #[serde(default)]
    pub connector: Option<String>,
    /// Bind the session to this credential (of the same user).
    #[serde(default)]
    pub credential_id: Option<String>,
    /// Where to send the person at the end (full-page mode), with the outcome in the query.
    /// Must be on one of the allowed UI origins.
    #[serde(default)]
    #[schema(format = "uri")]
    pub redirect_url: Option<String>,
    /// The host shows its own end screen: the UI shows none.
    #[serde(default)]
    pub hide_end_screen: bool,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UiTokenCreated {
    /// Shown once: only its hash is stored.
    pub token: String,
    /// The UI for this session, for an iframe or a redirect.
    pub url: String,
    pub expires_at: String,
}

#[utoipa::path(
    post,
    path = "/session",
    tag = "ui",
    security(("api_key" = [])),
    request_body = CreateUiToken,
    responses(
        (status = 201, body = UiTokenCreated),
        (status = 404, body = ErrorBody, description = "the credential is not this user's"),
        (status = 422, body = ErrorBody, description = "unknown connector, redirectUrl not allowed"),
    )
)]
pub async fn create_ui_token(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<CreateUiToken>,
) -> Result<(StatusCode, Json<UiTokenCreated>), AppError> {
    check_id("userId", &body.user_id)?;
    let store = state.collector.store();
    if let Some(c) = &body.connector
        && state.collector.catalog().get(c).is_none()
    {
        return Err(AppError::Unprocessable(format!(
            "unknown connector {:?} (see GET /connectors)",
            capped(c)
        )));
    }
    if let Some(id) = &body.credential_id {
        let owned = store
            .credential(id)
            .await?
            .is_some_and(|c| c.user_id == body.user_id);
        if !owned {
            return Err(AppError::NotFound(format!(
                "no credential {id} for this user"
            )));
        }
    }
    if let Some(url) = &body.redirect_url
        && !state.ui.allows_redirect(url)
    {
        return Err(AppError::Unprocessable(format!(
            "redirectUrl {:?} must be an http(s) URL on an allowed UI origin ({})",
            capped(url),
            state.ui.allowed_origins.join(", ")
        )));
    }
    let (token, ui_token) = store
        .create_ui_token(NewUiToken {
            user_id: body.user_id,
            connector: body.connector,
            credential_id: body.credential_id,
            redirect_url: body.redirect_url,
            hide_end_screen: body.hide_end_screen,
            ttl: state.ui.session_ttl,
        })
        .await?;
    let url = format!("{}/ui?token={token}", state.ui.public_base());
    Ok((
        StatusCode::CREATED,
        Json(UiTokenCreated {
            token,
            url,
            expires_at: ui_token.expires_at_rfc3339(),
        }),
    ))
}
