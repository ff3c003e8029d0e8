//! Pages that open tabs and make the browser download, for gleaner's tests of popups and
//! browser downloads (issue 13). Under `/popups/`:
//! - `opener`: `#link` (`target=_blank`), `#win` (`window.open`) and `#nothing` (opens
//!   nothing) open `/popups/child`; `#away` opens the URL in its `to` query;
//! - `child`: a statement (`tr.line`) in the new tab;
//! - `flood`: `#flood` calls `window.open` 100 times in one click;
//! - `bills`: one row per kind of browser download: a POST form answered as an attachment
//!   named `../../evil.pdf`, a link with `download`, a `blob:` URL made by script, and a PDF
//!   opened in a new tab; `bills?page=2` is a second page (`a.next` links to it);
//! - `big`: a POST form answered with 3 MiB (over a small cap).

use axum::Router;
use axum::extract::Query;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::render::html_response;

/// The routes, under `/popups/`.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/popups/opener", get(opener))
        .route("/popups/child", get(|| async { page("Relevé", CHILD) }))
        .route("/popups/flood", get(|| async { page("Fenêtres", FLOOD) }))
        .route("/popups/bills", get(bills))
        .route("/popups/big", get(|| async { page("Gros", BIG) }))
        .route(
            "/popups/file/post",
            post(|| async { pdf("../../evil.pdf", "post") }),
        )
        .route(
            "/popups/file/link.pdf",
            get(|| async { pdf("facture-lien.pdf", "link") }),
        )
        .route(
            "/popups/file/page2.pdf",
            get(|| async { pdf("page2.pdf", "page2") }),
        )
        .route("/popups/file/shown.pdf", get(shown_pdf))
        .route("/popups/file/big", post(big))
}

fn page(title: &str, body: &str) -> Response {
    html_response(
        StatusCode::OK,
        format!(
            "<!doctype html><html lang=fr><head><meta charset=utf-8><title>{title}</title></head><body>{body}</body></html>"
        ),
    )
}

#[derive(Deserialize)]
struct To {
    to: Option<String>,
}

async fn opener(Query(q): Query<To>) -> Response {
    let to = q.to.unwrap_or_else(|| "/popups/child".into());
    let to = attribute(&to);
    page(
        "Comptes",
        &format!(
            r#"<a id="link" href="/popups/child" target="_blank">Relevé</a>
<button id="win" onclick="window.open('/popups/child')">Relevé (fenêtre)</button>
<button id="nothing">Rien</button>
<button id="away" data-to="{to}" onclick="window.open(this.dataset.to)">Ailleurs</button>
<p id="here">Comptes</p>"#
        ),
    )
}

/// `s` safe inside a double-quoted attribute.
fn attribute(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

const CHILD: &str = r#"<h1 id="child">Relevé de novembre</h1>
<table><tr class="line"><td class="label">Loyer</td><td class="amount">-850,00</td></tr>
<tr class="line"><td class="label">Salaire</td><td class="amount">2 400,00</td></tr></table>"#;

const FLOOD: &str = r#"<button id="flood" onclick="for (let i = 0; i < 100; i++) window.open('/popups/child?n=' + i)">Ouvrir</button>"#;

#[derive(Deserialize)]
struct PageNo {
    page: Option<u32>,
}

async fn bills(Query(p): Query<PageNo>) -> Response {
    if p.page == Some(2) {
        return page(
            "Factures (2)",
            r#"<table><tr class="bill" data-id="F-4"><td class="id">F-4</td><td><a class="dl" href="/popups/file/page2.pdf" download>PDF</a></td></tr></table>"#,
        );
    }
    page("Factures", BILLS)
}

const BILLS: &str = r#"<table>
<tr class="bill"><td class="id">F-1</td><td><form method="post" action="/popups/file/post"><input type="hidden" name="id" value="F-1"><button class="dl">PDF</button></form></td></tr>
<tr class="bill"><td class="id">F-2</td><td><a class="dl" href="/popups/file/link.pdf" download="facture.pdf">PDF</a></td></tr>
<tr class="bill"><td class="id">F-3</td><td><button class="dl" id="blob">PDF</button></td></tr>
</table>
<table><tr class="shown"><td class="id">F-5</td><td><a class="open" href="/popups/file/shown.pdf" target="_blank">Voir</a></td></tr></table>
<a class="next" href="/popups/bills?page=2">Suivante</a>
<script>
document.getElementById('blob').addEventListener('click', () => {
  const blob = new Blob(['%PDF-1.4 blob F-3'], {type: 'application/pdf'});
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = 'blob-F-3.pdf';
  document.body.appendChild(a);
  a.click();
});
</script>"#;

const BIG: &str = r#"<table><tr class="bill"><td class="id">G-1</td><td><form method="post" action="/popups/file/big"><button class="dl">PDF</button></form></td></tr></table>"#;

/// A small PDF answered as an attachment named `name`.
fn pdf(name: &str, what: &str) -> Response {
    let mut resp = format!("%PDF-1.4 {what}\n%%EOF\n").into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/pdf"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    resp
}

/// A PDF shown inline (opened in a new tab).
async fn shown_pdf() -> Response {
    let mut resp = "%PDF-1.4 shown\n%%EOF\n".into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/pdf"),
    );
    resp
}

/// 3 MiB, streamed in chunks without a `Content-Length`, as an attachment.
async fn big() -> Response {
    let chunks = (0..48).map(|_| Ok::<_, std::io::Error>(vec![b'x'; 64 * 1024]));
    let body = axum::body::Body::from_stream(futures::stream::iter(chunks));
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/pdf"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"big.pdf\""),
    );
    resp
}
