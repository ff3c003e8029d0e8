//! Drives Demo Telecom over real TCP as a browser would: one cookie jar per host name, the
//! IdP reached as `localhost`, the portal as `127.0.0.1`.

use std::collections::HashMap;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::data::{self, BILLS};
use super::hosts::{IDP, PORTAL};
use super::*;
use crate::tests::{Resp, parse};

async fn site() -> DemoTelecom {
    DemoTelecom::start(DemoTelecomOptions::default())
        .await
        .expect("start demo telecom")
}

/// Cookies per host name, as a browser keeps host-only cookies.
struct Browser {
    port: u16,
    jars: HashMap<&'static str, HashMap<String, String>>,
}

impl Browser {
    fn new(site: &DemoTelecom) -> Browser {
        Browser {
            port: site.addr().port(),
            jars: HashMap::new(),
        }
    }

    fn jar(&mut self, host: &'static str) -> &mut HashMap<String, String> {
        self.jars.entry(host).or_default()
    }

    async fn send(
        &mut self,
        host: &'static str,
        method: &str,
        path: &str,
        body: Option<(&str, &str)>,
    ) -> Resp {
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {host}:{}\r\nConnection: close\r\n",
            self.port
        );
        let jar = self.jar(host);
        if !jar.is_empty() {
            let cookies: Vec<String> = jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
            req.push_str(&format!("Cookie: {}\r\n", cookies.join("; ")));
        }
        match body {
            Some((content_type, body)) => req.push_str(&format!(
                "Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )),
            None => req.push_str("Content-Length: 0\r\n\r\n"),
        }
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))
            .await
            .expect("connect");
        stream.write_all(req.as_bytes()).await.expect("write");
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.expect("read");
        let resp = parse(&raw);
        let jar = self.jar(host);
        for (k, v) in &resp.headers {
            if !k.eq_ignore_ascii_case("set-cookie") {
                continue;
            }
            let pair = v.split(';').next().unwrap_or("");
            if let Some((name, value)) = pair.split_once('=') {
                if v.contains("Max-Age=0") {
                    jar.remove(name);
                } else {
                    jar.insert(name.to_string(), value.to_string());
                }
            }
        }
        resp
    }

    async fn get(&mut self, path: &str) -> Resp {
        self.send(PORTAL, "GET", path, None).await
    }

    async fn post(&mut self, path: &str, form: &str) -> Resp {
        let body = Some(("application/x-www-form-urlencoded", form));
        self.send(PORTAL, "POST", path, body).await
    }

    async fn post_json(&mut self, path: &str, body: &str) -> Resp {
        self.send(PORTAL, "POST", path, Some(("application/json", body)))
            .await
    }

    async fn idp_post(&mut self, path: &str, form: &str) -> Resp {
        let body = Some(("application/x-www-form-urlencoded", form));
        self.send(IDP, "POST", path, body).await
    }

    /// Password then code in the frame; returns the IdP's last page (the grant's form).
    async fn through_idp(&mut self) -> Resp {
        let page = self
            .idp_post("/idp/login", "username=alice&password=demo")
            .await;
        let txn = hidden(&page.text(), "txn");
        self.idp_post("/idp/otp", &format!("txn={txn}&code={DEFAULT_CODE}"))
            .await
    }

    /// The whole login: the frame, then the top window's POST to the callback.
    async fn log_in(&mut self) {
        let granted = self.through_idp().await;
        let grant = hidden(&granted.text(), "grant");
        let r = self.post("/sso/callback", &format!("grant={grant}")).await;
        assert_eq!((r.status, r.header("location")), (303, Some("/home")));
    }
}

/// The value of the hidden field `name` in `html`.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).expect("hidden field") + marker.len();
    html[start..].split('"').next().unwrap_or("").to_string()
}

fn json_of(r: &Resp) -> Value {
    assert!(
        r.header("content-type")
            .is_some_and(|t| t.starts_with("application/json")),
        "{:?}",
        r.headers
    );
    serde_json::from_slice(&r.body).expect("json")
}

