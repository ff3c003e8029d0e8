//! The parts of the served OpenAPI document that depend on this deployment, so that what
//! `/openapi.json` calls valid is what this server accepts:
//! - a credential's `connector` is one of the connectors loaded, and its `fields` are that
//!   connector's (the required ones non-blank);
//! - `redirectUrl` is on one of the allowed UI origins (`null` only when there is none);
//! - a schedule's `every` is at least the shortest interval, and each way of writing a
//!   duration stays within what its unit allows.
//!
//! What JSON Schema cannot say stays in the descriptions: `jitter` at most `every`, and the
//! fields a `PATCH` takes are those of the credential's own connector.

use serde_json::{Map, Value, json};

use crate::connector::catalog::Catalog;

/// The most characters of a field value (as `credentials::split_fields` counts them).
const MAX_VALUE: u64 = 4096;
/// The longest interval: 366 days.
const MAX_DAYS: u64 = 366;
/// The longest duration written in seconds, minutes or hours (`duration::parse`): a day.
const MAX_WITHOUT_DAYS: u64 = 86_400;

/// Rust's `char::is_whitespace` (Unicode White_Space), which `str::trim` removes, written
/// out: a regex's `\s` differs from it from one engine to another.
const WHITE_SPACE: &str =
    r"\t\n\u000b\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";

/// A connector's field, as the credential routes check it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRule {
    pub name: String,
    pub secret: bool,
    pub optional: bool,
}

/// What the document depends on.
#[derive(Debug, Clone, Default)]
pub struct Deployment {
    /// Connector ids and their fields.
    pub connectors: Vec<(String, Vec<FieldRule>)>,
    /// The allowed UI origins (`https://app.example`).
    pub ui_origins: Vec<String>,
    /// The shortest schedule interval, in seconds.
    pub min_interval_secs: u64,
}

impl Deployment {
    pub fn new(catalog: &Catalog, ui_origins: &[String], min_interval_secs: u64) -> Self {
        let connectors = catalog
            .iter()
            .map(|plan| {
                let fields = plan
                    .fields
                    .iter()
                    .map(|(name, def)| FieldRule {
                        name: name.clone(),
                        secret: def.is_secret(),
                        optional: def.optional,
                    })
                    .collect();
                (plan.id.clone(), fields)
            })
            .collect();
        Deployment {
            connectors,
            ui_origins: ui_origins.to_vec(),
            min_interval_secs,
        }
    }
}

/// `doc` (the document of [`super::openapi`], as JSON) made exact for `deployment`.
pub fn describe(mut doc: Value, deployment: &Deployment) -> Value {
    let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    else {
        return doc;
    };
    if !deployment.connectors.is_empty() {
        if let Some(create) = schemas.get_mut("CreateCredential") {
            *create = one_variant_per_connector(create, deployment);
        }
        if let Some(add) = schemas.get_mut("AddAccount") {
            *add = one_variant_per_connector(add, deployment);
        }
        for (name, change) in [
            ("UpdateCredential", Change::Merge),
            ("CorrectAccount", Change::Replace),
        ] {
            if let Some(fields) = schemas
                .get_mut(name)
                .and_then(|s| s.pointer_mut("/properties/fields"))
            {
                *fields = any_connector_fields(fields, deployment, change);
            }
        }
    }
    if let Some(token) = schemas.get_mut("CreateUiToken") {
        let ids: Vec<Value> = deployment
            .connectors
            .iter()
            .map(|(id, _)| Value::from(id.as_str()))
            .chain([Value::Null])
            .collect();
        if let Some(connector) = token.pointer_mut("/properties/connector") {
            *connector = with_description(json!({ "enum": ids }), connector);
        }
        if let Some(redirect) = token.pointer_mut("/properties/redirectUrl") {
            *redirect = with_description(redirect_url(&deployment.ui_origins), redirect);
        }
    }
    if let Some(schedule) = schemas.get_mut("SetSchedule") {
        let min = deployment.min_interval_secs.max(1);
        if let Some(every) = schedule.pointer_mut("/properties/every") {
            *every = with_description(duration(min), every);
        }
        if let Some(jitter) = schedule.pointer_mut("/properties/jitter") {
            let nullable = json!({ "oneOf": [{ "type": "null" }, duration(0)] });
            *jitter = with_description(nullable, jitter);
        }
    }
    doc
}

/// `schema` with the description of `old`, if it had one.
fn with_description(mut schema: Value, old: &Value) -> Value {
    if let (Some(text), Some(map)) = (old.get("description"), schema.as_object_mut()) {
        map.insert("description".into(), text.clone());
    }
    schema
}

/// A field value: at most [`MAX_VALUE`] characters without NUL; `non_blank`: not only
/// white space either.
fn field_value(non_blank: bool) -> Value {
    let pattern = if non_blank {
        format!(r"^[^\u0000]*[^{WHITE_SPACE}\u0000][^\u0000]*$")
    } else {
        r"^[^\u0000]*$".to_string()
    };
    json!({ "type": "string", "maxLength": MAX_VALUE, "pattern": pattern })
}

