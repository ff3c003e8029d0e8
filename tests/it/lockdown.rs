//! The browser is locked down: no DevTools listener for another local process to take
//! over, no Chromium left when gleaner is killed, private profiles, none left behind.

use std::collections::{BTreeSet, HashSet};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use chromiumoxide::pipe::PipeTransport;
use futures::{SinkExt, StreamExt};
use gleaner::browser::process::processes_using;
use gleaner::browser::{Browser, LaunchOptions, PROFILE_PREFIX};
use gleaner::collect::{self, CollectOptions};
use gleaner::engine::{Event, Inputs, Links};
use gleaner::secrets::Redactor;
use indexmap::IndexMap;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::time::{Instant, timeout};

use crate::common;

/// The browser's process tree: every process naming `profiles` on its command line, and
/// their descendants.
fn browser_tree(profiles: &Path) -> Vec<i32> {
    let mut tree: BTreeSet<i32> = processes_using(profiles).into_iter().collect();
    loop {
        let children: Vec<i32> = all_pids()
            .into_iter()
            .filter(|p| !tree.contains(p))
            .filter(|p| parent_of(*p).is_some_and(|pp| tree.contains(&pp)))
            .collect();
        if children.is_empty() {
            return tree.into_iter().collect();
        }
        tree.extend(children);
    }
}

fn all_pids() -> Vec<i32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect()
}

fn parent_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 2..]
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// The inodes of the sockets a process holds, from its fds (`socket:[inode]`).
fn socket_inodes(pid: i32) -> HashSet<u64> {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return HashSet::new();
    };
    fds.filter_map(|fd| {
        let target = std::fs::read_link(fd.ok()?.path()).ok()?;
        target
            .to_str()?
            .strip_prefix("socket:[")?
            .strip_suffix(']')?
            .parse()
            .ok()
    })
    .collect()
}

/// A TCP socket from `/proc/<pid>/net/tcp{,6}`.
#[derive(Debug)]
struct TcpSocket {
    local_port: u16,
    listening: bool,
    inode: u64,
}

fn tcp_sockets(pid: i32) -> Vec<TcpSocket> {
    let mut sockets = Vec::new();
    for table in ["tcp", "tcp6"] {
        let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(state), Some(inode)) = (cols.get(1), cols.get(3), cols.get(9))
            else {
                continue;
            };
            let Some(port) = local
                .rsplit_once(':')
                .and_then(|(_, p)| u16::from_str_radix(p, 16).ok())
            else {
                continue;
            };
            sockets.push(TcpSocket {
                local_port: port,
                // st 0A: TCP_LISTEN.
                listening: *state == "0A",
                inode: inode.parse().unwrap_or(0),
            });
        }
    }
    sockets
}

/// The TCP sockets held by the processes of `tree`: (listening, every one).
fn tree_tcp_sockets(tree: &[i32]) -> Vec<TcpSocket> {
    let Some(first) = tree.first() else {
        return Vec::new();
    };
    // One network namespace for the tree: the first process's tables list every socket.
    let table = tcp_sockets(*first);
    let held: HashSet<u64> = tree.iter().flat_map(|p| socket_inodes(*p)).collect();
    table
        .into_iter()
        .filter(|s| s.inode != 0 && held.contains(&s.inode))
        .collect()
}

/// Whether `GET /json/version` on 127.0.0.1:`port` answers like a DevTools endpoint.
/// Read as it comes: Chromium may keep the connection open after its answer.
async fn answers_cdp(port: u16) -> bool {
    let attempt = async {
        let mut conn = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .ok()?;
        conn.write_all(
            b"GET /json/version HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
        )
        .await
        .ok()?;
        let mut answer = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let n = conn.read(&mut chunk).await.ok()?;
            if n == 0 {
                return Some(false);
            }
            answer.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&answer);
            if text.contains("webSocketDebuggerUrl") || text.contains("Protocol-Version") {
                return Some(true);
            }
        }
    };
    timeout(Duration::from_secs(2), attempt)
        .await
        .ok()
        .flatten()
        .unwrap_or(false)
}

