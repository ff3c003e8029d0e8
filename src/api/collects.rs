//! Starting or attaching to a collect, following it, and reading what it collected.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{AppError, ErrorBody, OptionalApiJson};
use super::state::AppState;
use crate::store::{Collect, Document};

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StartCollect {
    /// Nobody is watching: a site that asks for a code or a person ends the collect at
    /// once in state -2 (`USER_ACTION_NEEDED.TWOFA_EXPIRED`).
    #[serde(default)]
    pub background: bool,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CollectStarted {
    pub collect_id: String,
    /// Where viewers open the WebSocket (carries its own unguessable token).
    pub ws_path: String,
    /// -2..7
    pub state: i8,
    pub state_name: String,
    /// True when this call attached to a collect already in progress.
    pub attached: bool,
}

impl CollectStarted {
    pub fn of(live: &crate::collect::Live, started: bool) -> CollectStarted {
        let status = live.status();
        CollectStarted {
            collect_id: live.id.clone(),
            ws_path: format!("/ws/{}", live.ws_token),
            state: status.state.index(),
            state_name: status.state.name().to_string(),
            attached: !started,
        }
    }
}

#[utoipa::path(
    post,
    path = "/credential/{id}/collect",
    tag = "collects",
    security(("api_key" = [])),
    params(("id" = String, Path)),
    request_body(content = Option<StartCollect>, description = "optional; `{}` or no body is a collect with a person"),
    responses(
        (status = 201, body = CollectStarted, description = "a new collect started"),
        (status = 200, body = CollectStarted, description = "attached to the collect in progress (states 1–6)"),
        (status = 404, body = ErrorBody),
    )
)]
pub async fn start_collect(
    State(state): State<AppState>,
    Path(id): Path<String>,
    OptionalApiJson(request): OptionalApiJson<StartCollect>,
) -> Result<(StatusCode, Json<CollectStarted>), AppError> {
    let request = request.unwrap_or_default();
    let mode = crate::collect::CollectMode {
        background: request.background,
        verify: false,
    };
    let (live, started) = state.collector.start_or_attach(&id, mode).await?;
    let answer = CollectStarted::of(&live, started);
    let code = if started {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((code, Json(answer)))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GiveCode {
    /// 1 to 64 characters, not only spaces, without control characters.
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub code: String,
}

#[utoipa::path(
    post,
    path = "/credential/{id}/2fa",
    tag = "collects",
    security(("api_key" = [])),
    params(("id" = String, Path)),
    request_body = GiveCode,
    responses(
        (status = 204, description = "the code was handed to the collect"),
        (status = 404, body = ErrorBody, description = "no such credential"),
        (status = 409, body = ErrorBody, description = "no collect in progress for this credential, or it is not waiting for a code"),
        (status = 422, body = ErrorBody, description = "not a code: empty, over 64 characters, or with control characters"),
    )
)]
pub async fn give_code(
    State(state): State<AppState>,
    Path(id): Path<String>,
    super::error::ApiJson(body): super::error::ApiJson<GiveCode>,
) -> Result<StatusCode, AppError> {
    let Some(live) = state.collector.latest(&id).await else {
        // The credential exists or not: a state of it (409), or no such resource (404).
        if state.collector.store().credential(&id).await?.is_none() {
            return Err(AppError::NotFound(format!("no credential {id}")));
        }
        return Err(AppError::Conflict(format!(
            "no collect in progress for credential {id}: start one with POST /credential/{id}/collect"
        )));
    };
    live.give_code(&body.code).map_err(|e| match e {
        crate::collect::live::InputError::BadCode => AppError::Unprocessable(e.to_string()),
        e => AppError::Conflict(e.to_string()),
    })?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/collect/{id}",
    tag = "collects",
    security(("api_key" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = CollectView), (status = 404, body = ErrorBody))
)]
pub async fn get_collect(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<CollectView>, AppError> {
    let store = state.collector.store();
    let collect = store
        .collect(&id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no collect {id}")))?;
    let final_state = crate::store::state_from_index(collect.state.into())
        .filter(|s| !s.in_progress() && *s != crate::codes::State::Unknown);
    let advice = final_state.map(|s| {
        let code = collect.error.as_ref().and_then(|e| e.code.parse().ok());
        crate::advice::for_outcome(s, code.as_ref())
    });
    // Only documents new to the credential are recorded for a collect.
    let new_documents = store.documents_of_collect(&id).await?.len();
    Ok(Json(CollectView {
        collect,
        new_documents,
        advice,
    }))
}

/// A collect, with what it brought and, once it has ended, what the person can do.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CollectView {
    #[serde(flatten)]
    pub collect: Collect,
    /// Documents this collect found that the credential did not have.
    pub new_documents: usize,
    pub advice: Option<crate::advice::Advice>,
}

#[utoipa::path(
    get,
    path = "/collect/{id}/documents",
    tag = "documents",
    security(("api_key" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Vec<Document>), (status = 404, body = ErrorBody))
)]
pub async fn collect_documents(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Vec<Document>>, AppError> {
    let store = state.collector.store();
    if store.collect(&id).await?.is_none() {
        return Err(AppError::NotFound(format!("no collect {id}")));
    }
    Ok(Json(store.documents_of_collect(&id).await?))
}

#[utoipa::path(
    get,
    path = "/collect/{id}/trace",
    tag = "collects",
    security(("api_key" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "the trace of a failed collect's last steps: a self-contained HTML page (screenshots, HTML, URLs, requests, console, the error), secrets redacted", content_type = "text/html"),
        (status = 404, body = ErrorBody, description = "no such collect, or it kept no trace (it did not fail, or its trace was dropped for newer ones)"),
    )
)]
pub async fn collect_trace(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let collect = state
        .collector
        .store()
        .collect(&id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no collect {id}")))?;
    let kept = state.collector.config().traces.clone();
    let report = match kept {
        Some(kept) => {
            let credential = collect.credential_id.clone();
            let collect_id = id.clone();
            tokio::task::spawn_blocking(move || kept.read(&credential, &collect_id))
                .await
                .ok()
                .flatten()
        }
        None => None,
    }
    .ok_or_else(|| AppError::NotFound(format!("collect {id} kept no trace")))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8".to_string()),
            (
                header::CONTENT_SECURITY_POLICY,
                crate::trace::CSP.to_string(),
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        report,
    )
        .into_response())
}

/// A document's bytes, as downloaded from the site.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct DocumentFile(pub Vec<u8>);

#[utoipa::path(
    get,
    path = "/document/{id}",
    tag = "documents",
    security(("api_key" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, description = "the file, with the content type it was downloaded with (`application/pdf` for most documents; `application/octet-stream` when unknown)", content(
            (DocumentFile = "application/pdf"),
            (DocumentFile = "application/octet-stream"),
            (DocumentFile = "*/*"),
        )),
        (status = 404, body = ErrorBody),
    )
)]
pub async fn download_document(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let doc = state
        .collector
        .store()
        .document(&id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no document {id}")))?;
    let path = state
        .collector
        .config()
        .documents_dir()
        .join(doc.file_name());
    // Documents are small (invoices, statements): read whole.
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|e| AppError::Internal(format!("document {id} at {}: {e}", path.display())))?;
    let content_type = doc
        .content_type
        .clone()
        .unwrap_or_else(|| "application/octet-stream".into());
    let name = format!(
        "{}.{}",
        doc.doc_id
            .as_deref()
            .filter(|s| s
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)))
            .unwrap_or(&doc.sha256[..16]),
        doc.file_name().rsplit('.').next().unwrap_or("bin")
    );
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        Body::from(bytes),
    )
        .into_response())
}
