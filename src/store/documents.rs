//! Documents: the downloaded files' records. The files themselves live in the document
//! directory, named by content ([`Document::file_name`]).

use serde_json::{Map, Value};
use sqlx::FromRow;

use super::change::Change;
use super::columns::{new_id, now_ms, parse_json, rfc3339, to_json};
use super::db::Store;
use super::error::StoreError;
use super::outbox;
use super::types::{Document, NewDocument};

/// `SELECT <the columns of DocumentRow> FROM documents <tail>`.
macro_rules! select_documents {
    ($tail:literal) => {
        concat!(
            "SELECT id, credential_id, collect_id, list, doc_id, sha256, ext, content_type, ",
            "bytes, url, date, amount, currency, metadata, created_at FROM documents ",
            $tail
        )
    };
}

#[derive(FromRow)]
struct DocumentRow {
    id: String,
    credential_id: String,
    collect_id: String,
    list: String,
    doc_id: Option<String>,
    sha256: String,
    ext: String,
    content_type: Option<String>,
    bytes: i64,
    url: String,
    date: Option<String>,
    amount: Option<f64>,
    currency: Option<String>,
    metadata: String,
    created_at: i64,
}

impl DocumentRow {
    fn into_document(self) -> Result<Document, StoreError> {
        let metadata: Map<String, Value> =
            parse_json(&format!("document {} metadata", self.id), &self.metadata)?;
        let bytes = u64::try_from(self.bytes).map_err(|_| {
            StoreError::Corrupt(format!("document {} bytes {}", self.id, self.bytes))
        })?;
        Ok(Document {
            id: self.id,
            credential_id: self.credential_id,
            collect_id: self.collect_id,
            list: self.list,
            doc_id: self.doc_id,
            sha256: self.sha256,
            content_type: self.content_type,
            bytes,
            url: self.url,
            date: self.date,
            amount: self.amount,
            currency: self.currency,
            metadata,
            created_at: rfc3339(self.created_at),
            ext: self.ext,
        })
    }
}

/// The extension of the stored file, as the engine named it; `bin` when it has none.
fn extension(new: &NewDocument) -> String {
    new.record
        .file
        .extension()
        .and_then(|e| e.to_str())
        .filter(|e| !e.is_empty() && e.chars().all(|c| c.is_ascii_alphanumeric()))
        .unwrap_or("bin")
        .to_string()
}

impl Store {
    /// Records a document of a collect, with its `document.new` webhook event. Fails with
    /// `NotFound` if the collect does not exist or belongs to another credential.
    pub async fn add_document(&self, new: NewDocument) -> Result<Document, StoreError> {
        let id = new_id();
        let now = now_ms();
        let ext = extension(&new);
        let r = &new.record;
        let bytes = i64::try_from(r.bytes)
            .map_err(|_| StoreError::Corrupt(format!("document of {} bytes", r.bytes)))?;
        let mut tx = self.pool.begin().await?;
        // One statement: the insert happens only if the collect is the credential's.
        let inserted = sqlx::query(
            "INSERT INTO documents (id, credential_id, collect_id, list, doc_id, sha256, ext, \
             content_type, bytes, url, date, amount, currency, metadata, created_at) \
             SELECT $1, credential_id, id, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13 \
             FROM collects WHERE id = $14 AND credential_id = $15",
        )
        .bind(&id)
        .bind(&new.list)
        .bind(&r.id)
        .bind(&r.sha256)
        .bind(&ext)
        .bind(&r.content_type)
        .bind(bytes)
        .bind(&r.url)
        .bind(&r.date)
        .bind(r.amount)
        .bind(&r.currency)
        .bind(to_json(&r.metadata))
        .bind(now)
        .bind(&new.collect_id)
        .bind(&new.credential_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            return Err(StoreError::NotFound(format!(
                "collect {} of credential {}",
                new.collect_id, new.credential_id
            )));
        }
        let document = Document {
            id,
            credential_id: new.credential_id,
            collect_id: new.collect_id,
            list: new.list,
            doc_id: new.record.id,
            sha256: new.record.sha256,
            content_type: new.record.content_type,
            bytes: new.record.bytes,
            url: new.record.url,
            date: new.record.date,
            amount: new.record.amount,
            currency: new.record.currency,
            metadata: new.record.metadata,
            created_at: rfc3339(now),
            ext,
        };
        let change = Change::DocumentAdded {
            document: &document,
        };
        outbox::record(&mut tx, &self.outbox, change, now).await?;
        tx.commit().await?;
        self.outbox.written();
        Ok(document)
    }

    /// The collect's documents, in the order they were added.
    pub async fn documents_of_collect(
        &self,
        collect_id: &str,
    ) -> Result<Vec<Document>, StoreError> {
        let rows: Vec<DocumentRow> = sqlx::query_as(select_documents!(
            "WHERE collect_id = $1 ORDER BY created_at, id"
        ))
        .bind(collect_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(DocumentRow::into_document).collect()
    }

    pub async fn document(&self, id: &str) -> Result<Option<Document>, StoreError> {
        let row: Option<DocumentRow> = sqlx::query_as(select_documents!("WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(DocumentRow::into_document).transpose()
    }
}
