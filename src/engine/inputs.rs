//! What a run is given about the account: its field values, where the site is, and what
//! was collected before.

use std::collections::HashSet;

use indexmap::IndexMap;
use url::Url;

use crate::browser::BrowserState;

/// The account's values, where the site is, and what was collected before.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// Field values by name (secrets included; they go to `fill` only).
    pub fields: IndexMap<String, String>,
    /// The connector's `base_url`, or the override.
    pub base_url: Url,
    /// Documents collected before: not downloaded again.
    pub known_documents: KnownDocuments,
    /// Documents dated before this day are skipped.
    pub since: Option<chrono::NaiveDate>,
    /// The browser state kept from the last collect: restored before the first
    /// navigation, and tested by the connector's `session.check`.
    pub browser_state: Option<BrowserState>,
    /// Hosts allowed besides the connector's `domains`, for a run against a fixture whose
    /// other hosts live elsewhere than in production (`gleaner run --domain`).
    pub extra_domains: Vec<String>,
}

/// The documents a credential already has, by the site's id and by content.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KnownDocuments {
    /// The site's own ids of the documents.
    pub ids: HashSet<String>,
    /// The sha256 (hex) of their contents.
    pub sha256s: HashSet<String>,
}

impl Inputs {
    pub fn new(fields: IndexMap<String, String>, base_url: Url) -> Inputs {
        Inputs {
            fields,
            base_url,
            known_documents: Default::default(),
            since: None,
            browser_state: None,
            extra_domains: Vec::new(),
        }
    }
}
