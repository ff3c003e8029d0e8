//! The browser state kept between collects: restored into the fresh tab before the first
//! navigation, tested by the connector's `session.check` (a pass skips the login and its
//! 2FA), and captured after the login for the next collect ([`Event::BrowserState`]).

use std::time::Duration;

use super::error::CollectError;
use super::event::Event;
use super::pages::{SelectorSet, matches};
use super::runner::Runner;
use crate::browser::BrowserError;
use crate::codes::{ErrorKind, State};
use crate::connector::plan::{PageMatch, SessionCheck};
use crate::duration::format_duration;

/// How long `session.check` waits for its page unless it says otherwise.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(10);

impl Runner<'_> {
    /// The hosts whose cookies and storage make the browser state: the base URL's (the
    /// override included) and the connector's `domains`.
    fn browser_state_hosts(&self) -> Vec<String> {
        self.allow.hosts()
    }

    /// Restores the kept browser state into the tab, which has not navigated yet. Returns
    /// whether there was one to restore. A state the browser refuses is only a warning: the
    /// login runs as if there had been none.
    pub(super) async fn restore_browser_state(&mut self) -> Result<bool, CollectError> {
        let Some(state) = self.browser_state.take() else {
            return Ok(false);
        };
        if state.is_empty() {
            return Ok(false);
        }
        match self.tab.restore_browser_state(&state).await {
            Ok(()) => {
                tracing::debug!(session = ?state, "browser session restored");
                Ok(true)
            }
            Err(BrowserError::Crashed) => Err(self.browser_failure(BrowserError::Crashed)),
            Err(e) => {
                tracing::warn!("could not restore the kept browser session: {e}");
                Ok(false)
            }
        }
    }

    /// Runs the connector's `session.check` with the restored browser state: true when its page is
    /// recognised in time. Anything else (a login page shows, the site fails, time runs
    /// out) is a no: the normal login follows. Only the browser crashing ends the collect.
    pub(super) async fn session_still_valid(&mut self) -> Result<bool, CollectError> {
        let plan = self.plan;
        let Some(check) = &plan.session else {
            return Ok(false);
        };
        if !self.plan.logs_in() {
            return Ok(false);
        }
        self.set_state(State::LoggingIn, None);
        self.current = Some(check.at.clone());
        self.emit(Event::Step {
            step: check.at.clone(),
        });
        let valid = self.run_check(check).await;
        self.current = None;
        match valid {
            Ok(true) => {
                tracing::info!("the kept session is still logged in: login skipped");
                Ok(true)
            }
            Ok(false) => Ok(false),
            Err(e) if e.kind() == ErrorKind::BrowserCrashed => Err(e),
            Err(e) => {
                tracing::info!("session check: {e}; logging in");
                Ok(false)
            }
        }
    }

    async fn run_check(&mut self, check: &SessionCheck) -> Result<bool, CollectError> {
        let plan = self.plan;
        let url = self.render(&check.goto)?;
        self.goto(&url).await?;
        let timeout = check.timeout.unwrap_or(CHECK_TIMEOUT);
        let expect_page = plan.page(check.expect);
        let expect = &expect_page.matcher;
        // Any other page recognised on a loaded document (the login form the site sent us
        // to) settles it sooner than the timeout.
        let others: Vec<&PageMatch> = plan
            .pages
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != check.expect.index())
            .map(|(_, p)| &p.matcher)
            .collect();
        let mut sels = SelectorSet::default();
        sels.add_page(expect);
        for p in &others {
            sels.add_page(p);
        }
        let mut valid = false;
        let result = self
            .wait_for_pages(&sels, timeout, |probe| {
                if !probe.top().ready.is_parsed() {
                    return false;
                }
                if matches(expect, probe, &sels) {
                    valid = true;
                    return true;
                }
                probe.top().ready == crate::browser::ReadyState::Complete
                    && others.iter().any(|p| matches(p, probe, &sels))
            })
            .await;
        let (probe, _) = result?;
        if !valid {
            tracing::info!(
                url = %probe.top().url,
                "session check: page {:?} not recognised (within {}); logging in",
                expect_page.name,
                format_duration(timeout)
            );
        }
        Ok(valid)
    }

    /// Captures the browser state after a successful login (skipped by the check or not)
    /// and hands it to whoever keeps it. Failing to read it is only a warning.
    pub(super) async fn keep_browser_state(&mut self) -> Result<(), CollectError> {
        if !self.plan.logs_in() {
            return Ok(());
        }
        match self
            .tab
            .capture_browser_state(&self.browser_state_hosts())
            .await
        {
            Ok(state) => {
                tracing::debug!(session = ?state, "browser session captured");
                self.emit(Event::BrowserState { state });
                Ok(())
            }
            Err(BrowserError::Crashed) => Err(self.browser_failure(BrowserError::Crashed)),
            Err(e) => {
                tracing::warn!("could not capture the browser session: {e}");
                Ok(())
            }
        }
    }
}
