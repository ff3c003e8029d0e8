//! Which recorded exchange answers a replayed request. (Temporary, until the matching
//! branch lands: method and URL, in order.)

use base64::Engine as _;

// A request the replayed collect is about to send (from the browser's `Fetch` pause or
// from the document downloader).
use crate::browser::HttpRequest as LiveRequest;

#[derive(Debug, thiserror::Error)]
#[error("bad recording: {0}")]
pub struct BadRecording(String);

#[derive(Debug)]
pub struct Answer {
    pub entry: usize,
    pub status: u16,
    pub status_text: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub repeated: bool,
}

#[derive(Debug, thiserror::Error)]
#[error("no recorded response for {method} {url}")]
pub struct Unmatched {
    method: String,
    url: String,
}

#[derive(Debug)]
pub struct Recording {
    entries: Vec<har::v1_2::Entries>,
    used: Vec<bool>,
}

impl Recording {
    pub fn new(log: &har::v1_2::Log, _volatile: &[String]) -> Result<Recording, BadRecording> {
        Ok(Recording {
            entries: log.entries.clone(),
            used: vec![false; log.entries.len()],
        })
    }

    pub fn answer(&mut self, request: &LiveRequest) -> Result<Answer, Unmatched> {
        let found = self.entries.iter().enumerate().position(|(i, e)| {
            !self.used[i] && e.request.method == request.method && e.request.url == request.url
        });
        let Some(i) = found else {
            return Err(Unmatched {
                method: request.method.clone(),
                url: request.url.clone(),
            });
        };
        self.used[i] = true;
        let e = &self.entries[i];
        let text = e.response.content.text.clone().unwrap_or_default();
        let body = if e.response.content.encoding.as_deref() == Some("base64") {
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .unwrap_or_default()
        } else {
            text.into_bytes()
        };
        Ok(Answer {
            entry: i,
            status: e.response.status as u16,
            status_text: e.response.status_text.clone(),
            headers: e
                .response
                .headers
                .iter()
                .map(|h| (h.name.clone(), h.value.clone()))
                .collect(),
            body,
            repeated: false,
        })
    }

    pub fn unused(&self) -> Vec<usize> {
        (0..self.used.len()).filter(|i| !self.used[*i]).collect()
    }
}
