//! Rows and fields: a page's HTML and a connector's field specs in, JSON records out.

use std::sync::LazyLock;

use indexmap::IndexMap;
use scraper::{ElementRef, Html, Selector};
use serde_json::{Map, Value};
use url::Url;

use super::field::{Element, Field, FieldSource, Read};
use super::filters;

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

/// A table's rows and cells.
static ROW: LazyLock<Selector> = LazyLock::new(|| static_selector("tr"));
static CELL: LazyLock<Selector> = LazyLock::new(|| static_selector("th, td"));

/// A selector written in this file: parsing it cannot fail, and a test would show it.
#[allow(clippy::expect_used)]
fn static_selector(css: &str) -> Selector {
    Selector::parse(css).expect("a valid static selector")
}

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
    fields: &[Field],
    lookup: Lookup<'_>,
) -> Result<Vec<Map<String, Value>>, ExtractError> {
    each_row(html, rows, |row, reader| {
        reader.record(row, fields, page_url, lookup)
    })
}

/// A row of documents: where its document is, and its record's fields.
#[derive(Debug, Clone, PartialEq)]
pub struct DocumentRow {
    pub link: Value,
    pub record: Map<String, Value>,
}

/// Extracts one document row per row: `link` first, then `fields`.
pub fn extract_documents(
    html: &str,
    page_url: &Url,
    rows: Rows<'_>,
    link: &Field,
    fields: &[Field],
    lookup: Lookup<'_>,
) -> Result<Vec<DocumentRow>, ExtractError> {
    each_row(html, rows, |row, reader| {
        Ok(DocumentRow {
            link: reader.value(row, link, page_url, lookup)?,
            record: reader.record(row, fields, page_url, lookup)?,
        })
    })
}

/// One row being read: its number (1-based, for errors) and the table it is in.
struct RowReader<'t> {
    number: usize,
    columns: &'t IndexMap<String, usize>,
    table: &'t str,
}

impl RowReader<'_> {
    fn record(
        &self,
        row: ElementRef<'_>,
        fields: &[Field],
        page_url: &Url,
        lookup: Lookup<'_>,
    ) -> Result<Map<String, Value>, ExtractError> {
        let mut record = Map::new();
        for field in fields {
            let v = self.value(row, field, page_url, lookup)?;
            record.insert(field.name.clone(), v);
        }
        Ok(record)
    }

    fn value(
        &self,
        row: ElementRef<'_>,
        field: &Field,
        page_url: &Url,
        lookup: Lookup<'_>,
    ) -> Result<Value, ExtractError> {
        field_value(
            row,
            self.number,
            field,
            page_url,
            self.columns,
            self.table,
            lookup,
        )
    }
}

/// Calls `read` on each row of the page, in document order.
fn each_row<T>(
    html: &str,
    rows: Rows<'_>,
    mut read: impl FnMut(ElementRef<'_>, &RowReader<'_>) -> Result<T, ExtractError>,
) -> Result<Vec<T>, ExtractError> {
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
    let table = match rows {
        Rows::Table(s) => s,
        _ => "",
    };
    let mut out = Vec::with_capacity(row_elements.len());
    for (i, row) in row_elements.into_iter().enumerate() {
        let reader = RowReader {
            number: i + 1,
            columns: &columns,
            table,
        };
        out.push(read(row, &reader)?);
    }
    Ok(out)
}