fn profiles_in(root: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(root)
        .map(|d| d.filter_map(|e| Some(e.ok()?.path())).collect())
        .unwrap_or_default()
}

fn cmdline(pid: i32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .unwrap_or_default()
}

#[tokio::test]
async fn no_process_of_the_browser_listens_or_answers_cdp_during_a_collect() {
    let _slot = common::browser_slot().await;
    let site = common::demo_site().await;
    let profiles = tempfile::tempdir().unwrap();
    let out_dir = tempfile::tempdir().unwrap();
    let mut options = CollectOptions::default();
    options.launch.profile_root = Some(profiles.path().to_path_buf());
    options.engine.out_dir = out_dir.path().to_path_buf();

    let mut fields = IndexMap::new();
    fields.insert("login".to_string(), "alice".to_string());
    fields.insert("password".to_string(), "demo".to_string());
    let inputs = Inputs::new(fields, site.base_url().parse().unwrap());
    let (events_tx, mut events_rx) = mpsc::unbounded_channel();
    let (codes_tx, codes_rx) = mpsc::channel(4);
    let links = Links {
        events: events_tx,
        codes: Some(codes_rx),
        closes: None,
        redactor: Redactor::new(),
    };
    let plan = common::demo_connector();
    let run = collect::run(&plan, inputs, &options, links, &|_| {});
    let inspect = async {
        // At the 2FA step the browser is logged half-way in, with the site's cookies.
        while let Some(ev) = events_rx.recv().await {
            if let Event::CodeRequested { .. } = ev {
                break;
            }
        }
        let tree = browser_tree(profiles.path());
        let sockets = tree_tcp_sockets(&tree);
        let listening: Vec<&TcpSocket> = sockets.iter().filter(|s| s.listening).collect();
        let ports: BTreeSet<u16> = sockets.iter().map(|s| s.local_port).collect();
        let mut answered = Vec::new();
        for port in &ports {
            if answers_cdp(*port).await {
                answered.push(*port);
            }
        }
        let debugging_flags: Vec<String> = tree
            .iter()
            .flat_map(|p| {
                cmdline(*p)
                    .split(' ')
                    .filter(|a| a.starts_with("--remote-debugging"))
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .collect();
        eprintln!(
            "browser tree: {} processes, {} TCP sockets ({} listening), ports tried {ports:?}, \
             CDP answers {}, debugging flags {debugging_flags:?}",
            tree.len(),
            sockets.len(),
            listening.len(),
            answered.len()
        );
        let code = site
            .wait_code("alice", Duration::from_secs(10))
            .await
            .expect("the site issued a code");
        codes_tx
            .send(code)
            .await
            .expect("the engine takes the code");
        while events_rx.recv().await.is_some() {}
        (tree, listening.len(), answered, debugging_flags)
    };
    let (result, (tree, listening, answered, flags)) = timeout(Duration::from_secs(120), async {
        tokio::join!(run, inspect)
    })
    .await
    .expect("the collect ends within 2 minutes");
    result.expect("the collect succeeds");
    assert!(tree.len() > 1, "the browser's tree was found: {tree:?}");
    assert_eq!(listening, 0, "no socket of the browser's tree listens");
    assert!(answered.is_empty(), "ports that answered CDP: {answered:?}");
    assert!(
        flags.iter().all(|f| f == "--remote-debugging-pipe") && !flags.is_empty(),
        "CDP over the pipe only: {flags:?}"
    );
    common::assert_nothing_left(profiles.path());
}

#[tokio::test]
async fn profiles_are_private_and_chromium_temp_dirs_go_with_them() {
    let _slot = common::browser_slot().await;
    let profiles = tempfile::tempdir().unwrap();
    let browser = Browser::launch(LaunchOptions {
        profile_root: Some(profiles.path().to_path_buf()),
        ..Default::default()
    })
    .await
    .expect("launch");
    let _tab = browser.new_tab().await.unwrap();
    let profile = browser.profile_dir().to_path_buf();
    let name = profile.file_name().unwrap().to_str().unwrap().to_string();
    assert!(
        name.starts_with(&format!("{PROFILE_PREFIX}{}-", std::process::id())),
        "the owner's pid is in the name: {name}"
    );
    let mode = std::fs::metadata(&profile).unwrap().mode() & 0o777;
    eprintln!("profile {name}: mode {mode:o}");
    assert_eq!(mode, 0o700, "profile mode {mode:o}");
    // Chromium makes its org.chromium.Chromium.* dirs in its TMPDIR: inside the profile, or
    // (when that path is too long for the socket Chromium binds there) a private directory
    // of this process's that goes with the profile.
    let pid = browser.pid().expect("a pid");
    let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    let tmpdir = environ
        .split(|b| *b == 0)
        .find_map(|v| v.strip_prefix(b"TMPDIR="))
        .map(|v| std::path::PathBuf::from(String::from_utf8_lossy(v).into_owned()))
        .expect("the browser has a TMPDIR");
    let own_short = tmpdir
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with(&format!("gleaner-tmp-{}-", std::process::id())));
    assert!(
        tmpdir == profile.join("tmp") || own_short,
        "the browser's TMPDIR {}",
        tmpdir.display()
    );
    let mode = std::fs::metadata(&tmpdir).unwrap().mode() & 0o777;
    assert_eq!(mode, 0o700, "TMPDIR mode {mode:o}");
    assert_eq!(profiles_in(profiles.path()), vec![profile.clone()]);
    browser.close().await;
    common::assert_nothing_left(profiles.path());
    assert!(!tmpdir.exists(), "{} is left", tmpdir.display());
}

/// `gleaner run` killed with SIGKILL while it waits for alice's 2FA code: its Chromium is
/// gone within 5 s, and the next `gleaner run` removes the profile it left.
#[tokio::test]
async fn a_killed_gleaner_leaves_no_chromium_and_its_profile_goes_at_the_next_start() {
    let _slot = common::browser_slot().await;
    let site = common::demo_site().await;
    let tmp = tempfile::tempdir().unwrap();
    let profiles = tmp.path().join("profiles");
    std::fs::create_dir(&profiles).unwrap();
    let gleaner_run = |login: &str| {
        let mut cmd = tokio::process::Command::new(common::bin());
        cmd.arg("run")
            .arg(common::root().join("connectors/demo-bank.yaml"))
            .args(["--base-url", &site.base_url()])
            .args(["--field", &format!("login={login}")])
            .args(["--field", "password=demo"])
            .arg("--out")
            .arg(tmp.path().join("out"))
            // The profile root is the temp dir; Chromium would make its own temp dirs here too.
            .env("TMPDIR", &profiles)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        cmd
    };

    let mut victim = gleaner_run("alice").spawn().unwrap();
    let victim_pid = victim.id().unwrap() as i32;
    site.wait_code("alice", Duration::from_secs(60))
        .await
        .expect("gleaner reaches the 2FA step");
    let tree = browser_tree(&profiles);
    let left = profiles_in(&profiles);
    assert!(tree.len() > 1, "the browser's tree was found: {tree:?}");
    assert_eq!(left.len(), 1, "one profile: {left:?}");
    let name = left[0].file_name().unwrap().to_str().unwrap().to_string();
    assert!(
        name.starts_with(&format!("{PROFILE_PREFIX}{victim_pid}-")),
        "{name}"
    );

    victim.start_kill().unwrap();
    let killed = Instant::now();
    victim.wait().await.unwrap();
    // Polled: nothing tells this test when the last process exits.
    let deadline = killed + Duration::from_secs(5);
    let mut interval = tokio::time::interval(Duration::from_millis(20));
    let mut alive = browser_tree_alive(&tree);
    while !alive.is_empty() && Instant::now() < deadline {
        interval.tick().await;
        alive = browser_tree_alive(&tree);
    }
    let gone_after = killed.elapsed();
    eprintln!(
        "{} Chromium processes; {} left {gone_after:?} after kill -9 of gleaner",
        tree.len(),
        alive.len()
    );
    assert!(alive.is_empty(), "Chromium processes left: {alive:?}");
    assert_eq!(processes_using(&profiles), Vec::<i32>::new());
    assert_eq!(
        profiles_in(&profiles),
        left,
        "the stale profile is still there"
    );

    // carol needs no code: the next run goes through, and its start removed the stale profile.
    let next = gleaner_run("carol").status();
    let status = timeout(Duration::from_secs(120), next)
        .await
        .expect("the next run ends")
        .unwrap();
    assert!(status.success(), "{status}");
    let left = profiles_in(&profiles);
    eprintln!(
        "after the next run: {} entries under the profile root",
        left.len()
    );
    assert!(left.is_empty(), "left under the profile root: {left:?}");
}

/// The processes of `tree` still alive (zombies are dead).
fn browser_tree_alive(tree: &[i32]) -> Vec<i32> {
    tree.iter()
        .copied()
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/stat"))
                .ok()
                .and_then(|s| {
                    let state = s[s.rfind(')')? + 2..].chars().next()?;
                    Some(state != 'Z' && state != 'X')
                })
                .unwrap_or(false)
        })
        .collect()
}

