//! The run's settings: where documents go, how large they may be, and how long each kind
//! of wait lasts.

use std::path::PathBuf;
use std::time::Duration;

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
    /// A document larger than this ends the collect (`--max-document-size`).
    pub max_document_size: u64,
    /// The whole collect's deadline unless the connector sets its own `timeout`
    /// (`--collect-timeout`); waits for the person do not count.
    pub collect_timeout: Duration,
    /// Sees each step as it ends (`--trace`, a failed collect's trace in the service).
    pub trace: Option<super::step_trace::TraceHook>,
}

/// The whole collect's deadline by default: a long collect of a slow site (hundreds of
/// documents at a few seconds each) fits, a stuck one does not hold its browser for long.
pub const DEFAULT_COLLECT_TIMEOUT: Duration = Duration::from_secs(15 * 60);

impl Default for Options {
    fn default() -> Self {
        Options {
            out_dir: PathBuf::from("out"),
            element_timeout: Duration::from_secs(10),
            page_timeout: Duration::from_secs(20),
            navigation_timeout: Duration::from_secs(30),
            code_timeout: Duration::from_secs(300),
            login_only: false,
            max_document_size: super::document::DEFAULT_MAX_DOCUMENT_SIZE,
            collect_timeout: DEFAULT_COLLECT_TIMEOUT,
            trace: None,
        }
    }
}
