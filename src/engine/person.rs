//! Steps that need the person: a one-time code (`ask_code`) and the live screen
//! (`interactive`). A background run (no channel to anybody) ends at once in state -2:
//! it never waits for someone who is not there.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use tokio::sync::mpsc;

use super::error::CollectError;
use super::event::Event;
use super::pages::{SelectorSet, matches};
use super::runner::Runner;
use crate::codes::{ErrorCode, ErrorKind, State};
use crate::connector::plan::{AskCode, LocalizedText, PageId};
use crate::duration::format_duration;

/// How long the person has for an `interactive` step unless it says otherwise.
const INTERACTIVE_TIMEOUT: Duration = Duration::from_secs(300);

fn twofa_expired() -> ErrorCode {
    ErrorCode::with_detail(ErrorKind::UserActionNeeded, "TWOFA_EXPIRED")
}

impl Runner<'_> {
    pub(super) async fn ask_code(&mut self, ask: &AskCode) -> Result<(), CollectError> {
        let var = ask.var.clone();
        let timeout = ask.timeout.unwrap_or(self.options.code_timeout);
        let Some(mut codes) = self.links.codes.take() else {
            let code = twofa_expired();
            return Err(self.error(code, "the site asks for a one-time code and nobody is there to give it (background collect)").await);
        };
        // A code typed before this step asked for one belongs to an earlier request.
        while codes.try_recv().is_ok() {}
        // Taken out for the wait, so that the runner stays free; put back after it. The
        // collect's deadline stands still while the person looks for their code.
        let paused = self.deadline.pause();
        let received = self.wait_for_code(&mut codes, ask, timeout).await;
        drop(paused);
        self.links.codes = Some(codes);
        match received {
            Ok(Some(code)) => {
                let code = code.trim().to_string();
                self.links.redactor.add(&code);
                self.vars.insert(var, Value::String(code));
                self.set_state(State::TwofaProceeding, None);
                Ok(())
            }
            Ok(None) => {
                let code = twofa_expired();
                Err(self
                    .error(
                        code,
                        "nobody can give the one-time code any more (the input was closed)",
                    )
                    .await)
            }
            Err(_) => {
                let code = twofa_expired();
                let why = format!(
                    "no one-time code was given within {}",
                    format_duration(timeout)
                );
                Err(self.error(code, why).await)
            }
        }
    }

    /// Tells the person a code is needed, then waits for it: `Err` when time ran out,
    /// `Ok(None)` when the input closed.
    async fn wait_for_code(
        &mut self,
        codes: &mut mpsc::Receiver<String>,
        ask: &AskCode,
        timeout: Duration,
    ) -> Result<Option<String>, tokio::time::error::Elapsed> {
        let expires_at = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d + timeout)
            .unwrap_or_default()
            .as_secs();
        let message = ask
            .label
            .as_ref()
            .map_or(ask.kind.default_label(), |l| l.english_or_first());
        self.set_state(State::TwofaWaiting, Some(message.to_string()));
        self.emit(Event::CodeRequested {
            kind: ask.kind,
            label: ask.label.clone(),
            expires_at,
        });
        tokio::time::timeout(timeout, codes.recv()).await
    }

    /// Hands the screen to the person until `until` is recognised, they send `close`, or
    /// the time is up.
    pub(super) async fn interactive(
        &mut self,
        until: PageId,
        timeout: Option<Duration>,
        instructions: Option<&LocalizedText>,
    ) -> Result<(), CollectError> {
        if self.links.is_background() {
            let why = "the site needs a person on the live screen and nobody is there (background collect)";
            return Err(self.error(twofa_expired(), why).await);
        }
        let timeout = timeout.unwrap_or(INTERACTIVE_TIMEOUT);
        let until = self.plan.page(until);
        let page = &until.matcher;
        let mut sels = SelectorSet::default();
        sels.add_page(page);
        // The live screen may lay the page out for the person's display meanwhile.
        self.tab
            .lend_to_person(true)
            .await
            .map_err(|e| self.browser_failure(e))?;
        self.emit(Event::Interactive {
            active: true,
            instructions: instructions.cloned(),
        });
        // Taken out for the wait, so that the probe loop can borrow the runner.
        let mut closes = self.links.closes.take();
        while let Some(c) = closes.as_mut()
            && c.try_recv().is_ok()
        {}
        let closed = async {
            match closes.as_mut() {
                Some(c) => c.recv().await.is_some(),
                None => std::future::pending().await,
            }
        };
        let recognised = self.wait_for_pages(&sels, timeout, |probe| matches(page, probe, &sels));
        // The person has the screen: the collect's deadline stands still meanwhile.
        let paused = self.deadline.pause();
        let result = tokio::select! {
            r = recognised => r.map(|(_, found)| found),
            person_done = closed => Ok(person_done),
        };
        drop(paused);
        self.links.closes = closes;
        self.emit(Event::Interactive {
            active: false,
            instructions: None,
        });
        // Back to the layout the connector's next steps were written for (the wait's own
        // failure, if any, says more than this one).
        let restored = self.tab.lend_to_person(false).await;
        let person_done = result?;
        restored.map_err(|e| self.browser_failure(e))?;
        if person_done {
            return Ok(());
        }
        let code = ErrorCode::with_detail(ErrorKind::UserActionNeeded, "INTERACTIVE_EXPIRED");
        let why = format!(
            "the person did not get through within {} (page {:?} not recognised)",
            format_duration(timeout),
            until.name
        );
        Err(self.error(code, why).await)
    }
}
