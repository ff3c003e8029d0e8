//! The egress proxy's cost: the same requests to a local server, direct and through
//! `gleaner::browser::egress::Egress` (restricted to that server, as in a collect).
//! - plain `http://`: the proxy opens a new upstream connection per request (the worst case;
//!   real sites are `https://`, carried in tunnels that Chromium keeps open);
//! - a `CONNECT` tunnel: throughput of one large body.
//!
//! Usage: cargo run --release --example egress_bench [REQUESTS] (default 2000)

use std::time::{Duration, Instant};

use gleaner::browser::HostAllowList;
use gleaner::browser::egress::Egress;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const PAGE: usize = 10 * 1024;
const BIG: usize = 256 * 1024 * 1024;

/// A keep-alive HTTP/1.1 server: `/big` is BIG bytes, anything else PAGE bytes.
async fn server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let _ = s.set_nodelay(true);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let chunk = vec![b'x'; 1 << 20];
                loop {
                    let mut head = Vec::new();
                    while !head.ends_with(b"\r\n\r\n") {
                        match s.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let big = head.windows(4).any(|w| w == b"/big");
                    let len = if big { BIG } else { PAGE };
                    let hdr = format!("HTTP/1.1 200 OK\r\nContent-Length: {len}\r\n\r\n");
                    if s.write_all(hdr.as_bytes()).await.is_err() {
                        return;
                    }
                    let mut left = len;
                    while left > 0 {
                        let n = left.min(chunk.len());
                        if s.write_all(&chunk[..n]).await.is_err() {
                            return;
                        }
                        left -= n;
                    }
                }
            });
        }
    });
    port
}

async fn requests(client: &reqwest::Client, url: &str, n: usize) -> Duration {
    let start = Instant::now();
    for _ in 0..n {
        let body = client.get(url).send().await.unwrap().bytes().await.unwrap();
        assert_eq!(body.len(), PAGE);
    }
    start.elapsed()
}

/// Reads `/big` through a raw tunnel (`CONNECT`, then plain HTTP inside) or directly.
async fn big(port: u16, proxy: Option<&str>) -> Duration {
    let start = Instant::now();
    let mut s = match proxy {
        Some(p) => {
            let mut s = TcpStream::connect(p.trim_start_matches("http://")).await.unwrap();
            s.write_all(format!("CONNECT 127.0.0.1:{port} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n").as_bytes())
                .await
                .unwrap();
            let mut head = Vec::new();
            let mut b = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") {
                s.read_exact(&mut b).await.unwrap();
                head.push(b[0]);
            }
            assert!(head.starts_with(b"HTTP/1.1 200"));
            s
        }
        None => TcpStream::connect(("127.0.0.1", port)).await.unwrap(),
    };
    s.write_all(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let mut buf = vec![0u8; 1 << 20];
    let mut got = 0usize;
    let mut head_done = false;
    let mut head = Vec::new();
    while got < BIG {
        let n = s.read(&mut buf).await.unwrap();
        assert!(n > 0);
        if head_done {
            got += n;
        } else {
            head.extend_from_slice(&buf[..n]);
            if let Some(i) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                got += head.len() - i - 4;
                head_done = true;
            }
        }
    }
    start.elapsed()
}

#[tokio::main]
async fn main() {
    gleaner::tls::install_crypto_provider();
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(2000);
    let port = server().await;
    let url = format!("http://127.0.0.1:{port}/page");
    let egress = Egress::start().await.unwrap();
    let base = url::Url::parse(&url).unwrap();
    egress
        .handle()
        .restrict(HostAllowList::for_collect(&base, Vec::<String>::new()));
    let direct = reqwest::Client::builder().no_proxy().build().unwrap();
    let proxied = reqwest::Client::builder()
        .proxy(reqwest::Proxy::all(egress.proxy_server()).unwrap())
        .build()
        .unwrap();
    // Warm-up.
    requests(&direct, &url, 50).await;
    requests(&proxied, &url, 50).await;
    let d = requests(&direct, &url, n).await;
    let p = requests(&proxied, &url, n).await;
    let per = |t: Duration| t.as_secs_f64() * 1e6 / n as f64;
    println!(
        "{n} GETs of {PAGE} B: direct {:.0} µs/request, through the egress proxy {:.0} µs/request (x{:.2}, +{:.0} µs)",
        per(d),
        per(p),
        per(p) / per(d),
        per(p) - per(d)
    );
    let proxy = egress.proxy_server();
    let bd = big(port, None).await;
    let bp = big(port, Some(&proxy)).await;
    let mbps = |t: Duration| BIG as f64 / (1 << 20) as f64 / t.as_secs_f64();
    println!(
        "one {} MiB body: direct {:.0} MiB/s, through a CONNECT tunnel {:.0} MiB/s (x{:.2})",
        BIG >> 20,
        mbps(bd),
        mbps(bp),
        mbps(bp) / mbps(bd)
    );
}
