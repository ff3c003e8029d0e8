//! Secrets out of a recording before it is written.
//!
//! A [`Scrubber`] learns the secrets of a collect (secret field values, one-time codes, and
//! from the log itself the cookie and authorization values) and replaces each by a stable
//! placeholder, in a HAR log ([`Scrubber::log`]) and in any other text written beside it
//! ([`Scrubber::text`], [`Scrubber::bytes`]). The replay types the placeholders instead of
//! the real values, so the request bodies it sends match the recorded ones.
//!
//! # Placeholders
//! - A secret field: `gleaner-secret-<field name>` (the name reduced to `[a-z0-9_-]`, with
//!   `-2`, `-3`… when two values share a name): nothing of the value, not even its length.
//! - The n-th one-time code: the code's shape (same length; digits become digits, lower- and
//!   upper-case letters stay so, other characters are kept), derived from n alone, never the
//!   code itself, so a `pattern` or `maxlength` on the input still accepts it.
//! - A cookie value: `gleaner-cookie-<n>`; the cookie keeps its name and, in `Set-Cookie`,
//!   its attributes. An `Authorization` or `Proxy-Authorization` value keeps its scheme:
//!   `Bearer gleaner-auth-<n>`. The same value always gets the same placeholder, so a replay
//!   stays consistent (the cookie set by a response is the one the next request sends).
//! - Cookie values and credentials of at least 8 characters (and their percent-decoded
//!   form) are then scrubbed everywhere like a secret (a session id echoed in a URL, a token
//!   in a login response's JSON).
//!
//! # Encodings
//! Every secret is replaced, longest first, in one pass per 32 secrets (a placeholder is
//! never rewritten by a shorter secret, and scrubbing twice changes nothing):
//! - raw; percent-encoded (either hex case, any mix of encoded and literal characters, `+`
//!   for a space: `encodeURIComponent` and form style alike); JSON-string escaped (`\"`,
//!   `\\`, `\/`, `\uXXXX` with surrogate pairs, at any escaping depth); HTML character
//!   references (`&#228;`, `&#xE4;`, `&amp;`…). These are replaced by the placeholder as it is
//!   (placeholders need no escaping in any of these).
//! - hex of the UTF-8 bytes, lower or upper case: replaced by the placeholder's hex.
//! - base64, standard or URL-safe, padded or not: a base64 token (a run of the alphabet) that
//!   decodes to bytes holding the secret (in any of the forms above) is decoded, scrubbed and
//!   re-encoded in its alphabet and padding (Basic credentials, a base64 JSON body). Where the
//!   secret sits inside base64 that does not decode as a token, the characters fully
//!   determined by the secret's bytes, at each of the 3 byte alignments, are overwritten by
//!   filler of the same length (the text around stays decodable, that stretch is garbled).
//!
//! # Not handled
//! - Secrets shorter than 3 characters are not scrubbed (they would hit ordinary text):
//!   [`Scrubber::secret_field`] and [`Scrubber::code`] return the value itself, which the
//!   replay then types as is. A short secret (3 to 5 characters) may also replace ordinary
//!   text that happens to equal it, and its base64 fragments inside longer base64 (under 6
//!   characters) are not searched.
//! - Compressed or encrypted bodies (gzip in a PDF, a JWE), hashes of a secret, hex that
//!   starts mid-byte, case changes (an upper-cased code), encodings nested more than once
//!   through base64, percent-encoded JSON escapes.
//! - Placeholders are inserted as they are, so a code with punctuation keeps it unescaped.
//! - A secret sent hashed or encrypted by the page's script stays as the page sent it (and
//!   the replay, typing the placeholder, sends something else: that request won't match).
//! - Cookie values shorter than 8 characters are replaced in cookie headers and arrays only.
//!
//! A `Scrubber`'s `Debug` shows counts only.

use std::collections::HashMap;
use std::sync::OnceLock;

use base64::Engine as _;
use har::v1_2::{Content, Cookies, Headers, Log, PostData};

use matcher::{Matcher, lenient};

mod matcher;

pub use matcher::MIN_SECRET_CHARS;
/// Cookie values and credentials shorter than this are replaced in their own header only.
pub const MIN_SPREAD_CHARS: usize = 8;

/// Replaces the secrets of a collect by placeholders in a recording.
#[derive(Default)]
pub struct Scrubber {
    /// Every value scrubbed, with its placeholder.
    secrets: Vec<(String, String)>,
    cookies: HashMap<String, String>,
    credentials: HashMap<String, String>,
    /// Compiled on first use after the secrets change.
    matcher: OnceLock<Option<Matcher>>,
}

/// Counts only: the values are secrets.
impl std::fmt::Debug for Scrubber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scrubber")
            .field("secrets", &self.secrets.len())
            .field("cookies", &self.cookies.len())
            .field("credentials", &self.credentials.len())
            .finish_non_exhaustive()
    }
}

