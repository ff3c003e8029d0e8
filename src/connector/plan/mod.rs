//! The plan: a connector compiled by [`check`](super::check), what the engine runs.
//!
//! Everything `check` validates is already resolved here: templates parsed, regular
//! expressions compiled, error codes parsed, page names turned into [`PageId`]s, durations
//! read. A shape `check` refuses cannot be written, so the engine needs no fallback.
//!
//! To add an action: a variant of [`Action`] (in `step.rs`), its compile arm in
//! `check/steps.rs`, its run arm in `engine/runner.rs` (and the raw field of
//! [`model::Step`](super::model::Step) with its schema).

mod page;
mod step;

use std::time::Duration;

use indexmap::IndexMap;
use url::Url;

pub use super::model::{CodeKind, FieldDef, FieldKind};
pub use page::{Page, PageId, PageMatch, Pattern, Selector};
pub use step::*;

/// The keys of a document record, as connectors may refer to them (`{{invoice.url}}`).
pub const DOCUMENT_KEYS: &[&str] = &[
    "id",
    "date",
    "amount",
    "currency",
    "url",
    "sha256",
    "bytes",
    "content_type",
    "file",
    "metadata",
];

/// A checked connector, ready to run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Stable identifier, lowercase with dashes: `demo-bank`.
    pub id: String,
    /// Name shown to people.
    pub name: String,
    pub base_url: Url,
    /// The hosts the page may reach besides the base URL's.
    pub domains: Vec<String>,
    /// What the person must give, in the order they are asked.
    pub fields: IndexMap<String, FieldDef>,
    /// The named pages; a [`PageId`] indexes this table.
    pub pages: Vec<Page>,
    pub login: Login,
    /// How long an `await_page` of the login waits before counting the login as done,
    /// when the connector names no `success` page (`None`: never).
    pub auto_success: Option<Duration>,
    /// The collect steps, run once logged in.
    pub steps: Vec<Step>,
    /// How to test a browser session kept from the last collect.
    pub session: Option<SessionCheck>,
}

impl Plan {
    /// The field that names the account: the one marked `identity`, else the first
    /// non-secret one.
    pub fn identity_field(&self) -> Option<&str> {
        self.fields
            .iter()
            .find(|(_, f)| f.identity)
            .or_else(|| self.fields.iter().find(|(_, f)| !f.is_secret()))
            .map(|(name, _)| name.as_str())
    }

    pub fn page(&self, id: PageId) -> &Page {
        &self.pages[id.index()]
    }

    /// Whether the connector logs in at all (a kept session only matters then).
    pub fn logs_in(&self) -> bool {
        !matches!(self.login, Login::None)
    }

    /// The person does the whole login on the live screen.
    pub fn has_interactive_login(&self) -> bool {
        matches!(self.login, Login::Interactive(_))
    }
}

/// How the connector logs in.
#[derive(Debug, Clone)]
pub enum Login {
    /// No login: the collect steps run at once.
    None,
    /// Steps that log in; when they end without failing, the login succeeded.
    Steps(Vec<Step>),
    /// The person does the whole login on the live screen.
    Interactive(InteractiveLogin),
}

impl Login {
    /// The login steps (none for an interactive login).
    pub fn steps(&self) -> &[Step] {
        match self {
            Login::Steps(steps) => steps,
            Login::None | Login::Interactive(_) => &[],
        }
    }
}

/// Open `start`, then hand over the screen until `until` is recognised.
#[derive(Debug, Clone)]
pub struct InteractiveLogin {
    pub start: crate::template::Template,
    pub until: PageId,
    pub instructions: Option<String>,
    pub timeout: Option<Duration>,
    pub at: StepRef,
}

/// `session: { check: { goto, expect }, timeout }`.
#[derive(Debug, Clone)]
pub struct SessionCheck {
    pub goto: crate::template::Template,
    pub expect: PageId,
    pub timeout: Option<Duration>,
    pub at: StepRef,
}
