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

use crate::error_chain::error_chain;
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chromiumoxide::cdp::browser_protocol::network::GetCookiesParams;
use reqwest::header::{self, HeaderMap, HeaderValue};
use sha2::{Digest, Sha256};
use tokio::time::Instant;
use url::Url;

use super::error::BrowserError;
use super::guard::{self, BlockKind, loggable_origin};
use super::network_tap::{
    Exchange, HttpRequest, HttpResponse, Initiator, MAX_RECORDED_BODY, NetworkTap,
};
use super::tab::Tab;
use request::{PublicAddressesOnly, referer, set_cookie_params};

mod request;

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
        let network = self.network().clone();
        let user_agent = self.user_agent().await?;
        let page_url = self.url().await?;
        let page_url = Url::parse(&page_url).ok();
        let mut hop_url = url.clone();
        for hop in 0..=MAX_REDIRECTS {
            self.check_hop(&hop_url, hop)?;
            let headers = self
                .hop_headers(&hop_url, &user_agent, page_url.as_ref())
                .await?;
            let sent = HttpRequest {
                method: "GET".into(),
                url: hop_url.to_string(),
                headers: headers
                    .iter()
                    .filter(|(n, _)| *n != header::COOKIE)
                    .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or_default().to_string()))
                    .collect(),
                body: None,
            };
            let (started, at) = (std::time::SystemTime::now(), std::time::Instant::now());
            let answer = match &network {
                NetworkTap::Replay(responder) => {
                    Hop::Replayed(responder.respond(&sent, Initiator::Downloader).ok_or_else(
                        || DownloadError::Network {
                            origin: loggable_origin(hop_url.as_str()),
                            reason: "no recorded response".into(),
                        },
                    )?)
                }
                _ => Hop::Network(
                    self.http_client()?
                        .get(hop_url.clone())
                        .headers(headers)
                        .send()
                        .await
                        .map_err(|e| network_error(&hop_url, e))?,
                ),
            };
            let response_headers = answer.headers();
            self.keep_cookies(&hop_url, &response_headers).await;
            let status = answer.status();
            let record = |body: Option<Vec<u8>>| {
                if let NetworkTap::Record(sink) = &network {
                    sink.exchange(Exchange {
                        request: sent.clone(),
                        response: HttpResponse {
                            status: status.as_u16(),
                            status_text: status.canonical_reason().unwrap_or_default().into(),
                            headers: response_headers
                                .iter()
                                .map(|(n, v)| {
                                    (n.to_string(), String::from_utf8_lossy(v.as_bytes()).into())
                                })
                                .collect(),
                            body,
                        },
                        started,
                        duration: at.elapsed(),
                        initiator: Initiator::Downloader,
                    });
                }
            };
            if status.is_redirection() && status != reqwest::StatusCode::NOT_MODIFIED {
                record(None);
                hop_url = response_headers
                    .get(header::LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .and_then(|l| hop_url.join(l).ok())
                    .ok_or_else(|| DownloadError::BadRedirect {
                        origin: loggable_origin(hop_url.as_str()),
                    })?;
                continue;
            }
            if !status.is_success() {
                record(None);
                return Err(DownloadError::Status {
                    status: status.as_u16(),
                    origin: loggable_origin(hop_url.as_str()),
                });
            }
            let downloaded = match answer {
                Hop::Network(response) => {
                    save(response, hop_url, limits.max_bytes, dest_dir).await?
                }
                Hop::Replayed(response) => save_bytes(
                    response.body.unwrap_or_default(),
                    &response_headers,
                    status.as_u16(),
                    hop_url,
                    limits.max_bytes,
                    dest_dir,
                )?,
            };
            if matches!(network, NetworkTap::Record(_)) {
                let body = (downloaded.bytes <= MAX_RECORDED_BODY)
                    .then(|| std::fs::read(&downloaded.file).ok())
                    .flatten();
                record(body);
            }
            return Ok(downloaded);
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
    let content_type = content_type(response.headers());
    let mut part = PartFile::create(dir, max_bytes)?;
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| network_error(&final_url, e))?
    {
        // A chunk is small (tens of KB) and lands in the page cache: writing it here is
        // shorter than handing it to a blocking thread.
        part.write(&chunk)?;
    }
    part.into_downloaded(content_type, final_url, status)
}

