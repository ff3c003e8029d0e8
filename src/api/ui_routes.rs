//! The API the UI page calls, authenticated by its session token alone
//! (`Authorization: Session <token>`): no user id in any URL, and nothing of another user
//! reachable — a credential of someone else answers 404, as if it did not exist.

use axum::Json;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::collects::CollectStarted;
use super::connectors::ConnectorInfo;
use super::credentials::{connector_of, split_fields};
use super::error::{ApiJson, AppError, ErrorBody};
use super::state::AppState;
use crate::collect::CollectMode;
use crate::connector::Plan;
use crate::store::{Credential, NewCredential, UiToken};

/// What the request's UI token grants; 401 when absent, unknown or expired.
pub struct UiTokenAuth(pub UiToken);

impl FromRequestParts<AppState> for UiTokenAuth {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let token = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Session "))
            .map(str::trim)
            .ok_or_else(|| {
                AppError::Unauthenticated(
                    "missing session token: send `Authorization: Session <token>`".into(),
                )
            })?;
        match state.collector.store().ui_token(token).await? {
            Some(s) if !s.is_expired() => Ok(UiTokenAuth(s)),
            Some(_) => Err(AppError::Unauthenticated(
                "the session token has expired: open the UI again from the site".into(),
            )),
            None => Err(AppError::Unauthenticated(
                "unknown session token: open the UI again from the site".into(),
            )),
        }
    }
}

/// The credential `id`, or 404 when it is not the token user's.
async fn owned(state: &AppState, ui_token: &UiToken, id: &str) -> Result<Credential, AppError> {
    state
        .collector
        .store()
        .credential(id)
        .await?
        .filter(|c| c.user_id == ui_token.user_id)
        .ok_or_else(|| AppError::NotFound(format!("no credential {id}")))
}

/// The credential as the UI sees it: no user id, no secret.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UiCredential {
    pub id: String,
    pub connector: String,
    pub fields: IndexMap<String, String>,
    pub secret_fields: Vec<String>,
    pub state: i8,
    pub state_name: String,
}

impl From<Credential> for UiCredential {
    fn from(c: Credential) -> Self {
        UiCredential {
            id: c.id,
            connector: c.connector,
            fields: c.fields,
            secret_fields: c.secret_fields,
            state: c.state,
            state_name: c.state_name,
        }
    }
}

/// A credential of the session's user, for a view that names it (`/ui?…&collect=ID`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UiCredentialView {
    pub credential: UiCredential,
    /// The value of the connector's identity field (a login, a customer number); empty
    /// when the connector has none.
    pub identity: String,
}

