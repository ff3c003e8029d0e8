//! Files the browser itself downloads after a click: a button that submits a form answered
//! with `Content-Disposition: attachment`, a link with `download`, a `blob:` URL a script
//! made. gleaner cannot fetch those by URL (a POST with the form's fields and tokens, a blob
//! that lives only in the page), so the browser downloads them.
//!
//! Before the click, [`Tab::expect_download`] turns the browser's downloads on
//! (`Browser.setDownloadBehavior`, `allowAndName`: each file is named by the download's
//! guid, never by the name the site suggests) into the profile's own 0700 directory, with
//! events. [`BrowserDownload::finish`] then waits, under a deadline, for
//! `Browser.downloadWillBegin` and the `Browser.downloadProgress` of that guid; past the
//! byte cap it cancels the download (`Browser.cancelDownload`) and deletes what was
//! written. A completed file is copied into a temporary file of the destination directory
//! (0600), hashed on the way, and the browser's copy is deleted: it ends as a [`Downloaded`]
//! exactly like a download by URL. Downloads are turned off again when the
//! `BrowserDownload` is done or dropped.
//!
//! The name the site suggests (`Content-Disposition`, the `download` attribute) is kept only
//! as metadata, sanitised by [`sanitized_filename`]; no path is ever made from it.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chromiumoxide::browser::BrowserHandle;
use chromiumoxide::cdp::browser_protocol::browser::{
    BrowserContextId, CancelDownloadParams, DownloadProgressState, EventDownloadProgress,
    EventDownloadWillBegin, SetDownloadBehaviorBehavior, SetDownloadBehaviorParams,
};
use chromiumoxide::listeners::EventStream;
use futures::StreamExt;
use url::Url;

use super::cdp::cdp_error;
use super::download::{DownloadError, DownloadLimits, Downloaded, PartFile};
use super::error::BrowserError;
use super::popups::Popups;
use super::tab::Tab;

/// Why the browser's download of a click gave no document.
#[derive(Debug, thiserror::Error)]
pub enum BrowserDownloadError {
    /// Nothing started downloading before the deadline.
    #[error("no download started")]
    NotStarted,
    /// The browser gave up (a network error, the server closed the connection).
    #[error("the browser canceled the download")]
    Canceled,
    #[error(transparent)]
    Download(#[from] DownloadError),
}

impl From<BrowserError> for BrowserDownloadError {
    fn from(e: BrowserError) -> Self {
        BrowserDownloadError::Download(DownloadError::Browser(e))
    }
}

/// A download the browser is ready to make; made by [`Tab::expect_download`] before the
/// click that starts it.
pub struct BrowserDownload {
    popups: Arc<Popups>,
    will_begin: EventStream<EventDownloadWillBegin>,
    progress: EventStream<EventDownloadProgress>,
    /// Downloads are turned off again when this goes.
    armed: bool,
}

impl Tab {
    /// Turns the browser's downloads on, into the profile's download directory, and starts
    /// listening for them: call it before the click that starts one.
    pub async fn expect_download(&self) -> Result<BrowserDownload, BrowserError> {
        let popups = self
            .popups()
            .cloned()
            .ok_or_else(|| BrowserError::Cdp("this tab was not opened by a Browser".into()))?;
        let kit = popups.kit();
        let err = |e| cdp_error(e, &kit.alive);
        let will_begin = kit.browser.event_listener().await.map_err(err)?;
        let progress = kit.browser.event_listener().await.map_err(err)?;
        set_behavior(&kit.browser, kit.context.clone(), Some(&kit.download_dir))
            .await
            .map_err(err)?;
        Ok(BrowserDownload {
            popups,
            will_begin,
            progress,
            armed: true,
        })
    }
}

impl BrowserDownload {
    /// Waits for the download the click started and takes its file into a temporary file of
    /// `dest_dir`, under `limits`. See the module docs.
    pub async fn finish(
        mut self,
        limits: &DownloadLimits,
        dest_dir: &Path,
    ) -> Result<Downloaded, BrowserDownloadError> {
        let result = self.take(limits, dest_dir).await;
        self.disarm().await;
        result
    }

