//! The live screen of a tab and a person's input on it: a JPEG screencast, a fresh capture
//! for a viewer that joins a static page, and clicks, keys and text sent as real input events.
//!
//! A [`Screen`] is a cheap handle (the page is shared), so viewers can watch and drive the
//! page while the engine keeps using its [`Tab`](super::Tab).
//!
//! While a person drives the page, the viewport can follow their display
//! ([`Screen::fit`]): the site lays itself out for the space the person has, at their pixel
//! density, instead of a 1280×720 desktop page shrunk into a phone (Browserless's resizable
//! live view does the same). Frames and clicks follow the viewport in force.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use chromiumoxide::Page;
use chromiumoxide::cdp::browser_protocol::emulation::{
    SetDeviceMetricsOverrideParams, SetTouchEmulationEnabledParams,
};
use chromiumoxide::cdp::browser_protocol::page::{
    CaptureScreenshotFormat, CaptureScreenshotParams, EventScreencastFrame,
    ScreencastFrameAckParams, StartScreencastFormat, StartScreencastParams, StopScreencastParams,
};
use chromiumoxide::cdp::js_protocol::runtime::EvaluateParams;
use futures::StreamExt;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::cdp::cdp_error;
use super::error::BrowserError;
use super::focus::{self, Focused};
use super::input::{click_at, insert_text, press_key, wheel_at};

/// Frames a slow consumer has not taken yet; newer frames are dropped while it is full.
const FRAME_BUFFER: usize = 2;

/// The longest a fit waits for the page to draw its new layout.
const LAYOUT_WAIT: Duration = Duration::from_secs(2);

/// The longest scroll one message may ask for, in CSS pixels.
const MAX_SCROLL: f64 = 10_000.0;

/// The largest side of a screencast image, in device pixels: a 2× phone (720×1480) fits, a
/// 4K monitor is scaled down rather than sent whole at 60 frames a second.
const MAX_FRAME_SIDE: u32 = 1920;

/// The display a viewer looks through: the room the live screen has on it (CSS pixels) and
/// its pixel density. Made only by [`ViewerDisplay::new`], which keeps it within bounds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ViewerDisplay {
    width: u32,
    height: u32,
    scale: f64,
    touch: bool,
}

/// Why a viewer's display cannot be emulated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "a display is {min}..={max} CSS pixels on each side and a pixel ratio of 0.5..=4 (got {width}x{height} at {scale})",
    min = ViewerDisplay::MIN_SIDE,
    max = ViewerDisplay::MAX_SIDE
)]
pub struct BadDisplay {
    width: u32,
    height: u32,
    scale: f64,
}

impl ViewerDisplay {
    /// Below this, sites break (320 is the narrowest phone layout the web designs for).
    pub const MIN_SIDE: u32 = 320;
    pub const MAX_SIDE: u32 = 2560;
    /// Denser displays get 2× frames: sharp enough, and a quarter of a 4× frame's bytes.
    pub const MAX_SCALE: f64 = 2.0;

    /// A display of `width`×`height` CSS pixels at `scale` device pixels per CSS pixel,
    /// `touch` when its main pointer is a finger. Sides below [`Self::MIN_SIDE`] are raised
    /// to it (a small live screen shows the page slightly shrunk, never a broken layout).
    pub fn new(width: u32, height: u32, scale: f64, touch: bool) -> Result<Self, BadDisplay> {
        let bad = || BadDisplay {
            width,
            height,
            scale,
        };
        let side_ok = |v: u32| (1..=Self::MAX_SIDE).contains(&v);
        if !side_ok(width)
            || !side_ok(height)
            || !scale.is_finite()
            || !(0.5..=4.0).contains(&scale)
        {
            return Err(bad());
        }
        Ok(ViewerDisplay {
            width: width.max(Self::MIN_SIDE),
            height: height.max(Self::MIN_SIDE),
            scale: scale.min(Self::MAX_SCALE),
            touch,
        })
    }

    /// The viewport it asks for, in CSS pixels.
    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    pub fn scale(&self) -> f64 {
        self.scale
    }

    pub fn touch(&self) -> bool {
        self.touch
    }
}

/// The longest `stop` waits for `Page.stopScreencast`.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// One image of the viewport, as Chromium encoded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The JPEG, base64 encoded as CDP sent it (no re-encoding).
    pub jpeg_base64: String,
    pub width: u32,
    pub height: u32,
}

