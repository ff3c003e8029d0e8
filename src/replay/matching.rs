//! Which recorded exchange answers a replayed request.
//!
//! A [`Recording`] holds the entries of a HAR 1.2 log; [`Recording::answer`] picks the entry
//! that answers a [`HttpRequest`] and consumes it.
//!
//! # Rules
//! - **Key**: the method (case-insensitive) and the URL, parsed by the `url` crate (so the
//!   host's case, default ports and percent-encoding are normalised). Scheme, host, port and
//!   path are compared exactly; the fragment is dropped; query parameters are decoded and
//!   compared as a list sorted by name, then value (so their order does not matter, a repeated
//!   parameter's values do).
//! - **Volatile names** (timestamps, nonces) are ignored: a query parameter, a form field, a
//!   multipart part or a top-level JSON key with that name may be absent or have any value.
//! - **Bodies** are compared canonically, each side by its own content type:
//!   `application/x-www-form-urlencoded` as its decoded pairs, sorted; JSON
//!   (`application/json`, `…+json`, or a body that parses as JSON when the type is missing or
//!   `text/plain`, as `fetch` sends a string body) as a `serde_json::Value`, so object key
//!   order and whitespace do not matter; `multipart/form-data` as its parts (name, file name,
//!   content type, bytes) sorted by name, whatever the boundary; anything else as bytes. No
//!   body and an empty body are the same.
//! - **Order**: identical requests consume the matching entries in order, so the second
//!   `GET /api/items` gets the second recorded response. Among the unused matching entries the
//!   one sharing the most request headers (name case-insensitive, exact value) wins, the
//!   earliest on a tie. When every matching entry has been served, the last one is served
//!   again (a static asset fetched twice) and the [`Answer`] says `repeated`.
//! - Redirects (3xx with a `Location`) are ordinary entries: the browser follows them with a
//!   new request, answered in turn.
//!
//! # Conventions of the recording
//! - Request body: `postData.text`, as UTF-8 text; when `postData.comment` is `"base64"`, the
//!   text is the standard base64 of the body's bytes (binary bodies). Without `text`,
//!   `postData.params` stand for a form or a multipart body (per `postData.mimeType`).
//! - Response body: `content.text`, base64 when `content.encoding` is `"base64"`, UTF-8 text
//!   otherwise; no text is an empty body.
//! - The response headers of an [`Answer`] are the recorded ones, as they are (the caller
//!   decides what to drop, e.g. `Content-Encoding` of a body recorded decoded).
//! - A status of 0 (a request that failed while recording) is passed through as 0.
//!
//! # Not handled
//! - Request headers are not part of the key (they only break ties): a request differing in a
//!   header only (`Accept`, a CSRF header) still matches.
//! - Volatile values inside nested JSON, inside a path segment or inside a multipart file.
//! - Time: entries are not tied to a page or a moment; WebSockets, server-sent events and
//!   streamed responses are not entries here.
//! - The nearest-candidate message shows the values sent and recorded: at replay those are
//!   placeholders (see [`super::scrub`]), not secrets.

use std::collections::HashSet;
use std::fmt;

use har::v1_2::Log;
use url::Url;

use crate::browser::HttpRequest;
use body::Body;
use differences::differences;

mod body;
mod differences;
mod recorded;

use crate::browser::header_value;
pub use recorded::BadEntry;
use recorded::{Recorded, UrlKey};

/// How many difference lines an [`Unmatched`] shows at most.
const MAX_DIFFERENCES: usize = 10;

/// The recorded exchanges of a collect, and which have been served.
#[derive(Debug, Clone)]
pub struct Recording {
    entries: Vec<Recorded>,
    volatile: HashSet<String>,
    repeats: usize,
}

/// The recorded answer to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// Index of the entry in the log.
    pub entry: usize,
    pub status: u16,
    pub status_text: String,
    /// The recorded response headers, as they are.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Every matching entry had been served already: this is the last one again.
    pub repeated: bool,
}

/// A recording that cannot be replayed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("entry {entry} of the recording: {problem}")]
pub struct BadRecording {
    pub entry: usize,
    pub problem: BadEntry,
}

/// No recorded entry answers a request: the request, and the nearest entry with how it differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmatched {
    pub method: String,
    pub url: String,
    /// Boxed: an `Err` stays small.
    pub nearest: Option<Box<Nearest>>,
}

/// The recorded entry closest to an unmatched request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nearest {
    pub entry: usize,
    pub method: String,
    pub url: String,
    /// One line per difference, capped at [`MAX_DIFFERENCES`] (the last line then says how
    /// many more there were).
    pub differences: Vec<String>,
}

