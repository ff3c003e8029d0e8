//! Waiting for named pages, whose elements may sit in several frames: one probe per frame,
//! all waiting at once, and the first that sees a change wakes the wait.

use std::time::Duration;

use futures::FutureExt;
use futures::future::{join_all, select_all};
use tokio::time::Instant;

use super::error::CollectError;
use super::pages::{Probes, SelectorSet};
use super::runner::Runner;
use crate::browser::Probe;
use crate::codes::ErrorKind;

/// The longest single wait inside the page before the engine looks again (as
/// `actions::wait_until`'s).
const PROBE_SLICE: Duration = Duration::from_secs(2);

impl Runner<'_> {
    /// Probes every group of `sels` until `done` accepts the state or `timeout` passes.
    /// Returns the last state and whether `done` accepted it.
    pub(super) async fn wait_for_pages(
        &self,
        sels: &SelectorSet,
        timeout: Duration,
        mut done: impl FnMut(&Probes) -> bool,
    ) -> Result<(Probes, bool), CollectError> {
        let deadline = Instant::now() + timeout;
        let mut last: Option<Probes> = None;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let wait = match last {
                Some(_) => left.min(PROBE_SLICE),
                None => Duration::ZERO,
            };
            let probes = self.probe_groups(sels, last.as_ref(), wait).await?;
            if let Some(failure) = self.tab.navigation_failure(&probes.top().url) {
                return Err(self.browser_failure(failure));
            }
            if let Some(runaway) = self.runaway_page() {
                return Err(runaway);
            }
            for (group, probe) in sels.groups.iter().zip(&probes.groups) {
                if let Some(i) = probe.selectors.iter().position(|s| s.invalid) {
                    let msg = format!(
                        "the browser rejects the CSS selector {:?}",
                        group.selectors[i]
                    );
                    return Err(self.error(ErrorKind::ConnectorError.into(), msg).await);
                }
            }
            if done(&probes) {
                return Ok((probes, true));
            }
            if Instant::now() >= deadline {
                return Ok((probes, false));
            }
            last = Some(probes);
        }
    }

    /// One probe per group. With `previous` and a `wait`, every group waits for a change
    /// at once; the first to see one (or to time out) ends the wait, and the others are
    /// read again as they are now.
    async fn probe_groups(
        &self,
        sels: &SelectorSet,
        previous: Option<&Probes>,
        wait: Duration,
    ) -> Result<Probes, CollectError> {
        let now = |i: usize| {
            let group = &sels.groups[i];
            self.tab
                .probe_in(&group.frame, &group.selectors, None, Duration::ZERO, None)
        };
        let Some(previous) = previous.filter(|_| !wait.is_zero()) else {
            let all = join_all((0..sels.groups.len()).map(now)).await;
            return self.collect_probes(all);
        };
        let waits = sels
            .groups
            .iter()
            .zip(&previous.groups)
            .map(|(group, prev)| {
                self.tab
                    .probe_in(&group.frame, &group.selectors, Some(prev), wait, None)
                    .boxed()
            });
        let (first, woke, _) = select_all(waits).await;
        let first = first.map_err(|e| self.browser_failure(e))?;
        let others = join_all((0..sels.groups.len()).filter(|i| *i != woke).map(now)).await;
        let mut others = self.collect_probes(others)?.groups.into_iter();
        let mut groups: Vec<Probe> = Vec::with_capacity(sels.groups.len());
        for i in 0..sels.groups.len() {
            if i == woke {
                groups.push(first.clone());
            } else if let Some(p) = others.next() {
                groups.push(p);
            }
        }
        Ok(Probes { groups })
    }

    fn collect_probes(
        &self,
        all: Vec<Result<Probe, crate::browser::BrowserError>>,
    ) -> Result<Probes, CollectError> {
        let groups = all
            .into_iter()
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.browser_failure(e))?;
        Ok(Probes { groups })
    }
}