impl Frame {
    /// A frame of what Chromium sent, sized by the JPEG's own header: while a new renderer
    /// takes the viewport override, a frame can still come at the window's natural size.
    fn from_jpeg_base64(jpeg_base64: String) -> Option<Frame> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(jpeg_base64.as_bytes())
            .ok()?;
        let (width, height) =
            image::ImageReader::with_format(std::io::Cursor::new(bytes), image::ImageFormat::Jpeg)
                .into_dimensions()
                .ok()?;
        Some(Frame {
            jpeg_base64,
            width,
            height,
        })
    }

    /// The JPEG bytes.
    pub fn jpeg_bytes(&self) -> Result<Vec<u8>, BrowserError> {
        base64::engine::general_purpose::STANDARD
            .decode(self.jpeg_base64.as_bytes())
            .map_err(|e| BrowserError::Cdp(format!("frame is not base64: {e}")))
    }
}

/// Whether an image shows a viewport of this size: same shape, whatever its pixel density
/// (a 2× frame of 360×740 is 720×1480). A frame of the previous viewport, still on its way
/// while a new size takes effect, would map clicks to the wrong places.
fn shows_viewport((w, h): (u32, u32), (vw, vh): (u32, u32)) -> bool {
    if w == 0 || h == 0 || vw == 0 || vh == 0 {
        return false;
    }
    let image = f64::from(w) / f64::from(h);
    let viewport = f64::from(vw) / f64::from(vh);
    (image / viewport - 1.0).abs() < 0.01
}

/// The viewport of a tab's page, shared by the tab and its screens: the connector's, or a
/// viewer's display while the person drives the page.
pub(crate) struct View {
    /// The connector's viewport.
    base: (u32, u32),
    /// The viewport in force, CSS pixels.
    size: watch::Sender<(u32, u32)>,
    /// Whether the person drives the page: only then is a viewer's display followed. Held
    /// across the CDP calls, so that a viewer's fit never lands after the engine took the
    /// page back.
    lent: tokio::sync::Mutex<bool>,
}

impl View {
    pub(crate) fn new(base: (u32, u32)) -> Arc<View> {
        Arc::new(View {
            base,
            size: watch::Sender::new(base),
            lent: tokio::sync::Mutex::new(false),
        })
    }

    pub(crate) fn size(&self) -> (u32, u32) {
        *self.size.borrow()
    }

    /// Lends the page to the person (`true`), or takes it back: then the connector's
    /// viewport is restored before this returns, so the engine's next step sees the layout
    /// it was written for.
    pub(crate) async fn lend(
        &self,
        page: &Page,
        alive: &watch::Receiver<bool>,
        to_person: bool,
    ) -> Result<(), BrowserError> {
        let mut lent = self.lent.lock().await;
        *lent = to_person;
        if !to_person && self.size() != self.base {
            self.apply(page, alive, None).await?;
        }
        Ok(())
    }

    async fn apply(
        &self,
        page: &Page,
        alive: &watch::Receiver<bool>,
        display: Option<ViewerDisplay>,
    ) -> Result<(), BrowserError> {
        let (size, scale, touch) = match display {
            Some(d) => (d.size(), d.scale(), d.touch()),
            None => (self.base, 1.0, false),
        };
        let touch = SetTouchEmulationEnabledParams {
            enabled: touch,
            max_touch_points: touch.then_some(5),
        };
        page.execute(touch).await.map_err(|e| cdp_error(e, alive))?;
        // Not `mobile`: that would lay pages without a viewport tag out at 980 pixels and
        // shrink them, which is what following the display is here to avoid.
        let metrics =
            SetDeviceMetricsOverrideParams::new(i64::from(size.0), i64::from(size.1), scale, false);
        page.execute(metrics)
            .await
            .map_err(|e| cdp_error(e, alive))?;
        // The compositor sends frames of the new size before the page has laid itself out
        // for it (the old layout, cropped): a viewer clicking on one misses (seen under
        // load). Frames count as the new size's only once the page has drawn its layout;
        // the screencast restarts then, and the follower shows a fresh capture.
        wait_laid_out(page, size).await;
        self.size.send_replace(size);
        Ok(())
    }
}

/// Waits (at most [`LAYOUT_WAIT`]) until the page has drawn a frame laid out for a
/// `w`×`h` viewport. A page that cannot say (busy, navigating) is not waited for longer.
async fn wait_laid_out(page: &Page, (w, h): (u32, u32)) {
    let script = format!(
        "new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => \
         r(innerWidth === {w} && innerHeight === {h}))))"
    );
    let deadline = tokio::time::Instant::now() + LAYOUT_WAIT;
    loop {
        let params = match EvaluateParams::builder()
            .expression(script.as_str())
            .await_promise(true)
            .return_by_value(true)
            .build()
        {
            Ok(p) => p,
            Err(_) => return,
        };
        let drawn = tokio::time::timeout_at(deadline, page.evaluate_expression(params)).await;
        match drawn {
            Ok(Ok(r)) if r.value() == Some(&serde_json::Value::Bool(true)) => return,
            Ok(Ok(_)) if tokio::time::Instant::now() < deadline => continue,
            _ => {
                tracing::debug!("the page did not show its {w}x{h} layout in time");
                return;
            }
        }
    }
}

