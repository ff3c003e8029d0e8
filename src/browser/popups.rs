//! Tabs the page opens (`window.open`, `target=_blank`, a form with a target): seen, capped,
//! and handed to the engine when a step follows one.
//!
//! chromiumoxide discovers every target (`Target.setDiscoverTargets`) and attaches to each
//! new page itself (`Target.attachToTarget`, flat sessions); nothing here pauses a new tab.
//! (An earlier attempt asked the browser to auto-attach and pause every new page,
//! `waitForDebuggerOnStart`: chromiumoxide then had two sessions on the popup and nobody
//! resumed the paused one, and the opener's click hung.) A popup thus starts loading before
//! gleaner sees it: what keeps it inside the connector's domains from its first request is
//! the browser-wide egress proxy; a followed popup gets its own `Fetch` guard as soon as it
//! becomes a `Tab`.
//!
//! The cap: at most [`DEFAULT_MAX_POPUPS`] tabs opened by the collect's tab (or by one of
//! its popups) are kept open at once; each one beyond is closed as soon as it is created,
//! and logged at info by its URL without the query. Chromium's popup blocker already lets
//! one popup through per user gesture; the cap bounds what many gestures open.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chromiumoxide::browser::BrowserHandle;
use chromiumoxide::cdp::browser_protocol::browser::BrowserContextId;
use chromiumoxide::cdp::browser_protocol::target::{
    ActivateTargetParams, CloseTargetParams, EventAttachedToTarget, EventTargetCreated,
    EventTargetDestroyed, TargetId,
};
use futures::StreamExt;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::cdp::cdp_error;
use super::crash::CrashedTargets;
use super::egress::EgressHandle;
use super::error::{BrowserError, without_query};

/// Tabs opened by the page kept open at once.
pub const DEFAULT_MAX_POPUPS: usize = 5;

/// What it takes to make a `Tab` of a target the page opened: the browser's connection
/// and what every tab of it shares.
pub(crate) struct TabKit {
    pub browser: BrowserHandle,
    pub alive: watch::Receiver<bool>,
    pub crashes: CrashedTargets,
    pub viewport: (u32, u32),
    pub egress: EgressHandle,
    /// Where the browser writes the files it downloads (inside the profile, 0700).
    pub download_dir: PathBuf,
    /// The tab's browser context (`None`: the default one).
    pub context: Option<BrowserContextId>,
    /// The launch's [`super::network_tap::NetworkTap`], for the popups' guards.
    pub network: super::network_tap::NetworkTap,
}

/// One tab the page opened and gleaner kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Popup {
    /// In order of arrival, from 1.
    pub seq: u64,
    pub target: TargetId,
    /// Its URL when it was created, without the query.
    pub url: String,
    /// chromiumoxide has a session on it: it can become a `Tab`.
    pub attached: bool,
}

#[derive(Debug, Default)]
struct Family {
    /// The collect's tab and every popup kept (a popup's popup counts too).
    openers: Vec<TargetId>,
    live: Vec<Popup>,
    next_seq: u64,
    /// Closed at birth, over the cap.
    closed: u64,
    /// The tab gleaner drives now: kept in front when the page opens another.
    driven: Option<TargetId>,
}

/// The tabs a tab's page opened, watched for as long as the tab lives.
pub struct Popups {
    kit: Arc<TabKit>,
    family: Arc<Mutex<Family>>,
    /// The kept popups, for whoever waits on one.
    kept: watch::Receiver<Vec<Popup>>,
    /// How many tabs the page opened and what became of them, for whoever waits on that.
    tally: watch::Receiver<Tally>,
    task: JoinHandle<()>,
}

/// The tabs a page opened so far: kept or closed at birth, and of those closed, how many
/// the browser has destroyed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub kept: u64,
    pub closed: u64,
    pub closed_gone: u64,
}

