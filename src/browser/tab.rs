//! A page, with the operations the engine needs. Every wait here has a deadline and wakes
//! on something that happened (a DOM mutation, a new document), never on a timer alone.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chromiumoxide::Page;
use chromiumoxide::cdp::browser_protocol::emulation::SetDeviceMetricsOverrideParams;
use chromiumoxide::cdp::browser_protocol::network::{EventResponseReceived, ResourceType};
use chromiumoxide::cdp::browser_protocol::page::{
    AddScriptToEvaluateOnNewDocumentParams, FrameId, NavigateParams,
};
use chromiumoxide::cdp::js_protocol::runtime::{EvaluateParams, EventExecutionContextCreated};
use chromiumoxide::error::CdpError;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::time::Instant;
use url::Url;

use super::cdp::cdp_error;
use super::crash::{self, Crash, CrashedTargets};
use super::dialogs::{self, DialogAnswer, Dialogs};
use super::egress::EgressFailure;
use super::egress::EgressHandle;
use super::error::{
    BrowserError, FrameError, NavigationError, NetError, NetErrorClass, without_query,
};
use super::guard::{self, BlockedLog, BlockedRequests, HostAllowList};
use super::input;
use super::screen::Screen;

mod frames;
mod navigation;

pub use frames::FramePath;
use frames::{ChildSessions, EvalFailure, Worlds};
use navigation::{NavigationWatch, Seen, looping_url, origin_of};

const AGENT: &str = include_str!("agent.js");

/// Runs before each document's own scripts: removes frames (and objects, embeds) pointing at
/// local schemes as soon as they are inserted. Chromium refuses to load them, but the frame
/// then never sends a lifecycle event, and a navigation's wait for every frame's `load`
/// (chromiumoxide's) held `goto` until its timeout.
const REFUSE_LOCAL_FRAMES: &str = r#"(() => {
  const local = (u) => /^\s*(file|filesystem|view-source|chrome|chrome-extension|chrome-untrusted|devtools):/i.test(u || '');
  const check = (el) => {
    const tag = el.localName;
    const src = tag === 'object' ? el.getAttribute('data') : el.getAttribute('src');
    if (['iframe', 'frame', 'object', 'embed'].includes(tag) && local(src)) el.remove();
  };
  new MutationObserver((records) => {
    for (const r of records) {
      if (r.type === 'attributes') check(r.target);
      for (const n of r.addedNodes) {
        if (n.nodeType !== 1) continue;
        check(n);
        n.querySelectorAll('iframe, frame, object, embed').forEach(check);
      }
    }
  }).observe(document, { childList: true, subtree: true, attributes: true, attributeFilter: ['src', 'data'] });
})();"#;

/// The state of one selector in a [`Probe`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct SelectorState {
    pub count: u32,
    pub visible: bool,
    pub enabled: bool,
    pub invalid: bool,
    /// Which alternative of the selector these counts are for (0-based): the first with a
    /// visible element, else the first with any.
    #[serde(default)]
    pub matched: Option<u32>,
}

/// How far the document has loaded: its `document.readyState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReadyState {
    /// Still parsing.
    Loading,
    /// Parsed, its subresources (images, frames) still loading.
    Interactive,
    /// Loaded.
    Complete,
}

impl ReadyState {
    /// Parsed: its elements are there to act on (`interactive` or `complete`).
    pub fn is_parsed(self) -> bool {
        matches!(self, ReadyState::Interactive | ReadyState::Complete)
    }
}

/// What the page looks like for a set of selectors, at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Probe {
    pub url: String,
    pub ready: ReadyState,
    pub marked: bool,
    pub selectors: Vec<SelectorState>,
    /// Why the probe's frame could not be entered (then no selector matches).
    #[serde(skip)]
    pub no_frame: Option<FrameError>,
}

impl Probe {
    /// The state of a scope whose frame is not there: nothing matches.
    fn without_frame(selectors: usize, why: FrameError) -> Probe {
        Probe {
            url: String::new(),
            ready: ReadyState::Loading,
            marked: false,
            selectors: vec![
                SelectorState {
                    count: 0,
                    visible: false,
                    enabled: false,
                    invalid: false,
                    matched: None,
                };
                selectors
            ],
            no_frame: Some(why),
        }
    }
}

