//! `/bills`: the bills table and the three ways its documents arrive.
//! - each row's "Télécharger" button submits a `POST /bills/download` form (hidden `bill`
//!   field) answered with `Content-Disposition: attachment`, after a
//!   `confirm("Télécharger la facture ?")`: dismissed, nothing is sent;
//! - "Relevé de consommation" builds its PDF in script: a `blob:` URL clicked through an
//!   `<a download="releve.pdf">`;
//! - "Contrat" opens `/contract.pdf` in a new tab, shown inline.
//!
//! Query parameters, for tests: `page=2` (2 bills a page, `a.next` links on);
//! `evil=1` makes every form post to `/bills/download?evil=1`, whose answer names the file
//! `../../evil.pdf`; `confirm=0` leaves the `confirm` out.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::TelecomState;
use super::data::{self, BILLS, BILLS_PER_PAGE, Bill};
use super::pages::{self, Shell};
use super::pdf;
use super::portal::customer;
use crate::render::{self, SiteError, escape_html};

/// The confirm's question.
pub const CONFIRM_QUESTION: &str = "Télécharger la facture ?";

/// What the query asks of the page.
struct Variant {
    page: usize,
    evil: bool,
    confirm: bool,
}

impl Variant {
    fn from_query(q: &HashMap<String, String>) -> Option<Variant> {
        let page = match q.get("page") {
            None => 1,
            Some(p) => p.trim().parse().ok()?,
        };
        Some(Variant {
            page,
            evil: q.get("evil").is_some_and(|v| v == "1"),
            confirm: q.get("confirm").is_none_or(|v| v != "0"),
        })
    }

    /// The query of another page of the same variant.
    fn link(&self, page: usize) -> String {
        let mut query = format!("?page={page}");
        if self.evil {
            query.push_str("&evil=1");
        }
        if !self.confirm {
            query.push_str("&confirm=0");
        }
        query
    }
}

fn row(bill: &Bill, action: &str) -> String {
    format!(
        r#"    <tr class="bill" data-id="{id}"><td class="id">{id}</td><td class="date">{date}</td><td class="label">{label}</td><td class="amount">{amount}</td>
      <td><form class="download" method="post" action="{action}"><input type="hidden" name="bill" value="{id}"><button class="download" type="submit">Télécharger</button></form></td></tr>
"#,
        id = bill.id,
        date = bill.date,
        label = escape_html(bill.label),
        amount = escape_html(&bill.amount()),
    )
}

pub async fn page(
    State(site): State<Arc<TelecomState>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, SiteError> {
    if customer(&site, &headers).is_none() {
        return render::redirect("/login");
    }
    let pages_count = BILLS.len().div_ceil(BILLS_PER_PAGE);
    let Some(v) = Variant::from_query(&q).filter(|v| (1..=pages_count).contains(&v.page)) else {
        return Ok(pages::not_found(headers).await);
    };
    let action = if v.evil {
        "/bills/download?evil=1"
    } else {
        "/bills/download"
    };
    let rows: String = BILLS
        .iter()
        .skip((v.page - 1) * BILLS_PER_PAGE)
        .take(BILLS_PER_PAGE)
        .map(|b| row(b, action))
        .collect();
    let prev = if v.page > 1 {
        format!(
            r#"<a class="prev" href="/bills{}">Précédent</a>"#,
            escape_html(&v.link(v.page - 1))
        )
    } else {
        String::new()
    };
    let next = if v.page < pages_count {
        format!(
            r#"<a class="next" href="/bills{}">Suivant</a>"#,
            escape_html(&v.link(v.page + 1))
        )
    } else {
        String::new()
    };
    let confirm = if v.confirm {
        confirm_script()
    } else {
        String::new()
    };
    // ASCII bytes, so the JavaScript string (UTF-16) turns back into the same bytes in the
    // Blob (UTF-8).
    let statement = String::from_utf8_lossy(&pdf::statement()).into_owned();
    let statement = serde_json::to_string(&statement).unwrap_or_default();
    let content = format!(
        r#"<table id="bills">
  <thead><tr><th>Référence</th><th>Date</th><th>Libellé</th><th>Montant</th><th>Document</th></tr></thead>
  <tbody>
{rows}  </tbody>
</table>
<p class="pagination">{prev} <span class="page">Page {page} / {pages_count}</span> {next}</p>
<p class="documents">
  <button id="releve" type="button">Relevé de consommation</button>
  <a id="contract" href="/contract.pdf" target="_blank">Contrat</a>
</p>
{confirm}<script>
// The statement is made here, in the page: nothing on the server answers for it.
document.getElementById('releve').addEventListener('click', () => {{
  const blob = new Blob([{statement}], {{ type: 'application/pdf' }});
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = 'releve.pdf';
  document.body.appendChild(a);
  a.click();
  a.remove();
}});
</script>"#,
        page = v.page,
    );
    Ok(Shell::new("Mes factures", Some(data::CUSTOMER_NAME), &headers).render(&content))
}

/// Asks before each bill's form is sent; dismissed, the submission is cancelled.
fn confirm_script() -> String {
    let question = serde_json::to_string(CONFIRM_QUESTION).unwrap_or_default();
    format!(
        r#"<script>
for (const form of document.querySelectorAll('form.download')) {{
  form.addEventListener('submit', (e) => {{
    if (!confirm({question})) e.preventDefault();
  }});
}}
</script>
"#
    )
}

#[derive(Debug, Default, Deserialize)]
pub struct DownloadForm {
    #[serde(default)]
    bill: String,
}

fn pdf_response(bytes: Vec<u8>, disposition: &str) -> Result<Response, SiteError> {
    let mut resp = (StatusCode::OK, bytes).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/pdf"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(disposition)?,
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(resp)
}

fn forbidden() -> Response {
    (
        StatusCode::FORBIDDEN,
        "Vous devez être connecté pour télécharger ce document.\n",
    )
        .into_response()
}

/// `POST /bills/download` (`bill=FAC-…`); with `?evil=1` the same PDF under a file name
/// that climbs out of any directory it would be joined to.
pub async fn download(
    State(site): State<Arc<TelecomState>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
    Form(form): Form<DownloadForm>,
) -> Result<Response, SiteError> {
    if customer(&site, &headers).is_none() {
        return Ok(forbidden());
    }
    let Some(bill) = data::bill(&form.bill) else {
        return Ok(pages::not_found(headers).await);
    };
    let name = if q.get("evil").is_some_and(|v| v == "1") {
        data::EVIL_FILE_NAME
    } else {
        bill.file_name
    };
    pdf_response(pdf::bill(bill), &format!("attachment; filename=\"{name}\""))
}

/// The contract, shown in the tab `a#contract` opens.
pub async fn contract(
    State(site): State<Arc<TelecomState>>,
    headers: HeaderMap,
) -> Result<Response, SiteError> {
    if customer(&site, &headers).is_none() {
        return Ok(forbidden());
    }
    pdf_response(
        pdf::contract(),
        &format!("inline; filename=\"{}\"", data::CONTRACT_FILE_NAME),
    )
}
