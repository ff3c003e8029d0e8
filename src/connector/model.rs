//! The connector file format (v1), as Rust types. The JSON Schema that editors use is
//! generated from these types (`gleaner schema`), so the two cannot drift apart.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use super::duration::AutoSuccess;
use super::duration::Timeout;
use super::located::Located;
use super::selector_spec::SelectorSpec;

mod reading;
mod text;

pub use reading::*;
pub use text::{LANGUAGE_TAG_PATTERN, Text};

/// One site: how to log in, how to recognise its pages, what to collect.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Connector {
    /// Stable identifier, lowercase with dashes: `demo-bank`.
    pub id: Located<String>,
    /// Name shown to people.
    pub name: String,
    /// The language of the connector's plain-string texts (`label`, `placeholder`,
    /// `instructions`, `ask_code.label`): `fr`, `en`, `pt-BR`. Without it, a plain string is
    /// shown as of unknown language; a map by language (`{ en: …, fr: … }`) says its own.
    #[serde(default)]
    #[schemars(regex(pattern = LANGUAGE_TAG_PATTERN))]
    pub language: Option<Located<String>>,
    /// Where relative URLs (`goto: /login`) point. `gleaner run --base-url` overrides it.
    pub base_url: Located<String>,
    /// The hosts the page may reach, with their subdomains (the base URL's origin is always
    /// allowed): `bank.example` on the default ports (443, 80), `bank.example:8443` on that
    /// port. Requests to any other host or port are blocked inside the browser.
    #[serde(default)]
    pub domains: Vec<Located<String>>,
    /// What the person must give: login, password, ... in the order they are asked.
    #[serde(default)]
    pub fields: IndexMap<String, Located<FieldDef>>,
    /// Named page states, recognised by URL and/or DOM.
    #[serde(default)]
    pub pages: IndexMap<String, Located<PageDef>>,
    /// The page that proves the login worked (e.g. `accounts`). Without it, an `await_page`
    /// of the login that recognises none of its pages within `auto_success` counts as a
    /// successful login (no 2FA and no failure page showed).
    #[serde(default)]
    pub success: Option<Located<String>>,
    /// How long an `await_page` of the login waits before counting a login without a
    /// `success` page as done: a duration (default 8s), or `false` to turn this off.
    #[serde(default)]
    pub auto_success: Option<AutoSuccess>,
    /// The whole login is done by the person on the live screen (some sites only let a
    /// human in). `login` must then be empty.
    #[serde(default)]
    pub interactive_login: Option<Located<InteractiveLogin>>,
    /// Steps that log in (states 2 to 4). When they end without failing, the login succeeded.
    #[serde(default)]
    pub login: Vec<Located<Step>>,
    /// Steps that collect records and documents once logged in (states 5 and 6).
    #[serde(default)]
    pub steps: Vec<Located<Step>>,
    /// How to test a browser session kept from the last collect. The session (cookies and
    /// localStorage) is always kept and restored; with a `check` that passes, the login
    /// (and its 2FA) is skipped.
    #[serde(default)]
    pub session: Option<Located<SessionDef>>,
    /// The deadline of the whole collect (e.g. `30m`), instead of the service's default
    /// (`--collect-timeout`, 15m). Time spent waiting for the person (a one-time code, an
    /// `interactive` step) does not count. Past it, the collect ends in `TIMEOUT`.
    #[serde(default)]
    pub timeout: Option<Timeout>,
    /// How the site's `alert`, `confirm` and `prompt` are answered: `dismiss` (default,
    /// Cancel) or `accept` (OK; a `prompt` gets an empty answer). Each is logged.
    /// `beforeunload` is always accepted, so that leaving a page is never held.
    #[serde(default)]
    pub dialogs: Dialogs,
    /// How `gleaner test` replays this connector's recordings.
    pub replay: Option<ReplayDef>,
}

/// `replay: { volatile: [_, ts, nonce] }`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayDef {
    /// Query parameters (and top-level form or JSON body fields) whose values change on
    /// every run, such as timestamps and nonces: a replayed request matches its recording
    /// whatever their values.
    #[serde(default)]
    pub volatile: Vec<Located<String>>,
}

/// `dialogs: dismiss | accept`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Dialogs {
    #[default]
    Dismiss,
    Accept,
}

