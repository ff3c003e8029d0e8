//! Collect steps: `extract` (with pagination) and `download`.

use std::time::Duration;

use indexmap::IndexMap;
use serde_json::{Map, Value};
use url::Url;

use super::Event;
use super::document::{self, DocumentRecord};
use super::error::CollectError;
use super::runner::{Runner, human};
use crate::codes::ErrorKind;
use crate::connector::{Download, Extract, FieldSpec, Paginate, Sp};
use crate::extract::{self, Rows};

impl Runner<'_> {
    pub(super) async fn extract(&mut self, ex: &Extract) -> Result<(), CollectError> {
        let rows_sel = match (&ex.rows, &ex.table) {
            (Some(r), _) => Some(self.render(r)?),
            (None, Some(t)) => Some(self.render(t)?),
            _ => None,
        };
        let rows = match (&ex.rows, &ex.table, &rows_sel) {
            (Some(_), _, Some(s)) => Rows::Selector(s),
            (None, Some(_), Some(s)) => Rows::Table(s),
            _ => Rows::Page,
        };
        let paginate = ex.paginate.as_ref().map(|p| &p.value);
        if let Some(p) = paginate
            && let Some(button) = &p.load_more
        {
            let button = self.render(button)?;
            self.load_all(&button, rows_sel.as_deref(), p).await?;
        }
        let mut pages_read = 0;
        loop {
            pages_read += 1;
            let records = self.extract_page(rows, &ex.fields).await?;
            let list = ex.var.value.clone();
            for r in records {
                let record = Value::Object(r);
                self.emit(Event::Record {
                    list: list.clone(),
                    record: record.clone(),
                });
                self.append(&list, record);
            }
            self.declare_list(&list);
            match paginate {
                Some(p) if p.next.is_some() && pages_read < p.max_pages => {
                    let next = self.render(p.next.as_ref().expect("checked"))?;
                    if !self.next_page(&next, p).await? {
                        break;
                    }
                }
                _ => break,
            }
        }
        Ok(())
    }

    async fn extract_page(
        &self,
        rows: Rows<'_>,
        fields: &IndexMap<String, Sp<FieldSpec>>,
    ) -> Result<Vec<Map<String, Value>>, CollectError> {
        let html = self.tab.html().await.map_err(|e| self.browser_failure(e))?;
        let url = self.tab.url().await.map_err(|e| self.browser_failure(e))?;
        let page_url = Url::parse(&url).unwrap_or_else(|_| self.base_url.clone());
        let lookup = |p: &[String]| self.lookup(p);
        match extract::extract(&html, &page_url, rows, fields, &lookup) {
            Ok(r) => Ok(r),
            Err(e) => Err(self
                .error(ErrorKind::ConnectorError.into(), e.to_string())
                .await),
        }
    }

    /// Follows a "next" link or button. Returns false when there is no next page.
    async fn next_page(&mut self, next: &str, p: &Paginate) -> Result<bool, CollectError> {
        let sels = vec![next.to_string()];
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
        let timeout = p
            .timeout
            .map(|t| t.get())
            .unwrap_or(self.options.element_timeout);
        self.click(next, timeout, false).await?;
        // The next page is a new document: the mark is gone and it has finished loading.
        let (_, ok) = self
            .wait_until(&[], timeout, Some(&mark), |p| {
                !p.marked && p.ready == crate::browser::ReadyState::Complete
            })
            .await?;
        if !ok {
            let msg = format!(
                "clicking {next:?} did not load another page within {}",
                human(timeout)
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
        button: &str,
        rows: Option<&str>,
        p: &Paginate,
    ) -> Result<(), CollectError> {
        let timeout = p
            .timeout
            .map(|t| t.get())
            .unwrap_or(self.options.element_timeout);
        let mut sels = vec![button.to_string()];
        if let Some(r) = rows {
            sels.push(r.to_string());
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
                    "clicking {button:?} brought no new rows within {}",
                    human(timeout)
                );
                return Err(self.error(ErrorKind::ConnectorError.into(), msg).await);
            }
        }
        Ok(())
    }

    pub(super) async fn download(&mut self, dl: &Download) -> Result<(), CollectError> {
        let (rows_sel, default_url) = match (&dl.links, &dl.rows) {
            (Some(l), _) => (self.render(l)?, true),
            (None, Some(r)) => (self.render(r)?, false),
            _ => {
                return Err(self
                    .error(
                        ErrorKind::ConnectorError.into(),
                        "download needs links or rows",
                    )
                    .await);
            }
        };
        let mut fields: IndexMap<String, Sp<FieldSpec>> = IndexMap::new();
        let url_spec = match &dl.url {
            Some(u) if !default_url => u.clone(),
            _ => Sp::new(FieldSpec {
                attr: Some("href".into()),
                link: true,
                ..Default::default()
            }),
        };
        fields.insert("\0url".into(), url_spec);
        if let Some(id) = &dl.id {
            fields.insert("id".into(), id.clone());
        }
        for (k, v) in &dl.fields {
            fields.insert(k.clone(), v.clone());
        }
        let rows = self
            .extract_page(Rows::Selector(&rows_sel), &fields)
            .await?;
        let list = dl.var.value.clone();
        self.declare_list(&list);
        for mut row in rows {
            let link = match row.remove("\0url") {
                Some(Value::String(s)) if !s.is_empty() => s,
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
            let fetched = self
                .tab
                .fetch(url.as_str(), self.options.navigation_timeout)
                .await
                .map_err(|e| self.browser_failure(e))?;
            if !(200..300).contains(&fetched.status) {
                let kind = if fetched.status >= 500 {
                    ErrorKind::VendorDown
                } else {
                    ErrorKind::ConnectorError
                };
                let mut e = self.error_now(
                    kind.into(),
                    format!("downloading the document answered HTTP {}", fetched.status),
                );
                e.url = Some(url.to_string());
                return Err(e);
            }
            // Without a site id, the content tells a document already collected.
            let sha = document::sha256_hex(&fetched.bytes);
            if self
                .known_documents
                .contains(&crate::store::known::sha_key(&sha))
            {
                self.outcome.skipped_documents += 1;
                continue;
            }
            let ext = document::extension_for(fetched.content_type.as_deref(), url.as_str());
            let file =
                document::store(&self.options.out_dir, &fetched.bytes, &sha, ext).map_err(|e| {
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
                bytes: fetched.bytes.len() as u64,
                content_type: fetched.content_type.clone(),
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

    /// A document collected before (by the site's id), or dated before `since`.
    fn already_collected(&self, row: &Map<String, Value>) -> bool {
        let known_id = match row.get("id") {
            Some(Value::String(id)) => self
                .known_documents
                .contains(&crate::store::known::id_key(id)),
            _ => false,
        };
        let too_old = match (&self.since, row.get("date")) {
            // ISO dates compare as text.
            (Some(since), Some(Value::String(date))) => date.as_str() < since.as_str(),
            _ => false,
        };
        known_id || too_old
    }
}
