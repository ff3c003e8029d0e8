//! Tiny `{{placeholder}}` templating over HTML files read from disk, plus the
//! response helpers and the error type used by the handlers.

use std::path::Path;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// A value substituted into a template.
pub enum Val {
    /// Plain text: HTML-escaped on substitution.
    Text(String),
    /// Markup built by the server (its own parts already escaped): inserted as is.
    Html(String),
}

pub fn text(s: impl Into<String>) -> Val {
    Val::Text(s.into())
}

pub fn html(s: impl Into<String>) -> Val {
    Val::Html(s.into())
}

pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Replaces every `{{name}}` in `tpl` in a single pass (substituted values are
/// never re-scanned). Unknown placeholders become empty strings.
pub fn substitute(tpl: &str, vars: &[(&str, Val)]) -> String {
    let mut out = String::with_capacity(tpl.len() + 256);
    let mut rest = tpl;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let name = after[..end].trim();
        match vars.iter().find(|(k, _)| *k == name) {
            Some((_, Val::Text(v))) => out.push_str(&escape_html(v)),
            Some((_, Val::Html(v))) => out.push_str(v),
            None => tracing::warn!(placeholder = name, "demo-bank: no value for placeholder"),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    #[error("template {path}: {source}")]
    Template {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("file {path}: {source}")]
    File {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid header value: {0}")]
    Header(#[from] axum::http::header::InvalidHeaderValue),
}

impl IntoResponse for SiteError {
    fn into_response(self) -> Response {
        tracing::error!(error = %self, "demo-bank: internal error");
        let body = "<!DOCTYPE html><html lang=\"fr\"><head><meta charset=\"utf-8\"><title>Erreur</title></head>\
                    <body><h1>Erreur interne</h1><p>Une erreur est survenue. Veuillez réessayer plus tard.</p></body></html>";
        html_response(StatusCode::INTERNAL_SERVER_ERROR, body.to_string())
    }
}

/// Reads `<root>/<rel>` as UTF-8 text.
pub async fn load(root: &Path, rel: &str) -> Result<String, SiteError> {
    let path = root.join(rel);
    tokio::fs::read_to_string(&path)
        .await
        .map_err(|source| SiteError::Template {
            path: path.display().to_string(),
            source,
        })
}

/// Renders `pages/<page>.html` with `vars` inside `layout.html`. When `nav_name`
/// is set, the authenticated navigation bar is included.
pub async fn page(
    root: &Path,
    title: &str,
    nav_name: Option<&str>,
    page: &str,
    vars: &[(&str, Val)],
) -> Result<String, SiteError> {
    let content = substitute(&load(root, &format!("pages/{page}.html")).await?, vars);
    let nav = match nav_name {
        Some(name) => substitute(
            &load(root, "partials/nav.html").await?,
            &[("name", text(name))],
        ),
        None => String::new(),
    };
    let layout = load(root, "layout.html").await?;
    Ok(substitute(
        &layout,
        &[
            ("title", text(title)),
            ("nav", Val::Html(nav)),
            ("content", Val::Html(content)),
        ],
    ))
}

pub fn html_response(status: StatusCode, body: String) -> Response {
    let mut resp = (status, body).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

pub fn redirect(location: &str) -> Result<Response, SiteError> {
    let mut resp = StatusCode::SEE_OTHER.into_response();
    resp.headers_mut()
        .insert(header::LOCATION, HeaderValue::from_str(location)?);
    Ok(resp)
}

/// Appends one `Set-Cookie` header per entry.
pub fn with_cookies(mut resp: Response, cookies: &[String]) -> Result<Response, SiteError> {
    for c in cookies {
        resp.headers_mut()
            .append(header::SET_COOKIE, HeaderValue::from_str(c)?);
    }
    Ok(resp)
}

/// A full error page (404, 403, 503...) rendered with the layout.
pub async fn error_page(root: &Path, status: StatusCode, heading: &str, message: &str) -> Response {
    let vars = [("heading", text(heading)), ("message", text(message))];
    match page(root, heading, None, "error", &vars).await {
        Ok(body) => html_response(status, body),
        Err(e) => e.into_response(),
    }
}

pub async fn not_found(root: &Path, message: &str) -> Response {
    match page(
        root,
        "Page introuvable",
        None,
        "not-found",
        &[("message", text(message))],
    )
    .await
    {
        Ok(body) => html_response(StatusCode::NOT_FOUND, body),
        Err(e) => e.into_response(),
    }
}

/// A small test page: `title` as its `<title>` and `h1#title`, then `body` (markup).
pub fn test_page(title: &str, body: &str) -> Response {
    html_response(
        StatusCode::OK,
        format!(
            r#"<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>{title}</title></head>
<body>
<h1 id="title">{title}</h1>
{body}
</body></html>
"#
        ),
    )
}
