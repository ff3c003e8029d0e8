use base64::Engine as _;
use har::v1_2::{Content, Entries, Headers, Log, Params, PostData, Request, Response};

use super::*;

/// A recorded entry answering `method url` (with `body` of `content_type`) with `answer`.
fn entry(method: &str, url: &str, body: Option<(&str, &str)>, answer: &str) -> Entries {
    Entries {
        request: Request {
            method: method.into(),
            url: url.into(),
            http_version: "HTTP/1.1".into(),
            post_data: body.map(|(content_type, text)| PostData {
                mime_type: content_type.into(),
                text: Some(text.into()),
                ..Default::default()
            }),
            ..Default::default()
        },
        response: Response {
            status: 200,
            status_text: "OK".into(),
            http_version: "HTTP/1.1".into(),
            headers: vec![header("Content-Type", "text/plain")],
            content: Content {
                text: Some(answer.into()),
                ..Default::default()
            },
            ..Default::default()
        },
        ..Default::default()
    }
}

fn header(name: &str, value: &str) -> Headers {
    Headers {
        name: name.into(),
        value: value.into(),
        comment: None,
    }
}

fn log(entries: Vec<Entries>) -> Log {
    Log {
        entries,
        ..Default::default()
    }
}

fn recording(entries: Vec<Entries>, volatile: &[&str]) -> Recording {
    let volatile: Vec<String> = volatile.iter().map(|v| v.to_string()).collect();
    match Recording::new(&log(entries), &volatile) {
        Ok(r) => r,
        Err(e) => panic!("bad recording: {e}"),
    }
}

fn get(url: &str) -> HttpRequest {
    HttpRequest {
        method: "GET".into(),
        url: url.into(),
        headers: vec![],
        body: None,
    }
}

fn post(url: &str, content_type: &str, body: &[u8]) -> HttpRequest {
    HttpRequest {
        method: "POST".into(),
        url: url.into(),
        headers: vec![("Content-Type".into(), content_type.into())],
        body: Some(body.to_vec()),
    }
}

fn body_of(recording: &mut Recording, request: &HttpRequest) -> String {
    match recording.answer(request) {
        Ok(answer) => String::from_utf8_lossy(&answer.body).into_owned(),
        Err(e) => panic!("{e}"),
    }
}

fn unmatched(recording: &mut Recording, request: &HttpRequest) -> Unmatched {
    match recording.answer(request) {
        Ok(answer) => panic!("answered by entry {}", answer.entry),
        Err(e) => e,
    }
}

const FORM: &str = "application/x-www-form-urlencoded";

#[test]
fn the_same_url_is_answered_with_the_recorded_response() {
    let mut r = recording(vec![entry("GET", "http://a.test/x", None, "hello")], &[]);
    let answer = r.answer(&get("http://a.test/x")).ok();
    let answer = answer.as_ref();
    assert_eq!(answer.map(|a| a.status), Some(200));
    assert_eq!(answer.map(|a| a.status_text.as_str()), Some("OK"));
    assert_eq!(answer.map(|a| a.body.as_slice()), Some(&b"hello"[..]));
    assert_eq!(
        answer.map(|a| a.headers.clone()),
        Some(vec![("Content-Type".to_string(), "text/plain".to_string())])
    );
    assert_eq!(answer.map(|a| a.repeated), Some(false));
}

#[test]
fn the_method_is_case_insensitive_and_must_match() {
    let mut r = recording(vec![entry("get", "http://a.test/x", None, "a")], &[]);
    assert_eq!(body_of(&mut r, &get("http://a.test/x")), "a");
    let e = unmatched(
        &mut r,
        &HttpRequest {
            method: "DELETE".into(),
            ..get("http://a.test/x")
        },
    );
    assert_eq!(e.nearest.as_ref().map(|n| n.entry), Some(0));
    assert!(
        e.to_string().contains("method: recorded GET, sent DELETE"),
        "{e}"
    );
}

#[test]
fn the_query_order_and_fragment_do_not_matter_and_the_host_case_does_not() {
    let mut r = recording(
        vec![entry("GET", "http://a.test/x?b=2&a=1&a=0", None, "q")],
        &[],
    );
    assert_eq!(
        body_of(&mut r, &get("http://A.TEST:80/x?a=0&b=2&a=1#top")),
        "q"
    );
}