    async fn take(
        &mut self,
        limits: &DownloadLimits,
        dest_dir: &Path,
    ) -> Result<Downloaded, BrowserDownloadError> {
        let begun = tokio::time::timeout_at(limits.deadline, self.will_begin.next())
            .await
            .ok()
            .flatten()
            .ok_or(BrowserDownloadError::NotStarted)?;
        let guid = begun.guid.clone();
        let kit = self.popups.kit();
        let written = kit.download_dir.join(&guid);
        let progress = &mut self.progress;
        let done = async {
            while let Some(p) = progress.next().await {
                if p.guid != guid {
                    continue;
                }
                let over = (p.received_bytes as u64 > limits.max_bytes)
                    .then_some(None)
                    .or_else(|| {
                        (p.total_bytes as u64 > limits.max_bytes)
                            .then_some(Some(p.total_bytes as u64))
                    });
                if let Some(declared) = over {
                    return Err(DownloadError::TooLarge {
                        max_bytes: limits.max_bytes,
                        declared,
                    });
                }
                match p.state {
                    DownloadProgressState::InProgress => continue,
                    DownloadProgressState::Completed => return Ok(()),
                    DownloadProgressState::Canceled => return Err(DownloadError::Timeout),
                }
            }
            Err(DownloadError::Browser(BrowserError::Crashed))
        };
        let outcome = match tokio::time::timeout_at(limits.deadline, done).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(DownloadError::Timeout)) => Err(BrowserDownloadError::Canceled),
            Ok(Err(e)) => Err(e.into()),
            Err(_) => Err(DownloadError::Timeout.into()),
        };
        if let Err(e) = outcome {
            // Over the cap, late, or given up: the browser stops, and nothing it wrote stays.
            let _ = kit
                .browser
                .execute(cancel_params(&guid, kit.context.clone()))
                .await;
            remove_partial(&written);
            return Err(e);
        }
        // A `blob:` or `data:` URL parses too; one that does not is shown as about:blank.
        let url = Url::parse(&begun.url)
            .or_else(|_| Url::parse("about:blank"))
            .map_err(|_| BrowserDownloadError::NotStarted)?;
        let filename = sanitized_filename(&begun.suggested_filename);
        let max_bytes = limits.max_bytes;
        let dest = dest_dir.to_path_buf();
        let from = written.clone();
        let copied = tokio::task::spawn_blocking(move || copy_hashed(&from, &dest, max_bytes))
            .await
            .map_err(|e| DownloadError::Write {
                dir: dest_dir.to_path_buf(),
                source: std::io::Error::other(e.to_string()),
            });
        remove_partial(&written);
        let (file, bytes, sha256, head) = copied??;
        let content_type = sniffed_type(&head, filename.as_deref());
        Ok(Downloaded::from_browser(
            file,
            bytes,
            sha256,
            content_type,
            url,
            filename,
        ))
    }

    /// Downloads are off again (`deny`): a page cannot write files when no step asks.
    async fn disarm(&mut self) {
        if !self.armed {
            return;
        }
        self.armed = false;
        let kit = self.popups.kit();
        if let Err(e) = set_behavior(&kit.browser, kit.context.clone(), None).await {
            tracing::debug!("cannot turn the browser's downloads off again: {e}");
        }
    }
}

impl Drop for BrowserDownload {
    fn drop(&mut self) {
        if self.armed {
            let popups = self.popups.clone();
            tokio::spawn(async move {
                let kit = popups.kit();
                let _ = set_behavior(&kit.browser, kit.context.clone(), None).await;
            });
        }
    }
}

/// `allowAndName` into `dir` with events, or `deny` without.
async fn set_behavior(
    browser: &BrowserHandle,
    context: Option<BrowserContextId>,
    dir: Option<&Path>,
) -> Result<(), chromiumoxide::error::CdpError> {
    let mut params = SetDownloadBehaviorParams::new(match dir {
        Some(_) => SetDownloadBehaviorBehavior::AllowAndName,
        None => SetDownloadBehaviorBehavior::Deny,
    });
    params.browser_context_id = context;
    params.download_path = dir.map(|d| d.to_string_lossy().into_owned());
    params.events_enabled = Some(dir.is_some());
    browser.execute(params).await.map(drop)
}

