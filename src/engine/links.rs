//! The engine's links to whoever runs it: where events go, where codes and the end of an
//! interactive step come from, and what must never be shown.

use tokio::sync::mpsc;

use super::event::Event;
use crate::secrets::Redactor;

/// The engine's links to whoever runs it.
pub struct Links {
    pub events: mpsc::UnboundedSender<Event>,
    /// One-time codes from the person. `None` for a background collect: reaching
    /// `ask_code` then ends the collect at once with `USER_ACTION_NEEDED.TWOFA_EXPIRED`.
    pub codes: Option<mpsc::Receiver<String>>,
    /// The person says they finished an `interactive` step. Without it, the step ends
    /// only when its page is recognised (or times out).
    pub closes: Option<mpsc::Receiver<()>>,
    pub redactor: Redactor,
}

impl Links {
    /// Links for a run with nobody watching: `ask_code` and `interactive` end it at once.
    pub fn background(events: mpsc::UnboundedSender<Event>) -> Links {
        Links {
            events,
            codes: None,
            closes: None,
            redactor: Redactor::new(),
        }
    }

    /// A background run asks nothing of anybody.
    pub fn is_background(&self) -> bool {
        self.codes.is_none()
    }
}
