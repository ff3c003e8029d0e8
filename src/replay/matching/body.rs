//! Request bodies as matching compares them: canonical forms, JSON, multipart parts.

use std::collections::HashSet;

/// A request body as matching compares it.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Body {
    Empty,
    /// Sorted by name then value.
    Form(Vec<(String, String)>),
    Json(serde_json::Value),
    /// Stably sorted by name.
    Multipart(Vec<Part>),
    Bytes(Vec<u8>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Part {
    pub(super) name: String,
    pub(super) filename: Option<String>,
    pub(super) content_type: Option<String>,
    pub(super) bytes: Vec<u8>,
}

impl Body {
    pub(super) fn parse(
        content_type: Option<&str>,
        bytes: &[u8],
        volatile: &HashSet<String>,
    ) -> Body {
        if bytes.is_empty() {
            return Body::Empty;
        }
        let essence = content_type.map(essence).unwrap_or_default();
        match essence.as_str() {
            "application/x-www-form-urlencoded" => Body::form(
                url::form_urlencoded::parse(bytes).into_owned().collect(),
                volatile,
            ),
            "multipart/form-data" => {
                let boundary = content_type.and_then(|t| content_type_param(t, "boundary"));
                match multipart_parts(bytes, boundary.as_deref()) {
                    Some(parts) => Body::multipart(parts, volatile),
                    None => Body::Bytes(bytes.to_vec()),
                }
            }
            t if t == "application/json" || t.ends_with("+json") => Body::json(bytes, volatile),
            "" | "text/plain" => Body::json(bytes, volatile),
            _ => Body::Bytes(bytes.to_vec()),
        }
    }

    pub(super) fn form(mut pairs: Vec<(String, String)>, volatile: &HashSet<String>) -> Body {
        pairs.retain(|(name, _)| !volatile.contains(name));
        pairs.sort();
        Body::Form(pairs)
    }

    pub(super) fn multipart(mut parts: Vec<Part>, volatile: &HashSet<String>) -> Body {
        parts.retain(|p| !volatile.contains(&p.name));
        parts.sort_by(|a, b| a.name.cmp(&b.name));
        Body::Multipart(parts)
    }

    /// JSON if it parses, bytes otherwise.
    fn json(bytes: &[u8], volatile: &HashSet<String>) -> Body {
        match serde_json::from_slice::<serde_json::Value>(bytes) {
            Ok(mut value) => {
                if let serde_json::Value::Object(map) = &mut value {
                    map.retain(|key, _| !volatile.contains(key));
                }
                Body::Json(value)
            }
            Err(_) => Body::Bytes(bytes.to_vec()),
        }
    }

    pub(super) fn kind(&self) -> &'static str {
        match self {
            Body::Empty => "no body",
            Body::Form(_) => "a form",
            Body::Json(_) => "JSON",
            Body::Multipart(_) => "multipart",
            Body::Bytes(_) => "bytes",
        }
    }
}

/// The parts of a `multipart/form-data` body; `None` if it is not one. Without a `boundary`
/// parameter, the boundary is read from the body's first line.
fn multipart_parts(body: &[u8], boundary: Option<&str>) -> Option<Vec<Part>> {
    let boundary = match boundary {
        Some(b) if !b.is_empty() => b.as_bytes().to_vec(),
        _ => {
            let line_end = find(body, b"\r\n", 0)?;
            body.get(..line_end)?.strip_prefix(b"--")?.to_vec()
        }
    };
    let mut delimiter = b"--".to_vec();
    delimiter.extend_from_slice(&boundary);
    let mut next_delimiter = b"\r\n".to_vec();
    next_delimiter.extend_from_slice(&delimiter);

    let mut at = find(body, &delimiter, 0)? + delimiter.len();
    let mut parts = Vec::new();
    loop {
        let rest = body.get(at..)?;
        if rest.starts_with(b"--") {
            return Some(parts);
        }
        at += if rest.starts_with(b"\r\n") {
            2
        } else {
            return None;
        };
        let headers_end = find(body, b"\r\n\r\n", at)?;
        let headers = std::str::from_utf8(body.get(at..headers_end)?).ok()?;
        let content_start = headers_end + 4;
        let content_end = find(body, &next_delimiter, content_start)?;
        parts.push(part(headers, body.get(content_start..content_end)?)?);
        at = content_end + next_delimiter.len();
    }
}

/// One part from its header block and content.
fn part(headers: &str, bytes: &[u8]) -> Option<Part> {
    let mut name = None;
    let mut filename = None;
    let mut content_type = None;
    for line in headers.split("\r\n") {
        let Some((header, value)) = line.split_once(':') else {
            continue;
        };
        if header.trim().eq_ignore_ascii_case("content-disposition") {
            name = content_type_param(value, "name");
            filename = content_type_param(value, "filename");
        } else if header.trim().eq_ignore_ascii_case("content-type") {
            content_type = Some(value.trim().to_string());
        }
    }
    Some(Part {
        name: name?,
        filename,
        content_type,
        bytes: bytes.to_vec(),
    })
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// `type/subtype` of a content type, lower-cased, without parameters.
pub(super) fn essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// A parameter of a content type (`boundary`), unquoted.
fn content_type_param(content_type: &str, name: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|param| {
        let (key, value) = param.split_once('=')?;
        key.trim().eq_ignore_ascii_case(name).then(|| {
            let value = value.trim();
            value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value)
                .to_string()
        })
    })
}
