//! The engine's hook for traces: whoever wants to see each step as the browser saw it
//! (`gleaner run --trace`, the service keeping a failed collect's last steps) gives
//! [`super::Options::trace`] a [`StepObserver`]. The engine calls it after each action
//! step with what it knows; the observer reads the page itself, and its failures never
//! fail the collect (it returns nothing).

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;

use super::error::{CollectError, StepRef};
use crate::browser::Tab;
use crate::secrets::Redactor;

/// What the engine knows of a step that just ended.
pub struct StepEnd<'a> {
    pub step: &'a StepRef,
    pub took: Duration,
    /// Why it failed, if it did (its message already redacted).
    pub error: Option<&'a CollectError>,
    /// The selector alternative the step acted on last (1-based), with its text.
    pub matched: Option<(u32, String)>,
}

/// Sees each step of a collect.
pub trait StepObserver: Send + Sync {
    /// The collect starts on `tab`; `redactor` knows its secrets (and learns its codes).
    fn start<'a>(&'a self, tab: &'a Tab, redactor: &'a Redactor) -> BoxFuture<'a, ()>;
    /// An action step ended, on `tab` (the collect's, or a popup's).
    fn step_ended<'a>(&'a self, tab: &'a Tab, end: StepEnd<'a>) -> BoxFuture<'a, ()>;
    /// The collect ended with `error` (after the last `step_ended`, or instead of it when
    /// the step was cut short: the collect's deadline, a crash).
    fn collect_failed<'a>(&'a self, tab: &'a Tab, error: &'a CollectError) -> BoxFuture<'a, ()>;
}

/// A [`StepObserver`] shared by a collect's options.
#[derive(Clone)]
pub struct TraceHook(pub Arc<dyn StepObserver>);

impl std::fmt::Debug for TraceHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TraceHook")
    }
}
