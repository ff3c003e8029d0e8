//! The output a recording must give again: the records of every list, and each document's
//! sha256, size and content type (not where it was written). Compared field by field, so a
//! difference names the list, the record and the field.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::engine::Outcome;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Expected {
    /// Every list by name, its records in order.
    pub lists: IndexMap<String, Vec<Value>>,
    pub documents: Vec<ExpectedDocument>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpectedDocument {
    pub id: Option<String>,
    pub sha256: String,
    pub bytes: u64,
    pub content_type: Option<String>,
}

/// Keys of a document record that depend on the run, not on the site.
const RUN_KEYS: [&str; 1] = ["file"];

/// What a `blob:` URL's random part becomes: a page makes a new one on every run.
const BLOB_ID: &str = "(made by the page)";

/// `value` without what changes from run to run: `blob:` URLs' random ids.
fn steady(value: &mut Value) {
    match value {
        Value::String(s) if s.starts_with("blob:") => {
            if let Some(slash) = s.rfind('/') {
                s.truncate(slash + 1);
                s.push_str(BLOB_ID);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(steady),
        Value::Object(map) => map.values_mut().for_each(steady),
        _ => {}
    }
}

impl Expected {
    pub fn of(outcome: &Outcome) -> Expected {
        let lists = outcome
            .lists
            .iter()
            .map(|(name, records)| {
                let records = records
                    .iter()
                    .map(|r| {
                        let mut r = r.clone();
                        if let Value::Object(map) = &mut r {
                            for key in RUN_KEYS {
                                map.shift_remove(key);
                            }
                        }
                        steady(&mut r);
                        r
                    })
                    .collect();
                (name.clone(), records)
            })
            .collect();
        let documents = outcome
            .documents
            .iter()
            .map(|d| ExpectedDocument {
                id: d.id.clone(),
                sha256: d.sha256.clone(),
                bytes: d.bytes,
                content_type: d.content_type.clone(),
            })
            .collect();
        Expected { lists, documents }
    }

    /// How `got` differs from `self`, one readable line per difference (at most `limit`).
    pub fn differences(&self, got: &Expected, limit: usize) -> Vec<String> {
        let mut out = Vec::new();
        let names: Vec<&String> = self
            .lists
            .keys()
            .chain(got.lists.keys().filter(|k| !self.lists.contains_key(*k)))
            .collect();
        for name in names {
            let empty = Vec::new();
            let want = self.lists.get(name).unwrap_or(&empty);
            let have = got.lists.get(name).unwrap_or(&empty);
            if want.len() != have.len() {
                out.push(format!(
                    "list `{name}`: expected {} records, got {}",
                    want.len(),
                    have.len()
                ));
            }
            for (i, (w, h)) in want.iter().zip(have).enumerate() {
                if w != h {
                    let who = format!("{name}[{i}]{}", label(w));
                    value_differences(&who, w, h, &mut out);
                }
            }
            for (i, w) in want.iter().enumerate().skip(have.len()) {
                out.push(format!("{name}[{i}]{}: missing", label(w)));
            }
            for (i, h) in have.iter().enumerate().skip(want.len()) {
                out.push(format!("{name}[{i}]{}: not expected", label(h)));
            }
        }
        if self.documents.len() != got.documents.len() {
            out.push(format!(
                "documents: expected {}, got {}",
                self.documents.len(),
                got.documents.len()
            ));
        }
        for (i, (w, h)) in self.documents.iter().zip(&got.documents).enumerate() {
            let who = format!(
                "document {}",
                w.id.as_deref()
                    .map_or_else(|| i.to_string(), |id| format!("{id:?}"))
            );
            if w.id != h.id {
                out.push(format!("{who}: got the document {:?}", h.id));
            }
            if w.sha256 != h.sha256 || w.bytes != h.bytes {
                out.push(format!(
                    "{who}: expected {} bytes (sha256 {}…), got {} bytes (sha256 {}…)",
                    w.bytes,
                    &w.sha256[..w.sha256.len().min(12)],
                    h.bytes,
                    &h.sha256[..h.sha256.len().min(12)]
                ));
            }
            if w.content_type != h.content_type {
                out.push(format!(
                    "{who}: expected content type {:?}, got {:?}",
                    w.content_type, h.content_type
                ));
            }
        }
        if out.len() > limit {
            let more = out.len() - limit;
            out.truncate(limit);
            out.push(format!("… and {more} more differences"));
        }
        out
    }
}

/// ` (id "F-2024-01")`: the record's first identifying field, so a difference can be found
/// in the site's terms.
fn label(record: &Value) -> String {
    let Value::Object(map) = record else {
        return String::new();
    };
    ["id", "number", "reference", "label", "name", "title"]
        .iter()
        .find_map(|k| {
            map.get(*k)
                .filter(|v| !v.is_null())
                .map(|v| format!(" ({k} {v})"))
        })
        .unwrap_or_default()
}

fn value_differences(who: &str, want: &Value, have: &Value, out: &mut Vec<String>) {
    match (want, have) {
        (Value::Object(w), Value::Object(h)) => {
            for (k, wv) in w {
                match h.get(k) {
                    None => out.push(format!("{who}.{k}: expected {wv}, missing")),
                    Some(hv) if hv != wv => {
                        value_differences(&format!("{who}.{k}"), wv, hv, out);
                    }
                    Some(_) => {}
                }
            }
            for (k, hv) in h {
                if !w.contains_key(k) {
                    out.push(format!("{who}.{k}: not expected, got {hv}"));
                }
            }
        }
        _ => out.push(format!("{who}: expected {want}, got {have}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn expected(records: Vec<Value>) -> Expected {
        Expected {
            lists: IndexMap::from([("accounts".to_string(), records)]),
            documents: vec![],
        }
    }

    #[test]
    fn a_changed_field_names_the_list_the_record_and_the_field() {
        let want = expected(vec![
            json!({"number": "FR1", "balance": 10.5}),
            json!({"number": "FR2", "balance": 3.0}),
        ]);
        let got = expected(vec![
            json!({"number": "FR1", "balance": 10.5}),
            json!({"number": "FR2", "balance": 4.0}),
        ]);
        assert_eq!(
            want.differences(&got, 10),
            vec![r#"accounts[1] (number "FR2").balance: expected 3.0, got 4.0"#]
        );
        assert!(want.differences(&want, 10).is_empty());
    }

    #[test]
    fn a_blob_urls_random_id_is_not_compared() {
        let mut outcome = Outcome::default();
        outcome.lists.insert(
            "statements".into(),
            vec![json!({"url": "blob:http://127.0.0.1:4000/dddfff1e-0646", "file": "/tmp/x.pdf"})],
        );
        let got = Expected::of(&outcome);
        assert_eq!(
            got.lists["statements"][0],
            json!({"url": "blob:http://127.0.0.1:4000/(made by the page)"})
        );
    }

    #[test]
    fn missing_and_extra_records_and_documents_are_named() {
        let want = expected(vec![json!({"id": "a"}), json!({"id": "b"})]);
        let mut got = expected(vec![json!({"id": "a"})]);
        got.documents.push(ExpectedDocument {
            id: Some("x".into()),
            sha256: "00".into(),
            bytes: 1,
            content_type: None,
        });
        let diff = want.differences(&got, 10);
        assert_eq!(
            diff,
            vec![
                "list `accounts`: expected 2 records, got 1",
                r#"accounts[1] (id "b"): missing"#,
                "documents: expected 0, got 1",
            ]
        );
    }
}
