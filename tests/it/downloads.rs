//! Bounded downloads: gleaner downloads a document itself, with the browser's cookies,
//! streaming it to disk under a size cap, and checks every redirect hop against the
//! connector's domains before requesting it. The documents are in demo-sites' `downloads`.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use gleaner::codes::{ErrorKind, State};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::common::{self, Codes, FIXED_CODE};

const MIB: u64 = 1024 * 1024;
const FIVE_GIB: u64 = 5 * 1024 * MIB;

fn connector(domains: &str, steps: &str) -> gleaner::connector::Plan {
    common::connector("downloads", &format!("domains: {domains}"), steps)
}

/// Downloads the one document of `page`, with these `domains` and a cap of `cap` bytes
/// (`None`: the default).
async fn download(
    site: &demo_sites::DemoSite,
    page: &str,
    domains: &str,
    cap: Option<u64>,
) -> common::Run {
    let steps =
        format!("  - goto: '{page}'\n  - download: {{ links: 'tr.doc a', as: documents }}\n");
    common::collect_tuned(
        site,
        &connector(domains, &steps),
        "alice",
        "demo",
        Codes::Nobody,
        |options| {
            if let Some(cap) = cap {
                options.engine.max_document_size = cap;
            }
        },
    )
    .await
}

/// The files in the output directory, partial ones included.
fn files_in(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

fn generated_sha256(bytes: u64) -> String {
    let mut hasher = Sha256::new();
    let mut at = 0;
    while at < bytes {
        let len = (bytes - at).min(MIB) as usize;
        hasher.update(demo_sites::downloads::generated(at, len));
        at += len as u64;
    }
    hex::encode(hasher.finalize())
}

fn assert_connector_error(run: &common::Run, wanted: &[&str]) {
    assert_eq!(run.final_state(), State::Error);
    let err = run.error();
    assert_eq!(err.code.kind, ErrorKind::ConnectorError, "{err}");
    for w in wanted {
        assert!(err.message.contains(w), "{w:?} is not in: {}", err.message);
    }
}

#[tokio::test]
async fn a_chunked_document_over_the_cap_ends_the_collect_and_leaves_no_file() {
    let site = common::demo_site().await;
    let started = Instant::now();
    let run = download(
        &site,
        &format!("/big-documents?bytes={FIVE_GIB}"),
        "[]",
        Some(8 * MIB),
    )
    .await;
    let port = site.addr().port();
    assert_connector_error(
        &run,
        &[
            &format!("the document http://127.0.0.1:{port}/huge.pdf?… is too large"),
            "more than 8388608 bytes arrived, nothing was kept",
            "the cap is 8.0 MiB",
            "--max-document-size",
        ],
    );
    assert!(
        files_in(run.out_dir.path()).is_empty(),
        "{:?}",
        files_in(run.out_dir.path())
    );
    eprintln!(
        "5 GiB chunked document, 8 MiB cap: refused after {:.1?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_content_length_over_the_cap_is_refused_before_reading() {
    let site = common::demo_site().await;
    let started = Instant::now();
    let run = download(
        &site,
        &format!("/big-documents?bytes={FIVE_GIB}&length=1"),
        "[]",
        None,
    )
    .await;
    let took = started.elapsed();
    assert_connector_error(
        &run,
        &[
            "its Content-Length says 5368709120 bytes (5.0 GiB), nothing was read",
            "the cap is 100.0 MiB",
        ],
    );
    assert!(files_in(run.out_dir.path()).is_empty());
    eprintln!("Content-Length 5 GiB: whole collect refused in {took:.1?}");
    assert!(took < Duration::from_secs(15), "{took:?}");
}

#[tokio::test]
async fn a_document_just_under_the_cap_is_kept_whole() {
    let site = common::demo_site().await;
    let bytes = 8 * MIB - 1000;
    for length in ["", "&length=1"] {
        let run = download(
            &site,
            &format!("/big-documents?bytes={bytes}{length}"),
            "[]",
            Some(8 * MIB),
        )
        .await;
        let docs = &run.outcome().documents;
        assert_eq!(docs.len(), 1);
        let sha = generated_sha256(bytes);
        assert_eq!(docs[0].sha256, sha);
        assert_eq!(docs[0].bytes, bytes);
        assert_eq!(docs[0].content_type.as_deref(), Some("application/pdf"));
        assert_eq!(files_in(run.out_dir.path()), vec![format!("{sha}.pdf")]);
        let meta = std::fs::metadata(&docs[0].file).unwrap();
        assert_eq!(meta.len(), bytes);
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    }
}

/// A web server on another loopback address that counts the connections it accepts and
/// answers each request with a small PDF.
struct Sentinel {
    port: u16,
    connections: Arc<AtomicU64>,
    /// The head of the last request, lowercased.
    last_request: Arc<std::sync::Mutex<String>>,
}

const SENTINEL_PDF: &[u8] = b"%PDF-1.4 the sentinel's document\n";

impl Sentinel {
    async fn start() -> Sentinel {
        let listener = tokio::net::TcpListener::bind("127.0.0.2:0")
            .await
            .expect("127.0.0.2 is a loopback address");
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(AtomicU64::new(0));
        let last_request = Arc::new(std::sync::Mutex::new(String::new()));
        let count = connections.clone();
        let seen = last_request.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                let seen = seen.clone();
                tokio::spawn(async move {
                    // Read the request head, then answer and close.
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    *seen.lock().unwrap() = String::from_utf8_lossy(&head).to_lowercase();
                    let answer = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/pdf\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        SENTINEL_PDF.len()
                    );
                    let _ = socket.write_all(answer.as_bytes()).await;
                    let _ = socket.write_all(SENTINEL_PDF).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        Sentinel {
            port,
            connections,
            last_request,
        }
    }

    fn origin(&self) -> String {
        format!("http://127.0.0.2:{}", self.port)
    }

    fn connections(&self) -> u64 {
        self.connections.load(Ordering::SeqCst)
    }
}

#[tokio::test]
async fn a_redirect_to_an_unlisted_host_is_refused_before_any_connection() {
    let site = common::demo_site().await;
    let sentinel = Sentinel::start().await;
    let page = format!(
        "/redirect-documents?to={}/secret/path.pdf%3Fiban%3DFR76",
        sentinel.origin()
    );

    // The attack: the site's document link answers 302 to a host no connector lists.
    let run = download(&site, &page, "[]", None).await;
    let port = site.addr().port();
    let origin = sentinel.origin();
    assert_connector_error(
        &run,
        &[
            &format!(
                "the document http://127.0.0.1:{port}/redirect-doc?… was redirected to {origin}, which is outside the connector's domains (host)"
            ),
            "nothing was requested there. Add its host to `domains`",
        ],
    );
    // Only the hop's origin is named: its path and query can carry the person's data.
    let message = &run.error().message;
    assert!(
        !message.contains("secret") && !message.contains("FR76"),
        "{message}"
    );
    assert_eq!(site.hits("/redirect-doc"), 1);
    assert_eq!(sentinel.connections(), 0, "the sentinel was reached");
    assert!(files_in(run.out_dir.path()).is_empty());

    // The control: with the sentinel's host listed, the same redirect is followed and the
    // sentinel's document is what gets stored.
    let domains = format!("['127.0.0.2:{}']", sentinel.port);
    let run = download(&site, &page, &domains, None).await;
    let docs = &run.outcome().documents;
    assert_eq!(docs.len(), 1);
    assert_eq!(std::fs::read(&docs[0].file).unwrap(), SENTINEL_PDF);
    assert_eq!(sentinel.connections(), 1);
    // Sent as the browser would: its user agent, and only the page's origin as the
    // `Referer` of another origin.
    let request = sentinel.last_request.lock().unwrap().clone();
    assert!(
        request.starts_with("get /secret/path.pdf?iban=fr76 http/1.1\r\n"),
        "{request}"
    );
    assert!(
        request.contains("\r\nuser-agent: mozilla/5.0 "),
        "{request}"
    );
    assert!(request.contains("chrome/"), "{request}");
    assert!(request.contains("\r\naccept: */*\r\n"), "{request}");
    assert!(
        request.contains(&format!("\r\nreferer: http://127.0.0.1:{port}/\r\n")),
        "{request}"
    );
    assert!(!request.contains("\r\ncookie:"), "{request}");
}

#[tokio::test]
async fn a_redirect_within_the_domains_is_followed() {
    let site = common::demo_site().await;
    let run = download(
        &site,
        "/redirect-documents?to=/huge.pdf%3Fbytes%3D5000",
        "[]",
        None,
    )
    .await;
    let docs = &run.outcome().documents;
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0].sha256, generated_sha256(5000));
    assert_eq!(site.hits("/redirect-doc"), 1);
    assert_eq!(site.hits("/huge.pdf"), 1);
}

/// The page's `fetch()` would need CORS headers from the other host; a download does not.
#[tokio::test]
async fn a_document_on_another_listed_origin_downloads_without_cors() {
    let site = common::demo_site().await;
    let port = site.addr().port();
    let run = download(
        &site,
        "/cross-origin-documents",
        &format!("['localhost:{port}']"),
        None,
    )
    .await;
    let docs = &run.outcome().documents;
    assert_eq!(docs.len(), 1);
    assert_eq!(
        docs[0].url,
        format!("http://localhost:{port}/other-doc.pdf")
    );
    assert_eq!(
        std::fs::read(&docs[0].file).unwrap(),
        demo_sites::downloads::OTHER_DOC
    );
    assert_eq!(site.hits("/other-doc.pdf"), 1);
}

/// The demo bank's invoices answer 403 without its session cookie: the downloads carry the
/// browser's cookies.
#[tokio::test]
async fn documents_behind_the_login_come_with_the_browsers_cookies() {
    let site = common::demo_site().await;
    let run = common::collect(
        &site,
        &common::demo_connector(),
        "alice",
        "demo",
        Codes::Fixed(FIXED_CODE.into()),
    )
    .await;
    let docs = &run.outcome().documents;
    assert!(!docs.is_empty());
    for doc in docs {
        let name = Path::new(&doc.url).file_name().unwrap().to_string_lossy();
        let original =
            std::fs::read(common::root().join(format!("fixtures/demo-bank/invoices/{name}")))
                .unwrap();
        assert_eq!(doc.sha256, gleaner::engine::document::sha256_hex(&original));
        assert_eq!(doc.bytes, original.len() as u64);
        assert_eq!(doc.content_type.as_deref(), Some("application/pdf"));
        assert_eq!(std::fs::read(&doc.file).unwrap(), original);
    }
    // The control: the same link without the cookie.
    gleaner::tls::install_crypto_provider();
    let status = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(&docs[0].url)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, reqwest::StatusCode::FORBIDDEN);
}

