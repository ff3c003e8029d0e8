//! Keeping secret values (passwords, one-time codes) out of every message, error and log line.

use super::mask::MASK;
use std::sync::{Arc, RwLock};

/// The secrets of one collect. Every text that leaves the engine goes through
/// [`Redactor::redact`] first; while the redactor lives (the collect runs), its secrets are
/// also masked in every log line ([`super::log_redaction`]).
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    secrets: Arc<Secrets>,
}

#[derive(Debug, Default)]
struct Secrets(RwLock<Vec<String>>);

impl std::ops::Deref for Secrets {
    type Target = RwLock<Vec<String>>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl Drop for Secrets {
    /// The collect has ended: its secrets leave the log layer's registry.
    fn drop(&mut self) {
        let list = self.0.read().unwrap_or_else(|e| e.into_inner());
        for s in list.iter() {
            super::log_redaction::unregister(s);
        }
    }
}

impl Redactor {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a secret. Values too short to be told apart from ordinary text (under 3
    /// characters) are kept out of messages by the callers instead.
    pub fn add(&self, secret: &str) {
        let s = secret.trim();
        if s.chars().count() >= 3 {
            let mut list = self.secrets.write().unwrap_or_else(|e| e.into_inner());
            if !list.iter().any(|x| x == s) {
                super::log_redaction::register(s);
                list.push(s.to_string());
                // Longest first, so that a secret containing another is masked whole.
                list.sort_by_key(|x| std::cmp::Reverse(x.len()));
            }
        }
    }

    pub fn redact(&self, text: &str) -> String {
        let list = self.secrets.read().unwrap_or_else(|e| e.into_inner());
        let mut out = text.to_string();
        for s in list.iter() {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), MASK);
            }
        }
        out
    }

    /// [`Redactor::redact`], and also the secrets as they appear in URLs, form bodies,
    /// HTML, JSON and scripts: percent-encoded (`+` or `%20` for spaces, either hex case),
    /// HTML- and JSON-escaped, base64 (standard and URL-safe) and hex. For what a trace
    /// writes, which holds pages and URLs rather than messages. (Recordings go further:
    /// see `replay::scrub`, which also finds a secret inside a longer base64 string.)
    pub fn redact_encoded(&self, text: &str) -> String {
        use base64::Engine as _;
        use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
        let list = self.secrets.read().unwrap_or_else(|e| e.into_inner());
        let mut out = text.to_string();
        for s in list.iter() {
            let form: String = url::form_urlencoded::byte_serialize(s.as_bytes()).collect();
            let html = s
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('"', "&quot;");
            let json = serde_json::to_string(s)
                .map(|j| j.trim_matches('"').to_string())
                .unwrap_or_default();
            let bytes = s.as_bytes();
            for variant in [
                s.clone(),
                form.replace('+', "%20"),
                lower_hex_escapes(&form.replace('+', "%20")),
                lower_hex_escapes(&form),
                form,
                html,
                json,
                STANDARD_NO_PAD.encode(bytes),
                URL_SAFE_NO_PAD.encode(bytes),
                hex::encode(bytes),
                hex::encode_upper(bytes),
            ] {
                if !variant.is_empty() && out.contains(&variant) {
                    out = out.replace(&variant, MASK);
                }
            }
        }
        out
    }
}

/// `%C3%A4` → `%c3%a4`: the other case browsers and servers write.
fn lower_hex_escapes(encoded: &str) -> String {
    let mut out = String::with_capacity(encoded.len());
    let mut chars = encoded.chars();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '%' {
            out.extend(chars.by_ref().take(2).map(|h| h.to_ascii_lowercase()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_every_registered_secret() {
        let r = Redactor::new();
        r.add("hunter2");
        r.add("123456");
        assert_eq!(
            r.redact("login failed for hunter2 with 123456"),
            "login failed for ••• with •••"
        );
        assert_eq!(r.redact("nothing here"), "nothing here");
    }

    #[test]
    fn masks_encoded_forms_in_pages_and_urls() {
        let r = Redactor::new();
        r.add("p@ss w&rd!");
        assert_eq!(
            r.redact_encoded(
                "/login?pw=p%40ss+w%26rd%21 p%40ss%20w%26rd%21 <i value=\"p@ss w&amp;rd!\">"
            ),
            "/login?pw=••• ••• <i value=\"•••\">"
        );
        // Base64 (btoa), hex, JSON and lower-case percent escapes of "pässword".
        r.add("pässword");
        assert_eq!(
            r.redact_encoded("cMOkc3N3b3Jk 70c3a47373776f7264 p%c3%a4ssword"),
            "••• ••• •••"
        );
        assert_eq!(r.redact_encoded(r#"{"pw":"pässword"}"#), r#"{"pw":"•••"}"#);
    }
}
