//! Selectors at run time: rendering a step's selector template, reporting which of its
//! alternatives matched, and explaining a selector that matches nothing.

use super::error::CollectError;
use super::event::Event;
use super::runner::Runner;
use crate::codes::ErrorKind;
use crate::connector::plan::{Selector, SelectorTemplate};

impl Runner<'_> {
    /// Renders each alternative from the collect's variables, then parses it.
    pub(super) fn render_selector(
        &self,
        template: &SelectorTemplate,
    ) -> Result<Selector, CollectError> {
        template
            .render(|t| self.render(t))?
            .map_err(|e| self.error_now(ErrorKind::ConnectorError.into(), e.to_string()))
    }

    /// Reports the alternative an action used (`alternative` 0-based), when the selector
    /// has several: an event for traces, and a line `gleaner run -v` shows.
    pub(super) fn matched_alternative(&self, selector: &Selector, alternative: u32) {
        let alternatives = selector.alternatives();
        let Some(alt) = alternatives.get(alternative as usize) else {
            return;
        };
        *self.last_match.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((alternative + 1, alt.source.clone()));
        if alternatives.len() < 2 {
            return;
        }
        let step = self.current.clone();
        tracing::info!(
            "{}: matched alternative {} {:?}",
            step.as_ref().map(|s| s.to_string()).unwrap_or_default(),
            alternative + 1,
            alt.source
        );
        self.emit(Event::SelectorMatched {
            step,
            alternative: alternative + 1,
            selector: alt.source.clone(),
        });
    }

    /// Where `selector` would match if it matches nothing (a same-origin frame, across a
    /// shadow boundary), as a clause to add to the error. Never fails: a hint is a bonus.
    /// Where else `selector` would match: in a same-origin frame or across a shadow
    /// boundary (the in-page agent looks), else in any frame, cross-site ones included.
    pub(super) async fn missing_hint(&self, selector: &Selector) -> String {
        match self.tab.missing_hint(selector).await {
            Ok(Some(hint)) => format!("; {hint}"),
            _ => self.frame_hint(selector).await,
        }
    }
}
