//! Drives the demo bank over real TCP with a minimal HTTP/1.1 client.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::render::{Val, substitute};
use crate::{DemoSite, DemoSiteOptions, SiteData, format_eur};

const T: Duration = Duration::from_secs(5);

fn root() -> PathBuf {
    crate::demo_bank_fixtures()
}

async fn site() -> DemoSite {
    DemoSite::start(root(), DemoSiteOptions::default())
        .await
        .expect("start demo bank")
}

#[derive(Debug)]
pub(crate) struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn set_cookie(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
            .map(|(_, v)| v.as_str())
            .find(|v| v.starts_with(&format!("{name}=")))
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A tiny cookie-keeping HTTP/1.1 client (one connection per request).
struct Client {
    addr: SocketAddr,
    jar: HashMap<String, String>,
}

impl Client {
    fn new(site: &DemoSite) -> Client {
        Client {
            addr: site.addr(),
            jar: HashMap::new(),
        }
    }

    async fn get(&mut self, path: &str) -> Resp {
        self.send("GET", path, None).await
    }

    async fn post(&mut self, path: &str, form: &str) -> Resp {
        self.send("POST", path, Some(form)).await
    }

    async fn send(&mut self, method: &str, path: &str, form: Option<&str>) -> Resp {
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
            self.addr
        );
        if !self.jar.is_empty() {
            let cookies: Vec<String> = self.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
            req.push_str(&format!("Cookie: {}\r\n", cookies.join("; ")));
        }
        if let Some(body) = form {
            req.push_str("Content-Type: application/x-www-form-urlencoded\r\n");
            req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
        } else {
            req.push_str("\r\n");
        }
        let mut stream = TcpStream::connect(self.addr).await.expect("connect");
        stream.write_all(req.as_bytes()).await.expect("write");
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.expect("read");
        let resp = parse(&raw);
        for (k, v) in &resp.headers {
            if !k.eq_ignore_ascii_case("set-cookie") {
                continue;
            }
            let pair = v.split(';').next().unwrap_or("");
            if let Some((name, value)) = pair.split_once('=') {
                if v.contains("Max-Age=0") {
                    self.jar.remove(name);
                } else {
                    self.jar.insert(name.to_string(), value.to_string());
                }
            }
        }
        resp
    }
}

pub(crate) fn parse(raw: &[u8]) -> Resp {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of headers");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().expect("status line");
    let status = status_line
        .split(' ')
        .nth(1)
        .expect("status")
        .parse()
        .expect("status code");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked {
        let mut out = Vec::new();
        let mut rest = &body[..];
        loop {
            let eol = rest
                .windows(2)
                .position(|w| w == b"\r\n")
                .expect("chunk size");
            let size = usize::from_str_radix(String::from_utf8_lossy(&rest[..eol]).trim(), 16)
                .expect("hex");
            if size == 0 {
                break;
            }
            out.extend_from_slice(&rest[eol + 2..eol + 2 + size]);
            rest = &rest[eol + 4 + size..];
        }
        body = out;
    }
    Resp {
        status,
        headers,
        body,
    }
}

#[test]
fn money_and_templates() {
    assert_eq!(format_eur(123456, false), "1\u{202f}234,56\u{a0}€");
    assert_eq!(format_eur(-4590, true), "-45,90\u{a0}€");
    assert_eq!(format_eur(120000, true), "+1\u{202f}200,00\u{a0}€");
    assert_eq!(format_eur(1200000, false), "12\u{202f}000,00\u{a0}€");
    let out = substitute(
        "<p>{{a}}|{{ b }}|{{missing}}</p>",
        &[
            ("a", Val::Text("<x>&\"{{b}}".into())),
            ("b", Val::Html("<b>ok</b>".into())),
        ],
    );
    assert_eq!(out, "<p>&lt;x&gt;&amp;&quot;{{b}}|<b>ok</b>|</p>");
    let data = SiteData::load(&root()).expect("data.json");
    assert_eq!(data.accounts.len(), 3);
    assert_eq!(data.invoices.len(), 3);
    assert_eq!(data.messages.len(), 15);
}

#[tokio::test]
async fn wrong_password_and_unknown_user_show_alert() {
    let site = site().await;
    let mut c = Client::new(&site);
    for form in ["login=carol&password=nope", "login=mallory&password=demo"] {
        let r = c.post("/login", form).await;
        assert_eq!(r.status, 200);
        assert!(r.text().contains(
            "<div class=\"alert-error\" role=\"alert\">Identifiant ou mot de passe incorrect.</div>"
        ));
        assert!(r.set_cookie("sid").is_none());
    }
    site.shutdown().await;
}

