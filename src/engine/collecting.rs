//! Collect steps: `extract` (with pagination) and `download`.

use std::time::Duration;

use serde_json::{Map, Value};
use url::Url;

use super::document::{self, DocumentRecord};
use super::error::CollectError;
use super::event::Event;
use super::runner::Runner;
use crate::browser::{DownloadError, DownloadLimits, Downloaded};
use crate::codes::ErrorKind;
use crate::connector::plan::{self, Download, Extract, PageTurn, Paginate, Selector};
use crate::duration::format_duration;
use crate::extract::{self, DocumentRow, Field, Rows};

impl Runner<'_> {
    pub(super) async fn extract(&mut self, ex: &Extract) -> Result<(), CollectError> {
        let rows_sel = match &ex.rows {
            plan::Rows::Selector(t) | plan::Rows::Table(t) => Some(self.render(t)?),
            plan::Rows::Page => None,
        };
        let rows = match (&ex.rows, &rows_sel) {
            (plan::Rows::Selector(_), Some(s)) => Rows::Selector(s),
            (plan::Rows::Table(_), Some(s)) => Rows::Table(s),
            _ => Rows::Page,
        };
        if let Some(Paginate::LoadMore(turn)) = &ex.paginate {
            let button = self.render_selector(&turn.selector)?;
            self.load_all(&button, rows_sel.as_deref(), turn).await?;
        }
        let mut pages_read = 0;
        loop {
            pages_read += 1;
            let records = self.extract_page(rows, &ex.fields).await?;
            if pages_read == 1 && records.is_empty() && !ex.allow_empty {
                let what = match ex.rows {
                    plan::Rows::Table(_) => "the data rows of table",
                    _ => "rows",
                };
                return Err(self.matched_nothing(rows_sel.as_deref(), what).await);
            }
            self.keep_records(&ex.var, ex.in_output, records);
            match &ex.paginate {
                Some(Paginate::Next(turn)) if pages_read < turn.max_pages => {
                    let next = self.render_selector(&turn.selector)?;
                    if !self.next_page(&next, turn).await? {
                        break;
                    }
                }
                _ => break,
            }
        }
        Ok(())
    }

    /// A list step whose rows matched nothing: a typo, or a page that changed, must not
    /// end as a successful collect with an empty list.
    async fn matched_nothing(&self, selector: Option<&str>, what: &str) -> CollectError {
        let message = format!(
            "{what} {:?} matched nothing on this page; if the list can really be empty, \
             add `allow_empty: true` to the step",
            selector.unwrap_or_default()
        );
        self.error(ErrorKind::ConnectorError.into(), message).await
    }

    /// The page's HTML and its URL (relative links are resolved against it).
    async fn page_source(&self) -> Result<(String, Url), CollectError> {
        let html = self.tab.html().await.map_err(|e| self.browser_failure(e))?;
        // In a frame, its links are relative to the frame's document.
        let url = self
            .tab
            .document_url()
            .await
            .map_err(|e| self.browser_failure(e))?;
        let page_url = Url::parse(&url).unwrap_or_else(|_| self.base_url.clone());
        Ok((html, page_url))
    }

    async fn extract_page(
        &self,
        rows: Rows<'_>,
        fields: &[Field],
    ) -> Result<Vec<Map<String, Value>>, CollectError> {
        let (html, page_url) = self.page_source().await?;
        let lookup = |p: &[String]| self.lookup(p);
        match extract::extract(&html, &page_url, rows, fields, &lookup) {
            Ok(r) => Ok(r),
            Err(e) => Err(self
                .error(ErrorKind::ConnectorError.into(), e.to_string())
                .await),
        }
    }

    async fn document_rows(&self, dl: &Download) -> Result<Vec<DocumentRow>, CollectError> {
        let rows_sel = self.render(&dl.rows)?;
        let (html, page_url) = self.page_source().await?;
        let lookup = |p: &[String]| self.lookup(p);
        let rows = Rows::Selector(&rows_sel);
        match extract::extract_documents(&html, &page_url, rows, &dl.link, &dl.fields, &lookup) {
            Ok(r) => Ok(r),
            Err(e) => Err(self
                .error(ErrorKind::ConnectorError.into(), e.to_string())
                .await),
        }
    }

    /// Appends `records` to the list `list` (made even when empty), and reports each one
    /// unless the list only drives the connector.
    pub(super) fn keep_records(
        &mut self,
        list: &str,
        in_output: bool,
        records: Vec<Map<String, Value>>,
    ) {
        for r in records {
            let record = Value::Object(r);
            if in_output {
                self.emit(Event::Record {
                    list: list.to_string(),
                    record: record.clone(),
                });
            }
            self.append(list, record);
        }
        self.declare_list(list);
        if !in_output {
            self.hidden_lists.insert(list.to_string());
        }
    }

    /// Follows a "next" link or button. Returns false when there is no next page.
    async fn next_page(&mut self, next: &Selector, p: &PageTurn) -> Result<bool, CollectError> {
        let sels = vec![next.clone()];
        let (probe, _) = self
            .wait_until(&sels, Duration::ZERO, None, |_| true)
            .await?;
        let s = probe.selectors[0];
        if !s.visible || !s.enabled {
            return Ok(false);
        }
        let mark = format!("gleaner-{}", rand::random::<u64>());
        self.tab
            .set_mark(&mark)
            .await
            .map_err(|e| self.browser_failure(e))?;
        let timeout = p.timeout.unwrap_or(self.options.element_timeout);
        self.click(next, timeout, false).await?;
        // The next page is a new document: the mark is gone and it has finished loading.
        let (_, ok) = self
            .wait_until(&[], timeout, Some(&mark), |p| {
                !p.marked && p.ready == crate::browser::ReadyState::Complete
            })
            .await?;
        if !ok {
            let msg = format!(
                "clicking {next} did not load another page within {}",
                format_duration(timeout)
            );
            return Err(self.error(ErrorKind::ConnectorError.into(), msg).await);
        }
        self.check_vendor()?;
        Ok(true)
    }

    /// Clicks a "load more" button until it goes away (or is disabled), or `max_pages`
    /// clicks. After each click, waits for more rows or for the button to go.
    async fn load_all(
        &mut self,
        button: &Selector,
        rows: Option<&str>,
        p: &PageTurn,
    ) -> Result<(), CollectError> {
        let timeout = p.timeout.unwrap_or(self.options.element_timeout);
        let mut sels = vec![button.clone()];
        if let Some(r) = rows {
            sels.push(Selector::css(r));
        }
        for _ in 0..p.max_pages {
            let (probe, _) = self
                .wait_until(&sels, Duration::ZERO, None, |_| true)
                .await?;
            let b = probe.selectors[0];
            if !b.visible || !b.enabled {
                return Ok(());
            }
            let before = probe.selectors.get(1).map(|s| s.count).unwrap_or(0);
            self.click(button, timeout, false).await?;
            let (_, ok) = self
                .wait_until(&sels, timeout, None, |p| {
                    let more = p.selectors.get(1).is_some_and(|s| s.count > before);
                    let gone = !p.selectors[0].visible;
                    more || gone || (rows.is_none() && p.selectors[0].enabled)
                })
                .await?;
            if !ok {
                let msg = format!(
                    "clicking {button} brought no new rows within {}",
                    format_duration(timeout)
                );
                return Err(self.error(ErrorKind::ConnectorError.into(), msg).await);
            }
        }
        Ok(())
    }

    pub(super) async fn download(&mut self, dl: &Download) -> Result<(), CollectError> {
        if let Some(Paginate::LoadMore(turn)) = dl.paginate.as_deref() {
            let button = self.render_selector(&turn.selector)?;
            let rows = self.render(&dl.rows)?;
            self.load_all(&button, Some(rows.as_str()), turn).await?;
        }
        let mut pages_read = 0;
        loop {
            pages_read += 1;
            let rows = self.document_rows(dl).await?;
            if pages_read == 1 && rows.is_empty() && !dl.allow_empty {
                let selector = self.render(&dl.rows)?;
                return Err(self.matched_nothing(Some(&selector), "document rows").await);
            }
            self.download_rows(dl, rows).await?;
            match dl.paginate.as_deref() {
                Some(Paginate::Next(turn)) if pages_read < turn.max_pages => {
                    let next = self.render_selector(&turn.selector)?;
                    if !self.next_page(&next, turn).await? {
                        break;
                    }
                }
                _ => break,
            }
        }
        Ok(())
    }

    async fn download_rows(
        &mut self,
        dl: &Download,
        rows: Vec<DocumentRow>,
    ) -> Result<(), CollectError> {
        let list = dl.var.clone();
        self.declare_list(&list);
        for (index, DocumentRow { link, record }) in rows.into_iter().enumerate() {
            let row = record;
            if dl.click.is_some() {
                if self.already_collected(&row) {
                    self.outcome.skipped_documents += 1;
                    continue;
                }
                let (url, downloaded) = self.download_by_click(dl, index).await?;
                self.keep_document(&list, row, url, downloaded).await?;
                continue;
            }
            let link = match link {
                Value::String(s) if !s.is_empty() => s,
                _ => {
                    return Err(self
                        .error(
                            ErrorKind::ConnectorError.into(),
                            "a document row has no link",
                        )
                        .await);
                }
            };
            if self.already_collected(&row) {
                self.outcome.skipped_documents += 1;
                continue;
            }
            let url = self.resolve_url(&link)?;
            if !self.allow.permits(&url) {
                let msg = format!(
                    "the document link {url} is outside the connector's domains; add its host \
                     to `domains`"
                );
                return Err(self.error(ErrorKind::ConnectorError.into(), msg).await);
            }
            let downloaded = self.download_document(&url).await?;
            self.keep_document(&list, row, url, downloaded).await?;
        }
        Ok(())
    }

    /// Stores a downloaded document by its content and records it in `list`.
    async fn keep_document(
        &mut self,
        list: &str,
        mut row: Map<String, Value>,
        url: Url,
        downloaded: Downloaded,
    ) -> Result<(), CollectError> {
        let list = list.to_string();
        {
            // Without a site id, the content tells a document already collected (the
            // temporary file goes with `downloaded`).
            if self.known_documents.sha256s.contains(&downloaded.sha256) {
                self.outcome.skipped_documents += 1;
                return Ok(());
            }
            if let Some(name) = &downloaded.filename {
                // The site's suggested name: metadata only, sanitised, never a path.
                row.entry("filename")
                    .or_insert_with(|| Value::String(name.clone()));
            }
            let ext = document::extension_for(downloaded.content_type.as_deref(), url.as_str());
            let file = document::stored_path(&self.options.out_dir, &downloaded.sha256, ext);
            let (sha, bytes, content_type) = (
                downloaded.sha256.clone(),
                downloaded.bytes,
                downloaded.content_type.clone(),
            );
            downloaded.persist(&file).map_err(|e| {
                self.error_now(
                    ErrorKind::ConnectorError.into(),
                    format!("cannot write into {}: {e}", self.options.out_dir.display()),
                )
            })?;
            let take_str = |row: &mut Map<String, Value>, k: &str| match row.remove(k) {
                Some(Value::String(s)) => Some(s),
                Some(Value::Null) | None => None,
                Some(other) => Some(other.to_string()),
            };
            let id = take_str(&mut row, "id");
            let date = take_str(&mut row, "date");
            let currency = take_str(&mut row, "currency");
            let amount = match row.remove("amount") {
                Some(Value::Number(n)) => n.as_f64(),
                Some(Value::String(s)) => s.parse().ok(),
                _ => None,
            };
            let doc = DocumentRecord {
                id,
                date,
                amount,
                currency,
                url: url.to_string(),
                sha256: sha,
                bytes,
                content_type,
                file,
                metadata: row,
            };
            let value = doc.to_value();
            self.emit(Event::Document {
                list: list.clone(),
                document: doc.clone(),
            });
            self.outcome.documents.push(doc);
            self.append(&list, value);
        }
        Ok(())
    }

    /// Downloads a document into a temporary file of the output directory, within the
    /// navigation timeout and the size cap, each redirect checked against the domains.
    pub(super) async fn download_document(&self, url: &Url) -> Result<Downloaded, CollectError> {
        let max_bytes = self.options.max_document_size;
        let limits = DownloadLimits {
            max_bytes,
            deadline: tokio::time::Instant::now() + self.options.navigation_timeout,
        };
        match self.tab.download(url, &limits, &self.options.out_dir).await {
            Ok(downloaded) => Ok(downloaded),
            Err(e) => Err(self.download_failure(url, e)),
        }
    }

    /// What a failed download means for the collect: by URL or by the browser, the same
    /// errors (over the cap, outside the domains, late…).
    pub(super) fn download_failure(&self, url: &Url, e: DownloadError) -> CollectError {
        let connector_error = |msg: String| self.error_now(ErrorKind::ConnectorError.into(), msg);
        match e {
            DownloadError::Status { status, .. } => {
                let kind = if status >= 500 {
                    ErrorKind::VendorDown
                } else {
                    ErrorKind::ConnectorError
                };
                let mut e = self.error_now(
                    kind.into(),
                    format!("downloading the document answered HTTP {status}"),
                );
                e.url = Some(url.to_string());
                e
            }
            DownloadError::TooLarge {
                max_bytes,
                declared,
            } => {
                let size = match declared {
                    Some(n) => format!(
                        "its Content-Length says {n} bytes ({}), nothing was read",
                        document::show_size(n)
                    ),
                    None => format!("more than {max_bytes} bytes arrived, nothing was kept"),
                };
                connector_error(format!(
                    "the document {} is too large: {size}; the cap is {} ({max_bytes} bytes). \
                     Raise it with --max-document-size (GLEANER_MAX_DOCUMENT_SIZE) if such \
                     documents are expected",
                    shown(url),
                    document::show_size(max_bytes),
                ))
            }
            DownloadError::Refused { origin, kind, hop } => {
                let led = if hop == 0 {
                    "is".to_string()
                } else {
                    format!("was redirected to {origin}, which is")
                };
                connector_error(format!(
                    "the document {} {led} outside the connector's domains ({}); nothing was \
                     requested there. Add its host to `domains` if it is the site's",
                    shown(url),
                    kind.label(),
                ))
            }
            DownloadError::Timeout => self.error_now(
                ErrorKind::Timeout.into(),
                format!(
                    "downloading the document {} took longer than {}",
                    shown(url),
                    format_duration(self.options.navigation_timeout)
                ),
            ),
            DownloadError::Browser(e) => self.browser_failure(e),
            e @ (DownloadError::TooManyRedirects
            | DownloadError::BadRedirect { .. }
            | DownloadError::Network { .. }
            | DownloadError::Write { .. }) => {
                connector_error(format!("downloading the document {}: {e}", shown(url)))
            }
        }
    }

    /// A document collected before (by the site's id), or dated before `since`.
    fn already_collected(&self, row: &Map<String, Value>) -> bool {
        let known_id = match row.get("id") {
            Some(Value::String(id)) => self.known_documents.ids.contains(id),
            _ => false,
        };
        let too_old = match (self.since, row.get("date")) {
            (Some(since), Some(Value::String(date))) => iso_day(date).is_some_and(|d| d < since),
            _ => false,
        };
        known_id || too_old
    }
}

/// The day of an ISO 8601 date (`2026-11-23`, or a date-time starting with one).
fn iso_day(date: &str) -> Option<chrono::NaiveDate> {
    let day = date.get(..10)?;
    chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()
}

/// A URL for messages: its query (which can hold a signed token) left out.
pub(super) fn shown(url: &Url) -> String {
    let path = &url[..url::Position::AfterPath];
    match url.query() {
        Some(_) => format!("{path}?…"),
        None => path.to_string(),
    }
}