fn cancel_params(guid: &str, context: Option<BrowserContextId>) -> CancelDownloadParams {
    let mut params = CancelDownloadParams::new(guid);
    params.browser_context_id = context;
    params
}

/// Deletes what the browser wrote of a download (the named file, and its in-progress
/// name). Chromium deletes a canceled download's file itself; this covers a file it had
/// already renamed.
fn remove_partial(written: &Path) {
    let mut partial = written.as_os_str().to_owned();
    partial.push(".crdownload");
    for path in [written.to_path_buf(), PathBuf::from(partial)] {
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!("cannot delete a download's file {}: {e}", path.display()),
        }
    }
}

/// Copies `from` into a new temporary file of `dir` (0600), hashing it, at most `max_bytes`.
/// Returns the file, its size, its sha256 and its first bytes (to sniff its type).
fn copy_hashed(
    from: &Path,
    dir: &Path,
    max_bytes: u64,
) -> Result<(tempfile::TempPath, u64, String, Vec<u8>), DownloadError> {
    let mut input = std::fs::File::open(from).map_err(|source| DownloadError::Write {
        dir: dir.to_path_buf(),
        source,
    })?;
    let mut part = PartFile::create(dir, max_bytes)?;
    let mut head = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = input
            .read(&mut buf)
            .map_err(|source| DownloadError::Write {
                dir: dir.to_path_buf(),
                source,
            })?;
        if n == 0 {
            break;
        }
        if head.len() < 16 {
            head.extend_from_slice(&buf[..n.min(16 - head.len())]);
        }
        part.write(&buf[..n])?;
    }
    let (file, bytes, sha256) = part.finish()?;
    Ok((file, bytes, sha256, head))
}

/// The browser's download events carry no `Content-Type`: the file's first bytes tell a
/// PDF, else the suggested name's extension.
fn sniffed_type(head: &[u8], filename: Option<&str>) -> Option<String> {
    if head.starts_with(b"%PDF-") {
        return Some("application/pdf".into());
    }
    if head.starts_with(b"PK\x03\x04") {
        return Some("application/zip".into());
    }
    let ext = filename?.rsplit_once('.')?.1.to_ascii_lowercase();
    let ct = match ext.as_str() {
        "pdf" => "application/pdf",
        "csv" => "text/csv",
        "json" => "application/json",
        "html" | "htm" => "text/html",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "txt" => "text/plain",
        _ => return None,
    };
    Some(ct.into())
}

/// The name a site suggests for a file, safe to show: its last path component only, no
/// control characters, at most 255 characters; `None` when nothing is left (or only `.` or
/// `..`). It is metadata only: gleaner never makes a path from it.
pub fn sanitized_filename(suggested: &str) -> Option<String> {
    let last = suggested.rsplit(['/', '\\']).next().unwrap_or_default();
    let clean: String = last.chars().filter(|c| !c.is_control()).take(255).collect();
    let clean = clean.trim();
    match clean {
        "" | "." | ".." => None,
        name => Some(name.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggested_names_are_never_paths() {
        assert_eq!(
            sanitized_filename("../../evil.pdf").as_deref(),
            Some("evil.pdf")
        );
        assert_eq!(
            sanitized_filename("..\\..\\evil.pdf").as_deref(),
            Some("evil.pdf")
        );
        assert_eq!(sanitized_filename("/etc/passwd").as_deref(), Some("passwd"));
        assert_eq!(
            sanitized_filename("fac\u{0}ture\n.pdf").as_deref(),
            Some("facture.pdf")
        );
        assert_eq!(sanitized_filename(".."), None);
        assert_eq!(sanitized_filename("a/.."), None);
        assert_eq!(sanitized_filename(""), None);
        assert_eq!(
            sanitized_filename("Facture 2026-11.pdf").as_deref(),
            Some("Facture 2026-11.pdf")
        );
    }

    #[test]
    fn a_pdf_is_known_by_its_bytes() {
        assert_eq!(
            sniffed_type(b"%PDF-1.7\n", Some("x.bin")).as_deref(),
            Some("application/pdf")
        );
        assert_eq!(
            sniffed_type(b"a,b\n", Some("x.CSV")).as_deref(),
            Some("text/csv")
        );
        assert_eq!(sniffed_type(b"??", None), None);
    }
}
