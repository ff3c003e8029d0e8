//! Webhooks: what happens to collects, credentials and documents, `POST`ed to the backend's
//! URL, signed per the Standard Webhooks specification, from an outbox that survives
//! restarts.
//!
//! - Each event is a row of the store's outbox, written in the same transaction as the
//!   change it reports ([`crate::store::Store::with_webhooks`]); nothing is written when no
//!   URL is configured. The store describes the change ([`crate::store::Change`]);
//!   [`event`] makes the typed events of it ([`WebhookEvent`]) and their bodies.
//! - [`worker`] delivers the pending rows in order per credential (an event waits while an
//!   earlier one of its credential is pending), retries with exponential backoff and full
//!   jitter ([`backoff`]), and marks an event `dead` after `max_attempts`. A dead event
//!   blocks nothing; `POST /webhooks/deliveries/{id}/replay` puts it back.
//!
//! # The request
//! `POST <url>` with `content-type: application/json` and the headers `webhook-id` (the
//! event id, `msg_<32 hex>`, the same on every attempt: the receiver's idempotency key),
//! `webhook-timestamp` (unix seconds of the attempt) and `webhook-signature`
//! (`v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` under the secret). Any 2xx
//! is a delivery; anything else (3xx included: redirects are not followed), a timeout or
//! a connection error is retried.
//!
//! # The body
//! `{"type": "...", "timestamp": "<RFC 3339 of the change>", "data": {...}}`, `data` in
//! camelCase:
//! - `collect.state`: `collectId`, `credentialId`, `state` (-2..7), `name`, `message`
//!   (or null). One per state change, the final one included.
//! - `collect.done` (after the `collect.state` 7): `collectId`, `credentialId`,
//!   `newDocuments` (the collect's documents), `advice` `{en, fr}`.
//! - `collect.failed` (after the final `collect.state` -1 or -2): `collectId`,
//!   `credentialId`, `state`, `name`, `code` (`LOGIN_FAILED`…), `message`, `advice`.
//! - `credential.verified` (after `collect.done` of a verification collect):
//!   `credentialId`, `collectId`; `credential.verification_failed` (after its
//!   `collect.failed`): the same data as `collect.failed`.
//! - `document.new`: the document as `GET /collect/{id}/documents` shows it, and
//!   `downloadUrl` (`<public URL>/document/<id>`, which takes the API key).
//!
//! # TLS
//! An `https://` receiver's certificate is checked by rustls (with ring, see [`crate::tls`])
//! against the system's roots and, for a receiver behind an internal CA, the extra roots of
//! [`WebhookConfig::ca_file`] (a PEM file, read and checked at start-up).

pub mod event;
pub mod worker;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use rand::Rng;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use url::Url;

pub use event::{EventType, WebhookEvent, report};
pub use worker::{WorkerHandle, spawn};

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

/// The ceiling of the delay after `failures` failed attempts (1, 2…):
/// `first × 2^(failures−1)`, at most `max`.
pub fn backoff_ceiling(failures: u32, first: Duration, max: Duration) -> Duration {
    let doublings = failures.saturating_sub(1);
    if doublings >= 32 {
        return max;
    }
    first.checked_mul(1u32 << doublings).unwrap_or(max).min(max)
}

