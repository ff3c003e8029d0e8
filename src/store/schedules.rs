//! Schedules: at most one per credential, an interval with jitter, and when the next
//! background collect starts. The scheduler (`crate::scheduler`) reads the due ones and
//! moves them forward; the API sets and deletes them. A schedule goes with its credential
//! (`ON DELETE CASCADE`).
//!
//! A credential in state -2 (a person must act) is never due: it waits until a person
//! collects interactively (its state follows its last collect) or updates it (which resets
//! its state to 0, see [`Store::update_credential`]).

use sqlx::FromRow;

use super::columns::now_ms;
use super::db::Store;
use super::error::StoreError;
use crate::codes::State;

/// A credential's schedule. Times are unix milliseconds, durations milliseconds.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Schedule {
    pub credential_id: String,
    pub every_ms: i64,
    /// The random delay added to `every_ms` is drawn from `0..=jitter_ms`.
    pub jitter_ms: i64,
    pub next_collect_at: i64,
    /// The last time the scheduler started (or attached to) a collect.
    pub last_started_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// `SELECT <the columns of Schedule> FROM schedules s <tail>`.
macro_rules! select_schedules {
    ($tail:literal) => {
        concat!(
            "SELECT s.credential_id, s.every_ms, s.jitter_ms, s.next_collect_at, ",
            "s.last_started_at, s.created_at, s.updated_at FROM schedules s ",
            $tail
        )
    };
}

/// The wire value of the state in which a credential waits for a person.
fn disconnected() -> i64 {
    i64::from(State::Disconnected.index())
}

