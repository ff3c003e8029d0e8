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

    /// [`Redactor::redact`], and also the secrets as they appear in URLs, form bodies and
    /// HTML: percent-encoded (`+` or `%20` for spaces) and HTML-escaped. For what a trace
    /// writes, which holds pages and URLs rather than messages.
    pub fn redact_encoded(&self, text: &str) -> String {
        let list = self.secrets.read().unwrap_or_else(|e| e.into_inner());
        let mut out = text.to_string();
        for s in list.iter() {
            let form: String = url::form_urlencoded::byte_serialize(s.as_bytes()).collect();
            let html = s
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('"', "&quot;");
            for variant in [s.clone(), form.replace('+', "%20"), form, html] {
                if out.contains(&variant) {
                    out = out.replace(&variant, MASK);
                }
            }
        }
        out
    }
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
    }
}
