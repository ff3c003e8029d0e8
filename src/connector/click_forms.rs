//! `click`'s three forms: `'#submit'`, `['#submit', 'text=OK']` (alternatives) or
//! `{ selector: …, optional: … }`. Apart from the model so that the model's modules import
//! one another in one direction.

use serde::{Deserialize, Deserializer};

use super::located::Located;
use super::model::{Click, ClickOptions};
use super::selector_spec::{SelectorSpec, SpecVisitor};

/// `click: '#submit'`, `click: ['#submit', 'text=OK']` or `click: { selector: … }`.
impl<'de> Deserialize<'de> for Click {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Click;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a selector, a list of selectors or a mapping (ClickOptions)")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Click, E> {
                Ok(Click::Selector(Located::new(SelectorSpec::One(s.into()))))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Click, A::Error> {
                Ok(Click::Selector(Located::new(SpecVisitor.visit_seq(seq)?)))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Click, A::Error> {
                let inner: ClickOptions =
                    Deserialize::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                Ok(Click::Options(inner))
            }
        }
        deserializer.deserialize_any(V)
    }
}