#[tokio::test]
async fn login_through_the_idp_frame_reaches_home_with_a_cookie() {
    let site = site().await;
    let port = site.addr().port();
    assert_eq!(site.base_url(), format!("http://127.0.0.1:{port}/"));
    assert_eq!(site.idp_url(), format!("http://localhost:{port}/"));
    assert_eq!(site.idp_domain(), format!("localhost:{port}"));
    let mut b = Browser::new(&site);
    let r = b.get("/").await;
    assert_eq!((r.status, r.header("location")), (303, Some("/login")));
    let login = b.get("/login").await.text();
    assert!(login.contains(&format!(
        "<iframe id=\"auth\" title=\"Demo ID\" src=\"http://localhost:{port}/idp/login?client_id=demo-telecom\""
    )));

    let form = b
        .send(IDP, "GET", "/idp/login?client_id=demo-telecom", None)
        .await;
    assert_eq!(form.status, 200);
    assert_eq!(
        form.header("content-security-policy"),
        Some(format!("frame-ancestors http://127.0.0.1:{port}").as_str())
    );
    let form = form.text();
    assert!(form.contains("<form id=\"idp-login\" method=\"post\" action=\"/idp/login\">"));
    assert!(form.contains("<input id=\"password\" name=\"password\" type=\"password\""));

    let code = b
        .idp_post("/idp/login", "username=alice&password=demo")
        .await;
    assert_eq!(code.status, 200);
    assert!(
        code.header("set-cookie").is_none(),
        "the IdP keeps no cookie"
    );
    assert!(code.text().contains("<input id=\"otp\" name=\"code\""));
    let txn = hidden(&code.text(), "txn");
    let granted = b
        .idp_post("/idp/otp", &format!("txn={txn}&code=424242"))
        .await
        .text();
    assert!(granted.contains(&format!(
        "<form id=\"sso\" method=\"post\" action=\"http://127.0.0.1:{port}/sso/callback\" target=\"_top\">"
    )));
    assert!(granted.contains("<button id=\"continue\" type=\"submit\">"));
    let grant = hidden(&granted, "grant");

    let r = b.post("/sso/callback", &format!("grant={grant}")).await;
    assert_eq!((r.status, r.header("location")), (303, Some("/home")));
    let sid = r.set_cookie("sid").expect("sid cookie");
    assert!(sid.ends_with("; Path=/; HttpOnly; SameSite=Lax"), "{sid}");
    assert!(!sid.contains("Domain"), "a host-only cookie of 127.0.0.1");
    let home = b.get("/home").await;
    assert_eq!(home.status, 200);
    let home = home.text();
    assert!(home.contains("<span class=\"name\">Alice Martin</span>"));
    assert!(home.contains("<dd class=\"customer-id\">CL-0042-7781</dd>"));
    assert!(home.contains("<dd class=\"offer\">Pack Mobile + Fibre</dd>"));

    // A grant is good once.
    let mut other = Browser::new(&site);
    let r = other.post("/sso/callback", &format!("grant={grant}")).await;
    assert_eq!(
        (r.status, r.header("location")),
        (303, Some("/login?error=sso"))
    );
    assert!(r.set_cookie("sid").is_none());
    let page = other.get("/login?error=sso").await.text();
    assert!(page.contains("<div class=\"alert-error\" role=\"alert\">La connexion a échoué."));

    let r = b.get("/logout").await;
    assert_eq!((r.status, r.header("location")), (303, Some("/login")));
    assert_eq!(b.get("/home").await.status, 303);
    site.shutdown().await;
}

#[tokio::test]
async fn a_wrong_password_is_told_in_the_frame() {
    let site = site().await;
    let mut b = Browser::new(&site);
    for form in [
        "username=alice&password=nope",
        "username=mallory&password=demo",
    ] {
        let r = b.idp_post("/idp/login", form).await;
        assert_eq!(r.status, 200);
        let html = r.text();
        assert!(html.contains(
            "<p class=\"idp-error\" role=\"alert\">Identifiant ou mot de passe incorrect.</p>"
        ));
        assert!(html.contains("id=\"idp-login\"") && !html.contains("id=\"idp-otp\""));
    }
    site.shutdown().await;
}

