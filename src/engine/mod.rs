//! Runs a connector's [`Plan`] on a [`Tab`]. The engine knows nothing of HTTP or terminals:
//! it reports through [`Event`]s, and asks for one-time codes through a channel that the
//! CLI feeds from stdin and the service from a WebSocket.

// CollectError is the one error of a collect, built once at its end: its size does not matter.
#![allow(clippy::result_large_err)]

mod actions;
mod collecting;
pub mod document;
mod error;
pub mod pages;
mod person;
mod runner;
mod session;

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::Value;
use tokio::sync::mpsc;
use url::Url;

use crate::browser::{BrowserSession, Tab};
use crate::codes::State;
use crate::connector::plan::{CodeKind, Plan};
use crate::secrets::Redactor;

pub use document::DocumentRecord;
pub use error::{CollectError, Section, StepRef};

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
    /// A code is needed: the person has until `expires_at` (Unix seconds) to give it.
    CodeRequested {
        kind: CodeKind,
        label: String,
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
        instructions: Option<String>,
    },
    /// The browser session after a successful login (cookies and localStorage of the
    /// connector's hosts), to keep for the next collect. It holds credentials: its `Debug`
    /// shows no value, and it is never serialized.
    Session {
        #[serde(skip)]
        session: BrowserSession,
    },
}

/// The account's values, where the site is, and what was collected before.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// Field values by name (secrets included; they go to `fill` only).
    pub fields: IndexMap<String, String>,
    /// The connector's `base_url`, or the override.
    pub base_url: Url,
    /// Documents collected before: not downloaded again.
    pub known_documents: KnownDocuments,
    /// Documents dated before this day are skipped.
    pub since: Option<chrono::NaiveDate>,
    /// The browser session kept from the last collect: restored before the first
    /// navigation, and tested by the connector's `session.check`.
    pub session: Option<BrowserSession>,
}

/// The documents a credential already has, by the site's id and by content.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KnownDocuments {
    /// The site's own ids of the documents.
    pub ids: HashSet<String>,
    /// The sha256 (hex) of their contents.
    pub sha256s: HashSet<String>,
}

impl Inputs {
    pub fn new(fields: IndexMap<String, String>, base_url: Url) -> Inputs {
        Inputs {
            fields,
            base_url,
            known_documents: Default::default(),
            since: None,
            session: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Options {
    /// Where downloaded documents are written.
    pub out_dir: PathBuf,
    /// Waits for elements (click, fill, wait...) unless the step says otherwise.
    pub element_timeout: Duration,
    /// `await_page` unless the step says otherwise.
    pub page_timeout: Duration,
    /// Navigation (`goto`) and each download.
    pub navigation_timeout: Duration,
    /// The one-time code wait unless `ask_code` says otherwise.
    pub code_timeout: Duration,
    /// Log in, then stop: a verification collect (the person just added the account).
    pub login_only: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            out_dir: PathBuf::from("out"),
            element_timeout: Duration::from_secs(10),
            page_timeout: Duration::from_secs(20),
            navigation_timeout: Duration::from_secs(30),
            code_timeout: Duration::from_secs(300),
            login_only: false,
        }
    }
}

/// The engine's links to whoever runs it.
pub struct Io {
    pub events: mpsc::UnboundedSender<Event>,
    /// One-time codes from the person. `None` for a background collect: reaching
    /// `ask_code` then ends the collect at once with `USER_ACTION_NEEDED.TWOFA_EXPIRED`.
    pub codes: Option<mpsc::Receiver<String>>,
    /// The person says they finished an `interactive` step. Without it, the step ends
    /// only when its page is recognised (or times out).
    pub closes: Option<mpsc::Receiver<()>>,
    pub redactor: Redactor,
}

impl Io {
    /// Links for a run with nobody watching: `ask_code` and `interactive` end it at once.
    pub fn background(events: mpsc::UnboundedSender<Event>) -> Io {
        Io {
            events,
            codes: None,
            closes: None,
            redactor: Redactor::new(),
        }
    }

    /// A background run asks nothing of anybody.
    pub fn is_background(&self) -> bool {
        self.codes.is_none()
    }
}

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

/// Runs the connector's login steps, then its collect steps. The browser crashing at any
/// point ends the run with `BROWSER_CRASHED`.
pub async fn run(
    plan: &Plan,
    tab: &Tab,
    inputs: Inputs,
    options: &Options,
    io: Io,
) -> Result<Outcome, CollectError> {
    for (name, def) in &plan.fields {
        if def.is_secret()
            && let Some(v) = inputs.fields.get(name)
        {
            io.redactor.add(v);
        }
    }
    let mut runner = runner::Runner::new(plan, tab, inputs, options, io);
    let work = runner.run_all();
    tokio::select! {
        result = work => result,
        _ = tab.crashed() => Err(CollectError::new(crate::codes::ErrorKind::BrowserCrashed, "the browser crashed or closed during the collect")),
    }
}
