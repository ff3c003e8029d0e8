//! Running the in-page agent inside frames, cross-site ones included.
//!
//! A same-site frame lives in the page's renderer: the agent runs there in an isolated world
//! (`Page.createIsolatedWorld`) made for that frame. A cross-site frame lives in another
//! renderer (site isolation) and is its own CDP target: chromiumoxide's auto-attach
//! (`Target.setAutoAttach` with `flatten`) attaches it to the page's session, and the agent
//! runs in that child session. Either way a frame is found the same way: its element in the
//! parent document, by selector, then `DOM.describeNode` for the frame id, which for a
//! cross-site frame is also its target id.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chromiumoxide::Page;
use chromiumoxide::cdp::browser_protocol::dom::DescribeNodeParams;
use chromiumoxide::cdp::browser_protocol::page::{CreateIsolatedWorldParams, FrameId};
use chromiumoxide::cdp::browser_protocol::target::{
    EventAttachedToTarget, EventDetachedFromTarget, SessionId,
};
use chromiumoxide::cdp::js_protocol::runtime::{
    EvaluateParams, EvaluateReturns, ExecutionContextId,
};
use chromiumoxide::error::CdpError;
use futures::StreamExt;
use serde::Deserialize;
use serde_json::Value;

use crate::browser::error::{BrowserError, FrameError};

/// Frames to go through, outermost first, each named by a CSS selector of its element in
/// the document of the one before. Empty: the page itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct FramePath(Vec<String>);

impl FramePath {
    pub fn new(selectors: Vec<String>) -> FramePath {
        FramePath(selectors)
    }

    pub fn is_top(&self) -> bool {
        self.0.is_empty()
    }

    pub fn selectors(&self) -> &[String] {
        &self.0
    }
}

impl std::fmt::Display for FramePath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let quoted: Vec<String> = self.0.iter().map(|s| format!("'{s}'")).collect();
        f.write_str(&quoted.join(" > "))
    }
}

/// Where a piece of script runs: a session (the page's when `None`) and an execution
/// context in it (the main world of its top document when `None`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Context {
    pub session: Option<SessionId>,
    pub context: Option<ExecutionContextId>,
}

/// A frame found: where its document's script runs, and where its viewport starts in the
/// page's viewport (CSS pixels), for clicks.
#[derive(Debug, Clone, Default)]
pub(crate) struct Resolved {
    pub context: Context,
    pub offset: (f64, f64),
    /// The innermost frame's `src`, as its element has it.
    pub src: String,
}

/// The page's attached child sessions (cross-site frames), by target id (which, for a
/// frame, is its frame id). Kept current by a task listening to the page's session.
#[derive(Debug, Clone, Default)]
pub(crate) struct ChildSessions(Arc<Mutex<HashMap<String, SessionId>>>);

impl ChildSessions {
    /// `intercept`: each frame's session gets `Fetch` as it attaches, for a tapped network
    /// (see [`crate::browser::guard::start_frames`]).
    pub async fn start(
        page: &Page,
        intercept: bool,
    ) -> Result<(ChildSessions, tokio::task::JoinHandle<()>), CdpError> {
        let sessions = ChildSessions::default();
        let page = page.clone();
        let mut attached = page.event_listener::<EventAttachedToTarget>().await?;
        let mut detached = page.event_listener::<EventDetachedFromTarget>().await?;
        let map = sessions.0.clone();
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    ev = attached.next() => match ev {
                        Some(ev) if ev.target_info.r#type == "iframe" => {
                            map.lock().unwrap_or_else(|e| e.into_inner())
                                .insert(ev.target_info.target_id.inner().clone(), ev.session_id.clone());
                            if intercept {
                                let (page, session) = (page.clone(), ev.session_id.clone());
                                tokio::spawn(async move {
                                    let enable = crate::browser::guard::enable_params();
                                    if let Err(e) = page.execute_on_session(session, enable).await {
                                        tracing::debug!("a frame's requests cannot be tapped: {e}");
                                    }
                                });
                            }
                        }
                        Some(_) => {}
                        None => break,
                    },
                    ev = detached.next() => match ev {
                        Some(ev) => {
                            map.lock().unwrap_or_else(|e| e.into_inner())
                                .retain(|_, s| *s != ev.session_id);
                        }
                        None => break,
                    },
                }
            }
        });
        Ok((sessions, task))
    }

    pub fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// The session of the cross-site frame `frame`, if it is one of the page's.
    pub fn session_of(&self, frame: &FrameId) -> Option<SessionId> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(frame.inner())
            .cloned()
    }
}

/// The isolated worlds made for same-site frames, by frame id; a world goes with its
/// document, so an entry is dropped when evaluating in it fails.
pub(crate) type Worlds = Arc<Mutex<HashMap<(Option<SessionId>, String), ExecutionContextId>>>;

