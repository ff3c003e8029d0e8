//! Recorder steps → connector YAML. Typed values never reach the output: each distinct
//! input typed into becomes a field, and the step fills it from `{{fields.<name>}}`.
//!
//! Selector mapping, per alternative (xpath ones are dropped: gleaner has no XPath):
//! `aria/Name[role="button"]` → `role=button[name="Name"]`, `aria/Name` → `text=Name`,
//! `text/…` → `text=…`, `pierce/css` → `css` (gleaner's CSS already pierces open shadow
//! roots), plain CSS as is; the parts of a chain are joined with ` >> `. Alternatives are
//! ordered by stability (CSS ids, other CSS, roles, text) and deduplicated.

use std::fmt::Write;

use url::Url;

use super::recorder::{Chain, ImportError, Recording, Step};

pub fn skeleton(recording: &Recording, file: &str) -> Result<String, ImportError> {
    let base = base_url(recording, file)?;
    let mut domains: Vec<String> = Vec::new();
    let mut fields: Vec<Field> = Vec::new();
    let mut login: Vec<String> = Vec::new();
    for step in &recording.steps {
        match step {
            Step::Navigate { url } => {
                let url = parse_url(url, file)?;
                if let Some(host) = url.host_str()
                    && !domains.iter().any(|d| d == host)
                {
                    domains.push(host.to_string());
                }
                let target = if url.origin() == base.origin() {
                    let mut path = url.path().to_string();
                    if let Some(q) = url.query() {
                        path = format!("{path}?{q}");
                    }
                    path
                } else {
                    url.to_string()
                };
                login.push(format!("goto: {}", quote(&target)));
            }
            Step::Click { selectors } | Step::DoubleClick { selectors } => {
                match alternatives(selectors).as_slice() {
                    [] => login.push("# a click with no selector gleaner can use".into()),
                    [one] => login.push(format!("click: {}", quote(one))),
                    many => login.push(format!(
                        "click: [{}]",
                        many.iter().map(|s| quote(s)).collect::<Vec<_>>().join(", ")
                    )),
                }
            }
            Step::Change { selectors, .. } => {
                let alts = alternatives(selectors);
                let Some(best) = alts.first() else {
                    login.push("# typed into an input with no selector gleaner can use".into());
                    continue;
                };
                let name = match fields.iter().find(|f| &f.selector == best) {
                    Some(f) => f.name.clone(),
                    None => {
                        let name = field_name(best, &fields);
                        fields.push(Field {
                            name: name.clone(),
                            selector: best.clone(),
                            password: is_password(selectors),
                        });
                        name
                    }
                };
                login.push(format!(
                    "fill: {{ {}: '{{{{fields.{name}}}}}' }}",
                    quote(best)
                ));
            }
            Step::KeyDown { key } if matches!(key.as_str(), "Enter" | "Tab" | "Escape") => {
                login.push(format!("press: {key}"));
            }
            Step::KeyDown { .. } | Step::Other => {}
        }
    }
    let mut out = String::new();
    let title = recording
        .title
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let title = if title.is_empty() {
        "Imported".to_string()
    } else {
        title
    };
    let _ = writeln!(
        out,
        "# yaml-language-server: $schema=../schema/connector.json"
    );
    let _ = writeln!(
        out,
        "# A skeleton imported from a Chrome DevTools Recorder export ({}).",
        file.replace(['\n', '\r'], " ")
    );
    let _ = writeln!(
        out,
        "# To complete: `pages` (how each page is recognised), an `await_page`"
    );
    let _ = writeln!(
        out,
        "# after the submit, `success`, and the `steps` that extract the data."
    );
    let _ = writeln!(out, "id: {}", quote(&slug(&title)));
    let _ = writeln!(out, "name: {}", quote(&title));
    let _ = writeln!(
        out,
        "base_url: {}",
        quote(&format!("{}/", base.origin().ascii_serialization()))
    );
    let _ = writeln!(
        out,
        "domains: [{}]",
        domains
            .iter()
            .map(|d| quote(d))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if !fields.is_empty() {
        let _ = writeln!(out, "\nfields:");
        for f in &fields {
            let kind = if f.password { ", type: password" } else { "" };
            let _ = writeln!(out, "  {}: {{ label: {}{kind} }}", f.name, quote(&f.name));
        }
    }
    let _ = writeln!(out, "\nlogin:");
    for step in &login {
        let _ = writeln!(
            out,
            "  {}{step}",
            if step.starts_with('#') { "" } else { "- " }
        );
    }
    Ok(out)
}

struct Field {
    name: String,
    selector: String,
    password: bool,
}

fn base_url(recording: &Recording, file: &str) -> Result<Url, ImportError> {
    let url = recording
        .steps
        .iter()
        .find_map(|s| match s {
            Step::Navigate { url } => Some(url),
            _ => None,
        })
        .ok_or_else(|| ImportError::NoNavigate {
            file: file.to_string(),
        })?;
    parse_url(url, file)
}

fn parse_url(url: &str, file: &str) -> Result<Url, ImportError> {
    let parsed = Url::parse(url).map_err(|e| ImportError::BadUrl {
        file: file.to_string(),
        url: url.to_string(),
        message: e.to_string(),
    })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(ImportError::BadUrl {
            file: file.to_string(),
            url: url.to_string(),
            message: "not http or https".into(),
        });
    }
    Ok(parsed)
}

