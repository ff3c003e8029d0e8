//! The webhook configuration as given (URL, secret, retry policy, extra roots) and
//! validated ([`Webhooks`]: the signing key, the roots read), with the request's signature.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use url::Url;

use super::retry::backoff;

/// Where and how webhooks are sent. Without a URL, no event is written or sent.
#[derive(Clone)]
pub struct WebhookConfig {
    pub url: Option<Url>,
    /// `whsec_<base64>`, as Standard Webhooks defines it (24 to 64 bytes once decoded).
    pub secret: Option<String>,
    /// Attempts before an event is dead (the first one included).
    pub max_attempts: u32,
    /// The backoff's base: the first retry comes within this delay.
    pub first_retry: Duration,
    /// The backoff's cap.
    pub max_retry: Duration,
    /// Per attempt, from connecting to the end of the response.
    pub timeout: Duration,
    /// A PEM file of extra trusted root certificates (one or more) for an `https://`
    /// receiver behind an internal CA. They are trusted in addition to the system's roots.
    pub ca_file: Option<PathBuf>,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            url: None,
            secret: None,
            max_attempts: 8,
            first_retry: Duration::from_secs(5),
            max_retry: Duration::from_secs(3600),
            timeout: Duration::from_secs(10),
            ca_file: None,
        }
    }
}

/// The secret is never shown.
impl fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("url", &self.url.as_ref().map(Url::as_str))
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("max_attempts", &self.max_attempts)
            .field("first_retry", &self.first_retry)
            .field("max_retry", &self.max_retry)
            .field("timeout", &self.timeout)
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WebhookConfigError {
    #[error(
        "a webhook URL is set but no secret: set --webhook-secret (GLEANER_WEBHOOK_SECRET) to \
         whsec_<base64 of 24 to 64 random bytes>, e.g. \
         whsec_$(head -c 32 /dev/urandom | base64)"
    )]
    NoSecret,
    #[error(
        "the webhook secret is not whsec_<base64 of 24 to 64 bytes> as Standard Webhooks \
         defines it: {0}"
    )]
    BadSecret(String),
    #[error("the webhook URL {0} is neither https:// nor http://")]
    Scheme(String),
    #[error(
        "the webhook CA file {} (--webhook-ca-file, GLEANER_WEBHOOK_CA_FILE) cannot be used: \
         {reason}",
        path.display()
    )]
    CaFile { path: PathBuf, reason: String },
}

/// A validated configuration: the URL, the signing key and the retry policy.
#[derive(Clone)]
pub struct Webhooks {
    pub url: Url,
    signer: Arc<standardwebhooks::Webhook>,
    pub max_attempts: u32,
    pub first_retry: Duration,
    pub max_retry: Duration,
    pub timeout: Duration,
    /// The certificates of [`WebhookConfig::ca_file`], trusted besides the system's roots.
    pub extra_roots: Vec<CertificateDer<'static>>,
}

impl fmt::Debug for Webhooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhooks")
            .field("url", &self.url.as_str())
            .field("max_attempts", &self.max_attempts)
            .field("extra_roots", &self.extra_roots.len())
            .finish_non_exhaustive()
    }
}

impl WebhookConfig {
    /// `None` without a URL (webhooks off); an error for a URL without a valid secret, or
    /// for a CA file that cannot be read or holds no valid certificate.
    pub fn validate(&self) -> Result<Option<Webhooks>, WebhookConfigError> {
        let Some(url) = &self.url else {
            return Ok(None);
        };
        if !matches!(url.scheme(), "http" | "https") {
            return Err(WebhookConfigError::Scheme(url.to_string()));
        }
        let secret = self.secret.as_deref().ok_or(WebhookConfigError::NoSecret)?;
        let key = decode_secret(secret)?;
        let signer = standardwebhooks::Webhook::from_bytes(key)
            .map_err(|e| WebhookConfigError::BadSecret(e.to_string()))?;
        let extra_roots = match &self.ca_file {
            Some(path) => load_ca_file(path)?,
            None => Vec::new(),
        };
        Ok(Some(Webhooks {
            url: url.clone(),
            signer: Arc::new(signer),
            max_attempts: self.max_attempts.max(1),
            first_retry: self.first_retry,
            max_retry: self.max_retry.max(self.first_retry),
            timeout: self.timeout,
            extra_roots,
        }))
    }
}

/// The certificates of a PEM file (other PEM sections, such as a key, are skipped), each
/// checked to be usable as a trust anchor.
fn load_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, WebhookConfigError> {
    let fail = |reason: String| WebhookConfigError::CaFile {
        path: path.to_path_buf(),
        reason,
    };
    let pem = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail(format!("not valid PEM ({e})")))?;
    if certs.is_empty() {
        return Err(fail(
            "no certificate in it (expected PEM: -----BEGIN CERTIFICATE-----)".into(),
        ));
    }
    // The same check as the client's verifier makes when it is built: a bad certificate is
    // a start-up error rather than a worker that cannot start.
    let mut roots = rustls::RootCertStore::empty();
    for (i, cert) in certs.iter().enumerate() {
        roots.add(cert.clone()).map_err(|e| {
            fail(format!(
                "certificate {} of {} is not usable as a root: {e}",
                i + 1,
                certs.len()
            ))
        })?;
    }
    Ok(certs)
}

/// The key of a `whsec_<base64>` secret (the prefix may be left out).
fn decode_secret(secret: &str) -> Result<Vec<u8>, WebhookConfigError> {
    let encoded = secret.trim();
    let encoded = encoded.strip_prefix("whsec_").unwrap_or(encoded);
    let key = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|e| WebhookConfigError::BadSecret(format!("not base64 ({e})")))?;
    if !(24..=64).contains(&key.len()) {
        return Err(WebhookConfigError::BadSecret(format!(
            "{} bytes once decoded",
            key.len()
        )));
    }
    Ok(key)
}

impl Webhooks {
    /// The `webhook-signature` header of a message: `v1,<base64>`.
    pub fn sign(&self, id: &str, timestamp: i64, body: &str) -> String {
        // Only a payload that is not UTF-8 fails to sign; a `str` always is.
        self.signer
            .sign(id, timestamp, body.as_bytes())
            .unwrap_or_default()
    }

    /// The delay before the attempt that follows `failures` failed ones.
    pub fn backoff(&self, failures: u32) -> Duration {
        backoff(failures, self.first_retry, self.max_retry, &mut rand::rng())
    }
}