#[tokio::test]
async fn a_wrong_code_is_told_in_the_frame_and_three_end_the_login() {
    let site = site().await;
    let mut b = Browser::new(&site);
    let page = b
        .idp_post("/idp/login", "username=alice&password=demo")
        .await;
    let txn = hidden(&page.text(), "txn");
    let wrong = b
        .idp_post("/idp/otp", &format!("txn={txn}&code=000000"))
        .await
        .text();
    assert!(wrong.contains("<p class=\"otp-error\" role=\"alert\">Code incorrect.</p>"));
    assert_eq!(hidden(&wrong, "txn"), txn, "the same login, asked again");
    let granted = b
        .idp_post("/idp/otp", &format!("txn={txn}&code=424242"))
        .await
        .text();
    assert!(granted.contains("id=\"sso\""));

    let page = b
        .idp_post("/idp/login", "username=alice&password=demo")
        .await;
    let txn = hidden(&page.text(), "txn");
    for _ in 0..2 {
        let r = b.idp_post("/idp/otp", &format!("txn={txn}&code=1")).await;
        assert!(r.text().contains("class=\"otp-error\""));
    }
    let locked = b.idp_post("/idp/otp", &format!("txn={txn}&code=1")).await;
    assert!(locked.text().contains(&format!(
        "<p class=\"idp-error\" role=\"alert\">{LOCKED}</p>"
    )));
    let late = b
        .idp_post("/idp/otp", &format!("txn={txn}&code=424242"))
        .await;
    assert!(late.text().contains("expiré") && !late.text().contains("id=\"sso\""));
    site.shutdown().await;
}

#[tokio::test]
async fn the_code_and_credentials_are_options() {
    let site = DemoTelecom::start(DemoTelecomOptions {
        login: "bob".into(),
        password: "s3cret".into(),
        code: "135790".into(),
        print_codes: false,
    })
    .await
    .expect("start");
    let mut b = Browser::new(&site);
    let r = b
        .idp_post("/idp/login", "username=alice&password=demo")
        .await;
    assert!(r.text().contains("class=\"idp-error\""));
    let r = b
        .idp_post("/idp/login", "username=bob&password=s3cret")
        .await;
    let txn = hidden(&r.text(), "txn");
    let r = b
        .idp_post("/idp/otp", &format!("txn={txn}&code=424242"))
        .await;
    assert!(r.text().contains("class=\"otp-error\""));
    let r = b
        .idp_post("/idp/otp", &format!("txn={txn}&code=135790"))
        .await;
    assert!(r.text().contains("id=\"sso\""));
    site.shutdown().await;
}

#[tokio::test]
async fn each_site_answers_only_under_its_own_name() {
    let site = site().await;
    let mut b = Browser::new(&site);
    assert_eq!(b.get("/idp/login").await.status, 421);
    assert_eq!(b.send(IDP, "GET", "/login", None).await.status, 421);
    assert_eq!(b.send(IDP, "GET", "/home", None).await.status, 421);
    assert_eq!(b.send(IDP, "GET", "/idp/login", None).await.status, 200);
    assert_eq!(b.get("/login").await.status, 200);
    site.shutdown().await;
}

