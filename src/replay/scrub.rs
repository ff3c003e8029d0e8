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
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use har::v1_2::{Content, Cookies, Headers, Log, PostData};
use regex::bytes::{Captures, Regex, RegexBuilder};

/// Secrets shorter than this (in characters) are not scrubbed.
pub const MIN_SECRET_CHARS: usize = 3;
/// Cookie values and credentials shorter than this are replaced in their own header only.
pub const MIN_SPREAD_CHARS: usize = 8;
/// Base64 fragments shorter than this are not searched (they would hit ordinary text).
const MIN_BASE64_FRAGMENT: usize = 6;
/// Written over a secret's base64 fragment; base64 characters, so the text stays decodable.
const BASE64_FILLER: &[u8] = b"GleanerScrubbed";

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

/// A base64 engine of `alphabet` that decodes with or without padding.
fn lenient(alphabet: &base64::alphabet::Alphabet) -> GeneralPurpose {
    GeneralPurpose::new(
        alphabet,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    )
}

/// How many secrets one regex searches at most: a bounded regex always compiles.
const SECRETS_PER_SEARCH: usize = 32;

/// The compiled search for every secret in every encoding (no `Debug`: it holds them).
struct Matcher {
    /// Each covers some of the secrets (all when they are few), in turn.
    searches: Vec<Search>,
    /// Runs of the standard and the URL-safe base64 alphabets long enough to hold a secret.
    base64_runs: [(Regex, base64::alphabet::Alphabet); 2],
}

/// A pattern and what replaces its matches.
type Pattern = (String, Vec<u8>);

enum Search {
    /// One capture group per pattern; the first alternative matching at the leftmost
    /// position wins.
    Regex {
        regex: Regex,
        /// What each capture group is replaced by (group `i + 1`).
        replacements: Vec<Vec<u8>>,
    },
    /// The raw values only: the last resort when a regex does not compile (a huge secret),
    /// so that a secret is never silently left in.
    Literal(Vec<(Vec<u8>, Vec<u8>)>),
}

impl Matcher {
    fn new(secrets: &[(String, String)]) -> Option<Matcher> {
        if secrets.is_empty() {
            return None;
        }
        let mut by_length: Vec<&(String, String)> = secrets.iter().collect();
        by_length.sort_by_key(|(value, _)| std::cmp::Reverse(value.len()));
        let searches = by_length
            .chunks(SECRETS_PER_SEARCH)
            .flat_map(|chunk| {
                let all = ordered_patterns(secrets, chunk, secret_patterns);
                match Search::regex(&all) {
                    Some(search) => vec![search],
                    None => chunk
                        .iter()
                        .map(|secret| {
                            let literal = ordered_patterns(secrets, &[*secret], literal_patterns);
                            Search::regex(&literal).unwrap_or_else(|| {
                                Search::Literal(vec![(
                                    secret.0.as_bytes().to_vec(),
                                    secret.1.as_bytes().to_vec(),
                                )])
                            })
                        })
                        .collect(),
                }
            })
            .collect();
        let shortest = by_length.last().map_or(MIN_SECRET_CHARS, |(v, _)| v.len());
        let min_run = (shortest * 4).div_ceil(3).max(4);
        let runs = |alphabet: &str| {
            Regex::new(&format!("[A-Za-z0-9{alphabet}]{{{min_run},}}={{0,2}}")).ok()
        };
        Some(Matcher {
            searches,
            base64_runs: [
                (runs(r"+/")?, base64::alphabet::STANDARD),
                (runs(r"_\-")?, base64::alphabet::URL_SAFE),
            ],
        })
    }

    fn scrub(&self, bytes: &[u8]) -> Vec<u8> {
        let mut out = bytes.to_vec();
        for (runs, alphabet) in &self.base64_runs {
            out = runs
                .replace_all(&out, |caps: &Captures| {
                    let run = caps.get(0).map_or(&[][..], |m| m.as_bytes());
                    self.scrub_base64_token(run, alphabet)
                        .unwrap_or_else(|| run.to_vec())
                })
                .into_owned();
        }
        self.scrub_plain(&out)
    }

    /// Every encoding but base64 tokens.
    fn scrub_plain(&self, bytes: &[u8]) -> Vec<u8> {
        let mut out = bytes.to_vec();
        for search in &self.searches {
            out = search.scrub(&out);
        }
        out
    }