fn content_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// A document being written: a temporary file of the documents directory (mode 0600),
/// hashed as it is written, refused past `max_bytes`. Dropped before [`PartFile::finish`]
/// (an error, a cap passed), it is deleted.
/// A hop's answer: from the network, or from a replay's responder.
enum Hop {
    Network(reqwest::Response),
    Replayed(HttpResponse),
}

impl Hop {
    fn status(&self) -> reqwest::StatusCode {
        match self {
            Hop::Network(r) => r.status(),
            Hop::Replayed(r) => {
                reqwest::StatusCode::from_u16(r.status).unwrap_or(reqwest::StatusCode::BAD_GATEWAY)
            }
        }
    }

    fn headers(&self) -> HeaderMap {
        match self {
            Hop::Network(r) => r.headers().clone(),
            Hop::Replayed(r) => r
                .headers
                .iter()
                .filter_map(|(n, v)| {
                    Some((
                        header::HeaderName::from_bytes(n.as_bytes()).ok()?,
                        HeaderValue::from_str(v).ok()?,
                    ))
                })
                .collect(),
        }
    }
}

/// [`save`] for a body already in memory (a replayed one).
fn save_bytes(
    body: Vec<u8>,
    headers: &HeaderMap,
    status: u16,
    final_url: Url,
    max_bytes: u64,
    dir: &Path,
) -> Result<Downloaded, DownloadError> {
    let mut part = PartFile::create(dir, max_bytes)?;
    part.write(&body)?;
    part.into_downloaded(content_type(headers), final_url, status)
}

pub(super) struct PartFile {
    file: tempfile::NamedTempFile,
    hasher: Sha256,
    bytes: u64,
    max_bytes: u64,
    dir: PathBuf,
}

impl PartFile {
    pub(super) fn create(dir: &Path, max_bytes: u64) -> Result<PartFile, DownloadError> {
        let write_error = |source| DownloadError::Write {
            dir: dir.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(write_error)?;
        let file = tempfile::Builder::new()
            .prefix(".download-")
            .suffix(".part")
            .permissions(std::fs::Permissions::from_mode(
                crate::secrets::private_file::FILE_MODE,
            ))
            .tempfile_in(dir)
            .map_err(write_error)?;
        Ok(PartFile {
            file,
            hasher: Sha256::new(),
            bytes: 0,
            max_bytes,
            dir: dir.to_path_buf(),
        })
    }

    fn write_error(&self, source: std::io::Error) -> DownloadError {
        DownloadError::Write {
            dir: self.dir.clone(),
            source,
        }
    }

    /// Appends `chunk`, or refuses it when the document would pass the cap.
    pub(super) fn write(&mut self, chunk: &[u8]) -> Result<(), DownloadError> {
        self.bytes += chunk.len() as u64;
        if self.bytes > self.max_bytes {
            return Err(DownloadError::TooLarge {
                max_bytes: self.max_bytes,
                declared: None,
            });
        }
        self.hasher.update(chunk);
        self.file.write_all(chunk).map_err(|e| self.write_error(e))
    }

    /// The file written, its size and its sha256 (hex).
    /// The finished file as a document downloaded from `final_url`.
    fn into_downloaded(
        self,
        content_type: Option<String>,
        final_url: Url,
        status: u16,
    ) -> Result<Downloaded, DownloadError> {
        let (file, bytes, sha256) = self.finish()?;
        Ok(Downloaded {
            file,
            bytes,
            sha256,
            content_type,
            final_url,
            status,
            filename: None,
        })
    }

    pub(super) fn finish(mut self) -> Result<(tempfile::TempPath, u64, String), DownloadError> {
        self.file.flush().map_err(|e| self.write_error(e))?;
        Ok((
            self.file.into_temp_path(),
            self.bytes,
            hex::encode(self.hasher.finalize()),
        ))
    }
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

#[cfg(test)]
mod tests;