/// The gleaner selectors of a step's alternatives, most stable first, without duplicates.
pub fn alternatives(chains: &[Chain]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for chain in chains {
        let parts: Option<Vec<String>> = chain.parts().iter().map(|p| part(p)).collect();
        if let Some(parts) = parts.filter(|p| !p.is_empty()) {
            let sel = parts.join(" >> ");
            if !out.contains(&sel) {
                out.push(sel);
            }
        }
    }
    out.sort_by_key(|s| rank(s));
    out
}

/// One part of a chain in gleaner's syntax; `None` for what gleaner cannot express.
fn part(p: &str) -> Option<String> {
    let p = p.trim();
    if p.is_empty() || p.starts_with("xpath/") {
        return None;
    }
    if let Some(name) = p.strip_prefix("aria/") {
        return Some(aria(name));
    }
    if let Some(text) = p.strip_prefix("text/") {
        return Some(format!("text={}", text.trim()));
    }
    Some(p.strip_prefix("pierce/").unwrap_or(p).trim().to_string())
}

/// `Name[role="button"]` → `role=button[name="Name"]`; a bare name → `text=Name`.
fn aria(name: &str) -> String {
    if let Some(open) = name.rfind("[role=")
        && name.ends_with(']')
    {
        let role = name[open + 6..name.len() - 1].trim_matches(['"', '\'']);
        let name = &name[..open];
        if name.is_empty() {
            return format!("role={role}");
        }
        return format!("role={role}[name=\"{}\"]", name.replace('"', "\\\""));
    }
    format!("text={name}")
}

fn rank(sel: &str) -> u8 {
    if sel.starts_with("text=") {
        3
    } else if sel.starts_with("role=") {
        2
    } else if sel.starts_with('#') && !sel.contains(' ') {
        0
    } else {
        1
    }
}

fn is_password(chains: &[Chain]) -> bool {
    chains.iter().flat_map(|c| c.parts()).any(|p| {
        let p = p.to_ascii_lowercase();
        p.contains("password") || p.contains("passwd") || p.contains("mot de passe")
    })
}

