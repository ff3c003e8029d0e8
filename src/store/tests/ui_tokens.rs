use std::time::Duration;

use super::*;

#[tokio::test]
async fn sessions_are_found_by_token_only_and_expire() {
    let dir = TempDir::new().unwrap();
    let store = open(&dir, 1).await;
    let new = |ttl| NewUiToken {
        user_id: "u1".into(),
        connector: Some("demo-bank".into()),
        credential_id: None,
        redirect_url: None,
        hide_end_screen: false,
        ttl,
    };
    let (token, session) = store
        .create_ui_token(new(Duration::from_secs(900)))
        .await
        .unwrap();
    assert_eq!(token.len(), 64);
    let found = store.ui_token(&token).await.unwrap().unwrap();
    assert_eq!(found.user_id, "u1");
    assert_eq!(found.expires_at, session.expires_at);
    assert!(!found.is_expired());
    assert!(store.ui_token("not-a-token").await.unwrap().is_none());
    let (expired, _) = store.create_ui_token(new(Duration::ZERO)).await.unwrap();
    assert!(
        store
            .ui_token(&expired)
            .await
            .unwrap()
            .unwrap()
            .is_expired()
    );

    // Only the hash is stored.
    store.close().await;
    let bytes = [
        read_if_present(&db_path(&dir)),
        read_if_present(&dir.path().join("gleaner.db-wal")),
    ]
    .concat();
    assert!(!contains(&bytes, token.as_bytes()));
}

#[tokio::test]
async fn updating_a_credential_replaces_values_and_keeps_unsent_secrets() {
    let dir = TempDir::new().unwrap();
    let store = open(&dir, 1).await;
    let c = store.create_credential(new_credential("u1")).await.unwrap();
    let fields = IndexMap::from([("login".to_string(), "bob".to_string())]);
    let updated = store
        .update_credential(&c.id, fields.clone(), IndexMap::new())
        .await
        .unwrap();
    assert_eq!(updated.fields, fields);
    let values = store.credential_values(&c.id).await.unwrap().unwrap();
    assert_eq!(values["password"], PASSWORD, "an unsent secret is kept");
    let secrets = IndexMap::from([("password".to_string(), "new-pass-123".to_string())]);
    store
        .update_credential(&c.id, fields, secrets)
        .await
        .unwrap();
    let values = store.credential_values(&c.id).await.unwrap().unwrap();
    assert_eq!(
        (values["login"].as_str(), values["password"].as_str()),
        ("bob", "new-pass-123")
    );
    assert!(matches!(
        store
            .update_credential("nope", IndexMap::new(), IndexMap::new())
            .await,
        Err(StoreError::NotFound(_))
    ));
}
