//! The JSON steps: `capture` (a response the page's own requests received), `fetch` (a
//! request made by the page, with its session) and `extract` with `from`.

use std::time::Duration;

use serde_json::{Map, Value, json};

use super::error::CollectError;
use super::runner::Runner;
use crate::browser::{Body, BrowserError, CaptureError, MAX_BODY, without_query};
use crate::codes::ErrorKind;
use crate::connector::plan::{Capture, ExtractJson, Fetch, JsonTemplate};
use crate::duration::format_duration;
use crate::extract::json::{json_records, json_rows};

/// How long a `capture` waits for its response by default.
const CAPTURE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a `fetch` waits for its answer by default.
const FETCH_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs in the page: the request, with the page's cookies, and its answer as text (parsed
/// by gleaner, so that a non-JSON answer is told apart). `args`: url, method, headers,
/// body, timeout (ms), max (characters).
const FETCH_JS: &str = r#"(async (a) => {
  const url = new URL(a.url, location.href).href;
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), a.timeout);
  try {
    const init = { method: a.method, headers: a.headers, credentials: 'include', signal: ctrl.signal };
    if (a.body !== null) init.body = a.body;
    const r = await fetch(url, init);
    const type = r.headers.get('content-type') || '';
    const text = await r.text();
    if (text.length > a.max) return { url, status: r.status, type, tooLarge: text.length };
    return { url, status: r.status, type, text };
  } catch (e) {
    return { url, failed: ctrl.signal.aborted ? 'timeout' : String(e && e.message || e) };
  } finally {
    clearTimeout(timer);
  }
})"#;

