//! `popup`: a click opens a tab, steps run in it, then it is closed and the collect goes on
//! in the tab that opened it.
//!
//! The steps run in a runner of their own on the new tab, which takes the collect's state
//! (variables, lists, documents, deadline, links) for the block and gives it back after, so
//! what the block extracts or downloads is the collect's. The new tab gets the same guard
//! (`Tab::allow_only` with the collect's list) and answers dialogs the same way.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::error::CollectError;
use super::links::Links;
use super::runner::Runner;
use crate::browser::{DEFAULT_POPUP_TIMEOUT, Popup as OpenedTab, Popups, Tab};
use crate::codes::ErrorKind;
use crate::connector::plan::{Popup, Selector, Step};
use crate::duration::format_duration;

impl Runner<'_> {
    pub(super) async fn follow_popup(&mut self, p: &Popup) -> Result<(), CollectError> {
        let selector = self.render(&p.click)?;
        let timeout = p.timeout.unwrap_or(DEFAULT_POPUP_TIMEOUT);
        let (popups, opened) = self.click_for_popup(&selector, timeout).await?;
        let tab = Tab::on_popup(&popups, &opened)
            .await
            .map_err(|e| self.browser_failure(e))?;
        let here = self.tab.page().target_id().clone();
        let result = match popups.drive(opened.target.clone()).await {
            Ok(()) => self.in_tab(&tab, &p.body, timeout).await,
            Err(e) => Err(self.browser_failure(e)),
        };
        if let Err(e) = popups.close(&opened).await {
            tracing::debug!("cannot close the followed tab: {e}");
        }
        if let Err(e) = popups.drive(here).await {
            return result.and(Err(self.browser_failure(e)));
        }
        result
    }

    /// Clicks `selector` and returns the tab the click opened, or a `CONNECTOR_ERROR`
    /// naming the step when none opens within `timeout`.
    pub(super) async fn click_for_popup(
        &mut self,
        selector: &str,
        timeout: Duration,
    ) -> Result<(Arc<Popups>, OpenedTab), CollectError> {
        let Some(popups) = self.tab.popups().cloned() else {
            let msg = "this tab cannot follow the tabs its page opens";
            return Err(self.error(ErrorKind::ConnectorError.into(), msg).await);
        };
        let mark = popups.mark();
        self.click(
            &Selector::css(selector),
            self.options.element_timeout,
            false,
        )
        .await?;
        match popups.next_after(mark, Instant::now() + timeout).await {
            Some(opened) => Ok((popups, opened)),
            None => {
                let msg = format!(
                    "clicking {selector:?} opened no new tab within {}",
                    format_duration(timeout)
                );
                Err(self.error(ErrorKind::ConnectorError.into(), msg).await)
            }
        }
    }

    /// Runs `body` in `tab`, with the collect's state, once the tab shows a document.
    async fn in_tab(
        &mut self,
        tab: &Tab,
        body: &[Step],
        timeout: Duration,
    ) -> Result<(), CollectError> {
        let placeholder = Links::background(self.links.events.clone());
        let mut sub = Runner {
            plan: self.plan,
            tab,
            options: self.options,
            links: std::mem::replace(&mut self.links, placeholder),
            base_url: self.base_url.clone(),
            allow: self.allow.clone(),
            vars: std::mem::take(&mut self.vars),
            outcome: std::mem::take(&mut self.outcome),
            list_names: std::mem::take(&mut self.list_names),
            hidden_lists: std::mem::take(&mut self.hidden_lists),
            state: self.state,
            current: self.current.clone(),
            known_documents: std::mem::take(&mut self.known_documents),
            since: self.since,
            browser_state: self.browser_state.take(),
            deadline: self.deadline.clone(),
            // A new tab's steps start at its top document.
            frame: Default::default(),
            last_match: Default::default(),
        };
        let result = sub.run_in_new_tab(body, timeout).await;
        self.links = sub.links;
        self.vars = sub.vars;
        self.outcome = sub.outcome;
        self.list_names = sub.list_names;
        self.hidden_lists = sub.hidden_lists;
        self.state = sub.state;
        self.current = sub.current;
        self.known_documents = sub.known_documents;
        self.browser_state = sub.browser_state;
        self.deadline = sub.deadline;
        result
    }

    async fn run_in_new_tab(
        &mut self,
        body: &[Step],
        timeout: Duration,
    ) -> Result<(), CollectError> {
        self.tab
            .allow_only(self.allow.clone())
            .await
            .map_err(|e| self.browser_failure(e))?;
        self.tab.answer_dialogs(self.plan.dialogs);
        self.wait_for_document(timeout).await?;
        self.run_block(body).await
    }

    /// Waits until the tab shows a parsed document of its own (not the `about:blank` a
    /// new tab starts on).
    pub(super) async fn wait_for_document(
        &self,
        timeout: Duration,
    ) -> Result<String, CollectError> {
        let (probe, ok) = self
            .wait_until(&[], timeout, None, |p| {
                !p.url.starts_with("about:") && p.ready.is_parsed()
            })
            .await?;
        if !ok {
            let msg = format!(
                "the new tab showed no page within {}",
                format_duration(timeout)
            );
            return Err(self.error(ErrorKind::ConnectorError.into(), msg).await);
        }
        Ok(probe.url)
    }
}
