//! Documents downloaded by gleaner itself, with the browser's cookies: Playwright's
//! `APIRequestContext` model. The browser is not asked to fetch them: Chromium would buffer
//! the whole body in its own process, follow redirects without the guard, and (through the
//! page's `fetch()`) apply CORS to a document host of the site's.
//!
//! Each hop (the link, then every `Location`) is checked against the tab's allow-list before
//! it is requested, and is sent with the browser's cookies for that URL, the page's user
//! agent and a `Referer` as the browser would write it. The body streams into a temporary
//! file of the destination directory (mode 0600), hashed on the way, under a byte cap and a
//! deadline: memory stays flat whatever the size, and a refused, oversized or late download
//! leaves no file behind (the temporary file is deleted when dropped).
//!
//! Nothing of the body, and no cookie value, is ever logged.

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chromiumoxide::cdp::browser_protocol::network::{
    CookieSameSite, GetCookiesParams, SetCookieParams, TimeSinceEpoch,
};
use reqwest::header::{self, HeaderMap, HeaderValue};
use sha2::{Digest, Sha256};
use tokio::time::Instant;
use url::Url;

use super::error::BrowserError;
use super::guard::{self, BlockKind, loggable_origin};
use super::tab::Tab;

/// As browsers do (Chromium follows 20; the fetch standard says 20 too): a document link
/// needs one or two at most, more is a loop.
pub const MAX_REDIRECTS: usize = 10;

/// How long a connection to a hop may take to open, within the download's deadline.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// What one download may take.
#[derive(Debug, Clone, Copy)]
pub struct DownloadLimits {
    /// The largest body kept; one byte more ends the download.
    pub max_bytes: u64,
    /// When the whole download (every hop, the whole body) must be done.
    pub deadline: Instant,
}

/// A body read whole into a temporary file: not a document yet. Dropped, the file goes;
/// [`Downloaded::persist`] keeps it.
#[derive(Debug)]
pub struct Downloaded {
    file: tempfile::TempPath,
    pub bytes: u64,
    /// Lowercase hex.
    pub sha256: String,
    pub content_type: Option<String>,
    /// The URL of the last hop, which answered the body.
    pub final_url: Url,
    pub status: u16,
    /// The name the site suggested, sanitised (see `sanitized_filename`): metadata only,
    /// never a path. Only for the browser's own downloads.
    pub filename: Option<String>,
}

impl Downloaded {
    /// A file the browser downloaded, already copied into a temporary file of the
    /// destination directory.
    pub(super) fn from_browser(
        file: tempfile::TempPath,
        bytes: u64,
        sha256: String,
        content_type: Option<String>,
        final_url: Url,
        filename: Option<String>,
    ) -> Downloaded {
        Downloaded {
            file,
            bytes,
            sha256,
            content_type,
            final_url,
            status: 200,
            filename,
        }
    }

    /// Where the temporary file is (inside the destination directory).
    pub fn path(&self) -> &Path {
        &self.file
    }

    /// Renames the temporary file to `path` (same directory, so the rename is atomic), or
    /// deletes it when `path` exists already: the same content is kept once.
    pub fn persist(self, path: &Path) -> std::io::Result<()> {
        if path.exists() {
            return self.file.close();
        }
        self.file.persist(path).map_err(|e| e.error)
    }
}

