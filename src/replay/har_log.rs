//! A collect's exchanges as a HAR 1.2 log (the `har` crate's types), so that a recording
//! opens in Chrome DevTools and other HAR tools.
//!
//! Conventions: a response body that is not UTF-8 text is `content.text` in base64 with
//! `content.encoding: "base64"` (HAR 1.2). A request body that is not UTF-8 is
//! `postData.text` in base64 with `postData.comment: "base64"` (HAR has no encoding field
//! for request bodies). The bodies are the decoded ones (`Content-Encoding` undone), as
//! DevTools writes them. An exchange gleaner made itself (a document by link) has the
//! entry comment [`DOWNLOADER`].

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use har::v1_2::{Cache, Content, Creator, Entries, Headers, Log, PostData, QueryString};

use crate::browser::{Exchange, HttpRequest, HttpResponse, Initiator, header_value};
use crate::error_chain::error_chain;

/// The entry comment of a request gleaner made itself.
pub const DOWNLOADER: &str = "gleaner: a document by link";

/// The marker of a base64 request body.
pub const BASE64_BODY: &str = "base64";

/// The log of `exchanges`, oldest first.
pub fn log_of(exchanges: &[Exchange]) -> Log {
    let mut sorted: Vec<&Exchange> = exchanges.iter().collect();
    sorted.sort_by_key(|e| e.started);
    Log {
        creator: Creator {
            name: "gleaner".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            comment: None,
        },
        browser: None,
        pages: None,
        entries: sorted.into_iter().map(entry_of).collect(),
        comment: None,
    }
}

/// The HAR document of a log.
pub fn to_json(log: Log) -> Result<String, har::Error> {
    har::to_json(&har::Har {
        log: har::Spec::V1_2(log),
    })
}

/// A HAR 1.2 document's log.
pub fn from_json(text: &str) -> Result<Log, String> {
    match har::from_str(text).map_err(|e| error_chain(&e))?.log {
        har::Spec::V1_2(log) => Ok(log),
        other => Err(format!(
            "a HAR {} recording; gleaner writes and reads HAR 1.2",
            har::Har { log: other }.version().as_str()
        )),
    }
}

fn entry_of(e: &Exchange) -> Entries {
    let started: chrono::DateTime<chrono::Utc> = e.started.into();
    let ms = e.duration.as_secs_f64() * 1000.0;
    Entries {
        pageref: None,
        started_date_time: started.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        time: ms,
        request: request_of(&e.request),
        response: response_of(&e.response),
        cache: Cache {
            before_request: None,
            after_request: None,
        },
        timings: har::v1_2::Timings {
            blocked: None,
            dns: None,
            connect: None,
            send: 0.0,
            wait: ms,
            receive: 0.0,
            ssl: None,
            comment: None,
        },
        server_ip_address: None,
        connection: None,
        comment: (e.initiator == Initiator::Downloader).then(|| DOWNLOADER.to_string()),
    }
}

fn headers_of(headers: &[(String, String)]) -> Vec<Headers> {
    headers
        .iter()
        .map(|(name, value)| Headers {
            name: name.clone(),
            value: value.clone(),
            comment: None,
        })
        .collect()
}

fn request_of(r: &HttpRequest) -> har::v1_2::Request {
    let query_string = url::Url::parse(&r.url)
        .map(|u| {
            u.query_pairs()
                .map(|(name, value)| QueryString {
                    name: name.into_owned(),
                    value: value.into_owned(),
                    comment: None,
                })
                .collect()
        })
        .unwrap_or_default();
    let post_data = r.body.as_ref().map(|body| {
        let (text, comment) = match std::str::from_utf8(body) {
            Ok(text) => (text.to_string(), None),
            Err(_) => (BASE64.encode(body), Some(BASE64_BODY.to_string())),
        };
        PostData {
            mime_type: header_value(&r.headers, "content-type")
                .unwrap_or_default()
                .to_string(),
            text: Some(text),
            params: None,
            comment,
        }
    });
    har::v1_2::Request {
        method: r.method.clone(),
        url: r.url.clone(),
        http_version: "unknown".into(),
        cookies: Vec::new(),
        headers: headers_of(&r.headers),
        query_string,
        body_size: r.body.as_ref().map_or(0, |b| b.len() as i64),
        post_data,
        headers_size: -1,
        comment: None,
    }
}

