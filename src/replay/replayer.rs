//! The [`Responder`] of a replay: answers each request of the collect from the recording
//! ([`super::matching`]), counts what it served, and reports the first request it could
//! not answer at once, so that a test ends on it instead of waiting for a page that will
//! never come.

use std::sync::Mutex;

use tokio::sync::mpsc;

use super::matching::{Recording, Unmatched};
use crate::browser::{HttpRequest, HttpResponse, Initiator, Responder};

#[derive(Debug)]
pub struct Replayer {
    recording: Mutex<Recording>,
    stats: Mutex<Stats>,
    misses: mpsc::UnboundedSender<String>,
}

/// What a replay served.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    pub served: usize,
    /// Served again after every matching entry was used (a page asking twice).
    pub repeated: usize,
    pub unmatched: usize,
}

impl Replayer {
    /// The replayer, and where the requests it cannot answer are told (each one's
    /// explanation: the request and the nearest recorded candidate).
    pub fn new(recording: Recording) -> (Replayer, mpsc::UnboundedReceiver<String>) {
        let (misses, rx) = mpsc::unbounded_channel();
        (
            Replayer {
                recording: Mutex::new(recording),
                stats: Mutex::default(),
                misses,
            },
            rx,
        )
    }

    pub fn stats(&self) -> Stats {
        self.stats.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The recorded entries never served.
    pub fn unused(&self) -> Vec<usize> {
        self.recording
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .unused()
    }

    fn miss(&self, unmatched: Unmatched) {
        self.stats
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .unmatched += 1;
        let _ = self.misses.send(unmatched.to_string());
    }
}

impl Responder for Replayer {
    fn respond(&self, request: &HttpRequest, _initiator: Initiator) -> Option<HttpResponse> {
        let answer = self
            .recording
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .answer(request);
        match answer {
            Ok(answer) => {
                let mut stats = self.stats.lock().unwrap_or_else(|e| e.into_inner());
                stats.served += 1;
                stats.repeated += usize::from(answer.repeated);
                Some(HttpResponse {
                    status: answer.status,
                    status_text: answer.status_text,
                    headers: answer.headers,
                    body: Some(answer.body),
                })
            }
            // The browser asks for a site's icon by itself; a recording without it is no
            // reason to fail, and the page never sees the answer.
            Err(_) if is_favicon(&request.url) => Some(HttpResponse {
                status: 404,
                status_text: "Not Found".into(),
                headers: vec![],
                body: Some(Vec::new()),
            }),
            Err(unmatched) => {
                self.miss(unmatched);
                None
            }
        }
    }
}

fn is_favicon(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|u| u.path() == "/favicon.ico")
}
