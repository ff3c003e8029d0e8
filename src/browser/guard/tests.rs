//! The allow-list's rules: origins, ports, private addresses in every spelling.
use super::*;

fn url(s: &str) -> Url {
    Url::parse(s).unwrap()
}

fn list(base: &str, domains: &[&str]) -> HostAllowList {
    HostAllowList::for_collect(&url(base), domains.iter().copied())
}

#[test]
fn the_base_origin_and_listed_hosts_with_their_subdomains_pass() {
    let l = list(
        "https://bank.example/",
        &["Static.CDN.example", ".img.example"],
    );
    assert!(l.permits(&url("https://bank.example/login")));
    assert!(l.permits(&url("https://www.bank.example/")));
    assert!(l.permits(&url("wss://bank.example/socket")));
    assert!(l.permits(&url("https://img.static.cdn.example/a.png")));
    assert!(l.permits(&url("http://img.static.cdn.example/a.png")));
    assert!(l.permits(&url("https://a.img.example/")));
    assert!(l.permits(&url("HTTPS://BANK.EXAMPLE:443/")));
    assert!(l.permits(&url("data:text/plain,hi")));
    assert!(l.permits(&url("about:blank")));
    assert!(l.permits(&url("blob:https://bank.example/1")));
}

#[test]
fn other_hosts_do_not() {
    let l = list("https://bank.example/", &[]);
    assert_eq!(
        l.refusal(&url("https://evilbank.example/")),
        Some(BlockKind::Host)
    );
    assert!(!l.permits(&url("https://bank.example.evil.test/")));
    assert!(!l.permits(&url("https://tracker.test/pixel.gif")));
    assert_eq!(
        l.refusal(&url("file:///etc/passwd")),
        Some(BlockKind::Scheme)
    );
    assert!(!l.permits(&url("ftp://bank.example/")));
    assert!(!l.permits_str("not a url"));
}

#[test]
fn the_base_url_allows_its_own_scheme_and_port_only() {
    let l = list("http://127.0.0.1:47000/", &[]);
    assert!(l.permits(&url("http://127.0.0.1:47000/accounts")));
    assert!(l.permits(&url("ws://127.0.0.1:47000/live")));
    assert_eq!(
        l.refusal(&url("http://127.0.0.1:47001/")),
        Some(BlockKind::Port)
    );
    assert_eq!(
        l.refusal(&url("https://127.0.0.1:47000/")),
        Some(BlockKind::Port)
    );
    assert!(!l.permits(&url("ws://127.0.0.1:47001/")));
    assert!(!l.permits(&url("http://127.0.0.1/")));
    // An address has no subdomains.
    assert!(!host_matches("1.127.0.0.1", "127.0.0.1"));
    assert!(!host_matches("a.[::1]", "[::1]"));
    let l = list("https://bank.example/", &[]);
    assert!(
        !l.permits(&url("http://bank.example/")),
        "the scheme counts"
    );
    assert!(!l.permits(&url("https://bank.example:8443/")));
}

#[test]
fn a_domain_without_a_port_opens_the_default_ports_only() {
    let l = list("http://127.0.0.1:47000/", &["localhost"]);
    assert!(l.permits(&url("http://localhost/")));
    assert!(l.permits(&url("https://localhost/")));
    assert!(l.permits(&url("https://a.localhost/")));
    assert_eq!(
        l.refusal(&url("http://localhost:47000/")),
        Some(BlockKind::Port)
    );
    assert!(!l.permits(&url("http://a.localhost:8080/")));
    assert!(!l.permits(&url("ws://localhost:47001/")));
}

#[test]
fn a_domain_can_name_its_port() {
    let l = list(
        "https://bank.example/",
        &[
            "api.bank.example:8443",
            "cdn.example:80",
            "[2001:db8::1]:9000",
        ],
    );
    assert!(l.permits(&url("https://api.bank.example:8443/")));
    assert!(l.permits(&url("https://v2.api.bank.example:8443/")));
    assert!(l.permits(&url("wss://api.bank.example:8443/")));
    assert!(!l.permits(&url("https://cdn.example/")));
    assert!(l.permits(&url("http://cdn.example/")));
    assert!(l.permits(&url("http://[2001:db8::1]:9000/")));
    assert!(!l.permits(&url("http://[2001:db8::1]:9001/")));
}

