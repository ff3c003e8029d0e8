//! The checks of steps and of the fields they extract.

use std::collections::{BTreeSet, HashMap};

use super::{Checker, Shape, Use, one_line};
use crate::connector::model::*;
use crate::connector::span::{Pos, Sp};
use crate::engine::document::DOCUMENT_KEYS;

impl Checker<'_> {
    pub(super) fn steps(&mut self, steps: &[Sp<Step>], scope: &mut HashMap<String, Shape>) {
        for step in steps {
            self.step(step, step.pos, scope);
        }
    }

    fn step(&mut self, step: &Step, pos: Pos, scope: &mut HashMap<String, Shape>) {
        let actions = step.action_names();
        match (&step.steps, actions.as_slice()) {
            (Some(_), [one, ..]) => self.err(
                pos,
                format!("a step with a `steps` block cannot also hold `{one}`"),
            ),
            (Some(_), []) if step.when.is_none() && step.for_each.is_none() => {
                self.err(pos, "a `steps` block needs `when` or `for_each`")
            }
            (None, []) => self.err(
                pos,
                format!("a step needs one action: {}", ACTIONS.join(", ")),
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
        if let Some(cond) = &step.when {
            let p = cond.pos.or(pos);
            if cond.page.is_none()
                && cond.present.is_none()
                && cond.absent.is_none()
                && cond.url.is_none()
            {
                self.err(p, "`when` needs one of page, present, absent, url");
            }
            if let Some(page) = &cond.page {
                self.page_name(page, p);
            }
            for sel in [&cond.present, &cond.absent].into_iter().flatten() {
                self.selector(sel, p);
            }
            if let Some(u) = &cond.url {
                self.regex(u, p);
            }
        }
        if let Some(block) = &step.steps {
            match &step.for_each {
                Some(fe) => {
                    let p = fe.pos.or(pos);
                    self.var_name(&fe.var, p);
                    let keys = match scope.get(fe.list.as_str()) {
                        Some(Shape::List(keys)) => keys.clone(),
                        Some(_) => {
                            self.err(
                                fe.list.pos.or(p),
                                format!("`{}` is not a list", fe.list.value),
                            );
                            BTreeSet::new()
                        }
                        None => {
                            self.err(
                                fe.list.pos.or(p),
                                format!(
                                    "undefined list `{}` (set it with extract or download first)",
                                    fe.list.value
                                ),
                            );
                            BTreeSet::new()
                        }
                    };
                    let mut inner = scope.clone();
                    inner.insert(fe.var.value.clone(), Shape::Record(keys));
                    self.steps(block, &mut inner);
                    // Lists built inside the loop stay visible after it; the loop variable does not.
                    for (k, v) in inner {
                        if k != fe.var.value && !scope.contains_key(&k) {
                            scope.insert(k, v);
                        }
                    }
                }
                None => self.steps(block, scope),
            }
        }
        self.action(step, pos, scope);
    }

    fn action(&mut self, step: &Step, pos: Pos, scope: &mut HashMap<String, Shape>) {
        if let Some(url) = &step.goto {
            self.template(url, pos, scope, Use::Other);
        }
        for map in [&step.fill, &step.select].into_iter().flatten() {
            let p = map.pos.or(pos);
            if map.is_empty() {
                self.err(p, "give at least one `selector: value` pair");
            }
            let usage = if step.fill.is_some() {
                Use::Fill
            } else {
                Use::Other
            };
            for (sel, value) in map.iter() {
                self.selector(
                    &Sp {
                        value: sel.clone(),
                        pos: Pos::default(),
                    },
                    value.pos.or(p),
                );
                self.template(value, p, scope, usage);
            }
        }
        if let Some(click) = &step.click {
            let o = click.options();
            self.selector(&o.selector, click.pos.or(pos));
        }
        if let Some(press) = &step.press {
            let o = press.options();
            if o.key.is_empty() {
                self.err(press.pos.or(pos), "`press` needs a key name such as Enter");
            }
            if let Some(sel) = &o.selector {
                self.selector(sel, press.pos.or(pos));
            }
        }
        if let Some(wait) = &step.wait {
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
            for sel in [&wait.selector, &wait.gone].into_iter().flatten() {
                self.selector(sel, p);
            }
            if let Some(u) = &wait.url {
                self.regex(u, p);
            }
        }
        if let Some(ap) = &step.await_page {
            let p = ap.pos.or(pos);
            if ap.one_of.is_empty() {
                self.err(p, "`one_of` needs at least one page");
            }
            for name in &ap.one_of {
                self.page_name(name, p);
            }
            if let Some(code) = &ap.otherwise {
                self.error_code(code, p);
            }
        }
        if let Some(it) = &step.interactive {
            self.page_name(&it.until, it.pos.or(pos));
        }
        if let Some(ask) = &step.ask_code {
            let name = ask.var.clone().unwrap_or_else(|| Sp {
                value: "code".into(),
                pos: ask.pos,
            });
            self.var_name(&name, ask.pos.or(pos));
            scope.insert(name.value, Shape::Value);
        }
        if let Some(fail) = &step.fail {
            let p = fail.pos.or(pos);
            self.error_code(&fail.code, p);
            if let Some(sel) = &fail.message_from {
                self.selector(sel, p);
            }
        }
        if let Some(ex) = &step.extract {
            let p = ex.pos.or(pos);
            self.var_name(&ex.var, p);
            if ex.rows.is_some() && ex.table.is_some() {
                self.err(p, "give `rows` or `table`, not both");
            }
            for sel in [&ex.rows, &ex.table].into_iter().flatten() {
                self.selector(sel, p);
            }
            if ex.fields.is_empty() {
                self.err(p, "`extract` needs at least one field");
            }
            for (name, f) in &ex.fields {
                self.field(name, f, f.pos.or(p), ex.table.is_some(), scope);
            }
            if let Some(pg) = &ex.paginate {
                let pp = pg.pos.or(p);
                if pg.next.is_some() == pg.load_more.is_some() {
                    self.err(pp, "`paginate` needs exactly one of next, load_more");
                }
                for sel in [&pg.next, &pg.load_more].into_iter().flatten() {
                    self.selector(sel, pp);
                }
                if pg.max_pages == 0 {
                    self.err(pp, "`max_pages` must be at least 1");
                }
            }
            let keys = ex.fields.keys().cloned().collect();
            self.define_list(&ex.var, keys, scope, p);
        }
        if let Some(dl) = &step.download {
            let p = dl.pos.or(pos);
            self.var_name(&dl.var, p);
            match (&dl.links, &dl.rows) {
                (Some(_), Some(_)) => self.err(p, "give `links` or `rows`, not both"),
                (None, None) => {
                    self.err(p, "`download` needs `links` (the document links) or `rows`")
                }
                _ => {}
            }
            if dl.links.is_some() && dl.url.is_some() {
                self.err(
                    p,
                    "`url` goes with `rows`; with `links`, each link's href is the document",
                );
            }
            for sel in [&dl.links, &dl.rows].into_iter().flatten() {
                self.selector(sel, p);
            }
            if let Some(u) = &dl.url {
                self.field("url", u, u.pos.or(p), false, scope);
            }
            if let Some(id) = &dl.id {
                if dl.fields.contains_key("id") {
                    self.err(
                        id.pos.or(p),
                        "`id` is given twice (in `id` and in `fields`)",
                    );
                }
                self.field("id", id, id.pos.or(p), false, scope);
            }
            for (name, f) in &dl.fields {
                self.field(name, f, f.pos.or(p), false, scope);
            }
            let mut keys: BTreeSet<String> = DOCUMENT_KEYS.iter().map(|k| k.to_string()).collect();
            keys.extend(dl.fields.keys().cloned());
            self.define_list(&dl.var, keys, scope, p);
        }
        if let Some(ev) = &step.eval {
            let o = ev.options();
            let p = ev.pos.or(pos);
            self.template(&o.js, p, scope, Use::Other);
            if let Some(var) = &o.var {
                self.var_name(var, p);
                scope.insert(var.value.clone(), Shape::Value);
            }
        }
    }

    fn define_list(
        &mut self,
        var: &Sp<String>,
        keys: BTreeSet<String>,
        scope: &mut HashMap<String, Shape>,
        pos: Pos,
    ) {
        match scope.get(var.as_str()) {
            Some(Shape::List(old)) if *old != keys => self.err(
                var.pos.or(pos),
                format!("`{}` was defined before with other fields; records of one list must have the same fields", var.value),
            ),
            Some(Shape::Value | Shape::Record(_)) => {
                self.err(var.pos.or(pos), format!("`{}` is already a variable that is not a list", var.value))
            }
            _ => {
                scope.insert(var.value.clone(), Shape::List(keys));
            }
        }
    }

    fn field(
        &mut self,
        name: &str,
        f: &FieldSpec,
        pos: Pos,
        in_table: bool,
        scope: &HashMap<String, Shape>,
    ) {
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
        if let Some(css) = &f.css {
            self.selector(css, pos);
        }
        if let Some(col) = &f.col
            && !in_table
        {
            self.err(
                col.pos.or(pos),
                format!("field `{name}` uses `col`, which needs `table` in its extract"),
            );
        }
        if let Some(v) = &f.value {
            self.template(v, pos, scope, Use::Other);
        }
        for filter in &f.filters {
            if let Err(e) = filter.validate() {
                self.err(
                    filter.pos.or(pos),
                    format!(
                        "field `{name}`, filter `{}`: {}",
                        filter.name(),
                        one_line(&e)
                    ),
                );
            }
        }
    }
}
