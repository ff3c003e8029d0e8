//! The tab's calls into the page through the in-page agent (`agent.js`): probes, where a
//! click lands, typing, text, HTML, and the frame they run in. Each call is one expression
//! evaluated in the page's main world, a same-site frame's isolated world, or a cross-site
//! frame's own session (see `frames.rs`).

use std::time::Duration;

use chromiumoxide::cdp::js_protocol::runtime::EventExecutionContextCreated;
use futures::StreamExt;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::time::Instant;
use url::Url;

use super::frames::{self, EvalFailure, FramePath};
use super::{AGENT, InFrame, InputRefused, Probe, Tab, Target, alternative_of};
use crate::browser::error::{BrowserError, FrameError, without_query};
use crate::browser::input;

/// How long [`Tab::target`] waits, in a frame, for the click point to hold still.
const SETTLE_LIMIT: Duration = Duration::from_secs(2);

impl Tab {
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
            0,
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
                0,
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
    ///
    /// In a frame, the point is read again, each time after an animation frame in each of
    /// the frame's parents, until two readings agree: bringing the element into view from
    /// inside a cross-site frame scrolls the documents around it asynchronously (the
    /// request crosses processes), so a point read at once may be where the element was
    /// before that scroll, and the click would land beside it (measured: one click in five
    /// on the login of `demo_sites::frames`). Two agreeing readings a frame apart also mean
    /// the browser has rendered the frame the click is routed by. [`Target::Moving`] when
    /// it does not hold still within [`SETTLE_LIMIT`].
    pub async fn target(
        &self,
        selector: &(impl Serialize + ?Sized),
    ) -> Result<Target, BrowserError> {
        let scope = self.frame();
        let first = self.read_target(&scope, selector, false).await?;
        if scope.is_top() || !matches!(first, Target::Ready { .. }) {
            return Ok(first);
        }
        let deadline = Instant::now() + SETTLE_LIMIT;
        let mut last: Option<(f64, f64)> = None;
        loop {
            let now = self.read_target(&scope, selector, true).await?;
            let Target::Ready { x, y, .. } = now else {
                return Ok(now);
            };
            if last.is_some_and(|(lx, ly)| (lx - x).abs() < 0.5 && (ly - y).abs() < 0.5) {
                return Ok(now);
            }
            if Instant::now() >= deadline {
                return Ok(Target::Moving);
            }
            last = Some((x, y));
        }
    }

    /// One reading of [`Tab::target`]: `settled` reads without scrolling, the frame's place
    /// after an animation frame in each of its parents.
    async fn read_target(
        &self,
        scope: &FramePath,
        selector: &(impl Serialize + ?Sized),
        settled: bool,
    ) -> Result<Target, BrowserError> {
        let found = if settled {
            let args = json!({ "selector": selector, "scroll": false });
            self.agent_settled(scope, "target", args).await?
        } else {
            let args = json!({ "selector": selector });
            self.agent(scope, "target", args, Duration::ZERO, true)
                .await?
        };
        let (v, (dx, dy)) = match found {
            Ok(found) => (found.value, found.offset),
            Err(why) => return Ok(Target::NoFrame(why)),
        };
        let target: Target =
            serde_json::from_value(v).map_err(|e| BrowserError::Script(format!("target: {e}")))?;
        let Target::Ready { x, y, alternative } = target else {
            return Ok(target);
        };
        let (x, y) = (x + dx, y + dy);
        // Inside a frame, the element may be clear while the page covers the frame itself.
        if let Some(outer) = scope.selectors().first() {
            let hit = self
                .agent(
                    &FramePath::default(),
                    "frameHit",
                    json!({ "selector": outer, "x": x, "y": y }),
                    Duration::ZERO,
                    false,
                )
                .await?;
            if let Ok(InFrame { value, .. }) = hit
                && value["state"] == "covered"
            {
                let by = value["by"]
                    .as_str()
                    .unwrap_or("another element")
                    .to_string();
                return Ok(Target::Covered { by });
            }
        }
        Ok(Target::Ready { x, y, alternative })
    }

    /// An agent call in the frame `scope` (not the page itself), then where the frame is,
    /// read after a rendered frame in each parent: a scroll the call caused there has landed.
    async fn agent_settled(
        &self,
        scope: &FramePath,
        name: &str,
        args: Value,
    ) -> Result<Result<InFrame, FrameError>, BrowserError> {
        let call = format!("({AGENT})({}, {})", json!(name), args);
        let resolve = |settle_frames| {
            frames::resolve(
                &self.page,
                &self.children,
                &self.worlds,
                AGENT,
                scope,
                0,
                false,
                settle_frames,
            )
        };
        let resolved = match resolve(0).await {
            Ok(Ok(resolved)) => resolved,
            Ok(Err(why)) => return Ok(Err(why)),
            Err(e) => return Err(self.frame_failure(e)),
        };
        let value = match frames::evaluate(&self.page, &resolved.context, &call, true).await {
            Ok(r) => r.result.value.unwrap_or(Value::Null),
            Err(e) => return Err(self.frame_failure(e)),
        };
        let offset = match resolve(1).await {
            Ok(Ok(now)) => now.offset,
            Ok(Err(why)) => return Ok(Err(why)),
            Err(e) => return Err(self.frame_failure(e)),
        };
        Ok(Ok(InFrame {
            value,
            offset,
            src: resolved.src,
        }))
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
        input_answer(v)
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
        input_answer(v)
    }

    /// The visible text of the first match of `selector`, if any.
    pub async fn text_of(
        &self,
        selector: &(impl Serialize + ?Sized),
    ) -> Result<Option<String>, BrowserError> {
        text_answer(
            self.agent_value("text", json!({ "selector": selector }))
                .await,
        )
    }

    /// Why `selector` matches nothing where it is searched, when it would match elsewhere:
    /// inside a same-origin frame, or across a shadow boundary with `>>`. A sentence for
    /// the error message, or `None`.
    pub async fn missing_hint(
        &self,
        selector: &(impl Serialize + ?Sized),
    ) -> Result<Option<String>, BrowserError> {
        text_answer(
            self.agent_value("explainMissing", json!({ "selector": selector }))
                .await,
        )
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
}

/// An input call's answer: the alternative that took it, or why the page refused it (a
/// frame that is not there is a refusal too).
fn input_answer(
    answer: Result<Value, BrowserError>,
) -> Result<Result<u32, InputRefused>, BrowserError> {
    match answer {
        Ok(v) => Ok(InputRefused::check(&v).map(|()| alternative_of(&v))),
        Err(BrowserError::Frame(why)) => Ok(Err(InputRefused {
            reason: why.to_string(),
        })),
        Err(e) => Err(e),
    }
}

/// A text answer, `None` when there is none (or no frame to read it in).
fn text_answer(answer: Result<Value, BrowserError>) -> Result<Option<String>, BrowserError> {
    match answer {
        Ok(v) => Ok(v.as_str().map(str::to_string)),
        Err(BrowserError::Frame(_)) => Ok(None),
        Err(e) => Err(e),
    }
}