/// `session: { check: { goto: /accounts, expect: accounts }, timeout: 10s }`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionDef {
    /// Where to go with the restored session, and the page that proves it is still logged in.
    pub check: Located<SessionCheck>,
    /// How long the check waits for its page (default 10s). It gives up sooner when
    /// another of the connector's pages (a login page) is recognised instead.
    #[serde(default)]
    pub timeout: Option<Timeout>,
    /// Cookies a verification keeps (the site's "remember this device" cookie): verifying
    /// an account again still types the password, from a browser the site already trusts,
    /// so it need not ask a one-time code again. Every other cookie and localStorage go.
    #[serde(default)]
    pub keep_on_verify: Vec<Located<String>>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionCheck {
    /// A URL template, relative to `base_url`.
    pub goto: Located<String>,
    /// The page recognised there when the session is still valid.
    pub expect: Located<String>,
}

/// A value the person gives for their account.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldDef {
    /// What the field is called: `Login`, or `{ en: Login, fr: Identifiant }`.
    pub label: Located<Text>,
    /// `text` (default), `password`, `email`, `number` or `date`.
    #[serde(default, rename = "type")]
    pub kind: FieldKind,
    /// Secret values are encrypted at rest, never logged, and may only be used in `fill`.
    /// Defaults to true for `type: password`.
    #[serde(default)]
    pub secret: Option<bool>,
    /// An optional field may be left empty.
    #[serde(default)]
    pub optional: bool,
    /// Example shown in an empty input.
    #[serde(default)]
    pub placeholder: Option<Located<Text>>,
    /// This field names the account at the site (a customer number, a login): a person
    /// adding an account with the same value updates it instead of adding another.
    /// Default: the first non-secret field.
    #[serde(default)]
    pub identity: bool,
}

impl FieldDef {
    pub fn is_secret(&self) -> bool {
        self.secret.unwrap_or(self.kind == FieldKind::Password)
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    #[default]
    Text,
    Password,
    Email,
    Number,
    Date,
}

/// How to recognise a page. Every key given must hold (they are combined with AND);
/// `any` holds when one of its entries does, `all` when every one does.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PageDef {
    /// Look inside this frame: its URL and its elements (`any` and `all` too, unless they
    /// name their own frame).
    #[serde(default)]
    pub frame: Option<Located<FrameDef>>,
    /// A regular expression searched in the full URL: `'/login$'`.
    #[serde(default)]
    pub url: Option<Located<String>>,
    /// A selector that matches a visible element.
    #[serde(default)]
    pub has: Option<Located<SelectorSpec>>,
    /// A selector that matches an element, visible or not.
    #[serde(default)]
    pub exists: Option<Located<SelectorSpec>>,
    /// A selector that matches no visible element.
    #[serde(default)]
    pub lacks: Option<Located<SelectorSpec>>,
    #[serde(default)]
    pub any: Option<Vec<Located<PageDef>>>,
    #[serde(default)]
    pub all: Option<Vec<Located<PageDef>>>,
}

/// A frame, by a CSS selector of its `<iframe>`: `'iframe#auth'`; for a frame inside a
/// frame, a list, outermost first: `['iframe#portal', 'iframe[name=login]']`. Cross-site
/// frames work like the others; their host must be in `domains`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum FrameDef {
    One(String),
    Nested(Vec<String>),
}

/// One step. A step has exactly one action (`goto`, `click`, ...), or a block of `steps`
/// run under `when` (a condition) or `for_each` (a loop).
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Run this step (or its block) only when the condition holds.
    #[serde(default)]
    pub when: Option<Located<Condition>>,
    /// Run the block once per record of a list.
    #[serde(default)]
    pub for_each: Option<Located<ForEach>>,
    /// The block run by `when` or `for_each`.
    #[serde(default)]
    pub steps: Option<Vec<Located<Step>>>,
    /// Act inside a frame (and its `when` looks there): `frame: 'iframe#auth'`. On a
    /// block, its steps act there too unless they name their own frame.
    #[serde(default)]
    pub frame: Option<Located<FrameDef>>,

    /// Navigate to a URL (template), relative to `base_url`.
    #[serde(default)]
    pub goto: Option<Located<String>>,
    /// Type values into inputs: `{ '#login': '{{fields.login}}' }`.
    #[serde(default)]
    pub fill: Option<Located<IndexMap<String, Located<String>>>>,
    /// Click an element: `'#submit'` or `{ selector, optional, timeout }`.
    #[serde(default)]
    pub click: Option<Located<Click>>,
    /// Choose options in `<select>` elements, by value or by visible label.
    #[serde(default)]
    pub select: Option<Located<IndexMap<String, Located<String>>>>,
    /// Press a key (DOM key name: `Enter`, `Tab`, `a`...), optionally in an element.
    #[serde(default)]
    pub press: Option<Located<Press>>,
    /// Wait for a selector to show, a URL to match, or a selector to go.
    #[serde(default)]
    pub wait: Option<Located<Wait>>,
    /// Wait until the browser is on one of the named pages.
    #[serde(default)]
    pub await_page: Option<Located<AwaitPage>>,
    /// Ask the person for a one-time code and keep it in a variable.
    #[serde(default)]
    pub ask_code: Option<Located<AskCode>>,
    /// End the collect with an error code.
    #[serde(default)]
    pub fail: Option<Located<Fail>>,
    /// Turn the page's HTML into records.
    #[serde(default)]
    pub extract: Option<Located<Extract>>,
    /// Fetch documents (PDF invoices...) with the browser's session.
    #[serde(default)]
    pub download: Option<Located<Download>>,
    /// Escape hatch: a JavaScript expression evaluated in the page. Its JSON result can be kept `as` a variable.
    #[serde(default)]
    pub eval: Option<Located<Eval>>,
    /// Hand the live screen to the person until a page is recognised or they say they
    /// are done (captcha, unusual 2FA). A background collect ends here in state -2.
    #[serde(default)]
    pub interactive: Option<Located<Interactive>>,
    /// Keep the JSON that one of the page's own requests received.
    #[serde(default)]
    pub capture: Option<Located<Capture>>,
    /// Call a URL with the page's session and keep the JSON it answers.
    #[serde(default)]
    pub fetch: Option<Located<Fetch>>,
    /// Follow the tab a click opens: run `steps` in it, then close it and go on here.
    #[serde(default)]
    pub popup: Option<Located<Popup>>,
}

