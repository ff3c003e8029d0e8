//! JavaScript dialogs (`alert`, `confirm`, `prompt`, `beforeunload`). With the `Page`
//! domain enabled and no one to answer, a dialog stalls the page's scripts and its load, so
//! a `goto` or a wait would hang until its deadline. Each dialog is answered at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use chromiumoxide::Page;
use chromiumoxide::cdp::browser_protocol::page::{
    DialogType, EventJavascriptDialogOpening, HandleJavaScriptDialogParams,
};
use chromiumoxide::error::CdpError;
use futures::StreamExt;
use tokio::task::JoinHandle;

/// How much of a dialog's message goes into the log.
const MESSAGE_LOGGED: usize = 100;

/// How `alert`, `confirm` and `prompt` are answered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DialogAnswer {
    /// Cancel: `confirm` returns false, `prompt` null.
    #[default]
    Dismiss,
    /// OK: `confirm` returns true, `prompt` an empty string.
    Accept,
}

/// What the tab's dialog handler does and has done, shared with its task.
#[derive(Debug, Default)]
pub(crate) struct Dialogs {
    accept: AtomicBool,
    answered: AtomicU32,
}

impl Dialogs {
    pub(crate) fn set_answer(&self, answer: DialogAnswer) {
        self.accept
            .store(answer == DialogAnswer::Accept, Ordering::Relaxed);
    }

    /// How many dialogs were answered so far.
    pub(crate) fn answered(&self) -> u32 {
        self.answered.load(Ordering::Relaxed)
    }
}

/// Answers every dialog the page opens, until aborted.
pub(crate) async fn start(page: &Page, dialogs: Arc<Dialogs>) -> Result<JoinHandle<()>, CdpError> {
    let mut opened = page
        .event_listener::<EventJavascriptDialogOpening>()
        .await?;
    let page = page.clone();
    Ok(tokio::spawn(async move {
        while let Some(ev) = opened.next().await {
            // `beforeunload` is always accepted: the connector asked to leave the page, and
            // staying would hold its navigation until the step's deadline.
            let accept =
                ev.r#type == DialogType::Beforeunload || dialogs.accept.load(Ordering::Relaxed);
            let mut answer = HandleJavaScriptDialogParams::new(accept);
            if accept && ev.r#type == DialogType::Prompt {
                // Not the site's default value: gleaner types nothing it was not told to.
                answer.prompt_text = Some(String::new());
            }
            let message: String = ev.message.chars().take(MESSAGE_LOGGED).collect();
            // The prompt's default value is never logged: a site may prefill it with anything.
            tracing::info!(
                kind = ev.r#type.as_ref(),
                accepted = accept,
                "the page opened a dialog: {message:?}"
            );
            match page.execute(answer).await {
                Ok(_) => {
                    dialogs.answered.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => tracing::warn!("a dialog could not be answered: {e}"),
            }
        }
    }))
}