/// A cookie set by one document's response reaches the next request (the browser keeps it),
/// and the document that needs it is refused without it.
#[tokio::test]
async fn a_cookie_set_by_a_document_is_kept_for_the_next() {
    let site = common::demo_site().await;
    let run = download(&site, "/cookie-documents", "[]", None).await;
    let docs = &run.outcome().documents;
    assert_eq!(docs.len(), 2);
    assert_eq!(
        std::fs::read(&docs[1].file).unwrap(),
        b"%PDF-1.4 a document behind the cookie\n"
    );

    // The control: without the first document, the second is refused (403).
    let run = download(&site, "/cookie-documents?skip=1", "[]", None).await;
    assert_connector_error(&run, &["downloading the document answered HTTP 403"]);
    assert!(
        run.error()
            .url
            .as_deref()
            .unwrap()
            .ends_with("/needs-doc-cookie.pdf")
    );
    assert!(files_in(run.out_dir.path()).is_empty());
}

/// What `gleaner run` did with the document of `page`: its exit code, its stderr, and its
/// peak RSS in KiB (VmHWM, sampled until it exits).
async fn gleaner_run(
    site: &demo_sites::DemoSite,
    page: &str,
    max_document_size: &str,
) -> (Option<i32>, String, u64) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("downloads.yaml");
    let yaml = format!(
        r#"id: downloads
name: Downloads
base_url: https://demo-bank.example/
domains: []
fields:
  login:    {{ label: Login }}
  password: {{ label: Password, secret: true }}
steps:
  - goto: '{page}'
  - download: {{ links: 'tr.doc a', as: documents }}
"#
    );
    std::fs::write(&file, yaml).unwrap();
    let out = dir.path().join("out");
    let mut child = tokio::process::Command::new(common::bin())
        .arg("run")
        .arg(&file)
        .args(["--background", "--base-url", &site.base_url()])
        .arg("--out")
        .arg(&out)
        .args(["--max-document-size", max_document_size])
        .args(["--field", "login=alice", "--field", "password=demo"])
        .env("TMPDIR", dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pid = child.id().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let read = tokio::spawn(async move {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s).await;
        s
    });
    // VmHWM only grows: sampling it while the process lives catches its peak.
    let mut peak = 0;
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let status = loop {
        tokio::select! {
            status = child.wait() => break status.unwrap(),
            _ = tick.tick() => {
                if let Some(kib) = std::fs::read_to_string(format!("/proc/{pid}/status"))
                    .ok()
                    .and_then(|s| s.lines().find_map(|l| l.strip_prefix("VmHWM:")?.trim().strip_suffix("kB")?.trim().parse::<u64>().ok()))
                {
                    peak = peak.max(kib);
                }
            }
        }
    };
    (status.code(), read.await.unwrap(), peak)
}

