//! The keys of a document record.

/// The keys of a document record, as connectors may refer to them (`{{invoice.url}}`).
pub const DOCUMENT_KEYS: &[&str] = &[
    "id",
    "date",
    "amount",
    "currency",
    "url",
    "sha256",
    "bytes",
    "content_type",
    "file",
    "metadata",
];
