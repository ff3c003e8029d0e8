//! The [`Plan`] itself: a checked connector, ready to run.

use std::time::Duration;

use indexmap::IndexMap;
use url::Url;

use super::account_field::AccountField;
use super::login::Login;
use super::page::{Page, PageId};
use super::session_check::SessionCheck;
use super::step::Step;
use crate::browser::DialogAnswer;

/// A checked connector, ready to run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Stable identifier, lowercase with dashes: `demo-bank`.
    pub id: String,
    /// Name shown to people.
    pub name: String,
    pub base_url: Url,
    /// The hosts the page may reach besides the base URL's.
    pub domains: Vec<String>,
    /// What the person must give, in the order they are asked.
    pub fields: IndexMap<String, AccountField>,
    /// The named pages; a [`PageId`] indexes this table.
    pub pages: Vec<Page>,
    pub login: Login,
    /// How long an `await_page` of the login waits before counting the login as done,
    /// when the connector names no `success` page (`None`: never).
    pub auto_success: Option<Duration>,
    /// The collect steps, run once logged in.
    pub steps: Vec<Step>,
    /// How to test a browser session kept from the last collect.
    pub session: Option<SessionCheck>,
    /// The whole collect's deadline, instead of the run's default (waits for the person
    /// not counted).
    pub timeout: Option<Duration>,
    /// How the page's `alert`, `confirm` and `prompt` are answered.
    pub dialogs: DialogAnswer,
    /// Query parameters and body fields a replay ignores (`replay: {volatile}`).
    pub replay_volatile: Vec<String>,
    /// The cookies a verification keeps from the last session (`session: {keep_on_verify}`).
    pub keep_on_verify: Vec<String>,
}

impl Plan {
    /// The field that names the account: the one marked `identity`, else the first
    /// non-secret one.
    pub fn identity_field(&self) -> Option<&str> {
        self.fields
            .iter()
            .find(|(_, f)| f.identity)
            .or_else(|| self.fields.iter().find(|(_, f)| !f.is_secret()))
            .map(|(name, _)| name.as_str())
    }

    pub fn page(&self, id: PageId) -> &Page {
        &self.pages[id.index()]
    }

    /// Whether the connector logs in at all (a kept session only matters then).
    pub fn logs_in(&self) -> bool {
        !matches!(self.login, Login::None)
    }

    /// The person does the whole login on the live screen.
    pub fn has_interactive_login(&self) -> bool {
        matches!(self.login, Login::Interactive(_))
    }
}
