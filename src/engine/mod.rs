//! Runs a connector's [`Plan`] on a [`Tab`]. The engine knows nothing of HTTP or terminals:
//! it reports through [`Event`]s, and asks for one-time codes through a channel that the
//! CLI feeds from stdin and the service from a WebSocket.

// CollectError is the one error of a collect, built once at its end: its size does not matter.
#![allow(clippy::result_large_err)]

mod actions;
mod browser_state;
mod clicked_download;
mod collecting;
mod deadline;
pub mod document;
mod error;
mod event;
mod frame_hint;
mod inputs;
mod json;
mod links;
mod options;
mod outcome;
mod page_wait;
pub mod pages;
mod person;
mod popup;
mod runner;
mod selectors;
mod step_trace;

use crate::browser::{Crash, Tab};
use crate::codes::{ErrorCode, ErrorKind};
use crate::connector::plan::Plan;

pub use deadline::COLLECT_DEADLINE;
pub use document::DocumentRecord;
pub use error::{CollectError, Section, StepRef};
pub use event::Event;
pub use inputs::{Inputs, KnownDocuments};
pub use links::Links;
pub use options::{DEFAULT_COLLECT_TIMEOUT, Options};
pub use outcome::Outcome;
pub use step_trace::{StepEnd, StepObserver, TraceHook};

/// Runs the connector's login steps, then its collect steps. The browser crashing at any
/// point ends the run with `BROWSER_CRASHED`.
pub async fn run(
    plan: &Plan,
    tab: &Tab,
    inputs: Inputs,
    options: &Options,
    links: Links,
) -> Result<Outcome, CollectError> {
    for (name, def) in &plan.fields {
        if def.is_secret()
            && let Some(v) = inputs.fields.get(name)
        {
            links.redactor.add(v);
        }
    }
    if let Some(trace) = &options.trace {
        trace.0.start(tab, &links.redactor).await;
    }
    let mut runner = runner::Runner::new(plan, tab, inputs, options, links);
    let deadline = runner.deadline.clone();
    let work = deadline.bound(runner.run_all());
    let result = tokio::select! {
        result = work => result,
        crash = tab.crashed() => Err(crash_error(crash)),
    };
    let result = deadline::Deadline::locate(result, runner.current.as_ref());
    // A step that failed because its renderer had just crashed fails for that reason.
    let result = match (result, tab.crash_now()) {
        (Err(e), Some(crash)) if e.code.detail.as_deref() != Some(crash.detail()) => {
            Err(CollectError {
                code: ErrorCode::with_detail(ErrorKind::BrowserCrashed, crash.detail()),
                message: crash.describe().to_string(),
                ..e
            })
        }
        (result, _) => result,
    };
    if let (Some(trace), Err(e)) = (&options.trace, &result) {
        trace.0.collect_failed(tab, e).await;
    }
    result
}

fn crash_error(crash: Crash) -> CollectError {
    CollectError::new(
        ErrorCode::with_detail(ErrorKind::BrowserCrashed, crash.detail()),
        crash.describe(),
    )
}
