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

/// Where a document of this content is stored: `<dir>/<sha256>.<ext>`.
pub fn stored_path(dir: &Path, sha256: &str, ext: &str) -> PathBuf {
    dir.join(format!("{sha256}.{ext}"))
}

/// The default `--max-document-size`: 100 MiB.
pub const DEFAULT_MAX_DOCUMENT_SIZE: u64 = 100 * 1024 * 1024;

/// A size as people write it: `100MiB`, `5MB`, `512 KiB`, `6GiB`, or bytes (`1048576`).
pub fn parse_size(text: &str) -> Result<u64, SizeError> {
    let size: bytesize::ByteSize = text
        .trim()
        .parse()
        .map_err(|_| SizeError(text.to_string()))?;
    match size.as_u64() {
        0 => Err(SizeError(text.to_string())),
        n => Ok(n),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a size: write e.g. 100MiB, 5MB or a number of bytes")]
pub struct SizeError(String);

/// A size for people: `100.0 MiB`.
pub fn show_size(bytes: u64) -> String {
    bytesize::ByteSize(bytes).display().iec().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_as_people_write_them() {
        assert_eq!(parse_size("100MiB"), Ok(100 * 1024 * 1024));
        assert_eq!(parse_size("100 MiB"), Ok(100 * 1024 * 1024));
        assert_eq!(parse_size("5MB"), Ok(5_000_000));
        assert_eq!(parse_size("8mib"), Ok(8 * 1024 * 1024));
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert_eq!(parse_size("6GiB"), Ok(6 << 30));
        assert!(parse_size("0").is_err());
        assert!(parse_size("lots").is_err());
        assert!(parse_size("5 parsecs").is_err());
        assert!(parse_size("").is_err());
        assert_eq!(show_size(DEFAULT_MAX_DOCUMENT_SIZE), "100.0 MiB");
    }

    #[test]
    fn stored_by_content() {
        let dir = Path::new("/data/documents");
        let digest = sha256_hex(b"%PDF-1.4 hello");
        assert_eq!(
            stored_path(dir, &digest, "pdf"),
            dir.join(format!("{digest}.pdf"))
        );
        assert_eq!(
            extension_for(Some("application/pdf; charset=binary"), "x"),
            "pdf"
        );
    }
}
