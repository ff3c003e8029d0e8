//! Steps: an action, or a block run under a condition or once per record of a list.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

use super::page::{FramePath, PageId, Pattern};
use super::selector::{Selector, SelectorTemplate};
use super::text::LocalizedText;
use crate::codes::ErrorCode;
use crate::connector::model::CodeKind;
use crate::extract::Field;
use crate::template::Template;

/// One step of a section.
#[derive(Debug, Clone)]
pub struct Step {
    /// Where the step is, for progress and errors.
    pub at: StepRef,
    /// Run the step only when this holds now.
    pub when: Option<Condition>,
    /// Act inside this frame (the step's block too, unless its steps name their own);
    /// `None`: where the enclosing block acts, the page itself at the top.
    pub frame: Option<FramePath>,
    pub kind: StepKind,
}

#[derive(Debug, Clone)]
pub enum StepKind {
    Action(Action),
    /// A block run under `when`.
    Block(Vec<Step>),
    /// A block run once per record of `list`, the record named `var`.
    ForEach {
        list: String,
        var: String,
        body: Vec<Step>,
    },
    /// A block run in the tab a click opens.
    Popup(Popup),
}

/// Click, follow the tab it opens, run `body` there, close it.
#[derive(Debug, Clone)]
pub struct Popup {
    pub click: Template,
    pub timeout: Option<Duration>,
    pub body: Vec<Step>,
}

/// `when`: every part given must hold.
#[derive(Debug, Clone, Default)]
pub struct Condition {
    pub page: Option<PageId>,
    pub present: Option<Selector>,
    pub absent: Option<Selector>,
    pub url: Option<Pattern>,
}

/// One action per YAML key of a step.
#[derive(Debug, Clone)]
pub enum Action {
    Goto(Template),
    /// Type values into inputs, in order.
    Fill(Vec<(Selector, Template)>),
    Click(Click),
    /// Choose options in `<select>` elements, by value or by visible label.
    Select(Vec<(Selector, Template)>),
    Press(Press),
    Wait(Wait),
    AwaitPage(AwaitPage),
    AskCode(AskCode),
    Fail(Fail),
    Extract(Extract),
    Download(Download),
    Eval(Eval),
    Interactive(Interactive),
    /// The JSON steps (see `json.rs`).
    Capture(super::json::Capture),
    Fetch(super::json::Fetch),
    ExtractJson(super::json::ExtractJson),
}

#[derive(Debug, Clone)]
pub struct Click {
    pub selector: SelectorTemplate,
    /// A missing element is not an error: the step is skipped.
    pub optional: bool,
    pub timeout: Option<Duration>,
}

#[derive(Debug, Clone)]
pub struct Press {
    pub key: String,
    /// Clicked first, to focus it.
    pub selector: Option<SelectorTemplate>,
}

#[derive(Debug, Clone)]
pub struct Wait {
    pub until: WaitFor,
    pub timeout: Option<Duration>,
}

#[derive(Debug, Clone)]
pub enum WaitFor {
    /// A visible element matches.
    Selector(SelectorTemplate),
    /// The URL matches.
    Url(Pattern),
    /// No visible element matches.
    Gone(SelectorTemplate),
}

#[derive(Debug, Clone)]
pub struct AwaitPage {
    /// The first one recognised wins.
    pub one_of: Vec<PageId>,
    pub timeout: Option<Duration>,
    /// The error when none is recognised in time; `None` for the default `TIMEOUT`, which
    /// lets a login without a `success` page count as done (auto success).
    pub otherwise: Option<ErrorCode>,
}

#[derive(Debug, Clone)]
pub struct AskCode {
    pub kind: CodeKind,
    /// What the person is told; without it, what `kind` of code to give.
    pub label: Option<LocalizedText>,
    /// The variable that holds the code.
    pub var: String,
    pub timeout: Option<Duration>,
}

#[derive(Debug, Clone)]
pub struct Fail {
    pub code: ErrorCode,
    pub message: Option<String>,
    /// Take the message from the text of the element this selector matches.
    pub message_from: Option<SelectorTemplate>,
}

/// Records from the current page, appended to the list `var`.
#[derive(Debug, Clone)]
pub struct Extract {
    pub var: String,
    pub rows: Rows,
    pub fields: Vec<Field>,
    pub paginate: Option<Paginate>,
    /// Rows matching nothing is not an error (see [`Extract::rows`]).
    pub allow_empty: bool,
    /// Whether the records go to the collect's output. A list named `_…` only drives the
    /// connector (a frame URL, a one-time grant): templates and `for_each` see it, the
    /// output does not.
    pub in_output: bool,
}

/// Where an extract's rows are.
#[derive(Debug, Clone)]
pub enum Rows {
    /// Each element matching the selector is a row.
    Selector(Template),
    /// The data rows of the first matching table (`col` finds cells by header text).
    Table(Template),
    /// The whole page is one record.
    Page,
}

#[derive(Debug, Clone)]
pub enum Paginate {
    /// A link or button that loads the next page.
    Next(PageTurn),
    /// A button that appends rows to the same page.
    LoadMore(PageTurn),
}

#[derive(Debug, Clone)]
pub struct PageTurn {
    pub selector: SelectorTemplate,
    /// Pages read (or clicks on `load_more`) at most; at least 1.
    pub max_pages: u32,
    pub timeout: Option<Duration>,
}

/// Documents to fetch, one per row; each becomes a record of the list `var`.
#[derive(Debug, Clone)]
pub struct Download {
    pub var: String,
    /// The rows (with `links`, each link is a row).
    pub rows: Template,
    /// Where a row's document URL is.
    pub link: Field,
    /// The document record's fields (`id` first when given).
    pub fields: Vec<Field>,
    /// Rows matching nothing is not an error.
    pub allow_empty: bool,
    /// Click this element of each row and take what the browser downloads, instead of
    /// fetching `link`.
    pub click: Option<Template>,
    /// With `click`: the document opens in a new tab; its URL is downloaded.
    pub popup: bool,
    /// Boxed: a step's action stays small.
    pub paginate: Option<Box<Paginate>>,
}

#[derive(Debug, Clone)]
pub struct Eval {
    pub js: Template,
    /// Keep the JSON result in this variable.
    pub var: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Interactive {
    pub until: PageId,
    pub instructions: Option<LocalizedText>,
    pub timeout: Option<Duration>,
}

/// The part of a connector a step belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Section {
    Login,
    Steps,
    Session,
}

impl Section {
    pub fn as_str(self) -> &'static str {
        match self {
            Section::Login => "login",
            Section::Steps => "steps",
            Section::Session => "session",
        }
    }
}

impl fmt::Display for Section {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which step, as a connector author finds it in the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepRef {
    pub section: Section,
    /// 1-based, nested with dots: `4`, `7.2`.
    pub number: String,
    /// The step as written, secrets never included: `click '#submit'`.
    pub summary: String,
    /// Line in the connector file (0 when unknown).
    pub line: u32,
}

impl fmt::Display for StepRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let section = if self.section == Section::Login {
            "login step"
        } else {
            "step"
        };
        write!(f, "{section} {} ({}", self.number, self.summary)?;
        if self.line > 0 {
            write!(f, ", line {}", self.line)?;
        }
        f.write_str(")")
    }
}