/// The body of `POST /credential` (or the UI's add-account) as one variant per connector:
/// its id, and exactly its fields.
fn one_variant_per_connector(schema: &Value, deployment: &Deployment) -> Value {
    let variants: Vec<Value> = deployment
        .connectors
        .iter()
        .map(|(id, fields)| {
            let mut variant = schema.clone();
            if let Some(map) = variant.as_object_mut() {
                map.remove("description");
            }
            if let Some(connector) = variant.pointer_mut("/properties/connector") {
                *connector = with_description(json!({ "type": "string", "const": id }), connector);
            }
            if let Some(old) = variant.pointer_mut("/properties/fields") {
                let properties: Map<String, Value> = fields
                    .iter()
                    .map(|f| (f.name.clone(), field_value(!f.optional)))
                    .collect();
                let required: Vec<&str> = fields
                    .iter()
                    .filter(|f| !f.optional)
                    .map(|f| f.name.as_str())
                    .collect();
                let exact = json!({
                    "type": "object",
                    "properties": properties,
                    "required": required,
                    "additionalProperties": false,
                });
                *old = with_description(exact, old);
            }
            variant
        })
        .collect();
    let mut one_of = json!({ "oneOf": variants });
    if let (Some(text), Some(map)) = (schema.get("description"), one_of.as_object_mut()) {
        map.insert("description".into(), text.clone());
    }
    one_of
}

/// How a change of fields treats what it leaves out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    /// `PATCH /credential/{id}`: the values given over the stored ones; a secret or a
    /// required value given must not be blank.
    Merge,
    /// The UI's correction: the values given replace the plain ones, so every required
    /// plain field is given; a blank secret keeps its stored value.
    Replace,
}

/// The fields of a change of a credential: any connector's fields. Which connector is the
/// credential's is not in the body, so a field of another connector is still refused
/// (422): exact when the connectors ask for the same fields.
fn any_connector_fields(old: &Value, deployment: &Deployment, change: Change) -> Value {
    let mut properties: Map<String, Value> = Map::new();
    let mut required: Vec<String> = Vec::new();
    for field in deployment.connectors.iter().flat_map(|(_, f)| f) {
        let non_blank = match change {
            Change::Merge => field.secret || !field.optional,
            Change::Replace => !field.secret && !field.optional,
        };
        let already = properties
            .get(&field.name)
            .is_some_and(|v| v != &field_value(false));
        properties.insert(field.name.clone(), field_value(non_blank || already));
        if change == Change::Replace && non_blank && !required.contains(&field.name) {
            required.push(field.name.clone());
        }
    }
    with_description(
        json!({
            "type": "object",
            "properties": properties,
            "required": required,
            "additionalProperties": false,
        }),
        old,
    )
}

/// `redirectUrl`: a URL on one of `origins` (as `UiConfig::allows_redirect` reads it), or
/// `null`.
fn redirect_url(origins: &[String]) -> Value {
    if origins.is_empty() {
        return json!({ "type": "null" });
    }
    let alternatives: Vec<String> = origins.iter().map(|o| origin_pattern(o)).collect();
    // `origin_of` trims white space, then the URL parser drops the C0 controls and spaces
    // left around the URL; after the origin, the URL's path, query or fragment may hold
    // anything (the parser escapes it).
    let pattern = format!(
        r"^[{WHITE_SPACE}]*[\u0000-\u0020]*({})([/?#][\s\S]*|[\u0000-\u0020]*[{WHITE_SPACE}]*)$",
        alternatives.join("|")
    );
    json!({ "type": ["string", "null"], "pattern": pattern })
}

/// An origin (`scheme://host[:port]`) as a regex, its default port optional.
fn origin_pattern(origin: &str) -> String {
    let escaped = regex::escape(origin);
    let has_port = origin
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.bytes().all(|b| b.is_ascii_digit()) && !p.is_empty());
    let default_port = match origin.split_once("://") {
        Some(("https", _)) => ":443",
        Some(("http", _)) => ":80",
        _ => "",
    };
    if has_port || default_port.is_empty() {
        escaped
    } else {
        format!("{escaped}({default_port})?")
    }
}

/// A schedule duration of at least `min` seconds and at most 366 days: a number of
/// seconds, or digits and one unit (`duration::parse_with_days`: s, m and h up to a day,
/// d up to 366 days). Leading zeros are accepted as the parsers accept them.
fn duration(min: u64) -> Value {
    let units = [("s?", 1), ("m", 60), ("h", 3600)];
    let mut alternatives: Vec<String> = units
        .iter()
        .filter_map(|(suffix, unit)| {
            let lo = min.div_ceil(*unit);
            let hi = MAX_WITHOUT_DAYS / unit;
            (lo <= hi).then(|| format!("({}){suffix}", range_pattern(lo, hi)))
        })
        .collect();
    let lo_days = min.div_ceil(86_400);
    if lo_days <= MAX_DAYS {
        alternatives.push(format!("({})d", range_pattern(lo_days, MAX_DAYS)));
    }
    let text = json!({
        "type": "string",
        "pattern": format!("^0*({})$", alternatives.join("|")),
        "description": "digits and one unit: s, m, h or d (`24h`, `7d`)",
    });
    let seconds = json!({
        "type": "integer",
        "minimum": min,
        "maximum": MAX_DAYS * 86_400,
        "description": "seconds",
    });
    json!({ "oneOf": [seconds, text] })
}

