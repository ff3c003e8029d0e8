//! The [`NetworkTap`] at a tab's `Fetch` pauses: an allowed request is continued (live),
//! continued with its response paused too so that it can be recorded (record), or
//! fulfilled from the responder and never sent (replay).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chromiumoxide::Page;
use chromiumoxide::cdp::browser_protocol::fetch::{
    ContinueRequestParams, EventRequestPaused, FailRequestParams, FulfillRequestParams,
    GetResponseBodyParams, HeaderEntry,
};
use chromiumoxide::cdp::browser_protocol::network::ErrorReason;
use chromiumoxide::cdp::browser_protocol::target::SessionId;
use chromiumoxide::types::{Command, CommandResponse};

use super::network_tap::{
    Exchange, HttpRequest, HttpResponse, Initiator, MAX_RECORDED_BODY, NetworkTap,
};

/// A recorded request waiting for its response: what was sent, and when.
type Sent = (HttpRequest, SystemTime, Instant);

/// The recorded requests waiting for their responses, by `Fetch` request id.
#[derive(Debug, Clone, Default)]
pub(super) struct Pending(Arc<Mutex<HashMap<String, Sent>>>);

/// Where a paused request's answer goes: the page's session, or the session of the
/// cross-site frame that made it.
#[derive(Debug, Clone)]
pub(super) struct Via {
    pub page: Page,
    pub session: Option<SessionId>,
}

impl Via {
    pub async fn execute<T: Command>(
        &self,
        cmd: T,
    ) -> Result<CommandResponse<T::Response>, chromiumoxide::error::CdpError> {
        match &self.session {
            None => self.page.execute(cmd).await,
            Some(session) => self.page.execute_on_session(session.clone(), cmd).await,
        }
    }
}

/// Whether a paused event is at the response stage.
pub(super) fn is_response(event: &EventRequestPaused) -> bool {
    event.response_status_code.is_some() || event.response_error_reason.is_some()
}

/// Goes on with an allowed request at the request stage.
pub(super) async fn allowed_request(
    page: &Via,
    event: &EventRequestPaused,
    tap: &NetworkTap,
    pending: &Pending,
) {
    let id = event.request_id.clone();
    let sent = match tap {
        NetworkTap::Live => page.execute(ContinueRequestParams::new(id)).await.map(drop),
        NetworkTap::Record(_) => {
            pending.0.lock().unwrap_or_else(|e| e.into_inner()).insert(
                id.inner().clone(),
                (request_of(event), SystemTime::now(), Instant::now()),
            );
            let mut params = ContinueRequestParams::new(id);
            params.intercept_response = Some(true);
            page.execute(params).await.map(drop)
        }
        NetworkTap::Replay(responder) => {
            match responder.respond(&request_of(event), Initiator::Browser) {
                Some(answer) => page.execute(fulfil(id, answer)).await.map(drop),
                None => page
                    .execute(FailRequestParams::new(
                        id,
                        ErrorReason::InternetDisconnected,
                    ))
                    .await
                    .map(drop),
            }
        }
    };
    if let Err(e) = sent {
        tracing::debug!("fetch tap: the paused request could not go on: {e}");
    }
}

/// Records a paused response (record mode), then lets it through.
pub(super) async fn response(
    page: &Via,
    event: &EventRequestPaused,
    tap: &NetworkTap,
    pending: &Pending,
) {
    let id = event.request_id.clone();
    let started = pending
        .0
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(id.inner());
    if let (NetworkTap::Record(sink), Some(status)) = (tap, event.response_status_code) {
        let (request, started, at) =
            started.unwrap_or_else(|| (request_of(event), SystemTime::now(), Instant::now()));
        let headers: Vec<(String, String)> = event
            .response_headers
            .iter()
            .flatten()
            .map(|h| (h.name.clone(), h.value.clone()))
            .collect();
        let mut response = HttpResponse {
            status: status as u16,
            status_text: event.response_status_text.clone().unwrap_or_default(),
            headers,
            body: None,
        };
        let declared = response
            .header("content-length")
            .and_then(|n| n.trim().parse::<u64>().ok());
        let redirect = (300..400).contains(&status) && response.header("location").is_some();
        if !redirect && declared.is_none_or(|n| n <= MAX_RECORDED_BODY) {
            match page.execute(GetResponseBodyParams::new(id.clone())).await {
                Ok(body) => {
                    let body = body.result;
                    response.body = if body.base64_encoded {
                        BASE64.decode(body.body.as_bytes()).ok()
                    } else {
                        Some(body.body.into_bytes())
                    };
                }
                Err(e) => tracing::debug!("record: no body for a response: {e}"),
            }
        }
        sink.exchange(Exchange {
            request,
            response,
            started,
            duration: at.elapsed(),
            initiator: Initiator::Browser,
        });
    }
    if let Err(e) = page.execute(ContinueRequestParams::new(id)).await {
        tracing::debug!("fetch tap: the paused response could not go on: {e}");
    }
}

fn request_of(event: &EventRequestPaused) -> HttpRequest {
    let headers = event
        .request
        .headers
        .inner()
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default();
    let body = event.request.post_data_entries.as_ref().map(|entries| {
        entries
            .iter()
            .filter_map(|e| e.bytes.as_ref())
            .flat_map(|b| BASE64.decode::<&str>(b.as_ref()).unwrap_or_default())
            .collect::<Vec<u8>>()
    });
    let mut url = event.request.url.clone();
    if let Some(fragment) = &event.request.url_fragment {
        url.push_str(fragment);
    }
    HttpRequest {
        method: event.request.method.clone(),
        url,
        headers,
        body,
    }
}

fn fulfil(
    id: chromiumoxide::cdp::browser_protocol::fetch::RequestId,
    answer: HttpResponse,
) -> FulfillRequestParams {
    let mut params = FulfillRequestParams::new(id, answer.status as i64);
    params.response_headers = Some(
        answer
            .headers
            .into_iter()
            // The body is given whole and decoded: the recorded framing no longer applies.
            .filter(|(n, _)| {
                !n.eq_ignore_ascii_case("content-encoding")
                    && !n.eq_ignore_ascii_case("transfer-encoding")
                    && !n.eq_ignore_ascii_case("content-length")
            })
            .map(|(name, value)| HeaderEntry { name, value })
            .collect(),
    );
    if !answer.status_text.is_empty() {
        params.response_phrase = Some(answer.status_text);
    }
    if let Some(body) = answer.body {
        params.body = Some(BASE64.encode(body).into());
    }
    params
}