impl Store {
    /// Creates or replaces the credential's schedule. A replaced schedule keeps its
    /// `last_started_at` and `created_at`. [`StoreError::NotFound`] if there is no such
    /// credential.
    pub async fn set_schedule(
        &self,
        credential_id: &str,
        every_ms: i64,
        jitter_ms: i64,
        next_collect_at: i64,
    ) -> Result<Schedule, StoreError> {
        let now = now_ms();
        // The SELECT makes an unknown credential insert nothing (rather than fail on the
        // foreign key); its WHERE keeps SQLite from reading ON CONFLICT as a join clause.
        let written = sqlx::query(
            "INSERT INTO schedules (credential_id, every_ms, jitter_ms, next_collect_at, \
             last_started_at, created_at, updated_at) \
             SELECT id, $2, $3, $4, NULL, $5, $5 FROM credentials WHERE id = $1 \
             ON CONFLICT (credential_id) DO UPDATE SET every_ms = excluded.every_ms, \
             jitter_ms = excluded.jitter_ms, next_collect_at = excluded.next_collect_at, \
             updated_at = excluded.updated_at",
        )
        .bind(credential_id)
        .bind(every_ms)
        .bind(jitter_ms)
        .bind(next_collect_at)
        .bind(now)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if written == 0 {
            return Err(StoreError::NotFound(format!("credential {credential_id}")));
        }
        self.schedule(credential_id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("schedule of {credential_id}")))
    }

    /// The credential's schedule, if it has one.
    pub async fn schedule(&self, credential_id: &str) -> Result<Option<Schedule>, StoreError> {
        Ok(
            sqlx::query_as(select_schedules!("WHERE s.credential_id = $1"))
                .bind(credential_id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Deletes the credential's schedule. Returns false if it had none.
    pub async fn delete_schedule(&self, credential_id: &str) -> Result<bool, StoreError> {
        let deleted = sqlx::query("DELETE FROM schedules WHERE credential_id = $1")
            .bind(credential_id)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(deleted > 0)
    }

    /// At most `limit` schedules due at `now_ms` (`next_collect_at <= now_ms`), the most
    /// overdue first, without those whose credential is in state -2.
    pub async fn due_schedules(
        &self,
        now_ms: i64,
        limit: i64,
    ) -> Result<Vec<Schedule>, StoreError> {
        Ok(sqlx::query_as(select_schedules!(
            "JOIN credentials c ON c.id = s.credential_id \
             WHERE s.next_collect_at <= $1 AND c.state <> $2 \
             ORDER BY s.next_collect_at, s.credential_id LIMIT $3"
        ))
        .bind(now_ms)
        .bind(disconnected())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Records that the scheduler started the credential's collect at `started_at`, and
    /// when the next one is due. Only a schedule still due at `started_at` moves: one the
    /// API has just moved to the future is left as it was set. Returns whether it moved.
    pub async fn mark_started(
        &self,
        credential_id: &str,
        started_at: i64,
        next_collect_at: i64,
    ) -> Result<bool, StoreError> {
        let updated = sqlx::query(
            "UPDATE schedules SET last_started_at = $1, next_collect_at = $2, updated_at = $3 \
             WHERE credential_id = $4 AND next_collect_at <= $1",
        )
        .bind(started_at)
        .bind(next_collect_at)
        .bind(now_ms())
        .bind(credential_id)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(updated > 0)
    }

    /// The earliest `next_collect_at` among the schedules that can run (credential not in
    /// state -2), or None when there is none.
    pub async fn next_due_at(&self) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT MIN(s.next_collect_at) FROM schedules s \
             JOIN credentials c ON c.id = s.credential_id WHERE c.state <> $1",
        )
        .bind(disconnected())
        .fetch_one(&self.pool)
        .await?)
    }
}

#[cfg(test)]
mod tests {
    use indexmap::IndexMap;
    use serde_json::Value;
    use tempfile::TempDir;

    use super::*;
    use crate::store::tests::{new_credential, open, state_of};

    async fn credential(store: &Store) -> String {
        store
            .create_credential(new_credential("u"))
            .await
            .unwrap()
            .id
    }

    /// Runs a collect of the credential to the final `state`.
    async fn end_in(store: &Store, credential_id: &str, state: State) {
        let collect = store
            .start_collect(credential_id, true, false)
            .await
            .unwrap();
        store
            .finish_collect(&collect.id, state, None, &Value::Null)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn schedules_are_set_read_replaced_and_deleted() {
        let dir = TempDir::new().unwrap();
        let store = open(&dir, 7).await;
        let cred = credential(&store).await;
        assert_eq!(store.schedule(&cred).await.unwrap(), None);
        assert_eq!(store.next_due_at().await.unwrap(), None);

        let set = store
            .set_schedule(&cred, 60_000, 5_000, 1_000)
            .await
            .unwrap();
        assert_eq!(
            (set.every_ms, set.jitter_ms, set.next_collect_at),
            (60_000, 5_000, 1_000)
        );
        assert_eq!(set.last_started_at, None);
        assert_eq!(store.schedule(&cred).await.unwrap(), Some(set.clone()));

        assert!(store.mark_started(&cred, 1_500, 70_000).await.unwrap());
        let replaced = store.set_schedule(&cred, 120_000, 0, 9_000).await.unwrap();
        assert_eq!(replaced.every_ms, 120_000);
        assert_eq!(replaced.next_collect_at, 9_000);
        assert_eq!(
            replaced.last_started_at,
            Some(1_500),
            "kept across a replace"
        );
        assert_eq!(replaced.created_at, set.created_at);

        let err = store.set_schedule("nope", 60_000, 0, 0).await.unwrap_err();
        assert!(matches!(err, StoreError::NotFound(_)), "{err}");

        assert!(store.delete_schedule(&cred).await.unwrap());
        assert!(!store.delete_schedule(&cred).await.unwrap());
        assert_eq!(store.schedule(&cred).await.unwrap(), None);
        store.close().await;
    }

    #[tokio::test]
    async fn due_schedules_skip_the_future_and_credentials_in_minus_2() {
        let dir = TempDir::new().unwrap();
        let store = open(&dir, 7).await;
        let (a, b, c, d) = (
            credential(&store).await,
            credential(&store).await,
            credential(&store).await,
            credential(&store).await,
        );
        store.set_schedule(&a, 60_000, 0, 2_000).await.unwrap();
        store.set_schedule(&b, 60_000, 0, 1_000).await.unwrap();
        store.set_schedule(&c, 60_000, 0, 5_000).await.unwrap();
        store.set_schedule(&d, 60_000, 0, 500).await.unwrap();
        end_in(&store, &d, State::Disconnected).await;

        let due: Vec<String> = store
            .due_schedules(3_000, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|s| s.credential_id)
            .collect();
        assert_eq!(
            due,
            [b.clone(), a.clone()],
            "most overdue first, d in -2 left out"
        );
        assert_eq!(store.due_schedules(3_000, 1).await.unwrap().len(), 1);
        assert_eq!(
            store.next_due_at().await.unwrap(),
            Some(1_000),
            "not d's 500"
        );

        // Only a schedule still due moves.
        assert!(!store.mark_started(&c, 3_000, 63_000).await.unwrap());
        assert!(store.mark_started(&b, 3_000, 63_000).await.unwrap());
        let b_now = store.schedule(&b).await.unwrap().unwrap();
        assert_eq!(
            (b_now.next_collect_at, b_now.last_started_at),
            (63_000, Some(3_000))
        );
        assert_eq!(store.next_due_at().await.unwrap(), Some(2_000));

        // A failed collect (-1) is retried; only -2 waits for a person.
        end_in(&store, &a, State::Error).await;
        assert_eq!(store.due_schedules(3_000, 10).await.unwrap().len(), 1);

        // Deleting the credential deletes its schedule.
        store.delete_credential(&a).await.unwrap();
        assert_eq!(store.schedule(&a).await.unwrap(), None);
        store.close().await;
    }

    #[tokio::test]
    async fn updating_a_credential_in_minus_2_makes_it_schedulable_again() {
        let dir = TempDir::new().unwrap();
        let store = open(&dir, 7).await;
        let cred = credential(&store).await;
        let other = credential(&store).await;
        store.set_schedule(&cred, 60_000, 0, 0).await.unwrap();
        end_in(&store, &cred, State::Disconnected).await;
        end_in(&store, &other, State::Error).await;
        assert_eq!(state_of(&store, &cred).await, -2);
        assert!(store.due_schedules(1, 10).await.unwrap().is_empty());

        let fields = IndexMap::from([("login".to_string(), "carol".to_string())]);
        let updated = store
            .update_credential(&cred, fields.clone(), IndexMap::new())
            .await
            .unwrap();
        assert_eq!((updated.state, updated.state_name.as_str()), (0, "unknown"));
        assert_eq!(store.due_schedules(1, 10).await.unwrap().len(), 1);

        // Other states are the last collect's, and stay.
        store
            .update_credential(&other, fields, IndexMap::new())
            .await
            .unwrap();
        assert_eq!(state_of(&store, &other).await, -1);

        // A person's collect moves the state away from -2 by itself.
        end_in(&store, &cred, State::Disconnected).await;
        assert!(store.due_schedules(1, 10).await.unwrap().is_empty());
        store.start_collect(&cred, false, false).await.unwrap();
        assert_eq!(state_of(&store, &cred).await, 1);
        assert_eq!(store.due_schedules(1, 10).await.unwrap().len(), 1);
        store.close().await;
    }
}
