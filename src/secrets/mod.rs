//! Secrets: kept out of every message and log line ([`Redactor`]), and encrypted at rest
//! ([`Cipher`], keyed by a [`MasterKey`] file).

mod cipher;
pub mod log_redaction;
mod mask;
pub mod private_file;
mod redactor;

pub use cipher::{Cipher, CipherError, KEY_LEN, MasterKey, NONCE_LEN};
pub use mask::MASK;
pub use redactor::Redactor;

/// An unguessable token (256 random bits, hex): WebSocket paths, session tokens.
pub fn random_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Compares two secrets in time that does not depend on where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_and_distinct() {
        let (a, b) = (random_token(), random_token());
        assert_eq!(a.len(), 64);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
        assert!(constant_time_eq(a.as_bytes(), a.as_bytes()));
        assert!(!constant_time_eq(a.as_bytes(), b.as_bytes()));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
