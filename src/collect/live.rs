//! A collect while it runs, shared by its viewers: its state, the 2FA request waiting for
//! an answer, the live screen, and the person's input (codes, clicks, keys, text, close).
//!
//! The screencast runs only while at least one viewer is attached (see [`screen_pump`]);
//! a viewer that attaches gets the state and a frame at once.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use tokio::sync::{broadcast, mpsc, watch};

use super::mode::CollectMode;
use crate::browser::{BadDisplay, BrowserError, Focused, Frame, Screen, ViewerDisplay};
use crate::codes::{ErrorInfo, State};
use crate::connector::CodeKind;
use crate::connector::plan::LocalizedText;

/// JPEG quality of the live screen: ~14 KB a 1280×720 frame (CHROMIUM-NOTES.md).
pub const SCREEN_QUALITY: u8 = 60;

/// Where a collect stands, as viewers see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Status {
    pub state: State,
    pub message: Option<String>,
    pub error: Option<ErrorInfo>,
    /// The person drives the screen now (an `interactive` step).
    pub interactive: bool,
    pub instructions: Option<LocalizedText>,
    /// With a final state: what the person can do about it.
    pub advice: Option<crate::advice::Advice>,
}

/// A one-time code the collect waits for.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CodeRequest {
    pub kind: CodeKind,
    /// The connector's label; without it, the kind says what to ask.
    pub label: Option<LocalizedText>,
    pub expires_at: u64,
}

/// One frame of the live screen, numbered in the order viewers receive them.
#[derive(Debug)]
pub struct LiveFrame {
    pub seq: u64,
    pub frame: Frame,
}

