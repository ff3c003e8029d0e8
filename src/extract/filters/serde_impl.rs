//! Hand-written `Deserialize` for [`Filter`] and [`DateFilter`] (bare names or single-key maps)
//! and the `JsonSchema` of [`Filter`] that matches it.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::Value;

use super::date::{DateFilter, DateOptions};
use super::decimal::DecimalFilter;
use super::filter::{BARE_NAMES, FILTER_NAMES, FILTER_SCHEMA_ID, Filter, ReplaceFilter};

fn unknown_filter_message(name: &str) -> String {
    format!(
        "unknown filter `{name}`; valid filters are: {} (write `clean_text`, `decimal`, `lower`, \
         `upper` as bare names, the others as a single-key map such as `{{ regex: '...' }}`)",
        FILTER_NAMES.join(", ")
    )
}

fn needs_argument_message(name: &str) -> String {
    let example = match name {
        "regex" => "{ regex: 'Réf\\. (\\d+)' }",
        "replace" => "{ replace: { pattern: '\\s+CB$', with: '' } }",
        "date" => "{ date: '%d/%m/%Y' }",
        _ => "{ default: 'n/a' }",
    };
    format!("the `{name}` filter needs an argument, e.g. `{example}`")
}

impl<'de> Deserialize<'de> for Filter {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(FilterVisitor)
    }
}

struct FilterVisitor;

impl<'de> Visitor<'de> for FilterVisitor {
    type Value = Filter;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "a filter: one of {} as a bare name, or a single-key map such as {{ regex: '...' }}",
            BARE_NAMES.join(", ")
        )
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<Filter, E> {
        match name {
            "clean_text" => Ok(Filter::CleanText),
            "decimal" => Ok(Filter::Decimal(DecimalFilter::default())),
            "lower" => Ok(Filter::Lower),
            "upper" => Ok(Filter::Upper),
            "regex" | "replace" | "date" | "default" => {
                Err(E::custom(needs_argument_message(name)))
            }
            _ => Err(E::custom(unknown_filter_message(name))),
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Filter, A::Error> {
        use de::Error as _;
        let Some(name) = map.next_key::<String>()? else {
            return Err(A::Error::custom(format!(
                "empty map; expected a filter: one of {}",
                FILTER_NAMES.join(", ")
            )));
        };
        let filter = match name.as_str() {
            // `{ clean_text: ~ }` is accepted as a synonym of the bare name.
            "clean_text" => map.next_value::<()>().map(|()| Filter::CleanText)?,
            "lower" => map.next_value::<()>().map(|()| Filter::Lower)?,
            "upper" => map.next_value::<()>().map(|()| Filter::Upper)?,
            "decimal" => Filter::Decimal(
                map.next_value::<Option<DecimalFilter>>()?
                    .unwrap_or_default(),
            ),
            "regex" => Filter::Regex(map.next_value()?),
            "replace" => Filter::Replace(map.next_value()?),
            "date" => Filter::Date(map.next_value()?),
            "default" => Filter::Default(map.next_value()?),
            other => return Err(A::Error::custom(unknown_filter_message(other))),
        };
        if let Some(extra) = map.next_key::<String>()? {
            return Err(A::Error::custom(format!(
                "a filter is a map with exactly one key, found `{name}` and `{extra}`; \
                 write each filter as its own list item"
            )));
        }
        Ok(filter)
    }
}

impl<'de> Deserialize<'de> for DateFilter {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DateVisitor;
        impl<'de> Visitor<'de> for DateVisitor {
            type Value = DateFilter;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a strftime format such as '%d/%m/%Y', or a map { formats: [...], locale: fr }",
                )
            }
            fn visit_str<E: de::Error>(self, format: &str) -> Result<DateFilter, E> {
                Ok(DateFilter::Format(format.to_owned()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<DateFilter, A::Error> {
                DateOptions::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(DateFilter::Options)
            }
        }
        deserializer.deserialize_any(DateVisitor)
    }
}

impl JsonSchema for Filter {
    fn schema_name() -> Cow<'static, str> {
        "Filter".into()
    }

    fn schema_id() -> Cow<'static, str> {
        FILTER_SCHEMA_ID.into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let replace = generator.subschema_for::<ReplaceFilter>();
        let decimal = generator.subschema_for::<DecimalFilter>();
        let date = generator.subschema_for::<DateFilter>();
        let keyed = |name: &str, description: &str, value: Value| {
            serde_json::json!({
                "type": "object",
                "description": description,
                "properties": { name: value },
                "required": [name],
                "additionalProperties": false,
            })
        };
        json_schema!({
            "description": "A cleaning step: a bare name (clean_text, decimal, lower, upper) or a \
                            single-key map (regex, replace, decimal, date, default).",
            "oneOf": [
                {
                    "const": "clean_text",
                    "description": "Collapse all Unicode whitespace to single spaces and trim.",
                },
                {
                    "const": "decimal",
                    "description": "Parse an amount into a number, detecting the decimal separator.",
                },
                { "const": "lower", "description": "Lowercase the text." },
                { "const": "upper", "description": "Uppercase the text." },
                keyed(
                    "regex",
                    "Keep the first capture group of the first match (or the whole match). No match is an error.",
                    serde_json::json!({ "type": "string", "description": "Regular expression (Rust regex syntax)." }),
                ),
                keyed("replace", "Regex replace-all; `with` may use $1 etc.", replace.to_value()),
                keyed(
                    "decimal",
                    "Parse an amount into a number.",
                    serde_json::json!({ "anyOf": [decimal, { "type": "null" }] }),
                ),
                keyed(
                    "date",
                    "Parse a date (or date-time) into ISO 8601 (\"2026-11-23\" or \"2026-11-23T14:05:00\").",
                    date.to_value(),
                ),
                keyed(
                    "default",
                    "Replace null or the empty string by this value.",
                    serde_json::json!(true),
                ),
            ],
        })
    }
}
