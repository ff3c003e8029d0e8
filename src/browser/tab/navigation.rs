//! What a navigation of the main frame went through, from the network events: its
//! redirects, its response, and why it failed. chromiumoxide's navigation future hands back
//! no error (`Page.navigate`'s `errorText` is dropped) and, after a failure, lands on
//! `chrome-error://chromewebdata/` as if it had loaded: these events say what happened.

use std::collections::HashMap;

use chromiumoxide::Page;
use chromiumoxide::cdp::browser_protocol::network::{
    EventLoadingFailed, EventRequestWillBeSent, EventResponseReceived, ResourceType,
};
use chromiumoxide::cdp::browser_protocol::page::FrameId;
use chromiumoxide::error::CdpError;
use chromiumoxide::listeners::EventStream;
use futures::StreamExt;

use crate::browser::egress::{EGRESS_HEADER, EgressFailure};

/// Something the main frame's document request went through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Seen {
    /// The document's response (`egress`: the proxy's own answer, and why it gave it).
    Response {
        url: String,
        status: u16,
        egress: Option<EgressFailure>,
    },
    /// The document's request failed (`net::ERR_…`), at `url` after its redirects.
    Failed {
        url: String,
        error: String,
        redirects: Vec<String>,
    },
    /// Another request, or nothing the navigation cares about.
    Other,
}

/// Listens to the main frame's document requests; made before the navigation starts.
pub(super) struct NavigationWatch {
    main_frame: Option<FrameId>,
    requests: EventStream<EventRequestWillBeSent>,
    responses: EventStream<EventResponseReceived>,
    failures: EventStream<EventLoadingFailed>,
    /// Each main-frame document request: the URLs it went to, redirects included.
    chains: HashMap<String, Vec<String>>,
}

impl NavigationWatch {
    pub(super) async fn start(
        page: &Page,
        main_frame: Option<FrameId>,
    ) -> Result<NavigationWatch, CdpError> {
        Ok(NavigationWatch {
            main_frame,
            requests: page.event_listener::<EventRequestWillBeSent>().await?,
            responses: page.event_listener::<EventResponseReceived>().await?,
            failures: page.event_listener::<EventLoadingFailed>().await?,
            chains: HashMap::new(),
        })
    }

    /// The next event; `None` once the page's event streams end (the browser is gone).
    pub(super) async fn next(&mut self) -> Option<Seen> {
        tokio::select! {
            ev = self.requests.next() => {
                let ev = ev?;
                if ev.r#type == Some(ResourceType::Document)
                    && ev.frame_id.is_some()
                    && ev.frame_id == self.main_frame
                {
                    self.chains
                        .entry(ev.request_id.inner().clone())
                        .or_default()
                        .push(ev.request.url.clone());
                }
                Some(Seen::Other)
            }
            ev = self.responses.next() => {
                let ev = ev?;
                if ev.r#type != ResourceType::Document || ev.frame_id != self.main_frame {
                    return Some(Seen::Other);
                }
                Some(Seen::Response {
                    url: ev.response.url.clone(),
                    status: ev.response.status as u16,
                    egress: egress_reason(ev.response.headers.inner()),
                })
            }
            ev = self.failures.next() => {
                let ev = ev?;
                let Some(chain) = self.chains.get(ev.request_id.inner()) else {
                    return Some(Seen::Other);
                };
                Some(Seen::Failed {
                    url: chain.last().cloned().unwrap_or_default(),
                    error: ev.error_text.clone(),
                    redirects: chain.clone(),
                })
            }
        }
    }
}

/// The proxy's [`EGRESS_HEADER`] (its own answers carry it; it is removed from the
/// site's).
fn egress_reason(headers: &serde_json::Value) -> Option<EgressFailure> {
    headers
        .as_object()?
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(EGRESS_HEADER))
        .and_then(|(_, value)| value.as_str())
        .and_then(EgressFailure::from_header_value)
}

/// The URL a redirect loop came back to (compared without queries), or else the last one.
pub(super) fn looping_url(redirects: &[String]) -> Option<String> {
    let bare: Vec<String> = redirects
        .iter()
        .map(|u| crate::browser::error::without_query(u))
        .collect();
    bare.iter()
        .enumerate()
        .find(|(i, u)| bare[..*i].contains(u))
        .map(|(_, u)| u.clone())
        .or_else(|| bare.last().cloned())
}

/// `url`'s origin as the proxy records it (`http://127.0.0.1:8080`).
pub(super) fn origin_of(url: &str) -> Option<String> {
    url::Url::parse(url)
        .ok()
        .map(|u| u.origin().ascii_serialization())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loop_is_named_by_the_url_it_returns_to() {
        let chain = |urls: &[&str]| urls.iter().map(|u| u.to_string()).collect::<Vec<_>>();
        assert_eq!(
            looping_url(&chain(&[
                "http://h/start",
                "http://h/a?x=1",
                "http://h/b",
                "http://h/a?x=2"
            ])),
            Some("http://h/a".into())
        );
        assert_eq!(
            looping_url(&chain(&["http://h/r/1", "http://h/r/2"])),
            Some("http://h/r/2".into())
        );
    }

    #[test]
    fn only_the_proxy_header_tells_a_reason() {
        let h = serde_json::json!({"X-Gleaner-Egress": "connection-refused"});
        assert_eq!(egress_reason(&h), Some(EgressFailure::ConnectionRefused));
        assert_eq!(egress_reason(&serde_json::json!({"Server": "x"})), None);
    }
}
