//! The one error type of the HTTP API: a status code and a JSON body
//! `{"error": {"code": "...", "message": "..."}}`. Internal details (database errors,
//! paths) are logged, never sent.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::collect::CollectorError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("missing or wrong API key: send `Authorization: Bearer <api key>`")]
    Unauthorized,
    /// 401 for another credential than the API key (the UI's session token, a WebSocket's
    /// credentials), saying what is wrong with it.
    #[error("{0}")]
    Unauthenticated(String),
    /// 403: the request comes from where it may not (a WebSocket's `Origin`).
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unprocessable(String),
    #[error("{0}")]
    Conflict(String),
    #[error("internal error")]
    Internal(String),
}

/// The body of every error response.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// `unauthorized`, `forbidden`, `not_found`, `bad_request`, `unprocessable`, `conflict`, `internal`.
    pub code: String,
    pub message: String,
}

impl AppError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            AppError::Unauthorized | AppError::Unauthenticated(_) => {
                (StatusCode::UNAUTHORIZED, "unauthorized")
            }
            AppError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            AppError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            AppError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            AppError::Unprocessable(_) => (StatusCode::UNPROCESSABLE_ENTITY, "unprocessable"),
            AppError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            AppError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let AppError::Internal(detail) = &self {
            tracing::error!("internal error: {detail}");
        }
        let (status, code) = self.status_and_code();
        let message = cap(&self.to_string(), MAX_MESSAGE);
        let body = json!({ "error": { "code": code, "message": message } });
        let mut response = (status, Json(body)).into_response();
        let scheme = match &self {
            AppError::Unauthorized => Some("Bearer"),
            AppError::Unauthenticated(_) => Some("Session"),
            _ => None,
        };
        if let Some(scheme) = scheme {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static(scheme),
            );
        }
        response
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        AppError::Internal(e.to_string())
    }
}

impl From<CollectorError> for AppError {
    fn from(e: CollectorError) -> Self {
        match e {
            CollectorError::NoCredential(_) => AppError::NotFound(e.to_string()),
            CollectorError::NoConnector(_) | CollectorError::BadBaseUrl(_) => {
                AppError::Unprocessable(e.to_string())
            }
            CollectorError::Store(e) => e.into(),
        }
    }
}

/// The longest piece of a request echoed in an error message, in characters.
pub const MAX_ECHOED: usize = 100;

/// `text` cut to [`MAX_ECHOED`] characters with an ellipsis, for echoing a request's value
/// in an error: a huge value is not sent back whole.
pub fn capped(text: &str) -> String {
    cap(text, MAX_ECHOED)
}

/// The longest error message sent, in characters: a backstop for messages that echo a
/// request's value without [`capped`] (serde's, axum's).
const MAX_MESSAGE: usize = 1000;

fn cap(text: &str, chars: usize) -> String {
    match text.char_indices().nth(chars) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// `Json` whose rejections are [`AppError`]s (JSON bodies with the reason).
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json_type = is_json(req.headers());
        let body = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| AppError::BadRequest(e.body_text()))?;
        if !json_type {
            return Err(AppError::BadRequest(
                "Expected request with `Content-Type: application/json`".into(),
            ));
        }
        Ok(ApiJson(object_from_bytes(&body)?))
    }
}

/// `body` read as a `T`. Every body of this API is a JSON object, and the document says so,
/// but serde reads a struct from an array too (`[]`: every field left out): an array is
/// refused like any other value of the wrong type (422).
fn object_from_bytes<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, AppError> {
    let is_array = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
    match Json::<T>::from_bytes(body) {
        Ok(_) if is_array => Err(AppError::Unprocessable(
            "the body must be a JSON object, not an array".into(),
        )),
        Ok(Json(v)) => Ok(v),
        Err(JsonRejection::JsonDataError(e)) => Err(AppError::Unprocessable(e.body_text())),
        Err(other) => Err(AppError::BadRequest(other.body_text())),
    }
}

/// An optional JSON body: none, a blank one or `null` is `None`; anything else is read as
/// [`ApiJson`] reads it, with the same errors (400 without a JSON `Content-Type` or for
/// malformed JSON, 422 for a value of the wrong shape or an unknown property).
pub struct OptionalApiJson<T>(pub Option<T>);

impl<S, T> FromRequest<S> for OptionalApiJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json_type = is_json(req.headers());
        let body = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| AppError::BadRequest(e.body_text()))?;
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalApiJson(None));
        }
        if !json_type {
            return Err(AppError::BadRequest(
                "Expected request with `Content-Type: application/json`".into(),
            ));
        }
        Ok(OptionalApiJson(object_from_bytes(&body)?))
    }
}

/// `application/json` or a `+json` type, as axum's `Json` accepts.
fn is_json(headers: &axum::http::HeaderMap) -> bool {
    let Some(value) = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.split_once('/') {
        Some((kind, sub)) => kind == "application" && (sub == "json" || sub.ends_with("+json")),
        None => false,
    }
}
