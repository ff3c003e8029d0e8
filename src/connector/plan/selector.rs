//! Selectors of the steps and pages that act on the live page: CSS (which reaches into open
//! shadow roots), `text=`, `role=`, chained with `>>`, and lists of alternatives tried in
//! order. The in-page agent resolves them (`query` in `agent.js`) from their JSON form.
//!
//! Syntax of one alternative (parts joined by `>>`, each searched inside the matches of
//! the one before, their open shadow roots included):
//! - `css=…` or plain CSS: `#submit`, `consent-banner >> button.accept`;
//! - `text=Télécharger`: the smallest elements whose text contains it, ignoring case and
//!   runs of white space; `text="Télécharger"`: the whole text, exactly (white space
//!   normalised);
//! - `role=button`, `role=button[name="Valider"]` (name contains it, ignoring case),
//!   `role=button[name="Valider" s]` (name exactly, case included), `role=heading[level=2]`.

use std::fmt;

use serde::Serialize;

use crate::template::{Segment, Template};

/// A selector `check` accepted: alternatives, tried in order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Selector {
    alternatives: Vec<Alternative>,
}

/// One alternative: parts chained with `>>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Alternative {
    /// As written, for messages.
    pub source: String,
    pub chain: Vec<Part>,
}

/// One part of a chain.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Part {
    /// Matched in the document and in every open shadow root.
    Css { css: String },
    /// The smallest elements whose visible text matches.
    Text { text: String, exact: bool },
    /// Elements with this ARIA role (explicit or implicit), and this accessible name.
    Role {
        role: String,
        name: Option<String>,
        /// The name is the whole accessible name, case included (`s`).
        exact: bool,
        level: Option<u8>,
    },
}

/// Why a selector is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectorError {
    #[error("empty selector")]
    Empty,
    #[error("empty list of selectors: give at least one")]
    EmptyList,
    #[error("{0:?}: nothing on one side of `>>`")]
    EmptyChainPart(String),
    #[error("{0:?}: the text after `text=` is empty")]
    EmptyText(String),
    #[error("{0:?}: unterminated quote")]
    UnterminatedQuote(String),
    #[error("{0:?}: unterminated `[`")]
    UnterminatedBracket(String),
    #[error(
        "{selector:?}: unknown role {role:?} (an ARIA role such as button, link, textbox, checkbox, heading)"
    )]
    UnknownRole { selector: String, role: String },
    #[error("{selector:?}: unknown role attribute {attr:?} (name and level are understood)")]
    UnknownRoleAttribute { selector: String, attr: String },
    #[error("{selector:?}: {what}")]
    BadRoleAttribute { selector: String, what: String },
    #[error("invalid CSS selector {selector:?}: {why}")]
    Css { selector: String, why: String },
    #[error(
        "{0:?}: text= and role= selectors and `>>` work in steps that act on the live page \
         (click, fill, wait…), not in extract or download, which read the page's HTML; use \
         plain CSS here"
    )]
    NotCss(String),
}

impl Selector {
    /// Parses a selector as written; `alternatives` holds one string, or several tried in
    /// order.
    pub fn parse<S: AsRef<str>>(alternatives: &[S]) -> Result<Selector, SelectorError> {
        if alternatives.is_empty() {
            return Err(SelectorError::EmptyList);
        }
        let alternatives = alternatives
            .iter()
            .map(|a| Alternative::parse(a.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Selector { alternatives })
    }

    /// A plain CSS selector checked already (an extract's rows, probed for pagination).
    pub fn css(css: &str) -> Selector {
        Selector {
            alternatives: vec![Alternative {
                source: css.to_string(),
                chain: vec![Part::Css {
                    css: css.to_string(),
                }],
            }],
        }
    }

    pub fn alternatives(&self) -> &[Alternative] {
        &self.alternatives
    }
}

/// Quoted, for messages: `"#submit"`, `["#submit", "text=OK"]`.
impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let [one] = self.alternatives.as_slice() {
            return write!(f, "{:?}", one.source);
        }
        let list: Vec<String> = self
            .alternatives
            .iter()
            .map(|a| format!("{:?}", a.source))
            .collect();
        write!(f, "[{}]", list.join(", "))
    }
}

