//! What the store tells about its changes, for the webhooks: the facts of each change
//! ([`Change`]), and the [`Reporter`] that makes events of them, which the outbox keeps as
//! they are ([`OutboxEvent`]).

use super::types::Document;
use crate::codes::{ErrorInfo, State};

/// The collect a change is about.
#[derive(Debug, Clone, Copy)]
pub struct CollectRef<'a> {
    pub collect_id: &'a str,
    pub credential_id: &'a str,
    /// A verification collect (log in only).
    pub verify: bool,
}

/// A change the store made, as facts: the reporter ([`Reporter`]) decides which events
/// tell it and what they carry.
#[derive(Debug, Clone, Copy)]
pub enum Change<'a> {
    /// A running collect's new state.
    CollectState {
        collect: CollectRef<'a>,
        state: State,
        message: Option<&'a str>,
    },
    /// A collect's end, in its final state.
    CollectEnd {
        collect: CollectRef<'a>,
        state: State,
        error: Option<&'a ErrorInfo>,
        /// The documents the collect added.
        new_documents: i64,
    },
    /// A document recorded.
    DocumentAdded { document: &'a Document },
}

impl Change<'_> {
    /// The credential whose queue the events join.
    pub fn credential_id(&self) -> &str {
        match self {
            Change::CollectState { collect, .. } | Change::CollectEnd { collect, .. } => {
                collect.credential_id
            }
            Change::DocumentAdded { document } => &document.credential_id,
        }
    }
}

/// An event to persist as it is: its type (`collect.state`…) and its JSON body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEvent {
    pub event_type: &'static str,
    pub payload: String,
}

/// Turns a change, made at `timestamp` (RFC 3339), into the events that report it, in
/// order. The webhooks module's [`crate::webhooks::report`] is the one of the service.
pub type Reporter = fn(&Change<'_>, &str) -> Result<Vec<OutboxEvent>, serde_json::Error>;