impl fmt::Display for Unmatched {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no recorded response for {} {}", self.method, self.url)?;
        match &self.nearest {
            Some(nearest) => {
                write!(
                    f,
                    "\n  nearest: entry {}, {} {}",
                    nearest.entry, nearest.method, nearest.url
                )?;
                for line in &nearest.differences {
                    write!(f, "\n    {line}")?;
                }
                Ok(())
            }
            None => write!(f, "\n  no recorded request to this host or path"),
        }
    }
}

impl std::error::Error for Unmatched {}

impl Recording {
    /// Parses the entries of `log`. `volatile`: names of query parameters, form fields,
    /// multipart parts and top-level JSON keys to ignore.
    pub fn new(log: &Log, volatile: &[String]) -> Result<Recording, BadRecording> {
        let volatile: HashSet<String> = volatile.iter().cloned().collect();
        let entries = log
            .entries
            .iter()
            .enumerate()
            .map(|(index, entry)| {
                Recorded::parse(entry, &volatile).map_err(|problem| BadRecording {
                    entry: index,
                    problem,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Recording {
            entries,
            volatile,
            repeats: 0,
        })
    }

    /// The recorded answer to `request`, consuming its entry; or why none fits.
    pub fn answer(&mut self, request: &HttpRequest) -> Result<Answer, Unmatched> {
        let method = request.method.to_ascii_uppercase();
        let unmatched = |nearest| Unmatched {
            method: method.clone(),
            url: request.url.clone(),
            nearest,
        };
        let Ok(url) = Url::parse(&request.url) else {
            return Err(unmatched(None));
        };
        let key = UrlKey::new(&url, &self.volatile);
        let content_type = header_value(&request.headers, "content-type");
        let body = Body::parse(
            content_type,
            request.body.as_deref().unwrap_or_default(),
            &self.volatile,
        );
        let matching: Vec<usize> = self
            .entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.method == method && e.key == key && e.body == body)
            .map(|(index, _)| index)
            .collect();
        let Some(&last) = matching.last() else {
            return Err(unmatched(self.nearest(&method, &key, &body)));
        };
        let sent: HashSet<(String, &str)> = request
            .headers
            .iter()
            .map(|(name, value)| (name.to_ascii_lowercase(), value.as_str()))
            .collect();
        let overlap = |index: usize| {
            self.entries[index]
                .headers
                .iter()
                .filter(|(name, value)| sent.contains(&(name.clone(), value.as_str())))
                .count()
        };
        // max_by_key keeps the last maximum: iterate backwards so a tie goes to the earliest.
        let unused = matching
            .iter()
            .rev()
            .copied()
            .filter(|&index| self.entries[index].served == 0)
            .max_by_key(|&index| overlap(index));
        let (index, repeated) = match unused {
            Some(index) => (index, false),
            None => (last, true),
        };
        if repeated {
            self.repeats += 1;
        }
        let entry = &mut self.entries[index];
        entry.served += 1;
        Ok(Answer {
            entry: index,
            status: entry.response.status,
            status_text: entry.response.status_text.clone(),
            headers: entry.response.headers.clone(),
            body: entry.response.body.clone(),
            repeated,
        })
    }

    /// The entries never served, in order.
    pub fn unused(&self) -> Vec<usize> {
        self.entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.served == 0)
            .map(|(index, _)| index)
            .collect()
    }

    /// How many answers were an entry served again (see [`Answer::repeated`]).
    pub fn repeats(&self) -> usize {
        self.repeats
    }

    /// The entry closest to an unmatched request: same method and path first, then same
    /// path, then same origin; then the fewest differences; then the earliest.
    fn nearest(&self, method: &str, key: &UrlKey, body: &Body) -> Option<Box<Nearest>> {
        self.entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.key.path == key.path || e.key.origin == key.origin)
            .map(|(index, e)| {
                let differences = differences(e, method, key, body);
                let same_path = e.key.path == key.path;
                let rank = (
                    same_path && e.method == method,
                    same_path,
                    e.key.origin == key.origin,
                    std::cmp::Reverse(differences.len()),
                    std::cmp::Reverse(index),
                );
                (rank, index, differences)
            })
            .max_by(|a, b| a.0.cmp(&b.0))
            .map(|(_, index, mut differences)| {
                if differences.len() > MAX_DIFFERENCES {
                    let more = differences.len() - (MAX_DIFFERENCES - 1);
                    differences.truncate(MAX_DIFFERENCES - 1);
                    differences.push(format!("… and {more} more differences"));
                }
                let entry = &self.entries[index];
                Box::new(Nearest {
                    entry: index,
                    method: entry.method.clone(),
                    url: entry.url.clone(),
                    differences,
                })
            })
    }
}

#[cfg(test)]
mod tests;
