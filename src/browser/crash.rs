//! How a tab stopped working: its renderer crashed or was killed, ran out of memory, or the
//! whole browser is gone. The browser's `Target.targetCrashed` events are gathered once per
//! browser; each tab watches for its own target's.

use std::collections::HashMap;

use chromiumoxide::cdp::browser_protocol::target::EventTargetCrashed;
use futures::StreamExt;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Why a tab can no longer be driven.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crash {
    /// The tab's renderer process crashed or was killed.
    Renderer,
    /// The tab's renderer ran out of memory.
    OutOfMemory,
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
            Crash::Browser => "BROWSER",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Crash::Renderer => "the page's renderer process crashed or was killed",
            Crash::OutOfMemory => "the page's renderer process ran out of memory",
            Crash::Browser => "the browser crashed or closed during the collect",
        }
    }
}

/// Crashed targets by target id, for every tab of one browser.
pub(crate) type CrashedTargets = watch::Receiver<HashMap<String, Crash>>;

/// Gathers the browser's `Target.targetCrashed` events until the browser closes.
pub(crate) async fn watch_targets(
    browser: &chromiumoxide::Browser,
    out_of_memory: super::memory::OutOfMemory,
) -> Result<(CrashedTargets, JoinHandle<()>), chromiumoxide::error::CdpError> {
    let mut events = browser.event_listener::<EventTargetCrashed>().await?;
    let (tx, rx) = watch::channel(HashMap::new());
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
    Ok((rx, task))
}

/// Waits until `target`'s renderer crashes or the browser is gone.
pub(crate) async fn crashed(
    target: &str,
    mut targets: CrashedTargets,
    mut alive: watch::Receiver<bool>,
) -> Crash {
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
