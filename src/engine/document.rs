//! Document records: the main output of a collect. Files are stored by content (sha256).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

pub use crate::connector::plan::DOCUMENT_KEYS;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentRecord {
    /// The site's own id for the document, when the connector gives one.
    pub id: Option<String>,
    /// ISO 8601 date.
    pub date: Option<String>,
    pub amount: Option<f64>,
    pub currency: Option<String>,
    pub url: String,
    pub sha256: String,
    pub bytes: u64,
    pub content_type: Option<String>,
    /// Where the file was written.
    pub file: PathBuf,
    /// Any other field the connector extracted for it.
    pub metadata: Map<String, Value>,
}

impl DocumentRecord {
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A file extension for a content type, so stored files open with the right program.
pub fn extension_for(content_type: Option<&str>, url: &str) -> &'static str {
    let ct = content_type
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match ct.as_str() {
        "application/pdf" => "pdf",
        "text/html" => "html",
        "text/csv" => "csv",
        "application/json" => "json",
        "image/png" => "png",
        "image/jpeg" => "jpg",
        "application/zip" => "zip",
        _ if url
            .to_ascii_lowercase()
            .split('?')
            .next()
            .unwrap_or("")
            .ends_with(".pdf") =>
        {
            "pdf"
        }
        _ => "bin",
    }
}

/// Writes `bytes` as `<dir>/<digest>.<ext>`, atomically (temp file, then rename), and
/// returns the path. `digest` is [`sha256_hex`] of the bytes, which the caller has already
/// computed to recognise a document collected before. The same content is written once.
pub fn store(dir: &Path, bytes: &[u8], digest: &str, ext: &str) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!("{digest}.{ext}"));
    if !path.exists() {
        let tmp = dir.join(format!(".{digest}.{}.part", std::process::id()));
        crate::secrets::private_file::write(&tmp, bytes)?;
        std::fs::rename(&tmp, &path)?;
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_by_content() {
        let dir = tempfile::tempdir().unwrap();
        let digest = sha256_hex(b"%PDF-1.4 hello");
        let p1 = store(dir.path(), b"%PDF-1.4 hello", &digest, "pdf").unwrap();
        let p2 = store(dir.path(), b"%PDF-1.4 hello", &digest, "pdf").unwrap();
        assert_eq!(p1, p2);
        assert_eq!(p1, dir.path().join(format!("{digest}.pdf")));
        assert_eq!(std::fs::read(p1).unwrap(), b"%PDF-1.4 hello");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        assert_eq!(
            extension_for(Some("application/pdf; charset=binary"), "x"),
            "pdf"
        );
    }
}
