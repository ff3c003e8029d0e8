//! `{{fields.login}}`-style templates: literal text and dotted variable paths, nothing more.
//! Kept this small on purpose: connector files are data, and every variable a template
//! names can then be checked before a browser starts.

use serde_json::Value;

/// Why a template's text is not a template.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("unclosed '{{{{' in template {0:?}")]
    Unclosed(String),
    #[error("empty '{{{{}}}}' in template {0:?}")]
    Empty(String),
    #[error("invalid variable name {name:?} in '{{{{{expr}}}}}'")]
    InvalidName { name: String, expr: String },
}

/// Why a template cannot be rendered with the variables at hand.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("'{{{{{0}}}}}' is a list or a record, not a value")]
    NotAValue(String),
    #[error("'{{{{{0}}}}}' is not defined here")]
    Undefined(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Text(String),
    /// A dotted path: `account.url` → `["account", "url"]`.
    Var(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub segments: Vec<Segment>,
}

impl Template {
    pub fn parse(src: &str) -> Result<Template, TemplateError> {
        let mut segments = Vec::new();
        let mut rest = src;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                segments.push(Segment::Text(rest[..open].to_string()));
            }
            let after = &rest[open + 2..];
            let close = after
                .find("}}")
                .ok_or_else(|| TemplateError::Unclosed(src.to_string()))?;
            let expr = after[..close].trim();
            if expr.is_empty() {
                return Err(TemplateError::Empty(src.to_string()));
            }
            let path: Vec<String> = expr.split('.').map(|p| p.trim().to_string()).collect();
            if let Some(bad) = path.iter().find(|p| !is_identifier(p)) {
                return Err(TemplateError::InvalidName {
                    name: bad.clone(),
                    expr: expr.to_string(),
                });
            }
            segments.push(Segment::Var(path));
            rest = &after[close + 2..];
        }
        if !rest.is_empty() {
            segments.push(Segment::Text(rest.to_string()));
        }
        Ok(Template { segments })
    }

    pub fn vars(&self) -> impl Iterator<Item = &[String]> {
        self.segments.iter().filter_map(|s| match s {
            Segment::Var(p) => Some(p.as_slice()),
            Segment::Text(_) => None,
        })
    }

    /// Renders with `lookup` resolving a path to a value. Strings are inserted as they are,
    /// numbers and booleans as JSON, null as the empty string.
    pub fn render(
        &self,
        lookup: impl Fn(&[String]) -> Option<Value>,
    ) -> Result<String, RenderError> {
        let mut out = String::new();
        for seg in &self.segments {
            match seg {
                Segment::Text(t) => out.push_str(t),
                Segment::Var(path) => match lookup(path) {
                    Some(Value::String(s)) => out.push_str(&s),
                    Some(Value::Null) => {}
                    Some(v @ (Value::Number(_) | Value::Bool(_))) => out.push_str(&v.to_string()),
                    Some(_) => {
                        return Err(RenderError::NotAValue(path.join(".")));
                    }
                    None => {
                        return Err(RenderError::Undefined(path.join(".")));
                    }
                },
            }
        }
        Ok(out)
    }
}

pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_renders() {
        let t = Template::parse("/accounts/{{ account.id }}/ops?p={{page}}").unwrap();
        assert_eq!(t.vars().count(), 2);
        let out = t
            .render(|p| match p.join(".").as_str() {
                "account.id" => Some(Value::from("CHK-001")),
                "page" => Some(Value::from(2)),
                _ => None,
            })
            .unwrap();
        assert_eq!(out, "/accounts/CHK-001/ops?p=2");
    }

    #[test]
    fn rejects_bad_templates() {
        assert_eq!(
            Template::parse("{{fields.login").unwrap_err().to_string(),
            "unclosed '{{' in template \"{{fields.login\""
        );
        assert_eq!(
            Template::parse("{{a b}}").unwrap_err().to_string(),
            "invalid variable name \"a b\" in '{{a b}}'"
        );
        assert!(Template::parse("{{}}").is_err());
        assert!(Template::parse("{{a b}}").is_err());
        assert!(Template::parse("plain").unwrap().vars().next().is_none());
    }
}
