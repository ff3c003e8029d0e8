//! The checker: one pass over a raw connector that reports every problem and, when there
//! is none, builds the [`Plan`].

use std::collections::{BTreeSet, HashMap};

use indexmap::IndexMap;
use regex::Regex;

use crate::connector::diagnostic::Diagnostic;

use crate::codes::ErrorCode;
use crate::connector::located::{Located, Pos};
use crate::connector::model::*;
use crate::connector::plan::{
    self, FramePath, Page, PageId, PageMatch, Pattern, Plan, Section, StepRef,
};
use crate::connector::selector_spec::SelectorSpec;
use crate::template::{Segment, Template, is_identifier};

/// What a variable holds, as far as the checker can tell.
#[derive(Debug, Clone)]
pub(super) enum Shape {
    /// A plain value (a code, an `eval` result).
    Value,
    /// A record whose keys are known.
    Record(BTreeSet<String>),
    /// A list of records whose keys are known.
    List(BTreeSet<String>),
    /// JSON whose shape is known only when it runs (an `eval`, `capture` or `fetch`
    /// result, or an item of one): templates may read any path of it and `for_each` may
    /// loop over it, checked when the step runs.
    Json,
}

/// An optional part of a connector after its check: `Some(None)` when absent,
/// `Some(Some(_))` when valid, `None` when invalid (and reported).
pub(super) trait OptionalPart<T> {
    fn part(self) -> Option<Option<T>>;
}

impl<T> OptionalPart<T> for Option<Option<T>> {
    fn part(self) -> Option<Option<T>> {
        match self {
            None => Some(None),
            Some(checked) => checked.map(Some),
        }
    }
}

/// Where a template is used: secrets may only flow into `fill`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Use {
    Fill,
    Other,
}

pub(super) struct Checker<'a> {
    pub(super) file: &'a str,
    pub(super) connector: &'a Connector,
    pub(super) diags: Vec<Diagnostic>,
    /// The language of the connector's plain-string texts (its `language`), when known.
    pub(super) plain_language: Option<plan::LanguageTag>,
}