/// Evaluates `expression` in `at`, awaiting promises; the value by JSON, or the remote
/// object when `by_value` is false.
pub(crate) async fn evaluate(
    page: &Page,
    at: &Context,
    expression: &str,
    by_value: bool,
) -> Result<EvaluateReturns, EvalFailure> {
    let mut params = EvaluateParams::builder()
        .expression(expression)
        .await_promise(true)
        .return_by_value(by_value);
    if let Some(context) = at.context {
        params = params.context_id(context);
    }
    let params = params.build().map_err(EvalFailure::Build)?;
    let returns = match &at.session {
        None => page.execute(params).await,
        Some(session) => page.execute_on_session(session.clone(), params).await,
    }
    .map_err(EvalFailure::Cdp)?
    .result;
    if let Some(details) = &returns.exception_details {
        let text = details
            .exception
            .as_ref()
            .and_then(|e| e.description.clone())
            .unwrap_or_else(|| details.text.clone());
        return Err(EvalFailure::Thrown(text));
    }
    Ok(returns)
}

/// Why an evaluation failed.
#[derive(Debug)]
pub(crate) enum EvalFailure {
    Build(String),
    /// CDP refused it: a context gone with its document, a session detached, a crash.
    Cdp(CdpError),
    /// The script threw.
    Thrown(String),
}

/// What the agent says about a frame's element.
#[derive(Debug, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
enum FrameBox {
    Ready {
        x: f64,
        y: f64,
        #[serde(default)]
        src: String,
    },
    Missing,
    NotAFrame {
        tag: String,
    },
}

/// Finds the frames of `path` one after the other, waiting up to `wait_ms` in each parent
/// for the frame's element to appear. `agent` is the agent's source; `scroll` brings each
/// frame into view first (for a click); `settle_frames` waits for that many rendered frames
/// in each parent before reading where the frame is.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn resolve(
    page: &Page,
    children: &ChildSessions,
    worlds: &Worlds,
    agent: &str,
    path: &FramePath,
    wait_ms: u64,
    scroll: bool,
    settle_frames: u32,
) -> Result<Result<Resolved, FrameError>, EvalFailure> {
    let mut at = Resolved::default();
    for (depth, selector) in path.selectors().iter().enumerate() {
        let args = serde_json::json!({ "selector": selector, "waitMs": wait_ms, "scroll": scroll, "frames": settle_frames });
        let call = format!("({agent})(\"frameBox\", {args})");
        let value = evaluate(page, &at.context, &call, true)
            .await?
            .result
            .value
            .unwrap_or(Value::Null);
        let found: FrameBox =
            serde_json::from_value(value).map_err(|e| EvalFailure::Thrown(e.to_string()))?;
        let (x, y) = match found {
            FrameBox::Ready { x, y, src } => {
                at.src = src;
                (x, y)
            }
            FrameBox::Missing => {
                return Ok(Err(FrameError::Missing {
                    selector: selector.clone(),
                    depth,
                }));
            }
            FrameBox::NotAFrame { tag } => {
                return Ok(Err(FrameError::NotAFrame {
                    selector: selector.clone(),
                    tag,
                    depth,
                }));
            }
        };
        let element = format!(
            "({agent})(\"frameElement\", {})",
            serde_json::json!({ "selector": selector })
        );
        let object = evaluate(page, &at.context, &element, false).await?.result;
        let Some(object_id) = object.object_id else {
            return Ok(Err(FrameError::Missing {
                selector: selector.clone(),
                depth,
            }));
        };
        let describe = DescribeNodeParams::builder().object_id(object_id).build();
        let node = match &at.context.session {
            None => page.execute(describe).await,
            Some(s) => page.execute_on_session(s.clone(), describe).await,
        }
        .map_err(EvalFailure::Cdp)?
        .result
        .node;
        let Some(frame) = node.frame_id else {
            return Ok(Err(FrameError::Unloaded {
                selector: selector.clone(),
            }));
        };
        at.offset = (at.offset.0 + x, at.offset.1 + y);
        at.context = match children.session_of(&frame) {
            Some(session) => Context {
                session: Some(session),
                context: None,
            },
            None => Context {
                context: Some(world(page, worlds, at.context.session.clone(), &frame).await?),
                session: at.context.session.clone(),
            },
        };
    }
    Ok(Ok(at))
}

/// The isolated world of a same-site frame, made once per document.
async fn world(
    page: &Page,
    worlds: &Worlds,
    session: Option<SessionId>,
    frame: &FrameId,
) -> Result<ExecutionContextId, EvalFailure> {
    let key = (session.clone(), frame.inner().clone());
    if let Some(id) = worlds.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return Ok(*id);
    }
    let params = CreateIsolatedWorldParams::builder()
        .frame_id(frame.clone())
        .world_name("gleaner")
        .build()
        .map_err(EvalFailure::Build)?;
    let id = match &session {
        None => page.execute(params).await,
        Some(s) => page.execute_on_session(s.clone(), params).await,
    }
    .map_err(EvalFailure::Cdp)?
    .result
    .execution_context_id;
    worlds
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key, id);
    Ok(id)
}

impl EvalFailure {
    pub(crate) fn into_browser_error(
        self,
        alive: &tokio::sync::watch::Receiver<bool>,
    ) -> BrowserError {
        match self {
            EvalFailure::Build(e) => BrowserError::Cdp(e),
            EvalFailure::Cdp(e) => crate::browser::cdp::cdp_error(e, alive),
            EvalFailure::Thrown(e) => BrowserError::Script(e),
        }
    }
}
