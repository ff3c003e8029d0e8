//! How the connector logs in: not at all, with steps, or by the person on the live screen.

use std::time::Duration;

use super::page::PageId;
use super::step::{Step, StepRef};
use super::text::LocalizedText;

/// How the connector logs in.
#[derive(Debug, Clone)]
pub enum Login {
    /// No login: the collect steps run at once.
    None,
    /// Steps that log in; when they end without failing, the login succeeded.
    Steps(Vec<Step>),
    /// The person does the whole login on the live screen.
    Interactive(InteractiveLogin),
}

impl Login {
    /// The login steps (none for an interactive login).
    pub fn steps(&self) -> &[Step] {
        match self {
            Login::Steps(steps) => steps,
            Login::None | Login::Interactive(_) => &[],
        }
    }
}

/// Open `start`, then hand over the screen until `until` is recognised.
#[derive(Debug, Clone)]
pub struct InteractiveLogin {
    pub start: crate::template::Template,
    pub until: PageId,
    pub instructions: Option<LocalizedText>,
    pub timeout: Option<Duration>,
    pub at: StepRef,
}