#[tokio::test]
async fn pages_documents_and_apis_need_the_site_login() {
    let site = site().await;
    let mut b = Browser::new(&site);
    for path in ["/home", "/bills", "/bills?page=2", "/usage"] {
        let r = b.get(path).await;
        assert_eq!(
            (r.status, r.header("location")),
            (303, Some("/login")),
            "{path}"
        );
    }
    let r = b.get("/api/usage").await;
    assert_eq!(r.status, 401);
    assert_eq!(json_of(&r), json!({ "error": "unauthorized" }));
    let r = b.post_json("/api/lines", r#"{"status":"active"}"#).await;
    assert_eq!(r.status, 401);
    assert_eq!(
        b.post("/bills/download", "bill=FAC-2026-03").await.status,
        403
    );
    assert_eq!(b.get("/contract.pdf").await.status, 403);
    b.jar(PORTAL).insert("sid".into(), "forged".into());
    assert_eq!(b.get("/home").await.status, 303);
    assert_eq!(b.get("/api/usage").await.status, 401);
    assert_eq!(b.get("/nowhere").await.status, 404);
    site.shutdown().await;
}

#[tokio::test]
async fn the_consent_banner_and_the_closed_widget() {
    let site = site().await;
    let mut b = Browser::new(&site);
    let login = b.get("/login").await.text();
    assert!(login.contains("<consent-banner></consent-banner>"));
    assert!(login.contains("this.attachShadow({ mode: 'open' })"));
    assert!(login.contains("<button class=\"accept\" type=\"button\">Tout accepter</button>"));
    assert!(login.contains(":host { position: fixed; inset: 0;"));
    assert!(
        login.contains("<support-chat") && login.contains("this.attachShadow({ mode: 'closed' })")
    );
    assert!(
        !b.get("/login?banner=0")
            .await
            .text()
            .contains("<consent-banner>")
    );
    b.log_in().await;
    let home = b.get("/home").await.text();
    assert!(home.contains("<consent-banner>"));
    assert!(home.contains("<support-chat"));
    assert!(home.contains("this.attachShadow({ mode: 'closed' })"));
    assert!(home.contains("class=\"chat-open\""));
    b.jar(PORTAL).insert(CONSENT.into(), "1".into());
    for path in ["/home", "/login", "/bills", "/usage"] {
        assert!(
            !b.get(path).await.text().contains("<consent-banner>"),
            "{path}"
        );
    }
    site.shutdown().await;
}

#[tokio::test]
async fn bills_are_paginated_with_post_forms_and_a_confirm() {
    let site = site().await;
    let mut b = Browser::new(&site);
    b.log_in().await;
    let first = b.get("/bills").await.text();
    assert_eq!(first.matches("<tr class=\"bill\"").count(), 2);
    assert!(first.contains(
        "<tr class=\"bill\" data-id=\"FAC-2026-03\"><td class=\"id\">FAC-2026-03</td><td class=\"date\">05/03/2026</td>\
         <td class=\"label\">Facture mars 2026</td><td class=\"amount\">54,98\u{a0}€</td>"
    ));
    assert!(first.contains(
        "<form class=\"download\" method=\"post\" action=\"/bills/download\"><input type=\"hidden\" name=\"bill\" value=\"FAC-2026-03\">\
         <button class=\"download\" type=\"submit\">Télécharger</button></form>"
    ));
    assert!(first.contains("data-id=\"FAC-2026-02\"") && !first.contains("FAC-2026-01"));
    assert!(first.contains("<a class=\"next\" href=\"/bills?page=2\">Suivant</a>"));
    assert!(first.contains("if (!confirm(\"Télécharger la facture ?\")) e.preventDefault();"));
    assert!(
        first.contains("<a id=\"contract\" href=\"/contract.pdf\" target=\"_blank\">Contrat</a>")
    );
    assert!(
        first.contains("<button id=\"releve\" type=\"button\">Relevé de consommation</button>")
    );
    let second = b.get("/bills?page=2").await.text();
    assert_eq!(second.matches("<tr class=\"bill\"").count(), 1);
    assert!(
        second.contains("data-id=\"FAC-2026-01\"")
            && second.contains("<td class=\"amount\">54,98\u{a0}€</td>")
    );
    assert!(
        !second.contains("class=\"next\"")
            && second.contains("<a class=\"prev\" href=\"/bills?page=1\">")
    );
    assert_eq!(b.get("/bills?page=3").await.status, 404);
    assert_eq!(b.get("/bills?page=x").await.status, 404);

    let plain = b.get("/bills?confirm=0").await.text();
    assert!(!plain.contains("confirm(") && plain.contains("href=\"/bills?page=2&amp;confirm=0\""));
    let evil = b.get("/bills?evil=1").await.text();
    assert_eq!(evil.matches("action=\"/bills/download?evil=1\"").count(), 2);
    assert!(evil.contains("<a class=\"next\" href=\"/bills?page=2&amp;evil=1\">"));
    site.shutdown().await;
}

#[tokio::test]
async fn downloads_answer_with_their_headers() {
    let site = site().await;
    let mut b = Browser::new(&site);
    b.log_in().await;
    for bill in BILLS {
        let r = b
            .post("/bills/download", &format!("bill={}", bill.id))
            .await;
        assert_eq!(r.status, 200, "{}", bill.id);
        assert_eq!(r.header("content-type"), Some("application/pdf"));
        assert_eq!(
            r.header("content-disposition"),
            Some(format!("attachment; filename=\"{}\"", bill.file_name).as_str())
        );
        assert_eq!(r.body, pdf::bill(bill));
    }
    let r = b.post("/bills/download?evil=1", "bill=FAC-2026-01").await;
    assert_eq!(
        r.header("content-disposition"),
        Some("attachment; filename=\"../../evil.pdf\"")
    );
    assert_eq!(r.body, pdf::bill(&BILLS[2]));
    assert_eq!(site.hits_of("POST", "/bills/download"), 4);
    assert_eq!(b.get("/bills/download").await.status, 405);
    assert_eq!(
        b.post("/bills/download", "bill=FAC-2025-12").await.status,
        404
    );

    let r = b.get("/contract.pdf").await;
    assert_eq!(r.header("content-type"), Some("application/pdf"));
    assert_eq!(
        r.header("content-disposition"),
        Some("inline; filename=\"contrat-CL-0042-7781.pdf\"")
    );
    assert_eq!(r.body, pdf::contract());

    // The statement's bytes are in the page's script, as a JSON string.
    let page = b.get("/bills").await.text();
    let start = page.find("new Blob([").expect("blob") + "new Blob([".len();
    let literal = &page[start..start + page[start..].find("], {").expect("end")];
    let statement: String = serde_json::from_str(literal).expect("string literal");
    assert_eq!(statement.as_bytes(), pdf::statement());
    assert!(page.contains("a.download = 'releve.pdf';"));
    assert!(page.contains("{ type: 'application/pdf' }"));
    site.shutdown().await;
}

#[tokio::test]
async fn usage_and_lines_exist_only_as_json() {
    let site = site().await;
    let mut b = Browser::new(&site);
    b.log_in().await;
    let r = b.get("/api/usage").await;
    assert_eq!(r.status, 200);
    assert_eq!(
        json_of(&r),
        json!({"line": "L-001", "unit": "Go", "months": [
            {"month": "2026-01", "data_gb": 12.4, "calls_min": 134, "sms": 52},
            {"month": "2026-02", "data_gb": 9.8, "calls_min": 98, "sms": 47},
            {"month": "2026-03", "data_gb": 15.1, "calls_min": 161, "sms": 63},
        ]})
    );
    let r = b.post_json("/api/lines", r#"{"status":"active"}"#).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        json_of(&r),
        json!({"lines": [
            {"id": "L-001", "number": "06 12 34 56 78", "plan": "Forfait Mobile 100 Go", "monthly_price": "19,99", "status": "active"},
            {"id": "L-002", "number": "09 87 65 43 21", "plan": "Box Fibre 1 Gb/s", "monthly_price": "34,99", "status": "active"},
        ], "count": 2})
    );
    let all = json_of(&b.post_json("/api/lines", r#"{"status":"all"}"#).await);
    assert_eq!(all["count"], 3);
    let suspended = json_of(&b.post_json("/api/lines", r#"{"status":"suspended"}"#).await);
    assert_eq!(suspended["lines"][0]["id"], "L-003");
    assert_eq!(
        b.post_json("/api/lines", r#"{"status":"gone"}"#)
            .await
            .status,
        400
    );
    assert_eq!(b.post_json("/api/lines", "{").await.status, 400);
    assert_eq!(b.post_json("/api/lines", "{}").await.status, 422);
    assert_eq!(b.post("/api/lines", "status=active").await.status, 415);
    assert_eq!(b.get("/api/lines").await.status, 405);

    let usage = b.get("/usage").await.text();
    assert!(usage.contains("<canvas id=\"usage-chart\""));
    assert!(usage.contains("fetch('/api/usage'"));
    for path in ["/home", "/bills", "/bills?page=2", "/usage"] {
        let html = b.get(path).await.text();
        for value in ["12.4", "134", "19,99", "34,99", "06 12 34 56 78", "L-001"] {
            assert!(!html.contains(value), "{path} shows {value}");
        }
    }
    assert_eq!(data::LINES.len(), 3);
    site.shutdown().await;
}
