//! What the store takes and gives back. The output types are the API's JSON (camelCase,
//! RFC 3339 timestamps); none of them carries a secret value.

use std::fmt;

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::codes::ErrorInfo;
use crate::engine::DocumentRecord;

/// A credential to create. `fields` are stored as they are; `secrets` are encrypted. A name
/// in both is kept as a secret only. `Debug` shows the secret names, never their values.
#[derive(Clone)]
pub struct NewCredential {
    pub user_id: String,
    pub connector: String,
    pub fields: IndexMap<String, String>,
    pub secrets: IndexMap<String, String>,
}

impl fmt::Debug for NewCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewCredential")
            .field("user_id", &self.user_id)
            .field("connector", &self.connector)
            .field("fields", &self.fields)
            .field("secrets", &self.secrets.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// A user's account at one connector. Secret values are never part of it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Credential {
    pub id: String,
    pub user_id: String,
    pub connector: String,
    /// The non-secret field values.
    #[schema(value_type = HashMap<String, String>)]
    pub fields: IndexMap<String, String>,
    /// The names of the secret fields that are stored (encrypted).
    pub secret_fields: Vec<String>,
    /// The state of the last collect (-2..7), 0 before any.
    pub state: i8,
    pub state_name: String,
    pub last_collect_id: Option<String>,
    /// Documents dated before this day (`YYYY-MM-DD`) are not collected.
    pub since: Option<String>,
    /// When its schedule starts the next background collect (RFC 3339); none without one.
    pub next_collect_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CollectSummary {
    pub id: String,
    pub credential_id: String,
    pub background: bool,
    pub state: i8,
    pub state_name: String,
}

/// One state change of a collect.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TimelineEntry {
    pub state: i8,
    pub name: String,
    pub message: Option<String>,
    pub at: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Collect {
    pub id: String,
    pub credential_id: String,
    pub background: bool,
    pub state: i8,
    pub state_name: String,
    pub error: Option<ErrorInfo>,
    /// Every state the collect went through, oldest first.
    pub timeline: Vec<TimelineEntry>,
    /// The records the collect extracted, once it is finished.
    #[schema(value_type = Option<Object>)]
    pub records: Option<Value>,
    pub created_at: String,
    pub finished_at: Option<String>,
}

/// A downloaded document to record, as the engine reported it.
#[derive(Debug, Clone)]
pub struct NewDocument {
    pub credential_id: String,
    pub collect_id: String,
    /// The connector list it was collected from (`invoices`…).
    pub list: String,
    pub record: DocumentRecord,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Document {
    pub id: String,
    pub credential_id: String,
    pub collect_id: String,
    pub list: String,
    /// The site's own id for the document.
    pub doc_id: Option<String>,
    pub sha256: String,
    pub content_type: Option<String>,
    pub bytes: u64,
    pub url: String,
    pub date: Option<String>,
    pub amount: Option<f64>,
    pub currency: Option<String>,
    #[schema(value_type = Object)]
    pub metadata: Map<String, Value>,
    pub created_at: String,
    /// The stored file's extension (`pdf`, `bin`…).
    #[serde(skip)]
    #[schema(ignore)]
    pub ext: String,
}

impl Document {
    /// The file's name in the document directory: `<sha256>.<ext>`.
    pub fn file_name(&self) -> String {
        format!("{}.{}", self.sha256, self.ext)
    }
}
