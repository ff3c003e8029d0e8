//! Encryption at rest: XChaCha20-Poly1305 under a 32-byte master key kept in a file.
//!
//! A sealed value is `nonce (24 bytes) || ciphertext+tag`, with a fresh random nonce per call.
//! The associated data (AAD) binds a value to where it is stored (a credential id, a field
//! name), so a blob copied to another row does not decrypt.

use std::fmt;
use std::fs::{DirBuilder, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{Key, KeyInit, XChaCha20Poly1305, XNonce};
use rand::RngCore;
use rand::TryRngCore;

/// Length of the master key, in bytes.
pub const KEY_LEN: usize = 32;
/// Length of the nonce that starts every sealed blob, in bytes.
pub const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum CipherError {
    #[error("master key {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("master key {}: {len} bytes, expected exactly {KEY_LEN}", path.display())]
    KeyLength { path: PathBuf, len: usize },
    #[error(
        "master key {}: mode {mode:03o} lets other users read it; run `chmod 600 {}`",
        path.display(),
        path.display()
    )]
    KeyPermissions { path: PathBuf, mode: u32 },
    #[error("master key: the system random generator failed: {0}")]
    Random(String),
    #[error("encrypted value is {0} bytes, too short to be one")]
    TooShort(usize),
    #[error("encrypted value does not authenticate (wrong key, or moved or altered)")]
    Decrypt,
    #[error("encrypted value is not valid base64: {0}")]
    Base64(#[from] base64::DecodeError),
    #[error("decrypted value is not UTF-8")]
    Utf8,
}

/// The 32-byte key everything at rest is encrypted under. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct MasterKey([u8; KEY_LEN]);

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(•••)")
    }
}

impl MasterKey {
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        MasterKey(bytes)
    }

    /// A new key from the operating system's random generator.
    pub fn generate() -> Result<Self, CipherError> {
        let mut key = [0u8; KEY_LEN];
        rand::rngs::OsRng
            .try_fill_bytes(&mut key)
            .map_err(|e| CipherError::Random(e.to_string()))?;
        Ok(MasterKey(key))
    }

    /// Reads the key at `path`, or creates it (mode 0600, parent directories 0700) with 32
    /// random bytes when the file does not exist. An existing file must hold exactly 32 bytes
    /// and be unreadable by group and others.
    pub fn load_or_create(path: &Path) -> Result<MasterKey, CipherError> {
        let io = |source| CipherError::Io {
            path: path.to_path_buf(),
            source,
        };
        match std::fs::metadata(path) {
            Ok(_) => Self::load(path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    DirBuilder::new()
                        .recursive(true)
                        .mode(0o700)
                        .create(parent)
                        .map_err(io)?;
                }
                let key = Self::generate()?;
                let file = OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(path);
                let mut file = match file {
                    Ok(f) => f,
                    // Another process created it first: use theirs.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        return Self::load(path);
                    }
                    Err(e) => return Err(io(e)),
                };
                if let Err(e) = file.write_all(&key.0).and_then(|()| file.sync_all()) {
                    // Leave no short key file behind to fail the next start.
                    let _ = std::fs::remove_file(path);
                    return Err(io(e));
                }
                Ok(key)
            }
            Err(e) => Err(io(e)),
        }
    }

    fn load(path: &Path) -> Result<MasterKey, CipherError> {
        let io = |source| CipherError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mode = std::fs::metadata(path).map_err(io)?.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(CipherError::KeyPermissions {
                path: path.to_path_buf(),
                mode: mode & 0o777,
            });
        }
        let bytes = std::fs::read(path).map_err(io)?;
        let key: [u8; KEY_LEN] =
            bytes
                .as_slice()
                .try_into()
                .map_err(|_| CipherError::KeyLength {
                    path: path.to_path_buf(),
                    len: bytes.len(),
                })?;
        Ok(MasterKey(key))
    }
}

/// Authenticated encryption under the master key. Cheap to clone.
#[derive(Clone)]
pub struct Cipher {
    aead: Arc<XChaCha20Poly1305>,
}

impl fmt::Debug for Cipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Cipher(XChaCha20-Poly1305)")
    }
}

impl Cipher {
    pub fn new(key: &MasterKey) -> Self {
        let key = Key::from(key.0);
        Cipher {
            aead: Arc::new(XChaCha20Poly1305::new(&key)),
        }
    }

