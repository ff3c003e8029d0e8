//! The off-domain guard: a collect's page reaches only the base URL's host and the
//! connector's `domains`. The demo site's "other origin" is the same server under another
//! name (`localhost`), so its hit counter tells whether a request got out of the browser.

use demo_sites::third_party::TRACKER_PATHS;
use gleaner::codes::ErrorKind;
use serde_json::json;

use crate::common::{self, Codes};

fn connector(domains: &str, steps: &str) -> gleaner::connector::Plan {
    let top = format!("domains: {domains}\npages:\n  elsewhere: {{ has: '#elsewhere' }}");
    common::connector("third-party", &top, steps)
}

const LOAD_THIRD_PARTY: &str = r#"
  - goto: /third-party
  - eval:
      js: 'window.settled.then((r) => [r.image, r.script, r.fetched].join(" "))'
      as: loads
  - extract:
      as: results
      fields:
        loaded: { value: '{{loads}}' }
"#;

/// Runs the steps as a background collect of a connector reaching only `domains`.
async fn run(site: &demo_sites::DemoSite, domains: &str, steps: &str) -> common::Run {
    common::collect(
        site,
        &connector(domains, steps),
        "alice",
        "demo",
        Codes::Nobody,
    )
    .await
}

fn tracker_hits(site: &demo_sites::DemoSite) -> Vec<(&'static str, u64)> {
    TRACKER_PATHS.iter().map(|p| (*p, site.hits(p))).collect()
}

#[tokio::test]
async fn third_party_requests_never_leave_the_browser() {
    let site = common::demo_site().await;
    let run = run(&site, "[demo-bank.example]", LOAD_THIRD_PARTY).await;
    assert_eq!(
        run.outcome().lists["results"],
        vec![json!({ "loaded": "false false false" })]
    );
    assert!(
        tracker_hits(&site).iter().all(|(_, n)| *n == 0),
        "a request reached the other origin: {:?}",
        tracker_hits(&site)
    );
    assert_eq!(site.hits("/third-party"), 1);
}

/// The control: listing the other host lets the same page's requests through, so the test
/// above can fail.
#[tokio::test]
async fn a_listed_domain_is_reached() {
    let site = common::demo_site().await;
    let domains = format!("[demo-bank.example, 'localhost:{}']", site.addr().port());
    let run = run(&site, &domains, LOAD_THIRD_PARTY).await;
    assert_eq!(
        run.outcome().lists["results"],
        vec![json!({ "loaded": "true true true" })]
    );
    for path in [
        "/tracker.png",
        "/tracker.js",
        "/tracker.json",
        "/tracker.html",
    ] {
        assert_eq!(site.hits(path), 1, "{path}: {:?}", tracker_hits(&site));
    }
}

/// `domains: [localhost]` opens the default ports of `localhost` only, not the site's.
#[tokio::test]
async fn a_listed_domain_without_its_port_is_not_reached() {
    let site = common::demo_site().await;
    let run = run(&site, "[demo-bank.example, localhost]", LOAD_THIRD_PARTY).await;
    assert_eq!(
        run.outcome().lists["results"],
        vec![json!({ "loaded": "false false false" })]
    );
    assert!(
        tracker_hits(&site).iter().all(|(_, n)| *n == 0),
        "{:?}",
        tracker_hits(&site)
    );
}

#[tokio::test]
async fn a_redirect_off_the_domains_stops_the_collect_and_says_where() {
    let site = common::demo_site().await;
    let run = run(&site, "[demo-bank.example]", "  - goto: /away\n").await;
    let err = run.error();
    assert_eq!(err.code.kind, ErrorKind::ConnectorError, "{err}");
    let port = site.addr().port();
    let target = format!("http://localhost:{port}/elsewhere");
    assert!(
        err.message.contains(&target) && err.message.contains("outside the connector's domains"),
        "{}",
        err.message
    );
    assert_eq!(site.hits("/away"), 1);
    assert_eq!(site.hits("/elsewhere"), 0);
}

#[tokio::test]
async fn a_link_off_the_domains_is_not_followed_and_the_error_says_why() {
    let site = common::demo_site().await;
    let steps = r#"
  - goto: /third-party
  - click: '#leave'
  - await_page: { one_of: [elsewhere], timeout: 3s }
"#;
    let run = run(&site, "[demo-bank.example]", steps).await;
    let err = run.error();
    let port = site.addr().port();
    assert!(
        err.message.contains(&format!(
            "kept from loading http://localhost:{port}/elsewhere"
        )),
        "{err}"
    );
    assert_eq!(site.hits("/elsewhere"), 0);
}

#[tokio::test]
async fn a_document_link_off_the_domains_is_not_fetched() {
    let site = common::demo_site().await;
    let steps = r#"
  - goto: /third-party
  - download: { links: '#leave', as: documents }
"#;
    let run = run(&site, "[demo-bank.example]", steps).await;
    let err = run.error();
    let port = site.addr().port();
    assert_eq!(err.code.kind, ErrorKind::ConnectorError, "{err}");
    assert!(
        err.message.contains(&format!(
            "document link http://localhost:{port}/elsewhere is outside the connector's domains"
        )),
        "{err}"
    );
    assert_eq!(site.hits("/elsewhere"), 0);
}
