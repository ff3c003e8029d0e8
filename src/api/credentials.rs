//! Credentials: a user's account at one connector. Secret values go in, never out.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ApiJson, AppError, ErrorBody, capped};
use super::state::AppState;
use crate::connector::Plan;
use crate::store::{Credential, NewCredential};

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateCredential {
    /// The backend's id for the person: 1 to 200 characters, not only spaces, without
    /// control characters.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$"
    )]
    pub user_id: String,
    /// A connector id from `GET /connectors`.
    pub connector: String,
    /// Every field the connector asks for, secrets included: each value at most 4096
    /// characters, without NUL.
    #[schema(schema_with = field_values)]
    pub fields: IndexMap<String, String>,
    /// Skip documents dated before this day (`YYYY-MM-DD`).
    #[serde(default)]
    #[schema(format = Date, pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub since: Option<String>,
}

/// `PATCH /credential/{id}`: what to change; what is left out stays.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateCredential {
    /// Values to replace, by field name (a password changed on the site, a new login).
    /// Fields left out keep their value.
    #[serde(default)]
    #[schema(schema_with = field_values)]
    pub fields: IndexMap<String, String>,
    /// Skip documents dated before this day (`YYYY-MM-DD`); `null` collects every date.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = Date, pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub since: Option<Option<String>>,
}

/// Tells a field set to `null` (`Some(None)`) from a field left out (`None`).
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// The schema of a map of field values: what [`split_fields`] accepts of each value.
pub(crate) fn field_values() -> utoipa::openapi::Object {
    use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Type};
    let value = ObjectBuilder::new()
        .schema_type(Type::String)
        .max_length(Some(MAX_VALUE))
        .pattern(Some(r"^[^\u0000]*$"));
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .additional_properties(Some(AdditionalProperties::RefOr(value.build().into())))
        .build()
}

fn check_day(day: &str) -> Result<(), AppError> {
    // Exactly the documented form: chrono alone would take `2026-1-5`.
    let written_in_full = day.len() == 10
        && day.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if !written_in_full || chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").is_err() {
        return Err(AppError::Unprocessable(format!(
            "since {day:?} must be a day written YYYY-MM-DD"
        )));
    }
    Ok(())
}

/// The connector a stored credential belongs to; it may have left the catalog since.
pub(crate) fn connector_of(
    state: &AppState,
    credential: &Credential,
) -> Result<std::sync::Arc<Plan>, AppError> {
    state
        .collector
        .catalog()
        .get(&credential.connector)
        .ok_or_else(|| {
            AppError::Unprocessable(format!(
                "connector {:?} is no longer offered",
                credential.connector
            ))
        })
}

const MAX_ID: usize = 200;
const MAX_VALUE: usize = 4096;

/// Field values by name.
type Values = IndexMap<String, String>;

/// Splits the values into plain and secret ones, after checking them against the
/// connector's fields. With `keep_secrets`, an empty secret field is left out (the stored
/// value stays) instead of being refused.
pub(crate) fn split_fields(
    connector: &Plan,
    mut given: Values,
    keep_secrets: bool,
) -> Result<(Values, Values), AppError> {
    if let Some(unknown) = given.keys().find(|k| !connector.fields.contains_key(*k)) {
        let known: Vec<&str> = connector.fields.keys().map(String::as_str).collect();
        return Err(AppError::Unprocessable(format!(
            "unknown field {:?} for connector {}: it asks for {}",
            capped(unknown),
            connector.id,
            known.join(", ")
        )));
    }
    let mut plain = IndexMap::new();
    let mut secret = IndexMap::new();
    for (name, def) in &connector.fields {
        let value = given.shift_remove(name).unwrap_or_default();
        if value.trim().is_empty() {
            if !(def.optional || keep_secrets && def.is_secret()) {
                return Err(AppError::Unprocessable(format!(
                    "field {name:?} ({}) is required",
                    def.label.english_or_first()
                )));
            }
            continue;
        }
        if value.chars().count() > MAX_VALUE {
            return Err(AppError::Unprocessable(format!(
                "field {name:?} is longer than {MAX_VALUE} characters"
            )));
        }
        // A NUL would be cut, or typed, differently by the store, the browser and the site.
        if value.contains('\0') {
            return Err(AppError::Unprocessable(format!(
                "field {name:?} contains a NUL character"
            )));
        }
        if def.is_secret() {
            secret.insert(name.clone(), value);
        } else {
            plain.insert(name.clone(), value);
        }
    }
    Ok((plain, secret))
}

