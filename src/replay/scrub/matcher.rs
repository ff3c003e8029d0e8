//! The search for every secret in every encoding, compiled once per set of secrets.

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use regex::bytes::{Captures, Regex, RegexBuilder};

/// Secrets shorter than this (in characters) are not scrubbed.
pub const MIN_SECRET_CHARS: usize = 3;

/// Base64 fragments shorter than this are not searched (they would hit ordinary text).
const MIN_BASE64_FRAGMENT: usize = 6;
/// Written over a secret's base64 fragment; base64 characters, so the text stays decodable.
const BASE64_FILLER: &[u8] = b"GleanerScrubbed";

/// A base64 engine of `alphabet` that decodes with or without padding.
pub(super) fn lenient(alphabet: &base64::alphabet::Alphabet) -> GeneralPurpose {
    GeneralPurpose::new(
        alphabet,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    )
}

/// How many secrets one regex searches at most: a bounded regex always compiles.
pub(super) const SECRETS_PER_SEARCH: usize = 32;

/// The compiled search for every secret in every encoding (no `Debug`: it holds them).
pub(super) struct Matcher {
    /// Each covers some of the secrets (all when they are few), in turn.
    searches: Vec<Search>,
    /// Runs of the standard and the URL-safe base64 alphabets long enough to hold a secret.
    base64_runs: [(Regex, base64::alphabet::Alphabet); 2],
}

/// A pattern and what replaces its matches.
type Pattern = (String, Vec<u8>);

pub(super) enum Search {
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
    pub(super) fn new(secrets: &[(String, String)]) -> Option<Matcher> {
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

    pub(super) fn scrub(&self, bytes: &[u8]) -> Vec<u8> {
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

    pub(super) fn scrub(&self, bytes: &[u8]) -> Vec<u8> {
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

pub(super) fn replace_bytes(text: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
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
