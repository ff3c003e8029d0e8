//! The checks of steps and of the fields they extract, and their compilation.

use std::collections::{BTreeSet, HashMap};

use indexmap::IndexMap;

use super::checker::{Checker, OptionalPart, Shape, Use};
use crate::connector::located::{Located, Pos};
use crate::connector::model::*;
use crate::connector::plan::{self, Section, StepKind, StepRef};
use crate::connector::selector_spec::SelectorSpec;
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
            let instructions = it
                .instructions
                .as_ref()
                .map(|text| self.text(text, it.pos.or(pos), "instructions"))
                .part();
            actions.push((|| {
                Some(Action::Interactive(plan::Interactive {
                    until: until?,
                    instructions: instructions?,
                    timeout: it.timeout.map(|t| t.get()),
                }))
            })());
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
        let label = ask
            .label
            .as_ref()
            .map(|text| self.text(text, ask.pos.or(pos), "label"))
            .part();
        Some(plan::Action::AskCode(plan::AskCode {
            kind: ask.kind,
            label: label?,
            var: var?,
            timeout: ask.timeout.map(|t| t.get()),
        }))
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