#[test]
fn domain_syntax() {
    for ok in [
        "bank.example",
        ".bank.example",
        "bank.example:8443",
        "127.0.0.1:4000",
        "[::1]:4000",
        "[::1]",
        "xn--bcher-kva.example",
    ] {
        assert_eq!(check_domain(ok), Ok(()), "{ok}");
    }
    for bad in [
        "",
        ".",
        "https://bank.example",
        "bank.example/x",
        "bank.example:",
        "bank.example:0",
        "bank.example:99999",
        "bank.example:https",
        "user@bank.example",
        "::1",
        "bank example",
    ] {
        assert!(check_domain(bad).is_err(), "{bad:?} should be refused");
    }
}

#[test]
fn private_addresses_are_refused_for_a_public_base_url_in_every_spelling() {
    let everything = [
        "127.0.0.1",
        "127.0.0.2",
        "10.1.2.3",
        "172.16.0.1",
        "172.31.255.255",
        "192.168.1.1",
        "169.254.169.254",
        "0.0.0.0",
        "localhost",
        "a.localhost",
        "[::1]",
        "[fc00::1]",
        "[fd12:3456::1]",
        "[fe80::1]",
        "[::ffff:127.0.0.1]",
        "[::ffff:169.254.169.254]",
        "[::ffff:7f00:1]",
        "[::10.0.0.1]",
        // decimal, hex, octal and short IPv4 forms, as browsers parse them
        "2130706433",
        "0x7f000001",
        "0x7f.1",
        "0177.0.0.1",
        "0177.1",
        "127.1",
        "017700000001",
        "0xa9.0xfe.0xa9.0xfe",
        "2852039166",
        "3232235777",
    ];
    let domains: Vec<String> = everything.iter().map(|h| format!("{h}:80")).collect();
    let l = HostAllowList::for_collect(&url("https://bank.example/"), &domains);
    for host in everything {
        let u = url(&format!("http://{host}/"));
        assert_eq!(l.refusal(&u), Some(BlockKind::Private), "{host} ({u})");
    }
    for public in [
        "8.8.8.8",
        "172.32.0.1",
        "192.169.0.1",
        "[2001:db8::1]",
        "11.0.0.1",
    ] {
        assert!(
            !url_is_private(&url(&format!("http://{public}/"))),
            "{public}"
        );
    }
}

#[test]
fn a_local_base_url_may_reach_listed_local_addresses() {
    let l = list(
        "http://127.0.0.1:47000/",
        &["10.0.0.5:8080", "localhost:47000"],
    );
    assert!(l.private_ok());
    assert!(l.permits(&url("http://10.0.0.5:8080/")));
    assert!(l.permits(&url("http://localhost:47000/")));
    // Listed or not is still the rule.
    assert_eq!(
        l.refusal(&url("http://127.0.0.2:47000/")),
        Some(BlockKind::Host)
    );
    assert_eq!(
        l.refusal(&url("http://2130706434:47000/")),
        Some(BlockKind::Host)
    );
    assert!(list("http://localhost:3000/", &[]).private_ok());
    assert!(list("http://[::1]:3000/", &[]).private_ok());
    assert!(!list("https://bank.example/", &[]).private_ok());
}

#[test]
fn the_log_keeps_the_first_urls_and_the_last_document() {
    let mut log = BlockedRequests::default();
    for i in 0..30 {
        log.record(&format!("https://t.test/{i}"), BlockKind::Host, i == 3);
    }
    assert_eq!(log.count, 30);
    assert_eq!(log.documents, 1);
    assert_eq!(log.first.len(), BlockedRequests::KEPT);
    assert_eq!(log.last_document.as_deref(), Some("https://t.test/3"));
    assert_eq!(log.by_kind["host"], 30);
}

#[test]
fn logs_show_the_origin_only() {
    assert_eq!(
        loggable_origin("https://t.test:8443/p?iban=FR76&pw=x"),
        "https://t.test:8443"
    );
    assert_eq!(loggable_origin("file:///etc/passwd"), "file:");
}

#[test]
fn hosts_are_the_session_hosts() {
    let l = list(
        "http://127.0.0.1:47000/",
        &["bank.example", "bank.example:8443", "[::1]:1"],
    );
    assert_eq!(l.hosts(), vec!["127.0.0.1", "bank.example", "::1"]);
}