/// Checks `connector` (read from `file`, named in diagnostics) and compiles it into a plan.
pub fn check(connector: &Connector, file: &str) -> Result<Plan, Vec<Diagnostic>> {
    let mut c = Checker {
        file,
        connector,
        diags: Vec::new(),
        plain_language: None,
    };
    c.plain_language = c.plain_language();
    let base_url = c.top_level();
    // Every field is checked (collected first), so that each bad one is reported.
    let fields: Vec<_> = connector
        .fields
        .iter()
        .map(|(name, def)| Some((name.clone(), c.account_field(def)?)))
        .collect();
    let fields: Option<IndexMap<String, plan::AccountField>> = fields.into_iter().collect();
    let mut pages = Vec::with_capacity(connector.pages.len());
    for (name, page) in &connector.pages {
        if !is_identifier(name) {
            c.err(
                page.pos,
                format!("page name {name:?} must be an identifier (letters, digits, _)"),
            );
        }
        pages.push(c.page(page, page.pos).map(|matcher| Page {
            name: name.clone(),
            matcher,
        }));
    }
    let mut scope: HashMap<String, Shape> = HashMap::new();
    scope.insert(
        "fields".into(),
        Shape::Record(connector.fields.keys().cloned().collect()),
    );
    scope.insert("base_url".into(), Shape::Value);
    let success = connector
        .success
        .as_ref()
        .map(|page| c.page_name(page, page.pos));
    let session = connector.session.as_ref().map(|session| {
        let check = &session.check;
        let pos = check.pos.or(session.pos);
        let goto = c.template(&check.goto, pos, &scope, Use::Other);
        let expect = c.page_name(&check.expect, pos);
        Some(plan::SessionCheck {
            goto: goto?,
            expect: expect?,
            timeout: session.timeout.map(|t| t.get()),
            at: StepRef {
                section: Section::Session,
                number: "check".into(),
                summary: format!(
                    "session check: goto '{}', expect {}",
                    check.goto.value, check.expect.value
                ),
                line: pos.line,
            },
        })
    });
    let interactive_login = connector.interactive_login.as_ref().map(|il| {
        let start = c.template(&il.start, il.pos, &scope, Use::Other);
        let until = c.page_name(&il.until, il.pos);
        let instructions = il
            .instructions
            .as_ref()
            .map(|text| c.text(text, il.pos, "instructions"));
        if let Some(first) = connector.login.first() {
            c.err(
                first.pos,
                "`login` steps cannot be combined with `interactive_login` (the person does the whole login)",
            );
        }
        Some(plan::InteractiveLogin {
            start: start?,
            until: until?,
            instructions: instructions.part()?,
            timeout: il.timeout.map(|t| t.get()),
            at: StepRef {
                section: Section::Login,
                number: "0".into(),
                summary: "interactive_login".into(),
                line: il.pos.line,
            },
        })
    });
    let replay_volatile = c.volatile_names(connector.replay.as_ref());
    let keep_on_verify = c.names(
        connector
            .session
            .as_ref()
            .map(|s| s.value.keep_on_verify.as_slice())
            .unwrap_or_default(),
        "cookie to keep",
    );
    let login = c.steps(&connector.login, &mut scope, Section::Login, "");
    let steps = c.steps(&connector.steps, &mut scope, Section::Steps, "");
    if !c.diags.is_empty() {
        c.diags.sort_by_key(|d| d.pos);
        return Err(c.diags);
    }
    // Nothing was reported, so every piece is there.
    let compiled = (|| {
        let login = match interactive_login {
            Some(il) => plan::Login::Interactive(il?),
            None if connector.login.is_empty() => plan::Login::None,
            None => plan::Login::Steps(login?),
        };
        let success = success.part()?;
        Some(Plan {
            id: connector.id.value.clone(),
            name: connector.name.clone(),
            base_url: base_url?,
            domains: connector.domains.iter().map(|d| d.value.clone()).collect(),
            fields: fields?,
            pages: pages.into_iter().collect::<Option<_>>()?,
            login,
            auto_success: match success {
                Some(_) => None,
                None => AutoSuccess::delay(connector.auto_success),
            },
            steps: steps?,
            session: session.part()?,
            timeout: connector.timeout.map(|t| t.get()),
            dialogs: match connector.dialogs {
                Dialogs::Dismiss => crate::browser::DialogAnswer::Dismiss,
                Dialogs::Accept => crate::browser::DialogAnswer::Accept,
            },
            replay_volatile: replay_volatile?,
            keep_on_verify: keep_on_verify?,
        })
    })();
    compiled.ok_or_else(|| {
        vec![Diagnostic {
            file: file.to_string(),
            pos: Pos { line: 1, column: 1 },
            message: "the connector could not be compiled (a check is missing a message)".into(),
        }]
    })
}

