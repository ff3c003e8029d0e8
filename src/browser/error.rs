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
    /// Chromium's own sandbox (user namespaces and seccomp-bpf) cannot start here.
    #[error(
        "Chromium's sandbox cannot start ({0}). Let it create user namespaces (sysctl \
         user.max_user_namespaces above 0 and kernel.unprivileged_userns_clone=1; on Ubuntu \
         23.10+, the AppArmor user-namespace restriction; in a container, a seccomp profile \
         that allows them), and do not run Chromium as root (gleaner as root starts it as \
         --browser-user, default nobody). Or, accepting that a page that breaks into the \
         renderer then runs with gleaner's rights, opt out with --no-sandbox \
         (GLEANER_NO_SANDBOX=1)"
    )]
    NoSandbox(String),
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