/// Where a click on a selector would land.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Target {
    /// `alternative`: which of the selector's alternatives matched (0-based).
    Ready {
        x: f64,
        y: f64,
        #[serde(default)]
        alternative: u32,
    },
    Covered {
        by: String,
    },
    Disabled,
    Hidden,
    Missing,
    Invalid,
    /// The step's frame is not there.
    #[serde(skip)]
    NoFrame(FrameError),
}

/// An agent call's answer, and the frame it ran in.
struct InFrame {
    value: Value,
    /// Where the frame's viewport starts in the page's.
    offset: (f64, f64),
    /// The frame's `src` (empty for the page itself).
    src: String,
}

/// Why the page refused an input: the in-page agent's reason, said for a person
/// (`no visible element`, `no <select> matches`…).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct InputRefused {
    pub reason: String,
}

impl InputRefused {
    /// The agent's `{ok, reason}` answer.
    fn check(answer: &Value) -> Result<(), InputRefused> {
        if answer["ok"] == Value::Bool(true) {
            return Ok(());
        }
        Err(InputRefused {
            reason: answer["reason"].as_str().unwrap_or("").to_string(),
        })
    }
}

/// Which alternative of a selector the agent acted on (0-based).
fn alternative_of(answer: &Value) -> u32 {
    answer["alternative"].as_u64().unwrap_or(0) as u32
}

/// The last main-document response seen: its URL and HTTP status.
type LastDocument = Arc<Mutex<Option<(String, u16)>>>;

/// When the main frame's last documents arrived, newest last.
type DocumentTimes = Arc<Mutex<std::collections::VecDeque<Instant>>>;

/// The main frame's last failed navigation, with where it failed.
type NavFailureSlot = Arc<Mutex<Option<NavigationError>>>;

/// Within [`RUNAWAY_WINDOW`], more main-frame documents than this make a runaway page. A
/// site's redirects through scripts take a few; a `location.reload()` loop, dozens.
pub const RUNAWAY_DOCUMENTS: usize = 10;
pub const RUNAWAY_WINDOW: Duration = Duration::from_secs(2);

/// Arrival times kept for [`Tab::recent_documents`].
const DOCUMENT_TIMES_KEPT: usize = 64;

pub struct Tab {
    page: Page,
    alive: watch::Receiver<bool>,
    last_document: LastDocument,
    documents: DocumentTimes,
    /// When gleaner last navigated, clicked or pressed a key.
    asked_at: Mutex<Instant>,
    /// Why the main frame's last navigation failed, while no document came after it.
    nav_failure: NavFailureSlot,
    /// Records `nav_failure`.
    nav_recorder: tokio::task::JoinHandle<()>,
    listener: tokio::task::JoinHandle<()>,
    main_frame: Option<FrameId>,
    /// Decides on each request once [`Tab::allow_only`] was called.
    guard: Mutex<Option<tokio::task::JoinHandle<()>>>,
    blocked: BlockedLog,
    /// The browser's egress proxy: what the tab's `Fetch` guard cannot see.
    egress: EgressHandle,
    /// The browser's crashed targets; this tab's is `target`.
    crashes: CrashedTargets,
    target: String,
    /// Marks the tab unresponsive when its renderer stops answering.
    probe: tokio::task::JoinHandle<()>,
    viewport: (u32, u32),
    /// The list given to [`Tab::allow_only`]: downloads check each hop against it.
    allow: Mutex<Option<HostAllowList>>,
    /// Where downloads go out: the browser's egress proxy, as the page's requests do.
    egress_proxy: Url,
    /// `navigator.userAgent`, read once, sent with downloads.
    user_agent: tokio::sync::OnceCell<String>,
    /// The downloads' HTTP client, built at the first download (it depends on
    /// `egress_proxy` and `allow`, and goes when they change).
    http: Mutex<Option<reqwest::Client>>,
    /// How dialogs are answered, and how many were.
    dialogs: Arc<Dialogs>,
    /// Answers the page's dialogs.
    dialog_handler: tokio::task::JoinHandle<()>,
    /// Where the agent runs: the page, or a frame in it (see [`Tab::enter_frame`]).
    scope: Mutex<FramePath>,
    /// The cross-site frames attached to the page's session.
    children: ChildSessions,
    children_task: tokio::task::JoinHandle<()>,
    /// The isolated worlds the agent runs in, in same-site frames.
    worlds: Worlds,
    /// The JSON the page's own requests received, for `capture`.
    responses: super::responses::Responses,
    /// The tabs the page opens (see popups.rs); set once by whoever made the tab.
    popups: std::sync::OnceLock<Arc<super::popups::Popups>>,
}

