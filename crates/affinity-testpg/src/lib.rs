//! A throwaway PostgreSQL cluster for tests, so that `cargo test` needs no pre-existing database server.
//!
//! The first call to [`database`] in a test process runs `initdb` into a new directory under the system temp
//! directory and starts `postgres` on a free port on 127.0.0.1 (trust authentication, user `affinity`). A small
//! shell supervises it: when the test process exits, for whatever reason, the pipe to the shell closes and the shell
//! stops the server and deletes its directory. Each [`database`] call creates a new, empty database.
//!
//! The PostgreSQL programs are found through `AFFINITY_PG_BIN`, else `pg_config --bindir`, else `initdb` on the
//! `PATH`, else the newest `/usr/lib/postgresql/*/bin` (Debian's `postgresql` package). As root, the server runs as
//! the `postgres` user (PostgreSQL refuses to run as root).
//!
//! Panics, with the reason, when no PostgreSQL is installed or the cluster cannot start: a test that needs the
//! database must fail, not skip.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

/// The running cluster of this test process.
struct Cluster {
    port: u16,
    bin: PathBuf,
    /// Held open for the life of the process: its closing stops the server.
    _lifeline: Mutex<ChildStdin>,
    _supervisor: Mutex<Child>,
}

static CLUSTER: OnceLock<Cluster> = OnceLock::new();
static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A URL (`postgres://affinity@127.0.0.1:<port>/<name>`) to a new, empty database in this process's cluster.
#[allow(clippy::unwrap_used, clippy::expect_used)] // test support: failing loudly is the point
pub fn database() -> String {
    let cluster = CLUSTER.get_or_init(start);
    let name = format!("t{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
    let status = Command::new(cluster.bin.join("createdb"))
        .args(["-h", "127.0.0.1", "-p", &cluster.port.to_string(), "-U", "affinity", &name])
        .status()
        .expect("running createdb");
    assert!(status.success(), "createdb {name} failed");
    url(cluster.port, &name)
}

/// The URL of database `name` in this process's cluster (which must be started).
pub fn url(port: u16, name: &str) -> String {
    format!("postgres://affinity@127.0.0.1:{port}/{name}")
}

/// The directory holding `initdb`, `postgres` and `createdb`.
pub fn bin_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("AFFINITY_PG_BIN") {
        return Some(dir.into());
    }
    let from_pg_config = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    if let Some(dir) = from_pg_config.filter(|d| d.join("initdb").exists()) {
        return Some(dir);
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths).find(|p| p.join("initdb").exists() && p.join("postgres").exists())
    });
    if on_path.is_some() {
        return on_path;
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, bin): &(u32, PathBuf)| bin.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A command running as the `postgres` user when we are root.
fn as_server_user(program: &Path, root: bool) -> Command {
    if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap_or(55432)
}

#[allow(clippy::unwrap_used, clippy::expect_used)]
fn start() -> Cluster {
    let bin = bin_dir().expect(
        "PostgreSQL is not installed: the tests run against a throwaway PostgreSQL cluster. Install Debian's \
         `postgresql` package (apt-get install postgresql) or set AFFINITY_PG_BIN to the directory holding initdb",
    );
    let root = is_root();
    let dir = std::env::temp_dir().join(format!("affinity-pg-{}-{}", std::process::id(), free_port()));
    std::fs::create_dir_all(&dir).expect("creating the cluster directory");
    if root {
        let ok = Command::new("chown").args(["postgres:postgres"]).arg(&dir).status().is_ok_and(|s| s.success());
        assert!(ok, "chown postgres {} failed (is there a postgres user?)", dir.display());
    }
    let data = dir.join("data");
    let out = as_server_user(&bin.join("initdb"), root)
        .args(["-U", "affinity", "--auth=trust", "--no-sync", "--no-locale", "-E", "UTF8", "-D"])
        .arg(&data)
        .output()
        .expect("running initdb");
    assert!(out.status.success(), "initdb failed: {}", String::from_utf8_lossy(&out.stderr));
    let port = free_port();
    // The shell starts the server, then waits for its stdin to close (this process exiting), then stops the
    // server and removes the directory.
    let script = r#""$3/postgres" -D "$1/data" -p "$2" -k "$1" -c listen_addresses=127.0.0.1 -c max_connections=400 \
        -c shared_buffers=64MB & pg=$!; read -r _; kill -INT "$pg"; wait "$pg"; rm -rf "$1""#;
    let shell = Path::new("/bin/sh");
    let mut supervisor = as_server_user(shell, root)
        .args(["-c", script, "sh"])
        .arg(&dir)
        .arg(port.to_string())
        .arg(&bin)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting postgres");
    let lifeline = supervisor.stdin.take().expect("stdin");
    let stderr = supervisor.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let mut log = String::new();
    loop {
        match lines.next() {
            Some(Ok(line)) => {
                log.push_str(&line);
                log.push('\n');
                if line.contains("ready to accept connections") {
                    break;
                }
            }
            _ => panic!("postgres exited before accepting connections:\n{log}"),
        }
    }
    // Keep draining the server's log so that it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Cluster { port, bin, _lifeline: Mutex::new(lifeline), _supervisor: Mutex::new(supervisor) }
}