/// The longest one-time code accepted, in characters: codes are a few digits or words, and
/// whatever is given is typed into the site.
pub const MAX_CODE_LEN: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("a code is 1 to {MAX_CODE_LEN} characters, without control characters")]
    BadCode,
    #[error("the collect is not waiting for a code")]
    NoCodeAsked,
    #[error("the collect has ended")]
    Ended,
    #[error("the screen is not available yet")]
    NoScreen,
    #[error("the page is not in the hands of the person (no interactive step now)")]
    NotInteractive,
    #[error("{0}")]
    BadDisplay(#[from] BadDisplay),
    #[error("{0}")]
    Browser(#[from] BrowserError),
}

pub struct Live {
    pub id: String,
    pub credential_id: String,
    pub background: bool,
    /// A verification collect: log in only.
    pub verify: bool,
    /// The unguessable part of the WebSocket path.
    pub ws_token: String,
    status: watch::Sender<Status>,
    code_request: watch::Sender<Option<CodeRequest>>,
    /// The latest code request, kept after it is answered, and whether a code answered it:
    /// the same request again after a code means the site did not take that code.
    last_request: Mutex<Option<CodeRequest>>,
    code_given: AtomicBool,
    asked_again: AtomicBool,
    codes: mpsc::Sender<String>,
    closes: mpsc::Sender<()>,
    screen: watch::Sender<Option<Screen>>,
    /// The display of the viewer who told theirs last: the page follows it while the
    /// person drives (see [`super::follow`]).
    display: watch::Sender<Option<ViewerDisplay>>,
    /// What has the page's keyboard, read after the person's input while they drive.
    focus: watch::Sender<Option<Focused>>,
    viewers: watch::Sender<usize>,
    shots: broadcast::Sender<Arc<LiveFrame>>,
    /// The latest screencast frame, kept only while the screencast runs (afterwards the
    /// page may have changed without a frame).
    last_shot: Mutex<Option<Arc<LiveFrame>>>,
    seq: AtomicU64,
    cancel: watch::Sender<Option<crate::codes::ErrorKind>>,
    /// The screencast runs (someone is watching and the tab exists).
    casting: watch::Sender<bool>,
    /// When the collect reached its final state: its WebSocket path lives a short grace
    /// period after it, so that a late viewer still gets the final state, and no longer.
    ended_at: Mutex<Option<std::time::Instant>>,
}

/// The engine's ends of the person's channels, handed over when the collect starts.
pub struct PersonLinks {
    pub codes: mpsc::Receiver<String>,
    pub closes: mpsc::Receiver<()>,
}

impl Live {
    pub fn new(
        id: String,
        credential_id: String,
        mode: CollectMode,
        ws_token: String,
    ) -> (Arc<Live>, PersonLinks) {
        let (codes, codes_rx) = mpsc::channel(4);
        let (closes, closes_rx) = mpsc::channel(4);
        let live = Live {
            id,
            credential_id,
            background: mode.background,
            verify: mode.verify,
            ws_token,
            status: watch::Sender::new(Status {
                state: State::Preparing,
                message: None,
                error: None,
                interactive: false,
                instructions: None,
                advice: None,
            }),
            code_request: watch::Sender::new(None),
            last_request: Mutex::new(None),
            code_given: AtomicBool::new(false),
            asked_again: AtomicBool::new(false),
            codes,
            closes,
            screen: watch::Sender::new(None),
            display: watch::Sender::new(None),
            focus: watch::Sender::new(None),
            viewers: watch::Sender::new(0),
            shots: broadcast::channel(8).0,
            last_shot: Mutex::new(None),
            seq: AtomicU64::new(0),
            cancel: watch::Sender::new(None),
            casting: watch::Sender::new(false),
            ended_at: Mutex::new(None),
        };
        let links = PersonLinks {
            codes: codes_rx,
            closes: closes_rx,
        };
        (Arc::new(live), links)
    }

    pub fn status(&self) -> Status {
        self.status.borrow().clone()
    }

    pub fn is_finished(&self) -> bool {
        !self.status.borrow().state.in_progress()
    }

    pub fn set_status(&self, change: impl FnOnce(&mut Status)) {
        self.status.send_if_modified(|s| {
            let before = s.clone();
            change(s);
            *s != before
        });
        if !self.status.borrow().interactive {
            self.focus.send_if_modified(|f| f.take().is_some());
        }
        if self.is_finished() {
            self.code_request.send_replace(None);
            self.screen.send_replace(None);
            self.ended_at
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get_or_insert_with(std::time::Instant::now);
        }
    }

    /// Whether the collect ended more than `grace` ago (its WebSocket path has expired).
    pub fn ended_before(&self, grace: std::time::Duration) -> bool {
        self.ended_at
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some_and(|at| at.elapsed() >= grace)
    }

    pub fn request_code(&self, request: Option<CodeRequest>) {
        if let Some(r) = &request {
            let mut last = self.last_request.lock().unwrap_or_else(|e| e.into_inner());
            let same = last
                .as_ref()
                .is_some_and(|l| l.kind == r.kind && l.label == r.label);
            let given = self.code_given.swap(false, Ordering::SeqCst);
            self.asked_again.store(same && given, Ordering::SeqCst);
            *last = Some(r.clone());
        }
        self.code_request.send_replace(request);
    }

    /// Whether the pending code request repeats the previous one after a code was given:
    /// the connector went back to its `ask_code` because the site refused that code, and
    /// the site takes another one.
    pub fn asked_again(&self) -> bool {
        self.asked_again.load(Ordering::SeqCst)
    }

    /// The person's answer to the pending code request.
    pub fn give_code(&self, code: &str) -> Result<(), InputError> {
        if code.trim().is_empty()
            || code.chars().count() > MAX_CODE_LEN
            || code.chars().any(char::is_control)
        {
            return Err(InputError::BadCode);
        }
        if self.is_finished() {
            return Err(InputError::Ended);
        }
        if self.code_request.borrow().is_none() {
            return Err(InputError::NoCodeAsked);
        }
        // Before the engine can have the code, so that its next request sees it given.
        self.code_given.store(true, Ordering::SeqCst);
        self.codes
            .try_send(code.to_string())
            .map_err(|_| InputError::Ended)?;
        self.code_request.send_replace(None);
        Ok(())
    }

    /// The person has finished the interactive step.
    pub fn close_interactive(&self) -> Result<(), InputError> {
        if !self.status.borrow().interactive {
            return Err(InputError::NotInteractive);
        }
        self.closes.try_send(()).map_err(|_| InputError::Ended)
    }

    pub fn set_screen(&self, screen: Option<Screen>) {
        self.screen.send_replace(screen);
    }

    fn current_screen(&self) -> Result<Screen, InputError> {
        if self.is_finished() {
            return Err(InputError::Ended);
        }
        self.screen.borrow().clone().ok_or(InputError::NoScreen)
    }

    pub async fn click(&self, x: f64, y: f64) -> Result<(), InputError> {
        let screen = self.current_screen()?;
        screen.click(x, y).await?;
        self.read_focus(&screen).await;
        Ok(())
    }

    pub async fn key(&self, key: &str) -> Result<(), InputError> {
        let screen = self.current_screen()?;
        screen.key(key).await?;
        self.read_focus(&screen).await;
        Ok(())
    }

    pub async fn text(&self, text: &str) -> Result<(), InputError> {
        let screen = self.current_screen()?;
        screen.text(text).await?;
        self.read_focus(&screen).await;
        Ok(())
    }

    pub async fn scroll(&self, x: f64, y: f64, dx: f64, dy: f64) -> Result<(), InputError> {
        Ok(self.current_screen()?.scroll(x, y, dx, dy).await?)
    }

    /// A viewer's display: the page is laid out for it while the person drives.
    pub fn set_display(&self, display: ViewerDisplay) -> Result<(), InputError> {
        if self.is_finished() {
            return Err(InputError::Ended);
        }
        self.display.send_if_modified(|d| {
            let changed = *d != Some(display);
            *d = Some(display);
            changed
        });
        Ok(())
    }

    pub fn displays(&self) -> watch::Receiver<Option<ViewerDisplay>> {
        self.display.subscribe()
    }

    pub fn screens(&self) -> watch::Receiver<Option<Screen>> {
        self.screen.subscribe()
    }

    pub fn statuses(&self) -> watch::Receiver<Status> {
        self.status.subscribe()
    }

    /// Tells the viewers what has the page's keyboard now, while the person drives: where
    /// their text will go. A page that cannot say keeps the previous answer.
    pub async fn read_focus(&self, screen: &Screen) {
        if !self.status.borrow().interactive {
            return;
        }
        match screen.focused().await {
            Ok(focused) => {
                self.focus.send_if_modified(|f| {
                    let changed = f.as_ref() != Some(&focused);
                    *f = Some(focused);
                    changed
                });
            }
            Err(e) => tracing::debug!(collect = %self.id, "focus not read: {e}"),
        }
    }

    /// Ends the collect with this error kind (CANCELLED when a credential is deleted,
    /// INTERRUPTED when the service stops).
    pub fn cancel(&self, kind: crate::codes::ErrorKind) {
        self.cancel.send_if_modified(|c| {
            let first = c.is_none();
            if first {
                *c = Some(kind);
            }
            first
        });
    }

    /// Resolves when [`Live::cancel`] is called, with its kind.
    pub async fn cancelled(&self) -> crate::codes::ErrorKind {
        let mut rx = self.cancel.subscribe();
        loop {
            if let Some(kind) = *rx.borrow_and_update() {
                return kind;
            }
            if rx.changed().await.is_err() {
                return std::future::pending().await;
            }
        }
    }

    /// Resolves once the collect is in its final state (its end is written by then).
    pub async fn finished(&self) {
        let mut status = self.status.subscribe();
        // The sender lives in `self`: `wait_for` cannot fail while we hold it.
        let _ = status.wait_for(|s| !s.state.in_progress()).await;
    }

    /// Attaches a viewer. The screencast runs while any viewer is attached.
    pub fn attach(self: &Arc<Self>) -> Viewer {
        self.viewers.send_modify(|n| *n += 1);
        Viewer {
            live: self.clone(),
            status: self.status.subscribe(),
            code_request: self.code_request.subscribe(),
            focus: self.focus.subscribe(),
            shots: self.shots.subscribe(),
        }
    }

    pub fn viewer_count(&self) -> usize {
        *self.viewers.borrow()
    }

    /// Whether the screencast runs now, and a way to wait for it to start or stop.
    pub fn casting(&self) -> watch::Receiver<bool> {
        self.casting.subscribe()
    }

    /// A frame for a viewer that just attached: the screencast's latest, or a fresh
    /// capture when the page is static (a static page sends no frames).
    pub async fn current_shot(&self) -> Option<Arc<LiveFrame>> {
        let kept = self
            .last_shot
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if kept.is_some() {
            return kept;
        }
        let screen = self.current_screen().ok()?;
        let frame = screen.capture_jpeg(SCREEN_QUALITY).await.ok()?;
        Some(self.number(frame))
    }

    /// Shows the viewers a fresh capture, if any watch: after the viewport changed, the
    /// screencast of a static page does not always send a frame of the new layout (measured:
    /// none within 5 s in about 1 change of 60), and the old frame's clicks would miss.
    pub async fn publish_capture(&self, screen: &Screen) {
        if self.viewer_count() == 0 {
            return;
        }
        match screen.capture_jpeg(SCREEN_QUALITY).await {
            Ok(frame) => self.publish(frame),
            Err(e) => tracing::debug!(collect = %self.id, "no capture after a resize: {e}"),
        }
    }

    fn number(&self, frame: Frame) -> Arc<LiveFrame> {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed) + 1;
        Arc::new(LiveFrame { seq, frame })
    }

    fn publish(&self, frame: Frame) {
        let shot = self.number(frame);
        *self.last_shot.lock().unwrap_or_else(|e| e.into_inner()) = Some(shot.clone());
        let _ = self.shots.send(shot);
    }

    fn forget_last_shot(&self) {
        *self.last_shot.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

/// One attached viewer; dropping it detaches.
pub struct Viewer {
    pub live: Arc<Live>,
    pub status: watch::Receiver<Status>,
    pub code_request: watch::Receiver<Option<CodeRequest>>,
    pub focus: watch::Receiver<Option<Focused>>,
    pub shots: broadcast::Receiver<Arc<LiveFrame>>,
}

impl Drop for Viewer {
    fn drop(&mut self) {
        self.live.viewers.send_modify(|n| *n = n.saturating_sub(1));
    }
}

/// Runs the screencast while the collect has a screen and at least one viewer, until the
/// collect ends. Spawned once per collect.
pub async fn screen_pump(live: Arc<Live>) {
    let mut viewers = live.viewers.subscribe();
    let mut screens = live.screen.subscribe();
    let mut status = live.status.subscribe();
    loop {
        if live.is_finished() {
            return;
        }
        let screen = screens.borrow_and_update().clone();
        let watched = *viewers.borrow_and_update() > 0;
        let Some(screen) = screen.filter(|_| watched) else {
            tokio::select! {
                r = viewers.changed() => if r.is_err() { return },
                r = screens.changed() => if r.is_err() { return },
                r = status.changed() => if r.is_err() { return },
            }
            continue;
        };
        let mut cast = match screen.start_screencast(SCREEN_QUALITY).await {
            Ok(c) => c,
            Err(e) => {
                tracing::debug!(collect = %live.id, "screencast did not start: {e}");
                // Wait for something to change rather than retrying in a loop.
                tokio::select! {
                    r = viewers.changed() => if r.is_err() { return },
                    r = screens.changed() => if r.is_err() { return },
                    r = status.changed() => if r.is_err() { return },
                }
                continue;
            }
        };
        live.casting.send_replace(true);
        let mut sizes = screen.viewport_changes();
        loop {
            tokio::select! {
                frame = cast.next_frame() => match frame {
                    Some(f) => live.publish(f),
                    None => break,
                },
                // A new viewport: a fresh screencast (the running one could stall after
                // the override, sending no frame of a static page's new layout).
                _ = sizes.changed() => break,
                r = viewers.changed() => if r.is_err() || *viewers.borrow() == 0 { break },
                r = screens.changed() => if r.is_err() || screens.borrow().is_none() { break },
                r = status.changed() => if r.is_err() || live.is_finished() { break },
            }
        }
        live.forget_last_shot();
        cast.stop().await;
        live.casting.send_replace(false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(label: &str) -> CodeRequest {
        CodeRequest {
            kind: CodeKind::Sms,
            label: Some(LocalizedText::single(None, label)),
            expires_at: 1,
        }
    }

    #[test]
    fn the_same_request_after_a_code_is_asked_again_and_nothing_else_is() {
        let (live, _links) = Live::new("k".into(), "c".into(), CollectMode::default(), "t".into());
        live.request_code(Some(request("Code")));
        assert!(!live.asked_again(), "a first request");
        live.give_code("123456").unwrap();
        live.request_code(Some(request("Code")));
        assert!(live.asked_again(), "the code was refused: asked again");
        // Asked once more without an answer in between (a viewer reconnecting, a repeat).
        live.request_code(Some(request("Code")));
        assert!(!live.asked_again());
        live.give_code("123456").unwrap();
        live.request_code(Some(request("Code received by email")));
        assert!(!live.asked_again(), "another code, not the same one again");
    }
}
