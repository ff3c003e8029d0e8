//! A page, with the operations the engine needs. Every wait here has a deadline and wakes
//! on something that happened (a DOM mutation, a new document), never on a timer alone.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chromiumoxide::Page;
use chromiumoxide::cdp::browser_protocol::emulation::SetDeviceMetricsOverrideParams;
use chromiumoxide::cdp::browser_protocol::network::{EventResponseReceived, ResourceType};
use chromiumoxide::cdp::browser_protocol::page::{AddScriptToEvaluateOnNewDocumentParams, FrameId};
use chromiumoxide::cdp::js_protocol::runtime::EvaluateParams;
use chromiumoxide::error::CdpError;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::watch;
use tokio::time::Instant;
use url::Url;

use super::cdp::cdp_error;
use super::crash::{self, Crash, CrashedTargets};
use super::dialogs::{self, DialogAnswer, Dialogs};
use super::egress::EgressHandle;
use super::error::{BrowserError, FrameError, NavigationError, NetError, NetErrorClass};
use super::guard::{self, BlockedLog, BlockedRequests, HostAllowList};
use super::network_tap::NetworkTap;
use super::screen::Screen;
use chromiumoxide::browser::BrowserHandle;

mod activity;
mod frames;
mod goto;
mod in_page;
mod local_frames;
mod navigation;
mod trace_view;

pub use activity::{Activity, ConsoleLine, PageActivity, RequestSeen};
pub use frames::FramePath;
use frames::{ChildSessions, Worlds};
use navigation::{NavigationWatch, Seen, looping_url, origin_of};

const AGENT: &str = include_str!("agent.js");

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
    /// In a frame, the point kept moving (the documents around it scrolling or being laid
    /// out) while it was read.
    #[serde(skip)]
    Moving,
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
    /// The viewport in force, shared with the tab's screens (a person's display while they
    /// drive the page).
    view: Arc<super::screen::View>,
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
    /// Recording or replaying the tab's requests.
    network: NetworkTap,
    browser: BrowserHandle,
    /// The guard of the cross-site frames, when the network is tapped.
    frames_guard: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Drop for Tab {
    fn drop(&mut self) {
        self.listener.abort();
        self.probe.abort();
        self.nav_recorder.abort();
        self.dialog_handler.abort();
        self.children_task.abort();
        if let Some(task) = self
            .frames_guard
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            task.abort();
        }
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
        network: NetworkTap,
        browser: BrowserHandle,
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
            local_frames::REFUSE_LOCAL_FRAMES,
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
        let (children, children_task) = ChildSessions::start(&page, network.is_tapped())
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
            view: super::screen::View::new(viewport),
            allow: Mutex::new(None),
            egress_proxy: egress.proxy_url(),
            egress,
            user_agent: tokio::sync::OnceCell::new(),
            http: Mutex::new(None),
            dialogs,
            dialog_handler,
            responses,
            popups: std::sync::OnceLock::new(),
            network,
            browser,
            frames_guard: Mutex::new(None),
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
            kit.network.clone(),
            kit.browser.clone(),
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
        // Every target of the browser, not only this tab: popups, workers, WebSockets. A
        // replay lets nothing out: what the tab's guard does not answer fails.
        self.egress.restrict(if self.network.is_replay() {
            HostAllowList::default()
        } else {
            allow.clone()
        });
        let task = guard::start(
            &self.page,
            self.main_frame.clone(),
            allow.clone(),
            self.blocked.clone(),
            self.network.clone(),
        )
        .await
        .map_err(|e| self.err(e))?;
        if self.network.is_tapped() {
            let children = self.children.clone();
            let frames = guard::start_frames(
                &self.browser,
                &self.page,
                move |frame| children.session_of(frame),
                allow.clone(),
                self.blocked.clone(),
                self.network.clone(),
            )
            .await
            .map_err(|e| self.err(e))?;
            let previous = self
                .frames_guard
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .replace(frames);
            if let Some(previous) = previous {
                previous.abort();
            }
        }
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

    /// Recording or replaying the tab's requests.
    pub(super) fn network(&self) -> &NetworkTap {
        &self.network
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

    /// A PNG of the viewport.
    pub async fn screenshot_png(&self) -> Result<Vec<u8>, BrowserError> {
        let params = chromiumoxide::page::ScreenshotParams::builder()
            .format(chromiumoxide::cdp::browser_protocol::page::CaptureScreenshotFormat::Png)
            .build();
        self.page.screenshot(params).await.map_err(|e| self.err(e))
    }

    /// A handle for viewers: the live screen of this page, and a person's input on it.
    pub fn screen(&self) -> Screen {
        Screen::new(self.page.clone(), self.alive.clone(), self.view.clone())
    }

    /// Lends the page to the person driving it through the live screen, whose display its
    /// viewport may then follow ([`Screen::fit`]), or takes it back (`false`): the
    /// connector's viewport is in force again when this returns.
    pub async fn lend_to_person(&self, to_person: bool) -> Result<(), BrowserError> {
        self.view.lend(&self.page, &self.alive, to_person).await
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
