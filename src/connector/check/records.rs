//! The checks of `extract` and `download` and of the fields they read, and their
//! compilation: rows, tables, links, pagination, fields and their filters.

use std::collections::{BTreeSet, HashMap};

use super::checker::{Checker, OptionalPart, Shape, Use, one_line};
use crate::connector::located::{Located, Pos};
use crate::connector::model::*;
use crate::connector::plan::{self, DOCUMENT_KEYS};
use crate::extract::{Element, Field, FieldSource, Read};

impl Checker<'_> {
    pub(super) fn extract(
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

    pub(super) fn download(
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