/// A regex (alternatives, no anchors) matching the decimal numbers from `lo` to `hi`
/// written without leading zeros.
pub fn range_pattern(lo: u64, hi: u64) -> String {
    let mut alternatives = Vec::new();
    let mut start = lo;
    while start <= hi {
        // Within one number of digits: `[lo, hi]` of the same length never needs a leading 0.
        // The place of the leading digit.
        let lead = if start == 0 {
            1
        } else {
            10u64.pow(start.ilog10())
        };
        let end_here = lead.saturating_mul(10).saturating_sub(1).min(hi);
        // The widest block [start, start + pow·k - 1] sharing every digit but the last
        // `log10(pow) + 1`, the one at `pow` not above the leading one.
        let mut pow: u64 = 1;
        while pow < lead && start.is_multiple_of(pow * 10) && start + pow * 10 - 1 <= end_here {
            pow *= 10;
        }
        let to_boundary = (pow * 10 - start % (pow * 10)) / pow;
        let blocks = to_boundary.min((end_here - start + 1) / pow);
        let end = start + blocks * pow - 1;
        let prefix = start / (pow * 10);
        let (a, b) = ((start / pow) % 10, (end / pow) % 10);
        let mut alt = if prefix > 0 {
            prefix.to_string()
        } else {
            String::new()
        };
        if a == b {
            alt.push_str(&a.to_string());
        } else {
            alt.push_str(&format!("[{a}-{b}]"));
        }
        let rest = pow.ilog10();
        if rest > 0 {
            alt.push_str(&format!("[0-9]{{{rest}}}"));
        }
        alternatives.push(alt);
        if end == u64::MAX {
            break;
        }
        start = end + 1;
    }
    alternatives.join("|")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_patterns_match_exactly_their_range() {
        for (lo, hi) in [
            (0, 0),
            (0, 9),
            (1, 24),
            (60, 86_400),
            (1, 1440),
            (7, 366),
            (0, 86_400),
            (99, 1000),
        ] {
            let re = regex::Regex::new(&format!("^0*({})$", range_pattern(lo, hi))).unwrap();
            for n in 0..=hi + 1000 {
                assert_eq!(
                    re.is_match(&n.to_string()),
                    (lo..=hi).contains(&n),
                    "{n} in {lo}..={hi}: {re}"
                );
            }
            assert!(!re.is_match(""), "{re}");
            assert!(re.is_match(&format!("000{lo}")), "{re}");
        }
    }

    /// The duration pattern takes what the schedule route takes, and nothing else.
    #[test]
    fn duration_patterns_follow_the_parser() {
        let doc = duration(60);
        let re = regex::Regex::new(doc["oneOf"][1]["pattern"].as_str().unwrap()).unwrap();
        for ok in [
            "60", "60s", "86400", "1m", "1440m", "24h", "1d", "366d", "0001h",
        ] {
            assert!(re.is_match(ok), "{ok}");
        }
        for bad in [
            "59", "59s", "86401s", "1441m", "25h", "0d", "367d", "0", "1.5h", "1ms", "h", "",
        ] {
            assert!(!re.is_match(bad), "{bad}");
        }
        let jitter = duration(0);
        let re = regex::Regex::new(jitter["oneOf"][1]["pattern"].as_str().unwrap()).unwrap();
        for ok in ["0", "0s", "0m", "0d", "366d"] {
            assert!(re.is_match(ok), "{ok}");
        }
    }

    #[test]
    fn redirect_urls_follow_the_allowed_origins() {
        let schema = redirect_url(&["https://app.example".into()]);
        let re = regex::Regex::new(schema["pattern"].as_str().unwrap()).unwrap();
        for ok in [
            "https://app.example",
            "https://app.example/done?x=1",
            " https://app.example:443/",
            "\u{2000}\u{18}\thttps://app.example\u{1} \u{2000}",
        ] {
            assert!(re.is_match(ok), "{ok}");
            assert!(
                crate::ui::origin_of(ok).as_deref() == Some("https://app.example"),
                "{ok}"
            );
        }
        for bad in [
            "https://app.example.evil/",
            "http://app.example/",
            "https://app.example:8443/",
            // Found by schemathesis: a C0 control before white space is not trimmed.
            "\u{18}\u{2000}https://app.example",
            "https://app.example x",
        ] {
            assert!(!re.is_match(bad), "{bad}");
            assert_ne!(
                crate::ui::origin_of(bad).as_deref(),
                Some("https://app.example"),
                "{bad}"
            );
        }
        assert_eq!(redirect_url(&[]), json!({ "type": "null" }));
    }
}
