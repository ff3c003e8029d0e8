//! How a recorded entry differs from an unmatched request, one line per difference.

use std::collections::{BTreeMap, BTreeSet};

use super::body::{Body, Part};
use super::recorded::{Recorded, UrlKey};

/// How many characters of a value a difference line shows at most.
const MAX_VALUE_CHARS: usize = 60;

/// How a recorded entry differs from the request: one line each.
pub(super) fn differences(
    entry: &Recorded,
    method: &str,
    key: &UrlKey,
    body: &Body,
) -> Vec<String> {
    let mut out = Vec::new();
    if entry.method != method {
        out.push(format!("method: recorded {}, sent {method}", entry.method));
    }
    if entry.key.origin != key.origin {
        out.push(format!(
            "origin: recorded {}, sent {}",
            entry.key.origin, key.origin
        ));
    }
    if entry.key.path != key.path {
        out.push(format!(
            "path: recorded {}, sent {}",
            shown(&entry.key.path),
            shown(&key.path)
        ));
    }
    pairs_differences("query parameter", &entry.key.query, &key.query, &mut out);
    body_differences(&entry.body, body, &mut out);
    out
}

/// Differences between two lists of name/value pairs, by name.
fn pairs_differences(
    what: &str,
    recorded: &[(String, String)],
    sent: &[(String, String)],
    out: &mut Vec<String>,
) {
    let group = |pairs: &[(String, String)]| {
        let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (name, value) in pairs {
            map.entry(name.clone()).or_default().push(value.clone());
        }
        map
    };
    let recorded = group(recorded);
    let sent = group(sent);
    let names: BTreeSet<&String> = recorded.keys().chain(sent.keys()).collect();
    let values = |v: &[String]| match v {
        [one] => shown(one),
        many => format!(
            "[{}]",
            many.iter().map(|v| shown(v)).collect::<Vec<_>>().join(", ")
        ),
    };
    for name in names {
        match (recorded.get(name), sent.get(name)) {
            (Some(r), Some(s)) if r != s => out.push(format!(
                "{what} `{name}`: recorded {}, sent {}",
                values(r),
                values(s)
            )),
            (Some(r), None) => {
                out.push(format!("{what} `{name}`: recorded {}, not sent", values(r)))
            }
            (None, Some(s)) => {
                out.push(format!("{what} `{name}`: not recorded, sent {}", values(s)))
            }
            _ => {}
        }
    }
}

fn body_differences(recorded: &Body, sent: &Body, out: &mut Vec<String>) {
    match (recorded, sent) {
        (r, s) if r == s => {}
        (Body::Form(r), Body::Form(s)) => pairs_differences("body field", r, s, out),
        (Body::Json(r), Body::Json(s)) => json_differences(r, s, out),
        (Body::Multipart(r), Body::Multipart(s)) => multipart_differences(r, s, out),
        (Body::Bytes(r), Body::Bytes(s)) => {
            let first = r.iter().zip(s.iter()).position(|(a, b)| a != b);
            let at = first.unwrap_or(r.len().min(s.len()));
            out.push(format!(
                "body: recorded {} bytes, sent {} bytes, first difference at byte {at}",
                r.len(),
                s.len()
            ));
        }
        (r, s) => out.push(format!("body: recorded {}, sent {}", r.kind(), s.kind())),
    }
}

fn json_differences(recorded: &serde_json::Value, sent: &serde_json::Value, out: &mut Vec<String>) {
    let (serde_json::Value::Object(r), serde_json::Value::Object(s)) = (recorded, sent) else {
        out.push(format!(
            "body JSON: recorded {}, sent {}",
            shown(&recorded.to_string()),
            shown(&sent.to_string())
        ));
        return;
    };
    let keys: BTreeSet<&String> = r.keys().chain(s.keys()).collect();
    for key in keys {
        match (r.get(key), s.get(key)) {
            (Some(a), Some(b)) if a != b => out.push(format!(
                "body JSON key `{key}`: recorded {}, sent {}",
                shown_json(a),
                shown_json(b)
            )),
            (Some(a), None) => out.push(format!(
                "body JSON key `{key}`: recorded {}, not sent",
                shown_json(a)
            )),
            (None, Some(b)) => out.push(format!(
                "body JSON key `{key}`: not recorded, sent {}",
                shown_json(b)
            )),
            _ => {}
        }
    }
}

fn multipart_differences(recorded: &[Part], sent: &[Part], out: &mut Vec<String>) {
    let describe = |p: &Part| {
        let mut text = format!("{} bytes", p.bytes.len());
        if let Some(name) = &p.filename {
            text.push_str(&format!(", file {}", shown(name)));
        }
        if let Some(t) = &p.content_type {
            text.push_str(&format!(", {t}"));
        }
        text
    };
    let names: BTreeSet<&String> = recorded
        .iter()
        .chain(sent.iter())
        .map(|p| &p.name)
        .collect();
    for name in names {
        let r: Vec<&Part> = recorded.iter().filter(|p| &p.name == name).collect();
        let s: Vec<&Part> = sent.iter().filter(|p| &p.name == name).collect();
        if r == s {
            continue;
        }
        let side = |parts: &[&Part]| match parts {
            [] => "none".to_string(),
            [one] if one.filename.is_none() && std::str::from_utf8(&one.bytes).is_ok() => {
                shown(&String::from_utf8_lossy(&one.bytes))
            }
            many => many
                .iter()
                .map(|p| describe(p))
                .collect::<Vec<_>>()
                .join("; "),
        };
        out.push(format!(
            "body part `{name}`: recorded {}, sent {}",
            side(&r),
            side(&s)
        ));
    }
}

/// A value quoted for a difference line, cut to [`MAX_VALUE_CHARS`].
fn shown(value: &str) -> String {
    if value.chars().count() > MAX_VALUE_CHARS {
        let cut: String = value.chars().take(MAX_VALUE_CHARS).collect();
        format!("{cut:?}…")
    } else {
        format!("{value:?}")
    }
}

fn shown_json(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => shown(s),
        other => {
            let text = other.to_string();
            if text.chars().count() > MAX_VALUE_CHARS {
                let cut: String = text.chars().take(MAX_VALUE_CHARS).collect();
                format!("{cut}…")
            } else {
                text
            }
        }
    }
}
