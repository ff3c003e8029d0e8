//! `GET /connectors`: what the service offers, and the fields each one asks for.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::state::AppState;
use crate::connector::plan::LocalizedText;
use crate::connector::{FieldKind, Plan};

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConnectorInfo {
    pub id: String,
    pub name: String,
    pub fields: Vec<FieldInfo>,
    /// The person does the whole login on the live screen.
    pub interactive_login: bool,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FieldInfo {
    pub name: String,
    /// The label in English when the connector gives it, else in its first language.
    pub label: String,
    /// The label in every language the connector gives: show the person's.
    pub localized_label: LocalizedText,
    /// `text`, `password`, `email`, `number` or `date`.
    #[serde(rename = "type")]
    pub kind: String,
    pub secret: bool,
    pub optional: bool,
    /// Like `label`.
    pub placeholder: Option<String>,
    /// Like `localizedLabel`.
    pub localized_placeholder: Option<LocalizedText>,
    /// This field names the account (shown to the host page as `identity`).
    pub identity: bool,
}

impl From<&Plan> for ConnectorInfo {
    fn from(c: &Plan) -> Self {
        let identity = c.identity_field();
        ConnectorInfo {
            id: c.id.clone(),
            name: c.name.clone(),
            fields: c
                .fields
                .iter()
                .map(|(name, f)| FieldInfo {
                    name: name.clone(),
                    label: f.label.english_or_first().to_string(),
                    localized_label: f.label.clone(),
                    kind: match f.kind {
                        FieldKind::Text => "text",
                        FieldKind::Password => "password",
                        FieldKind::Email => "email",
                        FieldKind::Number => "number",
                        FieldKind::Date => "date",
                    }
                    .into(),
                    secret: f.is_secret(),
                    optional: f.optional,
                    placeholder: f
                        .placeholder
                        .as_ref()
                        .map(|p| p.english_or_first().to_string()),
                    localized_placeholder: f.placeholder.clone(),
                    identity: identity == Some(name.as_str()),
                })
                .collect(),
            interactive_login: c.has_interactive_login(),
        }
    }
}

#[utoipa::path(
    get,
    path = "/connectors",
    tag = "connectors",
    security(("api_key" = [])),
    responses((status = 200, body = Vec<ConnectorInfo>))
)]
pub async fn list_connectors(State(state): State<AppState>) -> Json<Vec<ConnectorInfo>> {
    Json(
        state
            .collector
            .catalog()
            .iter()
            .map(|c| ConnectorInfo::from(c.as_ref()))
            .collect(),
    )
}
