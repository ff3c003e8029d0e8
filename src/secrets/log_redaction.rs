//! The log layer's own redaction: every formatted log line goes through [`redact_line`]
//! before it is written, whatever emitted it and at whatever level.
//!
//! - The secret values of the collects running now (passwords, one-time codes) are kept in a
//!   process-wide registry, filled by each collect's [`Redactor`](super::Redactor) and
//!   emptied when it is dropped; each is masked raw and in the encodings a protocol dump
//!   uses: URL-encoded, base64 (standard and URL-safe, at any byte alignment), hex and
//!   JSON-escaped (once and twice).
//! - `Cookie`, `Set-Cookie` and `Authorization` values are masked in every line.
//! - chromiumoxide's and tungstenite's protocol dumps (CDP messages with typed text,
//!   request bodies, cookies, downloaded bytes; WebSocket frames) are cut at `warn`,
//!   whatever `RUST_LOG` says: see [`protocol_dump_filter`].

use std::collections::HashMap;
use std::io::Write;
use std::sync::{LazyLock, RwLock};

use base64::Engine as _;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::MakeWriter;

use super::mask::MASK;

/// Secrets shorter than this are not registered (see [`super::Redactor::add`]).
const MIN_SECRET: usize = 3;
/// Encoded fragments shorter than this would mask ordinary text.
const MIN_FRAGMENT: usize = 4;

#[derive(Default)]
struct Registry {
    /// How many live redactors hold each secret.
    holders: HashMap<String, usize>,
    /// Every encoding of every secret, longest first.
    patterns: Vec<String>,
}

impl Registry {
    fn rebuild(&mut self) {
        let mut patterns: Vec<String> = self.holders.keys().flat_map(|s| encodings(s)).collect();
        patterns.sort_by_key(|p| std::cmp::Reverse(p.len()));
        patterns.dedup();
        self.patterns = patterns;
    }
}

static REGISTRY: LazyLock<RwLock<Registry>> = LazyLock::new(Default::default);

static HEADER_VALUE: LazyLock<Option<regex::Regex>> = LazyLock::new(|| {
    regex::Regex::new(
        r#"(?i)\b((?:set-)?cookie|(?:proxy-)?authorization)(\\*"?\s*[:=]\s*\\*"?)[^"\\\r\n]+"#,
    )
    .ok()
});

/// Masks `secret` in every log line from now on, until as many [`unregister`] calls.
pub fn register(secret: &str) {
    let secret = secret.trim();
    if secret.chars().count() < MIN_SECRET {
        return;
    }
    let mut registry = REGISTRY.write().unwrap_or_else(|e| e.into_inner());
    *registry.holders.entry(secret.to_string()).or_insert(0) += 1;
    registry.rebuild();
}

/// Undoes one [`register`] of `secret`.
pub fn unregister(secret: &str) {
    let secret = secret.trim();
    let mut registry = REGISTRY.write().unwrap_or_else(|e| e.into_inner());
    let Some(count) = registry.holders.get_mut(secret) else {
        return;
    };
    *count -= 1;
    if *count == 0 {
        registry.holders.remove(secret);
        registry.rebuild();
    }
}

/// `secret` as it may show in a log line: raw, URL-encoded, base64, hex, JSON-escaped.
pub fn encodings(secret: &str) -> Vec<String> {
    let bytes = secret.as_bytes();
    let mut out = vec![secret.to_string()];
    let json = json_escaped(secret);
    out.push(json_escaped(&json));
    out.push(json);
    out.push(url::form_urlencoded::byte_serialize(bytes).collect());
    let percent: String = bytes.iter().map(|b| format!("%{b:02X}")).collect();
    let every = |unreserved: fn(&u8) -> bool, upper: bool| -> String {
        bytes
            .iter()
            .map(|b| match (unreserved(b), upper) {
                (true, _) => (*b as char).to_string(),
                (false, true) => format!("%{b:02X}"),
                (false, false) => format!("%{b:02x}"),
            })
            .collect()
    };
    out.push(every(
        |b| b.is_ascii_alphanumeric() || b"-._~".contains(b),
        true,
    ));
    out.push(every(
        |b| b.is_ascii_alphanumeric() || b"-._~".contains(b),
        false,
    ));
    out.push(percent.to_lowercase());
    out.push(percent);
    out.push(hex::encode(bytes));
    out.push(hex::encode_upper(bytes));
    for engine in [
        &base64::engine::general_purpose::STANDARD_NO_PAD,
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ] {
        out.push(engine.encode(bytes));
        // Inside a longer encoded text the secret may start at any byte of a 3-byte group:
        // keep the characters that depend on the secret's bytes alone.
        for offset in 0..3 {
            let mut aligned = vec![0u8; offset];
            aligned.extend_from_slice(bytes);
            let encoded = engine.encode(&aligned);
            let start = if offset == 0 { 0 } else { 4 };
            let end = aligned.len() / 3 * 4;
            if end >= start + MIN_FRAGMENT {
                out.push(encoded[start..end].to_string());
            }
        }
    }
    out.retain(|p| p.len() >= MIN_FRAGMENT.min(secret.len()));
    out.sort();
    out.dedup();
    out
}