impl Runner<'_> {
    pub(super) async fn capture(&mut self, capture: &Capture) -> Result<(), CollectError> {
        let timeout = capture.timeout.unwrap_or(CAPTURE_TIMEOUT);
        let taken = self
            .tab
            .responses()
            .take(|url| capture.url.is_match(url), &capture.shown, timeout)
            .await;
        let response = match taken {
            Ok(r) => r,
            Err(CaptureError::Closed) => return Err(self.browser_failure(BrowserError::Crashed)),
            Err(e @ CaptureError::Timeout { .. }) => {
                return Err(self
                    .error(ErrorKind::ConnectorError.into(), e.to_string())
                    .await);
            }
        };
        let url = &response.shown_url;
        let status = response.status;
        let problem = match response.body {
            _ if !(200..300).contains(&status) => format!("answered HTTP {status}"),
            Body::Json(value) => {
                self.vars.insert(capture.var.clone(), value);
                return Ok(());
            }
            Body::BadJson(e) => format!("answered JSON that does not parse: {e}"),
            Body::NotJson => format!(
                "answered {:?}, not JSON",
                if response.mime_type.is_empty() {
                    "no content type"
                } else {
                    &response.mime_type
                }
            ),
            Body::TooLarge(n) => format!("answered {n} bytes, more than the {MAX_BODY} kept"),
            Body::Unavailable(e) => {
                format!("answered, but the browser no longer has the body: {e}")
            }
        };
        let msg = format!(
            "the response captured for {:?} ({url}) {problem}",
            capture.shown
        );
        Err(self.error(ErrorKind::ConnectorError.into(), msg).await)
    }

    pub(super) async fn fetch(&mut self, fetch: &Fetch) -> Result<(), CollectError> {
        let url = self.render(&fetch.url)?;
        let mut headers = Map::new();
        for (name, value) in &fetch.headers {
            headers.insert(name.clone(), Value::String(self.render(value)?));
        }
        let body = match &fetch.json {
            Some(t) => {
                if !headers
                    .keys()
                    .any(|k| k.eq_ignore_ascii_case("content-type"))
                {
                    headers.insert("Content-Type".into(), "application/json".into());
                }
                Value::String(self.render_json(t)?.to_string())
            }
            None => Value::Null,
        };
        let timeout = fetch.timeout.unwrap_or(FETCH_TIMEOUT);
        let args = json!({
            "url": url,
            "method": fetch.method.as_str(),
            "headers": headers,
            "body": body,
            "timeout": timeout.as_millis() as u64,
            "max": MAX_BODY,
        });
        // The page's own timer aborts the request; this bound is for a page that hangs.
        let answer = tokio::time::timeout(
            timeout + Duration::from_secs(5),
            self.tab.eval(&format!("({FETCH_JS})({args})")),
        )
        .await;
        let shown = without_query(&url);
        let answer = match answer {
            Ok(Ok(a)) => a,
            Ok(Err(e)) => return Err(self.browser_failure(e)),
            Err(_) => Value::Null,
        };
        let step_url = answer["url"].as_str().map(without_query).unwrap_or(shown);
        let problem = if answer.is_null() || answer["failed"] == "timeout" {
            format!("did not answer within {}", format_duration(timeout))
        } else if let Some(failed) = answer["failed"].as_str() {
            format!("failed: {failed}")
        } else if let Some(n) = answer["tooLarge"].as_u64() {
            format!("answered {n} characters, more than the {MAX_BODY} read")
        } else {
            let status = answer["status"].as_u64().unwrap_or(0);
            let text = answer["text"].as_str().unwrap_or_default();
            if !(200..300).contains(&status) {
                format!("answered HTTP {status}")
            } else {
                match serde_json::from_str::<Value>(text) {
                    Ok(value) => {
                        self.vars.insert(fetch.var.clone(), value);
                        return Ok(());
                    }
                    Err(e) => format!(
                        "answered {:?}, not JSON ({e})",
                        answer["type"].as_str().unwrap_or_default()
                    ),
                }
            }
        };
        let msg = format!("{} {step_url} {problem}", fetch.method.as_str());
        Err(self.error(ErrorKind::ConnectorError.into(), msg).await)
    }

    /// `for_each` over JSON that is not an array.
    pub(super) fn not_a_list(&self, name: &str, value: &Value) -> CollectError {
        let what = match value {
            Value::Object(_) => "an object",
            Value::String(_) => "a string",
            Value::Number(_) => "a number",
            Value::Bool(_) => "a boolean",
            Value::Null => "null",
            Value::Array(_) => "an array",
        };
        let msg = format!("for_each needs a list, and `{name}` is {what}");
        self.error_now(ErrorKind::ConnectorError.into(), msg)
    }

    /// A JSON body: its strings rendered, a lone `{{var}}` replaced by its value.
    fn render_json(&self, t: &JsonTemplate) -> Result<Value, CollectError> {
        Ok(match t {
            JsonTemplate::Scalar(v) => v.clone(),
            JsonTemplate::Text(t) => Value::String(self.render(t)?),
            JsonTemplate::Var(path) => self.lookup(path).ok_or_else(|| {
                self.error_now(
                    ErrorKind::ConnectorError.into(),
                    format!("'{{{{{}}}}}' is not defined here", path.join(".")),
                )
            })?,
            JsonTemplate::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|i| self.render_json(i))
                    .collect::<Result<_, _>>()?,
            ),
            JsonTemplate::Object(pairs) => Value::Object(
                pairs
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), self.render_json(v)?)))
                    .collect::<Result<_, CollectError>>()?,
            ),
        })
    }

    pub(super) async fn extract_json(&mut self, ex: &ExtractJson) -> Result<(), CollectError> {
        let Some(value) = self.vars.get(&ex.from).cloned() else {
            let msg = format!("`{}` is not defined here (its step did not run)", ex.from);
            return Err(self.error_now(ErrorKind::ConnectorError.into(), msg));
        };
        let rows = json_rows(&value, ex.rows.as_ref());
        if rows.is_empty() && !ex.allow_empty {
            let shown = ex.rows.as_ref().map(|r| r.shown.as_str()).unwrap_or("$");
            let msg = format!(
                "rows {shown:?} selected nothing in `{}`; if the list can really be empty, \
                 add `allow_empty: true` to the step",
                ex.from
            );
            return Err(self.error_now(ErrorKind::ConnectorError.into(), msg));
        }
        let lookup = |p: &[String]| self.lookup(p);
        let records = json_records(&rows, &ex.fields, &lookup)
            .map_err(|e| self.error_now(ErrorKind::ConnectorError.into(), e.to_string()))?;
        self.keep_records(&ex.var, ex.in_output, records);
        Ok(())
    }
}
