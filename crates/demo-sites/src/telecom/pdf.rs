//! Small, valid, deterministic one-page PDFs, laid out like the demo bank's invoices
//! (`fixtures/demo-bank/invoices/`): a catalog, one page of Helvetica text, an info
//! dictionary and an exact cross-reference table. The output is pure ASCII (text is
//! WinAnsi with octal escapes, no binary comment line), so the `blob:` download's script
//! can carry the same bytes in a JavaScript string.

use super::data::{self, Bill};

/// A line of text: its size in points and what it says.
struct Text<'a>(u8, &'a str);

/// The PDF of a bill, as `POST /bills/download` sends it.
pub fn bill(bill: &Bill) -> Vec<u8> {
    let title = format!("Demo Telecom \u{2014} Facture {}", bill.id);
    let date = format!("Date : {}", bill.date);
    let customer = format!("Client : {}", data::CUSTOMER_ID);
    let label = format!("Objet : {}", bill.label);
    let amount = format!("Montant : {}", bill.amount());
    document(
        &format!("Facture {}", bill.id),
        &creation_date(bill.date),
        &[
            Text(20, &title),
            Text(12, &date),
            Text(12, &customer),
            Text(12, &label),
            Text(12, &amount),
        ],
    )
}

/// The contract, as `/contract.pdf` shows it in a new tab.
pub fn contract() -> Vec<u8> {
    let customer = format!(
        "Client : {} \u{2014} {}",
        data::CUSTOMER_ID,
        data::CUSTOMER_NAME
    );
    let offer = format!("Offre : {}", data::OFFER);
    document(
        "Contrat d\u{2019}abonnement",
        "D:20251201090000Z",
        &[
            Text(20, "Demo Telecom \u{2014} Contrat d\u{2019}abonnement"),
            Text(12, &customer),
            Text(12, &offer),
            Text(12, "Date d\u{2019}effet : 01/12/2025"),
        ],
    )
}

/// The usage statement the `/bills` page builds in script (a `blob:` download). It says
/// nothing of the usage figures, which only `/api/usage` serves.
pub fn statement() -> Vec<u8> {
    let customer = format!("Client : {}", data::CUSTOMER_ID);
    document(
        "Relev\u{e9} de consommation",
        "D:20260331090000Z",
        &[
            Text(20, "Demo Telecom \u{2014} Relev\u{e9} de consommation"),
            Text(12, &customer),
            Text(12, "P\u{e9}riode : 01/01/2026 \u{2013} 31/03/2026"),
        ],
    )
}

/// `dd/mm/yyyy` → `D:yyyymmdd080000Z`.
fn creation_date(date: &str) -> String {
    let mut parts = date.split('/');
    let (d, m, y) = (
        parts.next().unwrap_or("01"),
        parts.next().unwrap_or("01"),
        parts.next().unwrap_or("2026"),
    );
    format!("D:{y}{m}{d}080000Z")
}

fn document(title: &str, created: &str, lines: &[Text<'_>]) -> Vec<u8> {
    let mut content = String::from("BT\n");
    let mut y = 760;
    for Text(size, text) in lines {
        content.push_str(&format!(
            "/F1 {size} Tf\n1 0 0 1 72 {y} Tm\n({}) Tj\n",
            pdf_text(text)
        ));
        y -= if *size > 12 { 40 } else { 20 };
    }
    content.push_str(&format!(
        "/F1 9 Tf\n1 0 0 1 72 120 Tm\n({}) Tj\nET\n",
        pdf_text(
            "Demo Telecom SA \u{2014} 2 avenue de la D\u{e9}mo, 69002 Lyon \u{2014} document de d\u{e9}monstration"
        )
    ));
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>".to_string(),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_string(),
        format!("<< /Length {} >>\nstream\n{content}endstream", content.len()),
        format!(
            "<< /Title ({}) /Producer (Demo Telecom) /CreationDate ({created}) >>",
            pdf_text(title)
        ),
    ];
    let mut out = String::from("%PDF-1.4\n");
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.push_str(&format!("{} 0 obj\n{body}\nendobj\n", i + 1));
    }
    let xref = out.len();
    out.push_str(&format!(
        "xref\n0 {}\n0000000000 65535 f \n",
        objects.len() + 1
    ));
    for offset in offsets {
        out.push_str(&format!("{offset:010} 00000 n \n"));
    }
    out.push_str(&format!(
        "trailer\n<< /Size {} /Root 1 0 R /Info 6 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    ));
    out.into_bytes()
}

/// A PDF string's content in WinAnsi, ASCII only: `( ) \` escaped, the few non-ASCII
/// characters the site writes as octal escapes, anything else as `?`.
fn pdf_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '(' | ')' | '\\' => {
                out.push('\\');
                out.push(ch);
            }
            ' '..='~' => out.push(ch),
            _ => {
                let code: Option<u8> = match ch {
                    '\u{20ac}' => Some(0o200),
                    '\u{2019}' => Some(0o222),
                    '\u{2013}' => Some(0o226),
                    '\u{2014}' => Some(0o227),
                    '\u{a0}' | '\u{202f}' => Some(0o240),
                    // Latin-1 letters are their own WinAnsi codes.
                    c @ '\u{c0}'..='\u{ff}' => u8::try_from(u32::from(c)).ok(),
                    _ => None,
                };
                match code {
                    Some(c) => out.push_str(&format!("\\{c:03o}")),
                    None => out.push('?'),
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cross-reference table points at each object, and `startxref` at the table.
    fn assert_valid(pdf: &[u8]) {
        let text = std::str::from_utf8(pdf).expect("ASCII");
        assert!(text.is_ascii() && text.starts_with("%PDF-1.4\n") && text.ends_with("%%EOF\n"));
        let startxref: usize = text
            .rsplit("startxref\n")
            .next()
            .and_then(|t| t.lines().next())
            .and_then(|n| n.parse().ok())
            .expect("startxref");
        assert!(text[startxref..].starts_with("xref\n0 7\n"));
        let entries = text[startxref..].lines().skip(3).take(6);
        for (i, entry) in entries.enumerate() {
            let offset: usize = entry[..10].parse().expect("offset");
            assert!(
                text[offset..].starts_with(&format!("{} 0 obj\n", i + 1)),
                "object {}",
                i + 1
            );
        }
        let stream = &text[text.find(">>\nstream\n").expect("stream") + ">>\nstream\n".len()..];
        let length: usize = text
            .split("/Length ")
            .nth(1)
            .and_then(|t| t.split(' ').next())
            .and_then(|n| n.parse().ok())
            .expect("length");
        assert!(stream[length..].starts_with("endstream"));
    }

    #[test]
    fn the_documents_are_valid_and_distinct() {
        let all: Vec<Vec<u8>> = data::BILLS
            .iter()
            .map(bill)
            .chain([contract(), statement()])
            .collect();
        for pdf in &all {
            assert_valid(pdf);
        }
        for (i, a) in all.iter().enumerate() {
            assert!(all[i + 1..].iter().all(|b| a != b));
        }
        let first = String::from_utf8(bill(&data::BILLS[0])).expect("ASCII");
        assert!(first.contains("(Montant : 54,98\\240\\200) Tj"));
        assert!(first.contains("(Demo Telecom \\227 Facture FAC-2026-03) Tj"));
        assert!(first.contains("/CreationDate (D:20260305080000Z)"));
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(pdf_text("a(b)\\ é€ 中"), "a\\(b\\)\\\\ \\351\\200 ?");
    }
}