    /// A base64 token scrubbed and re-encoded in its alphabet and padding; `None` when it
    /// does not decode or holds no secret.
    fn scrub_base64_token(
        &self,
        token: &[u8],
        alphabet: &base64::alphabet::Alphabet,
    ) -> Option<Vec<u8>> {
        let decoded = lenient(alphabet).decode(token).ok()?;
        let scrubbed = self.scrub_plain(&decoded);
        if scrubbed == decoded {
            return None;
        }
        let padded = token.ends_with(b"=")
            || (token.len().is_multiple_of(4) && *alphabet == base64::alphabet::STANDARD);
        let padding = GeneralPurposeConfig::new().with_encode_padding(padded);
        Some(
            GeneralPurpose::new(alphabet, padding)
                .encode(scrubbed)
                .into_bytes(),
        )
    }
}

impl Search {
    fn regex(patterns: &[Pattern]) -> Option<Search> {
        let alternation = patterns
            .iter()
            .map(|(p, _)| format!("({p})"))
            .collect::<Vec<_>>()
            .join("|");
        let regex = RegexBuilder::new(&alternation)
            .size_limit(256 << 20)
            .dfa_size_limit(64 << 20)
            .build()
            .ok()?;
        Some(Search::Regex {
            regex,
            replacements: patterns.iter().map(|(_, r)| r.clone()).collect(),
        })
    }

    fn scrub(&self, bytes: &[u8]) -> Vec<u8> {
        match self {
            Search::Regex {
                regex,
                replacements,
            } => regex
                .replace_all(bytes, |caps: &Captures| {
                    let group = (1..caps.len()).find(|&i| caps.get(i).is_some());
                    match group.and_then(|g| replacements.get(g - 1)) {
                        Some(replacement) => replacement.clone(),
                        None => caps.get(0).map_or(Vec::new(), |m| m.as_bytes().to_vec()),
                    }
                })
                .into_owned(),
            Search::Literal(pairs) => pairs.iter().fold(bytes.to_vec(), |text, (from, to)| {
                replace_bytes(&text, from, to)
            }),
        }
    }
}

fn replace_bytes(text: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    if from.is_empty() {
        return text.to_vec();
    }
    let mut out = Vec::with_capacity(text.len());
    let mut at = 0;
    while at < text.len() {
        if text[at..].starts_with(from) {
            out.extend_from_slice(to);
            at += from.len();
        } else {
            out.push(text[at]);
            at += 1;
        }
    }
    out
}

/// The patterns of `chunk`'s secrets and every placeholder, longest first: a placeholder is
/// kept as it is (so a shorter secret never rewrites it), a longer secret containing a
/// placeholder is still replaced whole.
fn ordered_patterns(
    secrets: &[(String, String)],
    chunk: &[&(String, String)],
    patterns_of: fn(&str, &str) -> Vec<Pattern>,
) -> Vec<Pattern> {
    let mut keyed: Vec<(usize, bool, Vec<Pattern>)> = Vec::new();
    let mut placeholders: Vec<&str> = secrets.iter().map(|(_, p)| p.as_str()).collect();
    placeholders.sort();
    placeholders.dedup();
    for placeholder in placeholders {
        let keep = vec![(regex::escape(placeholder), placeholder.as_bytes().to_vec())];
        keyed.push((placeholder.len(), false, keep));
    }
    for (value, placeholder) in chunk {
        keyed.push((value.len(), true, patterns_of(value, placeholder)));
    }
    // Longest first; on a tie the placeholder first.
    keyed.sort_by_key(|(length, is_secret, _)| (std::cmp::Reverse(*length), *is_secret));
    keyed.into_iter().flat_map(|(_, _, p)| p).collect()
}

/// `value` in every encoding but base64 tokens, each with what replaces it.
fn secret_patterns(value: &str, placeholder: &str) -> Vec<Pattern> {
    let mut patterns = vec![(
        value.chars().map(char_forms).collect(),
        placeholder.as_bytes().to_vec(),
    )];
    patterns.extend(encoded_patterns(value, placeholder));
    patterns
}

/// The fallback for a secret too large for [`secret_patterns`]: raw, hex, base64 fragments.
fn literal_patterns(value: &str, placeholder: &str) -> Vec<Pattern> {
    let mut patterns = vec![(regex::escape(value), placeholder.as_bytes().to_vec())];
    patterns.extend(encoded_patterns(value, placeholder));
    patterns
}

