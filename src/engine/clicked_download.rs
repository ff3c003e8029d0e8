//! `download` with `click`: each row's element is clicked and the browser's download (or,
//! with `popup: true`, the document the click opens in a new tab) is the row's document.

use std::time::Duration;

use serde_json::json;
use tokio::time::Instant;
use url::Url;

use super::collecting::shown;
use super::error::CollectError;
use super::runner::Runner;
use crate::browser::{BrowserDownloadError, DEFAULT_POPUP_TIMEOUT, DownloadLimits, Downloaded};
use crate::codes::ErrorKind;
use crate::connector::plan::{Download, Selector};
use crate::duration::format_duration;

/// How long one probe of a new tab's URL waits for a change.
const PROBE_SLICE: Duration = Duration::from_millis(500);

impl Runner<'_> {
    /// Clicks row `index`'s `click` element and takes the document it gives.
    pub(super) async fn download_by_click(
        &mut self,
        dl: &Download,
        index: usize,
    ) -> Result<(Url, Downloaded), CollectError> {
        let Some(click) = &dl.click else {
            let msg = "this download has no `click`";
            return Err(self.error(ErrorKind::ConnectorError.into(), msg).await);
        };
        let rows = self.render(&dl.rows)?;
        let click = self.render(click)?;
        let selector = self.mark_row(&rows, index, &click).await?;
        let timeout = self.options.navigation_timeout;
        if dl.popup {
            return self.download_from_popup(&selector, &click).await;
        }
        let limits = DownloadLimits {
            max_bytes: self.options.max_document_size,
            deadline: Instant::now() + timeout,
        };
        let armed = self
            .tab
            .expect_download()
            .await
            .map_err(|e| self.browser_failure(e))?;
        self.click(
            &Selector::css(&selector),
            self.options.element_timeout,
            false,
        )
        .await?;
        match armed.finish(&limits, &self.options.out_dir).await {
            Ok(downloaded) => Ok((downloaded.final_url.clone(), downloaded)),
            Err(BrowserDownloadError::NotStarted) => {
                let msg = format!(
                    "clicking {click:?} (row {}) started no download within {}",
                    index + 1,
                    format_duration(timeout)
                );
                Err(self.error(ErrorKind::ConnectorError.into(), msg).await)
            }
            Err(BrowserDownloadError::Canceled) => {
                let msg = format!(
                    "the browser gave up the download of {click:?} (row {})",
                    index + 1
                );
                Err(self.error(ErrorKind::ConnectorError.into(), msg).await)
            }
            Err(BrowserDownloadError::Download(e)) => {
                let what = Url::parse(&format!(
                    "{}#click",
                    self.tab.url().await.unwrap_or_default()
                ))
                .unwrap_or_else(|_| self.base_url.clone());
                Err(self.download_failure(&what, e))
            }
        }
    }

    /// Marks row `index` of `rows` with a token and returns a selector for its `click`
    /// element: `[data-gleaner-row="…"] :is(click)`.
    async fn mark_row(
        &self,
        rows: &str,
        index: usize,
        click: &str,
    ) -> Result<String, CollectError> {
        let token = format!("{:016x}", rand::random::<u64>());
        let js = format!(
            "(() => {{ const r = document.querySelectorAll({})[{index}]; \
             if (!r) return false; r.setAttribute('data-gleaner-row', {}); return true; }})()",
            json!(rows),
            json!(token)
        );
        let marked = self
            .tab
            .eval(&js)
            .await
            .map_err(|e| self.browser_failure(e))?;
        if marked != json!(true) {
            let msg = format!(
                "row {} of {rows:?} is gone from the page before its click",
                index + 1
            );
            return Err(self.error(ErrorKind::ConnectorError.into(), msg).await);
        }
        Ok(format!("[data-gleaner-row=\"{token}\"] :is({click})"))
    }

    /// Clicks `selector`, reads the URL of the document the new tab shows, closes the tab
    /// and downloads that URL with the browser's session (as a link's document is).
    async fn download_from_popup(
        &mut self,
        selector: &str,
        click: &str,
    ) -> Result<(Url, Downloaded), CollectError> {
        let timeout = DEFAULT_POPUP_TIMEOUT;
        let (popups, opened) = self.click_for_popup(selector, timeout).await?;
        let tab = crate::browser::Tab::on_popup(&popups, &opened)
            .await
            .map_err(|e| self.browser_failure(e))?;
        let deadline = Instant::now() + timeout;
        let mut last = None;
        let url = loop {
            let url = tab.url().await.unwrap_or_default();
            if !url.is_empty() && !url.starts_with("about:") {
                break Some(url);
            }
            if Instant::now() >= deadline {
                break None;
            }
            // Wakes on the new tab's next document (or DOM change), at most a slice.
            last = tab
                .probe(&[] as &[&str], last.as_ref(), PROBE_SLICE, None)
                .await
                .ok();
        };
        drop(tab);
        if let Err(e) = popups.close(&opened).await {
            tracing::debug!("cannot close the document's tab: {e}");
        }
        popups
            .drive(self.tab.page().target_id().clone())
            .await
            .map_err(|e| self.browser_failure(e))?;
        let Some(url) = url.and_then(|u| Url::parse(&u).ok()) else {
            let msg = format!(
                "the tab {click:?} opened showed no document within {}",
                format_duration(timeout)
            );
            return Err(self.error(ErrorKind::ConnectorError.into(), msg).await);
        };
        if !self.allow.permits(&url) {
            let msg = format!(
                "the document {} opened in a new tab is outside the connector's domains; add \
                 its host to `domains`",
                shown(&url)
            );
            return Err(self.error(ErrorKind::ConnectorError.into(), msg).await);
        }
        let downloaded = self.download_document(&url).await?;
        Ok((url, downloaded))
    }
}
