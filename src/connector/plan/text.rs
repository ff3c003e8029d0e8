//! Text a connector shows to people (labels, placeholders, instructions), in one language
//! or several: [`LocalizedText`], whose languages are parsed [`LanguageTag`]s, and
//! [`LocalizedText::pick`], which chooses the one to show.

use std::borrow::Cow;
use std::fmt;
use std::sync::LazyLock;

use icu_locale_core::LanguageIdentifier;
use indexmap::IndexMap;
use regex::Regex;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

// The pattern lives with the raw model (which the JSON Schema is made from); the plan parses.
pub use crate::connector::model::LANGUAGE_TAG_PATTERN;

static LANGUAGE_TAG: LazyLock<Regex> = LazyLock::new(|| {
    // A constant pattern, covered by the tests.
    Regex::new(LANGUAGE_TAG_PATTERN).unwrap_or_else(|_| unreachable!())
});

/// A language tag in its normal form (`pt-BR`, `zh-Hant`): parsed, never a raw string.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LanguageTag(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LanguageTagError {
    #[error("{0:?} is not a language tag (such as en, fr, pt-BR)")]
    NotATag(String),
    #[error("{0:?} says the language is undetermined: name the language, or write a plain string")]
    Undetermined(String),
}

impl LanguageTag {
    /// Parses a tag, in any case, into its normal form (`PT-br` → `pt-BR`).
    pub fn parse(tag: &str) -> Result<LanguageTag, LanguageTagError> {
        if !LANGUAGE_TAG.is_match(tag) {
            return Err(LanguageTagError::NotATag(tag.to_string()));
        }
        let id = LanguageIdentifier::try_from_str(tag)
            .map_err(|_| LanguageTagError::NotATag(tag.to_string()))?;
        if id.language.is_unknown() {
            return Err(LanguageTagError::Undetermined(tag.to_string()));
        }
        Ok(LanguageTag(id.to_string()))
    }

    /// The language of a POSIX locale (`fr_FR.UTF-8` → `fr-FR`); `None` for `C`, `POSIX`
    /// and anything that is not a language.
    pub fn from_posix_locale(locale: &str) -> Option<LanguageTag> {
        let name = locale.split(['.', '@']).next()?.replace('_', "-");
        LanguageTag::parse(&name).ok()
    }

    pub fn english() -> LanguageTag {
        LanguageTag("en".into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The language subtag alone: `pt` for `pt-BR`.
    pub fn language(&self) -> &str {
        self.0.split('-').next().unwrap_or(&self.0)
    }
}

impl fmt::Display for LanguageTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A text in one language or several, in the connector's order. A text whose language the
/// connector does not say (a plain string without a top-level `language`) has none: it is
/// shown marked as of unknown language, never as of a language it may not be in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalizedText {
    /// Never empty; at most one entry per language.
    texts: Vec<(Option<LanguageTag>, String)>,
}

/// The text [`LocalizedText::pick`] chose, and its language (`None`: unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Picked<'a> {
    pub text: &'a str,
    pub lang: Option<&'a LanguageTag>,
}

impl LocalizedText {
    /// One text, in `lang` when it is known.
    pub fn single(lang: Option<LanguageTag>, text: impl Into<String>) -> LocalizedText {
        LocalizedText {
            texts: vec![(lang, text.into())],
        }
    }

    /// Texts by language, in order; `None` when there is none or a language comes twice.
    pub fn by_language(texts: Vec<(LanguageTag, String)>) -> Option<LocalizedText> {
        let unique = texts
            .iter()
            .enumerate()
            .all(|(i, (lang, _))| texts[..i].iter().all(|(other, _)| other != lang));
        (!texts.is_empty() && unique).then(|| LocalizedText {
            texts: texts.into_iter().map(|(l, t)| (Some(l), t)).collect(),
        })
    }

