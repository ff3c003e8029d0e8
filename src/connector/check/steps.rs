//! The checks of steps and of the fields they extract, and their compilation.

use std::collections::{BTreeSet, HashMap};

use indexmap::IndexMap;

use super::checker::{Checker, OptionalPart, Shape, Use, one_line};
use crate::connector::located::{Located, Pos};
use crate::connector::model::*;
use crate::connector::plan::{self, DOCUMENT_KEYS, Section, StepKind, StepRef};
use crate::connector::selector_spec::SelectorSpec;
use crate::extract::{Element, Field, FieldSource, Read};
use crate::template::Template;

impl Checker<'_> {
    /// Checks and compiles a block of steps; `prefix` numbers nested steps (`7.2`).
    pub(super) fn steps(
        &mut self,
        steps: &[Located<Step>],
        scope: &mut HashMap<String, Shape>,
        section: Section,
        prefix: &str,
    ) -> Option<Vec<plan::Step>> {
        let mut compiled = Vec::with_capacity(steps.len());
        let mut complete = true;
        for (i, step) in steps.iter().enumerate() {
            let number = if prefix.is_empty() {
                (i + 1).to_string()
            } else {
                format!("{prefix}.{}", i + 1)
            };
            match self.step(step, step.pos, scope, section, number) {
                Some(s) => compiled.push(s),
                None => complete = false,
            }
        }
        complete.then_some(compiled)
    }

    fn step(
        &mut self,
        step: &Step,
        pos: Pos,
        scope: &mut HashMap<String, Shape>,
        section: Section,
        number: String,
    ) -> Option<plan::Step> {
        let actions = step.action_names();
        match (&step.steps, actions.as_slice()) {
            (Some(_), [one, ..]) => self.err(
                pos,
                format!("a step with a `steps` block cannot also hold `{one}`"),
            ),
            (Some(_), [])
                if step.when.is_none() && step.for_each.is_none() && step.frame.is_none() =>
            {
                self.err(pos, "a `steps` block needs `when`, `for_each` or `frame`")
            }
            (None, []) => self.err(
                pos,
                format!(
                    "a step needs one action: {}",
                    Step::all_action_names().join(", ")
                ),
            ),
            (None, [_, second, ..]) => self.err(
                pos,
                format!("a step holds one action; move `{second}` to its own step"),
            ),
            _ => {}
        }
        if step.for_each.is_some() && step.steps.is_none() {
            self.err(pos, "`for_each` needs a `steps` block");
        }
        let frame = step.frame.as_ref().map(|f| self.frame(f, pos));
        if let Some(f) = &step.frame
            && let [
                action @ ("goto" | "await_page" | "ask_code" | "interactive"),
                ..,
            ] = actions.as_slice()
        {
            let why = match *action {
                "goto" => "it navigates the page itself",
                "await_page" => "its pages say where to look (give a page definition a `frame`)",
                _ => "it does not act on the page",
            };
            self.err(
                f.pos.or(pos),
                format!("`frame` does not apply to `{action}`: {why}"),
            );
        }
        let when = step.when.as_ref().map(|cond| self.condition(cond, pos));
        let block = step.steps.as_ref().map(|block| match &step.for_each {
            Some(fe) => self.for_each(fe, block, pos, scope, section, &number),
            None => self
                .steps(block, scope, section, &number)
                .map(StepKind::Block),
        });
        let popup = step
            .popup
            .as_ref()
            .map(|p| self.popup(p, pos, scope, section, &number));
        let mut compiled = self.actions(step, pos, scope);
        // Several actions, or a block with one, were reported above.
        let kind = match (block, popup, compiled.as_mut_slice()) {
            (Some(block), None, []) => block?,
            (None, Some(popup), []) => popup?,
            (None, None, [one]) => StepKind::Action(one.take()?),
            _ => return None,
        };
        Some(plan::Step {
            at: StepRef {
                section,
                number,
                summary: summary(step),
                line: pos.line,
            },
            when: when.part()?,
            frame: frame.part()?,
            kind,
        })
    }

    fn condition(&mut self, cond: &Located<Condition>, pos: Pos) -> Option<plan::Condition> {
        let p = cond.pos.or(pos);
        if cond.page.is_none()
            && cond.present.is_none()
            && cond.absent.is_none()
            && cond.url.is_none()
        {
            self.err(p, "`when` needs one of page, present, absent, url");
        }
        let page = cond.page.as_ref().map(|page| self.page_name(page, p));
        let present = cond.present.as_ref().map(|s| self.live_selector(s, p));
        let absent = cond.absent.as_ref().map(|s| self.live_selector(s, p));
        let url = cond.url.as_ref().map(|u| self.regex(u, p));
        Some(plan::Condition {
            page: page.part()?,
            present: present.part()?,
            absent: absent.part()?,
            url: url.part()?,
        })
    }

    fn for_each(
        &mut self,
        fe: &Located<ForEach>,
        block: &[Located<Step>],
        pos: Pos,
        scope: &mut HashMap<String, Shape>,
        section: Section,
        number: &str,
    ) -> Option<StepKind> {
        let p = fe.pos.or(pos);
        let var = self.var_name(&fe.var, p);
        let item = match scope.get(fe.list.as_str()) {
            Some(Shape::List(keys)) => Shape::Record(keys.clone()),
            // Checked when the loop runs: a JSON value that is not an array fails it.
            Some(Shape::Json) => Shape::Json,
            Some(shape) => {
                let what = match shape {
                    Shape::Record(_) => "a single record",
                    _ => "a plain value",
                };
                self.err(
                    fe.list.pos.or(p),
                    format!(
                        "`{}` is {what}, not a list: for_each needs a list",
                        fe.list.value
                    ),
                );
                Shape::Record(BTreeSet::new())
            }
            None => {
                self.err(
                    fe.list.pos.or(p),
                    format!(
                        "undefined list `{}` (set it with extract, download, capture, fetch or eval first)",
                        fe.list.value
                    ),
                );
                Shape::Record(BTreeSet::new())
            }
        };
        let mut inner = scope.clone();
        inner.insert(fe.var.value.clone(), item);
        let body = self.steps(block, &mut inner, section, number);
        // Lists built inside the loop stay visible after it; the loop variable does not.
        for (k, v) in inner {
            if k != fe.var.value && !scope.contains_key(&k) {
                scope.insert(k, v);
            }
        }
        Some(StepKind::ForEach {
            list: fe.list.value.clone(),
            var: var?,
            body: body?,
        })
    }

    /// Checks every action the step holds (a valid step holds one) and compiles each.
    fn actions(
        &mut self,
        step: &Step,
        pos: Pos,
        scope: &mut HashMap<String, Shape>,
    ) -> Vec<Option<plan::Action>> {
        use plan::Action;
        let mut actions = Vec::new();
        if let Some(url) = &step.goto {
            actions.push(self.template(url, pos, scope, Use::Other).map(Action::Goto));
        }
        let usage = if step.fill.is_some() {
            Use::Fill
        } else {
            Use::Other
        };
        if let Some(map) = &step.fill {
            actions.push(self.pairs(map, pos, scope, usage).map(Action::Fill));
        }
        if let Some(click) = &step.click {
            let o = click.options();
            let selector = self.live_selector_template(&o.selector, click.pos.or(pos));
            actions.push(selector.map(|selector| {
                Action::Click(plan::Click {
                    selector,
                    optional: o.optional,
                    timeout: o.timeout.map(|t| t.get()),
                })
            }));
        }
        if let Some(map) = &step.select {
            actions.push(self.pairs(map, pos, scope, usage).map(Action::Select));
        }
        if let Some(press) = &step.press {
            actions.push(self.press(press, pos));
        }
        if let Some(wait) = &step.wait {
            actions.push(self.wait(wait, pos));
        }
        if let Some(ap) = &step.await_page {
            actions.push(self.await_page(ap, pos));
        }
        if let Some(it) = &step.interactive {
            let until = self.page_name(&it.until, it.pos.or(pos));
            actions.push(until.map(|until| {
                Action::Interactive(plan::Interactive {
                    until,
                    instructions: it.instructions.clone(),
                    timeout: it.timeout.map(|t| t.get()),
                })
            }));
        }
        if let Some(ask) = &step.ask_code {
            actions.push(self.ask_code(ask, pos, scope));
        }
        if let Some(fail) = &step.fail {
            let p = fail.pos.or(pos);
            let code = self.error_code(&fail.code, p);
            let message_from = fail
                .message_from
                .as_ref()
                .map(|sel| self.live_selector_template(sel, p));
            actions.push((|| {
                Some(Action::Fail(plan::Fail {
                    code: code?,
                    message: fail.message.clone(),
                    message_from: message_from.part()?,
                }))
            })());
        }
        if let Some(ex) = &step.extract {
            actions.push(match &ex.from {
                Some(from) => self
                    .extract_json(ex, from, pos, scope)
                    .map(Action::ExtractJson),
                None => self.extract(ex, pos, scope).map(Action::Extract),
            });
        }
        if let Some(capture) = &step.capture {
            actions.push(self.capture(capture, pos, scope).map(Action::Capture));
        }
        if let Some(fetch) = &step.fetch {
            actions.push(self.fetch(fetch, pos, scope).map(Action::Fetch));
        }
        if let Some(dl) = &step.download {
            actions.push(self.download(dl, pos, scope).map(Action::Download));
        }
        if let Some(ev) = &step.eval {
            let o = ev.options();
            let p = ev.pos.or(pos);
            let js = self.template(&o.js, p, scope, Use::Other);
            let var = o.var.as_ref().map(|var| {
                let name = self.var_name(var, p);
                scope.insert(var.value.clone(), Shape::Json);
                name
            });
            actions.push((|| {
                Some(Action::Eval(plan::Eval {
                    js: js?,
                    var: var.part()?,
                }))
            })());
        }
        actions
    }

    /// `fill` and `select`: `selector: value` pairs.
    fn pairs(
        &mut self,
        map: &Located<IndexMap<String, Located<String>>>,
        pos: Pos,
        scope: &HashMap<String, Shape>,
        usage: Use,
    ) -> Option<Vec<(plan::Selector, Template)>> {
        let p = map.pos.or(pos);
        if map.is_empty() {
            self.err(p, "give at least one `selector: value` pair");
        }
        let pairs: Vec<_> = map
            .iter()
            .map(|(sel, value)| {
                let sel = self.live_selector(
                    &Located {
                        value: SelectorSpec::One(sel.clone()),
                        pos: Pos::default(),
                    },
                    value.pos.or(p),
                );
                let value = self.template(value, p, scope, usage);
                Some((sel?, value?))
            })
            .collect();
        pairs.into_iter().collect()
    }

    fn press(&mut self, press: &Located<Press>, pos: Pos) -> Option<plan::Action> {
        let o = press.options();
        if o.key.is_empty() {
            self.err(press.pos.or(pos), "`press` needs a key name such as Enter");
        }
        let selector = o
            .selector
            .as_ref()
            .map(|sel| self.live_selector_template(sel, press.pos.or(pos)));
        Some(plan::Action::Press(plan::Press {
            key: o.key,
            selector: selector.part()?,
        }))
    }

    fn wait(&mut self, wait: &Located<Wait>, pos: Pos) -> Option<plan::Action> {
        let p = wait.pos.or(pos);
        let n = [
            wait.selector.is_some(),
            wait.url.is_some(),
            wait.gone.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if n != 1 {
            self.err(p, "`wait` needs exactly one of selector, url, gone");
        }
        let selector = wait
            .selector
            .as_ref()
            .map(|s| self.live_selector_template(s, p));
        let gone = wait
            .gone
            .as_ref()
            .map(|s| self.live_selector_template(s, p));
        let url = wait.url.as_ref().map(|u| self.regex(u, p));
        let until = match (selector, gone, url) {
            (Some(s), _, _) => plan::WaitFor::Selector(s?),
            (None, Some(g), _) => plan::WaitFor::Gone(g?),
            (None, None, Some(u)) => plan::WaitFor::Url(u?),
            (None, None, None) => return None,
        };
        Some(plan::Action::Wait(plan::Wait {
            until,
            timeout: wait.timeout.map(|t| t.get()),
        }))
    }

    fn await_page(&mut self, ap: &Located<AwaitPage>, pos: Pos) -> Option<plan::Action> {
        let p = ap.pos.or(pos);
        if ap.one_of.is_empty() {
            self.err(p, "`one_of` needs at least one page");
        }
        let one_of: Vec<_> = ap
            .one_of
            .iter()
            .map(|name| self.page_name(name, p))
            .collect();
        let otherwise = ap.otherwise.as_ref().map(|code| self.error_code(code, p));
        Some(plan::Action::AwaitPage(plan::AwaitPage {
            one_of: one_of.into_iter().collect::<Option<_>>()?,
            timeout: ap.timeout.map(|t| t.get()),
            otherwise: otherwise.part()?,
        }))
    }

    fn ask_code(
        &mut self,
        ask: &Located<AskCode>,
        pos: Pos,
        scope: &mut HashMap<String, Shape>,
    ) -> Option<plan::Action> {
        let name = ask.var.clone().unwrap_or_else(|| Located {
            value: "code".into(),
            pos: ask.pos,
        });
        let var = self.var_name(&name, ask.pos.or(pos));
        scope.insert(name.value, Shape::Value);
        let label = ask.label.clone().unwrap_or_else(|| {
            match ask.kind {
                CodeKind::Sms => "Code received by SMS",
                CodeKind::Email => "Code received by email",
                CodeKind::App => "Code from your authenticator app",
                CodeKind::Unknown => "Verification code",
            }
            .into()
        });
        Some(plan::Action::AskCode(plan::AskCode {
            kind: ask.kind,
            label,
            var: var?,
            timeout: ask.timeout.map(|t| t.get()),
        }))
    }

    fn extract(
        &mut self,
        ex: &Located<Extract>,
        pos: Pos,
        scope: &mut HashMap<String, Shape>,
    ) -> Option<plan::Extract> {
        let p = ex.pos.or(pos);
        let var = self.var_name(&ex.var, p);
        if ex.rows.is_some() && ex.table.is_some() {
            self.err(p, "give `rows` or `table`, not both");
        }
        let rows = ex.rows.as_ref().map(|s| self.selector_template(s, p));
        let table = ex.table.as_ref().map(|s| self.selector_template(s, p));
        if ex.fields.is_empty() {
            self.err(p, "`extract` needs at least one field");
        }
        let fields: Vec<_> = ex
            .fields
            .iter()
            .map(|(name, f)| self.field(name, f, f.pos.or(p), ex.table.is_some(), scope))
            .collect();
        let paginate = ex.paginate.as_ref().map(|pg| self.paginate(pg, p));
        let keys = ex.fields.keys().cloned().collect();
        self.define_list(&ex.var, keys, scope, p);
        if ex.allow_empty && ex.rows.is_none() && ex.table.is_none() {
            self.err(
                p,
                "`allow_empty` goes with `rows` or `table`: a page-wide record is never empty",
            );
        }
        let rows = match (rows, table) {
            (Some(r), _) => plan::Rows::Selector(r?),
            (None, Some(t)) => plan::Rows::Table(t?),
            (None, None) => plan::Rows::Page,
        };
        Some(plan::Extract {
            var: var?,
            rows,
            fields: fields.into_iter().collect::<Option<_>>()?,
            paginate: paginate.part()?,
            allow_empty: ex.allow_empty,
            in_output: !ex.var.starts_with('_'),
        })
    }

    fn paginate(&mut self, pg: &Located<Paginate>, pos: Pos) -> Option<plan::Paginate> {
        let pp = pg.pos.or(pos);
        if pg.next.is_some() == pg.load_more.is_some() {
            self.err(pp, "`paginate` needs exactly one of next, load_more");
        }
        let next = pg.next.as_ref().map(|s| self.live_selector_template(s, pp));
        let load_more = pg
            .load_more
            .as_ref()
            .map(|s| self.live_selector_template(s, pp));
        if pg.max_pages == 0 {
            self.err(pp, "`max_pages` must be at least 1");
        }
        let turn = |selector| plan::PageTurn {
            selector,
            max_pages: pg.max_pages,
            timeout: pg.timeout.map(|t| t.get()),
        };
        match (next, load_more) {
            (Some(next), None) => Some(plan::Paginate::Next(turn(next?))),
            (None, Some(more)) => Some(plan::Paginate::LoadMore(turn(more?))),
            _ => None,
        }
    }

    fn download(
        &mut self,
        dl: &Located<Download>,
        pos: Pos,
        scope: &mut HashMap<String, Shape>,
    ) -> Option<plan::Download> {
        let p = dl.pos.or(pos);
        let var = self.var_name(&dl.var, p);
        match (&dl.links, &dl.rows) {
            (Some(_), Some(_)) => self.err(p, "give `links` or `rows`, not both"),
            (None, None) => self.err(p, "`download` needs `links` (the document links) or `rows`"),
            _ => {}
        }
        if dl.links.is_some() && dl.url.is_some() {
            self.err(
                p,
                "`url` goes with `rows`; with `links`, each link's href is the document",
            );
        }
        if let Some(click) = &dl.click {
            let cp = click.pos.or(p);
            if dl.links.is_some() || dl.url.is_some() {
                self.err(cp, "`click` goes with `rows`, without `links` or `url`: the browser downloads what the click gives");
            }
        } else if dl.popup {
            self.err(p, "`popup: true` goes with `click`");
        }
        let click = dl
            .click
            .as_ref()
            .map(|s| self.selector_template(s, s.pos.or(p)));
        let paginate = dl.paginate.as_ref().map(|pg| self.paginate(pg, p));
        let links = dl.links.as_ref().map(|s| self.selector_template(s, p));
        let rows = dl.rows.as_ref().map(|s| self.selector_template(s, p));
        let url = dl
            .url
            .as_ref()
            .map(|u| self.field("url", u, u.pos.or(p), false, scope));
        let id = dl.id.as_ref().map(|id| {
            if dl.fields.contains_key("id") {
                self.err(
                    id.pos.or(p),
                    "`id` is given twice (in `id` and in `fields`)",
                );
            }
            self.field("id", id, id.pos.or(p), false, scope)
        });
        let fields: Vec<_> = dl
            .fields
            .iter()
            .map(|(name, f)| self.field(name, f, f.pos.or(p), false, scope))
            .collect();
        let mut keys: BTreeSet<String> = DOCUMENT_KEYS.iter().map(|k| k.to_string()).collect();
        keys.extend(dl.fields.keys().cloned());
        self.define_list(&dl.var, keys, scope, p);
        // With `links`, each link's own href is the document.
        let (rows, link) = match (links, rows) {
            (Some(links), _) => (links?, href_link()),
            (None, Some(rows)) => (
                rows?,
                match url {
                    Some(url) => url?,
                    // With `click`, a row's href is only shown if there is one.
                    None if click.is_some() => Field {
                        optional: true,
                        ..href_link()
                    },
                    None => href_link(),
                },
            ),
            (None, None) => return None,
        };
        let fields = id.into_iter().chain(fields).collect::<Option<_>>()?;
        Some(plan::Download {
            var: var?,
            rows,
            link,
            fields,
            allow_empty: dl.allow_empty,
            click: click.part()?,
            popup: dl.popup,
            paginate: paginate.part()?.map(Box::new),
        })
    }

    /// `popup`: its click, and its block of steps (numbered under this step).
    fn popup(
        &mut self,
        popup: &Located<Popup>,
        pos: Pos,
        scope: &mut HashMap<String, Shape>,
        section: Section,
        number: &str,
    ) -> Option<StepKind> {
        let p = popup.pos.or(pos);
        let click = self.selector_template(&popup.click, popup.click.pos.or(p));
        if popup.steps.is_empty() {
            self.err(p, "`popup` needs `steps` to run in the new tab");
        }
        let body = self.steps(&popup.steps, scope, section, number);
        Some(StepKind::Popup(plan::Popup {
            click: click?,
            timeout: popup.timeout.map(|t| t.get()),
            body: body?,
        }))
    }

    pub(super) fn define_list(
        &mut self,
        var: &Located<String>,
        keys: BTreeSet<String>,
        scope: &mut HashMap<String, Shape>,
        pos: Pos,
    ) {
        match scope.get(var.as_str()) {
            Some(Shape::List(old)) if *old != keys => self.err(
                var.pos.or(pos),
                format!("`{}` was defined before with other fields; records of one list must have the same fields", var.value),
            ),
            Some(Shape::Value | Shape::Record(_) | Shape::Json) => {
                self.err(var.pos.or(pos), format!("`{}` is already a variable that is not a list", var.value))
            }
            _ => {
                scope.insert(var.value.clone(), Shape::List(keys));
            }
        }
    }

    /// A field's filters, each checked; those that fail are reported and left out.
    pub(super) fn filters(
        &mut self,
        name: &str,
        filters: &[Located<crate::extract::filters::Filter>],
        pos: Pos,
    ) -> Vec<crate::extract::filters::Filter> {
        let mut checked = Vec::with_capacity(filters.len());
        for filter in filters {
            match filter.validate() {
                Ok(()) => checked.push(filter.value.clone()),
                Err(e) => self.err(
                    filter.pos.or(pos),
                    format!(
                        "field `{name}`, filter `{}`: {}",
                        filter.name(),
                        one_line(&e.to_string())
                    ),
                ),
            }
        }
        checked
    }

    fn field(
        &mut self,
        name: &str,
        f: &FieldSpec,
        pos: Pos,
        in_table: bool,
        scope: &HashMap<String, Shape>,
    ) -> Option<Field> {
        let sources = [
            f.css.is_some(),
            f.col.is_some(),
            f.text,
            f.constant.is_some(),
            f.value.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if sources > 1 {
            self.err(
                pos,
                format!("field `{name}` takes its value from one of css, col, text, const, value"),
            );
        }
        if sources == 0 && f.attr.is_none() && !f.link {
            self.err(
                pos,
                format!(
                    "field `{name}` needs a source: css, col, text, attr, link, const or value"
                ),
            );
        }
        if (f.constant.is_some() || f.value.is_some()) && (f.attr.is_some() || f.link) {
            self.err(
                pos,
                format!("field `{name}`: attr and link apply to elements, not to const or value"),
            );
        }
        if let Some(path) = &f.path {
            self.err(
                path.pos.or(pos),
                format!(
                    "field `{name}` uses `path`, which reads JSON: it needs `from` in its extract"
                ),
            );
        }
        let css = f.css.as_ref().map(|css| self.selector(css, pos));
        if let Some(col) = &f.col
            && !in_table
        {
            self.err(
                col.pos.or(pos),
                format!("field `{name}` uses `col`, which needs `table` in its extract"),
            );
        }
        let value = f
            .value
            .as_ref()
            .map(|v| self.template(v, pos, scope, Use::Other));
        let filters = self.filters(name, &f.filters, pos);
        let source = match (&f.constant, value, css, &f.col) {
            (Some(c), _, _, _) => FieldSource::Const(c.clone()),
            (None, Some(v), _, _) => FieldSource::Value(v?),
            (None, None, Some(css), _) => FieldSource::Element {
                at: Element::Css(css?.as_str().to_string()),
                read: read_of(f),
            },
            (None, None, None, Some(col)) => FieldSource::Element {
                at: Element::Col(col.value.clone()),
                read: read_of(f),
            },
            (None, None, None, None) => FieldSource::Element {
                at: Element::Row,
                read: read_of(f),
            },
        };
        (filters.len() == f.filters.len()).then(|| Field {
            name: name.to_string(),
            source,
            filters,
            optional: f.optional,
        })
    }
}

/// What a field reads from its element: `attr` (a URL made absolute with `link`), `href`
/// for a bare `link`, else the text.
fn read_of(f: &FieldSpec) -> Read {
    match (&f.attr, f.link) {
        (Some(attr), true) => Read::Link(attr.clone()),
        (Some(attr), false) => Read::Attr(attr.clone()),
        (None, true) => Read::Link("href".into()),
        (None, false) => Read::Text,
    }
}

/// A document row's own `href`, made absolute.
fn href_link() -> Field {
    Field {
        name: "url".into(),
        source: FieldSource::Element {
            at: Element::Row,
            read: Read::Link("href".into()),
        },
        filters: Vec::new(),
        optional: false,
    }
}

/// A step as its author wrote it, short, without values (which may be secret).
fn summary(step: &Step) -> String {
    let q = |s: &str| format!("'{s}'");
    if let Some(u) = &step.goto {
        return format!("goto {}", q(u));
    }
    if let Some(m) = &step.fill {
        return format!(
            "fill {}",
            m.keys().map(|k| q(k)).collect::<Vec<_>>().join(", ")
        );
    }
    if let Some(c) = &step.click {
        return format!("click {}", c.options().selector.summary());
    }
    if let Some(m) = &step.select {
        return format!(
            "select {}",
            m.keys().map(|k| q(k)).collect::<Vec<_>>().join(", ")
        );
    }
    if let Some(p) = &step.press {
        return format!("press {}", p.options().key);
    }
    if let Some(w) = &step.wait {
        if let Some(s) = &w.selector {
            return format!("wait for {}", s.summary());
        }
        if let Some(s) = &w.gone {
            return format!("wait until {} is gone", s.summary());
        }
        if let Some(u) = &w.url {
            return format!("wait for URL {}", q(u));
        }
    }
    if let Some(a) = &step.await_page {
        return format!(
            "await_page {}",
            a.one_of
                .iter()
                .map(|p| p.value.clone())
                .collect::<Vec<_>>()
                .join(" | ")
        );
    }
    if let Some(a) = &step.ask_code {
        return format!("ask_code {}", a.kind.as_str());
    }
    if let Some(f) = &step.fail {
        return format!("fail {}", f.code.value);
    }
    if let Some(e) = &step.extract {
        return format!("extract {}", e.var.value);
    }
    if let Some(d) = &step.download {
        return format!("download {}", d.var.value);
    }
    if step.eval.is_some() {
        return "eval".into();
    }
    if let Some(it) = &step.interactive {
        return format!("interactive until {}", it.until.value);
    }
    if let Some(c) = &step.capture {
        return format!("capture {} from {}", c.var.value, q(&c.url));
    }
    if let Some(f) = &step.fetch {
        return format!(
            "fetch {} from {} {}",
            f.var.value,
            f.method.as_str(),
            q(f.url.split('?').next().unwrap_or_default())
        );
    }
    if let Some(p) = &step.popup {
        return format!("popup {}", q(&p.click));
    }
    if let Some(fe) = &step.for_each {
        return format!("for_each {} in {}", fe.var.value, fe.list.value);
    }
    "when".into()
}