/// The transport itself: NUL-delimited JSON, messages split across reads, EOF an error
/// once (a plain end would leave chromiumoxide's handler waiting forever).
#[tokio::test]
async fn the_pipe_transport_frames_messages_with_nul_and_reports_eof() {
    let (ours, mut theirs) = tokio::net::UnixStream::pair().unwrap();
    let mut t = PipeTransport::from_unix_stream(ours);
    theirs.write_all(b"{\"a\":1}\0{\"b\"").await.unwrap();
    assert_eq!(t.next().await.unwrap().unwrap(), "{\"a\":1}");
    theirs.write_all(b":2}\0").await.unwrap();
    assert_eq!(t.next().await.unwrap().unwrap(), "{\"b\":2}");
    t.send("{\"id\":0}".to_string()).await.unwrap();
    let mut got = [0u8; 9];
    theirs.read_exact(&mut got).await.unwrap();
    assert_eq!(&got, b"{\"id\":0}\0");
    drop(theirs);
    let eof = t.next().await.unwrap().unwrap_err();
    assert_eq!(eof.kind(), std::io::ErrorKind::UnexpectedEof);
    assert!(t.next().await.is_none());
}

/// `serve` sweeps too: opening the service removes a profile whose owner is gone and keeps
/// the one of a live process (this one).
#[tokio::test]
async fn the_service_removes_stale_profiles_when_it_opens() {
    let site = common::demo_site().await;
    let data = tempfile::tempdir().unwrap();
    let profiles = tempfile::tempdir().unwrap();
    // Above the kernel's pid_max (at most 4194304): no live process has this pid.
    let stale = profiles
        .path()
        .join(format!("{PROFILE_PREFIX}99999999-dead01"));
    std::fs::create_dir_all(stale.join("Default")).unwrap();
    let live = profiles
        .path()
        .join(format!("{PROFILE_PREFIX}{}-live01", std::process::id()));
    std::fs::create_dir(&live).unwrap();
    gleaner::tls::install_crypto_provider();
    let config = crate::server::config(data.path(), profiles.path(), &site);
    let _server = gleaner::server::Server::open(config).await.expect("opens");
    assert_eq!(profiles_in(profiles.path()), vec![live]);
}