    /// The text to show someone who reads `preferred` (best first): the first of their
    /// languages the text has, then English, then the first text written. A language
    /// matches exactly (`pt-BR`), else by its language subtag (`pt` for `pt-BR` and the
    /// other way round).
    pub fn pick(&self, preferred: &[LanguageTag]) -> Picked<'_> {
        let english = LanguageTag::english();
        let wanted = preferred.iter().chain(std::iter::once(&english));
        let found = wanted.into_iter().find_map(|want| {
            self.find(|tag| tag == want)
                .or_else(|| self.find(|tag| tag.language() == want.language()))
        });
        let (lang, text) = found.unwrap_or(&self.texts[0]);
        Picked {
            text,
            lang: lang.as_ref(),
        }
    }

    /// The English text, else the first one: for logs, terminals and API fields that hold
    /// one string.
    pub fn english_or_first(&self) -> &str {
        self.pick(&[]).text
    }

    /// The texts in the connector's order, with their languages.
    pub fn iter(&self) -> impl Iterator<Item = (Option<&LanguageTag>, &str)> {
        self.texts.iter().map(|(l, t)| (l.as_ref(), t.as_str()))
    }

    fn find(
        &self,
        matches: impl Fn(&LanguageTag) -> bool,
    ) -> Option<&(Option<LanguageTag>, String)> {
        self.texts
            .iter()
            .find(|(lang, _)| lang.as_ref().is_some_and(&matches))
    }
}

/// As a JSON object from language tag to text, in the connector's order; `""` is the key
/// of a text of unknown language.
impl Serialize for LocalizedText {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(
            self.iter()
                .map(|(lang, text)| (lang.map_or("", LanguageTag::as_str), text)),
        )
    }
}

impl<'de> Deserialize<'de> for LocalizedText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let map = IndexMap::<String, String>::deserialize(deserializer)?;
        if let [(lang, text)] = map.iter().collect::<Vec<_>>()[..]
            && lang.is_empty()
        {
            return Ok(LocalizedText::single(None, text.clone()));
        }
        let texts = map
            .into_iter()
            .map(|(lang, text)| LanguageTag::parse(&lang).map(|l| (l, text)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(D::Error::custom)?;
        LocalizedText::by_language(texts)
            .ok_or_else(|| D::Error::custom("a text needs at least one language, each once"))
    }
}

impl utoipa::PartialSchema for LocalizedText {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Type};
        let text = ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(1));
        let key = ObjectBuilder::new().schema_type(Type::String).pattern(Some(
            LANGUAGE_TAG_PATTERN
                .replacen('^', "^(", 1)
                .replacen('$', ")?$", 1),
        ));
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(
                "A connector's text in each language it gives, in the connector's order: \
                 language tag (normal form: `en`, `fr`, `pt-BR`) to text. The key `\"\"` is \
                 a text whose language the connector does not say (then the only key).",
            ))
            .property_names(Some(key))
            .additional_properties(Some(AdditionalProperties::RefOr(text.build().into())))
            .min_properties(Some(1))
            .into()
    }
}

impl utoipa::ToSchema for LocalizedText {
    fn name() -> Cow<'static, str> {
        "LocalizedText".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(s: &str) -> LanguageTag {
        LanguageTag::parse(s).unwrap()
    }

    fn text(entries: &[(&str, &str)]) -> LocalizedText {
        LocalizedText::by_language(
            entries
                .iter()
                .map(|(l, t)| (tag(l), t.to_string()))
                .collect(),
        )
        .unwrap()
    }

    #[test]
    fn tags_are_parsed_into_their_normal_form() {
        assert_eq!(tag("en").as_str(), "en");
        assert_eq!(tag("FR").as_str(), "fr");
        assert_eq!(tag("pt-br").as_str(), "pt-BR");
        assert_eq!(tag("ZH-hant-tw").as_str(), "zh-Hant-TW");
        assert_eq!(tag("es-419").as_str(), "es-419");
        assert_eq!(tag("pt-BR").language(), "pt");
        for bad in [
            "",
            "e",
            "english",
            "en_US",
            "en-",
            "-en",
            "fr CA",
            "en-u-ca-buddhist",
            "1a",
        ] {
            assert!(
                matches!(LanguageTag::parse(bad), Err(LanguageTagError::NotATag(_))),
                "{bad:?}"
            );
        }
        assert!(matches!(
            LanguageTag::parse("und"),
            Err(LanguageTagError::Undetermined(_))
        ));
    }

