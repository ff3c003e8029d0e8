//! Name resolution for the egress proxy, pinned for the browser's life: the first answer
//! for a name is the only one used, so a site cannot rebind its name to 127.0.0.1 or
//! 169.254.169.254 once the page runs (DNS rebinding).

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;

/// Where addresses come from: the system resolver, or a script in tests.
pub trait Lookup: Send + Sync {
    fn lookup<'a>(&'a self, name: &'a str) -> BoxFuture<'a, io::Result<Vec<IpAddr>>>;
}

/// The system resolver (`getaddrinfo`, through tokio).
pub struct SystemLookup;

impl Lookup for SystemLookup {
    fn lookup<'a>(&'a self, name: &'a str) -> BoxFuture<'a, io::Result<Vec<IpAddr>>> {
        Box::pin(async move {
            let addrs = tokio::net::lookup_host((name, 0)).await?;
            Ok(addrs.map(|a| a.ip()).collect())
        })
    }
}

/// A resolver that answers each name once and then always the same.
pub struct PinnedResolver {
    lookup: Box<dyn Lookup>,
    pins: Mutex<HashMap<String, Arc<[IpAddr]>>>,
}

impl PinnedResolver {
    pub fn new(lookup: Box<dyn Lookup>) -> PinnedResolver {
        PinnedResolver {
            lookup,
            pins: Mutex::new(HashMap::new()),
        }
    }

    /// The addresses of `name` (lowercase, without a trailing dot), pinned at the first
    /// successful lookup. A failed lookup pins nothing, so a later try may succeed.
    pub async fn addresses(&self, name: &str) -> io::Result<Arc<[IpAddr]>> {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        if let Some(pinned) = self.pinned(&name) {
            return Ok(pinned);
        }
        let found: Arc<[IpAddr]> = self.lookup.lookup(&name).await?.into();
        if found.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{name} has no address"),
            ));
        }
        // Two lookups of one name may run at once; the first to finish is the pin.
        let mut pins = self.pins.lock().unwrap_or_else(|e| e.into_inner());
        Ok(pins.entry(name).or_insert(found).clone())
    }

    fn pinned(&self, name: &str) -> Option<Arc<[IpAddr]>> {
        self.pins
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Answers with the next address of its script at each lookup.
    struct Rebinding {
        answers: Vec<IpAddr>,
        calls: AtomicUsize,
    }

    impl Lookup for Rebinding {
        fn lookup<'a>(&'a self, _name: &'a str) -> BoxFuture<'a, io::Result<Vec<IpAddr>>> {
            let i = self.calls.fetch_add(1, Ordering::SeqCst);
            let answer = self.answers[i.min(self.answers.len() - 1)];
            Box::pin(async move { Ok(vec![answer]) })
        }
    }

    #[tokio::test]
    async fn the_first_answer_is_kept_when_the_name_is_rebound() {
        let public: IpAddr = "93.184.216.34".parse().unwrap();
        let metadata: IpAddr = "169.254.169.254".parse().unwrap();
        let r = PinnedResolver::new(Box::new(Rebinding {
            answers: vec![public, metadata],
            calls: AtomicUsize::new(0),
        }));
        assert_eq!(&*r.addresses("bank.example").await.unwrap(), &[public]);
        assert_eq!(&*r.addresses("BANK.example.").await.unwrap(), &[public]);
        // The name did rebind: asking the script again gives the metadata address.
        assert_eq!(
            &*r.lookup.lookup("bank.example").await.unwrap(),
            &[metadata]
        );
    }
}
