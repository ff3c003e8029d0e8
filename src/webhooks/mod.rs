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
//!   (or null); with -1 and -2 also `code` and `advice`, so that it alone says why. One
//!   per state change, the final one included.
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

pub mod config;
pub mod event;
pub mod retry;
pub mod worker;

pub use config::{WebhookConfig, WebhookConfigError, Webhooks};
pub use event::{EventType, WebhookEvent, report};
pub use retry::{backoff, backoff_ceiling};
pub use worker::{WorkerHandle, spawn};

#[cfg(test)]
mod tests {
    use std::time::Duration;

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
