use std::path::PathBuf;

/// What can go wrong with the browser itself. Errors about what a connector asked for
/// (a selector that never shows) are the engine's; these are about Chromium and CDP.
#[derive(Debug, thiserror::Error)]
pub enum BrowserError {
    #[error(
        "no Chromium found: set GLEANER_CHROME, or install it (apt-get install -y chromium); looked for {looked_for}"
    )]
    NotFound { looked_for: String },
    #[error("GLEANER_CHROME points to {}, which is not an executable file", .0.display())]
    BadExecutable(PathBuf),
    #[error("cannot create the browser profile directory: {0}")]
    Profile(#[source] std::io::Error),
    #[error("Chromium did not start: {0}")]
    Launch(String),
    #[error("the browser crashed or closed")]
    Crashed,
    #[error("the browser did not answer in time ({0})")]
    Timeout(String),
    #[error("CDP: {0}")]
    Cdp(String),
    /// A navigation went to a host the tab may not reach (see [`crate::browser::HostAllowList`]).
    #[error("the browser was kept from loading {0}: its host is not allowed")]
    Blocked(String),
    #[error("JavaScript in the page failed: {0}")]
    Script(String),
}
