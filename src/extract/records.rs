//! Rows and fields: a page's HTML and a connector's field specs in, JSON records out.

use indexmap::IndexMap;
use scraper::{ElementRef, Html, Selector};
use serde_json::{Map, Value};
use url::Url;

use super::filters;
use crate::connector::{FieldSpec, Sp};

/// Where the rows of a page are.
#[derive(Debug, Clone, Copy)]
pub enum Rows<'a> {
    /// Each element matching the selector is a row.
    Selector(&'a str),
    /// The data rows of the first matching table; `col` finds cells by header text.
    Table(&'a str),
    /// The whole document is one row.
    Page,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ExtractError {
    #[error("invalid CSS selector {0:?}")]
    Selector(String),
    #[error("no table matches {0:?}")]
    NoTable(String),
    #[error("column {col:?} not found in table {table:?} (headers: {headers})")]
    NoColumn {
        col: String,
        table: String,
        headers: String,
    },
    #[error("row {row}, field `{field}`: no element matches {selector:?}")]
    Missing {
        row: usize,
        field: String,
        selector: String,
    },
    #[error("row {row}, field `{field}`: no attribute {attr:?}")]
    NoAttribute {
        row: usize,
        field: String,
        attr: String,
    },
    #[error("row {row}, field `{field}`: {message}")]
    Filter {
        row: usize,
        field: String,
        message: String,
    },
    #[error("row {row}, field `{field}`: {message}")]
    Template {
        row: usize,
        field: String,
        message: String,
    },
}

/// Resolves template variables for `value:` fields.
pub type Lookup<'a> = &'a dyn Fn(&[String]) -> Option<Value>;

fn selector(s: &str) -> Result<Selector, ExtractError> {
    Selector::parse(s).map_err(|_| ExtractError::Selector(s.to_string()))
}

/// Text of an element with whitespace collapsed, as a person reads it.
pub fn element_text(el: ElementRef<'_>) -> String {
    el.text()
        .collect::<Vec<_>>()
        .join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Extracts one record per row.
pub fn extract(
    html: &str,
    page_url: &Url,
    rows: Rows<'_>,
    fields: &IndexMap<String, Sp<FieldSpec>>,
    lookup: Lookup<'_>,
) -> Result<Vec<Map<String, Value>>, ExtractError> {
    let doc = Html::parse_document(html);
    let (row_elements, columns) = match rows {
        Rows::Page => (vec![doc.root_element()], IndexMap::new()),
        Rows::Selector(s) => (doc.select(&selector(s)?).collect(), IndexMap::new()),
        Rows::Table(s) => {
            let table = doc
                .select(&selector(s)?)
                .next()
                .ok_or_else(|| ExtractError::NoTable(s.to_string()))?;
            table_rows(table)
        }
    };
    let table_name = match rows {
        Rows::Table(s) => s,
        _ => "",
    };
    let mut out = Vec::with_capacity(row_elements.len());
    for (i, row) in row_elements.into_iter().enumerate() {
        let mut record = Map::new();
        for (name, spec) in fields {
            let v = field_value(
                row,
                i + 1,
                name,
                spec,
                page_url,
                &columns,
                table_name,
                lookup,
            )?;
            record.insert(name.clone(), v);
        }
        out.push(record);
    }
    Ok(out)
}

/// The elements of a table's data rows, and its columns by normalised header text.
fn table_rows(table: ElementRef<'_>) -> (Vec<ElementRef<'_>>, IndexMap<String, usize>) {
    let tr = Selector::parse("tr").expect("static selector");
    let cell = Selector::parse("th, td").expect("static selector");
    let mut headers = IndexMap::new();
    let mut rows = Vec::new();
    for row in table.select(&tr) {
        // Only rows of this table, not of a nested one.
        if row
            .ancestors()
            .filter_map(ElementRef::wrap)
            .find(|a| a.value().name() == "table")
            != Some(table)
        {
            continue;
        }
        let cells: Vec<ElementRef<'_>> = row.select(&cell).collect();
        let all_headers = !cells.is_empty() && cells.iter().all(|c| c.value().name() == "th");
        if all_headers && headers.is_empty() {
            for (i, c) in cells.iter().enumerate() {
                headers.insert(normalise(&element_text(*c)), i);
            }
        } else if cells.iter().any(|c| c.value().name() == "td") {
            rows.push(row);
        }
    }
    (rows, headers)
}

fn normalise(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

#[allow(clippy::too_many_arguments)]
fn field_value(
    row: ElementRef<'_>,
    row_no: usize,
    name: &str,
    spec: &FieldSpec,
    page_url: &Url,
    columns: &IndexMap<String, usize>,
    table: &str,
    lookup: Lookup<'_>,
) -> Result<Value, ExtractError> {
    let raw = if let Some(c) = &spec.constant {
        c.clone()
    } else if let Some(t) = &spec.value {
        let tpl = crate::connector::template::Template::parse(t).map_err(|message| {
            ExtractError::Template {
                row: row_no,
                field: name.into(),
                message,
            }
        })?;
        Value::String(
            tpl.render(lookup)
                .map_err(|message| ExtractError::Template {
                    row: row_no,
                    field: name.into(),
                    message,
                })?,
        )
    } else {
        let element = if let Some(css) = &spec.css {
            row.select(&selector(css)?)
                .next()
                .map(Some)
                .ok_or_else(|| ExtractError::Missing {
                    row: row_no,
                    field: name.into(),
                    selector: css.value.clone(),
                })
        } else if let Some(col) = &spec.col {
            let idx = *columns
                .get(&normalise(col))
                .ok_or_else(|| ExtractError::NoColumn {
                    col: col.value.clone(),
                    table: table.into(),
                    headers: columns.keys().cloned().collect::<Vec<_>>().join(" | "),
                })?;
            let cell = Selector::parse("th, td").expect("static selector");
            row.select(&cell)
                .nth(idx)
                .map(Some)
                .ok_or_else(|| ExtractError::Missing {
                    row: row_no,
                    field: name.into(),
                    selector: format!("column {:?}", col.value),
                })
        } else {
            Ok(Some(row))
        };
        let element = match element {
            Ok(e) => e,
            Err(_) if spec.optional => None,
            Err(e) => return Err(e),
        };
        match element {
            None => Value::Null,
            Some(el) => {
                let attr = spec
                    .attr
                    .as_deref()
                    .or(if spec.link { Some("href") } else { None });
                match attr {
                    Some(a) => match el.value().attr(a) {
                        Some(v) if spec.link => Value::String(
                            page_url
                                .join(v.trim())
                                .map(|u| u.to_string())
                                .unwrap_or_else(|_| v.to_string()),
                        ),
                        Some(v) => Value::String(v.to_string()),
                        None if spec.optional => Value::Null,
                        None => {
                            return Err(ExtractError::NoAttribute {
                                row: row_no,
                                field: name.into(),
                                attr: a.into(),
                            });
                        }
                    },
                    None => Value::String(element_text(el)),
                }
            }
        }
    };
    let filters: Vec<filters::Filter> = spec.filters.iter().map(|f| f.value.clone()).collect();
    filters::apply(&filters, raw).map_err(|e| ExtractError::Filter {
        row: row_no,
        field: name.into(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connector::Sp;

    fn spec(yaml_json: serde_json::Value) -> Sp<FieldSpec> {
        Sp::new(serde_json::from_value(yaml_json).unwrap())
    }

    const PAGE: &str = r#"<html><body>
      <table id="ops"><thead><tr><th>Date</th><th>Libellé</th><th> Montant </th></tr></thead>
      <tbody>
        <tr><td>23/11/2026</td><td>CB  CARREFOUR</td><td>-45,90&nbsp;€</td></tr>
        <tr><td>24/11/2026</td><td>VIR SALAIRE</td><td>+1&#8239;200,00&nbsp;€</td></tr>
      </tbody></table>
      <ul><li class="a" data-id="1"><a href="/x/1">One</a></li><li class="a" data-id="2"><a href="y/2">Two</a></li></ul>
    </body></html>"#;

    fn no_vars(_: &[String]) -> Option<Value> {
        None
    }

    #[test]
    fn table_columns_by_header_text() {
        let mut fields = IndexMap::new();
        fields.insert(
            "date".to_string(),
            spec(serde_json::json!({"col": "Date", "filters": [{"date": "%d/%m/%Y"}]})),
        );
        fields.insert(
            "amount".to_string(),
            spec(serde_json::json!({"col": "montant", "filters": ["decimal"]})),
        );
        fields.insert(
            "label".to_string(),
            spec(serde_json::json!({"col": "Libellé"})),
        );
        let url = Url::parse("http://h/ops").unwrap();
        let recs = extract(PAGE, &url, Rows::Table("#ops"), &fields, &no_vars).unwrap();
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[0]["date"], "2026-11-23");
        assert_eq!(recs[0]["amount"], serde_json::json!(-45.9));
        assert_eq!(recs[0]["label"], "CB CARREFOUR");
        assert_eq!(recs[1]["amount"], serde_json::json!(1200.0));
    }

    #[test]
    fn rows_attrs_links_consts() {
        let mut fields = IndexMap::new();
        fields.insert(
            "id".to_string(),
            spec(serde_json::json!({"attr": "data-id"})),
        );
        fields.insert(
            "url".to_string(),
            spec(serde_json::json!({"css": "a", "link": true})),
        );
        fields.insert("name".to_string(), spec(serde_json::json!({"css": "a"})));
        fields.insert(
            "kind".to_string(),
            spec(serde_json::json!({"const": "msg"})),
        );
        fields.insert(
            "missing".to_string(),
            spec(serde_json::json!({"css": ".nope", "optional": true})),
        );
        let url = Url::parse("http://h/dir/page").unwrap();
        let recs = extract(PAGE, &url, Rows::Selector("li.a"), &fields, &no_vars).unwrap();
        assert_eq!(recs[0]["url"], "http://h/x/1");
        assert_eq!(recs[1]["url"], "http://h/dir/y/2");
        assert_eq!(recs[1]["id"], "2");
        assert_eq!(recs[0]["name"], "One");
        assert_eq!(recs[0]["kind"], "msg");
        assert_eq!(recs[0]["missing"], Value::Null);
    }

    #[test]
    fn missing_elements_and_columns_are_errors() {
        let url = Url::parse("http://h/").unwrap();
        let mut fields = IndexMap::new();
        fields.insert("x".to_string(), spec(serde_json::json!({"css": ".nope"})));
        let err = extract(PAGE, &url, Rows::Selector("li.a"), &fields, &no_vars).unwrap_err();
        assert!(matches!(err, ExtractError::Missing { row: 1, .. }), "{err}");
        let mut fields = IndexMap::new();
        fields.insert("x".to_string(), spec(serde_json::json!({"col": "Solde"})));
        let err = extract(PAGE, &url, Rows::Table("#ops"), &fields, &no_vars).unwrap_err();
        assert!(
            err.to_string().contains("date | libellé | montant"),
            "{err}"
        );
    }

    #[test]
    fn templates_read_variables() {
        let url = Url::parse("http://h/").unwrap();
        let mut fields = IndexMap::new();
        fields.insert(
            "account".to_string(),
            spec(serde_json::json!({"value": "{{account.id}}"})),
        );
        let lookup = |p: &[String]| (p.join(".") == "account.id").then(|| Value::from("CHK-001"));
        let recs = extract(PAGE, &url, Rows::Selector("li.a"), &fields, &lookup).unwrap();
        assert_eq!(recs[1]["account"], "CHK-001");
    }
}