#[tokio::test]
async fn login_page_and_cookie_banner() {
    let site = site().await;
    let mut c = Client::new(&site);
    let r = c.get("/").await;
    assert_eq!((r.status, r.header("location")), (303, Some("/login")));
    let page = c.get("/login").await.text();
    assert!(page.contains("<html lang=\"fr\">"));
    assert!(page.contains("<form id=\"login-form\" method=\"post\" action=\"/login\">"));
    assert!(page.contains("id=\"cookie-banner\"") && page.contains("id=\"accept-cookies\""));
    assert!(!page.contains("otp-modal"));
    c.jar.insert("consent".into(), "1".into());
    let page = c.get("/login").await.text();
    assert!(!page.contains("cookie-banner") && page.contains("id=\"submit\""));
    site.shutdown().await;
}

#[tokio::test]
async fn carol_logs_in_without_2fa() {
    let site = site().await;
    let mut c = Client::new(&site);
    let r = c.post("/login", "login=carol&password=demo").await;
    assert_eq!((r.status, r.header("location")), (303, Some("/accounts")));
    let sid = r.set_cookie("sid").expect("sid cookie");
    assert!(sid.contains("HttpOnly") && sid.contains("Path=/"));
    let page = c.get("/accounts").await;
    assert_eq!(page.status, 200);
    let html = page.text();
    assert!(html.contains("<h1>Mes comptes</h1>") && html.contains("id=\"nav-invoices\""));
    assert!(html.contains("<tr data-id=\"CHK-001\">"));
    assert!(html.contains("<td class=\"balance\">1\u{202f}234,56\u{a0}€</td>"));
    assert!(html.contains("<td class=\"balance\">-45,90\u{a0}€</td>"));
    let r = c.get("/logout").await;
    assert_eq!((r.status, r.header("location")), (303, Some("/login")));
    assert_eq!(c.get("/accounts").await.status, 303);
    site.shutdown().await;
}

#[tokio::test]
async fn pages_without_a_site_login_redirect_to_login() {
    let site = site().await;
    let mut c = Client::new(&site);
    for path in [
        "/accounts",
        "/accounts/CHK-001/operations",
        "/invoices",
        "/messages",
        "/otp",
    ] {
        let r = c.get(path).await;
        assert_eq!(
            (r.status, r.header("location")),
            (303, Some("/login")),
            "{path}"
        );
    }
    c.jar.insert("sid".into(), "forged".into());
    assert_eq!(c.get("/accounts").await.status, 303);
    assert_eq!(c.get("/api/messages?offset=5").await.status, 401);
    site.shutdown().await;
}

#[tokio::test]
async fn alice_2fa_by_redirect() {
    let site = site().await;
    let mut c = Client::new(&site);
    let r = c.post("/login", "login=alice&password=demo").await;
    assert_eq!((r.status, r.header("location")), (303, Some("/otp")));
    assert!(
        r.set_cookie("pending")
            .is_some_and(|v| v.contains("HttpOnly"))
    );
    assert!(r.set_cookie("sid").is_none());
    let page = c.get("/otp").await.text();
    assert!(page.contains("Vérification en deux étapes") && page.contains("id=\"otp-form\""));
    let code = site.wait_code("alice", T).await.expect("code");
    assert!(code.len() == 6 && code.chars().all(|ch| ch.is_ascii_digit()));
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let r = c.post("/otp", &format!("code={wrong}")).await;
    assert_eq!(r.status, 200);
    assert!(
        r.text()
            .contains("<p class=\"otp-error\">Code incorrect.</p>")
    );
    // No new code was issued by the wrong attempt.
    assert!(
        site.wait_code("alice", Duration::from_millis(50))
            .await
            .is_err()
    );
    let r = c.post("/otp", &format!("code={code}")).await;
    assert_eq!((r.status, r.header("location")), (303, Some("/accounts")));
    assert!(r.set_cookie("sid").is_some());
    assert_eq!(c.get("/accounts").await.status, 200);
    site.shutdown().await;
}

