//! The connectors a service offers: every `*.yaml` of a directory, loaded and checked at
//! start-up, so that a broken file stops the start with its `file:line:col` problems
//! rather than failing a person's collect later.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::load::{LoadError, load};
use super::plan::Plan;

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("cannot read the connectors directory {}: {source}", path.display())]
    Dir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Load(#[from] LoadError),
    #[error("{first} and {second} both declare the connector id {id:?}")]
    Duplicate {
        id: String,
        first: String,
        second: String,
    },
}

/// Connectors by id.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    connectors: BTreeMap<String, (Arc<Plan>, PathBuf)>,
}

impl Catalog {
    /// Loads every `*.yaml` / `*.yml` file of `dir` (not recursively).
    pub fn load_dir(dir: &Path) -> Result<Catalog, CatalogError> {
        let entries = std::fs::read_dir(dir).map_err(|source| CatalogError::Dir {
            path: dir.to_path_buf(),
            source,
        })?;
        let mut paths: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.is_file()
                    && matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
            })
            .collect();
        paths.sort();
        let mut catalog = Catalog::default();
        for path in paths {
            let connector = load(&path)?;
            catalog.insert(connector, path)?;
        }
        Ok(catalog)
    }

    pub fn insert(&mut self, connector: Plan, path: PathBuf) -> Result<(), CatalogError> {
        let id = connector.id.clone();
        if let Some((_, first)) = self.connectors.get(&id) {
            return Err(CatalogError::Duplicate {
                id,
                first: first.display().to_string(),
                second: path.display().to_string(),
            });
        }
        self.connectors.insert(id, (Arc::new(connector), path));
        Ok(())
    }

    pub fn get(&self, id: &str) -> Option<Arc<Plan>> {
        self.connectors.get(id).map(|(c, _)| c.clone())
    }

    /// Every connector, by id.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Plan>> {
        self.connectors.values().map(|(c, _)| c)
    }

    pub fn len(&self) -> usize {
        self.connectors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.connectors.is_empty()
    }
}