/// The elements of a table's data rows, and its columns by normalised header text.
fn table_rows(table: ElementRef<'_>) -> (Vec<ElementRef<'_>>, IndexMap<String, usize>) {
    let mut headers = IndexMap::new();
    let mut rows = Vec::new();
    for row in table.select(&ROW) {
        // Only rows of this table, not of a nested one.
        if row
            .ancestors()
            .filter_map(ElementRef::wrap)
            .find(|a| a.value().name() == "table")
            != Some(table)
        {
            continue;
        }
        let cells: Vec<ElementRef<'_>> = row.select(&CELL).collect();
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

fn field_value(
    row: ElementRef<'_>,
    row_no: usize,
    field: &Field,
    page_url: &Url,
    columns: &IndexMap<String, usize>,
    table: &str,
    lookup: Lookup<'_>,
) -> Result<Value, ExtractError> {
    let name = field.name.as_str();
    let raw = match &field.source {
        FieldSource::Const(c) => c.clone(),
        FieldSource::Value(tpl) => {
            Value::String(tpl.render(lookup).map_err(|e| ExtractError::Template {
                row: row_no,
                field: name.into(),
                message: e.to_string(),
            })?)
        }
        FieldSource::Element { at, read } => {
            let element = match at {
                Element::Css(css) => {
                    row.select(&selector(css)?).next().map(Some).ok_or_else(|| {
                        ExtractError::Missing {
                            row: row_no,
                            field: name.into(),
                            selector: css.clone(),
                        }
                    })
                }
                Element::Col(col) => {
                    let idx =
                        *columns
                            .get(&normalise(col))
                            .ok_or_else(|| ExtractError::NoColumn {
                                col: col.clone(),
                                table: table.into(),
                                headers: columns.keys().cloned().collect::<Vec<_>>().join(" | "),
                            })?;
                    row.select(&CELL)
                        .nth(idx)
                        .map(Some)
                        .ok_or_else(|| ExtractError::Missing {
                            row: row_no,
                            field: name.into(),
                            selector: format!("column {col:?}"),
                        })
                }
                Element::Row => Ok(Some(row)),
            };
            let element = match element {
                Ok(e) => e,
                Err(_) if field.optional => None,
                Err(e) => return Err(e),
            };
            match element {
                None => Value::Null,
                Some(el) => read_element(el, read, field, row_no, page_url)?,
            }
        }
    };
    filters::apply(&field.filters, raw).map_err(|e| ExtractError::Filter {
        row: row_no,
        field: name.into(),
        message: e.to_string(),
    })
}

/// What `read` takes from a field's element.
fn read_element(
    el: ElementRef<'_>,
    read: &Read,
    field: &Field,
    row_no: usize,
    page_url: &Url,
) -> Result<Value, ExtractError> {
    let (attr, link) = match read {
        Read::Text => return Ok(Value::String(element_text(el))),
        Read::Attr(a) => (a, false),
        Read::Link(a) => (a, true),
    };
    Ok(match el.value().attr(attr) {
        Some(v) if link => Value::String(
            page_url
                .join(v.trim())
                .map(|u| u.to_string())
                .unwrap_or_else(|_| v.to_string()),
        ),
        Some(v) => Value::String(v.to_string()),
        None if field.optional => Value::Null,
        None => {
            return Err(ExtractError::NoAttribute {
                row: row_no,
                field: field.name.clone(),
                attr: attr.clone(),
            });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::filters::Filter;

    fn field(name: &str, source: FieldSource, filters: serde_json::Value) -> Field {
        Field {
            name: name.into(),
            source,
            filters: serde_json::from_value::<Vec<Filter>>(filters).unwrap(),
            optional: false,
        }
    }

    fn element(at: Element, read: Read) -> FieldSource {
        FieldSource::Element { at, read }
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
        let col = |c: &str| element(Element::Col(c.into()), Read::Text);
        let fields = [
            field(
                "date",
                col("Date"),
                serde_json::json!([{"date": "%d/%m/%Y"}]),
            ),
            field("amount", col("montant"), serde_json::json!(["decimal"])),
            field("label", col("Libellé"), serde_json::json!([])),
        ];
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
        let none = serde_json::json!([]);
        let css = |c: &str, read| element(Element::Css(c.into()), read);
        let mut missing = field("missing", css(".nope", Read::Text), none.clone());
        missing.optional = true;
        let fields = [
            field(
                "id",
                element(Element::Row, Read::Attr("data-id".into())),
                none.clone(),
            ),
            field("url", css("a", Read::Link("href".into())), none.clone()),
            field("name", css("a", Read::Text), none.clone()),
            field("kind", FieldSource::Const("msg".into()), none.clone()),
            missing,
        ];
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
        let none = serde_json::json!([]);
        let fields = [field(
            "x",
            element(Element::Css(".nope".into()), Read::Text),
            none.clone(),
        )];
        let err = extract(PAGE, &url, Rows::Selector("li.a"), &fields, &no_vars).unwrap_err();
        assert!(matches!(err, ExtractError::Missing { row: 1, .. }), "{err}");
        let fields = [field(
            "x",
            element(Element::Col("Solde".into()), Read::Text),
            none,
        )];
        let err = extract(PAGE, &url, Rows::Table("#ops"), &fields, &no_vars).unwrap_err();
        assert!(
            err.to_string().contains("date | libellé | montant"),
            "{err}"
        );
    }

    #[test]
    fn templates_read_variables() {
        let url = Url::parse("http://h/").unwrap();
        let template = crate::template::Template::parse("{{account.id}}").unwrap();
        let fields = [field(
            "account",
            FieldSource::Value(template),
            serde_json::json!([]),
        )];
        let lookup = |p: &[String]| (p.join(".") == "account.id").then(|| Value::from("CHK-001"));
        let recs = extract(PAGE, &url, Rows::Selector("li.a"), &fields, &lookup).unwrap();
        assert_eq!(recs[1]["account"], "CHK-001");
    }
}
