//! The live screen of a tab and a person's input on it: a JPEG screencast, a fresh capture
//! for a viewer that joins a static page, and clicks, keys and text sent as real input events.
//!
//! A [`Screen`] is a cheap handle (the page is shared), so viewers can watch and drive the
//! page while the engine keeps using its [`Tab`](super::Tab).

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use chromiumoxide::Page;
use chromiumoxide::cdp::browser_protocol::page::{
    CaptureScreenshotFormat, CaptureScreenshotParams, EventScreencastFrame,
    ScreencastFrameAckParams, StartScreencastFormat, StartScreencastParams, StopScreencastParams,
};
use futures::StreamExt;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::cdp::cdp_error;
use super::error::BrowserError;
use super::input::{click_at, insert_text, press_key};

/// Frames a slow consumer has not taken yet; newer frames are dropped while it is full.
const FRAME_BUFFER: usize = 2;

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

/// A handle on a tab's page for viewers: watch it, click and type on it.
#[derive(Clone)]
pub struct Screen {
    page: Page,
    alive: watch::Receiver<bool>,
    viewport: (u32, u32),
}

impl Screen {
    pub(crate) fn new(page: Page, alive: watch::Receiver<bool>, viewport: (u32, u32)) -> Screen {
        Screen {
            page,
            alive,
            viewport,
        }
    }

    fn err(&self, e: chromiumoxide::error::CdpError) -> BrowserError {
        cdp_error(e, &self.alive)
    }

    /// The viewport size in CSS pixels: the size of the images, and what click fractions
    /// are fractions of.
    pub fn viewport(&self) -> (u32, u32) {
        self.viewport
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
        let (w, h) = self.viewport;
        let params = StartScreencastParams::builder()
            .format(StartScreencastFormat::Jpeg)
            .quality(i64::from(quality.min(100)))
            .max_width(i64::from(w))
            .max_height(i64::from(h))
            .every_nth_frame(1)
            .build();
        self.page.execute(params).await.map_err(|e| self.err(e))?;

        let (tx, rx) = mpsc::channel(FRAME_BUFFER);
        let viewport = self.viewport;
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
                let closed = match Frame::from_jpeg_base64(data) {
                    Some(frame) if (frame.width, frame.height) == viewport => {
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
                            viewport.0,
                            viewport.1
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
        if (frame.width, frame.height) != self.viewport {
            return Err(BrowserError::Cdp(format!(
                "the screenshot is {}x{}, not the viewport's {}x{}",
                frame.width, frame.height, self.viewport.0, self.viewport.1
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
        let (w, h) = self.viewport;
        click_at(
            &self.page,
            &self.alive,
            fx * f64::from(w),
            fy * f64::from(h),
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
