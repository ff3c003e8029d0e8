//! Files the browser downloads after a click (issue 13): a POST form answered as an
//! attachment, a link with `download`, a `blob:` URL, a PDF opened in a new tab; the
//! suggested name is metadata only; over the cap, the download is canceled.

use std::path::Path;

use gleaner::codes::{ErrorKind, State};

use crate::common::{self, Codes};

fn connector(steps: &str) -> gleaner::connector::Plan {
    common::connector("browser-downloads", "", steps)
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

const BILLS: &str = "  - goto: /popups/bills
  - download:
      as: bills
      rows: tr.bill
      click: .dl
      fields: { id: { css: .id } }
";

#[tokio::test]
async fn a_click_takes_the_file_the_browser_downloads() {
    let site = common::demo_site().await;
    let plan = connector(BILLS);
    let started = std::time::Instant::now();
    let run = common::collect(&site, &plan, "alice", "demo", Codes::Nobody).await;
    let outcome = run.outcome();
    eprintln!("3 click downloads in {:?}", started.elapsed());
    assert_eq!(run.final_state(), State::Done);
    let docs = &outcome.documents;
    assert_eq!(docs.len(), 3, "{docs:#?}");
    let by_id = |id: &str| docs.iter().find(|d| d.id.as_deref() == Some(id)).unwrap();
    for (id, body) in [
        ("F-1", "%PDF-1.4 post\n%%EOF\n"),
        ("F-2", "%PDF-1.4 link\n%%EOF\n"),
        ("F-3", "%PDF-1.4 blob F-3"),
    ] {
        let d = by_id(id);
        assert_eq!(std::fs::read_to_string(&d.file).unwrap(), body, "{id}");
        assert_eq!(
            d.sha256,
            gleaner::engine::document::sha256_hex(body.as_bytes())
        );
        assert_eq!(d.bytes, body.len() as u64);
        assert_eq!(d.content_type.as_deref(), Some("application/pdf"), "{id}");
        assert!(d.file.starts_with(run.out_dir.path()), "{id}: {:?}", d.file);
    }
    // The POST's `Content-Disposition` said `../../evil.pdf`: shown as a plain name, and
    // nothing was written anywhere but the output directory's content-named files.
    // (Chromium already makes it `_.._evil.pdf`; gleaner keeps the last path component.)
    let evil = by_id("F-1").metadata["filename"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        evil.ends_with("evil.pdf") && !evil.contains('/') && !evil.contains('\\'),
        "{evil}"
    );
    assert_eq!(by_id("F-2").metadata["filename"], "facture-lien.pdf");
    assert_eq!(by_id("F-3").metadata["filename"], "blob-F-3.pdf");
    assert!(
        by_id("F-3").url.starts_with("blob:"),
        "{}",
        by_id("F-3").url
    );
    let mut written: Vec<_> = files_under(run.out_dir.path());
    written.sort();
    assert_eq!(written.len(), 3, "{written:?}");
    for f in &written {
        let name = f.file_name().unwrap().to_string_lossy();
        assert!(name.ends_with(".pdf") && name.len() == 64 + 4, "{name}");
    }
    let parent = run.out_dir.path().parent().unwrap();
    assert!(!parent.join("evil.pdf").exists());
    assert!(!run.out_dir.path().join("evil.pdf").exists());
}

/// The same file by URL (today's download) and by a click, for the numbers.
#[tokio::test]
async fn a_click_download_and_a_url_download_of_the_same_file() {
    let site = common::demo_site().await;
    let by_click = connector(
        "  - goto: /popups/bills?page=2
  - download: { as: bills, rows: tr.bill, click: a.dl }
",
    );
    let by_url = connector(
        "  - goto: /popups/bills?page=2
  - download: { as: bills, rows: tr.bill, url: { css: a.dl, link: true } }
",
    );
    let mut shas = Vec::new();
    for (what, plan) in [("click", by_click), ("url", by_url)] {
        let started = std::time::Instant::now();
        let run = common::collect(&site, &plan, "alice", "demo", Codes::Nobody).await;
        let d = &run.outcome().documents[0];
        eprintln!(
            "{what}: the document in {:?} (whole collect)",
            started.elapsed()
        );
        shas.push(d.sha256.clone());
    }
    assert_eq!(shas[0], shas[1]);
}

#[tokio::test]
async fn a_pdf_opened_in_a_new_tab_is_taken() {
    let site = common::demo_site().await;
    let plan = connector(
        "  - goto: /popups/bills
  - download: { as: shown, rows: tr.shown, click: a.open, popup: true, fields: { id: { css: .id } } }
  - wait: { selector: 'a.next', timeout: 5s }
",
    );
    let run = common::collect(&site, &plan, "alice", "demo", Codes::Nobody).await;
    let d = &run.outcome().documents[0];
    assert_eq!(
        std::fs::read_to_string(&d.file).unwrap(),
        "%PDF-1.4 shown\n%%EOF\n"
    );
    assert!(d.url.ends_with("/popups/file/shown.pdf"), "{}", d.url);
}

#[tokio::test]
async fn download_follows_paginate() {
    let site = common::demo_site().await;
    let plan = connector(
        "  - goto: /popups/bills
  - download:
      as: bills
      rows: tr.bill
      click: .dl
      fields: { id: { css: .id } }
      paginate: { next: a.next, max_pages: 2 }
",
    );
    let run = common::collect(&site, &plan, "alice", "demo", Codes::Nobody).await;
    let ids: Vec<_> = run
        .outcome()
        .documents
        .iter()
        .map(|d| d.id.clone().unwrap())
        .collect();
    assert_eq!(ids, ["F-1", "F-2", "F-3", "F-4"]);
}

/// 3 MiB against a 1 MiB cap: canceled, nothing kept, a clear error. Control: with the
/// default cap the same file is taken.
#[tokio::test]
async fn a_browser_download_over_the_cap_is_canceled() {
    let site = common::demo_site().await;
    let plan = connector(
        "  - goto: /popups/big
  - download: { as: big, rows: tr.bill, click: .dl }
",
    );
    let run = common::collect_tuned(&site, &plan, "alice", "demo", Codes::Nobody, |o| {
        o.engine.max_document_size = 1 << 20;
    })
    .await;
    let e = run.error();
    assert_eq!(e.code.kind, ErrorKind::ConnectorError, "{e:?}");
    assert!(e.message.contains("too large"), "{}", e.message);
    assert!(e.message.contains("--max-document-size"), "{}", e.message);
    assert!(files_under(run.out_dir.path()).is_empty());

    let control = common::collect(&site, &plan, "alice", "demo", Codes::Nobody).await;
    assert_eq!(control.outcome().documents[0].bytes, 3 << 20);
}