impl Step {
    /// Every action of the format by its YAML key, and whether this step holds it. The one
    /// list of actions: name and presence side by side, so the two cannot drift apart.
    fn action_table(&self) -> [(&'static str, bool); 16] {
        [
            ("goto", self.goto.is_some()),
            ("fill", self.fill.is_some()),
            ("click", self.click.is_some()),
            ("select", self.select.is_some()),
            ("press", self.press.is_some()),
            ("wait", self.wait.is_some()),
            ("await_page", self.await_page.is_some()),
            ("ask_code", self.ask_code.is_some()),
            ("fail", self.fail.is_some()),
            ("extract", self.extract.is_some()),
            ("download", self.download.is_some()),
            ("eval", self.eval.is_some()),
            ("interactive", self.interactive.is_some()),
            ("capture", self.capture.is_some()),
            ("fetch", self.fetch.is_some()),
            ("popup", self.popup.is_some()),
        ]
    }

    /// The YAML keys of the actions a step can hold.
    pub fn all_action_names() -> Vec<&'static str> {
        Step::default()
            .action_table()
            .into_iter()
            .map(|(name, _)| name)
            .collect()
    }

    /// The YAML keys of the actions this step holds (a valid step holds one).
    pub fn action_names(&self) -> Vec<&'static str> {
        self.action_table()
            .into_iter()
            .filter(|(_, present)| *present)
            .map(|(name, _)| name)
            .collect()
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// The browser is on this named page now.
    #[serde(default)]
    pub page: Option<Located<String>>,
    /// A visible element matches this selector now.
    #[serde(default)]
    pub present: Option<Located<SelectorSpec>>,
    /// No visible element matches this selector now.
    #[serde(default)]
    pub absent: Option<Located<SelectorSpec>>,
    /// The URL matches this regular expression now.
    #[serde(default)]
    pub url: Option<Located<String>>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ForEach {
    /// The list: a variable set by `extract` or `download`.
    #[serde(rename = "in")]
    pub list: Located<String>,
    /// The name each record takes in the block.
    #[serde(rename = "as")]
    pub var: Located<String>,
}

/// `click: '#submit'` or `click: { selector: '#submit', optional: true }`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Click {
    Selector(Located<SelectorSpec>),
    Options(ClickOptions),
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClickOptions {
    pub selector: Located<SelectorSpec>,
    /// When true, a missing element is not an error and the step is skipped.
    #[serde(default)]
    pub optional: bool,
    /// How long to wait for the element to show (default 10s; 2s when optional).
    #[serde(default)]
    pub timeout: Option<Timeout>,
}

impl Click {
    pub fn options(&self) -> ClickOptions {
        match self {
            Click::Selector(s) => ClickOptions {
                selector: s.clone(),
                optional: false,
                timeout: None,
            },
            Click::Options(o) => o.clone(),
        }
    }
}

/// `press: Enter` or `press: { key: Enter, selector: '#search' }`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Press {
    Key(String),
    Options(PressOptions),
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PressOptions {
    pub key: String,
    /// Focus this element first.
    #[serde(default)]
    pub selector: Option<Located<SelectorSpec>>,
}

impl Press {
    pub fn options(&self) -> PressOptions {
        match self {
            Press::Key(k) => PressOptions {
                key: k.clone(),
                selector: None,
            },
            Press::Options(o) => o.clone(),
        }
    }
}

/// Exactly one of `selector`, `url`, `gone`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Wait {
    /// Wait until a visible element matches.
    #[serde(default)]
    pub selector: Option<Located<SelectorSpec>>,
    /// Wait until the URL matches this regular expression.
    #[serde(default)]
    pub url: Option<Located<String>>,
    /// Wait until no visible element matches.
    #[serde(default)]
    pub gone: Option<Located<SelectorSpec>>,
    #[serde(default)]
    pub timeout: Option<Timeout>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AwaitPage {
    /// Page names; the first one recognised wins.
    pub one_of: Vec<Located<String>>,
    /// Default 20s.
    #[serde(default)]
    pub timeout: Option<Timeout>,
    /// The error code when none is recognised in time (default `TIMEOUT`).
    #[serde(default, rename = "else")]
    pub otherwise: Option<Located<String>>,
}

/// The person drives the page (clicks, keys, text on the live screen).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Interactive {
    /// The page that ends the step once recognised.
    pub until: Located<String>,
    /// What the person is told to do.
    #[serde(default)]
    pub instructions: Option<Located<Text>>,
    /// How long the person has (default 5m).
    #[serde(default)]
    pub timeout: Option<Timeout>,
}