/// A handle on a tab's page for viewers: watch it, click and type on it.
#[derive(Clone)]
pub struct Screen {
    page: Page,
    alive: watch::Receiver<bool>,
    view: Arc<View>,
}

impl Screen {
    pub(crate) fn new(page: Page, alive: watch::Receiver<bool>, view: Arc<View>) -> Screen {
        Screen { page, alive, view }
    }

    fn err(&self, e: chromiumoxide::error::CdpError) -> BrowserError {
        cdp_error(e, &self.alive)
    }

    /// The viewport in force, in CSS pixels: what click fractions are fractions of.
    pub fn viewport(&self) -> (u32, u32) {
        self.view.size()
    }

    /// Changes of the viewport in force.
    pub fn viewport_changes(&self) -> watch::Receiver<(u32, u32)> {
        self.view.size.subscribe()
    }

    /// Lays the page out for a viewer's display (`Emulation.setDeviceMetricsOverride`, and
    /// touch emulation for a touch display), or back for the connector's viewport with
    /// `None`. Only while the person drives the page (an `interactive` step): otherwise
    /// nothing changes and this returns `false`.
    pub async fn fit(&self, display: Option<ViewerDisplay>) -> Result<bool, BrowserError> {
        let lent = self.view.lent.lock().await;
        if !*lent {
            return Ok(false);
        }
        self.view.apply(&self.page, &self.alive, display).await?;
        Ok(true)
    }

    /// The element the page's keyboard input goes to now, where it shows, and whether it
    /// takes text.
    pub async fn focused(&self) -> Result<Focused, BrowserError> {
        focus::focused(&self.page, &self.alive, self.viewport()).await
    }

    /// Starts a JPEG screencast of the viewport. Every frame is acknowledged as it arrives
    /// (Chromium stops sending otherwise); frames the consumer is too slow to take are
    /// dropped, never queued. A page that does not change sends no frames: use
    /// [`Screen::capture_jpeg`] for a first image.
    ///
    /// One screencast per page at a time: CDP has a single screencast per target, so
    /// viewers share one.
    pub async fn start_screencast(&self, quality: u8) -> Result<Screencast, BrowserError> {
        // Listen before starting, so the first frame is not missed.
        let mut events = self
            .page
            .event_listener::<EventScreencastFrame>()
            .await
            .map_err(|e| self.err(e))?;
        let params = StartScreencastParams::builder()
            .format(StartScreencastFormat::Jpeg)
            .quality(i64::from(quality.min(100)))
            .max_width(i64::from(MAX_FRAME_SIDE))
            .max_height(i64::from(MAX_FRAME_SIDE))
            .every_nth_frame(1)
            .build();
        self.page.execute(params).await.map_err(|e| self.err(e))?;

        let (tx, rx) = mpsc::channel(FRAME_BUFFER);
        let viewport = self.view.size.subscribe();
        let page = self.page.clone();
        let mut alive = self.alive.clone();
        let task = tokio::spawn(async move {
            loop {
                let event = tokio::select! {
                    event = events.next() => match event {
                        Some(event) => event,
                        None => break,
                    },
                    // The browser is gone (or its handler was dropped).
                    _ = alive.wait_for(|a| !*a) => break,
                };
                let session_id = event.session_id;
                let data = match Arc::try_unwrap(event) {
                    Ok(ev) => String::from(ev.data),
                    Err(ev) => String::from(ev.data.clone()),
                };
                // Viewers map clicks to fractions of the viewport: a frame of another size
                // (the window's, before the override applies) would mislead them.
                let now = *viewport.borrow();
                let closed = match Frame::from_jpeg_base64(data) {
                    Some(frame) if shows_viewport((frame.width, frame.height), now) => {
                        match tx.try_send(frame) {
                            Ok(()) | Err(mpsc::error::TrySendError::Full(_)) => false,
                            Err(mpsc::error::TrySendError::Closed(_)) => true,
                        }
                    }
                    Some(frame) => {
                        tracing::debug!(
                            "screencast frame of {}x{} skipped (the viewport is {}x{})",
                            frame.width,
                            frame.height,
                            now.0,
                            now.1
                        );
                        tx.is_closed()
                    }
                    None => {
                        tracing::debug!("screencast frame skipped: not a JPEG");
                        tx.is_closed()
                    }
                };
                if let Err(e) = page
                    .execute(ScreencastFrameAckParams::new(session_id))
                    .await
                {
                    if !*alive.borrow() {
                        break;
                    }
                    tracing::debug!("screencast frame ack failed: {e}");
                }
                if closed {
                    break;
                }
            }
        });
        Ok(Screencast {
            frames: rx,
            task,
            page: self.page.clone(),
            alive: self.alive.clone(),
            stopped: false,
        })
    }

