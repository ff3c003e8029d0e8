//! Chromium's processes outside chromiumoxide's reach: the thread browsers are spawned
//! from, making this process a subreaper, reaping the helpers that Chromium leaves behind,
//! and finding a browser's processes.

use std::collections::HashSet;
use std::future::Future;
use std::path::Path;
use std::sync::{Mutex, Once, OnceLock};

use nix::sys::wait::{WaitPidFlag, waitpid};
use nix::unistd::Pid;

/// A job for the spawner thread.
type Job = Box<dyn FnOnce() + Send>;

/// Runs `launch` (which spawns a browser) on a thread that lives as long as this process,
/// in the caller's runtime. The browser's parent-death signal (`PR_SET_PDEATHSIG`) fires
/// when the *thread* that forked it exits, and a runtime's threads may come and go (the
/// blocking pool, `block_in_place`, a test's runtime): forked from any of them, a browser
/// could be killed in the middle of its collect. `None`: the spawner thread is gone.
pub(crate) async fn on_spawner_thread<T: Send + 'static>(
    launch: impl Future<Output = T> + Send + 'static,
) -> Option<T> {
    static SPAWNER: OnceLock<Mutex<std::sync::mpsc::Sender<Job>>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        let started = std::thread::Builder::new()
            .name("gleaner-browser-spawner".into())
            .spawn(move || {
                for job in rx {
                    // A panicking launch must not end this thread: the browsers it
                    // spawned would all be killed.
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                }
            });
        if let Err(e) = started {
            tracing::warn!("cannot start the browser spawner thread: {e}");
        }
        Mutex::new(tx)
    });
    let runtime = tokio::runtime::Handle::current();
    let (done, result) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        // This thread is outside the runtime; the caller's runtime drives the future's IO
        // while the caller awaits `result`.
        let _ = done.send(runtime.block_on(launch));
    });
    spawner
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .send(job)
        .ok()?;
    result.await.ok()
}

/// Main Chromium pids whose exit status chromiumoxide will collect itself: reaping them
/// here would make its `wait()` fail.
static OWNED: Mutex<Option<HashSet<i32>>> = Mutex::new(None);

/// Chromium's crashpad handler and zygotes get re-parented when the browser exits. As a
/// subreaper, this process adopts them (instead of PID 1, which in a container may never
/// reap them) and [`reap_orphans`] collects them.
pub fn become_subreaper() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if let Err(e) = nix::sys::prctl::set_child_subreaper(true) {
            tracing::warn!(
                "cannot become a child subreaper ({e}); Chromium helpers may linger as zombies"
            );
        }
    });
}

pub fn own(pid: i32) {
    OWNED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get_or_insert_with(HashSet::new)
        .insert(pid);
}

pub fn disown(pid: i32) {
    if let Some(set) = OWNED.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
        set.remove(&pid);
    }
}

/// Reaps every exited child of this process that no [`crate::browser::Browser`] owns.
/// Returns how many were reaped.
pub fn reap_orphans() -> usize {
    let me = std::process::id() as i32;
    let owned = OWNED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
        .unwrap_or_default();
    let mut reaped = 0;
    for (pid, ppid, state) in processes() {
        if ppid == me
            && state == 'Z'
            && !owned.contains(&pid)
            && waitpid(Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG)).is_ok()
        {
            reaped += 1;
        }
    }
    reaped
}

/// Live (not zombie) processes whose command line names `profile`: every process of the
/// browser that uses that profile directory, the re-parented helpers included.
pub fn processes_using(profile: &Path) -> Vec<i32> {
    let needle = profile.to_string_lossy().into_owned();
    processes()
        .into_iter()
        .filter(|(_, _, state)| *state != 'Z')
        .filter(|(pid, _, _)| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| String::from_utf8_lossy(&c).contains(&needle))
                .unwrap_or(false)
        })
        .map(|(pid, _, _)| pid)
        .collect()
}

/// Kills every process of the browser that uses `profile` and reaps them, parents first:
/// when a parent dies its children are re-parented to this process (a subreaper), so a
/// blocking `waitpid` on each in turn returns as soon as it is dead, with no polling.
/// Returns how many processes were killed.
pub fn kill_and_reap(profile: &Path) -> usize {
    use nix::sys::signal::{Signal, kill};
    let pids = processes_using(profile);
    if pids.is_empty() {
        return 0;
    }
    let all = processes();
    let parent_of = |pid: i32| all.iter().find(|(p, _, _)| *p == pid).map(|(_, pp, _)| *pp);
    let depth = |mut pid: i32| {
        let mut d = 0;
        while let Some(pp) = parent_of(pid) {
            if !pids.contains(&pp) {
                break;
            }
            d += 1;
            pid = pp;
        }
        d
    };
    let mut ordered: Vec<(usize, i32)> = pids.iter().map(|p| (depth(*p), *p)).collect();
    ordered.sort();
    for (_, pid) in &ordered {
        let _ = kill(Pid::from_raw(*pid), Signal::SIGKILL);
    }
    for (_, pid) in &ordered {
        // ECHILD: not ours (already reaped by its own parent, or no subreaper); nothing to do.
        let _ = waitpid(Pid::from_raw(*pid), None);
    }
    ordered.len()
}

/// (pid, parent pid, state letter) of every process, from /proc.
fn processes() -> Vec<(i32, i32, char)> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // The command name is in parentheses and may hold spaces: parse after the last ')'.
            let rest = &stat[stat.rfind(')')? + 2..];
            let mut parts = rest.split_whitespace();
            let state = parts.next()?.chars().next()?;
            let ppid = parts.next()?.parse().ok()?;
            Some((pid, ppid, state))
        })
        .collect()
}
