//! TLS for the HTTP clients (webhook deliveries, and the examples): rustls with ring. reqwest
//! is built without a crypto provider of its own, so one must be installed, once per
//! process, before any client is built.

/// Installs ring as the process's rustls provider (again is harmless).
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