impl Scrubber {
    pub fn new() -> Scrubber {
        Scrubber::default()
    }

    /// Registers a secret field's value; returns the placeholder the replay types instead
    /// (the value itself when too short to scrub).
    pub fn secret_field(&mut self, name: &str, value: &str) -> String {
        if let Some(placeholder) = self.known(value) {
            return placeholder;
        }
        if value.chars().count() < MIN_SECRET_CHARS {
            return value.to_string();
        }
        let slug: String = name
            .chars()
            .map(|c| c.to_ascii_lowercase())
            .map(|c| match c {
                'a'..='z' | '0'..='9' | '_' | '-' => c,
                _ => '-',
            })
            .collect();
        let base = format!("gleaner-secret-{slug}");
        let placeholder = (1..)
            .map(|n| match n {
                1 => base.clone(),
                n => format!("{base}-{n}"),
            })
            .find(|p| !self.is_taken(p))
            .unwrap_or(base);
        self.add(value, &placeholder);
        placeholder
    }

    /// Registers the `index`-th one-time code (0-based); returns its placeholder: the code's
    /// shape, deterministic, never the code (the value itself when too short to scrub).
    pub fn code(&mut self, index: usize, value: &str) -> String {
        if let Some(placeholder) = self.known(value) {
            return placeholder;
        }
        if value.chars().count() < MIN_SECRET_CHARS {
            return value.to_string();
        }
        let mut placeholder = code_placeholder(index, value, 0);
        let mut bump = 1;
        while placeholder == value || self.is_taken(&placeholder) {
            placeholder = code_placeholder(index, value, bump);
            bump += 1;
            if bump > 100 {
                // A code of punctuation only has a single shape: keep it out of the recording
                // anyway.
                placeholder = format!("gleaner-code-{index}");
                break;
            }
        }
        self.add(value, &placeholder);
        placeholder
    }

    /// Scrubs a HAR log in place: URLs and query strings, headers (cookie and authorization
    /// values replaced by their placeholders), cookie arrays, request bodies (text and
    /// params), response bodies (base64 ones decoded, scrubbed, re-encoded), redirect URLs,
    /// page titles and comments. Sizes that would tell a secret's length become -1
    /// ("unknown" in HAR 1.2), `content.size` the scrubbed body's.
    pub fn log(&mut self, log: &mut Log) {
        self.learn_cookies_and_credentials(log);
        for page in log.pages.iter_mut().flatten() {
            page.title = self.text(&page.title);
        }
        scrub_option(&mut log.comment, |s| self.text(s));
        for entry in &mut log.entries {
            let request = &mut entry.request;
            request.url = self.text(&request.url);
            for q in &mut request.query_string {
                q.name = self.text(&q.name);
                q.value = self.text(&q.value);
            }
            let headers = request.headers.clone();
            self.headers(&mut request.headers);
            if request.headers != headers {
                request.headers_size = -1;
            }
            self.cookie_array(&mut request.cookies);
            if let Some(post) = &mut request.post_data {
                let text = post.text.clone();
                self.post_data(post);
                if post.text != text {
                    request.body_size = -1;
                }
            }
            let response = &mut entry.response;
            let headers = response.headers.clone();
            self.headers(&mut response.headers);
            if response.headers != headers {
                response.headers_size = -1;
            }
            self.cookie_array(&mut response.cookies);
            let text = response.content.text.clone();
            self.content(&mut response.content);
            if response.content.text != text {
                response.body_size = -1;
            }
            scrub_option(&mut response.redirect_url, |s| self.text(s));
            scrub_option(&mut entry.comment, |s| self.text(s));
        }
    }

    /// Any text with every known secret replaced (e.g. the expected output, the inputs).
    pub fn text(&self, s: &str) -> String {
        match self.matcher() {
            None => s.to_string(),
            Some(matcher) => {
                let scrubbed = matcher.scrub(s.as_bytes());
                // Only whole characters are replaced, by ASCII: still UTF-8.
                String::from_utf8(scrubbed)
                    .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
            }
        }
    }

    /// Any bytes with every known secret replaced.
    pub fn bytes(&self, b: &[u8]) -> Vec<u8> {
        match self.matcher() {
            None => b.to_vec(),
            Some(matcher) => matcher.scrub(b),
        }
    }

    /// The placeholder of a value already registered.
    fn known(&self, value: &str) -> Option<String> {
        self.secrets
            .iter()
            .find(|(v, _)| v == value)
            .map(|(_, p)| p.clone())
    }

    fn is_taken(&self, placeholder: &str) -> bool {
        self.secrets
            .iter()
            .any(|(v, p)| p == placeholder || v == placeholder)
    }

