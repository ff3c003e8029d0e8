//! A cap on the memory of one browser, every process of it: a page that eats memory ends
//! its own collect ([`super::Crash::OutOfMemory`]) and no other.
//!
//! Where gleaner may make a memory cgroup (cgroup v2 with the memory controller delegated
//! to gleaner's cgroup, or the v1 memory hierarchy writable, as for root in a container),
//! the browser's processes go into one of their own, limited by the kernel: past the
//! limit, the kernel kills the process of the cgroup that uses the most (a renderer:
//! Chromium makes them the first to go). Elsewhere, the processes' PSS (shared pages
//! counted once) is summed from `/proc` on a timer, and past the cap the largest renderer
//! is killed. Either way, the renderer's end reaches the crash watcher as a killed target
//! (`Target.targetCrashed` status `killed`, error code 9 with Chromium 156), and
//! [`OutOfMemory::explains`] tells it why.
//!
//! A renderer past V8's heap limit (`--js-flags=--max-old-space-size`) crashes on purpose:
//! status `crashed` (error code 4, SIGILL, like any failed check), never `oom` on Linux.
//! Blink prints `V8 javascript OOM (…)` on the browser's stderr first, which tells the two
//! apart.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::task::JoinHandle;

/// The whole browser's memory by default: one browser with one page takes ~410 MiB
/// (CHROMIUM-NOTES.md), and a renderer's JavaScript heap may take 1 GiB
/// ([`super::flags::DEFAULT_RENDERER_MEMORY`]); 8 concurrent collects stay under 16 GiB.
pub const DEFAULT_BROWSER_MEMORY: u64 = 2 << 30;

/// The start of the name of a browser's cgroup, followed by gleaner's pid.
const CGROUP_PREFIX: &str = "gleaner-";

/// Removes the cgroups that killed gleaner processes left (their browsers died with them,
/// so the cgroups are empty). Returns how many were removed.
pub(crate) fn remove_stale_cgroups() -> usize {
    let Some((own, _)) = own_memory_cgroup() else {
        return 0;
    };
    let Ok(entries) = std::fs::read_dir(&own) else {
        return 0;
    };
    entries
        .filter_map(|e| e.ok())
        .filter(|e| {
            let name = e.file_name();
            let owner = name
                .to_str()
                .and_then(|n| n.strip_prefix(CGROUP_PREFIX))
                .and_then(|n| n.split_once("-browser-"))
                .and_then(|(pid, _)| pid.parse::<u32>().ok());
            // Only those of gleaner processes that are gone: a live one's may be new.
            owner.is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists())
        })
        .filter(|e| std::fs::remove_dir(e.path()).is_ok())
        .count()
}

/// How often the PSS of a browser without a cgroup is summed.
const WATCH_EVERY: Duration = Duration::from_millis(250);

/// A browser's memory cap, for as long as the browser lives. Dropped after its processes
/// are gone: the cgroup is then removed.
#[derive(Debug)]
pub(crate) struct MemoryCap {
    how: How,
    cap_hit: CapHit,
}

#[derive(Debug)]
enum How {
    Cgroup(Cgroup),
    Watch(JoinHandle<()>),
}

/// What Blink (`V8 javascript OOM (…)`) and V8 print when a heap is full.
const V8_OUT_OF_MEMORY: &[&str] = &[
    "V8 javascript OOM",
    "Fatal JavaScript out of memory",
    "Fatal process out of memory",
];

/// How long a crash waits for the stderr line that says it was V8's heap: the renderer
/// printed it before dying, so it is already in the pipe; only its reading may lag.
const STDERR_LAG: Duration = Duration::from_millis(300);

pub(crate) fn is_v8_out_of_memory(line: &str) -> bool {
    V8_OUT_OF_MEMORY.iter().any(|m| line.contains(m))
}

/// Tells a renderer that died for lack of memory from one that crashed.
#[derive(Debug, Clone, Default)]
pub(crate) struct OutOfMemory {
    /// The browser's cap: a renderer killed by it.
    cap: Option<CapHit>,
    /// A renderer printed V8's out-of-memory error.
    v8_heap: Option<tokio::sync::watch::Receiver<bool>>,
}