    /// A fresh image of the viewport (`Page.captureScreenshot`, JPEG).
    pub async fn capture_jpeg(&self, quality: u8) -> Result<Frame, BrowserError> {
        let params = CaptureScreenshotParams::builder()
            .format(CaptureScreenshotFormat::Jpeg)
            .quality(i64::from(quality.min(100)))
            .build();
        let data = self
            .page
            .execute(params)
            .await
            .map_err(|e| self.err(e))?
            .result
            .data;
        let frame = Frame::from_jpeg_base64(data.into())
            .ok_or_else(|| BrowserError::Cdp("the screenshot is not a JPEG".into()))?;
        let viewport = self.viewport();
        if !shows_viewport((frame.width, frame.height), viewport) {
            return Err(BrowserError::Cdp(format!(
                "the screenshot is {}x{}, not of the viewport's {}x{}",
                frame.width, frame.height, viewport.0, viewport.1
            )));
        }
        Ok(frame)
    }

    /// A left click at fractions (0..=1) of the viewport image: mouse moved, pressed, released.
    pub async fn click(&self, fx: f64, fy: f64) -> Result<(), BrowserError> {
        let inside = |f: f64| f.is_finite() && (0.0..=1.0).contains(&f);
        if !inside(fx) || !inside(fy) {
            return Err(BrowserError::Cdp(format!(
                "click at ({fx}, {fy}): the fractions of the screen must be within 0..1"
            )));
        }
        let (w, h) = self.viewport();
        click_at(
            &self.page,
            &self.alive,
            fx * f64::from(w),
            fy * f64::from(h),
        )
        .await
    }

    /// Scrolls the page under a point (fractions of the viewport image) by CSS pixels, as
    /// a wheel or a swipe would; a swipe is at most a few screens long.
    pub async fn scroll(&self, fx: f64, fy: f64, dx: f64, dy: f64) -> Result<(), BrowserError> {
        let inside = |f: f64| f.is_finite() && (0.0..=1.0).contains(&f);
        let sane = |d: f64| d.is_finite() && d.abs() <= MAX_SCROLL;
        if !inside(fx) || !inside(fy) || !sane(dx) || !sane(dy) {
            return Err(BrowserError::Cdp(format!(
                "scroll at ({fx}, {fy}) by ({dx}, {dy}): the point is in fractions 0..1 of the screen, the distance at most {MAX_SCROLL} pixels"
            )));
        }
        let (w, h) = self.viewport();
        wheel_at(
            &self.page,
            &self.alive,
            (fx * f64::from(w), fy * f64::from(h)),
            (dx, dy),
        )
        .await
    }

    /// Presses and releases a key, by DOM key name (`Enter`, `Backspace`, `a`, `ArrowDown`...).
    pub async fn key(&self, key: &str) -> Result<(), BrowserError> {
        press_key(&self.page, &self.alive, key).await
    }

    /// Types text into the focused element (`Input.insertText`).
    pub async fn text(&self, text: &str) -> Result<(), BrowserError> {
        insert_text(&self.page, &self.alive, text).await
    }
}

/// A running screencast. Dropping it stops the screencast too (without waiting).
pub struct Screencast {
    frames: mpsc::Receiver<Frame>,
    task: JoinHandle<()>,
    page: Page,
    alive: watch::Receiver<bool>,
    stopped: bool,
}

impl Screencast {
    /// The next frame; `None` once the page or the browser is gone.
    pub async fn next_frame(&mut self) -> Option<Frame> {
        self.frames.recv().await
    }

    /// Stops the screencast (`Page.stopScreencast`) and its task.
    pub async fn stop(mut self) {
        self.stopped = true;
        self.task.abort();
        if *self.alive.borrow() {
            match tokio::time::timeout(STOP_TIMEOUT, self.page.execute(StopScreencastParams {}))
                .await
            {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::debug!("Page.stopScreencast: {e}"),
                Err(_) => tracing::debug!("Page.stopScreencast did not answer in time"),
            }
        }
    }
}

impl Drop for Screencast {
    fn drop(&mut self) {
        self.task.abort();
        if !self.stopped
            && *self.alive.borrow()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let page = self.page.clone();
            runtime.spawn(async move {
                let _ =
                    tokio::time::timeout(STOP_TIMEOUT, page.execute(StopScreencastParams {})).await;
            });
        }
    }
}
