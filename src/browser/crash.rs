//! How a tab stopped working: its renderer crashed or was killed, ran out of memory, stopped
//! answering, or the whole browser is gone. The browser's `Target.targetCrashed` events are
//! gathered once per browser; each tab watches for its own target's, and probes its own
//! renderer's main thread ([`watch_responsive`]).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chromiumoxide::Page;
use chromiumoxide::cdp::browser_protocol::target::EventTargetCrashed;
use chromiumoxide::cdp::js_protocol::runtime::EvaluateParams;
use futures::StreamExt;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How often a tab's renderer is asked for `1`.
const PROBE_EVERY: Duration = Duration::from_secs(1);
/// How long its main thread may stay busy before the tab counts as unresponsive. A page
/// may legitimately compute for a few seconds; Chromium's own hang monitor waits 15 s.
pub const UNRESPONSIVE_AFTER: Duration = Duration::from_secs(10);

/// Why a tab can no longer be driven.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crash {
    /// The tab's renderer process crashed or was killed.
    Renderer,
    /// The tab's renderer ran out of memory.
    OutOfMemory,
    /// The tab's renderer stopped answering: its main thread is stuck (a script that never
    /// yields).
    Unresponsive,
    /// The browser process is gone.
    Browser,
}

impl Crash {
    /// From `Target.targetCrashed`'s termination status (`crashed`, `killed`, `oom`…).
    fn from_status(status: &str) -> Crash {
        match status {
            "oom" => Crash::OutOfMemory,
            _ => Crash::Renderer,
        }
    }

    /// The detail of the `BROWSER_CRASHED` code: `BROWSER_CRASHED.RENDERER`.
    pub fn detail(self) -> &'static str {
        match self {
            Crash::Renderer => "RENDERER",
            Crash::OutOfMemory => "OUT_OF_MEMORY",
            Crash::Unresponsive => "UNRESPONSIVE",
            Crash::Browser => "BROWSER",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Crash::Renderer => "the page's renderer process crashed or was killed",
            Crash::OutOfMemory => "the page's renderer process ran out of memory",
            Crash::Unresponsive => {
                "the page stopped responding: a script kept its renderer busy for 10 s"
            }
            Crash::Browser => "the browser crashed or closed during the collect",
        }
    }
}

/// Crashed targets by target id, for every tab of one browser: written by the browser's
/// crash watcher and by each tab's probe, read by the tabs.
pub(crate) type CrashedTargets = Arc<watch::Sender<HashMap<String, Crash>>>;

/// Gathers the browser's `Target.targetCrashed` events until the browser closes.
pub(crate) async fn watch_targets(
    browser: &chromiumoxide::Browser,
    out_of_memory: super::memory::OutOfMemory,
) -> Result<(CrashedTargets, JoinHandle<()>), chromiumoxide::error::CdpError> {
    let mut events = browser.event_listener::<EventTargetCrashed>().await?;
    let crashes: CrashedTargets = Arc::new(watch::Sender::new(HashMap::new()));
    let tx = crashes.clone();
    let task = tokio::spawn(async move {
        while let Some(ev) = events.next().await {
            let mut crash = Crash::from_status(&ev.status);
            // Killed for the browser's memory cap, or past V8's heap limit.
            if crash == Crash::Renderer && out_of_memory.explains(&ev.status).await {
                crash = Crash::OutOfMemory;
            }
            tracing::warn!(
                "a renderer of the browser ended ({}, error code {})",
                ev.status,
                ev.error_code
            );
            tx.send_modify(|m| {
                m.insert(ev.target_id.inner().clone(), crash);
            });
        }
    });
    Ok((crashes, task))
}

/// Asks the tab's renderer for `1` every [`PROBE_EVERY`]; one that does not answer within
/// [`UNRESPONSIVE_AFTER`] marks the target [`Crash::Unresponsive`]. A crash or the
/// browser's end, seen elsewhere, ends the probe.
pub(crate) fn watch_responsive(
    page: Page,
    target: String,
    crashes: CrashedTargets,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(PROBE_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            if crashes.borrow().contains_key(&target) {
                return;
            }
            let Ok(probe) = EvaluateParams::builder()
                .expression("1")
                .return_by_value(true)
                .build()
            else {
                return;
            };
            match tokio::time::timeout(UNRESPONSIVE_AFTER, page.execute(probe)).await {
                Ok(Ok(_)) => {}
                // A navigation swaps the context away, or the browser is going: not a hang.
                Ok(Err(_)) => {}
                Err(_) => {
                    tracing::warn!(
                        "the page's renderer has not answered for {UNRESPONSIVE_AFTER:?}"
                    );
                    crashes.send_modify(|m| {
                        m.entry(target.clone()).or_insert(Crash::Unresponsive);
                    });
                    return;
                }
            }
        }
    })
}

/// Waits until `target`'s renderer crashes or the browser is gone.
pub(crate) async fn crashed(
    target: &str,
    targets: &CrashedTargets,
    mut alive: watch::Receiver<bool>,
) -> Crash {
    let mut targets = targets.subscribe();
    let renderer = async {
        let seen = targets
            .wait_for(|m| m.contains_key(target))
            .await
            .map(|m| m.get(target).copied().unwrap_or(Crash::Renderer));
        match seen {
            Ok(crash) => crash,
            // The watcher ended with the browser: wait for the browser's end instead.
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        crash = renderer => crash,
        _ = alive.wait_for(|a| !*a) => Crash::Browser,
    }
}

/// What `crashed` would return now, without waiting.
pub(crate) fn crash_now(
    target: &str,
    targets: &CrashedTargets,
    alive: &watch::Receiver<bool>,
) -> Option<Crash> {
    if !*alive.borrow() {
        return Some(Crash::Browser);
    }
    targets.borrow().get(target).copied()
}