/// Whether the cap was hit: a renderer killed by it is out of memory, not crashed.
#[derive(Debug, Clone, Default)]
pub(crate) struct CapHit(Option<Arc<Source>>);

#[derive(Debug)]
enum Source {
    /// The kernel counts its kills in the cgroup's events file.
    Kernel(Cgroup),
    /// The watcher killed a renderer.
    Watcher(AtomicBool),
}

impl OutOfMemory {
    pub(crate) fn new(
        cap: Option<&MemoryCap>,
        v8_heap: Option<tokio::sync::watch::Receiver<bool>>,
    ) -> OutOfMemory {
        OutOfMemory {
            cap: cap.map(|c| c.cap_hit.clone()),
            v8_heap,
        }
    }

    /// Whether a renderer that ended with `status` (`Target.targetCrashed`) ended for
    /// lack of memory.
    pub(crate) async fn explains(&self, status: &str) -> bool {
        match status {
            "oom" => true,
            "killed" => self.cap.as_ref().is_some_and(CapHit::seen),
            "crashed" => match self.v8_heap.clone() {
                Some(mut printed) => tokio::time::timeout(STDERR_LAG, printed.wait_for(|p| *p))
                    .await
                    .is_ok_and(|seen| seen.is_ok()),
                None => false,
            },
            _ => false,
        }
    }
}

impl CapHit {
    /// Whether a process of the browser was killed for the cap.
    fn seen(&self) -> bool {
        match self.0.as_deref() {
            None => false,
            Some(Source::Kernel(cgroup)) => cgroup.oom_kills() > 0,
            Some(Source::Watcher(killed)) => killed.load(Ordering::SeqCst),
        }
    }
}

impl MemoryCap {
    /// Caps the memory of the browser whose main process is `pid` and whose processes all
    /// name `profile`, at `bytes`. Called right after the launch: the processes already
    /// there are moved, and every later one is born in the cgroup.
    pub(crate) fn apply(pid: i32, profile: &Path, bytes: u64) -> MemoryCap {
        match Cgroup::create(pid, bytes) {
            Ok(cgroup) => {
                cgroup.enrol(profile);
                spare_the_browser_process(pid);
                tracing::debug!(
                    "the browser's memory is capped at {bytes} bytes by the cgroup {}",
                    cgroup.dir.display()
                );
                let cap_hit = CapHit(Some(Arc::new(Source::Kernel(cgroup.clone()))));
                MemoryCap {
                    how: How::Cgroup(cgroup),
                    cap_hit,
                }
            }
            Err(why) => {
                tracing::debug!(
                    "no memory cgroup for the browser ({why}): its PSS is watched instead"
                );
                let killed = Arc::new(Source::Watcher(AtomicBool::new(false)));
                let task = tokio::spawn(watch_pss(profile.to_path_buf(), bytes, killed.clone()));
                MemoryCap {
                    how: How::Watch(task),
                    cap_hit: CapHit(Some(killed)),
                }
            }
        }
    }
}

impl Drop for MemoryCap {
    fn drop(&mut self) {
        match &self.how {
            How::Cgroup(cgroup) => cgroup.remove(),
            How::Watch(task) => task.abort(),
        }
    }
}

/// How far the browser's main process is kept from the kernel's choice when the cgroup is
/// full (`oom_score_adj`, -1000 to 1000): in a small cgroup it is the largest process
/// before the page grows, and its death would end the collect as a lost browser rather
/// than as out of memory. Not -1000 (never): a browser process that itself grows past the
/// cap must still be stoppable.
const BROWSER_OOM_SCORE_ADJ: &str = "-900";

/// Makes the kernel kill a renderer rather than the browser's main process. Lowering a
/// score needs `CAP_SYS_RESOURCE` (root has it); without it, nothing changes.
fn spare_the_browser_process(pid: i32) {
    if let Err(e) = std::fs::write(format!("/proc/{pid}/oom_score_adj"), BROWSER_OOM_SCORE_ADJ) {
        tracing::debug!("cannot lower the browser process's OOM score: {e}");
    }
}