/// Hex, lower and upper case, and the base64 fragments of `value`.
fn encoded_patterns(value: &str, placeholder: &str) -> Vec<Pattern> {
    let mut patterns = vec![
        (hex::encode(value), hex::encode(placeholder).into_bytes()),
        (
            hex::encode_upper(value),
            hex::encode_upper(placeholder).into_bytes(),
        ),
    ];
    for fragment in base64_fragments(value.as_bytes()) {
        let filler = BASE64_FILLER
            .iter()
            .copied()
            .cycle()
            .take(fragment.len())
            .collect();
        patterns.push((regex::escape(&fragment), filler));
    }
    patterns
}

/// A regex matching `c` raw, percent-encoded, JSON-escaped (at any depth) or as an HTML
/// character reference.
fn char_forms(c: char) -> String {
    let mut forms = vec![];
    match c {
        '"' => forms.push(r#"\\*""#.to_string()),
        '\\' => forms.push(r"\\+".to_string()),
        '/' => forms.push(r"\\*/".to_string()),
        '\n' => forms.push(r"\\+n".to_string()),
        '\r' => forms.push(r"\\+r".to_string()),
        '\t' => forms.push(r"\\+t".to_string()),
        '\u{8}' => forms.push(r"\\+b".to_string()),
        '\u{c}' => forms.push(r"\\+f".to_string()),
        ' ' => forms.push(r"\+".to_string()),
        _ => {}
    }
    forms.push(regex::escape(c.encode_utf8(&mut [0; 4])));
    let mut utf8 = [0; 4];
    forms.push(
        c.encode_utf8(&mut utf8)
            .bytes()
            .map(|b| format!("%{}{}", hex_digit(b >> 4), hex_digit(b & 0xf)))
            .collect(),
    );
    let mut utf16 = [0; 2];
    forms.push(
        c.encode_utf16(&mut utf16)
            .iter()
            .map(|unit| {
                let digits: String = (0..4)
                    .rev()
                    .map(|shift| hex_digit(((unit >> (shift * 4)) & 0xf) as u8))
                    .collect();
                format!(r"\\+u{digits}")
            })
            .collect(),
    );
    let code = u32::from(c);
    forms.push(format!("&#0*{code};"));
    let hex: String = format!("{code:x}")
        .chars()
        .map(|d| match d {
            '0'..='9' => d.to_string(),
            _ => format!("[{d}{}]", d.to_ascii_uppercase()),
        })
        .collect();
    forms.push(format!("&#[xX]0*{hex};"));
    match c {
        '&' => forms.push("&amp;".to_string()),
        '<' => forms.push("&lt;".to_string()),
        '>' => forms.push("&gt;".to_string()),
        '"' => forms.push("&quot;".to_string()),
        '\'' => forms.push("&apos;".to_string()),
        _ => {}
    }
    format!("(?:{})", forms.join("|"))
}

/// A regex class matching hex digit `value` in either case.
fn hex_digit(value: u8) -> String {
    match value {
        0..=9 => char::from(b'0' + value).to_string(),
        _ => {
            let lower = char::from(b'a' + value - 10);
            format!("[{lower}{}]", lower.to_ascii_uppercase())
        }
    }
}

/// The base64 characters determined by `secret`'s bytes alone, when it starts at each of the
/// 3 byte alignments inside longer base64, in both alphabets; long enough ones only.
fn base64_fragments(secret: &[u8]) -> Vec<String> {
    let mut fragments = Vec::new();
    for engine in [
        &base64::engine::general_purpose::STANDARD_NO_PAD,
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ] {
        for offset in 0..3 {
            let mut aligned = vec![0u8; offset];
            aligned.extend_from_slice(secret);
            let encoded = engine.encode(&aligned);
            // Character i holds bits [6i, 6i + 6): keep those within the secret's bits.
            let first = (offset * 8).div_ceil(6);
            let end = (aligned.len() * 8) / 6;
            if let Some(fragment) = encoded.get(first..end)
                && fragment.len() >= MIN_BASE64_FRAGMENT
                && !fragments.iter().any(|f| f == fragment)
            {
                fragments.push(fragment.to_string());
            }
        }
    }
    fragments
}

#[cfg(test)]
mod tests;
