//! A recorded entry, parsed once: its method, URL key and canonical body for matching, and
//! its response to serve.

use std::collections::HashSet;

use base64::Engine as _;
use har::v1_2::{Entries, PostData};
use url::Url;

use super::body::{Body, Part, essence};
use crate::browser::header_value;

/// One entry, parsed once.
#[derive(Debug, Clone)]
pub(super) struct Recorded {
    pub method: String,
    pub url: String,
    pub key: UrlKey,
    pub body: Body,
    /// Request headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    pub response: Response,
    pub served: usize,
}

#[derive(Debug, Clone)]
pub(super) struct Response {
    pub status: u16,
    pub status_text: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadEntry {
    #[error("the request URL does not parse: {0}")]
    Url(#[from] url::ParseError),
    #[error("the response status {0} is not an HTTP status")]
    Status(i64),
    #[error("the request body is marked base64 but is not")]
    RequestBase64,
    #[error("the response body is marked base64 but is not")]
    ResponseBase64,
}

impl Recorded {
    pub fn parse(entry: &Entries, volatile: &HashSet<String>) -> Result<Recorded, BadEntry> {
        let request = &entry.request;
        let url = Url::parse(&request.url)?;
        let headers: Vec<(String, String)> = request
            .headers
            .iter()
            .map(|h| (h.name.to_ascii_lowercase(), h.value.clone()))
            .collect();
        let body = recorded_body(request.post_data.as_ref(), &headers, volatile)?;
        let response = &entry.response;
        let status =
            u16::try_from(response.status).map_err(|_| BadEntry::Status(response.status))?;
        let content = &response.content;
        let body_bytes = match (&content.text, content.encoding.as_deref()) {
            (None, _) => Vec::new(),
            (Some(text), Some("base64")) => decode_base64(text).ok_or(BadEntry::ResponseBase64)?,
            (Some(text), _) => text.clone().into_bytes(),
        };
        Ok(Recorded {
            method: request.method.to_ascii_uppercase(),
            url: request.url.clone(),
            key: UrlKey::new(&url, volatile),
            body,
            headers,
            response: Response {
                status,
                status_text: response.status_text.clone(),
                headers: response
                    .headers
                    .iter()
                    .map(|h| (h.name.clone(), h.value.clone()))
                    .collect(),
                body: body_bytes,
            },
            served: 0,
        })
    }
}

/// Standard base64, padded or not (HAR writers differ).
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    engine.decode(text.trim()).ok()
}

/// The canonical request body of a HAR entry (see the module's conventions).
fn recorded_body(
    post: Option<&PostData>,
    headers: &[(String, String)],
    volatile: &HashSet<String>,
) -> Result<Body, BadEntry> {
    let Some(post) = post else {
        return Ok(Body::Empty);
    };
    let content_type = Some(post.mime_type.as_str())
        .filter(|t| !t.trim().is_empty())
        .or_else(|| header_value(headers, "content-type"));
    if let Some(text) = &post.text {
        let bytes = if post.comment.as_deref() == Some("base64") {
            decode_base64(text).ok_or(BadEntry::RequestBase64)?
        } else {
            text.clone().into_bytes()
        };
        return Ok(Body::parse(content_type, &bytes, volatile));
    }
    let params = post.params.as_deref().unwrap_or_default();
    if params.is_empty() {
        return Ok(Body::Empty);
    }
    let essence = content_type.map(essence).unwrap_or_default();
    if essence == "multipart/form-data" {
        let parts = params
            .iter()
            .map(|p| Part {
                name: p.name.clone(),
                filename: p.file_name.clone(),
                content_type: p.content_type.clone(),
                bytes: p.value.clone().unwrap_or_default().into_bytes(),
            })
            .collect();
        Ok(Body::multipart(parts, volatile))
    } else {
        let pairs = params
            .iter()
            .map(|p| (p.name.clone(), p.value.clone().unwrap_or_default()))
            .collect();
        Ok(Body::form(pairs, volatile))
    }
}

/// The URL as matching sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct UrlKey {
    /// `scheme://host:port`, with the scheme's default port made explicit.
    pub origin: String,
    pub path: String,
    /// Decoded, volatile names dropped, sorted by name then value.
    pub query: Vec<(String, String)>,
}

impl UrlKey {
    pub fn new(url: &Url, volatile: &HashSet<String>) -> UrlKey {
        let mut query: Vec<(String, String)> = url
            .query_pairs()
            .into_owned()
            .filter(|(name, _)| !volatile.contains(name))
            .collect();
        query.sort();
        UrlKey {
            origin: format!(
                "{}://{}:{}",
                url.scheme(),
                url.host_str().unwrap_or_default(),
                url.port_or_known_default()
                    .map(|p| p.to_string())
                    .unwrap_or_default()
            ),
            path: url.path().to_string(),
            query,
        }
    }
}
