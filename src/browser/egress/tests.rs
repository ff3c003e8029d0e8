//! The proxy on real sockets: a counting upstream on 127.0.0.1, requests through the proxy
//! with reqwest (plain `http://` and `CONNECT`), names answered by a script.

use std::io;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::future::BoxFuture;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use url::Url;

use super::resolve::Lookup;
use super::*;

/// Answers every name with 127.0.0.1.
struct Loopback;

impl Lookup for Loopback {
    fn lookup<'a>(&'a self, _name: &'a str) -> BoxFuture<'a, io::Result<Vec<IpAddr>>> {
        Box::pin(async { Ok(vec![IpAddr::from([127, 0, 0, 1])]) })
    }
}

/// An HTTP server on 127.0.0.1:0 that counts connections and answers `200 upstream`.
struct Upstream {
    port: u16,
    connections: Arc<AtomicU64>,
}

async fn upstream() -> Upstream {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = Arc::new(AtomicU64::new(0));
    let c = connections.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            c.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf).await;
                let _ = stream
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nupstream")
                    .await;
            });
        }
    });
    Upstream { port, connections }
}

fn client(egress: &Egress) -> reqwest::Client {
    crate::tls::install_crypto_provider();
    reqwest::Client::builder()
        .proxy(reqwest::Proxy::all(egress.proxy_server()).unwrap())
        .build()
        .unwrap()
}

async fn get(egress: &Egress, url: &str) -> (u16, String) {
    let resp = client(egress).get(url).send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap_or_default())
}

#[tokio::test]
async fn an_open_proxy_forwards_requests() {
    let up = upstream().await;
    let egress = Egress::start_with(Box::new(Loopback)).await.unwrap();
    let got = get(&egress, &format!("http://127.0.0.1:{}/x", up.port)).await;
    assert_eq!(got, (200, "upstream".to_string()));
    assert_eq!(up.connections.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_unlisted_origin_is_refused_before_any_connection() {
    let up = upstream().await;
    let other = upstream().await;
    let egress = Egress::start_with(Box::new(Loopback)).await.unwrap();
    let base = Url::parse(&format!("http://127.0.0.1:{}/", up.port)).unwrap();
    egress
        .handle()
        .restrict(HostAllowList::for_collect(&base, Vec::<String>::new()));
    // The base origin passes (the control)…
    assert_eq!(get(&egress, base.as_str()).await.0, 200);
    // …another port of the same host does not, neither as a request nor as a tunnel.
    let (status, _) = get(&egress, &format!("http://127.0.0.1:{}/x", other.port)).await;
    assert_eq!(status, 403);
    let tunnel = client(&egress)
        .get(format!("https://127.0.0.1:{}/x", other.port))
        .send()
        .await;
    assert!(tunnel.is_err(), "{tunnel:?}");
    assert_eq!(other.connections.load(Ordering::SeqCst), 0);
    assert_eq!(up.connections.load(Ordering::SeqCst), 1);
    let blocked = egress.handle().blocked();
    assert_eq!(blocked.by_kind.get("port"), Some(&2), "{blocked:?}");
    assert!(
        blocked.first.iter().all(|u| !u.contains("/x")),
        "only origins are kept: {blocked:?}"
    );
}

#[tokio::test]
async fn a_listed_name_that_resolves_to_a_private_address_is_refused() {
    let up = upstream().await;
    let egress = Egress::start_with(Box::new(Loopback)).await.unwrap();
    // A public base URL: its name resolves (here, by the script) to 127.0.0.1.
    let base = Url::parse(&format!("http://bank.example:{}/", up.port)).unwrap();
    egress
        .handle()
        .restrict(HostAllowList::for_collect(&base, Vec::<String>::new()));
    assert_eq!(get(&egress, base.as_str()).await.0, 403);
    assert_eq!(up.connections.load(Ordering::SeqCst), 0);
    assert_eq!(
        egress.handle().blocked().by_kind.get("private_address"),
        Some(&1)
    );
    // The control: a local base URL makes private addresses fair game.
    let local = Url::parse(&format!("http://127.0.0.1:{}/", up.port)).unwrap();
    egress.handle().restrict(HostAllowList::for_collect(
        &local,
        [format!("bank.example:{}", up.port)],
    ));
    assert_eq!(get(&egress, base.as_str()).await.0, 200);
    assert_eq!(up.connections.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_websocket_upgrade_is_tunnelled_for_a_listed_origin() {
    // A server that answers 101 and then echoes one line.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 4096];
        let _ = s.read(&mut buf).await;
        s.write_all(
            b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\n",
        )
        .await
        .unwrap();
        let n = s.read(&mut buf).await.unwrap();
        s.write_all(&buf[..n]).await.unwrap();
    });
    let egress = Egress::start_with(Box::new(Loopback)).await.unwrap();
    let mut proxy = tokio::net::TcpStream::connect(egress.addr).await.unwrap();
    proxy
        .write_all(
            format!(
                "GET http://127.0.0.1:{port}/socket HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\n"
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        proxy.read_exact(&mut byte).await.unwrap();
        head.push(byte[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    proxy.write_all(b"ping\n").await.unwrap();
    let mut echo = [0u8; 5];
    proxy.read_exact(&mut echo).await.unwrap();
    assert_eq!(&echo, b"ping\n");
}

/// A port bound, then closed: nothing listens there.
async fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn a_closed_port_is_named_in_the_proxys_own_answer_and_remembered_for_the_tab() {
    let port = closed_port().await;
    let egress = Egress::start_with(Box::new(Loopback)).await.unwrap();
    let handle = egress.handle();
    let mark = handle.failure_mark();
    let resp = client(&egress)
        .get(format!("http://127.0.0.1:{port}/login?user=alice"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 502);
    assert_eq!(resp.headers()[EGRESS_HEADER], "connection-refused");
    let origin = format!("http://127.0.0.1:{port}");
    assert_eq!(
        handle.failure_since(&origin, mark),
        Some(EgressFailure::ConnectionRefused)
    );
    assert_eq!(handle.failure_since(&origin, handle.failure_mark()), None);

    // A tunnel's failure is only seen by the browser as a failed CONNECT: the record
    // says why.
    let mark = handle.failure_mark();
    let tunnel = client(&egress)
        .get(format!("https://127.0.0.1:{port}/"))
        .send()
        .await;
    assert!(tunnel.is_err());
    assert_eq!(
        handle.failure_since(&format!("https://127.0.0.1:{port}"), mark),
        Some(EgressFailure::ConnectionRefused)
    );
}

#[tokio::test]
async fn a_site_cannot_forge_the_proxys_reason() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf).await;
                let _ = stream
                    .write_all(b"HTTP/1.1 502 Bad Gateway\r\nX-Gleaner-Egress: name-not-resolved\r\nContent-Length: 4\r\nConnection: close\r\n\r\nsite")
                    .await;
            });
        }
    });
    let egress = Egress::start_with(Box::new(Loopback)).await.unwrap();
    let resp = client(&egress)
        .get(format!("http://127.0.0.1:{port}/"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 502);
    assert!(resp.headers().get(EGRESS_HEADER).is_none());
    // The control: the header does reach a client that talks to the site directly.
    let direct = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(format!("http://127.0.0.1:{port}/"))
        .send()
        .await
        .unwrap();
    assert_eq!(direct.headers()[EGRESS_HEADER], "name-not-resolved");
}