    fn add(&mut self, value: &str, placeholder: &str) {
        if value.chars().count() >= MIN_SECRET_CHARS && self.known(value).is_none() {
            self.secrets
                .push((value.to_string(), placeholder.to_string()));
            self.secrets_changed();
        }
    }

    fn matcher(&self) -> Option<&Matcher> {
        self.matcher
            .get_or_init(|| Matcher::new(&self.secrets))
            .as_ref()
    }

    fn secrets_changed(&mut self) {
        self.matcher = OnceLock::new();
    }

    /// Gives each cookie value and credential of the log its placeholder, and registers the
    /// long ones as secrets.
    fn learn_cookies_and_credentials(&mut self, log: &Log) {
        for entry in &log.entries {
            for h in entry.request.headers.iter().chain(&entry.response.headers) {
                match HeaderKind::of(&h.name) {
                    HeaderKind::Cookie => {
                        for value in cookie_header_values(&h.value) {
                            self.cookie_placeholder(value);
                        }
                    }
                    HeaderKind::SetCookie => {
                        for line in h.value.split('\n') {
                            if let Some(value) = set_cookie_value(line) {
                                self.cookie_placeholder(value);
                            }
                        }
                    }
                    HeaderKind::Authorization => {
                        let credential = credentials(&h.value).1;
                        if !credential.is_empty() {
                            self.credential_placeholder(credential);
                        }
                    }
                    HeaderKind::Other => {}
                }
            }
            for c in entry.request.cookies.iter().chain(&entry.response.cookies) {
                self.cookie_placeholder(&c.value);
            }
        }
    }

    fn cookie_placeholder(&mut self, value: &str) -> String {
        let value = unquoted(value);
        if value.is_empty() {
            return String::new();
        }
        let known = self.secrets.len();
        let placeholder = placeholder_for(
            &mut self.cookies,
            &mut self.secrets,
            "gleaner-cookie",
            value,
        );
        if self.secrets.len() != known {
            self.secrets_changed();
        }
        placeholder
    }

    fn credential_placeholder(&mut self, value: &str) -> String {
        let known = self.secrets.len();
        let placeholder = placeholder_for(
            &mut self.credentials,
            &mut self.secrets,
            "gleaner-auth",
            value,
        );
        if self.secrets.len() != known {
            self.secrets_changed();
        }
        placeholder
    }

    fn headers(&mut self, headers: &mut [Headers]) {
        for h in headers {
            h.value = match HeaderKind::of(&h.name) {
                HeaderKind::Cookie => self.cookie_header(&h.value),
                HeaderKind::SetCookie => h
                    .value
                    .split('\n')
                    .map(|line| self.set_cookie(line))
                    .collect::<Vec<_>>()
                    .join("\n"),
                HeaderKind::Authorization => match credentials(&h.value) {
                    (_, "") => h.value.clone(),
                    (scheme, credential) => {
                        format!("{scheme}{}", self.credential_placeholder(credential))
                    }
                },
                HeaderKind::Other => self.text(&h.value),
            };
        }
    }