impl Drop for Popups {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Popups {
    /// Starts watching the tabs `opener` opens, keeping at most `cap` open at once.
    pub(crate) async fn watch(
        kit: Arc<TabKit>,
        opener: TargetId,
        cap: usize,
    ) -> Result<Popups, BrowserError> {
        let err = |e| cdp_error(e, &kit.alive);
        // Listen before anything can be opened, so that no creation is missed.
        let mut created = kit
            .browser
            .event_listener::<EventTargetCreated>()
            .await
            .map_err(err)?;
        let mut attached = kit
            .browser
            .event_listener::<EventAttachedToTarget>()
            .await
            .map_err(err)?;
        let mut destroyed = kit
            .browser
            .event_listener::<EventTargetDestroyed>()
            .await
            .map_err(err)?;
        let family = Arc::new(Mutex::new(Family {
            openers: vec![opener.clone()],
            driven: Some(opener),
            ..Family::default()
        }));
        let (tx, kept) = watch::channel(Vec::new());
        let (tally_tx, tally) = watch::channel(Tally::default());
        let mut closing: Vec<TargetId> = Vec::new();
        let browser = kit.browser.clone();
        let fam = family.clone();
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    Some(ev) = created.next() => {
                        let info = &ev.target_info;
                        if info.r#type != "page" {
                            continue;
                        }
                        let Some(by) = &info.opener_id else { continue };
                        let url = without_query(&info.url);
                        let close = {
                            let mut f = fam.lock().unwrap_or_else(|e| e.into_inner());
                            if !f.openers.contains(by) {
                                continue;
                            }
                            if f.live.len() >= cap {
                                f.closed += 1;
                                tally_tx.send_modify(|t| t.closed += 1);
                                closing.push(info.target_id.clone());
                                true
                            } else {
                                tally_tx.send_modify(|t| t.kept += 1);
                                f.next_seq += 1;
                                let seq = f.next_seq;
                                f.openers.push(info.target_id.clone());
                                f.live.push(Popup {
                                    seq,
                                    target: info.target_id.clone(),
                                    url: url.clone(),
                                    attached: false,
                                });
                                false
                            }
                        };
                        // A new tab comes to the front, and the one left behind is a
                        // background tab: Chromium then answers its input late (about 5 s
                        // a click). The tab gleaner drives stays in front.
                        let driven = fam.lock().unwrap_or_else(|e| e.into_inner()).driven.clone();
                        if let Some(driven) = driven {
                            let _ = browser.execute(ActivateTargetParams::new(driven)).await;
                        }
                        if close {
                            tracing::info!(
                                "the page opened more than {cap} tabs: closed the new one ({url})"
                            );
                            if let Err(e) = browser
                                .execute(CloseTargetParams::new(info.target_id.clone()))
                                .await
                            {
                                tracing::debug!("cannot close a tab the page opened: {e}");
                            }
                        }
                    }
                    Some(ev) = attached.next() => {
                        let mut f = fam.lock().unwrap_or_else(|e| e.into_inner());
                        let id = &ev.target_info.target_id;
                        if let Some(p) = f.live.iter_mut().find(|p| &p.target == id) {
                            p.attached = true;
                            let _ = tx.send(f.live.clone());
                        }
                    }
                    Some(ev) = destroyed.next() => {
                        if let Some(i) = closing.iter().position(|t| t == &ev.target_id) {
                            closing.swap_remove(i);
                            tally_tx.send_modify(|t| t.closed_gone += 1);
                        }
                        let mut f = fam.lock().unwrap_or_else(|e| e.into_inner());
                        let before = f.live.len();
                        f.live.retain(|p| p.target != ev.target_id);
                        // The collect's own tab stays the first opener.
                        let own = f.openers.first().cloned();
                        f.openers.retain(|t| t != &ev.target_id || Some(t) == own.as_ref());
                        if f.live.len() != before {
                            let _ = tx.send(f.live.clone());
                        }
                    }
                    else => break,
                }
            }
        });
        Ok(Popups {
            kit,
            family,
            kept,
            tally,
            task,
        })
    }

    /// The popups kept open now.
    pub fn live(&self) -> Vec<Popup> {
        self.family
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .live
            .clone()
    }

    /// Waits until the tally satisfies `done`, or `deadline`; the last tally either way.
    pub async fn wait_tally(&self, deadline: Instant, done: impl Fn(&Tally) -> bool) -> Tally {
        let mut tally = self.tally.clone();
        let reached = tokio::time::timeout_at(deadline, tally.wait_for(|t| done(t))).await;
        match reached {
            Ok(Ok(t)) => *t,
            _ => *self.tally.borrow(),
        }
    }

    /// How many tabs were closed at birth, over the cap.
    pub fn closed_over_cap(&self) -> u64 {
        self.family.lock().unwrap_or_else(|e| e.into_inner()).closed
    }

    /// The sequence number of the last popup kept so far: [`Popups::next_after`] waits for
    /// a later one.
    pub fn mark(&self) -> u64 {
        self.family
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .next_seq
    }

    /// The first popup kept after `mark` once chromiumoxide is attached to it, or `None`
    /// when none comes before `deadline`.
    pub async fn next_after(&self, mark: u64, deadline: Instant) -> Option<Popup> {
        let mut kept = self.kept.clone();
        let wait = kept.wait_for(|live| live.iter().any(|p| p.seq > mark && p.attached));
        let live = tokio::time::timeout_at(deadline, wait).await.ok()?.ok()?;
        live.iter().find(|p| p.seq > mark && p.attached).cloned()
    }

    /// The tab gleaner drives from now on: brought to the front, and kept there when the
    /// page opens another.
    pub async fn drive(&self, target: TargetId) -> Result<(), BrowserError> {
        self.family.lock().unwrap_or_else(|e| e.into_inner()).driven = Some(target.clone());
        self.kit
            .browser
            .execute(ActivateTargetParams::new(target))
            .await
            .map(drop)
            .map_err(|e| cdp_error(e, &self.kit.alive))
    }

    /// Closes a popup (when a step is done with it).
    pub async fn close(&self, popup: &Popup) -> Result<(), BrowserError> {
        self.kit
            .browser
            .execute(CloseTargetParams::new(popup.target.clone()))
            .await
            .map(drop)
            .map_err(|e| cdp_error(e, &self.kit.alive))
    }

    pub(crate) fn kit(&self) -> &TabKit {
        &self.kit
    }
}

/// How long a popup may take to open after the click that opens it, by default.
pub const DEFAULT_POPUP_TIMEOUT: Duration = Duration::from_secs(10);
