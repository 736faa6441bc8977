//! The result table, its number formats, and what it says about the machine and commit.

use crate::measure::Stats;
use contacts_admin::web::page::thousands;
use std::fmt::Write as _;
use std::process::Command;

pub fn rate(n: i64, secs: f64) -> String {
    if secs <= 0.0 {
        return "—".into();
    }
    thousands((n as f64 / secs).round() as i64)
}

pub fn mib(kb: u64) -> String {
    format!("{:.0} MiB", kb as f64 / 1024.0)
}

pub fn bytes_h(b: u64) -> String {
    if b >= 1 << 30 {
        format!("{:.2} GiB", b as f64 / (1u64 << 30) as f64)
    } else {
        format!("{:.0} MiB", b as f64 / (1u64 << 20) as f64)
    }
}

#[derive(Default)]
pub struct Report {
    pub out: String,
}

impl Report {
    pub fn line(&mut self, s: impl AsRef<str>) {
        let _ = writeln!(self.out, "{}", s.as_ref());
    }

    pub fn row(&mut self, label: &str, value: impl AsRef<str>) {
        let _ = writeln!(self.out, "  {label:<54} {}", value.as_ref());
    }

    pub fn stats_header(&mut self, title: &str) {
        let _ = writeln!(self.out, "  {title:<54} {:>6} {:>9} {:>9} {:>9} {:>8} {:>5}", "n", "p50 ms", "p99 ms", "max ms", "req/s", "err");
    }

    pub fn stats_row(&mut self, label: &str, s: &Stats) {
        let _ = writeln!(
            self.out,
            "    {label:<52} {:>6} {:>9.1} {:>9.1} {:>9.1} {:>8.1} {:>5}",
            s.n, s.p50_ms, s.p99_ms, s.max_ms, s.rps, s.errors
        );
    }
}

pub fn machine_info() -> String {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo.lines().find(|l| l.starts_with("model name")).and_then(|l| l.split(':').nth(1)).unwrap_or("?").trim().to_string();
    let logical = cpuinfo.lines().filter(|l| l.starts_with("processor")).count();
    let mem_kb = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| m.lines().next().and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse::<u64>().ok()))
        .unwrap_or(0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim().to_string();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default().split_whitespace().take(3).collect::<Vec<_>>().join(" ");
    format!(
        "{cores} cores available ({logical} logical CPUs, {model}), {:.1} GiB RAM, Linux {kernel}, load average {load}",
        mem_kb as f64 / 1024.0 / 1024.0
    )
}

pub fn commit() -> String {
    let rev = Command::new("git").args(["rev-parse", "--short", "HEAD"]).current_dir(env!("CARGO_MANIFEST_DIR")).output();
    let dirty = Command::new("git").args(["status", "--porcelain", "--untracked-files=no"]).current_dir(env!("CARGO_MANIFEST_DIR")).output();
    match rev {
        Ok(o) if o.status.success() => {
            let d = dirty.map(|o| !o.stdout.is_empty()).unwrap_or(false);
            format!("{}{}", String::from_utf8_lossy(&o.stdout).trim(), if d { " (with uncommitted changes)" } else { "" })
        }
        _ => "unknown".into(),
    }
}
