//! What a failed CDP request means for the caller: the browser is gone, a timeout, a
//! script's exception, or another protocol error.

use chromiumoxide::error::CdpError;
use tokio::sync::watch;

use super::error::BrowserError;

/// The [`BrowserError`] of a failed request; `alive` tells a crash from a refusal.
pub(crate) fn cdp_error(e: CdpError, alive: &watch::Receiver<bool>) -> BrowserError {
    if !*alive.borrow() {
        return BrowserError::Crashed;
    }
    match e {
        CdpError::Timeout => BrowserError::Timeout("CDP request".into()),
        // Over the pipe, a browser that is gone shows up as `Io` (EOF, reset).
        CdpError::Ws(_)
        | CdpError::Io(_)
        | CdpError::ChannelSendError(_)
        | CdpError::NoResponse => BrowserError::Crashed,
        CdpError::JavascriptException(ex) => {
            let text = ex
                .exception
                .as_ref()
                .and_then(|o| o.description.clone())
                .unwrap_or_else(|| ex.text.clone());
            BrowserError::Script(text)
        }
        other => BrowserError::Cdp(other.to_string()),
    }
}
