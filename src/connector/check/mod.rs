//! Static checks of a parsed connector: what serde cannot see. Every problem found is
//! reported (the check does not stop at the first), each at the position of its node.

use std::collections::{BTreeSet, HashMap};

use regex::Regex;

use super::Diagnostic;

mod steps;
use super::model::*;
use super::span::{Pos, Sp};
use super::template::{Template, is_identifier};
use crate::codes::ErrorCode;

/// What a variable holds, as far as the checker can tell.
#[derive(Debug, Clone)]
enum Shape {
    /// A plain value (a code, an `eval` result).
    Value,
    /// A record whose keys are known.
    Record(BTreeSet<String>),
    /// A list of records whose keys are known.
    List(BTreeSet<String>),
}

/// Where a template is used: secrets may only flow into `fill`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Use {
    Fill,
    Other,
}

struct Checker<'a> {
    file: &'a str,
    connector: &'a Connector,
    diags: Vec<Diagnostic>,
}

pub fn check(connector: &Connector, file: &str) -> Vec<Diagnostic> {
    let mut c = Checker {
        file,
        connector,
        diags: Vec::new(),
    };
    c.top_level();
    for (name, page) in &connector.pages {
        if !is_identifier(name) {
            c.err(
                page.pos,
                format!("page name {name:?} must be an identifier (letters, digits, _)"),
            );
        }
        c.page(page, page.pos);
    }
    let mut scope: HashMap<String, Shape> = HashMap::new();
    scope.insert(
        "fields".into(),
        Shape::Record(connector.fields.keys().cloned().collect()),
    );
    scope.insert("base_url".into(), Shape::Value);
    if let Some(page) = &connector.success {
        c.page_name(page, page.pos);
    }
    if let Some(session) = &connector.session {
        let check = &session.check;
        let pos = check.pos.or(session.pos);
        c.template(&check.goto, pos, &scope, Use::Other);
        c.page_name(&check.expect, pos);
    }
    if let Some(il) = &connector.interactive_login {
        c.template(&il.start, il.pos, &scope, Use::Other);
        c.page_name(&il.until, il.pos);
        if let Some(first) = connector.login.first() {
            c.err(
                first.pos,
                "`login` steps cannot be combined with `interactive_login` (the person does the whole login)",
            );
        }
    }
    c.steps(&connector.login, &mut scope);
    c.steps(&connector.steps, &mut scope);
    c.diags.sort_by_key(|d| d.pos);
    c.diags
}

impl Checker<'_> {
    fn err(&mut self, pos: Pos, message: impl Into<String>) {
        self.diags.push(Diagnostic {
            file: self.file.to_string(),
            pos,
            message: message.into(),
        });
    }

    fn top_level(&mut self) {
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
        match url::Url::parse(&c.base_url) {
            Ok(u) if u.scheme() == "http" || u.scheme() == "https" => {}
            Ok(u) => self.err(
                c.base_url.pos,
                format!("base_url must be http or https, not {:?}", u.scheme()),
            ),
            Err(e) => self.err(
                c.base_url.pos,
                format!("base_url {:?} is not a URL: {e}", c.base_url.value),
            ),
        }
        for d in &c.domains {
            if d.is_empty() || d.contains('/') || d.contains(':') {
                self.err(
                    d.pos,
                    format!(
                        "domain {:?} must be a host name such as bank.example",
                        d.value
                    ),
                );
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
    }

    fn page(&mut self, page: &PageDef, pos: Pos) {
        let mut keys = 0;
        if let Some(u) = &page.url {
            keys += 1;
            self.regex(u, pos);
        }
        for sel in [&page.has, &page.exists, &page.lacks].into_iter().flatten() {
            keys += 1;
            self.selector(sel, pos);
        }
        for list in [&page.any, &page.all].into_iter().flatten() {
            keys += 1;
            if list.is_empty() {
                self.err(pos, "`any` and `all` need at least one entry");
            }
            for p in list {
                self.page(p, p.pos.or(pos));
            }
        }
        if keys == 0 {
            self.err(
                pos,
                "a page needs at least one of url, has, exists, lacks, any, all",
            );
        }
    }

    fn regex(&mut self, re: &Sp<String>, fallback: Pos) {
        if let Err(e) = Regex::new(re) {
            let first = one_line(&e.to_string());
            self.err(
                re.pos.or(fallback),
                format!("invalid regular expression {:?}: {first}", re.value),
            );
        }
    }

    /// Selectors are checked with `scraper`'s parser (the CSS that Chromium accepts is a
    /// superset, but a selector `scraper` rejects is almost always a typo). Templates
    /// inside a selector are checked as templates and replaced by a placeholder.
    fn selector(&mut self, sel: &Sp<String>, fallback: Pos) {
        let pos = sel.pos.or(fallback);
        let text = if sel.contains("{{") {
            match Template::parse(sel) {
                Ok(t) => t
                    .segments
                    .iter()
                    .map(|s| match s {
                        super::template::Segment::Text(t) => t.clone(),
                        super::template::Segment::Var(_) => "x".to_string(),
                    })
                    .collect(),
                Err(e) => return self.err(pos, e),
            }
        } else {
            sel.value.clone()
        };
        if text.trim().is_empty() {
            return self.err(pos, "empty CSS selector");
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
        }
    }

    fn page_name(&mut self, name: &Sp<String>, fallback: Pos) {
        if !self.connector.pages.contains_key(name.as_str()) {
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
        }
    }

    fn error_code(&mut self, code: &Sp<String>, fallback: Pos) {
        if let Err(e) = code.parse::<ErrorCode>() {
            self.err(code.pos.or(fallback), e);
        }
    }

    fn var_name(&mut self, name: &Sp<String>, fallback: Pos) {
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
        }
    }

    fn template(
        &mut self,
        text: &Sp<String>,
        fallback: Pos,
        scope: &HashMap<String, Shape>,
        usage: Use,
    ) {
        let pos = text.pos.or(fallback);
        let t = match Template::parse(text) {
            Ok(t) => t,
            Err(e) => return self.err(pos, e),
        };
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
                Some(Shape::Value) => {}
            }
        }
    }
}

/// scraper's Display for selector errors is unhelpful ("please report this"); its Debug
/// names the problem (`ClassNeedsIdent`, `UnexpectedToken(...)`).
fn describe_selector_error(e: &scraper::error::SelectorErrorKind) -> String {
    let debug = format!("{e:?}");
    let name = debug
        .strip_prefix("UnexpectedSelectorParseError(")
        .and_then(|d| d.strip_suffix(')'))
        .unwrap_or(&debug);
    let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
    match name.as_str() {
        "ClassNeedsIdent" => "a class name must follow '.'".into(),
        "UnexpectedToken" => "unexpected character".into(),
        "EmptySelector" => "empty selector".into(),
        "DanglingCombinator" => "a combinator (>, +, ~) has nothing after it".into(),
        "EndOfLine" => "the selector ends too early".into(),
        _ => name,
    }
}

/// Multi-line messages (the regex crate draws a caret under the pattern) kept to one line:
/// the first line and the last, which says what is wrong.
fn one_line(text: &str) -> String {
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