/// `#login` → `login`, `input[name=password]` → `password`, else `field1`...; unique.
fn field_name(selector: &str, taken: &[Field]) -> String {
    let last = selector.rsplit(">>").next().unwrap_or_default().trim();
    let candidate = if let Some(id) = last.strip_prefix('#') {
        Some(id.to_string())
    } else {
        last.find("[name=").map(|i| {
            let value = &last[i + 6..];
            value[..value.find(']').unwrap_or(value.len())]
                .trim_matches(['"', '\''])
                .to_string()
        })
    };
    let ident = candidate.map(|c| {
        c.chars()
            .map(|ch| {
                if ch.is_ascii_alphanumeric() {
                    ch.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect::<String>()
            .trim_matches('_')
            .to_string()
    });
    let free = |n: &str| !taken.iter().any(|f| f.name == n);
    match ident {
        Some(n)
            if !n.is_empty() && n.starts_with(|c: char| c.is_ascii_alphabetic()) && free(&n) =>
        {
            n
        }
        _ => (1..)
            .map(|i| format!("field{i}"))
            .find(|n| free(n))
            .unwrap_or_default(),
    }
}

fn slug(title: &str) -> String {
    let mut out = String::new();
    for ch in title.chars().map(unaccent) {
        if ch.is_ascii_alphanumeric() {
            out.push(ch.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-').to_string();
    if out.is_empty() {
        "imported".into()
    } else {
        out
    }
}

/// The common Latin accents, so that `Démo` gives `demo`; other letters become separators.
fn unaccent(ch: char) -> char {
    match ch {
        'à' | 'â' | 'ä' | 'á' | 'À' | 'Â' => 'a',
        'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' => 'e',
        'î' | 'ï' | 'í' => 'i',
        'ô' | 'ö' | 'ó' => 'o',
        'ù' | 'û' | 'ü' | 'ú' => 'u',
        'ç' | 'Ç' => 'c',
        _ => ch,
    }
}

/// A YAML single-quoted scalar: no escapes but `''`, so any selector survives as written.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::recorder;

    const REC: &str = r##"{"title": "Démo Bank: login", "steps": [
      {"type": "setViewport", "width": 1280, "height": 800},
      {"type": "navigate", "url": "https://bank.example/login?x=1"},
      {"type": "click", "selectors": [["aria/Accepter[role=\"button\"]"], ["#accept-cookies"]]},
      {"type": "change", "value": "alice-typed", "selectors": [["#login"], ["xpath//input[1]"]]},
      {"type": "change", "value": "S3cret'pw", "selectors": [["aria/Mot de passe"], ["input[name=\"password\"]"]]},
      {"type": "keyDown", "key": "a"},
      {"type": "keyDown", "key": "Enter"},
      {"type": "keyUp", "key": "Enter"},
      {"type": "click", "selectors": [["my-app", "pierce/button.go"], ["text/Se connecter"]]},
      {"type": "navigate", "url": "https://sso.example/next"}
    ]}"##;

    fn yaml() -> String {
        crate::import::import(REC, "r.json").unwrap()
    }

    #[test]
    fn the_skeleton_passes_check_and_holds_no_typed_value() {
        let y = yaml();
        let plan = crate::connector::parse(&y, "out.yaml").unwrap_or_else(|e| panic!("{e}\n{y}"));
        assert!(!y.contains("alice-typed") && !y.contains("S3cret"), "{y}");
        assert_eq!(plan.id, "demo-bank-login");
        assert!(plan.fields["password"].is_secret());
        assert!(!plan.fields["login"].is_secret());
    }

    #[test]
    fn selectors_are_mapped() {
        let y = yaml();
        assert!(y.contains("base_url: 'https://bank.example/'"), "{y}");
        assert!(
            y.contains("domains: ['bank.example', 'sso.example']"),
            "{y}"
        );
        assert!(y.contains("- goto: '/login?x=1'"), "{y}");
        assert!(y.contains("- goto: 'https://sso.example/next'"), "{y}");
        assert!(
            y.contains(r#"- click: ['#accept-cookies', 'role=button[name="Accepter"]']"#),
            "{y}"
        );
        assert!(
            y.contains("- fill: { '#login': '{{fields.login}}' }"),
            "{y}"
        );
        assert!(
            y.contains(r#"- fill: { 'input[name="password"]': '{{fields.password}}' }"#),
            "{y}"
        );
        assert!(y.contains("- press: Enter"), "{y}");
        assert_eq!(y.matches("press:").count(), 1, "{y}");
        assert!(
            y.contains("- click: ['my-app >> button.go', 'text=Se connecter']"),
            "{y}"
        );
    }

    #[test]
    fn a_recording_without_navigate_is_refused() {
        let r = recorder::parse(
            r##"{"title":"x","steps":[{"type":"click","selectors":[["#a"]]}]}"##,
            "r.json",
        )
        .unwrap();
        let e = skeleton(&r, "r.json").unwrap_err();
        assert!(matches!(e, ImportError::NoNavigate { .. }), "{e}");
    }

    #[test]
    fn field_names_come_from_the_selector() {
        assert_eq!(field_name("#user-name", &[]), "user_name");
        assert_eq!(field_name("form >> input[name=email]", &[]), "email");
        assert_eq!(field_name("input[name=\"pwd\"][type=password]", &[]), "pwd");
        assert_eq!(field_name("input.big", &[]), "field1");
        assert_eq!(slug("  Démo Bank!! "), "demo-bank");
    }
}