/// Why a document was not downloaded.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    /// A hop (the link itself, or a redirect's `Location`) is outside the allow-list: it was
    /// not requested. `origin` only: a path or query can carry the person's data.
    #[error("{origin} is outside the connector's domains ({})", kind.label())]
    Refused {
        origin: String,
        kind: BlockKind,
        /// 0: the link itself; n: the n-th redirect.
        hop: usize,
    },
    #[error("more than {MAX_REDIRECTS} redirects")]
    TooManyRedirects,
    #[error("{origin} answered a redirect without a valid Location")]
    BadRedirect { origin: String },
    /// A status outside 2xx (and not a redirect); the body was not read.
    #[error("HTTP {status} from {origin}")]
    Status { status: u16, origin: String },
    /// `declared`: the `Content-Length` said so, and nothing was read. Otherwise more than
    /// `max_bytes` arrived and the partial file was deleted.
    #[error("larger than {max_bytes} bytes")]
    TooLarge {
        max_bytes: u64,
        declared: Option<u64>,
    },
    #[error("not done before the deadline")]
    Timeout,
    #[error("{origin}: {reason}")]
    Network { origin: String, reason: String },
    #[error("cannot write into {}: {source}", dir.display())]
    Write {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Browser(#[from] BrowserError),
}

impl Tab {
    /// Downloads `url` into a temporary file of `dest_dir`, following redirects by hand, each
    /// hop checked against the tab's allow-list before it is requested. See the module docs.
    pub async fn download(
        &self,
        url: &Url,
        limits: &DownloadLimits,
        dest_dir: &Path,
    ) -> Result<Downloaded, DownloadError> {
        tokio::time::timeout_at(limits.deadline, self.download_hops(url, limits, dest_dir))
            .await
            .map_err(|_| DownloadError::Timeout)?
    }

    async fn download_hops(
        &self,
        url: &Url,
        limits: &DownloadLimits,
        dest_dir: &Path,
    ) -> Result<Downloaded, DownloadError> {
        let client = self.http_client()?;
        let user_agent = self.user_agent().await?;
        let page_url = self.url().await?;
        let page_url = Url::parse(&page_url).ok();
        let mut hop_url = url.clone();
        for hop in 0..=MAX_REDIRECTS {
            self.check_hop(&hop_url, hop)?;
            let headers = self
                .hop_headers(&hop_url, &user_agent, page_url.as_ref())
                .await?;
            let response = client
                .get(hop_url.clone())
                .headers(headers)
                .send()
                .await
                .map_err(|e| network_error(&hop_url, e))?;
            self.keep_cookies(&hop_url, response.headers()).await;
            let status = response.status();
            if status.is_redirection() && status != reqwest::StatusCode::NOT_MODIFIED {
                hop_url = response
                    .headers()
                    .get(header::LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .and_then(|l| hop_url.join(l).ok())
                    .ok_or_else(|| DownloadError::BadRedirect {
                        origin: loggable_origin(hop_url.as_str()),
                    })?;
                continue;
            }
            if !status.is_success() {
                return Err(DownloadError::Status {
                    status: status.as_u16(),
                    origin: loggable_origin(hop_url.as_str()),
                });
            }
            return save(response, hop_url, limits.max_bytes, dest_dir).await;
        }
        Err(DownloadError::TooManyRedirects)
    }

    /// Refuses a hop the guard would refuse the page, and counts it as the guard does.
    fn check_hop(&self, url: &Url, hop: usize) -> Result<(), DownloadError> {
        let Some(kind) = self.allowed().and_then(|allow| allow.refusal(url)) else {
            return Ok(());
        };
        // Recorded by its origin only, like the error: a redirect's path or query can carry
        // the person's data.
        let origin = loggable_origin(url.as_str());
        guard::note_block(self.blocked_log(), &origin, kind, false);
        Err(DownloadError::Refused { origin, kind, hop })
    }

    /// The headers the browser would send for this hop: its cookies for the URL (CDP
    /// `Network.getCookies`), its user agent, a `Referer` as its default policy writes it.
    async fn hop_headers(
        &self,
        url: &Url,
        user_agent: &str,
        page_url: Option<&Url>,
    ) -> Result<HeaderMap, DownloadError> {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_static("*/*"));
        if let Ok(ua) = HeaderValue::from_str(user_agent) {
            headers.insert(header::USER_AGENT, ua);
        }
        if let Some(referer) = page_url.and_then(|p| referer(p, url))
            && let Ok(value) = HeaderValue::from_str(&referer)
        {
            headers.insert(header::REFERER, value);
        }
        let cookies = self
            .page()
            .execute(
                GetCookiesParams::builder()
                    .urls(vec![url.to_string()])
                    .build(),
            )
            .await
            .map_err(|e| self.err(e))?
            .result
            .cookies;
        if !cookies.is_empty() {
            let line = cookies
                .iter()
                .map(|c| format!("{}={}", c.name, c.value))
                .collect::<Vec<_>>()
                .join("; ");
            // Cookie names and values are visible ASCII (RFC 6265); a line that is not is
            // not sent rather than sent mangled.
            if let Ok(mut value) = HeaderValue::from_str(&line) {
                // Kept out of hyper's and reqwest's debug output.
                value.set_sensitive(true);
                headers.insert(header::COOKIE, value);
            }
        }
        Ok(headers)
    }
}

impl Tab {
    /// The downloads' HTTP client, built once per tab (it goes when the allow-list
    /// changes). Without an allow-list (no [`Tab::allow_only`]), nothing is refused, as for
    /// the page.
    pub(super) fn http_client(&self) -> Result<reqwest::Client, DownloadError> {
        let mut http = self.http_slot();
        if let Some(client) = http.as_ref() {
            return Ok(client.clone());
        }
        let private_ok = self.allowed().is_none_or(|a| a.private_ok());
        let client = http_client(Some(self.egress_proxy()), private_ok)?;
        *http = Some(client.clone());
        Ok(client)
    }

    /// Gives the browser the cookies a response set (`Set-Cookie`), as it would have kept
    /// them had it made the request: a site that renews its session cookie with a document
    /// keeps its session. Chromium checks each against `url` (a host cannot set another's
    /// cookie); one it refuses, or that does not parse, is left out.
    async fn keep_cookies(&self, url: &Url, headers: &HeaderMap) {
        for value in headers.get_all(header::SET_COOKIE) {
            let Some(params) = value
                .to_str()
                .ok()
                .and_then(|v| cookie::Cookie::parse(v.to_string()).ok())
                .map(|c| set_cookie_params(url, &c))
            else {
                tracing::debug!("download: a Set-Cookie header does not parse; left out");
                continue;
            };
            if let Err(e) = self.page().execute(params).await {
                tracing::debug!("download: the browser refused a Set-Cookie: {e}");
            }
        }
    }
}

/// CDP `Network.setCookie` for a `Set-Cookie` received from `url`.
fn set_cookie_params(url: &Url, c: &cookie::Cookie<'_>) -> SetCookieParams {
    let mut params = SetCookieParams::new(c.name(), c.value());
    params.url = Some(url.to_string());
    params.domain = c.domain().map(str::to_string);
    // Without `Path`, the default path of the URL (RFC 6265 5.1.4), as the browser would.
    params.path = Some(match c.path() {
        Some(p) => p.to_string(),
        None => match url.path().rfind('/') {
            Some(0) | None => "/".to_string(),
            Some(i) => url.path()[..i].to_string(),
        },
    });
    params.secure = c.secure();
    params.http_only = c.http_only();
    params.same_site = c.same_site().map(|s| match s {
        cookie::SameSite::Strict => CookieSameSite::Strict,
        cookie::SameSite::Lax => CookieSameSite::Lax,
        cookie::SameSite::None => CookieSameSite::None,
    });
    // `Max-Age` wins over `Expires`; neither: a session cookie.
    let expires = match (c.max_age(), c.expires_datetime()) {
        (Some(age), _) => Some(cookie::time::OffsetDateTime::now_utc() + age),
        (None, Some(at)) => Some(at),
        (None, None) => None,
    };
    params.expires = expires.map(|at| TimeSinceEpoch::new(at.unix_timestamp() as f64));
    params
}

/// The client of a tab's downloads: redirects by hand, through the tab's egress proxy when
/// it has one and never through the environment's (`HTTP_PROXY`…), no decompression (the
/// byte cap counts what is stored). Straight out, with `private_ok` false (a public site), a
/// name that resolves to a private, loopback or link-local address is not connected to: the
/// guard sees names, not what they resolve to (DNS rebinding).
pub(super) fn http_client(
    egress_proxy: Option<&Url>,
    private_ok: bool,
) -> Result<reqwest::Client, DownloadError> {
    crate::tls::install_crypto_provider();
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(CONNECT_TIMEOUT)
        .referer(false);
    if egress_proxy.is_none() && !private_ok {
        builder = builder.dns_resolver(PublicAddressesOnly);
    }
    let builder = match egress_proxy {
        Some(proxy) => builder.proxy(reqwest::Proxy::all(proxy.as_str()).map_err(|e| {
            DownloadError::Network {
                origin: loggable_origin(proxy.as_str()),
                reason: format!("bad egress proxy: {}", error_chain(&e)),
            }
        })?),
        None => builder.no_proxy(),
    };
    builder.build().map_err(|e| DownloadError::Network {
        origin: "(none)".into(),
        reason: format!("cannot build the HTTP client: {}", error_chain(&e)),
    })
}

/// Resolves names as the system does, and keeps only public addresses.
struct PublicAddressesOnly;

impl reqwest::dns::Resolve for PublicAddressesOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<std::net::SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| !guard::ip_is_private(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(format!(
                    "{host} resolves to no public address (a private address is refused for a \
                     public site)"
                )
                .into());
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Streams the body into a temporary file of `dir`, hashing it on the way, chunk by chunk.
/// Past `max_bytes` (or when `Content-Length` already says more) it stops; the temporary
/// file goes with the error.
async fn save(
    mut response: reqwest::Response,
    final_url: Url,
    max_bytes: u64,
    dir: &Path,
) -> Result<Downloaded, DownloadError> {
    if let Some(declared) = response.content_length().filter(|n| *n > max_bytes) {
        return Err(DownloadError::TooLarge {
            max_bytes,
            declared: Some(declared),
        });
    }
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let write_error = |source| DownloadError::Write {
        dir: dir.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(write_error)?;
    let mut file = tempfile::Builder::new()
        .prefix(".download-")
        .suffix(".part")
        .permissions(std::fs::Permissions::from_mode(
            crate::secrets::private_file::FILE_MODE,
        ))
        .tempfile_in(dir)
        .map_err(write_error)?;
    let mut hasher = Sha256::new();
    let mut bytes: u64 = 0;
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| network_error(&final_url, e))?
    {
        bytes += chunk.len() as u64;
        if bytes > max_bytes {
            // `file` is dropped here, and the partial file with it.
            return Err(DownloadError::TooLarge {
                max_bytes,
                declared: None,
            });
        }
        hasher.update(&chunk);
        // A chunk is small (tens of KB) and lands in the page cache: writing it here is
        // shorter than handing it to a blocking thread.
        file.write_all(&chunk).map_err(write_error)?;
    }
    file.flush().map_err(write_error)?;
    Ok(Downloaded {
        file: file.into_temp_path(),
        bytes,
        sha256: hex::encode(hasher.finalize()),
        content_type,
        final_url,
        status,
        filename: None,
    })
}

/// The `Referer` Chromium's default policy (`strict-origin-when-cross-origin`) sends: the
/// page's URL for the same origin, its origin for another, nothing from HTTPS to HTTP.
fn referer(page: &Url, target: &Url) -> Option<String> {
    if !matches!(page.scheme(), "http" | "https") {
        return None;
    }
    if page.scheme() == "https" && target.scheme() != "https" {
        return None;
    }
    if page.origin() == target.origin() {
        let mut full = page.clone();
        full.set_fragment(None);
        let _ = full.set_username("");
        let _ = full.set_password(None);
        return Some(full.to_string());
    }
    Some(format!("{}/", page.origin().ascii_serialization()))
}

/// A network failure, said without the URL (its path or query can carry personal data).
fn network_error(url: &Url, e: reqwest::Error) -> DownloadError {
    if e.is_timeout() {
        return DownloadError::Timeout;
    }
    DownloadError::Network {
        origin: loggable_origin(url.as_str()),
        reason: error_chain(&e.without_url()),
    }
}

/// An error with its causes (reqwest's own message hides them).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
