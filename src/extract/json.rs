//! JSON → records: rows selected by a JSONPath, fields by JSONPaths relative to each row,
//! then the same filters as HTML fields.
//!
//! A field's value goes to its filters as the JSON it is: a string as its text; a number
//! as a number, which `decimal` keeps as it is and the text filters read as its shortest
//! JSON text (`12.5`, `120`, `1e300`); a boolean as `true`/`false`; null as a missing
//! value (which only `default` replaces). Objects and arrays are kept as they are without
//! filters (a text filter refuses them).

use serde_json::{Map, Value};

use super::filters;
use super::records::Lookup;
use crate::connector::plan::{JsonField, JsonRows, JsonSource};

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum JsonExtractError {
    #[error("row {row}, field `{field}`: {path:?} selects nothing")]
    Missing {
        row: usize,
        field: String,
        path: String,
    },
    #[error("row {row}, field `{field}`: {path:?} selects {count} values; a field takes one")]
    Several {
        row: usize,
        field: String,
        path: String,
        count: usize,
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

/// The rows of `value`: each value `rows` selects, or `value` itself without `rows`.
pub fn json_rows<'v>(value: &'v Value, rows: Option<&JsonRows>) -> Vec<&'v Value> {
    match rows {
        Some(rows) => rows.path.query(value).all(),
        None => vec![value],
    }
}

/// One record per row.
pub fn json_records(
    rows: &[&Value],
    fields: &[JsonField],
    lookup: Lookup<'_>,
) -> Result<Vec<Map<String, Value>>, JsonExtractError> {
    rows.iter()
        .enumerate()
        .map(|(i, row)| {
            let mut record = Map::new();
            for field in fields {
                record.insert(field.name.clone(), field_value(row, i + 1, field, lookup)?);
            }
            Ok(record)
        })
        .collect()
}

fn field_value(
    row: &Value,
    row_no: usize,
    field: &JsonField,
    lookup: Lookup<'_>,
) -> Result<Value, JsonExtractError> {
    let name = || field.name.clone();
    let raw = match &field.source {
        JsonSource::Const(c) => c.clone(),
        JsonSource::Value(tpl) => {
            Value::String(tpl.render(lookup).map_err(|e| JsonExtractError::Template {
                row: row_no,
                field: name(),
                message: e.to_string(),
            })?)
        }
        JsonSource::Path(path, shown) => match path.query(row).all().as_slice() {
            [one] => (*one).clone(),
            [] if field.optional => Value::Null,
            [] => {
                return Err(JsonExtractError::Missing {
                    row: row_no,
                    field: name(),
                    path: shown.clone(),
                });
            }
            several => {
                return Err(JsonExtractError::Several {
                    row: row_no,
                    field: name(),
                    path: shown.clone(),
                    count: several.len(),
                });
            }
        },
    };
    filters::apply(&field.filters, raw).map_err(|e| JsonExtractError::Filter {
        row: row_no,
        field: name(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use serde_json_path::JsonPath;

    use super::*;
    use crate::extract::filters::Filter;

    fn path_field(name: &str, path: &str, filters: Vec<Filter>, optional: bool) -> JsonField {
        JsonField {
            name: name.into(),
            source: JsonSource::Path(JsonPath::parse(path).unwrap(), path.into()),
            filters,
            optional,
        }
    }

    fn rows(path: &str) -> JsonRows {
        JsonRows {
            path: JsonPath::parse(path).unwrap(),
            shown: path.into(),
        }
    }

    #[test]
    fn rows_and_fields_by_path_with_filters() {
        let value = json!({"months": [{"month": "2026-01", "kwh": "1 234,5"}, {"month": "2026-02", "kwh": 980}]});
        let decimal: Filter = serde_json::from_value(json!({"decimal": {"sep": ","}})).unwrap();
        let fields = vec![
            path_field("month", "$.month", vec![], false),
            path_field("kwh", "$.kwh", vec![decimal], false),
            path_field("note", "$.note", vec![], true),
        ];
        let found = json_rows(&value, Some(&rows("$.months[*]")));
        let records = json_records(&found, &fields, &|_| None).unwrap();
        assert_eq!(
            Value::Array(records.into_iter().map(Value::Object).collect()),
            json!([
                {"month": "2026-01", "kwh": 1234.5, "note": null},
                {"month": "2026-02", "kwh": 980, "note": null}
            ])
        );
    }

    #[test]
    fn a_missing_or_ambiguous_path_is_an_error() {
        let value = json!({"a": 1, "list": [1, 2]});
        let found = json_rows(&value, None);
        let missing =
            json_records(&found, &[path_field("b", "$.b", vec![], false)], &|_| None).unwrap_err();
        assert_eq!(
            missing.to_string(),
            r#"row 1, field `b`: "$.b" selects nothing"#
        );
        let several = json_records(
            &found,
            &[path_field("l", "$.list[*]", vec![], false)],
            &|_| None,
        )
        .unwrap_err();
        assert!(
            several.to_string().contains("selects 2 values"),
            "{several}"
        );
    }

    #[test]
    fn numbers_reach_text_filters_as_their_json_text() {
        let value = json!({"n": 12.5});
        let found = json_rows(&value, None);
        let upper = vec![Filter::Regex(r"(\d+)\.".into())];
        let records =
            json_records(&found, &[path_field("n", "$.n", upper, false)], &|_| None).unwrap();
        assert_eq!(records[0]["n"], json!("12"));
    }
}
