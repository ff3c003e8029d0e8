//! Interaction steps. Each waits for what it needs with a deadline, waking on page changes.

use std::time::Duration;

use tokio::time::Instant;

use super::error::CollectError;
use super::pages::{SelectorSet, matches};
use super::runner::Runner;
use crate::browser::{BrowserError, Probe, Target};
use crate::codes::{ErrorCode, ErrorKind};
use crate::connector::plan::{AwaitPage, Selector, Wait, WaitFor};
use crate::duration::format_duration;

/// The longest single wait inside the page before the engine looks again; it bounds how
/// long a change the page does not announce (no DOM mutation) can go unseen.
const PROBE_SLICE: Duration = Duration::from_secs(2);

impl Runner<'_> {
    /// Probes `selectors` until `done` accepts the state or `timeout` passes. Returns the
    /// last state and whether `done` accepted it.
    pub(super) async fn wait_until(
        &self,
        selectors: &[Selector],
        timeout: Duration,
        mark: Option<&str>,
        mut done: impl FnMut(&Probe) -> bool,
    ) -> Result<(Probe, bool), CollectError> {
        let deadline = Instant::now() + timeout;
        let mut last: Option<Probe> = None;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let wait = if last.is_some() {
                left.min(PROBE_SLICE)
            } else {
                Duration::ZERO
            };
            let probe = self
                .tab
                .probe(selectors, last.as_ref(), wait, mark)
                .await
                .map_err(|e| self.browser_failure(e))?;
            // A page the browser could not load, or one that reloads itself without end,
            // will not show what the step waits for: say so now, not at the timeout.
            if let Some(failure) = self.tab.navigation_failure(&probe.url) {
                return Err(self.browser_failure(failure));
            }
            if let Some(runaway) = self.runaway_page() {
                return Err(runaway);
            }
            if let Some(i) = probe.selectors.iter().position(|s| s.invalid) {
                let msg = format!("the browser rejects the CSS selector {}", selectors[i]);
                return Err(self.error(ErrorKind::ConnectorError.into(), msg).await);
            }
            if done(&probe) {
                return Ok((probe, true));
            }
            if Instant::now() >= deadline {
                return Ok((probe, false));
            }
            last = Some(probe);
        }
    }

    /// Fails with VENDOR_DOWN when the page shown is a server error.
    pub(super) fn check_vendor(&self) -> Result<(), CollectError> {
        if let Some((url, status)) = self.tab.last_document()
            && status >= 500
        {
            let mut e = self.error_now(
                ErrorKind::VendorDown.into(),
                format!("the site answered HTTP {status}"),
            );
            e.url = Some(url);
            return Err(e);
        }
        Ok(())
    }

    pub(super) async fn goto(&mut self, url: &str) -> Result<(), CollectError> {
        let url = self.resolve_url(url)?;
        if !self.allow.permits(&url) {
            let msg =
                format!("{url} is outside the connector's domains; add its host to `domains`");
            return Err(self.error(ErrorKind::ConnectorError.into(), msg).await);
        }
        match self
            .tab
            .goto(url.as_str(), self.options.navigation_timeout)
            .await
        {
            Ok(status) if status >= 500 => {
                let mut e = self.error_now(
                    ErrorKind::VendorDown.into(),
                    format!("the site answered HTTP {status}"),
                );
                e.url = Some(url.to_string());
                Err(e)
            }
            Ok(_) => Ok(()),
            Err(
                e @ (BrowserError::Crashed
                | BrowserError::Navigation(_)
                | BrowserError::RunawayPage { .. }),
            ) => Err(self.browser_failure(e)),
            Err(BrowserError::Blocked(to)) => {
                let msg = format!(
                    "{url} led to {to}, which is outside the connector's domains; add its host \
                     to `domains` if the site needs it"
                );
                let mut e = self.error_now(ErrorKind::ConnectorError.into(), msg);
                e.url = Some(url.to_string());
                Err(e)
            }
            Err(BrowserError::Timeout(_)) => {
                let mut e = self.error_now(
                    ErrorKind::VendorDown.into(),
                    format!(
                        "the page did not load within {}",
                        format_duration(self.options.navigation_timeout)
                    ),
                );
                e.url = Some(url.to_string());
                Err(e)
            }
            Err(other) => {
                let mut e = self.error_now(
                    ErrorKind::VendorDown.into(),
                    format!("the site cannot be reached: {other}"),
                );
                e.url = Some(url.to_string());
                Err(e)
            }
        }
    }

    /// Waits until `selector` is visible; the error says what was seen instead.
    pub(super) async fn wait_visible(
        &self,
        selector: &Selector,
        timeout: Duration,
    ) -> Result<(), CollectError> {
        let sels = vec![selector.clone()];
        let (probe, ok) = self
            .wait_until(&sels, timeout, None, |p| p.selectors[0].visible)
            .await?;
        if ok {
            if let Some(i) = probe.selectors[0].matched {
                self.matched_alternative(selector, i);
            }
            return Ok(());
        }
        let s = probe.selectors[0];
        let msg = if let Some(why) = &probe.no_frame {
            format!("{why} after {}", format_duration(timeout))
        } else if s.count == 0 {
            format!(
                "no element matches {selector} after {}{}",
                format_duration(timeout),
                self.missing_hint(selector).await
            )
        } else {
            format!(
                "{} element(s) match {selector} but none is visible after {}",
                s.count,
                format_duration(timeout)
            )
        };
        Err(self.error(ErrorKind::ConnectorError.into(), msg).await)
    }

    /// A real click on the first visible match. Waits while the element is missing,
    /// hidden, disabled or covered by another element, so a click never lands on a
    /// cookie banner by accident.
    pub(super) async fn click(
        &self,
        selector: &Selector,
        timeout: Duration,
        optional: bool,
    ) -> Result<(), CollectError> {
        let deadline = Instant::now() + timeout;
        let sels = vec![selector.clone()];
        let mut last_probe: Option<Probe> = None;
        loop {
            let target = self
                .tab
                .target(selector)
                .await
                .map_err(|e| self.browser_failure(e))?;
            let missing = matches!(target, Target::Missing);
            let why = match target {
                Target::Ready { x, y, alternative } => {
                    self.matched_alternative(selector, alternative);
                    return self
                        .tab
                        .click_at(x, y)
                        .await
                        .map_err(|e| self.browser_failure(e));
                }
                Target::Invalid => {
                    let msg = format!("the browser rejects the CSS selector {selector}");
                    return Err(self.error(ErrorKind::ConnectorError.into(), msg).await);
                }
                Target::Missing => format!("no element matches {selector}"),
                Target::Hidden => format!("elements match {selector} but none is visible"),
                Target::Disabled => format!("{selector} is disabled"),
                Target::Moving => format!("{selector} keeps moving"),
                Target::Covered { by } => {
                    format!("{selector} is covered by {by}, which would receive the click")
                }
                Target::NoFrame(why) => why.to_string(),
            };
            if Instant::now() >= deadline {
                if optional {
                    return Ok(());
                }
                let hint = if missing {
                    self.missing_hint(selector).await
                } else {
                    String::new()
                };
                return Err(self
                    .error(
                        ErrorKind::ConnectorError.into(),
                        format!("{why} after {}{hint}", format_duration(timeout)),
                    )
                    .await);
            }
            // Wait for the page to change before looking again.
            let wait = deadline
                .saturating_duration_since(Instant::now())
                .min(PROBE_SLICE);
            let previous = match last_probe.take() {
                Some(p) => p,
                None => self
                    .tab
                    .probe(&sels, None, Duration::ZERO, None)
                    .await
                    .map_err(|e| self.browser_failure(e))?,
            };
            last_probe = Some(
                self.tab
                    .probe(&sels, Some(&previous), wait, None)
                    .await
                    .map_err(|e| self.browser_failure(e))?,
            );
        }
    }

    pub(super) async fn fill(&self, selector: &Selector, value: &str) -> Result<(), CollectError> {
        self.wait_visible(selector, self.options.element_timeout)
            .await?;
        match self
            .tab
            .focus_for_typing(selector)
            .await
            .map_err(|e| self.browser_failure(e))?
        {
            Ok(alternative) => self.matched_alternative(selector, alternative),
            Err(why) => {
                return Err(self
                    .error(
                        ErrorKind::ConnectorError.into(),
                        format!("cannot type into {selector}: {why}"),
                    )
                    .await);
            }
        }
        if !value.is_empty() {
            self.tab
                .insert_text(value)
                .await
                .map_err(|e| self.browser_failure(e))?;
        }
        Ok(())
    }

    pub(super) async fn select(
        &self,
        selector: &Selector,
        choice: &str,
    ) -> Result<(), CollectError> {
        self.wait_visible(selector, self.options.element_timeout)
            .await?;
        match self
            .tab
            .select_option(selector, choice)
            .await
            .map_err(|e| self.browser_failure(e))?
        {
            Ok(alternative) => {
                self.matched_alternative(selector, alternative);
                Ok(())
            }
            Err(why) => Err(self
                .error(
                    ErrorKind::ConnectorError.into(),
                    format!("{selector}: {why}"),
                )
                .await),
        }
    }

    pub(super) async fn wait(&mut self, wait: &Wait) -> Result<(), CollectError> {
        let timeout = wait.timeout.unwrap_or(self.options.element_timeout);
        match &wait.until {
            WaitFor::Selector(sel) => {
                let sel = self.render_selector(sel)?;
                self.wait_visible(&sel, timeout).await
            }
            WaitFor::Gone(sel) => {
                let sel = self.render_selector(sel)?;
                let (_, ok) = self
                    .wait_until(std::slice::from_ref(&sel), timeout, None, |p| {
                        !p.selectors[0].visible
                    })
                    .await?;
                if !ok {
                    let msg = format!("{sel} is still visible after {}", format_duration(timeout));
                    return Err(self.error(ErrorKind::ConnectorError.into(), msg).await);
                }
                Ok(())
            }
            WaitFor::Url(pattern) => {
                let (probe, ok) = self
                    .wait_until(&[], timeout, None, |p| pattern.is_match(&p.url))
                    .await?;
                if !ok {
                    let msg = format!(
                        "the URL {} does not match {:?} after {}",
                        probe.url,
                        pattern.as_str(),
                        format_duration(timeout)
                    );
                    return Err(self.error(ErrorKind::ConnectorError.into(), msg).await);
                }
                Ok(())
            }
        }
    }

    /// Waits until the browser is on one of the named pages; the first listed wins when
    /// several match. A server error page ends the wait with VENDOR_DOWN.
    pub(super) async fn await_page(&mut self, ap: &AwaitPage) -> Result<(), CollectError> {
        let timeout = ap.timeout.unwrap_or(self.options.page_timeout);
        let auto_success = self.auto_success_delay(ap).filter(|d| *d < timeout);
        let timeout = auto_success.unwrap_or(timeout);
        let mut sels = SelectorSet::default();
        let pages: Vec<&crate::connector::plan::Page> =
            ap.one_of.iter().map(|id| self.plan.page(*id)).collect();
        for p in &pages {
            sels.add_page(&p.matcher);
        }
        let mut found: Option<&str> = None;
        let mut server_error = false;
        let (probe, _) = self
            .wait_for_pages(&sels, timeout, |probe| {
                if probe.top().ready.is_parsed() {
                    found = pages
                        .iter()
                        .find(|p| matches(&p.matcher, probe, &sels))
                        .map(|p| p.name.as_str());
                }
                server_error = self.tab.last_document().is_some_and(|(_, s)| s >= 500);
                found.is_some() || server_error
            })
            .await?;
        if let Some(name) = found {
            self.vars
                .insert("page".into(), serde_json::Value::String(name.to_string()));
            return Ok(());
        }
        self.check_vendor()?;
        if auto_success.is_some() {
            // No failure page and no 2FA page showed: the login counts as done.
            self.vars.insert("page".into(), serde_json::Value::Null);
            return Ok(());
        }
        let code = ap
            .otherwise
            .clone()
            .unwrap_or(ErrorCode::new(ErrorKind::Timeout));
        let names: Vec<&str> = pages.iter().map(|p| p.name.as_str()).collect();
        let mut e = self.error_now(
            code,
            format!(
                "none of the pages {} was recognised after {}",
                names.join(", "),
                format_duration(timeout)
            ),
        );
        e.url = Some(probe.top().url.clone());
        Err(e)
    }

    /// The auto-success delay when it applies to this `await_page`: in the login, for a
    /// connector that names no `success` page, unless the step names its own failure code.
    fn auto_success_delay(&self, ap: &AwaitPage) -> Option<Duration> {
        if !self.in_login() || ap.otherwise.is_some() {
            return None;
        }
        self.plan.auto_success
    }
}
