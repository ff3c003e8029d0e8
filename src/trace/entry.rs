//! One step of a trace, as written to `trace.json` and shown by the report. Every text in
//! it has been through the collect's redactor before it is stored here.

use serde::Serialize;

use crate::browser::{ConsoleLine, RequestSeen};
use crate::connector::plan::StepRef;

/// One step of a trace.
#[derive(Debug, Clone, Serialize)]
pub struct TraceStep {
    /// 1-based, in the order the steps ran (a step inside `for_each` appears once per run).
    pub index: usize,
    /// The step in the connector (`None` for a failure outside any step).
    pub step: Option<StepRef>,
    /// How the step reads in messages: `step 4 (click '#submit')`.
    pub label: String,
    pub took_ms: u64,
    /// What taking this entry (snapshot, files) cost, not counted in `took_ms`.
    pub trace_ms: u64,
    /// The page's URL after the step.
    pub url: Option<String>,
    /// The selector alternative the step acted on (1-based), and its text.
    pub matched: Option<MatchedAlternative>,
    /// Why the step failed.
    pub error: Option<StepError>,
    /// The requests the page made since the previous step.
    pub requests: Vec<RequestSeen>,
    /// Requests not kept (over the per-step cap).
    pub more_requests: usize,
    /// Console messages and uncaught errors since the previous step.
    pub console: Vec<ConsoleLine>,
    /// What could not be captured (a screenshot that timed out…): the trace goes on.
    pub problems: Vec<String>,
    /// The file names beside `trace.json`, when the trace is written to a directory.
    pub screenshot_file: Option<String>,
    pub html_file: Option<String>,
    /// A JPEG of the viewport, secret inputs covered.
    #[serde(skip)]
    pub screenshot: Option<Vec<u8>>,
    /// The top document's HTML.
    #[serde(skip)]
    pub html: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MatchedAlternative {
    pub alternative: u32,
    pub selector: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct StepError {
    /// `CONNECTOR_ERROR`, `TIMEOUT`…
    pub code: String,
    /// The whole error as `gleaner run` prints it.
    pub message: String,
}

impl TraceStep {
    pub fn failed(&self) -> bool {
        self.error.is_some()
    }

    /// The base of this step's file names: `step-003`.
    pub fn file_stem(&self) -> String {
        format!("step-{:03}", self.index)
    }
}