pub(crate) fn check_id(what: &str, id: &str) -> Result<(), AppError> {
    if id.trim().is_empty() || id.chars().count() > MAX_ID || id.chars().any(char::is_control) {
        return Err(AppError::Unprocessable(format!(
            "{what} must be 1 to {MAX_ID} printable characters"
        )));
    }
    Ok(())
}

#[utoipa::path(
    post,
    path = "/credential",
    tag = "credentials",
    security(("api_key" = [])),
    request_body = CreateCredential,
    responses(
        (status = 201, body = Credential, description = "created; secret values are never returned"),
        (status = 422, body = ErrorBody, description = "unknown connector, unknown or missing field"),
    )
)]
pub async fn create_credential(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<CreateCredential>,
) -> Result<(StatusCode, Json<Credential>), AppError> {
    check_id("userId", &body.user_id)?;
    let connector = state
        .collector
        .catalog()
        .get(&body.connector)
        .ok_or_else(|| {
            AppError::Unprocessable(format!(
                "unknown connector {:?} (see GET /connectors)",
                capped(&body.connector)
            ))
        })?;
    let (fields, secrets) = split_fields(&connector, body.fields, false)?;
    if let Some(day) = &body.since {
        check_day(day)?;
    }
    let store = state.collector.store();
    let mut credential = store
        .create_credential(NewCredential {
            user_id: body.user_id,
            connector: body.connector,
            fields,
            secrets,
        })
        .await?;
    if let Some(day) = body.since {
        store.set_since(&credential.id, Some(&day)).await?;
        credential.since = Some(day);
    }
    Ok((StatusCode::CREATED, Json(credential)))
}

#[utoipa::path(
    get,
    path = "/credential/{id}",
    tag = "credentials",
    security(("api_key" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = Credential), (status = 404, body = ErrorBody))
)]
pub async fn get_credential(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Credential>, AppError> {
    state
        .collector
        .store()
        .credential(&id)
        .await?
        .map(Json)
        .ok_or_else(|| AppError::NotFound(format!("no credential {id}")))
}

#[utoipa::path(
    patch,
    path = "/credential/{id}",
    tag = "credentials",
    security(("api_key" = [])),
    params(("id" = String, Path)),
    request_body = UpdateCredential,
    responses(
        (status = 200, body = Credential, description = "updated; a credential waiting for a person (-2) goes back to 0, so its schedule runs again"),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "unknown field, empty required field, bad date"),
    )
)]
pub async fn update_credential(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UpdateCredential>,
) -> Result<Json<Credential>, AppError> {
    let store = state.collector.store();
    let current = store
        .credential(&id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no credential {id}")))?;
    let connector = connector_of(&state, &current)?;
    if let Some(Some(day)) = &body.since {
        check_day(day)?;
    }
    // The values given over the stored plain ones; secrets not given keep their value.
    let mut given = current.fields.clone();
    let explicitly_emptied: Vec<String> = body
        .fields
        .iter()
        .filter(|(_, v)| v.trim().is_empty())
        .map(|(k, _)| k.clone())
        .collect();
    given.extend(body.fields);
    if let Some(name) = explicitly_emptied
        .iter()
        .find(|n| connector.fields.get(*n).is_some_and(|d| d.is_secret()))
    {
        return Err(AppError::Unprocessable(format!(
            "secret field {name:?} cannot be emptied; leave it out to keep it"
        )));
    }
    let (fields, secrets) = split_fields(&connector, given, true)?;
    let mut credential = store.update_credential(&id, fields, secrets).await?;
    if let Some(since) = body.since {
        store.set_since(&id, since.as_deref()).await?;
        credential.since = since;
    }
    Ok(Json(credential))
}

#[utoipa::path(
    get,
    path = "/user/{user_id}/credentials",
    tag = "credentials",
    security(("api_key" = [])),
    params(("user_id" = String, Path)),
    responses((status = 200, body = Vec<Credential>))
)]
pub async fn list_credentials(
    State(state): State<AppState>,
    Path(user_id): Path<String>,
) -> Result<Json<Vec<Credential>>, AppError> {
    Ok(Json(
        state
            .collector
            .store()
            .credentials_of_user(&user_id)
            .await?,
    ))
}

#[utoipa::path(
    delete,
    path = "/credential/{id}",
    tag = "credentials",
    security(("api_key" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 204, description = "deleted: secrets and session wiped, a running collect cancelled"),
        (status = 404, body = ErrorBody),
    )
)]
pub async fn delete_credential(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    if state.collector.store().credential(&id).await?.is_none() {
        return Err(AppError::NotFound(format!("no credential {id}")));
    }
    if !state.collector.delete_credential(&id).await? {
        return Err(AppError::NotFound(format!("no credential {id}")));
    }
    Ok(StatusCode::NO_CONTENT)
}
