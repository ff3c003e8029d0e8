//! Durations in connector files: `timeout: 20s` and `auto_success: false | 8s`, parsed by
//! [`crate::duration::parse`].

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::duration::parse as parse_duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeout(pub Duration);

impl Timeout {
    pub fn get(self) -> Duration {
        self.0
    }
}

impl<'de> Deserialize<'de> for Timeout {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Timeout;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration such as 500ms, 20s, 5m, or a number of seconds")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Timeout, E> {
                parse_duration(s).map(Timeout).map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<Timeout, E> {
                parse_duration(&n.to_string())
                    .map(Timeout)
                    .map_err(E::custom)
            }
            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<Timeout, E> {
                parse_duration(&n.to_string())
                    .map(Timeout)
                    .map_err(E::custom)
            }
            fn visit_f64<E: serde::de::Error>(self, n: f64) -> Result<Timeout, E> {
                parse_duration(&n.to_string())
                    .map(Timeout)
                    .map_err(E::custom)
            }
        }
        deserializer.deserialize_any(V)
    }
}

impl Serialize for Timeout {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{}ms", self.0.as_millis()))
    }
}

impl JsonSchema for Timeout {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A duration: 500ms, 20s, 5m, 1h, or a number of seconds.",
            "oneOf": [
                { "type": "string", "pattern": "^\\s*[0-9.]+\\s*(ms|s|m|min|h)?\\s*$" },
                { "type": "number", "minimum": 0 }
            ]
        })
    }
}

/// `false`, or a delay such as `8s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum AutoSuccess {
    Off,
    After(Timeout),
}

impl AutoSuccess {
    pub const DEFAULT_DELAY: std::time::Duration = std::time::Duration::from_secs(8);

    /// The delay, or `None` when turned off.
    pub fn delay(this: Option<AutoSuccess>) -> Option<std::time::Duration> {
        match this {
            None => Some(Self::DEFAULT_DELAY),
            Some(AutoSuccess::Off) => None,
            Some(AutoSuccess::After(t)) => Some(t.get()),
        }
    }
}

impl<'de> Deserialize<'de> for AutoSuccess {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = AutoSuccess;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("`false`, `true` or a duration such as 8s")
            }
            fn visit_bool<E: serde::de::Error>(self, b: bool) -> Result<AutoSuccess, E> {
                Ok(if b {
                    AutoSuccess::After(Timeout(AutoSuccess::DEFAULT_DELAY))
                } else {
                    AutoSuccess::Off
                })
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<AutoSuccess, E> {
                parse_duration(s)
                    .map(|d| AutoSuccess::After(Timeout(d)))
                    .map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<AutoSuccess, E> {
                self.visit_str(&n.to_string())
            }
            fn visit_f64<E: serde::de::Error>(self, n: f64) -> Result<AutoSuccess, E> {
                self.visit_str(&n.to_string())
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for AutoSuccess {
    fn schema_name() -> Cow<'static, str> {
        "AutoSuccess".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "`false`, `true` (8s) or a duration such as 8s",
            "type": ["boolean", "string", "number"]
        })
    }
}