    /// `a=1; b=2` with each value replaced by its placeholder.
    fn cookie_header(&mut self, header: &str) -> String {
        header
            .split(';')
            .map(|pair| {
                let pair = pair.trim();
                match pair.split_once('=') {
                    Some((name, value)) => {
                        format!("{name}={}", self.cookie_value(value))
                    }
                    None => self.cookie_value(pair),
                }
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// `name=value; Path=/; HttpOnly` with the value replaced, the attributes as they are.
    fn set_cookie(&mut self, line: &str) -> String {
        let (pair, attributes) = match line.split_once(';') {
            Some((pair, rest)) => (pair, Some(rest)),
            None => (line, None),
        };
        let pair = match pair.split_once('=') {
            Some((name, value)) => format!("{name}={}", self.cookie_value(value)),
            None => self.cookie_value(pair),
        };
        match attributes {
            Some(rest) => format!("{pair};{}", self.text(rest)),
            None => pair,
        }
    }

    /// A cookie value's placeholder, keeping its quotes; empty stays empty.
    fn cookie_value(&mut self, value: &str) -> String {
        let trimmed = value.trim();
        if unquoted(trimmed).is_empty() {
            return value.to_string();
        }
        let placeholder = self.cookie_placeholder(trimmed);
        if trimmed.starts_with('"') && trimmed.ends_with('"') && trimmed.len() >= 2 {
            format!("\"{placeholder}\"")
        } else {
            placeholder
        }
    }

    fn cookie_array(&mut self, cookies: &mut [Cookies]) {
        for c in cookies {
            if !c.value.is_empty() {
                c.value = self.cookie_placeholder(&c.value);
            }
            scrub_option(&mut c.path, |s| self.text(s));
        }
    }

    fn post_data(&self, post: &mut PostData) {
        if let Some(text) = &mut post.text {
            *text = if post.comment.as_deref() == Some("base64") {
                match lenient(&base64::alphabet::STANDARD).decode(text.trim()) {
                    Ok(bytes) => {
                        base64::engine::general_purpose::STANDARD.encode(self.bytes(&bytes))
                    }
                    Err(_) => self.text(text),
                }
            } else {
                self.text(text)
            };
        }
        for p in post.params.iter_mut().flatten() {
            p.name = self.text(&p.name);
            scrub_option(&mut p.value, |s| self.text(s));
            scrub_option(&mut p.file_name, |s| self.text(s));
        }
    }

    fn content(&self, content: &mut Content) {
        let Some(text) = &content.text else {
            return;
        };
        let (scrubbed, length) = if content.encoding.as_deref() == Some("base64") {
            match lenient(&base64::alphabet::STANDARD).decode(text.trim()) {
                Ok(bytes) => {
                    let bytes = self.bytes(&bytes);
                    (
                        base64::engine::general_purpose::STANDARD.encode(&bytes),
                        bytes.len(),
                    )
                }
                Err(_) => {
                    let text = self.text(text);
                    let length = text.len();
                    (text, length)
                }
            }
        } else {
            let text = self.text(text);
            let length = text.len();
            (text, length)
        };
        if content.size >= 0 && &scrubbed != text {
            content.size = i64::try_from(length).unwrap_or(i64::MAX);
        }
        content.text = Some(scrubbed);
    }
}

/// The placeholder of `value` in `map`, made `<prefix>-<n>` on first sight; values long
/// enough are registered as secrets (with their percent-decoded form) to be scrubbed
/// everywhere.
fn placeholder_for(
    map: &mut HashMap<String, String>,
    secrets: &mut Vec<(String, String)>,
    prefix: &str,
    value: &str,
) -> String {
    if let Some(placeholder) = map.get(value) {
        return placeholder.clone();
    }
    let placeholder = format!("{prefix}-{}", map.len() + 1);
    map.insert(value.to_string(), placeholder.clone());
    if value.chars().count() >= MIN_SPREAD_CHARS {
        let decoded = percent_decoded(value);
        for v in std::iter::once(value).chain(decoded.as_deref()) {
            if !secrets.iter().any(|(known, _)| known == v) {
                secrets.push((v.to_string(), placeholder.clone()));
            }
        }
    }
    placeholder
}

fn percent_decoded(value: &str) -> Option<String> {
    let decoded: String = url::form_urlencoded::parse(format!("x={value}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())?;
    (decoded != value && !decoded.contains('\u{FFFD}')).then_some(decoded)
}

fn scrub_option(value: &mut Option<String>, scrub: impl Fn(&str) -> String) {
    if let Some(v) = value {
        *v = scrub(v);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HeaderKind {
    Cookie,
    SetCookie,
    Authorization,
    Other,
}

impl HeaderKind {
    fn of(name: &str) -> HeaderKind {
        match name.trim().to_ascii_lowercase().as_str() {
            "cookie" => HeaderKind::Cookie,
            "set-cookie" => HeaderKind::SetCookie,
            "authorization" | "proxy-authorization" => HeaderKind::Authorization,
            _ => HeaderKind::Other,
        }
    }
}

/// The values of a `Cookie` header.
fn cookie_header_values(header: &str) -> impl Iterator<Item = &str> {
    header
        .split(';')
        .map(|pair| pair.split_once('=').map_or(pair, |(_, v)| v).trim())
        .filter(|v| !unquoted(v).is_empty())
}

/// The value of one `Set-Cookie` line.
fn set_cookie_value(line: &str) -> Option<&str> {
    let pair = line.split(';').next()?;
    let value = pair.split_once('=').map_or(pair, |(_, v)| v).trim();
    (!unquoted(value).is_empty()).then_some(value)
}

fn unquoted(value: &str) -> &str {
    let value = value.trim();
    value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value)
}

/// `("Bearer ", "token")` of an authorization value; no scheme when it has no space.
fn credentials(value: &str) -> (&str, &str) {
    let value = value.trim();
    match value.find(' ') {
        Some(at) => {
            let (scheme, credential) = value.split_at(at + 1);
            (scheme, credential.trim())
        }
        None => ("", value),
    }
}

/// The `index`-th code placeholder shaped like `value`; `bump` moves it along when it
/// collides with the code or another secret.
fn code_placeholder(index: usize, value: &str, bump: usize) -> String {
    value
        .chars()
        .enumerate()
        .map(|(i, c)| {
            let step = i.wrapping_add(index).wrapping_add(bump);
            match c {
                '0'..='9' => char::from(b'0' + (step.wrapping_add(1) % 10) as u8),
                'a'..='z' => char::from(b'a' + (step % 26) as u8),
                'A'..='Z' => char::from(b'A' + (step % 26) as u8),
                other => other,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