impl Alternative {
    pub fn parse(text: &str) -> Result<Alternative, SelectorError> {
        if text.trim().is_empty() {
            return Err(SelectorError::Empty);
        }
        let chain = split_chain(text)?
            .into_iter()
            .map(|part| {
                let part = part.trim();
                if part.is_empty() {
                    return Err(SelectorError::EmptyChainPart(text.to_string()));
                }
                Part::parse(part)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Alternative {
            source: text.trim().to_string(),
            chain,
        })
    }
}

impl Part {
    fn parse(part: &str) -> Result<Part, SelectorError> {
        if let Some(text) = part.strip_prefix("text=") {
            return parse_text(part, text.trim());
        }
        if let Some(rest) = part.strip_prefix("role=") {
            return parse_role(part, rest);
        }
        let css = part.strip_prefix("css=").unwrap_or(part).trim();
        check_css(css)?;
        Ok(Part::Css {
            css: css.to_string(),
        })
    }
}

/// Checks CSS with `scraper`'s parser (Chromium accepts a superset, but a selector
/// `scraper` rejects is almost always a typo).
pub fn check_css(css: &str) -> Result<(), SelectorError> {
    if css.trim().is_empty() {
        return Err(SelectorError::Empty);
    }
    scraper::Selector::parse(css)
        .map(|_| ())
        .map_err(|e| SelectorError::Css {
            selector: css.to_string(),
            why: describe_css_error(&e),
        })
}

/// Checks a selector for `extract` and `download`, which read HTML with `scraper`: plain
/// CSS only.
pub fn check_html_css(css: &str) -> Result<(), SelectorError> {
    let t = css.trim_start();
    if t.starts_with("text=") || t.starts_with("role=") || css.contains(">>") {
        return Err(SelectorError::NotCss(css.to_string()));
    }
    check_css(css.strip_prefix("css=").unwrap_or(css))
}

/// A selector with variables (`'#acct-{{account.id}}'`), one template per alternative,
/// parsed into a [`Selector`] when it runs.
#[derive(Debug, Clone)]
pub struct SelectorTemplate {
    alternatives: Vec<Template>,
}

impl SelectorTemplate {
    /// Checks each alternative now: templates parsed, variables replaced by a placeholder
    /// for the selector's own syntax (its kind is known from its literal prefix).
    pub fn parse<S: AsRef<str>>(alternatives: &[S]) -> Result<SelectorTemplate, String> {
        if alternatives.is_empty() {
            return Err(SelectorError::EmptyList.to_string());
        }
        let mut templates = Vec::new();
        for a in alternatives {
            let t = Template::parse(a.as_ref()).map_err(|e| e.to_string())?;
            let sample: String = t
                .segments
                .iter()
                .map(|s| match s {
                    Segment::Text(t) => t.clone(),
                    Segment::Var(_) => "x".to_string(),
                })
                .collect();
            Alternative::parse(&sample).map_err(|e| e.to_string())?;
            templates.push(t);
        }
        Ok(SelectorTemplate {
            alternatives: templates,
        })
    }

    pub fn alternatives(&self) -> &[Template] {
        &self.alternatives
    }

    /// Renders each alternative (failing as `render` does), then parses the result.
    pub fn render<E>(
        &self,
        mut render: impl FnMut(&Template) -> Result<String, E>,
    ) -> Result<Result<Selector, SelectorError>, E> {
        let texts = self
            .alternatives
            .iter()
            .map(&mut render)
            .collect::<Result<Vec<_>, E>>()?;
        Ok(Selector::parse(&texts))
    }
}

/// Splits on `>>` outside quotes, brackets and parentheses.
fn split_chain(text: &str) -> Result<Vec<&str>, SelectorError> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match (quote, c) {
            (Some(_), '\\') => {
                chars.next();
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '[' | '(') => depth += 1,
            (None, ']' | ')') => depth -= 1,
            (None, '>') if depth == 0 && text[i + 1..].starts_with('>') => {
                parts.push(&text[start..i]);
                chars.next();
                start = i + 2;
            }
            _ => {}
        }
    }
    if quote.is_some() {
        return Err(SelectorError::UnterminatedQuote(text.to_string()));
    }
    if depth > 0 {
        return Err(SelectorError::UnterminatedBracket(text.to_string()));
    }
    parts.push(&text[start..]);
    Ok(parts)
}

/// A quoted string at the start of `s` (`"…"` or `'…'`, backslash escapes): its value and
/// what follows.
fn quoted<'a>(whole: &str, s: &'a str) -> Result<(String, &'a str), SelectorError> {
    let mut chars = s.char_indices();
    let Some((_, q)) = chars.next() else {
        return Err(SelectorError::UnterminatedQuote(whole.to_string()));
    };
    let mut value = String::new();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, e)) => value.push(e),
                None => break,
            },
            c if c == q => return Ok((value, &s[i + c.len_utf8()..])),
            c => value.push(c),
        }
    }
    Err(SelectorError::UnterminatedQuote(whole.to_string()))
}