/// Sums the PSS of the browser's processes every [`WATCH_EVERY`]; past `cap`, kills the
/// largest renderer (never the browser process: the collect then ends as out of memory,
/// not as a lost browser).
async fn watch_pss(profile: PathBuf, cap: u64, killed: Arc<Source>) {
    let mut tick = tokio::time::interval(WATCH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let processes: Vec<(i32, u64, bool)> = super::process::processes_using(&profile)
            .into_iter()
            .filter_map(|pid| Some((pid, pss(pid)?, is_renderer(pid))))
            .collect();
        let total: u64 = processes.iter().map(|(_, pss, _)| pss).sum();
        if total <= cap {
            continue;
        }
        let Some((victim, size, _)) = processes
            .iter()
            .filter(|(_, _, renderer)| *renderer)
            .max_by_key(|(_, pss, _)| *pss)
        else {
            continue;
        };
        tracing::warn!(
            "the browser uses {} MiB, more than its cap of {} MiB: its largest renderer \
             ({} MiB) is stopped",
            total >> 20,
            cap >> 20,
            size >> 20
        );
        if let Source::Watcher(flag) = killed.as_ref() {
            flag.store(true, Ordering::SeqCst);
        }
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(*victim),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

/// A process's proportional set size, in bytes (`/proc/PID/smaps_rollup`).
fn pss(pid: i32) -> Option<u64> {
    let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    parse_pss(&rollup)
}

fn parse_pss(rollup: &str) -> Option<u64> {
    let line = rollup.lines().find(|l| l.starts_with("Pss:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn is_renderer(pid: i32) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .is_ok_and(|c| String::from_utf8_lossy(&c).contains("--type=renderer"))
}

/// Why no cgroup could be made for a browser.
#[derive(Debug, thiserror::Error)]
pub(crate) enum NoCgroup {
    #[error("this process is in no memory cgroup it can see")]
    NotFound,
    #[error("the memory controller is not delegated to {0} (cgroup v2)")]
    NotDelegated(PathBuf),
    #[error("cannot set up the cgroup {}: {source}", dir.display())]
    Io {
        dir: PathBuf,
        source: std::io::Error,
    },
}

/// One browser's memory cgroup.
#[derive(Debug, Clone)]
struct Cgroup {
    dir: PathBuf,
    version: Version,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    V1,
    V2,
}

impl Cgroup {
    /// Makes `gleaner-<this pid>-browser-<pid>` under this process's memory cgroup,
    /// limited to `bytes`.
    fn create(pid: i32, bytes: u64) -> Result<Cgroup, NoCgroup> {
        let (own, version) = own_memory_cgroup().ok_or(NoCgroup::NotFound)?;
        if version == Version::V2 {
            let delegated = std::fs::read_to_string(own.join("cgroup.subtree_control"))
                .is_ok_and(|c| c.split_whitespace().any(|c| c == "memory"));
            if !delegated {
                return Err(NoCgroup::NotDelegated(own));
            }
        }
        let dir = own.join(format!(
            "{CGROUP_PREFIX}{}-browser-{pid}",
            std::process::id()
        ));
        let io = |dir: &Path, source| NoCgroup::Io {
            dir: dir.to_path_buf(),
            source,
        };
        std::fs::create_dir(&dir).map_err(|e| io(&dir, e))?;
        let cgroup = Cgroup { dir, version };
        let limited = match version {
            Version::V1 => cgroup.write("memory.limit_in_bytes", &bytes.to_string()),
            Version::V2 => cgroup.write("memory.max", &bytes.to_string()),
        };
        if let Err(e) = limited {
            cgroup.remove();
            return Err(io(&cgroup.dir, e));
        }
        // No swap to spill into, where the kernel accounts it (the cap is on memory).
        let _ = match version {
            Version::V1 => cgroup.write("memory.memsw.limit_in_bytes", &bytes.to_string()),
            Version::V2 => cgroup.write("memory.swap.max", "0"),
        };
        Ok(cgroup)
    }

    fn write(&self, file: &str, value: &str) -> std::io::Result<()> {
        std::fs::write(self.dir.join(file), value)
    }

    /// Moves every process of the browser into the cgroup, until a pass finds none left
    /// outside: a process forked meanwhile by one not yet moved is caught by the next pass,
    /// and the children of moved ones are born inside.
    fn enrol(&self, profile: &Path) {
        for _ in 0..10 {
            let inside = self.members();
            let outside: Vec<i32> = super::process::processes_using(profile)
                .into_iter()
                .filter(|pid| !inside.contains(pid))
                .collect();
            if outside.is_empty() {
                return;
            }
            for pid in outside {
                // A process that exited meanwhile cannot be moved: nothing to do.
                let _ = self.write("cgroup.procs", &pid.to_string());
            }
        }
        tracing::warn!("the browser's processes kept changing: some may be outside its cgroup");
    }

    fn members(&self) -> Vec<i32> {
        std::fs::read_to_string(self.dir.join("cgroup.procs"))
            .map(|s| s.lines().filter_map(|l| l.trim().parse().ok()).collect())
            .unwrap_or_default()
    }

    /// How many processes the kernel killed for the cgroup's limit.
    fn oom_kills(&self) -> u64 {
        let file = match self.version {
            Version::V1 => "memory.oom_control",
            Version::V2 => "memory.events",
        };
        std::fs::read_to_string(self.dir.join(file))
            .ok()
            .and_then(|text| oom_kill_count(&text))
            .unwrap_or(0)
    }

    /// Removes the cgroup; its processes are gone by then.
    fn remove(&self) {
        if let Err(e) = std::fs::remove_dir(&self.dir)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!("cannot remove the cgroup {}: {e}", self.dir.display());
        }
    }
}

/// The `oom_kill N` line of `memory.oom_control` (v1) or `memory.events` (v2).
fn oom_kill_count(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix("oom_kill "))
        .and_then(|n| n.trim().parse().ok())
}

/// This process's memory cgroup directory: the v1 memory hierarchy if mounted, else the
/// v2 one.
fn own_memory_cgroup() -> Option<(PathBuf, Version)> {
    let cgroups = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    locate(&cgroups, &mountinfo)
}

fn locate(cgroups: &str, mountinfo: &str) -> Option<(PathBuf, Version)> {
    let mut v2_path = None;
    for line in cgroups.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        if controllers.split(',').any(|c| c == "memory") {
            let (mount, root) = mount_of(mountinfo, |fs, opts| {
                fs == "cgroup" && opts.split(',').any(|o| o == "memory")
            })?;
            return Some((under(&mount, &root, path), Version::V1));
        }
        if controllers.is_empty() {
            v2_path = Some(path.to_string());
        }
    }
    let path = v2_path?;
    let (mount, root) = mount_of(mountinfo, |fs, _| fs == "cgroup2")?;
    Some((under(&mount, &root, &path), Version::V2))
}

/// The mount point and root of the first mount whose type and super options match.
fn mount_of(mountinfo: &str, wanted: impl Fn(&str, &str) -> bool) -> Option<(PathBuf, String)> {
    mountinfo.lines().find_map(|line| {
        // ID PARENT MAJ:MIN ROOT MOUNT_POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER_OPTIONS
        let (left, right) = line.split_once(" - ")?;
        let left: Vec<&str> = left.split(' ').collect();
        let right: Vec<&str> = right.split(' ').collect();
        let (fs, super_opts) = (*right.first()?, *right.get(2)?);
        if !wanted(fs, super_opts) {
            return None;
        }
        Some((PathBuf::from(left.get(4)?), left.get(3)?.to_string()))
    })
}

/// A cgroup path as /proc/self/cgroup gives it, under the mount of its hierarchy.
fn under(mount: &Path, root: &str, path: &str) -> PathBuf {
    let relative = path
        .strip_prefix(root)
        .filter(|_| root != "/")
        .unwrap_or(path);
    mount.join(relative.trim_start_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &str = "\
30 25 0:26 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755
35 30 0:31 / /sys/fs/cgroup/memory rw,relatime shared:12 - cgroup cgroup rw,memory
36 30 0:32 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 30 0:35 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    #[test]
    fn finds_the_v1_memory_hierarchy_first() {
        let cgroups = "8:pids:/\n4:memory:/process_api/1b40\n0::/\n";
        assert_eq!(
            locate(cgroups, MOUNTINFO),
            Some((
                PathBuf::from("/sys/fs/cgroup/memory/process_api/1b40"),
                Version::V1
            ))
        );
    }

    #[test]
    fn else_the_v2_one() {
        let mountinfo = "40 30 0:35 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n";
        assert_eq!(
            locate("0::/system.slice/gleaner.service\n", mountinfo),
            Some((
                PathBuf::from("/sys/fs/cgroup/system.slice/gleaner.service"),
                Version::V2
            ))
        );
        assert_eq!(locate("0::/\n", "nothing here\n"), None);
    }

    #[test]
    fn a_mount_of_part_of_the_tree() {
        let mountinfo =
            "35 30 0:31 /docker/abc /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n";
        assert_eq!(
            locate("4:memory:/docker/abc/inner\n", mountinfo).map(|(p, _)| p),
            Some(PathBuf::from("/sys/fs/cgroup/memory/inner"))
        );
    }

    /// The watcher, on a stand-in for a renderer (a shell naming the profile and the
    /// renderer switch): past the cap, it is killed, and the cap counts as hit.
    #[tokio::test]
    async fn the_watcher_kills_the_largest_renderer_past_the_cap() {
        let profile = tempfile::tempdir().unwrap();
        let marker = profile.path().to_string_lossy().into_owned();
        let mut renderer = tokio::process::Command::new("/bin/sh")
            .args(["-c", "read line", "sh", &marker, "--type=renderer"])
            .stdin(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        // Held open: the shell waits on it until it is killed.
        let _stdin = renderer.stdin.take();
        let hit = Arc::new(Source::Watcher(AtomicBool::new(false)));
        let watcher = tokio::spawn(watch_pss(profile.path().to_path_buf(), 1, hit.clone()));
        let status = tokio::time::timeout(Duration::from_secs(10), renderer.wait())
            .await
            .expect("killed by the watcher")
            .unwrap();
        watcher.abort();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(9));
        assert!(CapHit(Some(hit)).seen());
    }

    #[test]
    fn v8s_out_of_memory_line() {
        assert!(is_v8_out_of_memory(
            "[15211:15211:1129/225558.565577:ERROR:third_party/blink/renderer/bindings/core/v8/v8_oom.cc:49] V8 javascript OOM (CALL_AND_RETRY_LAST)."
        ));
        assert!(!is_v8_out_of_memory(
            "[9:9:0101/000000.1:ERROR:bus.cc(408)] Failed to connect to the bus"
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn a_crash_is_out_of_memory_only_with_a_reason() {
        let (printed, v8_heap) = tokio::sync::watch::channel(false);
        let oom = OutOfMemory {
            cap: None,
            v8_heap: Some(v8_heap),
        };
        assert!(oom.explains("oom").await);
        assert!(!oom.explains("killed").await);
        assert!(!oom.explains("crashed").await);
        printed.send_replace(true);
        assert!(oom.explains("crashed").await);
        let killed = CapHit(Some(Arc::new(Source::Watcher(AtomicBool::new(true)))));
        let oom = OutOfMemory {
            cap: Some(killed),
            v8_heap: None,
        };
        assert!(oom.explains("killed").await);
        assert!(!oom.explains("crashed").await);
    }

    #[test]
    fn reads_the_kernels_counts() {
        assert_eq!(
            oom_kill_count("oom_kill_disable 0\nunder_oom 0\noom_kill 1\n"),
            Some(1)
        );
        assert_eq!(
            oom_kill_count("low 0\nhigh 0\nmax 12\noom 1\noom_kill 2\noom_group_kill 0\n"),
            Some(2)
        );
        assert_eq!(
            parse_pss("Rss:   2048 kB\nPss:   1024 kB\nPss_Anon: 512 kB\n"),
            Some(1 << 20)
        );
    }
}
