//! A selector as written in a connector file: one string, or a list of alternatives tried
//! in order (`click: ['#submit', 'text=Se connecter']`). `check` parses it into a
//! [`plan::Selector`](super::plan::Selector).

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::located::{Located, Pos};

#[derive(Debug, Clone)]
pub enum SelectorSpec {
    One(String),
    /// Alternatives, tried in order; each with its own position.
    Many(Vec<Located<String>>),
}

impl SelectorSpec {
    /// The alternatives with their positions (`fallback` for the single form, whose
    /// position is the field's).
    pub fn alternatives(&self, fallback: Pos) -> Vec<Located<String>> {
        match self {
            SelectorSpec::One(s) => vec![Located {
                value: s.clone(),
                pos: fallback,
            }],
            SelectorSpec::Many(list) => list.clone(),
        }
    }

    /// As written, quoted, for step summaries: `'#submit'`, `['#submit', 'text=OK']`.
    pub fn summary(&self) -> String {
        match self {
            SelectorSpec::One(s) => format!("'{s}'"),
            SelectorSpec::Many(list) => {
                let items: Vec<String> = list.iter().map(|s| format!("'{}'", s.value)).collect();
                format!("[{}]", items.join(", "))
            }
        }
    }
}

impl From<&str> for SelectorSpec {
    fn from(s: &str) -> Self {
        SelectorSpec::One(s.to_string())
    }
}

pub(super) struct SpecVisitor;

impl<'de> serde::de::Visitor<'de> for SpecVisitor {
    type Value = SelectorSpec;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a selector, or a list of selectors tried in order")
    }
    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<SelectorSpec, E> {
        Ok(SelectorSpec::One(s.to_string()))
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<SelectorSpec, A::Error> {
        let mut list = Vec::new();
        while let Some(item) = seq.next_element::<Located<String>>()? {
            list.push(item);
        }
        Ok(SelectorSpec::Many(list))
    }
}

impl<'de> Deserialize<'de> for SelectorSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(SpecVisitor)
    }
}

impl Serialize for SelectorSpec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            SelectorSpec::One(one) => s.serialize_str(one),
            SelectorSpec::Many(list) => list.serialize(s),
        }
    }
}

impl JsonSchema for SelectorSpec {
    fn schema_name() -> Cow<'static, str> {
        "Selector".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A selector: CSS (reaching into open shadow roots), `text=…`, \
                `text=\"…\"`, `role=button[name=\"…\"]`, parts chained with `>>`; or a list \
                of them, tried in order.",
            "oneOf": [
                { "type": "string", "minLength": 1 },
                { "type": "array", "items": { "type": "string", "minLength": 1 }, "minItems": 1 }
            ]
        })
    }
}
