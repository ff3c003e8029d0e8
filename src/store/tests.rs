use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use tempfile::TempDir;

use super::*;

mod collects;
mod outbox;
mod ui_tokens;
use crate::codes::State;
use crate::secrets::{Cipher, MasterKey};

const PASSWORD: &str = "hunter2-Sup3r-s3cret";
const LOGIN: &str = "alice-login-8f3e2b";

fn cipher_of(key: u8) -> Cipher {
    Cipher::new(&MasterKey::from_bytes([key; 32]))
}

pub(super) async fn open(dir: &TempDir, key: u8) -> Store {
    let url = format!("sqlite://{}", db_path(dir).display());
    Store::open(&url, cipher_of(key)).await.unwrap()
}

fn db_path(dir: &TempDir) -> PathBuf {
    dir.path().join("gleaner.db")
}

pub(super) fn new_credential(user: &str) -> NewCredential {
    NewCredential {
        user_id: user.to_string(),
        connector: "demo-bank".to_string(),
        fields: IndexMap::from([("login".to_string(), LOGIN.to_string())]),
        secrets: IndexMap::from([("password".to_string(), PASSWORD.to_string())]),
    }
}

/// The state the credential shows (that of its last collect).
pub(super) async fn state_of(store: &Store, credential_id: &str) -> i8 {
    store
        .credential(credential_id)
        .await
        .unwrap()
        .unwrap()
        .state
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn read_if_present(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_default()
}

#[tokio::test]
async fn credentials_create_get_list_delete() {
    let dir = TempDir::new().unwrap();
    let store = open(&dir, 1).await;
    let a = store.create_credential(new_credential("u1")).await.unwrap();
    let b = store.create_credential(new_credential("u1")).await.unwrap();
    store.create_credential(new_credential("u2")).await.unwrap();
    assert_eq!(a.secret_fields, vec!["password"]);
    assert_eq!(a.fields.get("login").map(String::as_str), Some(LOGIN));
    assert_eq!((a.state, a.state_name.as_str()), (0, "unknown"));

    let got = store.credential(&a.id).await.unwrap().unwrap();
    assert_eq!(got.secret_fields, vec!["password"]);
    assert!(!got.fields.contains_key("password"));
    assert_eq!(got.created_at, a.created_at);
    let json = serde_json::to_string(&got).unwrap();
    assert!(!json.contains(PASSWORD), "{json}");
    assert!(json.contains("\"secretFields\":[\"password\"]"), "{json}");
    assert!(format!("{:?}", new_credential("u1")).contains("password"));
    assert!(!format!("{:?}", new_credential("u1")).contains(PASSWORD));

    let values = store.credential_values(&a.id).await.unwrap().unwrap();
    assert_eq!(values.get("password").map(String::as_str), Some(PASSWORD));
    assert_eq!(values.get("login").map(String::as_str), Some(LOGIN));

    let ids: Vec<String> = store
        .credentials_of_user("u1")
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(ids, vec![a.id.clone(), b.id.clone()]);
    assert!(
        store
            .credentials_of_user("nobody")
            .await
            .unwrap()
            .is_empty()
    );

    assert!(store.delete_credential(&a.id).await.unwrap());
    assert!(!store.delete_credential(&a.id).await.unwrap());
    assert!(store.credential(&a.id).await.unwrap().is_none());
    assert!(store.credential_values(&a.id).await.unwrap().is_none());
    assert_eq!(store.credentials_of_user("u1").await.unwrap().len(), 1);
    store.close().await;
}

#[tokio::test]
async fn no_secret_in_plaintext_on_disk() {
    let dir = TempDir::new().unwrap();
    let store = open(&dir, 1).await;
    let cred = store.create_credential(new_credential("u1")).await.unwrap();
    // Deleted credentials must not leave their secrets behind either.
    let gone = store.create_credential(new_credential("u2")).await.unwrap();
    store.delete_credential(&gone.id).await.unwrap();
    assert!(store.credential(&cred.id).await.unwrap().is_some());
    store.close().await;

    let db = db_path(&dir);
    let mut bytes = read_if_present(&db);
    assert!(!bytes.is_empty());
    for suffix in ["-wal", "-journal", "-shm"] {
        bytes.extend(read_if_present(&PathBuf::from(format!(
            "{}{suffix}",
            db.display()
        ))));
    }
    assert!(
        !contains(&bytes, PASSWORD.as_bytes()),
        "the password is on disk in clear"
    );
    // The check can fail: a non-secret value is found the same way.
    assert!(contains(&bytes, LOGIN.as_bytes()));
}

#[tokio::test]
async fn secrets_are_bound_to_the_key_and_the_credential() {
    let dir = TempDir::new().unwrap();
    let store = open(&dir, 1).await;
    let a = store.create_credential(new_credential("u1")).await.unwrap();
    let mut other = new_credential("u1");
    other
        .secrets
        .insert("password".into(), "another-password".into());
    let b = store.create_credential(other).await.unwrap();
    store.close().await;

    let wrong_key = open(&dir, 2).await;
    let err = wrong_key.credential_values(&a.id).await.unwrap_err();
    assert!(matches!(err, StoreError::Cipher(_)), "{err}");
    // Without the secrets, the credential itself still reads.
    assert!(wrong_key.credential(&a.id).await.unwrap().is_some());
    wrong_key.close().await;

    let store = open(&dir, 1).await;
    sqlx::query("UPDATE credentials SET secrets = (SELECT secrets FROM credentials WHERE id = $1) WHERE id = $2")
        .bind(&a.id)
        .bind(&b.id)
        .execute(&store.pool)
        .await
        .unwrap();
    let err = store.credential_values(&b.id).await.unwrap_err();
    assert!(matches!(err, StoreError::Cipher(_)), "{err}");
    let values = store.credential_values(&a.id).await.unwrap().unwrap();
    assert_eq!(values["password"], PASSWORD);

    // Nor does a blob moved to another field of the same credential.
    sqlx::query("UPDATE credentials SET secrets = REPLACE(secrets, '\"password\"', '\"pin\"') WHERE id = $1")
        .bind(&a.id)
        .execute(&store.pool)
        .await
        .unwrap();
    assert!(store.credential_values(&a.id).await.is_err());
    store.close().await;
}

#[tokio::test]
async fn opens_every_url_form() {
    let dir = TempDir::new().unwrap();
    let bare = dir.path().join("bare.db");
    let forms = [
        bare.display().to_string(),
        format!("sqlite:{}", dir.path().join("short.db").display()),
        format!("sqlite://{}", dir.path().join("long.db").display()),
        "sqlite::memory:".to_string(),
    ];
    for url in forms {
        let store = Store::open(&url, cipher_of(1)).await.unwrap();
        let c = store.create_credential(new_credential("u")).await.unwrap();
        assert!(store.credential(&c.id).await.unwrap().is_some(), "{url}");
        store.close().await;
    }
    assert!(bare.exists());
    // Reopening runs the migrations again without harm.
    Store::open(&bare.display().to_string(), cipher_of(1))
        .await
        .unwrap()
        .close()
        .await;
    assert!(
        Store::open("postgres://localhost/x", cipher_of(1))
            .await
            .is_err()
    );
}

#[test]
fn states_round_trip_through_their_index() {
    for s in State::ALL {
        assert_eq!(state_from_index(i64::from(s.index())), Some(s));
    }
    assert_eq!(state_from_index(8), None);
}