impl Drop for Tab {
    fn drop(&mut self) {
        self.listener.abort();
        self.probe.abort();
        self.nav_recorder.abort();
        self.dialog_handler.abort();
        self.children_task.abort();
        if let Some(guard) = self
            .guard
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            guard.abort();
        }
    }
}

impl Tab {
    pub(crate) async fn new(
        page: Page,
        alive: watch::Receiver<bool>,
        crashes: CrashedTargets,
        viewport: (u32, u32),
        egress: EgressHandle,
    ) -> Result<Tab, BrowserError> {
        let target = page.target_id().inner().clone();
        let metrics =
            SetDeviceMetricsOverrideParams::new(viewport.0 as i64, viewport.1 as i64, 1.0, false);
        page.execute(metrics)
            .await
            .map_err(|e| cdp_error(e, &alive))?;
        // The main frame's id is the target's and stays the same across navigations.
        let main_frame = page.mainframe().await.map_err(|e| cdp_error(e, &alive))?;
        page.execute(AddScriptToEvaluateOnNewDocumentParams::new(
            REFUSE_LOCAL_FRAMES,
        ))
        .await
        .map_err(|e| cdp_error(e, &alive))?;
        let last_document: LastDocument = Arc::new(Mutex::new(None));
        let mut responses = page
            .event_listener::<EventResponseReceived>()
            .await
            .map_err(|e| cdp_error(e, &alive))?;
        let sink = last_document.clone();
        let documents: DocumentTimes = Arc::default();
        let arrivals = documents.clone();
        let frame = main_frame.clone();
        let listener = tokio::spawn(async move {
            while let Some(ev) = responses.next().await {
                // Frames load documents too; only the main frame's tells what page this is.
                if ev.r#type == ResourceType::Document && ev.frame_id == frame {
                    let status = ev.response.status as u16;
                    *sink.lock().unwrap_or_else(|e| e.into_inner()) =
                        Some((ev.response.url.clone(), status));
                    let mut times = arrivals.lock().unwrap_or_else(|e| e.into_inner());
                    if times.len() >= DOCUMENT_TIMES_KEPT {
                        times.pop_front();
                    }
                    times.push_back(Instant::now());
                }
            }
        });
        let probe = crash::watch_responsive(page.clone(), target.clone(), crashes.clone());
        let nav_failure = NavFailureSlot::default();
        let watch = NavigationWatch::start(&page, main_frame.clone())
            .await
            .map_err(|e| cdp_error(e, &alive))?;
        let nav_recorder =
            tokio::spawn(record_failures(watch, nav_failure.clone(), egress.clone()));
        let dialogs = Arc::new(Dialogs::default());
        let dialog_handler = dialogs::start(&page, dialogs.clone())
            .await
            .map_err(|e| cdp_error(e, &alive))?;
        let (children, children_task) = ChildSessions::start(&page)
            .await
            .map_err(|e| cdp_error(e, &alive))?;
        let responses = super::responses::Responses::start(&page, main_frame.clone())
            .await
            .map_err(|e| cdp_error(e, &alive))?;
        Ok(Tab {
            scope: Mutex::default(),
            children,
            children_task,
            worlds: Worlds::default(),
            nav_failure,
            nav_recorder,
            page,
            alive,
            last_document,
            documents,
            asked_at: Mutex::new(Instant::now()),
            listener,
            main_frame,
            guard: Mutex::new(None),
            blocked: BlockedLog::default(),
            probe,
            crashes,
            target,
            viewport,
            allow: Mutex::new(None),
            egress_proxy: egress.proxy_url(),
            egress,
            user_agent: tokio::sync::OnceCell::new(),
            http: Mutex::new(None),
            dialogs,
            dialog_handler,
            responses,
            popups: std::sync::OnceLock::new(),
        })
    }

    pub(super) fn set_popups(&self, popups: Arc<super::popups::Popups>) {
        let _ = self.popups.set(popups);
    }

    /// A tab on a popup of `popups`: its own `Fetch` guard, dialogs, crash watch, like any
    /// tab. Its own popups count in the same family.
    pub async fn on_popup(
        popups: &Arc<super::popups::Popups>,
        popup: &super::popups::Popup,
    ) -> Result<Tab, BrowserError> {
        let kit = popups.kit();
        let page = kit
            .browser
            .get_page(popup.target.clone())
            .await
            .map_err(|e| cdp_error(e, &kit.alive))?;
        let tab = Tab::new(
            page,
            kit.alive.clone(),
            kit.crashes.clone(),
            kit.viewport,
            kit.egress.clone(),
        )
        .await?;
        tab.set_popups(popups.clone());
        Ok(tab)
    }

    /// The tabs the page opened, when the tab was made by a [`super::Browser`].
    pub fn popups(&self) -> Option<&Arc<super::popups::Popups>> {
        self.popups.get()
    }

    /// How the page's `alert`, `confirm` and `prompt` are answered from now on (dismissed
    /// until this is called). `beforeunload` is always accepted.
    pub fn answer_dialogs(&self, answer: DialogAnswer) {
        self.dialogs.set_answer(answer);
    }

    /// The JSON responses of the page's own requests (see [`super::responses`]).
    pub(crate) fn responses(&self) -> &super::responses::Responses {
        &self.responses
    }

    /// How many dialogs the page opened and were answered.
    pub fn dialogs_answered(&self) -> u32 {
        self.dialogs.answered()
    }

    /// From now on, requests to hosts outside `allow` fail (`net::ERR_BLOCKED_BY_CLIENT`)
    /// before they leave the browser. Calling it again replaces the list.
    pub async fn allow_only(&self, allow: HostAllowList) -> Result<(), BrowserError> {
        // Every target of the browser, not only this tab: popups, workers, WebSockets.
        self.egress.restrict(allow.clone());
        let task = guard::start(
            &self.page,
            self.main_frame.clone(),
            allow.clone(),
            self.blocked.clone(),
        )
        .await
        .map_err(|e| self.err(e))?;
        *self.allow.lock().unwrap_or_else(|e| e.into_inner()) = Some(allow);
        *self.http.lock().unwrap_or_else(|e| e.into_inner()) = None;
        let previous = self
            .guard
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .replace(task);
        if let Some(previous) = previous {
            previous.abort();
        }
        Ok(())
    }

    /// The list given to [`Tab::allow_only`], if any.
    pub(super) fn allowed(&self) -> Option<HostAllowList> {
        self.allow.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(super) fn blocked_log(&self) -> &BlockedLog {
        &self.blocked
    }

    /// The page's `navigator.userAgent`, read once.
    pub(super) async fn user_agent(&self) -> Result<String, BrowserError> {
        self.user_agent
            .get_or_try_init(|| async {
                Ok(self
                    .eval("navigator.userAgent")
                    .await?
                    .as_str()
                    .unwrap_or_default()
                    .to_string())
            })
            .await
            .cloned()
    }

    /// The downloads' HTTP client, once built (see [`super::download`]).
    pub(super) fn http_slot(&self) -> std::sync::MutexGuard<'_, Option<reqwest::Client>> {
        self.http.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The browser's egress proxy, for gleaner's own requests on the page's behalf.
    pub(super) fn egress_proxy(&self) -> &Url {
        &self.egress_proxy
    }

    /// The requests kept from the network so far.
    pub fn blocked(&self) -> BlockedRequests {
        let mut blocked = self
            .blocked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        blocked.merge(&self.egress.blocked());
        blocked
    }

    /// The browser's egress proxy, which this tab's [`Tab::allow_only`] restricts too.
    pub fn egress(&self) -> &EgressHandle {
        &self.egress
    }

    pub(super) fn err(&self, e: CdpError) -> BrowserError {
        cdp_error(e, &self.alive)
    }

    /// Resolves when the browser is gone.
    /// Resolves when the tab's renderer crashes or the browser is gone, with which.
    pub async fn crashed(&self) -> Crash {
        crash::crashed(&self.target, &self.crashes, self.alive.clone()).await
    }

    /// The crash that already happened, if any.
    pub fn crash_now(&self) -> Option<Crash> {
        crash::crash_now(&self.target, &self.crashes, &self.alive)
    }

    pub fn is_alive(&self) -> bool {
        *self.alive.borrow()
    }

    /// The last main-document response: URL and HTTP status.
    pub fn last_document(&self) -> Option<(String, u16)> {
        self.last_document
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

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

    /// gleaner is about to make the page navigate (or may): what follows is not the page's
    /// own doing.
    fn asked_to_navigate(&self) {
        *self.asked_at.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
    }

    pub async fn url(&self) -> Result<String, BrowserError> {
        Ok(self
            .page
            .url()
            .await
            .map_err(|e| self.err(e))?
            .unwrap_or_default())
    }

    /// Evaluates a JavaScript expression and returns its JSON value (promises awaited).
    pub async fn eval(&self, expression: &str) -> Result<Value, BrowserError> {
        let params = EvaluateParams::builder()
            .expression(expression)
            .await_promise(true)
            .return_by_value(true)
            .build()
            .map_err(BrowserError::Cdp)?;
        let result = self
            .page
            .evaluate_expression(params)
            .await
            .map_err(|e| self.err(e))?;
        Ok(result.value().cloned().unwrap_or(Value::Null))
    }

    /// From now on the agent's calls (probes, targets, typing, text, HTML) run in the frame
    /// `path` names, or in the page itself for an empty path. Clicks and keys still go to
    /// the page, at the frame's place in it.
    pub fn enter_frame(&self, path: FramePath) {
        *self.scope.lock().unwrap_or_else(|e| e.into_inner()) = path;
    }

    /// The frame the agent's calls run in (see [`Tab::enter_frame`]).
    pub fn frame(&self) -> FramePath {
        self.scope.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// How many cross-site frames (each its own target) are attached to the page now.
    pub fn cross_site_frames(&self) -> usize {
        self.children.len()
    }

    /// The frames of the document the tab's calls run in, each by a selector that finds it.
    pub async fn frames(&self) -> Result<Vec<String>, BrowserError> {
        let v = self.agent_value("frames", json!({})).await?;
        Ok(serde_json::from_value(v).unwrap_or_default())
    }

    fn forget_worlds(&self) {
        self.worlds
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// Runs an agent call in the current frame: its value, and where the frame's viewport
    /// starts in the page's. Waits up to `frame_wait` for each frame of the path to appear;
    /// `Ok(Err(_))` when one does not. `scroll` brings the frames into view (for a click).
    async fn agent(
        &self,
        scope: &FramePath,
        name: &str,
        args: Value,
        frame_wait: Duration,
        scroll: bool,
    ) -> Result<Result<InFrame, FrameError>, BrowserError> {
        let call = format!("({AGENT})({}, {})", json!(name), args);
        if scope.is_top() {
            return Ok(Ok(InFrame {
                value: self.eval(&call).await?,
                offset: (0.0, 0.0),
                src: String::new(),
            }));
        }
        let wait_ms = frame_wait.as_millis() as u64;
        let resolved = match frames::resolve(
            &self.page,
            &self.children,
            &self.worlds,
            AGENT,
            scope,
            wait_ms,
            scroll,
        )
        .await
        {
            Ok(Ok(resolved)) => resolved,
            Ok(Err(why)) => return Ok(Err(why)),
            Err(e) => return Err(self.frame_failure(e)),
        };
        let value = match frames::evaluate(&self.page, &resolved.context, &call, true).await {
            Ok(r) => r.result.value.unwrap_or(Value::Null),
            Err(e) => return Err(self.frame_failure(e)),
        };
        let mut offset = resolved.offset;
        if scroll {
            // Scrolling an element into view inside a frame scrolls the documents around
            // it too: where the frame is now is known only after the call.
            match frames::resolve(
                &self.page,
                &self.children,
                &self.worlds,
                AGENT,
                scope,
                0,
                false,
            )
            .await
            {
                Ok(Ok(now)) => offset = now.offset,
                Ok(Err(why)) => return Ok(Err(why)),
                Err(e) => return Err(self.frame_failure(e)),
            }
        }
        Ok(Ok(InFrame {
            value,
            offset,
            src: resolved.src,
        }))
    }

    /// A failed evaluation in a frame: its isolated worlds may have gone with its document.
    fn frame_failure(&self, e: EvalFailure) -> BrowserError {
        self.forget_worlds();
        e.into_browser_error(&self.alive)
    }

    /// An agent call in the page or a frame known to be there.
    async fn agent_value(&self, name: &str, args: Value) -> Result<Value, BrowserError> {
        match self
            .agent(&self.frame(), name, args, Duration::ZERO, false)
            .await?
        {
            Ok(found) => Ok(found.value),
            Err(why) => Err(BrowserError::Frame(why)),
        }
    }

    /// Runs an agent call; when the page navigates under it (the execution context is
    /// destroyed), waits for the new document's context and runs it again, until `deadline`.
    async fn agent_across_navigations(
        &self,
        scope: &FramePath,
        name: &str,
        args: Value,
        frame_wait: Duration,
        deadline: Instant,
    ) -> Result<Result<InFrame, FrameError>, BrowserError> {
        let mut contexts = self
            .page
            .event_listener::<EventExecutionContextCreated>()
            .await
            .map_err(|e| self.err(e))?;
        loop {
            match self
                .agent(scope, name, args.clone(), frame_wait, false)
                .await
            {
                Ok(v) => return Ok(v),
                Err(BrowserError::Crashed) => return Err(BrowserError::Crashed),
                Err(e) => {
                    if Instant::now() >= deadline {
                        return Err(e);
                    }
                    tracing::debug!("retrying {name} after a navigation: {e}");
                    // A new document brings a new execution context. Bound the wait: the
                    // error may have had another cause, the context may already exist, and
                    // a cross-site frame's contexts are announced on its own session.
                    let wait = (deadline - Instant::now()).min(Duration::from_millis(250));
                    let _ = tokio::time::timeout(wait, contexts.next()).await;
                }
            }
        }
    }

    /// The page's state for `selectors`. With `previous`, waits (up to `wait`) until the
    /// state differs from it, so a caller can loop on changes without polling. In a frame
    /// that is not there (yet), waits up to `wait` for it, then reports it
    /// ([`Probe::no_frame`]).
    pub async fn probe(
        &self,
        selectors: &[impl Serialize],
        previous: Option<&Probe>,
        wait: Duration,
        mark: Option<&str>,
    ) -> Result<Probe, BrowserError> {
        self.probe_in(&self.frame(), selectors, previous, wait, mark)
            .await
    }

    /// [`Tab::probe`] in the frame `scope` (the page itself when it is empty), whatever
    /// frame the tab's other calls run in.
    pub async fn probe_in(
        &self,
        scope: &FramePath,
        selectors: &[impl Serialize],
        previous: Option<&Probe>,
        wait: Duration,
        mark: Option<&str>,
    ) -> Result<Probe, BrowserError> {
        let prev = previous.filter(|p| p.no_frame.is_none()).map(|p| {
            json!({ "url": p.url, "ready": p.ready, "marked": p.marked, "selectors": p.selectors.iter().map(|s| json!({
                "count": s.count, "visible": s.visible, "enabled": s.enabled, "invalid": s.invalid, "matched": s.matched
            })).collect::<Vec<_>>() })
        });
        // A frame that just appeared is a change: no need to wait in it as well.
        let frame_was_missing = previous.is_some_and(|p| p.no_frame.is_some());
        let in_frame_wait = if frame_was_missing {
            Duration::ZERO
        } else {
            wait
        };
        let args = json!({ "selectors": selectors, "previous": prev, "waitMs": in_frame_wait.as_millis() as u64, "mark": mark });
        let deadline = Instant::now() + wait * 2 + Duration::from_secs(2);
        let found = match self
            .agent_across_navigations(scope, "probe", args, wait, deadline)
            .await?
        {
            Ok(found) => found,
            Err(why) => return Ok(Probe::without_frame(selectors.len(), why)),
        };
        let probe: Probe = serde_json::from_value(found.value)
            .map_err(|e| BrowserError::Script(format!("probe: {e}")))?;
        if !scope.is_top() && probe.url.starts_with("chrome-error:") {
            // The frame's own address says whether the guard kept it out.
            let refused = Url::parse(&found.src)
                .ok()
                .filter(|src| self.allowed().is_some_and(|allow| !allow.permits(src)))
                .map(|src| without_query(src.as_str()));
            return Err(BrowserError::FrameErrorPage {
                frame: scope.to_string(),
                blocked: refused,
            });
        }
        Ok(probe)
    }

    /// Where a click on `selector` would land now, in the page's viewport.
    pub async fn target(
        &self,
        selector: &(impl Serialize + ?Sized),
    ) -> Result<Target, BrowserError> {
        let (v, (dx, dy)) = match self
            .agent(
                &self.frame(),
                "target",
                json!({ "selector": selector }),
                Duration::ZERO,
                true,
            )
            .await?
        {
            Ok(found) => (found.value, found.offset),
            Err(why) => return Ok(Target::NoFrame(why)),
        };
        let target: Target =
            serde_json::from_value(v).map_err(|e| BrowserError::Script(format!("target: {e}")))?;
        Ok(match target {
            Target::Ready { x, y, alternative } => Target::Ready {
                x: x + dx,
                y: y + dy,
                alternative,
            },
            other => other,
        })
    }

    /// A real mouse click (moved, pressed, released) at a viewport point.
    pub async fn click_at(&self, x: f64, y: f64) -> Result<(), BrowserError> {
        self.asked_to_navigate();
        input::click_at(&self.page, &self.alive, x, y).await
    }

    /// Focuses the first visible match of `selector` and empties it, ready for typing. In
    /// a frame, clicks it first: keys go to the page's focused frame, and a script in a
    /// cross-site frame may not take the focus by itself.
    pub async fn focus_for_typing(
        &self,
        selector: &(impl Serialize + ?Sized),
    ) -> Result<Result<u32, InputRefused>, BrowserError> {
        if !self.frame().is_top() {
            match self.target(selector).await? {
                Target::Ready { x, y, .. } => self.click_at(x, y).await?,
                Target::NoFrame(why) => {
                    return Ok(Err(InputRefused {
                        reason: why.to_string(),
                    }));
                }
                _ => {}
            }
        }
        let v = self
            .agent_value("focusForTyping", json!({ "selector": selector }))
            .await;
        match v {
            Ok(v) => Ok(InputRefused::check(&v).map(|()| alternative_of(&v))),
            Err(BrowserError::Frame(why)) => Ok(Err(InputRefused {
                reason: why.to_string(),
            })),
            Err(e) => Err(e),
        }
    }

    /// Types text into the focused element, as an IME would (`Input.insertText`).
    pub async fn insert_text(&self, text: &str) -> Result<(), BrowserError> {
        input::insert_text(&self.page, &self.alive, text).await
    }

    /// Presses and releases a key, by DOM key name (`Enter`, `Tab`, `a`, `ArrowDown`...).
    pub async fn press_key(&self, key: &str) -> Result<(), BrowserError> {
        self.asked_to_navigate();
        input::press_key(&self.page, &self.alive, key).await
    }

    /// Chooses an option of a `<select>` by value or label.
    pub async fn select_option(
        &self,
        selector: &(impl Serialize + ?Sized),
        choice: &str,
    ) -> Result<Result<u32, InputRefused>, BrowserError> {
        let v = self
            .agent_value(
                "selectOption",
                json!({ "selector": selector, "choice": choice }),
            )
            .await;
        match v {
            Ok(v) => Ok(InputRefused::check(&v).map(|()| alternative_of(&v))),
            Err(BrowserError::Frame(why)) => Ok(Err(InputRefused {
                reason: why.to_string(),
            })),
            Err(e) => Err(e),
        }
    }

    /// The visible text of the first match of `selector`, if any.
    pub async fn text_of(
        &self,
        selector: &(impl Serialize + ?Sized),
    ) -> Result<Option<String>, BrowserError> {
        match self
            .agent_value("text", json!({ "selector": selector }))
            .await
        {
            Ok(v) => Ok(v.as_str().map(str::to_string)),
            Err(BrowserError::Frame(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Why `selector` matches nothing where it is searched, when it would match elsewhere:
    /// inside a same-origin frame, or across a shadow boundary with `>>`. A sentence for
    /// the error message, or `None`.
    pub async fn missing_hint(
        &self,
        selector: &(impl Serialize + ?Sized),
    ) -> Result<Option<String>, BrowserError> {
        match self
            .agent_value("explainMissing", json!({ "selector": selector }))
            .await
        {
            Ok(v) => Ok(v.as_str().map(str::to_string)),
            Err(BrowserError::Frame(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Marks the current document, so that [`Probe::marked`] turns false once another one
    /// replaces it.
    pub async fn set_mark(&self, mark: &str) -> Result<(), BrowserError> {
        match self.agent_value("setMark", json!({ "mark": mark })).await {
            Ok(_) | Err(BrowserError::Frame(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The URL of the document the tab's calls run in: the page's, or its frame's.
    pub async fn document_url(&self) -> Result<String, BrowserError> {
        let scope = self.frame();
        if scope.is_top() {
            return self.url().await;
        }
        Ok(self
            .probe_in(&scope, &[] as &[&str], None, Duration::ZERO, None)
            .await?
            .url)
    }

    /// The current document's HTML (the live DOM, scripts' changes included): the page's,
    /// or its frame's.
    pub async fn html(&self) -> Result<String, BrowserError> {
        let deadline = Instant::now() + Duration::from_secs(10);
        match self
            .agent_across_navigations(
                &self.frame(),
                "html",
                json!({}),
                Duration::from_secs(2),
                deadline,
            )
            .await?
        {
            Ok(found) => Ok(found.value.as_str().unwrap_or("").to_string()),
            Err(why) => Err(BrowserError::Frame(why)),
        }
    }

    /// A PNG of the viewport.
    pub async fn screenshot_png(&self) -> Result<Vec<u8>, BrowserError> {
        let params = chromiumoxide::page::ScreenshotParams::builder()
            .format(chromiumoxide::cdp::browser_protocol::page::CaptureScreenshotFormat::Png)
            .build();
        self.page.screenshot(params).await.map_err(|e| self.err(e))
    }

    /// A handle for viewers: the live screen of this page, and a person's input on it.
    pub fn screen(&self) -> Screen {
        Screen::new(self.page.clone(), self.alive.clone(), self.viewport)
    }

    /// The underlying chromiumoxide page, for what this type does not cover yet.
    pub fn page(&self) -> &Page {
        &self.page
    }
}

/// Keeps the main frame's last navigation failure in `slot` (cleared by each document that
/// arrives), for a wait that finds the browser on its error page.
async fn record_failures(mut watch: NavigationWatch, slot: NavFailureSlot, egress: EgressHandle) {
    while let Some(seen) = watch.next().await {
        let failure = match seen {
            Seen::Response { egress: None, .. } => None,
            Seen::Response {
                url,
                egress: Some(failure),
                ..
            } => Some(NavigationError::new(
                &url,
                NetError::Net(failure.net_error().to_string()),
            )),
            Seen::Failed {
                url,
                error,
                redirects,
            } => {
                let mut error = NetError::from_chromium(&error);
                if error == NetError::Net("ERR_ABORTED".into()) {
                    continue;
                }
                if error == NetError::Net("ERR_TUNNEL_CONNECTION_FAILED".into())
                    && let Some(failure) =
                        origin_of(&url).and_then(|origin| egress.failure_since(&origin, 0))
                {
                    error = NetError::Net(failure.net_error().to_string());
                }
                let mut e = NavigationError::new(&url, error);
                if e.error.class() == NetErrorClass::RedirectLoop {
                    e.looping = looping_url(&redirects);
                }
                Some(e)
            }
            Seen::Other => continue,
        };
        *slot.lock().unwrap_or_else(|e| e.into_inner()) = failure;
    }
}
