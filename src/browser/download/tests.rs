//! Unit tests of document downloads: the client, redirects, cookies, the size cap.

use super::*;
use chromiumoxide::cdp::browser_protocol::network::CookieSameSite;

fn url(s: &str) -> Url {
    Url::parse(s).unwrap()
}

#[tokio::test]
async fn a_public_sites_download_does_not_connect_to_a_name_of_this_machine() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    // A name that resolves to 127.0.0.1 (the guard also refuses this one by its name;
    // another could be any public-looking name whose DNS answers 127.0.0.1).
    let u = format!("http://localhost:{port}/");
    let err = http_client(None, false)
        .unwrap()
        .get(&u)
        .send()
        .await
        .unwrap_err();
    assert!(
        error_chain(&err).contains("resolves to no public address"),
        "{}",
        error_chain(&err)
    );
    // The control: for a local site, the same name is reached.
    let accepted = tokio::spawn(async move { listener.accept().await.is_ok() });
    let _ = http_client(None, true).unwrap().get(&u).send().await;
    assert!(accepted.await.unwrap());
}

#[tokio::test]
async fn with_an_egress_proxy_every_request_goes_through_it() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let proxy = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_url = url(&format!("http://{}/", proxy.local_addr().unwrap()));
    let seen = tokio::spawn(async move {
        let (mut socket, _) = proxy.accept().await.unwrap();
        let mut head = [0u8; 4096];
        let n = socket.read(&mut head).await.unwrap();
        let _ = socket
            .write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
            .await;
        String::from_utf8_lossy(&head[..n]).into_owned()
    });
    // A name that resolves nowhere: only the proxy can answer for it.
    let client = http_client(Some(&proxy_url), false).unwrap();
    let response = client
        .get("http://bank.invalid/doc.pdf")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::NO_CONTENT);
    let head = seen.await.unwrap();
    assert!(
        head.starts_with("GET http://bank.invalid/doc.pdf HTTP/1.1\r\n"),
        "{head}"
    );
}

#[test]
fn a_set_cookie_becomes_the_browsers_cookie() {
    let from = url("https://bank.example/docs/invoice.pdf?id=3");
    let c = cookie::Cookie::parse("sid=abc; Path=/; HttpOnly; Secure; SameSite=Lax").unwrap();
    let p = set_cookie_params(&from, &c);
    assert_eq!((p.name.as_str(), p.value.as_str()), ("sid", "abc"));
    assert_eq!(
        p.url.as_deref(),
        Some("https://bank.example/docs/invoice.pdf?id=3")
    );
    assert_eq!(p.domain, None);
    assert_eq!(p.path.as_deref(), Some("/"));
    assert_eq!((p.secure, p.http_only), (Some(true), Some(true)));
    assert_eq!(p.same_site, Some(CookieSameSite::Lax));
    assert_eq!(p.expires, None);

    let c = cookie::Cookie::parse("seen=1; Domain=bank.example; Max-Age=0").unwrap();
    let p = set_cookie_params(&from, &c);
    assert_eq!(p.path.as_deref(), Some("/docs"));
    assert_eq!(p.domain.as_deref(), Some("bank.example"));
    let now = cookie::time::OffsetDateTime::now_utc().unix_timestamp() as f64;
    let expires = serde_json::to_value(p.expires.unwrap())
        .unwrap()
        .as_f64()
        .unwrap();
    assert!((expires - now).abs() < 5.0, "{expires} {now}");
}

#[test]
fn the_referer_is_the_page_for_its_origin_and_only_the_origin_elsewhere() {
    let page = url("https://bank.example/invoices?page=2#top");
    assert_eq!(
        referer(&page, &url("https://bank.example/doc.pdf")).as_deref(),
        Some("https://bank.example/invoices?page=2")
    );
    assert_eq!(
        referer(&page, &url("https://cdn.bank.example/doc.pdf")).as_deref(),
        Some("https://bank.example/")
    );
    assert_eq!(referer(&page, &url("http://bank.example/doc.pdf")), None);
    assert_eq!(
        referer(&url("about:blank"), &url("http://bank.example/")),
        None
    );
}

#[tokio::test]
async fn a_body_over_the_cap_leaves_no_file() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // Answers each connection with 64 KiB, announced or not.
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let n = socket.read(&mut request).await.unwrap_or(0);
                let announce = String::from_utf8_lossy(&request[..n]).contains("length");
                let head = if announce {
                    "HTTP/1.1 200 OK\r\nContent-Type: application/pdf\r\nContent-Length: 65536\r\nConnection: close\r\n\r\n"
                } else {
                    "HTTP/1.1 200 OK\r\nContent-Type: application/pdf\r\nConnection: close\r\n\r\n"
                };
                let _ = socket.write_all(head.as_bytes()).await;
                let _ = socket.write_all(&[7u8; 65536]).await;
            });
        }
    });
    let client = http_client(None, true).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let partial_files = || {
        std::fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| e.as_ref().unwrap().file_name() != "kept.pdf")
            .count()
    };
    for path in ["/chunked", "/length"] {
        let u = url(&format!("http://{addr}{path}"));
        let response = client.get(u.clone()).send().await.unwrap();
        let err = save(response, u.clone(), 1000, dir.path())
            .await
            .unwrap_err();
        let declared = path == "/length";
        assert!(
            matches!(err, DownloadError::TooLarge { max_bytes: 1000, declared: d } if d.is_some() == declared),
            "{err:?}"
        );
        assert_eq!(partial_files(), 0);
        let response = client.get(u.clone()).send().await.unwrap();
        let saved = save(response, u, 65536, dir.path()).await.unwrap();
        assert_eq!(saved.bytes, 65536);
        assert_eq!(saved.sha256, hex::encode(Sha256::digest([7u8; 65536])));
        let mode = std::fs::metadata(saved.path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let kept = dir.path().join("kept.pdf");
        saved.persist(&kept).unwrap();
        assert_eq!(partial_files(), 0);
        assert_eq!(std::fs::read(&kept).unwrap(), [7u8; 65536]);
    }
}