#[tokio::test]
async fn alice_three_wrong_codes_go_back_to_login() {
    let opts = DemoSiteOptions {
        fixed_code: Some("424242".into()),
        print_codes: false,
        ..Default::default()
    };
    let site = DemoSite::start(root(), opts).await.expect("start");
    let mut c = Client::new(&site);
    c.post("/login", "login=alice&password=demo").await;
    assert_eq!(site.wait_code("alice", T).await.as_deref(), Ok("424242"));
    assert_eq!(c.post("/otp", "code=1").await.status, 200);
    assert_eq!(c.post("/otp", "code=2").await.status, 200);
    let r = c.post("/otp", "code=3").await;
    assert_eq!(r.status, 303);
    assert!(
        r.header("location")
            .is_some_and(|l| l.starts_with("/login"))
    );
    let login = c.get(r.header("location").unwrap_or("/login")).await.text();
    assert!(login.contains("class=\"alert-error\""));
    // The pending login is gone: even the right code no longer works.
    let r = c.post("/otp", "code=424242").await;
    assert_eq!((r.status, r.header("location")), (303, Some("/login")));
    site.shutdown().await;
}

#[tokio::test]
async fn bob_2fa_in_a_modal_on_the_same_url() {
    let site = site().await;
    let mut c = Client::new(&site);
    let r = c.post("/login", "login=bob&password=demo").await;
    assert_eq!(r.status, 200);
    let page = r.text();
    assert!(page.contains("<div id=\"otp-modal\" role=\"dialog\""));
    assert!(page.contains("<input type=\"hidden\" name=\"step\" value=\"otp\">"));
    let code = site.wait_code("bob", T).await.expect("code");
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let r = c.post("/login", &format!("step=otp&code={wrong}")).await;
    assert_eq!(r.status, 200);
    assert!(
        r.text().contains("otp-modal")
            && r.text()
                .contains("<p class=\"otp-error\">Code incorrect.</p>")
    );
    let r = c.post("/login", &format!("step=otp&code={code}")).await;
    assert_eq!((r.status, r.header("location")), (303, Some("/accounts")));
    assert_eq!(c.get("/accounts").await.status, 200);
    site.shutdown().await;
}

#[tokio::test]
async fn wait_code_returns_latest_unconsumed_and_times_out() {
    let site = site().await;
    assert!(
        site.wait_code("alice", Duration::from_millis(50))
            .await
            .is_err()
    );
    let mut c = Client::new(&site);
    // Start waiting before the code is issued.
    let (code, _) = tokio::join!(
        site.wait_code("alice", T),
        c.post("/login", "login=alice&password=demo")
    );
    let first = code.expect("first code");
    c.post("/login", "login=alice&password=demo").await;
    c.post("/login", "login=alice&password=demo").await;
    let latest = site.wait_code("alice", T).await.expect("latest code");
    // Only the latest pending login is valid.
    let r = c.post("/otp", &format!("code={latest}")).await;
    assert_eq!(r.header("location"), Some("/accounts"));
    assert!(
        site.wait_code("alice", Duration::from_millis(50))
            .await
            .is_err()
    );
    let _ = first;
    site.shutdown().await;
}

#[tokio::test]
async fn operations_are_paginated() {
    let site = site().await;
    let data = SiteData::load(&root()).expect("data");
    let mut c = Client::new(&site);
    c.post("/login", "login=carol&password=demo").await;
    let mut seen = Vec::new();
    for (page, rows, next) in [(1, 4, true), (2, 4, true), (3, 2, false)] {
        let html = c
            .get(&format!("/accounts/CHK-001/operations?page={page}"))
            .await
            .text();
        assert!(html.contains("<h1>Compte courant</h1>") && html.contains("<table id=\"ops\">"));
        assert_eq!(
            html.matches("<td class=\"date\">").count(),
            rows,
            "page {page}"
        );
        let link = format!("<a class=\"next\" href=\"?page={}\">Suivant</a>", page + 1);
        assert_eq!(html.contains(&link), next, "page {page}");
        seen.push(html);
    }
    let all = seen.concat();
    for op in &data.accounts[0].operations {
        assert!(
            all.contains(&format!("<td class=\"amount\">{}</td>", op.amount)),
            "{}",
            op.label
        );
    }
    assert!(all.contains("+1\u{202f}200,00\u{a0}€"));
    let default = c.get("/accounts/CHK-001/operations").await.text();
    assert_eq!(default, seen[0]);
    assert_eq!(
        c.get("/accounts/CHK-001/operations?page=4").await.status,
        404
    );
    assert_eq!(c.get("/accounts/NOPE-9/operations").await.status, 404);
    let sav = c.get("/accounts/SAV-002/operations").await.text();
    assert_eq!(sav.matches("<td class=\"date\">").count(), 2);
    let card = c.get("/accounts/CARD-003/operations").await.text();
    assert_eq!(card.matches("<td class=\"date\">").count(), 3);
    assert!(!card.contains("class=\"next\""));
    site.shutdown().await;
}

