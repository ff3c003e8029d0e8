//! Time as the scheduler sees it: unix milliseconds, and a way to wait for one.
//!
//! - [`SystemClock`]: the wall clock, waited on with tokio's timers (the service).
//! - [`TokioClock`]: tokio's clock from a starting unix time, so that tests can pause and
//!   advance it (`#[tokio::test(start_paused = true)]`, `tokio::time::advance`).
//! - [`ManualClock`]: a clock that moves only when told, and tells when its sleeper waits
//!   (scheduler tests that also wait on the database, where paused time would jump ahead
//!   whenever the runtime idles).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

pub trait Clock: Send + Sync + 'static {
    /// Now, in unix milliseconds.
    fn now_ms(&self) -> i64;
    /// Resolves at `at_ms` or earlier: the scheduler looks again at what is due when it
    /// wakes, so waking early costs a query, never a missed schedule.
    fn sleep_until(&self, at_ms: i64) -> impl Future<Output = ()> + Send;
}

/// The wall clock. A single wait lasts at most [`SystemClock::MAX_WAIT`], so that a wall
/// clock set forward or backward is noticed.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl SystemClock {
    pub const MAX_WAIT: Duration = Duration::from_secs(60);
}

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        chrono::Utc::now().timestamp_millis()
    }

    fn sleep_until(&self, at_ms: i64) -> impl Future<Output = ()> + Send {
        let wait = u64::try_from(at_ms.saturating_sub(self.now_ms())).unwrap_or(0);
        tokio::time::sleep(Duration::from_millis(wait).min(Self::MAX_WAIT))
    }
}

/// Tokio's clock, read as unix milliseconds from `epoch_ms` at creation. Follows paused
/// and advanced time in tests.
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    epoch_ms: i64,
    start: tokio::time::Instant,
}

impl TokioClock {
    pub fn new(epoch_ms: i64) -> TokioClock {
        TokioClock {
            epoch_ms,
            start: tokio::time::Instant::now(),
        }
    }
}

impl Clock for TokioClock {
    fn now_ms(&self) -> i64 {
        let elapsed = i64::try_from(self.start.elapsed().as_millis()).unwrap_or(i64::MAX);
        self.epoch_ms.saturating_add(elapsed)
    }

    fn sleep_until(&self, at_ms: i64) -> impl Future<Output = ()> + Send {
        let after = u64::try_from(at_ms.saturating_sub(self.epoch_ms)).unwrap_or(0);
        tokio::time::sleep_until(self.start + Duration::from_millis(after))
    }
}

/// A clock for tests: it moves only by [`ManualClock::advance`] or [`ManualClock::set`],
/// and [`ManualClock::asleep`] tells until when its sleeper waits, which is how a test
/// knows that the scheduler has finished looking at what is due.
#[derive(Debug)]
pub struct ManualClock {
    now: watch::Sender<i64>,
    /// The time the current sleeper waits for; None while nobody sleeps.
    asleep: watch::Sender<Option<i64>>,
}

impl ManualClock {
    pub fn new(now_ms: i64) -> Arc<ManualClock> {
        Arc::new(ManualClock {
            now: watch::Sender::new(now_ms),
            asleep: watch::Sender::new(None),
        })
    }

    pub fn now(&self) -> i64 {
        *self.now.borrow()
    }

    pub fn advance(&self, by: Duration) {
        let by = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.set(self.now().saturating_add(by));
    }

    /// Moves the clock to `now_ms`. A sleeper whose time has come no longer counts as
    /// asleep from this moment, so that [`ManualClock::asleep`] waits for its next sleep.
    pub fn set(&self, now_ms: i64) {
        self.asleep.send_if_modified(|at| {
            let woken = at.is_some_and(|at| at <= now_ms);
            if woken {
                *at = None;
            }
            woken
        });
        self.now.send_replace(now_ms);
    }

    /// Waits until someone sleeps on this clock, and returns until when.
    pub async fn asleep(&self) -> i64 {
        let mut rx = self.asleep.subscribe();
        let at = rx.wait_for(Option::is_some).await.map(|at| *at);
        // The sender lives in `self`: it cannot be dropped while we borrow it.
        at.ok().flatten().unwrap_or(i64::MAX)
    }

    /// Waits until someone sleeps on this clock until `at_ms` exactly.
    pub async fn asleep_until(&self, at_ms: i64) {
        let mut rx = self.asleep.subscribe();
        let _ = rx.wait_for(|at| *at == Some(at_ms)).await;
    }
}

/// Clears the "asleep" mark when the sleep ends or is abandoned.
struct Sleeping<'a>(&'a watch::Sender<Option<i64>>);

impl Drop for Sleeping<'_> {
    fn drop(&mut self) {
        self.0.send_replace(None);
    }
}

impl Clock for Arc<ManualClock> {
    fn now_ms(&self) -> i64 {
        self.now()
    }

    fn sleep_until(&self, at_ms: i64) -> impl Future<Output = ()> + Send {
        let clock = self.clone();
        async move {
            let mut now = clock.now.subscribe();
            if *now.borrow_and_update() >= at_ms {
                return;
            }
            clock.asleep.send_replace(Some(at_ms));
            let _sleeping = Sleeping(&clock.asleep);
            let _ = now.wait_for(|now| *now >= at_ms).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn tokio_clock_follows_paused_time() {
        let clock = TokioClock::new(1_000_000);
        assert_eq!(clock.now_ms(), 1_000_000);
        tokio::time::advance(Duration::from_secs(90)).await;
        assert_eq!(clock.now_ms(), 1_090_000);
        let woke = tokio::spawn(async move {
            clock.sleep_until(1_000_000 + 3_600_000).await;
            clock.now_ms()
        });
        // Paused time jumps to the timer once the runtime has nothing else to do.
        assert_eq!(woke.await.unwrap(), 1_000_000 + 3_600_000);
    }

    #[tokio::test]
    async fn manual_clock_wakes_its_sleeper_only_when_moved_past_its_time() {
        let clock = ManualClock::new(0);
        let sleeper = {
            let clock = clock.clone();
            tokio::spawn(async move { clock.sleep_until(1_000).await })
        };
        assert_eq!(clock.asleep().await, 1_000);
        clock.advance(Duration::from_millis(999));
        assert_eq!(clock.asleep().await, 1_000, "still asleep");
        assert!(!sleeper.is_finished());
        clock.advance(Duration::from_millis(1));
        sleeper.await.unwrap();
        assert_eq!(*clock.asleep.borrow(), None);
        // A time already past does not sleep at all.
        clock.sleep_until(500).await;
    }
}
