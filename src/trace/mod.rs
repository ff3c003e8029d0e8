//! Traces: each step of a collect as the browser saw it (a screenshot with secret inputs
//! covered, the HTML, the URL, the requests and console since the step before, the time,
//! the selector alternative that matched, the error), every text through the collect's
//! redactor, and a self-contained report to open from disk.
//!
//! - [`recorder`]: the [`Tracer`], which the engine calls after each step
//!   ([`crate::engine::StepObserver`]); to a directory or the last steps in memory.
//! - [`snapshot`]: reading the page after a step, each part bounded in time.
//! - [`entry`]: one step of a trace ([`TraceStep`]), as `trace.json` holds it.
//! - [`report`]: the report, `index.html`.
//! - [`files`]: the trace's private files.
//! - [`kept`]: the service's traces of failed collects.

mod entry;
mod files;
pub mod kept;
mod recorder;
mod report;
mod snapshot;

pub use entry::{MatchedAlternative, StepError, TraceStep};
pub use files::TraceError;
pub use kept::KeptTraces;
pub use recorder::Tracer;
pub use report::CSP;
