//! The real `contacts-admin` binary as a child process: its CLI commands run to the end,
//! and `contacts-admin serve` on a free port, to be killed, restarted or measured.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_contacts-admin");

/// How long a server may take to say where it listens (a migration of a large
/// database included).
const START_WAIT: Duration = Duration::from_secs(300);

/// `contacts-admin <args>` on `database_url`, with nothing inherited that would change
/// where it listens, whom it trusts or what time it is; logging at `warn`, stdin closed.
pub fn command(database_url: &str, args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.args(args)
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "warn")
        .env("NO_COLOR", "1")
        .env_remove("BIND")
        .env_remove("TRUSTED_PROXY")
        .env_remove("CONTACTS_ADMIN_CLOCK_OFFSET_FILE")
        .stdin(Stdio::null());
    c
}

/// Runs `contacts-admin <args>` to the end; returns its stdout, or panics with its
/// output when it fails.
pub fn cli(database_url: &str, args: &[&str]) -> String {
    let out = command(database_url, args).output().expect("run contacts-admin");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "contacts-admin {} failed ({}):\n{stdout}\n{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// A line of `/proc/<pid>/status`, in kB; `None` once the process is gone.
pub fn proc_status_kb(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find(|l| l.starts_with(key)).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse().ok())
}

pub fn mib(kb: u64) -> String {
    format!("{:.1} MiB", kb as f64 / 1024.0)
}

/// How to start `contacts-admin serve`: on port 0 of 127.0.0.1 with the test session
/// key and no purge timer; its settings changed through its environment.
pub struct Serve {
    command: Command,
    name: String,
    log: Option<PathBuf>,
}

impl Serve {
    pub fn new(database_url: &str) -> Serve {
        let mut command = command(database_url, &["serve", "--bind", "127.0.0.1:0"]);
        command.env("SESSION_KEY", crate::support::app::SESSION_KEY).env("PURGE_INTERVAL_SECS", "0");
        Serve { command, name: "server".into(), log: None }
    }

    /// A setting of the server (`BULK_CHUNK`, `RUST_LOG`, …).
    pub fn env(mut self, key: &str, value: impl AsRef<OsStr>) -> Serve {
        self.command.env(key, value);
        self
    }

    /// A command-line argument of `serve` (`--webhook-allow-host`, `127.0.0.1`, …).
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Serve {
        self.command.arg(arg);
        self
    }

    /// What messages call the server.
    pub fn name(mut self, name: &str) -> Serve {
        self.name = name.to_string();
        self
    }

    /// Where its log (stderr) goes, instead of a temporary file.
    pub fn log(mut self, path: impl Into<PathBuf>) -> Serve {
        self.log = Some(path.into());
        self
    }

    /// Starts the server and waits for the line saying where it listens.
    pub fn start(self) -> ChildServer {
        let Serve { mut command, name, log } = self;
        let (log, temp_log) = match log {
            Some(path) => (path, None),
            None => {
                let temp = tempfile::Builder::new().prefix("contacts-admin-server-").tempfile().expect("a log file").into_temp_path();
                (temp.to_path_buf(), Some(temp))
            }
        };
        let log_file = std::fs::File::create(&log).unwrap_or_else(|e| panic!("create {}: {e}", log.display()));
        let mut child = command.stdout(Stdio::piped()).stderr(Stdio::from(log_file)).spawn().expect("start contacts-admin serve");
        let stdout = child.stdout.take().expect("the server's stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        // reads stdout to the end, so the server never blocks on a full pipe
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("contacts-admin listening on ") {
                    let _ = tx.send(addr.trim().to_string());
                }
            }
        });
        let mut server = ChildServer { name, pid: child.id(), base: String::new(), child: Some(child), log, _temp_log: temp_log };
        match rx.recv_timeout(START_WAIT) {
            Ok(base) => {
                assert!(base.starts_with("http://127.0.0.1:"), "unexpected address {base}");
                server.base = base;
            }
            Err(_) => {
                server.kill();
                panic!("server {} did not say where it listens; its log ({}):\n{}", server.name, server.log.display(), server.log());
            }
        }
        server
    }
}

/// A running `contacts-admin serve`; killed (SIGKILL) when dropped, and its last log
/// lines printed when that happens in a failing test.
pub struct ChildServer {
    pub name: String,
    pub pid: u32,
    /// `http://127.0.0.1:<port>`
    pub base: String,
    child: Option<Child>,
    log: PathBuf,
    _temp_log: Option<tempfile::TempPath>,
}

impl ChildServer {
    /// `kill -9`, and reap the process.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then SIGKILL if it has not stopped within 20 s.
    pub fn stop(mut self) {
        if let Some(child) = self.child.as_mut() {
            if let Ok(None) = child.try_wait() {
                let _ = Command::new("kill").args(["-TERM", &self.pid.to_string()]).status();
                let t = Instant::now();
                while t.elapsed() < Duration::from_secs(20) {
                    if let Ok(Some(_)) = child.try_wait() {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
        self.kill();
    }

    /// Everything the server logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Lines the server logged at ERROR level (or a panic).
    pub fn errors(&self) -> Vec<String> {
        self.log().lines().filter(|l| l.contains("ERROR") || l.contains("panicked")).map(str::to_string).collect()
    }

    pub fn assert_no_errors(&self) {
        let errors = self.errors();
        assert!(errors.is_empty(), "server {} logged errors:\n{}", self.name, errors.join("\n"));
    }

    /// A line of the server's `/proc/<pid>/status`, in kB.
    pub fn status_kb(&self, key: &str) -> u64 {
        proc_status_kb(self.pid, key).unwrap_or_else(|| panic!("no {key} in /proc/{}/status", self.pid))
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            let log = self.log();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            eprintln!("--- last lines of server {}'s log ---", self.name);
            for l in tail.iter().rev() {
                eprintln!("{l}");
            }
        }
    }
}