    /// Seals `plaintext`, bound to `aad`: returns `nonce(24) || ciphertext`.
    pub fn encrypt(&self, plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let nonce = XNonce::from(nonce);
        let sealed = self
            .aead
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            // Only fails for messages beyond 256 GiB.
            .expect("XChaCha20-Poly1305 encryption cannot fail on in-memory sizes");
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// Opens a blob made by [`Cipher::encrypt`] with the same `aad`.
    pub fn decrypt(&self, blob: &[u8], aad: &[u8]) -> Result<Vec<u8>, CipherError> {
        if blob.len() < NONCE_LEN + TAG_LEN {
            return Err(CipherError::TooShort(blob.len()));
        }
        let (nonce, sealed) = blob.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| CipherError::Decrypt)?;
        self.aead
            .decrypt(&XNonce::from(nonce), Payload { msg: sealed, aad })
            .map_err(|_| CipherError::Decrypt)
    }

    /// [`Cipher::encrypt`] of a text, as standard base64.
    pub fn encrypt_str(&self, plaintext: &str, aad: &[u8]) -> String {
        BASE64.encode(self.encrypt(plaintext.as_bytes(), aad))
    }

    /// The inverse of [`Cipher::encrypt_str`].
    pub fn decrypt_str(&self, sealed: &str, aad: &[u8]) -> Result<String, CipherError> {
        let blob = BASE64.decode(sealed.trim())?;
        String::from_utf8(self.decrypt(&blob, aad)?).map_err(|_| CipherError::Utf8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cipher() -> Cipher {
        Cipher::new(&MasterKey::generate().unwrap())
    }

    #[test]
    fn round_trip() {
        let c = cipher();
        let blob = c.encrypt(b"hunter2", b"cred-1");
        assert_eq!(blob.len(), NONCE_LEN + 7 + TAG_LEN);
        assert_eq!(c.decrypt(&blob, b"cred-1").unwrap(), b"hunter2");
        let s = c.encrypt_str("pässwörd", b"x");
        assert_eq!(c.decrypt_str(&s, b"x").unwrap(), "pässwörd");
        assert_eq!(c.decrypt(&c.encrypt(b"", b""), b"").unwrap(), b"");
    }

    #[test]
    fn wrong_aad_or_key_fails() {
        let c = cipher();
        let blob = c.encrypt(b"hunter2", b"cred-1");
        assert!(matches!(
            c.decrypt(&blob, b"cred-2"),
            Err(CipherError::Decrypt)
        ));
        assert!(matches!(
            cipher().decrypt(&blob, b"cred-1"),
            Err(CipherError::Decrypt)
        ));
    }

    #[test]
    fn nonces_are_fresh() {
        let c = cipher();
        let a = c.encrypt(b"same", b"aad");
        let b = c.encrypt(b"same", b"aad");
        assert_ne!(a, b);
        assert_ne!(a[..NONCE_LEN], b[..NONCE_LEN]);
    }

    #[test]
    fn tampering_and_short_blobs_fail() {
        let c = cipher();
        let blob = c.encrypt(b"hunter2", b"aad");
        for i in 0..blob.len() {
            let mut t = blob.clone();
            t[i] ^= 0x01;
            assert!(c.decrypt(&t, b"aad").is_err(), "byte {i}");
        }
        assert!(matches!(
            c.decrypt(&blob[..NONCE_LEN + TAG_LEN - 1], b"aad"),
            Err(CipherError::TooShort(_))
        ));
        assert!(c.decrypt(&[], b"aad").is_err());
        assert!(c.decrypt_str("not base64!", b"aad").is_err());
    }

    #[test]
    fn key_file_is_created_0600_and_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/dir/master.key");
        let k1 = MasterKey::load_or_create(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(std::fs::read(&path).unwrap().len(), KEY_LEN);
        let k2 = MasterKey::load_or_create(&path).unwrap();
        assert_eq!(k1, k2);
        assert_eq!(format!("{k1:?}"), "MasterKey(•••)");
        let blob = Cipher::new(&k1).encrypt(b"v", b"a");
        assert_eq!(Cipher::new(&k2).decrypt(&blob, b"a").unwrap(), b"v");
    }

    #[test]
    fn readable_key_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        std::fs::write(&path, [7u8; KEY_LEN]).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = MasterKey::load_or_create(&path).unwrap_err();
        assert!(matches!(err, CipherError::KeyPermissions { .. }), "{err}");
        let msg = err.to_string();
        assert!(
            msg.contains("chmod 600") && msg.contains("master.key"),
            "{msg}"
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(
            MasterKey::load_or_create(&path).unwrap(),
            MasterKey::from_bytes([7u8; KEY_LEN])
        );
    }

    #[test]
    fn wrong_length_key_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        std::fs::write(&path, [7u8; 31]).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let err = MasterKey::load_or_create(&path).unwrap_err();
        assert!(
            matches!(err, CipherError::KeyLength { len: 31, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("master.key"));
    }
}