#[test]
fn query_values_paths_ports_and_schemes_are_compared_exactly() {
    let mut r = recording(vec![entry("GET", "http://a.test/x?a=1", None, "q")], &[]);
    for url in [
        "http://a.test/x?a=2",
        "http://a.test/x?a=1&a=1",
        "http://a.test/x",
        "http://a.test/X?a=1",
        "http://a.test/x/?a=1",
        "http://a.test:8080/x?a=1",
        "https://a.test/x?a=1",
        "http://b.test/x?a=1",
    ] {
        assert!(r.answer(&get(url)).is_err(), "{url} matched");
    }
}

#[test]
fn percent_encoded_and_plus_encoded_query_values_are_the_same() {
    let mut r = recording(
        vec![entry("GET", "http://a.test/s?q=a%20b%C3%A9", None, "s")],
        &[],
    );
    assert_eq!(body_of(&mut r, &get("http://a.test/s?q=a+b%c3%a9")), "s");
}

#[test]
fn volatile_query_parameters_are_ignored_absent_or_with_any_value() {
    let entries = vec![
        entry("GET", "http://a.test/x?_=1700000000&page=1", None, "p1"),
        entry(
            "GET",
            "http://a.test/x?page=2&_=1700000001&nonce=abc",
            None,
            "p2",
        ),
    ];
    let mut r = recording(entries, &["_", "nonce"]);
    assert_eq!(body_of(&mut r, &get("http://a.test/x?page=1")), "p1");
    assert_eq!(
        body_of(&mut r, &get("http://a.test/x?_=999&page=2&nonce=zzz")),
        "p2"
    );
    // Not volatile without being declared so.
    let mut strict = recording(
        vec![entry("GET", "http://a.test/x?_=1&page=1", None, "p1")],
        &[],
    );
    let e = unmatched(&mut strict, &get("http://a.test/x?_=2&page=1"));
    assert!(
        e.to_string()
            .contains(r#"query parameter `_`: recorded "1", sent "2""#),
        "{e}"
    );
}

#[test]
fn identical_requests_consume_the_entries_in_order_then_the_last_repeats() {
    let entries = vec![
        entry("GET", "http://a.test/api/items", None, "first"),
        entry("GET", "http://a.test/other", None, "other"),
        entry("GET", "http://a.test/api/items", None, "second"),
    ];
    let mut r = recording(entries, &[]);
    let request = get("http://a.test/api/items");
    assert_eq!(body_of(&mut r, &request), "first");
    assert_eq!(r.unused(), vec![1, 2]);
    assert_eq!(body_of(&mut r, &request), "second");
    let again = r.answer(&request).ok();
    assert_eq!(again.as_ref().map(|a| a.entry), Some(2));
    assert_eq!(again.as_ref().map(|a| a.repeated), Some(true));
    assert_eq!(r.repeats(), 1);
    assert_eq!(r.unused(), vec![1]);
}

#[test]
fn header_overlap_breaks_ties_among_unused_entries_then_the_earliest_wins() {
    let with_headers = |answer: &str, headers: Vec<Headers>| {
        let mut e = entry("GET", "http://a.test/doc", None, answer);
        e.request.headers = headers;
        e
    };
    let entries = vec![
        with_headers("html", vec![header("Accept", "text/html")]),
        with_headers(
            "json",
            vec![header("Accept", "application/json"), header("X-Mode", "1")],
        ),
        with_headers("json again", vec![header("accept", "application/json")]),
    ];
    let mut r = recording(entries, &[]);
    let json = HttpRequest {
        headers: vec![
            ("ACCEPT".into(), "application/json".into()),
            ("X-Mode".into(), "1".into()),
        ],
        ..get("http://a.test/doc")
    };
    assert_eq!(body_of(&mut r, &json), "json");
    // Entries 0 and 2 overlap one header each with this request: the earliest wins.
    let accept_json = HttpRequest {
        headers: vec![("Accept".into(), "application/json".into())],
        ..get("http://a.test/doc")
    };
    assert_eq!(body_of(&mut r, &accept_json), "json again");
    assert_eq!(body_of(&mut r, &accept_json), "html");
    let last = r.answer(&accept_json).ok();
    assert_eq!(last.map(|a| (a.entry, a.repeated)), Some((2, true)));
}

#[test]
fn form_bodies_are_compared_as_sorted_pairs_without_volatile_fields() {
    let entries = vec![entry(
        "POST",
        "http://a.test/login",
        Some((FORM, "user=jean&pass=gleaner-secret-pass&csrf=1")),
        "welcome",
    )];
    let mut r = recording(entries, &["csrf"]);
    let request = post(
        "http://a.test/login",
        "application/x-www-form-urlencoded; charset=UTF-8",
        b"csrf=42&pass=gleaner-secret-pass&user=jean",
    );
    assert_eq!(body_of(&mut r, &request), "welcome");
    let e = unmatched(
        &mut r,
        &post(
            "http://a.test/login",
            FORM,
            b"user=jeanne&pass=gleaner-secret-pass",
        ),
    );
    assert_eq!(
        e.to_string(),
        "no recorded response for POST http://a.test/login\n  \
         nearest: entry 0, POST http://a.test/login\n    \
         body field `user`: recorded \"jean\", sent \"jeanne\""
    );
}

#[test]
fn form_bodies_from_har_params_match_too() {
    let mut e = entry("POST", "http://a.test/f", None, "ok");
    e.request.post_data = Some(PostData {
        mime_type: FORM.into(),
        text: None,
        params: Some(vec![
            Params {
                name: "b".into(),
                value: Some("2".into()),
                ..Default::default()
            },
            Params {
                name: "a".into(),
                value: Some("x y".into()),
                ..Default::default()
            },
        ]),
        comment: None,
    });
    let mut r = recording(vec![e], &[]);
    assert_eq!(
        body_of(&mut r, &post("http://a.test/f", FORM, b"a=x+y&b=2")),
        "ok"
    );
}

#[test]
fn json_bodies_are_compared_as_values_without_volatile_top_level_keys() {
    let entries = vec![entry(
        "POST",
        "http://a.test/api",
        Some((
            "application/json",
            r#"{"a": 1, "b": {"c": [1, 2]}, "ts": 17}"#,
        )),
        "json",
    )];
    let mut r = recording(entries, &["ts"]);
    let same = post(
        "http://a.test/api",
        "application/vnd.api+json",
        br#"{"b":{"c":[1,2]},"a":1.0e0,"ts":99}"#,
    );
    // 1.0e0 is a float, 1 an integer: serde_json tells them apart.
    assert!(r.answer(&same).is_err());
    let same = post(
        "http://a.test/api",
        "application/json",
        br#"{"b":{"c":[1,2]},"a":1}"#,
    );
    assert_eq!(body_of(&mut r, &same), "json");
    r = recording(
        vec![entry(
            "POST",
            "http://a.test/api",
            Some(("application/json", r#"{"a": 1, "b": {"c": [1, 2]}}"#)),
            "json",
        )],
        &[],
    );
    let e = unmatched(
        &mut r,
        &post(
            "http://a.test/api",
            "application/json",
            br#"{"a":2,"b":{"c":[2,1]},"d":"x"}"#,
        ),
    );
    let text = e.to_string();
    assert!(
        text.contains("body JSON key `a`: recorded 1, sent 2"),
        "{text}"
    );
    assert!(
        text.contains(r#"body JSON key `b`: recorded {"c":[1,2]}, sent {"c":[2,1]}"#),
        "{text}"
    );
    assert!(
        text.contains(r#"body JSON key `d`: not recorded, sent "x""#),
        "{text}"
    );
}

#[test]
fn a_body_without_content_type_or_as_text_plain_is_json_when_it_parses() {
    let entries = vec![entry(
        "POST",
        "http://a.test/beacon",
        Some(("", r#"{"x":1,"y":2}"#)),
        "b",
    )];
    let mut r = recording(entries, &[]);
    let request = HttpRequest {
        method: "POST".into(),
        url: "http://a.test/beacon".into(),
        headers: vec![("content-type".into(), "text/plain;charset=UTF-8".into())],
        body: Some(br#"{ "y": 2, "x": 1 }"#.to_vec()),
    };
    assert_eq!(body_of(&mut r, &request), "b");
}

#[test]
fn other_bodies_are_compared_as_bytes_and_the_difference_says_where() {
    let entries = vec![entry(
        "PUT",
        "http://a.test/blob",
        Some(("application/octet-stream", "abcdef")),
        "ok",
    )];
    let mut r = recording(entries, &[]);
    let request = HttpRequest {
        method: "PUT".into(),
        ..post("http://a.test/blob", "application/octet-stream", b"abcXefg")
    };
    let e = unmatched(&mut r, &request);
    assert!(
        e.to_string()
            .contains("body: recorded 6 bytes, sent 7 bytes, first difference at byte 3"),
        "{e}"
    );
    let request = HttpRequest {
        method: "PUT".into(),
        ..post("http://a.test/blob", "application/octet-stream", b"abcdef")
    };
    assert_eq!(body_of(&mut r, &request), "ok");
}

#[test]
fn base64_request_bodies_marked_by_the_comment_are_decoded() {
    let bytes = [0u8, 159, 146, 150, 255];
    let mut e = entry("POST", "http://a.test/bin", None, "bin");
    e.request.post_data = Some(PostData {
        mime_type: "application/octet-stream".into(),
        text: Some(base64::engine::general_purpose::STANDARD.encode(bytes)),
        params: None,
        comment: Some("base64".into()),
    });
    let mut r = recording(vec![e], &[]);
    assert_eq!(
        body_of(
            &mut r,
            &post("http://a.test/bin", "application/octet-stream", &bytes)
        ),
        "bin"
    );
}

#[test]
fn base64_response_bodies_are_decoded() {
    let mut e = entry("GET", "http://a.test/logo.png", None, "");
    e.response.content = Content {
        text: Some("iVBORw0KGgo=".into()),
        encoding: Some("base64".into()),
        ..Default::default()
    };
    let mut r = recording(vec![e], &[]);
    let answer = r.answer(&get("http://a.test/logo.png")).ok();
    assert_eq!(
        answer.map(|a| a.body),
        Some(vec![0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'])
    );
}

fn multipart(boundary: &str, parts: &[(&str, Option<&str>, Option<&str>, &str)]) -> String {
    let mut body = String::new();
    for (name, filename, content_type, content) in parts {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\""
        ));
        if let Some(f) = filename {
            body.push_str(&format!("; filename=\"{f}\""));
        }
        body.push_str("\r\n");
        if let Some(t) = content_type {
            body.push_str(&format!("Content-Type: {t}\r\n"));
        }
        body.push_str(&format!("\r\n{content}\r\n"));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    body
}

#[test]
fn multipart_bodies_are_compared_by_parts_whatever_the_boundary() {
    let parts = [
        ("title", None, None, "Invoice"),
        (
            "file",
            Some("a.txt"),
            Some("text/plain"),
            "line 1\r\nline 2",
        ),
    ];
    let recorded = multipart("----WebKitFormBoundaryAAAA", &parts);
    let entries = vec![entry(
        "POST",
        "http://a.test/upload",
        Some((
            "multipart/form-data; boundary=----WebKitFormBoundaryAAAA",
            &recorded,
        )),
        "uploaded",
    )];
    let mut r = recording(entries, &[]);
    let sent = multipart("----WebKitFormBoundaryZZZZ", &parts);
    let request = post(
        "http://a.test/upload",
        "multipart/form-data; boundary=\"----WebKitFormBoundaryZZZZ\"",
        sent.as_bytes(),
    );
    assert_eq!(body_of(&mut r, &request), "uploaded");

    let other = multipart(
        "x",
        &[
            ("title", None, None, "Invoices"),
            (
                "file",
                Some("b.txt"),
                Some("text/plain"),
                "line 1\r\nline 2",
            ),
        ],
    );
    let e = unmatched(
        &mut r,
        &post(
            "http://a.test/upload",
            "multipart/form-data; boundary=x",
            other.as_bytes(),
        ),
    );
    let text = e.to_string();
    assert!(
        text.contains(r#"body part `title`: recorded "Invoice", sent "Invoices""#),
        "{text}"
    );
    assert!(
        text.contains(r#"body part `file`: recorded 14 bytes, file "a.txt", text/plain, sent 14 bytes, file "b.txt", text/plain"#),
        "{text}"
    );
}

#[test]
fn multipart_without_boundary_parameter_reads_it_from_the_body() {
    let body = multipart("b0undary", &[("a", None, None, "1")]);
    let entries = vec![entry(
        "POST",
        "http://a.test/u",
        Some(("multipart/form-data", &body)),
        "u",
    )];
    let mut r = recording(entries, &[]);
    let sent = multipart("other", &[("a", None, None, "1")]);
    assert_eq!(
        body_of(
            &mut r,
            &post(
                "http://a.test/u",
                "multipart/form-data; boundary=other",
                sent.as_bytes()
            )
        ),
        "u"
    );
}

#[test]
fn a_broken_multipart_body_is_compared_as_bytes() {
    let entries = vec![entry(
        "POST",
        "http://a.test/u",
        Some(("multipart/form-data; boundary=q", "--q\r\nno end")),
        "u",
    )];
    let mut r = recording(entries, &[]);
    assert_eq!(
        body_of(
            &mut r,
            &post(
                "http://a.test/u",
                "multipart/form-data; boundary=q",
                b"--q\r\nno end"
            )
        ),
        "u"
    );
    assert!(
        r.answer(&post(
            "http://a.test/u",
            "multipart/form-data; boundary=q",
            b"--q\r\nno"
        ))
        .is_err()
    );
}

#[test]
fn no_body_and_an_empty_body_are_the_same() {
    let entries = vec![entry(
        "POST",
        "http://a.test/ping",
        Some((FORM, "")),
        "pong",
    )];
    let mut r = recording(entries, &[]);
    let request = HttpRequest {
        method: "POST".into(),
        ..get("http://a.test/ping")
    };
    assert_eq!(body_of(&mut r, &request), "pong");
}

#[test]
fn redirects_are_ordinary_entries() {
    let mut redirect = entry("GET", "http://a.test/old", None, "");
    redirect.response.status = 302;
    redirect.response.status_text = "Found".into();
    redirect.response.headers = vec![header("Location", "/new")];
    let entries = vec![redirect, entry("GET", "http://a.test/new", None, "new")];
    let mut r = recording(entries, &[]);
    let answer = r.answer(&get("http://a.test/old")).ok();
    assert_eq!(answer.as_ref().map(|a| a.status), Some(302));
    assert_eq!(
        answer.map(|a| a.headers),
        Some(vec![("Location".to_string(), "/new".to_string())])
    );
    assert_eq!(body_of(&mut r, &get("http://a.test/new")), "new");
}

#[test]
fn the_nearest_candidate_prefers_same_method_and_path_then_path_then_host() {
    let entries = vec![
        entry("GET", "http://a.test/other?x=1", None, ""),
        entry("GET", "http://b.test/items", None, ""),
        entry("POST", "http://a.test/items", Some((FORM, "a=1")), ""),
        entry("GET", "http://a.test/items?page=1&sort=asc", None, ""),
    ];
    let mut r = recording(entries, &[]);
    let e = unmatched(&mut r, &get("http://a.test/items?page=2&filter=x"));
    assert_eq!(e.nearest.as_ref().map(|n| n.entry), Some(3));
    assert_eq!(
        e.to_string(),
        "no recorded response for GET http://a.test/items?page=2&filter=x\n  \
         nearest: entry 3, GET http://a.test/items?page=1&sort=asc\n    \
         query parameter `filter`: not recorded, sent \"x\"\n    \
         query parameter `page`: recorded \"1\", sent \"2\"\n    \
         query parameter `sort`: recorded \"asc\", not sent"
    );
    // Same path, another method: the POST on the same origin before the GET on another one.
    let e = unmatched(
        &mut r,
        &HttpRequest {
            method: "PUT".into(),
            ..get("http://a.test/items")
        },
    );
    assert_eq!(e.nearest.as_ref().map(|n| n.entry), Some(2));
    // Only the host in common.
    let e = unmatched(&mut r, &get("http://a.test/nothing"));
    assert_eq!(e.nearest.as_ref().map(|n| n.entry), Some(0));
    // Nothing in common.
    let e = unmatched(&mut r, &get("http://c.test/nothing"));
    assert_eq!(e.nearest, None);
    assert_eq!(
        e.to_string(),
        "no recorded response for GET http://c.test/nothing\n  no recorded request to this host or path"
    );
}

#[test]
fn the_differences_are_capped_and_values_cut() {
    let recorded: String = (0..20).map(|i| format!("p{i:02}={i}&")).collect();
    let entries = vec![entry(
        "GET",
        &format!("http://a.test/x?{recorded}"),
        None,
        "",
    )];
    let mut r = recording(entries, &[]);
    let long = "v".repeat(200);
    let e = unmatched(&mut r, &get(&format!("http://a.test/x?p00={long}")));
    let differences = e.nearest.map(|n| n.differences).unwrap_or_default();
    assert_eq!(differences.len(), MAX_DIFFERENCES);
    assert_eq!(
        differences.last().map(String::as_str),
        Some("… and 11 more differences")
    );
    assert!(differences[0].len() < 150, "{}", differences[0]);
}

#[test]
fn bad_recordings_say_which_entry_and_why() {
    let mut bad_url = entry("GET", "not a url", None, "");
    bad_url.request.url = "http//missing-colon".into();
    let volatile: Vec<String> = vec![];
    let e = Recording::new(
        &log(vec![entry("GET", "http://a.test/", None, ""), bad_url]),
        &volatile,
    );
    assert!(
        matches!(
            e,
            Err(BadRecording {
                entry: 1,
                problem: BadEntry::Url(_)
            })
        ),
        "{e:?}"
    );

    let mut bad_status = entry("GET", "http://a.test/", None, "");
    bad_status.response.status = -1;
    let e = Recording::new(&log(vec![bad_status]), &volatile);
    assert!(
        matches!(
            e,
            Err(BadRecording {
                entry: 0,
                problem: BadEntry::Status(-1)
            })
        ),
        "{e:?}"
    );

    let mut bad_body = entry("GET", "http://a.test/", None, "");
    bad_body.response.content.encoding = Some("base64".into());
    bad_body.response.content.text = Some("not base64!".into());
    let e = Recording::new(&log(vec![bad_body]), &volatile);
    assert!(
        matches!(
            e,
            Err(BadRecording {
                problem: BadEntry::ResponseBase64,
                ..
            })
        ),
        "{e:?}"
    );

    let mut bad_request = entry(
        "POST",
        "http://a.test/",
        Some(("application/octet-stream", "@@")),
        "",
    );
    if let Some(p) = bad_request.request.post_data.as_mut() {
        p.comment = Some("base64".into());
    }
    let e = Recording::new(&log(vec![bad_request]), &volatile);
    assert!(
        matches!(
            e,
            Err(BadRecording {
                problem: BadEntry::RequestBase64,
                ..
            })
        ),
        "{e:?}"
    );
}

#[test]
fn odd_requests_do_not_panic() {
    let mut r = recording(
        vec![
            entry(
                "POST",
                "http://a.test/m",
                Some(("multipart/form-data; boundary=", "--\r\n")),
                "",
            ),
            entry(
                "POST",
                "http://a.test/j",
                Some(("application/json", "{")),
                "",
            ),
        ],
        &["x"],
    );
    let requests = [
        get("not a url"),
        get(""),
        HttpRequest {
            method: String::new(),
            ..get("http://a.test/m")
        },
        post(
            "http://a.test/m",
            "multipart/form-data; boundary",
            b"--\r\n\r\n\r\n--",
        ),
        post(
            "http://a.test/m",
            "multipart/form-data; boundary=\"",
            b"\xff\xfe",
        ),
        post("http://a.test/j", "application/json", b"[1,"),
        post("http://a.test/j", ";;;=", b"\x00"),
        post("http://a.test/f", FORM, b"%zz=%&&=="),
    ];
    for request in &requests {
        let _ = r.answer(request).map_err(|e| e.to_string());
    }
}
