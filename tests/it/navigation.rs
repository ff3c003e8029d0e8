//! Navigation errors are named: a navigation that does not reach the site's page ends the
//! collect at once, in -1 with a code that says why (`VENDOR_DOWN.UNREACHABLE`,
//! `VENDOR_DOWN.REDIRECT_LOOP`, `CONNECTOR_ERROR.RUNAWAY_PAGE`), and a message naming the
//! URL (without its query) and Chromium's net error. The pages are demo-sites' `broken`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use gleaner::codes::State;

use crate::common::{self, Codes};

fn connector(domains: &str, steps: &str) -> gleaner::connector::Plan {
    common::connector("navigation", &format!("domains: {domains}"), steps)
}

/// Runs `steps` against the demo site, with a 20 s navigation timeout: a case that ended
/// by a timeout would say `TIMEOUT` or "did not load", not the code asserted.
async fn run(site: &demo_sites::DemoSite, domains: &str, steps: &str) -> common::Run {
    let started = std::time::Instant::now();
    let run = common::collect_tuned(
        site,
        &connector(domains, steps),
        "alice",
        "demo",
        Codes::Nobody,
        |options| {
            options.engine.navigation_timeout = Duration::from_secs(20);
            options.engine.element_timeout = Duration::from_secs(20);
        },
    )
    .await;
    // For the notes: how long the collect took to end (launch included).
    let ended = run.result.as_ref().err().map(|e| e.code.to_string());
    eprintln!(
        "navigation: {:?} ended {ended:?} in {:?}",
        steps.lines().next().unwrap_or_default().trim(),
        started.elapsed()
    );
    run
}

/// A port that was bound, then closed: nothing listens there.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// The run failed in -1 with `code`, its message naming `url` and `net_error`.
fn assert_failed(run: &common::Run, code: &str, url: &str, net_error: &str) {
    assert_eq!(run.final_state(), State::Error);
    let err = run.error();
    assert_eq!(err.code.to_string(), code, "{err}");
    assert!(
        err.message.contains(url) && err.message.contains(net_error),
        "the message names {url} and {net_error}: {err}"
    );
    assert!(!err.message.contains("user=alice"), "no query: {err}");
}

#[tokio::test]
async fn a_closed_port_is_vendor_down_unreachable() {
    let site = common::demo_site().await;
    let port = closed_port();
    let steps = format!(
        "  - goto: 'http://localhost:{port}/login?user=alice'\n  - wait: {{ selector: '#ok' }}\n"
    );
    let run = run(&site, &format!("['localhost:{port}']"), &steps).await;
    assert_failed(
        &run,
        "VENDOR_DOWN.UNREACHABLE",
        &format!("http://localhost:{port}/login"),
        "net::ERR_CONNECTION_REFUSED",
    );
}

/// Over `https`, the browser only sees a failed `CONNECT`
/// (`net::ERR_TUNNEL_CONNECTION_FAILED`): the egress proxy's record says why.
#[tokio::test]
async fn a_closed_https_port_is_named_by_the_proxys_reason() {
    let site = common::demo_site().await;
    let port = closed_port();
    let steps = format!(
        "  - goto: 'https://localhost:{port}/login?user=alice'\n  - wait: {{ selector: '#ok' }}\n"
    );
    let run = run(&site, &format!("['localhost:{port}']"), &steps).await;
    assert_failed(
        &run,
        "VENDOR_DOWN.UNREACHABLE",
        &format!("https://localhost:{port}/login"),
        "net::ERR_CONNECTION_REFUSED",
    );
}

#[tokio::test]
async fn a_name_that_does_not_resolve_is_vendor_down_unreachable() {
    let site = common::demo_site().await;
    let steps =
        "  - goto: 'http://nowhere.invalid/login?user=alice'\n  - wait: { selector: '#ok' }\n";
    let run = run(&site, "[nowhere.invalid]", steps).await;
    assert_failed(
        &run,
        "VENDOR_DOWN.UNREACHABLE",
        "http://nowhere.invalid/login",
        "net::ERR_NAME_NOT_RESOLVED",
    );
}

#[tokio::test]
async fn an_endless_redirect_is_vendor_down_redirect_loop() {
    let site = common::demo_site().await;
    let steps = "  - goto: '/broken/endless?user=alice'\n  - wait: { selector: '#ok' }\n";
    let run = run(&site, "[demo-bank.example]", steps).await;
    let base = site.base_url();
    assert_failed(
        &run,
        "VENDOR_DOWN.REDIRECT_LOOP",
        &format!("{base}broken/endless"),
        "net::ERR_TOO_MANY_REDIRECTS",
    );
    // The control: the site did redirect, about twenty times before the browser gave up.
    assert!(
        site.hits("/broken/endless/5") == 1,
        "the redirects were followed"
    );
}