#[utoipa::path(
    get,
    path = "/ui/api/credentials/{id}",
    tag = "ui",
    security(("session" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 200, body = UiCredentialView),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "no such credential among the session's user's"),
    )
)]
pub async fn credential(
    State(state): State<AppState>,
    UiTokenAuth(ui_token): UiTokenAuth,
    Path(id): Path<String>,
) -> Result<Json<UiCredentialView>, AppError> {
    let credential = owned(&state, &ui_token, &id).await?;
    let identity = connector_of(&state, &credential)
        .map(|c| identity_of(&c, &credential.fields))
        .unwrap_or_default();
    Ok(Json(UiCredentialView {
        credential: credential.into(),
        identity,
    }))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UiContext {
    pub connectors: Vec<ConnectorInfo>,
    /// The connector the session is for, if the backend named one.
    pub connector: Option<String>,
    /// The credential the session is for, if the backend named one.
    pub credential: Option<UiCredential>,
    pub hide_end_screen: bool,
    pub redirect_url: Option<String>,
    pub expires_at: String,
}

#[utoipa::path(
    get,
    path = "/ui/api/context",
    tag = "ui",
    security(("session" = [])),
    responses(
        (status = 200, body = UiContext),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "the session's credential is gone"),
    )
)]
pub async fn context(
    State(state): State<AppState>,
    UiTokenAuth(ui_token): UiTokenAuth,
) -> Result<Json<UiContext>, AppError> {
    let credential = match &ui_token.credential_id {
        Some(id) => Some(owned(&state, &ui_token, id).await?.into()),
        None => None,
    };
    let connectors = state
        .collector
        .catalog()
        .iter()
        .filter(|c| {
            ui_token
                .connector
                .as_deref()
                .is_none_or(|only| only == c.id.as_str())
        })
        .map(|c| ConnectorInfo::from(c.as_ref()))
        .collect();
    Ok(Json(UiContext {
        connectors,
        connector: ui_token.connector.clone(),
        credential,
        hide_end_screen: ui_token.hide_end_screen,
        redirect_url: ui_token.redirect_url.clone(),
        expires_at: ui_token.expires_at_rfc3339(),
    }))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddAccount {
    pub connector: String,
    #[schema(schema_with = super::credentials::field_values)]
    pub fields: IndexMap<String, String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CorrectAccount {
    /// Secret fields left empty keep their stored value.
    #[schema(schema_with = super::credentials::field_values)]
    pub fields: IndexMap<String, String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountAdded {
    pub credential: UiCredential,
    /// The same user already had this account (same connector, same identity): it was
    /// updated, not duplicated.
    pub already_exists: bool,
    /// The value of the connector's identity field (a login, a customer number).
    pub identity: String,
    /// The verification collect (log in only).
    pub collect: CollectStarted,
}

fn identity_of(connector: &Plan, fields: &IndexMap<String, String>) -> String {
    connector
        .identity_field()
        .and_then(|f| fields.get(f))
        .cloned()
        .unwrap_or_default()
}

async fn verify(
    state: &AppState,
    credential: Credential,
    connector: &Plan,
    already_exists: bool,
) -> Result<AccountAdded, AppError> {
    let mode = CollectMode {
        background: false,
        verify: true,
    };
    let (live, started) = state
        .collector
        .start_or_attach(&credential.id, mode)
        .await?;
    Ok(AccountAdded {
        identity: identity_of(connector, &credential.fields),
        credential: credential.into(),
        already_exists,
        collect: CollectStarted::of(&live, started),
    })
}

#[utoipa::path(
    post,
    path = "/ui/api/credentials",
    tag = "ui",
    security(("session" = [])),
    request_body = AddAccount,
    responses(
        (status = 201, body = AccountAdded, description = "added (or updated) and being verified"),
        (status = 401, body = ErrorBody),
        (status = 422, body = ErrorBody),
    )
)]
pub async fn add_account(
    State(state): State<AppState>,
    UiTokenAuth(ui_token): UiTokenAuth,
    ApiJson(body): ApiJson<AddAccount>,
) -> Result<(StatusCode, Json<AccountAdded>), AppError> {
    if ui_token
        .connector
        .as_deref()
        .is_some_and(|only| only != body.connector)
    {
        return Err(AppError::Unprocessable(format!(
            "this session is for the connector {:?}",
            ui_token.connector.unwrap_or_default()
        )));
    }
    let connector = state
        .collector
        .catalog()
        .get(&body.connector)
        .ok_or_else(|| {
            AppError::Unprocessable(format!(
                "unknown connector {:?}",
                super::error::capped(&body.connector)
            ))
        })?;
    let (fields, secrets) = split_fields(&connector, body.fields, false)?;
    let identity = identity_of(&connector, &fields);
    let store = state.collector.store();
    let existing = store
        .credentials_of_user(&ui_token.user_id)
        .await?
        .into_iter()
        .find(|c| {
            c.connector == body.connector
                && !identity.is_empty()
                && identity_of(&connector, &c.fields) == identity
        });
    let (credential, already_exists) = match existing {
        Some(c) => (store.update_credential(&c.id, fields, secrets).await?, true),
        None => {
            let new = NewCredential {
                user_id: ui_token.user_id.clone(),
                connector: body.connector.clone(),
                fields,
                secrets,
            };
            (store.create_credential(new).await?, false)
        }
    };
    let added = verify(&state, credential, &connector, already_exists).await?;
    Ok((StatusCode::CREATED, Json(added)))
}

#[utoipa::path(
    put,
    path = "/ui/api/credentials/{id}",
    tag = "ui",
    security(("session" = [])),
    params(("id" = String, Path)),
    request_body = CorrectAccount,
    responses(
        (status = 200, body = AccountAdded, description = "updated and being verified again"),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody),
    )
)]
pub async fn correct_account(
    State(state): State<AppState>,
    UiTokenAuth(ui_token): UiTokenAuth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CorrectAccount>,
) -> Result<Json<AccountAdded>, AppError> {
    let credential = owned(&state, &ui_token, &id).await?;
    let connector = connector_of(&state, &credential)?;
    let (fields, secrets) = split_fields(&connector, body.fields, true)?;
    let credential = state
        .collector
        .store()
        .update_credential(&id, fields, secrets)
        .await?;
    Ok(Json(verify(&state, credential, &connector, true).await?))
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UiStartCollect {
    /// Log in only (the account is being added or corrected).
    #[serde(default)]
    pub verify: bool,
}

#[utoipa::path(
    post,
    path = "/ui/api/credentials/{id}/collect",
    // Not the function's name: `POST /credential/{id}/collect` has it, and an operation id
    // names one operation.
    operation_id = "ui_start_collect",
    tag = "ui",
    security(("session" = [])),
    params(("id" = String, Path)),
    request_body = UiStartCollect,
    responses(
        (status = 200, body = CollectStarted, description = "the collect in progress (attached) or a new one"),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
    )
)]
pub async fn start_collect(
    State(state): State<AppState>,
    UiTokenAuth(ui_token): UiTokenAuth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UiStartCollect>,
) -> Result<Json<CollectStarted>, AppError> {
    owned(&state, &ui_token, &id).await?;
    let mode = CollectMode {
        background: false,
        verify: body.verify,
    };
    let (live, started) = state.collector.start_or_attach(&id, mode).await?;
    Ok(Json(CollectStarted::of(&live, started)))
}
