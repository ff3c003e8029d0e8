//! The scheduling loop with a fake starter and a manual clock: no browser, no sleep. Each
//! test waits for events (a start, the loop going to sleep) with a deadline.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indexmap::IndexMap;
use rand::SeedableRng;
use serde_json::Value;
use tempfile::TempDir;
use tokio::sync::mpsc;

use super::*;
use crate::codes::State;
use crate::secrets::{Cipher, MasterKey};
use crate::store::NewCredential;

const T0: i64 = 1_750_000_000_000;
const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DEADLINE: Duration = Duration::from_secs(10);

/// Records each start; a credential already "running" is attached to (false), and a
/// "failing" one cannot start.
#[derive(Clone, Default)]
struct FakeStarter {
    inner: Arc<FakeInner>,
}

#[derive(Default)]
struct FakeInner {
    started: Mutex<Option<mpsc::UnboundedSender<String>>>,
    running: Mutex<HashSet<String>>,
    failing: Mutex<HashSet<String>>,
}

impl FakeStarter {
    fn new() -> (FakeStarter, mpsc::UnboundedReceiver<String>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let fake = FakeStarter::default();
        *fake.inner.started.lock().unwrap() = Some(tx);
        (fake, rx)
    }

    fn fail(&self, id: &str) {
        self.inner.failing.lock().unwrap().insert(id.to_string());
    }
}

impl Starter for FakeStarter {
    async fn start(&self, credential_id: &str) -> Result<bool, StartError> {
        if let Some(tx) = &*self.inner.started.lock().unwrap() {
            let _ = tx.send(credential_id.to_string());
        }
        if self.inner.failing.lock().unwrap().contains(credential_id) {
            return Err("the connector is gone".into());
        }
        Ok(self
            .inner
            .running
            .lock()
            .unwrap()
            .insert(credential_id.to_string()))
    }
}

struct Setup {
    _dir: TempDir,
    store: Store,
    clock: Arc<ManualClock>,
    starts: mpsc::UnboundedReceiver<String>,
    starter: FakeStarter,
}

async fn setup() -> Setup {
    let dir = TempDir::new().unwrap();
    let url = format!("sqlite://{}", dir.path().join("gleaner.db").display());
    let store = Store::open(&url, Cipher::new(&MasterKey::from_bytes([3; 32])))
        .await
        .unwrap();
    let (starter, starts) = FakeStarter::new();
    Setup {
        _dir: dir,
        store,
        clock: ManualClock::new(T0),
        starts,
        starter,
    }
}

impl Setup {
    async fn credential(&self) -> String {
        self.store
            .create_credential(NewCredential {
                user_id: "u".into(),
                connector: "demo-bank".into(),
                fields: IndexMap::from([("login".to_string(), "carol".to_string())]),
                secrets: IndexMap::from([("password".to_string(), "demo".to_string())]),
            })
            .await
            .unwrap()
            .id
    }

    /// The scheduler on its own task, looking again at least every `recheck`.
    fn spawn(&self, recheck: Duration) -> (RunningScheduler, Wakeup) {
        let scheduler =
            Scheduler::new(self.store.clone(), self.starter.clone(), self.clock.clone())
                .with_recheck(recheck);
        let wakeup = scheduler.wakeup();
        (scheduler.spawn(), wakeup)
    }

    /// Waits until the loop sleeps; returns until when, and the credentials it started
    /// (or attached to) since the last call, in order.
    async fn idle(&mut self) -> (i64, Vec<String>) {
        let until = tokio::time::timeout(DEADLINE, self.clock.asleep())
            .await
            .expect("the scheduler goes to sleep");
        let mut started = Vec::new();
        while let Ok(id) = self.starts.try_recv() {
            started.push(id);
        }
        (until, started)
    }

    async fn next_start(&mut self) -> String {
        tokio::time::timeout(DEADLINE, self.starts.recv())
            .await
            .expect("a collect starts in time")
            .expect("the starter lives")
    }

    async fn schedule(&self, id: &str) -> Schedule {
        self.store.schedule(id).await.unwrap().unwrap()
    }