#[tokio::test]
async fn a_redirect_loop_names_the_url_it_comes_back_to() {
    let site = common::demo_site().await;
    let steps = "  - goto: '/broken/loop/a'\n  - wait: { selector: '#ok' }\n";
    let run = run(&site, "[demo-bank.example]", steps).await;
    let base = site.base_url();
    assert_failed(
        &run,
        "VENDOR_DOWN.REDIRECT_LOOP",
        &format!("loop through {base}broken/loop/a"),
        "net::ERR_TOO_MANY_REDIRECTS",
    );
}

#[tokio::test]
async fn a_page_that_reloads_itself_is_a_runaway_page_not_a_site_down() {
    let site = common::demo_site().await;
    let steps = "  - goto: /broken/reload\n  - wait: { selector: '#ok' }\n";
    let run = run(&site, "[demo-bank.example]", steps).await;
    assert_eq!(run.final_state(), State::Error);
    let err = run.error();
    assert_eq!(
        err.code.to_string(),
        "CONNECTOR_ERROR.RUNAWAY_PAGE",
        "{err}"
    );
    assert!(err.message.contains("reloads or navigates itself"), "{err}");
    assert!(
        err.url
            .as_deref()
            .is_some_and(|u| u.ends_with("/broken/reload")),
        "{err}"
    );
    assert!(site.hits("/broken/reload") > 10, "the page did reload");
}

/// A TLS server on 127.0.0.1:0 with a self-signed certificate for `localhost`, which no
/// browser trusts. It counts the handshakes it sees begin.
async fn untrusted_tls_site() -> (u16, Arc<AtomicU64>) {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![certified.cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into()),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let handshakes = Arc::new(AtomicU64::new(0));
    let seen = handshakes.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let _ = acceptor.accept(stream).await;
            });
        }
    });
    (port, handshakes)
}

/// Passes once `Browser::launch` calls chromiumoxide's `respect_https_errors()`: its
/// default (`ignore_https_errors: true`, sent as `Security.setIgnoreCertificateErrors`)
/// makes Chromium accept this certificate, and the page then fails as
/// `net::ERR_EMPTY_RESPONSE` (measured). With that one line, this test passes.
#[tokio::test]
async fn a_certificate_the_browser_refuses_is_vendor_down_tls() {
    let site = common::demo_site().await;
    let (port, handshakes) = untrusted_tls_site().await;
    let steps = format!(
        "  - goto: 'https://localhost:{port}/login?user=alice'\n  - wait: {{ selector: '#ok' }}\n"
    );
    let run = run(&site, &format!("['localhost:{port}']"), &steps).await;
    assert_failed(
        &run,
        "VENDOR_DOWN.TLS",
        &format!("https://localhost:{port}/login"),
        "net::ERR_CERT_",
    );
    // The control: the browser did reach the server, and refused its certificate.
    assert!(handshakes.load(Ordering::SeqCst) >= 1);
}

/// The control: a page that loads is no error, whatever its status, and `goto` returns
/// the status the site answered (not 200 by default).
#[tokio::test]
async fn a_page_that_loads_returns_its_real_status() {
    let site = common::demo_site().await;
    let browser = common::launch_browser(|_| {}).await;
    let tab = browser.browser.new_tab().await.unwrap();
    let timeout = Duration::from_secs(10);
    let base = site.base_url();
    assert_eq!(
        tab.goto(&format!("{base}broken/missing"), timeout)
            .await
            .unwrap(),
        404
    );
    assert_eq!(
        tab.goto(&format!("{base}login"), timeout).await.unwrap(),
        200
    );
    let port = closed_port();
    let refused = tab
        .goto(&format!("http://localhost:{port}/"), timeout)
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("net::ERR_CONNECTION_REFUSED"),
        "{refused}"
    );
    drop(tab);
    browser.close().await;
    // The control's collect: a 404 page passes `goto`, and its content is there.
    let steps = "  - goto: /broken/missing\n  - wait: { selector: '#missing' }\n";
    let run = run(&site, "[demo-bank.example]", steps).await;
    assert_eq!(run.final_state(), State::Done, "{:?}", run.result);
}