fn parse_text(part: &str, text: &str) -> Result<Part, SelectorError> {
    if text.starts_with('"') || text.starts_with('\'') {
        let (value, rest) = quoted(part, text)?;
        if !rest.trim().is_empty() {
            return Err(SelectorError::BadRoleAttribute {
                selector: part.to_string(),
                what: format!("unexpected {:?} after the quoted text", rest.trim()),
            });
        }
        let value = normalise(&value);
        if value.is_empty() {
            return Err(SelectorError::EmptyText(part.to_string()));
        }
        return Ok(Part::Text {
            text: value,
            exact: true,
        });
    }
    let value = normalise(text);
    if value.is_empty() {
        return Err(SelectorError::EmptyText(part.to_string()));
    }
    Ok(Part::Text {
        text: value,
        exact: false,
    })
}

fn normalise(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn parse_role(part: &str, rest: &str) -> Result<Part, SelectorError> {
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .unwrap_or(rest.len());
    let role = rest[..end].to_ascii_lowercase();
    if !ARIA_ROLES.contains(&role.as_str()) {
        return Err(SelectorError::UnknownRole {
            selector: part.to_string(),
            role,
        });
    }
    let mut name = None;
    let mut exact = false;
    let mut level = None;
    let mut s = rest[end..].trim_start();
    while !s.is_empty() {
        let Some(inner) = s.strip_prefix('[') else {
            return Err(SelectorError::BadRoleAttribute {
                selector: part.to_string(),
                what: format!("expected `[attribute=value]`, found {s:?}"),
            });
        };
        let inner = inner.trim_start();
        let key_end = inner
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .unwrap_or(inner.len());
        let key = &inner[..key_end];
        let after_key = inner[key_end..].trim_start();
        let Some(after_eq) = after_key.strip_prefix('=') else {
            if after_key.is_empty() {
                return Err(SelectorError::UnterminatedBracket(part.to_string()));
            }
            return Err(SelectorError::BadRoleAttribute {
                selector: part.to_string(),
                what: format!("expected `=` after {key:?}"),
            });
        };
        let after_eq = after_eq.trim_start();
        let (value, after_value) = if after_eq.starts_with('"') || after_eq.starts_with('\'') {
            quoted(part, after_eq)?
        } else {
            let v_end = after_eq
                .find(|c: char| c == ']' || c.is_whitespace())
                .unwrap_or(after_eq.len());
            (after_eq[..v_end].to_string(), &after_eq[v_end..])
        };
        let mut after_value = after_value.trim_start();
        let mut case_sensitive = false;
        if let Some(r) = after_value.strip_prefix(['s', 'S']) {
            case_sensitive = true;
            after_value = r.trim_start();
        } else if let Some(r) = after_value.strip_prefix(['i', 'I']) {
            after_value = r.trim_start();
        }
        let Some(next) = after_value.strip_prefix(']') else {
            return Err(SelectorError::UnterminatedBracket(part.to_string()));
        };
        match key {
            "name" => {
                name = Some(value);
                exact = case_sensitive;
            }
            "level" => {
                let n = value.parse::<u8>().ok().filter(|n| (1..=6).contains(n));
                let Some(n) = n else {
                    return Err(SelectorError::BadRoleAttribute {
                        selector: part.to_string(),
                        what: format!("level must be 1 to 6, not {value:?}"),
                    });
                };
                level = Some(n);
            }
            other => {
                return Err(SelectorError::UnknownRoleAttribute {
                    selector: part.to_string(),
                    attr: other.to_string(),
                });
            }
        }
        s = next.trim_start();
    }
    Ok(Part::Role {
        role,
        name,
        exact,
        level,
    })
}

/// The roles of WAI-ARIA 1.2.
const ARIA_ROLES: &[&str] = &[
    "alert",
    "alertdialog",
    "application",
    "article",
    "banner",
    "blockquote",
    "button",
    "caption",
    "cell",
    "checkbox",
    "code",
    "columnheader",
    "combobox",
    "complementary",
    "contentinfo",
    "definition",
    "deletion",
    "dialog",
    "directory",
    "document",
    "emphasis",
    "feed",
    "figure",
    "form",
    "generic",
    "grid",
    "gridcell",
    "group",
    "heading",
    "img",
    "insertion",
    "link",
    "list",
    "listbox",
    "listitem",
    "log",
    "main",
    "marquee",
    "math",
    "menu",
    "menubar",
    "menuitem",
    "menuitemcheckbox",
    "menuitemradio",
    "meter",
    "navigation",
    "none",
    "note",
    "option",
    "paragraph",
    "presentation",
    "progressbar",
    "radio",
    "radiogroup",
    "region",
    "row",
    "rowgroup",
    "rowheader",
    "scrollbar",
    "search",
    "searchbox",
    "separator",
    "slider",
    "spinbutton",
    "status",
    "strong",
    "subscript",
    "superscript",
    "switch",
    "tab",
    "table",
    "tablist",
    "tabpanel",
    "term",
    "textbox",
    "time",
    "timer",
    "toolbar",
    "tooltip",
    "tree",
    "treegrid",
    "treeitem",
];

/// scraper's Display for selector errors is unhelpful ("please report this"); its Debug
/// names the token.
pub fn describe_css_error(e: &scraper::error::SelectorErrorKind) -> String {
    let debug = format!("{e:?}");
    let name = debug
        .strip_prefix("UnexpectedSelectorParseError(")
        .and_then(|d| d.strip_suffix(')'))
        .unwrap_or(&debug);
    let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
    match name.as_str() {
        "ClassNeedsIdent" => "a class name must follow '.'".into(),
        "UnexpectedToken" => "unexpected character".into(),
        "EmptySelector" => "empty selector".into(),
        "DanglingCombinator" => "a combinator (>, +, ~) has nothing after it".into(),
        "EndOfLine" => "the selector ends too early".into(),
        _ => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(s: &str) -> Vec<Part> {
        Selector::parse(&[s]).unwrap().alternatives[0].chain.clone()
    }

    fn err(s: &str) -> String {
        Selector::parse(&[s]).unwrap_err().to_string()
    }

    #[test]
    fn kinds() {
        assert_eq!(one("#a"), vec![Part::Css { css: "#a".into() }]);
        assert_eq!(one("css=#a"), vec![Part::Css { css: "#a".into() }]);
        assert_eq!(
            one("text=  Télécharger   le PDF "),
            vec![Part::Text {
                text: "Télécharger le PDF".into(),
                exact: false
            }]
        );
        assert_eq!(
            one(r#"text="Se connecter""#),
            vec![Part::Text {
                text: "Se connecter".into(),
                exact: true
            }]
        );
        assert_eq!(
            one(r#"role=button[name="Valider"]"#),
            vec![Part::Role {
                role: "button".into(),
                name: Some("Valider".into()),
                exact: false,
                level: None
            }]
        );
        assert_eq!(
            one(r#"role=heading[name='Factures' s][level=2]"#),
            vec![Part::Role {
                role: "heading".into(),
                name: Some("Factures".into()),
                exact: true,
                level: Some(2)
            }]
        );
    }

    #[test]
    fn chains_split_outside_quotes() {
        let chain = one(r#"consent-banner >> text="a >> b" >> button"#);
        assert_eq!(chain.len(), 3);
        assert_eq!(
            chain[1],
            Part::Text {
                text: "a >> b".into(),
                exact: true
            }
        );
        // `>` alone is a CSS combinator.
        assert_eq!(one("ul > li").len(), 1);
    }

    #[test]
    fn bad_forms() {
        assert!(err("").contains("empty selector"));
        assert!(err("div >> ").contains("nothing on one side of `>>`"));
        assert!(err("text=").contains("text after `text=` is empty"));
        assert!(err(r#"text="abc"#).contains("unterminated quote"));
        assert!(err("role=buton").contains("unknown role \"buton\""));
        assert!(err(r#"role=button[name="x"#).contains("unterminated quote"));
        assert!(err(r#"role=button[name=x"#).contains("unterminated `[`"));
        assert!(err(r#"role=button[label="x"]"#).contains("unknown role attribute \"label\""));
        assert!(err("role=heading[level=9]").contains("level must be 1 to 6"));
        assert!(err("div[").contains("unterminated `[`"));
        assert!(err("##a").contains("invalid CSS selector"));
        assert!(
            Selector::parse::<&str>(&[])
                .unwrap_err()
                .to_string()
                .contains("empty list")
        );
    }

    #[test]
    fn html_selectors_are_css_only() {
        assert!(check_html_css("tr.invoice").is_ok());
        for s in ["text=Total", "role=row", "table >> tr"] {
            assert!(matches!(check_html_css(s), Err(SelectorError::NotCss(_))));
        }
    }

    #[test]
    fn templates_render_then_parse() {
        let t = SelectorTemplate::parse(&["#acct-{{a.id}}", "text={{a.name}}"]).unwrap();
        let sel = t.render(|t| {
            Ok::<_, ()>(
                t.segments
                    .iter()
                    .map(|s| match s {
                        Segment::Text(t) => t.clone(),
                        Segment::Var(_) => "7".into(),
                    })
                    .collect(),
            )
        });
        assert_eq!(
            sel.unwrap().unwrap().to_string(),
            r##"["#acct-7", "text=7"]"##
        );
        assert!(SelectorTemplate::parse(&["role=nope{{x}}"]).is_err());
    }
}
