//! What a successful run collected.

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::Value;

use super::document::DocumentRecord;

/// What a successful run collected.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Outcome {
    /// Every list built by `extract` and `download`, by name.
    pub lists: IndexMap<String, Vec<Value>>,
    /// The documents new to this credential.
    pub documents: Vec<DocumentRecord>,
    /// Documents left alone: collected before, or older than `since`.
    pub skipped_documents: usize,
}
