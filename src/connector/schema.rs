//! The JSON Schema of connector files, generated from the raw [`Connector`] types.

use super::model::Connector;

/// The JSON Schema of connector files, for editors (`# yaml-language-server: $schema=…`).
pub fn json_schema() -> serde_json::Value {
    let schema = schemars::schema_for!(Connector);
    serde_json::to_value(schema).unwrap_or_default()
}
