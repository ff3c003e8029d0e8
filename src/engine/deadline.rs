//! The collect's deadline: a wall-clock budget for the whole collect, so that a page or a
//! step that never ends cannot hold a browser slot forever. The clock stops while the
//! collect waits for the person (a one-time code, an `interactive` step): those waits have
//! their own timeouts, and a slow person is not a stuck collect.

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use super::error::CollectError;
use super::options::Options;
use crate::codes::{ErrorCode, ErrorKind};
use crate::connector::plan::{Plan, StepRef};
use crate::duration::format_duration;

/// The detail of the `TIMEOUT` code of a collect that ran past its deadline.
pub const COLLECT_DEADLINE: &str = "COLLECT_DEADLINE";

/// The running clock of one collect; clones share it.
#[derive(Debug, Clone)]
pub(super) struct Deadline {
    budget: Duration,
    clock: std::sync::Arc<watch::Sender<Clock>>,
}

#[derive(Debug, Clone, Copy)]
struct Clock {
    /// What is left of the budget when the clock last stopped (or started).
    left: Duration,
    /// Since when it runs; `None` while stopped.
    running_since: Option<Instant>,
    /// Waits for the person in progress (nested waits keep it stopped).
    pauses: u32,
}

impl Deadline {
    /// The connector's `timeout` if it has one, else the run's `collect_timeout`: the
    /// author knows how long their site takes, as with a step's own timeout.
    pub fn for_collect(plan: &Plan, options: &Options) -> Deadline {
        Deadline::start(plan.timeout.unwrap_or(options.collect_timeout))
    }

    /// A running clock with `budget` left.
    pub fn start(budget: Duration) -> Deadline {
        let clock = Clock {
            left: budget,
            running_since: Some(Instant::now()),
            pauses: 0,
        };
        Deadline {
            budget,
            clock: std::sync::Arc::new(watch::Sender::new(clock)),
        }
    }

    /// Stops the clock until the returned guard is dropped: the collect waits for the person.
    pub fn pause(&self) -> Paused {
        self.clock.send_modify(|c| {
            if let Some(since) = c.running_since.take() {
                c.left = c.left.saturating_sub(since.elapsed());
            }
            c.pauses += 1;
        });
        Paused {
            clock: self.clock.clone(),
        }
    }

    /// Resolves once the budget is spent, the time the clock was stopped not counted.
    pub async fn expired(&self) {
        let mut clock = self.clock.subscribe();
        loop {
            let now = *clock.borrow_and_update();
            match now.running_since {
                Some(since) => tokio::select! {
                    _ = tokio::time::sleep_until(since + now.left) => return,
                    _ = clock.changed() => {}
                },
                // Stopped: nothing can expire until it runs again. The sender lives in
                // `self`, so `changed` cannot fail while this waits.
                None => {
                    if clock.changed().await.is_err() {
                        return std::future::pending().await;
                    }
                }
            }
        }
    }

    /// Runs `work` until it ends or the deadline passes, whichever comes first. Past the
    /// deadline, `work` is dropped (its browser calls with it) and the error is
    /// `TIMEOUT.COLLECT_DEADLINE`; [`Deadline::locate`] then names the step.
    pub async fn bound<T>(
        &self,
        work: impl Future<Output = Result<T, CollectError>>,
    ) -> Result<T, CollectError> {
        tokio::select! {
            result = work => result,
            _ = self.expired() => Err(self.error()),
        }
    }

    /// Names the step a collect was in when its deadline passed.
    pub fn locate<T>(
        result: Result<T, CollectError>,
        current: Option<&StepRef>,
    ) -> Result<T, CollectError> {
        result.map_err(|mut e| {
            if is_deadline(&e) && e.step.is_none() {
                e.step = current.cloned();
            }
            e
        })
    }

    fn error(&self) -> CollectError {
        CollectError::new(
            ErrorCode::with_detail(ErrorKind::Timeout, COLLECT_DEADLINE),
            format!(
                "the collect did not end within its deadline of {} (time spent waiting for \
                 the person not counted); the connector's `timeout` or --collect-timeout sets it",
                format_duration(self.budget)
            ),
        )
    }
}

fn is_deadline(e: &CollectError) -> bool {
    e.code.kind == ErrorKind::Timeout && e.code.detail.as_deref() == Some(COLLECT_DEADLINE)
}

/// The clock is stopped while this lives.
pub(super) struct Paused {
    clock: std::sync::Arc<watch::Sender<Clock>>,
}

impl Drop for Paused {
    fn drop(&mut self) {
        self.clock.send_modify(|c| {
            c.pauses = c.pauses.saturating_sub(1);
            if c.pauses == 0 {
                c.running_since = Some(Instant::now());
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The runtime's clock is paused: time advances only as far as the timers ask, so these
    // tests take no real time and cannot be flaky.

    #[tokio::test(start_paused = true)]
    async fn expires_after_its_budget() {
        let started = Instant::now();
        let deadline = Deadline::start(Duration::from_secs(3));
        let result: Result<(), _> = deadline.bound(std::future::pending()).await;
        let e = result.unwrap_err();
        assert_eq!(e.code.to_string(), "TIMEOUT.COLLECT_DEADLINE");
        assert!(e.message.contains("deadline of 3s"), "{}", e.message);
        assert_eq!(started.elapsed(), Duration::from_secs(3));
    }

    #[tokio::test(start_paused = true)]
    async fn work_that_ends_in_time_is_untouched() {
        let deadline = Deadline::start(Duration::from_secs(3));
        let result = deadline
            .bound(async {
                tokio::time::sleep(Duration::from_secs(2)).await;
                Ok::<_, CollectError>(7)
            })
            .await;
        assert_eq!(result.unwrap(), 7);
    }

    #[tokio::test(start_paused = true)]
    async fn waiting_for_the_person_does_not_count() {
        let started = Instant::now();
        let deadline = Deadline::start(Duration::from_secs(3));
        let clock = deadline.clone();
        let work = async move {
            tokio::time::sleep(Duration::from_secs(2)).await;
            {
                // Nested pauses: the clock runs again only when both end.
                let _code = clock.pause();
                let _screen = clock.pause();
                tokio::time::sleep(Duration::from_secs(60)).await;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
            Ok::<_, CollectError>("done")
        };
        assert_eq!(deadline.bound(work).await.unwrap(), "done");
        let result: Result<(), _> = deadline.bound(std::future::pending()).await;
        assert!(result.is_err());
        // 2 s + 0.5 s before, 0.5 s after: the 60 s wait for the person did not count.
        assert_eq!(started.elapsed(), Duration::from_secs(63));
    }

    #[test]
    fn names_the_step_it_was_in() {
        let step = StepRef {
            section: crate::connector::plan::Section::Steps,
            number: "2".into(),
            summary: "wait '#never'".into(),
            line: 12,
        };
        let late = Deadline::start(Duration::from_secs(3)).error();
        let e = Deadline::locate::<()>(Err(late), Some(&step)).unwrap_err();
        assert_eq!(e.step, Some(step.clone()));
        assert!(
            e.to_string().starts_with(
                "TIMEOUT.COLLECT_DEADLINE at step 2 (wait '#never', line 12): the collect"
            ),
            "{e}"
        );
        // Other errors keep their own step.
        let other = CollectError::new(ErrorKind::Timeout, "element");
        let e = Deadline::locate::<()>(Err(other), Some(&step)).unwrap_err();
        assert_eq!(e.step, None);
    }
}
