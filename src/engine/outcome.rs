//! What a run collected: all of it when it succeeds, or what its events showed up to a
//! failure.

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::Value;

use super::document::DocumentRecord;
use super::event::Event;

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

impl Outcome {
    /// Adds what an event carries (a record, a document) to the outcome, so that a collect
    /// that fails still shows how far it got.
    pub fn absorb(&mut self, event: &Event) {
        match event {
            Event::Record { list, record } => {
                self.lists
                    .entry(list.clone())
                    .or_default()
                    .push(record.clone());
            }
            Event::Document { list, document } => {
                self.lists
                    .entry(list.clone())
                    .or_default()
                    .push(document.to_value());
                self.documents.push(document.clone());
            }
            _ => {}
        }
    }
}