/// The size of the large document of the memory test: 1 GiB by default (a debug build
/// downloads it well within the 30 s navigation timeout), `GLEANER_TEST_LARGE_DOCUMENT`
/// bytes otherwise (`scripts/bench-downloads` runs it with 5 GiB in a release build).
fn large_document_bytes() -> u64 {
    std::env::var("GLEANER_TEST_LARGE_DOCUMENT")
        .ok()
        .and_then(|v| gleaner::engine::document::parse_size(&v).ok())
        .unwrap_or(1024 * MIB)
}

/// The CLI's own memory: its peak with a large document downloaded whole (under a cap above
/// it) against its peak with a 1 KB one.
#[tokio::test]
async fn gleaner_run_memory_stays_flat_on_a_large_document() {
    let site = common::demo_site().await;
    let _slot = common::browser_slot().await;
    let (code, stderr, small_peak) =
        gleaner_run(&site, "/big-documents?bytes=1000", "100MiB").await;
    assert_eq!(code, Some(0), "{stderr}");
    let bytes = large_document_bytes();
    let cap = format!("{}", bytes + 1);
    let started = Instant::now();
    let (code, stderr, big_peak) =
        gleaner_run(&site, &format!("/big-documents?bytes={bytes}"), &cap).await;
    let took = started.elapsed();
    assert_eq!(code, Some(0), "{stderr}");
    let growth_kib = big_peak.saturating_sub(small_peak);
    eprintln!(
        "gleaner run: peak RSS {} KiB with a 1 KB document, {} KiB with a {} one downloaded whole in {took:.1?} ({:.0} MiB/s): +{growth_kib} KiB",
        small_peak,
        big_peak,
        gleaner::engine::document::show_size(bytes),
        bytes as f64 / MIB as f64 / took.as_secs_f64(),
    );
    assert!(growth_kib < 8 * 1024, "+{growth_kib} KiB");
}