    async fn end_in(&self, id: &str, state: State) {
        let collect = self.store.start_collect(id, true, false).await.unwrap();
        self.store
            .finish_collect(&collect.id, state, None, &Value::Null)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn due_schedules_start_and_their_next_time_is_persisted_with_jitter() {
    let mut t = setup().await;
    let (a, b, c) = (
        t.credential().await,
        t.credential().await,
        t.credential().await,
    );
    t.store
        .set_schedule(&a, HOUR, 10 * MINUTE, T0)
        .await
        .unwrap();
    t.store
        .set_schedule(&b, HOUR, 0, T0 - 5 * MINUTE)
        .await
        .unwrap();
    t.store
        .set_schedule(&c, HOUR, 0, T0 + 30 * MINUTE)
        .await
        .unwrap();
    let (running, _) = t.spawn(Duration::from_secs(24 * 3600));

    let (until, started) = t.idle().await;
    assert_eq!(
        started,
        [b.clone(), a.clone()],
        "the most overdue first; c is not due"
    );
    assert_eq!(until, T0 + 30 * MINUTE, "asleep until c is due");
    let sa = t.schedule(&a).await;
    assert!(
        (T0 + HOUR..=T0 + HOUR + 10 * MINUTE).contains(&sa.next_collect_at),
        "now + every + jitter(0..=10 min): {}",
        sa.next_collect_at - T0
    );
    assert_eq!(sa.last_started_at, Some(T0));
    assert_eq!(t.schedule(&b).await.next_collect_at, T0 + HOUR);
    assert_eq!(t.schedule(&c).await.last_started_at, None);

    t.clock.set(T0 + 30 * MINUTE);
    let (until, started) = t.idle().await;
    assert_eq!(started, std::slice::from_ref(&c));
    assert_eq!(until, T0 + HOUR, "b is next");
    assert_eq!(t.schedule(&c).await.next_collect_at, T0 + 90 * MINUTE);

    // Late by half a day (the service was down): one run, not one per missed interval.
    t.clock.set(T0 + 12 * HOUR);
    let (_, started) = t.idle().await;
    assert_eq!(started.len(), 3, "{started:?}");
    assert_eq!(t.schedule(&b).await.next_collect_at, T0 + 13 * HOUR);
    running.stop().await;
}

#[tokio::test]
async fn credentials_in_minus_2_wait_until_a_person_updates_or_collects() {
    let mut t = setup().await;
    let (stuck, fine, other) = (
        t.credential().await,
        t.credential().await,
        t.credential().await,
    );
    for id in [&stuck, &fine, &other] {
        t.store.set_schedule(id, HOUR, 0, T0).await.unwrap();
    }
    t.end_in(&stuck, State::Disconnected).await;
    t.end_in(&other, State::Disconnected).await;
    t.end_in(&fine, State::Error).await;
    let (running, _) = t.spawn(Duration::from_secs(60));

    let (until, started) = t.idle().await;
    assert_eq!(
        started,
        std::slice::from_ref(&fine),
        "-1 is retried, -2 is not"
    );
    assert_eq!(
        until,
        T0 + MINUTE,
        "the recheck, not the past due time of -2"
    );
    t.clock.advance(Duration::from_secs(60));
    let (_, started) = t.idle().await;
    assert!(
        started.is_empty(),
        "still waiting for a person: {started:?}"
    );

    // The person corrects the credential: back to 0, and due again.
    let updated = t
        .store
        .update_credential(&stuck, IndexMap::new(), IndexMap::new())
        .await
        .unwrap();
    assert_eq!(updated.state, 0);
    // The person collects the other one interactively: its state leaves -2.
    t.store.start_collect(&other, false, false).await.unwrap();
    t.clock.advance(Duration::from_secs(60));
    let (_, mut started) = t.idle().await;
    started.sort();
    let mut expected = vec![stuck.clone(), other.clone()];
    expected.sort();
    assert_eq!(started, expected);
    assert_eq!(
        t.schedule(&stuck).await.next_collect_at,
        T0 + 2 * MINUTE + HOUR
    );
    running.stop().await;
}

#[tokio::test]
async fn a_change_of_the_schedules_wakes_the_loop() {
    let mut t = setup().await;
    let a = t.credential().await;
    let (running, wakeup) = t.spawn(Duration::from_secs(24 * 3600));
    let (until, started) = t.idle().await;
    assert_eq!(
        (until, started.len()),
        (T0 + 24 * HOUR, 0),
        "nothing scheduled"
    );

    // Due now: without the poke it would wait a day, the clock does not move.
    t.store.set_schedule(&a, HOUR, 0, T0).await.unwrap();
    wakeup.poke();
    assert_eq!(t.next_start().await, a);
    let (until, _) = t.idle().await;
    assert_eq!(until, T0 + HOUR);
    assert_eq!(t.clock.now(), T0);

    // A later first time moves the wake-up earlier too.
    let b = t.credential().await;
    t.store
        .set_schedule(&b, HOUR, 0, T0 + 10 * MINUTE)
        .await
        .unwrap();
    wakeup.poke();
    tokio::time::timeout(DEADLINE, t.clock.asleep_until(T0 + 10 * MINUTE))
        .await
        .expect("the loop now sleeps until b is due");
    t.clock.set(T0 + 10 * MINUTE);
    assert_eq!(t.next_start().await, b);
    running.stop().await;
}

#[tokio::test]
async fn a_due_schedule_starts_once_however_often_the_loop_wakes() {
    let mut t = setup().await;
    let a = t.credential().await;
    t.store.set_schedule(&a, HOUR, 0, T0).await.unwrap();
    let (running, wakeup) = t.spawn(Duration::from_secs(60));
    let (_, started) = t.idle().await;
    assert_eq!(started, std::slice::from_ref(&a));
    for _ in 0..3 {
        wakeup.poke();
        wakeup.poke();
        t.clock.advance(Duration::from_secs(60));
        let (_, started) = t.idle().await;
        assert!(started.is_empty(), "{started:?}");
    }
    // Due again an hour later, while the first collect still runs: the starter is asked
    // again and attaches (the real one is `Collector::start_or_attach`).
    t.clock.set(T0 + HOUR);
    let (_, started) = t.idle().await;
    assert_eq!(started, std::slice::from_ref(&a));
    assert_eq!(t.schedule(&a).await.last_started_at, Some(T0 + HOUR));
    running.stop().await;
}

#[tokio::test]
async fn a_collect_that_cannot_start_does_not_stall_the_loop() {
    let mut t = setup().await;
    let (bad, good) = (t.credential().await, t.credential().await);
    t.starter.fail(&bad);
    t.store.set_schedule(&bad, HOUR, 0, T0 - 1).await.unwrap();
    t.store.set_schedule(&good, HOUR, 0, T0).await.unwrap();
    let (running, _) = t.spawn(Duration::from_secs(24 * 3600));
    let (until, started) = t.idle().await;
    assert_eq!(started, [bad.clone(), good.clone()]);
    assert_eq!(
        until,
        T0 + HOUR,
        "tried again at its next time, not in a loop"
    );
    assert_eq!(t.schedule(&bad).await.next_collect_at, T0 + HOUR);
    running.stop().await;
}

#[tokio::test]
async fn more_due_schedules_than_one_query_reads_all_start() {
    let mut t = setup().await;
    let n = BATCH as usize + 6;
    for _ in 0..n {
        let id = t.credential().await;
        t.store.set_schedule(&id, HOUR, 0, T0).await.unwrap();
    }
    let (running, _) = t.spawn(Duration::from_secs(24 * 3600));
    let (_, started) = t.idle().await;
    assert_eq!(started.len(), n);
    assert_eq!(started.iter().collect::<HashSet<_>>().len(), n);
    running.stop().await;
}

#[tokio::test]
async fn stopping_ends_the_loop_and_starts_nothing_more() {
    let mut t = setup().await;
    let a = t.credential().await;
    let (running, wakeup) = t.spawn(Duration::from_secs(60));
    t.idle().await;
    tokio::time::timeout(DEADLINE, running.stop())
        .await
        .expect("the loop stops");
    running.stop().await;
    t.store.set_schedule(&a, HOUR, 0, T0).await.unwrap();
    wakeup.poke();
    t.clock.advance(Duration::from_secs(3600));
    assert!(t.starts.try_recv().is_err());

    // `run` itself returns when its shutdown future resolves.
    let scheduler = Scheduler::new(t.store.clone(), t.starter.clone(), t.clock.clone());
    tokio::time::timeout(DEADLINE, scheduler.run(async {}))
        .await
        .expect("run returns at shutdown");
}

#[test]
fn next_collect_at_adds_every_and_a_jitter_within_bounds() {
    let schedule = |every_ms, jitter_ms| Schedule {
        credential_id: "c".into(),
        every_ms,
        jitter_ms,
        next_collect_at: 0,
        last_started_at: None,
        created_at: 0,
        updated_at: 0,
    };
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    let jittered = schedule(HOUR, 10);
    let seen: HashSet<i64> = (0..500)
        .map(|_| next_collect_at(&jittered, T0, &mut rng) - T0 - HOUR)
        .collect();
    assert_eq!(
        seen,
        (0..=10).collect(),
        "every value of 0..=jitter, nothing else"
    );
    assert_eq!(next_collect_at(&schedule(HOUR, 0), T0, &mut rng), T0 + HOUR);
    assert_eq!(
        next_collect_at(&schedule(0, 0), T0, &mut rng),
        T0 + 1,
        "never due twice at once"
    );
}