fn json_escaped(text: &str) -> String {
    let quoted = serde_json::to_string(text).unwrap_or_default();
    quoted
        .strip_prefix('"')
        .and_then(|q| q.strip_suffix('"'))
        .unwrap_or(&quoted)
        .to_string()
}

/// `line` with the live secrets (in every encoding) and header values masked.
pub fn redact_line(line: &str) -> String {
    let mut out = match HEADER_VALUE.as_ref() {
        Some(re) => re
            .replace_all(line, format!("${{1}}${{2}}{MASK}"))
            .into_owned(),
        None => line.to_string(),
    };
    let registry = REGISTRY.read().unwrap_or_else(|e| e.into_inner());
    for pattern in &registry.patterns {
        if out.contains(pattern.as_str()) {
            out = out.replace(pattern.as_str(), MASK);
        }
    }
    out
}

/// The targets whose protocol dumps never reach the log, whatever `RUST_LOG` asks: at most
/// their warnings pass (and those are redacted like every line).
pub fn protocol_dump_filter() -> Targets {
    Targets::new()
        .with_default(LevelFilter::TRACE)
        .with_target("chromiumoxide", LevelFilter::WARN)
        .with_target("chromiumoxide_cdp", LevelFilter::WARN)
        .with_target("chromiumoxide_types", LevelFilter::WARN)
        .with_target("tungstenite", LevelFilter::WARN)
        .with_target("tokio_tungstenite", LevelFilter::WARN)
}

/// A [`MakeWriter`] whose writers pass each formatted line through [`redact_line`].
#[derive(Debug, Clone)]
pub struct Redacting<M>(pub M);

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for Redacting<M> {
    type Writer = RedactingWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter {
            inner: self.0.make_writer(),
            buffer: Vec::new(),
        }
    }
}

/// Collects one event's formatted text, and writes it redacted when flushed or dropped.
pub struct RedactingWriter<W: Write> {
    inner: W,
    buffer: Vec<u8>,
}

impl<W: Write> RedactingWriter<W> {
    fn write_out(&mut self) -> std::io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&self.buffer);
        let redacted = redact_line(&text);
        self.buffer.clear();
        self.inner.write_all(redacted.as_bytes())?;
        self.inner.flush()
    }
}

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.write_out()
    }
}

impl<W: Write> Drop for RedactingWriter<W> {
    fn drop(&mut self) {
        let _ = self.write_out();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_secret_is_masked_in_every_encoding_until_unregistered() {
        let secret = "Canary-Pw d\"9/+x";
        register(secret);
        let b64 = base64::engine::general_purpose::STANDARD.encode(format!("user:{secret}"));
        let lines = [
            format!("typed {secret}"),
            format!(
                "body login=a&password={}",
                url::form_urlencoded::byte_serialize(secret.as_bytes()).collect::<String>()
            ),
            format!("Basic {b64}"),
            format!("frame 0x{}", hex::encode(format!("xx{secret}yy"))),
            format!("cdp {}", serde_json::json!({ "text": secret })),
            format!(
                "nested {}",
                serde_json::json!({ "m": serde_json::json!({ "text": secret }).to_string() })
            ),
        ];
        for line in &lines {
            let out = redact_line(line);
            assert!(out.contains(MASK), "{line} -> {out}");
            assert!(!out.contains(secret), "{out}");
        }
        assert!(!redact_line(&lines[2]).contains(&b64[8..20]));
        unregister(secret);
        assert_eq!(redact_line(&lines[0]), lines[0]);
    }

    #[test]
    fn header_values_are_masked() {
        for line in [
            "request headers: {\"Cookie\": \"sid=abc123\"}",
            "set-cookie: sid=abc123; HttpOnly",
            "authorization=Bearer abc123",
        ] {
            let out = redact_line(line);
            assert!(!out.contains("abc123"), "{out}");
        }
    }

    #[test]
    fn the_writer_redacts_each_event() {
        register("zz-writer-secret");
        let mut sink = Vec::new();
        {
            let mut w = RedactingWriter {
                inner: &mut sink,
                buffer: Vec::new(),
            };
            w.write_all(b"x zz-writer-secret y\n").unwrap();
        }
        unregister("zz-writer-secret");
        assert_eq!(String::from_utf8(sink).unwrap(), format!("x {MASK} y\n"));
    }
}