impl Checker<'_> {
    /// `replay: {volatile}`: parameter names, each once.
    fn volatile_names(&mut self, replay: Option<&ReplayDef>) -> Option<Vec<String>> {
        let names = replay.map(|r| r.volatile.as_slice()).unwrap_or_default();
        self.names(names, "volatile parameter")
    }

    /// A list of names, each given and listed once; `what` names one in the errors.
    fn names(&mut self, names: &[Located<String>], what: &str) -> Option<Vec<String>> {
        let mut kept: Vec<String> = Vec::new();
        for name in names {
            if name.value.trim().is_empty() {
                self.err(name.pos, format!("a {what} needs a name"));
            } else if kept.contains(&name.value) {
                self.err(
                    name.pos,
                    format!("the {what} {:?} is listed twice", name.value),
                );
            } else {
                kept.push(name.value.clone());
            }
        }
        Some(kept)
    }

    pub(super) fn err(&mut self, pos: Pos, message: impl Into<String>) {
        self.diags.push(Diagnostic {
            file: self.file.to_string(),
            pos,
            message: message.into(),
        });
    }

    /// The connector-wide checks; returns the base URL.
    pub(super) fn top_level(&mut self) -> Option<url::Url> {
        let c = self.connector;
        let id_ok =
            c.id.chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-')
                && c.id
                    .chars()
                    .next()
                    .is_some_and(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit());
        if !id_ok {
            self.err(
                c.id.pos,
                format!(
                    "id {:?} must be lowercase letters, digits and dashes",
                    c.id.value
                ),
            );
        }
        let base_url = match url::Url::parse(&c.base_url) {
            Ok(u) if u.scheme() == "http" || u.scheme() == "https" => Some(u),
            Ok(u) => {
                self.err(
                    c.base_url.pos,
                    format!("base_url must be http or https, not {:?}", u.scheme()),
                );
                None
            }
            Err(e) => {
                self.err(
                    c.base_url.pos,
                    format!("base_url {:?} is not a URL: {e}", c.base_url.value),
                );
                None
            }
        };
        for d in &c.domains {
            if let Err(e) = crate::browser::check_domain(d) {
                self.err(d.pos, e.to_string());
            }
        }
        for (name, field) in &c.fields {
            if !is_identifier(name) {
                self.err(
                    field.pos,
                    format!("field name {name:?} must be an identifier (letters, digits, _)"),
                );
            }
        }
        let identities: Vec<_> = c.fields.values().filter(|f| f.identity).collect();
        if let Some(extra) = identities.get(1) {
            self.err(extra.pos, "only one field can be the `identity`");
        }
        for f in &identities {
            if f.is_secret() {
                self.err(
                    f.pos,
                    "a secret field cannot be the `identity` (it is shown to the host page)",
                );
            }
        }
        if c.login.is_empty() && c.interactive_login.is_none() && c.steps.is_empty() {
            self.err(
                Pos { line: 1, column: 1 },
                "the connector has no `login`, no `interactive_login` and no `steps`",
            );
        }
        base_url
    }

    /// A frame path: each entry a CSS selector of a frame's element.
    pub(super) fn frame(&mut self, frame: &Located<FrameDef>, fallback: Pos) -> Option<FramePath> {
        let pos = frame.pos.or(fallback);
        let list: Vec<&String> = match &frame.value {
            FrameDef::One(one) => vec![one],
            FrameDef::Nested(list) => list.iter().collect(),
        };
        if list.is_empty() {
            self.err(
                pos,
                "`frame` needs a selector of the frame's element, or a list of them",
            );
            return None;
        }
        let mut selectors = Vec::with_capacity(list.len());
        for sel in list {
            if sel.contains("{{") {
                self.err(pos, "a frame's selector cannot hold a template");
                return None;
            }
            selectors.push(self.selector(&Located::new(sel.clone()), pos));
        }
        Some(FramePath::new(
            selectors.into_iter().collect::<Option<Vec<_>>>()?,
        ))
    }

    pub(super) fn page(&mut self, page: &PageDef, pos: Pos) -> Option<PageMatch> {
        let frame = page.frame.as_ref().map(|f| self.frame(f, pos));
        let url = page.url.as_ref().map(|u| self.regex(u, pos));
        let mut selector =
            |sel: &Option<Located<SelectorSpec>>| sel.as_ref().map(|s| self.live_selector(s, pos));
        let (has, exists, lacks) = (
            selector(&page.has),
            selector(&page.exists),
            selector(&page.lacks),
        );
        let mut list = |list: &Option<Vec<Located<PageDef>>>| {
            list.as_ref().map(|list| {
                if list.is_empty() {
                    self.err(pos, "`any` and `all` need at least one entry");
                }
                list.iter()
                    .map(|p| self.page(p, p.pos.or(pos)))
                    .collect::<Vec<_>>()
            })
        };
        let (any, all) = (list(&page.any), list(&page.all));
        let keys = [
            url.is_some(),
            has.is_some(),
            exists.is_some(),
            lacks.is_some(),
        ]
        .into_iter()
        .chain([any.is_some(), all.is_some()])
        .filter(|present| *present)
        .count();
        if keys == 0 {
            self.err(
                pos,
                "a page needs at least one of url, has, exists, lacks, any, all",
            );
        }
        let list = |l: Option<Vec<Option<PageMatch>>>| -> Option<Option<Vec<PageMatch>>> {
            l.map(|l| l.into_iter().collect::<Option<Vec<_>>>()).part()
        };
        Some(PageMatch {
            frame: frame.part()?,
            url: url.part()?,
            has: has.part()?,
            exists: exists.part()?,
            lacks: lacks.part()?,
            any: list(any)?,
            all: list(all)?,
        })
    }

    pub(super) fn regex(&mut self, re: &Located<String>, fallback: Pos) -> Option<Pattern> {
        match Regex::new(re) {
            Ok(regex) => Some(Pattern::new(regex)),
            Err(e) => {
                let first = one_line(&e.to_string());
                self.err(
                    re.pos.or(fallback),
                    format!("invalid regular expression {:?}: {first}", re.value),
                );
                None
            }
        }
    }

    /// Selectors are checked with `scraper`'s parser (the CSS that Chromium accepts is a
    /// superset, but a selector `scraper` rejects is almost always a typo). Templates
    /// inside a selector are checked as templates and replaced by a placeholder.
    pub(super) fn selector(&mut self, sel: &Located<String>, fallback: Pos) -> Option<String> {
        let pos = sel.pos.or(fallback);
        let text = if sel.contains("{{") {
            match Template::parse(sel) {
                Ok(t) => t
                    .segments
                    .iter()
                    .map(|s| match s {
                        Segment::Text(t) => t.clone(),
                        Segment::Var(_) => "x".to_string(),
                    })
                    .collect(),
                Err(e) => {
                    self.err(pos, e.to_string());
                    return None;
                }
            }
        } else {
            sel.value.clone()
        };
        if text.trim().is_empty() {
            self.err(pos, "empty CSS selector");
            return None;
        }
        if let Err(e @ plan::SelectorError::NotCss(_)) = plan::check_html_css(&text) {
            self.err(pos, e.to_string());
            return None;
        }
        if let Err(e) = scraper::Selector::parse(&text) {
            self.err(
                pos,
                format!(
                    "invalid CSS selector {:?}: {}",
                    sel.value,
                    describe_selector_error(&e)
                ),
            );
            return None;
        }
        Some(sel.value.clone())
    }

    /// A selector that may name variables (`'#acct-{{account.id}}'`), rendered when it
    /// runs. Its variables are looked up then, as they always were.
    pub(super) fn selector_template(
        &mut self,
        sel: &Located<String>,
        fallback: Pos,
    ) -> Option<Template> {
        let checked = self.selector(sel, fallback)?;
        // `selector` parsed any template in it already.
        Template::parse(&checked).ok()
    }

    pub(super) fn page_name(&mut self, name: &Located<String>, fallback: Pos) -> Option<PageId> {
        if let Some(index) = self.connector.pages.get_index_of(name.as_str()) {
            Some(PageId::new(index))
        } else {
            let known: Vec<&str> = self.connector.pages.keys().map(String::as_str).collect();
            let hint = if known.is_empty() {
                "no pages are defined".to_string()
            } else {
                format!("defined pages: {}", known.join(", "))
            };
            self.err(
                name.pos.or(fallback),
                format!("undefined page {:?} ({hint})", name.value),
            );
            None
        }
    }

    pub(super) fn error_code(
        &mut self,
        code: &Located<String>,
        fallback: Pos,
    ) -> Option<ErrorCode> {
        match code.parse::<ErrorCode>() {
            Ok(code) => Some(code),
            Err(e) => {
                self.err(code.pos.or(fallback), e.to_string());
                None
            }
        }
    }

    /// Checks a variable name; returns it.
    pub(super) fn var_name(&mut self, name: &Located<String>, fallback: Pos) -> Option<String> {
        if !is_identifier(name) || name.contains('-') {
            self.err(
                name.pos.or(fallback),
                format!(
                    "variable name {:?} must be letters, digits and _",
                    name.value
                ),
            );
        } else if name.as_str() == "fields" || name.as_str() == "base_url" {
            self.err(
                name.pos.or(fallback),
                format!("`{}` is reserved", name.value),
            );
        } else {
            return Some(name.value.clone());
        }
        None
    }

    pub(super) fn template(
        &mut self,
        text: &Located<String>,
        fallback: Pos,
        scope: &HashMap<String, Shape>,
        usage: Use,
    ) -> Option<Template> {
        let pos = text.pos.or(fallback);
        let t = match Template::parse(text) {
            Ok(t) => t,
            Err(e) => {
                self.err(pos, e.to_string());
                return None;
            }
        };
        let before = self.diags.len();
        for path in t.vars() {
            let shown = path.join(".");
            let root = path[0].as_str();
            match scope.get(root) {
                None => {
                    let mut known: Vec<&str> = scope.keys().map(String::as_str).collect();
                    known.sort();
                    self.err(
                        pos,
                        format!(
                            "template names undefined variable `{shown}` (defined here: {})",
                            known.join(", ")
                        ),
                    );
                }
                Some(Shape::Value) if path.len() > 1 => self.err(
                    pos,
                    format!(
                        "`{root}` is a plain value and has no `{}`",
                        path[1..].join(".")
                    ),
                ),
                Some(Shape::List(_)) => self.err(
                    pos,
                    format!("`{root}` is a list; loop over it with for_each to use its records"),
                ),
                Some(Shape::Record(keys)) => {
                    if path.len() == 1 {
                        self.err(
                            pos,
                            format!("`{root}` is a record; name one of its keys: {root}.<key>"),
                        );
                    } else if !keys.contains(&path[1]) {
                        let known: Vec<&str> = keys.iter().map(String::as_str).collect();
                        self.err(
                            pos,
                            format!(
                                "`{root}` has no key `{}` (it has: {})",
                                path[1],
                                known.join(", ")
                            ),
                        );
                    } else if path.len() > 2 {
                        self.err(
                            pos,
                            format!("`{shown}`: values of `{root}` have no sub-keys"),
                        );
                    } else if root == "fields" {
                        let secret = self
                            .connector
                            .fields
                            .get(&path[1])
                            .is_some_and(|f| f.is_secret());
                        if secret && usage != Use::Fill {
                            self.err(
                                pos,
                                format!("secret field `{}` may only be used in `fill`", path[1]),
                            );
                        }
                    }
                }
                Some(Shape::Value | Shape::Json) => {}
            }
        }
        (self.diags.len() == before).then_some(t)
    }
}

/// scraper's Display for selector errors is unhelpful ("please report this"); its Debug
/// names the problem (`ClassNeedsIdent`, `UnexpectedToken(...)`).
fn describe_selector_error(e: &scraper::error::SelectorErrorKind) -> String {
    plan::selector_css_error(e)
}

/// Multi-line messages (the regex crate draws a caret under the pattern) kept to one line:
/// the first line and the last, which says what is wrong.
pub(super) fn one_line(text: &str) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let strip = |l: &str| l.trim_start_matches("error: ").to_string();
    match lines.as_slice() {
        [] => String::new(),
        [one] => strip(one),
        [first, .., last] => format!("{} {}", first.trim_end_matches(':'), strip(last))
            .replace("regex parse error ", ""),
    }
}

impl Pos {
    /// This position, or `fallback` when this one is unknown.
    pub fn or(self, fallback: Pos) -> Pos {
        if self.line == 0 { fallback } else { self }
    }
}
