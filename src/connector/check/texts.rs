//! Texts shown to people (`label`, `placeholder`, `instructions`, `ask_code.label`): a
//! string, or a map by language whose keys are language tags, each once, and whose texts
//! are not empty. Plain strings take the connector's `language`, when it says one.

use crate::connector::located::{Located, Pos};
use crate::connector::model::{FieldDef, Text};
use crate::connector::plan::{AccountField, LanguageTag, LocalizedText};

use super::checker::Checker;

impl Checker<'_> {
    /// The top-level `language`: the language of the connector's plain strings.
    pub(super) fn plain_language(&mut self) -> Option<LanguageTag> {
        let language = self.connector.language.as_ref()?;
        match LanguageTag::parse(&language.value) {
            Ok(tag) => Some(tag),
            Err(e) => {
                self.err(language.pos, format!("language: {e}"));
                None
            }
        }
    }

    /// A text, `what` naming it in errors (`label`, `instructions`...).
    pub(super) fn text(
        &mut self,
        text: &Located<Text>,
        fallback: Pos,
        what: &str,
    ) -> Option<LocalizedText> {
        let pos = text.pos.or(fallback);
        match &text.value {
            Text::Plain(plain) => {
                if plain.trim().is_empty() {
                    self.err(
                        pos,
                        format!("`{what}` is empty: write the text, or leave `{what}` out"),
                    );
                    return None;
                }
                Some(LocalizedText::single(
                    self.plain_language.clone(),
                    plain.clone(),
                ))
            }
            Text::ByLanguage(entries) if entries.is_empty() => {
                self.err(
                    pos,
                    format!("`{what}` names no language: write `{{ en: …, fr: … }}`, or a string"),
                );
                None
            }
            Text::ByLanguage(entries) => {
                let before = self.diags.len();
                let mut texts: Vec<(LanguageTag, String)> = Vec::with_capacity(entries.len());
                for (key, value) in entries {
                    let key_pos = key.pos.or(pos);
                    match LanguageTag::parse(&key.value) {
                        Ok(tag) => {
                            if let Some((same, _)) = texts.iter().find(|(t, _)| *t == tag) {
                                self.err(
                                    key_pos,
                                    format!(
                                        "`{what}` gives the language {same} twice (as {:?}; tags are compared in any case)",
                                        key.value
                                    ),
                                );
                            } else if value.value.trim().is_empty() {
                                self.err(
                                    value.pos.or(key_pos),
                                    format!("`{what}` in {tag} is empty: write the text, or leave {tag} out"),
                                );
                            } else {
                                texts.push((tag, value.value.clone()));
                            }
                        }
                        Err(e) => self.err(key_pos, format!("`{what}`: {e}")),
                    }
                }
                if self.diags.len() != before {
                    return None;
                }
                LocalizedText::by_language(texts)
            }
        }
    }

    /// A field the person fills in, with its texts checked.
    pub(super) fn account_field(&mut self, def: &Located<FieldDef>) -> Option<AccountField> {
        let label = self.text(&def.label, def.pos, "label");
        let placeholder = def
            .placeholder
            .as_ref()
            .map(|p| self.text(p, def.pos, "placeholder"));
        Some(AccountField {
            label: label?,
            kind: def.kind,
            secret: def.is_secret(),
            optional: def.optional,
            placeholder: match placeholder {
                None => None,
                Some(checked) => Some(checked?),
            },
            identity: def.identity,
        })
    }
}
