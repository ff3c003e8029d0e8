//! The checks of the JSON steps (`capture`, `fetch`, `extract` with `from`) and their
//! compilation. JSONPaths are parsed here: the plan holds them parsed.

use std::collections::HashMap;

use serde_json::Value;
use serde_json_path::JsonPath;

use super::checker::{Checker, OptionalPart, Shape, Use};
use crate::connector::located::{Located, Pos};
use crate::connector::model::{Capture, Extract, Fetch, FieldSpec};
use crate::connector::plan::{self, JsonTemplate};
use crate::template::Segment;

impl Checker<'_> {
    pub(super) fn capture(
        &mut self,
        capture: &Located<Capture>,
        pos: Pos,
        scope: &mut HashMap<String, Shape>,
    ) -> Option<plan::Capture> {
        let p = capture.pos.or(pos);
        let var = self.var_name(&capture.var, p);
        let url = self.regex(&capture.url, p);
        self.define_json(&capture.var, scope, p);
        Some(plan::Capture {
            url: url?,
            shown: capture.url.value.clone(),
            var: var?,
            timeout: capture.timeout.map(|t| t.get()),
        })
    }

    pub(super) fn fetch(
        &mut self,
        fetch: &Located<Fetch>,
        pos: Pos,
        scope: &mut HashMap<String, Shape>,
    ) -> Option<plan::Fetch> {
        let p = fetch.pos.or(pos);
        let var = self.var_name(&fetch.var, p);
        let url = self.template(&fetch.url, p, scope, Use::Other);
        let json = fetch
            .json
            .as_ref()
            .map(|body| self.json_template(body, body.pos.or(p), scope));
        let headers: Vec<_> = fetch
            .headers
            .iter()
            .map(|(name, value)| {
                if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
                    self.err(value.pos.or(p), format!("{name:?} is not a header name"));
                }
                Some((name.clone(), self.template(value, p, scope, Use::Other)?))
            })
            .collect();
        self.define_json(&fetch.var, scope, p);
        Some(plan::Fetch {
            url: url?,
            method: fetch.method,
            json: json.part()?,
            headers: headers.into_iter().collect::<Option<_>>()?,
            var: var?,
            timeout: fetch.timeout.map(|t| t.get()),
        })
    }

    /// A JSON body whose strings are templates.
    fn json_template(
        &mut self,
        value: &Value,
        pos: Pos,
        scope: &HashMap<String, Shape>,
    ) -> Option<JsonTemplate> {
        Some(match value {
            Value::String(s) => {
                let t = self.template(
                    &Located {
                        value: s.clone(),
                        pos,
                    },
                    pos,
                    scope,
                    Use::Other,
                )?;
                match t.segments.as_slice() {
                    [Segment::Var(path)] => JsonTemplate::Var(path.clone()),
                    _ => JsonTemplate::Text(t),
                }
            }
            Value::Array(items) => JsonTemplate::Array(
                items
                    .iter()
                    .map(|v| self.json_template(v, pos, scope))
                    .collect::<Vec<_>>()
                    .into_iter()
                    .collect::<Option<_>>()?,
            ),
            Value::Object(map) => JsonTemplate::Object(
                map.iter()
                    .map(|(k, v)| Some((k.clone(), self.json_template(v, pos, scope)?)))
                    .collect::<Vec<_>>()
                    .into_iter()
                    .collect::<Option<_>>()?,
            ),
            scalar => JsonTemplate::Scalar(scalar.clone()),
        })
    }

    /// `extract` with `from`: rows and fields are JSONPaths.
    pub(super) fn extract_json(
        &mut self,
        ex: &Located<Extract>,
        from: &Located<String>,
        pos: Pos,
        scope: &mut HashMap<String, Shape>,
    ) -> Option<plan::ExtractJson> {
        let p = ex.pos.or(pos);
        let var = self.var_name(&ex.var, p);
        let from_pos = from.pos.or(p);
        match scope.get(from.as_str()) {
            None => self.err(
                from_pos,
                format!(
                    "undefined variable `{}` (set it with capture, fetch or eval first)",
                    from.value
                ),
            ),
            Some(_) if from.as_str() == "fields" => self.err(
                from_pos,
                "`from` reads JSON; `fields` is the person's input",
            ),
            Some(_) => {}
        }
        if ex.table.is_some() {
            self.err(p, "`table` reads HTML; with `from`, `rows` is a JSONPath");
        }
        if ex.paginate.is_some() {
            self.err(
                p,
                "`paginate` turns the page's pages; it does not go with `from`",
            );
        }
        if ex.allow_empty && ex.rows.is_none() {
            self.err(
                p,
                "`allow_empty` goes with `rows`: a whole value read as one record is never empty",
            );
        }
        let rows = ex.rows.as_ref().map(|r| {
            self.json_path(r, p).map(|path| plan::JsonRows {
                path,
                shown: r.value.clone(),
            })
        });
        if ex.fields.is_empty() {
            self.err(p, "`extract` needs at least one field");
        }
        let fields: Vec<_> = ex
            .fields
            .iter()
            .map(|(name, f)| self.json_field(name, f, f.pos.or(p), scope))
            .collect();
        let keys = ex.fields.keys().cloned().collect();
        self.define_list(&ex.var, keys, scope, p);
        Some(plan::ExtractJson {
            var: var?,
            from: from.value.clone(),
            rows: rows.part()?,
            fields: fields.into_iter().collect::<Option<_>>()?,
            allow_empty: ex.allow_empty,
            in_output: !ex.var.starts_with('_'),
        })
    }

    fn json_field(
        &mut self,
        name: &str,
        f: &FieldSpec,
        pos: Pos,
        scope: &HashMap<String, Shape>,
    ) -> Option<plan::JsonField> {
        let html = [
            ("css", f.css.is_some()),
            ("col", f.col.is_some()),
            ("text", f.text),
            ("attr", f.attr.is_some()),
            ("link", f.link),
        ];
        if let Some((key, _)) = html.iter().find(|(_, present)| *present) {
            self.err(
                pos,
                format!(
                    "field `{name}`: `{key}` reads HTML; in an extract with `from`, use `path`"
                ),
            );
        }
        let sources = [f.path.is_some(), f.constant.is_some(), f.value.is_some()]
            .iter()
            .filter(|b| **b)
            .count();
        if sources != 1 {
            self.err(
                pos,
                format!("field `{name}` takes its value from one of path, const, value"),
            );
        }
        let path = f.path.as_ref().map(|path| self.json_path(path, pos));
        let value = f
            .value
            .as_ref()
            .map(|v| self.template(v, pos, scope, Use::Other));
        let filters = self.filters(name, &f.filters, pos);
        let source = match (path, value, &f.constant) {
            (Some(path), _, _) => plan::JsonSource::Path(path?, f.path.as_ref()?.value.clone()),
            (None, Some(v), _) => plan::JsonSource::Value(v?),
            (None, None, Some(c)) => plan::JsonSource::Const(c.clone()),
            (None, None, None) => return None,
        };
        (filters.len() == f.filters.len()).then(|| plan::JsonField {
            name: name.to_string(),
            source,
            filters,
            optional: f.optional,
        })
    }

    fn json_path(&mut self, path: &Located<String>, fallback: Pos) -> Option<JsonPath> {
        match JsonPath::parse(path) {
            Ok(parsed) => Some(parsed),
            Err(e) => {
                self.err(
                    path.pos.or(fallback),
                    format!(
                        "invalid JSONPath {:?}: {} (at character {})",
                        path.value,
                        e.message(),
                        e.position() + 1
                    ),
                );
                None
            }
        }
    }

    /// A variable that keeps JSON of unknown shape.
    fn define_json(&mut self, var: &Located<String>, scope: &mut HashMap<String, Shape>, pos: Pos) {
        match scope.get(var.as_str()) {
            Some(Shape::List(_)) => self.err(
                var.pos.or(pos),
                format!("`{}` is already a list of extracted records", var.value),
            ),
            _ => {
                scope.insert(var.value.clone(), Shape::Json);
            }
        }
    }
}
