//! Navigating the page's main frame: `goto`, and why a navigation did not land on the
//! site's page (a net error, the egress proxy's refusal, a page that reloads itself).

use std::time::Duration;

use chromiumoxide::cdp::browser_protocol::page::NavigateParams;
use tokio::time::Instant;

use super::navigation::{NavigationWatch, Seen, looping_url, origin_of};
use super::{RUNAWAY_DOCUMENTS, RUNAWAY_WINDOW, Tab};
use crate::browser::egress::EgressFailure;
use crate::browser::error::{
    BrowserError, NavigationError, NetError, NetErrorClass, without_query,
};

impl Tab {
    /// Navigates and waits for the load event. Returns the HTTP status of the document.
    /// A navigation that does not reach the site fails at once, naming the URL and the
    /// net error ([`NavigationError`]); the proxy's reason replaces Chromium's vaguer
    /// `ERR_TUNNEL_CONNECTION_FAILED` (or its `502` page for `http://`).
    pub async fn goto(&self, url: &str, timeout: Duration) -> Result<u16, BrowserError> {
        self.asked_to_navigate();
        let blocked_before = self.blocked().documents;
        let failures_before = self.egress.failure_mark();
        let mut watch = NavigationWatch::start(&self.page, self.main_frame.clone())
            .await
            .map_err(|e| self.err(e))?;
        let nav = self
            .page
            .http_future(NavigateParams::new(url))
            .map_err(|e| self.err(e))?;
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(nav, deadline);
        let mut response: Option<(String, u16)> = None;
        let request = loop {
            tokio::select! {
                done = &mut nav => break done.map_err(|e| self.err(e))?,
                _ = &mut deadline => {
                    return Err(BrowserError::Timeout(format!("loading {}", without_query(url))));
                }
                seen = watch.next() => match seen {
                    None => return Err(BrowserError::Crashed),
                    Some(Seen::Response { egress: Some(failure), url: at, .. }) => {
                        return Err(self.egress_failure(url, &at, failure));
                    }
                    Some(Seen::Response { url: at, status, egress: None }) => {
                        response = Some((at, status));
                        // A page that reloads itself never lets the navigation end.
                        if let Some(runaway) = self.runaway() {
                            return Err(runaway);
                        }
                    }
                    Some(Seen::Failed { url: at, error, redirects }) => {
                        if let Some(e) = self.failed(url, &at, &error, &redirects, blocked_before, failures_before) {
                            return Err(e);
                        }
                    }
                    Some(Seen::Other) => {}
                },
            }
        };
        let blocked = self.blocked();
        if blocked.documents > blocked_before
            && let Some(to) = blocked.last_document
        {
            return Err(BrowserError::Blocked(to));
        }
        let landed = self.url().await.unwrap_or_default();
        if landed.starts_with("chrome-error:") {
            return Err(BrowserError::Navigation(NavigationError::new(
                url,
                NetError::ErrorPage,
            )));
        }
        // chromiumoxide hands back the frame's last finished request, which is the
        // document's only when no image or script finished after it: the response event
        // of the main frame's document is the one to trust.
        let from_request = request.filter(|r| r.is_navigation_request).and_then(|r| {
            r.response
                .as_ref()
                .map(|resp| (resp.url.clone(), resp.status as u16))
        });
        if let Some((at, status)) = response.or(from_request) {
            *self.last_document.lock().unwrap_or_else(|e| e.into_inner()) = Some((at, status));
            return Ok(status);
        }
        // A fragment of the page already shown keeps that page's response.
        if let Some((_, status)) = self.last_document() {
            return Ok(status);
        }
        Err(BrowserError::Navigation(NavigationError::new(
            url,
            NetError::NoResponse,
        )))
    }

    /// The error for a failed main-frame document request, or `None` when the navigation
    /// goes on (`ERR_ABORTED`: replaced by another navigation, or a download).
    fn failed(
        &self,
        url: &str,
        at: &str,
        error: &str,
        redirects: &[String],
        blocked_before: u64,
        failures_before: u64,
    ) -> Option<BrowserError> {
        let error = NetError::from_chromium(error);
        let NetError::Net(name) = &error else {
            return None;
        };
        match name.as_str() {
            "ERR_ABORTED" => return None,
            "ERR_BLOCKED_BY_CLIENT" => {
                let blocked = self.blocked();
                if blocked.documents > blocked_before {
                    return Some(BrowserError::Blocked(
                        blocked.last_document.unwrap_or_else(|| without_query(at)),
                    ));
                }
            }
            "ERR_TUNNEL_CONNECTION_FAILED" => {
                // The proxy knows why the tunnel was not opened.
                if let Some(failure) = origin_of(at)
                    .and_then(|origin| self.egress.failure_since(&origin, failures_before))
                {
                    return Some(self.egress_failure(url, at, failure));
                }
            }
            _ => {}
        }
        let mut e = NavigationError::new(url, error.clone());
        if error.class() == NetErrorClass::RedirectLoop {
            e.looping = looping_url(redirects);
        }
        Some(BrowserError::Navigation(e))
    }

    /// The error for a host the proxy did not reach, while loading `url` (at `at`, after
    /// its redirects).
    fn egress_failure(&self, url: &str, at: &str, failure: EgressFailure) -> BrowserError {
        if let EgressFailure::Blocked(_) = failure {
            return BrowserError::Blocked(without_query(at));
        }
        // After redirects, the host not reached is the last one's.
        let failed_at = if at.is_empty() { url } else { at };
        BrowserError::Navigation(NavigationError::new(
            failed_at,
            NetError::Net(failure.net_error().to_string()),
        ))
    }

    /// Why the browser is on an error page instead of the site's, if it is: the main
    /// frame's last navigation failed (and no document came since), or `shown`, the URL
    /// the page shows, is Chromium's error page (`chrome-error://`).
    pub fn navigation_failure(&self, shown: &str) -> Option<BrowserError> {
        let recorded = self
            .nav_failure
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        match recorded {
            Some(e) if e.error == NetError::Net("ERR_BLOCKED_BY_CLIENT".into()) => Some(
                BrowserError::Blocked(self.blocked().last_document.unwrap_or(e.url)),
            ),
            Some(e) => Some(BrowserError::Navigation(e)),
            None if shown.starts_with("chrome-error:") => {
                Some(match self.blocked().last_document {
                    Some(to) => BrowserError::Blocked(to),
                    None => {
                        BrowserError::Navigation(NavigationError::new(shown, NetError::ErrorPage))
                    }
                })
            }
            None => None,
        }
    }

    /// [`BrowserError::RunawayPage`] when the main frame received more than
    /// [`RUNAWAY_DOCUMENTS`] documents within [`RUNAWAY_WINDOW`].
    pub fn runaway(&self) -> Option<BrowserError> {
        let documents = self.recent_documents(RUNAWAY_WINDOW);
        (documents > RUNAWAY_DOCUMENTS).then(|| BrowserError::RunawayPage {
            url: self
                .last_document()
                .map(|(url, _)| without_query(&url))
                .unwrap_or_default(),
            documents,
            seconds: RUNAWAY_WINDOW.as_secs(),
        })
    }

    /// How many documents the main frame received within the last `window` by itself:
    /// since gleaner last navigated, clicked or pressed a key (a connector's quick `goto`s
    /// in a loop are not the page's doing). A page that reloads itself receives many.
    pub fn recent_documents(&self, window: Duration) -> usize {
        let now = Instant::now();
        let asked = *self.asked_at.lock().unwrap_or_else(|e| e.into_inner());
        self.documents
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|at| now.duration_since(**at) <= window && **at > asked)
            .count()
    }
}
