//! The OpenAPI document is the contract: the real service, hit with bad inputs (no key, no
//! `Content-Type`, malformed JSON, unknown properties, out-of-range values, a `null` body),
//! answers only statuses the document lists for the route, and a document in a content
//! type the document lists.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::server::{API_KEY, TestService};

/// The statuses `/openapi.json` lists for `method path`.
fn documented(doc: &Value, path: &str, method: &str) -> Vec<u16> {
    doc["paths"][path][method]["responses"]
        .as_object()
        .unwrap_or_else(|| panic!("{method} {path} is not documented"))
        .keys()
        .map(|s| s.parse().unwrap())
        .collect()
}

/// Asserts that `got` is `want` and that the document lists it for the route.
fn assert_contract(doc: &Value, path: &str, method: &str, got: StatusCode, want: u16, what: &str) {
    assert_eq!(got.as_u16(), want, "{method} {path}: {what}");
    let listed = documented(doc, path, method);
    assert!(
        listed.contains(&want),
        "{method} {path} answers {want} ({what}) but documents only {listed:?}"
    );
}

struct Client {
    http: reqwest::Client,
    base: String,
}

impl Client {
    /// A request with this `Authorization`, `Content-Type` and raw body.
    async fn send(
        &self,
        method: &str,
        path: &str,
        auth: Option<&str>,
        content_type: Option<&str>,
        body: Option<&str>,
    ) -> StatusCode {
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(auth) = auth {
            req = req.header("Authorization", auth);
        }
        if let Some(t) = content_type {
            req = req.header("Content-Type", t);
        }
        if let Some(b) = body {
            req = req.body(b.to_string());
        }
        req.send().await.expect("request sent").status()
    }
}

