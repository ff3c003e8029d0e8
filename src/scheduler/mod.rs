//! Scheduled background collects: each credential can have a schedule (an interval with
//! jitter, see [`crate::store::Schedule`]); the [`Scheduler`] starts the due ones as
//! background collects and persists when each runs next.
//!
//! The loop: start every due schedule's collect (a collect already in progress is attached
//! to, not doubled), set `next_collect_at = now + every + random(0..=jitter)`, then wait
//! until the next due time, a change of the schedules ([`Wakeup::poke`], called by the
//! API), or the shutdown.
//!
//! - Credentials in state -2 (a person must act) are left out until a person collects
//!   interactively or updates the credential; the loop looks again at least every
//!   [`Scheduler::with_recheck`] (60 s by default) to notice it.
//! - The cap on collects running at once is the [`Collector`]'s: more due collects than
//!   slots wait in state 1, in its queue, and none is refused.
//!
//! Two seams keep the loop testable without browsers or sleeps: [`Starter`] (how a collect
//! starts; the real one is `Arc<Collector>`) and [`Clock`] (what time it is and how to wait
//! for one; see [`clock`]).

pub mod clock;

#[cfg(test)]
mod tests;

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng;
use tokio::sync::{Notify, oneshot};
use tokio::task::JoinHandle;

pub use clock::{Clock, ManualClock, SystemClock, TokioClock};

use crate::collect::{CollectMode, Collector};
use crate::store::{Schedule, Store, StoreError};

/// Why a collect could not start.
pub type StartError = Box<dyn std::error::Error + Send + Sync>;

/// Starts a credential's background collect.
pub trait Starter: Send + Sync + 'static {
    /// Starts a background collect of the credential, or attaches to the one in progress.
    /// Returns whether a new collect was started.
    fn start(&self, credential_id: &str) -> impl Future<Output = Result<bool, StartError>> + Send;
}

impl Starter for Arc<Collector> {
    async fn start(&self, credential_id: &str) -> Result<bool, StartError> {
        let mode = CollectMode {
            background: true,
            verify: false,
        };
        let (_, started) = self.start_or_attach(credential_id, mode).await?;
        Ok(started)
    }
}

/// Wakes the scheduler when schedules change, so that it looks again at what is due
/// (a new schedule due now runs at once). A poke while it is busy is kept for later.
#[derive(Debug, Clone, Default)]
pub struct Wakeup(Arc<Notify>);

impl Wakeup {
    pub fn poke(&self) {
        self.0.notify_one();
    }

    async fn poked(&self) {
        self.0.notified().await;
    }
}

/// How many due schedules one query reads.
const BATCH: i64 = 64;

pub struct Scheduler<S, C> {
    store: Store,
    starter: S,
    clock: C,
    wakeup: Wakeup,
    recheck: Duration,
}

impl<S: Starter, C: Clock> Scheduler<S, C> {
    pub fn new(store: Store, starter: S, clock: C) -> Scheduler<S, C> {
        Scheduler {
            store,
            starter,
            clock,
            wakeup: Wakeup::default(),
            recheck: Duration::from_secs(60),
        }
    }

    /// The longest the loop waits without looking at the schedules (a credential leaving
    /// state -2 changes no schedule, so nothing pokes the loop then).
    pub fn with_recheck(mut self, recheck: Duration) -> Self {
        self.recheck = recheck;
        self
    }

    /// Uses this wakeup (shared with the API) instead of its own.
    pub fn with_wakeup(mut self, wakeup: Wakeup) -> Self {
        self.wakeup = wakeup;
        self
    }

    /// What pokes this scheduler.
    pub fn wakeup(&self) -> Wakeup {
        self.wakeup.clone()
    }

    /// Runs until `shutdown` resolves. A pass that has begun finishes first, so that no
    /// collect is left half-started.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            let wake_at = match self.run_due().await {
                Ok(at) => at,
                Err(e) => {
                    tracing::warn!("scheduler: {e}");
                    None
                }
            };
            let recheck = i64::try_from(self.recheck.as_millis()).unwrap_or(i64::MAX);
            let latest = self.clock.now_ms().saturating_add(recheck);
            let wake_at = wake_at.map_or(latest, |at| at.min(latest));
            tokio::select! {
                biased;
                () = &mut shutdown => return,
                () = self.wakeup.poked() => {}
                () = self.clock.sleep_until(wake_at) => {}
            }
        }
    }

    /// Starts the collects of every schedule due now and moves each schedule forward.
    /// Returns when the next one is due (None: no schedule can run).
    pub async fn run_due(&self) -> Result<Option<i64>, StoreError> {
        let now = self.clock.now_ms();
        loop {
            let due = self.store.due_schedules(now, BATCH).await?;
            for schedule in &due {
                self.start(schedule, now).await?;
            }
            if (due.len() as i64) < BATCH {
                break;
            }
        }
        self.store.next_due_at().await
    }

    async fn start(&self, schedule: &Schedule, now: i64) -> Result<(), StoreError> {
        let id = &schedule.credential_id;
        match self.starter.start(id).await {
            Ok(true) => tracing::info!(credential = %id, "scheduled background collect started"),
            Ok(false) => tracing::info!(credential = %id, "scheduled collect: one is in progress"),
            // Moved forward all the same: a failing start is not retried in a loop.
            Err(e) => tracing::warn!(credential = %id, "scheduled collect did not start: {e}"),
        }
        let next = next_collect_at(schedule, now, &mut rand::rng());
        self.store.mark_started(id, now, next).await?;
        Ok(())
    }
}

impl<S: Starter, C: Clock> Scheduler<S, C>
where
    Self: Send + 'static,
{
    /// Runs the loop on its own task until [`RunningScheduler::stop`].
    pub fn spawn(self) -> RunningScheduler {
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(self.run(async move {
            // Resolves on a stop, or when the sender is dropped.
            let _ = stopped.await;
        }));
        RunningScheduler {
            stop: Mutex::new(Some(stop)),
            task: tokio::sync::Mutex::new(Some(task)),
        }
    }
}

/// `now + every + random(0..=jitter)`; at least 1 ms later than `now`, so that a schedule
/// is never due twice at the same instant.
pub fn next_collect_at(schedule: &Schedule, now: i64, rng: &mut impl Rng) -> i64 {
    let jitter = if schedule.jitter_ms > 0 {
        rng.random_range(0..=schedule.jitter_ms)
    } else {
        0
    };
    now.saturating_add(schedule.every_ms.max(1))
        .saturating_add(jitter)
}

/// A scheduler running on its own task.
pub struct RunningScheduler {
    stop: Mutex<Option<oneshot::Sender<()>>>,
    task: tokio::sync::Mutex<Option<JoinHandle<()>>>,
}

impl RunningScheduler {
    /// Stops the loop and waits for it to end (a pass in progress finishes first). Later
    /// calls return at once.
    pub async fn stop(&self) {
        drop(self.stop.lock().unwrap_or_else(|e| e.into_inner()).take());
        if let Some(task) = self.task.lock().await.take()
            && let Err(e) = task.await
        {
            tracing::warn!("the scheduler ended badly: {e}");
        }
    }
}
