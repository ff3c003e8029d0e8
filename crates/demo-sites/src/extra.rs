//! Invoices added while the site runs, after those of `data.json`: a test adds one to see
//! a later collect download it alone.

use std::sync::{Arc, Mutex};

use crate::data::Invoice;

/// An invoice with its PDF bytes.
type Published = (Invoice, Vec<u8>);

/// Shared between the test (which adds) and the site (which lists and serves).
#[derive(Debug, Clone, Default)]
pub struct ExtraInvoices(Arc<Mutex<Vec<Published>>>);

impl ExtraInvoices {
    /// Publishes an invoice with its PDF bytes.
    pub fn add(&self, invoice: Invoice, pdf: Vec<u8>) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((invoice, pdf));
    }

    pub fn list(&self) -> Vec<Invoice> {
        let all = self.0.lock().unwrap_or_else(|e| e.into_inner());
        all.iter().map(|(i, _)| i.clone()).collect()
    }

    pub fn pdf(&self, id: &str) -> Option<(Invoice, Vec<u8>)> {
        let all = self.0.lock().unwrap_or_else(|e| e.into_inner());
        all.iter().find(|(i, _)| i.id == id).cloned()
    }
}