    #[test]
    fn posix_locales_give_their_language() {
        let lang = |s| LanguageTag::from_posix_locale(s).map(|t| t.to_string());
        assert_eq!(lang("fr_FR.UTF-8").as_deref(), Some("fr-FR"));
        assert_eq!(lang("de_DE@euro").as_deref(), Some("de-DE"));
        assert_eq!(lang("en").as_deref(), Some("en"));
        assert_eq!(lang("C.UTF-8"), None);
        assert_eq!(lang("POSIX"), None);
        assert_eq!(lang(""), None);
    }

    #[test]
    fn pick_prefers_the_persons_language_then_english_then_the_first() {
        let both = text(&[("fr", "Identifiant"), ("en", "Login")]);
        let picked = both.pick(&[tag("fr")]);
        assert_eq!(
            (picked.text, picked.lang),
            ("Identifiant", Some(&tag("fr")))
        );
        assert_eq!(both.pick(&[tag("de")]).text, "Login");
        assert_eq!(both.pick(&[]).text, "Login");
        assert_eq!(both.english_or_first(), "Login");
        // Neither the person's language nor English: the first, in file order.
        let others = text(&[("de", "Kennung"), ("fr", "Identifiant")]);
        let picked = others.pick(&[tag("it")]);
        assert_eq!((picked.text, picked.lang), ("Kennung", Some(&tag("de"))));
        // The person's second language before English.
        assert_eq!(
            text(&[("en", "Login"), ("de", "Kennung")])
                .pick(&[tag("it"), tag("de")])
                .text,
            "Kennung"
        );
    }

    #[test]
    fn pick_matches_regions_by_their_language() {
        let texts = text(&[
            ("en", "Login"),
            ("pt-BR", "Usuário"),
            ("pt-PT", "Utilizador"),
        ]);
        assert_eq!(texts.pick(&[tag("pt-PT")]).text, "Utilizador");
        assert_eq!(texts.pick(&[tag("pt")]).text, "Usuário");
        let english_region = text(&[("fr", "Identifiant"), ("en-GB", "Username")]);
        assert_eq!(english_region.pick(&[tag("de")]).text, "Username");
    }

    #[test]
    fn a_text_of_unknown_language_is_picked_without_one() {
        let plain = LocalizedText::single(None, "Identifiant");
        assert_eq!(
            plain.pick(&[tag("en")]),
            Picked {
                text: "Identifiant",
                lang: None
            }
        );
    }

    #[test]
    fn texts_need_one_entry_per_language() {
        assert!(LocalizedText::by_language(vec![]).is_none());
        assert!(
            LocalizedText::by_language(vec![(tag("en"), "a".into()), (tag("EN"), "b".into())])
                .is_none()
        );
    }

    #[test]
    fn texts_go_to_json_as_objects_in_order_and_back() {
        let both = text(&[("fr", "Identifiant"), ("en", "Login")]);
        let json = serde_json::to_string(&both).unwrap();
        assert_eq!(json, r#"{"fr":"Identifiant","en":"Login"}"#);
        assert_eq!(serde_json::from_str::<LocalizedText>(&json).unwrap(), both);
        let plain = LocalizedText::single(None, "Identifiant");
        let json = serde_json::to_string(&plain).unwrap();
        assert_eq!(json, r#"{"":"Identifiant"}"#);
        assert_eq!(serde_json::from_str::<LocalizedText>(&json).unwrap(), plain);
        assert!(serde_json::from_str::<LocalizedText>("{}").is_err());
        assert!(serde_json::from_str::<LocalizedText>(r#"{"english":"x"}"#).is_err());
    }
}
