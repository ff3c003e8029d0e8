//! Steps that accept a short form: `click: '#submit'` as well as `click: { selector: ... }`.
//!
//! serde's `untagged` would accept both, but it buffers the node and so loses the line and
//! column of every error and span inside it. This visitor keeps the parser's own positions.

/// `string_or_struct!(Enum, StringVariant, Struct, StructVariant)` implements `Deserialize`
/// for `Enum` from a YAML string (into `StringVariant(s.into())`) or a mapping (into `Struct`).
macro_rules! string_or_struct {
    ($enum:ident, $str_variant:ident, $struct:ident, $struct_variant:ident) => {
        impl<'de> serde::Deserialize<'de> for $enum {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> serde::de::Visitor<'de> for V {
                    type Value = $enum;
                    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                        f.write_str(concat!("a string or a mapping (", stringify!($struct), ")"))
                    }
                    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<$enum, E> {
                        Ok($enum::$str_variant(s.to_string().into()))
                    }
                    fn visit_map<A: serde::de::MapAccess<'de>>(
                        self,
                        map: A,
                    ) -> Result<$enum, A::Error> {
                        let inner: $struct = serde::Deserialize::deserialize(
                            serde::de::value::MapAccessDeserializer::new(map),
                        )?;
                        Ok($enum::$struct_variant(inner))
                    }
                }
                deserializer.deserialize_any(V)
            }
        }
    };
}
pub(crate) use string_or_struct;
