//! What the engine reports while it runs.

use serde::Serialize;
use serde_json::Value;

use super::document::DocumentRecord;
use super::error::StepRef;
use crate::browser::BrowserState;
use crate::codes::State;
use crate::connector::plan::{CodeKind, LocalizedText};

/// What the engine reports while it runs.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    State {
        state: State,
        message: Option<String>,
    },
    /// The step about to run, for progress displays and traces. Never holds a secret.
    Step {
        step: StepRef,
    },
    /// Which alternative of a step's selector list matched (1-based), for `-v` and traces.
    SelectorMatched {
        step: Option<StepRef>,
        alternative: u32,
        /// The alternative as written.
        selector: String,
    },
    /// A code is needed: the person has until `expires_at` (Unix seconds) to give it.
    CodeRequested {
        kind: CodeKind,
        /// The connector's `label`; without it, say what `kind` of code to give.
        label: Option<LocalizedText>,
        expires_at: u64,
    },
    Record {
        list: String,
        record: Value,
    },
    Document {
        /// The list the connector's `download` step named.
        list: String,
        document: DocumentRecord,
    },
    /// The person drives the screen (`active: true`) until the page is recognised or they
    /// say they are done; then `active: false`.
    Interactive {
        active: bool,
        instructions: Option<LocalizedText>,
    },
    /// The browser state after a successful login (cookies and localStorage of the
    /// connector's hosts), to keep for the next collect. It holds credentials: its `Debug`
    /// shows no value, and it is never serialized.
    BrowserState {
        #[serde(skip)]
        state: BrowserState,
    },
}