#[tokio::test]
async fn invoices_and_pdf_downloads() {
    let site = site().await;
    let mut c = Client::new(&site);
    assert_eq!(c.get("/invoices/INV-2026-09.pdf").await.status, 403);
    c.post("/login", "login=carol&password=demo").await;
    let html = c.get("/invoices").await.text();
    assert_eq!(html.matches("<a class=\"invoice\"").count(), 3);
    assert!(html.contains(
        "<a class=\"invoice\" data-id=\"INV-2026-09\" href=\"/invoices/INV-2026-09.pdf\">Télécharger</a>"
    ));
    assert!(
        html.contains("<td class=\"date\">15/09/2026</td>")
            && html.contains("1\u{202f}250,00\u{a0}€")
    );
    let r = c.get("/invoices/INV-2026-09.pdf").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/pdf"));
    let on_disk = std::fs::read(root().join("invoices/INV-2026-09.pdf")).expect("pdf");
    assert_eq!(r.body, on_disk);
    assert!(r.body.starts_with(b"%PDF-"));
    for bad in [
        "/invoices/INV-2026-12.pdf",
        "/invoices/..%2Fdata.json",
        "/invoices/INV-2026-09",
        "/invoices/%2e%2e",
    ] {
        assert_eq!(c.get(bad).await.status, 404, "{bad}");
    }
    assert_eq!(c.get("/invoices/../data.json").await.status, 404);
    assert_eq!(site.hits("/invoices/INV-2026-09.pdf"), 2);
    site.shutdown().await;
}

#[tokio::test]
async fn messages_load_more_api() {
    let site = site().await;
    let mut c = Client::new(&site);
    c.post("/login", "login=carol&password=demo").await;
    let html = c.get("/messages").await.text();
    assert_eq!(html.matches("<li class=\"message\"").count(), 5);
    assert!(html.contains("<li class=\"message\" data-id=\"MSG-01\"><span class=\"date\">"));
    assert!(html.contains("<button id=\"load-more\""));
    let mut ids = Vec::new();
    for (offset, more) in [(5, true), (10, false)] {
        let r = c.get(&format!("/api/messages?offset={offset}")).await;
        assert_eq!(r.status, 200);
        assert!(
            r.header("content-type")
                .is_some_and(|t| t.starts_with("application/json"))
        );
        let v: serde_json::Value = serde_json::from_slice(&r.body).expect("json");
        assert_eq!(v["has_more"], more);
        assert_eq!(v["next_offset"], offset + 5);
        let msgs = v["messages"].as_array().expect("array");
        assert_eq!(msgs.len(), 5);
        ids.extend(
            msgs.iter()
                .filter_map(|m| m["id"].as_str().map(String::from)),
        );
    }
    assert_eq!(ids.first().map(String::as_str), Some("MSG-06"));
    assert_eq!(ids.last().map(String::as_str), Some("MSG-15"));
    assert_eq!(c.get("/api/messages?offset=abc").await.status, 400);
    site.shutdown().await;
}

#[tokio::test]
async fn down_unknown_and_hits() {
    let site = site().await;
    let mut c = Client::new(&site);
    let r = c.get("/down").await;
    assert_eq!(r.status, 503);
    assert!(r.text().contains("Service indisponible"));
    let r = c.get("/nowhere?x=1").await;
    assert_eq!(r.status, 404);
    assert!(r.text().contains("Page introuvable"));
    assert_eq!(site.hits("/down"), 1);
    assert_eq!(site.hits("/nowhere"), 1);
    assert_eq!(site.hits("/never"), 0);
    site.shutdown().await;
}

#[tokio::test]
async fn start_fails_on_missing_root() {
    let err = DemoSite::start("/nonexistent/demo-bank", DemoSiteOptions::default()).await;
    assert!(err.is_err());
}

#[tokio::test]
async fn shutdown_does_not_hang_on_idle_connections() {
    let site = site().await;
    // A keep-alive connection that already served a request, and one that never sent anything
    // (like Chromium's pre-connected sockets).
    let mut used = TcpStream::connect(site.addr()).await.expect("connect");
    let req = format!("GET /login HTTP/1.1\r\nHost: {}\r\n\r\n", site.addr());
    used.write_all(req.as_bytes()).await.expect("write");
    let mut first = [0u8; 12];
    used.read_exact(&mut first).await.expect("read");
    assert_eq!(&first, b"HTTP/1.1 200");
    let _silent = TcpStream::connect(site.addr()).await.expect("connect");
    tokio::time::timeout(T, site.shutdown())
        .await
        .expect("graceful shutdown finished");
}

mod human;
mod site_logins;