/// A login done entirely by the person: open `start`, then hand over the screen.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InteractiveLogin {
    /// Where the person starts (a URL template, relative to `base_url`).
    pub start: Located<String>,
    /// The page that proves the login worked.
    pub until: Located<String>,
    /// What the person is told to do.
    #[serde(default)]
    pub instructions: Option<Located<Text>>,
    /// How long the person has (default 5m).
    #[serde(default)]
    pub timeout: Option<Timeout>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AskCode {
    #[serde(default)]
    pub kind: CodeKind,
    /// What the person is told, e.g. `{ en: Code received by SMS, fr: Code reçu par SMS }`.
    /// Without it, the person is told what `kind` of code to give.
    #[serde(default)]
    pub label: Option<Located<Text>>,
    /// The variable that holds the code (default `code`).
    #[serde(default, rename = "as")]
    pub var: Option<Located<String>>,
    /// How long to wait for the person (default 5m).
    #[serde(default)]
    pub timeout: Option<Timeout>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CodeKind {
    Sms,
    Email,
    App,
    #[default]
    Unknown,
}

impl CodeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CodeKind::Sms => "sms",
            CodeKind::Email => "email",
            CodeKind::App => "app",
            CodeKind::Unknown => "unknown",
        }
    }

    /// What to tell the person when the connector gives no `label`, in English (the UI says
    /// it in the person's language).
    pub fn default_label(self) -> &'static str {
        match self {
            CodeKind::Sms => "Code received by SMS",
            CodeKind::Email => "Code received by email",
            CodeKind::App => "Code from your authenticator app",
            CodeKind::Unknown => "Verification code",
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Fail {
    /// `LOGIN_FAILED`, `VENDOR_DOWN`, `CONNECTOR_ERROR`, `USER_ACTION_NEEDED`..., optionally with a
    /// `.DETAIL` suffix: `LOGIN_FAILED.WRONG_TWOFA_CODE`.
    pub code: Located<String>,
    #[serde(default)]
    pub message: Option<String>,
    /// Take the message from the text of the element this selector matches.
    #[serde(default)]
    pub message_from: Option<Located<SelectorSpec>>,
}

/// A tab the page opens on a click, followed: `steps` run in it, then it is closed and the
/// steps after go on in the tab that opened it.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Popup {
    /// The element whose click opens the tab.
    pub click: Located<String>,
    /// The steps run in the new tab.
    pub steps: Vec<Located<Step>>,
    /// How long the tab may take to open (default 10s).
    #[serde(default)]
    pub timeout: Option<Timeout>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Eval {
    Script(Located<String>),
    Options(EvalOptions),
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EvalOptions {
    pub js: Located<String>,
    #[serde(default, rename = "as")]
    pub var: Option<Located<String>>,
}

impl Eval {
    pub fn options(&self) -> EvalOptions {
        match self {
            Eval::Script(js) => EvalOptions {
                js: js.clone(),
                var: None,
            },
            Eval::Options(o) => o.clone(),
        }
    }
}

crate::connector::shorthand::string_or_struct!(Press, Key, PressOptions, Options);
crate::connector::shorthand::string_or_struct!(Eval, Script, EvalOptions, Options);