fn response_of(r: &HttpResponse) -> har::v1_2::Response {
    // Both are required by HAR 1.2, empty when unknown.
    let mime_type = Some(
        header_value(&r.headers, "content-type")
            .unwrap_or_default()
            .to_string(),
    );
    let (text, encoding, size) = match &r.body {
        None => (None, None, 0),
        Some(body) => match std::str::from_utf8(body) {
            Ok(text) => (Some(text.to_string()), None, body.len() as i64),
            Err(_) => (
                Some(BASE64.encode(body)),
                Some("base64".to_string()),
                body.len() as i64,
            ),
        },
    };
    har::v1_2::Response {
        status: i64::from(r.status),
        status_text: r.status_text.clone(),
        http_version: "unknown".into(),
        cookies: Vec::new(),
        headers: headers_of(&r.headers),
        content: Content {
            size,
            compression: None,
            mime_type,
            text,
            encoding,
            comment: r
                .body
                .is_none()
                .then(|| "gleaner: the body was not recorded".to_string())
                .filter(|_| !(300..400).contains(&r.status)),
        },
        redirect_url: Some(
            header_value(&r.headers, "location")
                .unwrap_or_default()
                .to_string(),
        ),
        headers_size: -1,
        body_size: r.body.as_ref().map_or(-1, |b| b.len() as i64),
        comment: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};

    fn exchange(body: &[u8], request_body: Option<&[u8]>) -> Exchange {
        Exchange {
            request: HttpRequest {
                method: "POST".into(),
                url: "https://bank.example/upload?b=2&a=1".into(),
                headers: vec![("Content-Type".into(), "application/octet-stream".into())],
                body: request_body.map(<[u8]>::to_vec),
            },
            response: HttpResponse {
                status: 200,
                status_text: "OK".into(),
                headers: vec![("Content-Type".into(), "application/pdf".into())],
                body: Some(body.to_vec()),
            },
            started: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            duration: Duration::from_millis(12),
            initiator: Initiator::Downloader,
        }
    }

    #[test]
    fn bodies_that_are_not_text_are_base64_and_come_back_whole() {
        let binary = [0x25, 0x50, 0xff, 0x00, 0xfe];
        let log = log_of(&[exchange(&binary, Some(&[0xff, 0x01]))]);
        let json = to_json(log).unwrap();
        let back = from_json(&json).unwrap();
        let e = &back.entries[0];
        assert_eq!(e.response.content.encoding.as_deref(), Some("base64"));
        assert_eq!(
            BASE64
                .decode(e.response.content.text.as_deref().unwrap())
                .unwrap(),
            binary
        );
        let post = e.request.post_data.as_ref().unwrap();
        assert_eq!(post.comment.as_deref(), Some(BASE64_BODY));
        assert_eq!(
            BASE64.decode(post.text.as_deref().unwrap()).unwrap(),
            [0xff, 0x01]
        );
        assert_eq!(e.comment.as_deref(), Some(DOWNLOADER));
        assert_eq!(e.request.query_string.len(), 2);
        assert_eq!(e.started_date_time, "2023-11-14T22:13:20.000Z");
        assert_eq!(e.time, 12.0);
    }

    #[test]
    fn text_stays_text() {
        let log = log_of(&[exchange(b"<html>\xc3\xa9</html>", Some(b"a=1"))]);
        let e = &log.entries[0];
        assert_eq!(e.response.content.encoding, None);
        assert_eq!(e.response.content.text.as_deref(), Some("<html>é</html>"));
        assert_eq!(e.request.post_data.as_ref().unwrap().comment, None);
    }

    #[test]
    fn another_har_version_is_named() {
        let v13 = r#"{"log": {"version": "1.3", "creator": {"name": "x", "version": "1"}, "entries": []}}"#;
        let err = from_json(v13).unwrap_err();
        assert!(err.contains("1.3"), "{err}");
        assert!(from_json("{}").is_err());
    }
}