/// Exponential backoff with full jitter: uniform between zero and
/// [`backoff_ceiling`], so that many retries do not all come back at once.
pub fn backoff(failures: u32, first: Duration, max: Duration, rng: &mut impl Rng) -> Duration {
    let ceiling = backoff_ceiling(failures, first, max);
    let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(rng.random_range(0..=nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    #[test]
    fn the_backoff_doubles_up_to_its_cap_and_stays_within_bounds() {
        let first = Duration::from_secs(5);
        let max = Duration::from_secs(3600);
        let ceilings: Vec<u64> = (1..=12)
            .map(|n| backoff_ceiling(n, first, max).as_secs())
            .collect();
        assert_eq!(
            ceilings,
            [5, 10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600]
        );
        assert_eq!(backoff_ceiling(0, first, max), first);
        assert_eq!(backoff_ceiling(u32::MAX, first, max), max);
        let mut rng = rand::rng();
        for failures in [1, 2, 5, 11, 40, 1000] {
            let ceiling = backoff_ceiling(failures, first, max);
            let mut least = ceiling;
            for _ in 0..200 {
                let d = backoff(failures, first, max, &mut rng);
                assert!(d <= ceiling && d <= max, "{d:?} > {ceiling:?}");
                least = least.min(d);
            }
            // Full jitter: the delays spread down towards zero.
            assert!(least < ceiling / 2, "{failures}: {least:?} of {ceiling:?}");
        }
    }

    #[test]
    fn a_url_needs_a_valid_secret_and_plain_http() {
        let off = WebhookConfig::default();
        assert!(off.validate().unwrap().is_none());
        let mut config = WebhookConfig {
            url: Some("http://127.0.0.1:9/hook".parse().unwrap()),
            ..WebhookConfig::default()
        };
        assert!(matches!(
            config.validate(),
            Err(WebhookConfigError::NoSecret)
        ));
        assert!(
            WebhookConfigError::NoSecret
                .to_string()
                .contains("GLEANER_WEBHOOK_SECRET")
        );
        for bad in ["whsec_not base64!", "whsec_c2hvcnQ="] {
            config.secret = Some(bad.into());
            assert!(
                matches!(config.validate(), Err(WebhookConfigError::BadSecret(_))),
                "{bad}"
            );
        }
        config.secret = Some(SECRET.into());
        let hooks = config.validate().unwrap().unwrap();
        assert!(!format!("{config:?}").contains("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));
        assert!(!format!("{hooks:?}").contains("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));
        config.url = Some("https://example.com/hook".parse().unwrap());
        assert!(config.validate().unwrap().is_some(), "https is fine");
        config.url = Some("ftp://example.com/hook".parse().unwrap());
        assert!(matches!(
            config.validate(),
            Err(WebhookConfigError::Scheme(_))
        ));
    }

    /// A self-signed CA certificate (PEM) and its key (PEM), made for the test.
    fn test_ca(name: &str) -> (String, String) {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let cert = params.self_signed(&key).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    #[test]
    fn a_ca_file_must_be_readable_and_hold_usable_certificates() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = WebhookConfig {
            url: Some("https://127.0.0.1:9/hook".parse().unwrap()),
            secret: Some(SECRET.into()),
            ..WebhookConfig::default()
        };
        let (ca, ca_key) = test_ca("gleaner test CA");
        let (other_ca, _) = test_ca("another test CA");
        let bad = |name: &str, content: Option<&str>| {
            let path = dir.path().join(name);
            if let Some(content) = content {
                std::fs::write(&path, content).unwrap();
            }
            path
        };
        let cases = [
            (bad("missing.pem", None), "No such file"),
            (bad("empty.pem", Some("")), "no certificate"),
            (
                bad("text.pem", Some("not a certificate\n")),
                "no certificate",
            ),
            // A key alone: no certificate, and the key is not shown.
            (bad("key.pem", Some(&ca_key)), "no certificate"),
            (
                bad(
                    "base64.pem",
                    Some("-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n"),
                ),
                "not valid PEM",
            ),
            (
                bad(
                    "der.pem",
                    Some(&format!(
                        "{ca}-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
                    )),
                ),
                "certificate 2 of 2 is not usable as a root",
            ),
            (dir.path().to_path_buf(), "directory"),
        ];
        for (path, why) in cases {
            config.ca_file = Some(path.clone());
            let error = config.validate().unwrap_err();
            let WebhookConfigError::CaFile {
                path: named,
                reason,
            } = &error
            else {
                panic!("{path:?}: {error:?}");
            };
            assert_eq!(named, &path);
            assert!(reason.contains(why), "{path:?}: {reason}");
            let message = error.to_string();
            assert!(message.contains(&path.display().to_string()), "{message}");
            assert!(message.contains("--webhook-ca-file"), "{message}");
            assert!(!message.contains("PRIVATE KEY"), "{message}");
        }

        // Several certificates, a key among them (skipped): each one is trusted.
        let bundle = bad("bundle.pem", Some(&format!("{other_ca}{ca_key}{ca}")));
        config.ca_file = Some(bundle);
        let hooks = config.validate().unwrap().unwrap();
        assert_eq!(hooks.extra_roots.len(), 2);
        assert!(format!("{hooks:?}").contains("extra_roots: 2"));
        // The client of the deliveries builds with them, besides the system's roots.
        worker::client(&hooks).expect("a client with the extra roots");

        // Without a URL the file is not read (webhooks are off).
        config.url = None;
        config.ca_file = Some(dir.path().join("missing.pem"));
        assert!(config.validate().unwrap().is_none());
    }

    #[test]
    fn signatures_match_the_specification_example() {
        // The example of the Standard Webhooks specification.
        let config = WebhookConfig {
            url: Some("http://127.0.0.1:9/".parse().unwrap()),
            secret: Some("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into()),
            ..WebhookConfig::default()
        };
        let hooks = config.validate().unwrap().unwrap();
        let signature = hooks.sign(
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        );
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }
}