#[tokio::test]
async fn bad_inputs_get_statuses_the_document_lists() {
    let svc = TestService::start().await;
    let client = Client {
        http: reqwest::Client::new(),
        base: svc.base.clone(),
    };
    let (_, doc) = svc
        .call_with(Method::GET, "/openapi.json", None, None)
        .await;
    let cred = svc.create_credential("demo-bank", "alice", "demo").await;
    let (status, session) = svc
        .call(
            Method::POST,
            "/session",
            Some(json!({ "userId": "user-1" })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{session}");
    let bearer = format!("Bearer {API_KEY}");
    let session = format!("Session {}", session["token"].as_str().unwrap());

    let mut walked = (0, 0);
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let concrete = path
                .replace("{id}", &cred)
                .replace("{user_id}", "user-1")
                .replace("{token}", "t")
                .replace("{file}", "ui.js");
            let schemes: Vec<&str> = operation["security"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|s| s.as_object().unwrap().keys().map(String::as_str))
                .collect();
            // Without credentials. The live path is looked up before its client is checked:
            // an unknown one is 404 for everyone.
            if !schemes.is_empty() {
                walked.0 += 1;
                let got = client.send(method, &concrete, None, None, None).await;
                let want = if path == "/ws/{token}" { 404 } else { 401 };
                assert_contract(&doc, path, method, got, want, "no credentials");
            }
            if operation["requestBody"]["content"]["application/json"].is_null() {
                continue;
            }
            walked.1 += 1;
            let auth = if schemes.contains(&"session") {
                session.as_str()
            } else {
                bearer.as_str()
            };
            let json_type = Some("application/json");
            let send = |content_type, body| {
                client.send(method, &concrete, Some(auth), content_type, Some(body))
            };
            let got = send(None, "{}").await;
            assert_contract(&doc, path, method, got, 400, "no Content-Type");
            let got = send(Some("text/plain"), "{}").await;
            assert_contract(&doc, path, method, got, 400, "a text/plain body");
            let got = send(json_type, "{not json").await;
            assert_contract(&doc, path, method, got, 400, "malformed JSON");
            let got = send(json_type, r#"{"unknownProperty": true}"#).await;
            assert_contract(&doc, path, method, got, 422, "an unknown property");
            let got = send(json_type, "[1, 2]").await;
            assert_contract(&doc, path, method, got, 422, "an array");
        }
    }
    assert!(walked.0 >= 20 && walked.1 >= 8, "{walked:?}");

    // `null` is a documented body of POST …/collect: accepted, so the unknown credential
    // is what is refused.
    let collect = "/credential/{id}/collect";
    let got = client
        .send(
            "post",
            "/credential/nope/collect",
            Some(&bearer),
            Some("application/json"),
            Some("null"),
        )
        .await;
    assert_contract(&doc, collect, "post", got, 404, "a null body");

    // A body over the 2 MB limit is a bad request, as documented.
    let huge = format!(r#"{{"userId": "{}"}}"#, "x".repeat(3 * 1024 * 1024));
    let got = client
        .send(
            "post",
            "/credential",
            Some(&bearer),
            Some("application/json"),
            Some(&huge),
        )
        .await;
    assert_contract(&doc, "/credential", "post", got, 400, "a 3 MB body");

    // `limit` is 1 to 1000, as documented.
    let deliveries = "/webhooks/deliveries";
    let schema = doc["paths"][deliveries]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "limit")
        .unwrap()["schema"]
        .clone();
    assert_eq!(
        (schema["minimum"].as_i64(), schema["maximum"].as_i64()),
        (Some(1), Some(1000))
    );
    for (limit, want) in [
        ("2147483648", 400),
        ("1001", 400),
        ("0", 400),
        ("1000", 200),
    ] {
        let path = format!("{deliveries}?limit={limit}");
        let got = client.send("get", &path, Some(&bearer), None, None).await;
        assert_contract(
            &doc,
            deliveries,
            "get",
            got,
            want,
            &format!("limit={limit}"),
        );
    }

    // Values out of the documented constraints are refused with 422; values within them
    // are taken (userId is 200 characters, not 200 bytes).
    let post_credential = |body: Value| svc.call(Method::POST, "/credential", Some(body));
    for (user, want) in [
        ("é".repeat(200), 201),
        ("é".repeat(201), 422),
        (" ".into(), 422),
        ("a\u{85}b".into(), 422),
    ] {
        let body = json!({ "userId": user, "connector": "demo-bank",
                           "fields": { "login": "bob", "password": "demo" } });
        let (got, answer) = post_credential(body).await;
        assert_contract(
            &doc,
            "/credential",
            "post",
            got,
            want,
            &format!("userId {user:?}: {answer}"),
        );
    }
    let (got, answer) = post_credential(json!({ "userId": "u", "connector": "demo-bank",
        "since": "2026-1-5", "fields": { "login": "bob", "password": "demo" } }))
    .await;
    assert_contract(
        &doc,
        "/credential",
        "post",
        got,
        422,
        &format!("since 2026-1-5: {answer}"),
    );
    let schedule = format!("/credential/{cred}/schedule");
    for (every, want) in [
        (json!("1 h"), 422),
        (json!("1.5h"), 422),
        (json!("2h"), 200),
    ] {
        let (got, answer) = svc
            .call(Method::PUT, &schedule, Some(json!({ "every": every })))
            .await;
        assert_contract(
            &doc,
            "/credential/{id}/schedule",
            "put",
            got,
            want,
            &format!("every {every}: {answer}"),
        );
    }
    svc.stop().await;
}

/// A `null` body starts a collect; its live path answers a plain GET with a documented 400;
/// its documents come in a documented content type.
#[tokio::test]
async fn a_null_body_starts_a_collect_whose_documents_come_in_a_documented_type() {
    let _slot = crate::common::browser_slot().await;
    let svc = TestService::start().await;
    let (_, doc) = svc
        .call_with(Method::GET, "/openapi.json", None, None)
        .await;
    let http = reqwest::Client::new();
    let carol = svc.create_credential("demo-bank", "carol", "demo").await;
    let res = http
        .post(format!("{}/credential/{carol}/collect", svc.base))
        .bearer_auth(API_KEY)
        .header("Content-Type", "application/json")
        .body("null")
        .send()
        .await
        .unwrap();
    assert_contract(
        &doc,
        "/credential/{id}/collect",
        "post",
        res.status(),
        201,
        "a null body",
    );
    let started: Value = res.json().await.unwrap();
    let ws = started["wsPath"].as_str().unwrap();
    let collect_id = started["collectId"].as_str().unwrap();
    assert_eq!(started["attached"], false);

    // The live path, fetched as a page rather than opened as a WebSocket.
    let plain = svc.raw(ws).await;
    assert_contract(
        &doc,
        "/ws/{token}",
        "get",
        plain.status(),
        400,
        "no upgrade",
    );
    let body: Value = plain.json().await.unwrap();
    assert_eq!(body["error"]["code"], "bad_request");

    let (state, _) = svc.viewer(ws).await.final_state().await;
    assert_eq!(state, 7);
    let (_, documents) = svc
        .call(
            Method::GET,
            &format!("/collect/{collect_id}/documents"),
            None,
        )
        .await;
    let first = documents[0]["id"].as_str().expect("a document");
    let res = svc.raw(&format!("/document/{first}")).await;
    assert_contract(
        &doc,
        "/document/{id}",
        "get",
        res.status(),
        200,
        "a document",
    );
    let content_type = res.headers()["content-type"].to_str().unwrap().to_string();
    assert_eq!(content_type, "application/pdf");
    let listed = &doc["paths"]["/document/{id}"]["get"]["responses"]["200"]["content"];
    assert!(
        !listed[content_type.as_str()].is_null(),
        "{content_type} is not among {listed}"
    );
    svc.stop().await;
}

/// What schemathesis (scripts/contract) found, fixed: the served document names this
/// service's connectors and their fields, and the answers follow it.
#[tokio::test]
async fn what_the_contract_run_found_stays_fixed() {
    let svc = TestService::start_tuned(|config| {
        config.ui = gleaner::ui::UiConfig::default()
            .with_origins(&["https://app.example".to_string()])
            .unwrap();
    })
    .await;
    let client = Client {
        http: reqwest::Client::new(),
        base: svc.base.clone(),
    };
    let bearer = format!("Bearer {API_KEY}");
    let (_, doc) = svc
        .call_with(Method::GET, "/openapi.json", None, None)
        .await;
    let schemas = &doc["components"]["schemas"];

    // A credential's connector is one of those loaded, with exactly its fields: an unknown
    // connector is no longer a schema-valid body.
    let variants = schemas["CreateCredential"]["oneOf"].as_array().unwrap();
    let ids: Vec<&str> = variants
        .iter()
        .map(|v| v["properties"]["connector"]["const"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "demo-bank",
            "demo-bank-human",
            "demo-bank-spa",
            "demo-telecom"
        ]
    );
    let bank = &variants[0]["properties"]["fields"];
    assert_eq!(bank["required"], json!(["login", "password"]));
    assert_eq!(bank["additionalProperties"], json!(false));
    // redirectUrl: on an allowed origin; " \u{18}https://app.example" is one once trimmed.
    let redirect = schemas["CreateUiToken"]["properties"]["redirectUrl"]["pattern"]
        .as_str()
        .unwrap();
    let redirect = regex::Regex::new(redirect).unwrap();
    for (url, allowed) in [
        ("https://app.example/done", true),
        (" \u{18}https://app.example", true),
        ("\u{18}\u{2000}https://app.example", false),
        ("https://app.example.evil/", false),
    ] {
        assert_eq!(redirect.is_match(url), allowed, "{url:?}");
        let (got, answer) = svc
            .call(
                Method::POST,
                "/session",
                Some(json!({ "userId": "u", "redirectUrl": url })),
            )
            .await;
        let want = if allowed { 201 } else { 422 };
        assert_contract(
            &doc,
            "/session",
            "post",
            got,
            want,
            &format!("{url:?}: {answer}"),
        );
    }

    let cred = svc.create_credential("demo-bank", "alice", "demo").await;
    // A code for a credential with no collect in progress: the credential exists, its state
    // refuses the code (409); 404 is for no such credential.
    let give_code = |path: String| {
        let (client, bearer) = (&client, &bearer);
        async move {
            client
                .send(
                    "post",
                    &path,
                    Some(bearer),
                    Some("application/json"),
                    Some(r#"{"code": "424242"}"#),
                )
                .await
        }
    };
    let got = give_code(format!("/credential/{cred}/2fa")).await;
    assert_contract(&doc, "/credential/{id}/2fa", "post", got, 409, "no collect");
    let got = give_code("/credential/nope/2fa".into()).await;
    assert_contract(
        &doc,
        "/credential/{id}/2fa",
        "post",
        got,
        404,
        "no credential",
    );

    // An empty array is not an object, although serde reads a struct of optional fields
    // from it.
    for (method, path, route) in [
        ("patch", format!("/credential/{cred}"), "/credential/{id}"),
        (
            "post",
            format!("/credential/{cred}/collect"),
            "/credential/{id}/collect",
        ),
    ] {
        let got = client
            .send(
                method,
                &path,
                Some(&bearer),
                Some("application/json"),
                Some("[]"),
            )
            .await;
        assert_contract(&doc, route, method, got, 422, "an empty array");
    }

    // JSON Schema's `integer` includes 3600.0: whole seconds.
    let (got, answer) = svc
        .call(
            Method::PUT,
            &format!("/credential/{cred}/schedule"),
            Some(json!({ "every": 3600.0, "jitter": 60.0 })),
        )
        .await;
    assert_contract(
        &doc,
        "/credential/{id}/schedule",
        "put",
        got,
        200,
        &format!("every 3600.0: {answer}"),
    );
    assert_eq!(answer["every"], 3600, "{answer}");
    svc.stop().await;
}
