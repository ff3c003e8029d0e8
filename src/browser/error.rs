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
    /// The page reloads or navigates itself without end (a `location.reload()` loop).
    #[error(
        "the page {url} loaded {documents} documents within {seconds} s: it reloads or \
         navigates itself without end"
    )]
    RunawayPage {
        url: String,
        documents: usize,
        seconds: u64,
    },
    /// A navigation did not land on the site's page.
    #[error("{0}")]
    Navigation(NavigationError),
    /// A step's frame is not on the page.
    #[error("{0}")]
    Frame(FrameError),
    /// A step's frame shows Chromium's error page instead of a document.
    #[error("the frame {frame} shows no page{}", .blocked.as_ref().map(|to| format!(": the browser was kept from loading {to}, whose host is not in the connector's domains; add it to `domains` if the site needs it")).unwrap_or_else(|| ": its document failed to load".into()))]
    FrameErrorPage {
        frame: String,
        blocked: Option<String>,
    },
}

/// Why a navigation failed: the URL (without its query, which may carry personal data)
/// and Chromium's net error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("loading {url} failed: {error}{}", self.looping.as_ref().map(|l| format!(" (the redirects loop through {l})")).unwrap_or_default())]
pub struct NavigationError {
    pub url: String,
    pub error: NetError,
    /// For a redirect loop: the URL the redirects came back to, or the last one.
    pub looping: Option<String>,
}

impl NavigationError {
    pub fn new(url: &str, error: NetError) -> NavigationError {
        NavigationError {
            url: without_query(url),
            error,
            looping: None,
        }
    }
}

/// A Chromium net error such as `ERR_CONNECTION_REFUSED` (written `net::ERR_…`), or what
/// is known when Chromium gave none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetError {
    /// Chromium's name, without `net::`.
    Net(String),
    /// The browser landed on its error page (`chrome-error://`) without a net error seen.
    ErrorPage,
    /// No response came back for the document, and no error either.
    NoResponse,
}

impl std::fmt::Display for NetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NetError::Net(name) => write!(f, "net::{name}"),
            NetError::ErrorPage => f.write_str("the browser landed on its error page"),
            NetError::NoResponse => f.write_str("no response came back for the page"),
        }
    }
}

/// What a net error says about the site.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetErrorClass {
    /// Refused, not resolved, no route, reset, empty answer: the host cannot be reached.
    Unreachable,
    RedirectLoop,
    /// The site's certificate or TLS handshake.
    Tls,
    TimedOut,
    /// Anything else: the error page, no response, an unknown net error.
    Other,
}

impl NetError {
    /// From Chromium's text (`net::ERR_NAME_NOT_RESOLVED`).
    pub fn from_chromium(text: &str) -> NetError {
        NetError::Net(text.trim().trim_start_matches("net::").to_string())
    }

    pub fn class(&self) -> NetErrorClass {
        let NetError::Net(name) = self else {
            return NetErrorClass::Other;
        };
        match name.as_str() {
            "ERR_TOO_MANY_REDIRECTS" => NetErrorClass::RedirectLoop,
            "ERR_CONNECTION_TIMED_OUT" | "ERR_TIMED_OUT" => NetErrorClass::TimedOut,
            "ERR_CONNECTION_REFUSED"
            | "ERR_NAME_NOT_RESOLVED"
            | "ERR_NAME_RESOLUTION_FAILED"
            | "ERR_ADDRESS_UNREACHABLE"
            | "ERR_INTERNET_DISCONNECTED"
            | "ERR_CONNECTION_RESET"
            | "ERR_CONNECTION_CLOSED"
            | "ERR_CONNECTION_FAILED"
            | "ERR_EMPTY_RESPONSE"
            | "ERR_TUNNEL_CONNECTION_FAILED" => NetErrorClass::Unreachable,
            n if n.starts_with("ERR_CERT_")
                || n.starts_with("ERR_SSL_")
                || n == "ERR_BAD_SSL_CLIENT_AUTH_CERT" =>
            {
                NetErrorClass::Tls
            }
            _ => NetErrorClass::Other,
        }
    }
}

/// `url` without its query and fragment: they may carry personal data.
pub fn without_query(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            u.set_query(None);
            u.set_fragment(None);
            u.to_string()
        }
        Err(_) => url.split(['?', '#']).next().unwrap_or_default().to_string(),
    }
}

/// Why a frame of a path could not be entered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("no frame matches '{selector}'{}", within(.depth))]
    Missing { selector: String, depth: usize },
    #[error("'{selector}' matches a <{tag}>, not a frame{}", within(.depth))]
    NotAFrame {
        selector: String,
        tag: String,
        depth: usize,
    },
    /// The frame's element is there but has no document (not loaded yet, or gone).
    #[error("the frame '{selector}' has no document yet")]
    Unloaded { selector: String },
}

fn within(depth: &usize) -> String {
    if *depth == 0 {
        String::new()
    } else {
        format!(" inside frame {}", depth)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn net_errors_are_classed() {
        let class = |t: &str| NetError::from_chromium(t).class();
        assert_eq!(
            class("net::ERR_CONNECTION_REFUSED"),
            NetErrorClass::Unreachable
        );
        assert_eq!(
            class("net::ERR_NAME_NOT_RESOLVED"),
            NetErrorClass::Unreachable
        );
        assert_eq!(
            class("net::ERR_TOO_MANY_REDIRECTS"),
            NetErrorClass::RedirectLoop
        );
        assert_eq!(class("net::ERR_CERT_DATE_INVALID"), NetErrorClass::Tls);
        assert_eq!(class("net::ERR_SSL_PROTOCOL_ERROR"), NetErrorClass::Tls);
        assert_eq!(
            class("net::ERR_CONNECTION_TIMED_OUT"),
            NetErrorClass::TimedOut
        );
        assert_eq!(class("net::ERR_FAILED"), NetErrorClass::Other);
        assert_eq!(NetError::ErrorPage.class(), NetErrorClass::Other);
    }

    #[test]
    fn the_message_names_the_url_without_its_query() {
        let e = NavigationError::new(
            "http://127.0.0.1:9/login?user=alice#top",
            NetError::from_chromium("net::ERR_CONNECTION_REFUSED"),
        );
        assert_eq!(
            e.to_string(),
            "loading http://127.0.0.1:9/login failed: net::ERR_CONNECTION_REFUSED"
        );
    }
}
