//! Text shown to people, as written: a string, or a map by language
//! (`label: { en: Login, fr: Identifiant }`). `check` parses it into a
//! [`plan::LocalizedText`](crate::connector::plan::LocalizedText).

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::connector::located::Located;

/// The language tags a connector may write: a BCP 47 language (2 or 3 letters), then
/// optionally a script (4 letters), a region (2 letters or 3 digits) and variants, joined
/// by `-`, in any case: `en`, `fr`, `pt-BR`, `zh-Hant-TW`. The JSON Schema says the same.
pub const LANGUAGE_TAG_PATTERN: &str = "^[A-Za-z]{2,3}(-[A-Za-z]{4})?(-([A-Za-z]{2}|[0-9]{3}))?(-([A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))*$";

#[derive(Debug, Clone)]
pub enum Text {
    /// In the connector's `language`, or of unknown language without one.
    Plain(String),
    /// Language tag to text, as written (keys unchecked, in file order, each with its
    /// position).
    ByLanguage(Vec<(Located<String>, Located<String>)>),
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        Text::Plain(s.to_string())
    }
}

struct TextVisitor;

impl<'de> serde::de::Visitor<'de> for TextVisitor {
    type Value = Text;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a text, or a map from language tag to text (`{ en: Login, fr: Identifiant }`)")
    }
    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Text, E> {
        Ok(Text::Plain(s.to_string()))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Text, A::Error> {
        let mut entries = Vec::new();
        while let Some(lang) = map.next_key::<Located<String>>()? {
            let text = map.next_value::<Located<String>>()?;
            entries.push((lang, text));
        }
        Ok(Text::ByLanguage(entries))
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TextVisitor)
    }
}

impl Serialize for Text {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Text::Plain(text) => s.serialize_str(text),
            Text::ByLanguage(entries) => {
                s.collect_map(entries.iter().map(|(l, t)| (&l.value, &t.value)))
            }
        }
    }
}

impl JsonSchema for Text {
    fn schema_name() -> Cow<'static, str> {
        "Text".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Text shown to people: a string (in the connector's `language`, \
                or of unknown language without one), or a map from language tag (`en`, `fr`, \
                `pt-BR`; any case) to text. The person's language is shown, else English, \
                else the first one written.",
            "oneOf": [
                { "type": "string", "minLength": 1 },
                {
                    "type": "object",
                    "propertyNames": { "pattern": LANGUAGE_TAG_PATTERN },
                    "additionalProperties": { "type": "string", "minLength": 1 },
                    "minProperties": 1
                }
            ]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::LANGUAGE_TAG_PATTERN;
    use crate::connector::json_schema;

    #[test]
    fn the_schema_describes_a_string_or_a_map_by_language_tag() {
        let schema = json_schema();
        let text = &schema["$defs"]["Text"]["oneOf"];
        assert_eq!(text[0]["type"], "string");
        assert_eq!(text[1]["type"], "object");
        assert_eq!(text[1]["propertyNames"]["pattern"], LANGUAGE_TAG_PATTERN);
        assert_eq!(text[1]["additionalProperties"]["minLength"], 1);
        let field = &schema["$defs"]["FieldDef"]["properties"];
        assert_eq!(field["label"]["$ref"], "#/$defs/Text");
        assert_eq!(
            schema["properties"]["language"]["pattern"],
            LANGUAGE_TAG_PATTERN
        );
    }
}
